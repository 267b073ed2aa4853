//! The Microsoft Entra ID hardware OATH CSV as a seed source (docs/protocol.md section 8):
//! header `upn,serial number,secret key,time interval,manufacturer,model`, where only
//! `serial number` and `secret key` are required (vendors ship it without `upn`). The
//! secret is base32; the time interval is 30 or 60 (empty: the options' period).

use super::rows::{Problem, ProblemKind, Row, SeedFileOptions, SeedRow, check_serial, push};
use super::secret_text::{self, SecretEncoding};
use crate::record::{TOKEN_DIGITS, TokenSeed};

/// The columns of the Entra layout, in the order Microsoft documents them.
pub const ENTRA_COLUMNS: [&str; 6] = [
    "upn",
    "serial number",
    "secret key",
    "time interval",
    "manufacturer",
    "model",
];

/// A header cell as compared: trimmed, ASCII lower case, runs of whitespace as one space.
pub(crate) fn column_key(cell: &str) -> String {
    cell.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// Column positions found in the header.
#[derive(Default)]
struct Columns {
    at: [Option<usize>; 6],
}

fn header_columns(row: &Row, problems: &mut Vec<Problem>) -> Option<Columns> {
    let mut cols = Columns::default();
    let before = problems.len();
    for (i, cell) in row.fields.iter().enumerate() {
        let key = column_key(cell);
        match ENTRA_COLUMNS.iter().position(|c| *c == key) {
            Some(k) if cols.at[k].is_some() => {
                push(problems, row.line, ProblemKind::DuplicateColumn(key));
            }
            Some(k) => cols.at[k] = Some(i),
            None => push(
                problems,
                row.line,
                ProblemKind::UnknownColumn(cell.chars().take(40).collect()),
            ),
        }
    }
    for (k, name) in [(1, "serial number"), (2, "secret key")] {
        if cols.at[k].is_none() {
            push(problems, row.line, ProblemKind::MissingColumn(name));
        }
    }
    (problems.len() == before).then_some(cols)
}

/// Parses the rows of an Entra file (the first row is its header). Returns whether the file
/// has a `upn` column, and the accepted rows.
pub(crate) fn parse_rows(
    rows: &[Row],
    options: &SeedFileOptions,
    problems: &mut Vec<Problem>,
) -> (bool, Vec<SeedRow>) {
    let Some((header, data)) = rows.split_first() else {
        return (false, Vec::new());
    };
    let Some(cols) = header_columns(header, problems) else {
        return (false, Vec::new());
    };
    let has_upn = cols.at[0].is_some();
    let mut out = Vec::new();
    for row in data {
        if row.fields.len() != header.fields.len() {
            let (expected, found) = (header.fields.len(), row.fields.len());
            push(
                problems,
                row.line,
                ProblemKind::FieldCount { expected, found },
            );
            continue;
        }
        let cell = |k: usize| {
            cols.at[k]
                .and_then(|i| row.fields.get(i))
                .filter(|s| !s.is_empty())
        };
        let serial = cell(1).unwrap_or("");
        if let Err(kind) = check_serial(serial) {
            push(problems, row.line, kind);
            continue;
        }
        let period = match cell(3) {
            None => options.period,
            Some("30") => 30,
            Some("60") => 60,
            Some(other) => {
                push(
                    problems,
                    row.line,
                    ProblemKind::BadInterval(other.chars().take(16).collect()),
                );
                continue;
            }
        };
        let secret = match secret_text::decode_secret(cell(2).unwrap_or(""), SecretEncoding::Base32)
        {
            Ok(s) => s,
            Err(e) => {
                push(problems, row.line, ProblemKind::Secret(e));
                continue;
            }
        };
        let mut seed = TokenSeed::new(serial, secret);
        seed.hash = options.hash;
        seed.period = period;
        seed.digits = TOKEN_DIGITS;
        seed.upn = cell(0).map(str::to_owned);
        seed.manufacturer = cell(4).map(str::to_owned);
        seed.model = cell(5).map(str::to_owned);
        out.push(SeedRow {
            line: row.line,
            encoding: SecretEncoding::Base32,
            seed,
        });
    }
    (has_upn, out)
}
