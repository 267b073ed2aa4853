//! Issue 9, defect 8: the library's messages are about the library's own terms and it does
//! not panic on what a caller can pass.
//!
//! - Every variant of `SessionError`, `PlanError`, `PrepareError`, `BatchError`,
//!   `TokenError`, `SourceError` and `JournalError` that a caller can bring about (by a
//!   real call where there is one, else built directly) is displayed, with its whole
//!   source chain, and none names a command-line flag (`--key`, `--accept`, `--reader`,
//!   anything starting with `--`). The same holds for warnings, write states, verdict
//!   explanations, confirmation questions and batch notices. (`SourceError::Rng` cannot
//!   be built here: `getrandom::Error` is not a dependency of the tests.)
//! - `expected_totp` returns a generator for every seed the token can hold (1..=63
//!   bytes), both algorithms and both steps, and codes for any time; an empty seed cannot
//!   reach it (`Seed::new` refuses it, plans say `EmptySeed`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/batch.rs"]
mod support;

use std::error::Error;
use std::path::Path;

use proptest::prelude::*;
use safeid::batch::{self, BatchError, BatchSeeds, ExportKind, ExportTarget, TokenError};
use safeid::export::Format;
use safeid::journal::{Journal, JournalError, JournalState};
use safeid::otpauth::{Credential, Kind};
use safeid::plan::expected_totp;
use safeid::proto::{AccessKey, DisplayTimeout, HmacAlgorithm, ModelTable, Seed, TimeStep};
use safeid::record::TokenSeed;
use safeid::secret::SecretBytes;
use safeid::sources::{self, Found, Origin, Secret, SecretEncoding, SeedFile, SeedInput};
use safeid::token::{BurnWarning, PrepareError};
use safeid::transport::TransportError;
use safeid::transport::mock::{Exchange, ScriptedTransport};
use safeid::{
    Acceptance, BurnOptions, BurnPlan, ClockSettings, Conversion, Outcome, PlanError, PlanOptions,
    Session, SessionError, Stage, WriteState,
};
use safeid_sim::{Faults, ManualClock, SimTransport, TokenSpec};
use support::{T0, config, random_seeds, token, token_from};

/// The message and every source below it.
fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        text.push_str(" <- ");
        text.push_str(&s.to_string());
        next = s.source();
    }
    text
}

/// Collects (what, message) pairs and checks them all at the end.
#[derive(Default)]
struct Messages(Vec<(String, String)>);

impl Messages {
    fn err(&mut self, what: &str, e: &dyn Error) {
        self.0.push((what.to_owned(), chain(e)));
    }
    fn text(&mut self, what: &str, text: impl Into<String>) {
        self.0.push((what.to_owned(), text.into()));
    }
    fn check(self, at_least: usize) {
        assert!(self.0.len() >= at_least, "only {} messages", self.0.len());
        let flags: Vec<_> = self
            .0
            .iter()
            .filter(|(_, m)| m.contains("--"))
            .map(|(w, m)| format!("{w}: {m}"))
            .collect();
        assert!(flags.is_empty(), "messages naming flags: {flags:#?}");
        for (what, m) in &self.0 {
            assert!(!m.trim().is_empty(), "{what}: empty message");
        }
    }
}

fn cred(uri: &str) -> Credential {
    Credential::parse(uri).unwrap()
}

fn raw_credential(algorithm: safeid::totp::Algorithm, digits: u8, period: u64) -> Credential {
    Credential {
        kind: Kind::Totp { period },
        issuer: Some("X".into()),
        account: "a".into(),
        secret: SecretBytes::from(b"12345678901234567890".to_vec()),
        algorithm,
        digits,
    }
}

fn plan_errors(m: &mut Messages) {
    let d = PlanOptions::default();
    let base = "otpauth://totp/X:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let mut errors: Vec<PlanError> = vec![
        BurnPlan::from_credential(
            &cred("otpauth://hotp/X:a?secret=GEZDGNBVGY3TQOJQ&counter=1"),
            &d,
        )
        .unwrap_err(),
        BurnPlan::from_credential(&raw_credential(safeid::totp::Algorithm::Sha512, 6, 30), &d)
            .unwrap_err(),
        BurnPlan::from_credential(&cred(&format!("{base}&period=45")), &d).unwrap_err(),
        BurnPlan::from_credential(&cred(&format!("{base}&digits=8")), &d).unwrap_err(),
        BurnPlan::from_credential(&raw_credential(safeid::totp::Algorithm::Sha1, 5, 30), &d)
            .unwrap_err(),
        BurnPlan::from_seed(&SecretBytes::from(vec![]), &d).unwrap_err(),
        BurnPlan::from_seed(&SecretBytes::from(vec![1; 70]), &d).unwrap_err(),
        BurnPlan::from_seed(&SecretBytes::from(vec![1; 64]), &d).unwrap_err(),
        Secret::raw(sources::random_seed(8).unwrap(), Origin::Random)
            .plan(&d)
            .unwrap_err(),
        BurnPlan::from_seed(
            &SecretBytes::from(vec![1; 20]),
            &PlanOptions {
                display_timeout: Some(45),
                ..d.clone()
            },
        )
        .unwrap_err(),
        BurnPlan::from_credential(
            &cred(base),
            &PlanOptions {
                period: Some(60),
                ..d.clone()
            },
        )
        .unwrap_err(),
        BurnPlan::from_credential(
            &cred(base),
            &PlanOptions {
                algorithm: Some(HmacAlgorithm::Sha256),
                ..d.clone()
            },
        )
        .unwrap_err(),
    ];
    let totp = safeid::totp::Totp::new(b"k", safeid::totp::Algorithm::Sha1, 3, 30).unwrap_err();
    errors.push(PlanError::Totp(totp));
    let mut kinds: Vec<&str> = errors.iter().map(PlanError::kind).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), 10, "every kind of plan error: {kinds:?}");
    for e in &errors {
        m.err(&format!("PlanError::{}", e.kind()), e);
    }
}

fn transport_errors() -> Vec<TransportError> {
    vec![
        TransportError::NoService,
        TransportError::NoReader,
        TransportError::ReaderNotFound {
            wanted: "ACS".into(),
            available: "Virtual PCD 00 00".into(),
        },
        TransportError::AmbiguousReader {
            available: "0: Virtual PCD 00 00, 1: Virtual PCD 00 01".into(),
        },
        TransportError::ReaderUnavailable,
        TransportError::NoCard,
        TransportError::CardRemoved,
        TransportError::CardReset,
        TransportError::ReaderBusy,
        TransportError::Timeout { seconds: 5 },
        TransportError::EmptyReply,
        TransportError::ShortReply { len: 1 },
        TransportError::Continuation("61 10 three times".into()),
        TransportError::NotResent {
            command: "write seed",
            header: "84 C5 01 00 20".into(),
            le: 0x10,
        },
        TransportError::MalformedCommand("Lc 3 but 2 bytes".into()),
        TransportError::ReaderStalled,
        TransportError::Backend("SCARD_E_UNEXPECTED".into()),
    ]
}

const URI: &str = "otpauth://totp/Example:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn uri_plan() -> BurnPlan {
    BurnPlan::from_credential(&cred(URI), &PlanOptions::default()).unwrap()
}

fn session_errors(m: &mut Messages) {
    let clock = ManualClock::new(T0);
    let with_clock = |t: &mut SimTransport| {
        Session::new(t)
            .with_clock(std::sync::Arc::new(clock.clone()))
            .burn(&uri_plan())
            .unwrap_err()
    };
    let mut errors: Vec<SessionError> = transport_errors()
        .into_iter()
        .map(SessionError::from)
        .collect();
    // The token's own refusals and the protocol's.
    errors.push(
        safeid::proto::parse_status("write seed", &[0x6A, 0x80])
            .map_err(SessionError::from)
            .unwrap_err(),
    );
    errors.push(SessionError::from(
        safeid::proto::parse_info(&[0x01, 0x90, 0x00]).unwrap_err(),
    ));
    errors.push(SessionError::from(
        Seed::new(SecretBytes::from(vec![])).unwrap_err(),
    ));
    errors.push(SessionError::from(AccessKey::from_hex("zz").unwrap_err()));
    errors.push(SessionError::from(
        ModelTable::from_toml_str("[[model]]\nprefix = 1").unwrap_err(),
    ));
    // A card that answers nothing of this command set.
    let mut not_this = ScriptedTransport::new(vec![
        Exchange::ok("80 41 00 00 02 02 11", "6D00"),
        Exchange::ok("00 A4 04 00 06 B0 00 00 00 00 23", "6A82"),
    ]);
    errors.push(Session::new(&mut not_this).info().unwrap_err());
    // Unknown model, refused key, swapped token, implausible host clock.
    let unknown = token_from(TokenSpec::new("ZZ99000001", [0x42; 16]), &clock);
    errors.push(with_clock(&mut SimTransport::new(unknown)));
    let wrong_key = token_from(TokenSpec::new("8659622000001", [1; 16]), &clock);
    errors.push(with_clock(&mut SimTransport::new(wrong_key)));
    let other = token("8659622000002", &clock);
    errors.push(
        Session::new(&mut SimTransport::new(other))
            .with_clock(std::sync::Arc::new(clock.clone()))
            .burn_serial(&uri_plan(), Some("8659622000001"))
            .unwrap_err(),
    );
    errors.push(
        Session::new(&mut SimTransport::new(token("8659622000003", &clock)))
            .with_clock(std::sync::Arc::new(ManualClock::new(0)))
            .burn(&uri_plan())
            .unwrap_err(),
    );
    errors.push(
        Session::new(&mut SimTransport::new(token("8659622000004", &clock)))
            .with_clock(std::sync::Arc::new(ManualClock::new(
                u64::from(u32::MAX) + 1,
            )))
            .burn(&uri_plan())
            .unwrap_err(),
    );
    let settings = ClockSettings {
        hmac: HmacAlgorithm::Sha1,
        step: TimeStep::S30,
        display_timeout: DisplayTimeout::S30,
    };
    errors.push(
        Session::new(&mut SimTransport::new(token("8659622000005", &clock)))
            .with_clock(std::sync::Arc::new(clock.clone()))
            .sync_clock(&settings, false)
            .unwrap_err(),
    );
    // Interrupted at every stage, before delivery and in flight.
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
            let t = token("8659622000006", &clock);
            errors.push(with_clock(&mut SimTransport::with_faults(t, faults)));
        }
    }
    let mut kinds: Vec<&str> = errors.iter().map(SessionError::kind).collect();
    kinds.sort();
    kinds.dedup();
    for want in [
        "protocol",
        "not_this_token",
        "unknown_model",
        "key_refused",
        "serial_mismatch",
        "host_clock_wrong",
        "would_erase_seed",
        "interrupted",
        "card_removed",
    ] {
        assert!(kinds.contains(&want), "{want} not built: {kinds:?}");
    }
    for e in &errors {
        m.err(&format!("SessionError::{}", e.kind()), e);
    }
    // What a burn had written, in every combination.
    for config in [Outcome::NotWritten, Outcome::Written, Outcome::Uncertain] {
        for seed in [Outcome::NotWritten, Outcome::Written, Outcome::Uncertain] {
            for restricted in [false, true] {
                let w = WriteState {
                    config,
                    seed,
                    restricted,
                };
                m.text("WriteState", w.to_string());
                let e = SessionError::Interrupted {
                    stage: Stage::WriteSeed,
                    written: w,
                    cause: Box::new(TransportError::CardRemoved.into()),
                };
                m.err("SessionError::Interrupted", &e);
            }
        }
    }
    for stage in [
        Stage::ReadInfo,
        Stage::Authenticate,
        Stage::WriteConfig,
        Stage::WriteSeed,
    ] {
        m.text("Stage", stage.to_string());
    }
}

fn prepare_errors_and_texts(m: &mut Messages) {
    let clock = ManualClock::new(T0);
    let p = support::provisioner(&clock);
    let unknown = token_from(TokenSpec::new("ZZ99000001", [0x42; 16]), &clock);
    let status = p.read(&mut SimTransport::new(unknown)).unwrap();
    let e = p
        .prepare(status, uri_plan(), &BurnOptions::default())
        .unwrap_err();
    m.err("PrepareError::UnknownModel", &e);
    let mut spec = TokenSpec::token2("8659612000001");
    spec.clock_offset = -100_000;
    let far = token_from(spec, &clock);
    let mut tr = SimTransport::new(far.clone());
    let no_sync = BurnOptions {
        sync_clock: false,
        accept_clock_drift: false,
    };
    let e = p
        .prepare(p.read(&mut tr).unwrap(), uri_plan(), &no_sync)
        .unwrap_err();
    assert!(matches!(e, PrepareError::ClockTooFar { .. }));
    m.err("PrepareError::ClockTooFar", &e);

    // Warnings, the question, verdict explanations.
    let accepted = BurnOptions {
        sync_clock: false,
        accept_clock_drift: true,
    };
    let short = BurnPlan::from_credential(
        &cred("otpauth://totp/X:a?secret=MZXW6YTBOI"),
        &PlanOptions::default(),
    )
    .unwrap();
    let pending = p
        .prepare(p.read(&mut tr).unwrap(), short, &accepted)
        .unwrap();
    for w in pending.warnings() {
        m.text("BurnWarning", w.to_string());
    }
    m.text(
        "BurnWarning::KeyGuessed",
        BurnWarning::KeyGuessed.to_string(),
    );
    m.text("question", pending.question());
    let burned = pending.burn(&p, &mut tr).unwrap();
    let shown = far.lock().unwrap().display_code().unwrap();
    for code in [shown.as_str(), "000000", "not a code"] {
        m.text("verification", burned.verify_now(code).explanation());
    }
    for c in Conversion::ALL {
        m.text("Conversion", c.describe());
    }
    for a in Acceptance::all() {
        assert_eq!(Acceptance::from_name(a.name()), Some(a));
        assert!(!a.name().starts_with('-'));
    }
}

fn source_errors(m: &mut Messages, dir: &Path) {
    let models = ModelTable::builtin();
    let mut errors: Vec<sources::SourceError> = vec![
        sources::random_seed(0).unwrap_err(),
        sources::read(SeedInput::Uri("otpauth://nope".to_owned().into()), &models)
            .err()
            .unwrap(),
        sources::parse_uri_list(
            "# list\notpauth://totp/X:a?secret=GEZDGNBV\nnot a uri\n",
            Path::new("list.txt"),
        )
        .unwrap_err(),
        sources::read(
            SeedInput::QrImage {
                name: "paste".into(),
                bytes: b"not an image".to_vec(),
            },
            &models,
        )
        .err()
        .unwrap(),
        Found::default().pick(None).unwrap_err(),
        sources::read(
            SeedInput::Text {
                text: "2a2b".to_owned().into(),
                encoding: None,
            },
            &models,
        )
        .err()
        .unwrap(),
        sources::read(
            SeedInput::Text {
                text: "zz".to_owned().into(),
                encoding: Some(SecretEncoding::Hex),
            },
            &models,
        )
        .err()
        .unwrap(),
        sources::from_seed_file(
            &SeedFile::parse("8659612000001,MZXW6YTBOI\n").unwrap(),
            "8659612000002",
        )
        .unwrap_err(),
        sources::SourceError::from(SeedFile::parse("only one field\n").unwrap_err()),
        sources::read_text_file(&dir.join("missing.csv"), 100, "seed file").unwrap_err(),
    ];
    // Several accounts and no choice; a choice that matches none.
    let creds: Vec<Secret> = ["GEZDGNBVGY3TQOJQ", "MZXW6YTBOI"]
        .iter()
        .map(|s| Secret {
            credential: cred(&format!("otpauth://totp/X:{s}?secret={s}")),
            origin: Origin::Service { source: None },
        })
        .collect();
    let several = Found {
        secrets: creds,
        scanned: Vec::new(),
    };
    errors.push(several.pick(None).unwrap_err());
    errors.push(several.pick(Some("7")).unwrap_err());
    let big = dir.join("big.txt");
    std::fs::write(&big, "x".repeat(200)).unwrap();
    errors.push(sources::read_text_file(&big, 100, "URI list").unwrap_err());
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, b"ok\xFF").unwrap();
    errors.push(sources::read_text_file(&bad, 100, "URI list").unwrap_err());
    let mut kinds: Vec<&str> = errors.iter().map(|e| e.kind()).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), 11, "every kind but rng: {kinds:?}");
    for e in &errors {
        m.err(&format!("SourceError::{}", e.kind()), e);
    }
}

fn journal_and_batch_errors(m: &mut Messages, dir: &Path) {
    let clock = ManualClock::new(T0);
    let path = dir.join("j");
    let (mut j, _) = Journal::open(&path).unwrap();
    let seed = |v: u8| TokenSeed::new("S", SecretBytes::from(vec![v; 20]));
    j.plan(&seed(1)).unwrap();
    let mut journal_errors = vec![
        j.plan(&seed(2)).unwrap_err(),
        j.mark_verified("S", 0).unwrap_err(),
        j.plan(&TokenSeed::new("", SecretBytes::from(vec![1; 20])))
            .unwrap_err(),
        Journal::open(&path).unwrap_err(),
    ];
    drop(j);
    std::fs::write(dir.join("notes"), "not a journal\n").unwrap();
    journal_errors.push(Journal::open(&dir.join("notes")).unwrap_err());
    std::fs::write(
        dir.join("v9"),
        "{\"event\":\"journal\",\"format\":\"safeid-journal\",\"version\":9,\"time\":0}\n",
    )
    .unwrap();
    journal_errors.push(JournalState::load(&dir.join("v9")).unwrap_err());
    journal_errors.push(Journal::open(dir).unwrap_err());
    journal_errors.push(JournalState::load(&dir.join("nothing-here")).unwrap_err());
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&path, dir.join("link")).unwrap();
        journal_errors.push(Journal::open(&dir.join("link")).unwrap_err());
    }
    journal_errors.push(
        JournalState::from_bytes(
            &vec![b'x'; safeid::journal::MAX_JOURNAL_BYTES as usize + 1],
            Path::new("mem"),
        )
        .unwrap_err(),
    );
    journal_errors.push(JournalError::Poisoned);
    for e in &journal_errors {
        m.err("JournalError", e);
    }

    // Batch refusals, each from a real prepare.
    let prepare_err = |c: batch::BatchConfig| batch::prepare(c).err().unwrap();
    let mut batch_errors = vec![prepare_err(config(&path, random_seeds(), &clock, true))];
    let mut c = config(&dir.join("none"), random_seeds(), &clock, true);
    c.resume = true;
    batch_errors.push(prepare_err(c));
    batch_errors.push(prepare_err(config(
        &dir.join("notes"),
        random_seeds(),
        &clock,
        true,
    )));
    let mut c = config(&dir.join("notes"), random_seeds(), &clock, true);
    c.resume = true;
    batch_errors.push(prepare_err(c));
    let fresh = dir.join("fresh");
    batch_errors.push(prepare_err(config(
        &fresh,
        BatchSeeds::Credentials(vec![cred(
            "otpauth://hotp/X:a?secret=GEZDGNBVGY3TQOJQ&counter=1",
        )]),
        &clock,
        true,
    )));
    batch_errors.push(prepare_err(config(
        &fresh,
        BatchSeeds::Credentials(vec![cred(URI), cred(URI)]),
        &clock,
        true,
    )));
    batch_errors.push(prepare_err(config(
        &fresh,
        BatchSeeds::Credentials(vec![]),
        &clock,
        true,
    )));
    batch_errors.push(prepare_err(config(
        &fresh,
        BatchSeeds::Random {
            bytes: 64,
            hash: HmacAlgorithm::Sha1,
            period: 30,
        },
        &clock,
        true,
    )));
    batch_errors.push(prepare_err(config(
        &fresh,
        BatchSeeds::Random {
            bytes: 8,
            hash: HmacAlgorithm::Sha1,
            period: 30,
        },
        &clock,
        true,
    )));
    let mut c = config(
        &fresh,
        BatchSeeds::Random {
            bytes: 20,
            hash: HmacAlgorithm::Sha256,
            period: 30,
        },
        &clock,
        true,
    );
    c.exports = vec![ExportTarget {
        kind: ExportKind::File(Format::EntraCsv),
        path: dir.join("e.csv"),
    }];
    batch_errors.push(prepare_err(c));
    for path in [
        dir.join("missing/x.csv"),
        dir.join("notes"),
        dir.to_path_buf(),
    ] {
        let mut c = config(&fresh, random_seeds(), &clock, true);
        c.exports = vec![ExportTarget {
            kind: ExportKind::File(Format::VendorCsv),
            path,
        }];
        batch_errors.push(prepare_err(c));
    }
    let mut kinds: Vec<&str> = batch_errors.iter().map(BatchError::kind).collect();
    kinds.sort();
    kinds.dedup();
    assert!(kinds.len() >= 10, "{kinds:?}");
    for e in &batch_errors {
        m.err(&format!("BatchError::{}", e.kind()), e);
    }

    // Token errors, as the batch reports them per token.
    let token_errors: Vec<TokenError> = vec![
        TokenError::NoSeedForSerial("8659612000001".into()),
        TokenError::SecretGivenElsewhere {
            serial: "8659612000001".into(),
            holder: "8659612000002".into(),
        },
        TokenError::Plan {
            serial: "8659612000001".into(),
            source: PlanError::EmptySeed,
        },
        TokenError::Journal(JournalError::Poisoned),
        TokenError::Source(sources::SourceError::RandomLength(0)),
        TokenError::Session(SessionError::KeyRefused),
        TokenError::Prepare(PrepareError::UnknownModel {
            serial: "ZZ99000001".into(),
        }),
    ];
    for e in &token_errors {
        m.err(&format!("TokenError::{}", e.kind()), e);
    }

    // A run's notices and stop reasons.
    let mut c = config(&path, random_seeds(), &clock, true);
    c.resume = true;
    c.max_tokens = Some(1);
    let prepared = batch::prepare(c).unwrap();
    for n in prepared.notices() {
        m.text("notice", n.clone());
    }
    let (a, b) = (
        token("8659612000001", &clock),
        token("8659612000002", &clock),
    );
    let report = prepared
        .run(
            vec![support::PoolStation::boxed(
                "r",
                vec![
                    support::Presentation::plain(&a),
                    support::Presentation::plain(&b),
                ],
            )],
            &batch::Cancel::new(),
            &|e| {
                if let batch::BatchEvent::Finished(t) = e
                    && let batch::TokenOutcome::NotTouched(why) = &t.outcome
                {
                    assert!(!why.contains("--"), "{why}");
                }
            },
        )
        .unwrap();
    if let Some(stopped) = &report.summary.stopped {
        m.text("stopped", stopped.clone());
    }
}

#[test]
fn no_library_message_names_a_command_line_flag() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Messages::default();
    plan_errors(&mut m);
    session_errors(&mut m);
    prepare_errors_and_texts(&mut m);
    source_errors(&mut m, dir.path());
    journal_and_batch_errors(&mut m, dir.path());
    m.check(150);
}

#[test]
fn an_empty_seed_cannot_reach_expected_totp() {
    assert!(Seed::new(SecretBytes::from(vec![])).is_err());
    assert_eq!(
        BurnPlan::from_seed(&SecretBytes::from(vec![]), &PlanOptions::default()).unwrap_err(),
        PlanError::EmptySeed
    );
    let empty = Credential {
        secret: SecretBytes::from(vec![]),
        ..raw_credential(safeid::totp::Algorithm::Sha1, 6, 30)
    };
    assert_eq!(
        BurnPlan::from_credential(&empty, &PlanOptions::default()).unwrap_err(),
        PlanError::EmptySeed
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every seed a token can hold, both algorithms and both steps: a generator, and a
    /// six-digit code at any time, computed without a panic. RFC 6238 Appendix B's
    /// SHA-1 value at T = 59 anchors it.
    #[test]
    fn expected_totp_never_panics(
        seed in proptest::collection::vec(any::<u8>(), 1..=63),
        sha256 in any::<bool>(),
        sixty in any::<bool>(),
        time in any::<u64>(),
    ) {
        let seed = Seed::new(SecretBytes::from(seed)).unwrap();
        let hmac = if sha256 { HmacAlgorithm::Sha256 } else { HmacAlgorithm::Sha1 };
        let step = if sixty { TimeStep::S60 } else { TimeStep::S30 };
        let totp = expected_totp(&seed, hmac, step).unwrap();
        let code = totp.code_at(time).to_string();
        prop_assert_eq!(code.len(), 6);
        prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
        prop_assert!(totp.verify(&code, time, 1).is_some());
        let _ = totp.verify("12345", time, u64::MAX);
    }
}

#[test]
fn expected_totp_gives_the_rfc_6238_value() {
    let seed = Seed::new(SecretBytes::from(b"12345678901234567890".to_vec())).unwrap();
    let totp = expected_totp(&seed, HmacAlgorithm::Sha1, TimeStep::S30).unwrap();
    // RFC 6238 Appendix B: 94287082 at T = 59 (8 digits); the token shows the last six.
    assert_eq!(totp.code_at(59).to_string(), "287082");
}
