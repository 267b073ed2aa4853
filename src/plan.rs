//! Burn plans: what will be written to a token, validated before any APDU is sent.
//!
//! The token does TOTP only, with SHA-1 or SHA-256, a 30 or 60 second step and 6 digits
//! (docs/protocol.md section 3, "write config"). A credential outside that is refused with an
//! error naming the parameter, unless the user explicitly accepts one of the documented
//! [`Conversion`]s. No conversion is ever applied silently: every one applied is listed
//! in [`BurnPlan::conversions`] and in the burn report.

use std::collections::BTreeSet;
use std::fmt;

use safeid_otpauth::{Algorithm, Credential, Kind};
use safeid_proto::{DisplayTimeout, HmacAlgorithm, Seed, TimeStep};
use safeid_secret::SecretBytes;
use sha1::Digest;
use thiserror::Error;

/// The largest seed the token stores (docs/protocol.md section 3, "write seed").
pub const MAX_SEED_BYTES: usize = 63;

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
    /// The user overrides the credential's algorithm or period with `--algorithm` /
    /// `--period`: the token's codes then differ from the service's unless the service
    /// is changed too.
    Override,
}

impl Conversion {
    /// The name used on the command line (`--accept NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Conversion::SixDigits => "six-digits",
            Conversion::HashLongSeed => "hash-long-seed",
            Conversion::Override => "override",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::SixDigits, Self::HashLongSeed, Self::Override]
            .into_iter()
            .find(|c| c.name() == name)
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

/// Why a credential cannot be burned as it is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
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
        "period: the token counts in 30 or 60 second steps, not {0} s; pass --period 30 or 60 with --accept override if the service can be changed"
    )]
    Period(u64),
    /// A digit count the token cannot show.
    #[error(
        "digits: the token shows 6 digits, the credential asks for {0}; --accept six-digits burns it anyway (the token then shows the last 6 digits, valid only where the service accepts 6)"
    )]
    Digits(u8),
    /// The seed is empty.
    #[error("secret: the seed is empty")]
    EmptySeed,
    /// The seed is too long to store.
    #[error(
        "secret: the seed is {0} bytes, the token stores at most 63; --accept hash-long-seed hashes seeds longer than 64 bytes (codes unchanged)"
    )]
    SeedTooLong(usize),
    /// A 64-byte seed cannot be stored and cannot be hashed without changing the codes.
    #[error(
        "secret: the seed is exactly 64 bytes: too long for the token (63 at most), and HMAC does not hash keys of exactly one block, so no conversion keeps the codes"
    )]
    SeedOneBlock,
    /// The display timeout is not one the token knows.
    #[error("display timeout: the token offers 15, 30, 60 or 120 s, not {0} s")]
    DisplayTimeout(u32),
    /// The user asked for an override without accepting it.
    #[error(
        "{0}: overriding the credential's value changes the codes; add --accept override to confirm"
    )]
    OverrideNotAccepted(&'static str),
}

/// What the user asks for beyond the credential itself.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Replace the credential's algorithm (`--algorithm`).
    pub algorithm: Option<HmacAlgorithm>,
    /// Replace the credential's period (`--period`).
    pub period: Option<u64>,
    /// Display timeout in seconds (`--display-timeout`); default 30.
    pub display_timeout: Option<u32>,
    /// Conversions the user accepted explicitly (`--accept`).
    pub accept: BTreeSet<Conversion>,
}

/// A validated burn: everything the token will receive, except the clock value, which is
/// read from the host at the moment config is written.
#[derive(Debug, Clone)]
pub struct BurnPlan {
    seed: Seed,
    hmac: HmacAlgorithm,
    step: TimeStep,
    display_timeout: DisplayTimeout,
    conversions: Vec<Conversion>,
    label: Option<String>,
}

impl BurnPlan {
    /// Builds a plan from a parsed credential, refusing what the token cannot honour.
    pub fn from_credential(cred: &Credential, opts: &PlanOptions) -> Result<Self, PlanError> {
        let period = match cred.kind {
            Kind::Hotp { .. } => return Err(PlanError::Hotp),
            Kind::Totp { period } => period,
        };
        let algorithm = match cred.algorithm {
            Algorithm::Sha1 => Some(HmacAlgorithm::Sha1),
            Algorithm::Sha256 => Some(HmacAlgorithm::Sha256),
            Algorithm::Sha512 => None,
        };
        let label = Some(match &cred.issuer {
            Some(issuer) => format!("{issuer}:{}", cred.account),
            None => cred.account.clone(),
        });
        Self::build(
            &cred.secret,
            algorithm.ok_or_else(|| PlanError::Algorithm(cred.algorithm.to_string())),
            period,
            cred.digits,
            label,
            opts,
        )
    }

    /// Builds a plan from a raw seed (`--secret-hex`, `--secret-base32`, random, CSV).
    pub fn from_seed(
        seed: &SecretBytes,
        hmac: HmacAlgorithm,
        period: u64,
        opts: &PlanOptions,
    ) -> Result<Self, PlanError> {
        Self::build(seed, Ok(hmac), period, 6, None, opts)
    }

    fn build(
        secret: &SecretBytes,
        algorithm: Result<HmacAlgorithm, PlanError>,
        period: u64,
        digits: u8,
        label: Option<String>,
        opts: &PlanOptions,
    ) -> Result<Self, PlanError> {
        let mut conversions = Vec::new();
        let mut accept = |c: Conversion, err: PlanError| {
            if opts.accept.contains(&c) {
                if !conversions.contains(&c) {
                    conversions.push(c);
                }
                Ok(())
            } else {
                Err(err)
            }
        };

        let hmac = match (opts.algorithm, algorithm) {
            (Some(wanted), Ok(have)) if wanted == have => have,
            (Some(wanted), _) => {
                accept(
                    Conversion::Override,
                    PlanError::OverrideNotAccepted("algorithm"),
                )?;
                wanted
            }
            (None, result) => result?,
        };

        let period = match opts.period {
            Some(p) if p != period => {
                accept(
                    Conversion::Override,
                    PlanError::OverrideNotAccepted("period"),
                )?;
                p
            }
            _ => period,
        };
        let step = u32::try_from(period)
            .ok()
            .and_then(TimeStep::from_seconds)
            .ok_or(PlanError::Period(period))?;

        if digits != 6 {
            if digits == 7 || digits == 8 {
                accept(Conversion::SixDigits, PlanError::Digits(digits))?;
            } else {
                return Err(PlanError::Digits(digits));
            }
        }

        let seed_bytes = match secret.len() {
            0 => return Err(PlanError::EmptySeed),
            1..=MAX_SEED_BYTES => secret.clone(),
            64 => return Err(PlanError::SeedOneBlock),
            n => {
                accept(Conversion::HashLongSeed, PlanError::SeedTooLong(n))?;
                hash_long_key(secret, hmac)
            }
        };
        // The length was checked just above, so this cannot fail; map it anyway.
        let seed = Seed::new(seed_bytes).map_err(|_| PlanError::SeedTooLong(secret.len()))?;

        let timeout_s = opts.display_timeout.unwrap_or(30);
        let display_timeout =
            DisplayTimeout::from_seconds(timeout_s).ok_or(PlanError::DisplayTimeout(timeout_s))?;

        Ok(Self {
            seed,
            hmac,
            step,
            display_timeout,
            conversions,
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

    /// `issuer:account` of the source credential, if it had one.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// A TOTP generator computing what the token will display.
    pub fn totp(&self) -> safeid_totp::Totp {
        expected_totp(self.seed.expose(), self.hmac, self.step)
    }
}

/// A TOTP generator for what a token with this seed and config displays (6 digits).
pub fn expected_totp(seed: &[u8], hmac: HmacAlgorithm, step: TimeStep) -> safeid_totp::Totp {
    let algorithm = match hmac {
        HmacAlgorithm::Sha1 => safeid_totp::Algorithm::Sha1,
        HmacAlgorithm::Sha256 => safeid_totp::Algorithm::Sha256,
    };
    // Seeds are 1..=63 bytes, 6 digits and 30/60 s are valid, so construction cannot fail.
    match safeid_totp::Totp::new(seed, algorithm, 6, u64::from(step.seconds())) {
        Ok(totp) => totp,
        Err(e) => unreachable!("a validated plan always makes a valid TOTP: {e}"),
    }
}

/// HMAC's own treatment of keys longer than the block (RFC 2104 section 2).
fn hash_long_key(secret: &SecretBytes, hmac: HmacAlgorithm) -> SecretBytes {
    match hmac {
        HmacAlgorithm::Sha1 => SecretBytes::from_slice(&sha1::Sha1::digest(secret.expose())),
        HmacAlgorithm::Sha256 => SecretBytes::from_slice(&sha2::Sha256::digest(secret.expose())),
    }
}
