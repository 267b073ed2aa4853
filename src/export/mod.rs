//! Seed exports (docs/protocol.md section 8): one text builder per format, their importers for
//! round trips, and [`write_atomic`] to put the result on disk with mode 0600.
//!
//! | format | writer | reader |
//! |---|---|---|
//! | Microsoft Entra ID CSV | [`write_entra_csv`] | [`read_entra_csv`] |
//! | Microsoft Graph `hardwareOathDevices` JSON | [`write_graph_json`] | [`read_graph_json`] |
//! | PSKC (RFC 6030), plain values | [`write_pskc`] | [`read_pskc`] |
//! | PSKC encrypted (RFC 6030 6.1 pre-shared key, 6.2 password) | [`write_pskc`] with [`ExportOptions::pskc_encryption`] | [`read_pskc_with`] |
//! | privacyIDEA OATH CSV | [`write_privacyidea_csv`] | [`read_privacyidea_csv`] |
//! | LinOTP OATH CSV (with a hash column) | [`write_linotp_csv`] | [`read_linotp_csv`] |
//! | Duo hardware-token CSV | [`write_duo_csv`] | [`read_duo_csv`] |
//! | vendor `serial,secret` CSV | [`write_vendor_csv`] | [`read_vendor_csv`] |
//! | `otpauth://` URI list | [`write_otpauth_uris`] | [`read_otpauth_uris`] |
//! | QR PNG per token | [`write_qr_png_files`], [`write_qr_pngs`] | (decoded by `safeid-qr`) |
//!
//! Every writer refuses what its format cannot say (a SHA-256 seed in a SHA-1-only format,
//! a key length privacyIDEA reads as another hash, a 45 s period, a serial twice) instead of
//! writing a file that would burn or register the wrong thing. The parameter limits are
//! data ([`Format::check`], [`TokenParams`]) so that a batch can check them before the first
//! token is burned. Every output holds secrets: it is built in a [`SecretBuf`] (wiped on
//! every reallocation) and returned as a [`SecretString`]; the readers' errors never
//! contain secret text.

mod atomic;
mod buf;
mod duo;
mod entra;
mod graph;
mod limits;
mod linotp;
mod privacyidea;
mod pskc;
mod pskc_crypto;
mod pskc_read;
mod qr;
pub mod secret_source;
mod uri;
mod vendor;

use std::collections::HashSet;
use std::path::Path;

use safeid_secret::SecretString;
use thiserror::Error;

pub use atomic::{SECRET_FILE_MODE, write_atomic};
pub(crate) use atomic::{open_new as open_new_secret, sync_parent};
pub(crate) use buf::CsvOut;
pub use buf::SecretBuf;
pub use duo::{read_duo_csv, write_duo_csv};
pub use entra::{ENTRA_HEADER, read_entra_csv, write_entra_csv};
pub use graph::{GraphShape, read_graph_json, write_graph_json};
pub use limits::{
    ENTRA_MAX_BASE32_CHARS, Limit, LimitError, TokenParams, privacyidea_csv_hash_guess,
};
pub use linotp::{read_linotp_csv, write_linotp_csv};
pub use privacyidea::{read_privacyidea_csv, write_privacyidea_csv};
pub use pskc::{PSKC_NAMESPACE, PSKC_TOTP, write_pskc};
pub use pskc_crypto::{
    DEFAULT_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS, MIN_PBKDF2_ITERATIONS, PskcDecryption,
    PskcEncryption, PskcKey, PskcKeyError,
};
pub use pskc_read::{MAX_PSKC_BYTES, read_pskc, read_pskc_with};
pub use qr::{QR_MODULE_PX, qr_file_name, write_qr_png_files, write_qr_pngs};
pub use uri::{DEFAULT_ISSUER, read_otpauth_uris, write_otpauth_uris};
pub use vendor::{read_vendor_csv, write_vendor_csv};

use crate::record::TokenSeed;
use crate::sources::{SecretEncoding, SeedFileError};

/// Choices shared by the writers; each uses the fields that apply to its format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportOptions {
    /// Entra `upn` for records that carry none (`--upn`).
    pub upn: Option<String>,
    /// Manufacturer for records that carry none (Entra, Graph, PSKC).
    pub manufacturer: Option<String>,
    /// Model for records that carry none (Entra, Graph, PSKC).
    pub model: Option<String>,
    /// Graph JSON: a bare array or `{"value": [...]}`.
    pub graph_shape: GraphShape,
    /// Vendor CSV: secret as base32 (default) or hex.
    pub vendor_encoding: SecretEncoding,
    /// Vendor CSV: write a `serial,secret` header row.
    pub vendor_header: bool,
    /// `otpauth://` issuer; default: the record's manufacturer, else [`DEFAULT_ISSUER`].
    pub issuer: Option<String>,
    /// PSKC: encrypt the secrets (RFC 6030 section 6.1 or 6.2); `None` writes plain values.
    pub pskc_encryption: Option<PskcEncryption>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            upn: None,
            manufacturer: None,
            model: None,
            graph_shape: GraphShape::Array,
            vendor_encoding: SecretEncoding::Base32,
            vendor_header: false,
            issuer: None,
            pskc_encryption: None,
        }
    }
}

/// The text formats, for callers that choose one at run time (the QR export writes files
/// and is separate: [`write_qr_pngs`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Microsoft Entra ID hardware OATH CSV.
    EntraCsv,
    /// Microsoft Graph `hardwareOathDevices` JSON.
    GraphJson,
    /// PSKC (RFC 6030) with plain values.
    Pskc,
    /// privacyIDEA OATH CSV.
    PrivacyIdeaCsv,
    /// Vendor `serial,secret` CSV.
    VendorCsv,
    /// One `otpauth://` URI per line.
    OtpauthUris,
    /// Duo hardware-token CSV: `serial,hex secret`.
    DuoCsv,
    /// LinOTP OATH CSV with its hash column.
    LinotpCsv,
}

impl Format {
    /// Every text format.
    pub const ALL: [Format; 8] = [
        Self::EntraCsv,
        Self::GraphJson,
        Self::Pskc,
        Self::PrivacyIdeaCsv,
        Self::VendorCsv,
        Self::OtpauthUris,
        Self::DuoCsv,
        Self::LinotpCsv,
    ];

    /// A short name for messages and command lines (`entra`, `graph`, `pskc`,
    /// `privacyidea`, `vendor`, `otpauth`, `duo`, `linotp`).
    pub fn name(self) -> &'static str {
        match self {
            Self::EntraCsv => "entra",
            Self::GraphJson => "graph",
            Self::Pskc => "pskc",
            Self::PrivacyIdeaCsv => "privacyidea",
            Self::VendorCsv => "vendor",
            Self::OtpauthUris => "otpauth",
            Self::DuoCsv => "duo",
            Self::LinotpCsv => "linotp",
        }
    }

    /// The format named by [`Format::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The usual file name extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            Self::EntraCsv
            | Self::PrivacyIdeaCsv
            | Self::VendorCsv
            | Self::DuoCsv
            | Self::LinotpCsv => "csv",
            Self::GraphJson => "json",
            Self::Pskc => "pskcxml",
            Self::OtpauthUris => "txt",
        }
    }

    /// Builds the file contents in this format.
    pub fn render(
        self,
        records: &[TokenSeed],
        options: &ExportOptions,
    ) -> Result<SecretString, ExportError> {
        match self {
            Self::EntraCsv => write_entra_csv(records, options),
            Self::GraphJson => write_graph_json(records, options),
            Self::Pskc => write_pskc(records, options),
            Self::PrivacyIdeaCsv => write_privacyidea_csv(records),
            Self::VendorCsv => write_vendor_csv(records, options),
            Self::OtpauthUris => write_otpauth_uris(records, options),
            Self::DuoCsv => write_duo_csv(records),
            Self::LinotpCsv => write_linotp_csv(records),
        }
    }

    /// Checks every record against this format's limits (and, for the Duo CSV, that the
    /// file can say one period and one digit count for all), plus what every export needs:
    /// at least one record, no serial twice. The writers run this first.
    pub fn check_records(self, records: &[TokenSeed]) -> Result<(), ExportError> {
        check_unique(records)?;
        for r in records {
            self.check(&TokenParams::of(r))
                .map_err(|limit| ExportError::Limit {
                    serial: r.serial.escape_debug().to_string(),
                    limit: Box::new(limit),
                })?;
        }
        if self == Self::DuoCsv {
            duo::check_uniform(records)?;
        }
        Ok(())
    }

    /// Builds the file contents and writes them with [`write_atomic`] (mode 0600).
    pub fn export_to(
        self,
        path: &Path,
        records: &[TokenSeed],
        options: &ExportOptions,
    ) -> Result<(), ExportError> {
        let text = self.render(records, options)?;
        write_atomic(path, text.expose().as_bytes()).map_err(ExportError::Io)
    }
}

/// Why an export was refused. Never contains secret text.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The format cannot carry this token's parameters (see [`Format::check`]).
    #[error("token {serial}: {limit}")]
    Limit {
        /// The token.
        serial: String,
        /// The limit, and the formats that can carry the parameters.
        limit: Box<LimitError>,
    },
    /// The records disagree on something the format says once for the whole file.
    #[error("{format} says one {field} for the whole file; these tokens have several ({detail})")]
    Mixed {
        /// The format's name.
        format: &'static str,
        /// The field (`period`, `digits`).
        field: &'static str,
        /// The values found.
        detail: String,
    },
    /// The PSKC encryption could not be set up (random numbers unavailable).
    #[error("the PSKC encryption failed: {0}")]
    Crypto(String),
    /// A field the format requires is unknown (set it in [`ExportOptions`]).
    #[error("{format} needs the {field} of token {serial}; none is known (give one explicitly)")]
    Missing {
        /// The format's name.
        format: &'static str,
        /// The token.
        serial: String,
        /// The missing field.
        field: &'static str,
    },
    /// A text field holds characters the format cannot carry (control characters, or a
    /// separator in a format without quoting).
    #[error(
        "{format} cannot carry the {field} of token {serial} (control characters or separators)"
    )]
    Unrepresentable {
        /// The format's name.
        format: &'static str,
        /// The token (may be the offending serial itself, shown escaped).
        serial: String,
        /// The field.
        field: &'static str,
    },
    /// The same serial twice: an export must say one seed per token.
    #[error("serial {0} appears twice; an export holds one seed per token")]
    DuplicateSerial(String),
    /// Nothing to export.
    #[error("there are no tokens to export")]
    Empty,
    /// A serial that cannot be a file name (QR export).
    #[error("serial {0:?} cannot be used as a file name")]
    FileName(String),
    /// The QR renderer failed.
    #[error("the QR code of token {serial} could not be rendered: {message}")]
    Render {
        /// The token.
        serial: String,
        /// The renderer's message.
        message: String,
    },
    /// Writing the file failed.
    #[error("writing the export failed: {0}")]
    Io(#[source] std::io::Error),
}

impl ExportError {
    /// A stable name for the kind of error (`export`): what the CLI's JSON errors and the
    /// desk app both report.
    pub fn kind(&self) -> &'static str {
        "export"
    }
}

/// Why an import was refused. Never contains secret text.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The document is not well-formed JSON or XML (position only).
    #[error("not well-formed {format} at line {line}, column {column}")]
    Syntax {
        /// `JSON` or `XML`.
        format: &'static str,
        /// 1-based line.
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
    },
    /// The document's overall shape is wrong.
    #[error("{0}")]
    Structure(String),
    /// One entry is wrong.
    #[error("{at}: {problem}")]
    Entry {
        /// `entry 3`, `line 7`, `KeyPackage 2 (line 12)`.
        at: String,
        /// What is wrong (never secret text).
        problem: String,
    },
    /// The same serial twice.
    #[error("serial {serial} appears twice ({at})")]
    DuplicateSerial {
        /// The serial.
        serial: String,
        /// Where the second one is.
        at: String,
    },
    /// A CSV seed file that did not parse.
    #[error(transparent)]
    SeedFile(#[from] SeedFileError),
    /// The document holds no tokens.
    #[error("the document holds no tokens")]
    Empty,
    /// The document is larger than the reader accepts.
    #[error("the document is larger than {max} bytes")]
    TooLarge {
        /// The limit, bytes.
        max: usize,
    },
    /// The PSKC document is encrypted and no key or password was given (or the wrong kind).
    #[error("the PSKC document is encrypted with {needs}; give it to decrypt the secrets")]
    NeedsKey {
        /// `a pre-shared key` or `a password (PBKDF2)`.
        needs: &'static str,
    },
    /// A MAC did not match: the key or password is wrong, or the file was altered.
    #[error("{at}: the MAC does not match (wrong key or password, or the file was altered)")]
    WrongKey {
        /// `KeyPackage 3 (line 40)` or `MACKey`.
        at: String,
    },
}

impl ImportError {
    pub(crate) fn entry(at: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Entry {
            at: at.into(),
            problem: problem.into(),
        }
    }
}

/// Checks what every export needs: at least one record and no serial twice.
pub(crate) fn check_unique(records: &[TokenSeed]) -> Result<(), ExportError> {
    if records.is_empty() {
        return Err(ExportError::Empty);
    }
    let mut seen = HashSet::new();
    for r in records {
        if !seen.insert(r.serial.as_str()) {
            return Err(ExportError::DuplicateSerial(r.serial.clone()));
        }
    }
    Ok(())
}

/// Checks that imported records name each serial once.
pub(crate) fn check_unique_import(records: &[(String, TokenSeed)]) -> Result<(), ImportError> {
    if records.is_empty() {
        return Err(ImportError::Empty);
    }
    let mut seen = HashSet::new();
    for (at, r) in records {
        if !seen.insert(r.serial.as_str()) {
            return Err(ImportError::DuplicateSerial {
                serial: r.serial.clone(),
                at: at.clone(),
            });
        }
    }
    Ok(())
}

/// The record's manufacturer, else the option's, else an error naming the format.
pub(crate) fn manufacturer<'a>(
    r: &'a TokenSeed,
    o: &'a ExportOptions,
    format: &'static str,
) -> Result<&'a str, ExportError> {
    r.manufacturer
        .as_deref()
        .or(o.manufacturer.as_deref())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ExportError::Missing {
            format,
            serial: r.serial.clone(),
            field: "manufacturer",
        })
}

/// The record's model, else the option's, else an error naming the format.
pub(crate) fn model<'a>(
    r: &'a TokenSeed,
    o: &'a ExportOptions,
    format: &'static str,
) -> Result<&'a str, ExportError> {
    r.model
        .as_deref()
        .or(o.model.as_deref())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ExportError::Missing {
            format,
            serial: r.serial.clone(),
            field: "model",
        })
}

/// Refuses control characters in a field.
pub(crate) fn check_text(
    r: &TokenSeed,
    value: &str,
    field: &'static str,
    format: &'static str,
) -> Result<(), ExportError> {
    if value.chars().any(char::is_control) {
        return Err(ExportError::Unrepresentable {
            format,
            serial: r.serial.escape_debug().to_string(),
            field,
        });
    }
    Ok(())
}
