//! One journal line as stored, and its decoded form.

use safeid_secret::SecretBytes;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::seal::{SealHeader, SealKey};
use crate::enroll::EnrollOutcome;
use crate::error::{Outcome, WriteState};
use crate::record::TokenSeed;

/// One journal line as stored.
#[derive(Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(super) enum Line {
    Journal {
        format: String,
        version: u32,
        time: u64,
        /// Present in sealed journals: how their seeds are sealed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seal: Option<SealHeader>,
    },
    Planned {
        serial: String,
        /// The seed in base32 (unsealed journals only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<SeedText>,
        /// The sealed seed (sealed journals only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sealed: Option<String>,
        hash: String,
        period: u32,
        digits: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        manufacturer: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upn: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        time: u64,
    },
    Burned {
        serial: String,
        time: u64,
    },
    Verified {
        serial: String,
        time: u64,
        offset: i64,
    },
    Failed {
        serial: String,
        time: u64,
        reason: String,
        written: StoredWrite,
    },
    Enrolled {
        serial: String,
        time: u64,
        target: String,
        /// `enrolled` (registered now) or `already_enrolled` (found registered).
        outcome: StoredEnroll,
    },
    EnrollFailed {
        serial: String,
        time: u64,
        target: String,
        reason: String,
        retryable: bool,
    },
}

/// How an `enrolled` line says what happened.
#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum StoredEnroll {
    Enrolled,
    AlreadyEnrolled,
}

impl From<EnrollOutcome> for StoredEnroll {
    fn from(o: EnrollOutcome) -> Self {
        match o {
            EnrollOutcome::Enrolled => Self::Enrolled,
            EnrollOutcome::AlreadyEnrolled => Self::AlreadyEnrolled,
        }
    }
}

/// What a failure wrote: the session's own [`WriteState`] (version 2), or the summary word
/// version 1 journals stored.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum StoredWrite {
    State(WriteState),
    Legacy(LegacyWritten),
}

/// Version 1's words, mapped to the write state they meant (never claiming more than the
/// word said: `config` does not prove the token blank, since the model is not recorded).
#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum LegacyWritten {
    Nothing,
    Config,
    Seed,
    Unknown,
}

impl StoredWrite {
    pub(super) fn state(&self) -> WriteState {
        use Outcome::*;
        let (config, seed, restricted) = match self {
            StoredWrite::State(s) => return *s,
            StoredWrite::Legacy(LegacyWritten::Nothing) => (NotWritten, NotWritten, true),
            StoredWrite::Legacy(LegacyWritten::Config) => (Written, NotWritten, false),
            StoredWrite::Legacy(LegacyWritten::Seed) => (Written, Uncertain, true),
            StoredWrite::Legacy(LegacyWritten::Unknown) => (Uncertain, Uncertain, true),
        };
        WriteState {
            config,
            seed,
            restricted,
        }
    }
}

/// A base32 seed inside a journal line, wiped when dropped.
pub(super) struct SeedText(pub(super) Zeroizing<String>);

impl Serialize for SeedText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SeedText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(Zeroizing::new(s)))
    }
}

/// The decoded form of an entry line.
pub(super) enum Entry {
    Planned(TokenSeed),
    Burned(String),
    Verified(String, i64),
    Failed(String, String, WriteState),
    /// Serial, target.
    Enrolled(String, String),
    /// Serial, reason.
    EnrollFailed(String, String),
}

impl Entry {
    pub(super) fn serial(&self) -> &str {
        match self {
            Entry::Planned(seed) => &seed.serial,
            Entry::Burned(s)
            | Entry::Verified(s, _)
            | Entry::Failed(s, ..)
            | Entry::Enrolled(s, _)
            | Entry::EnrollFailed(s, ..) => s,
        }
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            Entry::Planned(_) => "planned",
            Entry::Burned(_) => "burned",
            Entry::Verified(..) => "verified",
            Entry::Failed(..) => "failed",
            Entry::Enrolled(..) => "enrolled",
            Entry::EnrollFailed(..) => "enroll_failed",
        }
    }
}

pub(super) fn decode_line(text: &str) -> Option<Line> {
    serde_json::from_str(text).ok()
}

/// The entry a line holds (`None` for the header, or a plan whose seed does not decode).
/// `key` is the seal of a sealed journal: its plans must hold a sealed seed that opens
/// under it; an unsealed journal's plans must hold a base32 seed.
pub(super) fn entry_of(line: Line, key: Option<&SealKey>) -> Option<Entry> {
    Some(match line {
        Line::Journal { .. } => return None,
        Line::Planned {
            serial,
            seed,
            sealed,
            hash,
            period,
            digits,
            manufacturer,
            model,
            upn,
            display_name,
            ..
        } => {
            let hash = hash.parse().ok()?;
            let secret: SecretBytes = match (key, seed, sealed) {
                (None, Some(seed), None) => safeid_otpauth::decode_base32(&seed.0).ok()?,
                (Some(key), None, Some(sealed)) => {
                    key.unseal(&sealed, &serial, hash, period, digits)?
                }
                _ => return None,
            };
            let mut s = TokenSeed::new(serial, secret);
            s.hash = hash;
            (
                s.period,
                s.digits,
                s.manufacturer,
                s.model,
                s.upn,
                s.display_name,
            ) = (period, digits, manufacturer, model, upn, display_name);
            Entry::Planned(s)
        }
        Line::Burned { serial, .. } => Entry::Burned(serial),
        Line::Verified { serial, offset, .. } => Entry::Verified(serial, offset),
        Line::Failed {
            serial,
            reason,
            written,
            ..
        } => Entry::Failed(serial, reason, written.state()),
        Line::Enrolled { serial, target, .. } => Entry::Enrolled(serial, target),
        Line::EnrollFailed { serial, reason, .. } => Entry::EnrollFailed(serial, reason),
    })
}

/// The line that records `seed` as planned: its seed in base32, or sealed under `key`.
pub(super) fn planned_line(
    seed: &TokenSeed,
    time: u64,
    key: Option<&SealKey>,
) -> Result<Line, super::JournalError> {
    let (text, sealed) = match key {
        None => (
            Some(SeedText(Zeroizing::new(safeid_otpauth::encode_base32(
                seed.secret.expose(),
            )))),
            None,
        ),
        Some(key) => (
            None,
            Some(key.seal(
                &seed.secret,
                &seed.serial,
                seed.hash,
                seed.period,
                seed.digits,
            )?),
        ),
    };
    Ok(Line::Planned {
        serial: seed.serial.clone(),
        seed: text,
        sealed,
        hash: seed.hash.name().into(),
        period: seed.period,
        digits: seed.digits,
        manufacturer: seed.manufacturer.clone(),
        model: seed.model.clone(),
        upn: seed.upn.clone(),
        display_name: seed.display_name.clone(),
        time,
    })
}
