//! Seed file parsing: golden input files (tests/golden/sources/) and a table of small cases.
//! Expected bytes are RFC test vectors (RFC 4226 seed, RFC 4648 `foobar`).
#![allow(clippy::unwrap_used)]

use safeid::record::HmacAlgorithm;
use safeid::sources::{
    ProblemKind, SecretEncoding, SecretTextError, SeedFile, SeedFileLayout, SeedFileOptions,
};

const RFC4226: &[u8] = b"12345678901234567890";
const RFC6238_SHA256: &[u8] = b"12345678901234567890123456789012";

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/sources/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

fn kinds(text: &str) -> Vec<(u64, ProblemKind)> {
    SeedFile::parse(text)
        .unwrap_err()
        .problems
        .into_iter()
        .map(|p| (p.line, p.kind))
        .collect()
}

#[test]
fn vendor_base32_with_spaces_padding_case_quotes_and_comments() {
    let file = SeedFile::parse(&golden("vendor_base32.csv")).unwrap();
    assert_eq!(file.layout(), SeedFileLayout::Vendor { header: false });
    let got: Vec<_> = file
        .rows()
        .iter()
        .map(|r| (r.line, r.encoding, r.seed.serial.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2, SecretEncoding::Base32, "8659612000001"),
            (4, SecretEncoding::Base32, "8659622000002"),
            (5, SecretEncoding::Base32, "8659600000003"),
        ]
    );
    assert_eq!(
        file.seed_for("8659612000001").unwrap().secret.expose(),
        RFC4226
    );
    assert_eq!(
        file.seed_for(" 8659622000002 ").unwrap().secret.expose(),
        b"foobar"
    );
    assert_eq!(
        file.seed_for("8659600000003").unwrap().secret.expose(),
        RFC6238_SHA256
    );
    assert!(file.seed_for("8659600000004").is_none());
    assert!(
        file.seed_for("865960000000").is_none(),
        "no prefix matching"
    );
}

#[test]
fn vendor_hex_with_header_and_crlf() {
    let file = SeedFile::parse(&golden("vendor_hex_header.csv")).unwrap();
    assert_eq!(file.layout(), SeedFileLayout::Vendor { header: true });
    assert!(
        file.rows()
            .iter()
            .all(|r| r.encoding == SecretEncoding::Hex)
    );
    assert_eq!(file.rows()[0].line, 2);
    assert_eq!(
        file.seed_for("8659612000001").unwrap().secret.expose(),
        RFC4226
    );
    assert_eq!(
        file.seed_for("8659622000002").unwrap().secret.expose(),
        b"foobar"
    );
}

#[test]
fn entra_with_upn_bom_and_crlf() {
    let file = SeedFile::parse(&golden("entra_upn.csv")).unwrap();
    assert_eq!(file.layout(), SeedFileLayout::Entra { upn: true });
    let a = file.seed_for("8659612000001").unwrap();
    assert_eq!(a.secret.expose(), RFC4226);
    assert_eq!(
        (a.upn.as_deref(), a.period),
        (Some("alice@example.com"), 30)
    );
    assert_eq!(
        (a.manufacturer.as_deref(), a.model.as_deref()),
        (Some("Token2"), Some("OTPC-P1-i"))
    );
    let b = file.seed_for("8659622000002").unwrap();
    assert_eq!(
        (b.secret.expose(), b.upn.as_deref(), b.period),
        (&b"foobar"[..], None, 60)
    );
}

#[test]
fn entra_without_upn_and_empty_interval_uses_the_default() {
    let options = SeedFileOptions {
        period: 60,
        hash: HmacAlgorithm::Sha256,
        ..SeedFileOptions::default()
    };
    let file = SeedFile::parse_with(&golden("entra_no_upn.csv"), &options).unwrap();
    assert_eq!(file.layout(), SeedFileLayout::Entra { upn: false });
    assert_eq!(file.seed_for("8659612000001").unwrap().period, 30);
    let b = file.seed_for("8659622000002").unwrap();
    assert_eq!((b.period, b.hash), (60, HmacAlgorithm::Sha256));
}

#[test]
fn malformed_rows_are_all_reported_with_line_numbers() {
    let text = golden("malformed.csv");
    let err = SeedFile::parse(&text).unwrap_err();
    let got: Vec<_> = err.problems.iter().map(|p| p.line).collect();
    assert_eq!(got, [3, 4, 5, 6, 8, 9]);
    let k: Vec<_> = err.problems.iter().map(|p| &p.kind).collect();
    assert_eq!(
        k[0],
        &ProblemKind::FieldCount {
            expected: 2,
            found: 1
        }
    );
    assert_eq!(k[1], &ProblemKind::EmptySerial);
    assert!(matches!(
        k[2],
        ProblemKind::Secret(SecretTextError::NotBase32(_))
    ));
    assert_eq!(
        k[3],
        &ProblemKind::FieldCount {
            expected: 2,
            found: 3
        }
    );
    assert_eq!(
        k[4],
        &ProblemKind::DuplicateSerial {
            serial: "8659612000001".into(),
            first_line: 2
        }
    );
    assert_eq!(
        k[5],
        &ProblemKind::Secret(SecretTextError::Length { bytes: 70 })
    );
    let message = err.to_string();
    assert!(
        message.contains("line 5:") && message.contains("nothing is burned"),
        "{message}"
    );
    for secret in ["SECRETMARK", "GEZDGNBV", "MZXW6YTBOI"] {
        assert!(!message.contains(secret), "secret text in {message}");
        assert!(!format!("{err:?}").contains(secret), "secret text in Debug");
    }
}

#[test]
fn table_of_small_cases() {
    // (file, expected problems or Ok(encoding of row 1))
    let ok: &[(&str, SecretEncoding)] = &[
        ("1,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", SecretEncoding::Base32),
        ("1,gezdgnbvgy3tqojqgezdgnbvgy3tqojq", SecretEncoding::Base32),
        (
            "1,3132333435363738393031323334353637383930",
            SecretEncoding::Hex,
        ),
        ("serial,seed\n1,MZXW6YTBOI======", SecretEncoding::Base32),
        ("Serial No,key\n1,31 32 33 34", SecretEncoding::Hex),
        // An ambiguous row (only 2-7 and a-f) settled by an unambiguous hex row.
        ("1,2a2b\n2,00ff", SecretEncoding::Hex),
        // ... and by an unambiguous base32 row.
        ("1,2a2b2c2d\n2,MZXW6YTBOI", SecretEncoding::Base32),
        ("\n\n1,MZXW6YTBOI\n\n", SecretEncoding::Base32),
    ];
    for (text, encoding) in ok {
        let file = SeedFile::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(file.rows()[0].encoding, *encoding, "{text:?}");
    }
    let bad: &[(&str, Vec<(u64, ProblemKind)>)] = &[
        ("", vec![(0, ProblemKind::NoRows)]),
        ("serial,secret\n", vec![(0, ProblemKind::NoRows)]),
        (
            "1,2a2b",
            vec![(1, ProblemKind::Secret(SecretTextError::Ambiguous))],
        ),
        ("1,", vec![(1, ProblemKind::Secret(SecretTextError::Empty))]),
        (
            "1,0",
            vec![(1, ProblemKind::Secret(SecretTextError::Neither))],
        ),
        (
            "1,MZXW6YTBOI\n2,00ff",
            vec![(
                2,
                ProblemKind::MixedEncodings {
                    base32_line: 1,
                    hex_line: 2,
                },
            )],
        ),
        ("1\u{7},MZXW6YTBOI", vec![(1, ProblemKind::BadSerial)]),
        (
            "serial number,secret key,colour\n1,MZXW6YTBOI,red",
            vec![(1, ProblemKind::UnknownColumn("colour".into()))],
        ),
        (
            "serial number,secret key,Secret Key\n",
            vec![(1, ProblemKind::DuplicateColumn("secret key".into()))],
        ),
        (
            "serial number,secret key,time interval\n1,MZXW6YTBOI,45",
            vec![(2, ProblemKind::BadInterval("45".into()))],
        ),
        (
            "serial number,secret key\n1,3132",
            vec![(
                2,
                ProblemKind::Secret(SecretTextError::NotBase32(
                    safeid::otpauth::Base32Error::Character { position: 1 },
                )),
            )],
        ),
        (
            "serial number,secret key\n1",
            vec![(
                2,
                ProblemKind::FieldCount {
                    expected: 2,
                    found: 1,
                },
            )],
        ),
    ];
    for (text, want) in bad {
        assert_eq!(&kinds(text), want, "{text:?}");
    }
}

#[test]
fn forced_encoding_settles_ambiguous_files() {
    let options = SeedFileOptions {
        encoding: Some(SecretEncoding::Hex),
        ..SeedFileOptions::default()
    };
    let file = SeedFile::parse_with("1,2a2b\n2,3c3d", &options).unwrap();
    assert_eq!(file.seed_for("1").unwrap().secret.expose(), &[0x2a, 0x2b]);
    let options = SeedFileOptions {
        encoding: Some(SecretEncoding::Base32),
        ..SeedFileOptions::default()
    };
    let file = SeedFile::parse_with("1,2a2b2c2d", &options).unwrap();
    assert_eq!(file.rows()[0].encoding, SecretEncoding::Base32);
    assert_eq!(file.seed_for("1").unwrap().secret.len(), 5);
}

#[test]
fn a_file_with_one_bad_row_yields_nothing() {
    let text = "1,MZXW6YTBOI\n2,MZXW6YTBOI\n3,MZXW6YTBO!";
    let err = SeedFile::parse(text).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].line, 3);
}

#[test]
fn problems_are_capped() {
    let text: String = (0..500).map(|i| format!("{i}\n")).collect();
    let err = SeedFile::parse(&text).unwrap_err();
    assert_eq!(err.problems.len(), safeid::sources::MAX_PROBLEMS);
}
