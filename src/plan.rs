//! Burn plans: what will be written to a token, validated before any APDU is sent.
//!
//! The token does TOTP only, with SHA-1 or SHA-256, a 30 or 60 second step and 6 digits
//! (docs/protocol.md section 3, "write config"). A credential outside that is refused with
//! an error naming the parameter, unless the user explicitly accepts one of the documented
//! [`Conversion`]s. No conversion is ever applied silently: every one applied is listed
//! in [`BurnPlan::conversions`] and in the burn report.
//!
//! Two risks also need the user's explicit word ([`Risk`]): a *random* seed shorter than
//! 16 bytes (128 bits, the RFC 4226 minimum: the tool would be choosing a weak secret),
//! and burning a token whose clock is far off without syncing it. A short secret that the
//! *service* chose is burned (the token must match the service) with a warning.

use std::collections::BTreeSet;
use std::fmt;

use safeid_otpauth::{Credential, Kind};
use safeid_proto::{DisplayTimeout, HmacAlgorithm, Seed, TimeStep};
use safeid_secret::SecretBytes;
use serde::Serialize;
use sha1::Digest;
use thiserror::Error;

/// The largest seed the token stores (docs/protocol.md section 3, "write seed").
pub const MAX_SEED_BYTES: usize = Seed::MAX_LEN;

/// Secrets shorter than this (128 bits, RFC 4226 section 4) are weak: a random seed this
/// short needs [`Risk::ShortRandomSeed`]; a service's secret gets a warning.
pub const MIN_STRONG_SEED_BYTES: usize = safeid_otpauth::MIN_SECRET_BYTES;

/// A documented change the user may accept so that a credential fits the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Conversion {
    /// The credential asks for 7 or 8 digits; the token shows 6. Its code is the last six
    /// digits of the service's code (RFC 4226 truncation takes the value modulo 10^d), so
    /// it only works where the service also accepts 6-digit codes.
    SixDigits,
    /// The seed is longer than 64 bytes: HMAC replaces such a key by its hash (RFC 2104,
    /// section 2), so burning `H(seed)` gives exactly the same codes. Lossless.
    HashLongSeed,
    /// The user overrides the credential's algorithm or period: the token's codes then
    /// differ from the service's unless the service is changed too.
    Override,
}

impl Conversion {
    /// Every conversion.
    pub const ALL: [Conversion; 3] = [Self::SixDigits, Self::HashLongSeed, Self::Override];

    /// The stable name (`six-digits`, `hash-long-seed`, `override`).
    pub fn name(self) -> &'static str {
        match self {
            Conversion::SixDigits => "six-digits",
            Conversion::HashLongSeed => "hash-long-seed",
            Conversion::Override => "override",
        }
    }

    /// What the conversion does, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Conversion::SixDigits => {
                "digits reduced to 6: the token shows the last 6 digits of the service's code"
            }
            Conversion::HashLongSeed => {
                "seed longer than 64 bytes replaced by its hash (HMAC does the same; codes unchanged)"
            }
            Conversion::Override => {
                "algorithm or period overridden: codes differ from the service unless it is changed too"
            }
        }
    }
}

impl fmt::Display for Conversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A risk the user may accept explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Risk {
    /// Generate random seeds shorter than 16 bytes.
    ShortRandomSeed,
    /// Burn without syncing a token whose clock is off by more than the refusal limit.
    ClockDrift,
}

impl Risk {
    /// Every risk.
    pub const ALL: [Risk; 2] = [Self::ShortRandomSeed, Self::ClockDrift];

    /// The stable name (`short-seed`, `clock-drift`).
    pub fn name(self) -> &'static str {
        match self {
            Risk::ShortRandomSeed => "short-seed",
            Risk::ClockDrift => "clock-drift",
        }
    }
}

/// Anything a user can accept: a conversion or a risk. One vocabulary for front ends
/// (`--accept NAME` in the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Acceptance {
    /// A conversion of the credential.
    Conversion(Conversion),
    /// A risk.
    Risk(Risk),
}

impl Acceptance {
    /// Every acceptance.
    pub fn all() -> impl Iterator<Item = Acceptance> {
        Conversion::ALL
            .into_iter()
            .map(Acceptance::Conversion)
            .chain(Risk::ALL.into_iter().map(Acceptance::Risk))
    }

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Acceptance::Conversion(c) => c.name(),
            Acceptance::Risk(r) => r.name(),
        }
    }

    /// Parses a name, ASCII case-insensitive.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Acceptance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a credential cannot be burned as it is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PlanError {
    /// HOTP credentials cannot be burned: the token only does TOTP.
    #[error(
        "type: the token only does TOTP; this credential is HOTP (counter-based) and cannot be burned"
    )]
    Hotp,
    /// SHA-512 (or another hash the token lacks).
    #[error(
        "algorithm: the token supports SHA1 and SHA256, not {0}; no conversion can keep the codes equal"
    )]
    Algorithm(String),
    /// A period the token cannot count in.
    #[error(
        "period: the token counts in 30 or 60 second steps, not {0} s; override the period to 30 or 60 (and accept the override) only if the service can be changed"
    )]
    Period(u64),
    /// A digit count the token cannot show.
    #[error(
        "digits: the token shows 6 digits, the credential asks for {0}; accepting the six-digits conversion burns it anyway (the token then shows the last 6 digits, valid only where the service accepts 6)"
    )]
    Digits(u8),
    /// The seed is empty.
    #[error("secret: the seed is empty")]
    EmptySeed,
    /// The seed is too long to store.
    #[error(
        "secret: the seed is {0} bytes, the token stores at most 63; the hash-long-seed conversion hashes seeds longer than 64 bytes (codes unchanged)"
    )]
    SeedTooLong(usize),
    /// A 64-byte seed cannot be stored and cannot be hashed without changing the codes.
    #[error(
        "secret: the seed is exactly 64 bytes: too long for the token (63 at most), and HMAC does not hash keys of exactly one block, so no conversion keeps the codes"
    )]
    SeedOneBlock,
    /// A random seed shorter than 16 bytes without the user's acceptance.
    #[error(
        "secret: a random seed of {0} bytes is weaker than the 16 bytes (128 bits) RFC 4226 requires; use 20 or more, or accept the short-seed risk explicitly"
    )]
    ShortRandomSeed(usize),
    /// The TOTP crate refused the parameters (not expected for values the token takes).
    #[error("the codes cannot be computed for these parameters: {0}")]
    Totp(safeid_totp::TotpError),
    /// The display timeout is not one the token knows.
    #[error("display timeout: the token offers 15, 30, 60 or 120 s, not {0} s")]
    DisplayTimeout(u32),
    /// The user asked for an override without accepting it.
    #[error(
        "{0}: overriding the credential's value changes the codes; accept the override conversion to confirm"
    )]
    OverrideNotAccepted(&'static str),
}

impl PlanError {
    /// A stable name for the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            PlanError::Hotp => "hotp",
            PlanError::Algorithm(_) => "unsupported_algorithm",
            PlanError::Period(_) => "unsupported_period",
            PlanError::Digits(_) => "unsupported_digits",
            PlanError::EmptySeed => "empty_seed",
            PlanError::SeedTooLong(_) | PlanError::SeedOneBlock => "seed_too_long",
            PlanError::ShortRandomSeed(_) => "short_random_seed",
            PlanError::DisplayTimeout(_) => "unsupported_display_timeout",
            PlanError::Totp(_) => "totp",
            PlanError::OverrideNotAccepted(_) => "override_not_accepted",
        }
    }

    /// What the user can accept to go on, if anything.
    pub fn hint(&self) -> Option<crate::error::Hint> {
        use crate::error::Hint::Accept;
        match self {
            PlanError::Digits(7 | 8) => Some(Accept(Acceptance::Conversion(Conversion::SixDigits))),
            PlanError::SeedTooLong(_) => {
                Some(Accept(Acceptance::Conversion(Conversion::HashLongSeed)))
            }
            PlanError::OverrideNotAccepted(_) | PlanError::Period(_) => {
                Some(Accept(Acceptance::Conversion(Conversion::Override)))
            }
            PlanError::ShortRandomSeed(_) => Some(Accept(Acceptance::Risk(Risk::ShortRandomSeed))),
            _ => None,
        }
    }
}

/// What the user asks for beyond the credential itself.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Replace the credential's algorithm. For a raw secret (no credential parameters),
    /// the algorithm to use.
    pub algorithm: Option<HmacAlgorithm>,
    /// Replace the credential's period; for a raw secret, the period to use.
    pub period: Option<u64>,
    /// Display timeout in seconds; default 30.
    pub display_timeout: Option<u32>,
    /// Conversions and risks the user accepted explicitly.
    pub accept: BTreeSet<Acceptance>,
}

impl PlanOptions {
    /// True when the user accepted `a`.
    pub fn accepts(&self, a: Acceptance) -> bool {
        self.accept.contains(&a)
    }
}

/// Something about a plan that is allowed but that the user must be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum PlanWarning {
    /// The service's secret is shorter than 16 bytes; it is burned as the service chose it.
    ShortSecret {
        /// Its length in bytes.
        bytes: usize,
    },
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanWarning::ShortSecret { bytes } => write!(
                f,
                "the secret is {} bits, shorter than the 128 bits RFC 4226 requires; it is burned as the service chose it",
                bytes * 8
            ),
        }
    }
}

impl fmt::Debug for BurnPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BurnPlan")
            .field("seed", &self.seed)
            .field("hmac", &self.hmac)
            .field("step", &self.step)
            .field("display_timeout", &self.display_timeout)
            .field("conversions", &self.conversions)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// A validated burn: everything the token will receive, except the clock value, which is
/// read from the host at the moment config is written.
#[derive(Clone)]
pub struct BurnPlan {
    seed: Seed,
    totp: safeid_totp::Totp,
    hmac: HmacAlgorithm,
    step: TimeStep,
    display_timeout: DisplayTimeout,
    conversions: Vec<Conversion>,
    warnings: Vec<PlanWarning>,
    label: Option<String>,
}

/// The parameters a seed comes with before the user's options are applied.
struct Wanted {
    algorithm: Result<HmacAlgorithm, PlanError>,
    period: u64,
    digits: u8,
    /// The parameters were chosen by a service (a credential), not left to the user.
    from_service: bool,
}

impl BurnPlan {
    /// Builds a plan from a credential a service issued, refusing what the token cannot
    /// honour. Overriding its algorithm or period needs [`Conversion::Override`].
    pub fn from_credential(cred: &Credential, opts: &PlanOptions) -> Result<Self, PlanError> {
        let period = match cred.kind {
            Kind::Hotp { .. } => return Err(PlanError::Hotp),
            Kind::Totp { period } => period,
        };
        let wanted = Wanted {
            algorithm: HmacAlgorithm::try_from(cred.algorithm)
                .map_err(|_| PlanError::Algorithm(cred.algorithm.to_string())),
            period,
            digits: cred.digits,
            from_service: true,
        };
        let label = Some(crate::content::label(cred)).filter(|l| !l.is_empty());
        Self::build(&cred.secret, wanted, label, opts)
    }

    /// Builds a plan from a raw seed (typed text, a seed file row, a journal record): the
    /// algorithm and period are the options' (default SHA-1, 30 s), no override needed.
    pub fn from_seed(seed: &SecretBytes, opts: &PlanOptions) -> Result<Self, PlanError> {
        let wanted = Wanted {
            algorithm: Ok(opts.algorithm.unwrap_or_default()),
            period: opts
                .period
                .unwrap_or(u64::from(crate::record::DEFAULT_PERIOD)),
            digits: crate::record::TOKEN_DIGITS,
            from_service: false,
        };
        let raw = PlanOptions {
            algorithm: None,
            period: None,
            ..opts.clone()
        };
        Self::build(seed, wanted, None, &raw)
    }

    /// Builds the plan of a journal or seed-file record (its own algorithm and period).
    pub fn from_record(
        record: &crate::record::TokenSeed,
        opts: &PlanOptions,
    ) -> Result<Self, PlanError> {
        let raw = PlanOptions {
            algorithm: Some(record.hash),
            period: Some(u64::from(record.period)),
            ..opts.clone()
        };
        let mut plan = Self::from_seed(&record.secret, &raw)?;
        plan.label = record.display_name.clone();
        Ok(plan)
    }

    fn build(
        secret: &SecretBytes,
        wanted: Wanted,
        label: Option<String>,
        opts: &PlanOptions,
    ) -> Result<Self, PlanError> {
        let mut conversions = Vec::new();
        let hmac = choose_hmac(wanted.algorithm, opts, &mut conversions)?;
        let step = choose_step(wanted.period, opts, &mut conversions)?;
        check_digits(wanted.digits, opts, &mut conversions)?;
        let seed = seed_for(secret, hmac, opts, &mut conversions)?;
        let timeout_s = opts.display_timeout.unwrap_or(30);
        let display_timeout =
            DisplayTimeout::from_seconds(timeout_s).ok_or(PlanError::DisplayTimeout(timeout_s))?;
        let mut warnings = Vec::new();
        if wanted.from_service && secret.len() < MIN_STRONG_SEED_BYTES {
            warnings.push(PlanWarning::ShortSecret {
                bytes: secret.len(),
            });
        }
        let totp = expected_totp(&seed, hmac, step).map_err(PlanError::Totp)?;
        Ok(Self {
            seed,
            totp,
            hmac,
            step,
            display_timeout,
            conversions,
            warnings,
            label,
        })
    }

    /// The seed that will be written (after any accepted conversion).
    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    /// The HMAC algorithm the token will use.
    pub fn hmac(&self) -> HmacAlgorithm {
        self.hmac
    }

    /// The time step the token will use.
    pub fn step(&self) -> TimeStep {
        self.step
    }

    /// The display timeout that will be configured.
    pub fn display_timeout(&self) -> DisplayTimeout {
        self.display_timeout
    }

    /// Conversions applied (each one accepted by the user).
    pub fn conversions(&self) -> &[Conversion] {
        &self.conversions
    }

    /// What the user must be told before the burn.
    pub fn warnings(&self) -> &[PlanWarning] {
        &self.warnings
    }

    /// `issuer:account` of the source credential, if it had one.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// A TOTP generator computing what the token will display.
    pub fn totp(&self) -> &safeid_totp::Totp {
        &self.totp
    }
}

/// Records `c` as applied when the user accepted it, else returns `err`.
fn accept(
    c: Conversion,
    err: PlanError,
    opts: &PlanOptions,
    applied: &mut Vec<Conversion>,
) -> Result<(), PlanError> {
    if !opts.accepts(Acceptance::Conversion(c)) {
        return Err(err);
    }
    if !applied.contains(&c) {
        applied.push(c);
    }
    Ok(())
}

fn choose_hmac(
    have: Result<HmacAlgorithm, PlanError>,
    opts: &PlanOptions,
    applied: &mut Vec<Conversion>,
) -> Result<HmacAlgorithm, PlanError> {
    match (opts.algorithm, have) {
        (Some(wanted), Ok(have)) if wanted == have => Ok(have),
        (Some(wanted), _) => {
            let err = PlanError::OverrideNotAccepted("algorithm");
            accept(Conversion::Override, err, opts, applied)?;
            Ok(wanted)
        }
        (None, result) => result,
    }
}

fn choose_step(
    period: u64,
    opts: &PlanOptions,
    applied: &mut Vec<Conversion>,
) -> Result<TimeStep, PlanError> {
    let period = match opts.period {
        Some(p) if p != period => {
            let err = PlanError::OverrideNotAccepted("period");
            accept(Conversion::Override, err, opts, applied)?;
            p
        }
        _ => period,
    };
    u32::try_from(period)
        .ok()
        .and_then(TimeStep::from_seconds)
        .ok_or(PlanError::Period(period))
}

fn check_digits(
    digits: u8,
    opts: &PlanOptions,
    applied: &mut Vec<Conversion>,
) -> Result<(), PlanError> {
    match digits {
        6 => Ok(()),
        7 | 8 => accept(
            Conversion::SixDigits,
            PlanError::Digits(digits),
            opts,
            applied,
        ),
        _ => Err(PlanError::Digits(digits)),
    }
}

fn seed_for(
    secret: &SecretBytes,
    hmac: HmacAlgorithm,
    opts: &PlanOptions,
    applied: &mut Vec<Conversion>,
) -> Result<Seed, PlanError> {
    let bytes = match secret.len() {
        0 => return Err(PlanError::EmptySeed),
        1..=MAX_SEED_BYTES => secret.clone(),
        64 => return Err(PlanError::SeedOneBlock),
        n => {
            accept(
                Conversion::HashLongSeed,
                PlanError::SeedTooLong(n),
                opts,
                applied,
            )?;
            hash_long_key(secret, hmac)
        }
    };
    Seed::new(bytes).map_err(|_| PlanError::SeedTooLong(secret.len()))
}

/// A TOTP generator for what a token with this seed and config displays (6 digits).
///
/// A [`Seed`] holds 1 to 63 bytes and 6 digits with a 30 or 60 s step are valid TOTP
/// parameters, so this does not fail for values of these types; it returns the TOTP
/// crate's error rather than assume so.
pub fn expected_totp(
    seed: &Seed,
    hmac: HmacAlgorithm,
    step: TimeStep,
) -> Result<safeid_totp::Totp, safeid_totp::TotpError> {
    safeid_totp::Totp::new(
        seed.expose(),
        hmac.into(),
        crate::record::TOKEN_DIGITS,
        u64::from(step.seconds()),
    )
}

/// HMAC's own treatment of keys longer than the block (RFC 2104 section 2).
fn hash_long_key(secret: &SecretBytes, hmac: HmacAlgorithm) -> SecretBytes {
    match hmac {
        HmacAlgorithm::Sha1 => SecretBytes::from_slice(&sha1::Sha1::digest(secret.expose())),
        HmacAlgorithm::Sha256 => SecretBytes::from_slice(&sha2::Sha256::digest(secret.expose())),
    }
}
