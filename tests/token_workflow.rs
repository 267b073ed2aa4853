//! The one-token workflow (`safeid::token`: read, prepare, confirm with the serial
//! pinned, burn, verify on the token's clock) against the virtual token, for the defects
//! of issue 9 it fixes:
//!
//! 4. a token swapped between the confirmation and the burn is refused (`SerialMismatch`)
//!    and nothing but a get info reaches it;
//! 5. burned without clock sync on a token 200 s off, the code its display shows is
//!    judged on the token's own clock: `VerifiedClockOff` with an explanation (the host
//!    clock would call it not verified); a token 27 h off is refused by prepare
//!    (`ClockTooFar`) unless the clock-drift risk is accepted, and the limit is exact;
//!
//! plus the other checks prepare makes before any secure command (unknown model, short
//! secrets: a service's is burned with a warning, a random one needs the risk accepted).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/batch.rs"]
mod support;

use safeid::clock::Clock;
use safeid::otpauth::Credential;
use safeid::plan::PlanWarning;
use safeid::proto::{AccessKey, ModelTable};
use safeid::sources::{Origin, Secret, SeedInput};
use safeid::token::{BurnWarning, DEFAULT_DRIFT_LIMIT, PrepareError, Provisioner};
use safeid::{
    Acceptance, BurnOptions, BurnPlan, Hint, PlanError, PlanOptions, Risk, SessionError, Verdict,
};
use safeid_sim::{ManualClock, SimTransport, TokenSpec};
use support::{T0, Token, ins_log, state, token, token_from};

const URI: &str = "otpauth://totp/Example:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example";
/// The bytes of URI's secret: ASCII "12345678901234567890" (RFC 6238's seed).
const URI_SEED_HEX: &str = "3132333435363738393031323334353637383930";
const GET_INFO: u8 = 0x41;

fn plan() -> BurnPlan {
    BurnPlan::from_credential(&Credential::parse(URI).unwrap(), &PlanOptions::default()).unwrap()
}

fn no_sync() -> BurnOptions {
    BurnOptions {
        sync_clock: false,
        accept_clock_drift: false,
    }
}

fn off_by(serial: &str, seconds: i64, clock: &ManualClock) -> Token {
    let mut spec = TokenSpec::token2(serial);
    spec.clock_offset = seconds;
    token_from(spec, clock)
}

/// The code the token displays, computed by the simulator's own TOTP (independent of the
/// host's) at the host time `host` on a clock off by `offset`.
fn sim_code(seed: &[u8], host: u64, offset: i64) -> String {
    safeid_sim::crypto::totp6(
        safeid_sim::HmacAlgorithm::Sha1,
        seed,
        host.saturating_add_signed(offset),
        30,
    )
    .unwrap()
}

// --- Defect 4 ---------------------------------------------------------------------------

#[test]
fn a_token_swapped_after_the_confirmation_is_refused_and_untouched() {
    let clock = ManualClock::new(T0);
    let p = support::provisioner(&clock);
    let (a, b) = (
        token("8659622000001", &clock),
        token("8659622000002", &clock),
    );
    let (mut ta, mut tb) = (SimTransport::new(a.clone()), SimTransport::new(b.clone()));
    let status = p.read(&mut ta).unwrap();
    let pending = p.prepare(status, plan(), &BurnOptions::default()).unwrap();
    assert_eq!(pending.serial(), "8659622000001");
    assert!(pending.question().contains("8659622000001"));
    // The user confirms; meanwhile token b was put on the reader instead.
    let err = pending.burn(&p, &mut tb).unwrap_err();
    assert!(
        matches!(&err, SessionError::SerialMismatch { expected, found }
            if expected == "8659622000001" && found == "8659622000002"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "serial_mismatch");
    assert!(err.to_string().contains("Nothing was written"), "{err}");
    let sb = state(&b);
    assert_eq!(sb.seed_hex, None);
    assert_eq!(
        (sb.config_writes, sb.seed_writes, sb.failed_auths),
        (0, 0, 0)
    );
    assert_eq!(
        ins_log(&b),
        [GET_INFO],
        "only get info reached the other token"
    );
    assert_eq!(ins_log(&a), [GET_INFO]);

    // The right token back on the reader: burned.
    let status = p.read(&mut ta).unwrap();
    let pending = p.prepare(status, plan(), &BurnOptions::default()).unwrap();
    pending.burn(&p, &mut ta).unwrap();
    assert_eq!(state(&a).seed_hex.as_deref(), Some(URI_SEED_HEX));
    assert_eq!(state(&b).seed_hex, None);
}

// --- Defect 5 ---------------------------------------------------------------------------

#[test]
fn without_clock_sync_a_token_200_s_off_is_verified_on_its_own_clock() {
    let clock = ManualClock::new(T0);
    let p = support::provisioner(&clock);
    let t = off_by("8659612000001", 200, &clock);
    let mut tr = SimTransport::new(t.clone());
    let status = p.read(&mut tr).unwrap();
    assert_eq!(status.drift, 200);
    let pending = p.prepare(status, plan(), &no_sync()).unwrap();
    assert_eq!(
        pending.warnings(),
        [BurnWarning::ClockOff {
            drift: 200,
            period: 30
        }]
    );
    assert!(!pending.warnings()[0].to_string().contains("--"));
    let burned = pending.burn(&p, &mut tr).unwrap();
    assert!(!burned.report().clock_synced);
    assert_eq!(burned.report().token_offset, 200);
    assert_eq!(state(&t).clock, T0 + 200, "the token kept its clock");

    let shown = t.lock().unwrap().display_code().unwrap();
    assert_eq!(shown, sim_code(b"12345678901234567890", T0, 200));
    // Judged on the host's clock this code would not match (the old verdict).
    assert_ne!(shown, sim_code(b"12345678901234567890", T0, 0));
    let check = burned.verify(&shown, clock.now());
    assert_eq!(
        check.verdict,
        Verdict::VerifiedClockOff {
            step_offset: 0,
            token_offset: 200
        }
    );
    assert!(check.holds_seed() && !check.is_good());
    let text = check.explanation();
    assert!(
        text.contains("clock") && text.contains("no need for a new seed"),
        "{text}"
    );
    assert_eq!(burned.expected_now().current, shown);

    // Half a minute later the display moved on; the previous code is one step behind.
    clock.advance(30);
    assert_eq!(
        burned.verify_now(&shown).verdict,
        Verdict::VerifiedClockOff {
            step_offset: -1,
            token_offset: 200
        }
    );
    assert_eq!(burned.verify_now("000000").verdict, Verdict::NotVerified);
}

#[test]
fn with_clock_sync_the_same_token_is_verified_in_step() {
    let clock = ManualClock::new(T0);
    let p = support::provisioner(&clock);
    let t = off_by("8659622000001", 200, &clock);
    let mut tr = SimTransport::new(t.clone());
    let pending = p
        .prepare(p.read(&mut tr).unwrap(), plan(), &BurnOptions::default())
        .unwrap();
    assert!(pending.warnings().is_empty());
    let burned = pending.burn(&p, &mut tr).unwrap();
    assert!(burned.report().clock_synced);
    assert_eq!(state(&t).clock, T0);
    let shown = t.lock().unwrap().display_code().unwrap();
    let check = burned.verify(&shown, clock.now());
    assert_eq!(check.verdict, Verdict::Verified { step_offset: 0 });
    assert!(check.is_good());
}

#[test]
fn a_token_27_hours_off_is_refused_without_sync_unless_the_risk_is_accepted() {
    let day_and_more = 27 * 3600;
    for sign in [1i64, -1] {
        let clock = ManualClock::new(T0);
        let p = support::provisioner(&clock);
        let t = off_by("8659612000001", sign * day_and_more, &clock);
        let mut tr = SimTransport::new(t.clone());
        let err = p
            .prepare(p.read(&mut tr).unwrap(), plan(), &no_sync())
            .unwrap_err();
        assert_eq!(
            err,
            PrepareError::ClockTooFar {
                drift: sign * day_and_more,
                limit: DEFAULT_DRIFT_LIMIT
            }
        );
        assert_eq!(err.kind(), "clock_too_far");
        assert_eq!(
            err.hint(),
            Some(Hint::Accept(Acceptance::Risk(Risk::ClockDrift)))
        );
        assert_eq!(ins_log(&t), [GET_INFO], "refused before any secure command");

        let accepted = BurnOptions {
            sync_clock: false,
            accept_clock_drift: true,
        };
        let pending = p
            .prepare(p.read(&mut tr).unwrap(), plan(), &accepted)
            .unwrap();
        assert!(matches!(
            pending.warnings(),
            [BurnWarning::ClockOff { drift, .. }] if *drift == sign * day_and_more
        ));
        let burned = pending.burn(&p, &mut tr).unwrap();
        let shown = t.lock().unwrap().display_code().unwrap();
        assert!(matches!(
            burned.verify(&shown, clock.now()).verdict,
            Verdict::VerifiedClockOff { step_offset: 0, .. }
        ));
        // With sync, no refusal at all.
        let pending = p
            .prepare(p.read(&mut tr).unwrap(), plan(), &BurnOptions::default())
            .unwrap();
        assert!(pending.warnings().is_empty());
    }
}

#[test]
fn the_drift_limit_is_exact_and_adjustable() {
    let clock = ManualClock::new(T0);
    let limit = DEFAULT_DRIFT_LIMIT as i64;
    for (offset, refused) in [
        (30, false),
        (limit, false),
        (limit + 1, true),
        (-limit - 1, true),
    ] {
        let p = support::provisioner(&clock);
        let t = off_by("8659612000001", offset, &clock);
        let status = p.read(&mut SimTransport::new(t)).unwrap();
        let result = p.prepare(status, plan(), &no_sync());
        assert_eq!(
            matches!(result, Err(PrepareError::ClockTooFar { .. })),
            refused,
            "offset {offset}"
        );
        if let Ok(pending) = result {
            // One step (30 s) is within every service's window: no warning.
            assert_eq!(
                pending.warnings().is_empty(),
                offset.abs() <= 30,
                "{offset}"
            );
        }
    }
    let strict = support::provisioner(&clock).with_drift_limit(100);
    let t = off_by("8659612000001", 200, &clock);
    let status = strict.read(&mut SimTransport::new(t)).unwrap();
    assert!(matches!(
        strict.prepare(status, plan(), &no_sync()),
        Err(PrepareError::ClockTooFar { limit: 100, .. })
    ));
}

// --- Other checks before any secure command ----------------------------------------------

#[test]
fn an_unknown_model_needs_a_key_and_a_given_key_is_a_warned_guess() {
    let clock = ManualClock::new(T0);
    let t = token_from(TokenSpec::new("ZZ99000001", [0x42; 16]), &clock);
    let mut tr = SimTransport::new(t.clone());
    let p = support::provisioner(&clock);
    let err = p
        .prepare(p.read(&mut tr).unwrap(), plan(), &BurnOptions::default())
        .unwrap_err();
    assert!(matches!(&err, PrepareError::UnknownModel { serial } if serial == "ZZ99000001"));
    assert_eq!(err.hint(), Some(Hint::GiveKey));
    assert_eq!(ins_log(&t), [GET_INFO]);

    let p = p.with_key(Some(AccessKey::from_bytes([0x42; 16])));
    let pending = p
        .prepare(p.read(&mut tr).unwrap(), plan(), &BurnOptions::default())
        .unwrap();
    assert_eq!(pending.warnings(), [BurnWarning::KeyGuessed]);
    assert!(pending.question().contains("unknown model"));
    pending.burn(&p, &mut tr).unwrap();
    assert_eq!(state(&t).seed_hex.as_deref(), Some(URI_SEED_HEX));

    // A known prefix with no key in an empty table is refused the same way.
    let p = Provisioner::new()
        .with_clock(std::sync::Arc::new(clock.clone()))
        .with_models(ModelTable::new());
    let t = token("8659612000009", &clock);
    let status = p.read(&mut SimTransport::new(t)).unwrap();
    assert!(!status.key_known);
    assert!(matches!(
        p.prepare(status, plan(), &BurnOptions::default()),
        Err(PrepareError::UnknownModel { .. })
    ));
}

#[test]
fn a_services_short_secret_is_burned_with_a_warning_a_random_one_needs_the_risk() {
    let clock = ManualClock::new(T0);
    let p = support::provisioner(&clock);
    // "foobar" (RFC 4648): 6 bytes, the service's choice.
    let cred = Credential::parse("otpauth://totp/X:a?secret=MZXW6YTBOI").unwrap();
    let plan = BurnPlan::from_credential(&cred, &PlanOptions::default()).unwrap();
    assert_eq!(plan.warnings(), [PlanWarning::ShortSecret { bytes: 6 }]);
    let t = token("8659612000001", &clock);
    let mut tr = SimTransport::new(t.clone());
    let pending = p
        .prepare(p.read(&mut tr).unwrap(), plan, &BurnOptions::default())
        .unwrap();
    assert_eq!(
        pending.warnings(),
        [BurnWarning::Plan(PlanWarning::ShortSecret { bytes: 6 })]
    );
    pending.burn(&p, &mut tr).unwrap();
    assert_eq!(
        state(&t).seed_hex,
        Some(support::stored_hex(b"foobar")),
        "zero-extended to 20 bytes on the wire"
    );

    // A random seed of 8 bytes: refused unless the short-seed risk is accepted.
    let found =
        safeid::sources::read(SeedInput::Random { bytes: 8 }, &ModelTable::builtin()).unwrap();
    let secret = found.pick(None).unwrap();
    assert_eq!(secret.origin, Origin::Random);
    assert_eq!(
        secret.plan(&PlanOptions::default()).unwrap_err(),
        PlanError::ShortRandomSeed(8)
    );
    let mut opts = PlanOptions::default();
    opts.accept.insert(Acceptance::Risk(Risk::ShortRandomSeed));
    assert!(secret.plan(&opts).is_ok());
    // 16 bytes is enough.
    let sixteen = Secret::raw(safeid::sources::random_seed(16).unwrap(), Origin::Random);
    assert!(sixteen.plan(&PlanOptions::default()).is_ok());
}
