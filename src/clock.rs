//! The host clock, and the checks that keep a plainly wrong clock out of a token.
//!
//! The clock itself is the workspace's one [`Clock`] trait (from `safeid-transport`, shared
//! with the virtual token), so a test moves the time of the workflow and of its tokens
//! with one [`ManualClock`].

use crate::error::SessionError;

/// When this binary was built (Unix seconds), set by `build.rs`. A host clock before this
/// is plainly wrong: the program cannot have been built in the future.
pub const BUILD_UNIX: u64 = parse_build_time(env!("SAFEID_BUILD_UNIX"));

const fn parse_build_time(s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut value = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        let d = bytes[i];
        if d < b'0' || d > b'9' {
            return 0;
        }
        value = value * 10 + (d - b'0') as u64;
        i += 1;
    }
    value
}

pub use safeid_transport::clock::{Clock, ManualClock, SystemClock};

/// Reads the clock and refuses a time that is plainly wrong: before this binary was built
/// (a dead RTC battery reads 1970 or 2000), or past what the token can store (2106).
pub fn checked_now(clock: &dyn Clock) -> Result<u64, SessionError> {
    let now = clock.now();
    check_plausible(now)?;
    Ok(now)
}

/// The plausibility rule of [`checked_now`], for a time already read.
pub fn check_plausible(now: u64) -> Result<(), SessionError> {
    // One day of slack for build machines in other time zones or with slightly fast clocks.
    if now + 86_400 < BUILD_UNIX {
        return Err(SessionError::HostClockWrong {
            now,
            reason: "before this program was built",
        });
    }
    as_token_time(now).map(|_| ())
}

/// The token stores its clock as an unsigned 32-bit Unix time (docs/protocol.md section 3).
pub fn as_token_time(now: u64) -> Result<u32, SessionError> {
    u32::try_from(now).map_err(|_| SessionError::HostClockWrong {
        now,
        reason: "past 2106-02-07, beyond the token's 32-bit clock",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_time_is_recent_and_parsed() {
        // 2026-01-01T00:00:00Z: this project did not exist before.
        const { assert!(BUILD_UNIX > 1_767_225_600) };
        assert_eq!(parse_build_time("123"), 123);
        assert_eq!(parse_build_time("12x"), 0);
    }

    #[test]
    fn implausible_clocks_are_refused() {
        assert!(check_plausible(0).is_err());
        assert!(check_plausible(946_684_800).is_err()); // 2000-01-01
        assert!(check_plausible(BUILD_UNIX).is_ok());
        assert!(check_plausible(u64::from(u32::MAX)).is_ok());
        assert!(check_plausible(u64::from(u32::MAX) + 1).is_err());
    }
}
