//! Direct enrollment in a batch (issue 11), through the real `safeid::batch` against
//! virtual tokens and the in-memory server [`MemoryEnroller`] (the real privacyIDEA
//! server is in `interop_enroll.rs` and the CLI's `interop_batch_enroll` test):
//!
//! - every burned token is registered right after its burn, and the journal says so;
//! - a server that is down when a token is burned leaves that token burned and not
//!   enrolled; the resume enrolls exactly the missing ones without touching a token;
//! - a reply lost after the server stored the token is found on resume, not sent again;
//! - nothing is ever registered twice, however often the batch is resumed;
//! - the sealed journal holds no seed in clear (base32, hex or base64), opens only with its
//!   passphrase, and enrollment without a seal or with a plain export is refused before
//!   anything is created.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/batch.rs"]
mod support;

use std::sync::{Arc, Mutex};

use safeid::batch::{self, BatchConfig, BatchError, BatchReport, Cancel, ExportKind, ExportTarget};
use safeid::enroll::{EnrollError, Enroller, MemoryEnroller, Presence};
use safeid::export::Format;
use safeid::journal::{JournalSeal, JournalState};
use safeid::record::TokenSeed;
use safeid::secret::SecretString;
use safeid_sim::ManualClock;
use support::{PoolStation, Presentation, T0, Token, config, random_seeds, state, token};

/// A handle on a [`MemoryEnroller`] that the test keeps while the batch owns a clone.
#[derive(Clone, Default)]
struct Server(Arc<Mutex<MemoryEnroller>>);

impl Server {
    fn with<R>(&self, f: impl FnOnce(&mut MemoryEnroller) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
    fn boxed(&self) -> Box<dyn Enroller + Send + Sync> {
        Box::new(self.clone())
    }
}

impl Enroller for Server {
    fn target(&self) -> String {
        self.with(|s| s.target())
    }
    fn check(&mut self) -> Result<(), EnrollError> {
        self.with(|s| s.check())
    }
    fn lookup(&mut self, seed: &TokenSeed) -> Result<Presence, EnrollError> {
        self.with(|s| s.lookup(seed))
    }
    fn is_enrolled(&mut self, serial: &str) -> Result<bool, EnrollError> {
        self.with(|s| s.is_enrolled(serial))
    }
    fn register(&mut self, seed: &TokenSeed) -> Result<(), EnrollError> {
        self.with(|s| s.register(seed))
    }
}

const PASS: &str = "correct horse battery staple";

fn seal() -> JournalSeal {
    let mut s = JournalSeal::new(SecretString::from(PASS.to_owned()));
    s.iterations = 1_000; // the minimum: the tests open the journal many times
    s
}

fn enrolling(path: &std::path::Path, clock: &ManualClock, server: &Server) -> BatchConfig {
    let mut c = config(path, random_seeds(), clock, true);
    c.enroller = Some(server.boxed());
    c.journal_seal = Some(seal());
    c
}

fn run(config: BatchConfig, tokens: &[&Token]) -> BatchReport {
    let station = PoolStation::boxed("r", tokens.iter().map(|t| Presentation::plain(t)).collect());
    batch::prepare(config)
        .unwrap()
        .run(vec![station], &Cancel::new(), &|_| {})
        .unwrap()
}

fn load(path: &std::path::Path) -> JournalState {
    JournalState::load_with(path, Some(&SecretString::from(PASS.to_owned())))
        .unwrap()
        .0
}

fn tokens(clock: &ManualClock, n: usize) -> Vec<Token> {
    (1..=n)
        .map(|i| token(&format!("86596220000{i:02}"), clock))
        .collect()
}

#[test]
fn every_burned_token_is_enrolled_and_the_journal_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let clock = ManualClock::new(T0);
    let server = Server::default();
    let ts = tokens(&clock, 3);
    let refs: Vec<&Token> = ts.iter().collect();
    let report = run(enrolling(&path, &clock, &server), &refs);
    assert_eq!(report.summary.burned, 3);
    assert_eq!(report.summary.enrolled, 3);
    assert_eq!(report.summary.enroll_failed, 0);
    assert!(report.summary.not_enrolled.is_empty());
    assert!(!report.summary.resume_needed());
    let journal = load(&path);
    for t in &ts {
        let serial = state(t).serial;
        let entry = journal.get(&serial).unwrap();
        assert!(entry.is_enrolled_in("memory"), "{serial}");
    }
    server.with(|s| {
        assert_eq!(s.registrations, 3);
        assert_eq!(s.serials().len(), 3);
    });
}

#[test]
fn a_server_down_during_the_burn_is_caught_up_on_resume_without_touching_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let clock = ManualClock::new(T0);
    let server = Server::default();
    let ts = tokens(&clock, 3);
    let refs: Vec<&Token> = ts.iter().collect();

    // The server answers the check before the batch, then goes down after the first
    // token's enrollment (a fault between burn and enrollment for the next ones).
    let first = {
        let mut c = enrolling(&path, &clock, &server);
        c.max_tokens = Some(1);
        run(c, &refs[..1])
    };
    assert_eq!(first.summary.enrolled, 1);
    server.with(|s| s.down = true);
    let mut c = enrolling(&path, &clock, &server);
    c.resume = true;
    // prepare checks the server: down means refused before any token is touched.
    let refused = batch::prepare(c)
        .err()
        .expect("a down server is refused up front");
    assert!(matches!(refused, BatchError::Enroll(_)), "{refused}");
    // It comes back for the check, then fails for every registration.
    server.with(|s| s.down = false);
    let mut c = enrolling(&path, &clock, &server);
    c.resume = true;
    let prepared = batch::prepare(c).unwrap();
    server.with(|s| s.down = true);
    let station = PoolStation::boxed(
        "r",
        refs[1..].iter().map(|t| Presentation::plain(t)).collect(),
    );
    let report = prepared
        .run(vec![station], &Cancel::new(), &|_| {})
        .unwrap();
    assert_eq!(report.summary.burned, 2, "{:?}", report.summary);
    assert_eq!(report.summary.enrolled, 0);
    assert_eq!(report.summary.not_enrolled.len(), 2);
    assert!(report.summary.resume_needed());
    let burned_seeds: Vec<Option<String>> = ts.iter().map(|t| state(t).seed_hex).collect();

    // Resume with the server back and no token placed: the two are enrolled from the
    // journal; the tokens are not touched (their stored seeds do not change).
    server.with(|s| s.down = false);
    let mut c = enrolling(&path, &clock, &server);
    c.resume = true;
    let report = run(c, &[]);
    assert_eq!(report.summary.enrolled, 2, "{:?}", report.summary);
    assert!(report.summary.not_enrolled.is_empty());
    assert!(!report.summary.resume_needed());
    let after: Vec<Option<String>> = ts.iter().map(|t| state(t).seed_hex).collect();
    assert_eq!(burned_seeds, after);
    server.with(|s| {
        assert_eq!(s.serials().len(), 3);
        assert_eq!(s.registrations, 3, "each token registered once");
    });

    // Once more: nothing left, nothing sent.
    let mut c = enrolling(&path, &clock, &server);
    c.resume = true;
    let refs: Vec<&Token> = ts.iter().collect();
    let report = run(c, &refs);
    assert_eq!(report.summary.enrolled, 0);
    assert_eq!(report.summary.burned, 0);
    server.with(|s| assert_eq!(s.registrations, 3));
}

#[test]
fn a_lost_reply_is_found_on_resume_and_not_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let clock = ManualClock::new(T0);
    let server = Server::default();
    let ts = tokens(&clock, 2);
    let refs: Vec<&Token> = ts.iter().collect();
    server.with(|s| s.lose_replies = 1);
    let report = run(enrolling(&path, &clock, &server), &refs);
    assert_eq!(report.summary.burned, 2);
    assert_eq!(report.summary.enroll_failed, 1);
    assert_eq!(report.summary.not_enrolled.len(), 1);

    let mut c = enrolling(&path, &clock, &server);
    c.resume = true;
    let report = run(c, &[]);
    assert_eq!(report.summary.enrolled, 1, "found there with its seed");
    assert!(report.summary.not_enrolled.is_empty());
    server.with(|s| assert_eq!(s.registrations, 2, "the stored one is not sent again"));
}

#[test]
fn a_serial_the_server_holds_with_another_seed_is_a_conflict_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let clock = ManualClock::new(T0);
    let server = Server::default();
    let ts = tokens(&clock, 1);
    server.with(|s| s.insert_foreign(&state(&ts[0]).serial));
    let report = run(enrolling(&path, &clock, &server), &[&ts[0]]);
    assert_eq!(report.summary.burned, 1);
    assert_eq!(report.summary.enroll_failed, 1);
    assert_eq!(report.summary.not_enrolled.len(), 1);
    server.with(|s| assert_eq!(s.registrations, 0, "never overwritten"));
}

#[test]
fn the_sealed_journal_holds_no_seed_in_clear_and_opens_only_with_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let clock = ManualClock::new(T0);
    let server = Server::default();
    let ts = tokens(&clock, 3);
    let refs: Vec<&Token> = ts.iter().collect();
    run(enrolling(&path, &clock, &server), &refs);
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&bytes).to_ascii_uppercase();
    for t in &ts {
        // The token's own copy of its seed (the simulator's state, not the journal's).
        let hex = state(t).seed_hex.unwrap();
        let raw = data_encoding::HEXUPPER.decode(hex.as_bytes()).unwrap();
        let seed = &raw[..20];
        let forms = [
            data_encoding::HEXUPPER.encode(seed),
            data_encoding::BASE32_NOPAD.encode(seed),
            data_encoding::BASE64.encode(seed).to_ascii_uppercase(),
        ];
        for f in forms {
            assert!(!text.contains(&f[..24]), "a seed in clear in the journal");
        }
    }
    // The right passphrase opens every seed; a wrong one is refused as such.
    let journal = load(&path);
    assert_eq!(journal.done_serials().count(), 3);
    let wrong = JournalState::load_with(&path, Some(&SecretString::from("nope".to_owned())));
    assert!(wrong.is_err());
    let none = JournalState::load_with(&path, None);
    assert!(none.is_err(), "a sealed journal needs its passphrase");
}

#[test]
fn enrollment_needs_a_seal_and_no_plain_export_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let clock = ManualClock::new(T0);
    let server = Server::default();

    let mut c = enrolling(&path, &clock, &server);
    c.journal_seal = None;
    let e = batch::prepare(c).err().unwrap();
    assert!(matches!(e, BatchError::EnrollNeedsSeal), "{e}");

    for format in [Format::VendorCsv, Format::Pskc, Format::PrivacyIdeaCsv] {
        let mut c = enrolling(&path, &clock, &server);
        c.exports = vec![ExportTarget {
            kind: ExportKind::File(format),
            path: dir.path().join("out"),
        }];
        let e = batch::prepare(c).err().unwrap();
        assert!(
            matches!(e, BatchError::ExportFormat { .. }),
            "{format:?}: {e}"
        );
    }
    assert!(!path.exists(), "nothing created");
    server.with(|s| assert_eq!(s.registrations, 0));
}
