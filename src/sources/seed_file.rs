//! Seed files: the vendor `serial,secret` CSV and the Microsoft Entra ID hardware OATH CSV
//! (docs/protocol.md section 8), parsed whole before any seed is used.
//!
//! A seed is looked up by the serial read from the token ([`SeedFile::seed_for`]), so a
//! token can never receive another token's seed. Every problem is reported with its line
//! number and none of them contains secret text; a file with any problem yields no seeds.

use std::collections::HashMap;
use std::fmt;

use thiserror::Error;

use super::secret_text::{self, Candidates, SecretEncoding, SecretTextError};
use crate::record::{DEFAULT_PERIOD, HashFunction, TOKEN_DIGITS, TokenSeed};

/// At most this many problems are collected before parsing stops.
pub const MAX_PROBLEMS: usize = 100;

/// The longest serial accepted (token serials are 10 to 16 characters).
pub const MAX_SERIAL_LEN: usize = 64;

/// Which layout a seed file was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedFileLayout {
    /// Vendor `serial,secret` rows.
    Vendor {
        /// The first row was a header (its first field contains `serial`).
        header: bool,
    },
    /// Entra ID CSV: a header naming `serial number` and `secret key` columns.
    Entra {
        /// The file has a `upn` column.
        upn: bool,
    },
}

/// Choices the file itself cannot express.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedFileOptions {
    /// Force the secret encoding of a vendor file (needed when every row is ambiguous).
    /// Entra files are always base32.
    pub encoding: Option<SecretEncoding>,
    /// The hash function of every seed (neither layout has a column for it).
    pub hash: HashFunction,
    /// The time step of vendor rows, and of Entra rows with an empty `time interval`.
    pub period: u32,
}

impl Default for SeedFileOptions {
    fn default() -> Self {
        Self {
            encoding: None,
            hash: HashFunction::Sha1,
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

/// A fully parsed, valid seed file.
#[derive(Clone, Debug)]
pub struct SeedFile {
    layout: SeedFileLayout,
    rows: Vec<SeedRow>,
    by_serial: HashMap<String, usize>,
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

/// A seed file that did not parse: every problem found (up to [`MAX_PROBLEMS`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct SeedFileError {
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for SeedFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the seed file was refused ({} problem(s)); nothing is burned from it",
            self.problems.len()
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
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

fn is_entra_header(fields: &csv::StringRecord) -> bool {
    let names: Vec<String> = fields.iter().map(super::entra_csv::column_key).collect();
    names.iter().any(|n| n == "serial number") && names.iter().any(|n| n == "secret key")
}

impl SeedFile {
    /// Parses a seed file with default options (encoding detected, SHA-1, 30 s).
    pub fn parse(text: &str) -> Result<Self, SeedFileError> {
        Self::parse_with(text, &SeedFileOptions::default())
    }

    /// Parses a seed file: layout detected (Entra when the first row names `serial number`
    /// and `secret key` columns; otherwise vendor `serial,secret`, whose first row is a
    /// header when its first field contains `serial`), every row checked, duplicate serials
    /// refused. Any problem refuses the whole file.
    pub fn parse_with(text: &str, options: &SeedFileOptions) -> Result<Self, SeedFileError> {
        let text = strip_bom(text);
        let mut problems = Vec::new();
        let rows = read_rows(text, &mut problems);
        let (layout, parsed) = match rows.first() {
            Some(first) if is_entra_header(&first.fields) => {
                let (upn, parsed) = super::entra_csv::parse_rows(&rows, options, &mut problems);
                (SeedFileLayout::Entra { upn }, parsed)
            }
            Some(first) => {
                let header = first
                    .fields
                    .get(0)
                    .is_some_and(|f| f.to_ascii_lowercase().contains("serial"));
                let data = if header { &rows[1..] } else { &rows[..] };
                (
                    SeedFileLayout::Vendor { header },
                    parse_vendor(data, options, &mut problems),
                )
            }
            None => (SeedFileLayout::Vendor { header: false }, Vec::new()),
        };
        if parsed.is_empty() && problems.is_empty() {
            push(&mut problems, 0, ProblemKind::NoRows);
        }
        let mut by_serial: HashMap<String, usize> = HashMap::new();
        for (i, row) in parsed.iter().enumerate() {
            if let Some(&first) = by_serial.get(&row.seed.serial) {
                let first_line = parsed[first].line;
                let serial = row.seed.serial.clone();
                push(
                    &mut problems,
                    row.line,
                    ProblemKind::DuplicateSerial { serial, first_line },
                );
            } else {
                by_serial.insert(row.seed.serial.clone(), i);
            }
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.line);
            return Err(SeedFileError { problems });
        }
        Ok(Self {
            layout,
            rows: parsed,
            by_serial,
        })
    }

    /// The layout the file was recognised as.
    pub fn layout(&self) -> SeedFileLayout {
        self.layout
    }

    /// The rows, in file order.
    pub fn rows(&self) -> &[SeedRow] {
        &self.rows
    }

    /// Number of seeds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no seeds (never the case for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The seed for the serial read from the token (exact match after trimming spaces).
    pub fn seed_for(&self, serial: &str) -> Option<&TokenSeed> {
        self.by_serial
            .get(serial.trim())
            .map(|&i| &self.rows[i].seed)
    }

    /// The seeds, in file order.
    pub fn records(&self) -> impl Iterator<Item = &TokenSeed> {
        self.rows.iter().map(|r| &r.seed)
    }

    /// The seeds, in file order, by value.
    pub fn into_records(self) -> Vec<TokenSeed> {
        self.rows.into_iter().map(|r| r.seed).collect()
    }
}

/// Vendor rows: decide the file's encoding (module rule), then decode every row.
fn parse_vendor(
    rows: &[Row],
    options: &SeedFileOptions,
    problems: &mut Vec<Problem>,
) -> Vec<SeedRow> {
    let mut shaped = Vec::new();
    for row in rows {
        if row.fields.len() != 2 {
            let found = row.fields.len();
            push(
                problems,
                row.line,
                ProblemKind::FieldCount { expected: 2, found },
            );
            continue;
        }
        shaped.push(row);
    }
    let encoding = match options.encoding {
        Some(e) => Some(e),
        None => file_encoding(&shaped, problems),
    };
    let mut out = Vec::new();
    for row in shaped {
        let (serial, secret) = (&row.fields[0], &row.fields[1]);
        if let Err(kind) = check_serial(serial) {
            push(problems, row.line, kind);
            continue;
        }
        let decoded = match encoding {
            Some(e) => secret_text::decode_secret(secret, e).map(|s| (s, e)),
            // No file-wide answer: every row must settle it alone (ambiguous rows fail).
            None => secret_text::detect_and_decode(secret, None),
        };
        match decoded {
            Ok((bytes, encoding)) => {
                let mut seed = TokenSeed::new(serial, bytes);
                seed.hash = options.hash;
                seed.period = options.period;
                seed.digits = TOKEN_DIGITS;
                out.push(SeedRow {
                    line: row.line,
                    encoding,
                    seed,
                });
            }
            Err(e) => push(problems, row.line, ProblemKind::Secret(e)),
        }
    }
    out
}

/// The encoding the unambiguous rows agree on; a problem when they disagree.
fn file_encoding(rows: &[&Row], problems: &mut Vec<Problem>) -> Option<SecretEncoding> {
    let mut base32_line = None;
    let mut hex_line = None;
    for row in rows {
        match secret_text::candidates(&row.fields[1]) {
            Candidates::Base32 => {
                base32_line.get_or_insert(row.line);
            }
            Candidates::Hex => {
                hex_line.get_or_insert(row.line);
            }
            Candidates::Both | Candidates::Neither => {}
        }
    }
    match (base32_line, hex_line) {
        (Some(base32_line), Some(hex_line)) => {
            let line = base32_line.max(hex_line);
            push(
                problems,
                line,
                ProblemKind::MixedEncodings {
                    base32_line,
                    hex_line,
                },
            );
            None
        }
        (Some(_), None) => Some(SecretEncoding::Base32),
        (None, Some(_)) => Some(SecretEncoding::Hex),
        (None, None) => None,
    }
}
