//! A serialisable snapshot of a virtual token, for tests and the vpcd bridge's JSON dump.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::HmacAlgorithm;

/// One processed APDU: class, instruction (absent for commands shorter than that) and
/// the status word answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// CLA byte.
    pub cla: Option<u8>,
    /// INS byte.
    pub ins: Option<u8>,
    /// Status word returned.
    pub sw: u16,
}

/// The configuration as written by write config (docs/protocol.md section 3), in units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigState {
    /// Display timeout in seconds (15, 30, 60 or 120).
    pub display_timeout_s: u32,
    /// HMAC function.
    pub hmac: HmacAlgorithm,
    /// Time step in seconds (30 or 60).
    pub step_s: u32,
}

/// Everything observable about a virtual token at one moment.
///
/// **Holds the seed** (`seed_hex`): tests need it to check what was written. `Debug`
/// redacts it, but the JSON form does not; store such dumps like any other secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenState {
    /// Serial reported by get info.
    pub serial: String,
    /// Whether a config write erases the seed.
    pub restricted: bool,
    /// The stored seed in upper-case hex, exactly as the token keeps it; `None` if erased
    /// or never written. SECRET.
    pub seed_hex: Option<String>,
    /// Current configuration.
    pub config: ConfigState,
    /// Token clock, Unix seconds.
    pub clock: u64,
    /// How many times write config set the clock.
    pub clock_set_count: u32,
    /// Whether the session is authenticated.
    pub authenticated: bool,
    /// Whether a challenge is waiting for an authenticate.
    pub has_challenge: bool,
    /// Whether the SELECT application is selected (only matters with `require_select`).
    pub selected: bool,
    /// Failed authentications so far (in total).
    pub failed_auths: u32,
    /// Locked for good after too many failures.
    pub locked: bool,
    /// APDUs processed since creation (the log keeps only the most recent ones).
    pub apdu_count: u64,
    /// The most recent APDUs (at most [`crate::LOG_CAPACITY`]).
    pub apdu_log: Vec<LogEntry>,
    /// Successful write seed commands.
    pub seed_writes: u32,
    /// Successful write config commands.
    pub config_writes: u32,
}

impl TokenState {
    /// The snapshot as pretty JSON (contains the seed).
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and enums cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Debug for TokenState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenState")
            .field("serial", &self.serial)
            .field("restricted", &self.restricted)
            .field(
                "seed_hex",
                &self.seed_hex.as_ref().map(|_| safeid_secret::REDACTED),
            )
            .field("config", &self.config)
            .field("clock", &self.clock)
            .field("clock_set_count", &self.clock_set_count)
            .field("authenticated", &self.authenticated)
            .field("has_challenge", &self.has_challenge)
            .field("selected", &self.selected)
            .field("failed_auths", &self.failed_auths)
            .field("locked", &self.locked)
            .field("apdu_count", &self.apdu_count)
            .field("apdu_log", &self.apdu_log.len())
            .field("seed_writes", &self.seed_writes)
            .field("config_writes", &self.config_writes)
            .finish()
    }
}
