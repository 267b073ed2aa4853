//! Random seeds, manual entry, URI lists (one credential per line, errors by line number
//! without the secret), bounded text files, and property tests of the seed-file parser.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use safeid::sources::{
    self, DEFAULT_RANDOM_BYTES, MAX_SEED_BYTES, SecretEncoding, SecretTextError, SeedFile,
    SourceError,
};

#[test]
fn random_seeds_have_the_asked_length_and_differ() {
    assert_eq!(DEFAULT_RANDOM_BYTES, 20);
    for n in [1, 20, 32, 40, MAX_SEED_BYTES] {
        assert_eq!(sources::random_seed(n).unwrap().len(), n);
    }
    assert!(matches!(
        sources::random_seed(0),
        Err(SourceError::RandomLength(0))
    ));
    assert!(matches!(
        sources::random_seed(64),
        Err(SourceError::RandomLength(64))
    ));
    let a = sources::random_seed(20).unwrap();
    let b = sources::random_seed(20).unwrap();
    assert_ne!(a, b, "two 160-bit draws from the OS CSPRNG never collide");
}

#[test]
fn manual_entry_table() {
    // RFC 4648 section 10 vectors and the RFC 4226 seed.
    let ok: &[(&str, &[u8], SecretEncoding)] = &[
        ("MZXW6YTBOI======", b"foobar", SecretEncoding::Base32),
        ("  mzxw 6ytb oi  ", b"foobar", SecretEncoding::Base32),
        (
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
            b"12345678901234567890",
            SecretEncoding::Base32,
        ),
        ("666f6f626172", b"foobar", SecretEncoding::Hex),
        ("66 6F 6F 62 61 72", b"foobar", SecretEncoding::Hex),
        ("HEX:2a2b", &[0x2a, 0x2b], SecretEncoding::Hex),
        ("base32:MY", b"f", SecretEncoding::Base32),
        (
            "Base32: 2a2b2c2d",
            &[0xd0, 0x34, 0x1d, 0x0b, 0x43],
            SecretEncoding::Base32,
        ),
    ];
    for (text, bytes, encoding) in ok {
        let (secret, enc) =
            sources::parse_manual_secret(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!((secret.expose(), enc), (*bytes, *encoding), "{text:?}");
    }
    let bad: &[(&str, SecretTextError)] = &[
        ("", SecretTextError::Empty),
        ("   ", SecretTextError::Empty),
        ("2a2b", SecretTextError::Ambiguous),
        ("not a secret!", SecretTextError::Neither),
        ("hex:abc", SecretTextError::NotHex),
        (&"00".repeat(64), SecretTextError::Length { bytes: 64 }),
    ];
    for (text, want) in bad {
        assert_eq!(
            &sources::parse_manual_secret(text).unwrap_err(),
            want,
            "{text:?}"
        );
    }
}

#[test]
fn secret_errors_never_echo_the_secret() {
    for text in [
        "SECRETSECRETSECRET1",
        "hex:SECRETSECRET",
        "base32:SECRET SECRET 0",
        "2a2b",
    ] {
        let e = sources::parse_manual_secret(text).unwrap_err();
        assert!(
            !e.to_string().contains("SECRET") && !format!("{e:?}").contains("SECRET"),
            "{e}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn seed_file_parse_never_panics(text in "\\PC{0,300}") {
        let _ = SeedFile::parse(&text);
    }

    #[test]
    fn seed_file_parse_never_panics_on_csv_like_text(text in "[0-9A-Za-z ,\"#=\r\n\t-]{0,300}") {
        if let Err(e) = SeedFile::parse(&text) {
            prop_assert!(!e.problems.is_empty());
            for p in &e.problems {
                prop_assert!(p.line as usize <= text.split('\n').count());
            }
        }
    }

    #[test]
    fn generated_vendor_files_parse_to_exactly_their_rows(
        rows in proptest::collection::btree_map("[0-9]{6,16}", proptest::collection::vec(any::<u8>(), 1..=63), 1..20),
        hex in any::<bool>(),
        header in any::<bool>(),
    ) {
        let mut text = String::new();
        if header {
            text.push_str("serial,secret\r\n");
        }
        for (serial, secret) in &rows {
            let enc = if hex {
                data_encoding::HEXUPPER.encode(secret)
            } else {
                data_encoding::BASE32.encode(secret)
            };
            text.push_str(&format!("{serial} , {enc}\n"));
        }
        let encoding = if hex { SecretEncoding::Hex } else { SecretEncoding::Base32 };
        let options = sources::SeedFileOptions { encoding: Some(encoding), ..Default::default() };
        let file = SeedFile::parse_with(&text, &options).unwrap();
        prop_assert_eq!(file.len(), rows.len());
        for (i, (serial, secret)) in rows.iter().enumerate() {
            prop_assert_eq!(file.seed_for(serial).unwrap().secret.expose(), secret.as_slice());
            prop_assert_eq!(file.rows()[i].line, (i + 1 + usize::from(header)) as u64);
        }
    }

    #[test]
    fn a_duplicated_serial_always_refuses_the_file(serial in "[0-9]{6,16}", n in 1usize..10) {
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&format!("{i}x,MZXW6YTBOI\n"));
        }
        text.push_str(&format!("{serial},MZXW6YTBOI\n{serial},GEZDGNBV\n"));
        let err = SeedFile::parse(&text).unwrap_err();
        prop_assert_eq!(err.problems.len(), 1);
        prop_assert_eq!(err.problems[0].line, (n + 2) as u64);
    }
}

#[test]
fn uri_lists_give_one_credential_per_line_and_errors_name_the_line_not_the_secret() {
    let text = "# accounts\n\n  otpauth://totp/A:one?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ  \notpauth://totp/B:two?secret=MZXW6YTBOI\n";
    let creds = sources::parse_uri_list(text, std::path::Path::new("list.txt")).unwrap();
    assert_eq!(creds.len(), 2);
    assert_eq!(creds[0].secret.expose(), b"12345678901234567890");
    assert_eq!(creds[1].secret.expose(), b"foobar");
    let bad =
        "otpauth://totp/A:one?secret=MZXW6YTBOI\n# x\notpauth://totp/B:two?secret=SECRET1SECRET!\n";
    let err = sources::parse_uri_list(bad, std::path::Path::new("list.txt")).unwrap_err();
    assert!(
        matches!(&err, SourceError::UriListLine { line: 3, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("list.txt") && text.contains("line 3"),
        "{text}"
    );
    assert!(!text.contains("SECRET1") && !format!("{err:?}").contains("SECRET1"));
}

#[test]
fn text_files_are_read_up_to_their_limit_and_refused_beyond_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    std::fs::write(&path, "x".repeat(100)).unwrap();
    assert_eq!(
        sources::read_text_file(&path, 100, "URI list")
            .unwrap()
            .expose()
            .len(),
        100
    );
    assert!(matches!(
        sources::read_text_file(&path, 99, "URI list"),
        Err(SourceError::TooLarge { limit: 99, .. })
    ));
    std::fs::write(&path, b"abc\xC3").unwrap();
    assert!(matches!(
        sources::read_text_file(&path, 100, "URI list"),
        Err(SourceError::NotUtf8 { offset: 3, .. })
    ));
}
