//! RFC 4226 HOTP: counter-based one-time passwords.

use core::fmt;

use subtle::{Choice, ConditionallySelectable, CtOption};

use crate::code::parse_code;
use crate::mac::KeyedMac;
use crate::{Algorithm, Code, MAX_DIGITS, MIN_DIGITS, TotpError};

/// An RFC 4226 HOTP generator: a key, an algorithm and a number of digits.
///
/// Built once, it computes each code with one HMAC of the 8-byte counter (the key is
/// absorbed at construction). `Debug` never shows the key.
///
/// ```
/// # fn main() -> Result<(), safeid_totp::TotpError> {
/// use safeid_totp::{Algorithm, Hotp};
/// let hotp = Hotp::new(b"12345678901234567890", Algorithm::Sha1, 6)?;
/// assert_eq!(hotp.code(1).to_string(), "287082"); // RFC 4226 Appendix D
/// assert_eq!(hotp.verify("969429", 0, 5), Some(3));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Hotp {
    mac: KeyedMac,
    digits: u8,
}

impl Hotp {
    /// Builds a generator (RFC 4226 section 5).
    ///
    /// The key may have any non-zero length; keys longer than the hash block are hashed
    /// first, as HMAC specifies. Errors: [`TotpError::EmptyKey`], and
    /// [`TotpError::Digits`] unless `digits` is in 6..=10.
    pub fn new(key: &[u8], algorithm: Algorithm, digits: u8) -> Result<Hotp, TotpError> {
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return Err(TotpError::Digits(digits));
        }
        Ok(Hotp {
            mac: KeyedMac::new(key, algorithm)?,
            digits,
        })
    }

    /// The code for `counter` (RFC 4226 section 5.3). Any `u64` counter is valid.
    pub fn code(&self, counter: u64) -> Code {
        Code::from_truncated(self.mac.truncated(counter), self.digits)
    }

    /// Checks `code` against the counters `counter..=counter + look_ahead` (stopping at
    /// `u64::MAX`) and returns the lowest counter that matches, so the caller can resume
    /// after it (RFC 4226 section 7.4, resynchronisation).
    ///
    /// Every counter in the range is computed and compared in constant time, whether or
    /// not an earlier one matched. A code of the wrong length or with anything but ASCII
    /// digits returns `None` at once. The cost is `look_ahead + 1` HMACs.
    pub fn verify(&self, code: &str, counter: u64, look_ahead: u64) -> Option<u64> {
        let wanted = parse_code(code, self.digits)?;
        let last = counter.saturating_add(look_ahead);
        let mut found = Choice::from(0);
        let mut matched = 0u64;
        for candidate in counter..=last {
            let hit = self.code(candidate).ct_eq_value(wanted) & !found;
            matched.conditional_assign(&candidate, hit);
            found |= hit;
        }
        CtOption::new(matched, found).into()
    }

    /// The hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.mac.algorithm()
    }

    /// Number of digits of each code.
    pub fn digits(&self) -> u8 {
        self.digits
    }
}

impl fmt::Debug for Hotp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hotp")
            .field("key", &"<redacted>")
            .field("algorithm", &self.algorithm())
            .field("digits", &self.digits)
            .finish()
    }
}

/// One-shot HOTP (RFC 4226 section 5.3): keys an HMAC and computes one code.
///
/// To compute several codes with one key, build a [`Hotp`] once instead.
///
/// ```
/// # fn main() -> Result<(), safeid_totp::TotpError> {
/// use safeid_totp::{Algorithm, hotp};
/// assert_eq!(hotp(b"12345678901234567890", Algorithm::Sha1, 6, 0)?.to_string(), "755224");
/// # Ok(())
/// # }
/// ```
pub fn hotp(key: &[u8], algorithm: Algorithm, digits: u8, counter: u64) -> Result<Code, TotpError> {
    Ok(Hotp::new(key, algorithm, digits)?.code(counter))
}
