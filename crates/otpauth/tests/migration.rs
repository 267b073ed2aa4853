//! `otpauth-migration://` tests (docs/otpauth.md rule 9) with protobuf bytes built by a tiny
//! test-only encoder, plus one real-world export whose bytes were checked with Python's
//! `base64` module.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use safeid_otpauth::{
    Algorithm, Base64Problem, Credential, EntryProblem, Kind, Message, MigrationBatch,
    MigrationError, ParseError, Parsed, ProtobufError, ProtobufErrorKind, parse_any,
    parse_migration, parse_migration_payload,
};
use safeid_secret::SecretBytes;

// ---- test-only protobuf encoder -------------------------------------------------------

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn tag(field: u64, wire_type: u64) -> Vec<u8> {
    varint((field << 3) | wire_type)
}

fn vfield(field: u64, v: u64) -> Vec<u8> {
    [tag(field, 0), varint(v)].concat()
}

fn lfield(field: u64, bytes: &[u8]) -> Vec<u8> {
    [tag(field, 2), varint(bytes.len() as u64), bytes.to_vec()].concat()
}

/// An OtpParameters entry: secret, name, issuer, then the enum fields that are `Some`.
fn entry(secret: &[u8], name: &str, issuer: &str, enums: [Option<u64>; 4]) -> Vec<u8> {
    let mut out = [
        lfield(1, secret),
        lfield(2, name.as_bytes()),
        lfield(3, issuer.as_bytes()),
    ]
    .concat();
    for (number, value) in (4..).zip(enums) {
        if let Some(v) = value {
            out.extend(vfield(number, v));
        }
    }
    out
}

fn payload_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.iter().flat_map(|e| lfield(1, e)).collect();
    out.extend([vfield(2, 1), vfield(3, 1), vfield(4, 0), vfield(5, 77)].concat());
    out
}

/// Standard base64, percent-encoded the way Google Authenticator does it.
fn uri_of(payload: &[u8]) -> String {
    let b64 = STANDARD.encode(payload);
    let escaped = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("otpauth-migration://offline?data={escaped}")
}

fn parse(payload: &[u8]) -> Result<MigrationBatch, ParseError> {
    parse_migration(&uri_of(payload))
}

fn proto_err(result: Result<MigrationBatch, ParseError>) -> ProtobufError {
    match result {
        Err(ParseError::Migration(MigrationError::Protobuf(e))) => e,
        other => panic!("expected a protobuf error, got {other:?}"),
    }
}

fn entry_err(result: Result<MigrationBatch, ParseError>) -> (usize, EntryProblem) {
    match result {
        Err(ParseError::Migration(MigrationError::Entry { index, problem })) => (index, problem),
        other => panic!("expected an entry error, got {other:?}"),
    }
}

fn cred(issuer: Option<&str>, account: &str, secret: &[u8]) -> Credential {
    Credential {
        kind: Kind::Totp { period: 30 },
        issuer: issuer.map(str::to_owned),
        account: account.to_owned(),
        secret: SecretBytes::from_slice(secret),
        algorithm: Algorithm::Sha1,
        digits: 6,
    }
}

// ---- valid exports ---------------------------------------------------------------------

#[test]
fn real_world_export() {
    // Decoded independently: one entry, secret "Hello!" DEADBEEF, name
    // "Example:alice@google.com", issuer "Example", SHA1, six digits, TOTP; version 1,
    // batch_size 1, batch_index 0, batch_id 0x7f63706b (varint EB E0 93 FB 07).
    let uri = "otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZSABKAEwAhABGAEgACjr4JP7Bw%3D%3D";
    let batch = parse_migration(uri).unwrap();
    assert_eq!(
        batch,
        MigrationBatch {
            credentials: vec![cred(
                Some("Example"),
                "alice@google.com",
                b"Hello!\xde\xad\xbe\xef"
            )],
            version: Some(1),
            batch_size: Some(1),
            batch_index: Some(0),
            batch_id: Some(2_137_321_579),
        }
    );
    assert_eq!(parse_any(uri).unwrap(), Parsed::Migration(batch));
}

#[test]
fn enums_map_per_rule_9() {
    let e = |enums| entry(b"0123456789", "acct", "", enums);
    let cases: Vec<([Option<u64>; 4], Algorithm, u8, Kind)> = vec![
        (
            [None, None, None, None],
            Algorithm::Sha1,
            6,
            Kind::Totp { period: 30 },
        ),
        (
            [Some(0), Some(0), Some(0), None],
            Algorithm::Sha1,
            6,
            Kind::Totp { period: 30 },
        ),
        (
            [Some(1), Some(1), Some(2), Some(9)],
            Algorithm::Sha1,
            6,
            Kind::Totp { period: 30 },
        ),
        (
            [Some(2), Some(2), Some(2), None],
            Algorithm::Sha256,
            8,
            Kind::Totp { period: 30 },
        ),
        (
            [Some(3), Some(1), Some(1), Some(5)],
            Algorithm::Sha512,
            6,
            Kind::Hotp { counter: 5 },
        ),
        (
            [None, None, Some(1), None],
            Algorithm::Sha1,
            6,
            Kind::Hotp { counter: 0 },
        ),
        (
            [None, None, Some(1), Some(u64::MAX)],
            Algorithm::Sha1,
            6,
            Kind::Hotp { counter: u64::MAX },
        ),
    ];
    for (enums, algorithm, digits, kind) in cases {
        let batch = parse(&payload_of(&[e(enums)])).unwrap();
        let c = &batch.credentials[0];
        assert_eq!(
            (c.algorithm, c.digits, c.kind),
            (algorithm, digits, kind),
            "{enums:?}"
        );
    }
}

#[test]
fn name_is_split_like_a_label_and_issuer_field_wins() {
    let cases = [
        ("ACME:alice", "", Some("ACME"), "alice"),
        ("ACME:  alice", "", Some("ACME"), "alice"),
        ("ACME:alice:x", "", Some("ACME"), "alice:x"),
        ("ACME:alice", "Other", Some("Other"), "alice"),
        ("alice", "ACME", Some("ACME"), "alice"),
        ("alice", "", None, "alice"),
        (":alice", "", None, "alice"),
        ("a+b:c+d", "", Some("a+b"), "c+d"),
    ];
    for (name, issuer, want_issuer, want_account) in cases {
        let batch = parse(&payload_of(&[entry(b"k", name, issuer, [None; 4])])).unwrap();
        assert_eq!(
            batch.credentials[0],
            cred(want_issuer, want_account, b"k"),
            "{name:?}"
        );
    }
    for name in ["", "ACME:", "ACME:   ", " "] {
        let result = parse(&payload_of(&[entry(b"k", name, "", [None; 4])]));
        assert_eq!(
            entry_err(result),
            (0, EntryProblem::EmptyAccount),
            "{name:?}"
        );
    }
}

/// Rule 4a in an export: Google Authenticator has no Steam mode (its codes are always
/// decimal), so a Steam entry is not refused, but it carries the same warning as a URI.
#[test]
fn steam_entry_is_kept_with_a_warning() {
    let secret = b"12345678901234567890";
    let p = payload_of(&[
        entry(secret, "Steam:gaben", "Steam", [None; 4]),
        entry(secret, "Valve:gaben", "", [None; 4]),
    ]);
    let batch = parse(&p).unwrap();
    assert_eq!(batch.credentials[0], cred(Some("Steam"), "gaben", secret));
    assert_eq!(
        batch.credentials[0].warnings(),
        vec![safeid_otpauth::Warning::SteamIssuer]
    );
    assert_eq!(batch.credentials[1].warnings(), vec![]);
}

#[test]
fn several_entries_keep_their_order() {
    let p = payload_of(&[
        entry(b"one", "a", "", [None; 4]),
        entry(b"two", "b", "", [None, None, Some(1), Some(3)]),
    ]);
    let batch = parse(&p).unwrap();
    assert_eq!(batch.credentials.len(), 2);
    assert_eq!(batch.credentials[0], cred(None, "a", b"one"));
    assert_eq!(batch.credentials[1].kind, Kind::Hotp { counter: 3 });
    assert_eq!(batch.batch_id, Some(77));
    assert_eq!(parse_migration_payload(&p).unwrap(), batch);
    // An empty payload is a valid (empty) batch.
    let empty = parse_migration("otpauth-migration://offline?data=EAE%3D").unwrap();
    assert_eq!(empty.credentials, vec![]);
    assert_eq!(empty.version, Some(1));
}

#[test]
fn int32_fields_take_the_low_32_bits() {
    // -1 as int32 is sent as ten bytes (sign-extended to 64 bits).
    let p = [vfield(2, u64::MAX), vfield(5, 0x1_0000_0005)].concat();
    let batch = parse(&p).unwrap();
    assert_eq!((batch.version, batch.batch_id), (Some(-1), Some(5)));
}

// ---- base64 tolerance -----------------------------------------------------------------

#[test]
fn base64_tolerances() {
    // Bytes chosen so that the base64 text contains `+`, `/` and padding (text checked
    // with Python's base64 module, which also checks the test encoder).
    let p = payload_of(&[entry(&[0xff, 0xbf, 0xfe, 0xfb], "nm", "", [None; 4])]);
    let want = parse(&p).unwrap();
    let std = STANDARD.encode(&p);
    assert_eq!(std, "CgwKBP+//vsSAm5tGgAQARgBIAAoTQ==");
    let base = "otpauth-migration://offline?data=";
    for data in [
        std.clone(),                                 // raw, `+` would be a space...
        std.replace('+', " "),                       // ...tolerated
        std.replace('+', "%2B").replace('/', "%2F"), // properly escaped
        std.trim_end_matches('=').to_owned(),        // missing padding
        URL_SAFE_NO_PAD.encode(&p),                  // URL-safe alphabet
        std.replace('+', "-"),                       // mixed alphabets
    ] {
        assert_eq!(
            parse_migration(&format!("{base}{data}")).unwrap(),
            want,
            "{data}"
        );
    }
    let upper = format!(
        "OTPAUTH-MIGRATION://offline?data={}#frag",
        URL_SAFE_NO_PAD.encode(&p)
    );
    assert_eq!(parse_migration(&upper).unwrap(), want);
}

#[test]
fn migration_uri_errors() {
    let m = |e| Err(ParseError::Migration(e));
    let base = "otpauth-migration://offline";
    assert_eq!(parse_migration(base), m(MigrationError::MissingData));
    assert_eq!(
        parse_migration(&format!("{base}?data=")),
        m(MigrationError::MissingData)
    );
    assert_eq!(
        parse_migration(&format!("{base}?Data=EAE")),
        m(MigrationError::MissingData)
    );
    assert_eq!(
        parse_migration(&format!("{base}?data=EAE&data=EAE")),
        m(MigrationError::DuplicateData)
    );
    assert_eq!(
        parse_migration(&format!("{base}?data=%FF")),
        m(MigrationError::DataEncoding)
    );
    assert_eq!(
        parse_migration("otpauth-migration://online?data=EAE"),
        m(MigrationError::Host {
            found: "online".into()
        })
    );
    assert_eq!(
        parse_migration(&format!("{base}?data=EA!E")),
        m(MigrationError::Base64(Base64Problem::Character {
            position: 2
        }))
    );
    assert_eq!(
        parse_migration(&format!("{base}?data=E")),
        m(MigrationError::Base64(Base64Problem::Length))
    );
    assert_eq!(
        parse_migration("otpauth://totp/a?secret=MY"),
        Err(ParseError::SingleScheme)
    );
    assert_eq!(
        parse_migration(&format!("{base}?data={}", "A".repeat(4100))),
        Err(ParseError::TooLong {
            len: base.len() + 6 + 4100
        })
    );
    assert_eq!(
        parse_migration("otpauth-migrate://offline?data=EAE"),
        Err(ParseError::Scheme)
    );
}

// ---- strict protobuf reader -----------------------------------------------------------

#[test]
fn protobuf_errors() {
    use ProtobufErrorKind as K;
    let at = |offset, kind| ProtobufError {
        message: Message::Payload,
        offset,
        kind,
    };
    let good = entry(b"k", "n", "", [None; 4]);
    let cases: Vec<(Vec<u8>, ProtobufError)> = vec![
        // Truncated tag varint.
        (vec![0x80], at(0, K::Truncated)),
        // Truncated value varint.
        (vec![0x10, 0x81], at(1, K::Truncated)),
        // Truncated fixed64 / fixed32 values of unknown fields.
        ([tag(9, 1), vec![1, 2, 3]].concat(), at(0, K::Truncated)),
        ([tag(9, 5), vec![1, 2, 3]].concat(), at(0, K::Truncated)),
        // Eleven-byte varint, and a ten-byte one that overflows 64 bits.
        (
            [vec![0x10], vec![0xff; 10], vec![0x01]].concat(),
            at(1, K::OverlongVarint),
        ),
        (
            [vec![0x10], vec![0xff; 9], vec![0x02]].concat(),
            at(1, K::OverlongVarint),
        ),
        // Length past the end (for a known and for an unknown field).
        (
            vec![0x0a, 0x05, 0x01],
            at(0, K::LengthPastEnd { field: 1, len: 5 }),
        ),
        (
            [tag(9, 2), varint(u64::MAX)].concat(),
            at(
                0,
                K::LengthPastEnd {
                    field: 9,
                    len: u64::MAX,
                },
            ),
        ),
        // Field number 0.
        (vec![0x00, 0x01], at(0, K::FieldZero)),
        (vec![0x10, 0x01, 0x02, 0x01], at(2, K::FieldZero)),
        // Wire types 6 and 7.
        (
            vec![0x0e],
            at(
                0,
                K::InvalidWireType {
                    field: 1,
                    wire_type: 6,
                },
            ),
        ),
        (
            vec![0x10, 0x01, 0x7f],
            at(
                2,
                K::InvalidWireType {
                    field: 15,
                    wire_type: 7,
                },
            ),
        ),
        // Groups: unmatched end, never closed, mismatched end.
        (tag(9, 4), at(0, K::UnexpectedEndGroup { field: 9 })),
        (tag(9, 3), at(0, K::UnclosedGroup { field: 9 })),
        (
            [tag(9, 3), tag(8, 4)].concat(),
            at(1, K::UnexpectedEndGroup { field: 8 }),
        ),
        // Known fields with the wrong wire type.
        (
            vfield(1, 5),
            at(
                0,
                K::WrongWireType {
                    field: 1,
                    name: "otp_parameters",
                    found: 0,
                    expected: 2,
                },
            ),
        ),
        (
            lfield(2, b"x"),
            at(
                0,
                K::WrongWireType {
                    field: 2,
                    name: "version",
                    found: 2,
                    expected: 0,
                },
            ),
        ),
        // Errors inside an entry report the entry and the payload offset.
        (
            [lfield(1, &good), lfield(1, &[0x0a, 0x09])].concat(),
            ProtobufError {
                message: Message::OtpParameters(1),
                offset: good.len() + 4,
                kind: K::LengthPastEnd { field: 1, len: 9 },
            },
        ),
        (
            lfield(1, &[0x08, 0x01]),
            ProtobufError {
                message: Message::OtpParameters(0),
                offset: 2,
                kind: K::WrongWireType {
                    field: 1,
                    name: "secret",
                    found: 0,
                    expected: 2,
                },
            },
        ),
        (
            lfield(1, &[0x12, 0x02, 0xc3, 0x28]),
            ProtobufError {
                message: Message::OtpParameters(0),
                offset: 4,
                kind: K::NotUtf8 {
                    field: 2,
                    name: "name",
                },
            },
        ),
        (
            lfield(1, &lfield(4, b"")),
            ProtobufError {
                message: Message::OtpParameters(0),
                offset: 2,
                kind: K::WrongWireType {
                    field: 4,
                    name: "algorithm",
                    found: 2,
                    expected: 0,
                },
            },
        ),
    ];
    for (payload, want) in cases {
        assert_eq!(proto_err(parse(&payload)), want, "{payload:02x?}");
    }
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let good = entry(b"key", "ACME:bob", "", [Some(2), None, None, None]);
    let unknown = [
        vfield(100, u64::MAX),                 // varint, ten bytes
        [tag(101, 1), vec![0xff; 8]].concat(), // fixed64
        lfield(102, &[0x0e, 0x0f, 0x00]),      // bytes that would be invalid as fields
        [tag(103, 5), vec![0xff; 4]].concat(), // fixed32
        // A group with nested group and all value kinds inside.
        [
            tag(104, 3),
            vfield(1, 1),
            tag(105, 3),
            lfield(2, b"xx"),
            tag(105, 4),
            tag(104, 4),
        ]
        .concat(),
        vfield(536_870_911, 1), // the largest field number
    ]
    .concat();
    let with_unknown_in_entry = [good.clone(), unknown.clone()].concat();
    let payload = [
        unknown.clone(),
        lfield(1, &with_unknown_in_entry),
        unknown,
        vfield(2, 1),
    ]
    .concat();
    let batch = parse(&payload).unwrap();
    let mut want = cred(Some("ACME"), "bob", b"key");
    want.algorithm = Algorithm::Sha256;
    assert_eq!(batch.credentials, vec![want]);
    assert_eq!(batch.version, Some(1));
}

#[test]
fn later_copies_of_singular_fields_win_as_in_protobuf() {
    let e = [
        entry(b"old", "a", "", [Some(2), None, None, None]),
        lfield(1, b"new"),
        vfield(4, 3),
    ]
    .concat();
    let batch = parse(&[lfield(1, &e), vfield(2, 1), vfield(2, 2)].concat()).unwrap();
    assert_eq!(batch.credentials[0].secret.expose(), b"new");
    assert_eq!(batch.credentials[0].algorithm, Algorithm::Sha512);
    assert_eq!(batch.version, Some(2));
}

#[test]
fn entry_problems() {
    let one = |enums| parse(&payload_of(&[entry(b"k", "n", "", enums)]));
    assert_eq!(
        entry_err(one([Some(4), None, None, None])),
        (0, EntryProblem::Md5)
    );
    assert_eq!(
        entry_err(one([Some(5), None, None, None])),
        (0, EntryProblem::Algorithm(5))
    );
    assert_eq!(
        entry_err(one([None, Some(3), None, None])),
        (0, EntryProblem::Digits(3))
    );
    assert_eq!(
        entry_err(one([None, None, Some(3), None])),
        (0, EntryProblem::Type(3))
    );
    let no_secret = payload_of(&[
        entry(b"k", "n", "", [None; 4]),
        entry(b"", "m", "", [None; 4]),
    ]);
    assert_eq!(entry_err(parse(&no_secret)), (1, EntryProblem::EmptySecret));
    let missing_secret = payload_of(&[lfield(2, b"n")]);
    assert_eq!(
        entry_err(parse(&missing_secret)),
        (0, EntryProblem::EmptySecret)
    );
    let md5 = one([Some(4), None, None, None]).unwrap_err().to_string();
    assert!(
        md5.contains("otp_parameters[0]") && md5.contains("MD5"),
        "{md5}"
    );
}

#[test]
fn error_messages_name_the_part() {
    let msg = |r: Result<MigrationBatch, ParseError>| r.unwrap_err().to_string();
    let m = msg(parse(&[0x0e]));
    assert!(m.contains("protobuf") && m.contains("wire type 6"), "{m}");
    let m = msg(parse_migration("otpauth-migration://offline?data=E"));
    assert!(m.starts_with("migration data:"), "{m}");
    let m = msg(parse(&vfield(1, 5)));
    assert!(
        m.contains("otp_parameters") && m.contains("MigrationPayload"),
        "{m}"
    );
}
