//! The batch journal: an append-only, fsync'd record of which seed went to which serial, so
//! that no seed is ever lost and none is ever attributed to the wrong token.
//!
//! **An unsealed journal holds every seed in clear (base32). It is created with mode 0600
//! (an existing one with wider permissions is tightened and reported); keep it like a key
//! file and destroy it when the tokens are registered.**
//!
//! Format: JSON lines. The first line is a header
//! `{"event":"journal","format":"safeid-journal","version":2,"time":...}`; then one entry
//! per line, each written whole with one `write` and flushed with `fdatasync` before the call
//! returns (unless fsync is switched off in [`JournalOptions`], for benchmarks):
//!
//! - `planned`: serial, seed (base32), hash, period, digits, optional manufacturer, model,
//!   upn, display_name, time. Appended *before* anything is written to the token.
//! - `burned`: serial, time. After the config and seed writes succeeded.
//! - `verified`: serial, time, offset (time steps). After the user confirmed a code.
//! - `failed`: serial, time, reason, written: what that attempt wrote, as
//!   `{"config": ..., "seed": ..., "restricted": ...}` with each of `not_written`,
//!   `written`, `uncertain` (version 1 journals stored one word, `nothing`, `config`,
//!   `seed` or `unknown`; they are still read).
//!
//! - `enrolled`: serial, time, target (`privacyidea=URL`), outcome (`enrolled` or
//!   `already_enrolled`). After the server took the token (direct enrollment).
//! - `enroll_failed`: serial, time, target, reason, retryable. The token stays done; a
//!   resume enrolls it.
//!
//! # Sealed journals
//!
//! Opened with a [`JournalSeal`] ([`Journal::open_sealed`]), a journal holds no seed in
//! clear: its header (version [`SEALED_JOURNAL_VERSION`]) carries a `seal` object (KDF
//! `pbkdf2-hmac-sha256`, iterations, salt, a check value, cipher `aes-256-gcm`), and every
//! `planned` line carries `sealed` (base64 of nonce, ciphertext and tag, the serial and the
//! TOTP parameters bound as additional data) instead of `seed`. Reading one needs the
//! passphrase ([`JournalState::load_with`]); a wrong one is [`JournalError::WrongPassphrase`],
//! told apart from damage by the header's check value before any line is read. A sealed
//! value moved to another line or edited does not open, and the line is reported as an
//! anomaly like any unreadable line. Direct enrollment requires a sealed journal.
//!
//! Rules (replay and the API apply the same ones):
//! - A serial is *uncertain* when its token may or may not hold its recorded seed: its last
//!   plan has no outcome, or a failure may have left the seed on the token. Uncertainty is
//!   sticky: a later attempt that fails before writing anything proves nothing, so the
//!   serial stays uncertain. Only a successful burn (or a confirmed config write that blanked
//!   a restricted token) ends it.
//! - Planning a serial again with the same seed is always allowed (a retry). Planning it
//!   with a different seed is refused while it is uncertain; otherwise the new plan
//!   supersedes the old one (the old seed stays in the state's history, and counts as given
//!   to that serial: [`JournalState::holder_of`]).
//! - A torn last line (a crash in the middle of an append) is reported at open: if it is a
//!   complete entry that only lost its newline it is kept, otherwise it is cut off. Its
//!   append never returned, so no token was written on its strength.
//! - Lines that cannot be read, and marks for unknown serials, are reported as anomalies
//!   (with line numbers, never contents) and skipped; they do not stop the batch.
//!
//! Opening refuses a symbolic link, a file that is not a journal (left untouched: no
//! permission change, no truncation) and a file over [`MAX_JOURNAL_BYTES`]; an existing
//! empty file is taken over and [`Recovery::adopted_empty`] says so. One process at a time
//! may append to a journal: [`Journal::open`] takes an advisory lock on the file and refuses
//! a journal that is already open ([`JournalError::InUse`]).

mod line;
mod replay;
mod seal;
mod state;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use thiserror::Error;
use zeroize::Zeroizing;

pub use seal::{DEFAULT_SEAL_ITERATIONS, JournalSeal, MAX_SEAL_ITERATIONS, MIN_SEAL_ITERATIONS};
pub use state::{JournalState, SerialState, Status};

use crate::enroll::EnrollOutcome;
use crate::error::WriteState;
use crate::record::TokenSeed;
use line::{Entry, Line, planned_line};
use replay::Header;
use safeid_secret::SecretString;
use seal::SealKey;

/// The format version written in the header line of an unsealed journal (version 1 is
/// still read).
pub const JOURNAL_VERSION: u32 = 2;
/// The format version written in the header line of a sealed journal (builds that read
/// only up to version 2 refuse it rather than misread its sealed plans).
pub const SEALED_JOURNAL_VERSION: u32 = 3;
const FORMAT_NAME: &str = "safeid-journal";

/// The largest journal read (64 MiB, about 200,000 tokens): a larger file is refused
/// before it is read into memory.
pub const MAX_JOURNAL_BYTES: u64 = 64 << 20;

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
    /// The file existed but was empty; it was taken over as a new journal.
    pub adopted_empty: bool,
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
    /// The journal is sealed (its seeds are encrypted; see the module documentation).
    pub sealed: bool,
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
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The file exists but does not start with a journal header.
    #[error("{0} is not a safeid journal (no header line)")]
    NotAJournal(PathBuf),
    /// A journal of a newer format.
    #[error(
        "journal format version {0} is not supported (this build reads versions 1 to {SEALED_JOURNAL_VERSION})"
    )]
    UnsupportedVersion(u32),
    /// A sealed journal opened without its passphrase.
    #[error("the journal {0} is sealed (its seeds are encrypted): give its passphrase")]
    Sealed(PathBuf),
    /// The passphrase does not open this sealed journal.
    #[error("wrong passphrase for the sealed journal {0}: nothing was read or changed")]
    WrongPassphrase(PathBuf),
    /// A sealed journal was asked for, and this existing journal holds its seeds in clear.
    #[error(
        "the journal {0} holds its seeds in clear; a sealed journal (as enrollment needs) must be a new file"
    )]
    NotSealed(PathBuf),
    /// The seal of a journal header cannot be used (unknown method, parameters out of
    /// range), or a seal was asked for with unusable parameters.
    #[error("journal seal: {0}")]
    BadSeal(String),
    /// The operating system's random generator failed (salt or nonce).
    #[error("no random numbers for the journal seal: {0}")]
    Random(String),
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
    /// The path is a symbolic link: a journal is opened only as a regular file.
    #[error("{0} is a symbolic link: give the journal's real path")]
    Symlink(PathBuf),
    /// The path is a directory or another kind of non-regular file.
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
    /// The file is larger than [`MAX_JOURNAL_BYTES`].
    #[error("{path} is {len} bytes, larger than the {MAX_JOURNAL_BYTES} bytes a journal may hold")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
}

impl JournalError {
    /// A stable name for the kind of error (`journal`): what the CLI's JSON errors and the
    /// desk app both report.
    pub fn kind(&self) -> &'static str {
        "journal"
    }
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

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    options: JournalOptions,
    state: JournalState,
    poisoned: bool,
    seal: Option<SealKey>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl JournalState {
    /// Replays a journal file without changing it (for exports after the fact).
    pub fn load(path: &Path) -> Result<(JournalState, Recovery), JournalError> {
        Self::load_with(path, None)
    }

    /// [`JournalState::load`] of a journal that may be sealed: `passphrase` opens a sealed
    /// one (a wrong one is [`JournalError::WrongPassphrase`]) and is not needed for an
    /// unsealed one.
    pub fn load_with(
        path: &Path,
        passphrase: Option<&SecretString>,
    ) -> Result<(JournalState, Recovery), JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let bytes = read_bounded(&mut file, path)?;
        let r = replay::replay(&bytes, path, passphrase)?;
        Ok((r.state, r.recovery))
    }

    /// Replays journal bytes held in memory (the fuzz target and tests use it). `name`
    /// appears in errors.
    pub fn from_bytes(bytes: &[u8], name: &Path) -> Result<(JournalState, Recovery), JournalError> {
        Self::from_bytes_with(bytes, name, None)
    }

    /// [`JournalState::from_bytes`] of a journal that may be sealed (see
    /// [`JournalState::load_with`]).
    pub fn from_bytes_with(
        bytes: &[u8],
        name: &Path,
        passphrase: Option<&SecretString>,
    ) -> Result<(JournalState, Recovery), JournalError> {
        if bytes.len() as u64 > MAX_JOURNAL_BYTES {
            return Err(JournalError::TooLarge {
                path: name.to_path_buf(),
                len: bytes.len() as u64,
            });
        }
        let r = replay::replay(bytes, name, passphrase)?;
        Ok((r.state, r.recovery))
    }
}

/// Reads a whole journal, refusing one over [`MAX_JOURNAL_BYTES`] before reading it.
fn read_bounded(file: &mut File, path: &Path) -> Result<Zeroizing<Vec<u8>>, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_JOURNAL_BYTES {
        return Err(JournalError::TooLarge {
            path: path.to_path_buf(),
            len,
        });
    }
    // Sized up front so that the buffer holding seeds never reallocates unwiped copies.
    let mut bytes = Zeroizing::new(Vec::with_capacity(len as usize + 1));
    file.take(MAX_JOURNAL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_JOURNAL_BYTES {
        return Err(JournalError::TooLarge {
            path: path.to_path_buf(),
            len: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

/// Opens `path` for appending: creates it (mode 0600) when missing; refuses a symbolic
/// link or a non-regular file. Returns the file and whether it was created.
fn open_regular(path: &Path, fsync: bool) -> Result<(File, bool), JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let before = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(JournalError::Symlink(path.to_path_buf()));
        }
        Ok(m) if !m.is_file() => return Err(JournalError::NotAFile(path.to_path_buf())),
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(e)),
    };
    let created = before.is_none();
    if created {
        match crate::export::open_new_secret(path) {
            Ok(file) => drop(file),
            Err(e) => return Err(io(e)),
        }
        if fsync {
            crate::export::sync_parent(path).map_err(io)?;
        }
    }
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    // The file opened must be the one inspected (not a link swapped in meanwhile).
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata().map_err(io)?;
        let now = fs::symlink_metadata(path).map_err(io)?;
        if now.file_type().is_symlink() || (opened.dev(), opened.ino()) != (now.dev(), now.ino()) {
            return Err(JournalError::Symlink(path.to_path_buf()));
        }
    }
    Ok((file, created))
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
        Self::open_sealed(path, options, None)
    }

    /// [`Journal::open_with`], sealed when `seal` is given: a new (or empty) journal is
    /// created sealed with it, an existing sealed journal is opened with its passphrase
    /// (a wrong one is [`JournalError::WrongPassphrase`], and the file is left as it is),
    /// and an existing unsealed journal is refused ([`JournalError::NotSealed`]). Without
    /// `seal`, a sealed journal is refused ([`JournalError::Sealed`]).
    pub fn open_sealed(
        path: &Path,
        options: JournalOptions,
        seal: Option<&JournalSeal>,
    ) -> Result<(Journal, Recovery), JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        };
        let (mut file, created) = open_regular(path, options.fsync)?;
        // One writer per journal: a second batch on the same file could plan a serial
        // twice. The lock is advisory and released when the file is closed.
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(JournalError::InUse),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let bytes = read_bounded(&mut file, path)?;
        // Replayed before anything is changed: a file that is not a journal (or a sealed
        // one with a wrong passphrase) is left as it is.
        let replay::Replayed {
            state,
            recovery: mut rec,
            end,
            header,
        } = replay::replay(&bytes, path, seal.map(|s| &s.passphrase))?;
        let key = match header {
            Header::Plain if seal.is_some() && end.len > 0 => {
                return Err(JournalError::NotSealed(path.to_path_buf()));
            }
            Header::Sealed(key) if end.len > 0 => Some(key),
            _ => None,
        };
        // A new header (and, sealed, a new salt) when the file holds none yet.
        let new_seal = match seal {
            Some(seal) if end.len == 0 => Some(SealKey::create(seal)?),
            _ => None,
        };
        rec.created = created;
        rec.adopted_empty = !created && bytes.is_empty();
        rec.mode_tightened = tighten_mode(&file).map_err(io)?;
        if end.len < bytes.len() as u64 {
            file.set_len(end.len).map_err(io)?;
        }
        let (seal_key, seal_header) = match new_seal {
            Some((key, header)) => (Some(key), Some(header)),
            None => (key, None),
        };
        let mut journal = Journal {
            file,
            path: path.to_path_buf(),
            options,
            state,
            poisoned: false,
            seal: seal_key,
        };
        if end.add_newline {
            journal.append_raw(b"\n")?;
        }
        if end.len == 0 {
            let header = Line::Journal {
                format: FORMAT_NAME.into(),
                version: if seal_header.is_some() {
                    SEALED_JOURNAL_VERSION
                } else {
                    JOURNAL_VERSION
                },
                time: now(),
                seal: seal_header,
            };
            journal.append_line(&header)?;
        } else if end.len < bytes.len() as u64 && options.fsync {
            journal.file.sync_all().map_err(io)?;
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

    /// True when this journal's seeds are sealed (no seed is written in clear).
    pub fn is_sealed(&self) -> bool {
        self.seal.is_some()
    }

    /// Records the seed about to be written to a token. Call it, and let it return `Ok`,
    /// before anything is written to the token.
    pub fn plan(&mut self, seed: &TokenSeed) -> Result<(), JournalError> {
        crate::sources::check_serial(&seed.serial).map_err(|kind| {
            JournalError::InvalidSerial(seed.serial.escape_debug().to_string(), kind)
        })?;
        let line = planned_line(seed, now(), self.seal.as_ref())?;
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

    /// Marks a serial's latest attempt as failed, saying what it had written.
    pub fn mark_failed(
        &mut self,
        serial: &str,
        reason: &str,
        written: WriteState,
    ) -> Result<(), JournalError> {
        let line = Line::Failed {
            serial: serial.into(),
            time: now(),
            reason: reason.into(),
            written: line::StoredWrite::State(written),
        };
        self.commit(line, Entry::Failed(serial.into(), reason.into(), written))
    }

    /// Records that `target` (an [`Enroller::target`](crate::enroll::Enroller::target))
    /// now holds the seed of a burned or verified serial: registered now, or found
    /// registered with this seed.
    pub fn mark_enrolled(
        &mut self,
        serial: &str,
        target: &str,
        outcome: EnrollOutcome,
    ) -> Result<(), JournalError> {
        let line = Line::Enrolled {
            serial: serial.into(),
            time: now(),
            target: target.into(),
            outcome: outcome.into(),
        };
        self.commit(line, Entry::Enrolled(serial.into(), target.into()))
    }

    /// Records that enrolling a burned or verified serial into `target` failed (the token
    /// keeps its seed; a resume tries again).
    pub fn mark_enroll_failed(
        &mut self,
        serial: &str,
        target: &str,
        reason: &str,
        retryable: bool,
    ) -> Result<(), JournalError> {
        let line = Line::EnrollFailed {
            serial: serial.into(),
            time: now(),
            target: target.into(),
            reason: reason.into(),
            retryable,
        };
        self.commit(line, Entry::EnrollFailed(serial.into(), reason.into()))
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
        serde_json::to_writer(&mut *buf, line).map_err(|e| JournalError::Io {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
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
        result.map_err(|source| JournalError::Io {
            path: self.path.clone(),
            source,
        })
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
