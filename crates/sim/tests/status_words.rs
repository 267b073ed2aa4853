//! Every status word path of the virtual token (docs/protocol.md sections 3 and 5), with
//! commands built by the tests' own helpers.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use safeid_sim::TokenSpec;

#[test]
fn framing_class_and_instruction() {
    let (mut t, _) = p1();
    assert_eq!(sw(&t.process(&[])), 0x6700);
    assert_eq!(sw(&t.process(&[0x80, 0x41, 0x00])), 0x6700);
    assert_eq!(
        sw(&t.process(&[0x90, 0x41, 0x00, 0x00, 0x02, 0x02, 0x11])),
        0x6E00
    );
    assert_eq!(sw(&t.process(&[0xFF, 0x00, 0x00, 0x00])), 0x6E00);
    // Known instruction under the wrong class.
    assert_eq!(
        sw(&t.process(&[0x84, 0x41, 0x00, 0x00, 0x02, 0x02, 0x11])),
        0x6E00
    );
    assert_eq!(sw(&t.process(&[0x80, 0xC5, 0x01, 0x00, 0x00])), 0x6E00);
    assert_eq!(
        sw(&t.process(&[0x00, 0x41, 0x00, 0x00, 0x02, 0x02, 0x11])),
        0x6E00
    );
    assert_eq!(sw(&t.process(&[0x80, 0x99, 0x00, 0x00])), 0x6D00);
    assert_eq!(sw(&t.process(&[0x84, 0x00, 0x00, 0x00])), 0x6D00);
    // Lc disagrees with the body; extended length is not supported.
    assert_eq!(
        sw(&t.process(&[0x80, 0x41, 0x00, 0x00, 0x03, 0x02, 0x11])),
        0x6700
    );
    assert_eq!(
        sw(&t.process(&[0x80, 0x41, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x11])),
        0x6700
    );
}

#[test]
fn get_info_honours_the_tag_list() {
    let (mut t, _) = p1();
    let r = t.process(&GET_INFO);
    assert_eq!(
        upper_hex(&r),
        "9515020D3836353936313230303030303111046553F1009000"
    );
    // With Le.
    let mut with_le = GET_INFO.to_vec();
    with_le.push(0x00);
    assert_eq!(t.process(&with_le), r);
    let r = t.process(&[0x80, 0x41, 0x00, 0x00, 0x01, 0x02]);
    assert_eq!(
        upper_hex(&r),
        "950F020D38363539363132303030303031".to_owned() + "9000"
    );
    let r = t.process(&[0x80, 0x41, 0x00, 0x00, 0x01, 0x11]);
    assert_eq!(upper_hex(&r), "950611046553F1009000");
    let r = t.process(&[0x80, 0x41, 0x00, 0x00, 0x02, 0x11, 0x02]);
    assert_eq!(&data(&r)[2..4], &[0x11, 0x04]);
    assert_eq!(
        sw(&t.process(&[0x80, 0x41, 0x00, 0x00, 0x02, 0x02, 0x12])),
        0x6A80
    );
    assert_eq!(
        sw(&t.process(&[0x80, 0x41, 0x00, 0x00, 0x02, 0x02, 0x02])),
        0x6A80
    );
    assert_eq!(sw(&t.process(&[0x80, 0x41, 0x00, 0x00])), 0x6700);
    assert_eq!(sw(&t.process(&[0x80, 0x41, 0x00, 0x00, 0x00])), 0x6700);
    assert_eq!(
        sw(&t.process(&[0x80, 0x41, 0x01, 0x00, 0x02, 0x02, 0x11])),
        0x6A86
    );
}

#[test]
fn get_challenge_forms() {
    let (mut t, _) = p1();
    for apdu in [
        &[0x80, 0x4B, 0x08, 0x00, 0x00][..],
        &[0x80, 0x4B, 0x08, 0x00],
        &[0x80, 0x4B, 0x08, 0x00, 0x01, 0x00],
        &[0x80, 0x4B, 0x08, 0x00, 0x08],
    ] {
        let r = t.process(apdu);
        assert_eq!(sw(&r), 0x9000, "{apdu:02X?}");
        assert_eq!(data(&r).len(), 8);
        assert!(t.state().has_challenge);
    }
    assert_eq!(
        sw(&t.process(&[0x80, 0x4B, 0x08, 0x00, 0x01, 0x01])),
        0x6A80
    );
    assert_eq!(
        sw(&t.process(&[0x80, 0x4B, 0x08, 0x00, 0x02, 0x00, 0x00])),
        0x6700
    );
    assert_eq!(sw(&t.process(&[0x80, 0x4B, 0x08, 0x00, 0x04])), 0x6700);
    assert_eq!(sw(&t.process(&[0x80, 0x4B, 0x00, 0x00, 0x00])), 0x6A86);
    // Random: two challenges in a row differ (probability of a false failure 2^-64).
    let a = t.process(&GET_CHALLENGE);
    let b = t.process(&GET_CHALLENGE);
    assert_ne!(a, b);
}

#[test]
fn authenticate_paths() {
    let host = Host::token2();
    let (mut t, _) = p1();
    // No challenge yet.
    assert_eq!(sw(&t.process(&host.auth_apdu(&[0; 8]))), 0x6A80);
    let c = data(&t.process(&GET_CHALLENGE)).to_vec();
    // Consistent framing but 8 bytes instead of 16; no body at all.
    let mut short = vec![0x80, 0xCE, 0x00, 0x00, 0x08];
    short.extend_from_slice(&[0; 8]);
    assert_eq!(sw(&t.process(&short)), 0x6A80);
    assert_eq!(sw(&t.process(&[0x80, 0xCE, 0x00, 0x00])), 0x6A80);
    // Header says 16, body holds 15.
    let good = host.auth_apdu(&c);
    assert_eq!(sw(&t.process(&good[..good.len() - 1])), 0x6700);
    let mut bad_p = good.clone();
    bad_p[2] = 1;
    assert_eq!(sw(&t.process(&bad_p)), 0x6A86);
    // The challenge survived the framing errors.
    assert_eq!(sw(&t.process(&good)), 0x9000);
    assert!(t.state().authenticated);
    // Consumed: replaying needs a new challenge.
    assert_eq!(sw(&t.process(&good)), 0x6A80);
    // Wrong cryptogram: 6983, challenge voided, counted.
    let c = data(&t.process(&GET_CHALLENGE)).to_vec();
    assert!(
        !t.state().authenticated,
        "new challenge clears authentication"
    );
    let mut wrong = host.auth_apdu(&c);
    wrong[10] ^= 0x01;
    assert_eq!(sw(&t.process(&wrong)), 0x6983);
    assert_eq!(sw(&t.process(&host.auth_apdu(&c))), 0x6A80);
    assert_eq!(t.state().failed_auths, 1);
    assert!(!t.state().locked);
    // With Le appended, still fine.
    let c = data(&t.process(&GET_CHALLENGE)).to_vec();
    let mut with_le = host.auth_apdu(&c);
    with_le.push(0x00);
    assert_eq!(sw(&t.process(&with_le)), 0x9000);
}

#[test]
fn write_seed_paths() {
    let host = Host::token2();
    let (mut t, _) = p1();
    let seed = b"12345678901234567890";
    assert_eq!(sw(&t.process(&host.seed_apdu(seed))), 0x6983, "needs auth");
    assert_eq!(host.authenticate(&mut t), 0x9000);
    let good = host.seed_apdu(seed);
    // Every single MAC bit matters.
    for bit in 0..32 {
        let mut bad = good.clone();
        let i = good.len() - 4 + bit / 8;
        bad[i] ^= 1 << (bit % 8);
        assert_eq!(sw(&t.process(&bad)), 0x6983, "MAC bit {bit}");
    }
    // A flipped ciphertext bit breaks the MAC too.
    let mut bad = good.clone();
    bad[7] ^= 0x20;
    assert_eq!(sw(&t.process(&bad)), 0x6983);
    let mut bad_p = good.clone();
    bad_p[2] = 0x02;
    assert_eq!(sw(&t.process(&bad_p)), 0x6A86);
    assert_eq!(sw(&t.process(&good[..good.len() - 1])), 0x6700);
    assert_eq!(
        sw(&t.process(&[0x84, 0xC5, 0x01, 0x00, 0x04, 1, 2, 3, 4])),
        0x6700
    );
    assert_eq!(sw(&t.process(&[0x84, 0xC5, 0x01, 0x00])), 0x6700);
    assert_eq!(t.state().seed_hex, None);
    assert_eq!(sw(&t.process(&good)), 0x9000);
    assert_eq!(t.state().seed_hex.unwrap(), upper_hex(seed));
    // Valid MACs over bad framing: 6A80.
    let unaligned = host.secure(0xC5, 0x01, 0x00, &[0x11; 17]);
    assert_eq!(sw(&t.process(&unaligned)), 0x6A80);
    let too_long = host.secure(0xC5, 0x01, 0x00, &host.ecb(&Host::seed_plain(&[7; 64])));
    assert_eq!(sw(&t.process(&too_long)), 0x6A80, "64-byte seed");
    let no_marker = host.secure(0xC5, 0x01, 0x00, &host.ecb(&[0x31; 32]));
    assert_eq!(sw(&t.process(&no_marker)), 0x6A80, "unpadded 32-byte seed");
    let mut zero_tail = [0x31; 32];
    zero_tail[31] = 0;
    let zero_tail = host.secure(0xC5, 0x01, 0x00, &host.ecb(&zero_tail));
    assert_eq!(sw(&t.process(&zero_tail)), 0x6A80, "zeros without 80");
    let mut only_pad = [0u8; 16];
    only_pad[0] = 0x80;
    let empty = host.secure(0xC5, 0x01, 0x00, &host.ecb(&only_pad));
    assert_eq!(sw(&t.process(&empty)), 0x6A80, "empty seed");
    let all_zero = host.secure(0xC5, 0x01, 0x00, &host.ecb(&[0; 16]));
    assert_eq!(sw(&t.process(&all_zero)), 0x6A80);
    // None of that changed the seed.
    assert_eq!(t.state().seed_hex.unwrap(), upper_hex(seed));
    assert_eq!(t.state().seed_writes, 1);
}

#[test]
fn write_seed_lengths_and_exact_storage() {
    let host = Host::token2();
    let (mut t, _) = p1();
    assert_eq!(host.authenticate(&mut t), 0x9000);
    for len in [1usize, 15, 16, 19, 20, 31, 32, 47, 48, 63] {
        let seed: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) | 1).collect();
        let apdu = host.seed_apdu(&seed);
        assert_eq!(sw(&t.process(&apdu)), 0x9000, "len {len}");
        let mut want = seed.clone();
        want.resize(len.max(20), 0);
        assert_eq!(t.state().seed_hex.unwrap(), upper_hex(&want));
        // Lc values from docs/protocol.md section 3.
        match len {
            20 => assert_eq!(apdu[4], 0x24),
            32 => assert_eq!(apdu[4], 0x34),
            63 => assert_eq!(apdu[4], 0x44),
            _ => {}
        }
    }
    // Without the host's zero-extension the token keeps exactly what remains.
    let mut plain = [0u8; 16];
    plain[0] = 0x95;
    plain[1] = 0x80;
    assert_eq!(
        sw(&t.process(&host.secure(0xC5, 1, 0, &host.ecb(&plain)))),
        0x9000
    );
    assert_eq!(t.state().seed_hex.unwrap(), "95");
    // A seed ending in 80 00: the last 80 is the padding marker.
    let mut plain = [0u8; 16];
    plain[..3].copy_from_slice(&[0x80, 0x00, 0x80]);
    assert_eq!(
        sw(&t.process(&host.secure(0xC5, 1, 0, &host.ecb(&plain)))),
        0x9000
    );
    assert_eq!(t.state().seed_hex.unwrap(), "8000");
}

#[test]
fn write_config_paths() {
    let host = Host::token2();
    let (mut t, _) = p1();
    let good = host.config_apdu(2, 1_800_000_000, 2, 0x3C);
    assert_eq!(sw(&t.process(&good)), 0x6983, "needs auth");
    assert_eq!(host.authenticate(&mut t), 0x9000);
    for bit in 0..32 {
        let mut bad = good.clone();
        bad[good.len() - 4 + bit / 8] ^= 1 << (bit % 8);
        assert_eq!(sw(&t.process(&bad)), 0x6983, "MAC bit {bit}");
    }
    // Valid MAC, invalid values or layout.
    for (timeout, hmac, step) in [
        (4, 1, 0x1E),
        (0, 0, 0x1E),
        (0, 3, 0x1E),
        (0, 1, 0x1F),
        (0, 1, 0),
    ] {
        let apdu = host.config_apdu(timeout, 5, hmac, step);
        assert_eq!(sw(&t.process(&apdu)), 0x6A80, "{timeout} {hmac} {step}");
    }
    let mut tlv = Host::config_tlv(0, 5, 1, 0x1E);
    tlv[11] = 0x87;
    assert_eq!(sw(&t.process(&host.secure(0xD4, 0, 0, &tlv))), 0x6A80);
    // Fixed length 0x17.
    let long = host.secure(
        0xD4,
        0,
        0,
        &[Host::config_tlv(0, 5, 1, 0x1E), vec![0]].concat(),
    );
    assert_eq!(sw(&t.process(&long)), 0x6700);
    assert_eq!(sw(&t.process(&good[..good.len() - 1])), 0x6700);
    assert_eq!(sw(&t.process(&[0x84, 0xD4, 0x00, 0x00])), 0x6700);
    let mut bad_p = good.clone();
    bad_p[3] = 1;
    assert_eq!(sw(&t.process(&bad_p)), 0x6A86);
    assert_eq!(t.state().config_writes, 0);
    assert_eq!(sw(&t.process(&good)), 0x9000);
    let s = t.state();
    assert_eq!(
        (s.config.display_timeout_s, s.config.step_s, s.clock),
        (60, 60, 1_800_000_000)
    );
    // All four display timeouts.
    for (code, secs) in [(0, 15), (1, 30), (2, 60), (3, 120)] {
        assert_eq!(sw(&t.process(&host.config_apdu(code, 9, 1, 0x1E))), 0x9000);
        assert_eq!(t.state().config.display_timeout_s, secs);
    }
    assert_eq!(t.state().config_writes, 5);
    assert_eq!(t.state().clock_set_count, 5);
}

#[test]
fn factory_state() {
    let (t, _) = p2();
    let s = t.state();
    assert_eq!(s.seed_hex, None);
    assert_eq!(
        serde_json::to_value(s.config).unwrap(),
        serde_json::json!({"display_timeout_s": 30, "hmac": "SHA1", "step_s": 30})
    );
    assert!(s.restricted && !s.authenticated && !s.locked && !s.has_challenge);
    assert_eq!((s.clock, s.clock_set_count, s.failed_auths), (T0, 0, 0));
}

#[test]
fn select_fallback() {
    let mut spec = TokenSpec::token2("8659612000001");
    spec.require_select = true;
    let (mut t, _) = token_with(spec);
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x06, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x23,
    ];
    assert_eq!(sw(&t.process(&GET_INFO)), 0x6D00);
    assert_eq!(sw(&t.process(&GET_CHALLENGE)), 0x6D00);
    let mut other = select;
    other[10] = 0x24;
    assert_eq!(sw(&t.process(&other)), 0x6A82);
    let mut bad_p = select;
    bad_p[2] = 0x00;
    assert_eq!(sw(&t.process(&bad_p)), 0x6A86);
    assert_eq!(sw(&t.process(&select[..4])), 0x6700);
    assert_eq!(sw(&t.process(&select)), 0x9000);
    assert_eq!(sw(&t.process(&GET_INFO)), 0x9000);
    t.reset();
    assert_eq!(sw(&t.process(&GET_INFO)), 0x6D00, "selection lost on reset");
    // A token that needs no SELECT accepts it anyway (docs/protocol.md section 1).
    let (mut t, _) = p1();
    let mut with_le = select.to_vec();
    with_le.push(0);
    assert_eq!(sw(&t.process(&with_le)), 0x9000);
    assert_eq!(sw(&t.process(&GET_INFO)), 0x9000);
}

#[test]
fn apdu_log_records_instruction_and_status() {
    let (mut t, _) = p1();
    t.process(&GET_INFO);
    t.process(&[0x80, 0x99, 0, 0]);
    t.process(&[1]);
    let log = t.state().apdu_log;
    let got: Vec<_> = log.iter().map(|e| (e.cla, e.ins, e.sw)).collect();
    assert_eq!(
        got,
        [
            (Some(0x80), Some(0x41), 0x9000),
            (Some(0x80), Some(0x99), 0x6D00),
            (Some(1), None, 0x6700)
        ]
    );
    assert_eq!(t.state().apdu_count, 3);
}
