//! The virtual token's state and life cycle: clock, seed, configuration, session
//! (authentication, challenge), lockout and the APDU log. Command handling is in
//! `commands.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use safeid_secret::SecretBytes;

use crate::clock::Clock;
use crate::crypto::{HmacAlgorithm, TokenCipher, totp6};
use crate::spec::TokenSpec;
use crate::state::{ConfigState, LogEntry, TokenState};

/// The most APDU log entries kept; older ones are dropped first.
pub const LOG_CAPACITY: usize = 4096;

/// Longest serial reported by get info (keeps the reply's one-byte lengths valid).
pub(crate) const MAX_SERIAL: usize = 64;

/// The configuration written by write config (docs/protocol.md section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    /// Display timeout code 0..=3 (15, 30, 60, 120 s).
    pub display_timeout: u8,
    /// HMAC function of the displayed code.
    pub hmac: HmacAlgorithm,
    /// Time step in seconds (30 or 60).
    pub step: u8,
}

impl Config {
    /// Factory state: SHA-1, 30 s step, 30 s display timeout.
    pub(crate) const FACTORY: Self = Self {
        display_timeout: 1,
        hmac: HmacAlgorithm::Sha1,
        step: 30,
    };

    pub(crate) fn display_timeout_s(self) -> u32 {
        15u32 << self.display_timeout.min(3)
    }
}

/// A stateful emulation of one single-profile SafeID-family token (docs/protocol.md).
///
/// [`VirtualToken::process`] takes any bytes and always returns data followed by a
/// status word; it never panics.
pub struct VirtualToken {
    pub(crate) serial: String,
    pub(crate) restricted: bool,
    pub(crate) cipher: TokenCipher,
    pub(crate) clock: Arc<dyn Clock>,
    /// Token time at host time `clock_base_host`.
    pub(crate) clock_base_token: i128,
    pub(crate) clock_base_host: u64,
    pub(crate) clock_set_count: u32,
    pub(crate) seed: Option<SecretBytes>,
    pub(crate) config: Config,
    pub(crate) authenticated: bool,
    pub(crate) challenge: Option<[u8; 8]>,
    pub(crate) next_challenges: VecDeque<[u8; 8]>,
    pub(crate) failed_auths: u32,
    pub(crate) lockout_after: Option<u32>,
    pub(crate) locked: bool,
    pub(crate) require_select: bool,
    pub(crate) selected: bool,
    pub(crate) apdu_log: VecDeque<LogEntry>,
    pub(crate) apdu_count: u64,
    pub(crate) seed_writes: u32,
    pub(crate) config_writes: u32,
}

impl fmt::Debug for VirtualToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtualToken")
            .field("serial", &self.serial)
            .field("restricted", &self.restricted)
            .field("has_seed", &self.seed.is_some())
            .field("authenticated", &self.authenticated)
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

impl VirtualToken {
    /// A token in factory state (no seed; SHA-1, 30 s, display 30 s), its clock running
    /// `spec.clock_offset` seconds ahead of `clock`.
    pub fn new(spec: TokenSpec, clock: Arc<dyn Clock>) -> Self {
        let host = clock.now();
        Self {
            serial: spec.serial,
            restricted: spec.restricted,
            cipher: TokenCipher::new(&spec.key),
            clock_base_token: i128::from(host) + i128::from(spec.clock_offset),
            clock_base_host: host,
            clock,
            clock_set_count: 0,
            seed: None,
            config: Config::FACTORY,
            authenticated: false,
            challenge: None,
            next_challenges: VecDeque::new(),
            failed_auths: 0,
            lockout_after: spec.lockout_after,
            locked: spec.lockout_after == Some(0),
            require_select: spec.require_select,
            selected: false,
            apdu_log: VecDeque::new(),
            apdu_count: 0,
            seed_writes: 0,
            config_writes: 0,
        }
    }

    /// The token leaves the field or is switched off: authentication, challenge and
    /// selection are lost (docs/protocol.md section 1). Seed, configuration, clock and lockout
    /// stay.
    pub fn power_off(&mut self) {
        self.drop_session();
    }

    /// A warm reset by the reader: same effect on the session as [`Self::power_off`].
    pub fn reset(&mut self) {
        self.drop_session();
    }

    fn drop_session(&mut self) {
        self.authenticated = false;
        self.challenge = None;
        self.selected = false;
    }

    /// Test hook: the next get challenge returns `challenge` instead of random bytes
    /// (queued; each call adds one). Lets tests replay known-answer vectors.
    pub fn set_next_challenge(&mut self, challenge: [u8; 8]) {
        self.next_challenges.push_back(challenge);
    }

    /// Token time (Unix seconds, may be negative) when the host clock reads `host`.
    pub(crate) fn token_time_at(&self, host: u64) -> i128 {
        self.clock_base_token + (i128::from(host) - i128::from(self.clock_base_host))
    }

    /// The token's clock now, in Unix seconds (0 if it is set before the epoch).
    pub fn clock(&self) -> u64 {
        clamp_u64(self.token_time_at(self.clock.now()))
    }

    /// What the display would show now: 6 digits under the token's own clock, HMAC and
    /// step; `None` without a seed.
    pub fn display_code(&self) -> Option<String> {
        self.display_code_at(self.clock.now())
    }

    /// What the display would show when the host clock reads `host_unix`.
    pub fn display_code_at(&self, host_unix: u64) -> Option<String> {
        let seed = self.seed.as_ref()?;
        let time = clamp_u64(self.token_time_at(host_unix));
        totp6(
            self.config.hmac,
            seed.expose(),
            time,
            u64::from(self.config.step),
        )
    }

    /// The serial reported by get info.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// A snapshot of everything observable, for tests and the vpcd bridge's JSON dump.
    /// It includes the seed in hex: treat the snapshot as a secret.
    pub fn state(&self) -> TokenState {
        TokenState {
            serial: self.serial.clone(),
            restricted: self.restricted,
            seed_hex: self
                .seed
                .as_ref()
                .map(|s| data_encoding::HEXUPPER.encode(s.expose())),
            config: ConfigState {
                display_timeout_s: self.config.display_timeout_s(),
                hmac: self.config.hmac,
                step_s: u32::from(self.config.step),
            },
            clock: self.clock(),
            clock_set_count: self.clock_set_count,
            authenticated: self.authenticated,
            has_challenge: self.challenge.is_some(),
            selected: self.selected,
            failed_auths: self.failed_auths,
            locked: self.locked,
            apdu_count: self.apdu_count,
            apdu_log: self.apdu_log.iter().copied().collect(),
            seed_writes: self.seed_writes,
            config_writes: self.config_writes,
        }
    }

    /// Processes one command APDU and returns the reply: data followed by SW1 SW2.
    /// Never panics, whatever the bytes.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let (mut reply, sw) = match self.dispatch(apdu) {
            Ok(data) => (data, crate::apdu::sw::OK),
            Err(sw) => (Vec::new(), sw),
        };
        self.apdu_count = self.apdu_count.saturating_add(1);
        if self.apdu_log.len() >= LOG_CAPACITY {
            self.apdu_log.pop_front();
        }
        self.apdu_log.push_back(LogEntry {
            cla: apdu.first().copied(),
            ins: apdu.get(1).copied(),
            sw,
        });
        reply.extend_from_slice(&sw.to_be_bytes());
        reply
    }
}

fn clamp_u64(t: i128) -> u64 {
    u64::try_from(t.max(0)).unwrap_or(u64::MAX)
}
