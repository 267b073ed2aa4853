//! A deterministic corpus of synthetic screenshots holding otpauth QR codes, one family per
//! condition real screenshots show (HiDPI scaling, JPEG, blur, dark mode, ...).
//!
//! Everything is a function of `(condition, seed, index)`, so a test or a benchmark run can
//! be repeated bit for bit. The expected texts are the ones the generator encoded (with the
//! `qrcode` crate), independent of any decoder.

mod draw;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::{self, FilterType};
use image::{ImageEncoder, RgbImage};

pub use draw::Rng;
use draw::{mix, paste, qr, rect, rotate, text_block, window};

use crate::generate::{Modules, modules};

/// The conditions the corpus covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Condition {
    /// 1920x1080 light desktop, 3-6 px modules.
    Plain,
    /// 3840x2160 desktop with a small code (2-3 px modules).
    Small4k,
    /// A 1080p screen drawn at 1/1.25, 1/1.5 or 1/1.75 and scaled up bilinearly, as
    /// fractional HiDPI scaling does (2.5-7 px modules, blended edges).
    Scaled,
    /// JPEG at quality 60-80.
    Jpeg,
    /// Gaussian blur with a sigma of 0.25-0.45 module.
    Blur,
    /// Code and background 35-60 grey levels apart.
    LowContrast,
    /// Dark theme with a light-on-dark (inverted) code.
    DarkMode,
    /// Code rotated by 90/180/270 degrees or by a small angle (3-25 degrees).
    Rotated,
    /// Code without quiet zone on a mid-tone panel.
    NoQuietZone,
    /// Two different codes on one screen; both must be found.
    TwoCodes,
    /// A screen without any code (nothing must be found).
    NoCode,
    /// Gaussian blur with a sigma of 0.45-0.65 module (the upper end of what a soft
    /// screenshot or a photographed screen shows). Last in the enum so that adding it
    /// left the samples of every other condition unchanged.
    HeavyBlur,
}

impl Condition {
    /// Every condition, in report order.
    pub const ALL: [Condition; 12] = [
        Condition::Plain,
        Condition::Small4k,
        Condition::Scaled,
        Condition::Jpeg,
        Condition::Blur,
        Condition::HeavyBlur,
        Condition::LowContrast,
        Condition::DarkMode,
        Condition::Rotated,
        Condition::NoQuietZone,
        Condition::TwoCodes,
        Condition::NoCode,
    ];

    /// Short name used in file names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Condition::Plain => "plain",
            Condition::Small4k => "small-4k",
            Condition::Scaled => "scaled",
            Condition::Jpeg => "jpeg",
            Condition::Blur => "blur",
            Condition::HeavyBlur => "heavy-blur",
            Condition::LowContrast => "low-contrast",
            Condition::DarkMode => "dark-mode",
            Condition::Rotated => "rotated",
            Condition::NoQuietZone => "no-quiet-zone",
            Condition::TwoCodes => "two-codes",
            Condition::NoCode => "no-code",
        }
    }
}

/// One generated screenshot.
#[derive(Clone)]
pub struct Sample {
    /// The condition it shows.
    pub condition: Condition,
    /// Its index within the condition.
    pub index: usize,
    /// The texts encoded in it (empty for [`Condition::NoCode`]).
    pub texts: Vec<String>,
    /// A file name with the right extension, e.g. `jpeg-007.jpg`.
    pub file_name: String,
    /// The encoded file (PNG, or JPEG for [`Condition::Jpeg`]).
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The parameters drawn, e.g. `"module 4px, scale 1.5"`.
    pub detail: String,
}

impl std::fmt::Debug for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sample")
            .field("file_name", &self.file_name)
            .field("detail", &self.detail)
            .finish()
    }
}

/// A random but realistic otpauth URI (base32 secret of 16-52 characters).
pub fn otpauth_text(rng: &mut Rng) -> String {
    const ISSUERS: [&str; 6] = ["GitHub", "Example%20Corp", "ACME", "VPN", "Mail", "Cloud"];
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let issuer = rng.pick(&ISSUERS);
    let len = rng.range(16, 52);
    let secret: String = (0..len).map(|_| char::from(*rng.pick(B32))).collect();
    let user = format!("user{}%40example.com", rng.range(1, 9999));
    let mut uri = format!("otpauth://totp/{issuer}:{user}?secret={secret}&issuer={issuer}");
    if rng.range(0, 2) == 0 {
        let extra: &&str = rng.pick(&["&algorithm=SHA256", "&digits=8", "&period=60"]);
        uri.push_str(extra);
    }
    uri
}

/// Generates sample `index` of `condition` for `seed`.
pub fn sample(condition: Condition, seed: u64, index: usize) -> Sample {
    let mut rng = Rng::new(
        seed ^ (index as u64).wrapping_mul(0x0100_0000_01B3)
            ^ (condition as u64).wrapping_mul(0x9E37_79B9),
    );
    let mut texts = vec![otpauth_text(&mut rng)];
    let mut jpeg_quality = None;
    let (image, detail) = match condition {
        Condition::Plain => {
            let module = rng.range(3, 6);
            let mut img = desktop(&mut rng, 1920, 1080, false, 1);
            code_dialog(&mut img, &mut rng, &texts[0], module, 4, Colors::LIGHT);
            (img, format!("module {module}px"))
        }
        Condition::Small4k => {
            let module = rng.range(2, 3);
            let mut img = desktop(&mut rng, 3840, 2160, false, 2);
            code_dialog(&mut img, &mut rng, &texts[0], module, 4, Colors::LIGHT);
            (img, format!("module {module}px on 3840x2160"))
        }
        Condition::Scaled => {
            let scale = *rng.pick(&[1.25, 1.5, 1.75]);
            let module = rng.range(2, 4);
            let (bw, bh) = ((1920.0 / scale) as u32, (1080.0 / scale) as u32);
            let mut img = desktop(&mut rng, bw, bh, false, 1);
            code_dialog(&mut img, &mut rng, &texts[0], module, 4, Colors::LIGHT);
            let img = imageops::resize(&img, 1920, 1080, FilterType::Triangle);
            (img, format!("module {module}px x {scale}"))
        }
        Condition::Jpeg => {
            let module = rng.range(3, 5);
            let q = rng.range(60, 80) as u8;
            jpeg_quality = Some(q);
            let mut img = desktop(&mut rng, 1920, 1080, false, 1);
            code_dialog(&mut img, &mut rng, &texts[0], module, 4, Colors::LIGHT);
            (img, format!("module {module}px, quality {q}"))
        }
        Condition::Blur | Condition::HeavyBlur => {
            let module = rng.range(3, 6);
            let (lo, hi) = if condition == Condition::Blur {
                (0.25, 0.45)
            } else {
                (0.45, 0.65)
            };
            let sigma = module as f64 * rng.float(lo, hi);
            let mut img = desktop(&mut rng, 1920, 1080, false, 1);
            code_dialog(&mut img, &mut rng, &texts[0], module, 4, Colors::LIGHT);
            let img = imageops::blur(&img, sigma as f32);
            (img, format!("module {module}px, sigma {sigma:.2}"))
        }
        Condition::LowContrast => {
            let module = rng.range(3, 6);
            let light = rng.range(170, 235) as u8;
            let delta = rng.range(35, 60) as u8;
            let colors = Colors {
                dark: [light - delta; 3],
                light: [light; 3],
            };
            let mut img = desktop(&mut rng, 1920, 1080, false, 1);
            code_dialog(&mut img, &mut rng, &texts[0], module, 4, colors);
            (
                img,
                format!("module {module}px, {light} vs {}", light - delta),
            )
        }
        Condition::DarkMode => {
            let module = rng.range(3, 6);
            let bg = rng.range(18, 50) as u8;
            let fg = rng.range(190, 240) as u8;
            let colors = Colors {
                dark: [fg; 3],
                light: [bg; 3],
            };
            let mut img = desktop(&mut rng, 1920, 1080, true, 1);
            code_dialog(&mut img, &mut rng, &texts[0], module, 4, colors);
            (img, format!("module {module}px, {fg} on {bg}"))
        }
        Condition::Rotated => {
            let module = rng.range(4, 6);
            let angle = if rng.range(0, 1) == 0 {
                *rng.pick(&[90.0, 180.0, 270.0])
            } else {
                rng.float(3.0, 25.0) * if rng.range(0, 1) == 0 { -1.0 } else { 1.0 }
            };
            let mut img = desktop(&mut rng, 1920, 1080, false, 1);
            let m = code_modules(&texts[0]);
            let side = (m.size as i64 + 8) * module;
            let mut patch = RgbImage::new(side as u32, side as u32);
            qr(&mut patch, &m, (0, 0), module, 4, [20; 3], [255; 3]);
            let patch = rotate(&patch, angle, [255; 3]);
            let (pw, ph) = (i64::from(patch.width()), i64::from(patch.height()));
            let (x, y) = dialog_frame(&mut img, &mut rng, pw, ph);
            paste(&mut img, &patch, x, y);
            (img, format!("module {module}px, {angle:.1} degrees"))
        }
        Condition::NoQuietZone => {
            let module = rng.range(3, 6);
            let panel = rng.range(140, 200) as u8;
            let tint = [panel, panel.saturating_add(15), panel.saturating_sub(10)];
            let mut img = desktop(&mut rng, 1920, 1080, false, 1);
            let colors = Colors {
                dark: [15; 3],
                light: [255; 3],
            };
            code_on_panel(&mut img, &mut rng, &texts[0], module, colors, tint);
            (img, format!("module {module}px, panel {panel}"))
        }
        Condition::TwoCodes => {
            let second = otpauth_text(&mut rng);
            texts.push(second);
            let module = rng.range(3, 5);
            let mut img = desktop(&mut rng, 1920, 1080, false, 1);
            for (i, t) in texts.iter().enumerate() {
                let m = code_modules(t);
                let side = (m.size as i64 + 8) * module;
                let x = rng.range(40 + i as i64 * 960, 900 + i as i64 * 960 - side - 40);
                let y = rng.range(60, 1080 - side - 100);
                window(
                    &mut img,
                    &mut rng,
                    (x - 20, y - 40, side + 40, side + 100),
                    [250; 3],
                    [40; 3],
                    1,
                );
                qr(&mut img, &m, (x, y), module, 4, [20; 3], [255; 3]);
            }
            (img, format!("module {module}px"))
        }
        Condition::NoCode => {
            texts.clear();
            let (w, h, s) = if index.is_multiple_of(2) {
                (1920, 1080, 1)
            } else {
                (3840, 2160, 2)
            };
            (
                desktop(&mut rng, w, h, index % 4 == 1, s),
                format!("{w}x{h}"),
            )
        }
    };
    let (width, height) = image.dimensions();
    let (bytes, ext) = match jpeg_quality {
        Some(q) => (encode_jpeg(&image, q), "jpg"),
        None => (encode_png(&image), "png"),
    };
    Sample {
        condition,
        index,
        texts,
        file_name: format!("{}-{index:03}.{ext}", condition.name()),
        bytes,
        width,
        height,
        detail,
    }
}

/// The two colours a code is drawn with.
#[derive(Clone, Copy)]
struct Colors {
    dark: [u8; 3],
    light: [u8; 3],
}

impl Colors {
    const LIGHT: Colors = Colors {
        dark: [20; 3],
        light: [255; 3],
    };
}

fn code_modules(text: &str) -> Modules {
    // Generated texts are at most ~150 bytes: they always fit a QR code.
    modules(text).unwrap_or_else(|_| Modules {
        size: 21,
        dark: vec![false; 441],
    })
}

/// A desktop: wallpaper, some windows with text, a dock.
fn desktop(rng: &mut Rng, w: u32, h: u32, dark: bool, scale: i64) -> RgbImage {
    let (wall, body, ink) = if dark {
        ([30, 34, 44], [rng.range(30, 48) as u8; 3], [200; 3])
    } else {
        ([90, 120, 160], [rng.range(238, 252) as u8; 3], [30; 3])
    };
    let mut img = RgbImage::from_pixel(w, h, image::Rgb(wall));
    let (w, h) = (i64::from(w), i64::from(h));
    for _ in 0..rng.range(3, 6) {
        let ww = rng.range(w / 5, w / 2);
        let wh = rng.range(h / 5, h / 2);
        let x = rng.range(0, w - ww);
        let y = rng.range(0, h - wh);
        window(&mut img, rng, (x, y, ww, wh), body, ink, scale);
    }
    rect(
        &mut img,
        0,
        h - 32 * scale,
        w,
        32 * scale,
        mix(wall, ink, 0.4),
    );
    img
}

/// A dialog window sized for content of `w` x `h`, with a caption; returns where the
/// content goes.
fn dialog_frame(img: &mut RgbImage, rng: &mut Rng, w: i64, h: i64) -> (i64, i64) {
    let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
    let margin = 24;
    let bar = 40;
    let x = rng.range(margin, (iw - w - margin).max(margin));
    let y = rng.range(bar + margin, (ih - h - 80).max(bar + margin));
    let body = [rng.range(244, 255) as u8; 3];
    rect(
        img,
        x - margin,
        y - bar - margin,
        w + 2 * margin,
        h + bar + 2 * margin + 60,
        body,
    );
    rect(
        img,
        x - margin,
        y - bar - margin,
        w + 2 * margin,
        bar / 2,
        [70, 90, 140],
    );
    text_block(img, rng, (x, y + h + 12, w, 40), 8, [40; 3]);
    (x, y)
}

/// A code in a dialog whose body has the code's light colour.
fn code_dialog(
    img: &mut RgbImage,
    rng: &mut Rng,
    text: &str,
    module: i64,
    quiet: i64,
    colors: Colors,
) {
    let m = code_modules(text);
    let side = (m.size as i64 + 2 * quiet) * module;
    let (x, y) = dialog_frame(img, rng, side, side);
    rect(img, x - 8, y - 8, side + 16, side + 16, colors.light);
    qr(img, &m, (x, y), module, quiet, colors.dark, colors.light);
}

/// A code without quiet zone on a tinted panel, text right next to it.
fn code_on_panel(
    img: &mut RgbImage,
    rng: &mut Rng,
    text: &str,
    module: i64,
    colors: Colors,
    panel: [u8; 3],
) {
    let m = code_modules(text);
    let side = m.size as i64 * module;
    let (x, y) = dialog_frame(img, rng, side + 200, side + 40);
    rect(img, x, y, side + 200, side + 40, panel);
    qr(
        img,
        &m,
        (x + 20, y + 20),
        module,
        0,
        colors.dark,
        colors.light,
    );
    text_block(
        img,
        rng,
        (x + side + 20 + 2 * module, y + 20, 170, side),
        8,
        [30; 3],
    );
}

fn encode_png(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = PngEncoder::new_with_quality(&mut out, CompressionType::Fast, PngFilter::Sub);
    // Writing to a Vec cannot fail for a well-formed RgbImage.
    let _ = encoder.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    );
    out
}

fn encode_jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = JpegEncoder::new_with_quality(&mut out, quality).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    );
    out
}
