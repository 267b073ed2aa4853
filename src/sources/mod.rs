//! Seed sources (docs/protocol.md section 8): `otpauth://` URIs and Google Authenticator
//! exports, QR codes in image files or on the screens, base32 or hex text, random seeds from
//! the OS CSPRNG, vendor and Entra seed files (picked by the serial read from the token),
//! and URI lists for batches.
//!
//! For one token every source yields a [`Secret`] through [`read`] (or [`from_seed_file`]),
//! with one error type, [`SourceError`]; no error ever contains secret text. Files are read
//! with a size cap per kind ([`read_text_file`], the `MAX_*_BYTES` constants), refused before
//! the memory is spent.

mod entra_csv;
mod input;
mod rows;
mod secret_text;
mod seed_file;

use std::path::PathBuf;

use safeid_otpauth::{Credential, ParseError, Parsed};
use safeid_secret::SecretBytes;
use thiserror::Error;

pub use input::{
    Found, Origin, Scanned, Secret, SeedInput, WATCH_REST_FACTOR, WatchOptions, from_seed_file,
    read, read_text_file, screen_may_ask_permission, watch_pause, watch_screens,
};

pub use crate::plan::MAX_SEED_BYTES;
pub use entra_csv::ENTRA_COLUMNS;
pub(crate) use rows::strip_bom;
pub use rows::{
    MAX_PROBLEMS, MAX_SERIAL_LEN, Problem, ProblemKind, SeedFileOptions, SeedRow, check_serial,
};
pub use secret_text::{
    SecretEncoding, SecretTextError, check_length, decode_secret, detect_and_decode,
    parse_manual_secret,
};
pub use seed_file::{SeedFile, SeedFileError, SeedFileLayout};

/// The largest seed file read (CSV, vendor or Entra layout): 16 MiB, about 150,000 rows.
pub const MAX_SEED_FILE_BYTES: u64 = 16 << 20;

/// The largest URI list read: 4 MiB (a thousand URIs of the longest kind).
pub const MAX_URI_LIST_BYTES: u64 = 4 << 20;

/// The largest secret read from standard input or a file: 4096 bytes, like a URI.
pub const MAX_SECRET_TEXT_BYTES: u64 = safeid_otpauth::MAX_URI_LEN as u64;

/// Random seed length when none is asked for: 20 bytes (32 base32 characters), the
/// vendor tool's default and RFC 4226's recommended HMAC-SHA-1 key size.
pub const DEFAULT_RANDOM_BYTES: usize = 20;

/// Why a seed source failed. Never contains secret text.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A random seed length outside what the tokens hold.
    #[error("a random seed must be 1 to {MAX_SEED_BYTES} bytes, not {0}")]
    RandomLength(usize),
    /// The operating system's random generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(getrandom::Error),
    /// An `otpauth` URI was refused.
    #[error(transparent)]
    Uri(#[from] ParseError),
    /// A line of a URI list was refused.
    #[error("{}: line {line}: {error}", path.display())]
    UriListLine {
        /// The list.
        path: PathBuf,
        /// The line number (1-based).
        line: usize,
        /// Why.
        error: ParseError,
    },
    /// An image could not be scanned.
    #[error("{place}: {error}")]
    Qr {
        /// The file or screen.
        place: String,
        /// Why.
        error: safeid_qr::QrError,
    },
    /// Nothing burnable was found; says what was seen instead.
    #[error("no otpauth credential was found:\n{seen}")]
    NoCredential {
        /// What each code found holds.
        seen: String,
    },
    /// Several accounts, or a choice that matches none.
    #[error("{0}")]
    Account(String),
    /// A secret typed as text was refused.
    #[error(transparent)]
    Text(#[from] SecretTextError),
    /// The seed file has no row for the token.
    #[error("the seed file has no row for serial {0}")]
    NoRowForSerial(String),
    /// A seed file was refused.
    #[error(transparent)]
    SeedFile(#[from] SeedFileError),
    /// A file could not be read.
    #[error("cannot read the {what} {}: {reason}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What kind of file.
        what: &'static str,
        /// The OS error.
        reason: String,
    },
    /// A file is larger than its kind may be.
    #[error("the {what} {} is larger than {limit} bytes, the most this tool reads", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What kind of file.
        what: &'static str,
        /// The cap.
        limit: u64,
    },
    /// A text file is not UTF-8.
    #[error("the {what} {} is not UTF-8 text (invalid byte at offset {offset})", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// What kind of file.
        what: &'static str,
        /// Where the valid text ends.
        offset: usize,
    },
}

impl SourceError {
    /// A stable name for the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceError::RandomLength(_) => "random_length",
            SourceError::Rng(_) => "rng",
            SourceError::Uri(_) | SourceError::UriListLine { .. } => "bad_uri",
            SourceError::Qr { .. } => "qr",
            SourceError::NoCredential { .. } => "no_credential",
            SourceError::Account(_) => "choose_account",
            SourceError::Text(_) => "bad_secret",
            SourceError::NoRowForSerial(_) => "no_seed_for_serial",
            SourceError::SeedFile(_) => "bad_seed_file",
            SourceError::Io { .. } => "io",
            SourceError::TooLarge { .. } => "too_large",
            SourceError::NotUtf8 { .. } => "not_utf8",
        }
    }

    /// What the user can do.
    pub fn hint(&self) -> Option<crate::error::Hint> {
        use crate::error::Hint;
        match self {
            SourceError::Account(_) => Some(Hint::ChooseAccount),
            SourceError::Text(SecretTextError::Ambiguous) => Some(Hint::ChooseEncoding),
            SourceError::SeedFile(e) if e.needs_encoding() => Some(Hint::ChooseEncoding),
            _ => None,
        }
    }
}

/// Reads a URI list: one `otpauth://` or `otpauth-migration://` URI per line (an export
/// adds all its accounts), blank lines and lines starting with `#` skipped. `path` names
/// the list in errors, which give the line number and never the line.
pub fn parse_uri_list(text: &str, path: &std::path::Path) -> Result<Vec<Credential>, SourceError> {
    let mut creds = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = safeid_otpauth::parse_any(line).map_err(|error| SourceError::UriListLine {
            path: path.to_path_buf(),
            line: n + 1,
            error,
        })?;
        match parsed {
            Parsed::Single(c) => creds.push(c),
            Parsed::Migration(b) => creds.extend(b.credentials),
        }
    }
    Ok(creds)
}

/// A fresh seed of `bytes` bytes (1 to [`MAX_SEED_BYTES`]) from the operating system's
/// CSPRNG (`getrandom`).
///
/// ```
/// let seed = safeid::sources::random_seed(safeid::sources::DEFAULT_RANDOM_BYTES).unwrap();
/// assert_eq!(seed.len(), 20);
/// assert!(safeid::sources::random_seed(64).is_err());
/// ```
pub fn random_seed(bytes: usize) -> Result<SecretBytes, SourceError> {
    if bytes == 0 || bytes > MAX_SEED_BYTES {
        return Err(SourceError::RandomLength(bytes));
    }
    let mut buf = zeroize::Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(&mut buf).map_err(SourceError::Rng)?;
    Ok(SecretBytes::from_slice(&buf))
}
