//! The one error type of the crate.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while loading, decoding, capturing or generating.
///
/// No variant carries decoded text: QR payloads here are usually `otpauth://` URIs that hold
/// a secret, so they never reach an error message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file that was being read.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is larger than [`Limits::max_file_bytes`](crate::Limits::max_file_bytes).
    #[error("file is {size} bytes, more than the limit of {max} bytes")]
    FileTooLarge {
        /// The size of the file.
        size: u64,
        /// The limit in force.
        max: u64,
    },
    /// The bytes are not an image in a supported format (PNG, JPEG, BMP, GIF, WebP, TIFF).
    #[error("not an image in a supported format (PNG, JPEG, BMP, GIF, WebP, TIFF)")]
    UnknownFormat,
    /// The image header announces dimensions beyond the limits.
    #[error("image is {width}x{height} pixels, beyond the limits ({limit})")]
    TooLarge {
        /// Width announced by the header.
        width: u32,
        /// Height announced by the header.
        height: u32,
        /// Which limit was hit.
        limit: &'static str,
    },
    /// The image decoder refused the data (truncated, corrupt, over the memory limit).
    #[error("cannot decode image: {0}")]
    Image(String),
    /// Decoding did not finish before [`Limits::deadline`](crate::Limits::deadline).
    #[error("QR decoding did not finish within {0:?}")]
    Deadline(Duration),
    /// Screen capture failed (no display, protocol error, unsupported session).
    #[error("screen capture: {0}")]
    Screen(String),
    /// A Wayland session without an X server (XWayland) to capture from, in a build without
    /// the `wayland` feature of `safeid-qr`.
    #[error(
        "Wayland without X: this build of safeid lacks the `wayland` feature (screen capture through the desktop portal or wlroots screencopy); rebuild with it, or save a screenshot and scan the file instead"
    )]
    WaylandUnsupported,
    /// The desktop's screenshot portal (xdg-desktop-portal) gave no screenshot: the user
    /// refused the permission dialog (now, or before and the desktop remembers), cancelled,
    /// or did not answer in time; the portal does not tell a refusal from its other
    /// failures. The text says what the portal answered.
    ///
    /// Desktops such as GNOME or KDE may show a permission dialog the first time a program
    /// asks for a screenshot; the capture waits at most
    /// [`PORTAL_TIMEOUT`](crate::screen::PORTAL_TIMEOUT) for the answer. This error is not
    /// worked around by another capture method: the user's refusal stands.
    #[error(
        "the desktop's screenshot portal may ask for permission, and gave no screenshot: {0}; allow screenshots for this program (in the dialog or the desktop's privacy settings) and scan again, or save a screenshot and scan the file instead"
    )]
    ScreenPermission(String),
    /// The text does not fit in a QR code, or the PNG could not be encoded.
    #[error("cannot generate QR code: {0}")]
    Generate(String),
}

impl From<image::ImageError> for QrError {
    fn from(e: image::ImageError) -> Self {
        match e {
            image::ImageError::Unsupported(_) => QrError::UnknownFormat,
            image::ImageError::Limits(l) => QrError::Image(format!("limit exceeded: {l}")),
            other => QrError::Image(other.to_string()),
        }
    }
}
