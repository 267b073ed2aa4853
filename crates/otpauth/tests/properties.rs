//! Property tests: canonical formatting round-trips, base32 round-trips, and no input makes
//! a parser panic.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use safeid_otpauth::{
    Algorithm, Credential, Kind, MAX_URI_LEN, Parsed, decode_base32, encode_base32, parse_any,
    parse_migration,
};
use safeid_secret::SecretBytes;

/// Characters with a special meaning somewhere in a URI, mixed with arbitrary ones.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        any::<char>(),
        prop::sample::select(vec![
            ':', '%', '+', ' ', '&', '=', '#', '?', '/', '@', 'A', 'é'
        ]),
    ]
}

fn text(min: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), min..24).prop_map(|c| c.into_iter().collect())
}

/// Credentials the parser can produce: non-empty account without leading spaces, non-empty
/// issuer, non-empty secret, 6..=8 digits, period >= 1.
fn credential() -> impl Strategy<Value = Credential> {
    let kind = prop_oneof![
        (1..=u64::MAX).prop_map(|period| Kind::Totp { period }),
        any::<u64>().prop_map(|counter| Kind::Hotp { counter }),
    ];
    let algorithm =
        prop::sample::select(vec![Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]);
    (
        kind,
        prop::option::of(text(1)),
        text(1),
        prop::collection::vec(any::<u8>(), 1..64),
        algorithm,
        6u8..=8,
    )
        .prop_map(|(kind, issuer, account, secret, algorithm, digits)| {
            let account = if account.starts_with(' ') {
                format!("x{account}")
            } else {
                account
            };
            Credential {
                kind,
                issuer,
                account,
                secret: SecretBytes::from(secret),
                algorithm,
                digits,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn canonical_uri_round_trips(c in credential()) {
        let uri = c.to_uri();
        prop_assert!(uri.expose().len() <= MAX_URI_LEN);
        prop_assert_eq!(Credential::parse(uri.expose()).unwrap(), c.clone());
        // Canonical: formatting the parsed value again gives the same text.
        let again = Credential::parse(uri.expose()).unwrap().to_uri();
        prop_assert_eq!(again.expose(), uri.expose());
    }

    #[test]
    fn base32_round_trips(bytes in prop::collection::vec(any::<u8>(), 1..100)) {
        let text = encode_base32(&bytes);
        prop_assert!(!text.contains('='));
        prop_assert!(text.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        prop_assert_eq!(decode_base32(&text).unwrap().expose().to_vec(), bytes.clone());
        // Lenient forms of the same text decode to the same bytes.
        let lower = text.to_ascii_lowercase();
        prop_assert_eq!(decode_base32(&lower).unwrap().expose().to_vec(), bytes.clone());
        let spaced: String = text.chars().flat_map(|c| [c, ' ']).collect();
        prop_assert_eq!(decode_base32(&spaced).unwrap().expose().to_vec(), bytes.clone());
        let padded = format!("{text}{}", "=".repeat((8 - text.len() % 8) % 8));
        prop_assert_eq!(decode_base32(&padded).unwrap().expose().to_vec(), bytes.clone());
    }

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,200}") {
        let _ = Credential::parse(&s);
        let _ = parse_migration(&s);
        let _ = parse_any(&s);
        let _ = decode_base32(&s);
    }

    #[test]
    fn arbitrary_otpauth_tails_never_panic_and_round_trip(
        head in prop::sample::select(vec!["otpauth://totp/", "otpauth://hotp/", "otpauth://"]),
        tail in prop::collection::vec(tricky_char(), 0..80),
    ) {
        let uri: String = head.chars().chain(tail).collect();
        if let Ok(Parsed::Single(c)) = parse_any(&uri) {
            let again = c.to_uri();
            if again.expose().len() <= MAX_URI_LEN {
                prop_assert_eq!(Credential::parse(again.expose()).unwrap(), c);
            }
        }
    }

    #[test]
    fn arbitrary_migration_payloads_never_panic(payload in prop::collection::vec(any::<u8>(), 0..300)) {
        let uri = format!("otpauth-migration://offline?data={}", STANDARD.encode(&payload));
        if let Ok(batch) = parse_migration(&uri) {
            for c in batch.credentials {
                prop_assert_eq!(Credential::parse(c.to_uri().expose()).unwrap(), c);
            }
        }
    }

    #[test]
    fn valid_base32_lengths_only(symbols in 1usize..40) {
        let text = "A".repeat(symbols);
        let valid = matches!(symbols % 8, 0 | 2 | 4 | 5 | 7);
        prop_assert_eq!(decode_base32(&text).is_ok(), valid);
    }
}
