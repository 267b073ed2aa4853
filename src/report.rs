//! What a burn reports: the token, what was written, and the codes to compare with the
//! display after the token's power cycle.

use safeid_proto::HmacAlgorithm;
use serde::Serialize;

use crate::plan::Conversion;

/// Where the access key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// The model table entry for the token's serial prefix.
    Model,
    /// Given by the user; for an unknown model this is a guess.
    User,
}

/// What reading a token tells: serial, model and clock, with the drift against the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenStatus {
    /// The serial printed on the token.
    pub serial: String,
    /// The model, from the serial prefix, if known.
    pub model: Option<String>,
    /// The manufacturer, if the model is known.
    pub manufacturer: Option<String>,
    /// Whether a config write erases the seed (unknown models count as restricted).
    pub restricted: bool,
    /// Whether an access key is known for this model.
    pub key_known: bool,
    /// The token's clock (Unix seconds).
    pub token_time: u32,
    /// The host's clock when it was read.
    pub host_time: u64,
    /// `token_time - host_time`, seconds (positive: the token is ahead).
    pub drift: i64,
}

impl TokenStatus {
    /// The model's name with its manufacturer (`Token2 OTPC-P2-i`), or `None` when unknown.
    pub fn model_name(&self) -> Option<String> {
        match (&self.model, &self.manufacturer) {
            (Some(m), Some(maker)) if !m.starts_with(maker.as_str()) => {
                Some(format!("{maker} {m}"))
            }
            (Some(m), _) => Some(m.clone()),
            (None, _) => None,
        }
    }
}

/// The token a burn talked to.
#[derive(Debug, Clone, Serialize)]
pub struct TokenReport {
    /// Serial, model, clock and drift as read before writing.
    #[serde(flatten)]
    pub status: TokenStatus,
    /// Where the access key came from.
    pub key_source: KeySource,
}

impl TokenReport {
    /// Combines a status with the key's origin.
    pub fn new(status: TokenStatus, key_source: KeySource) -> Self {
        Self { status, key_source }
    }
}

/// The outcome of a successful burn. Holds no secret.
#[derive(Debug, Clone, Serialize)]
pub struct BurnReport {
    /// The token.
    pub token: TokenReport,
    /// The Unix time the token's clock was set to.
    pub clock_set_to: u32,
    /// Whether the clock was set from the host (`false`: the token kept its own time).
    pub clock_synced: bool,
    /// How far the token's clock is from the host's after the burn, in seconds (0 when
    /// synced; the drift read before the burn otherwise).
    pub token_offset: i64,
    /// The HMAC algorithm written.
    #[serde(serialize_with = "ser_hmac")]
    pub hmac: HmacAlgorithm,
    /// The time step written, seconds.
    pub step_seconds: u32,
    /// The display timeout written, seconds.
    pub display_timeout_seconds: u32,
    /// Length of the seed written, bytes.
    pub seed_bytes: usize,
    /// `issuer:account` of the source credential, if any.
    pub label: Option<String>,
    /// Conversions the user accepted and that were applied.
    pub conversions: Vec<Conversion>,
    /// APDUs exchanged.
    pub apdus: usize,
    /// The codes the token must show.
    pub expected: ExpectedCodes,
}

fn ser_hmac<S: serde::Serializer>(h: &HmacAlgorithm, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(h.name())
}

impl Serialize for Conversion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Previous, current and next code at one moment: what the vendor tool's Test button shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedCodes {
    /// The time on the token's clock the codes are for (the host's time plus the token's
    /// offset).
    pub time: u64,
    /// The code of the previous step.
    pub previous: String,
    /// The code now.
    pub current: String,
    /// The code of the next step.
    pub next: String,
    /// Seconds until `current` changes.
    pub seconds_left: u64,
}

impl ExpectedCodes {
    /// The codes of `totp` around `now` (a time on the token's clock).
    pub fn at(totp: &safeid_totp::Totp, now: u64) -> Self {
        let step = totp.step(now);
        Self {
            time: now,
            previous: totp.code_for_step(step.saturating_sub(1)).to_string(),
            current: totp.code_for_step(step).to_string(),
            next: totp.code_for_step(step.saturating_add(1)).to_string(),
            seconds_left: totp.seconds_left(now),
        }
    }
}

/// `token - host` seconds in words: `"in step with"`, `"27h 46m 40s ahead of"`,
/// `"5m behind"`; for sentences like "the token's clock is ... the host's".
pub fn describe_offset(seconds: i64) -> String {
    if seconds == 0 {
        return "in step with".to_owned();
    }
    let span = humantime::format_duration(std::time::Duration::from_secs(seconds.unsigned_abs()));
    if seconds > 0 {
        format!("{span} ahead of")
    } else {
        format!("{span} behind")
    }
}

/// A Unix time as an RFC 3339 UTC date (`2026-12-01T20:40:58Z`).
pub fn utc_date(unix: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix);
    humantime::format_rfc3339_seconds(time).to_string()
}

impl TokenStatus {
    /// A warning when the token's clock is more than `period` seconds off the host's: its
    /// codes would be refused until the clock is set.
    pub fn clock_warning(&self, period: u64) -> Option<String> {
        (self.drift.unsigned_abs() > period).then(|| {
            format!(
                "the token's clock is {} the host's: services refuse its codes until the clock is set (a burn sets it{})",
                describe_offset(self.drift),
                if self.restricted {
                    "; on this model setting it alone erases the seed"
                } else {
                    ""
                }
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_dates_read_as_words() {
        assert_eq!(describe_offset(0), "in step with");
        assert_eq!(describe_offset(100_000), "1day 3h 46m 40s ahead of");
        assert_eq!(describe_offset(-300), "5m behind");
        // 2001-09-09T01:46:40Z is Unix 1e9 (a well-known date).
        assert_eq!(utc_date(1_000_000_000), "2001-09-09T01:46:40Z");
    }
}
