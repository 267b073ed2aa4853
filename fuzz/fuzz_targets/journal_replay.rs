#![no_main]
//! Arbitrary bytes as a journal: replay never panics, its state keeps the journal's rules,
//! and a batch resumed from it (over virtual tokens with the journal's serials) re-burns
//! every uncertain token with its recorded seed and never gives one serial's seed to
//! another.

use std::path::Path;
use std::sync::Arc;

use safeid::batch::{self, BatchConfig, BatchSeeds, Cancel};
use safeid::journal::{JournalOptions, JournalState};
use safeid::proto::HmacAlgorithm;
use safeid::transport::Station;
use safeid_sim::{ManualClock, SimStation};

fn check_state(state: &JournalState) {
    for s in state.iter() {
        assert_eq!(
            state.get(&s.seed.serial).map(|x| &x.seed.serial),
            Some(&s.seed.serial)
        );
        assert_eq!(
            state.resume_seed(&s.seed.serial).is_some(),
            s.is_uncertain()
        );
        assert!(!(s.is_done() && s.is_uncertain()));
    }
    assert_eq!(state.records().len(), state.done_serials().count());
}

fn resume(bytes: &[u8], state: &JournalState) {
    let serials: Vec<String> = state.iter().map(|s| s.seed.serial.clone()).collect();
    // Serials a virtual token reports whole (printable ASCII, short).
    let usable = |s: &String| s.len() <= 32 && s.bytes().all(|b| b.is_ascii_graphic());
    if serials.is_empty() || serials.len() > 4 || !serials.iter().all(usable) {
        return;
    }
    let Ok(dir) = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()) else {
        return;
    };
    let path = dir.path().join("journal");
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let clock = ManualClock::new(1_900_000_000);
    let queue: Box<dyn Iterator<Item = String> + Send> = Box::new(serials.clone().into_iter());
    let station = SimStation::new(
        "fuzz",
        Arc::new(std::sync::Mutex::new(queue)),
        Arc::new(clock.clone()),
    );
    let placed = station.placed();
    let seeds = BatchSeeds::Random {
        bytes: 20,
        hash: HmacAlgorithm::Sha1,
        period: 30,
    };
    let mut config = BatchConfig::new(&path, seeds);
    config.resume = true;
    config.journal_options = JournalOptions { fsync: false };
    config.provisioner = config.provisioner.clone().with_clock(Arc::new(clock));
    let Ok(prepared) = batch::prepare(config) else {
        return;
    };
    let stations: Vec<Box<dyn Station>> = vec![Box::new(station)];
    let Ok(report) = prepared.run(stations, &Cancel::new(), &|_| {}) else {
        return;
    };
    for token in placed.lock().map(|p| p.clone()).unwrap_or_default() {
        let Some(t) = token.lock().map(|t| t.state()).ok() else {
            continue;
        };
        let Some(seed) = t.seed_hex else { continue };
        let entry = report
            .journal
            .get(&t.serial)
            .expect("a burned token is in the journal");
        let mut want = entry.seed.secret.expose().to_vec();
        want.resize(want.len().max(20), 0);
        assert_eq!(
            seed,
            data_encoding::HEXUPPER.encode(&want),
            "token {}",
            t.serial
        );
        if let Some(old) = state.get(&t.serial).filter(|s| s.is_uncertain()) {
            assert!(
                entry.seed.same_seed(&old.seed),
                "uncertain {} got a new seed",
                t.serial
            );
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok((state, recovery)) = JournalState::from_bytes(data, Path::new("fuzz")) else {
        return;
    };
    for a in &recovery.anomalies {
        let _ = a.to_string();
    }
    check_state(&state);
    resume(data, &state);
});
