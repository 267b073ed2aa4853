//! A scripted test double: [`ScriptedTransport`] replays an exact, expected transcript of
//! command/reply exchanges and panics on the first difference.
//!
//! ```
//! use safeid_transport::mock::{Exchange, ScriptedTransport};
//! use safeid_transport::{Resend, Transport, TransportError, transmit};
//!
//! let mut mock = ScriptedTransport::new(vec![
//!     Exchange::ok("80 41 00 00 00", "01 02 90 00").label("get info"),
//!     // the challenge in this command is random: match its fixed part only
//!     Exchange::with_prefix("80 42 00 00 10", "90 00"),
//!     Exchange::fail("80 43 00 00", TransportError::CardRemoved),
//! ]);
//! {
//!     let mut tx = mock.begin().unwrap();
//!     let info = transmit(&mut *tx, &[0x80, 0x41, 0, 0, 0], Resend::Allowed).unwrap();
//!     assert_eq!(info.data(), &[1, 2]);
//!     let mut auth = vec![0x80, 0x42, 0, 0, 0x10];
//!     auth.extend([0x5A; 16]);
//!     transmit(&mut *tx, &auth, Resend::Never { command: "authenticate" }).unwrap();
//!     assert_eq!(
//!         transmit(&mut *tx, &[0x80, 0x43, 0, 0], Resend::Allowed),
//!         Err(TransportError::CardRemoved)
//!     );
//! }
//! let sent = mock.finish(); // panics if exchanges remain
//! assert_eq!(sent.len(), 3);
//! ```
//!
//! Being a test double, the mock panics (failing the test) instead of returning errors
//! when the code under test deviates from the script: a different command, a command
//! after the end of the script, or an unscripted reset in strict mode. Replies are
//! returned exactly as scripted, even when shorter than two bytes, so that the code
//! above the transport can be tested against broken replies.
//!
//! The commands the mock receives (a write seed among them) and the scripted commands
//! are kept in buffers that are wiped when dropped, like every other copy of a command
//! in this crate. A mismatch report prints the command in full: it is a test failure,
//! and the bytes are the test's own.

use std::collections::VecDeque;
use std::fmt;

use zeroize::Zeroizing;

use crate::{Transaction, Transport, TransportError, hex};

/// Bytes for a script: a `&str`/`String` is hex (spaces, tabs, newlines and `:` allowed;
/// invalid hex panics, as it is a bug in the test), byte slices, arrays and vectors are
/// taken as they are.
pub trait ScriptBytes {
    /// The bytes.
    fn script_bytes(self) -> Vec<u8>;
}

impl ScriptBytes for &str {
    fn script_bytes(self) -> Vec<u8> {
        let compact: String = self
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ':')
            .collect();
        match data_encoding::HEXLOWER_PERMISSIVE.decode(compact.as_bytes()) {
            Ok(bytes) => bytes,
            Err(e) => panic!("invalid hex in a ScriptedTransport script: {self:?}: {e}"),
        }
    }
}

impl ScriptBytes for String {
    fn script_bytes(self) -> Vec<u8> {
        self.as_str().script_bytes()
    }
}

impl ScriptBytes for &String {
    fn script_bytes(self) -> Vec<u8> {
        self.as_str().script_bytes()
    }
}

impl ScriptBytes for Vec<u8> {
    fn script_bytes(self) -> Vec<u8> {
        self
    }
}

impl ScriptBytes for &Vec<u8> {
    fn script_bytes(self) -> Vec<u8> {
        self.clone()
    }
}

impl ScriptBytes for &[u8] {
    fn script_bytes(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> ScriptBytes for [u8; N] {
    fn script_bytes(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> ScriptBytes for &[u8; N] {
    fn script_bytes(self) -> Vec<u8> {
        self.to_vec()
    }
}

/// A caller's test of a command, for [`Exchange::matching`].
type Check = Box<dyn Fn(&[u8]) -> bool>;

/// How a scripted step recognises the command it expects.
enum Matcher {
    Exact(Zeroizing<Vec<u8>>),
    Prefix(Zeroizing<Vec<u8>>),
    Predicate { description: String, check: Check },
}

impl Matcher {
    fn matches(&self, command: &[u8]) -> bool {
        match self {
            Self::Exact(expected) => expected.as_slice() == command,
            Self::Prefix(prefix) => command.starts_with(prefix),
            Self::Predicate { check, .. } => check(command),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(bytes) => write!(f, "{}", hex(bytes)),
            Self::Prefix(bytes) => write!(f, "{} ...", hex(bytes)),
            Self::Predicate { description, .. } => write!(f, "<{description}>"),
        }
    }
}

enum Step {
    Transmit {
        matcher: Matcher,
        reply: Result<Vec<u8>, TransportError>,
    },
    Reset(Result<(), TransportError>),
    BeginFails(TransportError),
}

/// One step of a script: an expected command with its reply, or a reset, or a failing
/// `begin`. Build with the constructors; add a [`label`](Exchange::label) to make
/// mismatch reports easier to read.
pub struct Exchange {
    step: Step,
    label: Option<String>,
}

impl Exchange {
    fn new(step: Step) -> Self {
        Self { step, label: None }
    }

    /// Expects exactly `command` and answers `reply` (data followed by SW1 SW2).
    pub fn ok(command: impl ScriptBytes, reply: impl ScriptBytes) -> Self {
        Self::new(Step::Transmit {
            matcher: Matcher::Exact(Zeroizing::new(command.script_bytes())),
            reply: Ok(reply.script_bytes()),
        })
    }

    /// Expects exactly `command` and fails it with `error` (e.g. the token leaving).
    pub fn fail(command: impl ScriptBytes, error: TransportError) -> Self {
        Self::new(Step::Transmit {
            matcher: Matcher::Exact(Zeroizing::new(command.script_bytes())),
            reply: Err(error),
        })
    }

    /// Expects any command that starts with `prefix` and answers `reply`. For commands
    /// with random parts (a host challenge): script the fixed header and length bytes and
    /// check the random part afterwards through [`ScriptedTransport::sent`] if it matters.
    pub fn with_prefix(prefix: impl ScriptBytes, reply: impl ScriptBytes) -> Self {
        Self::new(Step::Transmit {
            matcher: Matcher::Prefix(Zeroizing::new(prefix.script_bytes())),
            reply: Ok(reply.script_bytes()),
        })
    }

    /// Expects a command for which `check` returns true and answers `reply`;
    /// `description` names the expectation in mismatch reports.
    pub fn matching(
        description: impl Into<String>,
        check: impl Fn(&[u8]) -> bool + 'static,
        reply: impl ScriptBytes,
    ) -> Self {
        Self::new(Step::Transmit {
            matcher: Matcher::Predicate {
                description: description.into(),
                check: Box::new(check),
            },
            reply: Ok(reply.script_bytes()),
        })
    }

    /// Expects a call of [`Transport::reset`] here, which succeeds.
    pub fn reset() -> Self {
        Self::new(Step::Reset(Ok(())))
    }

    /// Expects a call of [`Transport::reset`] here, which fails with `error`.
    pub fn reset_fails(error: TransportError) -> Self {
        Self::new(Step::Reset(Err(error)))
    }

    /// The next [`Transport::begin`] fails with `error` (e.g. [`TransportError::NoCard`]).
    /// Without such a step, `begin` always succeeds and is only counted.
    pub fn begin_fails(error: TransportError) -> Self {
        Self::new(Step::BeginFails(error))
    }

    /// Names this step in mismatch reports ("authenticate", "write seed", ...).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    fn describe(&self) -> String {
        let what = match &self.step {
            Step::Transmit { matcher, .. } => format!("command {matcher}"),
            Step::Reset(_) => "reset".to_owned(),
            Step::BeginFails(_) => "begin (scripted to fail)".to_owned(),
        };
        match &self.label {
            Some(label) => format!("{what} ({label})"),
            None => what,
        }
    }
}

/// A [`Transport`] that replays a script of [`Exchange`]s; see the [module docs](self).
///
/// `begin` is counted ([`transaction_count`](Self::transaction_count)) and always
/// succeeds unless the next step is [`Exchange::begin_fails`]. `reset` is counted
/// ([`reset_count`](Self::reset_count)); when the next step is [`Exchange::reset`] it
/// consumes that step, otherwise it succeeds silently, or panics after
/// [`strict_resets`](Self::strict_resets).
pub struct ScriptedTransport {
    name: String,
    script: VecDeque<Exchange>,
    total: usize,
    sent: Vec<Zeroizing<Vec<u8>>>,
    resets: usize,
    transactions: usize,
    strict_resets: bool,
}

impl ScriptedTransport {
    /// A mock that expects exactly `script`, in order.
    pub fn new(script: Vec<Exchange>) -> Self {
        Self {
            name: "scripted mock".to_owned(),
            total: script.len(),
            script: script.into(),
            sent: Vec::new(),
            resets: 0,
            transactions: 0,
            strict_resets: false,
        }
    }

    /// Sets the name returned by [`Transport::name`].
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Makes every reset that is not scripted with [`Exchange::reset`] panic.
    pub fn strict_resets(mut self) -> Self {
        self.strict_resets = true;
        self
    }

    /// Every command transmitted so far, in order (including a mismatching one). Each is
    /// wiped when the mock is dropped.
    pub fn sent(&self) -> &[Zeroizing<Vec<u8>>] {
        &self.sent
    }

    /// [`sent`](Self::sent) as hex strings, handy for `assert_eq!` against a transcript.
    pub fn sent_hex(&self) -> Vec<String> {
        self.sent.iter().map(|c| hex(c)).collect()
    }

    /// How many times [`Transport::reset`] was called (scripted or not).
    pub fn reset_count(&self) -> usize {
        self.resets
    }

    /// How many transactions were opened successfully.
    pub fn transaction_count(&self) -> usize {
        self.transactions
    }

    /// How many scripted steps have not happened yet.
    pub fn remaining(&self) -> usize {
        self.script.len()
    }

    /// Panics, listing them, if scripted steps remain.
    pub fn assert_done(&self) {
        if self.script.is_empty() {
            return;
        }
        let first = self.total - self.script.len() + 1;
        let pending: Vec<String> = self
            .script
            .iter()
            .enumerate()
            .map(|(i, step)| {
                format!(
                    "  step {} of {}: {}",
                    first + i,
                    self.total,
                    step.describe()
                )
            })
            .collect();
        panic!(
            "{}: the script was not finished, {} step(s) never happened:\n{}",
            self.name,
            self.script.len(),
            pending.join("\n")
        );
    }

    /// Checks that the whole script happened (see [`assert_done`](Self::assert_done))
    /// and returns the commands actually sent (wiped when dropped).
    pub fn finish(self) -> Vec<Zeroizing<Vec<u8>>> {
        self.assert_done();
        self.sent
    }

    /// 1-based number of the next step, for messages.
    fn step_number(&self) -> usize {
        self.total - self.script.len() + 1
    }

    fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(Zeroizing::new(command.to_vec()));
        let number = self.step_number();
        let Some(next) = self.script.pop_front() else {
            panic!(
                "{}: command after the end of the script ({} steps): {}",
                self.name,
                self.total,
                hex(command)
            );
        };
        let description = next.describe();
        match next.step {
            Step::Transmit { matcher, reply } => {
                if !matcher.matches(command) {
                    panic!(
                        "{}: command mismatch at step {number} of {}{}\n{}",
                        self.name,
                        self.total,
                        next.label.map(|l| format!(" ({l})")).unwrap_or_default(),
                        mismatch_report(&matcher, command)
                    );
                }
                reply
            }
            _ => panic!(
                "{}: step {number} of {} expected {description}, but got command {}",
                self.name,
                self.total,
                hex(command)
            ),
        }
    }
}

/// The expected and actual bytes one above the other, with a caret under the first byte
/// that differs.
fn mismatch_report(matcher: &Matcher, actual: &[u8]) -> String {
    let expected = match matcher {
        Matcher::Exact(bytes) | Matcher::Prefix(bytes) => bytes.as_slice(),
        Matcher::Predicate { .. } => {
            return format!(
                "  expected: {matcher}\n  actual ({} bytes): {}",
                actual.len(),
                hex(actual)
            );
        }
    };
    let first_difference = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    let kind = if matches!(matcher, Matcher::Prefix(_)) {
        " prefix"
    } else {
        ""
    };
    let expected_head = format!("  expected{kind} ({:>3} bytes): ", expected.len());
    let actual_head = format!(
        "  actual{} ({:>3} bytes): ",
        " ".repeat(kind.len() + 2),
        actual.len()
    );
    format!(
        "{expected_head}{}\n{actual_head}{}\n{}^^ first difference at byte {first_difference}",
        hex(expected),
        hex(actual),
        " ".repeat(actual_head.len() + 3 * first_difference),
    )
}

impl Transport for ScriptedTransport {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, TransportError> {
        match self.script.pop_front() {
            Some(Exchange {
                step: Step::BeginFails(error),
                ..
            }) => return Err(error),
            Some(other) => self.script.push_front(other),
            None => {}
        }
        self.transactions += 1;
        Ok(Box::new(ScriptedTransaction { mock: self }))
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.resets += 1;
        match self.script.pop_front() {
            Some(Exchange {
                step: Step::Reset(result),
                ..
            }) => return result,
            Some(other) => self.script.push_front(other),
            None => {}
        }
        if self.strict_resets {
            let expected = self
                .script
                .front()
                .map_or_else(|| "the end of the script".to_owned(), Exchange::describe);
            panic!(
                "{}: unscripted reset at step {} of {}, expected {expected}",
                self.name,
                self.step_number(),
                self.total
            );
        }
        Ok(())
    }
}

/// The transaction handed out by [`ScriptedTransport::begin`].
struct ScriptedTransaction<'a> {
    mock: &'a mut ScriptedTransport,
}

impl Transaction for ScriptedTransaction<'_> {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.mock.exchange(command)
    }
}
