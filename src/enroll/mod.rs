//! Registering burned tokens directly with an authentication server, so that no seed file
//! has to be written at all (issue 11).
//!
//! [`Enroller`] is what the batch engine drives: after a token is burned it calls
//! [`Enroller::enroll`] with the token's [`TokenSeed`]; on resume it asks
//! [`Enroller::lookup`] first. [`PrivacyIdea`] (feature `enroll`) talks to privacyIDEA's
//! REST API; [`MemoryEnroller`] keeps enrollments in memory, with injectable failures, for
//! tests of the code that drives an enroller.
//!
//! # Already enrolled?
//!
//! privacyIDEA never returns a token's key, so "the serial exists" cannot tell our seed
//! from another. Every enrollment therefore writes a *seed fingerprint* into the token's
//! description ([`seed_fingerprint`]: 96 bits of HMAC-SHA256 keyed by the seed over the
//! serial and the TOTP parameters). The rule, applied before any `/token/init`:
//!
//! - serial absent: enroll ([`EnrollOutcome::Enrolled`]);
//! - serial present, TOTP with the same hash, period and digits, and the description holds
//!   this seed's fingerprint: already done ([`EnrollOutcome::AlreadyEnrolled`]), nothing is
//!   sent;
//! - serial present otherwise (another type, other parameters, another fingerprint, or no
//!   fingerprint because it was enrolled by other means): [`EnrollError::Conflict`]. The
//!   existing token is never overwritten (privacyIDEA's `/token/init` on an existing serial
//!   would replace its key); an operator decides.
//!
//! So a second run never enrolls a token twice, and a run interrupted after the server
//! stored a token but before the journal recorded it recognises its own enrollment.
//! The fingerprint reveals nothing usable about a seed of 16 bytes or more (finding the
//! seed from it is a brute force of the seed itself); for very short seeds it is as weak as
//! the seed.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::record::TokenSeed;

#[cfg(feature = "enroll")]
mod privacyidea;

#[cfg(feature = "enroll")]
pub use privacyidea::{PrivacyIdea, PrivacyIdeaConfig};

/// The prefix of a seed fingerprint in a token description.
pub const FINGERPRINT_PREFIX: &str = "safeid-fp1:";

/// The fingerprint enrollments write into the token description: `safeid-fp1:` and 24 hex
/// digits of HMAC-SHA256(key = seed, "safeid enrollment fingerprint v1", serial, hash,
/// period, digits). Two records give the same fingerprint only with the same seed for the
/// same serial and parameters.
pub fn seed_fingerprint(seed: &TokenSeed) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(seed.secret.expose())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"safeid enrollment fingerprint v1\0");
    mac.update(seed.serial.as_bytes());
    mac.update(format!("\0{}\0{}\0{}", seed.hash.name(), seed.period, seed.digits).as_bytes());
    let tag = mac.finalize().into_bytes();
    format!(
        "{FINGERPRINT_PREFIX}{}",
        data_encoding::HEXLOWER.encode(&tag[..12])
    )
}

/// What the server holds for a token's serial, compared with the seed we burned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presence {
    /// The serial is unknown to the server.
    Absent,
    /// The server holds this serial with our parameters and our seed's fingerprint.
    Same,
    /// The server holds this serial, but not as we would have enrolled it.
    Different(String),
}

/// What [`Enroller::enroll`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrollOutcome {
    /// The token was registered now.
    Enrolled,
    /// The server already held this token with this seed; nothing was sent.
    AlreadyEnrolled,
}

/// Why an enrollment did not happen. Never contains a seed, a key or a password.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnrollError {
    /// The server could not be reached (refused, timed out, name unknown): retry later.
    #[error("{target} cannot be reached: {reason}")]
    Unreachable {
        /// The server.
        target: String,
        /// What failed.
        reason: String,
    },
    /// The TLS connection was refused (unknown CA, wrong name, expired certificate...).
    #[error("TLS with {target} failed: {reason}")]
    Tls {
        /// The server.
        target: String,
        /// What failed.
        reason: String,
    },
    /// The server refused the admin credentials or the admin's rights.
    #[error("{target} refused the admin credentials or rights ({reason})")]
    Auth {
        /// The server.
        target: String,
        /// What the server said (scrubbed).
        reason: String,
    },
    /// The serial exists on the server, and not as this seed's enrollment: nothing was
    /// changed.
    #[error(
        "token {serial} already exists on the server and differs ({reason}); it was left unchanged"
    )]
    Conflict {
        /// The token.
        serial: String,
        /// What differs.
        reason: String,
    },
    /// The server refused the request.
    #[error("the server refused token {serial}: HTTP {status}: {message}")]
    Refused {
        /// The token.
        serial: String,
        /// The HTTP status.
        status: u16,
        /// What the server said (scrubbed of the request's secrets).
        message: String,
    },
    /// The server answered something unexpected.
    #[error("unexpected answer from {target}: {reason}")]
    Protocol {
        /// The server.
        target: String,
        /// What was wrong.
        reason: String,
    },
    /// The enroller is misconfigured (URL, CA file).
    #[error("{0}")]
    Config(String),
}

impl EnrollError {
    /// True when trying again later may succeed (the server was down or overloaded):
    /// the batch keeps the token "burned, not enrolled" for resume.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Refused { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// Registers burned tokens with a server.
pub trait Enroller {
    /// The server, for messages and the journal (`privacyidea=https://host/`).
    fn target(&self) -> String;

    /// Checks that the server can be reached and takes the credentials, before anything
    /// is burned (a batch calls it once in [`prepare`](crate::batch::prepare)). The
    /// default does nothing.
    fn check(&mut self) -> Result<(), EnrollError> {
        Ok(())
    }

    /// What the server holds for this token's serial (see the module documentation).
    fn lookup(&mut self, seed: &TokenSeed) -> Result<Presence, EnrollError>;

    /// Whether the server knows the serial at all (whatever its key).
    fn is_enrolled(&mut self, serial: &str) -> Result<bool, EnrollError>;

    /// Registers the token unless the server already holds it with this seed; refuses
    /// ([`EnrollError::Conflict`]) when the server holds the serial otherwise.
    fn enroll(&mut self, seed: &TokenSeed) -> Result<EnrollOutcome, EnrollError> {
        match self.lookup(seed)? {
            Presence::Same => Ok(EnrollOutcome::AlreadyEnrolled),
            Presence::Different(reason) => Err(EnrollError::Conflict {
                serial: seed.serial.clone(),
                reason,
            }),
            Presence::Absent => {
                self.register(seed)?;
                Ok(EnrollOutcome::Enrolled)
            }
        }
    }

    /// Sends the registration itself, without the lookup (use [`Enroller::enroll`]).
    fn register(&mut self, seed: &TokenSeed) -> Result<(), EnrollError>;
}

/// One token as a [`MemoryEnroller`] holds it.
#[derive(Clone, PartialEq, Eq)]
struct Held {
    fingerprint: String,
}

/// An in-memory [`Enroller`] for tests of the code that drives enrollments (the batch
/// journal): it applies the same rules as [`PrivacyIdea`] and can be told to fail.
#[derive(Default)]
pub struct MemoryEnroller {
    tokens: BTreeMap<String, Held>,
    /// While true, every call fails with [`EnrollError::Unreachable`] (a server that is
    /// down).
    pub down: bool,
    /// The next this many registrations fail with [`EnrollError::Unreachable`] *after*
    /// the server stored the token (a reply lost on the way back).
    pub lose_replies: usize,
    /// Registrations sent (successful or not), to prove that nothing is sent twice.
    pub registrations: usize,
}

impl fmt::Debug for MemoryEnroller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryEnroller")
            .field("serials", &self.tokens.keys().collect::<Vec<_>>())
            .field("down", &self.down)
            .field("registrations", &self.registrations)
            .finish()
    }
}

impl MemoryEnroller {
    /// An empty server.
    pub fn new() -> Self {
        Self::default()
    }

    /// The serials held.
    pub fn serials(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }

    /// Stores a token enrolled by other means (no fingerprint of ours).
    pub fn insert_foreign(&mut self, serial: &str) {
        self.tokens.insert(
            serial.to_owned(),
            Held {
                fingerprint: String::new(),
            },
        );
    }

    fn check_up(&self) -> Result<(), EnrollError> {
        if self.down {
            return Err(EnrollError::Unreachable {
                target: self.target(),
                reason: "connection refused".into(),
            });
        }
        Ok(())
    }
}

impl Enroller for MemoryEnroller {
    fn target(&self) -> String {
        "memory".into()
    }

    fn check(&mut self) -> Result<(), EnrollError> {
        self.check_up()
    }

    fn lookup(&mut self, seed: &TokenSeed) -> Result<Presence, EnrollError> {
        self.check_up()?;
        Ok(match self.tokens.get(&seed.serial) {
            None => Presence::Absent,
            Some(h) if h.fingerprint == seed_fingerprint(seed) => Presence::Same,
            Some(_) => Presence::Different("another seed's fingerprint, or none".into()),
        })
    }

    fn is_enrolled(&mut self, serial: &str) -> Result<bool, EnrollError> {
        self.check_up()?;
        Ok(self.tokens.contains_key(serial))
    }

    fn register(&mut self, seed: &TokenSeed) -> Result<(), EnrollError> {
        self.check_up()?;
        self.registrations += 1;
        self.tokens.insert(
            seed.serial.clone(),
            Held {
                fingerprint: seed_fingerprint(seed),
            },
        );
        if self.lose_replies > 0 {
            self.lose_replies -= 1;
            return Err(EnrollError::Unreachable {
                target: self.target(),
                reason: "the reply was lost".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use safeid_secret::SecretBytes;

    fn seed(serial: &str, bytes: &[u8]) -> TokenSeed {
        TokenSeed::new(serial, SecretBytes::from_slice(bytes))
    }

    #[test]
    fn fingerprint_depends_on_seed_serial_and_parameters_only() {
        let a = seed("1", b"12345678901234567890");
        assert_eq!(seed_fingerprint(&a), seed_fingerprint(&a.clone()));
        assert!(seed_fingerprint(&a).starts_with(FINGERPRINT_PREFIX));
        assert_eq!(seed_fingerprint(&a).len(), FINGERPRINT_PREFIX.len() + 24);
        let mut other = a.clone();
        other.period = 60;
        assert_ne!(seed_fingerprint(&a), seed_fingerprint(&other));
        assert_ne!(
            seed_fingerprint(&a),
            seed_fingerprint(&seed("2", b"12345678901234567890"))
        );
        assert_ne!(
            seed_fingerprint(&a),
            seed_fingerprint(&seed("1", b"12345678901234567891"))
        );
        // The descriptive fields do not matter.
        let mut named = a.clone();
        named.model = Some("X".into());
        assert_eq!(seed_fingerprint(&a), seed_fingerprint(&named));
        assert!(!seed_fingerprint(&a).contains("3132"));
    }

    #[test]
    fn memory_enroller_never_enrolls_twice_and_never_overwrites() {
        let mut e = MemoryEnroller::new();
        let a = seed("1", b"aaaaaaaaaaaaaaaaaaaa");
        assert_eq!(e.enroll(&a).unwrap(), EnrollOutcome::Enrolled);
        assert_eq!(e.enroll(&a).unwrap(), EnrollOutcome::AlreadyEnrolled);
        assert_eq!(e.registrations, 1);
        let a2 = seed("1", b"bbbbbbbbbbbbbbbbbbbb");
        assert!(matches!(e.enroll(&a2), Err(EnrollError::Conflict { .. })));
        e.insert_foreign("2");
        assert!(matches!(
            e.enroll(&seed("2", b"cccc")),
            Err(EnrollError::Conflict { .. })
        ));
        // A lost reply: the retry finds the token and does not send it again.
        e.lose_replies = 1;
        let b = seed("3", b"dddddddddddddddddddd");
        let err = e.enroll(&b).unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(e.enroll(&b).unwrap(), EnrollOutcome::AlreadyEnrolled);
        e.down = true;
        assert!(e.enroll(&seed("4", b"x")).unwrap_err().is_retryable());
        assert_eq!(e.serials(), ["1", "2", "3"]);
    }
}
