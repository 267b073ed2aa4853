//! How bytes reach a token: the [`Transport`] / [`Transaction`] traits, the typed
//! [`TransportError`], the ISO 7816 continuation driver ([`transmit`]) written once above
//! the trait, and a scripted mock ([`mock::ScriptedTransport`]) for byte-exact tests.
//!
//! ```
//! use safeid_transport::mock::{Exchange, ScriptedTransport};
//! use safeid_transport::{Resend, Transport, transmit};
//!
//! // a T=0 reader: the data comes in a second round, fetched with GET RESPONSE
//! let mut mock = ScriptedTransport::new(vec![
//!     Exchange::ok("80 41 00 00 00", "61 02"),
//!     Exchange::ok("00 C0 00 00 02", "12 34 90 00"),
//! ]);
//! let get_info = [0x80, 0x41, 0x00, 0x00, 0x00];
//! let response = transmit(&mut *mock.begin().unwrap(), &get_info, Resend::Allowed).unwrap();
//! assert_eq!((response.data(), response.sw()), (&[0x12, 0x34][..], 0x9000));
//! mock.finish();
//! ```
//!
//! A backend (PC/SC reader, virtual token, mock) only moves raw APDUs. It knows nothing of
//! the token's command set (that is `safeid-proto`), so every backend gets the same
//! continuation handling and the same errors. The caller says, per command, whether the
//! driver may send it twice ([`Resend`]): authenticate and the writes must reach the token
//! at most once.
#![forbid(unsafe_code)]

mod apdu;
pub mod clock;
mod continuation;
mod error;
pub mod mock;
mod response;
mod station;

pub use apdu::{ApduCase, command_case};
pub use clock::{Clock, ManualClock, SystemClock};
pub use continuation::{MAX_GET_RESPONSE, MAX_WRONG_LENGTH, Resend, transmit};
pub use error::TransportError;
pub use response::Response;
pub use station::Station;

/// Upper-case hex with a space between bytes (`"00 A4 04 00"`), the format used in
/// transcripts, traces and mismatch reports.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{byte:02X}"));
    }
    out
}

/// A place a token can be reached through: a reader, the virtual token, a mock.
///
/// Object-safe, so the backend is chosen at run time (`Box<dyn Transport>`).
pub trait Transport {
    /// A human-readable name (reader name, "virtual token", ...), for messages.
    fn name(&self) -> String;

    /// Opens an exclusive transaction with the token on this transport. The transaction
    /// ends when the returned guard is dropped.
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, TransportError>;

    /// Resets the card (as a power cycle of the field would): the token drops its
    /// authentication. Backends that cannot reset return `Ok(())`.
    fn reset(&mut self) -> Result<(), TransportError> {
        Ok(())
    }

    /// The card's answer to reset (ATR), when the backend knows it: read-only, sends
    /// nothing to the token. The default is `None`.
    fn atr(&self) -> Option<Vec<u8>> {
        None
    }
}

/// One exclusive exchange with a token. Dropping it ends the transaction.
pub trait Transaction {
    /// Sends one command APDU and returns the raw reply (data followed by SW1 SW2).
    ///
    /// Implementations return [`TransportError::EmptyReply`] / [`TransportError::ShortReply`]
    /// for replies shorter than two bytes; they never retry on their own (a retried
    /// secure command could program the token twice).
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, TransportError> {
        (**self).begin()
    }
    fn reset(&mut self) -> Result<(), TransportError> {
        (**self).reset()
    }
    fn atr(&self) -> Option<Vec<u8>> {
        (**self).atr()
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn name(&self) -> String {
        (**self).name()
    }
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, TransportError> {
        (**self).begin()
    }
    fn reset(&mut self) -> Result<(), TransportError> {
        (**self).reset()
    }
    fn atr(&self) -> Option<Vec<u8>> {
        (**self).atr()
    }
}

impl<T: Transaction + ?Sized> Transaction for Box<T> {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).transmit_raw(command)
    }
}
