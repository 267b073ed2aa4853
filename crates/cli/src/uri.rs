//! `safeid uri`: decode otpauth URIs.

use std::io::BufRead;

use clap::Args;
use safeid::otpauth::{self, Parsed};
use serde_json::json;

use crate::Out;
use crate::error::{CliError, CliResult, Exit};
use crate::output::{credential_json, credential_text};

/// Decode otpauth:// and otpauth-migration:// URIs (Google Authenticator exports).
///
/// Secrets are shown as `<redacted>` unless --reveal is given.
#[derive(Debug, Args)]
pub struct UriArgs {
    /// URIs to decode; with none (or `-`), one URI per line is read from standard input
    /// (blank lines are reported as such, so output lines follow input lines).
    uris: Vec<String>,
    /// Show the secret (base32 and hex).
    #[arg(long)]
    reveal: bool,
}

pub fn run(args: &UriArgs, out: Out) -> CliResult {
    let from_stdin = args.uris.is_empty() || args.uris == ["-"];
    let inputs: Vec<String> = if from_stdin {
        read_lines()?
    } else {
        args.uris.clone()
    };
    let mut failed = false;
    for (n, input) in inputs.iter().enumerate() {
        if input.trim().is_empty() {
            if out.json {
                outln!("{}", json!({"input": n + 1, "empty": true}));
            } else {
                outln!("input {}: empty line", n + 1);
            }
            continue;
        }
        match otpauth::parse_any(input) {
            Ok(Parsed::Single(cred)) => {
                if out.json {
                    let mut v = credential_json(&cred, args.reveal);
                    v["input"] = json!(n + 1);
                    outln!("{v}");
                } else {
                    outln!("input {}: otpauth URI", n + 1);
                    out!("{}", credential_text(&cred, args.reveal));
                }
            }
            Ok(Parsed::Migration(batch)) => {
                if !out.json {
                    outln!(
                        "input {}: Google Authenticator export with {}",
                        n + 1,
                        crate::output::plural(batch.credentials.len(), "account", "accounts")
                    );
                }
                for (i, cred) in batch.credentials.iter().enumerate() {
                    if out.json {
                        let mut v = credential_json(cred, args.reveal);
                        v["input"] = json!(n + 1);
                        v["account_number"] = json!(i + 1);
                        outln!("{v}");
                    } else {
                        outln!(" account {}:", i + 1);
                        out!("{}", credential_text(cred, args.reveal));
                    }
                }
            }
            Err(e) => {
                failed = true;
                if out.json {
                    let err = CliError::from(e);
                    let mut v = err.json();
                    v["input"] = json!(n + 1);
                    outln!("{v}");
                } else {
                    errln!("input {}: {e}", n + 1);
                }
            }
        }
    }
    Ok(if failed { Exit::Failure } else { Exit::Success })
}

/// One URI per line from standard input, each line at most 4096 bytes (longer lines are
/// refused before they are kept whole in memory).
fn read_lines() -> Result<Vec<String>, CliError> {
    let limit = safeid::otpauth::MAX_URI_LEN + 2;
    let mut lines = Vec::new();
    let stdin = std::io::stdin();
    let mut reader = stdin.lock();
    loop {
        let mut buf = Vec::new();
        let n = std::io::Read::take(&mut reader, limit as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| CliError::new("io", format!("standard input: {e}")))?;
        if n == 0 {
            return Ok(lines);
        }
        if buf.len() > limit && !buf.ends_with(b"\n") {
            return Err(CliError::new(
                "too_large",
                format!(
                    "line {} of standard input is longer than {} bytes, the most an otpauth URI may be",
                    lines.len() + 1,
                    safeid::otpauth::MAX_URI_LEN
                ),
            ));
        }
        let text = String::from_utf8_lossy(&buf);
        lines.push(text.trim_end_matches(['\n', '\r']).to_owned());
    }
}
