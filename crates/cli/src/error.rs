//! The command's errors: a stable kind, a message in the library's words, and the flag
//! that does what the library's [`Hint`] says. Printed as `error: ...` text, or with
//! `--json` as one object `{"error": {"kind": ..., "message": ...}}` on standard output.

use std::fmt;
use std::process::ExitCode;

use safeid::Hint;
use safeid::plan::Acceptance;

/// Exit status of a command (documented in docs/cli.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Success = 0,
    /// The command failed (nothing done, or done in part: the message says).
    Failure = 1,
    /// The command line was wrong (clap's own status for usage errors).
    Usage = 2,
    /// A burn succeeded but the code from the display did not verify.
    NotVerified = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    /// A stable snake_case name for programs.
    pub kind: &'static str,
    /// The message, for people.
    pub message: String,
    /// The flag to use, when there is one.
    pub hint: Option<String>,
    /// The exit status.
    pub exit: Exit,
}

impl CliError {
    /// A failure of this kind.
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            exit: Exit::Failure,
        }
    }

    /// A usage error (a wrong or missing argument the parser could not catch).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Usage,
            ..Self::new("usage", message)
        }
    }

    /// Adds the flag for a library hint.
    pub fn with_hint(mut self, hint: Option<Hint>) -> Self {
        self.hint = hint.map(flag_for);
        self
    }

    /// The JSON form.
    pub fn json(&self) -> serde_json::Value {
        let mut error = serde_json::json!({"kind": self.kind, "message": self.message});
        if let Some(h) = &self.hint {
            error["hint"] = serde_json::json!(h);
        }
        serde_json::json!({ "error": error })
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// What to type for a library hint.
pub fn flag_for(hint: Hint) -> String {
    match hint {
        Hint::GiveKey => "give the key with --key HEX|@FILE|env:NAME, or add the model to a --models file; `safeid probe` shows what the token reports".into(),
        Hint::ConfirmErase => "add --erase-seed to confirm, or use `safeid burn`, which sets the clock and writes the seed again".into(),
        Hint::Accept(a) => format!("add --accept {}", a.name()),
        Hint::ChooseAccount => "choose one with --account N or --account NAME".into(),
        Hint::ChooseEncoding => "say which with --encoding base32 or --encoding hex".into(),
        Hint::ChooseReader => "choose one with --reader (a name, part of a name, or the number `safeid readers` shows)".into(),
        Hint::Resume => "add --resume to continue it, or name a new --journal file".into(),
        Hint::NewJournal => "name a new --journal file".into(),
        Hint::Overwrite => "add --force to replace it, or choose another path".into(),
        Hint::SyncClock => "burn again without --sync-clock=false".into(),
        _ => "see --help".into(),
    }
}

/// Names of everything `--accept` takes.
pub fn acceptance_names() -> String {
    Acceptance::all()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! from_library {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for CliError {
            fn from(e: $ty) -> Self {
                CliError::new(e.kind(), e.to_string()).with_hint(e.hint())
            }
        }
    )*};
}

from_library!(
    safeid::SessionError,
    safeid::PlanError,
    safeid::token::PrepareError,
    safeid::batch::BatchError,
    safeid::sources::SourceError,
);

impl From<safeid::batch::TokenError> for CliError {
    fn from(e: safeid::batch::TokenError) -> Self {
        CliError::new(e.kind(), e.to_string())
    }
}

impl From<safeid::transport::TransportError> for CliError {
    fn from(e: safeid::transport::TransportError) -> Self {
        safeid::SessionError::from(e).into()
    }
}

impl From<safeid::keys::KeyError> for CliError {
    fn from(e: safeid::keys::KeyError) -> Self {
        CliError::new(e.kind(), e.to_string())
    }
}

impl From<safeid::journal::JournalError> for CliError {
    fn from(e: safeid::journal::JournalError) -> Self {
        CliError::new(e.kind(), e.to_string())
    }
}

impl From<safeid::export::ExportError> for CliError {
    fn from(e: safeid::export::ExportError) -> Self {
        CliError::new(e.kind(), e.to_string())
    }
}

impl From<safeid::otpauth::ParseError> for CliError {
    fn from(e: safeid::otpauth::ParseError) -> Self {
        CliError::new("bad_uri", e.to_string())
    }
}

impl From<safeid::qr::QrError> for CliError {
    fn from(e: safeid::qr::QrError) -> Self {
        CliError::new("qr", e.to_string())
    }
}

impl From<safeid::totp::TotpError> for CliError {
    fn from(e: safeid::totp::TotpError) -> Self {
        CliError::usage(e.to_string())
    }
}

impl From<safeid::proto::ProtoError> for CliError {
    fn from(e: safeid::proto::ProtoError) -> Self {
        CliError::new("protocol", e.to_string())
    }
}

impl From<safeid::sources::SecretTextError> for CliError {
    fn from(e: safeid::sources::SecretTextError) -> Self {
        safeid::sources::SourceError::from(e).into()
    }
}

/// An I/O error on a named file.
pub fn io_error(path: &std::path::Path, e: std::io::Error) -> CliError {
    CliError::new("io", format!("{}: {e}", path.display()))
}

/// The result of a command.
pub type CliResult = Result<Exit, CliError>;
