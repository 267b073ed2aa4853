//! `kill -9` of a process in the middle of a batch: this test binary runs itself as a child
//! that appends to a journal in a loop (planning, burning and verifying serials, resuming
//! whatever it finds), and the parent SIGKILLs it at random moments, several times, then
//! checks that every serial is there, in order, with its own seed, and that only the last
//! one may be uncertain.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use safeid::journal::{Journal, JournalState};
use safeid::record::TokenSeed;
use safeid::secret::SecretBytes;

const CHILD_ENV: &str = "SAFEID_JOURNAL_KILL_CHILD";

fn serial(n: usize) -> String {
    format!("K{n:06}")
}

/// The seed of serial `n`: its bytes name the serial, so misattribution is visible.
fn seed_of(n: usize) -> TokenSeed {
    let mut bytes = format!("seed-for-{}", serial(n)).into_bytes();
    bytes.resize(20, b'.');
    TokenSeed::new(serial(n), SecretBytes::from(bytes))
}

/// The child: resume the batch in the journal named by the environment, then keep going
/// until killed (or for at most 30 seconds, should the parent be gone).
#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (mut journal, _) = Journal::open(Path::new(&path)).unwrap();
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < Duration::from_secs(30) {
        let state = journal.state().get(&serial(n)).cloned();
        match state {
            Some(s) if s.is_done() => {}
            Some(s) => {
                // Uncertain: re-burn the kept seed, exactly as `--resume` does.
                assert!(s.seed.same_seed(&seed_of(n)));
                journal.plan(&s.seed).unwrap();
                journal.mark_burned(&serial(n)).unwrap();
            }
            None => {
                journal.plan(&seed_of(n)).unwrap();
                journal.mark_burned(&serial(n)).unwrap();
                if n.is_multiple_of(3) {
                    journal.mark_verified(&serial(n), 0).unwrap();
                }
            }
        }
        n += 1;
    }
}

fn random_millis(max: u64) -> u64 {
    let b = safeid::sources::random_seed(8).unwrap();
    u64::from_le_bytes(b.expose().try_into().unwrap()) % max
}

fn check(path: &Path, round: usize) -> usize {
    let (state, rec) = JournalState::load(path).unwrap();
    assert!(
        rec.anomalies.is_empty(),
        "round {round}: {:?}",
        rec.anomalies
    );
    let all: Vec<_> = state.iter().collect();
    for (n, s) in all.iter().enumerate() {
        assert_eq!(
            s.seed.serial,
            serial(n),
            "round {round}: serials are contiguous, none lost"
        );
        assert!(
            s.seed.same_seed(&seed_of(n)),
            "round {round}: {} has its own seed",
            s.seed.serial
        );
        assert!(s.history.is_empty(), "round {round}: no seed replaced");
        if n + 1 < all.len() {
            assert!(
                s.is_done(),
                "round {round}: only the last serial may be uncertain"
            );
        }
    }
    all.len()
}

#[cfg(unix)]
#[test]
fn kill_nine_at_random_moments_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.journal");
    let exe = std::env::current_exe().unwrap();
    let mut counts = Vec::new();
    for round in 0..6 {
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(150 + random_millis(400)));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the child must have been killed, not finished"
        );
        counts.push(check(&path, round));
    }
    eprintln!("serials after each kill: {counts:?}");
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert!(
        counts.last().copied().unwrap_or(0) > 0,
        "the children made progress: {counts:?}"
    );
    // A final clean resume leaves nothing uncertain.
    let (mut journal, rec) = Journal::open(&path).unwrap();
    for name in rec.uncertain {
        let seed = journal.state().resume_seed(&name).unwrap().clone();
        journal.plan(&seed).unwrap();
        journal.mark_burned(&name).unwrap();
    }
    assert_eq!(journal.state().uncertain().count(), 0);
}
