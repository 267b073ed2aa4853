//! RFC 6238 TOTP: time-based one-time passwords.

use core::fmt;

use subtle::{Choice, ConditionallySelectable, CtOption};

use crate::code::parse_code;
use crate::{Algorithm, Code, Hotp, TotpError};

/// An RFC 6238 TOTP generator: HOTP whose counter is the number of whole periods since
/// the Unix epoch (T0 = 0, as every token and authenticator app uses).
///
/// Time is always passed in as Unix seconds; [`now`](crate::now) reads the system clock
/// when the `std` feature is on. Every `u64` time works, far past the year 9999.
/// `Debug` never shows the key.
///
/// ```
/// # fn main() -> Result<(), safeid_totp::TotpError> {
/// use safeid_totp::{Algorithm, DEFAULT_WINDOW, Totp};
/// let totp = Totp::new(b"12345678901234567890", Algorithm::Sha1, 8, 30)?;
/// assert_eq!(totp.code_at(1_111_111_109).to_string(), "07081804"); // RFC 6238 App. B
/// // 1111111109 is the last second of its step: 20 s later the code is one step old.
/// assert_eq!(totp.seconds_left(1_111_111_109), 1);
/// assert_eq!(totp.verify("07081804", 1_111_111_129, DEFAULT_WINDOW), Some(-1));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Totp {
    hotp: Hotp,
    period: u64,
}

impl Totp {
    /// Builds a generator with a time step of `period` seconds (RFC 6238 section 4).
    ///
    /// Errors: [`TotpError::ZeroPeriod`], [`TotpError::EmptyKey`], and
    /// [`TotpError::Digits`] unless `digits` is in 6..=10.
    pub fn new(
        key: &[u8],
        algorithm: Algorithm,
        digits: u8,
        period: u64,
    ) -> Result<Totp, TotpError> {
        if period == 0 {
            return Err(TotpError::ZeroPeriod);
        }
        Ok(Totp {
            hotp: Hotp::new(key, algorithm, digits)?,
            period,
        })
    }

    /// The time step (counter) for Unix time `unix`: `unix / period` (RFC 6238 section 4.2).
    pub fn step(&self, unix: u64) -> u64 {
        unix / self.period
    }

    /// The code shown at Unix time `unix`.
    pub fn code_at(&self, unix: u64) -> Code {
        self.code_for_step(self.step(unix))
    }

    /// The code of time step `step` (any `u64`, even one no `u64` time reaches).
    pub fn code_for_step(&self, step: u64) -> Code {
        self.hotp.code(step)
    }

    /// Seconds until the code shown at `unix` changes: 1..=period.
    pub fn seconds_left(&self, unix: u64) -> u64 {
        self.period - unix % self.period
    }

    /// Checks `code` against the steps within `window` of the step of `unix` and returns
    /// the matching step's offset (`-window..=window`): negative when the code is from an
    /// earlier step (the other clock is behind), positive when from a later one. Callers
    /// estimating clock drift multiply the offset by [`period`](Self::period).
    ///
    /// [`DEFAULT_WINDOW`](crate::DEFAULT_WINDOW) (one step either side) is the usual
    /// choice (RFC 6238 section 5.2). Steps before 0 or past `u64::MAX` do not exist and
    /// are skipped. Every other step in the window is computed and compared in constant
    /// time, without stopping at a match; when several match, the smallest `|offset|`
    /// wins, the earlier step on a tie. A code of the wrong length or with anything but
    /// ASCII digits returns `None` at once. The cost is `2 * window + 1` HMACs; a window
    /// above `i64::MAX` is treated as `i64::MAX`.
    pub fn verify(&self, code: &str, unix: u64, window: u64) -> Option<i64> {
        let wanted = parse_code(code, self.hotp.digits())?;
        let step = self.step(unix);
        let window = window.min(i64::MAX.unsigned_abs());
        let mut found = Choice::from(0);
        let mut offset = 0i64;
        let mut check = |candidate: Option<u64>, candidate_offset: i64| {
            if let Some(candidate) = candidate {
                let hit = self.code_for_step(candidate).ct_eq_value(wanted) & !found;
                offset.conditional_assign(&candidate_offset, hit);
                found |= hit;
            }
        };
        for distance in 0..=window {
            // `window` <= i64::MAX, so the conversion cannot fail.
            let signed = i64::try_from(distance).unwrap_or(i64::MAX);
            check(step.checked_sub(distance), -signed);
            if distance != 0 {
                check(step.checked_add(distance), signed);
            }
        }
        CtOption::new(offset, found).into()
    }

    /// The time step in seconds.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// Number of digits of each code.
    pub fn digits(&self) -> u8 {
        self.hotp.digits()
    }

    /// The hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.hotp.algorithm()
    }

    /// The underlying HOTP generator (its counter is the time step).
    pub fn hotp(&self) -> &Hotp {
        &self.hotp
    }
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("key", &"<redacted>")
            .field("algorithm", &self.algorithm())
            .field("digits", &self.digits())
            .field("period", &self.period)
            .finish()
    }
}

/// One-shot TOTP: keys an HMAC and computes the code shown at Unix time `unix`.
///
/// To compute several codes with one key, build a [`Totp`] once instead.
pub fn totp(
    key: &[u8],
    algorithm: Algorithm,
    digits: u8,
    period: u64,
    unix: u64,
) -> Result<Code, TotpError> {
    Ok(Totp::new(key, algorithm, digits, period)?.code_at(unix))
}
