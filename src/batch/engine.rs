//! Running a prepared batch: one worker thread per station, one journal, the exports at
//! the end.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use safeid_transport::{Station, Transport};

use super::assign::{Choice, Source};
use super::{
    BatchConfig, BatchError, BatchEvent, BatchReport, BatchSummary, Cancel, ENROLLMENT_STATION,
    ExportDone, ExportKind, ExportTarget, OnError, TokenError, TokenEvent, TokenOutcome,
};
use crate::enroll::{EnrollError, EnrollOutcome, Enroller};
use crate::journal::{Journal, JournalState};
use crate::plan::BurnPlan;
use crate::record::TokenSeed;
use crate::report::TokenStatus;
use crate::token::{BurnOptions, PendingBurn};

struct Shared<'a> {
    journal: Mutex<&'a mut Journal>,
    source: Mutex<Source>,
    config: &'a BatchConfig,
    cancel: &'a Cancel,
    stop: AtomicBool,
    stopped_because: Mutex<Option<String>>,
    burned: AtomicUsize,
    totals: Mutex<BatchSummary>,
    /// The enroller and its target name, when enrolling.
    enroller: Option<(Mutex<Box<dyn Enroller + Send + Sync>>, String)>,
}

/// What enrolling one token gave: `None` when nothing was tried.
type Enrolled = Option<Result<EnrollOutcome, EnrollError>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared<'_> {
    fn stop(&self, why: String) {
        self.stop.store(true, Ordering::SeqCst);
        lock(&self.stopped_because).get_or_insert(why);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.cancel.is_cancelled()
    }

    fn limit_reached(&self) -> bool {
        self.config
            .max_tokens
            .is_some_and(|max| self.burned.load(Ordering::SeqCst) >= max)
    }
}

pub(super) fn run(
    mut config: BatchConfig,
    stations: Vec<Box<dyn Station>>,
    cancel: &Cancel,
    on_event: &(dyn Fn(&BatchEvent) + Sync),
) -> Result<BatchReport, BatchError> {
    let seeds = std::mem::replace(
        &mut config.seeds,
        super::BatchSeeds::Credentials(Vec::new()),
    );
    let source = super::preflight::source_of(seeds, &config.plan)?;
    let enroller = config.enroller.take().map(|e| {
        let target = e.target();
        (Mutex::new(e), target)
    });
    let (mut journal, _) = Journal::open_sealed(
        &config.journal,
        config.journal_options,
        config.journal_seal.as_ref(),
    )?;
    let shared = Shared {
        journal: Mutex::new(&mut journal),
        source: Mutex::new(source),
        config: &config,
        cancel,
        stop: AtomicBool::new(false),
        stopped_because: Mutex::new(None),
        burned: AtomicUsize::new(0),
        totals: Mutex::new(BatchSummary::default()),
        enroller,
    };
    catch_up(&shared, on_event);
    std::thread::scope(|scope| {
        for mut station in stations {
            let shared = &shared;
            scope.spawn(move || worker(station.as_mut(), shared, on_event));
        }
    });
    let mut summary = shared
        .totals
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    summary.stopped = shared
        .stopped_because
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    summary.cancelled = cancel.is_cancelled();
    let source = shared
        .source
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let enroll_target = shared.enroller.map(|(_, target)| target);
    let state = journal.state().clone();
    summary.uncertain = state.uncertain().map(|s| s.seed.serial.clone()).collect();
    summary.credentials_left = source.credentials_left(&state);
    if let Some(target) = &enroll_target {
        summary.not_enrolled = state
            .not_enrolled(target)
            .map(|s| s.seed.serial.clone())
            .collect();
    }
    let exports = write_exports(&config, &state);
    Ok(BatchReport {
        summary,
        exports,
        journal: state,
    })
}

fn worker(station: &mut dyn Station, shared: &Shared<'_>, on_event: &(dyn Fn(&BatchEvent) + Sync)) {
    let name = station.name();
    loop {
        if shared.limit_reached() {
            let max = shared.config.max_tokens.unwrap_or_default();
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
        let (status, outcome) = provision(transport, shared, &name, on_event);
        count(shared, &outcome);
        if let TokenOutcome::Failed(e) = &outcome
            && (e.is_fatal() || shared.config.on_error == OnError::Stop)
        {
            shared.stop(format!("{name}: {e}"));
        }
        // Enrolled after the token's journal entry is final, outside the journal's lock.
        let enrollment = match (&outcome, &status) {
            (TokenOutcome::Burned(_) | TokenOutcome::AlreadyDone, Some(s)) => {
                enroll_serial(shared, &s.serial)
            }
            _ => None,
        };
        if let Some(Err(e)) = &enrollment {
            stop_for_enrollment(shared, &name, e);
        }
        on_event(&BatchEvent::Finished(TokenEvent {
            station: name.clone(),
            serial: status.as_ref().map(|s| s.serial.clone()),
            model: status.and_then(|s| s.model_name()),
            outcome,
            enrollment,
        }));
    }
}

/// Whether an enrollment failure ends the batch: [`OnError::Stop`], or an error that every
/// later token would meet too (credentials, TLS, configuration, an unexpected answer).
fn stop_for_enrollment(shared: &Shared<'_>, station: &str, e: &EnrollError) {
    let every_token = matches!(
        e,
        EnrollError::Auth { .. }
            | EnrollError::Tls { .. }
            | EnrollError::Config(_)
            | EnrollError::Protocol { .. }
    );
    if every_token || shared.config.on_error == OnError::Stop {
        shared.stop(format!("{station}: enrollment: {e}"));
    }
}

/// Enrolls a done serial unless the journal has it enrolled in the target already, and
/// records the result in the journal. `None` when nothing was tried.
fn enroll_serial(shared: &Shared<'_>, serial: &str) -> Enrolled {
    let (enroller, target) = shared.enroller.as_ref()?;
    let seed: TokenSeed = {
        let journal = lock(&shared.journal);
        let s = journal.state().get(serial)?;
        if !s.is_done() || s.is_enrolled_in(target) {
            return None;
        }
        s.seed.clone()
    };
    let result = lock(enroller).enroll(&seed);
    let marked = {
        let mut journal = lock(&shared.journal);
        match &result {
            Ok(outcome) => journal.mark_enrolled(serial, target, *outcome),
            Err(e) => journal.mark_enroll_failed(serial, target, &e.to_string(), e.is_retryable()),
        }
    };
    if let Err(e) = marked {
        // The server's side is safe (a resume finds the token there); the journal is not.
        shared.stop(format!("the journal could not record an enrollment: {e}"));
    }
    let mut t = lock(&shared.totals);
    match &result {
        Ok(_) => t.enrolled += 1,
        Err(_) => t.enroll_failed += 1,
    }
    Some(result)
}

/// Before any token is placed: enrolls the journal's done serials that the target does
/// not hold yet, without touching a token. Stops at the first error saying the server
/// cannot be reached (the rest stay for the workers, and for the next resume).
fn catch_up(shared: &Shared<'_>, on_event: &(dyn Fn(&BatchEvent) + Sync)) {
    let Some((_, target)) = &shared.enroller else {
        return;
    };
    let missing: Vec<(String, Option<String>)> = lock(&shared.journal)
        .state()
        .not_enrolled(target)
        .map(|s| (s.seed.serial.clone(), s.seed.model.clone()))
        .collect();
    for (serial, model) in missing {
        if shared.stopping() {
            return;
        }
        let enrollment = enroll_serial(shared, &serial);
        let unreachable = matches!(&enrollment, Some(Err(e)) if e.is_retryable());
        if let Some(Err(e)) = &enrollment {
            stop_for_enrollment(shared, ENROLLMENT_STATION, e);
        }
        on_event(&BatchEvent::Finished(TokenEvent {
            station: ENROLLMENT_STATION.to_owned(),
            serial: Some(serial),
            model,
            outcome: TokenOutcome::AlreadyDone,
            enrollment,
        }));
        if unreachable {
            return;
        }
    }
}

fn count(shared: &Shared<'_>, outcome: &TokenOutcome) {
    let mut t = lock(&shared.totals);
    match outcome {
        TokenOutcome::Burned(_) => t.burned += 1,
        TokenOutcome::AlreadyDone => t.already_done += 1,
        TokenOutcome::NotTouched(_) => t.not_touched += 1,
        TokenOutcome::Failed(_) => t.failed += 1,
    }
}

/// One token: read it, choose and journal its seed, burn it, record the outcome.
fn provision(
    transport: &mut dyn Transport,
    shared: &Shared<'_>,
    station: &str,
    on_event: &(dyn Fn(&BatchEvent) + Sync),
) -> (Option<TokenStatus>, TokenOutcome) {
    let provisioner = &shared.config.provisioner;
    let status = match provisioner.read(transport) {
        Ok(s) => s,
        Err(e) => return (None, TokenOutcome::Failed(e.into())),
    };
    on_event(&BatchEvent::Started {
        station: station.to_owned(),
        serial: status.serial.clone(),
    });
    let planned = match plan_token(shared, &status) {
        Ok(Ok(plan)) => plan,
        Ok(Err(outcome)) => return (Some(status), outcome),
        Err(e) => return (Some(status), TokenOutcome::Failed(e)),
    };
    let outcome = burn_token(transport, shared, &status, planned);
    (Some(status), outcome)
}

/// Chooses the token's seed, runs the one-token checks, and puts the seed on disk:
/// `Ok(Ok(pending))` to burn it, `Ok(Err(outcome))` when the token is not to be touched.
/// A refusal here leaves no journal entry: nothing was, or will be, written to the token.
fn plan_token(
    shared: &Shared<'_>,
    status: &TokenStatus,
) -> Result<Result<PendingBurn, TokenOutcome>, TokenError> {
    let config = shared.config;
    let mut journal = lock(&shared.journal);
    if shared.limit_reached() {
        return Ok(Err(TokenOutcome::NotTouched(
            "the batch is complete".into(),
        )));
    }
    let mut source = lock(&shared.source);
    let record = match source.choose(journal.state(), status, config.reburn)? {
        Choice::Seed(r) => r,
        Choice::AlreadyDone => return Ok(Err(TokenOutcome::AlreadyDone)),
        // Every credential is given out. Stop only when every one is burned: a token that
        // holds an unburned credential (its burn failed) may still come.
        Choice::Exhausted if source.credentials_left(journal.state()) == Some(0) => {
            shared.stop("every credential was burned".into());
            return Ok(Err(TokenOutcome::NotTouched(
                "every credential was burned".into(),
            )));
        }
        Choice::Exhausted => {
            return Ok(Err(TokenOutcome::NotTouched(
                "every credential was given to another token; the tokens that hold unburned ones must be placed again".into(),
            )));
        }
    };
    drop(source);
    let plan = BurnPlan::from_record(&record, &config.plan).map_err(|source| TokenError::Plan {
        serial: record.serial.clone(),
        source,
    })?;
    let pending = config
        .provisioner
        .prepare(status.clone(), plan, &BurnOptions::default())?;
    journal.plan(&record)?;
    shared.burned.fetch_add(1, Ordering::SeqCst);
    Ok(Ok(pending))
}

/// Burns a journaled plan with the serial pinned, and marks the journal.
fn burn_token(
    transport: &mut dyn Transport,
    shared: &Shared<'_>,
    status: &TokenStatus,
    pending: PendingBurn,
) -> TokenOutcome {
    let provisioner = &shared.config.provisioner;
    let serial = status.serial.as_str();
    let result = pending
        .burn(provisioner, transport)
        .map_err(TokenError::from);
    let mut journal = lock(&shared.journal);
    match result {
        Ok(burned) => match journal.mark_burned(serial) {
            Ok(()) => TokenOutcome::Burned(Box::new(burned.report().clone())),
            Err(e) => TokenOutcome::Failed(e.into()),
        },
        Err(e) => {
            shared.burned.fetch_sub(1, Ordering::SeqCst);
            let written = match &e {
                TokenError::Session(s) => s.written(),
                _ => None,
            }
            .unwrap_or(crate::error::WriteState::nothing(status.restricted));
            match journal.mark_failed(serial, &e.to_string(), written) {
                Ok(()) => TokenOutcome::Failed(e),
                Err(je) => TokenOutcome::Failed(je.into()),
            }
        }
    }
}

/// Writes every export from the journal's done tokens; a failure does not stop the others.
fn write_exports(config: &BatchConfig, state: &JournalState) -> Vec<ExportDone> {
    let records = state.records();
    config
        .exports
        .iter()
        .map(|target| ExportDone {
            target: target.clone(),
            result: write_export(target, &records, &config.export_options),
        })
        .collect()
}

/// One export; `Ok(n)`: tokens written.
pub fn write_export(
    target: &ExportTarget,
    records: &[crate::record::TokenSeed],
    options: &crate::export::ExportOptions,
) -> Result<usize, crate::export::ExportError> {
    match &target.kind {
        ExportKind::File(f) => f
            .export_to(&target.path, records, options)
            .map(|()| records.len()),
        ExportKind::QrPngs => {
            std::fs::create_dir_all(&target.path).map_err(crate::export::ExportError::Io)?;
            crate::export::write_qr_png_files(
                records,
                &target.path,
                options,
                crate::export::QR_MODULE_PX,
            )
            .map(|written| written.len())
        }
    }
}
