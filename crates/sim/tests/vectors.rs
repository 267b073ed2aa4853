//! The shared known-answer vectors (tests/data/protocol.json, a copy of
//! `crates/proto/tests/data/protocol.json`) fed to the virtual token.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use safeid_sim::{HmacAlgorithm, ManualClock, TokenSpec, VirtualToken};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/protocol.json")).unwrap()
}

fn list(v: &Value, name: &str) -> Vec<Value> {
    let l = v[name].as_array().unwrap().clone();
    assert!(!l.is_empty(), "no {name} vectors");
    l
}

fn key_of(case: &Value) -> [u8; 16] {
    hex(case["key"].as_str().unwrap()).try_into().unwrap()
}

fn token_for(key: [u8; 16]) -> (VirtualToken, ManualClock) {
    token_with(TokenSpec::new("8659612000001", key))
}

#[test]
fn auth_vectors_authenticate_with_their_challenge() {
    for case in list(&vectors(), "auth") {
        let (mut t, _) = token_for(key_of(&case));
        let challenge = hex(case["challenge"].as_str().unwrap());
        t.set_next_challenge(challenge.clone().try_into().unwrap());
        let r = t.process(&GET_CHALLENGE);
        assert_eq!(data(&r), &challenge[..]);
        let apdu = hex(case["apdu"].as_str().unwrap());
        // Our own builder agrees with the vector byte for byte.
        assert_eq!(Host::new(key_of(&case)).auth_apdu(&challenge), apdu);
        assert_eq!(sw(&t.process(&apdu)), 0x9000, "{case}");
        assert!(t.state().authenticated);
    }
}

#[test]
fn auth_vector_with_another_challenge_is_refused() {
    let case = &list(&vectors(), "auth")[0];
    let (mut t, _) = token_for(key_of(case));
    let mut challenge: [u8; 8] = hex(case["challenge"].as_str().unwrap()).try_into().unwrap();
    challenge[7] ^= 1;
    t.set_next_challenge(challenge);
    t.process(&GET_CHALLENGE);
    assert_eq!(sw(&t.process(&hex(case["apdu"].as_str().unwrap()))), 0x6983);
}

#[test]
fn seed_vectors_store_the_zero_extended_seed() {
    for case in list(&vectors(), "seed") {
        let key = key_of(&case);
        let host = Host::new(key);
        let (mut t, _) = token_for(key);
        assert_eq!(host.authenticate(&mut t), 0x9000);
        let apdu = hex(case["apdu"].as_str().unwrap());
        let seed = hex(case["seed"].as_str().unwrap());
        assert_eq!(host.seed_apdu(&seed), apdu, "our builder vs vector");
        assert_eq!(sw(&t.process(&apdu)), 0x9000, "{case}");
        let mut expected = seed.clone();
        if expected.len() < 20 {
            expected.resize(20, 0);
        }
        assert_eq!(t.state().seed_hex.unwrap(), upper_hex(&expected));
        assert_eq!(t.state().seed_writes, 1);
    }
}

#[test]
fn seed_vectors_need_authentication_and_the_right_key() {
    let case = &list(&vectors(), "seed")[0];
    let apdu = hex(case["apdu"].as_str().unwrap());
    let (mut t, _) = token_for(key_of(case));
    assert_eq!(sw(&t.process(&apdu)), 0x6983);
    // Authenticated under another key, the vector's MAC does not verify.
    let mut other = key_of(case);
    other[0] ^= 0xFF;
    let (mut t, _) = token_for(other);
    assert_eq!(Host::new(other).authenticate(&mut t), 0x9000);
    assert_eq!(sw(&t.process(&apdu)), 0x6983);
    assert_eq!(t.state().seed_hex, None);
}

#[test]
fn config_vectors_are_applied() {
    for case in list(&vectors(), "config") {
        let key = key_of(&case);
        let host = Host::new(key);
        let (mut t, clock) = token_for(key);
        assert_eq!(host.authenticate(&mut t), 0x9000);
        let apdu = hex(case["apdu"].as_str().unwrap());
        let time = case["unix_time"].as_u64().unwrap();
        let timeout_s = case["display_timeout_s"].as_u64().unwrap();
        let period = case["period_s"].as_u64().unwrap();
        let hmac = case["hmac"].as_str().unwrap();
        let code = |s: u64| [15, 30, 60, 120].iter().position(|&x| x == s).unwrap() as u8;
        let built = host.config_apdu(
            code(timeout_s),
            time as u32,
            if hmac == "SHA1" { 1 } else { 2 },
            period as u8,
        );
        assert_eq!(built, apdu, "our builder vs vector");
        assert_eq!(sw(&t.process(&apdu)), 0x9000, "{case}");
        let s = t.state();
        assert_eq!(s.clock, time);
        assert_eq!(u64::from(s.config.display_timeout_s), timeout_s);
        assert_eq!(u64::from(s.config.step_s), period);
        let want = match hmac {
            "SHA1" => HmacAlgorithm::Sha1,
            "SHA256" => HmacAlgorithm::Sha256,
            other => panic!("unknown hmac {other}"),
        };
        assert_eq!(s.config.hmac, want);
        assert_eq!(s.clock_set_count, 1);
        clock.advance(7);
        assert_eq!(t.clock(), time + 7);
    }
}

#[test]
fn info_vectors_match_the_token_reply() {
    let mut checked = 0;
    for case in list(&vectors(), "info") {
        if case.get("error").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let serial = case["serial"].as_str().unwrap();
        let time = case["unix_time"].as_u64().unwrap();
        let clock = ManualClock::new(time);
        let mut t = VirtualToken::new(TokenSpec::token2(serial), Arc::new(clock));
        let want = hex(case["response"].as_str().unwrap());
        // The token answers the tags in the order asked: ask in the vector's order.
        let mut apdu = GET_INFO.to_vec();
        if want[2] == 0x11 {
            apdu[5..].copy_from_slice(&[0x11, 0x02]);
        }
        assert_eq!(upper_hex(&t.process(&apdu)), upper_hex(&want));
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} positive info vectors");
}

#[test]
fn the_copy_matches_the_protocol_crates_vectors() {
    // Both crates test against the same vectors: a change to one copy must reach the other.
    assert_eq!(
        include_str!("data/protocol.json"),
        include_str!("../../proto/tests/data/protocol.json")
    );
}
