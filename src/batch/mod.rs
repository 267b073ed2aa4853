//! Batch provisioning: many tokens, one worker per station (reader), one journal.
//!
//! The workflow, in the order it runs:
//!
//! 1. [`prepare`] checks everything before the journal is created or a token is touched:
//!    the journal path (a new file, or an existing journal when resuming), every seed the
//!    source can give (lengths, algorithm, period, digits), and whether every requested
//!    export can carry those parameters and can be written where asked.
//! 2. [`PreparedBatch::run`] opens the journal and runs one worker per [`Station`]. For
//!    every token placed: read its serial; skip it if the journal says it is done; pick its
//!    seed (the assignment rules: a serial keeps the seed the journal gave it, an uncertain
//!    token is only ever re-burned with its recorded seed, and a seed given to one serial
//!    is never handed to another); append the plan to the journal and fsync it *before* any
//!    write; burn with the serial pinned; mark the entry burned or failed.
//! 3. A [`Cancel`] handle stops the batch between tokens: the token being burned finishes
//!    and its journal entry says exactly how; then the exports are written and the report
//!    says whether (and why) a resume is needed.
//!
//! Whatever happens, no seed is written to a token without first being on disk.
//!
//! # Direct enrollment
//!
//! With [`BatchConfig::enroller`] every token is registered with the server right after
//! its burn is journaled, and the journal records each enrollment (`enrolled`, or
//! `enroll_failed` with the reason). The journal must then be sealed
//! ([`BatchConfig::journal_seal`]: no seed in clear anywhere; [`BatchError::EnrollNeedsSeal`]
//! otherwise), and [`prepare`] checks the server once ([`Enroller::check`]) before
//! anything is burned. The rules:
//!
//! - A failed enrollment never un-burns a token: the token stays done, the failure is
//!   recorded and counted ([`BatchSummary::enroll_failed`], [`BatchSummary::not_enrolled`]),
//!   and [`BatchSummary::resume_needed`] is true. The batch goes on with the next token,
//!   unless [`OnError::Stop`] is set or the server refuses every token (credentials, TLS,
//!   configuration, an unexpected answer).
//! - At the start of every run, the journal's done serials that the target does not hold
//!   yet are enrolled first, without touching any token (each is reported as a
//!   [`BatchEvent::Finished`] from the station [`ENROLLMENT_STATION`], outcome
//!   [`TokenOutcome::AlreadyDone`]). This catch-up stops at the first error that says the
//!   server cannot be reached. A done, not enrolled token placed again is enrolled too.
//! - Nothing is enrolled twice: the journal skips serials it has enrolled in this target
//!   (for their current seed), and [`Enroller::enroll`] asks the server first, so a token
//!   the server stored just before a crash (or whose reply was lost) is found, not sent
//!   again, and a serial the server holds otherwise is a conflict that is reported and left
//!   alone.

mod assign;
mod engine;
mod preflight;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use safeid_otpauth::Credential;
use safeid_proto::HmacAlgorithm;
use safeid_transport::Station;
use thiserror::Error;

use crate::enroll::{EnrollError, EnrollOutcome, Enroller};
use crate::error::{Hint, SessionError};
use crate::export::{ExportError, ExportOptions, Format};
use crate::journal::{JournalError, JournalOptions, JournalSeal, JournalState, Recovery};
use crate::plan::{PlanError, PlanOptions};
use crate::report::BurnReport;
use crate::sources::{SeedFile, SourceError};
use crate::token::{PrepareError, Provisioner};

pub use engine::write_export;
pub use preflight::{check_export, check_export_targets, prepare};

/// Where the seeds of a batch come from.
pub enum BatchSeeds {
    /// A seed file: each token gets the row of its own serial, or nothing.
    File(SeedFile),
    /// A fresh random seed per token.
    Random {
        /// Seed length in bytes (1..=63; under 16 needs the short-seed risk accepted).
        bytes: usize,
        /// Hash function to configure.
        hash: HmacAlgorithm,
        /// Time step to configure (30 or 60).
        period: u32,
    },
    /// One credential per token, in order; a credential the journal already gave to a
    /// serial is never given to another.
    Credentials(Vec<Credential>),
}

/// What to do when a token fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Record it and go on with the next token.
    #[default]
    Skip,
    /// Stop every station after the current token.
    Stop,
}

/// Where a batch writes an export when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportKind {
    /// A text format, to one file.
    File(Format),
    /// One QR code PNG per token, into a directory.
    QrPngs,
}

impl ExportKind {
    /// The format's name (`entra`, `pskc`..., `qr`).
    pub fn name(&self) -> &'static str {
        match self {
            ExportKind::File(f) => f.name(),
            ExportKind::QrPngs => "qr",
        }
    }

    /// The export named `name` (any text format's name, or `qr`).
    pub fn from_name(name: &str) -> Option<Self> {
        if name.trim().eq_ignore_ascii_case("qr") {
            return Some(ExportKind::QrPngs);
        }
        Format::from_name(name).map(ExportKind::File)
    }

    /// Every name [`ExportKind::from_name`] takes.
    pub fn names() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Format::ALL.iter().map(|f| f.name()).collect();
        names.push("qr");
        names
    }
}

/// One export to write at the end of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTarget {
    /// The format.
    pub kind: ExportKind,
    /// The file (or, for QR codes, the directory).
    pub path: PathBuf,
}

/// Everything a batch needs. Build it, then [`prepare`] it.
pub struct BatchConfig {
    /// The journal file.
    pub journal: PathBuf,
    /// Journal options (fsync).
    pub journal_options: JournalOptions,
    /// Continue an existing journal (`false`: the journal must not exist yet).
    pub resume: bool,
    /// Where seeds come from.
    pub seeds: BatchSeeds,
    /// Models, key, clock, trace.
    pub provisioner: Provisioner,
    /// Display timeout and accepted conversions and risks.
    pub plan: PlanOptions,
    /// Skip or stop on errors.
    pub on_error: OnError,
    /// Stop after this many tokens burned in this run (all stations together).
    pub max_tokens: Option<usize>,
    /// Burn again tokens the journal has as done (with the seed it recorded for them).
    pub reburn: bool,
    /// Exports to write when the batch ends (also after a cancel).
    pub exports: Vec<ExportTarget>,
    /// Options of the exports (Entra `upn`...).
    pub export_options: ExportOptions,
    /// Replace existing export files (otherwise an existing file is refused up front).
    pub overwrite_exports: bool,
    /// Register every burned token with this server (module documentation, "Direct
    /// enrollment"); needs [`BatchConfig::journal_seal`].
    pub enroller: Option<Box<dyn Enroller + Send + Sync>>,
    /// Seal the journal: every seed in it encrypted under this passphrase (see
    /// [`crate::journal`]). A new journal is created sealed; an existing one must be
    /// sealed with the same passphrase.
    pub journal_seal: Option<JournalSeal>,
}

/// The station name of the enrollments a run makes before any token is placed (done
/// serials of the journal that the server does not hold yet).
pub const ENROLLMENT_STATION: &str = "enrollment";

impl BatchConfig {
    /// A configuration with defaults: new journal with fsync, skip on error, no limit, no
    /// exports.
    pub fn new(journal: impl Into<PathBuf>, seeds: BatchSeeds) -> Self {
        Self {
            journal: journal.into(),
            journal_options: JournalOptions::default(),
            resume: false,
            seeds,
            provisioner: Provisioner::new(),
            plan: PlanOptions::default(),
            on_error: OnError::Skip,
            max_tokens: None,
            reburn: false,
            exports: Vec::new(),
            export_options: ExportOptions::default(),
            overwrite_exports: false,
            enroller: None,
            journal_seal: None,
        }
    }
}

/// A batch checked and ready to run.
pub struct PreparedBatch {
    config: BatchConfig,
    previous: Option<(JournalState, Recovery)>,
    notices: Vec<String>,
}

impl PreparedBatch {
    /// What the checks found worth telling (an empty file taken over, uncertain tokens
    /// waiting to be re-burned, credentials already used).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The existing journal's state, when resuming.
    pub fn previous(&self) -> Option<&(JournalState, Recovery)> {
        self.previous.as_ref()
    }

    /// The configuration.
    pub fn config(&self) -> &BatchConfig {
        &self.config
    }

    /// Runs the batch on `stations` until every station is out of tokens, the source is
    /// exhausted, `max_tokens` is reached, an error stops it, or `cancel` is triggered.
    /// `on_event` is called (from the workers) for every token. The exports are written at
    /// the end whatever stopped the batch.
    pub fn run(
        self,
        stations: Vec<Box<dyn Station>>,
        cancel: &Cancel,
        on_event: &(dyn Fn(&BatchEvent) + Sync),
    ) -> Result<BatchReport, BatchError> {
        engine::run(self.config, stations, cancel, on_event)
    }
}

/// Stops a running batch between tokens. Clones share the same flag; front ends wire
/// Ctrl-C or a Cancel button to [`Cancel::cancel`].
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A handle not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the batch to stop after the token being burned.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What happened to one token.
#[derive(Debug)]
pub enum TokenOutcome {
    /// Burned.
    Burned(Box<BurnReport>),
    /// Already burned according to the journal; not touched.
    AlreadyDone,
    /// Not touched, for the reason given (the batch is complete, no seed left).
    NotTouched(String),
    /// Not burned; the error says what was written.
    Failed(TokenError),
}

/// Progress of a batch.
#[derive(Debug)]
pub enum BatchEvent {
    /// A token was placed on a station and its serial read; the workflow starts on it.
    Started {
        /// The station.
        station: String,
        /// The serial.
        serial: String,
    },
    /// A token is finished.
    Finished(TokenEvent),
}

/// A token finished at a station.
#[derive(Debug)]
pub struct TokenEvent {
    /// The station.
    pub station: String,
    /// The serial, when it could be read.
    pub serial: Option<String>,
    /// The model name, when known.
    pub model: Option<String>,
    /// What happened.
    pub outcome: TokenOutcome,
    /// With an enroller: what enrolling the token did (`None` when nothing was tried:
    /// no enroller, the token was not burned, or the journal has it enrolled already).
    pub enrollment: Option<Result<EnrollOutcome, EnrollError>>,
}

/// Totals of a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchSummary {
    /// Tokens burned in this run.
    pub burned: usize,
    /// Tokens skipped as already done.
    pub already_done: usize,
    /// Tokens placed but not touched (batch complete, no seed left).
    pub not_touched: usize,
    /// Tokens that failed.
    pub failed: usize,
    /// Serials whose state is uncertain (the seed may or may not be on the token) at the
    /// end, in plan order.
    pub uncertain: Vec<String>,
    /// Credentials of the list not yet given to any token (credential lists only).
    pub credentials_left: Option<usize>,
    /// Why the batch stopped early, if it did.
    pub stopped: Option<String>,
    /// The batch was cancelled.
    pub cancelled: bool,
    /// Tokens the enroller registered in this run, or found registered with their seed.
    pub enrolled: usize,
    /// Enrollments that failed in this run (the tokens stay burned).
    pub enroll_failed: usize,
    /// With an enroller: the journal's done serials that the server does not hold at the
    /// end (enrollment failed or not tried yet), in plan order; a resume enrolls them.
    pub not_enrolled: Vec<String>,
}

impl BatchSummary {
    /// True when running the same batch again with resume has work to do: uncertain
    /// tokens, credentials left, a stop before the stations ran out, or burned tokens
    /// not enrolled.
    pub fn resume_needed(&self) -> bool {
        !self.uncertain.is_empty()
            || self.credentials_left.is_some_and(|n| n > 0)
            || self.cancelled
            || self.failed > 0
            || !self.not_enrolled.is_empty()
    }
}

/// What one export at the end of a batch did.
#[derive(Debug)]
pub struct ExportDone {
    /// The export.
    pub target: ExportTarget,
    /// Tokens written, or why not.
    pub result: Result<usize, ExportError>,
}

/// The result of a batch run.
#[derive(Debug)]
pub struct BatchReport {
    /// Totals.
    pub summary: BatchSummary,
    /// One entry per export, in the order asked; a failed one does not stop the others.
    pub exports: Vec<ExportDone>,
    /// The journal's state at the end.
    pub journal: JournalState,
}

/// A batch refused before it started, or stopped by a failure that concerns every token.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The journal exists and resuming was not asked for.
    #[error("the journal {0} exists: resume it, or name a new file")]
    JournalExists(PathBuf),
    /// Resuming was asked for, and there is no journal.
    #[error("there is no journal at {0} to resume")]
    JournalMissing(PathBuf),
    /// The journal cannot be used.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A seed of the source cannot be burned.
    #[error("{what} cannot be burned: {source}")]
    Seed {
        /// Which seed (`credential 3 (Example:alice)`, `seed file row for 8659...`).
        what: String,
        /// Why.
        source: PlanError,
    },
    /// The same secret appears twice in the source.
    #[error("{first} and {second} hold the same secret: a secret goes into one token only")]
    DuplicateSecret {
        /// Where it is first.
        first: String,
        /// Where it is again.
        second: String,
    },
    /// The source holds no seed at all.
    #[error("the seed source is empty")]
    NoSeeds,
    /// An export cannot carry the seeds' parameters.
    #[error("export {format}: {reason}")]
    ExportFormat {
        /// The format.
        format: &'static str,
        /// Why, and what can carry them.
        reason: String,
    },
    /// An export cannot be written where asked.
    #[error("export {format} to {}: {reason}", path.display())]
    ExportPath {
        /// The format.
        format: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        reason: String,
        /// What the user can do.
        hint: Option<Hint>,
    },
    /// A random seed could not be generated, or its length is wrong.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Direct enrollment without a sealed journal: the journal would hold every seed in
    /// clear.
    #[error(
        "direct enrollment writes no seed in clear: the journal must be sealed with a passphrase"
    )]
    EnrollNeedsSeal,
    /// The enrollment server cannot be used (checked before anything is burned).
    #[error("enrollment: {0}")]
    Enroll(EnrollError),
}

impl BatchError {
    /// A stable name for the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            BatchError::JournalExists(_) => "journal_exists",
            BatchError::JournalMissing(_) => "journal_missing",
            BatchError::Journal(_) => "journal",
            BatchError::Seed { source, .. } => source.kind(),
            BatchError::DuplicateSecret { .. } => "duplicate_secret",
            BatchError::NoSeeds => "no_seeds",
            BatchError::ExportFormat { .. } => "export_format",
            BatchError::ExportPath { .. } => "export_path",
            BatchError::Source(_) => "seed_source",
            BatchError::EnrollNeedsSeal => "enroll_needs_seal",
            BatchError::Enroll(_) => "enroll",
        }
    }

    /// What the user can do.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            BatchError::JournalExists(_) => Some(Hint::Resume),
            BatchError::JournalMissing(_) => Some(Hint::NewJournal),
            BatchError::Journal(JournalError::NotAJournal(_) | JournalError::Symlink(_)) => {
                Some(Hint::NewJournal)
            }
            BatchError::Seed { source, .. } => source.hint(),
            BatchError::ExportPath { hint, .. } => *hint,
            _ => None,
        }
    }
}

/// Why one token was not burned.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The session failed (the message says what was written).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Refused before any secure command (unknown model...).
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// The seed file has no row for this serial.
    #[error("the seed file has no seed for serial {0}: nothing was written")]
    NoSeedForSerial(String),
    /// The seed file gives this serial a secret the journal gave another serial.
    #[error(
        "the seed file's secret for {serial} was already given to {holder}: nothing was written"
    )]
    SecretGivenElsewhere {
        /// This token.
        serial: String,
        /// The serial that holds it.
        holder: String,
    },
    /// The token cannot take this seed.
    #[error("the seed for {serial} cannot be burned: {source}")]
    Plan {
        /// The serial.
        serial: String,
        /// Why.
        source: PlanError,
    },
    /// A seed could not be generated.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The journal could not be written: nothing is burned without it.
    #[error("the journal could not be written, so nothing was burned: {0}")]
    Journal(#[from] JournalError),
}

impl TokenError {
    /// Whether this error should end the whole batch whatever [`OnError`] says.
    fn is_fatal(&self) -> bool {
        matches!(self, TokenError::Journal(_))
    }

    /// A stable name for the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenError::Session(e) => e.kind(),
            TokenError::Prepare(e) => e.kind(),
            TokenError::NoSeedForSerial(_) => "no_seed_for_serial",
            TokenError::SecretGivenElsewhere { .. } => "secret_given_elsewhere",
            TokenError::Plan { source, .. } => source.kind(),
            TokenError::Source(_) => "seed_source",
            TokenError::Journal(_) => "journal",
        }
    }
}
