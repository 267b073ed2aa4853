//! `safeid scan`: find QR codes in image files or on the screens, and say what they hold.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use safeid::content::{self, Content};
use safeid::otpauth::Credential;
use safeid::proto::ModelTable;
use safeid::qr::Limits;
use serde_json::json;

use super::CliResult;
use super::output::{credential_json, credential_text};

/// Find QR codes in image files (PNG, JPEG, BMP, GIF, WebP, TIFF) or on every screen, and
/// say what each holds: an otpauth credential (secret redacted unless --reveal), a Google
/// Authenticator export, or what else it is (a Microsoft push enrolment, a passkey code,
/// a token's serial barcode, a web address).
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Image files to scan.
    files: Vec<PathBuf>,
    /// Capture and scan every monitor (X11).
    #[arg(long)]
    screen: bool,
    /// One JSON object per code found: {"file", "text", "kind", "description"}.
    #[arg(long)]
    json: bool,
    /// Show secrets (in `text` and the credential fields).
    #[arg(long)]
    reveal: bool,
}

/// One decoded code and where it came from.
pub struct Scanned {
    /// File name, or the screen's name.
    pub source: String,
    /// The decoded text (may hold a secret).
    pub text: safeid::secret::SecretString,
}

/// Scans files and, with `screen`, the monitors.
pub fn scan(files: &[PathBuf], screen: bool) -> Result<Vec<Scanned>, Box<dyn std::error::Error>> {
    let limits = Limits::default();
    let mut out = Vec::new();
    for f in files {
        let found =
            safeid::qr::decode_file(f, &limits).map_err(|e| format!("{}: {e}", f.display()))?;
        out.extend(found.into_iter().map(|c| Scanned {
            source: f.display().to_string(),
            text: c.text,
        }));
    }
    if screen {
        for (name, found) in safeid::qr::scan_screens(&limits)? {
            out.extend(found.into_iter().map(|c| Scanned {
                source: name.clone(),
                text: c.text,
            }));
        }
    }
    Ok(out)
}

/// The credentials found by a scan (for `burn --qr/--screen`).
pub fn credentials(scanned: &[Scanned]) -> Vec<Credential> {
    let models = ModelTable::builtin();
    scanned
        .iter()
        .flat_map(|s| Content::classify(s.text.expose(), &models).credentials())
        .collect()
}

/// What the codes were, for an error message when none holds a credential.
pub fn describe_all(scanned: &[Scanned]) -> String {
    let models = ModelTable::builtin();
    if scanned.is_empty() {
        return "no QR code was found".into();
    }
    scanned
        .iter()
        .map(|s| {
            format!(
                "{}: {}",
                s.source,
                Content::classify(s.text.expose(), &models).describe()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
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

pub fn run(args: &ScanArgs) -> CliResult {
    if args.files.is_empty() && !args.screen {
        return Err("give image files to scan, or --screen".into());
    }
    let scanned = scan(&args.files, args.screen)?;
    let models = ModelTable::builtin();
    if scanned.is_empty() && !args.json {
        eprintln!("no QR code found");
    }
    for s in &scanned {
        let content = Content::classify(s.text.expose(), &models);
        let text = if args.reveal {
            s.text.expose().to_owned()
        } else {
            content::redact(s.text.expose())
        };
        if args.json {
            let mut v = json!({
                "file": s.source,
                "text": text,
                "kind": kind_name(&content),
                "description": content.describe(),
            });
            let creds = content.credentials();
            if !creds.is_empty() {
                v["credentials"] = creds
                    .iter()
                    .map(|c| credential_json(c, args.reveal))
                    .collect();
            }
            println!("{v}");
        } else {
            println!("{}: {}", s.source, content.describe());
            println!("  text       {text}");
            for c in content.credentials() {
                print!("{}", credential_text(&c, args.reveal));
            }
        }
    }
    Ok(if scanned.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
