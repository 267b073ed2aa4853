//! One journal line as stored, and its decoded form.

use safeid_secret::SecretBytes;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

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
    },
    Planned {
        serial: String,
        seed: SeedText,
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
}

impl Entry {
    pub(super) fn serial(&self) -> &str {
        match self {
            Entry::Planned(seed) => &seed.serial,
            Entry::Burned(s) | Entry::Verified(s, _) | Entry::Failed(s, ..) => s,
        }
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            Entry::Planned(_) => "planned",
            Entry::Burned(_) => "burned",
            Entry::Verified(..) => "verified",
            Entry::Failed(..) => "failed",
        }
    }
}

pub(super) fn decode_line(text: &str) -> Option<Line> {
    serde_json::from_str(text).ok()
}

/// The entry a line holds (`None` for the header, or a plan whose seed does not decode).
pub(super) fn entry_of(line: Line) -> Option<Entry> {
    Some(match line {
        Line::Journal { .. } => return None,
        Line::Planned {
            serial,
            seed,
            hash,
            period,
            digits,
            manufacturer,
            model,
            upn,
            display_name,
            ..
        } => {
            let secret: SecretBytes = safeid_otpauth::decode_base32(&seed.0).ok()?;
            let mut s = TokenSeed::new(serial, secret);
            s.hash = hash.parse().ok()?;
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
    })
}

/// The line that records `seed` as planned.
pub(super) fn planned_line(seed: &TokenSeed, time: u64) -> Line {
    Line::Planned {
        serial: seed.serial.clone(),
        seed: SeedText(Zeroizing::new(safeid_otpauth::encode_base32(
            seed.secret.expose(),
        ))),
        hash: seed.hash.name().into(),
        period: seed.period,
        digits: seed.digits,
        manufacturer: seed.manufacturer.clone(),
        model: seed.model.clone(),
        upn: seed.upn.clone(),
        display_name: seed.display_name.clone(),
        time,
    }
}
