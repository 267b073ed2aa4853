//! `safeid info`, `safeid burn`, `safeid sync-clock`: the commands that talk to a token.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use safeid::otpauth::{self, Credential, Parsed};
use safeid::plan::expected_totp;
use safeid::proto::{DisplayTimeout, HmacAlgorithm, TimeStep};
use safeid::secret::SecretBytes;
use safeid::{BurnPlan, BurnReport, ClockSettings, Conversion, PlanOptions, Session, TokenStatus};
use serde_json::json;

use super::CliResult;
use super::backend::BackendArgs;

/// The algorithms a token can run.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TokenAlgorithm {
    /// HMAC-SHA-1.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
}

impl From<TokenAlgorithm> for HmacAlgorithm {
    fn from(a: TokenAlgorithm) -> Self {
        match a {
            TokenAlgorithm::Sha1 => HmacAlgorithm::Sha1,
            TokenAlgorithm::Sha256 => HmacAlgorithm::Sha256,
        }
    }
}

/// Read a token's serial, model and clock.
#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Where the seed comes from (exactly one). For fresh random seeds use `safeid batch
/// --random` (with `--count 1` for one token): its journal keeps the seed before it is
/// burned, so it can be exported afterwards.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SeedArgs {
    /// An otpauth:// URI (or an otpauth-migration:// export; pick with --account).
    #[arg(long, help_heading = "Seed")]
    uri: Option<String>,
    /// The secret as base32 (spaces, padding and lower case tolerated).
    #[arg(long, help_heading = "Seed")]
    secret_base32: Option<String>,
    /// The secret as hex (either letter case).
    #[arg(long, help_heading = "Seed")]
    secret_hex: Option<String>,
    /// An image file holding the service's QR code (PNG, JPEG, BMP, GIF, WebP, TIFF).
    #[arg(long, value_name = "FILE", help_heading = "Seed")]
    qr: Option<std::path::PathBuf>,
    /// Take the QR code from the screens (every monitor).
    #[arg(long, help_heading = "Seed")]
    screen: bool,
    /// Type the secret (base32 or hex, detected; or prefixed `base32:` / `hex:`) at a
    /// prompt that does not echo it. Without a terminal, one line is read from stdin.
    #[arg(long, help_heading = "Seed")]
    secret_prompt: bool,
}

/// Burn a seed into a token.
///
/// Order, always: read serial and clock; pick the access key (model table, or --key);
/// authenticate once (never retried); write config (clock from the host, algorithm,
/// step, display timeout); write the seed. On restricted models writing config erases the
/// seed, which is why config always goes first.
#[derive(Debug, Args)]
pub struct BurnArgs {
    #[command(flatten)]
    seed: SeedArgs,
    /// With several accounts (a Google Authenticator export, or several codes on the
    /// screen): which one (1-based index, or a part of "issuer:account").
    #[arg(long, help_heading = "Seed")]
    account: Option<String>,
    #[command(flatten)]
    backend: BackendArgs,
    /// Access key: 32 hex digits, @FILE holding them, or env:NAME. Needed only for models
    /// whose key is not known; a wrong key is refused once and never retried.
    #[arg(long, value_name = "HEX|@FILE|env:NAME", help_heading = "Token")]
    key: Option<String>,
    /// Hash algorithm to configure [default: the credential's].
    #[arg(long, value_enum, help_heading = "Settings")]
    algorithm: Option<TokenAlgorithm>,
    /// Time step in seconds, 30 or 60 [default: the credential's].
    #[arg(long, help_heading = "Settings")]
    period: Option<u64>,
    /// How long the display stays on: 15, 30, 60 or 120 seconds.
    #[arg(long, default_value_t = 30, help_heading = "Settings")]
    display_timeout: u32,
    /// Set the token's clock from the host (on by default). With --sync-clock=false the
    /// token keeps its own clock (the config write then re-sends the token's time).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, help_heading = "Settings")]
    sync_clock: bool,
    /// Accept a documented conversion: six-digits (7/8-digit credentials: the token shows
    /// the last 6 digits), hash-long-seed (seeds over 64 bytes: lossless), override
    /// (--algorithm/--period differ from the credential's). Repeatable.
    #[arg(long, value_name = "CONVERSION", value_parser = parse_conversion, help_heading = "Settings")]
    accept: Vec<Conversion>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
    /// After the burn, check the code shown on the display (after switching the token off
    /// and on). Without a value: ask for it (with --sim: read the virtual display).
    #[arg(long, value_name = "CODE", num_args = 0..=1, default_missing_value = "")]
    verify: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Set the token's clock from the host.
///
/// The token takes its clock only together with algorithm, step and display timeout, so
/// these are written too. On restricted models (and unknown ones) that erases the seed:
/// refused unless --erase-seed; `safeid burn` re-burns the seed in the same session.
#[derive(Debug, Args)]
pub struct SyncClockArgs {
    #[command(flatten)]
    backend: BackendArgs,
    /// Access key (see `safeid burn --help`).
    #[arg(long, value_name = "HEX|@FILE|env:NAME")]
    key: Option<String>,
    /// Hash algorithm to configure (must match the seed already on the token).
    #[arg(long, value_enum, default_value = "sha1")]
    algorithm: TokenAlgorithm,
    /// Time step, 30 or 60 seconds (must match the service).
    #[arg(long, default_value_t = 30)]
    period: u32,
    /// Display timeout: 15, 30, 60 or 120 seconds.
    #[arg(long, default_value_t = 30)]
    display_timeout: u32,
    /// Confirm that on a restricted model the seed will be erased.
    #[arg(long)]
    erase_seed: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn parse_conversion(s: &str) -> Result<Conversion, String> {
    Conversion::from_name(s)
        .ok_or_else(|| "expected one of: six-digits, hash-long-seed, override".to_owned())
}

/// Decodes a hex secret typed by a user (spaces allowed, either letter case).
pub fn decode_hex_secret(text: &str) -> Result<SecretBytes, Box<dyn std::error::Error>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let compact = safeid::secret::SecretString::new(compact.to_ascii_uppercase());
    data_encoding::HEXUPPER
        .decode(compact.expose().as_bytes())
        .map(SecretBytes::new)
        .map_err(|_| "the hex secret is not valid hex (an even number of 0-9, A-F)".into())
}

fn session<'t>(
    backend: &'t mut super::backend::Backend,
    args: &BackendArgs,
    key: Option<&str>,
    trace: bool,
) -> Result<Session<'t>, Box<dyn std::error::Error>> {
    let mut session = Session::new(backend.transport.as_mut()).with_models(args.model_table()?);
    if let Some(k) = key {
        session = session.with_key(safeid::keys::parse_key_arg(k)?);
    }
    if trace {
        session = session.with_trace(Box::new(|line: &str| eprintln!("apdu {line}")));
    }
    Ok(session)
}

fn status_text(s: &TokenStatus) -> String {
    let model = match (&s.model, &s.manufacturer) {
        (Some(m), Some(maker)) if !m.starts_with(maker.as_str()) => format!("{maker} {m}"),
        (Some(m), _) => m.clone(),
        (None, _) => "unknown model (no access key known: --key needed to burn)".to_owned(),
    };
    format!(
        "serial      {}\nmodel       {model}{}\ntoken clock {} (host {}, drift {:+} s)\n",
        s.serial,
        if s.restricted {
            ", restricted: a config write erases the seed"
        } else {
            ""
        },
        s.token_time,
        s.host_time,
        s.drift
    )
}

pub fn info(args: &InfoArgs, trace: bool) -> CliResult {
    let mut backend = args.backend.open()?;
    let status = session(&mut backend, &args.backend, None, trace)?.info()?;
    if args.json {
        println!("{}", serde_json::to_string(&status)?);
    } else {
        print!("{}", status_text(&status));
    }
    Ok(ExitCode::SUCCESS)
}

fn credential(args: &BurnArgs) -> Result<Option<Credential>, Box<dyn std::error::Error>> {
    let creds = if args.seed.qr.is_some() || args.seed.screen {
        let files: Vec<std::path::PathBuf> = args.seed.qr.iter().cloned().collect();
        let scanned = super::scan::scan(&files, args.seed.screen)?;
        let creds = super::scan::credentials(&scanned);
        if creds.is_empty() {
            return Err(format!(
                "no otpauth credential in the QR code(s):\n{}",
                super::scan::describe_all(&scanned)
            )
            .into());
        }
        creds
    } else if let Some(uri) = &args.seed.uri {
        match otpauth::parse_any(uri)? {
            Parsed::Single(c) => vec![c],
            Parsed::Migration(batch) => batch.credentials,
        }
    } else {
        return Ok(None);
    };
    Ok(Some(safeid::content::pick(
        &creds,
        args.account.as_deref(),
    )?))
}

fn plan(args: &BurnArgs) -> Result<BurnPlan, Box<dyn std::error::Error>> {
    let opts = PlanOptions {
        algorithm: args.algorithm.map(Into::into),
        period: args.period,
        display_timeout: Some(args.display_timeout),
        accept: args.accept.iter().copied().collect::<BTreeSet<_>>(),
    };
    if let Some(cred) = credential(args)? {
        return Ok(BurnPlan::from_credential(&cred, &opts)?);
    }
    let seed = match (&args.seed.secret_base32, &args.seed.secret_hex) {
        _ if args.seed.secret_prompt => prompt_secret()?,
        (Some(b32), _) => otpauth::decode_base32(b32)?,
        (_, Some(hex)) => decode_hex_secret(hex)?,
        _ => {
            return Err(
                "give the seed: --uri, --qr FILE, --screen, --secret-base32 or --secret-hex".into(),
            );
        }
    };
    let hmac = args.algorithm.map_or(HmacAlgorithm::Sha1, Into::into);
    let raw_opts = PlanOptions {
        algorithm: None,
        period: None,
        ..opts
    };
    Ok(BurnPlan::from_seed(
        &seed,
        hmac,
        args.period.unwrap_or(30),
        &raw_opts,
    )?)
}

/// Reads a secret without echo (or a line from a non-terminal stdin).
fn prompt_secret() -> Result<SecretBytes, Box<dyn std::error::Error>> {
    let text = if std::io::stdin().is_terminal() {
        safeid::secret::SecretString::new(rpassword::prompt_password(
            "Secret (base32 or hex; not shown): ",
        )?)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        safeid::secret::SecretString::new(line)
    };
    let (seed, encoding) = safeid::sources::parse_manual_secret(text.expose().trim())?;
    eprintln!("secret read as {} ({} bytes)", encoding.name(), seed.len());
    Ok(seed)
}

fn confirm(question: &str) -> Result<bool, Box<dyn std::error::Error>> {
    if !std::io::stdin().is_terminal() {
        return Err("not a terminal, cannot ask for confirmation: add --yes".into());
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

pub fn burn(args: &BurnArgs, trace: bool) -> CliResult {
    // Everything that can be refused without touching a token is checked first.
    let plan = plan(args)?;
    let mut backend = args.backend.open()?;
    let virtual_token = backend.virtual_token.clone();
    let mut session = session(&mut backend, &args.backend, args.key.as_deref(), trace)?
        .with_clock_sync(args.sync_clock);

    if !args.yes && virtual_token.is_none() {
        let status = session.info()?;
        eprint!("{}", status_text(&status));
        if !confirm("Burn this token? Its current seed will be replaced")? {
            eprintln!("nothing written");
            return Ok(ExitCode::FAILURE);
        }
    }
    let report = session.burn(&plan)?;
    drop(session);

    let display = virtual_token
        .as_ref()
        .and_then(|t| t.lock().ok().and_then(|t| t.display_code()));
    let verified = match &args.verify {
        None => None,
        Some(code) => {
            let code = if !code.is_empty() {
                code.clone()
            } else if let Some(d) = &display {
                d.clone()
            } else {
                ask_code()?
            };
            let totp = expected_totp(plan.seed().expose(), plan.hmac(), plan.step());
            Some((
                code.clone(),
                totp.verify(code.trim(), safeid::totp::now(), 1),
            ))
        }
    };

    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(d) = &display {
            value["virtual_display"] = json!(d);
        }
        if let Some((code, offset)) = &verified {
            value["verify"] =
                json!({"code": code, "matched": offset.is_some(), "step_offset": offset});
        }
        println!("{value}");
    } else {
        print_report(&report, display.as_deref());
        if let Some((code, offset)) = &verified {
            match offset {
                Some(0) => println!(
                    "verified    {code} matches: the token is burned and its clock is in step"
                ),
                Some(o) => println!(
                    "verified    {code} matches at step offset {o:+}: burned; the token clock is about {} s off",
                    o * i64::from(report.step_seconds)
                ),
                None => println!(
                    "NOT VERIFIED {code} is not a code of this seed around now: burn again, or check the token was switched off and on"
                ),
            }
        }
    }
    Ok(match verified {
        Some((_, None)) => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}

fn ask_code() -> Result<String, Box<dyn std::error::Error>> {
    if !std::io::stdin().is_terminal() {
        return Err(
            "--verify without a code needs a terminal: give the code, --verify 123456".into(),
        );
    }
    eprint!("Switch the token off and on, then type the code it shows: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

fn print_report(r: &BurnReport, display: Option<&str>) {
    print!("{}", status_text(&r.token.status));
    if r.token.key_source == safeid::KeySource::User && r.token.status.model.is_none() {
        println!(
            "key         given with --key (model unknown: the key was a guess, and it was accepted)"
        );
    }
    println!(
        "written     config (clock {}, {}, {} s step, display {} s), then seed ({} bytes)",
        r.clock_set_to,
        safeid::report::hmac_name(r.hmac),
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
    println!("apdus       {}", r.apdus);
    println!();
    println!("Switch the token off and on; its display must show one of:");
    println!("  previous  {}", r.expected.previous);
    println!(
        "  current   {}   ({} s left)",
        r.expected.current, r.expected.seconds_left
    );
    println!("  next      {}", r.expected.next);
    if let Some(d) = display {
        println!("virtual token display: {d}");
    }
}

pub fn sync_clock(args: &SyncClockArgs, trace: bool) -> CliResult {
    let settings = ClockSettings {
        hmac: args.algorithm.into(),
        step: TimeStep::from_seconds(args.period).ok_or("--period must be 30 or 60")?,
        display_timeout: DisplayTimeout::from_seconds(args.display_timeout)
            .ok_or("--display-timeout must be 15, 30, 60 or 120")?,
    };
    let mut backend = args.backend.open()?;
    let status = session(&mut backend, &args.backend, args.key.as_deref(), trace)?
        .sync_clock(&settings, args.erase_seed)?;
    if args.json {
        println!("{}", serde_json::to_string(&status)?);
    } else {
        print!("{}", status_text(&status));
        println!("clock set to the host's time");
        if status.restricted {
            println!("the seed was erased (restricted model): burn a seed before use");
        }
    }
    Ok(ExitCode::SUCCESS)
}
