//! privacyIDEA (and NetIQ) OATH CSV: `serial, hex seed, totp, digits, time step`, no header
//! (docs/exports.md).
//!
//! privacyIDEA splits lines on `,` without CSV quoting, so serials with `,` are refused.
//! The file has no hash column: privacyIDEA's import guesses the hash from the key's length
//! (64 hex digits: SHA-256, 56: SHA-224, 96: SHA-384, 128: SHA-512, otherwise SHA-1;
//! [`privacyidea_csv_hash_guess`]). The writer therefore refuses every record the importer
//! would read as another hash (a SHA-1 seed of 28, 32 or 48 bytes, a SHA-256 seed of any
//! length but 32) and the reader applies the same guess.

use std::fmt::Write as _;

use safeid_secret::SecretString;
use zeroize::Zeroizing;

use super::{
    ExportError, Format, ImportError, SecretBuf, check_text, check_unique_import,
    privacyidea_csv_hash_guess,
};
use crate::record::{DEFAULT_PERIOD, HmacAlgorithm, TOKEN_DIGITS, TokenSeed};
use crate::sources::{SecretEncoding, check_serial, decode_secret};

const FORMAT: &str = "privacyIDEA CSV";

/// Builds the privacyIDEA CSV: one `serial, hexseed, totp, 6, 30` line per token (lower-case
/// hex, `, ` separators as in privacyIDEA's documentation, LF ends).
pub fn write_privacyidea_csv(records: &[TokenSeed]) -> Result<SecretString, ExportError> {
    Format::PrivacyIdeaCsv.check_records(records)?;
    let mut out = SecretBuf::with_capacity(160 * records.len());
    for r in records {
        check_text(r, &r.serial, "serial", FORMAT)?;
        if r.serial.contains(',') || r.serial.starts_with('#') || r.serial.trim() != r.serial {
            return Err(ExportError::Unrepresentable {
                format: FORMAT,
                serial: r.serial.clone(),
                field: "serial",
            });
        }
        let hex = Zeroizing::new(data_encoding::HEXLOWER.encode(r.secret.expose()));
        out.push_str(&r.serial);
        out.push_str(", ");
        out.push_str(&hex);
        let _ = writeln!(out, ", totp, {}, {}", r.digits, r.period);
    }
    out.into_secret_string()
        .ok_or_else(|| ExportError::Io(std::io::Error::other("CSV writer produced non-UTF-8")))
}

/// Reads a privacyIDEA OATH CSV. Empty lines and `#` comments are skipped; a
/// `# version: 2` file (user columns first) is refused. Every line must be a TOTP token:
/// `serial, hex seed, totp[, digits (6 or 8, default 6)[, time step (30 or 60, default 30)]]`.
/// The hash is what privacyIDEA would guess from the key's length; keys it would read as
/// SHA-224, SHA-384 or SHA-512 are refused (the tokens have neither).
pub fn read_privacyidea_csv(text: &str) -> Result<Vec<TokenSeed>, ImportError> {
    let text = crate::sources::strip_bom(text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = format!("line {}", i + 1);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            let c = comment.trim_start().to_ascii_lowercase();
            if c.starts_with("version:") && c["version:".len()..].trim() != "1" {
                return Err(ImportError::Structure(
                    "only version 1 privacyIDEA CSV files are supported".into(),
                ));
            }
            continue;
        }
        let seed = parse_line(trimmed).map_err(|p| ImportError::entry(&at, p))?;
        out.push((at, seed));
    }
    check_unique_import(&out)?;
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

fn parse_line(line: &str) -> Result<TokenSeed, String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    if !(3..=5).contains(&fields.len()) {
        return Err(format!("expected 3 to 5 fields, found {}", fields.len()));
    }
    check_serial(fields[0]).map_err(|e| e.to_string())?;
    if !fields[2].eq_ignore_ascii_case("totp") {
        return Err("the token type is not totp".into());
    }
    let secret = decode_secret(fields[1], SecretEncoding::Hex).map_err(|e| e.to_string())?;
    let hash = match privacyidea_csv_hash_guess(secret.len()) {
        "sha1" => HmacAlgorithm::Sha1,
        "sha256" => HmacAlgorithm::Sha256,
        other => {
            return Err(format!(
                "privacyIDEA reads a key of {} bytes as {other}, which these tokens cannot do",
                secret.len()
            ));
        }
    };
    let digits = match fields.get(3) {
        None | Some(&"") => TOKEN_DIGITS,
        Some(&"6") => 6,
        Some(&"8") => 8,
        Some(_) => return Err("the OTP length is not 6 or 8".into()),
    };
    let period = match fields.get(4) {
        None | Some(&"") => DEFAULT_PERIOD,
        Some(&"30") => 30,
        Some(&"60") => 60,
        Some(_) => return Err("the time step is not 30 or 60".into()),
    };
    let mut seed = TokenSeed::new(fields[0], secret);
    seed.hash = hash;
    seed.digits = digits;
    seed.period = period;
    Ok(seed)
}
