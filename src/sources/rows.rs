//! What the seed file readers share: options, accepted rows, problems with line numbers,
//! and the line-exact CSV reader (both the vendor and the Entra layout use it).

use std::fmt;

use thiserror::Error;

use super::secret_text::{SecretEncoding, SecretTextError};
use crate::record::{DEFAULT_PERIOD, HmacAlgorithm, TokenSeed};

/// At most this many problems are collected before parsing stops.
pub const MAX_PROBLEMS: usize = 100;

/// The longest serial accepted (token serials are 10 to 16 characters).
pub const MAX_SERIAL_LEN: usize = 64;

/// Choices the file itself cannot express.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedFileOptions {
    /// Force the secret encoding of a vendor file (needed when every row is ambiguous).
    /// Entra files are always base32.
    pub encoding: Option<SecretEncoding>,
    /// The hash function of every seed (neither layout has a column for it).
    pub hash: HmacAlgorithm,
    /// The time step of vendor rows, and of Entra rows with an empty `time interval`.
    pub period: u32,
}

impl Default for SeedFileOptions {
    fn default() -> Self {
        Self {
            encoding: None,
            hash: HmacAlgorithm::Sha1,
            period: DEFAULT_PERIOD,
        }
    }
}

/// One accepted row.
#[derive(Clone, Debug)]
pub struct SeedRow {
    /// 1-based line number of the row in the file.
    pub line: u64,
    /// How the row's secret was written.
    pub encoding: SecretEncoding,
    /// The seed.
    pub seed: TokenSeed,
}

/// What is wrong with one line of a seed file. Never contains secret text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The CSV itself could not be read (e.g. an unterminated quote).
    #[error("unreadable CSV record")]
    Csv,
    /// The file has no seed rows.
    #[error("the file contains no seed rows")]
    NoRows,
    /// A row has the wrong number of fields.
    #[error("expected {expected} fields, found {found}")]
    FieldCount {
        /// Fields the layout needs.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// The serial is empty.
    #[error("the serial is empty")]
    EmptySerial,
    /// The serial has control characters or is too long.
    #[error("the serial is not usable (control characters, or longer than {MAX_SERIAL_LEN})")]
    BadSerial,
    /// The secret could not be used.
    #[error("{0}")]
    Secret(SecretTextError),
    /// Base32 rows and hex rows in one vendor file.
    #[error(
        "the file mixes base32 secrets (line {base32_line}) and hex secrets (line {hex_line}); \
         choose the encoding explicitly"
    )]
    MixedEncodings {
        /// First row that can only be base32.
        base32_line: u64,
        /// First row that can only be hex.
        hex_line: u64,
    },
    /// The serial appeared before.
    #[error("serial {serial} already appears on line {first_line}")]
    DuplicateSerial {
        /// The serial.
        serial: String,
        /// The line where it first appeared.
        first_line: u64,
    },
    /// An Entra `time interval` other than 30 or 60.
    #[error("time interval {0:?} is not 30 or 60")]
    BadInterval(String),
    /// An Entra header column this tool does not know.
    #[error("unknown column {0:?}")]
    UnknownColumn(String),
    /// An Entra header column named twice.
    #[error("column {0:?} appears twice")]
    DuplicateColumn(String),
    /// An Entra header without a required column.
    #[error("missing column {0:?}")]
    MissingColumn(&'static str),
}

/// One problem with its line number (0 when it concerns the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number; 0 for the whole file.
    pub line: u64,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "line {}: {}", self.line, self.kind)
        }
    }
}

/// A CSV row with its line number; fields are trimmed.
pub(crate) struct Row {
    pub(crate) line: u64,
    pub(crate) fields: csv::StringRecord,
}

/// Reads the CSV rows, one per physical line: blank lines and lines starting with `#` are
/// skipped, fields are split (quotes honoured) and trimmed by the `csv` crate. A record may
/// not span lines (no field of a seed file holds a newline); that keeps line numbers exact,
/// which the `csv` crate's positions are not around comments and CRLF ends.
pub(crate) fn read_rows(text: &str, problems: &mut Vec<Problem>) -> Vec<Row> {
    let mut rows = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i as u64 + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(raw.as_bytes());
        let mut fields = csv::StringRecord::new();
        match reader.read_record(&mut fields) {
            Ok(true) => rows.push(Row { line, fields }),
            // The csv error text is not used: it is not needed and must not carry data.
            Ok(false) | Err(_) => push(problems, line, ProblemKind::Csv),
        }
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
    }
    rows
}

/// Drops a leading UTF-8 byte order mark (spreadsheet programs write one).
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

pub(crate) fn push(problems: &mut Vec<Problem>, line: u64, kind: ProblemKind) {
    if problems.len() < MAX_PROBLEMS {
        problems.push(Problem { line, kind });
    }
}

/// Checks a serial: non-empty, at most [`MAX_SERIAL_LEN`] bytes, no control characters.
pub fn check_serial(serial: &str) -> Result<(), ProblemKind> {
    if serial.is_empty() {
        Err(ProblemKind::EmptySerial)
    } else if serial.len() > MAX_SERIAL_LEN || serial.chars().any(char::is_control) {
        Err(ProblemKind::BadSerial)
    } else {
        Ok(())
    }
}
