//! Construction errors, accessors, Debug redaction and the clock helper.
#![allow(clippy::unwrap_used)]

use safeid_totp::{Algorithm, DEFAULT_DIGITS, DEFAULT_PERIOD, Hotp, Totp, TotpError, hotp, totp};

const KEY: &[u8] = b"SUPERSECRETKEY-0123456789";

#[test]
fn rejects_bad_parameters() {
    for digits in [0, 1, 5, 11, 12, 255] {
        assert_eq!(
            Hotp::new(KEY, Algorithm::Sha1, digits).unwrap_err(),
            TotpError::Digits(digits)
        );
        assert_eq!(
            Totp::new(KEY, Algorithm::Sha512, digits, 30).unwrap_err(),
            TotpError::Digits(digits)
        );
        assert!(hotp(KEY, Algorithm::Sha1, digits, 0).is_err());
    }
    for digits in 6..=10 {
        assert!(Hotp::new(KEY, Algorithm::Sha256, digits).is_ok());
    }
    assert_eq!(
        Totp::new(KEY, Algorithm::Sha1, 6, 0).unwrap_err(),
        TotpError::ZeroPeriod
    );
    assert_eq!(
        Totp::new(&[], Algorithm::Sha1, 6, 30).unwrap_err(),
        TotpError::EmptyKey
    );
    assert_eq!(
        Hotp::new(&[], Algorithm::Sha256, 6).unwrap_err(),
        TotpError::EmptyKey
    );
    assert_eq!(
        totp(&[], Algorithm::Sha512, 6, 30, 0).unwrap_err(),
        TotpError::EmptyKey
    );
    assert!(Totp::new(&[0], Algorithm::Sha1, 6, 1).is_ok());
    let message = TotpError::Digits(5).to_string();
    assert!(
        message.contains('5') && message.contains("6 to 10"),
        "{message}"
    );
}

#[test]
fn accessors() {
    let generator = Totp::new(KEY, Algorithm::Sha256, 7, 45).unwrap();
    assert_eq!(generator.algorithm(), Algorithm::Sha256);
    assert_eq!(generator.digits(), 7);
    assert_eq!(generator.period(), 45);
    assert_eq!(generator.hotp().digits(), 7);
    assert_eq!(generator.code_at(100).digits(), 7);
    let clone = generator.clone();
    drop(generator);
    assert_eq!(
        clone.code_at(100),
        Totp::new(KEY, Algorithm::Sha256, 7, 45)
            .unwrap()
            .code_at(100)
    );
    assert_eq!(Algorithm::default(), Algorithm::Sha1);
    assert_eq!(Algorithm::Sha512.to_string(), "SHA512");
    assert_eq!((DEFAULT_DIGITS, DEFAULT_PERIOD), (6, 30));
}

#[test]
fn algorithms_give_different_codes() {
    let codes: Vec<_> = Algorithm::ALL
        .iter()
        .map(|&a| Hotp::new(KEY, a, 10).unwrap().code(1).value())
        .collect();
    assert_ne!(codes[0], codes[1]);
    assert_ne!(codes[1], codes[2]);
}

#[test]
fn debug_never_shows_the_key() {
    let hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    for algorithm in Algorithm::ALL {
        let generator = Totp::new(KEY, algorithm, 6, 30).unwrap();
        for text in [
            format!("{generator:?}"),
            format!("{generator:#?}"),
            format!("{:?}", generator.hotp()),
        ] {
            assert!(text.contains("<redacted>"), "{text}");
            assert!(!text.contains("SUPERSECRET"), "{text}");
            assert!(!text.to_lowercase().contains(&hex[..16]), "{text}");
            assert!(!text.contains("83, 85, 80"), "{text}"); // "SUP" as decimal bytes
        }
    }
}

#[cfg(feature = "std")]
#[test]
fn now_reads_a_plausible_clock() {
    let now = safeid_totp::now();
    assert!(now > 1_700_000_000, "clock reads {now}");
    assert!(now < 253_402_300_799, "clock reads {now}");
}
