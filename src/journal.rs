//! The batch journal: an append-only, fsync'd record of which seed went to which serial, so
//! that no seed is ever lost and none is ever attributed to the wrong token.
//!
//! **The journal holds every seed in clear (base32). It is created with mode 0600 (an
//! existing one with wider permissions is tightened and reported); keep it like a key file
//! and destroy it when the tokens are registered.**
//!
//! Format: JSON lines. The first line is a header
//! `{"event":"journal","format":"safeid-journal","version":1,"time":...}`; then one entry
//! per line, each written whole with one `write` and flushed with `fdatasync` before the call
//! returns (unless fsync is switched off in [`JournalOptions`], for benchmarks):
//!
//! - `planned`: serial, seed (base32), hash, period, digits, optional manufacturer, model,
//!   upn, display_name, time. Appended *before* anything is written to the token.
//! - `burned`: serial, time. After the config and seed writes succeeded.
//! - `verified`: serial, time, offset (time steps). After the user confirmed a code.
//! - `failed`: serial, time, reason, written (`nothing`, `config`, `seed`, `unknown`).
//!
//! Rules (replay and the API apply the same ones):
//! - A serial whose last plan is neither burned, verified nor failed is *uncertain*: the
//!   token may or may not hold that seed. The seed is kept, and re-burning it is safe.
//!   A failure with `written` `seed` or `unknown` is uncertain too.
//! - Planning a serial again with the same seed is always allowed (a retry). Planning it
//!   with a different seed is refused while the earlier plan is unresolved; once the
//!   earlier plan is marked failed, burned or verified, the new plan supersedes it (the old
//!   seed stays in the state's history).
//! - A torn last line (a crash in the middle of an append) is reported at open: if it is a
//!   complete entry that only lost its newline it is kept, otherwise it is cut off. Its
//!   append never returned, so no token was written on its strength.
//! - Lines that cannot be read, and marks for unknown serials, are reported as anomalies
//!   (with line numbers, never contents) and skipped; they do not stop the batch.
//!
//! One process at a time may append to a journal: [`Journal::open`] takes an advisory lock
//! on the file and refuses a journal that is already open ([`JournalError::InUse`]).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::record::{HashFunction, TokenSeed};

/// The journal format version written in the header line.
pub const JOURNAL_VERSION: u32 = 1;
const FORMAT_NAME: &str = "safeid-journal";

/// What was written to a token before a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Written {
    /// Nothing: the token is as it was.
    Nothing,
    /// The configuration only, not the seed (a restricted token has lost its old seed).
    Config,
    /// The seed may be on the token.
    Seed,
    /// Not known (e.g. the reader was pulled in the middle of a write).
    Unknown,
}

/// Where a serial stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Planned, not (yet) marked: uncertain.
    Planned,
    /// Written to the token.
    Burned,
    /// Written and confirmed by a code, `offset` time steps from the expected one.
    Verified {
        /// Clock offset in time steps.
        offset: i64,
    },
    /// Failed; uncertain when `written` is `Seed` or `Unknown`.
    Failed {
        /// Why (as the caller said).
        reason: String,
        /// What had been written.
        written: Written,
    },
}

impl Status {
    fn name(&self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Burned => "burned",
            Self::Verified { .. } => "verified",
            Self::Failed { .. } => "failed",
        }
    }
}

/// One serial's seed and status.
#[derive(Clone, Debug)]
pub struct SerialState {
    /// The seed of the latest plan.
    pub seed: TokenSeed,
    /// Where it stands.
    pub status: Status,
    /// Seeds of earlier, superseded plans for this serial, oldest first.
    pub history: Vec<TokenSeed>,
}

impl SerialState {
    /// True when the token may or may not hold [`SerialState::seed`].
    pub fn is_uncertain(&self) -> bool {
        match &self.status {
            Status::Planned => true,
            Status::Failed { written, .. } => matches!(written, Written::Seed | Written::Unknown),
            Status::Burned | Status::Verified { .. } => false,
        }
    }

    /// True when the seed was written (burned or verified).
    pub fn is_done(&self) -> bool {
        matches!(self.status, Status::Burned | Status::Verified { .. })
    }
}

/// Every serial in the journal, in the order first planned.
#[derive(Clone, Debug, Default)]
pub struct JournalState {
    serials: Vec<SerialState>,
    index: HashMap<String, usize>,
}

/// Something odd found while replaying a journal (never contains secrets).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Anomaly {
    /// A complete line that is not a readable entry.
    #[error("line {0}: unreadable entry (skipped)")]
    Unreadable(usize),
    /// A mark for a serial never planned, or in a state the mark cannot follow.
    #[error("line {line}: {event} for serial {serial}, which was {state} (skipped)")]
    OutOfOrder {
        /// Line number.
        line: usize,
        /// The entry's event.
        event: &'static str,
        /// The serial.
        serial: String,
        /// The serial's state then (`unknown` if never planned).
        state: &'static str,
    },
    /// A plan with a different seed while an earlier plan was unresolved: the token may
    /// hold either seed (both are kept).
    #[error(
        "line {line}: serial {serial} planned with a different seed while its earlier plan was unresolved"
    )]
    ConflictingPlan {
        /// Line number.
        line: usize,
        /// The serial.
        serial: String,
    },
}

/// What happened when a journal was opened.
#[derive(Clone, Debug, Default)]
pub struct Recovery {
    /// The file did not exist and was created.
    pub created: bool,
    /// Entries replayed (header excluded).
    pub entries: usize,
    /// A torn last line: its byte offset, length, and whether it was kept (a complete entry
    /// that only lost its newline) or cut off.
    pub torn_tail: Option<TornTail>,
    /// Oddities, in line order.
    pub anomalies: Vec<Anomaly>,
    /// The file's previous permission bits when they were wider than 0600 (now tightened).
    pub mode_tightened: Option<u32>,
    /// Serials whose state is uncertain (see the module rules), in plan order.
    pub uncertain: Vec<String>,
    /// Serials already burned or verified, in plan order.
    pub done: Vec<String>,
}

/// A torn last line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Byte offset where the line starts.
    pub offset: u64,
    /// Its length in bytes.
    pub len: usize,
    /// True when it was a complete entry and was kept.
    pub kept: bool,
}

/// Journal failures.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Reading, writing or flushing the file failed.
    #[error("journal I/O failed: {0}")]
    Io(#[from] io::Error),
    /// The file exists but does not start with a journal header.
    #[error("{0} is not a safeid journal (no header line)")]
    NotAJournal(PathBuf),
    /// A journal of a newer format.
    #[error(
        "journal format version {0} is not supported (this build reads version {JOURNAL_VERSION})"
    )]
    UnsupportedVersion(u32),
    /// A different seed for a serial whose earlier plan is unresolved.
    #[error(
        "serial {0} already has an unresolved plan with another seed; re-burn that seed or mark it failed first"
    )]
    Conflict(String),
    /// A mark that does not follow the serial's state.
    #[error("cannot mark serial {serial} {wanted}: it is {state}")]
    WrongState {
        /// The serial.
        serial: String,
        /// The mark asked for.
        wanted: &'static str,
        /// The serial's state (`unknown` if never planned).
        state: &'static str,
    },
    /// A serial that cannot be journaled (empty, too long, control characters).
    #[error("serial {0:?} is not usable: {1}")]
    InvalidSerial(String, crate::sources::ProblemKind),
    /// Another process (or another `Journal` in this one) has the journal open.
    #[error("the journal is in use by another safeid process: one batch per journal")]
    InUse,
    /// An earlier append failed; the file may end in a partial line. Reopen the journal.
    #[error("an earlier journal write failed; reopen the journal to recover")]
    Poisoned,
}

/// Journal options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalOptions {
    /// Flush every append to disk (`fdatasync`). On by default; off only for benchmarks.
    pub fsync: bool,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self { fsync: true }
    }
}

/// One journal line as stored.
#[derive(Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Line {
    Journal {
        format: String,
        version: u32,
        time: u64,
    },
    Planned {
        serial: String,
        seed: SeedText,
        hash: String,
        period: u32,
        digits: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        manufacturer: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upn: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        time: u64,
    },
    Burned {
        serial: String,
        time: u64,
    },
    Verified {
        serial: String,
        time: u64,
        offset: i64,
    },
    Failed {
        serial: String,
        time: u64,
        reason: String,
        written: Written,
    },
}

/// A base32 seed inside a journal line, wiped when dropped.
struct SeedText(Zeroizing<String>);

impl Serialize for SeedText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SeedText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(Zeroizing::new(s)))
    }
}

/// The decoded form of an entry line.
enum Entry {
    Planned(TokenSeed),
    Burned(String),
    Verified(String, i64),
    Failed(String, String, Written),
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn decode_line(text: &str) -> Option<Line> {
    serde_json::from_str(text).ok()
}

fn entry_of(line: Line) -> Option<Entry> {
    Some(match line {
        Line::Journal { .. } => return None,
        Line::Planned {
            serial,
            seed,
            hash,
            period,
            digits,
            manufacturer,
            model,
            upn,
            display_name,
            ..
        } => {
            let mut s = TokenSeed::new(serial, safeid_otpauth::decode_base32(&seed.0).ok()?);
            s.hash = HashFunction::parse(&hash)?;
            (
                s.period,
                s.digits,
                s.manufacturer,
                s.model,
                s.upn,
                s.display_name,
            ) = (period, digits, manufacturer, model, upn, display_name);
            Entry::Planned(s)
        }
        Line::Burned { serial, .. } => Entry::Burned(serial),
        Line::Verified { serial, offset, .. } => Entry::Verified(serial, offset),
        Line::Failed {
            serial,
            reason,
            written,
            ..
        } => Entry::Failed(serial, reason, written),
    })
}

impl JournalState {
    /// Replays a journal file without changing it (for exports after the fact).
    pub fn load(path: &Path) -> Result<(JournalState, Recovery), JournalError> {
        let mut bytes = Zeroizing::new(Vec::new());
        File::open(path)?.read_to_end(&mut bytes)?;
        let (state, recovery, _) = replay(&bytes, path)?;
        Ok((state, recovery))
    }

    /// The state of one serial.
    pub fn get(&self, serial: &str) -> Option<&SerialState> {
        self.index.get(serial).map(|&i| &self.serials[i])
    }

    /// Every serial, in the order first planned.
    pub fn iter(&self) -> impl Iterator<Item = &SerialState> {
        self.serials.iter()
    }

    /// Serials already burned or verified (`--resume` skips them).
    pub fn done_serials(&self) -> impl Iterator<Item = &str> {
        self.serials
            .iter()
            .filter(|s| s.is_done())
            .map(|s| s.seed.serial.as_str())
    }

    /// Serials whose state is uncertain, for the resume report.
    pub fn uncertain(&self) -> impl Iterator<Item = &SerialState> {
        self.serials.iter().filter(|s| s.is_uncertain())
    }

    /// The seed to burn again when this serial's token is presented on resume: the kept seed
    /// of an uncertain serial (re-burning it is always safe), `None` otherwise.
    pub fn resume_seed(&self, serial: &str) -> Option<&TokenSeed> {
        self.get(serial)
            .filter(|s| s.is_uncertain())
            .map(|s| &s.seed)
    }

    /// Records of the tokens burned or verified, in plan order (for exports).
    pub fn records(&self) -> Vec<TokenSeed> {
        self.serials
            .iter()
            .filter(|s| s.is_done())
            .map(|s| s.seed.clone())
            .collect()
    }

    /// The current seed of every serial, uncertain ones included, in plan order.
    pub fn all_records(&self) -> Vec<TokenSeed> {
        self.serials.iter().map(|s| s.seed.clone()).collect()
    }

    fn state_name(&self, serial: &str) -> &'static str {
        self.get(serial).map_or("unknown", |s| s.status.name())
    }

    /// Checks an entry against the rules; `Err` says why it cannot apply.
    fn check(&self, entry: &Entry) -> Result<(), JournalError> {
        let wrong = |serial: &str, wanted| JournalError::WrongState {
            serial: serial.to_owned(),
            wanted,
            state: self.state_name(serial),
        };
        match entry {
            Entry::Planned(seed) => match self.get(&seed.serial) {
                Some(s) if s.status == Status::Planned && !s.seed.same_seed(seed) => {
                    Err(JournalError::Conflict(seed.serial.clone()))
                }
                _ => Ok(()),
            },
            Entry::Burned(serial) => match self.get(serial).map(|s| &s.status) {
                Some(Status::Planned) => Ok(()),
                _ => Err(wrong(serial, "burned")),
            },
            Entry::Verified(serial, _) => match self.get(serial).map(|s| &s.status) {
                Some(Status::Burned | Status::Verified { .. }) => Ok(()),
                _ => Err(wrong(serial, "verified")),
            },
            Entry::Failed(serial, ..) => match self.get(serial) {
                Some(_) => Ok(()),
                None => Err(wrong(serial, "failed")),
            },
        }
    }

    /// Applies a checked entry (or, on replay, a conflicting plan: both seeds are kept).
    fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Planned(seed) => match self.index.get(&seed.serial) {
                Some(&i) => {
                    let s = &mut self.serials[i];
                    if !s.seed.same_seed(&seed) {
                        let old = std::mem::replace(&mut s.seed, seed);
                        s.history.push(old);
                    } else {
                        s.seed = seed;
                    }
                    s.status = Status::Planned;
                }
                None => {
                    self.index.insert(seed.serial.clone(), self.serials.len());
                    self.serials.push(SerialState {
                        seed,
                        status: Status::Planned,
                        history: Vec::new(),
                    });
                }
            },
            Entry::Burned(serial) => self.set(&serial, Status::Burned),
            Entry::Verified(serial, offset) => self.set(&serial, Status::Verified { offset }),
            Entry::Failed(serial, reason, written) => {
                self.set(&serial, Status::Failed { reason, written })
            }
        }
    }

    fn set(&mut self, serial: &str, status: Status) {
        if let Some(&i) = self.index.get(serial) {
            self.serials[i].status = status;
        }
    }
}

/// Replays journal bytes. Returns the state, the report, and the length of the valid
/// prefix that ends in a newline (plus whether a kept torn tail needs its newline).
fn replay(
    bytes: &[u8],
    path: &Path,
) -> Result<(JournalState, Recovery, (u64, bool)), JournalError> {
    let mut state = JournalState::default();
    let mut rec = Recovery::default();
    let mut pos = 0usize;
    let mut line_no = 0usize;
    let mut valid_end = (0u64, false);
    while pos < bytes.len() {
        line_no += 1;
        let (text, complete, next) = match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(n) => (&bytes[pos..pos + n], true, pos + n + 1),
            None => (&bytes[pos..], false, bytes.len()),
        };
        let line = std::str::from_utf8(text).ok().and_then(decode_line);
        if !complete {
            rec.torn_tail = Some(TornTail {
                offset: pos as u64,
                len: text.len(),
                kept: line.is_some(),
            });
        }
        if line_no == 1 {
            match line {
                Some(Line::Journal {
                    format, version, ..
                }) if format == FORMAT_NAME => {
                    if version > JOURNAL_VERSION {
                        return Err(JournalError::UnsupportedVersion(version));
                    }
                }
                // A torn header: the file was being created; it holds nothing yet.
                _ if !complete => {
                    rec.torn_tail = Some(TornTail {
                        offset: 0,
                        len: text.len(),
                        kept: false,
                    });
                    break;
                }
                _ => return Err(JournalError::NotAJournal(path.to_path_buf())),
            }
        } else if line.is_some() || complete {
            match line.and_then(entry_of) {
                Some(entry) => {
                    rec.entries += 1;
                    match state.check(&entry) {
                        Ok(()) => state.apply(entry),
                        Err(JournalError::Conflict(serial)) => {
                            rec.anomalies.push(Anomaly::ConflictingPlan {
                                line: line_no,
                                serial,
                            });
                            state.apply(entry);
                        }
                        Err(JournalError::WrongState {
                            serial,
                            wanted,
                            state: st,
                        }) => {
                            rec.anomalies.push(Anomaly::OutOfOrder {
                                line: line_no,
                                event: wanted,
                                serial,
                                state: st,
                            });
                        }
                        Err(_) => rec.anomalies.push(Anomaly::Unreadable(line_no)),
                    }
                }
                None => rec.anomalies.push(Anomaly::Unreadable(line_no)),
            }
        }
        if complete {
            valid_end = (next as u64, false);
        } else if rec.torn_tail.is_some_and(|t| t.kept) {
            valid_end = (bytes.len() as u64, true);
        }
        pos = next;
    }
    rec.uncertain = state.uncertain().map(|s| s.seed.serial.clone()).collect();
    rec.done = state.done_serials().map(str::to_owned).collect();
    Ok((state, rec, valid_end))
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    options: JournalOptions,
    state: JournalState,
    poisoned: bool,
}

impl Journal {
    /// Opens (or creates, mode 0600) the journal at `path` with fsync on, replays it and
    /// repairs a torn last line (module rules).
    pub fn open(path: &Path) -> Result<(Journal, Recovery), JournalError> {
        Self::open_with(path, JournalOptions::default())
    }

    /// [`Journal::open`] with options.
    pub fn open_with(
        path: &Path,
        options: JournalOptions,
    ) -> Result<(Journal, Recovery), JournalError> {
        let mut created = false;
        match crate::export::open_new_secret(path) {
            Ok(file) => {
                drop(file);
                if options.fsync {
                    crate::export::sync_parent(path)?;
                }
                created = true;
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        let mut file = OpenOptions::new().read(true).append(true).open(path)?;
        // One writer per journal: a second batch on the same file could plan a serial
        // twice. The lock is advisory and released when the file is closed.
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(JournalError::InUse),
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        let mode_tightened = tighten_mode(&file)?;
        let mut bytes = Zeroizing::new(Vec::new());
        file.read_to_end(&mut bytes)?;
        let (state, mut rec, (valid_len, add_newline)) = replay(&bytes, path)?;
        rec.created = created;
        rec.mode_tightened = mode_tightened;
        if valid_len < bytes.len() as u64 {
            file.set_len(valid_len)?;
        }
        let mut journal = Journal {
            file,
            path: path.to_path_buf(),
            options,
            state,
            poisoned: false,
        };
        if add_newline {
            journal.append_raw(b"\n")?;
        }
        if valid_len == 0 {
            let header = Line::Journal {
                format: FORMAT_NAME.into(),
                version: JOURNAL_VERSION,
                time: now(),
            };
            journal.append_line(&header)?;
        } else if valid_len < bytes.len() as u64 && options.fsync {
            journal.file.sync_all()?;
        }
        Ok((journal, rec))
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The replayed state plus everything appended since.
    pub fn state(&self) -> &JournalState {
        &self.state
    }

    /// Records the seed about to be written to a token. Call it, and let it return `Ok`,
    /// before anything is written to the token.
    pub fn plan(&mut self, seed: &TokenSeed) -> Result<(), JournalError> {
        crate::sources::check_serial(&seed.serial).map_err(|kind| {
            JournalError::InvalidSerial(seed.serial.escape_debug().to_string(), kind)
        })?;
        let line = Line::Planned {
            serial: seed.serial.clone(),
            seed: SeedText(Zeroizing::new(safeid_otpauth::encode_base32(
                seed.secret.expose(),
            ))),
            hash: seed.hash.name().into(),
            period: seed.period,
            digits: seed.digits,
            manufacturer: seed.manufacturer.clone(),
            model: seed.model.clone(),
            upn: seed.upn.clone(),
            display_name: seed.display_name.clone(),
            time: now(),
        };
        self.commit(line, Entry::Planned(seed.clone()))
    }

    /// Marks a planned serial as written to its token.
    pub fn mark_burned(&mut self, serial: &str) -> Result<(), JournalError> {
        let line = Line::Burned {
            serial: serial.into(),
            time: now(),
        };
        self.commit(line, Entry::Burned(serial.into()))
    }

    /// Marks a burned serial as verified by a code, `offset` time steps from the expected.
    pub fn mark_verified(&mut self, serial: &str, offset: i64) -> Result<(), JournalError> {
        let line = Line::Verified {
            serial: serial.into(),
            time: now(),
            offset,
        };
        self.commit(line, Entry::Verified(serial.into(), offset))
    }

    /// Marks a serial as failed, saying what had been written to the token.
    pub fn mark_failed(
        &mut self,
        serial: &str,
        reason: &str,
        written: Written,
    ) -> Result<(), JournalError> {
        let line = Line::Failed {
            serial: serial.into(),
            time: now(),
            reason: reason.into(),
            written,
        };
        self.commit(line, Entry::Failed(serial.into(), reason.into(), written))
    }

    fn commit(&mut self, line: Line, entry: Entry) -> Result<(), JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        self.state.check(&entry)?;
        self.append_line(&line)?;
        self.state.apply(entry);
        Ok(())
    }

    fn append_line(&mut self, line: &Line) -> Result<(), JournalError> {
        // Sized up front so that the buffer holding the seed never reallocates.
        let mut buf = Zeroizing::new(Vec::with_capacity(2048));
        serde_json::to_writer(&mut *buf, line).map_err(io::Error::other)?;
        buf.push(b'\n');
        self.append_raw(&buf)
    }

    fn append_raw(&mut self, bytes: &[u8]) -> Result<(), JournalError> {
        let result = self.file.write_all(bytes).and_then(|()| {
            if self.options.fsync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if result.is_err() {
            self.poisoned = true;
        }
        Ok(result?)
    }
}

/// Tightens permissions wider than 0600; returns the old bits when it did.
fn tighten_mode(file: &File) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(crate::export::SECRET_FILE_MODE))?;
            return Ok(Some(mode));
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(None)
}
