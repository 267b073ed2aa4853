//! Property tests: no panics anywhere in the parameter space, and codes that round-trip.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use safeid_totp::{Algorithm, Hotp, Totp, TotpError, hotp};

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(Algorithm::ALL.to_vec())
}

/// Keys from 1 to 300 bytes: shorter and longer than every hash block.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..300)
}

/// Valid digit counts.
fn digits() -> impl Strategy<Value = u8> {
    6u8..=10
}

/// Periods: small ones, common ones and anything up to `u64::MAX`.
fn period() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..=120, Just(30), Just(60), 1u64..=u64::MAX]
}

/// Times: the usual range, the edges, and all of `u64`.
fn time() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..=253_402_300_799,
        Just(0),
        Just(u64::MAX),
        any::<u64>()
    ]
}

proptest! {
    #[test]
    fn no_panic_for_any_parameters(
        key in prop::collection::vec(any::<u8>(), 0..300),
        algorithm in algorithm(),
        digits in any::<u8>(),
        period in any::<u64>(),
        unix in any::<u64>(),
        guess in ".{0,12}",
        window in 0u64..4,
    ) {
        match Totp::new(&key, algorithm, digits, period) {
            Ok(generator) => {
                let code = generator.code_at(unix);
                let _ = generator.seconds_left(unix);
                let _ = generator.verify(&guess, unix, window);
                let _ = generator.verify(&code.to_string(), unix, window);
                let _ = generator.hotp().verify(&guess, unix, window);
                let _ = format!("{generator:?}");
            }
            Err(error) => {
                let expected = if !(6..=10).contains(&digits) {
                    TotpError::Digits(digits)
                } else if period == 0 {
                    TotpError::ZeroPeriod
                } else {
                    TotpError::EmptyKey
                };
                prop_assert_eq!(error, expected);
            }
        }
        prop_assert_eq!(
            hotp(&key, algorithm, digits, unix).is_ok(),
            !key.is_empty() && (6..=10).contains(&digits)
        );
    }

    #[test]
    fn code_length_is_always_digits(
        key in key(), algorithm in algorithm(), digits in digits(),
        period in period(), unix in time(),
    ) {
        let generator = Totp::new(&key, algorithm, digits, period).unwrap();
        let code = generator.code_at(unix);
        let text = code.to_string();
        prop_assert_eq!(text.len(), usize::from(digits));
        prop_assert!(text.bytes().all(|b| b.is_ascii_digit()));
        prop_assert_eq!(code.digits(), digits);
        prop_assert!(u64::from(code.value()) < 10u64.pow(u32::from(digits)));
        prop_assert!(code.value() < 1 << 31);
        prop_assert_eq!(text.parse::<u32>().unwrap(), code.value());
        prop_assert!(code.matches(&text));
    }

    #[test]
    fn verify_finds_the_current_code_at_offset_zero(
        key in key(), algorithm in algorithm(), digits in digits(),
        period in period(), unix in time(), window in 0u64..5,
    ) {
        let generator = Totp::new(&key, algorithm, digits, period).unwrap();
        let code = generator.code_at(unix).to_string();
        prop_assert_eq!(generator.verify(&code, unix, window), Some(0));
        // Any other second of the same step too.
        let step_start = unix - unix % period;
        prop_assert_eq!(generator.verify(&code, step_start, window), Some(0));
        let step_end = step_start.saturating_add(period - 1);
        prop_assert_eq!(generator.verify(&code, step_end, window), Some(0));
    }

    #[test]
    fn the_next_period_is_the_next_step(
        key in key(), algorithm in algorithm(), digits in digits(),
        period in 1u64..=3600, unix in 0u64..=253_402_300_799,
    ) {
        let generator = Totp::new(&key, algorithm, digits, period).unwrap();
        let later = unix + period;
        prop_assert_eq!(generator.step(later), generator.step(unix) + 1);
        let this = generator.code_at(unix);
        let next = generator.code_at(later);
        prop_assert_eq!(next, generator.code_for_step(generator.step(unix) + 1));
        // The next step's code, checked now, is one step ahead (or, on a 10^-digits
        // collision, equal to the current code and found at offset 0).
        let offset = generator.verify(&next.to_string(), unix, 1);
        if next == this {
            prop_assert_eq!(offset, Some(0));
        } else {
            prop_assert_eq!(offset, Some(1));
            prop_assert_eq!(generator.verify(&this.to_string(), later, 1), Some(-1));
        }
    }

    #[test]
    fn totp_is_hotp_of_the_step(
        key in key(), algorithm in algorithm(), digits in digits(),
        period in period(), unix in time(),
    ) {
        let generator = Totp::new(&key, algorithm, digits, period).unwrap();
        let one_shot = hotp(&key, algorithm, digits, unix / period).unwrap();
        prop_assert_eq!(generator.code_at(unix), one_shot);
    }

    #[test]
    fn hotp_verify_returns_the_counter(
        key in key(), algorithm in algorithm(), digits in digits(),
        counter in any::<u64>(), look_ahead in 0u64..5,
    ) {
        let generator = Hotp::new(&key, algorithm, digits).unwrap();
        let code = generator.code(counter).to_string();
        prop_assert_eq!(generator.verify(&code, counter, look_ahead), Some(counter));
        // A code with one more or one fewer character never matches.
        prop_assert_eq!(generator.verify(&format!("{code}0"), counter, look_ahead), None);
        prop_assert_eq!(generator.verify(&code[1..], counter, look_ahead), None);
    }
}
