//! Workflow errors: what went wrong, and for a burn exactly what was and was not written.
//!
//! Every error of the workflow API has a stable [`kind`](SessionError::kind) (a snake_case name a
//! program can match on, e.g. in a front end's JSON output) and, where the user can do
//! something about it, a [`Hint`] naming that action in the library's own terms. Messages
//! never name a front end's flags: a command-line tool maps a hint to its flag, a desk app
//! to its control.

use std::fmt;

use safeid_proto::{ProtoError, StatusWord};
use safeid_transport::TransportError;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Whether one write reached the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not sent, or refused by the token.
    NotWritten,
    /// The token confirmed it with `90 00`.
    Written,
    /// Sent, but the reply was lost: the token may or may not have applied it.
    Uncertain,
}

/// What a burn had written when it stopped: the one vocabulary for "what was written",
/// used by session errors, the batch journal and reports alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteState {
    /// The config (clock, algorithm, step, display timeout).
    pub config: Outcome,
    /// The seed.
    pub seed: Outcome,
    /// Whether a config write erases the seed on this model (docs/protocol.md section 4).
    pub restricted: bool,
}

impl WriteState {
    /// Nothing written yet.
    pub fn nothing(restricted: bool) -> Self {
        Self {
            config: Outcome::NotWritten,
            seed: Outcome::NotWritten,
            restricted,
        }
    }

    /// True when the token may hold the new seed: the seed write succeeded or its reply
    /// was lost.
    pub fn may_hold_seed(&self) -> bool {
        self.seed != Outcome::NotWritten
    }

    /// True when the token is known to hold no seed at all: a restricted model whose
    /// config write was confirmed, and no seed was sent after it.
    pub fn proves_blank(&self) -> bool {
        self.restricted && self.config == Outcome::Written && self.seed == Outcome::NotWritten
    }

    /// True when the old seed may be gone without the new one being on the token.
    pub fn may_have_lost_old_seed(&self) -> bool {
        self.restricted && self.config != Outcome::NotWritten
    }
}

impl fmt::Display for WriteState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Outcome::*;
        let config = match self.config {
            NotWritten => "",
            Written => "config written",
            Uncertain => "config may or may not have been written (the reply was lost)",
        };
        let text = match (self.config, self.seed) {
            (NotWritten, NotWritten) => "nothing was written: the token is unchanged".to_owned(),
            (_, NotWritten) if self.restricted => format!(
                "{config}, seed not written: on this model writing config erases the seed, so the token {} blank; burn it again",
                if self.config == Written {
                    "is now"
                } else {
                    "may now be"
                }
            ),
            (_, NotWritten) => format!(
                "{config}, seed not written: the token keeps its previous seed; burn it again"
            ),
            (_, Uncertain) if self.restricted => format!(
                "{config}, seed may or may not have been written (the reply was lost): the old seed is gone, so the token is blank or holds the new seed; burn it again with the same seed"
            ),
            (_, Uncertain) => format!(
                "{config}, seed may or may not have been written (the reply was lost): the token holds its old seed or the new one; burn it again with the same seed"
            ),
            (_, Written) => "config and seed written".to_owned(),
        };
        f.write_str(&text)
    }
}

/// The step of a session an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading serial and clock.
    ReadInfo,
    /// Getting a challenge and authenticating with the access key.
    Authenticate,
    /// Writing the config.
    WriteConfig,
    /// Writing the seed.
    WriteSeed,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::ReadInfo => "reading the token's info",
            Stage::Authenticate => "authenticating",
            Stage::WriteConfig => "writing config",
            Stage::WriteSeed => "writing the seed",
        })
    }
}

/// Something the user can do about an error, in the library's terms. Front ends map each
/// one to their own control (a flag, a button).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// Give the token's access key explicitly, or add its model to a model file.
    GiveKey,
    /// Confirm that the token's seed will be erased.
    ConfirmErase,
    /// Accept this documented conversion or risk.
    Accept(crate::plan::Acceptance),
    /// Choose one of several accounts.
    ChooseAccount,
    /// Say which encoding (base32 or hex) a secret is written in.
    ChooseEncoding,
    /// Choose one of several readers.
    ChooseReader,
    /// Continue the existing journal (resume) instead of starting a new one.
    Resume,
    /// Start with a new journal file (the one named is in the way or unusable).
    NewJournal,
    /// Allow an existing output file to be replaced.
    Overwrite,
    /// Set the token's clock from the host.
    SyncClock,
}

/// Why a session step failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The reader or the link to the token failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The token answered something the protocol does not allow.
    #[error(transparent)]
    Protocol(#[from] ProtoError),
    /// The token does not speak this command set.
    #[error(
        "this card does not answer the SafeID-family commands (status {sw}): is it the right kind of token, and switched on?"
    )]
    NotThisToken {
        /// The status word of the refusal.
        sw: StatusWord,
    },
    /// No access key is known for the model and none was given.
    #[error(
        "unknown token model (serial {serial}): no access key is known for it, so nothing was sent that needs one. If you know the key, give it explicitly (the tool cannot tell whether it is right, and some tokens lock after failed attempts), or add the model to a model file"
    )]
    UnknownModel {
        /// The serial read from the token.
        serial: String,
    },
    /// The token refused the key (`69 83`). Never retried.
    #[error(
        "the token refused the access key (status 69 83): nothing was written. The key is not retried automatically: some tokens lock permanently after failed attempts"
    )]
    KeyRefused,
    /// The token on the reader is not the one the seed was chosen for.
    #[error(
        "the token on the reader has serial {found}, not {expected}: was it swapped? Nothing was written"
    )]
    SerialMismatch {
        /// The serial the seed belongs to.
        expected: String,
        /// The serial read from the token.
        found: String,
    },
    /// The host clock is implausible.
    #[error(
        "the host clock reads Unix time {now}, which is {reason}: fix the system clock before syncing a token to it"
    )]
    HostClockWrong {
        /// The host time read.
        now: u64,
        /// Why it is implausible.
        reason: &'static str,
    },
    /// Syncing the clock alone would erase the seed on this model.
    #[error(
        "syncing the clock on {model} erases its seed (a config write always does on this model): confirm the erasure, or burn the seed again instead (a burn sets the clock too)"
    )]
    WouldEraseSeed {
        /// The model name.
        model: String,
    },
    /// A burn stopped part-way; says exactly what was written.
    #[error("{stage} failed: {cause}. {written}")]
    Interrupted {
        /// Where it stopped.
        stage: Stage,
        /// What was written.
        written: WriteState,
        /// The underlying error.
        cause: Box<SessionError>,
    },
}

impl SessionError {
    /// What had been written when the error happened (for interrupted burns), else `None`
    /// (nothing was written).
    pub fn written(&self) -> Option<WriteState> {
        match self {
            SessionError::Interrupted { written, .. } => Some(*written),
            _ => None,
        }
    }

    /// A stable name for the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            SessionError::Transport(e) => transport_kind(e),
            SessionError::Protocol(_) => "protocol",
            SessionError::NotThisToken { .. } => "not_this_token",
            SessionError::UnknownModel { .. } => "unknown_model",
            SessionError::KeyRefused => "key_refused",
            SessionError::SerialMismatch { .. } => "serial_mismatch",
            SessionError::HostClockWrong { .. } => "host_clock_wrong",
            SessionError::WouldEraseSeed { .. } => "would_erase_seed",
            SessionError::Interrupted { .. } => "interrupted",
        }
    }

    /// What the user can do, if anything.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            SessionError::UnknownModel { .. } => Some(Hint::GiveKey),
            SessionError::WouldEraseSeed { .. } => Some(Hint::ConfirmErase),
            SessionError::Transport(TransportError::AmbiguousReader { .. }) => {
                Some(Hint::ChooseReader)
            }
            _ => None,
        }
    }
}

/// A stable name for a transport error.
pub fn transport_kind(e: &TransportError) -> &'static str {
    match e {
        TransportError::NoService => "no_service",
        TransportError::NoReader => "no_reader",
        TransportError::ReaderNotFound { .. } => "reader_not_found",
        TransportError::AmbiguousReader { .. } => "several_readers",
        TransportError::NoCard => "no_card",
        TransportError::CardRemoved => "card_removed",
        TransportError::Timeout { .. } => "timeout",
        _ => "transport",
    }
}
