//! Errors from building a generator.

use crate::{MAX_DIGITS, MIN_DIGITS};

/// Why a [`Hotp`](crate::Hotp) or [`Totp`](crate::Totp) could not be built.
///
/// Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The number of digits is outside 6..=10 (RFC 4226 section 5.3 asks for at least 6;
    /// a 31-bit value has at most 10 decimal digits).
    #[error("{0} digits is not supported: use {MIN_DIGITS} to {MAX_DIGITS} digits")]
    Digits(u8),
    /// The time step is 0 seconds.
    #[error("the time step (period) must be at least 1 second")]
    ZeroPeriod,
    /// The key (seed) is empty.
    #[error("the key (seed) is empty")]
    EmptyKey,
    /// The HMAC implementation refused the key length. HMAC takes keys of every length, so
    /// this is not expected; it exists so that no code path has to panic.
    #[error("the HMAC implementation refused a key of this length")]
    KeyRejected,
}
