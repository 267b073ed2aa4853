//! Batch provisioning against streams of virtual tokens: seeds by serial, random seeds,
//! two readers sharing one journal, resume, and faults at every APDU. The invariant checked
//! everywhere: every seed a token holds is in the journal under that token's serial.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use safeid::batch::{BatchOptions, BatchSeeds, OnError, TokenOutcome, run_batch};
use safeid::journal::{Journal, JournalOptions, JournalState};
use safeid::otpauth::Credential;
use safeid::sim::{Faults, ManualClock, Placed, SimStation, TokenSpec, serial_queue};
use safeid::sources::SeedFile;
use safeid::transport::Station;

const T0: u64 = 1_800_000_005;

/// Fresh 20-byte SHA-1 / 30 s seeds, the vendor tool's default.
fn random_seeds() -> BatchSeeds {
    BatchSeeds::Random {
        bytes: 20,
        hash: safeid::record::HashFunction::Sha1,
        period: 30,
    }
}

fn options(clock: &ManualClock) -> BatchOptions {
    let c = clock.clone();
    BatchOptions {
        clock: Some(Arc::new(move || safeid::sim::Clock::now(&c))),
        ..BatchOptions::default()
    }
}

fn placed_tokens(stations: &[Placed]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for placed in stations {
        for token in placed.lock().unwrap().iter() {
            let state = token.lock().unwrap().state();
            out.push((state.serial, state.seed_hex));
        }
    }
    out
}

/// Every seed on a token is the journal's seed for that serial (zero-extended to 20 bytes
/// as the protocol sends it).
fn assert_no_seed_lost(tokens: &[(String, Option<String>)], journal: &JournalState) {
    for (serial, seed) in tokens {
        let Some(seed) = seed else { continue };
        let entry = journal
            .get(serial)
            .unwrap_or_else(|| panic!("token {serial} holds a seed the journal does not know"));
        let mut known = entry.seed.secret.expose().to_vec();
        if known.len() < 20 {
            known.resize(20, 0);
        }
        let known_hex = data_encoding::HEXUPPER.encode(&known);
        let in_history = entry.history.iter().any(|h| {
            let mut b = h.secret.expose().to_vec();
            b.resize(b.len().max(20), 0);
            data_encoding::HEXUPPER.encode(&b) == *seed
        });
        assert!(
            known_hex == *seed || in_history,
            "token {serial}: its seed is not the journal's"
        );
    }
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
    let (mut journal, _) = Journal::open(&dir.path().join("journal")).unwrap();
    let queue = serial_queue("8659622", 0, 6, 6);
    let a = SimStation::new("reader A", queue.clone(), Arc::new(clock.clone()));
    let b = SimStation::new("reader B", queue, Arc::new(clock.clone()));
    let placed = vec![a.placed(), b.placed()];
    let events = Mutex::new(Vec::new());
    let summary = run_batch(
        vec![Box::new(a) as Box<dyn Station>, Box::new(b)],
        &mut journal,
        BatchSeeds::File(file),
        &options(&clock),
        &|e| events.lock().unwrap().push(e.serial.clone()),
    );
    assert_eq!(summary.burned, 6, "{summary:?}");
    assert_eq!(summary.failed, 0);
    assert!(summary.uncertain.is_empty());
    for (serial, seed) in placed_tokens(&placed) {
        assert_eq!(
            seed.as_deref(),
            Some(expected[&serial].as_str()),
            "{serial}"
        );
    }
    assert_eq!(events.lock().unwrap().len(), 6);
    assert_eq!(journal.state().done_serials().count(), 6);
}

#[test]
fn a_token_missing_from_the_seed_file_is_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let file = SeedFile::parse("8659622000000,JBSWY3DPEHPK3PXP\n").unwrap();
    let (mut journal, _) = Journal::open(&dir.path().join("journal")).unwrap();
    let station = SimStation::new(
        "r",
        serial_queue("8659622", 0, 2, 6),
        Arc::new(clock.clone()),
    );
    let placed = station.placed();
    let outcomes = Mutex::new(Vec::new());
    let summary = run_batch(
        vec![Box::new(station)],
        &mut journal,
        BatchSeeds::File(file),
        &options(&clock),
        &|e| {
            outcomes
                .lock()
                .unwrap()
                .push(matches!(e.outcome, TokenOutcome::Burned(_)))
        },
    );
    assert_eq!((summary.burned, summary.failed), (1, 1));
    let tokens = placed_tokens(&[placed]);
    assert_eq!(tokens[1].1, None, "the second token got nothing");
    let apdus = tokens.len();
    assert_eq!(apdus, 2);
    assert_no_seed_lost(&tokens, journal.state());
}

#[test]
fn random_seeds_are_journaled_before_they_are_burned() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let (mut journal, _) = Journal::open(&dir.path().join("journal")).unwrap();
    let station = SimStation::new(
        "r",
        serial_queue("8659612", 0, 5, 6),
        Arc::new(clock.clone()),
    );
    let placed = station.placed();
    let summary = run_batch(
        vec![Box::new(station)],
        &mut journal,
        random_seeds(),
        &options(&clock),
        &|_| {},
    );
    assert_eq!(summary.burned, 5);
    let tokens = placed_tokens(&[placed]);
    assert_no_seed_lost(&tokens, journal.state());
    // Reopened from disk, the journal still has them all, and distinct.
    drop(journal);
    let (journal, recovery) = Journal::open(&dir.path().join("journal")).unwrap();
    let _ = recovery;
    assert_no_seed_lost(&tokens, journal.state());
    let mut seeds: Vec<_> = tokens.iter().map(|t| t.1.clone().unwrap()).collect();
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
    let seeds = BatchSeeds::credentials(creds, &Default::default()).unwrap();
    let (mut journal, _) = Journal::open(&dir.path().join("journal")).unwrap();
    let station = SimStation::new(
        "r",
        serial_queue("8659632", 0, 10, 6),
        Arc::new(clock.clone()),
    );
    let placed = station.placed();
    let summary = run_batch(
        vec![Box::new(station)],
        &mut journal,
        seeds,
        &options(&clock),
        &|_| {},
    );
    assert_eq!(summary.burned, 2);
    assert!(summary.stopped.is_some());
    let tokens = placed_tokens(&[placed]);
    assert_eq!(
        tokens[0].1.as_deref(),
        Some("3132333435363738393031323334353637383930")
    );
    assert_no_seed_lost(&tokens, journal.state());
}

#[test]
fn hotp_credentials_are_refused_before_the_batch_starts() {
    let creds =
        vec![Credential::parse("otpauth://hotp/X:u?secret=JBSWY3DPEHPK3PXP&counter=3").unwrap()];
    assert!(BatchSeeds::credentials(creds, &Default::default()).is_err());
}

/// The card leaves at every APDU of the second token's burn (before delivery and in
/// flight); afterwards a resumed batch on the same tokens finishes the job, re-burning
/// an uncertain token with the seed the journal already has for it.
#[test]
fn faults_at_every_apdu_lose_no_seed_and_resume_finishes() {
    for k in 0..5 {
        for in_flight in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("journal");
            let clock = ManualClock::new(T0);
            let faulty_serial = "8659622000001".to_owned();
            let fs = faulty_serial.clone();
            let factory: safeid::sim::TokenFactory = Arc::new(move |serial: &str| {
                let faults = if serial == fs {
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
                } else {
                    Faults::default()
                };
                (TokenSpec::token2(serial), faults)
            });
            let station = SimStation::with_factory(
                "r",
                serial_queue("8659622", 0, 3, 6),
                Arc::new(clock.clone()),
                factory,
            );
            let placed = station.placed();
            let (mut journal, _) = Journal::open(&path).unwrap();
            let summary = run_batch(
                vec![Box::new(station)],
                &mut journal,
                random_seeds(),
                &options(&clock),
                &|_| {},
            );
            let what = format!("k={k} in_flight={in_flight}: {summary:?}");
            assert_eq!(summary.burned, 2, "{what}");
            assert_eq!(summary.failed, 1, "{what}");
            let tokens = placed_tokens(std::slice::from_ref(&placed));
            assert_no_seed_lost(&tokens, journal.state());
            let uncertain = k == 4 && in_flight;
            assert_eq!(
                summary.uncertain,
                if uncertain {
                    vec![faulty_serial.clone()]
                } else {
                    vec![]
                },
                "{what}"
            );
            // Faults at get info happen before the serial is known: nothing is journaled.
            let before = journal
                .state()
                .get(&faulty_serial)
                .map(|e| e.seed.secret.clone());
            assert_eq!(before.is_some(), k > 0, "{what}");
            drop(journal);

            // Resume: the same three tokens come back (the faulty one now works).
            let (mut journal, _) = Journal::open(&path).unwrap();
            let station = SimStation::new(
                "r",
                serial_queue("8659622", 0, 3, 6),
                Arc::new(clock.clone()),
            );
            let placed2 = station.placed();
            let summary = run_batch(
                vec![Box::new(station)],
                &mut journal,
                random_seeds(),
                &options(&clock),
                &|_| {},
            );
            assert_eq!((summary.burned, summary.already_done), (1, 2), "{what}");
            let after = journal
                .state()
                .get(&faulty_serial)
                .unwrap()
                .seed
                .secret
                .clone();
            if uncertain {
                assert_eq!(
                    before,
                    Some(after),
                    "an uncertain token is re-burned with its own seed"
                );
            }
            let tokens2 = placed_tokens(&[placed2]);
            assert_no_seed_lost(&tokens2, journal.state());
            assert!(journal.state().uncertain().next().is_none());
        }
    }
}

#[test]
fn stop_on_error_stops_every_station() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let factory: safeid::sim::TokenFactory = Arc::new(|serial: &str| {
        // Every token has a key the table does not know: the first refusal stops all.
        (TokenSpec::new(serial, [9; 16]), Faults::default())
    });
    let (mut journal, _) = Journal::open(&dir.path().join("journal")).unwrap();
    let station = SimStation::with_factory(
        "r",
        serial_queue("8659622", 0, 50, 6),
        Arc::new(clock.clone()),
        factory,
    );
    let placed = station.placed();
    let mut opts = options(&clock);
    opts.on_error = OnError::Stop;
    let summary = run_batch(
        vec![Box::new(station)],
        &mut journal,
        random_seeds(),
        &opts,
        &|_| {},
    );
    assert_eq!((summary.burned, summary.failed), (0, 1));
    assert!(summary.stopped.unwrap().contains("refused"));
    assert_eq!(placed.lock().unwrap().len(), 1);
}

#[test]
fn a_thousand_virtual_tokens_on_two_readers() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let (mut journal, _) =
        Journal::open_with(&dir.path().join("journal"), JournalOptions { fsync: true }).unwrap();
    let queue = serial_queue("8659612", 0, 1000, 6);
    let a = SimStation::new("A", queue.clone(), Arc::new(clock.clone()));
    let b = SimStation::new("B", queue, Arc::new(clock.clone()));
    let placed = vec![a.placed(), b.placed()];
    let summary = run_batch(
        vec![Box::new(a) as Box<dyn Station>, Box::new(b)],
        &mut journal,
        random_seeds(),
        &options(&clock),
        &|_| {},
    );
    assert_eq!(summary.burned, 1000, "{summary:?}");
    let tokens = placed_tokens(&placed);
    assert_eq!(tokens.len(), 1000);
    assert!(placed[0].lock().unwrap().len() > 100, "both readers worked");
    assert!(placed[1].lock().unwrap().len() > 100, "both readers worked");
    assert_no_seed_lost(&tokens, journal.state());
}

#[test]
fn a_journal_has_one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal");
    let (first, _) = Journal::open(&path).unwrap();
    let second = Journal::open(&path);
    assert!(
        matches!(second, Err(safeid::journal::JournalError::InUse)),
        "{second:?}"
    );
    drop(first);
    assert!(Journal::open(&path).is_ok(), "the lock goes with the file");
}
