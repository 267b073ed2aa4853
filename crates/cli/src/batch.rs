//! `safeid batch` and `safeid export`: many tokens, one journal, exports after the fact.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use safeid::batch::{BatchOptions, BatchSeeds, OnError, TokenEvent, TokenOutcome, run_batch};
use safeid::export::{ExportOptions, Format};
use safeid::journal::Journal;
use safeid::otpauth::{self, Parsed};
use safeid::record::HashFunction;
use safeid::sim::{SimStation, SystemClock, serial_queue};
use safeid::sources::SeedFile;
use safeid::transport::Station;
use safeid::{Conversion, PlanOptions};

use super::CliResult;

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
/// after the burn the entry is marked burned. If anything is interrupted (a crash, a pulled
/// reader, a token taken away), run the same command with --resume: done tokens are
/// skipped, tokens whose state is uncertain are re-burned with the seed the journal already
/// holds for them.
///
/// THE JOURNAL HOLDS THE SEEDS IN CLEAR (it is created with mode 0600): keep it like the
/// seeds themselves, and delete it once the seeds are exported and imported.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The journal file (created if missing; with --resume, continued).
    #[arg(long, value_name = "FILE")]
    journal: PathBuf,
    /// Continue an existing journal.
    #[arg(long)]
    resume: bool,
    /// Burn tokens the journal already marks as burned (otherwise they are skipped).
    #[arg(long)]
    reburn: bool,

    /// Seeds from a CSV file keyed by serial (vendor `serial,secret`, base32 or hex, or the
    /// Entra ID layout): each token gets its own row, a token not in the file gets nothing.
    #[arg(long, value_name = "FILE", group = "seeds", help_heading = "Seeds")]
    seed_file: Option<PathBuf>,
    /// A fresh random seed (OS CSPRNG) for every token.
    #[arg(long, group = "seeds", help_heading = "Seeds")]
    random: bool,
    /// Random seed length in bytes (20 = 32 base32 characters, 40 = 64; at most 63).
    #[arg(
        long,
        default_value_t = 20,
        requires = "random",
        help_heading = "Seeds"
    )]
    random_bytes: usize,
    /// One otpauth URI per line, used in order, one per token.
    #[arg(long, value_name = "FILE", group = "seeds", help_heading = "Seeds")]
    uri_file: Option<PathBuf>,

    /// Hash algorithm for random seeds.
    #[arg(long, value_enum, default_value = "sha1", help_heading = "Settings")]
    algorithm: super::token::TokenAlgorithm,
    /// Time step for random seeds, 30 or 60.
    #[arg(long, default_value_t = 30, help_heading = "Settings")]
    period: u32,
    /// Display timeout: 15, 30, 60 or 120 seconds.
    #[arg(long, default_value_t = 30, help_heading = "Settings")]
    display_timeout: u32,
    /// Accept a documented conversion (see `safeid burn --help`).
    #[arg(long, value_name = "CONVERSION", help_heading = "Settings")]
    accept: Vec<String>,

    /// Readers to use, one worker each (name, part of a name, or index; repeatable).
    #[arg(long, short = 'r', help_heading = "Stations")]
    reader: Vec<String>,
    /// Use virtual tokens instead of readers (for trying the workflow).
    #[arg(long, help_heading = "Stations")]
    sim: bool,
    /// With --sim: how many virtual tokens to place.
    #[arg(long, default_value_t = 10, help_heading = "Stations")]
    sim_count: u64,
    /// With --sim: how many virtual readers work in parallel.
    #[arg(long, default_value_t = 1, help_heading = "Stations")]
    sim_readers: usize,
    /// With --sim: the serial prefix of the virtual tokens (decides the model).
    #[arg(long, default_value = "8659622", help_heading = "Stations")]
    sim_prefix: String,
    /// Access key for every token (see `safeid burn --help`).
    #[arg(long, value_name = "HEX|@FILE|env:NAME", help_heading = "Stations")]
    key: Option<String>,
    /// Extra token models (see `safeid burn --help`).
    #[arg(long, value_name = "FILE", help_heading = "Stations")]
    models: Option<PathBuf>,

    /// Skip a failing token (recorded in the journal) or stop the batch.
    #[arg(long, value_enum, default_value = "skip")]
    on_error: OnErrorArg,
    /// Stop after this many tokens are burned.
    #[arg(long)]
    count: Option<usize>,
    /// At the end, export the journal's burned seeds: FORMAT=PATH (entra, graph, pskc,
    /// privacyidea, vendor, otpauth); repeatable.
    #[arg(long, value_name = "FORMAT=PATH")]
    export: Vec<String>,
}

/// Export the seeds of a journal, after the fact.
///
/// Writes one file per format, atomically, mode 0600 (every format holds the seeds).
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The journal written by `safeid batch`.
    #[arg(long, value_name = "FILE")]
    journal: PathBuf,
    /// FORMAT=PATH: entra, graph, pskc, privacyidea, vendor, otpauth, or qr (PATH is then
    /// a folder that gets one PNG per token). Repeatable.
    #[arg(value_name = "FORMAT=PATH", required = true)]
    exports: Vec<String>,
    /// Entra ID `upn` column for every token.
    #[arg(long)]
    upn: Option<String>,
    /// Include tokens not confirmed burned (planned or failed with the seed perhaps
    /// written); by default only burned and verified tokens are exported.
    #[arg(long)]
    include_uncertain: bool,
}

fn parse_exports(specs: &[String]) -> Result<Vec<(String, PathBuf)>, Box<dyn std::error::Error>> {
    specs
        .iter()
        .map(|s| {
            let (f, p) = s
                .split_once('=')
                .ok_or_else(|| format!("--export {s:?}: expected FORMAT=PATH"))?;
            Ok((f.to_ascii_lowercase(), PathBuf::from(p)))
        })
        .collect()
}

fn stations(args: &BatchArgs) -> Result<Vec<Box<dyn Station>>, Box<dyn std::error::Error>> {
    if args.sim {
        let queue = serial_queue(
            &args.sim_prefix,
            1,
            args.sim_count,
            13usize.saturating_sub(args.sim_prefix.len()).max(1),
        );
        return Ok((0..args.sim_readers.max(1))
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
fn pcsc_stations(readers: &[String]) -> Result<Vec<Box<dyn Station>>, Box<dyn std::error::Error>> {
    use safeid_pcsc::{PcscStation, ReaderChoice};
    let choices: Vec<ReaderChoice> = if readers.is_empty() {
        vec![ReaderChoice::Auto]
    } else {
        readers
            .iter()
            .map(|r| super::backend::reader_choice(r))
            .collect()
    };
    let mut out: Vec<Box<dyn Station>> = Vec::new();
    for c in choices {
        out.push(Box::new(PcscStation::new(c)?));
    }
    Ok(out)
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_stations(_: &[String]) -> Result<Vec<Box<dyn Station>>, Box<dyn std::error::Error>> {
    Err(
        "this build has no PC/SC reader support: use --sim, or rebuild with `--features pcsc`"
            .into(),
    )
}

fn seeds(args: &BatchArgs, plan: &PlanOptions) -> Result<BatchSeeds, Box<dyn std::error::Error>> {
    if let Some(path) = &args.seed_file {
        let text = read_text(path)?;
        let file = SeedFile::parse(&text)?;
        eprintln!(
            "seed file: {} rows ({:?} layout)",
            file.len(),
            file.layout()
        );
        return Ok(BatchSeeds::File(file));
    }
    if let Some(path) = &args.uri_file {
        let text = read_text(path)?;
        let mut creds = Vec::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match otpauth::parse_any(line)
                .map_err(|e| format!("{}: line {}: {e}", path.display(), n + 1))?
            {
                Parsed::Single(c) => creds.push(c),
                Parsed::Migration(b) => creds.extend(b.credentials),
            }
        }
        return Ok(BatchSeeds::credentials(creds, plan)?);
    }
    if args.random {
        return Ok(BatchSeeds::Random {
            bytes: args.random_bytes,
            hash: match args.algorithm {
                super::token::TokenAlgorithm::Sha1 => HashFunction::Sha1,
                super::token::TokenAlgorithm::Sha256 => HashFunction::Sha256,
            },
            period: args.period,
        });
    }
    Err("choose where seeds come from: --seed-file, --random or --uri-file".into())
}

fn report_recovery(r: &safeid::journal::Recovery) {
    if let Some(t) = &r.torn_tail {
        eprintln!(
            "journal: its last line was cut off by a crash at byte {} ({}): {}",
            t.offset,
            t.len,
            if t.kept {
                "it was complete and is kept"
            } else {
                "it was dropped"
            }
        );
    }
    for a in &r.anomalies {
        eprintln!("journal: {a}");
    }
    if let Some(mode) = r.mode_tightened {
        eprintln!("journal: its permissions were {mode:o}, now 600 (it holds seeds)");
    }
}

fn read_text(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
}

fn line_for(e: &TokenEvent) -> String {
    let serial = e.serial.as_deref().unwrap_or("(serial unread)");
    let model = e.model.as_deref().unwrap_or("unknown model");
    let result = match &e.outcome {
        TokenOutcome::Burned(r) => format!("burned; display must show {} now", r.expected.current),
        TokenOutcome::AlreadyDone => "already burned (journal): not touched".to_owned(),
        TokenOutcome::NotTouched(why) => format!("not touched: {why}"),
        TokenOutcome::Failed(err) => format!("FAILED: {err}"),
    };
    format!("{:<16} {serial:<16} {model:<14} {result}", e.station)
}

pub fn batch(args: &BatchArgs) -> CliResult {
    let mut accept = BTreeSet::new();
    for a in &args.accept {
        accept.insert(Conversion::from_name(a).ok_or_else(|| format!("unknown conversion {a:?}"))?);
    }
    let plan = PlanOptions {
        display_timeout: Some(args.display_timeout),
        accept,
        ..PlanOptions::default()
    };
    let exports = parse_exports(&args.export)?;
    let seeds = seeds(args, &plan)?;
    if args.journal.exists() && !args.resume {
        return Err(format!(
            "the journal {} exists: add --resume to continue it, or name a new file",
            args.journal.display()
        )
        .into());
    }
    let (mut journal, recovery) = Journal::open(&args.journal)?;
    report_recovery(&recovery);
    let uncertain: Vec<String> = journal
        .state()
        .uncertain()
        .map(|s| s.seed.serial.clone())
        .collect();
    if !uncertain.is_empty() {
        eprintln!(
            "journal: {} token(s) in an uncertain state will be re-burned with their recorded seed when placed: {}",
            uncertain.len(),
            uncertain.join(", ")
        );
    }
    let mut models = safeid::proto::ModelTable::builtin();
    if let Some(p) = &args.models {
        models.extend(super::backend::load_model_file(p)?);
    }
    let options = BatchOptions {
        models: Some(models),
        key: args
            .key
            .as_deref()
            .map(safeid::keys::parse_key_arg)
            .transpose()?,
        plan,
        on_error: match args.on_error {
            OnErrorArg::Skip => OnError::Skip,
            OnErrorArg::Stop => OnError::Stop,
        },
        max_tokens: args.count,
        reburn: args.reburn,
        clock: None,
    };
    let stations = stations(args)?;
    if !args.sim {
        eprintln!(
            "switch each token on and place it face down on a reader; take it off when its line appears"
        );
    }

    let bar = ProgressBar::with_draw_target(
        args.count
            .or(if args.sim {
                usize::try_from(args.sim_count).ok()
            } else {
                None
            })
            .map(|n| n as u64),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("waiting for the next token");
    let summary = run_batch(stations, &mut journal, seeds, &options, &|e| {
        // suspend() also prints when the bar is hidden (output not a terminal).
        bar.suspend(|| println!("{}", line_for(e)));
        if matches!(e.outcome, TokenOutcome::Burned(_)) {
            bar.inc(1);
        }
    });
    bar.finish_and_clear();

    println!(
        "batch: {} burned, {} already done, {} failed, {} not touched",
        summary.burned, summary.already_done, summary.failed, summary.not_touched
    );
    if let Some(why) = &summary.stopped {
        println!("stopped: {why}");
    }
    if !summary.uncertain.is_empty() {
        println!(
            "UNCERTAIN (seed may or may not be on the token; run again with --resume and place them): {}",
            summary.uncertain.join(", ")
        );
    }
    let records = journal.state().records();
    for (format, path) in exports {
        export_one(&format, &path, &records, &ExportOptions::default())?;
    }
    Ok(if summary.failed == 0 && summary.uncertain.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn export_one(
    format: &str,
    path: &Path,
    records: &[safeid::record::TokenSeed],
    options: &ExportOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    if format == "qr" {
        std::fs::create_dir_all(path)?;
        let written = safeid::export::write_qr_pngs(records, path, options, super::qr::render_png)?;
        println!(
            "exported {} QR code(s) to {}",
            written.len(),
            path.display()
        );
        return Ok(());
    }
    let f = Format::from_name(format).ok_or_else(|| {
        format!("unknown export format {format:?}: entra, graph, pskc, privacyidea, vendor, otpauth or qr")
    })?;
    f.export_to(path, records, options)?;
    println!(
        "exported {} token(s) as {} to {} (mode 0600)",
        records.len(),
        f.name(),
        path.display()
    );
    Ok(())
}

pub fn export(args: &ExportArgs) -> CliResult {
    let exports = parse_exports(&args.exports)?;
    let (state, recovery) = safeid::journal::JournalState::load(&args.journal)?;
    report_recovery(&recovery);
    let records = if args.include_uncertain {
        state.all_records()
    } else {
        state.records()
    };
    let options = ExportOptions {
        upn: args.upn.clone(),
        ..ExportOptions::default()
    };
    for (format, path) in exports {
        export_one(&format, &path, &records, &options)?;
    }
    Ok(ExitCode::SUCCESS)
}
