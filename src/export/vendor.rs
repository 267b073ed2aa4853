//! The vendor seed file: CSV `serial,secret`, base32 or hex, header optional (docs/protocol.md
//! section 8). The format has no hash or period column: those travel separately.

use safeid_secret::SecretString;
use zeroize::Zeroizing;

use super::{ExportError, ExportOptions, Format, ImportError, SecretBuf, check_text};
use crate::record::TokenSeed;
use crate::sources::{SecretEncoding, SeedFile, SeedFileOptions};

/// Builds a vendor CSV: an optional `serial,secret` header, then one `serial,secret` row per
/// token, the secret as upper-case unpadded base32 or lower-case hex (`options`), LF ends.
/// The header is written anyway when the first serial contains `serial`, which the reader
/// would otherwise take for a header.
pub fn write_vendor_csv(
    records: &[TokenSeed],
    options: &ExportOptions,
) -> Result<SecretString, ExportError> {
    Format::VendorCsv.check_records(records)?;
    let mut out = SecretBuf::with_capacity(120 * (records.len() + 1));
    // A first serial containing "serial" would be read back as a header row: write the
    // (optional) header then, so that the file means what it says.
    let looks_like_header = records[0].serial.to_ascii_lowercase().contains("serial");
    if options.vendor_header || looks_like_header {
        out.push_str("serial,secret\n");
    }
    for r in records {
        check_text(r, &r.serial, "serial", "vendor CSV")?;
        if r.serial.contains([',', '"', '#']) || r.serial.trim() != r.serial {
            return Err(ExportError::Unrepresentable {
                format: "vendor CSV",
                serial: r.serial.clone(),
                field: "serial",
            });
        }
        let secret = Zeroizing::new(match options.vendor_encoding {
            SecretEncoding::Base32 => safeid_otpauth::encode_base32(r.secret.expose()),
            SecretEncoding::Hex => data_encoding::HEXLOWER.encode(r.secret.expose()),
        });
        out.push_str(&r.serial);
        out.push_str(",");
        out.push_str(&secret);
        out.push_str("\n");
    }
    out.into_secret_string()
        .ok_or_else(|| ExportError::Io(std::io::Error::other("CSV writer produced non-UTF-8")))
}

/// Reads a vendor CSV (the seed-file parser; an Entra file is accepted too).
pub fn read_vendor_csv(
    text: &str,
    options: &SeedFileOptions,
) -> Result<Vec<TokenSeed>, ImportError> {
    Ok(SeedFile::parse_with(text, options)?.into_records())
}
