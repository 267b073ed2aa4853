//! The virtual token as an in-process [`Transport`], with fault injection that models
//! what docs/testing.md ("Failure behaviour") reports from real readers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use safeid_transport::{Transaction, Transport, TransportError};

use crate::VirtualToken;

/// The reply [`Faults::garbage_at`] substitutes: not data + a status word this token
/// family ever sends.
pub const GARBAGE_REPLY: [u8; 5] = [0x00, 0xFF, 0x5A, 0x12, 0x34];

/// Faults to inject, by the 0-based index of the APDU over the transport's lifetime
/// (counted across transactions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// The card is removed before APDU k: it is never delivered, and it and every later
    /// one fail with [`TransportError::CardRemoved`]. The token powers off.
    pub remove_after: Option<usize>,
    /// The card leaves while APDU k runs: the token processes it, the reply is lost
    /// ([`TransportError::EmptyReply`]), the token powers off, and every later APDU fails
    /// with [`TransportError::CardRemoved`].
    pub remove_in_flight_after: Option<usize>,
    /// APDU k is answered only after this delay (the real stack has no timeout).
    pub stall_at: Option<(usize, Duration)>,
    /// APDU k is processed but its reply is replaced by [`GARBAGE_REPLY`].
    pub garbage_at: Option<usize>,
}

/// A [`Transport`] to a shared [`VirtualToken`]. Keep a clone of the `Arc` to inspect the
/// token afterwards.
#[derive(Debug)]
pub struct SimTransport {
    token: Arc<Mutex<VirtualToken>>,
    faults: Faults,
    sent: usize,
    removed: bool,
}

impl SimTransport {
    /// A fault-free transport to `token`.
    pub fn new(token: Arc<Mutex<VirtualToken>>) -> Self {
        Self::with_faults(token, Faults::default())
    }

    /// A transport to `token` that injects `faults`.
    pub fn with_faults(token: Arc<Mutex<VirtualToken>>, faults: Faults) -> Self {
        Self {
            token,
            faults,
            sent: 0,
            removed: false,
        }
    }

    /// The token behind this transport.
    pub fn token(&self) -> Arc<Mutex<VirtualToken>> {
        Arc::clone(&self.token)
    }

    /// How many APDUs were offered to this transport so far (delivered or not).
    pub fn apdus_sent(&self) -> usize {
        self.sent
    }

    fn lock(&self) -> MutexGuard<'_, VirtualToken> {
        // The token never panics while locked; recover the data if a test thread did.
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remove(&mut self) {
        self.removed = true;
        self.lock().power_off();
    }

    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let index = self.sent;
        self.sent = self.sent.saturating_add(1);
        if self.removed {
            return Err(TransportError::CardRemoved);
        }
        if self.faults.remove_after.is_some_and(|k| index >= k) {
            self.remove();
            return Err(TransportError::CardRemoved);
        }
        if let Some((k, delay)) = self.faults.stall_at
            && k == index
        {
            std::thread::sleep(delay);
        }
        let reply = self.lock().process(command);
        if self.faults.remove_in_flight_after == Some(index) {
            self.remove();
            return Err(TransportError::EmptyReply);
        }
        if self.faults.garbage_at == Some(index) {
            return Ok(GARBAGE_REPLY.to_vec());
        }
        Ok(reply)
    }
}

impl Transport for SimTransport {
    fn name(&self) -> String {
        format!("virtual token {}", self.lock().serial())
    }

    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, TransportError> {
        if self.removed {
            return Err(TransportError::NoCard);
        }
        Ok(Box::new(SimTransaction { transport: self }))
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        if self.removed {
            return Err(TransportError::NoCard);
        }
        self.lock().reset();
        Ok(())
    }

    /// The ATR the virtual token presents on a vpcd reader ([`crate::vpcd::ATR`]).
    fn atr(&self) -> Option<Vec<u8>> {
        Some(crate::vpcd::ATR.to_vec())
    }
}

/// One transaction on a [`SimTransport`].
struct SimTransaction<'a> {
    transport: &'a mut SimTransport,
}

impl Transaction for SimTransaction<'_> {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.transport.transmit(command)
    }
}
