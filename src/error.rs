//! Workflow errors: what went wrong, and for a burn exactly what was and was not written.

use std::fmt;

use safeid_proto::{ProtoError, StatusWord};
use safeid_transport::TransportError;
use thiserror::Error;

use crate::plan::PlanError;

/// Whether one write reached the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not sent, or refused by the token.
    NotWritten,
    /// The token confirmed it with `90 00`.
    Written,
    /// Sent, but the reply was lost: the token may or may not have applied it.
    Uncertain,
}

/// What a burn had written when it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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
}

impl fmt::Display for WriteState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Outcome::*;
        match (self.config, self.seed) {
            (NotWritten, NotWritten) => f.write_str("nothing was written: the token is unchanged"),
            (Written, NotWritten) if self.restricted => f.write_str(
                "config written, seed not written: on this model writing config erases the seed, so the token is now blank; burn it again",
            ),
            (Written, NotWritten) => f.write_str(
                "config written (clock and settings), seed not written: the token keeps its previous seed; burn it again",
            ),
            (Uncertain, NotWritten) if self.restricted => f.write_str(
                "config may or may not have been written (the reply was lost), seed not written: on this model the token may now be blank; burn it again",
            ),
            (Uncertain, NotWritten) => f.write_str(
                "config may or may not have been written (the reply was lost), seed not written: the token keeps its previous seed; burn it again",
            ),
            (Written, Uncertain) if self.restricted => f.write_str(
                "config written, seed may or may not have been written (the reply was lost): on this model the old seed is gone, so the token is now blank or holds the new seed; burn it again",
            ),
            (Written, Uncertain) => f.write_str(
                "config written, seed may or may not have been written (the reply was lost): the token holds its old seed or the new one; burn it again",
            ),
            (Written, Written) => f.write_str("config and seed written"),
            (c, s) => write!(f, "config {c:?}, seed {s:?}"),
        }
    }
}

/// The step of a session an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading serial and clock.
    ReadInfo,
    /// Asking for a challenge.
    Challenge,
    /// Authenticating with the access key.
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
            Stage::Challenge => "getting a challenge",
            Stage::Authenticate => "authenticating",
            Stage::WriteConfig => "writing config",
            Stage::WriteSeed => "writing the seed",
        })
    }
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
        "unknown token model (serial {serial}): no access key is known for it, so nothing was sent that needs one. If you know the key, give it with --key (the tool cannot tell whether it is right, and some tokens lock after failed attempts); or add the model to a model file (--models)"
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
        "syncing the clock on {model} erases its seed (a config write always does on this model): confirm with --erase-seed, or re-burn the seed in the same session with burn"
    )]
    WouldEraseSeed {
        /// The model name.
        model: String,
    },
    /// The plan was refused before any APDU was sent.
    #[error(transparent)]
    Plan(#[from] PlanError),
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
    /// What had been written when the error happened (for interrupted burns), else `None`.
    pub fn written(&self) -> Option<WriteState> {
        match self {
            SessionError::Interrupted { written, .. } => Some(*written),
            _ => None,
        }
    }
}
