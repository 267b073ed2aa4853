//! Rendering QR codes for the user: PNG files and terminal output.

use image::{GrayImage, ImageEncoder, Luma};
use qrcode::{Color, QrCode};

use crate::QrError;

/// The quiet zone drawn around generated codes, in modules (ISO/IEC 18004 asks for 4).
pub const QUIET_ZONE: usize = 4;

/// The module matrix of a QR code, without quiet zone.
#[derive(Clone)]
pub struct Modules {
    /// Number of modules per side.
    pub size: usize,
    /// Row-major, `true` = dark module.
    pub dark: Vec<bool>,
}

impl std::fmt::Debug for Modules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The pattern encodes the (secret) text: show only the size.
        f.debug_struct("Modules").field("size", &self.size).finish()
    }
}

impl Modules {
    /// Whether module (x, y) is dark; outside the code (the quiet zone) is light.
    pub fn is_dark(&self, x: isize, y: isize) -> bool {
        let n = self.size as isize;
        (0..n).contains(&x) && (0..n).contains(&y) && self.dark[(y * n + x) as usize]
    }
}

/// Encodes `text` as a QR code (smallest version that fits, error correction level M).
pub fn modules(text: &str) -> Result<Modules, QrError> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| QrError::Generate(e.to_string()))?;
    let size = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok(Modules { size, dark })
}

/// Renders `text` as a black-on-white luma image, `module_px` pixels per module, with a
/// quiet zone of [`QUIET_ZONE`] modules.
pub fn image(text: &str, module_px: u32) -> Result<GrayImage, QrError> {
    let m = modules(text)?;
    let module_px = module_px.clamp(1, 64);
    let side_modules = (m.size + 2 * QUIET_ZONE) as u32;
    let side = side_modules * module_px;
    let q = QUIET_ZONE as isize;
    Ok(GrayImage::from_fn(side, side, |x, y| {
        let mx = (x / module_px) as isize - q;
        let my = (y / module_px) as isize - q;
        if m.is_dark(mx, my) {
            Luma([0])
        } else {
            Luma([255])
        }
    }))
}

/// Renders `text` as a PNG file's bytes (see [`image()`](fn@image)).
pub fn png(text: &str, module_px: u32) -> Result<Vec<u8>, QrError> {
    let img = image(text, module_px)?;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::L8,
        )
        .map_err(|e| QrError::Generate(e.to_string()))?;
    Ok(out)
}

/// Renders `text` for a terminal with Unicode half blocks (two module rows per text line),
/// quiet zone included.
///
/// Light modules are drawn as blocks and dark modules as spaces, which shows dark-on-light
/// on the usual light-text-on-dark-background terminal. Use [`terminal_for_light_background`]
/// when the terminal draws dark text on a light background.
pub fn terminal(text: &str) -> Result<String, QrError> {
    render_blocks(&modules(text)?, true)
}

/// Like [`terminal`], for terminals with dark text on a light background (dark modules are
/// drawn as blocks).
pub fn terminal_for_light_background(text: &str) -> Result<String, QrError> {
    render_blocks(&modules(text)?, false)
}

fn render_blocks(m: &Modules, draw_light: bool) -> Result<String, QrError> {
    let q = QUIET_ZONE as isize;
    let n = m.size as isize;
    let drawn = |x: isize, y: isize| m.is_dark(x, y) != draw_light;
    let mut out = String::new();
    let mut y = -q;
    while y < n + q {
        for x in -q..n + q {
            let top = drawn(x, y);
            let bottom = y + 1 < n + q && drawn(x, y + 1);
            out.push(match (top, bottom) {
                (true, true) => '\u{2588}',
                (true, false) => '\u{2580}',
                (false, true) => '\u{2584}',
                (false, false) => ' ',
            });
        }
        out.push('\n');
        y += 2;
    }
    Ok(out)
}
