#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

mod algorithm;
mod code;
mod error;
mod hotp;
mod mac;
mod totp;

pub use crate::algorithm::{Algorithm, UnknownAlgorithm};
pub use crate::code::Code;
pub use crate::error::TotpError;
pub use crate::hotp::{Hotp, hotp};
pub use crate::mac::dynamic_truncate;
pub use crate::totp::{Totp, totp};

/// Fewest digits a code may have (RFC 4226 section 5.3 requires at least 6).
pub const MIN_DIGITS: u8 = 6;
/// Most digits a code may have: the 31-bit truncated value has at most 10.
pub const MAX_DIGITS: u8 = 10;
/// The usual number of digits.
pub const DEFAULT_DIGITS: u8 = 6;
/// The usual time step in seconds (RFC 6238 section 5.2).
pub const DEFAULT_PERIOD: u64 = 30;
/// The usual verification window: one step either side (RFC 6238 section 5.2).
pub const DEFAULT_WINDOW: u64 = 1;

/// The current Unix time in seconds from the system clock; 0 if the clock reads before
/// 1970. The only function of this crate that looks outside its arguments.
#[cfg(feature = "std")]
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}
