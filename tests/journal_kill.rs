//! `kill -9` of a process in the middle of a real batch: this test binary runs itself as a
//! child that runs `safeid::batch` (prepare + run, journal with fsync) over a stream of
//! virtual tokens (`SimStation`), seeds from a seed file, resuming whatever journal it
//! finds. The parent waits until the child has burned a token, SIGKILLs it at a random
//! moment, and asserts that the child was killed by that signal (it neither panicked nor
//! exited on its own), several times; after each kill every serial in the journal is
//! there, in order, with its own row's seed and no other, and only the last one may be
//! uncertain. A final clean resume leaves nothing uncertain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use safeid::batch::{self, BatchConfig, BatchEvent, BatchSeeds, Cancel};
use safeid::journal::JournalState;
use safeid::record::TokenSeed;
use safeid::secret::SecretBytes;
use safeid::sources::{MAX_SEED_FILE_BYTES, SecretEncoding, SeedFile, SeedFileOptions};
use safeid_sim::{SimStation, SystemClock, serial_queue};

/// Names the directory of the journal and the seed file; set only in the child.
const CHILD_ENV: &str = "SAFEID_JOURNAL_KILL_CHILD";
/// Serials (and seed file rows) available to the children.
const SERIALS: u64 = 20_000;
const PREFIX: &str = "8659612";

fn serial(n: usize) -> String {
    format!("{PREFIX}{n:06}")
}

/// The seed of serial `n`: its bytes name the serial, so misattribution is visible.
fn seed_of(n: usize) -> TokenSeed {
    let mut bytes = format!("seed-for-{}", serial(n)).into_bytes();
    bytes.resize(24, b'.');
    TokenSeed::new(serial(n), SecretBytes::from(bytes))
}

fn write_seed_file(path: &Path) {
    let mut csv = String::new();
    for n in 0..SERIALS as usize {
        let s = seed_of(n);
        csv.push_str(&format!(
            "{},{}\n",
            s.serial,
            data_encoding::HEXLOWER.encode(s.secret.expose())
        ));
    }
    std::fs::write(path, csv).unwrap();
}

fn read_seed_file(path: &Path) -> SeedFile {
    let text = safeid::sources::read_text_file(path, MAX_SEED_FILE_BYTES, "seed file").unwrap();
    let options = SeedFileOptions {
        encoding: Some(SecretEncoding::Hex),
        ..Default::default()
    };
    SeedFile::parse_with(text.expose(), &options).unwrap()
}

fn batch_config(dir: &Path) -> BatchConfig {
    let journal = dir.join("batch.journal");
    let mut config = BatchConfig::new(
        &journal,
        BatchSeeds::File(read_seed_file(&dir.join("seeds.csv"))),
    );
    config.resume = journal.exists();
    config
}

/// The child: resume the batch in the directory named by the environment and run until
/// killed (it cancels itself after 30 s, should the parent be gone: the parent then sees
/// a normal exit and fails).
#[test]
fn child_batch() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let prepared = batch::prepare(batch_config(&dir)).unwrap();
    let station = SimStation::new(
        "virtual",
        serial_queue(PREFIX, 0, SERIALS, 6),
        Arc::new(SystemClock),
    );
    let cancel = Cancel::new();
    let timer = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        timer.cancel();
    });
    let marked = AtomicBool::new(false);
    let marker = dir.join("running");
    let report = prepared
        .run(vec![Box::new(station)], &cancel, &|event| {
            if let BatchEvent::Finished(_) = event
                && !marked.swap(true, Ordering::SeqCst)
            {
                std::fs::write(&marker, b"").unwrap();
            }
        })
        .unwrap();
    panic!("the batch ended before the kill: {:?}", report.summary);
}

fn random_millis(max: u64) -> u64 {
    let b = safeid::sources::random_seed(8).unwrap();
    u64::from_le_bytes(b.expose().try_into().unwrap()) % max
}

/// The journal after a kill: serials contiguous from the first, each with its own seed,
/// none replaced, all done but possibly the last. Returns the number of serials.
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
        } else {
            assert!(s.is_done() || s.is_uncertain(), "round {round}");
        }
    }
    all.len()
}

#[cfg(unix)]
#[test]
fn kill_nine_in_a_running_batch_loses_nothing() {
    use std::os::unix::process::ExitStatusExt;

    let dir = tempfile::tempdir().unwrap();
    write_seed_file(&dir.path().join("seeds.csv"));
    let journal = dir.path().join("batch.journal");
    let marker = dir.path().join("running");
    let exe = std::env::current_exe().unwrap();
    let mut counts = Vec::new();
    for round in 0..6 {
        let _ = std::fs::remove_file(&marker);
        let mut child = Command::new(&exe)
            .args(["--exact", "child_batch", "--test-threads=1", "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the batch is running (a token burned), then kill it at a random
        // moment inside the engine.
        let start = Instant::now();
        while !marker.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
                panic!("round {round}: the child ended by itself ({status}): {err}");
            }
            assert!(start.elapsed() < Duration::from_secs(20), "round {round}");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(20 + random_millis(300)));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: the child must have been killed by SIGKILL, not {status}"
        );
        assert_eq!(status.code(), None, "round {round}: no exit of its own");
        counts.push(check(&journal, round));
    }
    eprintln!("serials after each kill: {counts:?}");
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert!(
        counts.first().copied().unwrap_or(0) > 0,
        "the children made progress: {counts:?}"
    );

    // A final clean resume over the serials journaled leaves nothing uncertain.
    let n = counts.last().copied().unwrap() as u64;
    let station = SimStation::new(
        "virtual",
        serial_queue(PREFIX, 0, n, 6),
        Arc::new(SystemClock),
    );
    let report = batch::prepare(batch_config(dir.path()))
        .unwrap()
        .run(vec![Box::new(station)], &Cancel::new(), &|_| {})
        .unwrap();
    assert_eq!(report.summary.failed, 0, "{:?}", report.summary);
    assert!(report.summary.uncertain.is_empty());
    assert_eq!(report.journal.done_serials().count() as u64, n);
    assert_eq!(check(&journal, 99), n as usize);
}
