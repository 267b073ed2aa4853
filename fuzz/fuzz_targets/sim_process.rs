//! Any sequence of APDUs and host events into a virtual token never panics, every reply
//! carries a status word, and the token's state stays consistent.
//!
//! Besides raw APDUs, the input can ask for a correct authentication and for secure
//! commands with a valid MAC (and optionally encrypted bodies), built with the token's
//! own public SM4 helpers, so the fuzzer reaches the seed and config parsers.
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use safeid_sim::crypto::TokenCipher;
use safeid_sim::{ManualClock, TOKEN2_KEY, TokenSpec, VirtualToken};

#[derive(Arbitrary, Debug)]
enum Op {
    Apdu(Vec<u8>),
    Secure {
        config: bool,
        p1: u8,
        p2: u8,
        encrypt: bool,
        body: Vec<u8>,
    },
    Authenticate {
        right_key: bool,
    },
    NextChallenge([u8; 8]),
    Advance(u32),
    SetClock(u64),
    PowerOff,
    Reset,
    DisplayAt(u64),
}

#[derive(Arbitrary, Debug)]
struct Input {
    start: u64,
    offset: i64,
    restricted: bool,
    lockout: Option<u8>,
    require_select: bool,
    ops: Vec<Op>,
}

fn check(reply: &[u8]) {
    assert!(reply.len() >= 2, "reply without a status word");
    let sw = u16::from_be_bytes([reply[reply.len() - 2], reply[reply.len() - 1]]);
    if sw != 0x9000 {
        assert_eq!(reply.len(), 2, "an error with data");
    }
}

fuzz_target!(|input: Input| {
    let clock = ManualClock::new(input.start);
    let mut spec = TokenSpec::token2("8659612000001");
    spec.restricted = input.restricted;
    spec.clock_offset = input.offset;
    spec.lockout_after = input.lockout.map(u32::from);
    spec.require_select = input.require_select;
    let mut token = VirtualToken::new(spec, Arc::new(clock.clone()));
    let cipher = TokenCipher::new(&TOKEN2_KEY);
    let wrong = TokenCipher::new(&[0x5A; 16]);
    for op in input.ops.into_iter().take(64) {
        match op {
            Op::Apdu(apdu) => check(&token.process(&apdu)),
            Op::Secure {
                config,
                p1,
                p2,
                encrypt,
                mut body,
            } => {
                body.truncate(200);
                if encrypt && body.len() % 16 == 0 {
                    let _ = cipher.encrypt_ecb(&mut body);
                }
                let ins = if config { 0xD4 } else { 0xC5 };
                let Some(mac) = cipher.command_mac(ins, p1, p2, &body) else {
                    continue;
                };
                let mut apdu = vec![0x84, ins, p1, p2, (body.len() + 4) as u8];
                apdu.extend_from_slice(&body);
                apdu.extend_from_slice(&mac);
                check(&token.process(&apdu));
            }
            Op::Authenticate { right_key } => {
                let r = token.process(&[0x80, 0x4B, 0x08, 0x00, 0x00]);
                check(&r);
                if r.len() == 10 {
                    let mut block = [0u8; 16];
                    block[..8].copy_from_slice(&r[..8]);
                    let c = if right_key { &cipher } else { &wrong };
                    let _ = c.encrypt_ecb(&mut block);
                    let mut apdu = vec![0x80, 0xCE, 0x00, 0x00, 0x10];
                    apdu.extend_from_slice(&block);
                    check(&token.process(&apdu));
                }
            }
            Op::NextChallenge(c) => token.set_next_challenge(c),
            Op::Advance(d) => clock.advance(u64::from(d)),
            Op::SetClock(t) => clock.set(t),
            Op::PowerOff => token.power_off(),
            Op::Reset => token.reset(),
            Op::DisplayAt(t) => {
                if let Some(code) = token.display_code_at(t) {
                    assert_eq!(code.len(), 6);
                }
            }
        }
        let state = token.state();
        assert!(!(state.locked && state.authenticated));
        assert_eq!(state.seed_hex.is_some(), token.display_code().is_some());
        if let Some(hex) = &state.seed_hex {
            assert!((2..=126).contains(&hex.len()));
        }
        let _ = state.to_json();
    }
});
