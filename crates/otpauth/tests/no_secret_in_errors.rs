//! No error message (Display or Debug) ever contains the secret, not even part of it.
#![allow(clippy::unwrap_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use safeid_otpauth::{Credential, decode_base32, parse_any, parse_migration};

/// A recognisable secret text (valid base32 symbols, 16 of them).
const SECRET: &str = "QWERTYUIOPASDFGH";

/// Fails if `text` contains any 5-character window of `secret` (case-insensitively).
fn assert_no_part_of(secret: &str, text: &str, input: &str) {
    let lower = text.to_ascii_lowercase();
    let chars: Vec<char> = secret.to_ascii_lowercase().chars().collect();
    for window in chars.windows(5) {
        let part: String = window.iter().collect();
        assert!(
            !lower.contains(&part),
            "message leaks {part:?} of the secret\n input: {input}\n message: {text}"
        );
    }
}

fn malformed_uris() -> Vec<String> {
    let s = SECRET;
    vec![
        format!("otpauth://totp/alice?secret={s}1"),
        format!("otpauth://totp/alice?secret={s}Q"),
        format!("otpauth://totp/alice?secret={s}%C3%A9"),
        format!("otpauth://totp/alice?secret={s}%3D"),
        format!("otpauth://totp/alice?secret={s}%3DQ"),
        format!("otpauth://totp/alice?secret={s}%ZZ"),
        format!("otpauth://totp/alice?secret={s}%FF"),
        format!("otpauth://totp/alice?secret={s}&secret={s}"),
        format!("otpauth://totp/alice?secret={s}&digits=9"),
        format!("otpauth://totp/alice?secret={s}&algorithm=MD5"),
        format!("otpauth://totp/alice?secret={s}&period=0"),
        format!("otpauth://hotp/alice?secret={s}&counter=-1"),
        format!("otpauth://totp/?secret={s}"),
        format!("otpauth://totp/%FF?secret={s}"),
        format!("otpauth://steam/alice?secret={s}"),
        format!("otpauth://totp/alice?secret={s}&encoder=steam"),
        format!("otpauth://totp/alice?secret={s}&algorithm=steam"),
        format!("otpauth://totp:1/alice?secret={s}"),
        format!("otpauth://totp/alice?secret={s}&issuer=%FF"),
        format!("otpauth:/totp/alice?secret={s}"),
        s.to_owned(),
        format!("otpauth://totp/alice?secret={s}{}", "A".repeat(5000)),
        format!("otpauth-migration://offline?data={s}"),
        format!("otpauth-migration://offline?data={s}!"),
        format!("otpauth-migration://offline?data={s}&data={s}"),
        format!("otpauth-migration://offline?data={s}%FF"),
        format!("otpauth-migration://online?data={s}"),
        format!("otpauth-migration://offline:1?data={s}"),
    ]
}

#[test]
fn uri_errors_never_contain_the_secret() {
    for uri in malformed_uris() {
        let err = parse_any(&uri).unwrap_err();
        assert_no_part_of(SECRET, &err.to_string(), &uri);
        assert_no_part_of(SECRET, &format!("{err:?}"), &uri);
        if let Err(err) = Credential::parse(&uri) {
            assert_no_part_of(SECRET, &format!("{err} {err:?}"), &uri);
        }
        if let Err(err) = parse_migration(&uri) {
            assert_no_part_of(SECRET, &format!("{err} {err:?}"), &uri);
        }
    }
}

#[test]
fn base32_errors_never_contain_the_secret() {
    for text in [
        format!("{SECRET}1"),
        format!("{SECRET}Q"),
        format!("{SECRET}="),
        format!("{SECRET}=Q"),
        format!("{SECRET}\u{e9}"),
        format!("1{SECRET}"),
    ] {
        let err = decode_base32(&text).unwrap_err();
        assert_no_part_of(SECRET, &format!("{err} {err:?}"), &text);
    }
}

#[test]
fn migration_errors_never_contain_the_secret_bytes() {
    // A payload whose only entry carries SECRET as its raw secret bytes, then breaks.
    let mut entry = vec![0x0a, SECRET.len() as u8];
    entry.extend_from_slice(SECRET.as_bytes());
    let cases: Vec<Vec<u8>> = vec![
        // entry with MD5
        [
            vec![0x0a, entry.len() as u8 + 2],
            entry.clone(),
            vec![0x20, 0x04],
        ]
        .concat(),
        // entry with a name that is not UTF-8
        [
            vec![0x0a, entry.len() as u8 + 3],
            entry.clone(),
            vec![0x12, 0x01, 0xff],
        ]
        .concat(),
        // entry truncated: its length claims more than there is
        [vec![0x0a, entry.len() as u8 + 5], entry.clone()].concat(),
        // entry followed by a wire type 7 tag
        [vec![0x0a, entry.len() as u8 + 1], entry.clone(), vec![0x0f]].concat(),
        // secret field with the wrong wire type after the entry's bytes
        [
            vec![0x0a, entry.len() as u8 + 2],
            entry.clone(),
            vec![0x08, 0x01],
        ]
        .concat(),
    ];
    for payload in cases {
        let uri = format!(
            "otpauth-migration://offline?data={}",
            STANDARD.encode(&payload)
        );
        let err = parse_migration(&uri).unwrap_err();
        assert_no_part_of(SECRET, &format!("{err} {err:?}"), &uri);
    }
}
