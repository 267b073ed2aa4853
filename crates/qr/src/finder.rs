//! A fast search for QR finder patterns (the 1:1:3:1:1 squares in three corners), used to
//! crop regions of interest so that the expensive detector runs on small areas only.

use image::GrayImage;

/// A bitmap, one byte per pixel: marks ([`DARK`], [`LIGHT`], 0 for neither), or grey
/// levels when [`find`] runs on the image itself (`bits` then borrows the image's pixels).
pub struct Bitmap<B = Vec<u8>> {
    pub width: usize,
    pub height: usize,
    pub bits: B,
}

/// The mark of a pixel well below its local threshold.
pub const DARK: u8 = 1;
/// The mark of a pixel well above its local threshold.
pub const LIGHT: u8 = 2;

/// A confirmed finder pattern candidate: centre and outer width in pixels.
#[derive(Debug, Clone, Copy)]
pub struct Finder {
    pub x: f32,
    pub y: f32,
    pub size: f32,
}

/// A rectangle of the image: x, y, width, height.
pub type Rect = (u32, u32, u32, u32);

/// Side of the blocks whose means make the local threshold.
const BLOCK: usize = 8;

/// Local-mean threshold, both polarities in one bitmap of marks. The image is
/// cut into 8x8 blocks; each block's threshold is the mean of the blocks within `R` blocks
/// around it. A pixel is dark when it is at least `K` grey levels below its block's
/// threshold ([`DARK`]), light when at least `K` above ([`LIGHT`]). A few operations per
/// pixel.
pub fn local_marks(image: &GrayImage) -> Bitmap {
    const K: i32 = 6;
    let (w, h) = (image.width() as usize, image.height() as usize);
    let src = image.as_raw();
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    // Block sums and pixel counts.
    let mut sums = vec![0u32; bw * bh];
    for y in 0..h {
        let brow = &mut sums[(y / BLOCK) * bw..(y / BLOCK + 1) * bw];
        for (b, chunk) in brow.iter_mut().zip(src[y * w..(y + 1) * w].chunks(BLOCK)) {
            *b += chunk.iter().map(|&p| u32::from(p)).sum::<u32>();
        }
    }
    let count = |bx: usize, by: usize| -> u64 {
        let cw = (w - bx * BLOCK).min(BLOCK);
        let ch = (h - by * BLOCK).min(BLOCK);
        (cw * ch) as u64
    };
    // Summed-area tables over the block grid (sums and pixel counts).
    let mut sat = vec![(0u64, 0u64); (bw + 1) * (bh + 1)];
    for by in 0..bh {
        let mut row = (0u64, 0u64);
        for bx in 0..bw {
            row.0 += u64::from(sums[by * bw + bx]);
            row.1 += count(bx, by);
            let above = sat[by * (bw + 1) + bx + 1];
            sat[(by + 1) * (bw + 1) + bx + 1] = (above.0 + row.0, above.1 + row.1);
        }
    }
    let radius = (w.min(h) / 30 / BLOCK).clamp(2, 8);
    let mut thresholds = vec![0u8; bw * bh];
    for by in 0..bh {
        let (y0, y1) = (by.saturating_sub(radius), (by + radius + 1).min(bh));
        for bx in 0..bw {
            let (x0, x1) = (bx.saturating_sub(radius), (bx + radius + 1).min(bw));
            let at = |x: usize, y: usize| sat[y * (bw + 1) + x];
            let (a, b, c, d) = (at(x1, y1), at(x0, y0), at(x1, y0), at(x0, y1));
            let sum = a.0 + b.0 - c.0 - d.0;
            let n = (a.1 + b.1 - c.1 - d.1).max(1);
            thresholds[by * bw + bx] = (sum / n) as u8;
        }
    }
    split_by_blocks(image, |block| Some(i32::from(thresholds[block])), K)
}

/// Local mid-range threshold, both polarities in one bitmap of marks. Each
/// 8x8 block's threshold is halfway between the darkest and the lightest pixel within `R`
/// blocks around it; a pixel is dark when at least `K` grey levels below it, light when at
/// least `K` above, and neither where the window spans fewer than `MIN_SPAN` levels.
///
/// The local *mean* of [`local_marks`] fails on blurred codes next to a white quiet
/// zone: a capstone's blurred light ring stays below the mean of the window, and the
/// 1:1:3:1:1 runs merge. Halfway between the extremes, the ring stays light.
pub fn midrange_marks(image: &GrayImage) -> Bitmap {
    const K: i32 = 6;
    const MIN_SPAN: i32 = 40;
    let (w, h) = (image.width() as usize, image.height() as usize);
    let src = image.as_raw();
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    let mut lo = vec![u8::MAX; bw * bh];
    let mut hi = vec![0u8; bw * bh];
    for y in 0..h {
        let base = (y / BLOCK) * bw;
        for (bx, chunk) in src[y * w..(y + 1) * w].chunks(BLOCK).enumerate() {
            let (l, m) = chunk
                .iter()
                .fold((u8::MAX, 0u8), |(l, m), &p| (l.min(p), m.max(p)));
            lo[base + bx] = lo[base + bx].min(l);
            hi[base + bx] = hi[base + bx].max(m);
        }
    }
    let radius = (w.min(h) / 30 / BLOCK).clamp(2, 8);
    // Separable sliding min / max over the block grid: rows, then columns.
    let slide = |v: &[u8], keep_min: bool| {
        let pick = |a: u8, b: u8| if keep_min { a.min(b) } else { a.max(b) };
        let mut rows = vec![0u8; bw * bh];
        for by in 0..bh {
            for bx in 0..bw {
                let (x0, x1) = (bx.saturating_sub(radius), (bx + radius + 1).min(bw));
                rows[by * bw + bx] = v[by * bw + x0..by * bw + x1]
                    .iter()
                    .copied()
                    .reduce(pick)
                    .unwrap_or(0);
            }
        }
        let mut out = vec![0u8; bw * bh];
        for by in 0..bh {
            let (y0, y1) = (by.saturating_sub(radius), (by + radius + 1).min(bh));
            for bx in 0..bw {
                out[by * bw + bx] = (y0..y1)
                    .map(|yy| rows[yy * bw + bx])
                    .reduce(pick)
                    .unwrap_or(0);
            }
        }
        out
    };
    let (lo, hi) = (slide(&lo, true), slide(&hi, false));
    split_by_blocks(
        image,
        |block| {
            let (a, b) = (i32::from(lo[block]), i32::from(hi[block]));
            (b - a >= MIN_SPAN).then_some((a + b) / 2)
        },
        K,
    )
}

/// The marks of `image` against a threshold per 8x8 block (`threshold` takes the block's
/// index, row-major; `None`: the block is neither): [`DARK`] at least `k` grey levels below
/// it, [`LIGHT`] at least `k` above, else 0. One bitmap for both polarities, since a pixel
/// cannot be both: half the memory of two, which is what a large image costs here (80 MB
/// at 80 Mpx).
fn split_by_blocks(image: &GrayImage, threshold: impl Fn(usize) -> Option<i32>, k: i32) -> Bitmap {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let bw = w.div_ceil(BLOCK);
    let src = image.as_raw();
    let mut marks = vec![0u8; w * h];
    for y in 0..h {
        let base = (y / BLOCK) * bw;
        let row = &src[y * w..(y + 1) * w];
        let mrow = &mut marks[y * w..(y + 1) * w];
        for (bx, (px, m)) in row.chunks(BLOCK).zip(mrow.chunks_mut(BLOCK)).enumerate() {
            let Some(t) = threshold(base + bx) else {
                continue;
            };
            for (&p, m) in px.iter().zip(m.iter_mut()) {
                let p = i32::from(p);
                *m = DARK * u8::from(p + k < t) + LIGHT * u8::from(p > t + k);
            }
        }
    }
    Bitmap {
        width: w,
        height: h,
        bits: marks,
    }
}

/// Whether five run lengths look like 1:1:3:1:1.
fn ratio_ok(runs: &[usize; 5]) -> bool {
    let total: usize = runs.iter().sum();
    if total < 7 {
        return false;
    }
    let unit = total as f32 / 7.0;
    // Lenient on the one-module runs (blur and scaling smear edges), stricter on the
    // centre, which tells a finder from a run of equal bars.
    let near = |r: usize, n: f32| {
        let tol = if n > 1.0 { 1.4 } else { 0.6 };
        (r as f32 - n * unit).abs() <= tol * unit
    };
    near(runs[0], 1.0)
        && near(runs[1], 1.0)
        && near(runs[2], 3.0)
        && near(runs[3], 1.0)
        && near(runs[4], 1.0)
}

/// Checks the vertical pattern through (x, y): returns the vertical centre and size.
fn vertical<B: AsRef<[u8]>, F: Fn(u8) -> bool>(
    b: &Bitmap<B>,
    is_dark: &F,
    x: usize,
    y: usize,
    horizontal: usize,
) -> Option<(f32, usize)> {
    let bits = b.bits.as_ref();
    let at = |yy: usize| u8::from(is_dark(bits[yy * b.width + x]));
    if at(y) != 1 {
        return None;
    }
    let max_run = horizontal * 2;
    // Runs going up: centre (dark), light, dark; going down likewise.
    let mut up = [0usize; 3];
    let mut yy = y as isize;
    for (i, run) in up.iter_mut().enumerate() {
        let want = u8::from(i % 2 == 0);
        while yy >= 0 && at(yy as usize) == want && *run <= max_run {
            *run += 1;
            yy -= 1;
        }
        if *run == 0 || *run > max_run {
            return None;
        }
    }
    let top = yy + 1;
    let mut down = [0usize; 3];
    let mut yy = y + 1;
    for (i, run) in down.iter_mut().enumerate() {
        let want = u8::from(i % 2 == 0);
        while yy < b.height && at(yy) == want && *run <= max_run {
            *run += 1;
            yy += 1;
        }
        if (i > 0 && *run == 0) || *run > max_run {
            return None;
        }
    }
    let runs = [up[2], up[1], up[0] + down[0], down[1], down[2]];
    let total: usize = runs.iter().sum();
    let h = horizontal as f32;
    if !ratio_ok(&runs) || (total as f32) < h * 0.6 || (total as f32) > h * 1.7 {
        return None;
    }
    Some((top as f32 + total as f32 / 2.0, total))
}

/// Finder candidates in a bitmap (or luma image) whose pixels `is_dark` accepts: a row scan every
/// `row_step` rows for 1:1:3:1:1 runs, each hit confirmed by the same pattern vertically, hits
/// of one finder merged into `out`. Stops adding beyond `max` candidates.
pub fn find<B: AsRef<[u8]>, F: Fn(u8) -> bool>(
    b: &Bitmap<B>,
    is_dark: F,
    row_step: usize,
    max: usize,
    out: &mut Vec<(Finder, u32)>,
) {
    for y in (0..b.height).step_by(row_step.max(1)) {
        if out.len() > max {
            return;
        }
        let row = &b.bits.as_ref()[y * b.width..(y + 1) * b.width];
        // The last five runs, ending at the current one.
        let mut runs = [0usize; 5];
        let mut colour = row.first().is_some_and(|&p| is_dark(p));
        let mut current = 0usize;
        let mut x = 0;
        while x <= row.len() {
            let c = if x < row.len() {
                is_dark(row[x])
            } else {
                !colour
            };
            if c == colour {
                current += 1;
                x += 1;
                // Screens are mostly long uniform runs: skip them `SKIP` pixels at a time
                // (a branch-free test of a whole chunk, the same runs as pixel by pixel).
                while x + SKIP <= row.len()
                    && row[x..x + SKIP]
                        .iter()
                        .fold(true, |same, &p| same & (is_dark(p) == colour))
                {
                    current += SKIP;
                    x += SKIP;
                }
                continue;
            }
            runs.rotate_left(1);
            runs[4] = current;
            // A run just ended; check the pattern when it was dark (dark-light-dark-light-dark).
            if colour && ratio_ok(&runs) {
                let total: usize = runs.iter().sum();
                let cx = x - runs[4] - runs[3] - runs[2] / 2 - 1;
                if let Some((cy, vsize)) = vertical(b, &is_dark, cx, y, total) {
                    let size = (total + vsize) as f32 / 2.0;
                    let f = Finder {
                        x: (x - total) as f32 + total as f32 / 2.0,
                        y: cy,
                        size,
                    };
                    merge(out, f);
                }
            }
            colour = c;
            current = 1;
            x += 1;
        }
    }
}

/// Pixels [`find`] skips at a time inside a uniform run.
const SKIP: usize = 16;

fn merge(out: &mut Vec<(Finder, u32)>, f: Finder) {
    for (g, n) in out.iter_mut() {
        if (g.x - f.x).abs() < g.size * 0.5 && (g.y - f.y).abs() < g.size * 0.5 {
            let k = *n as f32;
            g.x = (g.x * k + f.x) / (k + 1.0);
            g.y = (g.y * k + f.y) / (k + 1.0);
            g.size = (g.size * k + f.size) / (k + 1.0);
            *n += 1;
            return;
        }
    }
    out.push((f, 1));
}

/// Candidate codes: every three finder candidates of similar size that form a right
/// isosceles triangle (the three corners of a QR code), the corner first. At most `max`.
/// With `sample` (grey level, dark low) a triangle must also show its two timing patterns
/// ([`timing`]): text and icons make many false triangles, each an rqrr run otherwise.
pub fn triangles(
    finders: &[(Finder, u32)],
    max: usize,
    sample: Option<&dyn Fn(f32, f32) -> f32>,
) -> Vec<[Finder; 3]> {
    let f: Vec<Finder> = finders.iter().map(|(f, _)| *f).collect();
    let mut out = Vec::new();
    let similar = |a: &Finder, b: &Finder| {
        let r = a.size / b.size;
        (0.6..=1.67).contains(&r)
    };
    for (i, c) in f.iter().enumerate() {
        // Neighbours that could be the other two corners (version 1 to about 40).
        let near: Vec<(usize, f32)> = f
            .iter()
            .enumerate()
            .filter(|(j, o)| *j != i && similar(c, o))
            .filter_map(|(j, o)| {
                let d = ((o.x - c.x).powi(2) + (o.y - c.y).powi(2)).sqrt();
                let unit = (c.size + o.size) / 2.0;
                (d >= unit * 1.6 && d <= unit * 26.0).then_some((j, d))
            })
            .collect();
        for (a, &(j, dj)) in near.iter().enumerate() {
            for &(k, dk) in &near[a + 1..] {
                if (dj - dk).abs() > 0.25 * dj.max(dk) || !similar(&f[j], &f[k]) {
                    continue;
                }
                let (ux, uy) = (f[j].x - c.x, f[j].y - c.y);
                let (vx, vy) = (f[k].x - c.x, f[k].y - c.y);
                let cos = (ux * vx + uy * vy) / (dj * dk);
                if cos.abs() > 0.3 || sample.is_some_and(|s| !timing(c, &f[j], &f[k], &s)) {
                    continue;
                }
                out.push([*c, f[j], f[k]]);
                if out.len() >= max {
                    return out;
                }
            }
        }
    }
    out
}

/// Regions that may hold a code: for every triangle of [`triangles`], the square it spans
/// plus a margin; overlapping regions merged.
pub fn regions(triangles: &[[Finder; 3]], width: u32, height: u32) -> Vec<Rect> {
    let mut boxes: Vec<(f32, f32, f32, f32)> = Vec::new();
    for [c, j, k] in triangles {
        // The fourth corner completes the parallelogram.
        let (qx, qy) = (j.x + k.x - c.x, j.y + k.y - c.y);
        let xs = [c.x, j.x, k.x, qx];
        let ys = [c.y, j.y, k.y, qy];
        let m = c.size * 1.5;
        let lo = |v: &[f32; 4]| v.iter().copied().fold(f32::MAX, f32::min);
        let hi = |v: &[f32; 4]| v.iter().copied().fold(f32::MIN, f32::max);
        boxes.push((lo(&xs) - m, lo(&ys) - m, hi(&xs) + m, hi(&ys) + m));
    }
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                let (a, b) = (boxes[i], boxes[j]);
                if a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3 {
                    boxes[i] = (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3));
                    boxes.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    boxes
        .into_iter()
        .map(|(x0, y0, x1, y1)| {
            let x0 = (x0.max(0.0) as u32).min(width);
            let y0 = (y0.max(0.0) as u32).min(height);
            let x1 = (x1.max(0.0) as u32).min(width);
            let y1 = (y1.max(0.0) as u32).min(height);
            (x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0))
        })
        .filter(|(_, _, w, h)| *w >= 21 && *h >= 21)
        .collect()
}

/// rqrr 0.11's row test for a capstone, as it writes it: the mean of the four one-module
/// runs is `avg`, every run must be within `3/4 avg` of 1, 1, 3, 1, 1 times `avg`.
fn rqrr_ratio(runs: &[usize; 5]) -> bool {
    const CHECK: [usize; 5] = [1, 1, 3, 1, 1];
    let avg = (runs[0] + runs[1] + runs[3] + runs[4]) / 4;
    let err = avg * 3 / 4;
    runs.iter()
        .zip(CHECK)
        .all(|(&r, c)| r + err >= c * avg && r <= c * avg + err)
}

/// The same pattern across (a scaled and sheared copy of concentric squares gives it along
/// every line through the centre), with double rqrr's tolerance: blur, perspective and a
/// rotation stretch the runs of one direction against the other.
fn loose_ratio(runs: &[usize; 5]) -> bool {
    let avg = (runs[0] + runs[1] + runs[3] + runs[4]) as f32 / 4.0;
    let ok = |r: usize, n: f32| (r as f32 - n * avg).abs() <= 1.5 * avg + 1.0;
    runs.iter()
        .zip([1.0, 1.0, 3.0, 1.0, 1.0])
        .all(|(&r, n)| ok(r, n))
}

/// Whether a whole-image rqrr pass on the bitmap `is_dark` (by pixel index, `width` x
/// `height`) can find a grid at all: rqrr needs three capstones, each first seen as a row
/// whose runs pass its 1:1:3:1:1 test; this counts the places where a row does (every
/// row, rqrr's exact test) and the column through the centre stone shows the pattern too
/// (with a loose test), merging hits closer than half their width. Fewer than three such
/// places: the pass cannot decode anything and is skipped.
///
/// This is what makes a screen without a code cheap: text and icons give many row hits
/// but rarely three that also hold vertically.
pub fn could_hold_three_capstones(
    bits: &[u8],
    width: usize,
    height: usize,
    dark: u8,
    row_step: usize,
) -> bool {
    if bits.len() < width * height {
        return true;
    }
    let is_dark = |i: usize| bits[i] == dark;
    let light = [1 - dark.min(1); 8];
    let dark8 = [dark; 8];
    let mut places: Vec<(f32, f32, f32)> = Vec::new();
    for y in (0..height).step_by(row_step.max(1)) {
        let row = &bits[y * width..(y + 1) * width];
        let mut runs = [0usize; 5];
        let mut changes = 0usize;
        let mut colour = width > 0 && row[0] == dark;
        let mut current = 0usize;
        let mut x = 0usize;
        // One virtual light pixel past the end, as rqrr adds.
        while x <= width {
            let c = x < width && row[x] == dark;
            if c == colour {
                current += 1;
                x += 1;
                // Screens are mostly long uniform runs: skip them 8 pixels at a time.
                let same = if colour { &dark8 } else { &light };
                while x + 8 <= width && row[x..x + 8] == same[..] {
                    current += 8;
                    x += 8;
                }
                continue;
            }
            runs.rotate_left(1);
            runs[4] = current;
            changes += 1;
            if colour && changes >= 5 && rqrr_ratio(&runs) {
                let total: usize = runs.iter().sum();
                let cx = x - runs[4] - runs[3] - runs[2].div_ceil(2);
                if let Some(cy) = vertical_loose(width, height, &is_dark, cx, y, total) {
                    let (fx, fy, size) = (cx as f32, cy, total as f32);
                    let known = places.iter().any(|&(px, py, ps)| {
                        let r = ps.min(size) / 2.0;
                        (px - fx).abs() < r && (py - fy).abs() < r
                    });
                    if !known {
                        places.push((fx, fy, size));
                        if places.len() > MAX_PLACES {
                            return true;
                        }
                    }
                }
            }
            colour = c;
            current = 1;
            x += 1;
        }
    }
    let sample = |x: f32, y: f32| {
        let (xi, yi) = (x.round(), y.round());
        if xi < 0.0 || yi < 0.0 || xi >= width as f32 || yi >= height as f32 {
            return 255.0;
        }
        if is_dark(yi as usize * width + xi as usize) {
            0.0
        } else {
            255.0
        }
    };
    has_corner_triangle(&places, &sample)
}

/// Beyond this many capstone-like places the triangle test is not worth it (the pass runs).
const MAX_PLACES: usize = 150;

/// Whether three places could be the capstones of one code as rqrr groups them: from one
/// corner, the other two lie along its two module axes (rqrr: within about 11 degrees of
/// each, so 90 +- 23 degrees apart; here 90 +- 30) at distances within 25 % of each other
/// (here 40 %), 1.6 to 26 capstone widths away (versions 1 to 40 are 2 to 24.3), and the
/// two timing patterns between them alternate (`timing`: grey level or bitmap, dark low).
fn has_corner_triangle<S: Fn(f32, f32) -> f32>(places: &[(f32, f32, f32)], sample: &S) -> bool {
    let f = |p: (f32, f32, f32)| Finder {
        x: p.0,
        y: p.1,
        size: p.2,
    };
    let mut near: Vec<(usize, f32)> = Vec::new();
    for (i, a) in places.iter().enumerate() {
        near.clear();
        near.extend((0..places.len()).filter(|&j| j != i).filter_map(|j| {
            let b = places[j];
            let d = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
            let r = b.2 / a.2;
            ((0.5..=2.0).contains(&r) && d >= 1.6 * a.2.max(b.2) && d <= 26.0 * a.2.min(b.2))
                .then_some((j, d))
        }));
        // Nearest first: `corner_triangle` wants the two distances within 40 % of each
        // other, so the partners of one neighbour end at 1.4 times its distance (a hair
        // more here, against rounding). A screen of text has many places that are all
        // neighbours of each other; this keeps their pairs few.
        near.sort_by(|x, y| x.1.total_cmp(&y.1));
        for (k, &(j, dj)) in near.iter().enumerate() {
            for &(l, dl) in &near[k + 1..] {
                if dl > 1.401 * dj {
                    break;
                }
                let (b, c) = (places[j], places[l]);
                if corner_triangle(&f(*a), &f(b), &f(c)) && timing(&f(*a), &f(b), &f(c), sample) {
                    return true;
                }
            }
        }
    }
    false
}

/// Corner `a` with neighbours `b` and `c`: distances within 40 %, 90 +- 30 degrees apart.
pub fn corner_triangle(a: &Finder, b: &Finder, c: &Finder) -> bool {
    let (ux, uy) = (b.x - a.x, b.y - a.y);
    let (vx, vy) = (c.x - a.x, c.y - a.y);
    let (du, dv) = ((ux * ux + uy * uy).sqrt(), (vx * vx + vy * vy).sqrt());
    if du <= 0.0 || dv <= 0.0 {
        return false;
    }
    let cos = (ux * vx + uy * vy) / (du * dv);
    du.max(dv) / du.min(dv) <= 1.4 && cos.abs() <= 0.5
}

/// Whether the timing patterns of a code with capstones at corner `a` and `b`, `c` show:
/// module row 6 from `a` to `b` (3 modules off the centre line, towards `c`) and likewise
/// from `a` to `c` alternate dark and light. `sample(x, y)` is a grey level, dark low.
/// The module count between centres is `4 v + 10` for version `v`: the estimate from the
/// capstone width and its two neighbours are tried. At least 70 % of the steps between
/// neighbouring modules must go the right way by at least 6 grey levels.
pub fn timing<S: Fn(f32, f32) -> f32>(a: &Finder, b: &Finder, c: &Finder, sample: &S) -> bool {
    let line_ok = |to: &Finder, side: &Finder| {
        let (dx, dy) = (to.x - a.x, to.y - a.y);
        let d = (dx * dx + dy * dy).sqrt();
        let (sx, sy) = (side.x - a.x, side.y - a.y);
        let ds = (sx * sx + sy * sy).sqrt();
        if d <= 0.0 || ds <= 0.0 {
            return false;
        }
        let module = (a.size + to.size) / 14.0;
        let estimate = ((d / module - 10.0) / 4.0).round() as i32;
        (estimate - 1..=estimate + 1).filter(|&v| v >= 1).any(|v| {
            let n = (4 * v + 10) as f32;
            let m = d / n;
            let (ox, oy) = (sx / ds * 3.0 * m, sy / ds * 3.0 * m);
            // Module columns 8 ..= n - 2 of the timing row, `t` modules past a's centre.
            let at = |t: i32| {
                let k = t as f32 / n;
                sample(a.x + dx * k + ox, a.y + dy * k + oy)
            };
            let last = n as i32 - 5;
            let steps = (last - 5).max(0) as usize;
            if steps < 3 {
                return false;
            }
            // At least 70 % good steps: fails as soon as more than 30 % went wrong.
            let mut bad = 0usize;
            let mut previous = at(5);
            for t in 6..=last {
                let value = at(t);
                // Odd t - 1 (even column) is dark, so the step goes up from it.
                let up = (t - 1) % 2 == 1;
                let diff = if up {
                    value - previous
                } else {
                    previous - value
                };
                if diff < 6.0 {
                    bad += 1;
                    if bad * 10 > steps * 3 {
                        return false;
                    }
                }
                previous = value;
            }
            true
        })
    };
    line_ok(b, c) && line_ok(c, b)
}

/// The column through (x, y), which is dark: the centre run and two runs on either side;
/// `Some(vertical centre)` when they pass [`loose_ratio`] and span 0.4-2.5 times
/// `horizontal`.
fn vertical_loose<F: Fn(usize) -> bool>(
    width: usize,
    height: usize,
    is_dark: &F,
    x: usize,
    y: usize,
    horizontal: usize,
) -> Option<f32> {
    let at = |yy: usize| is_dark(yy * width + x);
    if x >= width || !at(y) {
        return None;
    }
    let max_run = horizontal * 3;
    let mut up = [0usize; 3];
    let mut yy = y as isize;
    for (i, run) in up.iter_mut().enumerate() {
        let want = i % 2 == 0;
        while yy >= 0 && at(yy as usize) == want && *run <= max_run {
            *run += 1;
            yy -= 1;
        }
        if *run == 0 || *run > max_run {
            return None;
        }
    }
    let top = (yy + 1) as usize;
    let mut down = [0usize; 3];
    let mut yy = y + 1;
    for (i, run) in down.iter_mut().enumerate() {
        let want = i % 2 == 0;
        while yy < height && at(yy) == want && *run <= max_run {
            *run += 1;
            yy += 1;
        }
        if (i > 0 && *run == 0) || *run > max_run {
            return None;
        }
    }
    let runs = [up[2], up[1], up[0] + down[0], down[1], down[2]];
    let total: usize = runs.iter().sum();
    let h = horizontal as f32;
    let t = total as f32;
    (loose_ratio(&runs) && t >= 0.4 * h && t <= 2.5 * h).then(|| top as f32 + t / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain scans the fast ones must agree with: every pixel of every row looked at
    /// ([`find`] skips uniform runs), every pair of neighbours tried
    /// ([`has_corner_triangle`] stops at 1.4 times a neighbour's distance), every timing
    /// step counted ([`timing`] stops once 30 % went wrong). These are the versions the
    /// fast ones replaced.
    mod reference {
        use super::super::*;

        pub fn find<F: Fn(u8) -> bool>(
            b: &Bitmap,
            is_dark: F,
            row_step: usize,
            max: usize,
            out: &mut Vec<(Finder, u32)>,
        ) {
            for y in (0..b.height).step_by(row_step.max(1)) {
                if out.len() > max {
                    return;
                }
                let row = &b.bits[y * b.width..(y + 1) * b.width];
                let mut runs = [0usize; 5];
                let mut colour = row.first().is_some_and(|&p| is_dark(p));
                let mut current = 0usize;
                for x in 0..=row.len() {
                    let c = if x < row.len() {
                        is_dark(row[x])
                    } else {
                        !colour
                    };
                    if c == colour {
                        current += 1;
                        continue;
                    }
                    runs.rotate_left(1);
                    runs[4] = current;
                    if colour && ratio_ok(&runs) {
                        let total: usize = runs.iter().sum();
                        let cx = x - runs[4] - runs[3] - runs[2] / 2 - 1;
                        if let Some((cy, vsize)) = vertical(b, &is_dark, cx, y, total) {
                            let f = Finder {
                                x: (x - total) as f32 + total as f32 / 2.0,
                                y: cy,
                                size: (total + vsize) as f32 / 2.0,
                            };
                            merge(out, f);
                        }
                    }
                    colour = c;
                    current = 1;
                }
            }
        }

        pub fn has_corner_triangle<S: Fn(f32, f32) -> f32>(
            places: &[(f32, f32, f32)],
            sample: &S,
        ) -> bool {
            let f = |p: (f32, f32, f32)| Finder {
                x: p.0,
                y: p.1,
                size: p.2,
            };
            for (i, a) in places.iter().enumerate() {
                let near: Vec<usize> = (0..places.len())
                    .filter(|&j| j != i)
                    .filter(|&j| {
                        let b = places[j];
                        let d = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
                        let r = b.2 / a.2;
                        (0.5..=2.0).contains(&r)
                            && d >= 1.6 * a.2.max(b.2)
                            && d <= 26.0 * a.2.min(b.2)
                    })
                    .collect();
                for (k, &j) in near.iter().enumerate() {
                    for &l in &near[k + 1..] {
                        let (b, c) = (f(places[j]), f(places[l]));
                        if corner_triangle(&f(*a), &b, &c) && timing(&f(*a), &b, &c, sample) {
                            return true;
                        }
                    }
                }
            }
            false
        }

        pub fn timing<S: Fn(f32, f32) -> f32>(
            a: &Finder,
            b: &Finder,
            c: &Finder,
            sample: &S,
        ) -> bool {
            let line_ok = |to: &Finder, side: &Finder| {
                let (dx, dy) = (to.x - a.x, to.y - a.y);
                let d = (dx * dx + dy * dy).sqrt();
                let (sx, sy) = (side.x - a.x, side.y - a.y);
                let ds = (sx * sx + sy * sy).sqrt();
                if d <= 0.0 || ds <= 0.0 {
                    return false;
                }
                let module = (a.size + to.size) / 14.0;
                let estimate = ((d / module - 10.0) / 4.0).round() as i32;
                (estimate - 1..=estimate + 1).filter(|&v| v >= 1).any(|v| {
                    let n = (4 * v + 10) as f32;
                    let m = d / n;
                    let (ox, oy) = (sx / ds * 3.0 * m, sy / ds * 3.0 * m);
                    let values: Vec<f32> = (5..=(n as i32 - 5))
                        .map(|t| {
                            let k = t as f32 / n;
                            sample(a.x + dx * k + ox, a.y + dy * k + oy)
                        })
                        .collect();
                    let steps = values.len().saturating_sub(1);
                    let good = values
                        .windows(2)
                        .enumerate()
                        .filter(|(i, w)| {
                            let up = (5 + i) % 2 == 1;
                            let diff = if up { w[1] - w[0] } else { w[0] - w[1] };
                            diff >= 6.0
                        })
                        .count();
                    steps >= 3 && good * 10 >= steps * 7
                })
            };
            line_ok(b, c) && line_ok(c, b)
        }
    }

    /// A bitmap of rows made of random runs (lengths 1 to `max_run`), so that
    /// 1:1:3:1:1 patterns and uniform stretches both occur.
    fn run_bitmap(
        rng: &mut crate::corpus::Rng,
        width: usize,
        height: usize,
        max_run: u64,
    ) -> Bitmap {
        let mut bits = Vec::with_capacity(width * height);
        for _ in 0..height {
            let mut colour = (rng.next_u64() % 2) as u8;
            let mut x = 0;
            while x < width {
                let run = (1 + rng.next_u64() % max_run) as usize;
                for _ in 0..run.min(width - x) {
                    bits.push(colour);
                }
                x += run;
                colour ^= 1;
            }
        }
        Bitmap {
            width,
            height,
            bits,
        }
    }

    /// Finders as data: a list compares exactly (same order, same values).
    fn key(found: &[(Finder, u32)]) -> Vec<(u32, u32, u32, u32)> {
        found
            .iter()
            .map(|(f, n)| (f.x.to_bits(), f.y.to_bits(), f.size.to_bits(), *n))
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Random run bitmaps, and codes drawn on a bitmap (real finders, and long uniform
        /// runs that the skipping jumps over), both polarities: the same finders.
        #[test]
        fn skipping_find_equals_the_pixel_by_pixel_scan(
            seed in 0u64..1_000_000,
            width in 1usize..200,
            height in 1usize..60,
            max_run in 1u64..40,
            step in 1usize..5,
        ) {
            let mut rng = crate::corpus::Rng::new(seed);
            let b = run_bitmap(&mut rng, width, height, max_run);
            for dark in [0u8, 1] {
                let (mut fast, mut plain) = (Vec::new(), Vec::new());
                find(&b, |p| p == dark, step, 50, &mut fast);
                reference::find(&b, |p| p == dark, step, 50, &mut plain);
                proptest::prop_assert_eq!(key(&fast), key(&plain));
            }
        }

        /// A generated code with modules of 1 to 30 pixels (runs long enough to skip
        /// inside the finders themselves) at a random place, either polarity.
        #[test]
        fn skipping_find_equals_the_pixel_by_pixel_scan_on_codes(
            module in 1u32..30,
            (ox, oy) in (0u32..40, 0u32..40),
            step in 1usize..5,
        ) {
            let code = crate::generate::image("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", module)
                .unwrap_or_default();
            let (w, h) = (code.width() + 2 * ox, code.height() + oy);
            let mut img = GrayImage::from_pixel(w, h, image::Luma([255]));
            image::imageops::replace(&mut img, &code, i64::from(ox), i64::from(oy));
            let b = Bitmap {
                width: w as usize,
                height: h as usize,
                bits: img.as_raw().iter().map(|&p| u8::from(p < 128)).collect(),
            };
            for dark in [0u8, 1] {
                let (mut fast, mut plain) = (Vec::new(), Vec::new());
                find(&b, |p| p == dark, step, 50, &mut fast);
                reference::find(&b, |p| p == dark, step, 50, &mut plain);
                proptest::prop_assert_eq!(key(&fast), key(&plain));
                if dark == 1 && module >= 2 {
                    // The three finders of the code were seen (the test compares finds;
                    // at 1 px per module a row step of 2 to 4 may miss a finder).
                    proptest::prop_assert!(fast.len() >= 3, "{} finders", fast.len());
                }
            }
        }

        /// Random places (clustered, so that many are neighbours) over a random bitmap
        /// that sometimes has stripes for the timing check to pass.
        #[test]
        fn sorted_triangle_search_equals_every_pair(
            seed in 0u64..1_000_000,
            n in 0usize..40,
            spread in 20.0f32..400.0,
        ) {
            let mut rng = crate::corpus::Rng::new(seed);
            let mut unit = || (rng.next_u64() % 10_000) as f32 / 10_000.0;
            let places: Vec<(f32, f32, f32)> = (0..n)
                .map(|_| (unit() * spread, unit() * spread, 4.0 + unit() * 20.0))
                .collect();
            let period = 2.0 + unit() * 6.0;
            let striped = unit() < 0.5;
            let sample = |x: f32, y: f32| {
                let v = ((x / period) as i64 + (y / period) as i64) % 2;
                if striped && v == 0 { 0.0 } else { 255.0 }
            };
            proptest::prop_assert_eq!(
                has_corner_triangle(&places, &sample),
                reference::has_corner_triangle(&places, &sample)
            );
        }
    }

    /// Every triangle of a generated code's three finders, and of shifted and resized
    /// copies that fail, under grey-level and bitmap sampling: the same verdict as the
    /// full count.
    #[test]
    fn early_exit_timing_equals_the_full_count() {
        let module = 4u32;
        let code = crate::generate::image("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", module)
            .unwrap_or_default();
        let (w, h) = (code.width() as usize, code.height() as usize);
        let raw = code.as_raw().clone();
        let grey = |x: f32, y: f32| {
            let (x, y) = (x.round(), y.round());
            if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
                return 255.0;
            }
            f32::from(raw[y as usize * w + x as usize])
        };
        let c = (4.0 + 3.5) * module as f32;
        let s = code.width() as f32;
        let (mut passed, mut failed) = (0, 0);
        let mut rng = crate::corpus::Rng::new(5);
        for _ in 0..400 {
            let mut jitter = || (rng.next_u64() % 1000) as f32 / 1000.0 * 6.0 - 3.0;
            let size = 7.0 * module as f32 + jitter();
            let f = |x: f32, y: f32| Finder { x, y, size };
            let (a, b, cc) = (
                f(c + jitter(), c + jitter()),
                f(s - c + jitter() * 3.0, c + jitter()),
                f(c + jitter(), s - c + jitter() * 3.0),
            );
            let fast = timing(&a, &b, &cc, &grey);
            assert_eq!(fast, reference::timing(&a, &b, &cc, &grey));
            if fast { passed += 1 } else { failed += 1 }
        }
        // Both verdicts occurred, so both paths of the early exit were compared.
        assert!(passed > 0 && failed > 0, "{passed} passed, {failed} failed");
    }

    /// A code blurred by half a module on a white dialog: the finder centres come from
    /// the QR geometry (quiet zone + 3.5 modules), not from the search.
    #[test]
    fn the_midrange_bitmap_keeps_the_finders_of_a_blurred_code() {
        let module = 3u32;
        let code = crate::generate::image("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", module)
            .unwrap_or_default();
        let (off, side) = (150u32, code.width());
        let mut img = GrayImage::from_pixel(side + 2 * off, side + 2 * off, image::Luma([255]));
        image::imageops::replace(&mut img, &code, i64::from(off), i64::from(off));
        let img = image::imageops::blur(&img, 0.5 * module as f32);
        let c = (4.0 + 3.5) * module as f32;
        let (o, s) = (off as f32, side as f32);
        let expected = [(o + c, o + c), (o + s - c, o + c), (o + c, o + s - c)];
        let marks = midrange_marks(&img);
        let mut found = Vec::new();
        find(&marks, |b| b == DARK, 2, 100, &mut found);
        for (ex, ey) in expected {
            assert!(
                found
                    .iter()
                    .any(|(f, _)| (f.x - ex).abs() <= 2.0 && (f.y - ey).abs() <= 2.0),
                "no finder at ({ex}, {ey}): {found:?}"
            );
        }
        // A flat image has no contrast for the mid-range to split.
        let flat = GrayImage::from_pixel(64, 64, image::Luma([128]));
        assert!(midrange_marks(&flat).bits.iter().all(|&b| b == 0));
    }

    #[test]
    fn finds_the_three_finders_of_a_generated_code() {
        let module = 4u32;
        let img = crate::generate::image("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", module)
            .unwrap_or_default();
        let side = img.width() as f32;
        // Finder centres sit 4 (quiet zone) + 3.5 modules from the code's corners.
        let c = (4.0 + 3.5) * module as f32;
        let expected = [(c, c), (side - c, c), (c, side - c)];
        let luma = Bitmap {
            width: img.width() as usize,
            height: img.height() as usize,
            bits: img.as_raw().clone(),
        };
        let mut found = Vec::new();
        find(&luma, |p| p < 128, 2, 100, &mut found);
        for (ex, ey) in expected {
            assert!(
                found.iter().any(|(f, _)| (f.x - ex).abs() <= 2.0
                    && (f.y - ey).abs() <= 2.0
                    && (f.size - 7.0 * module as f32).abs() <= 3.0),
                "no finder at ({ex}, {ey}): {found:?}"
            );
        }
        let rs = regions(&triangles(&found, 8, None), img.width(), img.height());
        assert_eq!(rs.len(), 1, "{rs:?}");
        let (x, y, w, h) = rs[0];
        assert!(x <= 4 * module && y <= 4 * module, "{rs:?}");
        assert!(x + w >= img.width() - 4 * module && y + h >= img.height() - 4 * module);
    }

    #[test]
    fn local_marks_are_dark_light_or_neither() {
        let img = crate::generate::image("hello", 4).unwrap_or_default();
        let marks = local_marks(&img);
        for (&p, &m) in img.as_raw().iter().zip(&marks.bits) {
            assert!([0, DARK, LIGHT].contains(&m), "{m}");
            if m == DARK {
                assert_eq!(p, 0);
            }
            if m == LIGHT {
                assert_eq!(p, 255);
            }
        }
        assert!(marks.bits.contains(&DARK) && marks.bits.contains(&LIGHT));
    }

    #[test]
    fn rqrr_ratio_follows_its_tolerance() {
        assert!(rqrr_ratio(&[4, 4, 12, 4, 4]));
        // avg 4, err 3: one-module runs 1..=7, the centre 9..=15.
        assert!(rqrr_ratio(&[1, 7, 9, 7, 1]));
        assert!(rqrr_ratio(&[4, 4, 15, 4, 4]));
        assert!(!rqrr_ratio(&[4, 4, 16, 4, 4]));
        assert!(!rqrr_ratio(&[4, 4, 8, 4, 4]));
        assert!(!rqrr_ratio(&[4, 4, 4, 4, 4]));
    }

    #[test]
    fn a_code_holds_three_capstone_places_and_a_blank_or_striped_image_none() {
        let img = crate::generate::image("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", 3)
            .unwrap_or_default();
        let (w, h) = (img.width() as usize, img.height() as usize);
        let raw = img.as_raw();
        let bits: Vec<u8> = raw.iter().map(|&p| u8::from(p < 128)).collect();
        assert!(could_hold_three_capstones(&bits, w, h, 1, 1));
        assert!(could_hold_three_capstones(&bits, w, h, 1, 2));
        // The same code inverted has no dark-on-light capstone.
        assert!(!could_hold_three_capstones(&bits, w, h, 0, 1));
        // Vertical bars 1:1:3:1:1 wide pass the row test everywhere but never the column.
        let bars = [1u8, 0, 1, 1, 1, 0, 1, 0, 0, 0];
        let striped: Vec<u8> = (0..200 * 200)
            .map(|i| bars[(i % 200) / 4 % bars.len()])
            .collect();
        assert!(!could_hold_three_capstones(&striped, 200, 200, 1, 1));
        assert!(!could_hold_three_capstones(
            &vec![0; 40_000],
            200,
            200,
            1,
            1
        ));
        // Three capstones with blank between them (no timing patterns) are no code.
        let mut no_timing = bits.clone();
        let q = 4 * 3;
        for y in q..h - q {
            for x in q..w - q {
                let (mx, my) = ((x - q) / 3, (y - q) / 3);
                let side = (w - 2 * q) / 3;
                let in_finder = |a: usize, b: usize| a < 8 && b < 8;
                if !(in_finder(mx, my)
                    || in_finder(side - 1 - mx, my)
                    || in_finder(mx, side - 1 - my))
                {
                    no_timing[y * w + x] = 0;
                }
            }
        }
        assert!(!could_hold_three_capstones(&no_timing, w, h, 1, 1));
    }

    #[test]
    fn ratio_accepts_1_1_3_1_1_only() {
        assert!(ratio_ok(&[4, 4, 12, 4, 4]));
        assert!(ratio_ok(&[3, 2, 8, 3, 3]));
        assert!(!ratio_ok(&[4, 4, 4, 4, 4]));
        assert!(!ratio_ok(&[1, 1, 1, 1, 1]));
        assert!(!ratio_ok(&[10, 2, 6, 2, 2]));
    }
}
