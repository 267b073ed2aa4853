//! Options shared by `burn`, `batch` and `export` for what leaves the tool with a seed:
//! direct enrollment into privacyIDEA, the sealed journal, and encrypted PSKC. Every
//! secret here comes from `@FILE`, `-` or `env:NAME`, never from the command line.

use std::path::PathBuf;

use clap::Args;
use safeid::enroll::{EnrollError, EnrollOutcome, Enroller};
use safeid::export::secret_source::{SecretSource, SecretSourceError};
use safeid::export::{PskcEncryption, PskcKey};
use safeid::journal::JournalSeal;
use safeid::secret::SecretString;

use crate::error::CliError;

/// `--enroll privacyidea=URL` and the admin credentials.
#[derive(Debug, Args, Clone)]
pub struct EnrollArgs {
    /// Register every burned token with a server right after its burn:
    /// privacyidea=URL (https://, or http:// to a loopback address). The token is
    /// created as TOTP with its serial, hex key, hash, time step and digits; a token
    /// the server already holds with this seed is not sent again, one it holds otherwise
    /// is left alone and reported. Needs a build with the `enroll` feature.
    #[arg(long, value_name = "privacyidea=URL", help_heading = "Enrollment")]
    pub enroll: Option<String>,
    /// The admin user for --enroll.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "admin",
        requires = "enroll",
        help_heading = "Enrollment"
    )]
    pub enroll_user: String,
    /// The admin password for --enroll: @FILE, - (standard input) or env:NAME.
    #[arg(
        long,
        value_name = "@FILE|-|env:NAME",
        requires = "enroll",
        help_heading = "Enrollment"
    )]
    pub enroll_password: Option<String>,
    /// A PEM file of the CA that signed the server's certificate (a private CA); by
    /// default the public roots are trusted. TLS is always verified.
    #[arg(
        long,
        value_name = "FILE",
        requires = "enroll",
        help_heading = "Enrollment"
    )]
    pub enroll_ca: Option<PathBuf>,
}

/// `--pskc-key` / `--pskc-password`: encrypted PSKC exports (RFC 6030 section 6.1 / 6.2).
#[derive(Debug, Args, Clone)]
pub struct PskcArgs {
    /// Encrypt PSKC exports under a pre-shared AES-128 key (RFC 6030 section 6.1, with
    /// the HMAC-SHA1 MAC): 32 hex digits from @FILE, - or env:NAME.
    #[arg(
        long,
        value_name = "@FILE|-|env:NAME",
        conflicts_with = "pskc_password",
        help_heading = "Exports"
    )]
    pub pskc_key: Option<String>,
    /// Encrypt PSKC exports under a password (RFC 6030 section 6.2, PBKDF2): from
    /// @FILE, - or env:NAME.
    #[arg(long, value_name = "@FILE|-|env:NAME", help_heading = "Exports")]
    pub pskc_password: Option<String>,
    /// PBKDF2 iterations for --pskc-password.
    #[arg(
        long,
        value_name = "N",
        requires = "pskc_password",
        help_heading = "Exports"
    )]
    pub pskc_iterations: Option<u32>,
}

/// Reads a secret given as `@FILE`, `-` or `env:NAME`; `what` names it in errors.
pub fn read_secret(arg: &str, what: &str) -> Result<SecretString, CliError> {
    let fail = |e: SecretSourceError| CliError::new("bad_secret_argument", format!("{what}: {e}"));
    SecretSource::parse(arg).map_err(fail)?.read().map_err(fail)
}

impl PskcArgs {
    /// The encryption asked for, if any.
    pub fn encryption(&self) -> Result<Option<PskcEncryption>, CliError> {
        if let Some(arg) = &self.pskc_key {
            let text = read_secret(arg, "--pskc-key")?;
            let key = PskcKey::from_hex(text.expose().trim())
                .map_err(|e| CliError::new("bad_secret_argument", format!("--pskc-key: {e}")))?;
            return Ok(Some(PskcEncryption::pre_shared(key)));
        }
        if let Some(arg) = &self.pskc_password {
            let password = read_secret(arg, "--pskc-password")?;
            let mut enc = PskcEncryption::password(password);
            if let (Some(n), PskcEncryption::Password { iterations, .. }) =
                (self.pskc_iterations, &mut enc)
            {
                *iterations = n;
            }
            return Ok(Some(enc));
        }
        Ok(None)
    }

    /// The values that may read standard input, for the one-reader check.
    pub fn stdin_users(&self) -> [(&'static str, Option<&str>); 2] {
        [
            ("--pskc-key", self.pskc_key.as_deref()),
            ("--pskc-password", self.pskc_password.as_deref()),
        ]
    }
}

/// `--journal-passphrase`: seals the journal (needed with --enroll).
pub fn journal_seal(arg: Option<&str>) -> Result<Option<JournalSeal>, CliError> {
    arg.map(|a| read_secret(a, "--journal-passphrase").map(JournalSeal::new))
        .transpose()
}

impl EnrollArgs {
    /// The enroller asked for, if any (checked: URL form, password present).
    pub fn enroller(&self) -> Result<Option<Box<dyn Enroller + Send + Sync>>, CliError> {
        let Some(spec) = &self.enroll else {
            return Ok(None);
        };
        let Some((kind, url)) = spec.split_once('=') else {
            return Err(CliError::usage(
                "--enroll takes privacyidea=URL (for example privacyidea=https://pi.example.com)",
            ));
        };
        if !kind.eq_ignore_ascii_case("privacyidea") {
            return Err(CliError::usage(format!(
                "--enroll: unknown server kind \"{kind}\"; privacyidea is the one supported"
            )));
        }
        let Some(password) = &self.enroll_password else {
            return Err(CliError::usage(
                "--enroll needs the admin password: --enroll-password @FILE, - or env:NAME",
            ));
        };
        let password = read_secret(password, "--enroll-password")?;
        privacyidea(url, &self.enroll_user, password, self.enroll_ca.clone()).map(Some)
    }

    /// The values that may read standard input, for the one-reader check.
    pub fn stdin_users(&self) -> [(&'static str, Option<&str>); 1] {
        [("--enroll-password", self.enroll_password.as_deref())]
    }
}

#[cfg(feature = "enroll")]
fn privacyidea(
    url: &str,
    user: &str,
    password: SecretString,
    ca: Option<PathBuf>,
) -> Result<Box<dyn Enroller + Send + Sync>, CliError> {
    use safeid::enroll::{PrivacyIdea, PrivacyIdeaConfig};
    let mut config = PrivacyIdeaConfig::new(url, user, password);
    config.ca_file = ca;
    Ok(Box::new(PrivacyIdea::new(config).map_err(enroll_error)?))
}

#[cfg(not(feature = "enroll"))]
fn privacyidea(
    _: &str,
    _: &str,
    _: SecretString,
    _: Option<PathBuf>,
) -> Result<Box<dyn Enroller + Send + Sync>, CliError> {
    Err(CliError::new(
        "no_enroll_support",
        "this safeid was built without enrollment support: install it with --features enroll",
    ))
}

/// An enrollment error for the command line.
pub fn enroll_error(e: EnrollError) -> CliError {
    CliError::new("enroll", e.to_string())
}

/// One phrase for an enrollment result (token lines of `burn` and `batch`).
pub fn describe(result: &Result<EnrollOutcome, EnrollError>) -> String {
    match result {
        Ok(EnrollOutcome::Enrolled) => "enrolled".into(),
        Ok(EnrollOutcome::AlreadyEnrolled) => "already enrolled with this seed".into(),
        Err(e) => format!("NOT ENROLLED: {e}"),
    }
}

/// The JSON form of an enrollment result.
pub fn json(result: &Result<EnrollOutcome, EnrollError>) -> serde_json::Value {
    match result {
        Ok(EnrollOutcome::Enrolled) => serde_json::json!({"status": "enrolled"}),
        Ok(EnrollOutcome::AlreadyEnrolled) => serde_json::json!({"status": "already_enrolled"}),
        Err(e) => serde_json::json!({"status": "failed", "retryable": e.is_retryable(),
                                     "message": e.to_string()}),
    }
}
