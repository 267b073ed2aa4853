//! A source of tokens presented one after another, for batch provisioning.

use crate::{Transport, TransportError};

/// A reader at which tokens are presented one after another (a batch station): a real
/// reader where an operator swaps tokens, or a virtual one that makes a new token for
/// each serial. `Send`, so that each station can be driven from its own thread.
pub trait Station: Send {
    /// A human-readable name for messages ("reader 1: ACS ACR122U ...").
    fn name(&self) -> String;

    /// Releases the previous token (it leaves the field and forgets its authentication)
    /// and waits for the next one. `Ok(None)` means there will be no more tokens, or that
    /// `stop()` returned true while waiting: implementations poll `stop` at least every
    /// second or so while they wait.
    fn next_token(
        &mut self,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<&mut dyn Transport>, TransportError>;
}
