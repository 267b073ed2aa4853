//! Shared printing helpers: every line the command prints goes through [`stdout`] /
//! [`stderr_line`] (the `outln!`, `out!` and `errln!` macros), so that a closed pipe
//! (`safeid uri ... | head -1`) ends the command quietly instead of panicking.

use std::fmt;
use std::io::{self, Write};

use safeid::TokenStatus;
use safeid::otpauth::{Credential, Kind};
use safeid::report::{describe_offset, utc_date};
use serde_json::{Value, json};

/// The token as read, for people.
pub fn status_text(s: &TokenStatus) -> String {
    let model = s
        .model_name()
        .unwrap_or_else(|| "unknown model (no access key known: give --key to burn)".to_owned());
    format!(
        "serial      {}\nmodel       {model}{}\ntoken clock {} ({} the host's)\n",
        s.serial,
        if s.restricted {
            ", restricted: a config write erases the seed"
        } else {
            ""
        },
        utc_date(u64::from(s.token_time)),
        describe_offset(s.drift),
    )
}

/// The JSON object `safeid uri --json` prints for one credential.
pub fn credential_json(cred: &Credential, reveal: bool) -> Value {
    let mut obj = json!({
        "type": match cred.kind { Kind::Totp { .. } => "totp", Kind::Hotp { .. } => "hotp" },
        "issuer": cred.issuer,
        "account": cred.account,
        "algorithm": cred.algorithm.to_string(),
        "digits": cred.digits,
        "secret_bytes": cred.secret.len(),
        "warnings": cred.warnings().iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    match cred.kind {
        Kind::Totp { period } => obj["period"] = json!(period),
        Kind::Hotp { counter } => obj["counter"] = json!(counter),
    }
    if reveal {
        obj["secret_base32"] = json!(safeid::otpauth::encode_base32(cred.secret.expose()));
        obj["secret_hex"] = json!(data_encoding::HEXUPPER.encode(cred.secret.expose()));
    }
    obj
}

/// One line per field, for people.
pub fn credential_text(cred: &Credential, reveal: bool) -> String {
    let mut out = String::new();
    let kind = match cred.kind {
        Kind::Totp { period } => format!("TOTP, period {period} s"),
        Kind::Hotp { counter } => format!("HOTP, counter {counter}"),
    };
    out.push_str(&format!("  type       {kind}\n"));
    out.push_str(&format!(
        "  issuer     {}\n",
        cred.issuer.as_deref().unwrap_or("(none)")
    ));
    out.push_str(&format!("  account    {}\n", cred.account));
    out.push_str(&format!("  algorithm  {}\n", cred.algorithm));
    out.push_str(&format!("  digits     {}\n", cred.digits));
    if reveal {
        out.push_str(&format!(
            "  secret     {} (base32), {} (hex)\n",
            safeid::otpauth::encode_base32(cred.secret.expose()),
            data_encoding::HEXUPPER.encode(cred.secret.expose())
        ));
    } else {
        out.push_str(&format!(
            "  secret     <redacted> ({} bytes; --reveal shows it)\n",
            cred.secret.len()
        ));
    }
    for w in cred.warnings() {
        out.push_str(&format!("  warning    {w}\n"));
    }
    out
}

/// Writes `args` on standard output, then a newline when `newline`; `Err` when standard
/// output is gone (a closed pipe: `ErrorKind::BrokenPipe`).
pub fn try_stdout(args: fmt::Arguments<'_>, newline: bool) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)?;
    if newline {
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Writes on standard output. When it is closed (the reader of a pipe went away), the
/// command stops at once with status 0: nobody is left to read the rest. Any other write
/// error is reported on standard error, status 1.
pub fn stdout(args: fmt::Arguments<'_>, newline: bool) {
    if let Err(e) = try_stdout(args, newline) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        stderr_line(format_args!("error: writing standard output: {e}"));
        std::process::exit(1);
    }
}

/// Writes one line on standard error; a write error is ignored (there is nowhere left to
/// report it).
pub fn stderr_line(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// `1 token`, `2 tokens`: `count` and the noun in the right number.
pub fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn plurals() {
        assert_eq!(plural(0, "token", "tokens"), "0 tokens");
        assert_eq!(plural(1, "token", "tokens"), "1 token");
        assert_eq!(plural(2, "account", "accounts"), "2 accounts");
    }
}
