//! `safeid batch` and `safeid export`: the command-line side of `safeid::batch`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use safeid::batch::{
    self, BatchConfig, BatchEvent, BatchReport, BatchSeeds, Cancel, ExportKind, ExportTarget,
    OnError, TokenEvent, TokenOutcome,
};
use safeid::export::ExportOptions;
use safeid::plan::Acceptance;
use safeid::proto::HmacAlgorithm;
use safeid::sources::{MAX_SEED_FILE_BYTES, MAX_URI_LIST_BYTES, SeedFile, SeedFileOptions};
use safeid::transport::Station;
use safeid::{PlanOptions, Provisioner};
use safeid_sim::{SimStation, SystemClock, serial_queue};
use serde_json::json;

use crate::Out;
use crate::backend::TraceArgs;
use crate::enroll::{EnrollArgs, PskcArgs};
use crate::error::{CliError, CliResult, Exit};
use crate::output::plural;
use crate::seed::EncodingArg;
use crate::token::{parse_acceptance, parse_hmac};

/// What to do with a token that fails.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnErrorArg {
    /// Record it in the journal and go on with the next token.
    Skip,
    /// Stop the whole batch.
    Stop,
}

/// Provision tokens one after another (or on several readers at once), with a journal that
/// keeps every seed before it is written.
///
/// Loop: place a token, it is burned, take it off, place the next. Before anything is
/// written to a token, its serial and seed are appended to the journal and flushed to disk;
/// after the burn the entry is marked burned. Everything (seeds, exports, paths) is checked
/// before the journal is created or a token touched. Ctrl-C stops after the token being
/// burned, writes the exports and prints the command to resume. If anything is interrupted
/// (a crash, a pulled reader, a token taken away), run the same command with --resume:
/// done tokens are skipped, tokens whose state is uncertain are burned again with the seed
/// the journal holds for them, and a credential given to one token never goes to another.
///
/// THE JOURNAL HOLDS THE SEEDS IN CLEAR (it is created with mode 0600) unless it is sealed
/// with --journal-passphrase: keep it like the seeds themselves, and delete it once the
/// seeds are exported and imported.
///
/// With --enroll privacyidea=URL every token is registered with privacyIDEA right after
/// its burn, and no seed is written in clear anywhere: the journal must be sealed, and an
/// export must be PSKC encrypted with --pskc-key or --pskc-password. A token burned while
/// the server was down is enrolled by the next --resume, without touching it again; no
/// token is ever enrolled twice.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The journal file (created; with --resume, continued).
    #[arg(long, value_name = "FILE")]
    journal: PathBuf,
    /// Continue an existing journal.
    #[arg(long)]
    resume: bool,
    /// Seal the journal: every seed in it encrypted (AES-256-GCM under a key derived
    /// from this passphrase with PBKDF2); @FILE, - or env:NAME. Needed with --enroll;
    /// a sealed journal needs it again for --resume and `safeid export`.
    #[arg(long, value_name = "@FILE|-|env:NAME")]
    journal_passphrase: Option<String>,
    /// Burn again tokens the journal marks as burned (with the seed it recorded for them).
    #[arg(long)]
    reburn: bool,

    /// Seeds from a CSV file keyed by serial (vendor `serial,secret`, base32 or hex, or the
    /// Entra ID layout; `-`: standard input): each token gets its own row, a token not in
    /// the file gets nothing.
    #[arg(long, value_name = "FILE", group = "seeds", help_heading = "Seeds")]
    seed_file: Option<PathBuf>,
    /// The seed file's secret encoding, when the file does not make it clear.
    #[arg(
        long,
        value_enum,
        ignore_case = true,
        requires = "seed_file",
        help_heading = "Seeds"
    )]
    encoding: Option<EncodingArg>,
    /// A fresh random seed (OS CSPRNG) for every token.
    #[arg(long, group = "seeds", help_heading = "Seeds")]
    random: bool,
    /// Random seed length in bytes (20 = 32 base32 characters, 40 = 64; 16 to 63, or less
    /// with --accept short-seed).
    #[arg(
        long,
        default_value_t = 20,
        requires = "random",
        help_heading = "Seeds"
    )]
    random_bytes: usize,
    /// One otpauth URI per line (`-`: standard input), used in order, one per token.
    #[arg(long, value_name = "FILE", group = "seeds", help_heading = "Seeds")]
    uri_file: Option<PathBuf>,

    /// Hash algorithm for random seeds and seed files: sha1 or sha256.
    #[arg(long, value_parser = parse_hmac, default_value = "sha1", help_heading = "Settings")]
    algorithm: HmacAlgorithm,
    /// Time step for random seeds and vendor seed files, 30 or 60.
    #[arg(long, default_value_t = 30, help_heading = "Settings")]
    period: u32,
    /// Display timeout: 15, 30, 60 or 120 seconds.
    #[arg(long, default_value_t = 30, help_heading = "Settings")]
    display_timeout: u32,
    /// Accept a documented conversion or risk (see `safeid burn --help`; short-seed for
    /// random seeds under 16 bytes). Repeatable.
    #[arg(long, value_name = "NAME", value_parser = parse_acceptance, help_heading = "Settings")]
    accept: Vec<Acceptance>,

    /// Readers to use, one worker each (name, part of a name, or number; repeatable).
    #[arg(long, short = 'r', help_heading = "Stations")]
    reader: Vec<String>,
    /// Use virtual tokens instead of readers (for trying the workflow).
    #[arg(long, conflicts_with = "reader", help_heading = "Stations")]
    sim: bool,
    /// With --sim: how many virtual tokens to place.
    #[arg(
        long,
        default_value_t = 10,
        requires = "sim",
        help_heading = "Stations"
    )]
    sim_count: u64,
    /// With --sim: how many virtual readers work in parallel.
    #[arg(long, default_value_t = 1, requires = "sim",
          value_parser = clap::value_parser!(u16).range(1..=64), help_heading = "Stations")]
    sim_readers: u16,
    /// With --sim: the serial prefix of the virtual tokens (decides the model).
    #[arg(
        long,
        default_value = "8659622",
        requires = "sim",
        help_heading = "Stations"
    )]
    sim_prefix: String,
    /// Access key for every token (see `safeid burn --help`).
    #[arg(long, value_name = "HEX|@FILE|-|env:NAME", help_heading = "Stations")]
    key: Option<String>,
    /// Extra token models (see `safeid burn --help`).
    #[arg(long, value_name = "FILE", help_heading = "Stations")]
    models: Option<PathBuf>,
    #[command(flatten)]
    trace: TraceArgs,

    /// Skip a failing token (recorded in the journal) or stop the batch.
    #[arg(long, value_enum, ignore_case = true, default_value = "skip")]
    on_error: OnErrorArg,
    /// Stop after this many tokens are burned.
    #[arg(long)]
    count: Option<usize>,
    /// At the end (also after Ctrl-C), export the burned tokens' seeds: FORMAT=PATH with
    /// FORMAT one of entra, graph, pskc, privacyidea, vendor, otpauth, duo, linotp, or qr
    /// (PATH is then a folder that gets one PNG per token). Repeatable; checked before the
    /// batch starts.
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_export)]
    export: Vec<ExportTarget>,
    /// Entra ID `upn` column for every token.
    #[arg(long)]
    upn: Option<String>,
    /// Replace export files that exist.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    pskc: PskcArgs,
    #[command(flatten)]
    enroll: EnrollArgs,
}

/// Export the seeds of a journal, after the fact.
///
/// Writes one file per format, atomically, mode 0600 (every format holds the seeds).
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The journal written by `safeid batch` (`-`: read it from standard input).
    #[arg(long, value_name = "FILE")]
    journal: PathBuf,
    /// FORMAT=PATH: entra, graph, pskc, privacyidea, vendor, otpauth, duo, linotp, or qr
    /// (PATH is then a folder that gets one PNG per token). Repeatable.
    #[arg(value_name = "FORMAT=PATH", required = true, value_parser = parse_export)]
    exports: Vec<ExportTarget>,
    /// Entra ID `upn` column for every token.
    #[arg(long)]
    upn: Option<String>,
    /// Include tokens whose burn is uncertain (their seed may or may not be on the token);
    /// by default only burned and verified tokens are exported.
    #[arg(long)]
    include_uncertain: bool,
    /// Replace files that exist.
    #[arg(long)]
    force: bool,
    /// The passphrase of a sealed journal: @FILE, - or env:NAME.
    #[arg(long, value_name = "@FILE|-|env:NAME")]
    journal_passphrase: Option<String>,
    #[command(flatten)]
    pskc: PskcArgs,
}

/// Parses `FORMAT=PATH`.
pub fn parse_export(spec: &str) -> Result<ExportTarget, String> {
    let (format, path) = spec
        .split_once('=')
        .ok_or_else(|| "expected FORMAT=PATH".to_owned())?;
    let kind = ExportKind::from_name(format).ok_or_else(|| {
        format!(
            "unknown export format \"{format}\": {}",
            ExportKind::names().join(", ")
        )
    })?;
    if path.is_empty() {
        return Err("the PATH after = is empty".into());
    }
    Ok(ExportTarget {
        kind,
        path: PathBuf::from(path),
    })
}

fn seeds(args: &BatchArgs) -> Result<BatchSeeds, CliError> {
    if let Some(path) = &args.seed_file {
        let text = safeid::sources::read_text_file(path, MAX_SEED_FILE_BYTES, "seed file")?;
        let options = SeedFileOptions {
            encoding: args.encoding.map(Into::into),
            hash: args.algorithm,
            period: args.period,
        };
        let file = SeedFile::parse_with(text.expose(), &options)
            .map_err(|e| CliError::from(safeid::sources::SourceError::from(e)))?;
        return Ok(BatchSeeds::File(file));
    }
    if let Some(path) = &args.uri_file {
        let text = safeid::sources::read_text_file(path, MAX_URI_LIST_BYTES, "URI list")?;
        let creds = safeid::sources::parse_uri_list(text.expose(), path)?;
        return Ok(BatchSeeds::Credentials(creds));
    }
    if args.random {
        return Ok(BatchSeeds::Random {
            bytes: args.random_bytes,
            hash: args.algorithm,
            period: args.period,
        });
    }
    Err(CliError::usage(
        "choose where seeds come from: --seed-file, --random or --uri-file",
    ))
}

fn config(args: &BatchArgs) -> Result<BatchConfig, CliError> {
    let key = args
        .key
        .as_deref()
        .map(safeid::keys::parse_key_arg)
        .transpose()?;
    let provisioner = Provisioner::new()
        .with_models(crate::backend::model_table(args.models.as_ref())?)
        .with_key(key)
        .with_trace(args.trace.trace());
    let mut config = BatchConfig::new(&args.journal, seeds(args)?);
    config.resume = args.resume;
    config.provisioner = provisioner;
    config.plan = PlanOptions {
        display_timeout: Some(args.display_timeout),
        accept: args.accept.iter().copied().collect(),
        ..PlanOptions::default()
    };
    config.on_error = match args.on_error {
        OnErrorArg::Skip => OnError::Skip,
        OnErrorArg::Stop => OnError::Stop,
    };
    config.max_tokens = args.count;
    config.reburn = args.reburn;
    config.exports = args.export.clone();
    config.export_options = ExportOptions {
        upn: args.upn.clone(),
        pskc_encryption: args.pskc.encryption()?,
        ..ExportOptions::default()
    };
    config.overwrite_exports = args.force;
    config.journal_seal = crate::enroll::journal_seal(args.journal_passphrase.as_deref())?;
    config.enroller = args.enroll.enroller()?;
    Ok(config)
}

fn stations(args: &BatchArgs) -> Result<Vec<Box<dyn Station>>, CliError> {
    if args.sim {
        let width = 13usize.saturating_sub(args.sim_prefix.len()).max(1);
        let queue = serial_queue(&args.sim_prefix, 1, args.sim_count, width);
        return Ok((0..args.sim_readers)
            .map(|i| {
                Box::new(SimStation::new(
                    format!("virtual reader {i}"),
                    queue.clone(),
                    Arc::new(SystemClock),
                )) as Box<dyn Station>
            })
            .collect());
    }
    pcsc_stations(&args.reader)
}

#[cfg(feature = "pcsc")]
fn pcsc_stations(readers: &[String]) -> Result<Vec<Box<dyn Station>>, CliError> {
    use safeid_pcsc::{PcscStation, ReaderChoice};
    let choices: Vec<ReaderChoice> = if readers.is_empty() {
        vec![ReaderChoice::Auto]
    } else {
        readers
            .iter()
            .map(|r| crate::backend::reader_choice(r))
            .collect()
    };
    let mut out: Vec<Box<dyn Station>> = Vec::new();
    for c in choices {
        out.push(Box::new(PcscStation::new(c)?));
    }
    Ok(out)
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_stations(_: &[String]) -> Result<Vec<Box<dyn Station>>, CliError> {
    Err(crate::backend::no_pcsc())
}

fn report_recovery(r: &safeid::journal::Recovery, out: Out) {
    if let Some(t) = &r.torn_tail {
        out.warn(format!(
            "journal: its last line was cut off by a crash at byte {} ({} bytes): {}",
            t.offset,
            t.len,
            if t.kept {
                "it was complete and is kept"
            } else {
                "it was dropped"
            }
        ));
    }
    for a in &r.anomalies {
        out.warn(format!("journal: {a}"));
    }
    if let Some(mode) = r.mode_tightened {
        out.warn(format!(
            "journal: its permissions were {mode:o}, now 600 (it holds seeds)"
        ));
    }
}

/// One line for a finished token, for people.
fn line_for(e: &TokenEvent) -> String {
    let serial = e.serial.as_deref().unwrap_or("(serial unread)");
    let model = e.model.as_deref().unwrap_or("unknown model");
    let result = match &e.outcome {
        TokenOutcome::Burned(r) => format!("burned; display must show {} now", r.expected.current),
        TokenOutcome::AlreadyDone => "already burned (journal): not touched".to_owned(),
        TokenOutcome::NotTouched(why) => format!("not touched: {why}"),
        TokenOutcome::Failed(err) => format!("FAILED: {err}"),
    };
    let enrollment = e
        .enrollment
        .as_ref()
        .map(|r| format!("; {}", crate::enroll::describe(r)))
        .unwrap_or_default();
    format!(
        "{:<16} {serial:<16} {model:<22} {result}{enrollment}",
        e.station
    )
}

/// One JSON line for a finished token.
fn json_for(e: &TokenEvent) -> serde_json::Value {
    let (outcome, detail) = match &e.outcome {
        TokenOutcome::Burned(r) => ("burned", json!({"report": r})),
        TokenOutcome::AlreadyDone => ("already_done", json!({})),
        TokenOutcome::NotTouched(why) => ("not_touched", json!({"reason": why})),
        TokenOutcome::Failed(err) => (
            "failed",
            json!({"error": {"kind": err.kind(), "message": err.to_string()}}),
        ),
    };
    let mut v =
        json!({"station": e.station, "serial": e.serial, "model": e.model, "outcome": outcome});
    if let (Some(obj), Some(extra)) = (v.as_object_mut(), detail.as_object()) {
        obj.extend(extra.clone());
    }
    if let Some(r) = &e.enrollment {
        v["enrollment"] = crate::enroll::json(r);
    }
    v
}

/// Ctrl-C stops the batch after the token being burned; a second Ctrl-C exits at once
/// (the journal is fsynced before every write, so a resume still knows everything).
fn wire_ctrl_c(cancel: &Cancel, out: Out) {
    let cancel = cancel.clone();
    let result = ctrlc::set_handler(move || {
        if cancel.is_cancelled() {
            std::process::exit(130);
        }
        cancel.cancel();
        out.note("stopping after the token being burned (Ctrl-C again to quit at once)...");
    });
    if let Err(e) = result {
        out.warn(format!("Ctrl-C will not stop the batch cleanly: {e}"));
    }
}

/// The command line to continue this batch: the same arguments plus --resume.
fn resume_command() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(first) = args.first_mut() {
        *first = "safeid".into();
    }
    if !args.iter().any(|a| a == "--resume") {
        args.push("--resume".into());
    }
    args.iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=./:@,".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn batch(args: &BatchArgs, out: Out) -> CliResult {
    let path_text = |p: &Option<PathBuf>| p.as_deref().and_then(|p| p.to_str()).map(str::to_owned);
    let (seed_file, uri_file, models) = (
        path_text(&args.seed_file),
        path_text(&args.uri_file),
        path_text(&args.models),
    );
    let mut stdin_users = vec![
        ("--seed-file", seed_file.as_deref()),
        ("--uri-file", uri_file.as_deref()),
        ("--models", models.as_deref()),
        ("--key", args.key.as_deref()),
        ("--journal-passphrase", args.journal_passphrase.as_deref()),
    ];
    stdin_users.extend(args.pskc.stdin_users());
    stdin_users.extend(args.enroll.stdin_users());
    crate::seed::one_stdin(&stdin_users)?;
    let prepared = batch::prepare(config(args)?)?;
    if let Some((_, recovery)) = prepared.previous() {
        report_recovery(recovery, out);
    }
    for n in prepared.notices() {
        out.note(format!("journal: {n}"));
    }
    let stations = stations(args)?;
    if !args.sim {
        out.note(
            "switch each token on and place it face down on a reader; take it off when its line appears",
        );
    }
    let cancel = Cancel::new();
    wire_ctrl_c(&cancel, out);
    let bar = progress(args, out);
    // A closed standard output (`| head`) stops the batch cleanly after the tokens being
    // burned, as Ctrl-C does; the journal keeps everything for --resume.
    let stdout_gone = AtomicBool::new(false);
    let report = prepared.run(stations, &cancel, &|e| match e {
        BatchEvent::Started { serial, .. } => bar.set_message(format!("burning {serial}")),
        BatchEvent::Finished(t) => {
            // suspend() also prints when the bar is hidden (output not a terminal).
            bar.suspend(|| {
                let line = if out.json {
                    json_for(t).to_string()
                } else {
                    line_for(t)
                };
                if !stdout_gone.load(Ordering::SeqCst)
                    && crate::output::try_stdout(format_args!("{line}"), true).is_err()
                {
                    stdout_gone.store(true, Ordering::SeqCst);
                    cancel.cancel();
                }
            });
            if matches!(t.outcome, TokenOutcome::Burned(_)) {
                bar.inc(1);
            }
            bar.set_message("waiting for the next token");
        }
    })?;
    bar.finish_and_clear();
    if stdout_gone.load(Ordering::SeqCst) {
        errln!(
            "standard output was closed: the batch stopped after the tokens being burned ({} burned)",
            report.summary.burned
        );
        if report.summary.resume_needed() {
            errln!("to continue: {}", resume_command());
        }
        return Ok(Exit::Failure);
    }
    print_summary(&report, out);
    let exports_ok = report.exports.iter().all(|e| e.result.is_ok());
    let s = &report.summary;
    Ok(
        if s.failed == 0
            && s.uncertain.is_empty()
            && !s.cancelled
            && exports_ok
            && s.not_enrolled.is_empty()
        {
            Exit::Success
        } else {
            Exit::Failure
        },
    )
}

fn progress(args: &BatchArgs, out: Out) -> ProgressBar {
    let len = args
        .count
        .map(|n| n as u64)
        .or(args.sim.then_some(args.sim_count));
    // Drawn only on a terminal (indicatif hides it otherwise), never with --quiet/--json.
    let target = if out.quiet || out.json {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(len, target);
    let template = if len.is_some() {
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}"
    } else {
        "{spinner} [{elapsed_precise}] {pos} burned {msg}"
    };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("waiting for the next token");
    bar
}

/// Whether the batch enrolled (or tried to).
fn args_enrolling(s: &safeid::batch::BatchSummary) -> bool {
    s.enrolled + s.enroll_failed > 0 || !s.not_enrolled.is_empty()
}

fn print_summary(report: &BatchReport, out: Out) {
    let s = &report.summary;
    let resume = s.resume_needed().then(resume_command);
    let exports: Vec<serde_json::Value> = report
        .exports
        .iter()
        .map(|e| match &e.result {
            Ok(n) => json!({"format": e.target.kind.name(), "path": e.target.path, "tokens": n}),
            Err(err) => json!({"format": e.target.kind.name(), "path": e.target.path,
                               "error": {"kind": "export", "message": err.to_string()}}),
        })
        .collect();
    if out.json {
        outln!(
            "{}",
            json!({"summary": {
                "burned": s.burned, "already_done": s.already_done, "failed": s.failed,
                "not_touched": s.not_touched, "uncertain": s.uncertain,
                "credentials_left": s.credentials_left, "stopped": s.stopped,
                "cancelled": s.cancelled, "exports": exports, "resume": resume,
                "enrolled": s.enrolled, "enroll_failed": s.enroll_failed,
                "not_enrolled": s.not_enrolled,
            }})
        );
        return;
    }
    outln!(
        "batch: {} burned, {} already done, {} failed, {} not touched",
        s.burned,
        s.already_done,
        s.failed,
        s.not_touched
    );
    if args_enrolling(s) {
        outln!(
            "enrollment: {} enrolled, {} failed",
            s.enrolled,
            s.enroll_failed
        );
    }
    if !s.not_enrolled.is_empty() {
        outln!(
            "NOT ENROLLED (burned; a resume enrolls them without touching the tokens): {}",
            s.not_enrolled.join(", ")
        );
    }
    if let Some(why) = &s.stopped {
        outln!("stopped: {why}");
    }
    if !s.uncertain.is_empty() {
        outln!(
            "UNCERTAIN (seed may or may not be on the token; resume and place them again): {}",
            s.uncertain.join(", ")
        );
    }
    if let Some(n) = s.credentials_left.filter(|n| *n > 0) {
        outln!(
            "{} of the list not burned yet",
            plural(n, "credential", "credentials")
        );
    }
    for e in &report.exports {
        match &e.result {
            Ok(n) => outln!(
                "exported {} as {} to {} (mode 0600)",
                plural(*n, "token", "tokens"),
                e.target.kind.name(),
                e.target.path.display()
            ),
            Err(err) => outln!(
                "EXPORT FAILED {} to {}: {err}",
                e.target.kind.name(),
                e.target.path.display()
            ),
        }
    }
    if let Some(cmd) = resume {
        outln!("to continue: {cmd}");
    }
}

pub fn export(args: &ExportArgs, out: Out) -> CliResult {
    let journal_text = args.journal.to_str();
    let mut stdin_users = vec![
        ("--journal", journal_text),
        ("--journal-passphrase", args.journal_passphrase.as_deref()),
    ];
    stdin_users.extend(args.pskc.stdin_users());
    crate::seed::one_stdin(&stdin_users)?;
    batch::check_export_targets(&args.exports, args.force, Some(&args.journal))?;
    let passphrase = args
        .journal_passphrase
        .as_deref()
        .map(|a| crate::enroll::read_secret(a, "--journal-passphrase"))
        .transpose()?;
    let (state, recovery) = load_journal(&args.journal, passphrase.as_ref())?;
    report_recovery(&recovery, out);
    let mut left_out: Vec<&str> = Vec::new();
    let records = if args.include_uncertain {
        state.records_with_uncertain()
    } else {
        left_out = state.uncertain().map(|s| s.seed.serial.as_str()).collect();
        if !left_out.is_empty() {
            out.warn(format!(
                "left out {} whose burn is uncertain ({}); --include-uncertain exports them too",
                plural(left_out.len(), "token", "tokens"),
                left_out.join(", ")
            ));
        }
        state.records()
    };
    let options = ExportOptions {
        upn: args.upn.clone(),
        pskc_encryption: args.pskc.encryption()?,
        ..ExportOptions::default()
    };
    let mut failed = false;
    for target in &args.exports {
        let result = batch::write_export(target, &records, &options);
        report_export(target, result, &left_out, out, &mut failed);
    }
    Ok(if failed { Exit::Failure } else { Exit::Success })
}

/// Loads a journal for export; `-` reads it from standard input (bounded as a file is).
fn load_journal(
    path: &Path,
    passphrase: Option<&safeid::secret::SecretString>,
) -> Result<(safeid::journal::JournalState, safeid::journal::Recovery), CliError> {
    use std::io::Read;
    if path.as_os_str() != "-" {
        return Ok(safeid::journal::JournalState::load_with(path, passphrase)?);
    }
    let limit = safeid::journal::MAX_JOURNAL_BYTES;
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            CliError::new(
                "io",
                format!("reading the journal from standard input: {e}"),
            )
        })?;
    Ok(safeid::journal::JournalState::from_bytes_with(
        &bytes,
        Path::new("standard input"),
        passphrase,
    )?)
}

fn report_export(
    target: &ExportTarget,
    result: Result<usize, safeid::export::ExportError>,
    left_out: &[&str],
    out: Out,
    failed: &mut bool,
) {
    let path: &Path = &target.path;
    match (result, out.json) {
        (Ok(n), true) => outln!(
            "{}",
            json!({"format": target.kind.name(), "path": path, "tokens": n,
                   "uncertain_left_out": left_out})
        ),
        (Ok(n), false) => outln!(
            "exported {} as {} to {} (mode 0600)",
            plural(n, "token", "tokens"),
            target.kind.name(),
            path.display()
        ),
        (Err(e), json) => {
            *failed = true;
            let err = CliError::from(e);
            if json {
                outln!("{}", err.json());
            } else {
                errln!("error: {} to {}: {err}", target.kind.name(), path.display());
            }
        }
    }
}
