//! Verification windows, offsets, malformed codes, and the edges of time and counters.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use safeid_totp::{Algorithm, DEFAULT_WINDOW, Hotp, Totp};

fn rfc_totp(algorithm: Algorithm, digits: u8, period: u64) -> Totp {
    Totp::new(&common::rfc6238_seed(algorithm), algorithm, digits, period).unwrap()
}

#[test]
fn offsets_minus_one_zero_plus_one_and_outside() {
    // RFC 6238 Appendix B: 89005924 is the SHA-1 code of step 0x273EF07 (1234567890 s).
    let generator = rfc_totp(Algorithm::Sha1, 8, 30);
    let code = "89005924";
    let t = 1_234_567_890; // start of its step (1234567890 = 30 * 0x273EF07)
    assert_eq!(generator.verify(code, t, DEFAULT_WINDOW), Some(0));
    assert_eq!(generator.verify(code, t + 29, DEFAULT_WINDOW), Some(0));
    // Verifier one step later: the code is one step old.
    assert_eq!(generator.verify(code, t + 30, DEFAULT_WINDOW), Some(-1));
    assert_eq!(generator.verify(code, t + 59, DEFAULT_WINDOW), Some(-1));
    // Verifier one step earlier: the code is from the next step.
    assert_eq!(generator.verify(code, t - 1, DEFAULT_WINDOW), Some(1));
    assert_eq!(generator.verify(code, t - 30, DEFAULT_WINDOW), Some(1));
    // Outside the window.
    assert_eq!(generator.verify(code, t + 60, DEFAULT_WINDOW), None);
    assert_eq!(generator.verify(code, t - 31, DEFAULT_WINDOW), None);
    assert_eq!(generator.verify(code, t + 30, 0), None);
    // Wider windows reach further and report the distance.
    assert_eq!(generator.verify(code, t + 60, 2), Some(-2));
    assert_eq!(generator.verify(code, t - 31, 2), Some(2));
    assert_eq!(generator.verify(code, t + 300, 10), Some(-10));
    // The neighbouring RFC rows (1111111109 and 1111111111 s) are one step apart.
    assert_eq!(generator.verify("07081804", 1_111_111_111, 1), Some(-1));
    assert_eq!(generator.verify("14050471", 1_111_111_109, 1), Some(1));
}

#[test]
fn malformed_codes_fail_without_panic() {
    let generator = rfc_totp(Algorithm::Sha1, 8, 30);
    let t = 1_234_567_890;
    for bad in [
        "",
        "8900592",
        "089005924",
        "890059240",
        "8900592a",
        "+8900592",
        "-8900592",
        " 89005924",
        "89005924 ",
        "8900 5924",
        "89005924\n",
        "８９００５９２４",
        "8900592\u{0}",
        "89,05924",
        "12345678901234567890123456789",
    ] {
        assert_eq!(generator.verify(bad, t, 5), None, "{bad:?}");
        assert!(!generator.code_at(t).matches(bad), "{bad:?}");
    }
    assert!(generator.code_at(t).matches("89005924"));
    let hotp = Hotp::new(b"12345678901234567890", Algorithm::Sha1, 6).unwrap();
    for bad in ["", "75522", "7552244", "75522x", "0755224"] {
        assert_eq!(hotp.verify(bad, 0, 3), None, "{bad:?}");
    }
}

#[test]
fn leading_zeros_are_part_of_the_code() {
    // RFC 6238: SHA-1 at 1111111109 s is 07081804.
    let generator = rfc_totp(Algorithm::Sha1, 8, 30);
    assert_eq!(generator.verify("07081804", 1_111_111_109, 0), Some(0));
    assert_eq!(generator.verify("7081804", 1_111_111_109, 0), None);
    // 10 digits: RFC 4226 counter 7 truncates to 82162583 -> "0082162583".
    let hotp = Hotp::new(b"12345678901234567890", Algorithm::Sha1, 10).unwrap();
    assert_eq!(hotp.verify("0082162583", 0, 9), Some(7));
    assert_eq!(hotp.verify("82162583", 0, 9), None);
}

#[test]
fn no_underflow_at_time_zero() {
    let generator = rfc_totp(Algorithm::Sha256, 6, 30);
    let step0 = generator.code_for_step(0).to_string();
    let step1 = generator.code_for_step(1).to_string();
    let step3 = generator.code_for_step(3).to_string();
    assert_eq!(generator.verify(&step0, 0, DEFAULT_WINDOW), Some(0));
    assert_eq!(generator.verify(&step0, 0, 1000), Some(0));
    assert_eq!(generator.verify(&step1, 0, DEFAULT_WINDOW), Some(1));
    assert_eq!(generator.verify(&step3, 0, DEFAULT_WINDOW), None);
    assert_eq!(generator.verify(&step3, 10, 3), Some(3));
    assert_eq!(generator.verify(&step0, 30, DEFAULT_WINDOW), Some(-1));
}

#[test]
fn no_overflow_at_the_end_of_u64() {
    for algorithm in Algorithm::ALL {
        let generator = rfc_totp(algorithm, 8, 1);
        let last = generator.code_for_step(u64::MAX).to_string();
        let before = generator.code_for_step(u64::MAX - 1).to_string();
        assert_eq!(generator.step(u64::MAX), u64::MAX);
        assert_eq!(generator.verify(&last, u64::MAX, 5), Some(0));
        assert_eq!(generator.verify(&before, u64::MAX, 5), Some(-1));
        assert_eq!(
            generator.verify(&last, u64::MAX - 1, DEFAULT_WINDOW),
            Some(1)
        );
        assert_eq!(generator.seconds_left(u64::MAX), 1);

        let hotp = generator.hotp();
        assert_eq!(hotp.verify(&last, u64::MAX, 10), Some(u64::MAX));
        assert_eq!(hotp.verify(&last, u64::MAX - 3, 10), Some(u64::MAX));
        assert_eq!(hotp.verify(&before, u64::MAX, 10), None);
    }
    let widest = rfc_totp(Algorithm::Sha1, 6, u64::MAX);
    assert_eq!(widest.step(u64::MAX), 1);
    assert_eq!(widest.seconds_left(0), u64::MAX);
    assert_eq!(widest.seconds_left(u64::MAX), u64::MAX);
}

#[test]
fn hotp_look_ahead_returns_the_matched_counter() {
    // RFC 4226 Appendix D values.
    let hotp = Hotp::new(b"12345678901234567890", Algorithm::Sha1, 6).unwrap();
    assert_eq!(hotp.verify("755224", 0, 0), Some(0));
    assert_eq!(hotp.verify("969429", 0, 5), Some(3));
    assert_eq!(hotp.verify("969429", 0, 2), None);
    assert_eq!(hotp.verify("969429", 3, 0), Some(3));
    assert_eq!(hotp.verify("969429", 4, 100), None);
    assert_eq!(hotp.verify("520489", 2, 7), Some(9));
}

/// Finds two counters below `limit` with the same 6-digit code (a birthday collision,
/// expected after about 1200 counters).
fn collision(hotp: &Hotp, limit: u64, even_distance: bool) -> (u64, u64) {
    let mut seen = HashMap::new();
    for counter in 0..limit {
        let value = hotp.code(counter).value();
        if let Some(&earlier) = seen.get(&value)
            && (!even_distance || (counter - earlier) % 2 == 0)
        {
            return (earlier, counter);
        }
        seen.insert(value, counter);
    }
    panic!("no collision below {limit}");
}

#[test]
fn colliding_codes_pick_the_lowest_counter_and_the_nearest_step() {
    let generator = rfc_totp(Algorithm::Sha1, 6, 1);
    let (early, late) = collision(generator.hotp(), 200_000, true);
    let code = generator.code_for_step(early).to_string();
    let distance = late - early;
    // HOTP: both counters match; the lowest wins.
    assert_eq!(generator.hotp().verify(&code, early, distance), Some(early));
    assert_eq!(
        generator.hotp().verify(&code, early + 1, distance),
        Some(late)
    );
    // TOTP with period 1: step == time. The exact step beats the far one...
    assert_eq!(generator.verify(&code, late, distance), Some(0));
    assert_eq!(generator.verify(&code, early, distance), Some(0));
    // ...and from the midpoint both are `distance / 2` away: the earlier step wins,
    // unless the midpoint's own code collides too.
    let middle = early + distance / 2;
    let half = i64::try_from(distance / 2).unwrap();
    if generator.code_for_step(middle).to_string() != code {
        assert_eq!(generator.verify(&code, middle, distance / 2), Some(-half));
    }
}

#[test]
fn steps_and_seconds_left() {
    let generator = rfc_totp(Algorithm::Sha1, 6, 30);
    assert_eq!(generator.step(0), 0);
    assert_eq!(generator.step(29), 0);
    assert_eq!(generator.step(30), 1);
    assert_eq!(generator.seconds_left(0), 30);
    assert_eq!(generator.seconds_left(29), 1);
    assert_eq!(generator.seconds_left(30), 30);
    assert_eq!(generator.code_at(30), generator.code_at(59));
    assert_eq!(generator.code_at(59), generator.code_for_step(1));
    // 9999-12-31T23:59:59Z.
    assert_eq!(generator.step(253_402_300_799), 8_446_743_359);
    assert_eq!(generator.seconds_left(253_402_300_799), 1);
}
