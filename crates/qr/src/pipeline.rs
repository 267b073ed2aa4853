//! The multi-pass decoding pipeline over 8-bit luma, run on a worker thread with a deadline.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use image::GrayImage;
use safeid_secret::SecretString;

use crate::binarize::{otsu, rqrr_adaptive, three_thresholds};
use crate::finder::{
    Bitmap, DARK, Finder, LIGHT, could_hold_three_capstones, find, local_marks, midrange_marks,
    regions, triangles,
};
use crate::{Limits, QrError, sampler};

/// One QR code found in an image.
///
/// `Debug` does not show the text: payloads are usually `otpauth://` URIs with a secret.
#[derive(Debug, Clone)]
pub struct Found {
    /// The payload as text (invalid UTF-8 sequences replaced by U+FFFD, see `utf8`).
    pub text: SecretString,
    /// Whether the payload was valid UTF-8 (false: `text` is a lossy conversion).
    pub utf8: bool,
    /// Which pass found it, e.g. `"rqrr-otsu"` or `"rqrr-adaptive-inverted"`.
    pub decoder: &'static str,
    /// Corners of the code in image pixels: top-left, top-right, bottom-right, bottom-left
    /// (as the code is oriented, so a rotated code has rotated corners).
    pub bounds: [(i32, i32); 4],
}

/// How a pass turns luma into the black/white bitmap rqrr searches.
#[derive(Debug, Clone, Copy)]
enum Binarize {
    /// Global Otsu threshold; `inverted` looks for light-on-dark codes.
    Otsu { inverted: bool },
    /// A given threshold: pixels `<= t` are dark (unless `inverted`).
    Threshold { t: u8, inverted: bool },
    /// rqrr's own adaptive (moving-average) threshold.
    Adaptive { inverted: bool },
}

/// One pass of the pipeline.
#[derive(Debug, Clone, Copy)]
struct Pass {
    name: &'static str,
    binarize: Binarize,
}

/// The passes in order: cheapest and most often successful first.
const PASSES: &[Pass] = &[
    Pass {
        name: "rqrr-otsu",
        binarize: Binarize::Otsu { inverted: false },
    },
    Pass {
        name: "rqrr-otsu-inverted",
        binarize: Binarize::Otsu { inverted: true },
    },
    Pass {
        name: "rqrr-adaptive",
        binarize: Binarize::Adaptive { inverted: false },
    },
    Pass {
        name: "rqrr-adaptive-inverted",
        binarize: Binarize::Adaptive { inverted: true },
    },
];

/// What one pass saw.
#[derive(Default)]
struct PassResult {
    found: Vec<Found>,
    /// Grids that were detected but did not decode.
    failed_grids: usize,
    /// The decoder panicked (a bug in it; the pass is abandoned).
    panicked: bool,
}

/// Decodes every QR code in a luma image.
///
/// The passes run on a worker thread; if they do not finish within `limits.deadline` the
/// call returns [`QrError::Deadline`] and the worker is told to stop at its next check.
/// A panic inside a decoder is caught and only ends that pass.
pub fn decode_luma(image: GrayImage, limits: &Limits) -> Result<Vec<Found>, QrError> {
    decode_luma_with(image, limits, true)
}

/// [`decode_luma`] without the prefilters (every rqrr pass runs, every finder triangle is
/// tried): the reference that tests and the benchmark hold the fast path against ("no code
/// the full cascade finds is lost"). Much slower on screens without a code.
#[doc(hidden)]
pub fn decode_luma_exhaustive(image: GrayImage, limits: &Limits) -> Result<Vec<Found>, QrError> {
    decode_luma_with(image, limits, false)
}

fn decode_luma_with(
    image: GrayImage,
    limits: &Limits,
    prefilter: bool,
) -> Result<Vec<Found>, QrError> {
    limits.check_dimensions(image.width(), image.height())?;
    let deadline = Instant::now() + limits.deadline;
    let cancel = Arc::new(AtomicBool::new(false));
    let worker_cancel = Arc::clone(&cancel);
    let (tx, rx) = mpsc::sync_channel(1);
    let handle = std::thread::Builder::new()
        .name("safeid-qr-decode".into())
        .spawn(move || {
            let found = run_passes(&image, &worker_cancel, deadline, prefilter);
            // The receiver is gone only after a timeout; nothing left to do then.
            let _ = tx.send(found);
        })
        .map_err(|e| QrError::Image(format!("cannot start the decoder thread: {e}")))?;
    match rx.recv_timeout(limits.deadline) {
        Ok(found) => {
            let _ = handle.join();
            Ok(found)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            cancel.store(true, Ordering::Relaxed);
            Err(QrError::Deadline(limits.deadline))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            // A panic outside the guarded decoder calls is a bug of this crate: surface it.
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => Err(QrError::Image(
                "the decoder thread ended without a result".into(),
            )),
        },
    }
}

/// Images up to this many pixels get the whole-image passes even when no finder pattern
/// was seen (they are cheap there).
const SMALL_IMAGE: u64 = 1_000_000;

/// Images above this many pixels (4K screens; 1440p is 3.7 Mpx) skip the whole-image
/// adaptive passes on the fast path. There rqrr's moving average spans 1/8 of the width
/// (480 px at 4K, as wide as a whole code on such a screen, so it is hardly more local
/// than a crop's own thresholds, and the crops of the timing-checked triangles get rqrr's
/// adaptive pass of their own) and a pass costs over 100 ms even when it finds nothing.
/// The whole-image Otsu passes still run. examples/prefilter_check loses no code by it
/// (seeds 1 and 2, which chose the rule, and seed 3, which did not: docs/qr.md).
const LARGE_IMAGE: u64 = 4_000_000;

/// At most this many finder candidates per polarity (a busy screen with more falls back to
/// the whole-image passes).
const MAX_FINDERS: usize = 300;

/// The timing-pattern check on finder triangles (`finder::timing`) before their crops go
/// to rqrr. It was off while rqrr's crops were the only reader of blurred codes: on the
/// generated blur set it dropped codes the full cascade decodes (3 of 50). The grid
/// sampler now reads every triangle first, blurred ones included, so the check only
/// spares rqrr the crops of text and icons: examples/prefilter_check, seeds 1 and 2,
/// 25 per condition, loses no code (docs/qr.md).
const TIMING_CHECK: bool = true;

/// Finds regions that hold finder patterns and decodes them; falls back to whole-image
/// passes when that finds nothing but the image may still hold a code.
fn run_passes(
    image: &GrayImage,
    cancel: &AtomicBool,
    deadline: Instant,
    prefilter: bool,
) -> Vec<Found> {
    let stop = || cancel.load(Ordering::Relaxed) || Instant::now() >= deadline;
    let mut all: Vec<Found> = Vec::new();
    let (w, h) = image.dimensions();
    let mut saw_finders = false;
    let mut saw_triangles = false;
    let mut overflow = false;
    let candidates = catch_unwind(AssertUnwindSafe(|| finder_candidates(image)));
    if let Ok(per_polarity) = candidates {
        for (inverted, finders, blur_finders) in per_polarity {
            // Both polarities: a screen may show a light and a dark-mode code side by side.
            if finders.is_empty() && blur_finders.is_empty() {
                continue;
            }
            // Only the classic finders call for the whole-image passes below (the blur-proof
            // bitmap marks much text as finders; the sampler alone reads those).
            saw_finders |= !finders.is_empty();
            overflow |= finders.len() > MAX_FINDERS;
            let raw = image.as_raw();
            // Bilinear grey level, dark low in the polarity searched.
            let sample = |x: f32, y: f32| {
                let (x, y) = (x.clamp(0.0, (w - 1) as f32), y.clamp(0.0, (h - 1) as f32));
                let (x0, y0) = (x as usize, y as usize);
                let (x1, y1) = ((x0 + 1).min(w as usize - 1), (y0 + 1).min(h as usize - 1));
                let (fx, fy) = (x - x0 as f32, y - y0 as f32);
                let p = |xx: usize, yy: usize| f32::from(raw[yy * w as usize + xx]);
                let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
                let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
                let v = top * (1.0 - fy) + bottom * fy;
                if inverted { 255.0 - v } else { v }
            };
            let timing: Option<&dyn Fn(f32, f32) -> f32> =
                (prefilter && TIMING_CHECK).then_some(&sample);
            let tris = triangles(&finders, MAX_TRIANGLES, timing);
            // The fast path's fallback below wants a candidate code, not just finders: a
            // busy 4K screen has finder-like glyphs everywhere (three in a right
            // isosceles triangle are rarer).
            saw_triangles |= if timing.is_some() {
                !triangles(&finders, 1, None).is_empty()
            } else {
                !tris.is_empty()
            };
            // The sampler tries every triangle, those that only the blur-proof bitmap shows
            // and those the timing check keeps from the crops included (`blur_finders`
            // holds all the finders); rqrr's crops get the timing-checked ones only.
            let sample_tris = triangles(&blur_finders, MAX_SAMPLED_TRIANGLES, None);
            // First, cheaply, every triangle read by sampling its modules at the centres the
            // finders imply (the only reader for heavy blur, which merges the capstone
            // rings in every bitmap rqrr could get); rqrr then reads the crops of what is
            // left.
            let name = if inverted {
                "grid-sample-inverted"
            } else {
                "grid-sample"
            };
            for tri in &sample_tris {
                if stop() {
                    return all;
                }
                let [_, j, k] = tri;
                let (cx, cy) = ((j.x + k.x) / 2.0, (j.y + k.y) / 2.0);
                if cx < 0.0 || cy < 0.0 {
                    continue;
                }
                if all
                    .iter()
                    .any(|f| covers(&f.bounds, (cx as u32, cy as u32, 0, 0)))
                {
                    continue;
                }
                if let Ok(Some(f)) = catch_unwind(AssertUnwindSafe(|| {
                    sampler::decode_triangle(tri, &sample, name)
                })) {
                    merge(&mut all, vec![f]);
                }
            }
            for (x, y, rw, rh) in regions(&tris, w, h) {
                if stop() {
                    return all;
                }
                // A code already decoded explains this region: its false triangles in the
                // other polarity (quiet zone and modules) tend to be large and slow.
                if all.iter().any(|f| covers(&f.bounds, (x, y, rw, rh))) {
                    continue;
                }
                let crop = image::imageops::crop_imm(image, x, y, rw, rh).to_image();
                let smallest = finders
                    .iter()
                    .filter(|(f, _)| {
                        f.x >= x as f32
                            && f.y >= y as f32
                            && f.x < (x + rw) as f32
                            && f.y < (y + rh) as f32
                    })
                    .map(|(f, _)| f.size)
                    .fold(f32::MAX, f32::min);
                for mut f in decode_region(&crop, inverted, smallest, false) {
                    for p in &mut f.bounds {
                        *p = (p.0.saturating_add(x as i32), p.1.saturating_add(y as i32));
                    }
                    merge(&mut all, vec![f]);
                }
            }
        }
    }
    // The whole-image passes: for small images always; otherwise when finders were seen
    // (the exhaustive reference) or, on the fast path, a finder triangle.
    let seen = if prefilter {
        saw_triangles
    } else {
        saw_finders
    };
    if !all.is_empty() || (!seen && u64::from(w) * u64::from(h) > SMALL_IMAGE && !overflow) {
        return all;
    }
    // Large images on the fast path: the whole-image Otsu passes only (`LARGE_IMAGE`).
    let adaptive = !(prefilter && u64::from(w) * u64::from(h) > LARGE_IMAGE);
    whole_image_passes(image, all, &stop, prefilter, adaptive)
}

/// Whether the code with these corners covers the middle of the region (the region was
/// cropped around it).
fn covers(bounds: &[(i32, i32); 4], (x, y, w, h): (u32, u32, u32, u32)) -> bool {
    let (cx, cy) = (
        i64::from(x) + i64::from(w) / 2,
        i64::from(y) + i64::from(h) / 2,
    );
    let xs = bounds.map(|p| i64::from(p.0));
    let ys = bounds.map(|p| i64::from(p.1));
    let (x0, x1) = (xs.iter().min(), xs.iter().max());
    let (y0, y1) = (ys.iter().min(), ys.iter().max());
    matches!((x0, x1, y0, y1), (Some(&x0), Some(&x1), Some(&y0), Some(&y1))
        if (x0..=x1).contains(&cx) && (y0..=y1).contains(&cy))
}

/// At most this many finder triangles (candidate codes) per polarity.
const MAX_TRIANGLES: usize = 64;

/// At most this many triangles per polarity for the grid sampler (a few thousand samples
/// and Reed-Solomon checks each, against rqrr runs for a crop).
const MAX_SAMPLED_TRIANGLES: usize = 256;

/// Finder candidates in both polarities, from a global Otsu bitmap and a local-mean one:
/// `[(false, dark-on-light finders, the same plus those of the mid-range bitmap), (true,
/// light-on-dark ...)]`.
#[allow(clippy::type_complexity)]
fn finder_candidates(image: &GrayImage) -> [(bool, Vec<(Finder, u32)>, Vec<(Finder, u32)>); 2] {
    let local = local_marks(image);
    // The image's own pixels, for the global thresholds (borrowed, not copied).
    let luma = Bitmap {
        width: image.width() as usize,
        height: image.height() as usize,
        bits: image.as_raw().as_slice(),
    };
    let thresholds = three_thresholds(image);
    let mut dark = Vec::new();
    let mut light = Vec::new();
    find(&local, |b| b == DARK, 2, MAX_FINDERS, &mut dark);
    find(&local, |b| b == LIGHT, 2, MAX_FINDERS, &mut light);
    drop(local);
    // Global thresholds catch large finders (beyond the local window) and codes without
    // quiet zone; every 4th row still crosses a finder's 3-module centre.
    for t in thresholds {
        find(&luma, |p| p <= t, 4, MAX_FINDERS, &mut dark);
        find(&luma, |p| p > t, 4, MAX_FINDERS, &mut light);
    }
    // Blurred codes: halfway between the local extremes keeps the capstone rings apart.
    let (mut blur_dark, mut blur_light) = (dark.clone(), light.clone());
    let mid = midrange_marks(image);
    find(&mid, |b| b == DARK, 2, 2 * MAX_FINDERS, &mut blur_dark);
    find(&mid, |b| b == LIGHT, 2, 2 * MAX_FINDERS, &mut blur_light);
    [(false, dark, blur_dark), (true, light, blur_light)]
}

/// Decodes one cropped region: Otsu on the crop, then (small modules) the crop upscaled
/// twice, then rqrr's adaptive threshold; stops at the first attempt that decodes.
fn decode_region(
    crop: &GrayImage,
    inverted: bool,
    finder_size: f32,
    prefilter: bool,
) -> Vec<Found> {
    let mut found = Vec::new();
    let mut crop_cache = Bitmaps {
        otsu: None,
        adaptive: None,
    };
    let names = if inverted {
        [
            "roi-otsu-inverted",
            "roi-otsu-low-inverted",
            "roi-otsu-high-inverted",
        ]
    } else {
        ["roi-otsu", "roi-otsu-low", "roi-otsu-high"]
    };
    for (name, t) in names.into_iter().zip(three_thresholds(crop)) {
        let pass = Pass {
            name,
            binarize: Binarize::Threshold { t, inverted },
        };
        if prefilter && !could_decode(crop, &pass, &mut crop_cache) {
            continue;
        }
        let r = run_pass(crop, &pass);
        let clean = r.failed_grids == 0 && !r.panicked;
        merge(&mut found, r.found);
        if !found.is_empty() && clean {
            return found;
        }
    }
    if finder_size < 7.0 * 4.0 {
        let big = image::imageops::resize(
            crop,
            crop.width() * 2,
            crop.height() * 2,
            image::imageops::FilterType::Triangle,
        );
        let pass = Pass {
            name: if inverted {
                "roi-2x-otsu-inverted"
            } else {
                "roi-2x-otsu"
            },
            binarize: Binarize::Otsu { inverted },
        };
        let mut r = if !prefilter
            || could_decode(
                &big,
                &pass,
                &mut Bitmaps {
                    otsu: None,
                    adaptive: None,
                },
            ) {
            run_pass(&big, &pass)
        } else {
            PassResult::default()
        };
        for f in &mut r.found {
            for p in &mut f.bounds {
                *p = (p.0 / 2, p.1 / 2);
            }
        }
        merge(&mut found, r.found);
        if !found.is_empty() {
            return found;
        }
    }
    let pass = Pass {
        name: if inverted {
            "roi-adaptive-inverted"
        } else {
            "roi-adaptive"
        },
        binarize: Binarize::Adaptive { inverted },
    };
    if !prefilter || could_decode(crop, &pass, &mut crop_cache) {
        merge(&mut found, run_pass(crop, &pass).found);
    }
    found
}

/// The whole-image passes, until one finds codes and leaves no detected grid undecoded
/// (the adaptive ones only if `adaptive`).
fn whole_image_passes(
    image: &GrayImage,
    mut all: Vec<Found>,
    stop: &dyn Fn() -> bool,
    prefilter: bool,
    adaptive: bool,
) -> Vec<Found> {
    let mut cache = Bitmaps {
        otsu: None,
        adaptive: None,
    };
    for pass in PASSES {
        if stop() {
            break;
        }
        if !adaptive && matches!(pass.binarize, Binarize::Adaptive { .. }) {
            continue;
        }
        // A pass whose bitmap does not show three capstone-like places cannot decode:
        // skipping it is what makes a screen without a code cheap.
        let possible = !prefilter || could_decode(image, pass, &mut cache);
        if !possible {
            continue;
        }
        let result = run_pass(image, pass);
        merge(&mut all, result.found);
        // Stop early once codes are known and this pass left nothing half-seen; a grid that
        // was detected but did not decode (or a panic) means another pass may still help.
        if !all.is_empty() && result.failed_grids == 0 && !result.panicked {
            break;
        }
    }
    all
}

/// Appends the codes whose payload is not already known (several passes find the same code).
pub(crate) fn merge(all: &mut Vec<Found>, found: Vec<Found>) {
    for f in found {
        if all.iter().all(|a| a.text != f.text) {
            all.push(f);
        }
    }
}

/// Rows the prefilter scans: a capstone's centre run is 3 modules high, so at 1 px per
/// module (below which rqrr decodes nothing) every other row still crosses it.
const PREFILTER_ROW_STEP: usize = 2;

/// The bitmaps of a set of passes, built once for the prefilter.
struct Bitmaps {
    /// The global Otsu bitmap (1 = at or below the threshold).
    otsu: Option<Vec<u8>>,
    /// rqrr's adaptive bitmaps: of the image, of its inverse.
    adaptive: Option<Option<[Vec<u8>; 2]>>,
}

/// Whether `pass` on `image` can decode anything at all: its bitmap must show three
/// capstone-like places in a corner triangle with timing patterns (see
/// `finder::could_hold_three_capstones`). A few operations per pixel, against rqrr's
/// region labelling and grid tests; `cache` keeps the bitmaps between passes.
fn could_decode(image: &GrayImage, pass: &Pass, cache: &mut Bitmaps) -> bool {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let threshold = |t: u8| image.as_raw().iter().map(|&p| u8::from(p <= t)).collect();
    let check = |bits: &[u8], dark: u8| {
        catch_unwind(AssertUnwindSafe(|| {
            could_hold_three_capstones(bits, w, h, dark, PREFILTER_ROW_STEP)
        }))
        .unwrap_or(true)
    };
    match pass.binarize {
        Binarize::Otsu { inverted } => {
            let bits = cache.otsu.get_or_insert_with(|| threshold(otsu(image)));
            check(bits, u8::from(!inverted))
        }
        Binarize::Threshold { t, inverted } => check(&threshold(t), u8::from(!inverted)),
        Binarize::Adaptive { inverted } => {
            match cache.adaptive.get_or_insert_with(|| rqrr_adaptive(image)) {
                Some(bits) => check(&bits[usize::from(inverted)], 1),
                None => true,
            }
        }
    }
}

/// One rqrr detection and decoding pass, with panics caught.
fn run_pass(image: &GrayImage, pass: &Pass) -> PassResult {
    catch_unwind(AssertUnwindSafe(|| run_pass_unguarded(image, pass))).unwrap_or(PassResult {
        panicked: true,
        ..PassResult::default()
    })
}

fn run_pass_unguarded(image: &GrayImage, pass: &Pass) -> PassResult {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let raw = image.as_raw();
    let mut prepared = match pass.binarize {
        Binarize::Otsu { inverted } => {
            let t = otsu(image);
            rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| (raw[y * w + x] <= t) != inverted)
        }
        Binarize::Threshold { t, inverted } => {
            rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| (raw[y * w + x] <= t) != inverted)
        }
        Binarize::Adaptive { inverted } => {
            let flip = if inverted { 255 } else { 0 };
            rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| raw[y * w + x] ^ flip)
        }
    };
    let mut result = PassResult::default();
    for grid in prepared.detect_grids() {
        let mut payload = Vec::new();
        match grid.decode_to(&mut payload) {
            Ok(_) => {
                let (text, utf8) = match String::from_utf8(payload) {
                    Ok(s) => (s, true),
                    Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
                };
                result.found.push(Found {
                    text: SecretString::new(text),
                    utf8,
                    decoder: pass.name,
                    bounds: grid.bounds.map(|p| (p.x, p.y)),
                });
            }
            Err(_) => {
                safeid_secret::wipe(&mut payload);
                result.failed_grids += 1;
            }
        }
    }
    result
}
