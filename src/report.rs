//! What a burn reports: the token, what was written, and the codes to compare with the
//! display after the token's power cycle.

use safeid_proto::HmacAlgorithm;
use serde::Serialize;

use crate::plan::Conversion;
use crate::session::{KeySource, TokenStatus};

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
    s.serialize_str(hmac_name(*h))
}

/// `SHA1` or `SHA256`.
pub fn hmac_name(h: HmacAlgorithm) -> &'static str {
    match h {
        HmacAlgorithm::Sha1 => "SHA1",
        HmacAlgorithm::Sha256 => "SHA256",
    }
}

impl Serialize for Conversion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Previous, current and next code at one moment: what the vendor tool's Test button shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedCodes {
    /// The host time the codes are for.
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
    /// The codes of `totp` around `now`.
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
