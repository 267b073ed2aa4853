#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod base32;
mod credential;
mod error;
mod migration;
mod percent;
mod protobuf;
mod uri;

pub use base32::{decode_base32, encode_base32};
pub use credential::{
    Algorithm, Credential, DEFAULT_DIGITS, DEFAULT_PERIOD, Kind, MIN_SECRET_BYTES,
    UnknownAlgorithm, Warning,
};
pub use error::{
    Base32Error, Base64Problem, EntryProblem, LabelError, LabelPart, Message, MigrationError,
    ParseError, ProtobufError, ProtobufErrorKind,
};
pub use migration::{MigrationBatch, parse_migration, parse_migration_payload};

/// Longest accepted input, in bytes after trimming (docs/otpauth.md rule 1). The largest QR
/// code holds 2953 bytes.
pub const MAX_URI_LEN: usize = 4096;

impl Credential {
    /// Parses one `otpauth://totp/...` or `otpauth://hotp/...` URI, following docs/otpauth.md
    /// rules 1-8. An `otpauth-migration://` export is refused with
    /// [`ParseError::MigrationScheme`]; use [`parse_migration`] or [`parse_any`] for it.
    ///
    /// Short secrets parse; see [`Credential::warnings`].
    pub fn parse(uri: &str) -> Result<Credential, ParseError> {
        uri::parse_single(uri)
    }
}

/// What [`parse_any`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An `otpauth://` URI.
    Single(Credential),
    /// An `otpauth-migration://` export.
    Migration(MigrationBatch),
}

/// Parses either kind of URI, choosing by scheme (docs/otpauth.md rules 1-9).
///
/// ```
/// use safeid_otpauth::{Parsed, parse_any};
/// let parsed = parse_any(" otpauth://totp/alice?secret=MZXW6YTBOI \n").unwrap();
/// assert!(matches!(parsed, Parsed::Single(c) if c.account == "alice"));
/// ```
pub fn parse_any(uri: &str) -> Result<Parsed, ParseError> {
    match uri::split_scheme(uri)? {
        (uri::Scheme::Single, _) => Credential::parse(uri).map(Parsed::Single),
        (uri::Scheme::Migration, _) => parse_migration(uri).map(Parsed::Migration),
    }
}
