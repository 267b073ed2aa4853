//! Model-based (stateful) property test of the real `safeid::batch` over virtual tokens.
//!
//! A case is a pool of 3 to 5 virtual tokens (restricted and unrestricted models) that
//! persist across the case, one seed source (a credential list with mixed lengths,
//! algorithms and steps; random seeds of 8 to 63 bytes; or a seed file whose rows change
//! between runs, optionally rotating secrets between serials), and a random sequence of
//! batch runs on one journal. Each run presents some of the tokens, on one or two
//! stations, each placement possibly with the card removed before or during any of the
//! six APDUs (`Faults::remove_after` / `remove_in_flight_after`), or swapped for another
//! token between the read and the burn; a run may stop after `max_tokens`, ask for a
//! re-burn, or be a child process (this test binary) that runs the batch and is SIGKILLed
//! before or after a chosen APDU, its virtual tokens' state handed back through a file
//! written after every APDU. Every run after the first resumes; a final clean run
//! presents every token.
//!
//! After every run, against the virtual tokens' real state (`VirtualToken::state()`:
//! seed as stored, zero-extended to 20 bytes as the protocol sends it; hash; step) and
//! the journal file:
//! - every seed a token holds is one the journal gave to that token's serial;
//! - every token the journal calls burned or verified holds exactly the journal's seed
//!   and config;
//! - no secret is in the journal under two serials and no two tokens hold one seed, so
//!   every credential of a list is in at most one serial (and only list secrets appear);
//! - with random seeds and credential lists a serial the journal knows never gets another
//!   seed (its history stays empty), even on re-burn;
//! - while a serial is uncertain (the journal file replayed line by line by the rules its
//!   documentation states, independently of the crate's replay), every plan for it uses
//!   its recorded seed: an uncertain token is only ever re-burned with that seed;
//! - nothing is exported that a token may not hold: the vendor CSV and PSKC exports,
//!   parsed back, list exactly the journal's done tokens, each holding the exported seed
//!   (and, for PSKC, its hash and step); `max_tokens` is respected; the report's journal
//!   and uncertain list are the file's;
//! - after the final clean run nothing is uncertain and every token that can get a seed
//!   has it (or the credential list is used up).
//!
//! Why a hand-rolled sequence and not `proptest-state-machine`: the invariants are checked
//! against the real tokens after each step rather than predicted by a reference model
//! (with two stations the interleaving is not deterministic, so exact outcomes are not
//! predictable), so a `Vec` of generated runs applied in order, shrunk by proptest, gives
//! the same power without a new dependency. The journal runs without fsync (a SIGKILL
//! does not lose written data; only power loss would).
//!
//! Default 256 cases, about 1050 batch runs of which about 100 in a child (half of them
//! reach their kill point; the others end first): about 4 s with `cargo test` on 2 shared
//! cores. `PROPTEST_CASES=n` for more; `--nocapture` prints what the cases exercised.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/batch.rs"]
mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use safeid::batch::{self, BatchConfig, BatchReport, BatchSeeds, Cancel, ExportKind, ExportTarget};
use safeid::export::Format;
use safeid::journal::JournalState;
use safeid::otpauth::Credential;
use safeid::proto::{DisplayTimeout, TimeStep};
use safeid::record::HmacAlgorithm;
use safeid::secret::SecretBytes;
use safeid::sources::{SecretEncoding, SeedFile, SeedFileOptions};
use safeid::transport::Station;
use safeid::{Acceptance, BurnPlan, ClockSettings, PlanOptions, Risk, Session};
use safeid_sim::{Faults, ManualClock, SimTransport, TokenState};
use serde::{Deserialize, Serialize};
use support::{
    ApduHook, PoolStation, Presentation, T0, Token, assert_done_tokens_hold_their_seed,
    assert_each_secret_has_one_serial, assert_exports_held, assert_no_seed_lost,
    assert_tokens_hold_distinct_seeds, stored_hex,
};

const CHILD_ENV: &str = "SAFEID_BATCH_MODEL_CHILD";
const DEFAULT_CASES: u32 = 256;

/// What the cases exercised (printed at the end; `--nocapture` shows it).
static RUNS: AtomicUsize = AtomicUsize::new(0);
static CHILDREN: AtomicUsize = AtomicUsize::new(0);
static KILLED: AtomicUsize = AtomicUsize::new(0);
static BURNED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

// --- The generated scenario ---------------------------------------------------------------

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct CredSpec {
    len: usize,
    sha256: bool,
    sixty: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum SourceSpec {
    Credentials(Vec<CredSpec>),
    Random {
        bytes: usize,
        sha256: bool,
        sixty: bool,
    },
    /// Rows for the pool tokens marked `true`; version `v` of the file gives serial `i`
    /// the secret of slot `(i + v * shift) % pool` (shift 1 rotates secrets between
    /// serials from one version to the next).
    File {
        rows: Vec<bool>,
        shift: usize,
        sha256: bool,
        sixty: bool,
    },
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
enum Fault {
    None,
    /// The card is removed before APDU k of this placement.
    RemoveBefore(usize),
    /// The card leaves while APDU k runs: processed, reply lost.
    RemoveInFlight(usize),
    /// Another pool token is on the reader from the burn on.
    SwapWith(usize),
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Placement {
    token: usize,
    fault: Fault,
}

/// A child batch is killed before (or after) the `apdu`-th APDU of its run.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Kill {
    apdu: usize,
    after: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunSpec {
    placements: Vec<Placement>,
    two_stations: bool,
    max_tokens: Option<usize>,
    reburn: bool,
    version: usize,
    kill: Option<Kill>,
}

#[derive(Clone, Debug)]
struct Scenario {
    pool: usize,
    source: SourceSpec,
    runs: Vec<RunSpec>,
}

fn fault(pool: usize) -> impl Strategy<Value = Fault> {
    prop_oneof![
        5 => Just(Fault::None),
        2 => (0usize..6).prop_map(Fault::RemoveBefore),
        2 => (0usize..6).prop_map(Fault::RemoveInFlight),
        1 => (0..pool).prop_map(Fault::SwapWith),
    ]
}

fn run_spec(pool: usize) -> impl Strategy<Value = RunSpec> {
    (
        proptest::collection::vec(
            (0..pool, fault(pool)).prop_map(|(token, fault)| Placement { token, fault }),
            1..=6,
        ),
        any::<bool>(),
        prop_oneof![3 => Just(None), 1 => (1usize..=3).prop_map(Some)],
        proptest::bool::weighted(0.15),
        0usize..3,
        prop_oneof![
            6 => Just(None),
            1 => (0usize..14, any::<bool>()).prop_map(|(apdu, after)| Some(Kill { apdu, after })),
        ],
    )
        .prop_map(
            |(placements, two_stations, max_tokens, reburn, version, kill)| RunSpec {
                placements,
                two_stations,
                max_tokens,
                reburn,
                version,
                kill,
            },
        )
}

fn source(pool: usize) -> impl Strategy<Value = SourceSpec> {
    let cred = (
        prop_oneof![Just(10usize), Just(20), Just(32), Just(40)],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(len, sha256, sixty)| CredSpec { len, sha256, sixty });
    prop_oneof![
        proptest::collection::vec(cred, 1..=6).prop_map(SourceSpec::Credentials),
        (
            prop_oneof![Just(8usize), Just(16), Just(20), Just(32), Just(63)],
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(bytes, sha256, sixty)| SourceSpec::Random {
                bytes,
                sha256,
                sixty
            }),
        (
            proptest::collection::vec(proptest::bool::weighted(0.8), pool),
            0usize..2,
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(mut rows, shift, sha256, sixty)| {
                rows[0] = true;
                SourceSpec::File {
                    rows,
                    shift,
                    sha256,
                    sixty,
                }
            }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (3usize..=5).prop_flat_map(|pool| {
        (
            Just(pool),
            source(pool),
            proptest::collection::vec(run_spec(pool), 1..=5),
        )
            .prop_map(|(pool, source, runs)| Scenario { pool, source, runs })
    })
}

// --- Turning the scenario into batch inputs -------------------------------------------------

/// Pool token `i`: restricted and unrestricted models alternate.
fn serial(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("8659622{i:06}")
    } else {
        format!("8659612{i:06}")
    }
}

fn hash(sha256: bool) -> HmacAlgorithm {
    if sha256 {
        HmacAlgorithm::Sha256
    } else {
        HmacAlgorithm::Sha1
    }
}

fn period(sixty: bool) -> u32 {
    if sixty { 60 } else { 30 }
}

/// Credential `i`'s secret: `len` bytes that name it.
fn credential_secret(i: usize, len: usize) -> Vec<u8> {
    let mut b = format!("cred-{i}-").into_bytes();
    b.resize(len, b'c');
    b
}

fn credentials(specs: &[CredSpec]) -> Vec<Credential> {
    specs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let secret = data_encoding::BASE32_NOPAD.encode(&credential_secret(i, c.len));
            let algorithm = if c.sha256 { "SHA256" } else { "SHA1" };
            Credential::parse(&format!(
                "otpauth://totp/Model:user{i}?secret={secret}&algorithm={algorithm}&period={}",
                period(c.sixty)
            ))
            .unwrap()
        })
        .collect()
}

/// The secret of file slot `slot`.
fn file_secret(slot: usize) -> Vec<u8> {
    let mut b = format!("file-slot-{slot}-").into_bytes();
    b.resize(20, b'f');
    b
}

fn seed_file(rows: &[bool], shift: usize, version: usize, sha256: bool, sixty: bool) -> SeedFile {
    let pool = rows.len();
    let mut csv = String::new();
    for (i, _) in rows.iter().enumerate().filter(|(_, has)| **has) {
        let slot = (i + version * shift) % pool;
        csv.push_str(&format!(
            "{},{}\n",
            serial(i),
            data_encoding::HEXLOWER.encode(&file_secret(slot))
        ));
    }
    let options = SeedFileOptions {
        encoding: Some(SecretEncoding::Hex),
        hash: hash(sha256),
        period: period(sixty),
    };
    SeedFile::parse_with(&csv, &options).unwrap()
}

fn seeds(source: &SourceSpec, version: usize) -> BatchSeeds {
    match source {
        SourceSpec::Credentials(c) => BatchSeeds::Credentials(credentials(c)),
        SourceSpec::Random {
            bytes,
            sha256,
            sixty,
        } => BatchSeeds::Random {
            bytes: *bytes,
            hash: hash(*sha256),
            period: period(*sixty),
        },
        SourceSpec::File {
            rows,
            shift,
            sha256,
            sixty,
        } => BatchSeeds::File(seed_file(rows, *shift, version, *sha256, *sixty)),
    }
}

fn batch_config(
    journal: &Path,
    source: &SourceSpec,
    run: &RunSpec,
    resume: bool,
    clock: &ManualClock,
    exports: Vec<ExportTarget>,
) -> BatchConfig {
    let mut c = support::config(journal, seeds(source, run.version), clock, false);
    c.resume = resume;
    c.max_tokens = run.max_tokens;
    c.reburn = run.reburn;
    c.exports = exports;
    c.plan
        .accept
        .insert(Acceptance::Risk(Risk::ShortRandomSeed));
    c
}

/// The stations of a run: one, or two with the tokens split by index parity (a token is
/// never on two readers at once; a swap partner on the other reader is dropped).
fn stations(run: &RunSpec, tokens: &[Token], hook: Option<ApduHook>) -> Vec<Box<dyn Station>> {
    let two = run.two_stations && run.kill.is_none();
    let mut queues: Vec<Vec<Presentation>> = vec![Vec::new(), Vec::new()];
    for p in &run.placements {
        let q = if two { p.token % 2 } else { 0 };
        let t = &tokens[p.token];
        let presentation = match p.fault {
            Fault::None => Presentation::plain(t),
            Fault::RemoveBefore(k) => Presentation::with(
                t,
                Faults {
                    remove_after: Some(k),
                    ..Faults::default()
                },
            ),
            Fault::RemoveInFlight(k) => Presentation::with(
                t,
                Faults {
                    remove_in_flight_after: Some(k),
                    ..Faults::default()
                },
            ),
            Fault::SwapWith(j) if j != p.token && (!two || j % 2 == p.token % 2) => {
                Presentation::swapped(t, &tokens[j])
            }
            Fault::SwapWith(_) => Presentation::plain(t),
        };
        queues[q].push(presentation);
    }
    queues
        .into_iter()
        .enumerate()
        .filter(|(_, q)| !q.is_empty())
        .map(|(i, q)| {
            let mut s = PoolStation::new(format!("reader {i}"), q);
            if let Some(h) = &hook {
                s = s.with_hook(Arc::clone(h));
            }
            Box::new(s) as Box<dyn Station>
        })
        .collect()
}

// --- Token state across processes -------------------------------------------------------------

/// What a token must keep across a process boundary: its seed as stored and its config.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TokenDump {
    serial: String,
    seed_hex: Option<String>,
    hmac: safeid_sim::HmacAlgorithm,
    step: u32,
}

fn dump(tokens: &[Token]) -> Vec<TokenDump> {
    tokens
        .iter()
        .map(|t| {
            let s = support::state(t);
            TokenDump {
                serial: s.serial,
                seed_hex: s.seed_hex,
                hmac: s.config.hmac,
                step: s.config.step_s,
            }
        })
        .collect()
}

fn proto_hmac(h: safeid_sim::HmacAlgorithm) -> HmacAlgorithm {
    match h {
        safeid_sim::HmacAlgorithm::Sha1 => HmacAlgorithm::Sha1,
        safeid_sim::HmacAlgorithm::Sha256 => HmacAlgorithm::Sha256,
    }
}

/// A fresh virtual token brought to the dumped state through the protocol itself (a burn
/// of the stored seed, or a config write alone).
fn restore(d: &TokenDump, clock: &ManualClock) -> Token {
    let t = support::token(&d.serial, clock);
    let mut tr = SimTransport::new(Arc::clone(&t));
    let session = Session::new(&mut tr).with_clock(Arc::new(clock.clone()));
    if let Some(hex) = &d.seed_hex {
        let bytes = data_encoding::HEXUPPER.decode(hex.as_bytes()).unwrap();
        let opts = PlanOptions {
            algorithm: Some(proto_hmac(d.hmac)),
            period: Some(u64::from(d.step)),
            ..PlanOptions::default()
        };
        let plan = BurnPlan::from_seed(&SecretBytes::from(bytes), &opts).unwrap();
        let mut session = session;
        session.burn(&plan).unwrap();
    } else if (d.hmac, d.step) != (safeid_sim::HmacAlgorithm::Sha1, 30) {
        let settings = ClockSettings {
            hmac: proto_hmac(d.hmac),
            step: TimeStep::from_seconds(d.step).unwrap(),
            display_timeout: DisplayTimeout::S30,
        };
        let mut session = session;
        session.sync_clock(&settings, true).unwrap();
    }
    let s = support::state(&t);
    assert_eq!(
        (&s.seed_hex, s.config.hmac, s.config.step_s),
        (&d.seed_hex, d.hmac, d.step)
    );
    t
}

fn write_json<T: Serialize>(path: &Path, value: &T) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(value).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// What the parent hands to a child.
#[derive(Serialize, Deserialize)]
struct ChildTask {
    journal: PathBuf,
    resume: bool,
    source: SourceSpec,
    run: RunSpec,
    tokens: Vec<TokenDump>,
    /// Token states, rewritten after every APDU.
    dump: PathBuf,
    /// Created when the child reached its kill point and waits to be killed.
    ready: PathBuf,
}

/// The child: restore the tokens, run the batch, dump the tokens after every APDU, and
/// wait at the kill point to be killed (for at most 30 s, then exit with an error).
#[test]
fn model_child() {
    let Ok(task) = std::env::var(CHILD_ENV) else {
        return;
    };
    let task: ChildTask = serde_json::from_slice(&std::fs::read(task).unwrap()).unwrap();
    let clock = ManualClock::new(T0);
    let tokens: Vec<Token> = task.tokens.iter().map(|d| restore(d, &clock)).collect();
    write_json(&task.dump, &dump(&tokens));
    let kill = task.run.kill.unwrap();
    let passed = AtomicUsize::new(0);
    let hook: ApduHook = {
        let tokens = tokens.clone();
        let (dump_path, ready) = (task.dump.clone(), task.ready.clone());
        let passed = Arc::new(passed);
        Arc::new(move |after: bool| {
            let n = passed.load(Ordering::SeqCst);
            if after {
                write_json(&dump_path, &dump(&tokens));
                passed.fetch_add(1, Ordering::SeqCst);
            }
            if n == kill.apdu && after == kill.after {
                std::fs::write(&ready, b"").unwrap();
                std::thread::sleep(Duration::from_secs(30));
                eprintln!("not killed within 30 s");
                std::process::exit(3);
            }
        })
    };
    let config = batch_config(
        &task.journal,
        &task.source,
        &task.run,
        task.resume,
        &clock,
        Vec::new(),
    );
    batch::prepare(config)
        .unwrap()
        .run(
            stations(&task.run, &tokens, Some(hook)),
            &Cancel::new(),
            &|_| {},
        )
        .unwrap();
    // The kill point was past the end of the run: a normal exit.
}

/// Runs `run` in a child process that is SIGKILLed at the run's kill point; returns the
/// token states it left (`None` if the run ended before the kill point).
fn run_killed(
    dir: &Path,
    journal: &Path,
    source: &SourceSpec,
    run: &RunSpec,
    resume: bool,
    tokens: &[Token],
) -> (Vec<TokenDump>, bool) {
    use std::os::unix::process::ExitStatusExt;
    let task = ChildTask {
        journal: journal.to_path_buf(),
        resume,
        source: source.clone(),
        run: run.clone(),
        tokens: dump(tokens),
        dump: dir.join("tokens.json"),
        ready: dir.join("ready"),
    };
    let _ = std::fs::remove_file(&task.ready);
    let _ = std::fs::remove_file(&task.dump);
    let task_path = dir.join("task.json");
    write_json(&task_path, &task);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "model_child", "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, &task_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let killed = loop {
        if task.ready.exists() {
            child.kill().unwrap();
            let status = child.wait().unwrap();
            assert_eq!(
                status.signal(),
                Some(9),
                "the child died of the SIGKILL: {status}"
            );
            assert_eq!(status.code(), None);
            break true;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(status.success(), "the child failed ({status}): {err}");
            break false;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "child hangs");
        std::thread::sleep(Duration::from_millis(2));
    };
    let dumped: Vec<TokenDump> =
        serde_json::from_slice(&std::fs::read(&task.dump).unwrap()).unwrap();
    (dumped, killed)
}

// --- The checks --------------------------------------------------------------------------------

fn fail(what: &str) -> TestCaseError {
    TestCaseError::fail(what.to_owned())
}

/// Which secrets a source can give at all (stored form), for credential lists.
fn list_secrets(source: &SourceSpec) -> Option<BTreeSet<Vec<u8>>> {
    match source {
        SourceSpec::Credentials(c) => Some(
            c.iter()
                .enumerate()
                .map(|(i, s)| credential_secret(i, s.len))
                .collect(),
        ),
        _ => None,
    }
}

/// The state invariants, after any run (killed or not).
fn check_state(
    states: &[TokenState],
    journal: &JournalState,
    source: &SourceSpec,
    journal_file: &Path,
    what: &str,
) {
    assert_no_seed_lost(states, journal, what);
    assert_done_tokens_hold_their_seed(states, journal, what);
    assert_each_secret_has_one_serial(journal, what);
    assert_tokens_hold_distinct_seeds(states, what);
    if let Some(list) = list_secrets(source) {
        for e in journal.iter() {
            for r in std::iter::once(&e.seed).chain(&e.history) {
                assert!(
                    list.contains(r.secret.expose()),
                    "{what}: a secret not from the list"
                );
            }
        }
    }
    if !matches!(source, SourceSpec::File { .. }) {
        for e in journal.iter() {
            assert!(
                e.history.is_empty(),
                "{what}: {} was given a second seed",
                e.seed.serial
            );
        }
    }
    assert_uncertain_serials_keep_their_seed(journal_file, what);
}

/// Reads the journal file line by line, applying the rules its documentation states
/// (src/journal/mod.rs: a plan makes a serial uncertain; a burn ends it; a failure leaves
/// it uncertain if it was uncertain before that plan or the seed may be on the token,
/// unless a confirmed config write without a seed proved a restricted token blank), and
/// checks that a serial is never planned with another seed while it is uncertain: an
/// uncertain token is only ever re-burned with its recorded seed.
fn assert_uncertain_serials_keep_their_seed(journal_file: &Path, what: &str) {
    struct Serial {
        seed: String,
        uncertain: bool,
        uncertain_before_plan: bool,
    }
    let text = std::fs::read_to_string(journal_file).unwrap();
    let mut serials: HashMap<String, Serial> = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue; // a torn last line
        };
        let serial = v["serial"].as_str().unwrap_or_default().to_owned();
        match v["event"].as_str() {
            Some("planned") => {
                let seed = v["seed"].as_str().unwrap().to_owned();
                let before = match serials.get(&serial) {
                    Some(s) => {
                        assert!(
                            !s.uncertain || s.seed == seed,
                            "{what}: {serial} was planned with another seed while uncertain"
                        );
                        s.uncertain
                    }
                    None => false,
                };
                serials.insert(
                    serial,
                    Serial {
                        seed,
                        uncertain: true,
                        uncertain_before_plan: before,
                    },
                );
            }
            Some("burned" | "verified") => {
                let s = serials.get_mut(&serial).unwrap();
                (s.uncertain, s.uncertain_before_plan) = (false, false);
            }
            Some("failed") => {
                let w = &v["written"];
                let blank = w["restricted"] == true
                    && w["config"] == "written"
                    && w["seed"] == "not_written";
                let may_hold = w["seed"] != "not_written";
                let s = serials.get_mut(&serial).unwrap();
                s.uncertain = !blank && (s.uncertain_before_plan || may_hold);
                if !s.uncertain {
                    s.uncertain_before_plan = false;
                }
            }
            _ => {}
        }
    }
}

/// The checks a completed run adds: its report and its exports.
fn check_report(
    report: &BatchReport,
    loaded: &JournalState,
    states: &[TokenState],
    run: &RunSpec,
    what: &str,
) {
    let summary = |j: &JournalState| {
        j.iter()
            .map(|e| {
                (
                    e.seed.serial.clone(),
                    stored_hex(e.seed.secret.expose()),
                    format!("{:?}", e.status),
                    e.is_uncertain(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        summary(&report.journal),
        summary(loaded),
        "{what}: report = file"
    );
    let uncertain: Vec<String> = loaded.uncertain().map(|e| e.seed.serial.clone()).collect();
    assert_eq!(report.summary.uncertain, uncertain, "{what}");
    if let Some(max) = run.max_tokens {
        assert!(report.summary.burned <= max, "{what}: {:?}", report.summary);
    }
    let done: BTreeSet<String> = loaded.done_serials().map(str::to_owned).collect();
    for e in &report.exports {
        match &e.result {
            Ok(n) => assert_eq!(*n, done.len(), "{what}: {e:?}"),
            Err(err) => {
                assert!(done.is_empty(), "{what}: export failed: {err}");
                continue;
            }
        }
        let (records, params) = match e.target.kind {
            ExportKind::File(Format::VendorCsv) => (support::read_vendor(&e.target.path), false),
            ExportKind::File(Format::Pskc) => (support::read_pskc(&e.target.path), true),
            _ => unreachable!(),
        };
        let exported: BTreeSet<String> = records.iter().map(|r| r.serial.clone()).collect();
        assert_eq!(exported, done, "{what}: exported = done");
        assert_exports_held(&records, states, params, what);
    }
}

fn exports_for(dir: &Path, n: usize) -> Vec<ExportTarget> {
    vec![
        ExportTarget {
            kind: ExportKind::File(Format::VendorCsv),
            path: dir.join(format!("run{n}.csv")),
        },
        ExportTarget {
            kind: ExportKind::File(Format::Pskc),
            path: dir.join(format!("run{n}.pskcxml")),
        },
    ]
}

/// Plays a scenario; panics (with the step) on the first broken invariant.
fn play(sc: &Scenario) {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("batch.journal");
    let clock = ManualClock::new(T0);
    let mut tokens: Vec<Token> = (0..sc.pool)
        .map(|i| support::token(&serial(i), &clock))
        .collect();
    let final_run = RunSpec {
        placements: (0..sc.pool)
            .map(|token| Placement {
                token,
                fault: Fault::None,
            })
            .collect(),
        two_stations: false,
        max_tokens: None,
        reburn: false,
        version: sc.runs.last().map_or(0, |r| r.version),
        kill: None,
    };
    let runs = sc.runs.iter().chain(std::iter::once(&final_run));
    let mut last = None;
    for (n, run) in runs.enumerate() {
        let what = format!("run {n} ({run:?})");
        let resume = journal.exists();
        RUNS.fetch_add(1, Ordering::Relaxed);
        if run.kill.is_some() {
            let (dumped, killed) =
                run_killed(dir.path(), &journal, &sc.source, run, resume, &tokens);
            CHILDREN.fetch_add(1, Ordering::Relaxed);
            KILLED.fetch_add(usize::from(killed), Ordering::Relaxed);
            tokens = dumped.iter().map(|d| restore(d, &clock)).collect();
            let (loaded, rec) = JournalState::load(&journal).unwrap();
            assert!(rec.anomalies.is_empty(), "{what}: {:?}", rec.anomalies);
            let states: Vec<_> = tokens.iter().map(support::state).collect();
            check_state(&states, &loaded, &sc.source, &journal, &what);
            continue;
        }
        let config = batch_config(
            &journal,
            &sc.source,
            run,
            resume,
            &clock,
            exports_for(dir.path(), n),
        );
        let report = batch::prepare(config)
            .unwrap_or_else(|e| panic!("{what}: refused: {e}"))
            .run(stations(run, &tokens, None), &Cancel::new(), &|_| {})
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let (loaded, rec) = JournalState::load(&journal).unwrap();
        assert!(rec.anomalies.is_empty(), "{what}: {:?}", rec.anomalies);
        let states: Vec<_> = tokens.iter().map(support::state).collect();
        check_state(&states, &loaded, &sc.source, &journal, &what);
        check_report(&report, &loaded, &states, run, &what);
        BURNED.fetch_add(report.summary.burned, Ordering::Relaxed);
        FAILED.fetch_add(report.summary.failed, Ordering::Relaxed);
        last = Some(report.summary);
    }

    // After the final clean run: nothing uncertain, every token that can have a seed has.
    let (loaded, _) = JournalState::load(&journal).unwrap();
    assert_eq!(
        loaded.uncertain().count(),
        0,
        "uncertain after the clean run: {last:?}"
    );
    let states: Vec<_> = tokens.iter().map(support::state).collect();
    // A token can get a seed unless the source has none for it: no row in the file, or
    // its row's secret was already given to another serial (a rotated file); or the
    // credential list is used up.
    let can_burn = |i: usize| match &sc.source {
        SourceSpec::File { rows, shift, .. } => {
            let slot = (i + final_run.version * shift) % sc.pool;
            let secret = SecretBytes::from(file_secret(slot));
            rows[i] && loaded.holder_of(&secret).is_none_or(|h| h == serial(i))
        }
        SourceSpec::Credentials(c) => loaded.len() < c.len() || loaded.get(&serial(i)).is_some(),
        SourceSpec::Random { .. } => true,
    };
    for (i, s) in states.iter().enumerate() {
        if can_burn(i) {
            assert!(
                loaded.get(&s.serial).is_some_and(|e| e.is_done()),
                "{} could be burned and is not after the clean run: {last:?}",
                s.serial
            );
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

#[cfg(unix)]
#[test]
fn batch_sequences_keep_every_seed_with_its_serial() {
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&scenario(), |sc| {
        std::panic::catch_unwind(|| play(&sc)).map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            fail(&msg)
        })
    });
    eprintln!(
        "batch runs: {}, in a child: {} (killed: {}); tokens burned: {}, failed: {}",
        RUNS.load(Ordering::Relaxed),
        CHILDREN.load(Ordering::Relaxed),
        KILLED.load(Ordering::Relaxed),
        BURNED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed)
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A few scenarios written out, so that the kinds of run the generator draws are each
/// certainly exercised whatever the seed.
#[cfg(unix)]
#[test]
fn hand_picked_sequences() {
    let p = |token, fault| Placement { token, fault };
    let run = |placements: Vec<Placement>| RunSpec {
        placements,
        two_stations: false,
        max_tokens: None,
        reburn: false,
        version: 0,
        kill: None,
    };
    let creds = SourceSpec::Credentials(
        (0..4)
            .map(|i| CredSpec {
                len: [10, 20, 32, 40][i],
                sha256: i % 2 == 1,
                sixty: i == 2,
            })
            .collect(),
    );
    let file = SourceSpec::File {
        rows: vec![true, true, true, false],
        shift: 1,
        sha256: true,
        sixty: false,
    };
    let random = SourceSpec::Random {
        bytes: 8,
        sha256: false,
        sixty: true,
    };
    let scenarios = [
        Scenario {
            pool: 4,
            source: creds.clone(),
            runs: vec![
                RunSpec {
                    max_tokens: Some(1),
                    ..run(vec![p(0, Fault::None), p(1, Fault::None)])
                },
                run(vec![
                    p(1, Fault::RemoveInFlight(5)),
                    p(2, Fault::SwapWith(3)),
                    p(3, Fault::RemoveBefore(1)),
                ]),
                RunSpec {
                    kill: Some(Kill {
                        apdu: 4,
                        after: true,
                    }),
                    ..run(vec![p(1, Fault::None), p(2, Fault::None)])
                },
                RunSpec {
                    reburn: true,
                    two_stations: true,
                    ..run(vec![
                        p(0, Fault::None),
                        p(1, Fault::None),
                        p(2, Fault::None),
                    ])
                },
            ],
        },
        Scenario {
            pool: 4,
            source: file,
            runs: vec![
                run(vec![p(0, Fault::RemoveInFlight(5)), p(1, Fault::None)]),
                RunSpec {
                    version: 1,
                    ..run(vec![
                        p(1, Fault::None),
                        p(0, Fault::None),
                        p(2, Fault::None),
                    ])
                },
                RunSpec {
                    version: 2,
                    reburn: true,
                    kill: Some(Kill {
                        apdu: 8,
                        after: false,
                    }),
                    ..run(vec![p(1, Fault::None), p(2, Fault::None)])
                },
            ],
        },
        Scenario {
            pool: 3,
            source: random,
            runs: vec![
                RunSpec {
                    kill: Some(Kill {
                        apdu: 11,
                        after: false,
                    }),
                    ..run(vec![
                        p(0, Fault::None),
                        p(1, Fault::RemoveInFlight(3)),
                        p(2, Fault::None),
                    ])
                },
                RunSpec {
                    two_stations: true,
                    ..run(vec![
                        p(2, Fault::RemoveInFlight(5)),
                        p(1, Fault::SwapWith(0)),
                        p(0, Fault::None),
                    ])
                },
            ],
        },
    ];
    for sc in &scenarios {
        play(sc);
    }
}

/// The replay check itself: it refuses a new seed planned while uncertain, and allows
/// one after a failure that proved a restricted token blank or wrote nothing to a token
/// that was not uncertain before.
#[test]
fn the_uncertainty_replay_check_can_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let plan = |seed: &str| {
        format!(
            r#"{{"event":"planned","serial":"A","seed":"{seed}","hash":"SHA1","period":30,"digits":6,"time":0}}"#
        )
    };
    let failed = |config: &str, seed: &str, restricted: bool| {
        format!(
            r#"{{"event":"failed","serial":"A","time":0,"reason":"x","written":{{"config":"{config}","seed":"{seed}","restricted":{restricted}}}}}"#
        )
    };
    let check = |lines: &[String]| {
        std::fs::write(&path, lines.join("\n")).unwrap();
        std::panic::catch_unwind(|| assert_uncertain_serials_keep_their_seed(&path, "t")).is_ok()
    };
    let lost = failed("written", "uncertain", true);
    let nothing = failed("not_written", "not_written", true);
    let blank = failed("written", "not_written", true);
    let kept_old = failed("written", "not_written", false);
    assert!(!check(&[plan("AAAA"), plan("BBBB")]));
    assert!(!check(&[plan("AAAA"), lost.clone(), plan("BBBB")]));
    assert!(!check(&[
        plan("AAAA"),
        lost.clone(),
        plan("AAAA"),
        nothing.clone(),
        plan("BBBB")
    ]));
    assert!(!check(&[
        plan("AAAA"),
        lost.clone(),
        plan("AAAA"),
        kept_old,
        plan("BBBB")
    ]));
    assert!(check(&[
        plan("AAAA"),
        lost.clone(),
        plan("AAAA"),
        blank,
        plan("BBBB")
    ]));
    assert!(check(&[plan("AAAA"), nothing, plan("BBBB")]));
    assert!(check(&[plan("AAAA"), lost, plan("AAAA")]));
}
