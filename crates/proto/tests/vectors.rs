//! Every known-answer vector of `tests/data/protocol.json` (copied from
//! the protocol vectors (crates/proto/tests/data/protocol.json), computed independently over OpenSSL's SM4), byte for byte.
#![allow(clippy::unwrap_used)]

use safeid_proto::*;
use safeid_secret::SecretBytes;
use serde_json::Value;

fn vectors() -> Value {
    let text = include_str!("data/protocol.json");
    serde_json::from_str(text).unwrap()
}

fn unhex(text: &str) -> Vec<u8> {
    data_encoding::HEXUPPER_PERMISSIVE
        .decode(text.as_bytes())
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXUPPER.encode(bytes)
}

fn key(case: &Value) -> AccessKey {
    AccessKey::from_hex(case["key"].as_str().unwrap()).unwrap()
}

fn cases<'a>(all: &'a Value, section: &str) -> &'a Vec<Value> {
    let list = all[section].as_array().unwrap();
    assert!(!list.is_empty(), "no {section} vectors");
    list
}

#[test]
fn authenticate_vectors() {
    let all = vectors();
    for case in cases(&all, "auth") {
        let challenge: [u8; 8] = unhex(case["challenge"].as_str().unwrap())
            .try_into()
            .unwrap();
        let cmd = authenticate(&key(case), &Challenge(challenge)).unwrap();
        assert_eq!(
            hex(cmd.as_bytes()),
            case["apdu"].as_str().unwrap(),
            "{case}"
        );
        assert_eq!(cmd.name(), "authenticate");
        assert!(cmd.is_sensitive());
    }
}

#[test]
fn write_seed_vectors() {
    let all = vectors();
    let list = cases(&all, "seed");
    for case in list {
        let raw = unhex(case["seed"].as_str().unwrap());
        let seed = Seed::new(SecretBytes::from(raw)).unwrap();
        let cmd = write_seed(&key(case), &seed).unwrap();
        assert_eq!(
            hex(cmd.as_bytes()),
            case["apdu"].as_str().unwrap(),
            "seed {}",
            seed.len()
        );
        assert!(crypto::verify_mac(&key(case), cmd.as_bytes()));
    }
    // The vectors must exercise the zero-extension, both aligned lengths and the maximum.
    let lengths: Vec<usize> = list
        .iter()
        .map(|c| c["seed"].as_str().unwrap().len() / 2)
        .collect();
    for needed in [1, 16, 20, 32, 48, 63] {
        assert!(
            lengths.contains(&needed),
            "no vector for a {needed}-byte seed: {lengths:?}"
        );
    }
}

#[test]
fn write_config_vectors() {
    let all = vectors();
    for case in cases(&all, "config") {
        let seconds = |field: &str| u32::try_from(case[field].as_u64().unwrap()).unwrap();
        let config = TokenConfig {
            display_timeout: DisplayTimeout::from_seconds(seconds("display_timeout_s")).unwrap(),
            unix_time: seconds("unix_time"),
            hmac: match case["hmac"].as_str().unwrap() {
                "SHA1" => HmacAlgorithm::Sha1,
                "SHA256" => HmacAlgorithm::Sha256,
                other => panic!("unknown hmac {other}"),
            },
            step: TimeStep::from_seconds(seconds("period_s")).unwrap(),
        };
        let cmd = write_config(&key(case), &config).unwrap();
        assert_eq!(
            hex(cmd.as_bytes()),
            case["apdu"].as_str().unwrap(),
            "{case}"
        );
        assert_eq!(cmd.name(), "write config");
        assert!(!cmd.is_sensitive());
        assert_eq!(cmd.redacted(), case["apdu"].as_str().unwrap());
    }
}

#[test]
fn info_vectors() {
    let all = vectors();
    let mut errors = 0;
    for case in cases(&all, "info") {
        let reply = unhex(case["response"].as_str().unwrap());
        let parsed = parse_info(&reply);
        if case["error"].as_bool() == Some(true) {
            errors += 1;
            assert!(parsed.is_err(), "{case} parsed as {parsed:?}");
        } else {
            let info = parsed.unwrap();
            assert_eq!(info.serial, case["serial"].as_str().unwrap());
            assert_eq!(
                u64::from(info.unix_time),
                case["unix_time"].as_u64().unwrap()
            );
        }
    }
    assert!(errors > 0);
}

#[test]
fn info_errors_are_typed() {
    // The status-word cases of the vectors give a Status error with the word.
    assert!(matches!(
        parse_info(&unhex("6983")),
        Err(ProtoError::Status {
            command: "get info",
            sw: StatusWord::SecurityStatusNotSatisfied
        })
    ));
    assert!(matches!(
        parse_info(&unhex("6D00")),
        Err(ProtoError::Status {
            sw: StatusWord::InsNotSupported,
            ..
        })
    ));
    for malformed in [
        "",
        "95",
        "9000",
        "9505020241419000",
        "950A020841424344454647481104000000019000",
    ] {
        assert!(
            matches!(
                parse_info(&unhex(malformed)),
                Err(ProtoError::MalformedReply {
                    command: "get info",
                    ..
                })
            ),
            "{malformed}"
        );
    }
}

#[test]
fn fixed_commands() {
    assert_eq!(hex(get_info().as_bytes()), "80410000020211");
    assert_eq!(hex(get_challenge().as_bytes()), "804B080000");
    assert_eq!(hex(select_fallback().as_bytes()), "00A4040006B00000000023");
    assert_eq!(get_info().name(), "get info");
    assert_eq!(get_challenge().name(), "get challenge");
}

#[test]
fn token2_key_is_the_published_one() {
    assert_eq!(
        AccessKey::token2(),
        AccessKey::from_hex("8AD206883CA369482AB27182B6E83224").unwrap()
    );
    assert_eq!(hex(&TOKEN2_KEY), "8AD206883CA369482AB27182B6E83224");
}
