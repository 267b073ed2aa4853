//! Grid sampling: reads a code's modules straight from the grey image at the centres the
//! three finder patterns imply, then hands the bit matrix to rqrr's decoder.
//!
//! rqrr binarises first and then traces the capstones' outlines; under a Gaussian blur of
//! half a module or more, the one-module rings of the capstones and single modules
//! merge in any bitmap, and rqrr finds no grid. The grey level at a module's *centre*
//! still keeps most of its contrast (a lone module blurred with sigma 0.65 module keeps
//! 2 Phi(0.77) - 1 = 56 % of it), so sampling there and thresholding against the code's own
//! mean recovers the bits. The finder centres stay where they were: a symmetric blur does
//! not move them. Affine only (screenshots have no perspective): the fourth corner
//! completes the parallelogram.

use safeid_secret::SecretString;

use crate::Found;
use crate::finder::Finder;

/// Three finder centres of one candidate code: the corner (top-left of the code) and its
/// two neighbours, in either order.
pub type Triangle = [Finder; 3];

/// Tries to decode the code that `triangle` outlines. `sample(x, y)` is the grey level at
/// an image position with dark low (already inverted for light-on-dark codes). Versions
/// around the estimate from the finder size and spacing are tried, each with a global and
/// a local threshold. A few thousand samples and one Reed-Solomon decode per attempt.
pub fn decode_triangle<S: Fn(f32, f32) -> f32>(
    triangle: &Triangle,
    sample: &S,
    name: &'static str,
) -> Option<Found> {
    let [tl, a, b] = *triangle;
    // Image y grows downwards: the top-right neighbour is the one for which the turn from
    // it to the other neighbour is clockwise (positive cross product).
    let cross = (a.x - tl.x) * (b.y - tl.y) - (a.y - tl.y) * (b.x - tl.x);
    let (tr, bl) = if cross >= 0.0 { (a, b) } else { (b, a) };
    let dist = |p: &Finder| ((p.x - tl.x).powi(2) + (p.y - tl.y).powi(2)).sqrt();
    let module = (tl.size + tr.size + bl.size) / 21.0;
    if !(module.is_finite() && module > 0.5) {
        return None;
    }
    let span = (dist(&tr) + dist(&bl)) / 2.0 / module + 7.0;
    let estimate = ((span - 17.0) / 4.0).round() as i32;
    for version in (estimate - 1..=estimate + 1).filter(|v| (1..=40).contains(v)) {
        let n = (4 * version + 17) as usize;
        let steps = (n - 7) as f32;
        let ex = ((tr.x - tl.x) / steps, (tr.y - tl.y) / steps);
        let ey = ((bl.x - tl.x) / steps, (bl.y - tl.y) / steps);
        let centre = |col: usize, row: usize| {
            let (c, r) = (col as f32 - 3.0, row as f32 - 3.0);
            (tl.x + c * ex.0 + r * ey.0, tl.y + c * ex.1 + r * ey.1)
        };
        // The cheap test first: the two timing patterns, from the three rows (columns)
        // around them, before the whole grid is sampled.
        if !timing_shows(
            &|col, row| {
                let (x, y) = centre(col, row);
                sample(x, y)
            },
            n,
        ) {
            continue;
        }
        let values: Vec<f32> = (0..n * n)
            .map(|i| {
                let (x, y) = centre(i % n, i / n);
                sample(x, y)
            })
            .collect();
        let corner = |col: f32, row: f32| {
            let (c, r) = (col - 3.5, row - 3.5);
            (
                (tl.x + c * ex.0 + r * ey.0).round() as i32,
                (tl.y + c * ex.1 + r * ey.1).round() as i32,
            )
        };
        let bounds = [
            corner(0.0, 0.0),
            corner(n as f32, 0.0),
            corner(n as f32, n as f32),
            corner(0.0, n as f32),
        ];
        let variants = [
            global_bits(&values),
            local_bits(&values, n),
            global_bits(&sharpen(&values, n, 1.0)),
            global_bits(&sharpen(&values, n, 2.0)),
            global_bits(&sharpen(&values, n, 4.0)),
        ];
        for bits in variants {
            // Most triangles are text and icons: their grids fail the patterns the
            // standard fixes, and skipping them saves a Reed-Solomon decode (and rqrr's
            // mirrored retry) each. On the blur sets every grid that decoded had all its
            // finder modules and at least 84 % of its timing modules right.
            let (finders, timing) = pattern_agreement(&bits, n);
            if finders < MIN_FINDER_AGREEMENT || timing < MIN_TIMING_AGREEMENT {
                continue;
            }
            let grid = rqrr::Grid::new(rqrr::SimpleGrid::from_func(n, |x, y| bits[y * n + x]));
            let mut payload = Vec::new();
            if grid.decode_to(&mut payload).is_ok() {
                let (text, utf8) = match String::from_utf8(payload) {
                    Ok(s) => (s, true),
                    Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), false),
                };
                return Some(Found {
                    text: SecretString::new(text),
                    utf8,
                    decoder: name,
                    bounds,
                });
            }
            safeid_secret::wipe(&mut payload);
        }
    }
    None
}

/// Whether the timing patterns (row and column 6 between the separators) alternate in the
/// grey levels at their module centres, for at least one of the sharpening amounts the
/// decoder tries: each module is sharpened against its 8 neighbours (the rows or columns
/// 5 and 7 beside the pattern) and compared with the mean of the pattern, and at least
/// `MIN_TIMING_AGREEMENT - 0.1` of them must come out right (looser than the test on the
/// whole grid, whose threshold is the mean of every module). About 6 n samples, against
/// the n x n of a grid.
fn timing_shows(at: &dyn Fn(usize, usize) -> f32, n: usize) -> bool {
    if n < 21 {
        return false;
    }
    // [before, on, after] x modules 7 ..= n - 8 (the ends are separator modules, light).
    let line = |column: bool| -> Vec<[f32; 3]> {
        (7..=n - 8)
            .map(|i| {
                let v = |off: usize| if column { at(off, i) } else { at(i, off) };
                [v(5), v(6), v(7)]
            })
            .collect()
    };
    let lines = [line(false), line(true)];
    [0.0f32, 1.0, 2.0, 4.0].into_iter().any(|amount| {
        let (mut good, mut total) = (0usize, 0usize);
        for l in &lines {
            let sharp: Vec<f32> = (1..l.len() - 1)
                .map(|i| {
                    let neighbours: f32 =
                        l[i - 1].iter().chain(&l[i + 1]).sum::<f32>() + l[i][0] + l[i][2];
                    let v = l[i][1];
                    v + amount * (v - neighbours / 8.0)
                })
                .collect();
            let mean = sharp.iter().sum::<f32>() / sharp.len().max(1) as f32;
            for (k, v) in sharp.iter().enumerate() {
                // Module 8 + k: even modules of the timing pattern are dark.
                let dark = (8 + k) % 2 == 0;
                good += usize::from((*v < mean) == dark);
                total += 1;
            }
        }
        total > 0 && good as f32 >= (MIN_TIMING_AGREEMENT - 0.1) * total as f32
    })
}

/// The least share of finder-pattern modules (with separators) a sampled grid must get
/// right before it is decoded.
const MIN_FINDER_AGREEMENT: f32 = 0.9;
/// The least share of timing-pattern modules likewise.
const MIN_TIMING_AGREEMENT: f32 = 0.7;

/// How many of the function modules whose colour the standard fixes come out right:
/// `(finder patterns with their separators, timing patterns)`, as fractions.
fn pattern_agreement(bits: &[bool], n: usize) -> (f32, f32) {
    let finder_dark = |x: usize, y: usize| {
        // 7x7 pattern: ring at distance 3, centre 3x3; the separator (distance 4) light.
        let d = x.abs_diff(3).max(y.abs_diff(3));
        d != 2 && d != 4
    };
    let (mut good, mut total) = (0usize, 0usize);
    for (ox, oy) in [(0usize, 0usize), (n - 8, 0), (0, n - 8)] {
        for y in 0..8 {
            for x in 0..8 {
                // Corner (0, 0) of each 8x8 block is the pattern's own corner; mirror the
                // other two so that the separator lies on the inner side.
                let (px, py) = match (ox, oy) {
                    (0, 0) => (x, y),
                    (_, 0) => (7 - x, y),
                    _ => (x, 7 - y),
                };
                let (gx, gy) = (ox + x, oy + y);
                let want = finder_dark(px.min(7), py.min(7)) && px < 7 && py < 7;
                good += usize::from(bits[gy * n + gx] == want);
                total += 1;
            }
        }
    }
    let finders = good as f32 / total as f32;
    let (mut good, mut total) = (0usize, 0usize);
    for i in 8..n - 8 {
        let want = i % 2 == 0;
        good += usize::from(bits[6 * n + i] == want) + usize::from(bits[i * n + 6] == want);
        total += 2;
    }
    (finders, good as f32 / total.max(1) as f32)
}

/// The module samples with their difference from the mean of their (up to 8) neighbours
/// amplified by `amount`: an unsharp mask at the module scale, which undoes the blur's
/// pull of a lone module towards its neighbours' level.
fn sharpen(values: &[f32], n: usize, amount: f32) -> Vec<f32> {
    (0..n * n)
        .map(|i| {
            let (x, y) = ((i % n) as isize, (i / n) as isize);
            let (mut sum, mut count) = (0f32, 0f32);
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    let (xx, yy) = (x + dx, y + dy);
                    if (dx, dy) == (0, 0)
                        || xx < 0
                        || yy < 0
                        || xx >= n as isize
                        || yy >= n as isize
                    {
                        continue;
                    }
                    sum += values[yy as usize * n + xx as usize];
                    count += 1.0;
                }
            }
            let v = values[i];
            v + amount * (v - sum / count.max(1.0))
        })
        .collect()
}

/// Dark where a module centre is below the mean of all of them (QR masking keeps the
/// data close to half dark).
fn global_bits(values: &[f32]) -> Vec<bool> {
    let mean = values.iter().sum::<f32>() / values.len().max(1) as f32;
    values.iter().map(|&v| v < mean).collect()
}

/// Dark where a module centre is below the mean of the 7x7 modules around it (uneven
/// lighting, a gradient behind a code without quiet zone).
fn local_bits(values: &[f32], n: usize) -> Vec<bool> {
    // Summed-area table over the n x n samples.
    let mut sat = vec![0f32; (n + 1) * (n + 1)];
    for y in 0..n {
        let mut row = 0f32;
        for x in 0..n {
            row += values[y * n + x];
            sat[(y + 1) * (n + 1) + x + 1] = sat[y * (n + 1) + x + 1] + row;
        }
    }
    const R: usize = 3;
    (0..n * n)
        .map(|i| {
            let (x, y) = (i % n, i / n);
            let (x0, y0) = (x.saturating_sub(R), y.saturating_sub(R));
            let (x1, y1) = ((x + R + 1).min(n), (y + R + 1).min(n));
            let sum = sat[y1 * (n + 1) + x1] - sat[y0 * (n + 1) + x1] - sat[y1 * (n + 1) + x0]
                + sat[y0 * (n + 1) + x0];
            let mean = sum / ((x1 - x0) * (y1 - y0)) as f32;
            values[i] < mean
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A generated code, blurred far past what rqrr reads, decodes from its finder
    /// centres, which come from the QR geometry (module 3.5 + 7 * k), not from the search.
    #[test]
    fn a_code_blurred_by_half_a_module_decodes_from_its_finders() {
        let text = "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=ACME";
        let module = 4u32;
        let img = crate::generate::image(text, module).unwrap();
        let sigma = 0.5 * module as f32;
        let img = image::imageops::blur(&img, sigma);
        let m = crate::generate::modules(text).unwrap();
        let n = m.size as f32;
        let q = crate::generate::QUIET_ZONE as f32;
        let at = |col: f32, row: f32| Finder {
            x: (q + col) * module as f32,
            y: (q + row) * module as f32,
            size: 7.0 * module as f32,
        };
        let (w, h) = img.dimensions();
        let sample = |x: f32, y: f32| {
            let (x, y) = (x.clamp(0.0, (w - 1) as f32), y.clamp(0.0, (h - 1) as f32));
            f32::from(img.get_pixel(x.round() as u32, y.round() as u32).0[0])
        };
        // Neighbours given in both orders: the orientation is found, not assumed.
        for tri in [
            [at(3.5, 3.5), at(n - 3.5, 3.5), at(3.5, n - 3.5)],
            [at(3.5, 3.5), at(3.5, n - 3.5), at(n - 3.5, 3.5)],
        ] {
            let found = decode_triangle(&tri, &sample, "grid-sample").unwrap();
            assert_eq!(found.text.expose(), text);
        }
        // rqrr alone reads nothing from this image.
        let mut prepared = rqrr::PreparedImage::prepare(img.clone());
        assert!(prepared.detect_grids().iter().all(|g| g.decode().is_err()));
    }

    #[test]
    fn noise_between_three_finders_decodes_to_nothing() {
        let f = |x: f32, y: f32| Finder { x, y, size: 28.0 };
        let tri = [f(100.0, 100.0), f(200.0, 100.0), f(100.0, 200.0)];
        let noise = |x: f32, y: f32| {
            // A fixed pseudo-random grey level per pixel (an integer hash of its position).
            let h = (x as u32).wrapping_mul(0x9E37_79B9) ^ (y as u32).wrapping_mul(0x85EB_CA6B);
            f32::from((h.wrapping_mul(0xC2B2_AE35) >> 24) as u8)
        };
        assert!(decode_triangle(&tri, &noise, "grid-sample").is_none());
    }
}
