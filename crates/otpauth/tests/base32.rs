//! RFC 4648 section 10 test vectors for the base32 helpers, and the leniency of rule 6.
#![allow(clippy::unwrap_used)]

use safeid_otpauth::{Base32Error, decode_base32, encode_base32};

/// RFC 4648 section 10: (data, padded base32).
const VECTORS: [(&str, &str); 6] = [
    ("f", "MY======"),
    ("fo", "MZXQ===="),
    ("foo", "MZXW6==="),
    ("foob", "MZXW6YQ="),
    ("fooba", "MZXW6YTB"),
    ("foobar", "MZXW6YTBOI======"),
];

#[test]
fn rfc4648_vectors_encode_unpadded() {
    assert_eq!(encode_base32(b""), "");
    for (data, padded) in VECTORS {
        assert_eq!(
            encode_base32(data.as_bytes()),
            padded.trim_end_matches('='),
            "{data}"
        );
    }
}

#[test]
fn rfc4648_vectors_decode_padded_unpadded_and_lower_case() {
    for (data, padded) in VECTORS {
        for text in [
            padded.to_owned(),
            padded.trim_end_matches('=').to_owned(),
            padded.to_ascii_lowercase(),
            format!(" {} ", padded.trim_end_matches('=')),
        ] {
            assert_eq!(
                decode_base32(&text).unwrap().expose(),
                data.as_bytes(),
                "{text:?}"
            );
        }
    }
}

#[test]
fn refusals() {
    assert_eq!(decode_base32(""), Err(Base32Error::Empty));
    assert_eq!(decode_base32("   "), Err(Base32Error::Empty));
    assert_eq!(decode_base32("M"), Err(Base32Error::Length { symbols: 1 }));
    assert_eq!(
        decode_base32("MZX"),
        Err(Base32Error::Length { symbols: 3 })
    );
    assert_eq!(
        decode_base32("MZ XW 6Y"),
        Err(Base32Error::Length { symbols: 6 })
    );
    assert_eq!(
        decode_base32("MY=\u{0}"),
        Err(Base32Error::Padding { position: 2 })
    );
    assert_eq!(
        decode_base32("M=Y"),
        Err(Base32Error::Padding { position: 1 })
    );
    assert!(matches!(
        decode_base32("MY====="),
        Err(Base32Error::Padding { .. })
    ));
    assert!(matches!(
        decode_base32("MZXW6YQ=="),
        Err(Base32Error::Padding { .. })
    ));
    assert_eq!(
        decode_base32("MY\t"),
        Err(Base32Error::Character { position: 2 })
    );
    assert_eq!(
        decode_base32("M8"),
        Err(Base32Error::Character { position: 1 })
    );
    assert_eq!(
        decode_base32("M-"),
        Err(Base32Error::Character { position: 1 })
    );
}
