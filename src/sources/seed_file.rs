//! Seed files: the vendor `serial,secret` CSV and the Microsoft Entra ID hardware OATH CSV
//! (docs/protocol.md section 8), parsed whole before any seed is used.
//!
//! A seed is looked up by the serial read from the token ([`SeedFile::seed_for`]), so a
//! token can never receive another token's seed. Every problem is reported with its line
//! number and none of them contains secret text; a file with any problem yields no seeds.

use std::collections::HashMap;
use std::fmt;

use thiserror::Error;

pub(crate) use super::rows::strip_bom;
use super::rows::{
    Problem, ProblemKind, Row, SeedFileOptions, SeedRow, check_serial, push, read_rows,
};
use super::secret_text::{self, Candidates, SecretEncoding, SecretTextError};
use crate::record::{TOKEN_DIGITS, TokenSeed};

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

/// A fully parsed, valid seed file.
#[derive(Clone, Debug)]
pub struct SeedFile {
    layout: SeedFileLayout,
    rows: Vec<SeedRow>,
    by_serial: HashMap<String, usize>,
}

/// A seed file that did not parse: every problem found (up to [`MAX_PROBLEMS`](super::MAX_PROBLEMS)).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct SeedFileError {
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl SeedFileError {
    /// True when choosing the secrets' encoding (base32 or hex) would resolve a problem.
    pub fn needs_encoding(&self) -> bool {
        self.problems.iter().any(|p| {
            matches!(
                p.kind,
                ProblemKind::MixedEncodings { .. }
                    | ProblemKind::Secret(SecretTextError::Ambiguous)
            )
        })
    }
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
