//! Loading image files and bytes into luma, within [`Limits`].
//!
//! Every byte the load holds at its peak is counted against `Limits::max_alloc_bytes`
//! *before* it is allocated:
//!
//! - PNG (interlaced or not) is decoded row by row with the `png` crate straight into the
//!   luma image: the budget covers the luma image (1 byte per pixel) and a few rows.
//! - JPEG is decoded by zune-jpeg straight to luma (YCbCr and grey files) or to RGB
//!   (converted in place); the budget covers that buffer and, for progressive or
//!   multi-scan files, the coefficient planes zune-jpeg keeps.
//! - Every other format is decoded by the `image` crate into one buffer of the decoder's
//!   pixel format, which is then turned into luma *in place* (no second copy, no
//!   `to_rgba8`) and shrunk. The budget covers that buffer plus what the decoder itself
//!   allocates on the side, estimated per format (TIFF's intermediate copy, WebP's frame buffer);
//!   the remaining budget is handed to the decoder as `image::Limits::max_alloc`.

use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use image::{ColorType, DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader};

use crate::{Limits, QrError};

/// Panics inside image decoders caught by [`load_luma`] since the process started.
static CAUGHT_PANICS: AtomicU64 = AtomicU64::new(0);

/// How many panics inside the image decoders [`load_luma`] has caught (and turned into
/// [`QrError::Image`]) in this process.
///
/// A decoder panic is a bug in a dependency that the caller never sees as a panic; tests
/// and fuzzers assert that this stays 0, so such a bug still fails them.
pub fn caught_panics() -> u64 {
    CAUGHT_PANICS.load(Ordering::Relaxed)
}

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
/// the memory the load needs at its peak (decoder output, the decoder's own side buffers
/// as estimated per format, the luma image) is checked against `limits.max_alloc_bytes`
/// before it is allocated ([`QrError::TooLarge`] with `limit: "max_alloc_bytes"`).
/// A panic inside the image decoder is caught, counted ([`caught_panics`]) and reported as
/// [`QrError::Image`].
pub fn load_luma(bytes: &[u8], limits: &Limits) -> Result<GrayImage, QrError> {
    match catch_unwind(AssertUnwindSafe(|| load_luma_inner(bytes, limits))) {
        Ok(result) => result,
        Err(_) => {
            CAUGHT_PANICS.fetch_add(1, Ordering::Relaxed);
            Err(QrError::Image("the image decoder panicked".into()))
        }
    }
}

fn over_budget(width: u32, height: u32) -> QrError {
    QrError::TooLarge {
        width,
        height,
        limit: "max_alloc_bytes",
    }
}

/// Bytes that make the unit tests' build of `load_luma` panic, to prove the counter.
#[cfg(test)]
const PANIC_PROBE: &[u8] = b"safeid-qr: panic here";

fn load_luma_inner(bytes: &[u8], limits: &Limits) -> Result<GrayImage, QrError> {
    #[cfg(test)]
    if bytes == PANIC_PROBE {
        panic!("the probe panic of the unit tests");
    }
    let format = image::guess_format(bytes).map_err(|_| QrError::UnknownFormat)?;
    if format == ImageFormat::Png {
        return load_png(bytes, limits);
    }
    if format == ImageFormat::Jpeg {
        return load_jpeg(bytes, limits);
    }
    load_with_image(bytes, format, limits)
}

fn png_err(e: png::DecodingError) -> QrError {
    match e {
        png::DecodingError::LimitsExceeded => {
            QrError::Image("limit exceeded: the PNG decoder's memory budget".into())
        }
        other => QrError::Image(other.to_string()),
    }
}

/// PNG with the `png` crate, row by row into the luma image.
fn load_png(bytes: &[u8], limits: &Limits) -> Result<GrayImage, QrError> {
    let budget = usize::try_from(limits.max_alloc_bytes).unwrap_or(usize::MAX);
    let mut decoder =
        png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: budget });
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let mut reader = decoder.read_info().map_err(png_err)?;
    let (width, height) = reader.info().size();
    limits.check_dimensions(width, height)?;
    let interlaced = reader.info().interlaced;
    let (color, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight {
        return Err(QrError::Image(format!(
            "unexpected PNG output depth {depth:?}"
        )));
    }
    let channels = match color {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(QrError::Image("PNG palette was not expanded".into()));
        }
    };
    let row_bytes = reader
        .output_line_size(width)
        .ok_or_else(|| over_budget(width, height))?;
    let pixels = width as usize * height as usize;
    // The luma image, the decoder's current and previous raw rows and its output row.
    let need = (pixels as u64).saturating_add(3 * (row_bytes as u64 + 1));
    if need > limits.max_alloc_bytes {
        return Err(over_budget(width, height));
    }
    let mut luma = vec![0u8; pixels];
    let w = width as usize;
    let truncated = || QrError::Image("PNG image data ends early".into());
    if interlaced {
        // Adam7 (PNG specification, 8.2): x offset, x step, y offset, y step of each pass.
        const PASSES: [(usize, usize, usize, usize); 7] = [
            (0, 8, 0, 8),
            (4, 8, 0, 8),
            (0, 4, 4, 8),
            (2, 4, 0, 4),
            (0, 2, 2, 4),
            (1, 2, 0, 2),
            (0, 1, 1, 2),
        ];
        let h = height as usize;
        for (x0, dx, y0, dy) in PASSES {
            let samples = w.saturating_sub(x0).div_ceil(dx);
            let lines = h.saturating_sub(y0).div_ceil(dy);
            if samples == 0 || lines == 0 {
                continue;
            }
            for line in 0..lines {
                let row = reader.next_row().map_err(png_err)?.ok_or_else(truncated)?;
                let data = row.data();
                if data.len() < samples * channels {
                    return Err(truncated());
                }
                let y = y0 + line * dy;
                for (i, p) in data.chunks_exact(channels).take(samples).enumerate() {
                    luma[y * w + x0 + i * dx] = luma_u8(p, channels);
                }
            }
        }
    } else {
        for out in luma.chunks_exact_mut(w) {
            let row = reader.next_row().map_err(png_err)?.ok_or_else(truncated)?;
            let data = row.data();
            if data.len() < w * channels {
                return Err(truncated());
            }
            convert_row(data, channels, out);
        }
    }
    // The rest of the file up to IEND: chunk CRCs and the end of the zlib stream are still
    // checked, so a cut or corrupt file stays an error. (zlib data past the image's last
    // row is skipped, not inflated: tests/memory.rs times such a file.)
    reader.finish().map_err(png_err)?;
    GrayImage::from_raw(width, height, luma).ok_or_else(|| over_budget(width, height))
}

fn jpeg_err(e: zune_jpeg::errors::DecodeErrors) -> QrError {
    QrError::Image(format!("JPEG: {e:?}"))
}

/// JPEG with zune-jpeg (the decoder `image` wraps) directly: YCbCr and grey files are
/// decoded straight to their luma channel (1 byte per pixel), others (RGB, CMYK) to RGB,
/// converted in place.
fn load_jpeg(bytes: &[u8], limits: &Limits) -> Result<GrayImage, QrError> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    let options = zune_core::options::DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(limits.max_width as usize)
        .set_max_height(limits.max_height as usize);
    let mut probe = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    probe.decode_headers().map_err(jpeg_err)?;
    let (w, h) = probe
        .dimensions()
        .ok_or_else(|| QrError::Image("JPEG without dimensions".into()))?;
    let (width, height) = (
        u32::try_from(w).map_err(|_| over_budget(u32::MAX, 0))?,
        u32::try_from(h).map_err(|_| over_budget(0, u32::MAX))?,
    );
    limits.check_dimensions(width, height)?;
    let luma_out = matches!(
        probe.input_colorspace(),
        Some(ColorSpace::YCbCr | ColorSpace::Luma)
    );
    let out_space = if luma_out {
        ColorSpace::Luma
    } else {
        ColorSpace::RGB
    };
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        ZCursor::new(bytes),
        options.jpeg_set_out_colorspace(out_space),
    );
    decoder.decode_headers().map_err(jpeg_err)?;
    let out = decoder
        .output_buffer_size()
        .ok_or_else(|| over_budget(width, height))?;
    let pixels = width as usize * height as usize;
    let side = jpeg_coefficient_bytes(bytes, width, height);
    if (out as u64).saturating_add(side) > limits.max_alloc_bytes {
        return Err(over_budget(width, height));
    }
    let mut buf = vec![0u8; out];
    decoder.decode_into(&mut buf).map_err(jpeg_err)?;
    let color = if luma_out {
        ColorType::L8
    } else {
        ColorType::Rgb8
    };
    to_luma_in_place(&mut buf, color, pixels)?;
    GrayImage::from_raw(width, height, buf).ok_or_else(|| over_budget(width, height))
}

/// Every format but PNG and JPEG, with the `image` crate's decoders, converted in place.
fn load_with_image(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<GrayImage, QrError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits.clone());
    let mut decoder = reader.into_decoder()?;
    let (width, height) = decoder.dimensions();
    limits.check_dimensions(width, height)?;
    let color = decoder.color_type();
    let out = decoder.total_bytes();
    let pixels = u64::from(width) * u64::from(height);
    let side = match format {
        // The decoder reads the whole image into its own buffer, then copies it out.
        ImageFormat::Tiff => out,
        // Lossless without alpha decodes RGBA first; lossy holds YUV planes (1.5 B/px)
        // and an alpha plane: 4 bytes per pixel covers both.
        ImageFormat::WebP => 4 * pixels,
        // GIF and BMP decode into the output buffer; a GIF frame that does not match the
        // screen gets a frame buffer the decoder reserves against the remaining budget.
        _ => 0,
    };
    if out.saturating_add(side) > limits.max_alloc_bytes {
        return Err(over_budget(width, height));
    }
    image_limits.max_alloc = Some(limits.max_alloc_bytes - out);
    decoder.set_limits(image_limits)?;
    let len = usize::try_from(out).map_err(|_| over_budget(width, height))?;
    let mut buf = vec![0u8; len];
    decoder.read_image(&mut buf)?;
    to_luma_in_place(&mut buf, color, pixels as usize)?;
    GrayImage::from_raw(width, height, buf).ok_or_else(|| over_budget(width, height))
}

/// Bytes zune-jpeg holds for DCT coefficients when it cannot emit pixels while it reads:
/// progressive files and files whose first scan does not hold every component keep an
/// `i16` per coefficient of every component for the whole (MCU-padded) image. An
/// unparsable header counts as such a file.
fn jpeg_coefficient_bytes(bytes: &[u8], width: u32, height: u32) -> u64 {
    let padded = u64::from(width.div_ceil(16) * 16) * u64::from(height.div_ceil(16) * 16);
    match jpeg_frame(bytes) {
        Some((false, components, first_scan)) if first_scan >= components => 0,
        Some((_, components, _)) => 2 * u64::from(components.max(1)) * padded,
        None => 2 * 4 * padded,
    }
}

/// (progressive, components in the frame, components in the first scan) from the markers.
fn jpeg_frame(bytes: &[u8]) -> Option<(bool, u8, u8)> {
    let mut i = 2;
    let mut frame = None;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return None;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let segment = bytes.get(i + 4..i + 2 + len)?;
        match marker {
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                frame = Some((progressive, *segment.get(5)?));
            }
            0xDA => {
                let (progressive, components) = frame?;
                return Some((progressive, components, *segment.first()?));
            }
            _ => {}
        }
        i += 2 + len;
    }
    None
}

/// BT.709 luma with integer weights (54 + 183 + 19 = 256).
#[inline]
fn rgb_luma(r: u8, g: u8, b: u8) -> u32 {
    (54 * u32::from(r) + 183 * u32::from(g) + 19 * u32::from(b)) >> 8
}

/// `luma` composited over white with alpha `a`, rounded; always <= 255.
#[inline]
fn over_white(luma: u32, a: u8) -> u8 {
    let a = u32::from(a);
    ((luma * a + 255 * (255 - a) + 127) / 255).min(255) as u8
}

/// One 8-bit pixel of 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) channels to luma over white.
#[inline]
fn luma_u8(p: &[u8], channels: usize) -> u8 {
    match channels {
        1 => p[0],
        2 => over_white(u32::from(p[0]), p[1]),
        3 => rgb_luma(p[0], p[1], p[2]) as u8,
        _ => over_white(rgb_luma(p[0], p[1], p[2]), p[3]),
    }
}

fn convert_row(data: &[u8], channels: usize, out: &mut [u8]) {
    match channels {
        1 => out.copy_from_slice(&data[..out.len()]),
        2 => {
            for (o, p) in out.iter_mut().zip(data.chunks_exact(2)) {
                *o = over_white(u32::from(p[0]), p[1]);
            }
        }
        3 => {
            for (o, p) in out.iter_mut().zip(data.chunks_exact(3)) {
                *o = rgb_luma(p[0], p[1], p[2]) as u8;
            }
        }
        _ => {
            for (o, p) in out.iter_mut().zip(data.chunks_exact(4)) {
                *o = over_white(rgb_luma(p[0], p[1], p[2]), p[3]);
            }
        }
    }
}

/// How one pixel of a decoder's native-endian buffer becomes luma.
#[derive(Clone, Copy)]
struct Layout {
    /// Bytes per channel: 1 (u8), 2 (u16) or 4 (f32).
    width: usize,
    /// 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA).
    channels: usize,
}

fn layout(color: ColorType) -> Option<Layout> {
    let (width, channels) = match color {
        ColorType::L8 => (1, 1),
        ColorType::La8 => (1, 2),
        ColorType::Rgb8 => (1, 3),
        ColorType::Rgba8 => (1, 4),
        ColorType::L16 => (2, 1),
        ColorType::La16 => (2, 2),
        ColorType::Rgb16 => (2, 3),
        ColorType::Rgba16 => (2, 4),
        ColorType::Rgb32F => (4, 3),
        ColorType::Rgba32F => (4, 4),
        _ => return None,
    };
    Some(Layout { width, channels })
}

/// One channel scaled to 8 bits (u16: round(v * 255 / 65535); f32: clamped to 0..=1).
#[inline]
fn channel_u8(bytes: &[u8], width: usize) -> u8 {
    match width {
        1 => bytes[0],
        2 => {
            let v = u32::from(u16::from_ne_bytes([bytes[0], bytes[1]]));
            ((v * 255 + 32_767) / 65_535) as u8
        }
        _ => {
            let v = f32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            // NaN clamps to 0 through the `as` conversion.
            (v.clamp(0.0, 1.0) * 255.0).round() as u8
        }
    }
}

#[inline]
fn pixel_luma(p: &[u8], l: Layout) -> u8 {
    if l.width == 1 {
        return luma_u8(p, l.channels);
    }
    let mut c = [0u8; 4];
    for (k, v) in c.iter_mut().enumerate().take(l.channels) {
        *v = channel_u8(&p[k * l.width..], l.width);
    }
    luma_u8(&c[..l.channels], l.channels)
}

/// Turns a decoder buffer of `pixels` pixels of `color` into luma in its first `pixels`
/// bytes (pixel i is read from bytes `i * bpp..` before byte `i` is written, and
/// `i <= i * bpp`), then truncates and shrinks it: no second buffer.
fn to_luma_in_place(buf: &mut Vec<u8>, color: ColorType, pixels: usize) -> Result<(), QrError> {
    let l = layout(color)
        .ok_or_else(|| QrError::Image(format!("unsupported pixel format {color:?}")))?;
    let bpp = l.width * l.channels;
    if buf.len() < pixels * bpp {
        return Err(QrError::Image("decoder returned too little data".into()));
    }
    if bpp > 1 {
        for i in 0..pixels {
            let v = pixel_luma(&buf[i * bpp..(i + 1) * bpp], l);
            buf[i] = v;
        }
    }
    buf.truncate(pixels);
    buf.shrink_to_fit();
    Ok(())
}

/// Converts any image to 8-bit luma; transparent pixels are composited onto white, so a
/// black-on-transparent code stays readable.
///
/// The only allocation is the luma image (no intermediate RGBA copy).
pub fn to_luma(image: &DynamicImage) -> GrayImage {
    let (width, height) = (image.width(), image.height());
    let Some(l) = layout(image.color()) else {
        return image.to_luma8();
    };
    let bpp = l.width * l.channels;
    let src = image.as_bytes();
    let raw: Vec<u8> = if l.width == 1 {
        let mut out = vec![0u8; width as usize * height as usize];
        for (o, row) in out
            .chunks_exact_mut(width.max(1) as usize)
            .zip(src.chunks_exact(width.max(1) as usize * bpp))
        {
            convert_row(row, l.channels, o);
        }
        out
    } else {
        src.chunks_exact(bpp).map(|p| pixel_luma(p, l)).collect()
    };
    GrayImage::from_raw(width, height, raw).unwrap_or_else(|| image.to_luma8())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn caught_panics_are_counted() {
        let before = caught_panics();
        let e = load_luma(PANIC_PROBE, &Limits::default()).unwrap_err();
        assert!(matches!(e, QrError::Image(_)), "{e}");
        assert_eq!(caught_panics(), before + 1);
    }

    #[test]
    fn jpeg_frame_reads_sof_and_first_sos() {
        // SOI, SOF2 (progressive, 3 components), SOS with 1 component.
        let mut j = vec![0xFF, 0xD8];
        j.extend_from_slice(&[0xFF, 0xC2, 0, 17, 8, 0, 16, 0, 16, 3]);
        j.extend_from_slice(&[1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
        j.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
        assert_eq!(jpeg_frame(&j), Some((true, 3, 1)));
        j[3] = 0xC0;
        assert_eq!(jpeg_frame(&j), Some((false, 3, 1)));
        assert_eq!(jpeg_frame(&j[..12]), None);
    }

    #[test]
    fn in_place_conversion_matches_formulas() {
        // RGBA: opaque (100, 150, 200): BT.709 0.2126*100 + 0.7152*150 + 0.0722*200 = 142.98.
        // Half-transparent black over white: 255 * (1 - 128/255) = 127.
        let mut buf = vec![100, 150, 200, 255, 0, 0, 0, 128, 9, 9, 9, 0];
        to_luma_in_place(&mut buf, ColorType::Rgba8, 3).unwrap();
        assert_eq!(buf, [143, 127, 255]);
        // RGB16: 65535 everywhere is white; 0x8080 is 128 in 8 bits.
        let mut buf = Vec::new();
        for v in [65_535u16, 65_535, 65_535, 0x8080, 0x8080, 0x8080] {
            buf.extend_from_slice(&v.to_ne_bytes());
        }
        to_luma_in_place(&mut buf, ColorType::Rgb16, 2).unwrap();
        assert_eq!(buf, [255, 128]);
        assert_eq!(buf.capacity(), 2);
    }
}
