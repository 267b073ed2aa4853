//! The PC/SC reader backend of safeid: the only crate that links libpcsclite (through the
//! [`pcsc`] crate). It lists readers ([`list_readers`]), chooses one ([`select_reader`]),
//! waits for a token and connects to it ([`PcscTransport::open`]), and exposes it as a
//! [`safeid_transport::Transport`]; every PC/SC error becomes a
//! [`TransportError`](safeid_transport::TransportError) that tells the user what to do
//! ([`map_error`]). [`PcscStation`] is a reader used as a batch station.
//!
//! # Building with real-reader support
//!
//! This crate needs the PC/SC headers and `pkg-config` at build time, and a running
//! `pcscd` at run time. Install them, then build the root package with its `pcsc` feature:
//!
//! ```text
//! sudo apt-get install libpcsclite-dev pkg-config pcscd   # Debian, Ubuntu
//! sudo dnf install pcsc-lite-devel pkgconf pcsc-lite       # Fedora, RHEL
//! # macOS ships PC/SC (PCSC.framework): nothing to install; Windows: WinSCard, built in
//! cargo build --release --features pcsc
//! ```
//!
//! # Using it
//!
//! ```no_run
//! use std::time::Duration;
//! use safeid_pcsc::{PcscTransport, ReaderChoice, WaitPolicy};
//! use safeid_transport::{Resend, Transport, transmit};
//!
//! let wait = WaitPolicy::new(Duration::from_secs(30)).on_wait(|message| eprintln!("{message}"));
//! let mut token = PcscTransport::open(ReaderChoice::Auto, wait)?;
//! let mut tx = token.begin()?;
//! let info = transmit(&mut *tx, &[0x80, 0x41, 0x00, 0x00, 0x00], Resend::Allowed)?;
//! println!("{:04X}", info.sw());
//! # Ok::<(), safeid_transport::TransportError>(())
//! ```
//!
//! # Deadlines, and the one the stack does not have
//!
//! - Waiting for a token ([`PcscTransport::open`]) and for its removal
//!   ([`PcscTransport::wait_for_removal`]) use SCardGetStatusChange with a timeout.
//! - SCardTransmit has no timeout anywhere in the PC/SC stack: a token that stalls
//!   without answering blocks the calling thread until the token leaves the field or
//!   pcscd gives up, and SCardCancel only cancels status waits. So [`PcscTransport`]
//!   runs every call that talks to the token (connect, begin, transmit, reset) on a
//!   worker thread that owns the connection, and bounds the caller's wait for the answer
//!   ([`DEFAULT_DEADLINE`], [`PcscTransport::set_deadline`]). When a deadline passes, the
//!   caller gets `Timeout` (`ReaderBusy` for a transaction that another program holds),
//!   the transport refuses every later call with `ReaderStalled`, and the worker thread
//!   is left blocked inside libpcsclite until the stack lets go. This bounds the caller,
//!   not the token: a secure command that timed out may or may not have run.
//! - Establishing a context and listing readers only talk to pcscd (not to a token) and
//!   have no deadline.
//! - Handing a call to the worker and its answer back wakes a thread each way. Inside a
//!   transaction both sides poll for up to half a millisecond before they sleep, so the
//!   APDUs of a burn do not each pay for waking an idle CPU (a halted one, in a virtual
//!   machine); a slower exchange (a real contactless reader takes milliseconds) ends in
//!   an ordinary blocking wait. `docs/benchmarks.md` has the figures.
//!
//! Every transmit uses a receive buffer of the largest size PC/SC can return, allocated
//! up front: a "buffer too small" error would arrive after the command already ran on
//! the token (docs/protocol.md section 1). A reply shorter than two bytes (the token left
//! while the command was in flight) is `EmptyReply` / `ShortReply`. Nothing is retried.
//!
//! The command handed to the worker thread is this crate's one copy of it (a write seed
//! or an authenticate among them): allocated at its size, moved through the channel, and
//! wiped after SCardTransmit. The part of the receive buffer a reply filled is wiped once
//! the reply is copied out, the whole buffer when a transmit fails and on drop. Copies
//! inside libpcsclite and pcscd are out of this crate's reach.
//!
//! The client library reads `PCSCLITE_CSOCK_NAME` (the pcscd socket) once per process;
//! the test stack uses it to reach a private pcscd.
#![forbid(unsafe_code)]

mod error;
mod reader;
mod station;
mod status;
mod transport;
mod wait;
mod worker;

/// The raw [`pcsc`](https://docs.rs/pcsc) crate this backend is built on, for programs that
/// need plain PC/SC calls next to a [`PcscTransport`] without a dependency of their own
/// on it, at the same version (the `safeid-cli` package's `pcsc` benchmark measures the
/// PC/SC floor with it).
pub use pcsc;

pub use error::map_error;
pub use reader::{ReaderChoice, list_readers, select_reader};
pub use station::{PcscStation, STATION_POLL};
pub use status::{CardPresence, ReaderStatus, card_protocol, reader_status};
pub use transport::{DEFAULT_DEADLINE, PcscTransport};
pub use wait::{Prompt, WAIT_MESSAGE, WaitPolicy};
