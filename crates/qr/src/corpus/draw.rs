//! Drawing primitives for synthetic screenshots: a seeded RNG, UI-ish clutter and QR codes.

use image::{Rgb, RgbImage};

use crate::generate::Modules;

/// SplitMix64: small, fast and fully determined by its seed (no dependency needed).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % ((hi - lo) as u64 + 1)) as i64
    }

    /// Uniform in `[lo, hi)`.
    pub fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64 - 1) as usize]
    }
}

/// Fills a rectangle, clipped to the image.
pub fn rect(img: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, color: [u8; 3]) {
    let x0 = x.clamp(0, i64::from(img.width()));
    let y0 = y.clamp(0, i64::from(img.height()));
    let x1 = (x + w).clamp(0, i64::from(img.width()));
    let y1 = (y + h).clamp(0, i64::from(img.height()));
    for yy in y0..y1 {
        for xx in x0..x1 {
            img.put_pixel(xx as u32, yy as u32, Rgb(color));
        }
    }
}

/// Mixes two colours: `t` = 0 gives `a`, 1 gives `b`.
pub fn mix(a: [u8; 3], b: [u8; 3], t: f64) -> [u8; 3] {
    let f = |i: usize| (f64::from(a[i]) * (1.0 - t) + f64::from(b[i]) * t).round() as u8;
    [f(0), f(1), f(2)]
}

/// Lines of fake text (glyph-sized blocks) inside a box.
pub fn text_block(
    img: &mut RgbImage,
    rng: &mut Rng,
    (x, y, w, h): (i64, i64, i64, i64),
    glyph: i64,
    color: [u8; 3],
) {
    let line_h = glyph * 2;
    let mut ly = y;
    while ly + glyph <= y + h {
        let mut lx = x;
        let line_end = x + rng.range(w / 3, w);
        while lx < line_end {
            let word = rng.range(2, 9);
            for _ in 0..word {
                let gw = rng.range(glyph / 2, glyph);
                let gh = rng.range(glyph * 2 / 3, glyph);
                if lx + gw > line_end {
                    break;
                }
                rect(img, lx, ly + glyph - gh, gw.max(1), gh, color);
                lx += gw + (glyph / 4).max(1);
            }
            lx += glyph;
        }
        ly += line_h;
    }
}

/// A window: body, title bar, text, a few icons.
pub fn window(
    img: &mut RgbImage,
    rng: &mut Rng,
    (x, y, w, h): (i64, i64, i64, i64),
    body: [u8; 3],
    ink: [u8; 3],
    scale: i64,
) {
    let accent = [
        rng.range(40, 220) as u8,
        rng.range(40, 220) as u8,
        rng.range(40, 220) as u8,
    ];
    rect(img, x - 1, y - 1, w + 2, h + 2, mix(body, ink, 0.3));
    rect(img, x, y, w, h, body);
    let bar = 14 * scale;
    rect(img, x, y, w, bar, mix(body, accent, 0.5));
    for i in 0..3 {
        rect(
            img,
            x + w - (i + 1) * bar,
            y + 2,
            bar - 4,
            bar - 4,
            mix(body, ink, 0.5),
        );
    }
    let glyph = rng.range(5, 9) * scale;
    text_block(
        img,
        rng,
        (
            x + 8 * scale,
            y + bar + 8 * scale,
            w - 16 * scale,
            h - bar - 16 * scale,
        ),
        glyph,
        ink,
    );
    for _ in 0..rng.range(0, 4) {
        let s = rng.range(12, 32) * scale;
        let ix = rng.range(x, x + w - s);
        let iy = rng.range(y + bar, y + h - s);
        rect(img, ix, iy, s, s, accent);
    }
}

/// Draws a QR code with `module` pixels per module and `quiet` modules of margin in
/// `light`, dark modules in `dark`. Returns the drawn side length.
pub fn qr(
    img: &mut RgbImage,
    m: &Modules,
    (x, y): (i64, i64),
    module: i64,
    quiet: i64,
    dark: [u8; 3],
    light: [u8; 3],
) -> i64 {
    let n = m.size as i64;
    let side = (n + 2 * quiet) * module;
    for my in -quiet..n + quiet {
        for mx in -quiet..n + quiet {
            let c = if m.is_dark(mx as isize, my as isize) {
                dark
            } else {
                light
            };
            rect(
                img,
                x + (mx + quiet) * module,
                y + (my + quiet) * module,
                module,
                module,
                c,
            );
        }
    }
    side
}

/// Rotates `src` by `degrees` about its centre with bilinear sampling; the corners that
/// come from outside are `fill`. The output is large enough to hold the whole source.
pub fn rotate(src: &RgbImage, degrees: f64, fill: [u8; 3]) -> RgbImage {
    let (sw, sh) = (f64::from(src.width()), f64::from(src.height()));
    let (s, c) = degrees.to_radians().sin_cos();
    let ow = (sw * c.abs() + sh * s.abs()).ceil() as u32;
    let oh = (sw * s.abs() + sh * c.abs()).ceil() as u32;
    let (ocx, ocy) = (f64::from(ow) / 2.0, f64::from(oh) / 2.0);
    let (scx, scy) = (sw / 2.0, sh / 2.0);
    let sample = |x: i64, y: i64, ch: usize| -> f64 {
        if x < 0 || y < 0 || x >= i64::from(src.width()) || y >= i64::from(src.height()) {
            f64::from(fill[ch])
        } else {
            f64::from(src.get_pixel(x as u32, y as u32).0[ch])
        }
    };
    RgbImage::from_fn(ow, oh, |ox, oy| {
        let dx = f64::from(ox) + 0.5 - ocx;
        let dy = f64::from(oy) + 0.5 - ocy;
        // Inverse rotation maps the output pixel back into the source.
        let sx = c * dx + s * dy + scx - 0.5;
        let sy = -s * dx + c * dy + scy - 0.5;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let mut px = [0u8; 3];
        for (ch, out) in px.iter_mut().enumerate() {
            let top = sample(x0, y0, ch) * (1.0 - fx) + sample(x0 + 1, y0, ch) * fx;
            let bottom = sample(x0, y0 + 1, ch) * (1.0 - fx) + sample(x0 + 1, y0 + 1, ch) * fx;
            *out = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
        }
        Rgb(px)
    })
}

/// Copies `src` onto `dst` at (x, y), clipped.
pub fn paste(dst: &mut RgbImage, src: &RgbImage, x: i64, y: i64) {
    for (sx, sy, p) in src.enumerate_pixels() {
        let (dx, dy) = (x + i64::from(sx), y + i64::from(sy));
        if dx >= 0 && dy >= 0 && dx < i64::from(dst.width()) && dy < i64::from(dst.height()) {
            dst.put_pixel(dx as u32, dy as u32, *p);
        }
    }
}
