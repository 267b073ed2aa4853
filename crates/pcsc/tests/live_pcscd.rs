//! Through a live pcscd with the vsmartcard `vpcd` driver, and a tiny card emulator in
//! this file that plays a token on the vpcd socket (so this crate is checked without
//! depending on the project's simulator).
//!
//! Ignored by default: they need the private pcscd + vpcd stack. The project's test
//! command runs them inside it, from the workspace root:
//!
//! ```text
//! cargo test -p safeid-pcsc --no-run
//! bash scripts/pcsc-stack.sh cargo test -p safeid-pcsc --test live_pcscd -- --ignored
//! ```
//!
//! The script sets `PCSCLITE_CSOCK_NAME` (and the `SAFEID_TEST_PCSC_*` sockets used for
//! the "no service" and "no reader" cases) and runs the command in pcscd's network
//! namespace, where vpcd listens on 127.0.0.1:35963 (reader `Virtual PCD 00 00`).
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use safeid_pcsc::{
    PcscStation, PcscTransport, ReaderChoice, WAIT_MESSAGE, WaitPolicy, list_readers,
};
use safeid_transport::{Resend, Station, Transport, TransportError, transmit};

const READER: &str = "Virtual PCD 00 00";
const VPCD_PORT: u16 = 35963;
const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

/// The tests share one virtual reader: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How the emulated card answers one APDU: `None` stalls (never answers).
type Behaviour = fn(&[u8]) -> Option<Vec<u8>>;

/// A card on the vpcd socket. Dropping `remove` (or sending on it) takes it off the
/// reader; `controls` lists the control bytes vpcd sent (power, reset, ATR).
struct Card {
    remove: Option<mpsc::Sender<()>>,
    controls: Arc<Mutex<Vec<u8>>>,
    stream: TcpStream,
    thread: Option<thread::JoinHandle<()>>,
}

impl Card {
    fn insert(behaviour: Behaviour) -> Card {
        wait_until_empty();
        let stream = TcpStream::connect(("127.0.0.1", VPCD_PORT))
            .expect("vpcd is not listening: run this test inside scripts/pcsc-stack.sh");
        let controls = Arc::new(Mutex::new(Vec::new()));
        let (remove, removed) = mpsc::channel::<()>();
        let mut reader = stream.try_clone().unwrap();
        let seen = Arc::clone(&controls);
        let thread = thread::spawn(move || {
            loop {
                let mut len = [0u8; 2];
                if reader.read_exact(&mut len).is_err() {
                    return;
                }
                let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if reader.read_exact(&mut message).is_err() {
                    return;
                }
                let reply = match message.as_slice() {
                    [control] => {
                        seen.lock().unwrap().push(*control);
                        (*control == 4).then(|| ATR.to_vec())
                    }
                    apdu => match behaviour(apdu) {
                        Some(reply) => Some(reply),
                        None => {
                            // stall until the test takes the card away
                            let _ = removed.recv();
                            return;
                        }
                    },
                };
                if let Some(reply) = reply {
                    let mut frame = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
                    frame.extend(reply);
                    if reader.write_all(&frame).is_err() {
                        return;
                    }
                }
            }
        });
        Card {
            remove: Some(remove),
            controls,
            stream,
            thread: Some(thread),
        }
    }

    fn controls(&self) -> Vec<u8> {
        self.controls.lock().unwrap().clone()
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        drop(self.remove.take());
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A card taken off the reader is noticed by vpcd's presence poll (every ~400 ms): wait
/// until pcscd sees the reader empty, so that a test never connects to the card of the
/// test before it.
fn wait_until_empty() {
    use pcsc::{Context, ReaderState, Scope, State};
    let context = Context::establish(Scope::User).unwrap();
    let name = std::ffi::CString::new(READER).unwrap();
    let mut states = [ReaderState::new(name, State::UNAWARE)];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let _ = context.get_status_change(Duration::from_millis(100), &mut states);
        if states[0].event_state().contains(State::EMPTY) {
            return;
        }
        assert!(Instant::now() < deadline, "{READER} never became empty");
        states[0].sync_current_state();
    }
}

/// GET INFO answered in two rounds, as a T=0 reader would; anything else `6D 00`.
fn two_round_token(apdu: &[u8]) -> Option<Vec<u8>> {
    Some(match apdu {
        [0x80, 0x41, 0x00, 0x00, 0x00] => vec![0x61, 0x03],
        [0x00, 0xC0, 0x00, 0x00, 0x03] => vec![0x01, 0x02, 0x03, 0x90, 0x00],
        _ => vec![0x6D, 0x00],
    })
}

/// How many write seed commands (`84 C5 01 00`) [`wrong_le_token`] received.
static WRITE_SEEDS_SEEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Answers `6C 10` to everything, and counts the write seed commands it gets.
fn wrong_le_token(apdu: &[u8]) -> Option<Vec<u8>> {
    if apdu.starts_with(&[0x84, 0xC5, 0x01, 0x00]) {
        WRITE_SEEDS_SEEN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    Some(vec![0x6C, 0x10])
}

fn stalling_token(_: &[u8]) -> Option<Vec<u8>> {
    None
}

fn open_virtual_reader() -> PcscTransport {
    PcscTransport::open(
        ReaderChoice::Name(READER.into()),
        WaitPolicy::new(Duration::from_secs(5)),
    )
    .unwrap()
}

#[test]
#[ignore = "needs pcscd + vpcd: run inside scripts/pcsc-stack.sh (see the file docs)"]
fn lists_the_virtual_readers() {
    let _one = serial();
    let readers = list_readers().unwrap();
    eprintln!("readers seen: {readers:?}");
    assert!(readers.iter().any(|r| r == READER), "{readers:?}");
    assert!(
        readers.iter().any(|r| r == "Virtual PCD 00 01"),
        "{readers:?}"
    );
}

#[test]
#[ignore = "needs pcscd + vpcd: run inside scripts/pcsc-stack.sh (see the file docs)"]
fn an_empty_reader_prompts_then_reports_no_card() {
    let _one = serial();
    let prompts = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&prompts);
    let policy = WaitPolicy::new(Duration::from_millis(1200))
        .on_wait(move |message| seen.lock().unwrap().push(message.to_owned()));
    let start = Instant::now();
    let result = PcscTransport::open(ReaderChoice::Name("pcd 00 01".into()), policy);
    let waited = start.elapsed();
    assert_eq!(result.err(), Some(TransportError::NoCard));
    assert_eq!(*prompts.lock().unwrap(), [WAIT_MESSAGE]);
    assert!(waited >= Duration::from_millis(1100), "{waited:?}");
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    // several readers and no choice
    assert!(matches!(
        PcscTransport::open(ReaderChoice::Auto, WaitPolicy::no_wait()).err(),
        Some(TransportError::AmbiguousReader { .. })
    ));
}

#[test]
#[ignore = "needs pcscd + vpcd: run inside scripts/pcsc-stack.sh (see the file docs)"]
fn exchanges_reset_and_removal() {
    let _one = serial();
    let card = Card::insert(two_round_token);
    let mut token = open_virtual_reader();
    assert_eq!(token.name(), READER);
    {
        let mut tx = token.begin().unwrap();
        let response =
            transmit(&mut *tx, &[0x80, 0x41, 0x00, 0x00, 0x00], Resend::Allowed).unwrap();
        assert_eq!(response.data(), &[1, 2, 3]);
        assert_eq!(response.sw(), 0x9000);
        assert_eq!(
            transmit(&mut *tx, &[0x80, 0x99, 0, 0], Resend::Allowed)
                .unwrap()
                .sw(),
            0x6D00
        );
    }
    let before = card.controls().len();
    token.reset().unwrap();
    let after = card.controls();
    assert!(
        after[before..].iter().any(|c| matches!(c, 0 | 2)),
        "no power-off or reset reached the card: {after:?}"
    );
    // still usable after the reset
    let mut tx = token.begin().unwrap();
    assert_eq!(
        transmit(&mut *tx, &[0x80, 0x41, 0, 0, 0], Resend::Allowed)
            .unwrap()
            .data(),
        &[1, 2, 3]
    );
    drop(tx);

    assert!(!token.wait_for_removal(Duration::ZERO).unwrap());
    drop(card);
    assert!(token.wait_for_removal(Duration::from_secs(3)).unwrap());
    let err = token
        .begin()
        .and_then(|mut tx| tx.transmit_raw(&[0x80, 0x41, 0, 0, 0]))
        .unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::CardRemoved | TransportError::NoCard | TransportError::CardReset
        ),
        "{err:?}"
    );
}

#[test]
#[ignore = "needs pcscd + vpcd: run inside scripts/pcsc-stack.sh (see the file docs)"]
fn a_once_only_command_is_not_re_sent_through_pcscd() {
    let _one = serial();
    let _card = Card::insert(wrong_le_token);
    let mut token = open_virtual_reader();
    let mut tx = token.begin().unwrap();
    // write seed: `84 C5 01 00 24` + 36 bytes (docs/protocol.md section 3)
    let mut write_seed = vec![0x84, 0xC5, 0x01, 0x00, 0x24];
    write_seed.extend([0x5A; 36]);
    let err = transmit(
        &mut *tx,
        &write_seed,
        Resend::Never {
            command: "write seed",
        },
    )
    .unwrap_err();
    assert!(
        matches!(&err, TransportError::NotResent { command: "write seed", header, le: 0x10 } if header == "84 C5 01 00 24"),
        "{err:?}"
    );
    assert_eq!(
        WRITE_SEEDS_SEEN.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[test]
#[ignore = "needs pcscd + vpcd: run inside scripts/pcsc-stack.sh (see the file docs)"]
fn a_stalled_token_hits_the_deadline() {
    let _one = serial();
    let card = Card::insert(stalling_token);
    let mut token = open_virtual_reader();
    token.set_deadline(Some(Duration::from_secs(1)));
    let mut tx = token.begin().unwrap();
    let start = Instant::now();
    let err = tx.transmit_raw(&[0x80, 0x41, 0, 0, 0]).unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err, TransportError::Timeout { seconds: 1 });
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(
        tx.transmit_raw(&[0x80, 0x41, 0, 0, 0]),
        Err(TransportError::ReaderStalled)
    );
    drop(tx);
    assert_eq!(token.reset(), Err(TransportError::ReaderStalled));
    // the status context still works while the worker is blocked
    assert!(!token.wait_for_removal(Duration::ZERO).unwrap());
    drop(card);
    assert!(token.wait_for_removal(Duration::from_secs(3)).unwrap());
}

/// Sends GET INFO through whatever the station handed out.
fn get_info(token: &mut dyn Transport) -> Vec<u8> {
    let mut tx = token.begin().unwrap();
    transmit(&mut *tx, &[0x80, 0x41, 0x00, 0x00, 0x00], Resend::Allowed)
        .unwrap()
        .into_data()
}

#[test]
#[ignore = "needs pcscd + vpcd: run inside scripts/pcsc-stack.sh (see the file docs)"]
fn a_station_waits_for_each_token_and_can_be_stopped() {
    let _one = serial();
    let mut station = PcscStation::new(READER).unwrap();
    assert_eq!(station.name(), READER);
    let never = || false;
    let first = Card::insert(two_round_token);
    assert_eq!(
        get_info(station.next_token(&never).unwrap().unwrap()),
        [1, 2, 3]
    );

    // the operator takes the first token off, and puts the next one on a bit later
    let operator = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        drop(first);
        thread::sleep(Duration::from_millis(700));
        Card::insert(two_round_token)
    });
    let start = Instant::now();
    let token = station.next_token(&never).unwrap().unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(get_info(token), [1, 2, 3]);
    let second = operator.join().unwrap();

    // nobody takes the second token off: stop() ends the wait
    let start = Instant::now();
    let stop = || start.elapsed() >= Duration::from_secs(1);
    assert!(station.next_token(&stop).unwrap().is_none());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    drop(second);
}

/// Runs `child_checks` in a new process whose libpcsclite talks to another socket
/// (the variable is read once per process).
fn in_child(socket_variable: &str, expect: &str) {
    let _one = serial();
    let socket = std::env::var(socket_variable).unwrap_or_else(|_| {
        panic!("{socket_variable} is not set: run inside scripts/pcsc-stack.sh")
    });
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_checks", "--nocapture"])
        .env("PCSCLITE_CSOCK_NAME", socket)
        .env("SAFEID_PCSC_CHILD_EXPECT", expect)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run: {stdout}"
    );
}

#[test]
#[ignore = "needs pcscd + vpcd: run inside scripts/pcsc-stack.sh (see the file docs)"]
fn no_service_when_pcscd_is_absent() {
    in_child("SAFEID_TEST_PCSC_ABSENT_SOCKET", "no-service");
}

#[test]
#[ignore = "needs pcscd + vpcd: run inside scripts/pcsc-stack.sh (see the file docs)"]
fn no_reader_when_pcscd_has_none() {
    in_child("SAFEID_TEST_PCSC_EMPTY_SOCKET", "no-reader");
}

/// The child side of [`in_child`]; does nothing when run directly.
#[test]
#[ignore = "run by the tests above in a child process"]
fn child_checks() {
    let no_wait = WaitPolicy::no_wait;
    match std::env::var("SAFEID_PCSC_CHILD_EXPECT").as_deref() {
        Ok("no-service") => {
            assert_eq!(list_readers(), Err(TransportError::NoService));
            assert_eq!(
                PcscTransport::open(ReaderChoice::Auto, no_wait()).err(),
                Some(TransportError::NoService)
            );
        }
        Ok("no-reader") => {
            assert_eq!(list_readers(), Ok(Vec::new()));
            assert_eq!(
                PcscTransport::open(ReaderChoice::Auto, no_wait()).err(),
                Some(TransportError::NoReader)
            );
        }
        _ => {}
    }
}
