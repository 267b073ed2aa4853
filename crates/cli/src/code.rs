//! `safeid code`: compute HOTP/TOTP codes.

use clap::Args;
use safeid::otpauth::{Credential, Kind};
use safeid::secret::SecretBytes;
use safeid::sources::SecretEncoding;
use safeid::totp::{self, Hotp, Totp};
use serde_json::json;

use crate::Out;
use crate::error::{CliError, CliResult, Exit};
use crate::seed::secret_value;

/// Parses `--algorithm` for codes: sha1, sha256 or sha512, any letter case.
fn parse_algorithm(text: &str) -> Result<totp::Algorithm, String> {
    text.parse()
        .map_err(|_| "expected sha1, sha256 or sha512".to_owned())
}

/// Compute codes from an otpauth URI or a raw secret.
///
/// By default prints the previous, current and next TOTP code with the seconds left,
/// which is what a token with this seed shows around now. Options given on the command
/// line override the URI's.
#[derive(Debug, Args)]
pub struct CodeArgs {
    /// An otpauth:// URI (instead of --secret-base32 / --secret-hex); @FILE, `-` or
    /// env:NAME keep it out of the process list.
    #[arg(value_name = "URI|@FILE|-|env:NAME", conflicts_with_all = ["secret_base32", "secret_hex"])]
    uri: Option<String>,
    /// The secret as base32 (spaces, padding and lower case tolerated); also @FILE, `-`,
    /// env:NAME.
    #[arg(
        long,
        value_name = "BASE32|@FILE|-|env:NAME",
        conflicts_with = "secret_hex"
    )]
    secret_base32: Option<String>,
    /// The secret as hex (either letter case); also @FILE, `-`, env:NAME.
    #[arg(long, value_name = "HEX|@FILE|-|env:NAME")]
    secret_hex: Option<String>,
    /// Hash algorithm: sha1, sha256 or sha512 [default: the URI's, else sha1].
    #[arg(long, value_parser = parse_algorithm)]
    algorithm: Option<totp::Algorithm>,
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
}

pub fn run(args: &CodeArgs, out: Out) -> CliResult {
    let (secret, cred) = source(args)?;
    let algorithm = args
        .algorithm
        .or(cred.as_ref().map(|c| c.algorithm))
        .unwrap_or_default();
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
        if out.json {
            outln!(
                "{}",
                json!({"type": "hotp", "counter": counter, "code": code})
            );
        } else {
            outln!("HOTP code at counter {counter}: {code}");
        }
        return Ok(Exit::Success);
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
    if out.json {
        outln!(
            "{}",
            json!({
                "type": "totp", "time": now, "step": totp.step(now), "period": period,
                "previous": codes.previous, "current": codes.current, "next": codes.next,
                "seconds_left": codes.seconds_left,
            })
        );
    } else {
        outln!("previous  {}", codes.previous);
        outln!(
            "current   {}   ({} s left)",
            codes.current,
            codes.seconds_left
        );
        outln!("next      {}", codes.next);
    }
    Ok(Exit::Success)
}

fn source(args: &CodeArgs) -> Result<(SecretBytes, Option<Credential>), CliError> {
    if let Some(uri) = &args.uri {
        let cred = Credential::parse(secret_value(uri)?.expose())?;
        return Ok((cred.secret.clone(), Some(cred)));
    }
    let (text, encoding) = match (&args.secret_base32, &args.secret_hex) {
        (Some(b32), _) => (b32, SecretEncoding::Base32),
        (_, Some(hex)) => (hex, SecretEncoding::Hex),
        _ => {
            return Err(CliError::usage(
                "give the secret: an otpauth URI, --secret-base32 or --secret-hex",
            ));
        }
    };
    Ok((
        decode_any_length(secret_value(text)?.expose(), encoding)?,
        None,
    ))
}

/// Decodes a raw secret of any length (a code is computed here, nothing is burned, so the
/// tokens' 63-byte cap does not apply: RFC 6238's SHA-512 seed is 64 bytes). Whitespace is
/// ignored; errors never contain the text.
fn decode_any_length(text: &str, encoding: SecretEncoding) -> Result<SecretBytes, CliError> {
    let compact = zeroize::Zeroizing::new(
        text.chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>(),
    );
    let bad = |what: String| CliError::new("bad_secret", what);
    match encoding {
        SecretEncoding::Hex => data_encoding::HEXLOWER_PERMISSIVE
            .decode(compact.as_bytes())
            .map(SecretBytes::new)
            .map_err(|_| bad("the secret is not hex (an even number of 0-9, a-f, A-F)".into())),
        SecretEncoding::Base32 => safeid::otpauth::decode_base32(&compact)
            .map_err(|e| bad(format!("the secret is not base32: {e}"))),
    }
    .and_then(|s| {
        if s.is_empty() {
            Err(bad("the secret is empty".into()))
        } else {
            Ok(s)
        }
    })
}
