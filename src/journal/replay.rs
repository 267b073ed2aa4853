//! Replaying journal bytes into a [`JournalState`], with the recovery rules of the module
//! documentation (torn last line, unreadable lines, out-of-order marks).

use std::path::Path;

use safeid_secret::SecretString;

use super::line::{Line, decode_line, entry_of};
use super::seal::SealKey;
use super::state::JournalState;
use super::{Anomaly, FORMAT_NAME, JournalError, Recovery, SEALED_JOURNAL_VERSION, TornTail};

/// Where the valid part of the file ends, and whether a kept torn line needs its newline.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ValidEnd {
    pub(super) len: u64,
    pub(super) add_newline: bool,
}

/// One line of the file.
struct RawLine<'a> {
    number: usize,
    start: usize,
    text: &'a [u8],
    complete: bool,
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = RawLine<'_>> {
    let mut pos = 0usize;
    let mut number = 0usize;
    std::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        number += 1;
        let start = pos;
        let (text, complete, next) = match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(n) => (&bytes[pos..pos + n], true, pos + n + 1),
            None => (&bytes[pos..], false, bytes.len()),
        };
        pos = next;
        Some(RawLine {
            number,
            start,
            text,
            complete,
        })
    })
}

/// What the header line said.
#[derive(Debug, Default)]
pub(super) enum Header {
    /// No header yet (an empty file, or a torn header): the file holds nothing.
    #[default]
    None,
    /// An unsealed journal: seeds in base32.
    Plain,
    /// A sealed journal, opened with this key.
    Sealed(SealKey),
}

/// The result of a replay.
pub(super) struct Replayed {
    pub(super) state: JournalState,
    pub(super) recovery: Recovery,
    pub(super) end: ValidEnd,
    pub(super) header: Header,
}

/// Replays journal bytes. Returns the state, the report, where the valid part ends, and
/// what the header said. A file whose first complete line is not a journal header is
/// refused (and left alone); so is a sealed journal without a passphrase, or with a wrong
/// one. A passphrase given for an unsealed journal is not used.
pub(super) fn replay(
    bytes: &[u8],
    path: &Path,
    passphrase: Option<&SecretString>,
) -> Result<Replayed, JournalError> {
    let mut state = JournalState::default();
    let mut rec = Recovery::default();
    let mut end = ValidEnd::default();
    let mut header = Header::None;
    for raw in lines(bytes) {
        let line = std::str::from_utf8(raw.text).ok().and_then(decode_line);
        if !raw.complete {
            rec.torn_tail = Some(TornTail {
                offset: raw.start as u64,
                len: raw.text.len(),
                kept: line.is_some() && raw.number > 1,
            });
        }
        if raw.number == 1 {
            match check_header(line, raw.text, raw.complete, path, passphrase)? {
                // A torn header: the file was being created; it holds nothing yet.
                Header::None => break,
                h => header = h,
            }
        } else if line.is_some() || raw.complete {
            let key = match &header {
                Header::Sealed(k) => Some(k),
                _ => None,
            };
            replay_entry(&mut state, &mut rec, line, raw.number, key);
        }
        if raw.complete {
            end = ValidEnd {
                len: (raw.start + raw.text.len() + 1) as u64,
                add_newline: false,
            };
        } else if rec.torn_tail.is_some_and(|t| t.kept) {
            end = ValidEnd {
                len: bytes.len() as u64,
                add_newline: true,
            };
        }
    }
    rec.uncertain = state.uncertain().map(|s| s.seed.serial.clone()).collect();
    rec.done = state.done_serials().map(str::to_owned).collect();
    rec.sealed = matches!(header, Header::Sealed(_));
    Ok(Replayed {
        state,
        recovery: rec,
        end,
        header,
    })
}

/// How every header line this crate writes begins (serde writes the fields in order).
const HEADER_START: &[u8] = b"{\"event\":\"journal\",\"format\":\"safeid-journal\",\"version\":";

/// The header of a journal this build reads (plain, or sealed and opened with the
/// passphrase), [`Header::None`] for a torn header (an incomplete first line that is the
/// beginning of a header this crate writes: the file was being created), an error for
/// anything else, which is then left as it is.
fn check_header(
    line: Option<Line>,
    text: &[u8],
    complete: bool,
    path: &Path,
    passphrase: Option<&SecretString>,
) -> Result<Header, JournalError> {
    match line {
        Some(Line::Journal {
            format,
            version,
            seal,
            ..
        }) if format == FORMAT_NAME => {
            if version > SEALED_JOURNAL_VERSION {
                return Err(JournalError::UnsupportedVersion(version));
            }
            match (seal, passphrase) {
                (None, _) => Ok(Header::Plain),
                (Some(_), None) => Err(JournalError::Sealed(path.to_path_buf())),
                (Some(seal), Some(p)) => Ok(Header::Sealed(SealKey::open(&seal, p, path)?)),
            }
        }
        _ if !complete && (HEADER_START.starts_with(text) || text.starts_with(HEADER_START)) => {
            Ok(Header::None)
        }
        _ => Err(JournalError::NotAJournal(path.to_path_buf())),
    }
}

fn replay_entry(
    state: &mut JournalState,
    rec: &mut Recovery,
    line: Option<Line>,
    number: usize,
    key: Option<&SealKey>,
) {
    let Some(entry) = line.and_then(|l| entry_of(l, key)) else {
        rec.anomalies.push(Anomaly::Unreadable(number));
        return;
    };
    rec.entries += 1;
    match state.check(&entry) {
        Ok(()) => state.apply(entry),
        Err(JournalError::Conflict(serial)) => {
            rec.anomalies.push(Anomaly::ConflictingPlan {
                line: number,
                serial,
            });
            state.apply(entry);
        }
        Err(JournalError::WrongState {
            serial,
            wanted,
            state: st,
        }) => rec.anomalies.push(Anomaly::OutOfOrder {
            line: number,
            event: wanted,
            serial,
            state: st,
        }),
        Err(_) => rec.anomalies.push(Anomaly::Unreadable(number)),
    }
}
