//! End-to-end tests through the real PC/SC stack: the `safeid` binary (built with the
//! `pcsc` feature) -> libpcsclite -> pcscd -> vsmartcard vpcd -> the virtual token,
//! served over vpcd's socket from this test process.
//!
//! They need the stack that `scripts/pcsc-stack.sh` starts (pcscd with vpcd in a private
//! network namespace), so they are ignored by default; `scripts/test-all.sh` runs them
//! with `--ignored --test-threads=1` inside that namespace (they share vpcd's ports).
#![cfg(feature = "pcsc")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use safeid_sim::vpcd::{self, ServeOptions, VpcdHandle};
use safeid_sim::{SystemClock, TokenSpec, VirtualToken};
use serde_json::Value;

const READER0: &str = "Virtual PCD 00 00";
const URI: &str = "otpauth://totp/Example:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example";
/// ASCII "12345678901234567890", the bytes of URI's secret.
const URI_SEED_HEX: &str = "3132333435363738393031323334353637383930";

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_safeid"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn stack_socket(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run these tests through scripts/pcsc-stack.sh")
    })
}

fn safeid(args: &[&str]) -> Output {
    safeid_with_socket(args, &stack_socket("SAFEID_TEST_PCSC_SOCKET"))
}

fn safeid_with_socket(args: &[&str], socket: &str) -> Output {
    let out = Command::new(binary())
        .args(args)
        .env("PCSCLITE_CSOCK_NAME", socket)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "$ safeid {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

struct Placed {
    handle: VpcdHandle,
    token: Arc<Mutex<VirtualToken>>,
}

/// Puts a virtual token on reader 0 and waits until vpcd has it.
fn place(spec: TokenSpec, options: ServeOptions) -> Placed {
    let token = Arc::new(Mutex::new(VirtualToken::new(spec, Arc::new(SystemClock))));
    let handle = vpcd::serve(vpcd::default_addr(), Arc::clone(&token), options).unwrap();
    assert!(
        handle.wait_connected(Duration::from_secs(10)),
        "vpcd did not accept the virtual token"
    );
    Placed { handle, token }
}

impl Drop for Placed {
    fn drop(&mut self) {
        self.handle.remove_card();
        // Let pcscd see the removal (it polls about every 400 ms) before the next test.
        std::thread::sleep(Duration::from_millis(900));
    }
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn info_reads_serial_model_and_drift() {
    let mut spec = TokenSpec::token2("8659632000077");
    spec.clock_offset = 42;
    let _t = place(spec, ServeOptions::default());
    let out = safeid(&["info", "--reader", READER0, "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["serial"], "8659632000077");
    assert_eq!(v["model"], "C302-i");
    assert_eq!(v["restricted"], false);
    let drift = v["drift"].as_i64().unwrap();
    assert!((41..=43).contains(&drift), "drift {drift}");
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn burn_from_otpauth_uri_and_the_display_agrees() {
    let mut spec = TokenSpec::token2("8659622000123");
    spec.clock_offset = -3600;
    let t = place(spec, ServeOptions::default());
    let before = now();
    let out = safeid(&["burn", "--reader", "00 00", "--yes", "--json", "--uri", URI]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["apdus"], 5);
    assert_eq!(report["token"]["serial"], "8659622000123");
    let drift = report["token"]["drift"].as_i64().unwrap();
    assert!((-3601..=-3599).contains(&drift), "drift {drift}");

    let state = t.token.lock().unwrap().state();
    assert_eq!(state.seed_hex.as_deref(), Some(URI_SEED_HEX));
    assert_eq!(state.config.step_s, 30);
    assert_eq!(state.config.display_timeout_s, 30);
    assert_eq!(state.config_writes, 1);
    assert_eq!(state.seed_writes, 1);
    // The clock was synced to the host.
    let clock_set = report["clock_set_to"].as_u64().unwrap();
    assert!(clock_set >= before && clock_set <= now());
    assert!(state.clock.abs_diff(now()) <= 1);
    // The code the token displays at the report's moment is the one safeid printed.
    let at = report["expected"]["time"].as_u64().unwrap();
    let display = t.token.lock().unwrap().display_code_at(at).unwrap();
    assert_eq!(display, report["expected"]["current"].as_str().unwrap());
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn refused_key_stops_after_one_authenticate() {
    // A Token2 serial, but this token's key is not the Token2 key.
    let t = place(
        TokenSpec::new("8659612000009", [0x5A; 16]),
        ServeOptions::default(),
    );
    let out = safeid(&["burn", "--reader", READER0, "--yes", "--uri", URI]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("refused the access key"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nothing was written"));
    let state = t.token.lock().unwrap().state();
    assert_eq!(state.failed_auths, 1);
    assert_eq!(state.seed_hex, None);
    let auths = state
        .apdu_log
        .iter()
        .filter(|e| e.ins == Some(0xCE))
        .count();
    assert_eq!(auths, 1, "authenticate must never be retried");
    assert_eq!(state.apdu_log.last().and_then(|e| e.ins), Some(0xCE));
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn token_removed_before_the_seed_gives_the_precise_error() {
    let options = ServeOptions {
        remove_at_ins: Some(0xC5),
        ..ServeOptions::default()
    };
    let t = place(TokenSpec::token2("8659622000555"), options);
    let out = safeid(&["burn", "--reader", READER0, "--yes", "--uri", URI]);
    assert!(!out.status.success());
    let err = stderr(&out);
    // Through pcscd a token that leaves while a command is in flight gives an empty reply:
    // the host cannot know whether the seed arrived, and says exactly that.
    assert!(err.contains("writing the seed failed"), "{err}");
    assert!(
        err.contains("config written, seed may or may not have been written"),
        "{err}"
    );
    assert!(err.contains("is blank or holds the new seed"), "{err}");
    let state = t.token.lock().unwrap().state();
    assert_eq!(state.config_writes, 1);
    assert_eq!(
        state.seed_hex, None,
        "restricted: the config write erased the seed"
    );
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn token_removed_before_the_config_leaves_the_seed_alone() {
    let options = ServeOptions {
        remove_at_ins: Some(0xD4),
        ..ServeOptions::default()
    };
    let t = place(TokenSpec::token2("8659612000556"), options);
    let out = safeid(&["burn", "--reader", READER0, "--yes", "--uri", URI]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("writing config failed"), "{err}");
    assert!(
        err.contains(
            "config may or may not have been written (the reply was lost), seed not written"
        ),
        "{err}"
    );
    let state = t.token.lock().unwrap().state();
    assert_eq!(state.config_writes, 0);
    assert_eq!(state.seed_writes, 0);
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn two_readers_without_a_choice_are_listed() {
    let out = safeid(&["info"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("several readers"), "{err}");
    assert!(err.contains("Virtual PCD 00 00") && err.contains("Virtual PCD 00 01"));
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn readers_are_listed_with_the_numbers_reader_takes() {
    let out = safeid(&["readers"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[0] Virtual PCD 00 00: no token\n[1] Virtual PCD 00 01: no token\n"
    );
    let out = safeid_with_socket(&["readers"], &stack_socket("SAFEID_TEST_PCSC_EMPTY_SOCKET"));
    assert!(
        stderr(&out).contains("no smart-card reader found"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn readers_show_the_token_present_read_only() {
    let t = place(TokenSpec::token2("8659632000088"), ServeOptions::default());
    // pcscd notices a new card within about 400 ms; until then the reader is empty (and
    // nothing is sent to the token).
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = safeid(&["readers"]);
        if String::from_utf8_lossy(&out.stdout).contains("token 8659632000088")
            || Instant::now() > deadline
        {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[0] Virtual PCD 00 00: token 8659632000088, Token2 C302-i\n[1] Virtual PCD 00 01: no token\n"
    );
    let out = safeid(&["readers", "--json"]);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["card"], "present");
    assert_eq!(
        lines[0]["atr"], "3B 80 80 01 01",
        "vpcd's ATR for the virtual token"
    );
    assert_eq!(lines[0]["token"]["serial"], "8659632000088");
    assert_eq!(lines[0]["token"]["model_name"], "Token2 C302-i");
    assert_eq!(lines[1]["card"], "empty");
    assert_eq!(lines[1]["token"], Value::Null);
    // Read-only: get info (and nothing else) reached the token, twice.
    let state = t.token.lock().unwrap().state();
    assert!(
        state.apdu_log.iter().all(|e| e.ins == Some(0x41)),
        "{:?}",
        state.apdu_log
    );
    assert_eq!(state.apdu_log.len(), 2);
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn probe_sends_get_info_only_and_reports_reader_atr_protocol() {
    let mut spec = TokenSpec::token2("ZZ00000042");
    spec.require_select = true;
    let t = place(spec, ServeOptions::default());
    let out = safeid(&["probe", "--reader", "00 00", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reader"], READER0);
    assert_eq!(v["atr"], "3B 80 80 01 01");
    assert!(
        ["T=0", "T=1"].contains(&v["protocol"].as_str().unwrap_or("")),
        "{v}"
    );
    assert_eq!(v["serial"], "ZZ00000042");
    assert_eq!(v["model"], Value::Null);
    let sent: Vec<&str> = v["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["command"].as_str().unwrap())
        .collect();
    assert_eq!(sent, ["get info", "select", "get info"]);
    // What reached the token: get info, the SELECT fallback, get info: nothing secure.
    let state = t.token.lock().unwrap().state();
    let ins: Vec<Option<u8>> = state.apdu_log.iter().map(|e| e.ins).collect();
    assert_eq!(
        ins,
        [Some(0x41), Some(0xA4), Some(0x41)],
        "{:?}",
        state.apdu_log
    );
    assert_eq!(state.failed_auths, 0);

    let out = safeid(&["probe", "--reader", "00 00"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("reader       Virtual PCD 00 00"), "{text}");
    assert!(text.contains("to burn it   - the access key"), "{text}");
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn several_readers_matching_the_reader_part_are_named() {
    let out = safeid(&["info", "--reader", "virtual pcd", "--json"]);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "several_readers");
    assert_eq!(
        v["error"]["message"],
        "--reader \"virtual pcd\" matches 2 readers: [0] Virtual PCD 00 00, [1] Virtual PCD 00 01"
    );
}

/// `burn --verify` on a reader, on a terminal (a pty from util-linux `script`): the report
/// with fresh codes comes first, then the question; the code typed from the display
/// verifies.
#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn burn_verify_prints_the_report_before_asking_for_the_code() {
    use std::io::{Read, Write};
    let t = place(TokenSpec::token2("8659632000099"), ServeOptions::default());
    let cmd = format!(
        "{} burn --reader '{READER0}' --yes --verify --uri '{URI}'",
        binary().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env(
            "PCSCLITE_CSOCK_NAME",
            stack_socket("SAFEID_TEST_PCSC_SOCKET"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` provides the pty");
    let screen = Arc::new(Mutex::new(String::new()));
    let mut pty_out = child.stdout.take().unwrap();
    let sink = Arc::clone(&screen);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pty_out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !screen.lock().unwrap().contains("type the code it shows") {
        assert!(
            Instant::now() < deadline,
            "no question: {}",
            screen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = screen.lock().unwrap().clone();
    let question = before.find("type the code it shows").unwrap();
    let report = before
        .find("current")
        .expect("the report is printed before the question");
    assert!(report < question, "{before}");
    assert!(before.contains("s left)"), "{before}");
    let shown = t.token.lock().unwrap().display_code().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{shown}").unwrap();
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    let after = screen.lock().unwrap().clone();
    assert!(after.contains("verified"), "{after}");
    assert!(status.success(), "{after}");
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn no_card_on_the_reader_says_what_to_do() {
    let started = Instant::now();
    let out = safeid(&["info", "--reader", "00 01", "--wait", "1"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("place it face down on the reader"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the wait is bounded"
    );
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn pcscd_not_running_is_a_clear_error() {
    let out = safeid_with_socket(
        &["info", "--reader", "0"],
        &stack_socket("SAFEID_TEST_PCSC_ABSENT_SOCKET"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("pcscd) is not running"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn no_reader_is_a_clear_error() {
    let out = safeid_with_socket(&["info"], &stack_socket("SAFEID_TEST_PCSC_EMPTY_SOCKET"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no smart-card reader found"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn virtual_token_command_serves_a_token_and_dumps_its_state() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("state.json");
    let mut child = Command::new(binary())
        .args([
            "virtual-token",
            "--port",
            "35964",
            "--serial",
            "8659600000321",
        ])
        .arg("--state-file")
        .arg(&state_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = safeid(&[
        "burn",
        "--reader",
        "Virtual PCD 00 01",
        "--wait",
        "10",
        "--yes",
        "--json",
        "--uri",
        URI,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "state").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let live: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(live["serial"], "8659600000321");
    assert_eq!(live["seed_hex"], URI_SEED_HEX);
    writeln!(stdin, "quit").unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());

    let dumped: Value = serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    assert_eq!(dumped["seed_hex"], URI_SEED_HEX);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&state_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the state file holds the seed");
    std::thread::sleep(Duration::from_millis(900));
}

#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn batch_on_two_real_readers_feeds_one_journal() {
    use std::net::{Ipv4Addr, SocketAddr};
    let a = place(TokenSpec::token2("8659612000701"), ServeOptions::default());
    let b_token = Arc::new(Mutex::new(VirtualToken::new(
        TokenSpec::token2("8659632000702"),
        Arc::new(SystemClock),
    )));
    let b_handle = vpcd::serve(
        SocketAddr::from((Ipv4Addr::LOCALHOST, vpcd::DEFAULT_PORT + 1)),
        Arc::clone(&b_token),
        ServeOptions::default(),
    )
    .unwrap();
    assert!(b_handle.wait_connected(Duration::from_secs(10)));
    let b = Placed {
        handle: b_handle,
        token: b_token,
    };

    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let out = safeid(&[
        "batch",
        "--reader",
        "00 00",
        "--reader",
        "00 01",
        "--random",
        "--count",
        "2",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 burned"));

    let (state, _) = safeid::journal::JournalState::load(&journal).unwrap();
    for placed in [&a, &b] {
        let token = placed.token.lock().unwrap().state();
        let entry = state
            .get(&token.serial)
            .expect("every burned token is in the journal");
        assert!(entry.is_done());
        let journaled = data_encoding::HEXUPPER.encode(entry.seed.secret.expose());
        assert_eq!(
            token.seed_hex.as_deref(),
            Some(journaled.as_str()),
            "{}",
            token.serial
        );
    }
}

/// The `burn_reader` example (built by `cargo test` with the pcsc feature, next to this
/// test's binary) burns the token on the only reader and prints the code it must show.
#[test]
#[ignore = "needs pcscd + vpcd: run through scripts/pcsc-stack.sh"]
fn the_burn_reader_example_burns_the_token_on_a_real_reader() {
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("examples/burn_reader"))
        .unwrap();
    assert!(
        example.exists(),
        "{} is not built: cargo test -p safeid-cli --features pcsc builds it",
        example.display()
    );
    let t = place(TokenSpec::token2("8659622000555"), ServeOptions::default());
    let out = Command::new(&example)
        .args([READER0, URI])
        .env(
            "PCSCLITE_CSOCK_NAME",
            stack_socket("SAFEID_TEST_PCSC_SOCKET"),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let state = t.token.lock().unwrap().state();
    assert_eq!(state.seed_hex.as_deref(), Some(URI_SEED_HEX));
    let shown = t.token.lock().unwrap().display_code_at(now()).unwrap();
    assert!(text.contains("it must show"), "{text}");
    // The printed code is the display's now, or its neighbour across a step boundary.
    let near: Vec<String> = [now() - 30, now(), now() + 30]
        .iter()
        .map(|&at| t.token.lock().unwrap().display_code_at(at).unwrap())
        .collect();
    assert!(
        near.iter().any(|c| text.contains(c.as_str())),
        "{text} vs {shown}"
    );
}
