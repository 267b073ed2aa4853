//! `safeid info`, `safeid burn`, `safeid sync-clock`: the commands that talk to one token.
//! The workflow is `safeid::token`; this file asks and prints.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use safeid::plan::Acceptance;
use safeid::proto::{DisplayTimeout, HmacAlgorithm, TimeStep};
use safeid::token::{Burned, Verification};
use safeid::{BurnOptions, ClockSettings, PlanOptions, Risk, TokenStatus};
use serde_json::json;

use crate::Out;
use crate::backend::{BackendArgs, KeyArgs, TraceArgs, provisioner};
use crate::error::{CliError, CliResult, Exit};
use crate::output::status_text;
use crate::seed::SeedArgs;

/// Parses `--algorithm`: SHA1 or SHA256, in any letter case, with or without `-`.
pub fn parse_hmac(text: &str) -> Result<HmacAlgorithm, String> {
    text.parse()
        .map_err(|_| "the tokens support sha1 and sha256".to_owned())
}

/// Parses `--accept`: a conversion or a risk, by name.
pub fn parse_acceptance(text: &str) -> Result<Acceptance, String> {
    Acceptance::from_name(text)
        .ok_or_else(|| format!("expected one of: {}", crate::error::acceptance_names()))
}

/// Read a token's serial, model and clock.
#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    backend: BackendArgs,
    #[command(flatten)]
    trace: TraceArgs,
}

/// Burn a seed into a token.
///
/// Order, always: read serial and clock; check the plan against the token (model and key,
/// clock drift); ask for confirmation naming the serial; authenticate once (never retried);
/// write config (clock from the host, algorithm, step, display timeout); write the seed. On
/// restricted models writing config erases the seed, which is why config always goes
/// first. Only the token whose serial was confirmed is burned. For fresh random seeds use
/// `safeid batch --random --count 1`: its journal keeps the seed so it can be exported.
#[derive(Debug, Args)]
pub struct BurnArgs {
    #[command(flatten)]
    seed: SeedArgs,
    /// With several accounts (a Google Authenticator export, or several codes on the
    /// screen): which one (1-based number, or a part of "issuer:account").
    #[arg(long, help_heading = "Seed", conflicts_with_all = ["secret_base32", "secret_hex", "secret_prompt"])]
    account: Option<String>,
    #[command(flatten)]
    backend: BackendArgs,
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    trace: TraceArgs,
    /// Hash algorithm, sha1 or sha256 [default: the credential's; sha1 for raw secrets].
    #[arg(long, value_parser = parse_hmac, help_heading = "Settings")]
    algorithm: Option<HmacAlgorithm>,
    /// Time step in seconds, 30 or 60 [default: the credential's; 30 for raw secrets].
    #[arg(long, help_heading = "Settings")]
    period: Option<u64>,
    /// How long the display stays on: 15, 30, 60 or 120 seconds.
    #[arg(long, default_value_t = 30, help_heading = "Settings")]
    display_timeout: u32,
    /// Set the token's clock from the host (on by default). With --sync-clock=false the
    /// token keeps its own clock (the config write then re-sends the token's time); a
    /// clock more than 10 minutes off is then refused unless --accept clock-drift.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL",
          help_heading = "Settings")]
    sync_clock: bool,
    /// Accept a documented conversion or risk: six-digits (7/8-digit credentials: the
    /// token shows the last 6 digits), hash-long-seed (seeds over 64 bytes: lossless),
    /// override (--algorithm/--period differ from the credential's), clock-drift (burn
    /// without syncing a clock far off). Repeatable.
    #[arg(long, value_name = "NAME", value_parser = parse_acceptance, help_heading = "Settings")]
    accept: Vec<Acceptance>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
    /// After the burn, check the code shown on the display (after switching the token off
    /// and on). Without a value: ask for it (with --sim: read the virtual display).
    #[arg(long, value_name = "CODE", num_args = 0..=1, default_missing_value = "")]
    verify: Option<String>,
    #[command(flatten)]
    enroll: crate::enroll::EnrollArgs,
}

/// Set the token's clock from the host.
///
/// The token takes its clock only together with algorithm, step and display timeout, so
/// these are written too. On restricted models (and unknown ones) that erases the seed:
/// refused unless --erase-seed; `safeid burn` sets the clock and writes the seed again.
#[derive(Debug, Args)]
pub struct SyncClockArgs {
    #[command(flatten)]
    backend: BackendArgs,
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    trace: TraceArgs,
    /// Hash algorithm to configure, sha1 or sha256 (must match the seed on the token).
    #[arg(long, value_parser = parse_hmac, default_value = "sha1")]
    algorithm: HmacAlgorithm,
    /// Time step, 30 or 60 seconds (must match the service).
    #[arg(long, default_value_t = 30)]
    period: u32,
    /// Display timeout: 15, 30, 60 or 120 seconds.
    #[arg(long, default_value_t = 30)]
    display_timeout: u32,
    /// Confirm that on a restricted model the seed will be erased.
    #[arg(long)]
    erase_seed: bool,
}

pub fn info(args: &InfoArgs, out: Out) -> CliResult {
    let provisioner = provisioner(&args.backend, None, Some(&args.trace))?;
    let mut backend = args.backend.open(out)?;
    let status = provisioner.read(backend.transport.as_mut())?;
    let warning = status.clock_warning(30);
    if out.json {
        let mut v = json!(status);
        v["token_date"] = json!(safeid::report::utc_date(u64::from(status.token_time)));
        v["clock_warning"] = json!(warning);
        outln!("{v}");
    } else {
        out!("{}", status_text(&status));
        if let Some(w) = warning {
            out.warn(w);
        }
    }
    Ok(Exit::Success)
}

fn plan_options(args: &BurnArgs) -> PlanOptions {
    PlanOptions {
        algorithm: args.algorithm,
        period: args.period,
        display_timeout: Some(args.display_timeout),
        accept: args.accept.iter().copied().collect::<BTreeSet<_>>(),
    }
}

pub fn burn(args: &BurnArgs, out: Out) -> CliResult {
    // Everything that can be refused without touching a token is checked first.
    crate::seed::one_stdin(&[
        ("--uri", args.seed.uri.as_deref()),
        ("--secret-base32", args.seed.secret_base32.as_deref()),
        ("--secret-hex", args.seed.secret_hex.as_deref()),
        ("--qr", args.seed.qr.as_deref().and_then(|p| p.to_str())),
        ("--key", args.key.key.as_deref()),
        (
            "--models",
            args.backend.models.as_deref().and_then(|p| p.to_str()),
        ),
        ("--secret-prompt", args.seed.secret_prompt.then_some("-")),
        ("--enroll-password", args.enroll.enroll_password.as_deref()),
    ])?;
    // The server is checked (reachable, credentials taken) before the token is touched.
    let mut enroller = args.enroll.enroller()?;
    if let Some(e) = enroller.as_mut() {
        e.check().map_err(crate::enroll::enroll_error)?;
    }
    let provisioner = provisioner(&args.backend, Some(&args.key), Some(&args.trace))?;
    let secret = crate::seed::read(
        &args.seed,
        args.account.as_deref(),
        provisioner.models(),
        out,
    )?;
    let plan = secret.plan(&plan_options(args))?;
    let mut backend = args.backend.open(out)?;
    let status = provisioner.read(backend.transport.as_mut())?;
    let options = BurnOptions {
        sync_clock: args.sync_clock,
        accept_clock_drift: args.accept.contains(&Acceptance::Risk(Risk::ClockDrift)),
    };
    let pending = provisioner.prepare(status, plan, &options)?;
    if !out.json && !out.quiet {
        errln!("{}", status_text(pending.token()).trim_end());
    }
    let warnings: Vec<String> = pending.warnings().iter().map(ToString::to_string).collect();
    for w in &warnings {
        out.warn(w);
    }
    let asks = !args.yes && backend.virtual_token.is_none();
    if asks && !confirm(&pending.question())? {
        return Err(CliError::new(
            "not_confirmed",
            "not confirmed: nothing was written",
        ));
    }
    let burned = pending.burn(&provisioner, backend.transport.as_mut())?;
    let display = backend.display();
    if !out.json {
        print_report(&burned, display.as_deref());
    }
    let verification = match &args.verify {
        None => None,
        Some(code) => Some(burned.verify_now(&verify_code(code, display.as_deref())?)),
    };
    let enrollment = enroller
        .as_mut()
        .map(|e| burned.enroll(e.as_mut(), verification.as_ref()));
    if out.json {
        print_json(
            &burned,
            warnings,
            display,
            verification.as_ref(),
            enrollment.as_ref(),
        );
    } else {
        if let Some(v) = &verification {
            let tag = if v.holds_seed() {
                "verified   "
            } else {
                "NOT VERIFIED"
            };
            outln!("{tag} {}", v.explanation());
        }
        if let Some(e) = &enrollment {
            outln!("{}", enrollment_line(e));
        }
    }
    Ok(match (verification, enrollment) {
        (Some(v), _) if !v.holds_seed() => Exit::NotVerified,
        (_, Some(Err(_))) => Exit::Failure,
        _ => Exit::Success,
    })
}

type EnrollResult = Result<Option<safeid::enroll::EnrollOutcome>, safeid::enroll::EnrollError>;

fn enrollment_line(e: &EnrollResult) -> String {
    match e {
        Ok(None) => "NOT ENROLLED: the code did not verify; burn the token again first".into(),
        Ok(Some(o)) => crate::enroll::describe(&Ok(*o)),
        Err(err) => format!(
            "NOT ENROLLED: {err}\n  the token is burned; once the server answers, run the same burn again (the token is burned again with the same seed and enrolled)"
        ),
    }
}

fn enrollment_json(e: &EnrollResult) -> serde_json::Value {
    match e {
        Ok(None) => json!({"status": "not_verified"}),
        Ok(Some(o)) => crate::enroll::json(&Ok(*o)),
        Err(err) => crate::enroll::json(&Err(err.clone())),
    }
}

fn print_json(
    burned: &Burned,
    warnings: Vec<String>,
    display: Option<String>,
    verification: Option<&Verification>,
    enrollment: Option<&EnrollResult>,
) {
    let mut value = json!(burned.report());
    if let Some(e) = enrollment {
        value["enrollment"] = enrollment_json(e);
    }
    value["warnings"] = json!(warnings);
    if let Some(d) = display {
        value["virtual_display"] = json!(d);
    }
    if let Some(v) = verification {
        value["verify"] = json!(v);
        value["verify"]["matched"] = json!(v.holds_seed());
        value["verify"]["explanation"] = json!(v.explanation());
    }
    outln!("{value}");
}

/// The code to verify: given, read off the virtual display, or typed.
fn verify_code(given: &str, display: Option<&str>) -> Result<String, CliError> {
    if !given.is_empty() {
        return Ok(given.to_owned());
    }
    if let Some(d) = display {
        return Ok(d.to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "--verify without a code needs a terminal: give the code, --verify 123456",
        ));
    }
    prompt("Switch the token off and on, then type the code it shows: ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::new("io", format!("reading the code: {e}")))?;
    Ok(line.trim().to_owned())
}

fn confirm(question: &str) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "not a terminal, cannot ask for confirmation: add --yes",
        ));
    }
    prompt(&format!("{question} [y/N] "));
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::new("io", format!("reading the answer: {e}")))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// A question on standard error, without a newline.
fn prompt(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

fn print_report(burned: &Burned, display: Option<&str>) {
    let r = burned.report();
    if r.token.key_source == safeid::KeySource::User && r.token.status.model.is_none() {
        outln!("key         given (model unknown: the key was a guess, and it was accepted)");
    }
    outln!(
        "written     config (clock {}, {}, {} s step, display {} s), then seed ({} bytes)",
        if r.clock_synced {
            format!(
                "set to {}",
                safeid::report::utc_date(u64::from(r.clock_set_to))
            )
        } else {
            "kept".to_owned()
        },
        r.hmac,
        r.step_seconds,
        r.display_timeout_seconds,
        r.seed_bytes
    );
    if let Some(label) = &r.label {
        outln!("credential  {label}");
    }
    for c in &r.conversions {
        outln!("conversion  {}", c.describe());
    }
    outln!();
    // Computed now, so that "seconds left" is not stale.
    let codes = burned.expected_now();
    outln!("Switch the token off and on; its display must show one of:");
    outln!("  previous  {}", codes.previous);
    outln!(
        "  current   {}   ({} s left)",
        codes.current,
        codes.seconds_left
    );
    outln!("  next      {}", codes.next);
    if let Some(d) = display {
        outln!("virtual token display: {d}");
    }
}

pub fn sync_clock(args: &SyncClockArgs, out: Out) -> CliResult {
    let settings = ClockSettings {
        hmac: args.algorithm,
        step: TimeStep::from_seconds(args.period)
            .ok_or_else(|| CliError::usage("--period must be 30 or 60"))?,
        display_timeout: DisplayTimeout::from_seconds(args.display_timeout)
            .ok_or_else(|| CliError::usage("--display-timeout must be 15, 30, 60 or 120"))?,
    };
    let provisioner = provisioner(&args.backend, Some(&args.key), Some(&args.trace))?;
    let mut backend = args.backend.open(out)?;
    let status: TokenStatus =
        provisioner.sync_clock(backend.transport.as_mut(), &settings, args.erase_seed)?;
    // A known restricted model lost its seed; an unknown one is treated as if it did.
    let seed_erased = match (status.restricted, status.model.is_some()) {
        (false, _) => Some(false),
        (true, true) => Some(true),
        (true, false) => None,
    };
    if out.json {
        let mut v = json!(status);
        v["token_date"] = json!(safeid::report::utc_date(u64::from(status.token_time)));
        v["clock_set"] = json!(true);
        v["seed_erased"] = json!(seed_erased);
        outln!("{v}");
    } else {
        out!("{}", status_text(&status));
        outln!("clock set to the host's time");
        match seed_erased {
            Some(true) => outln!("the seed was erased (restricted model): burn a seed before use"),
            None => outln!(
                "the seed may have been erased (unknown model, treated as restricted): burn a seed before use"
            ),
            Some(false) => outln!("the seed was kept (this model keeps it on a config write)"),
        }
    }
    Ok(Exit::Success)
}
