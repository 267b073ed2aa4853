//! A virtual SafeID-family token, for tests and demonstrations without hardware.
//!
//! This crate owns a stateful emulation of one single-profile NFC TOTP token as
//! `docs/protocol.md` describes it: serial and clock (get info), SM4 challenge-response
//! authentication, MAC-protected seed and config writes, restricted models that erase
//! their seed on a config write, the status words of section 5, an optional permanent
//! lockout, and the 6-digit code the display would show. It decodes every command from
//! the specification itself and deliberately does not use `safeid-proto`, so a client
//! bug and a simulator bug cannot be the same bug.
//!
//! Three ways in:
//! - [`VirtualToken::process`]: raw APDU in, data + status word out;
//! - [`SimTransport`]: a `safeid_transport::Transport` over a shared token, with
//!   [`Faults`] (card removed, reply lost in flight, stall, garbage);
//! - [`vpcd::serve`]: the token as a card on a real `pcscd` reader via vsmartcard's vpcd.
//!
//! ```
//! use std::sync::Arc;
//! use safeid_sim::{ManualClock, TokenSpec, VirtualToken};
//!
//! let clock = ManualClock::new(1_700_000_000);
//! let mut token = VirtualToken::new(TokenSpec::token2("8659622000001"), Arc::new(clock));
//! // get info: serial and clock, docs/protocol.md section 3.
//! let reply = token.process(&[0x80, 0x41, 0x00, 0x00, 0x02, 0x02, 0x11]);
//! assert_eq!(&reply[reply.len() - 2..], &[0x90, 0x00]);
//! assert_eq!(&reply[4..17], b"8659622000001");
//! assert_eq!(token.display_code(), None); // factory state: no seed
//! ```
#![forbid(unsafe_code)]

mod apdu;
mod clock;
mod commands;
pub mod crypto;
mod spec;
mod state;
mod station;
mod token;
mod transport;
pub mod vpcd;

pub use apdu::sw;
pub use clock::{Clock, ManualClock, SystemClock};
pub use commands::{MAX_SEED, SELECT_AID};
pub use crypto::HmacAlgorithm;
pub use spec::{MODELS, TOKEN2_KEY, TokenSpec, restricted_for_serial};
pub use state::{ConfigState, LogEntry, TokenState};
pub use station::{Placed, SerialQueue, SimStation, TokenFactory, serial_queue};
pub use token::{LOG_CAPACITY, VirtualToken};
pub use transport::{Faults, GARBAGE_REPLY, SimTransport};
