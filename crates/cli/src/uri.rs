//! `safeid uri`: decode otpauth URIs.

use std::io::BufRead;
use std::process::ExitCode;

use clap::Args;
use safeid::otpauth::{self, Parsed};
use serde_json::json;

use super::CliResult;
use super::output::{credential_json, credential_text};

/// Decode otpauth:// and otpauth-migration:// URIs (Google Authenticator exports).
///
/// Secrets are shown as <redacted> unless --reveal is given.
#[derive(Debug, Args)]
pub struct UriArgs {
    /// URIs to decode; with none, one URI per line is read from standard input.
    uris: Vec<String>,
    /// Print one JSON object per credential (per input line on error: {"error": "..."}).
    #[arg(long)]
    json: bool,
    /// Show the secret (base32 and hex).
    #[arg(long)]
    reveal: bool,
}

pub fn run(args: &UriArgs) -> CliResult {
    let inputs: Vec<String> = if args.uris.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect()
    } else {
        args.uris.clone()
    };
    let mut failed = false;
    for (n, input) in inputs.iter().enumerate() {
        match otpauth::parse_any(input) {
            Ok(Parsed::Single(cred)) => {
                if args.json {
                    println!("{}", credential_json(&cred, args.reveal));
                } else {
                    println!("input {}: otpauth URI", n + 1);
                    print!("{}", credential_text(&cred, args.reveal));
                }
            }
            Ok(Parsed::Migration(batch)) => {
                if !args.json {
                    println!(
                        "input {}: Google Authenticator export with {} account(s)",
                        n + 1,
                        batch.credentials.len()
                    );
                }
                for (i, cred) in batch.credentials.iter().enumerate() {
                    if args.json {
                        println!("{}", credential_json(cred, args.reveal));
                    } else {
                        println!(" account {}:", i + 1);
                        print!("{}", credential_text(cred, args.reveal));
                    }
                }
            }
            Err(e) => {
                failed = true;
                if args.json {
                    println!("{}", json!({ "error": e.to_string() }));
                } else {
                    eprintln!("input {}: {e}", n + 1);
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
