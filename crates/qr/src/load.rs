//! Loading image files and bytes into luma, within [`Limits`].

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use image::{DynamicImage, GrayImage, ImageDecoder, ImageReader};

use crate::{Limits, QrError};

/// Reads at most `limits.max_file_bytes` of a file.
pub fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, QrError> {
    let io_err = |source| QrError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut bytes = Vec::new();
    // One byte more than the limit tells "too large" without trusting the metadata.
    file.take(limits.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(QrError::FileTooLarge {
            size,
            max: limits.max_file_bytes,
        });
    }
    Ok(bytes)
}

/// Decodes image bytes (PNG, JPEG, BMP, GIF, WebP, TIFF; the first frame of an animation)
/// into 8-bit luma, with transparent pixels composited onto white.
///
/// The header's dimensions are checked against `limits` before any pixel is decoded, and
/// the decoder runs under the `image` crate's allocation limit `limits.max_alloc_bytes`.
/// A panic inside the image decoder is caught and reported as [`QrError::Image`].
pub fn load_luma(bytes: &[u8], limits: &Limits) -> Result<GrayImage, QrError> {
    match catch_unwind(AssertUnwindSafe(|| load_luma_inner(bytes, limits))) {
        Ok(result) => result,
        Err(_) => Err(QrError::Image("the image decoder panicked".into())),
    }
}

fn load_luma_inner(bytes: &[u8], limits: &Limits) -> Result<GrayImage, QrError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::Image(e.to_string()))?;
    if reader.format().is_none() {
        return Err(QrError::UnknownFormat);
    }
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    let decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    limits.check_dimensions(width, height)?;
    if decoder.total_bytes() > limits.max_alloc_bytes {
        return Err(QrError::TooLarge {
            width,
            height,
            limit: "max_alloc_bytes",
        });
    }
    match DynamicImage::from_decoder(decoder)? {
        DynamicImage::ImageLuma8(gray) => Ok(gray),
        other => Ok(to_luma(&other)),
    }
}

/// Converts any image to 8-bit luma; transparent pixels are composited onto white, so a
/// black-on-transparent code stays readable.
pub fn to_luma(image: &DynamicImage) -> GrayImage {
    match image {
        DynamicImage::ImageLuma8(g) => return g.clone(),
        DynamicImage::ImageRgb8(rgb) => {
            // Integer BT.709 weights: several times faster than the generic conversion.
            let raw: Vec<u8> = rgb
                .as_raw()
                .chunks_exact(3)
                .map(|p| {
                    ((54 * u32::from(p[0]) + 183 * u32::from(p[1]) + 19 * u32::from(p[2])) >> 8)
                        as u8
                })
                .collect();
            if let Some(g) = GrayImage::from_raw(rgb.width(), rgb.height(), raw) {
                return g;
            }
        }
        _ => {}
    }
    if !image.color().has_alpha() {
        return image.to_luma8();
    }
    let rgba = image.to_rgba8();
    let mut out = GrayImage::new(rgba.width(), rgba.height());
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let [r, g, b, a] = src.0;
        let luma = (54 * u32::from(r) + 183 * u32::from(g) + 19 * u32::from(b)) >> 8;
        let a = u32::from(a);
        // Over white: luma * a + 255 * (255 - a), rounded; always <= 255.
        let v = (luma * a + 255 * (255 - a) + 127) / 255;
        dst.0 = [v.min(255) as u8];
    }
    out
}
