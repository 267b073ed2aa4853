//! Batch provisioning (`safeid::batch`: prepare, then run) against virtual tokens: seeds by
//! serial, random seeds, credential lists, two readers sharing one journal, resume on the
//! very tokens an earlier run left, stop on error, one writer per journal, and the card
//! removed at every APDU. The invariant checked everywhere, against the virtual tokens'
//! own state: every seed a token holds is in the journal under that token's serial, and
//! every token the journal calls done holds exactly the journal's seed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/batch.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use safeid::PlanError;
use safeid::batch::{
    self, BatchError, BatchEvent, BatchReport, BatchSeeds, Cancel, OnError, TokenOutcome,
};
use safeid::journal::{Journal, JournalError};
use safeid::otpauth::Credential;
use safeid::sources::SeedFile;
use safeid::transport::Station;
use safeid_sim::{Faults, ManualClock, Placed, SimStation, TokenFactory, TokenSpec, serial_queue};
use support::{
    PoolStation, Presentation, T0, assert_done_tokens_hold_their_seed, assert_no_seed_lost, config,
    random_seeds, state, token,
};

fn placed_states(stations: &[Placed]) -> Vec<safeid_sim::TokenState> {
    stations
        .iter()
        .flat_map(|p| {
            p.lock()
                .unwrap()
                .iter()
                .map(|t| t.lock().unwrap().state())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn run(
    config: batch::BatchConfig,
    stations: Vec<Box<dyn Station>>,
    on_event: &(dyn Fn(&BatchEvent) + Sync),
) -> BatchReport {
    batch::prepare(config)
        .unwrap()
        .run(stations, &Cancel::new(), on_event)
        .unwrap()
}

#[test]
fn seed_file_batch_gives_each_token_its_own_row() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    // Seeds: the serial's last digit repeated, as hex, so each row is recognisable.
    let mut csv = String::from("serial,secret\n");
    let mut expected = HashMap::new();
    for n in 0..6u64 {
        let serial = format!("8659622{n:06}");
        let hex = format!("{n}{n}").repeat(20);
        csv.push_str(&format!("{serial},{hex}\n"));
        expected.insert(serial, hex);
    }
    let file = SeedFile::parse(&csv).unwrap();
    let queue = serial_queue("8659622", 0, 6, 6);
    let a = SimStation::new("reader A", queue.clone(), Arc::new(clock.clone()));
    let b = SimStation::new("reader B", queue, Arc::new(clock.clone()));
    let placed = vec![a.placed(), b.placed()];
    let finished = Mutex::new(Vec::new());
    let report = run(
        config(
            &dir.path().join("journal"),
            BatchSeeds::File(file),
            &clock,
            true,
        ),
        vec![Box::new(a), Box::new(b)],
        &|e| {
            if let BatchEvent::Finished(t) = e {
                finished.lock().unwrap().push(t.serial.clone().unwrap());
            }
        },
    );
    let summary = &report.summary;
    assert_eq!(summary.burned, 6, "{summary:?}");
    assert_eq!(summary.failed, 0);
    assert!(summary.uncertain.is_empty());
    assert!(!summary.resume_needed());
    for s in placed_states(&placed) {
        assert_eq!(
            s.seed_hex.as_deref(),
            Some(expected[&s.serial].as_str()),
            "{}",
            s.serial
        );
    }
    assert_eq!(finished.lock().unwrap().len(), 6);
    assert_eq!(report.journal.done_serials().count(), 6);
}

#[test]
fn a_token_missing_from_the_seed_file_is_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let file = SeedFile::parse("8659622000000,JBSWY3DPEHPK3PXP\n").unwrap();
    let (t0, t1) = (
        token("8659622000000", &clock),
        token("8659622000001", &clock),
    );
    let report = run(
        config(
            &dir.path().join("journal"),
            BatchSeeds::File(file),
            &clock,
            true,
        ),
        vec![PoolStation::boxed(
            "r",
            vec![Presentation::plain(&t0), Presentation::plain(&t1)],
        )],
        &|_| {},
    );
    assert_eq!((report.summary.burned, report.summary.failed), (1, 1));
    let second = state(&t1);
    assert_eq!(second.seed_hex, None, "the second token got nothing");
    assert_eq!(second.config_writes, 0);
    assert!(
        support::ins_log(&t1).iter().all(|&ins| ins == 0x41),
        "only get info reached the token without a row"
    );
    assert!(
        report.journal.get("8659622000001").is_none(),
        "nothing journaled"
    );
    let states = [state(&t0), second];
    assert_no_seed_lost(&states, &report.journal, "missing row");
    assert_done_tokens_hold_their_seed(&states, &report.journal, "missing row");
}

#[test]
fn random_seeds_are_journaled_before_they_are_burned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let clock = ManualClock::new(T0);
    let station = SimStation::new(
        "r",
        serial_queue("8659612", 0, 5, 6),
        Arc::new(clock.clone()),
    );
    let placed = station.placed();
    let report = run(
        config(&path, random_seeds(), &clock, true),
        vec![Box::new(station)],
        &|_| {},
    );
    assert_eq!(report.summary.burned, 5);
    let states = placed_states(&[placed]);
    assert_no_seed_lost(&states, &report.journal, "random");
    assert_done_tokens_hold_their_seed(&states, &report.journal, "random");
    // Reopened from disk, the journal still has them all, and distinct.
    let (journal, recovery) = Journal::open(&path).unwrap();
    assert!(recovery.anomalies.is_empty() && recovery.torn_tail.is_none());
    assert_done_tokens_hold_their_seed(&states, journal.state(), "reopened");
    assert_eq!(journal.state().done_serials().count(), 5);
    let mut seeds: Vec<_> = states.iter().map(|t| t.seed_hex.clone().unwrap()).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 5);
}

#[test]
fn one_uri_per_token_and_the_batch_ends_when_they_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let creds: Vec<Credential> = ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "JBSWY3DPEHPK3PXP"]
        .iter()
        .map(|s| Credential::parse(&format!("otpauth://totp/X:u?secret={s}")).unwrap())
        .collect();
    let station = SimStation::new(
        "r",
        serial_queue("8659632", 0, 10, 6),
        Arc::new(clock.clone()),
    );
    let placed = station.placed();
    let report = run(
        config(
            &dir.path().join("journal"),
            BatchSeeds::Credentials(creds),
            &clock,
            true,
        ),
        vec![Box::new(station)],
        &|_| {},
    );
    assert_eq!(report.summary.burned, 2);
    assert!(report.summary.stopped.is_some());
    assert_eq!(report.summary.credentials_left, Some(0));
    let states = placed_states(&[placed]);
    // RFC 4226's seed, then RFC 4648's "Hello!\xDE\xAD\xBE\xEF" zero-extended to 20 bytes.
    assert_eq!(
        states[0].seed_hex.as_deref(),
        Some("3132333435363738393031323334353637383930")
    );
    assert_eq!(
        states[1].seed_hex.as_deref(),
        Some("48656C6C6F21DEADBEEF00000000000000000000")
    );
    assert!(
        states[2..].iter().all(|s| s.seed_hex.is_none()),
        "tokens after the list ran out are not burned"
    );
    assert_no_seed_lost(&states, &report.journal, "uris");
    assert_done_tokens_hold_their_seed(&states, &report.journal, "uris");
}

#[test]
fn hotp_credentials_are_refused_before_the_batch_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let creds =
        vec![Credential::parse("otpauth://hotp/X:u?secret=JBSWY3DPEHPK3PXP&counter=3").unwrap()];
    let clock = ManualClock::new(T0);
    let err = batch::prepare(config(&path, BatchSeeds::Credentials(creds), &clock, true))
        .err()
        .expect("HOTP is refused");
    assert!(
        matches!(
            &err,
            BatchError::Seed {
                source: PlanError::Hotp,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!path.exists(), "no journal was created");
}

fn faults(k: usize, in_flight: bool) -> Faults {
    if in_flight {
        Faults {
            remove_in_flight_after: Some(k),
            ..Faults::default()
        }
    } else {
        Faults {
            remove_after: Some(k),
            ..Faults::default()
        }
    }
}

/// The card leaves at every APDU of the second token (before delivery and in flight):
/// get info of the read (0), then the burn's get info, challenge, authenticate, config,
/// seed (1..=5). Afterwards a resumed batch meets the same three tokens and finishes the
/// job; the faulty token gets the seed the journal already has for it (with random seeds
/// a serial the journal knows always keeps its recorded seed).
#[test]
fn faults_at_every_apdu_lose_no_seed_and_resume_finishes() {
    for k in 0..6 {
        for in_flight in [false, true] {
            let what = format!("k={k} in_flight={in_flight}");
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("journal");
            let clock = ManualClock::new(T0);
            let tokens: Vec<_> = (0..3)
                .map(|n| token(&format!("865962200000{n}"), &clock))
                .collect();
            let faulty = "8659622000001";
            let first = vec![
                Presentation::plain(&tokens[0]),
                Presentation::with(&tokens[1], faults(k, in_flight)),
                Presentation::plain(&tokens[2]),
            ];
            let report = run(
                config(&path, random_seeds(), &clock, true),
                vec![PoolStation::boxed("r", first)],
                &|_| {},
            );
            let summary = &report.summary;
            assert_eq!((summary.burned, summary.failed), (2, 1), "{what}");
            assert!(summary.resume_needed(), "{what}");
            let states: Vec<_> = tokens.iter().map(state).collect();
            assert_no_seed_lost(&states, &report.journal, &what);
            assert_done_tokens_hold_their_seed(&states, &report.journal, &what);
            // Only a seed write whose reply was lost leaves the token uncertain (this is a
            // restricted model: a config write without the seed proves it blank, and a lost
            // config reply proves nothing about a seed that was never sent).
            let uncertain = k == 5 && in_flight;
            let expect: Vec<String> = if uncertain {
                vec![faulty.into()]
            } else {
                vec![]
            };
            assert_eq!(summary.uncertain, expect, "{what}");
            // A fault at the read happens before the serial is known: nothing is journaled.
            let before = report.journal.get(faulty).map(|e| e.seed.secret.clone());
            assert_eq!(before.is_some(), k > 0, "{what}");

            // Resume: the same three tokens come back (the faulty one now works).
            let mut again = config(&path, random_seeds(), &clock, true);
            again.resume = true;
            let report = run(
                again,
                vec![PoolStation::boxed(
                    "r",
                    tokens.iter().map(Presentation::plain).collect(),
                )],
                &|_| {},
            );
            let summary = &report.summary;
            assert_eq!((summary.burned, summary.already_done), (1, 2), "{what}");
            assert!(!summary.resume_needed(), "{what}: {summary:?}");
            let entry = report.journal.get(faulty).unwrap();
            if let Some(before) = before {
                assert_eq!(
                    before, entry.seed.secret,
                    "{what}: the recorded seed is kept"
                );
                assert!(entry.history.is_empty(), "{what}");
            }
            let states: Vec<_> = tokens.iter().map(state).collect();
            assert_no_seed_lost(&states, &report.journal, &what);
            assert_done_tokens_hold_their_seed(&states, &report.journal, &what);
            assert!(report.journal.uncertain().next().is_none(), "{what}");
        }
    }
}

#[test]
fn stop_on_error_stops_every_station() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let factory: TokenFactory = Arc::new(|serial: &str| {
        // Every token has a key the table does not know: the first refusal stops all.
        (TokenSpec::new(serial, [9; 16]), Faults::default())
    });
    let station = SimStation::with_factory(
        "r",
        serial_queue("8659622", 0, 50, 6),
        Arc::new(clock.clone()),
        factory,
    );
    let placed = station.placed();
    let mut c = config(&dir.path().join("journal"), random_seeds(), &clock, true);
    c.on_error = OnError::Stop;
    let failures = Mutex::new(Vec::new());
    let report = run(c, vec![Box::new(station)], &|e| {
        if let BatchEvent::Finished(t) = e
            && let TokenOutcome::Failed(err) = &t.outcome
        {
            failures.lock().unwrap().push(err.kind());
        }
    });
    assert_eq!((report.summary.burned, report.summary.failed), (0, 1));
    assert_eq!(*failures.lock().unwrap(), ["key_refused"]);
    assert!(report.summary.stopped.unwrap().contains("refused"));
    assert_eq!(placed.lock().unwrap().len(), 1);
}

#[test]
fn a_thousand_virtual_tokens_on_two_readers() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let queue = serial_queue("8659612", 0, 1000, 6);
    let a = SimStation::new("A", queue.clone(), Arc::new(clock.clone()));
    let b = SimStation::new("B", queue, Arc::new(clock.clone()));
    let placed = vec![a.placed(), b.placed()];
    let report = run(
        config(&dir.path().join("journal"), random_seeds(), &clock, true),
        vec![Box::new(a), Box::new(b)],
        &|_| {},
    );
    assert_eq!(report.summary.burned, 1000, "{:?}", report.summary);
    let states = placed_states(&placed);
    assert_eq!(states.len(), 1000);
    assert!(placed[0].lock().unwrap().len() > 100, "both readers worked");
    assert!(placed[1].lock().unwrap().len() > 100, "both readers worked");
    assert_no_seed_lost(&states, &report.journal, "1000");
    assert_done_tokens_hold_their_seed(&states, &report.journal, "1000");
}

#[test]
fn a_journal_has_one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let (first, _) = Journal::open(&path).unwrap();
    let second = Journal::open(&path);
    assert!(matches!(second, Err(JournalError::InUse)), "{second:?}");

    // A batch on a journal another writer holds is refused, and touches no token.
    let clock = ManualClock::new(T0);
    let t = token("8659612000001", &clock);
    let mut c = config(&path, random_seeds(), &clock, true);
    c.resume = true;
    let result = batch::prepare(c).unwrap().run(
        vec![PoolStation::boxed("r", vec![Presentation::plain(&t)])],
        &Cancel::new(),
        &|_| {},
    );
    assert!(
        matches!(result, Err(BatchError::Journal(JournalError::InUse))),
        "{result:?}"
    );
    assert_eq!(state(&t).apdu_count, 0);

    drop(first);
    assert!(Journal::open(&path).is_ok(), "the lock goes with the file");
}
