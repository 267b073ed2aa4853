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
use crate::backend::BackendArgs;
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
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, help_heading = "Settings")]
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
    let provisioner = args.backend.provisioner()?;
    let mut backend = args.backend.open(out)?;
    let status = provisioner.read(backend.transport.as_mut())?;
    let warning = status.clock_warning(30);
    if out.json {
        let mut v = json!(status);
        v["token_date"] = json!(safeid::report::utc_date(u64::from(status.token_time)));
        v["clock_warning"] = json!(warning);
        println!("{v}");
    } else {
        print!("{}", status_text(&status));
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
    let provisioner = args.backend.provisioner()?;
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
    if !out.json {
        eprint!("{}", status_text(pending.token()));
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
    if out.json {
        print_json(&burned, warnings, display, verification.as_ref());
    } else if let Some(v) = &verification {
        let tag = if v.holds_seed() {
            "verified   "
        } else {
            "NOT VERIFIED"
        };
        println!("{tag} {}", v.explanation());
    }
    Ok(match verification {
        Some(v) if !v.holds_seed() => Exit::NotVerified,
        _ => Exit::Success,
    })
}

fn print_json(
    burned: &Burned,
    warnings: Vec<String>,
    display: Option<String>,
    verification: Option<&Verification>,
) {
    let mut value = json!(burned.report());
    value["warnings"] = json!(warnings);
    if let Some(d) = display {
        value["virtual_display"] = json!(d);
    }
    if let Some(v) = verification {
        value["verify"] = json!(v);
        value["verify"]["matched"] = json!(v.holds_seed());
        value["verify"]["explanation"] = json!(v.explanation());
    }
    println!("{value}");
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
    eprint!("Switch the token off and on, then type the code it shows: ");
    let _ = std::io::stderr().flush();
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
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::new("io", format!("reading the answer: {e}")))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

fn print_report(burned: &Burned, display: Option<&str>) {
    let r = burned.report();
    if r.token.key_source == safeid::KeySource::User && r.token.status.model.is_none() {
        println!("key         given (model unknown: the key was a guess, and it was accepted)");
    }
    println!(
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
        println!("credential  {label}");
    }
    for c in &r.conversions {
        println!("conversion  {}", c.describe());
    }
    println!();
    // Computed now, so that "seconds left" is not stale.
    let codes = burned.expected_now();
    println!("Switch the token off and on; its display must show one of:");
    println!("  previous  {}", codes.previous);
    println!(
        "  current   {}   ({} s left)",
        codes.current, codes.seconds_left
    );
    println!("  next      {}", codes.next);
    if let Some(d) = display {
        println!("virtual token display: {d}");
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
    let provisioner = args.backend.provisioner()?;
    let mut backend = args.backend.open(out)?;
    let status: TokenStatus =
        provisioner.sync_clock(backend.transport.as_mut(), &settings, args.erase_seed)?;
    if out.json {
        let mut v = json!(status);
        v["clock_set"] = json!(true);
        v["seed_erased"] = json!(status.restricted);
        println!("{v}");
    } else {
        print!("{}", status_text(&status));
        println!("clock set to the host's time");
        if status.restricted {
            println!("the seed was erased (restricted model): burn a seed before use");
        }
    }
    Ok(Exit::Success)
}
