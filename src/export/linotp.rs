//! LinOTP's OATH CSV: `serial, hex seed, totp, digits, time step, hash` (docs/exports.md).
//!
//! LinOTP (`linotp/lib/ImportOTP/oath.py`, `parseOATHcsv`) splits each line on `,` without
//! quoting and trims every field; the sixth column (`sha1`, `sha256`, `sha512`) sets the
//! hash, and only without it does LinOTP guess from the key length (64 hex digits:
//! SHA-256, 128: SHA-512). This writer always writes the column. A line whose first field
//! is exactly `#` is a comment; any other line is a token, so the writer writes no
//! comments and refuses a serial that is `#`, empty, padded, or holds a `,`.

use std::fmt::Write as _;

use safeid_secret::SecretString;
use zeroize::Zeroizing;

use super::{ExportError, Format, ImportError, SecretBuf, check_text, check_unique_import};
use crate::record::{DEFAULT_PERIOD, HmacAlgorithm, TOKEN_DIGITS, TokenSeed};
use crate::sources::{SecretEncoding, check_serial, decode_secret};

const FORMAT: &str = "LinOTP CSV";

fn hash_column(h: HmacAlgorithm) -> &'static str {
    match h {
        HmacAlgorithm::Sha1 => "sha1",
        HmacAlgorithm::Sha256 => "sha256",
    }
}

/// Builds the LinOTP CSV: one `serial, hexseed, totp, 6, 30, sha1` line per token
/// (lower-case hex, LF ends, no header).
pub fn write_linotp_csv(records: &[TokenSeed]) -> Result<SecretString, ExportError> {
    Format::LinotpCsv.check_records(records)?;
    let mut out = SecretBuf::with_capacity(170 * records.len());
    for r in records {
        check_text(r, &r.serial, "serial", FORMAT)?;
        if r.serial.contains(',') || r.serial == "#" || r.serial.trim() != r.serial {
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
        let _ = writeln!(
            out,
            ", totp, {}, {}, {}",
            r.digits,
            r.period,
            hash_column(r.hash)
        );
    }
    out.into_secret_string()
        .ok_or_else(|| ExportError::Io(std::io::Error::other("CSV writer produced non-UTF-8")))
}

/// Reads a LinOTP OATH CSV the way LinOTP does for TOTP lines: fields trimmed, empty lines
/// and lines whose first field is `#` skipped; `serial, hex seed, totp[, digits[, time
/// step[, hash]]]`. Without a hash column the hash follows LinOTP's guess (a 32-byte key
/// is SHA-256, other lengths SHA-1). HOTP, OCRA and SHA-512 lines are refused (the tokens
/// cannot hold them).
pub fn read_linotp_csv(text: &str) -> Result<Vec<TokenSeed>, ImportError> {
    let text = crate::sources::strip_bom(text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = format!("line {}", i + 1);
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields[0].is_empty() || fields[0] == "#" {
            continue;
        }
        let seed = parse_line(&fields).map_err(|p| ImportError::entry(&at, p))?;
        out.push((at, seed));
    }
    check_unique_import(&out)?;
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

fn parse_line(fields: &[&str]) -> Result<TokenSeed, String> {
    if fields.len() > 6 && fields[6..].iter().any(|f| !f.is_empty()) {
        return Err(format!("expected at most 6 fields, found {}", fields.len()));
    }
    let field = |i: usize| fields.get(i).copied().unwrap_or("");
    check_serial(field(0)).map_err(|e| e.to_string())?;
    if !field(2).eq_ignore_ascii_case("totp") {
        return Err("the token type is not totp".into());
    }
    let secret = decode_secret(field(1), SecretEncoding::Hex).map_err(|e| e.to_string())?;
    let digits = match field(3) {
        "" => TOKEN_DIGITS,
        "6" => 6,
        "8" => 8,
        _ => return Err("the OTP length is not 6 or 8".into()),
    };
    let period = match field(4) {
        "" => DEFAULT_PERIOD,
        "30" => 30,
        "60" => 60,
        _ => return Err("the time step is not 30 or 60".into()),
    };
    let hash = match field(5).to_ascii_lowercase().as_str() {
        "sha1" => HmacAlgorithm::Sha1,
        "sha256" => HmacAlgorithm::Sha256,
        "sha512" => return Err("SHA512 is not supported by these tokens".into()),
        // LinOTP ignores an unknown hash name and guesses from the length.
        _ if secret.len() == 32 => HmacAlgorithm::Sha256,
        _ if secret.len() == 64 => return Err("LinOTP reads a 64-byte key as SHA512".into()),
        _ => HmacAlgorithm::Sha1,
    };
    let mut seed = TokenSeed::new(field(0), secret);
    seed.hash = hash;
    seed.digits = digits;
    seed.period = period;
    Ok(seed)
}
