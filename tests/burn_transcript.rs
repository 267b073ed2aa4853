//! Full burns through the scripted mock, byte for byte. Every expected APDU comes from the
//! shared known-answer vectors (`crates/proto/tests/data/protocol.json`, a copy of
//! `crates/proto/tests/data/protocol.json`, computed independently over OpenSSL's SM4), never from
//! the code under test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use safeid::clock::ManualClock;
use safeid::proto::{AccessKey, HmacAlgorithm};
use safeid::secret::SecretBytes;
use safeid::transport::TransportError;
use safeid::transport::mock::{Exchange, ScriptedTransport};
use safeid::{BurnPlan, Outcome, PlanOptions, Session, SessionError, Stage};
use serde_json::Value;

const TOKEN2_KEY: &str = "8AD206883CA369482AB27182B6E83224";
const GET_INFO: &str = "80 41 00 00 02 02 11";
const GET_CHALLENGE: &str = "80 4B 08 00 00";

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/proto/tests/data/protocol.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn find<'a>(v: &'a Value, group: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    v[group]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| pred(e))
        .unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    data_encoding::HEXUPPER.decode(s.as_bytes()).unwrap()
}

/// The vector pieces of one burn with the Token2 key: info of serial 8659622000001
/// (OTPC-P2-i, restricted), challenge 1956BC2A25C8A748, config (display 30 s, time
/// 2639613877, SHA256, 30 s), and a 32-byte seed.
struct Burn {
    info_reply: String,
    challenge: String,
    auth_apdu: String,
    config_apdu: String,
    seed: Vec<u8>,
    seed_apdu: String,
    time: u64,
}

fn burn_vectors() -> Burn {
    let v = vectors();
    let info = find(&v, "info", |e| e["serial"] == "8659622000001");
    let auth = find(&v, "auth", |e| {
        e["key"] == TOKEN2_KEY && e["challenge"] == "1956BC2A25C8A748"
    });
    let config = find(&v, "config", |e| {
        e["key"] == TOKEN2_KEY
            && e["display_timeout_s"] == 30
            && e["unix_time"] == 2_639_613_877u64
            && e["hmac"] == "SHA256"
            && e["period_s"] == 30
    });
    let seed = find(&v, "seed", |e| {
        e["key"] == TOKEN2_KEY && e["seed"].as_str().unwrap().len() == 64
    });
    Burn {
        info_reply: info["response"].as_str().unwrap().to_owned(),
        challenge: "1956BC2A25C8A748".to_owned(),
        auth_apdu: auth["apdu"].as_str().unwrap().to_owned(),
        config_apdu: config["apdu"].as_str().unwrap().to_owned(),
        seed: hex(seed["seed"].as_str().unwrap()),
        seed_apdu: seed["apdu"].as_str().unwrap().to_owned(),
        time: 2_639_613_877,
    }
}

fn plan(seed: &[u8]) -> BurnPlan {
    let opts = PlanOptions {
        algorithm: Some(HmacAlgorithm::Sha256),
        period: Some(30),
        display_timeout: Some(30),
        ..PlanOptions::default()
    };
    BurnPlan::from_seed(&SecretBytes::from_slice(seed), &opts).unwrap()
}

#[test]
fn full_burn_is_byte_exact() {
    let b = burn_vectors();
    let mut mock = ScriptedTransport::new(vec![
        Exchange::ok(GET_INFO, b.info_reply.as_str()).label("get info"),
        Exchange::ok(GET_CHALLENGE, format!("{} 9000", b.challenge)).label("get challenge"),
        Exchange::ok(b.auth_apdu.as_str(), "9000").label("authenticate"),
        Exchange::ok(b.config_apdu.as_str(), "9000").label("write config"),
        Exchange::ok(b.seed_apdu.as_str(), "9000").label("write seed"),
    ]);
    let report = Session::new(&mut mock)
        .with_clock(Arc::new(ManualClock::new(b.time)))
        .burn(&plan(&b.seed))
        .unwrap();
    mock.finish();

    assert_eq!(report.apdus, 5, "5 APDUs is the protocol minimum");
    assert_eq!(report.token.status.serial, "8659622000001");
    assert_eq!(report.token.status.model.as_deref(), Some("OTPC-P2-i"));
    assert!(report.token.status.restricted);
    assert_eq!(report.token.status.token_time, 1_700_000_000);
    assert_eq!(report.token.status.drift, 1_700_000_000 - 2_639_613_877_i64);
    assert_eq!(report.clock_set_to, 2_639_613_877);
}

#[test]
fn refused_key_stops_after_one_authenticate() {
    let b = burn_vectors();
    // The mock panics on any command after the refusal: nothing else may be sent.
    let mut mock = ScriptedTransport::new(vec![
        Exchange::ok(GET_INFO, b.info_reply.as_str()),
        Exchange::ok(GET_CHALLENGE, format!("{} 9000", b.challenge)),
        Exchange::ok(b.auth_apdu.as_str(), "6983"),
    ]);
    let err = Session::new(&mut mock)
        .with_clock(Arc::new(ManualClock::new(b.time)))
        .burn(&plan(&b.seed))
        .unwrap_err();
    mock.finish();
    assert!(matches!(err, SessionError::KeyRefused), "{err:?}");
    assert!(err.to_string().contains("nothing was written"));
}

#[test]
fn unknown_model_without_key_sends_nothing_secure() {
    let v = vectors();
    let info = find(&v, "info", |e| e["serial"] == "ABC123");
    let mut mock = ScriptedTransport::new(vec![Exchange::ok(
        GET_INFO,
        info["response"].as_str().unwrap(),
    )]);
    let err = Session::new(&mut mock)
        .with_clock(Arc::new(ManualClock::new(2_000_000_000)))
        .burn(&plan(&[0x11; 20]))
        .unwrap_err();
    mock.finish();
    assert!(
        matches!(&err, SessionError::UnknownModel { serial } if serial == "ABC123"),
        "{err:?}"
    );
}

#[test]
fn user_key_is_used_for_an_unknown_model() {
    let v = vectors();
    let info = find(&v, "info", |e| e["serial"] == "ABC123");
    let auth = find(&v, "auth", |e| {
        e["key"] == "C4B771095F16B197A1EDF8423A513CD1" && e["challenge"] == "1718838A924D7ED6"
    });
    let mut mock = ScriptedTransport::new(vec![
        Exchange::ok(GET_INFO, info["response"].as_str().unwrap()),
        Exchange::ok(GET_CHALLENGE, "1718838A924D7ED6 9000"),
        Exchange::ok(auth["apdu"].as_str().unwrap(), "6983"),
    ]);
    let key = AccessKey::from_hex("c4b771095f16b197a1edf8423a513cd1").unwrap();
    let err = Session::new(&mut mock)
        .with_key(key)
        .with_clock(Arc::new(ManualClock::new(2_000_000_000)))
        .burn(&plan(&[0x11; 20]))
        .unwrap_err();
    mock.finish();
    assert!(matches!(err, SessionError::KeyRefused));
}

#[test]
fn select_fallback_only_after_instruction_not_supported() {
    let b = burn_vectors();
    let mut mock = ScriptedTransport::new(vec![
        Exchange::ok(GET_INFO, "6D00"),
        Exchange::ok("00 A4 04 00 06 B0 00 00 00 00 23", "9000"),
        Exchange::ok(GET_INFO, b.info_reply.as_str()),
    ]);
    let status = Session::new(&mut mock)
        .with_clock(Arc::new(ManualClock::new(1_700_000_000)))
        .info()
        .unwrap();
    mock.finish();
    assert_eq!(status.serial, "8659622000001");
    assert_eq!(status.drift, 0);
}

#[test]
fn card_removed_before_seed_says_the_token_is_blank() {
    let b = burn_vectors();
    let mut mock = ScriptedTransport::new(vec![
        Exchange::ok(GET_INFO, b.info_reply.as_str()),
        Exchange::ok(GET_CHALLENGE, format!("{} 9000", b.challenge)),
        Exchange::ok(b.auth_apdu.as_str(), "9000"),
        Exchange::ok(b.config_apdu.as_str(), "9000"),
        Exchange::fail(b.seed_apdu.as_str(), TransportError::CardRemoved),
    ]);
    let err = Session::new(&mut mock)
        .with_clock(Arc::new(ManualClock::new(b.time)))
        .burn(&plan(&b.seed))
        .unwrap_err();
    mock.finish();
    let SessionError::Interrupted { stage, written, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*stage, Stage::WriteSeed);
    assert_eq!(written.config, Outcome::Written);
    assert_eq!(written.seed, Outcome::NotWritten);
    let msg = err.to_string();
    assert!(msg.contains("config written, seed not written"), "{msg}");
    assert!(msg.contains("token is now blank"), "{msg}");
}
