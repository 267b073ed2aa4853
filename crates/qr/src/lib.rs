//! `safeid-qr`: image file or screen capture -> decoded QR code texts.
//!
//! This crate owns everything between pixels and the text a QR code holds: loading image
//! files (PNG, JPEG, BMP, GIF, WebP, TIFF) within [`Limits`] that stop decompression bombs,
//! a detector built on `rqrr` with the preprocessing that real screenshots need (a fast
//! finder-pattern search in both polarities that crops each candidate code, per-crop Otsu
//! thresholds, a 2x upscale for small modules, whole-image passes as a fallback), capture
//! of every X11 monitor and, with the `wayland` feature, of native Wayland desktops
//! ([`screen`]), rendering codes for
//! the user ([`generate`]) and a deterministic synthetic screenshot corpus ([`corpus`]) for
//! tests and the benchmark.
//!
//! It returns texts only: parsing `otpauth://` URIs is the caller's job (`safeid-otpauth`).
//! Decoded texts are [`SecretString`](safeid_secret::SecretString)s, never printed by
//! `Debug`. See `docs/qr.md` for the pipeline and the measured figures.
//!
//! ```
//! let png = safeid_qr::generate::png("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", 4)?;
//! let found = safeid_qr::decode_bytes(&png, &safeid_qr::Limits::default())?;
//! assert_eq!(found[0].text.expose(), "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP");
//! # Ok::<(), safeid_qr::QrError>(())
//! ```
#![forbid(unsafe_code)]

mod binarize;
pub mod corpus;
mod error;
mod finder;
pub mod generate;
mod limits;
mod load;
mod pipeline;
mod sampler;
pub mod screen;
#[cfg(feature = "wayland")]
mod wayland;

use std::path::Path;

pub use error::QrError;
pub use limits::Limits;
pub use load::{caught_panics, load_luma, to_luma};
pub use pipeline::{Found, decode_luma, decode_luma_exhaustive};
pub use screen::{Screenshot, capture_all, capture_display, scan_display, scan_screens};

/// Decodes every QR code in an image file.
///
/// Reads at most `limits.max_file_bytes`, then as [`decode_bytes`].
pub fn decode_file(path: impl AsRef<Path>, limits: &Limits) -> Result<Vec<Found>, QrError> {
    let bytes = load::read_file(path.as_ref(), limits)?;
    decode_bytes(&bytes, limits)
}

/// Decodes every QR code in an encoded image (PNG, JPEG, BMP, GIF, WebP, TIFF).
///
/// A non-image, a truncated file or an image beyond `limits` is an error, never a panic.
/// An image without a code is `Ok` with an empty vector.
pub fn decode_bytes(bytes: &[u8], limits: &Limits) -> Result<Vec<Found>, QrError> {
    let luma = load_luma(bytes, limits)?;
    decode_luma(luma, limits)
}

/// Decodes every QR code in an already decoded image (converted to luma first).
pub fn decode_image(image: &image::DynamicImage, limits: &Limits) -> Result<Vec<Found>, QrError> {
    limits.check_dimensions(image.width(), image.height())?;
    decode_luma(to_luma(image), limits)
}
