//! Property tests: any bytes are safe, the state stays consistent, and a stateful model
//! of docs/protocol.md agrees with the token under random operation sequences.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use safeid_sim::{LOG_CAPACITY, TokenSpec, VirtualToken};

fn check_invariants(t: &VirtualToken) {
    let s = t.state();
    if let Some(hex) = &s.seed_hex {
        assert!(
            (2..=126).contains(&hex.len()) && hex.len() % 2 == 0,
            "{hex}"
        );
    }
    assert!([15, 30, 60, 120].contains(&s.config.display_timeout_s));
    assert!([30, 60].contains(&s.config.step_s));
    assert!(!(s.locked && s.authenticated));
    assert!(s.apdu_log.len() <= LOG_CAPACITY);
    let ok = |ins| {
        s.apdu_log
            .iter()
            .filter(|e| e.ins == Some(ins) && e.sw == 0x9000)
            .count() as u32
    };
    assert_eq!(s.seed_writes, ok(0xC5));
    assert_eq!(s.config_writes, ok(0xD4));
    let code = t.display_code();
    assert_eq!(code.is_some(), s.seed_hex.is_some());
    assert!(code.is_none_or(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
}

fn apdu() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        // Plausible headers with random bodies reach deeper.
        (
            prop::sample::select(vec![0x00u8, 0x80, 0x84]),
            prop::sample::select(vec![0xA4u8, 0x41, 0x4B, 0xCE, 0xC5, 0xD4]),
            any::<u8>(),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..80)
        )
            .prop_map(|(cla, ins, p1, p2, body)| {
                let mut a = vec![cla, ins, p1, p2];
                if !body.is_empty() {
                    a.push(body.len() as u8);
                    a.extend_from_slice(&body);
                }
                a
            }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_apdus_never_panic(apdus in proptest::collection::vec(apdu(), 0..40), restricted: bool) {
        let mut spec = TokenSpec::token2("8659612000001");
        spec.restricted = restricted;
        spec.lockout_after = Some(3);
        let (mut t, clock) = token_with(spec);
        for a in apdus {
            let r = t.process(&a);
            prop_assert!(r.len() >= 2);
            if sw(&r) != 0x9000 {
                prop_assert_eq!(r.len(), 2, "errors carry no data");
            }
            clock.advance(1);
            check_invariants(&t);
        }
    }

    #[test]
    fn any_seed_round_trips(seed in proptest::collection::vec(any::<u8>(), 1..=63)) {
        let host = Host::token2();
        let (mut t, _) = p1();
        prop_assert_eq!(host.authenticate(&mut t), 0x9000);
        prop_assert_eq!(sw(&t.process(&host.seed_apdu(&seed))), 0x9000);
        let mut want = seed.clone();
        if want.len() < 20 { want.resize(20, 0); }
        prop_assert_eq!(t.state().seed_hex.unwrap(), upper_hex(&want));
    }

    #[test]
    fn any_single_bit_flip_of_a_secure_command_is_refused(
        seed in proptest::collection::vec(any::<u8>(), 1..=63),
        bit in any::<prop::sample::Index>(),
        config: bool,
    ) {
        let host = Host::token2();
        let (mut t, _) = p1();
        prop_assert_eq!(host.authenticate(&mut t), 0x9000);
        let good = if config { host.config_apdu(1, 1234, 1, 0x1E) } else { host.seed_apdu(&seed) };
        let mut bad = good.clone();
        let bit = bit.index(good.len() * 8);
        bad[bit / 8] ^= 1 << (bit % 8);
        prop_assert_ne!(sw(&t.process(&bad)), 0x9000);
        let s = t.state();
        prop_assert_eq!((s.seed_hex, s.config_writes), (None, 0));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Auth,
    WrongAuth,
    Challenge,
    Seed(Vec<u8>),
    Config {
        timeout: u8,
        time: u32,
        sha256: bool,
        step60: bool,
    },
    Reset,
    PowerOff,
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Auth),
        Just(Op::WrongAuth),
        Just(Op::Challenge),
        proptest::collection::vec(any::<u8>(), 1..=63).prop_map(Op::Seed),
        (0u8..4, any::<u32>(), any::<bool>(), any::<bool>()).prop_map(
            |(timeout, time, sha256, step60)| Op::Config {
                timeout,
                time,
                sha256,
                step60
            }
        ),
        Just(Op::Reset),
        Just(Op::PowerOff),
        any::<u16>().prop_map(Op::Advance),
    ]
}

proptest! {
    /// A model written from docs/protocol.md predicts every status word and the stored seed.
    #[test]
    fn token_follows_the_model(ops in proptest::collection::vec(op(), 1..40), restricted: bool, lockout in proptest::option::of(1u32..4)) {
        let host = Host::token2();
        let wrong = Host::new([0x42; 16]);
        let mut spec = TokenSpec::token2("8659612000001");
        spec.restricted = restricted;
        spec.lockout_after = lockout;
        let (mut t, clock) = token_with(spec);
        let (mut authed, mut fails, mut seed, mut clock_set): (bool, u32, Option<Vec<u8>>, Option<u64>) = (false, 0, None, None);
        let locked = |fails: u32| lockout.is_some_and(|n| fails >= n);
        for op in ops {
            match op {
                Op::Auth => {
                    let want = if locked(fails) { 0x6983 } else { 0x9000 };
                    prop_assert_eq!(host.authenticate(&mut t), want);
                    authed = want == 0x9000;
                }
                Op::WrongAuth => {
                    prop_assert_eq!(wrong.authenticate(&mut t), 0x6983);
                    if !locked(fails) { fails += 1; }
                    authed = false;
                }
                Op::Challenge => { t.process(&GET_CHALLENGE); authed = false; }
                Op::Seed(s) => {
                    let want = if authed { 0x9000 } else { 0x6983 };
                    prop_assert_eq!(sw(&t.process(&host.seed_apdu(&s))), want);
                    if authed {
                        let mut z = s.clone();
                        if z.len() < 20 { z.resize(20, 0); }
                        seed = Some(z);
                    }
                }
                Op::Config { timeout, time, sha256, step60 } => {
                    let apdu = host.config_apdu(timeout, time, if sha256 { 2 } else { 1 }, if step60 { 0x3C } else { 0x1E });
                    let want = if authed { 0x9000 } else { 0x6983 };
                    prop_assert_eq!(sw(&t.process(&apdu)), want);
                    if authed {
                        clock_set = Some(u64::from(time));
                        if restricted { seed = None; }
                    }
                }
                Op::Reset => { t.reset(); authed = false; }
                Op::PowerOff => { t.power_off(); authed = false; }
                Op::Advance(d) => {
                    clock.advance(u64::from(d));
                    if let Some(c) = clock_set.as_mut() { *c += u64::from(d); }
                }
            }
            let s = t.state();
            prop_assert_eq!(s.authenticated, authed);
            prop_assert_eq!(s.failed_auths, fails);
            prop_assert_eq!(s.locked, locked(fails));
            prop_assert_eq!(s.seed_hex, seed.as_ref().map(|z| upper_hex(z)));
            if let Some(c) = clock_set { prop_assert_eq!(s.clock, c); }
            check_invariants(&t);
        }
    }
}
