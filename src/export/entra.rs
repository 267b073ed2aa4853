//! Microsoft Entra ID hardware OATH token CSV (docs/exports.md).
//!
//! Header `upn,serial number,secret key,time interval,manufacturer,model`; the secret is
//! upper-case unpadded base32 (at most 128 characters), the interval 30 or 60. The CSV
//! upload takes SHA-1 tokens only, so SHA-256 records are refused (use the Graph JSON or
//! PSKC); see [`Format::check`](super::Format::check).

use safeid_secret::SecretString;
use zeroize::Zeroizing;

use super::{
    CsvOut, ExportError, ExportOptions, Format, ImportError, SecretBuf, check_text, manufacturer,
    model,
};
use crate::record::TokenSeed;
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
    Format::EntraCsv.check_records(records)?;
    let mut out = SecretBuf::with_capacity(128 * (records.len() + 1));
    let mut csv = CsvOut::new();
    csv.row(&mut out, ENTRA_HEADER.split(','));
    for r in records {
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
        // One exact-size allocation, wiped on drop.
        let secret = Zeroizing::new(safeid_otpauth::encode_base32(r.secret.expose()));
        let period = r.period.to_string();
        csv.row(&mut out, [upn, &r.serial, &secret, &period, man, model]);
    }
    out.into_secret_string()
        .ok_or_else(|| ExportError::Io(std::io::Error::other("CSV writer produced non-UTF-8")))
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
