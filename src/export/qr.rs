//! One QR code PNG per token, holding the token's `otpauth://` URI, so that a phone app can
//! carry the same seed as the hardware token.
//!
//! The renderer is passed in (the binary uses `safeid_qr::generate::png(text, module_px)`),
//! which keeps image encoding out of this crate's dependencies.

use std::path::{Path, PathBuf};

use super::uri::uri_for;
use super::{ExportError, ExportOptions, check_unique, write_atomic};
use crate::record::TokenSeed;

/// The file name of a token's QR code: `<serial>.png`. Serials made of anything but ASCII
/// letters, digits, `-`, `_` and `.` (or starting with `.`) are refused, so that a serial
/// can never name a path outside the export directory.
pub fn qr_file_name(serial: &str) -> Result<String, ExportError> {
    let ok = !serial.is_empty()
        && !serial.starts_with('.')
        && serial.len() <= crate::sources::MAX_SERIAL_LEN
        && serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(format!("{serial}.png"))
    } else {
        Err(ExportError::FileName(serial.escape_debug().to_string()))
    }
}

/// Writes `<dir>/<serial>.png` for every record, each atomically with mode 0600, and
/// returns the paths. `render` turns a URI into PNG bytes; its error message must not
/// contain the URI. All names are checked before the first file is written.
pub fn write_qr_pngs<E: std::fmt::Display>(
    records: &[TokenSeed],
    dir: &Path,
    options: &ExportOptions,
    mut render: impl FnMut(&str) -> Result<Vec<u8>, E>,
) -> Result<Vec<PathBuf>, ExportError> {
    check_unique(records)?;
    let names = records
        .iter()
        .map(|r| qr_file_name(&r.serial))
        .collect::<Result<Vec<_>, _>>()?;
    let mut written = Vec::with_capacity(records.len());
    for (r, name) in records.iter().zip(names) {
        let uri = uri_for(r, options);
        let png = render(uri.expose()).map_err(|e| ExportError::Render {
            serial: r.serial.clone(),
            message: e.to_string(),
        })?;
        let path = dir.join(name);
        write_atomic(&path, &png).map_err(ExportError::Io)?;
        written.push(path);
    }
    Ok(written)
}

/// Module size (pixels per QR module) that phones read comfortably from a screen.
pub const QR_MODULE_PX: u32 = 8;

/// [`write_qr_pngs`] with the project's renderer, `safeid_qr::generate::png`.
pub fn write_qr_png_files(
    records: &[TokenSeed],
    dir: &Path,
    options: &ExportOptions,
    module_px: u32,
) -> Result<Vec<PathBuf>, ExportError> {
    write_qr_pngs(records, dir, options, |uri| {
        safeid_qr::generate::png(uri, module_px)
    })
}
