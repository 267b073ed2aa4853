//! Stateful behaviour: restricted models, lockout, the session's life, the clock and the
//! displayed code (docs/protocol.md sections 1, 3, 4, 5).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use safeid_sim::{Clock, ManualClock, SystemClock, TokenSpec, VirtualToken};

const RFC_SEED_SHA1: &[u8] = b"12345678901234567890";
const RFC_SEED_SHA256: &[u8] = b"12345678901234567890123456789012";

#[test]
fn restricted_token_erases_seed_on_config() {
    let host = Host::token2();
    let (mut t, _) = p2();
    assert!(t.state().restricted);
    assert_eq!(host.authenticate(&mut t), 0x9000);
    assert_eq!(sw(&t.process(&host.seed_apdu(RFC_SEED_SHA1))), 0x9000);
    assert!(t.display_code().is_some());
    assert_eq!(sw(&t.process(&host.config_apdu(1, 59, 1, 0x1E))), 0x9000);
    assert_eq!(t.state().seed_hex, None);
    assert_eq!(t.display_code(), None);
    // The burn order of section 4 (config, then seed) leaves a seed.
    assert_eq!(sw(&t.process(&host.seed_apdu(RFC_SEED_SHA1))), 0x9000);
    assert_eq!(t.display_code().as_deref(), Some("287082"));
}

#[test]
fn unrestricted_token_keeps_seed_on_config() {
    let host = Host::token2();
    let (mut t, _) = p1();
    assert!(!t.state().restricted);
    assert_eq!(host.authenticate(&mut t), 0x9000);
    assert_eq!(sw(&t.process(&host.seed_apdu(RFC_SEED_SHA1))), 0x9000);
    assert_eq!(sw(&t.process(&host.config_apdu(1, 59, 1, 0x1E))), 0x9000);
    assert_eq!(t.state().seed_hex.unwrap(), upper_hex(RFC_SEED_SHA1));
    assert_eq!(t.display_code().as_deref(), Some("287082"));
}

#[test]
fn unknown_prefix_is_restricted() {
    assert!(TokenSpec::token2("SAFEID0000001").restricted);
    assert!(!TokenSpec::new("8659632000001", [0; 16]).restricted);
}

#[test]
fn lockout_after_n_failures_is_permanent() {
    let host = Host::token2();
    let mut spec = TokenSpec::token2("8659612000001");
    spec.lockout_after = Some(3);
    let (mut t, _) = token_with(spec);
    let wrong = Host::new([0x11; 16]);
    for i in 1..=3 {
        assert!(!t.state().locked, "locked too early, before failure {i}");
        assert_eq!(wrong.authenticate(&mut t), 0x6983);
    }
    assert!(t.state().locked);
    assert_eq!(t.state().failed_auths, 3);
    assert_eq!(host.authenticate(&mut t), 0x6983, "right key after lockout");
    t.power_off();
    t.reset();
    assert_eq!(
        host.authenticate(&mut t),
        0x6983,
        "lockout survives power off"
    );
    assert!(!t.state().authenticated);
    assert_eq!(sw(&t.process(&host.seed_apdu(b"x"))), 0x6983);
}

#[test]
fn lockout_counts_total_failures_and_none_never_locks() {
    let host = Host::token2();
    let wrong = Host::new([0x11; 16]);
    let mut spec = TokenSpec::token2("8659612000001");
    spec.lockout_after = Some(2);
    let (mut t, _) = token_with(spec);
    assert_eq!(wrong.authenticate(&mut t), 0x6983);
    assert_eq!(host.authenticate(&mut t), 0x9000);
    assert_eq!(wrong.authenticate(&mut t), 0x6983);
    assert!(t.state().locked);

    let (mut t, _) = p1();
    for _ in 0..50 {
        assert_eq!(wrong.authenticate(&mut t), 0x6983);
    }
    assert!(!t.state().locked);
    assert_eq!(host.authenticate(&mut t), 0x9000);

    let mut spec = TokenSpec::token2("8659612000001");
    spec.lockout_after = Some(0);
    let (mut t, _) = token_with(spec);
    assert_eq!(host.authenticate(&mut t), 0x6983);
}

#[test]
fn authentication_is_lost_on_reset_power_off_and_new_challenge() {
    let host = Host::token2();
    let (mut t, _) = p1();
    type Loss = fn(&mut VirtualToken);
    let losses: [(&str, Loss); 3] = [
        ("reset", |t| t.reset()),
        ("power off", |t| t.power_off()),
        ("challenge", |t| {
            t.process(&GET_CHALLENGE);
        }),
    ];
    for (name, lose) in losses {
        assert_eq!(host.authenticate(&mut t), 0x9000);
        lose(&mut t);
        assert!(!t.state().authenticated, "{name}");
        assert_eq!(sw(&t.process(&host.seed_apdu(b"seed"))), 0x6983, "{name}");
        assert_eq!(
            sw(&t.process(&host.config_apdu(1, 1, 1, 0x1E))),
            0x6983,
            "{name}"
        );
    }
    // A pending challenge is gone after a reset.
    let c = data(&t.process(&GET_CHALLENGE)).to_vec();
    t.reset();
    assert_eq!(sw(&t.process(&host.auth_apdu(&c))), 0x6A80);
    // Seed and config survive power cycles.
    assert_eq!(host.authenticate(&mut t), 0x9000);
    assert_eq!(sw(&t.process(&host.seed_apdu(RFC_SEED_SHA1))), 0x9000);
    t.power_off();
    assert_eq!(t.state().seed_hex.unwrap(), upper_hex(RFC_SEED_SHA1));
}

/// Writes `seed` and a config that sets the token clock to `time`, on a token whose host
/// clock stays at [`T0`] until the test moves it.
fn burned(seed: &[u8], time: u32, hmac: u8, step: u8) -> (VirtualToken, ManualClock) {
    let host = Host::token2();
    let (mut t, clock) = p2();
    assert_eq!(host.authenticate(&mut t), 0x9000);
    assert_eq!(
        sw(&t.process(&host.config_apdu(1, time, hmac, step))),
        0x9000
    );
    assert_eq!(sw(&t.process(&host.seed_apdu(seed))), 0x9000);
    (t, clock)
}

#[test]
fn display_matches_rfc6238_sha1() {
    // RFC 6238 appendix B (last six of eight digits).
    let (t, clock) = burned(RFC_SEED_SHA1, 59, 1, 0x1E);
    assert_eq!(t.clock(), 59);
    assert_eq!(t.display_code().as_deref(), Some("287082"));
    clock.advance(1_111_111_109 - 59);
    assert_eq!(t.display_code().as_deref(), Some("081804"));
    assert_eq!(
        t.display_code_at(T0 + 1_111_111_111 - 59).as_deref(),
        Some("050471")
    );
    assert_eq!(
        t.display_code_at(T0 + 1_234_567_890 - 59).as_deref(),
        Some("005924")
    );
    assert_eq!(
        t.display_code_at(T0 + 2_000_000_000 - 59).as_deref(),
        Some("279037")
    );
}

#[test]
fn display_matches_rfc6238_sha256() {
    let (t, _) = burned(RFC_SEED_SHA256, 59, 2, 0x1E);
    assert_eq!(t.display_code().as_deref(), Some("119246"));
    assert_eq!(
        t.display_code_at(T0 + 1_111_111_109 - 59).as_deref(),
        Some("084774")
    );
    assert_eq!(
        t.display_code_at(T0 + 1_234_567_890 - 59).as_deref(),
        Some("819424")
    );
}

#[test]
fn display_with_60_second_step() {
    // Expected values from Python's hmac module (counter = T / 60).
    let (t, _) = burned(RFC_SEED_SHA1, 59, 1, 0x3C);
    assert_eq!(t.display_code().as_deref(), Some("755224"));
    assert_eq!(
        t.display_code_at(T0 + 1_111_111_109 - 59).as_deref(),
        Some("360094")
    );
    let (t, _) = burned(RFC_SEED_SHA256, 1_111_111_109, 2, 0x3C);
    assert_eq!(t.display_code().as_deref(), Some("857319"));
}

#[test]
fn short_seed_zero_extension_does_not_change_the_code() {
    // The host zero-extends 0x95 to 20 bytes; a token given only 0x95 shows the same code
    // (HMAC pads short keys with zeros). Expected value from Python's hmac module.
    let (t, _) = burned(&[0x95], 1_700_000_000, 1, 0x1E);
    assert_eq!(t.state().seed_hex.unwrap().len(), 40);
    assert_eq!(t.display_code().as_deref(), Some("487990"));
    let host = Host::token2();
    let (mut t, _) = p1();
    assert_eq!(host.authenticate(&mut t), 0x9000);
    let mut plain = [0u8; 16];
    plain[..2].copy_from_slice(&[0x95, 0x80]);
    assert_eq!(
        sw(&t.process(&host.secure(0xC5, 1, 0, &host.ecb(&plain)))),
        0x9000
    );
    assert_eq!(t.display_code().as_deref(), Some("487990"));
}

#[test]
fn clock_offset_and_manual_time() {
    let mut spec = TokenSpec::token2("8659612000001");
    spec.clock_offset = -300;
    let (mut t, clock) = token_with(spec);
    assert_eq!(t.clock(), T0 - 300);
    let info = t.process(&GET_INFO);
    let time = &data(&info)[data(&info).len() - 4..];
    assert_eq!(
        u32::from_be_bytes(time.try_into().unwrap()) as u64,
        T0 - 300
    );
    clock.advance(1000);
    assert_eq!(t.clock(), T0 + 700);
    clock.set(T0 - 10);
    assert_eq!(t.clock(), T0 - 310);
    // Setting the clock by config replaces the offset.
    let host = Host::token2();
    assert_eq!(host.authenticate(&mut t), 0x9000);
    assert_eq!(sw(&t.process(&host.config_apdu(1, 1_000, 1, 0x1E))), 0x9000);
    assert_eq!(t.clock(), 1_000);
    clock.advance(61);
    assert_eq!(t.clock(), 1_061);
    // A clock before the epoch reads as 0, in get info too.
    let mut spec = TokenSpec::token2("8659612000001");
    spec.clock_offset = -(T0 as i64) - 5;
    let (mut t, _) = token_with(spec);
    assert_eq!(t.clock(), 0);
    assert_eq!(
        upper_hex(&t.process(&[0x80, 0x41, 0, 0, 1, 0x11])),
        "95061104000000009000"
    );
}

#[test]
fn system_clock_token_tracks_real_time() {
    let t = VirtualToken::new(TokenSpec::token2("8659612000001"), Arc::new(SystemClock));
    let now = SystemClock.now();
    assert!(t.clock().abs_diff(now) <= 2);
}

#[test]
fn secrets_stay_out_of_debug() {
    let (t, _) = burned(RFC_SEED_SHA1, 59, 1, 0x1E);
    let seed_hex = upper_hex(RFC_SEED_SHA1);
    let state = t.state();
    for text in [format!("{t:?}"), format!("{state:?}")] {
        assert!(!text.contains(&seed_hex), "{text}");
        assert!(!text.contains("3132333435"), "{text}");
    }
    // The JSON dump holds the seed on purpose (documented).
    assert!(state.to_json().contains(&seed_hex));
}
