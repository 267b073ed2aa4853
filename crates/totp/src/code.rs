//! One generated one-time password.

use core::fmt;

use subtle::{Choice, ConstantTimeEq};

use crate::MAX_DIGITS;

/// A one-time password: a value below `10^digits`, shown zero-padded to `digits` digits.
///
/// ```
/// # fn main() -> Result<(), safeid_totp::TotpError> {
/// use safeid_totp::{Algorithm, hotp};
/// // RFC 4226 Appendix D, counter 7: 162583; as 10 digits the whole 31-bit value 82162583.
/// let code = hotp(b"12345678901234567890", Algorithm::Sha1, 10, 7)?;
/// assert_eq!(code.to_string(), "0082162583");
/// assert_eq!((code.value(), code.digits()), (82_162_583, 10));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Code {
    value: u32,
    digits: u8,
}

impl Code {
    /// Reduces a dynamic-truncation result (RFC 4226 section 5.3, step 3) to `digits`
    /// digits. `digits` is already checked to be in 6..=10; 10 digits keep the whole
    /// 31-bit value, which is below 10^10.
    pub(crate) fn from_truncated(truncated: u32, digits: u8) -> Self {
        let value = if digits >= MAX_DIGITS {
            truncated
        } else {
            truncated % 10u32.pow(u32::from(digits))
        };
        Code { value, digits }
    }

    /// The numeric value (without padding).
    pub const fn value(self) -> u32 {
        self.value
    }

    /// How many digits the code is shown with.
    pub const fn digits(self) -> u8 {
        self.digits
    }

    /// True when `text` is exactly this code: `digits` ASCII digits, leading zeros
    /// included. The comparison of the value is constant-time; a text of the wrong length
    /// or with a non-digit is rejected before any comparison (it says nothing about the
    /// key).
    pub fn matches(self, text: &str) -> bool {
        parse_code(text, self.digits).is_some_and(|wanted| bool::from(self.ct_eq_value(wanted)))
    }

    /// Constant-time comparison with a parsed code value.
    pub(crate) fn ct_eq_value(self, wanted: u64) -> Choice {
        u64::from(self.value).ct_eq(&wanted)
    }
}

impl fmt::Display for Code {
    /// Zero-padded decimal, e.g. `007081`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:0width$}",
            self.value,
            width = usize::from(self.digits)
        )
    }
}

/// Parses a typed code: exactly `digits` ASCII digits, nothing else (no spaces, no sign).
///
/// The text is the caller's guess, not a secret, so an early exit on a bad character is
/// fine; only the comparison with generated codes must be constant-time.
pub(crate) fn parse_code(text: &str, digits: u8) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() != usize::from(digits) {
        return None;
    }
    bytes.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}
