//! `safeid code`: compute HOTP/TOTP codes.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use safeid::otpauth::{self, Credential, Kind};
use safeid::secret::SecretBytes;
use safeid::totp::{self, Hotp, Totp};
use serde_json::json;

use super::CliResult;

/// Hash algorithms on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AlgorithmArg {
    /// HMAC-SHA-1 (most services).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512 (not supported by the tokens; codes only).
    Sha512,
}

impl From<AlgorithmArg> for totp::Algorithm {
    fn from(a: AlgorithmArg) -> Self {
        match a {
            AlgorithmArg::Sha1 => totp::Algorithm::Sha1,
            AlgorithmArg::Sha256 => totp::Algorithm::Sha256,
            AlgorithmArg::Sha512 => totp::Algorithm::Sha512,
        }
    }
}

fn from_uri_alg(a: otpauth::Algorithm) -> totp::Algorithm {
    match a {
        otpauth::Algorithm::Sha1 => totp::Algorithm::Sha1,
        otpauth::Algorithm::Sha256 => totp::Algorithm::Sha256,
        otpauth::Algorithm::Sha512 => totp::Algorithm::Sha512,
    }
}

/// Compute codes from an otpauth URI or a raw secret.
///
/// By default prints the previous, current and next TOTP code with the seconds left,
/// which is what a token with this seed shows around now. Options given on the command
/// line override the URI's.
#[derive(Debug, Args)]
pub struct CodeArgs {
    /// An otpauth:// URI (instead of --secret-base32 / --secret-hex).
    #[arg(conflicts_with_all = ["secret_base32", "secret_hex"])]
    uri: Option<String>,
    /// The secret as base32 (spaces, padding and lower case tolerated).
    #[arg(long, conflicts_with = "secret_hex")]
    secret_base32: Option<String>,
    /// The secret as hex (either letter case).
    #[arg(long)]
    secret_hex: Option<String>,
    /// Hash algorithm [default: the URI's, else sha1].
    #[arg(long, value_enum)]
    algorithm: Option<AlgorithmArg>,
    /// Number of digits, 6 to 10 [default: the URI's, else 6].
    #[arg(long)]
    digits: Option<u8>,
    /// TOTP period in seconds [default: the URI's, else 30].
    #[arg(long)]
    period: Option<u64>,
    /// Compute at this Unix time instead of now.
    #[arg(long, conflicts_with = "counter")]
    time: Option<u64>,
    /// Compute an HOTP code at this counter instead of a TOTP code.
    #[arg(long)]
    counter: Option<u64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &CodeArgs) -> CliResult {
    let (secret, cred) = source(args)?;
    let algorithm = args
        .algorithm
        .map(Into::into)
        .or(cred.as_ref().map(|c| from_uri_alg(c.algorithm)))
        .unwrap_or(totp::Algorithm::Sha1);
    let digits = args.digits.or(cred.as_ref().map(|c| c.digits)).unwrap_or(6);
    let uri_counter = match cred.as_ref().map(|c| &c.kind) {
        Some(Kind::Hotp { counter }) => Some(*counter),
        _ => None,
    };
    if let Some(counter) = args.counter.or(if args.time.is_none() {
        uri_counter
    } else {
        None
    }) {
        let hotp = Hotp::new(secret.expose(), algorithm, digits)?;
        let code = hotp.code(counter).to_string();
        if args.json {
            println!(
                "{}",
                json!({"type": "hotp", "counter": counter, "code": code})
            );
        } else {
            println!("HOTP code at counter {counter}: {code}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let period = args
        .period
        .or(match cred.as_ref().map(|c| &c.kind) {
            Some(Kind::Totp { period }) => Some(*period),
            _ => None,
        })
        .unwrap_or(30);
    let totp = Totp::new(secret.expose(), algorithm, digits, period)?;
    let now = args.time.unwrap_or_else(totp::now);
    let codes = safeid::ExpectedCodes::at(&totp, now);
    if args.json {
        println!(
            "{}",
            json!({
                "type": "totp", "time": now, "step": totp.step(now), "period": period,
                "previous": codes.previous, "current": codes.current, "next": codes.next,
                "seconds_left": codes.seconds_left,
            })
        );
    } else {
        println!("previous  {}", codes.previous);
        println!(
            "current   {}   ({} s left)",
            codes.current, codes.seconds_left
        );
        println!("next      {}", codes.next);
    }
    Ok(ExitCode::SUCCESS)
}

fn source(
    args: &CodeArgs,
) -> Result<(SecretBytes, Option<Credential>), Box<dyn std::error::Error>> {
    if let Some(uri) = &args.uri {
        let cred = Credential::parse(uri)?;
        return Ok((cred.secret.clone(), Some(cred)));
    }
    if let Some(b32) = &args.secret_base32 {
        return Ok((otpauth::decode_base32(b32)?, None));
    }
    if let Some(hex) = &args.secret_hex {
        return Ok((super::token::decode_hex_secret(hex)?, None));
    }
    Err("give the secret: an otpauth URI, --secret-base32 or --secret-hex".into())
}
