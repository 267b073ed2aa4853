//! Global thresholds used by the decoding passes: Otsu's method, and Otsu's method again
//! within each of its two classes.

use image::GrayImage;

/// Otsu's threshold over the histogram of `image`: pixels `<= t` are the dark class.
pub fn otsu(image: &GrayImage) -> u8 {
    otsu_from_histogram(&histogram(image))
}

/// The grey-level histogram of `image`.
pub fn histogram(image: &GrayImage) -> [u64; 256] {
    let mut hist = [0u64; 256];
    for &p in image.as_raw() {
        hist[usize::from(p)] += 1;
    }
    hist
}

/// Three thresholds: Otsu's, then Otsu's within the dark class and within the light class.
/// A code next to a mid-tone panel (no quiet zone) or on a low-contrast part of a busy screen
/// separates at one of the two inner thresholds when the global one lumps it together.
pub fn three_thresholds(image: &GrayImage) -> [u8; 3] {
    let hist = histogram(image);
    let t = otsu_from_histogram(&hist);
    let mut low = [0u64; 256];
    let mut high = [0u64; 256];
    low[..=usize::from(t)].copy_from_slice(&hist[..=usize::from(t)]);
    high[usize::from(t) + 1..].copy_from_slice(&hist[usize::from(t) + 1..]);
    [t, otsu_from_histogram(&low), otsu_from_histogram(&high)]
}

/// Otsu's method on a 256-bin histogram (maximises the between-class variance).
pub fn otsu_from_histogram(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 127;
    }
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &n)| i as f64 * n as f64)
        .sum();
    let (mut weight_dark, mut sum_dark) = (0f64, 0f64);
    let (mut best, mut best_var) = (127u8, -1f64);
    for (t, &n) in hist.iter().enumerate() {
        weight_dark += n as f64;
        if weight_dark == 0.0 {
            continue;
        }
        let weight_light = total as f64 - weight_dark;
        if weight_light == 0.0 {
            break;
        }
        sum_dark += t as f64 * n as f64;
        let mean_dark = sum_dark / weight_dark;
        let mean_light = (sum_all - sum_dark) / weight_light;
        let var = weight_dark * weight_light * (mean_dark - mean_light).powi(2);
        if var > best_var {
            best_var = var;
            best = t as u8;
        }
    }
    best
}

/// `x / d` by a multiplication and a shift, exact for every `x < 2^(8 + 2L)` where
/// `d <= 2^L`, `L <= 11` (`d <= 2048`): a 64-bit division per pixel would cost more than
/// the rest of the prefilter together. With `k = 8 + 3L` and `m = ceil(2^k / d)` the
/// reciprocal's error `m d - 2^k < d` adds less than `x d / 2^k < 1 / d` to `x / d`,
/// which cannot reach the next integer; `x m < 2^(17 + 4L) <= 2^61` fits.
#[derive(Clone, Copy)]
struct Divide {
    m: u64,
    k: u32,
}

impl Divide {
    fn new(d: u64) -> Option<Self> {
        if !(1..=2048).contains(&d) {
            return None;
        }
        let l = 64 - (d - 1).leading_zeros();
        let k = 8 + 3 * l;
        Some(Self {
            m: (1u64 << k).div_ceil(d),
            k,
        })
    }

    #[cfg(test)]
    fn apply(self, x: u64) -> u64 {
        (x * self.m) >> self.k
    }

    /// `(a * f) / d` in one multiplication (`a * f` within the bound of [`Divide::apply`]).
    fn times(self, f: u64) -> Scaled {
        Scaled {
            m: self.m * f,
            k: self.k,
        }
    }
}

/// `a * f / d` with the factor folded into the reciprocal ([`Divide::times`]).
#[derive(Clone, Copy)]
struct Scaled {
    m: u64,
    k: u32,
}

impl Scaled {
    fn apply(self, a: u64) -> u64 {
        (a * self.m) >> self.k
    }
}

/// The black/white bitmap rqrr's `PreparedImage::prepare` makes of `image` with every
/// grey level xor-ed with `flip` (0: as is, 255: inverted), 1 = black: a moving average
/// over about 1/8 of the width run both ways along each row (the averages carry over from
/// row to row, snake-wise), a pixel is black when it is below 95 % of that average. The
/// same integer arithmetic as rqrr 0.11, so the prefilter sees exactly what the adaptive
/// pass would. `None` for an image too wide for the fast division (over 16391 pixels: `s`
/// up to 2048).
pub fn rqrr_adaptive(image: &GrayImage) -> Option<[Vec<u8>; 2]> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let s = (w / 8).max(1) as u64;
    // avg * (s - 1) / s: the same product as Divide::apply(avg * (s - 1)), one multiply.
    let decay = Divide::new(s)?.times(s - 1);
    let raw = image.as_raw();
    let mut normal = vec![0u8; w * h];
    let mut inverted = vec![0u8; w * h];
    // Per pixel: the average of the image and of its inverse, from each direction. An
    // average stays below 256 s <= 2^19 (s <= 2048), so it and the sum of two fit in
    // 32 bits.
    let mut forward_sum = vec![[0u32; 2]; w];
    let mut backward_sum = vec![[0u32; 2]; w];
    // rqrr's two moving averages, `[of the image, of its inverse]` each: on even rows `u`
    // runs left to right and `v` right to left, on odd rows the other way round. Each only
    // depends on its own past, so the four chains advance side by side in one loop (the
    // same values as rqrr's loop, which steps them the same way).
    let (mut avg_u, mut avg_v) = ([0u64; 2], [0u64; 2]);
    // The moving averages stay at most 256 s, so avg * (s - 1) < 2^(8 + 2L) as `Divide`
    // needs.
    let step = |avg: &mut [u64; 2], p: u8| {
        let p = u64::from(p);
        avg[0] = decay.apply(avg[0]) + p;
        avg[1] = decay.apply(avg[1]) + (255 - p);
        [avg[0] as u32, avg[1] as u32]
    };
    let s = s as u32;
    for y in 0..h {
        let row = &raw[y * w..(y + 1) * w];
        let (forward, backward) = if y % 2 == 0 {
            (&mut avg_u, &mut avg_v)
        } else {
            (&mut avg_v, &mut avg_u)
        };
        let pixels = row.iter().zip(row.iter().rev());
        let sums = forward_sum.iter_mut().zip(backward_sum.iter_mut().rev());
        for ((&p, &q), (f, b)) in pixels.zip(sums) {
            *f = step(forward, p);
            *b = step(backward, q);
        }
        // rqrr: black when p < floor(avg * 95 / (200 s)), i.e. when (p + 1) * 200 s <= avg * 95
        // (both sides below 2^32: 256 * 200 * 2048 and 2^20 * 95).
        let out = normal[y * w..(y + 1) * w]
            .iter_mut()
            .zip(&mut inverted[y * w..(y + 1) * w]);
        let sums = forward_sum.iter().zip(&backward_sum);
        for (((n, i), &p), (f, b)) in out.zip(row).zip(sums) {
            let p = u32::from(p);
            *n = u8::from((p + 1) * 200 * s <= (f[0] + b[0]) * 95);
            *i = u8::from((256 - p) * 200 * s <= (f[1] + b[1]) * 95);
        }
    }
    Some([normal, inverted])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The bitmap rqrr itself prepares (1 = black), read back pixel by pixel.
    fn reference_adaptive(image: &GrayImage, flip: u8) -> Vec<u8> {
        let (w, h) = (image.width() as usize, image.height() as usize);
        let raw = image.as_raw();
        let prepared =
            rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| raw[y * w + x] ^ flip);
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                out.push(u8::from(prepared.get_pixel_at(x, y) == 1u8));
            }
        }
        out
    }

    #[test]
    fn fast_division_is_exact() {
        let mut rng = crate::corpus::Rng::new(3);
        for d in (1..=2048u64).step_by(3).chain([2047, 2048]) {
            let div = Divide::new(d).unwrap();
            let l = 64 - (d - 1).leading_zeros();
            let top = (1u64 << (8 + 2 * l)) - 1;
            for _ in 0..300 {
                let x = rng.next_u64() % (top + 1);
                assert_eq!(div.apply(x), x / d, "{x} / {d}");
            }
            assert_eq!(div.apply(top), top / d);
            assert_eq!(div.apply(d - 1), 0);
            assert_eq!(div.apply(d), 1);
        }
        assert!(Divide::new(0).is_none() && Divide::new(2049).is_none());
    }

    #[test]
    fn adaptive_bitmap_matches_rqrrs_loop() {
        for (condition, index) in [
            (crate::corpus::Condition::Plain, 0),
            (crate::corpus::Condition::DarkMode, 1),
        ] {
            let s = crate::corpus::sample(condition, 2, index);
            let luma = crate::load_luma(&s.bytes, &crate::Limits::default()).unwrap_or_default();
            let crop = image::imageops::crop_imm(&luma, 300, 200, 700, 300).to_image();
            let ours = rqrr_adaptive(&crop).unwrap();
            assert!(ours[0] == reference_adaptive(&crop, 0));
            assert!(ours[1] == reference_adaptive(&crop, 255));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Random images of every small width (so every `s` from 1 up, odd and even rows),
        /// noise over a gradient: the bitmap rqrr prepares, both polarities.
        #[test]
        fn adaptive_bitmap_matches_rqrr_on_random_images(
            seed in 0u64..1_000_000,
            width in 1u32..400,
            height in 1u32..24,
            noise in 0u64..256,
        ) {
            let mut rng = crate::corpus::Rng::new(seed);
            let img = GrayImage::from_fn(width, height, |x, y| {
                let base = (x * 255 / width + y * 7) % 256;
                let n = if noise == 0 { 0 } else { rng.next_u64() % noise };
                image::Luma([((u64::from(base) + n) % 256) as u8])
            });
            let ours = rqrr_adaptive(&img).unwrap();
            proptest::prop_assert!(ours[0] == reference_adaptive(&img, 0));
            proptest::prop_assert!(ours[1] == reference_adaptive(&img, 255));
        }
    }

    #[test]
    fn otsu_splits_two_peaks() {
        let mut hist = [0u64; 256];
        hist[40] = 1000;
        hist[200] = 3000;
        let t = otsu_from_histogram(&hist);
        assert!((40..200).contains(&t), "threshold {t}");
    }

    #[test]
    fn otsu_of_flat_image_does_not_panic() {
        let img = GrayImage::from_pixel(10, 10, image::Luma([77]));
        let _ = otsu(&img);
        assert_eq!(otsu_from_histogram(&[0; 256]), 127);
    }

    #[test]
    fn three_thresholds_separate_three_levels() {
        // Text at 20, a panel at 150, paper at 250: the inner thresholds split 20|150 and
        // 150|250 whichever way the global one fell.
        let mut raw = vec![20u8; 3000];
        raw.extend(vec![150u8; 4000]);
        raw.extend(vec![250u8; 5000]);
        let img = GrayImage::from_raw(100, 120, raw).unwrap_or_default();
        let ts = three_thresholds(&img);
        assert!(ts.iter().any(|&t| (20..150).contains(&t)), "{ts:?}");
        assert!(ts.iter().any(|&t| (150..250).contains(&t)), "{ts:?}");
    }
}
