//! Limits that keep hostile images within bounded memory and time.

use std::time::Duration;

/// Bounds applied to every image before and while it is decoded.
///
/// The header is read first and its dimensions checked against `max_width`, `max_height`
/// and `max_pixels` before any pixel is decoded; the image decoder itself runs under
/// `max_alloc_bytes` (the `image` crate's allocation limit); QR detection runs on a worker
/// thread that the caller stops waiting for after `deadline`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest accepted width x height.
    pub max_pixels: u64,
    /// Largest allocation budget handed to the image decoder, in bytes.
    pub max_alloc_bytes: u64,
    /// Largest file [`decode_file`](crate::decode_file) reads, in bytes.
    pub max_file_bytes: u64,
    /// Wall-clock budget for QR detection on one image (after loading).
    pub deadline: Duration,
}

impl Default for Limits {
    /// 16384 x 16384, at most 80 Mpx, 512 MiB for the image decoder, 256 MiB files, 5 s.
    fn default() -> Self {
        Self {
            max_width: 16_384,
            max_height: 16_384,
            max_pixels: 80_000_000,
            max_alloc_bytes: 512 * 1024 * 1024,
            max_file_bytes: 256 * 1024 * 1024,
            deadline: Duration::from_secs(5),
        }
    }
}

impl Limits {
    /// Small limits for untrusted input in tests and fuzzing: 2048 x 2048, 4 Mpx, 64 MiB,
    /// 1 s.
    pub fn small() -> Self {
        Self {
            max_width: 2048,
            max_height: 2048,
            max_pixels: 4_000_000,
            max_alloc_bytes: 64 * 1024 * 1024,
            max_file_bytes: 16 * 1024 * 1024,
            deadline: Duration::from_secs(1),
        }
    }

    /// Checks announced dimensions against the limits.
    pub(crate) fn check_dimensions(&self, width: u32, height: u32) -> Result<(), crate::QrError> {
        let limit = if width == 0 || height == 0 {
            Some("empty image")
        } else if width > self.max_width {
            Some("max_width")
        } else if height > self.max_height {
            Some("max_height")
        } else if u64::from(width) * u64::from(height) > self.max_pixels {
            Some("max_pixels")
        } else {
            None
        };
        match limit {
            Some(limit) => Err(crate::QrError::TooLarge {
                width,
                height,
                limit,
            }),
            None => Ok(()),
        }
    }
}
