//! How bytes reach a token: the [`Transport`] / [`Transaction`] traits, the typed
//! [`TransportError`], the ISO 7816 continuation driver ([`transmit`]) written once above
//! the trait, and a scripted mock ([`mock::ScriptedTransport`]) for byte-exact tests.
//!
//! A backend (PC/SC reader, virtual token, mock) only moves raw APDUs. It knows nothing of
//! the token's command set (that is `safeid-proto`), so every backend gets the same
//! continuation handling and the same errors.
#![forbid(unsafe_code)]

mod error;
pub use error::TransportError;

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
