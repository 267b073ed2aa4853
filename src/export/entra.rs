//! Microsoft Entra ID hardware OATH token CSV (docs/protocol.md section 8).
//!
//! Header `upn,serial number,secret key,time interval,manufacturer,model`; the secret is
//! upper-case unpadded base32 (at most 128 characters), the interval 30 or 60. The CSV
//! upload takes SHA-1 tokens only, so SHA-256 records are refused (use the Graph JSON).

use safeid_secret::SecretString;
use zeroize::Zeroizing;

use super::{
    ExportError, ExportOptions, ImportError, check_period, check_text, check_unique, manufacturer,
    model,
};
use crate::record::{HashFunction, TokenSeed};
use crate::sources::{SeedFile, SeedFileLayout, SeedFileOptions};

/// The header row, exactly as Microsoft documents it.
pub const ENTRA_HEADER: &str = "upn,serial number,secret key,time interval,manufacturer,model";

const FORMAT: &str = "Entra ID CSV";

/// Builds an Entra ID CSV (LF line ends). A record's own `upn` wins over `options.upn`;
/// without either the column is left empty (tokens not yet assigned). Manufacturer and
/// model come from the record (the model table), else from the options, else an error.
pub fn write_entra_csv(
    records: &[TokenSeed],
    options: &ExportOptions,
) -> Result<SecretString, ExportError> {
    check_unique(records)?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(64 * (records.len() + 1)));
    let csv_err = |_: csv::Error| ExportError::Io(std::io::Error::other("CSV writer failed"));
    w.write_record(ENTRA_HEADER.split(',')).map_err(csv_err)?;
    for r in records {
        if r.hash != HashFunction::Sha1 {
            return Err(ExportError::UnsupportedHash {
                format: FORMAT,
                serial: r.serial.clone(),
                hash: r.hash,
            });
        }
        check_period(r, FORMAT)?;
        if r.digits != 6 {
            return Err(ExportError::UnsupportedDigits {
                format: FORMAT,
                serial: r.serial.clone(),
                digits: r.digits,
            });
        }
        let upn = r.upn.as_deref().or(options.upn.as_deref()).unwrap_or("");
        let (man, model) = (
            manufacturer(r, options, FORMAT)?,
            model(r, options, FORMAT)?,
        );
        for (value, field) in [
            (r.serial.as_str(), "serial"),
            (upn, "upn"),
            (man, "manufacturer"),
            (model, "model"),
        ] {
            check_text(r, value, field, FORMAT)?;
        }
        let secret = Zeroizing::new(safeid_otpauth::encode_base32(r.secret.expose()));
        let period = r.period.to_string();
        w.write_record([upn, &r.serial, &secret, &period, man, model])
            .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|_| ExportError::Io(std::io::Error::other("CSV writer failed")))?;
    // The writer only wrote UTF-8 strings.
    String::from_utf8(bytes)
        .map(SecretString::from)
        .map_err(|_| ExportError::Io(std::io::Error::other("CSV writer produced non-UTF-8")))
}

/// Reads an Entra ID CSV (the seed-file parser, which must recognise the Entra layout).
pub fn read_entra_csv(
    text: &str,
    options: &SeedFileOptions,
) -> Result<Vec<TokenSeed>, ImportError> {
    let file = SeedFile::parse_with(text, options)?;
    match file.layout() {
        SeedFileLayout::Entra { .. } => Ok(file.into_records()),
        SeedFileLayout::Vendor { .. } => Err(ImportError::Structure(
            "not an Entra ID CSV: the header needs `serial number` and `secret key` columns".into(),
        )),
    }
}
