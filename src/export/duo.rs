//! Duo's hardware-token import: `serial,hex secret` lines pasted into the Admin Panel's
//! "Import Hardware Tokens" dialog (docs/exports.md).
//!
//! The file carries serial and secret only; the token type (TOTP, 6 or 8 digits) and the
//! time step are chosen in the dialog, once for the whole import, and Duo's OTP tokens are
//! HMAC-SHA1. So SHA-256 records are refused, and so is a file that mixes periods or digit
//! counts (import such tokens in separate files). The secret is lower-case hex.

use std::collections::BTreeSet;

use safeid_secret::SecretString;
use zeroize::Zeroizing;

use super::{ExportError, Format, ImportError, SecretBuf, check_text, check_unique_import};
use crate::record::TokenSeed;
use crate::sources::{SecretEncoding, check_serial, decode_secret};

const FORMAT: &str = "Duo CSV";

/// Refuses records that disagree on period or digits (the import dialog sets one of each).
pub(crate) fn check_uniform(records: &[TokenSeed]) -> Result<(), ExportError> {
    let periods: BTreeSet<u32> = records.iter().map(|r| r.period).collect();
    if periods.len() > 1 {
        return Err(ExportError::Mixed {
            format: FORMAT,
            field: "time step",
            detail: periods
                .iter()
                .map(|p| format!("{p} s"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let digits: BTreeSet<u8> = records.iter().map(|r| r.digits).collect();
    if digits.len() > 1 {
        return Err(ExportError::Mixed {
            format: FORMAT,
            field: "digit count",
            detail: digits
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

/// Builds the Duo CSV: one `serial,hexsecret` line per token, no header, LF ends. Choose
/// "TOTP" with the tokens' digit count and time step in the import dialog.
pub fn write_duo_csv(records: &[TokenSeed]) -> Result<SecretString, ExportError> {
    Format::DuoCsv.check_records(records)?;
    let mut out = SecretBuf::with_capacity(150 * records.len());
    for r in records {
        check_text(r, &r.serial, "serial", FORMAT)?;
        if r.serial.contains([',', '"']) || r.serial.trim() != r.serial {
            return Err(ExportError::Unrepresentable {
                format: FORMAT,
                serial: r.serial.clone(),
                field: "serial",
            });
        }
        let hex = Zeroizing::new(data_encoding::HEXLOWER.encode(r.secret.expose()));
        out.push_str(&r.serial);
        out.push_str(",");
        out.push_str(&hex);
        out.push_str("\n");
    }
    out.into_secret_string()
        .ok_or_else(|| ExportError::Io(std::io::Error::other("CSV writer produced non-UTF-8")))
}

/// Reads a Duo CSV: `serial,hex secret` per non-empty line (fields trimmed). The file does
/// not say the period or digit count: give the ones chosen in the import dialog. The hash
/// is SHA-1.
pub fn read_duo_csv(text: &str, period: u32, digits: u8) -> Result<Vec<TokenSeed>, ImportError> {
    if period != 30 && period != 60 {
        return Err(ImportError::Structure(
            "the Duo time step must be 30 or 60".into(),
        ));
    }
    if digits != 6 && digits != 8 {
        return Err(ImportError::Structure(
            "the Duo digit count must be 6 or 8".into(),
        ));
    }
    let text = crate::sources::strip_bom(text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = format!("line {}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [serial, secret] = fields[..] else {
            return Err(ImportError::entry(
                &at,
                format!("expected 2 fields, found {}", fields.len()),
            ));
        };
        check_serial(serial).map_err(|e| ImportError::entry(&at, e.to_string()))?;
        let secret = decode_secret(secret, SecretEncoding::Hex)
            .map_err(|e| ImportError::entry(&at, e.to_string()))?;
        let mut seed = TokenSeed::new(serial, secret);
        seed.period = period;
        seed.digits = digits;
        out.push((at, seed));
    }
    check_unique_import(&out)?;
    Ok(out.into_iter().map(|(_, s)| s).collect())
}
