//! Batch provisioning: many tokens, one worker per station (reader), one journal.
//!
//! For every token placed on a station: read its serial; skip it if the journal says it is
//! done; pick its seed (the journal's own seed for a token whose earlier burn is
//! uncertain, so a re-burn never changes its seed; else from the source, by serial for
//! seed files); append the plan to the journal and fsync it *before* any write; burn
//! (refusing a token whose serial changed in between); mark the entry burned or failed.
//! Whatever happens, no seed is written to a token without first being on disk.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use safeid_otpauth::{Credential, Kind};
use safeid_proto::{AccessKey, HmacAlgorithm, ModelTable};
use safeid_transport::{Station, TransportError};

use crate::clock::HostClock;
use crate::error::{Outcome, SessionError, WriteState};
use crate::journal::{Journal, JournalError, Written};
use crate::plan::{BurnPlan, PlanError, PlanOptions};
use crate::record::{HashFunction, TOKEN_DIGITS, TokenSeed};
use crate::report::BurnReport;
use crate::session::{Session, TokenStatus};
use crate::sources::{SeedFile, SourceError, random_seed};

/// Where the seeds of a batch come from.
pub enum BatchSeeds {
    /// A seed file: each token gets the row of its own serial, or nothing.
    File(SeedFile),
    /// A fresh random seed per token.
    Random {
        /// Seed length in bytes (1..=63; 20 by default).
        bytes: usize,
        /// Hash function to configure.
        hash: HashFunction,
        /// Time step to configure (30 or 60).
        period: u32,
    },
    /// One credential per token, in order.
    Credentials(VecDeque<Credential>),
}

impl BatchSeeds {
    /// One credential per token, each checked against what the token can do before the
    /// batch starts (so a batch never stops half-way on a credential it could have
    /// refused up front).
    pub fn credentials(creds: Vec<Credential>, opts: &PlanOptions) -> Result<Self, PlanError> {
        for cred in &creds {
            BurnPlan::from_credential(cred, opts)?;
        }
        Ok(BatchSeeds::Credentials(creds.into()))
    }
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

/// Settings of a batch.
#[derive(Clone, Default)]
pub struct BatchOptions {
    /// Model table (built-in plus user rows).
    pub models: Option<ModelTable>,
    /// A key given by the user for every token.
    pub key: Option<AccessKey>,
    /// Display timeout, algorithm overrides and accepted conversions.
    pub plan: PlanOptions,
    /// Skip or stop on errors.
    pub on_error: OnError,
    /// Stop after this many tokens burned (all stations together).
    pub max_tokens: Option<usize>,
    /// Burn tokens the journal already has as burned (otherwise they are skipped).
    pub reburn: bool,
    /// Host clock (tests inject one); the system clock when `None`.
    pub clock: Option<Arc<dyn HostClock>>,
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
    Failed(BatchError),
}

/// One progress event: a token finished at a station.
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
}

/// Totals of a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchSummary {
    /// Tokens burned.
    pub burned: usize,
    /// Tokens skipped as already done.
    pub already_done: usize,
    /// Tokens placed but not touched (batch complete, no seed left).
    pub not_touched: usize,
    /// Tokens that failed.
    pub failed: usize,
    /// Serials whose state is uncertain (planned, outcome unknown) at the end.
    pub uncertain: Vec<String>,
    /// Why the batch stopped early, if it did.
    pub stopped: Option<String>,
}

/// Why one token failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The session failed (the message says what was written).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The seed file has no row for this serial.
    #[error("the seed file has no seed for serial {0}: nothing was written")]
    NoSeedForSerial(String),
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
    /// The station failed while waiting for a token.
    #[error("station: {0}")]
    Station(#[from] TransportError),
}

impl BatchError {
    /// Whether this error should end the whole batch whatever `OnError` says.
    fn is_fatal(&self) -> bool {
        matches!(self, BatchError::Journal(_))
    }
}

struct Shared<'a> {
    journal: Mutex<&'a mut Journal>,
    seeds: Mutex<BatchSeeds>,
    options: &'a BatchOptions,
    stop: AtomicBool,
    stopped_because: Mutex<Option<String>>,
    burned: AtomicUsize,
}

impl Shared<'_> {
    fn stop(&self, why: String) {
        self.stop.store(true, Ordering::SeqCst);
        let mut reason = self
            .stopped_because
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        reason.get_or_insert(why);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Runs a batch: one worker thread per station, all writing one journal; `on_event` is
/// called (from the workers) after every token.
pub fn run_batch(
    stations: Vec<Box<dyn Station>>,
    journal: &mut Journal,
    seeds: BatchSeeds,
    options: &BatchOptions,
    on_event: &(dyn Fn(&TokenEvent) + Sync),
) -> BatchSummary {
    let shared = Shared {
        journal: Mutex::new(journal),
        seeds: Mutex::new(seeds),
        options,
        stop: AtomicBool::new(false),
        stopped_because: Mutex::new(None),
        burned: AtomicUsize::new(0),
    };
    let totals = Mutex::new(BatchSummary::default());
    std::thread::scope(|scope| {
        for mut station in stations {
            let shared = &shared;
            let totals = &totals;
            scope.spawn(move || worker(station.as_mut(), shared, totals, on_event));
        }
    });
    let mut summary = totals.into_inner().unwrap_or_else(PoisonError::into_inner);
    summary.stopped = shared
        .stopped_because
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let journal = shared
        .journal
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    summary.uncertain = journal
        .state()
        .uncertain()
        .map(|s| s.seed.serial.clone())
        .collect();
    summary
}

fn worker(
    station: &mut dyn Station,
    shared: &Shared<'_>,
    totals: &Mutex<BatchSummary>,
    on_event: &(dyn Fn(&TokenEvent) + Sync),
) {
    let name = station.name();
    loop {
        if let Some(max) = shared.options.max_tokens
            && shared.burned.load(Ordering::SeqCst) >= max
        {
            shared.stop(format!("{max} token(s) burned, as asked"));
        }
        if shared.stopping() {
            return;
        }
        let stop = || shared.stopping();
        let transport = match station.next_token(&stop) {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                shared.stop(format!("{name}: {e}"));
                return;
            }
        };
        let (status, outcome) = provision(transport, shared);
        {
            let mut t = totals.lock().unwrap_or_else(PoisonError::into_inner);
            match &outcome {
                TokenOutcome::Burned(_) => t.burned += 1,
                TokenOutcome::AlreadyDone => t.already_done += 1,
                TokenOutcome::NotTouched(_) => t.not_touched += 1,
                TokenOutcome::Failed(_) => t.failed += 1,
            }
        }
        if let TokenOutcome::Failed(e) = &outcome
            && (e.is_fatal() || shared.options.on_error == OnError::Stop)
        {
            shared.stop(format!("{name}: {e}"));
        }
        on_event(&TokenEvent {
            station: name.clone(),
            serial: status.as_ref().map(|s| s.serial.clone()),
            model: status.and_then(|s| s.model),
            outcome,
        });
    }
}

fn session<'t>(
    transport: &'t mut dyn safeid_transport::Transport,
    options: &BatchOptions,
) -> Session<'t> {
    let mut s = Session::new(transport);
    if let Some(models) = &options.models {
        s = s.with_models(models.clone());
    }
    if let Some(key) = &options.key {
        s = s.with_key(key.clone());
    }
    if let Some(clock) = &options.clock {
        s = s.with_clock(Arc::clone(clock));
    }
    s
}

fn provision(
    transport: &mut dyn safeid_transport::Transport,
    shared: &Shared<'_>,
) -> (Option<TokenStatus>, TokenOutcome) {
    let options = shared.options;
    let mut session = session(transport, options);
    let status = match session.info() {
        Ok(s) => s,
        Err(e) => return (None, TokenOutcome::Failed(e.into())),
    };
    let serial = status.serial.clone();
    let fail = |e: BatchError| (Some(status.clone()), TokenOutcome::Failed(e));

    // Choose the seed and put it on disk before anything is written to the token.
    let record = {
        let mut journal = shared
            .journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let known = journal.state().get(&serial).cloned();
        if let Some(state) = &known
            && state.is_done()
            && !options.reburn
        {
            return (Some(status), TokenOutcome::AlreadyDone);
        }
        if options
            .max_tokens
            .is_some_and(|max| shared.burned.load(Ordering::SeqCst) >= max)
        {
            return (
                Some(status),
                TokenOutcome::NotTouched("the batch is complete".into()),
            );
        }
        let resumed = known
            .filter(|s| s.is_uncertain())
            .and_then(|_| journal.state().resume_seed(&serial).cloned());
        let record = match resumed {
            Some(r) => r,
            None => match next_seed(shared, &status) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    return (
                        Some(status),
                        TokenOutcome::NotTouched("every credential was used".into()),
                    );
                }
                Err(e) => return fail(e),
            },
        };
        let plan = match plan_for(&record, &options.plan) {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        if let Err(e) = journal.plan(&record) {
            return fail(e.into());
        }
        shared.burned.fetch_add(1, Ordering::SeqCst);
        (record, plan)
    };
    let (record, plan) = record;

    let result = session.burn_serial(&plan, Some(&record.serial));
    let mut journal = shared
        .journal
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    match result {
        Ok(report) => match journal.mark_burned(&serial) {
            Ok(()) => (Some(status), TokenOutcome::Burned(Box::new(report))),
            Err(e) => fail(e.into()),
        },
        Err(e) => {
            shared.burned.fetch_sub(1, Ordering::SeqCst);
            let written = written_of(&e);
            let mark = journal.mark_failed(&serial, &e.to_string(), written);
            match mark {
                Ok(()) => fail(e.into()),
                Err(je) => fail(je.into()),
            }
        }
    }
}

/// The journal's summary of what a failed session wrote.
fn written_of(e: &SessionError) -> Written {
    match e.written() {
        None => Written::Nothing,
        Some(WriteState { config, seed, .. }) => match (config, seed) {
            (_, Outcome::Written | Outcome::Uncertain) => Written::Seed,
            (Outcome::Uncertain, _) => Written::Unknown,
            (Outcome::Written, Outcome::NotWritten) => Written::Config,
            (Outcome::NotWritten, Outcome::NotWritten) => Written::Nothing,
        },
    }
}

fn next_seed(shared: &Shared<'_>, status: &TokenStatus) -> Result<Option<TokenSeed>, BatchError> {
    let mut seeds = shared.seeds.lock().unwrap_or_else(PoisonError::into_inner);
    let mut record = match &mut *seeds {
        BatchSeeds::File(file) => file
            .seed_for(&status.serial)
            .cloned()
            .ok_or_else(|| BatchError::NoSeedForSerial(status.serial.clone()))?,
        BatchSeeds::Random {
            bytes,
            hash,
            period,
        } => TokenSeed {
            serial: status.serial.clone(),
            secret: random_seed(*bytes)?,
            hash: *hash,
            period: *period,
            digits: TOKEN_DIGITS,
            manufacturer: None,
            model: None,
            upn: None,
            display_name: None,
        },
        BatchSeeds::Credentials(queue) => {
            let Some(cred) = queue.pop_front() else {
                drop(seeds);
                shared.stop("every credential was used".into());
                return Ok(None);
            };
            credential_record(&cred, &status.serial)
        }
    };
    record.serial = status.serial.clone();
    if record.manufacturer.is_none() {
        record.manufacturer = status.manufacturer.clone();
    }
    if record.model.is_none() {
        record.model = status.model.clone();
    }
    Ok(Some(record))
}

fn credential_record(cred: &Credential, serial: &str) -> TokenSeed {
    let period = match cred.kind {
        Kind::Totp { period } => u32::try_from(period).unwrap_or(u32::MAX),
        Kind::Hotp { .. } => 0,
    };
    TokenSeed {
        serial: serial.to_owned(),
        secret: cred.secret.clone(),
        hash: match cred.algorithm {
            safeid_otpauth::Algorithm::Sha256 => HashFunction::Sha256,
            _ => HashFunction::Sha1,
        },
        period,
        // The token shows 6 digits whatever the credential said (a 7/8-digit credential
        // only gets here with the six-digits conversion accepted).
        digits: TOKEN_DIGITS,
        manufacturer: None,
        model: None,
        upn: None,
        display_name: Some(match &cred.issuer {
            Some(i) => format!("{i}:{}", cred.account),
            None => cred.account.clone(),
        }),
    }
}

fn plan_for(record: &TokenSeed, opts: &PlanOptions) -> Result<BurnPlan, BatchError> {
    let hmac = match record.hash {
        HashFunction::Sha1 => HmacAlgorithm::Sha1,
        HashFunction::Sha256 => HmacAlgorithm::Sha256,
    };
    BurnPlan::from_seed(&record.secret, hmac, u64::from(record.period), opts).map_err(|source| {
        BatchError::Plan {
            serial: record.serial.clone(),
            source,
        }
    })
}
