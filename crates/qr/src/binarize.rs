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

#[cfg(test)]
mod tests {
    use super::*;

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
