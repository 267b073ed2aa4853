//! Burns against the virtual token: every model kind, every refusal path, lockout, and the
//! card dropped at every APDU. The virtual token decodes commands from docs/protocol.md itself
//! (it shares no code with safeid-proto) and its display code is what proves a burn.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use safeid::otpauth::Credential;
use safeid::proto::{AccessKey, DisplayTimeout, HmacAlgorithm, ModelTable, TimeStep};
use safeid::secret::SecretBytes;
use safeid::transport::Transport;
use safeid::{
    Acceptance, BurnPlan, ClockSettings, Conversion, Outcome, PlanError, PlanOptions, Session,
    SessionError, Stage,
};
use safeid_sim::{Faults, ManualClock, SimTransport, TokenSpec, VirtualToken};

/// 2027-01-15T08:00:05Z: after the build date, inside a 30 s step.
const T0: u64 = 1_800_000_005;

const INS_INFO: u8 = 0x41;
const INS_CHALLENGE: u8 = 0x4B;
const INS_AUTH: u8 = 0xCE;
const INS_CONFIG: u8 = 0xD4;
const INS_SEED: u8 = 0xC5;

struct Rig {
    clock: ManualClock,
    token: Arc<Mutex<VirtualToken>>,
    transport: SimTransport,
}

fn rig(spec: TokenSpec, faults: Faults) -> Rig {
    let clock = ManualClock::new(T0);
    let token = Arc::new(Mutex::new(VirtualToken::new(spec, Arc::new(clock.clone()))));
    let transport = SimTransport::with_faults(Arc::clone(&token), faults);
    Rig {
        clock,
        token,
        transport,
    }
}

fn session<'a>(transport: &'a mut dyn Transport, clock: &ManualClock) -> Session<'a> {
    Session::new(transport).with_clock(Arc::new(clock.clone()))
}

/// Options for a raw seed: SHA-1, 30 s (what the old positional arguments said).
fn sha1_30() -> PlanOptions {
    PlanOptions {
        algorithm: Some(HmacAlgorithm::Sha1),
        period: Some(30),
        ..PlanOptions::default()
    }
}

fn uri_plan(uri: &str) -> BurnPlan {
    BurnPlan::from_credential(&Credential::parse(uri).unwrap(), &PlanOptions::default()).unwrap()
}

const URI: &str = "otpauth://totp/Example:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example";
/// The bytes of URI's secret: ASCII "12345678901234567890" (RFC 6238's seed).
const URI_SEED_HEX: &str = "3132333435363738393031323334353637383930";

fn ins_log(token: &Arc<Mutex<VirtualToken>>) -> Vec<u8> {
    token
        .lock()
        .unwrap()
        .state()
        .apdu_log
        .iter()
        .filter_map(|e| e.ins)
        .collect()
}

#[test]
fn burn_every_builtin_model_and_check_the_display() {
    for model in ModelTable::builtin().iter() {
        let serial = format!("{}000042", model.prefix);
        let mut r = rig(TokenSpec::token2(serial.clone()), Faults::default());
        let report = session(&mut r.transport, &r.clock)
            .burn(&uri_plan(URI))
            .unwrap();
        let state = r.token.lock().unwrap().state();
        assert_eq!(state.seed_hex.as_deref(), Some(URI_SEED_HEX), "{serial}");
        assert_eq!(state.clock, T0);
        assert_eq!(state.config.step_s, 30);
        assert_eq!(state.config_writes, 1);
        assert_eq!(state.seed_writes, 1);
        assert_eq!(report.token.status.restricted, model.restricted);
        assert_eq!(report.apdus, 5);
        // Config strictly before seed, one authenticate.
        assert_eq!(
            ins_log(&r.token),
            vec![INS_INFO, INS_CHALLENGE, INS_AUTH, INS_CONFIG, INS_SEED]
        );
        // RFC 6238 Appendix B: this seed at T=1111111109 gives 07081804 (8 digits), so
        // 081804 in 6 digits. Move both clocks there and compare the display.
        let display = r.token.lock().unwrap().display_code_at(T0).unwrap();
        assert_eq!(display, report.expected.current);
        r.clock.set(T0 + 30);
        assert_eq!(
            r.token.lock().unwrap().display_code().unwrap(),
            report.expected.next
        );
    }
}

#[test]
fn display_matches_an_rfc_6238_value() {
    let mut r = rig(TokenSpec::token2("8659612000001"), Faults::default());
    session(&mut r.transport, &r.clock)
        .burn(&uri_plan(URI))
        .unwrap();
    // RFC 6238 Appendix B, SHA-1, T = 1111111109 -> 07081804; 6 digits: 081804.
    // The token's clock was set to T0; advance it by the difference.
    let token = r.token.lock().unwrap();
    assert_eq!(
        token.display_code_at(1_111_111_109).as_deref(),
        Some("081804")
    );
}

#[test]
fn unknown_model_needs_a_key_and_user_key_works() {
    let spec = TokenSpec::new("ZZ99000001", [0x42; 16]);
    let mut r = rig(spec, Faults::default());
    let err = session(&mut r.transport, &r.clock)
        .burn(&uri_plan(URI))
        .unwrap_err();
    assert!(matches!(err, SessionError::UnknownModel { .. }), "{err:?}");
    assert_eq!(ins_log(&r.token), vec![INS_INFO], "only get info was sent");

    let key = AccessKey::from_bytes([0x42; 16]);
    let report = session(&mut r.transport, &r.clock)
        .with_key(key)
        .burn(&uri_plan(URI))
        .unwrap();
    assert!(
        report.token.status.restricted,
        "unknown models count as restricted"
    );
    assert_eq!(report.token.key_source, safeid::KeySource::User);
    assert_eq!(
        r.token.lock().unwrap().state().seed_hex.as_deref(),
        Some(URI_SEED_HEX)
    );
}

#[test]
fn model_file_adds_a_model_and_its_key() {
    let table_text = r#"
        [[model]]
        prefix = "ZZ99"
        name = "Test Diamond"
        manufacturer = "Deepnet"
        restricted = false
        key = "42424242424242424242424242424242"
    "#;
    let mut table = ModelTable::builtin();
    table.extend(ModelTable::from_toml_str(table_text).unwrap());
    let mut r = rig(TokenSpec::new("ZZ99000001", [0x42; 16]), Faults::default());
    let report = session(&mut r.transport, &r.clock)
        .with_models(table)
        .burn(&uri_plan(URI))
        .unwrap();
    assert_eq!(report.token.status.model.as_deref(), Some("Test Diamond"));
    assert!(!report.token.status.restricted);
    assert_eq!(report.token.key_source, safeid::KeySource::Model);
}

#[test]
fn wrong_key_is_tried_once_and_nothing_is_written() {
    let mut r = rig(
        TokenSpec::new("8659622000001", [0x01; 16]),
        Faults::default(),
    );
    let err = session(&mut r.transport, &r.clock)
        .burn(&uri_plan(URI))
        .unwrap_err();
    assert!(matches!(err, SessionError::KeyRefused), "{err:?}");
    let state = r.token.lock().unwrap().state();
    assert_eq!(state.failed_auths, 1);
    assert_eq!(state.seed_hex, None);
    assert_eq!(state.config_writes, 0);
    assert_eq!(ins_log(&r.token), vec![INS_INFO, INS_CHALLENGE, INS_AUTH]);
}

#[test]
fn locked_token_refuses_even_the_right_key() {
    let mut spec = TokenSpec::new("8659622000001", [0x01; 16]);
    spec.lockout_after = Some(1);
    let mut r = rig(spec, Faults::default());
    // The token's real key is 01..; the Token2 key from the table is wrong for it.
    let err = session(&mut r.transport, &r.clock)
        .burn(&uri_plan(URI))
        .unwrap_err();
    assert!(matches!(err, SessionError::KeyRefused));
    assert!(r.token.lock().unwrap().state().locked);
    let err = session(&mut r.transport, &r.clock)
        .with_key(AccessKey::from_bytes([0x01; 16]))
        .burn(&uri_plan(URI))
        .unwrap_err();
    assert!(matches!(err, SessionError::KeyRefused));
    assert!(r.token.lock().unwrap().state().locked);
    // One authenticate per session, never a retry.
    let auths = ins_log(&r.token).iter().filter(|&&i| i == INS_AUTH).count();
    assert_eq!(auths, 2);
}

#[test]
fn plans_the_token_cannot_honour_are_refused_naming_the_parameter() {
    let base = "otpauth://totp/X:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let cases: &[(&str, PlanError)] = &[
        (
            "otpauth://hotp/X:a?secret=GEZDGNBVGY3TQOJQ&counter=1",
            PlanError::Hotp,
        ),
        (
            &format!("{base}&algorithm=SHA512"),
            PlanError::Algorithm("SHA512".into()),
        ),
        (&format!("{base}&digits=8"), PlanError::Digits(8)),
        (&format!("{base}&period=45"), PlanError::Period(45)),
    ];
    for (uri, want) in cases {
        let cred = Credential::parse(uri).unwrap();
        let err = BurnPlan::from_credential(&cred, &PlanOptions::default()).unwrap_err();
        assert_eq!(&err, want, "{uri}");
        let words = err.to_string();
        let param = words.split(':').next().unwrap();
        assert!(
            ["type", "algorithm", "digits", "period"].contains(&param),
            "{words}"
        );
    }
    let long = SecretBytes::from(vec![7u8; 70]);
    let err = BurnPlan::from_seed(&long, &sha1_30()).unwrap_err();
    assert_eq!(err, PlanError::SeedTooLong(70));
    let exactly_block = SecretBytes::from(vec![7u8; 64]);
    let err = BurnPlan::from_seed(&exactly_block, &sha1_30()).unwrap_err();
    assert_eq!(err, PlanError::SeedOneBlock);
}

#[test]
fn accepted_conversions_are_listed_and_keep_codes() {
    // 8 digits accepted as 6: the token's code is the last 6 digits of the service's.
    let cred =
        Credential::parse("otpauth://totp/X:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8")
            .unwrap();
    let mut opts = PlanOptions::default();
    opts.accept
        .insert(Acceptance::Conversion(Conversion::SixDigits));
    let plan = BurnPlan::from_credential(&cred, &opts).unwrap();
    assert_eq!(plan.conversions(), &[Conversion::SixDigits]);
    // RFC 6238: SHA-1 at T=59 -> 94287082 (8 digits); the token shows 287082.
    assert_eq!(plan.totp().code_at(59).to_string(), "287082");

    // A 70-byte seed hashed (RFC 2104): HMAC with the long key and with SHA-1(key) agree.
    let long = SecretBytes::from((0u8..70).collect::<Vec<_>>());
    let mut opts = sha1_30();
    opts.accept
        .insert(Acceptance::Conversion(Conversion::HashLongSeed));
    let plan = BurnPlan::from_seed(&long, &opts).unwrap();
    assert_eq!(plan.seed().len(), 20);
    let direct =
        safeid::totp::Totp::new(long.expose(), safeid::totp::Algorithm::Sha1, 6, 30).unwrap();
    for t in [0u64, 59, T0, 4_000_000_000] {
        assert_eq!(plan.totp().code_at(t), direct.code_at(t));
    }

    // Overrides need acceptance.
    let opts = PlanOptions {
        period: Some(60),
        ..PlanOptions::default()
    };
    let cred = Credential::parse(URI).unwrap();
    assert_eq!(
        BurnPlan::from_credential(&cred, &opts).unwrap_err(),
        PlanError::OverrideNotAccepted("period")
    );
}

#[test]
fn sync_clock_alone_on_a_restricted_model_needs_confirmation() {
    let settings = ClockSettings {
        hmac: HmacAlgorithm::Sha1,
        step: TimeStep::S30,
        display_timeout: DisplayTimeout::S30,
    };
    let mut spec = TokenSpec::token2("8659622000001");
    spec.clock_offset = -500;
    let mut r = rig(spec, Faults::default());
    session(&mut r.transport, &r.clock)
        .burn(&uri_plan(URI))
        .unwrap();
    r.clock.advance(10);
    let err = session(&mut r.transport, &r.clock)
        .sync_clock(&settings, false)
        .unwrap_err();
    assert!(matches!(err, SessionError::WouldEraseSeed { .. }), "{err}");
    assert!(r.token.lock().unwrap().state().seed_hex.is_some());

    session(&mut r.transport, &r.clock)
        .sync_clock(&settings, true)
        .unwrap();
    let state = r.token.lock().unwrap().state();
    assert_eq!(state.seed_hex, None, "restricted: config erased the seed");
    assert_eq!(state.clock, T0 + 10);
}

#[test]
fn sync_clock_keeps_the_seed_on_unrestricted_models_and_reports_drift() {
    let settings = ClockSettings {
        hmac: HmacAlgorithm::Sha1,
        step: TimeStep::S30,
        display_timeout: DisplayTimeout::S60,
    };
    let mut spec = TokenSpec::token2("8659632000001"); // C302-i, unrestricted
    spec.clock_offset = 300;
    let mut r = rig(spec, Faults::default());
    let status = session(&mut r.transport, &r.clock).info().unwrap();
    assert_eq!(status.drift, 300);
    session(&mut r.transport, &r.clock)
        .burn(&uri_plan(URI))
        .unwrap();
    let status = session(&mut r.transport, &r.clock)
        .sync_clock(&settings, false)
        .unwrap();
    assert_eq!(status.drift, 0);
    let state = r.token.lock().unwrap().state();
    assert_eq!(state.seed_hex.as_deref(), Some(URI_SEED_HEX));
    assert_eq!(state.config.display_timeout_s, 60);
}

#[test]
fn without_clock_sync_the_token_keeps_its_own_time() {
    let mut spec = TokenSpec::token2("8659612000001");
    spec.clock_offset = 90;
    let mut r = rig(spec, Faults::default());
    let report = session(&mut r.transport, &r.clock)
        .with_clock_sync(false)
        .burn(&uri_plan(URI))
        .unwrap();
    assert_eq!(u64::from(report.clock_set_to), T0 + 90);
    let token = r.token.lock().unwrap();
    assert_eq!(token.clock(), T0 + 90);
    assert_eq!(token.display_code().unwrap(), report.expected.current);
}

#[test]
fn implausible_host_clock_is_refused_before_any_apdu() {
    let mut r = rig(TokenSpec::token2("8659612000001"), Faults::default());
    let err = Session::new(&mut r.transport)
        .with_clock(Arc::new(ManualClock::new(946_684_800)))
        .burn(&uri_plan(URI))
        .unwrap_err();
    assert!(matches!(err, SessionError::HostClockWrong { .. }), "{err}");
    assert_eq!(r.token.lock().unwrap().state().apdu_count, 0);
}

#[test]
fn select_fallback_reaches_tokens_that_need_it() {
    let mut spec = TokenSpec::token2("8659612000001");
    spec.require_select = true;
    let mut r = rig(spec, Faults::default());
    session(&mut r.transport, &r.clock)
        .burn(&uri_plan(URI))
        .unwrap();
    assert_eq!(
        r.token.lock().unwrap().state().seed_hex.as_deref(),
        Some(URI_SEED_HEX)
    );
}

/// The card leaves at every APDU of a burn, before delivery and while in flight, on a
/// restricted and an unrestricted model: the error says exactly what was written, and it
/// agrees with the virtual token's state.
#[test]
fn card_dropped_at_every_apdu() {
    for serial in ["8659622000001", "8659612000001"] {
        for k in 0..5 {
            for in_flight in [false, true] {
                let faults = if in_flight {
                    Faults {
                        remove_in_flight_after: Some(k),
                        ..Faults::default()
                    }
                } else {
                    Faults {
                        remove_after: Some(k),
                        ..Faults::default()
                    }
                };
                let mut r = rig(TokenSpec::token2(serial), Faults::default());
                // An earlier seed, to see whether it survives.
                let earlier =
                    BurnPlan::from_seed(&SecretBytes::from(vec![0xAB; 20]), &sha1_30()).unwrap();
                session(&mut r.transport, &r.clock).burn(&earlier).unwrap();
                let mut faulty = SimTransport::with_faults(Arc::clone(&r.token), faults);
                let err = session(&mut faulty, &r.clock)
                    .burn(&uri_plan(URI))
                    .unwrap_err();
                let what = format!("{serial} k={k} in_flight={in_flight}: {err}");
                let SessionError::Interrupted { stage, written, .. } = &err else {
                    panic!("{what}")
                };
                let state = r.token.lock().unwrap().state();
                let expected_stage = [
                    Stage::ReadInfo,
                    Stage::Authenticate,
                    Stage::Authenticate,
                    Stage::WriteConfig,
                    Stage::WriteSeed,
                ][k];
                assert_eq!(*stage, expected_stage, "{what}");
                let config_expected = match (k, in_flight) {
                    (0..=2, _) | (3, false) => Outcome::NotWritten,
                    (3, true) => Outcome::Uncertain,
                    _ => Outcome::Written,
                };
                assert_eq!(written.config, config_expected, "{what}");
                let seed_expected = match (k, in_flight) {
                    (4, true) => Outcome::Uncertain,
                    _ => Outcome::NotWritten,
                };
                assert_eq!(written.seed, seed_expected, "{what}");
                // The message agrees with the token.
                let config_applied = state.config_writes == 2;
                let seed_now = state.seed_hex.clone();
                match (k, in_flight) {
                    (0..=2, _) | (3, false) => {
                        assert!(!config_applied, "{what}");
                        assert!(err.to_string().contains("nothing was written"), "{what}");
                        assert_eq!(seed_now.as_deref(), Some(&"AB".repeat(20)[..]), "{what}");
                    }
                    _ => {
                        assert!(config_applied, "{what}");
                        let restricted = serial.starts_with("8659622");
                        let seed_written = k == 4 && in_flight;
                        let expect_seed = if seed_written {
                            Some(URI_SEED_HEX.to_owned())
                        } else if restricted {
                            None
                        } else {
                            Some("AB".repeat(20))
                        };
                        assert_eq!(seed_now, expect_seed, "{what}");
                        if restricted && !seed_written {
                            assert!(err.to_string().contains("blank"), "{what}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn garbage_replies_are_errors_not_panics() {
    for k in 0..5 {
        let mut r = rig(
            TokenSpec::token2("8659622000001"),
            Faults {
                garbage_at: Some(k),
                ..Faults::default()
            },
        );
        let result = session(&mut r.transport, &r.clock).burn(&uri_plan(URI));
        assert!(result.is_err(), "garbage at APDU {k} must fail the burn");
    }
}
