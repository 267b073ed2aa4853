//! `safeid scan`: find QR codes in image files or on the screens, and say what they hold.

use std::path::PathBuf;

use clap::Args;
use safeid::content::Content;
use safeid::sources::{self, Found, SeedInput, SourceError};
use serde_json::json;

use crate::Out;
use crate::error::{CliError, CliResult, Exit};
use crate::output::{credential_json, credential_text};

/// Find QR codes in image files (PNG, JPEG, BMP, GIF, WebP, TIFF) or on every screen, and
/// say what each holds: an otpauth credential (secret redacted unless --reveal), a Google
/// Authenticator export, or what else it is (a Microsoft push enrolment, a passkey code,
/// a token's serial barcode, a web address). Every file is reported, each on its own:
/// one that cannot be read or holds no code does not hide the others.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Image files to scan (`-`: an image on standard input).
    files: Vec<PathBuf>,
    /// Capture and scan every monitor.
    #[arg(long)]
    screen: bool,
    /// With --screen: keep scanning every monitor until a code appears (say, while the
    /// service's enrolment page loads), then report it once. Scans pause at least four
    /// times as long as they take, so the watch uses at most a quarter of one core.
    #[arg(long, requires = "screen")]
    watch: bool,
    /// With --watch: give up after this many seconds (0: watch until interrupted).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 120,
        requires = "watch"
    )]
    timeout: u64,
    /// With --watch: the shortest time between two scans, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(50..=60_000), requires = "watch")]
    interval: u64,
    /// Show secrets (in `text` and the credential fields).
    #[arg(long)]
    reveal: bool,
}

fn kind_name(c: &Content) -> &'static str {
    match c {
        Content::Credential(_) => "otpauth",
        Content::Migration(_) => "otpauth-migration",
        Content::BrokenOtpauth(_) => "broken-otpauth",
        Content::MicrosoftPush => "microsoft-push",
        Content::FidoPasskey => "fido-passkey",
        Content::TokenSerial { .. } => "token-serial",
        Content::Url(_) => "url",
        Content::Text => "text",
    }
}

/// Prints what one source gave; returns how many codes it held.
fn print_found(
    name: &str,
    result: Result<Found, SourceError>,
    args: &ScanArgs,
    out: Out,
) -> Result<usize, CliError> {
    let found = result?;
    if found.scanned.is_empty() {
        let message = format!("{name}: no QR code found");
        if out.json {
            outln!("{}", json!({"file": name, "codes": 0}));
        } else {
            outln!("{message}");
        }
    }
    for s in &found.scanned {
        let text = if args.reveal {
            s.text.expose().to_owned()
        } else {
            s.content.redacted(s.text.expose())
        };
        if out.json {
            let mut v = json!({
                "file": s.source,
                "text": text,
                "kind": kind_name(&s.content),
                "description": s.content.describe(),
            });
            let creds = s.content.credentials();
            if !creds.is_empty() {
                v["credentials"] = creds
                    .iter()
                    .map(|c| credential_json(c, args.reveal))
                    .collect();
            }
            outln!("{v}");
        } else {
            outln!("{}: {}", s.source, s.content.describe());
            outln!("  text       {text}");
            for c in s.content.credentials() {
                out!("{}", credential_text(&c, args.reveal));
            }
        }
    }
    Ok(found.scanned.len())
}

/// `--watch`: polls the screens through the library's watch (which bounds the CPU use).
/// A timeout gives an empty result, reported like a scan that found nothing.
fn watch(
    args: &ScanArgs,
    models: &safeid::proto::ModelTable,
    out: Out,
) -> Result<Found, SourceError> {
    let options = sources::WatchOptions {
        interval: std::time::Duration::from_millis(args.interval),
        timeout: (args.timeout > 0).then(|| std::time::Duration::from_secs(args.timeout)),
    };
    if !out.json {
        match options.timeout {
            Some(_) => errln!(
                "watching every screen for a QR code (gives up after {} s; Ctrl-C stops)",
                args.timeout
            ),
            None => errln!("watching every screen for a QR code (Ctrl-C stops)"),
        }
    }
    let found = sources::watch_screens(models, options, &|| false)?;
    if found.is_none() && !out.json {
        errln!("no QR code appeared within {} s", args.timeout);
    }
    Ok(found.unwrap_or_default())
}

pub fn run(args: &ScanArgs, out: Out) -> CliResult {
    if args.files.is_empty() && !args.screen {
        return Err(CliError::usage("give image files to scan, or --screen"));
    }
    if args.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(CliError::usage(
            "`-` (standard input) can be given only once",
        ));
    }
    let models = safeid::proto::ModelTable::builtin();
    let mut inputs: Vec<(String, Result<SeedInput, CliError>)> = args
        .files
        .iter()
        .map(|f| {
            if f.as_os_str() == "-" {
                ("standard input".to_owned(), crate::seed::qr_input(f))
            } else {
                (f.display().to_string(), Ok(SeedInput::QrFile(f.clone())))
            }
        })
        .collect();
    if args.screen {
        if sources::screen_may_ask_permission() && !out.json {
            errln!(
                "your desktop may ask you to allow a screenshot: answer its dialog (safeid waits up to {} s)",
                safeid::qr::screen::PORTAL_TIMEOUT.as_secs()
            );
        }
        inputs.push(("the screens".into(), Ok(SeedInput::Screen)));
    }
    let (mut codes, mut errors) = (0usize, 0usize);
    for (name, input) in inputs {
        let result = input.and_then(|input| {
            let found = if args.watch && matches!(input, SeedInput::Screen) {
                watch(args, &models, out)
            } else {
                sources::read(input, &models)
            };
            print_found(&name, found, args, out)
        });
        match result {
            Ok(n) => codes += n,
            Err(e) => {
                errors += 1;
                if out.json {
                    let mut v = e.json();
                    v["file"] = json!(name);
                    outln!("{v}");
                } else {
                    errln!("error: {e}");
                }
            }
        }
    }
    Ok(if errors == 0 && codes > 0 {
        Exit::Success
    } else {
        Exit::Failure
    })
}
