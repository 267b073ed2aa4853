//! A list of `otpauth://totp/` Key URIs, one per line, in `safeid-otpauth`'s canonical form
//! (docs/otpauth.md rule 10): label `issuer:serial`, then `secret`, `issuer`, `algorithm`,
//! `digits`, `period`.

use safeid_otpauth::{Algorithm, Credential, Kind};
use safeid_secret::SecretString;

use super::{ExportError, ExportOptions, Format, ImportError, SecretBuf, check_unique_import};
use crate::record::{HmacAlgorithm, TokenSeed};
use crate::sources::{check_length, check_serial};

/// The issuer used when neither the options nor the record name one.
pub const DEFAULT_ISSUER: &str = "safeid";

fn credential(r: &TokenSeed, options: &ExportOptions) -> Credential {
    let issuer = options
        .issuer
        .as_deref()
        .or(r.manufacturer.as_deref())
        .unwrap_or(DEFAULT_ISSUER);
    Credential {
        kind: Kind::Totp {
            period: u64::from(r.period),
        },
        issuer: Some(issuer.to_owned()),
        account: r.serial.clone(),
        secret: r.secret.clone(),
        algorithm: match r.hash {
            HmacAlgorithm::Sha1 => Algorithm::Sha1,
            HmacAlgorithm::Sha256 => Algorithm::Sha256,
        },
        digits: r.digits,
    }
}

/// Builds the URI list (LF after every line). Issuer: `options.issuer`, else the record's
/// manufacturer, else [`DEFAULT_ISSUER`]; account: the serial.
pub fn write_otpauth_uris(
    records: &[TokenSeed],
    options: &ExportOptions,
) -> Result<SecretString, ExportError> {
    Format::OtpauthUris.check_records(records)?;
    let mut out = SecretBuf::with_capacity(200 * records.len());
    for r in records {
        super::check_text(r, &r.serial, "serial", "otpauth URI list")?;
        let uri = credential(r, options).to_uri();
        out.push_str(uri.expose());
        out.push_str("\n");
    }
    out.into_secret_string()
        .ok_or_else(|| ExportError::Io(std::io::Error::other("URI writer produced non-UTF-8")))
}

/// One record's URI (for a QR code), in the same form as [`write_otpauth_uris`].
pub(crate) fn uri_for(r: &TokenSeed, options: &ExportOptions) -> SecretString {
    credential(r, options).to_uri()
}

/// Reads a URI list: one `otpauth://totp/` URI per non-empty line (`#` lines skipped); the
/// account is the serial, the issuer becomes the manufacturer. HOTP, SHA-512 and periods
/// other than 30 or 60 are refused (the tokens cannot hold them).
pub fn read_otpauth_uris(text: &str) -> Result<Vec<TokenSeed>, ImportError> {
    let text = crate::sources::strip_bom(text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("line {}", i + 1);
        let c = Credential::parse(line).map_err(|e| ImportError::entry(&at, e.to_string()))?;
        let seed = from_credential(c).map_err(|p| ImportError::entry(&at, p))?;
        out.push((at, seed));
    }
    check_unique_import(&out)?;
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

fn from_credential(c: Credential) -> Result<TokenSeed, String> {
    let period = match c.kind {
        Kind::Totp { period: 30 } => 30,
        Kind::Totp { period: 60 } => 60,
        Kind::Totp { .. } => return Err("the period is not 30 or 60".into()),
        Kind::Hotp { .. } => return Err("HOTP is not supported by these tokens".into()),
    };
    let hash = match c.algorithm {
        Algorithm::Sha1 => HmacAlgorithm::Sha1,
        Algorithm::Sha256 => HmacAlgorithm::Sha256,
        Algorithm::Sha512 => return Err("SHA512 is not supported by these tokens".into()),
    };
    check_serial(&c.account).map_err(|e| e.to_string())?;
    let secret = check_length(c.secret).map_err(|e| e.to_string())?;
    let mut seed = TokenSeed::new(c.account, secret);
    seed.hash = hash;
    seed.period = period;
    seed.digits = c.digits;
    seed.manufacturer = c.issuer;
    Ok(seed)
}
