//! [`PcscTransport`]: a token on a PC/SC reader as a [`Transport`].

use std::ffi::CString;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use pcsc::Context;
use safeid_transport::{Transaction, Transport, TransportError};
use zeroize::Zeroizing;

use crate::ReaderChoice;
use crate::error::timeout;
use crate::reader::{establish, resolve};
use crate::wait::{WAIT_MESSAGE, WaitPolicy, card_gone, card_ready, wait_for_state};
use crate::worker::{self, Reply, Request};

/// How long a call to the token (connect, begin, transmit, reset) may take before the
/// caller gets [`TransportError::Timeout`], unless changed with
/// [`PcscTransport::set_deadline`]. Real exchanges take milliseconds.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(20);

/// A token on a PC/SC reader, connected in shared mode with T=0 or T=1.
///
/// The connection lives on a worker thread (see the crate docs for why); dropping the
/// transport disconnects and resets the card, so the token forgets its authentication.
pub struct PcscTransport {
    reader: String,
    reader_c: CString,
    /// A context of its own for status waits: libpcsclite serialises the calls of one
    /// context, and a status wait must not queue behind a transmit that hangs.
    status_context: Context,
    requests: Sender<Request>,
    replies: Receiver<Reply>,
    worker: Option<JoinHandle<()>>,
    deadline: Option<Duration>,
    stalled: bool,
}

impl PcscTransport {
    /// Chooses a reader, waits for a token as `wait` says (telling the user
    /// [`WAIT_MESSAGE`] through its callback), and connects to it.
    ///
    /// Errors: [`TransportError::NoService`], [`TransportError::NoReader`],
    /// [`TransportError::AmbiguousReader`], [`TransportError::ReaderNotFound`],
    /// [`TransportError::NoCard`] when no token arrived in time,
    /// [`TransportError::ReaderBusy`] when another program holds the reader exclusively.
    pub fn open(
        choice: impl Into<ReaderChoice>,
        mut wait: WaitPolicy,
    ) -> Result<Self, TransportError> {
        let status_context = establish()?;
        let (reader, reader_c) = resolve(&status_context, &choice.into())?;
        let arrived = wait_for_state(&status_context, &reader_c, wait.timeout, card_ready, || {
            if let Some(prompt) = wait.on_wait.as_mut() {
                prompt(WAIT_MESSAGE);
            }
        })?;
        if !arrived {
            return Err(TransportError::NoCard);
        }
        Self::connect(status_context, reader, reader_c)
    }

    /// Connects to the token on `reader` (no waiting), on a worker thread of its own.
    pub(crate) fn connect(
        status_context: Context,
        reader: String,
        reader_c: CString,
    ) -> Result<Self, TransportError> {
        let card_context = establish()?;
        let (requests, worker_requests) = mpsc::channel();
        let (worker_replies, replies) = mpsc::channel();
        let name = reader_c.clone();
        let worker = thread::Builder::new()
            .name("safeid-pcsc".into())
            .spawn(move || worker::run(card_context, name, worker_requests, worker_replies))
            .map_err(|e| TransportError::Backend(format!("cannot start the reader thread: {e}")))?;
        let mut transport = Self {
            reader,
            reader_c,
            status_context,
            requests,
            replies,
            worker: Some(worker),
            deadline: Some(DEFAULT_DEADLINE),
            stalled: false,
        };
        transport.await_reply(false)?;
        Ok(transport)
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Sets how long each call to the token may take (`None`: wait forever, as the PC/SC
    /// stack itself does). After a deadline passes the transport is unusable: every
    /// later call is [`TransportError::ReaderStalled`].
    pub fn set_deadline(&mut self, deadline: Option<Duration>) {
        self.deadline = deadline;
    }

    /// The current deadline (see [`set_deadline`](Self::set_deadline)).
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// Waits up to `timeout` for the token to leave the reader; true when it did (or was
    /// already gone), false when it is still there. Works also after a stall.
    ///
    /// Errors: [`TransportError::ReaderUnavailable`] when the reader was unplugged,
    /// [`TransportError::NoService`] when pcscd went away.
    pub fn wait_for_removal(&self, timeout: Duration) -> Result<bool, TransportError> {
        wait_for_state(
            &self.status_context,
            &self.reader_c,
            timeout,
            card_gone,
            || {},
        )
    }

    fn call(&mut self, request: Request) -> Result<Vec<u8>, TransportError> {
        if self.stalled {
            return Err(TransportError::ReaderStalled);
        }
        let is_begin = matches!(request, Request::Begin);
        if self.requests.send(request).is_err() {
            self.stalled = true;
            return Err(worker_gone());
        }
        self.await_reply(is_begin)
    }

    /// Waits for the worker's reply within the deadline. A begin that does not come
    /// back is another program holding the card, so it reads as "busy".
    fn await_reply(&mut self, is_begin: bool) -> Result<Vec<u8>, TransportError> {
        let outcome = worker::recv_spinning(&self.replies, worker::SPIN, self.deadline);
        match outcome {
            Ok(reply) => reply,
            Err(RecvTimeoutError::Timeout) => {
                self.stalled = true;
                Err(if is_begin {
                    TransportError::ReaderBusy
                } else {
                    timeout(self.deadline.unwrap_or_default())
                })
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.stalled = true;
                Err(worker_gone())
            }
        }
    }
}

fn worker_gone() -> TransportError {
    TransportError::Backend("the reader thread stopped unexpectedly".into())
}

impl Transport for PcscTransport {
    fn name(&self) -> String {
        self.reader.clone()
    }

    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, TransportError> {
        self.call(Request::Begin)?;
        Ok(Box::new(PcscTransaction { transport: self }))
    }

    /// Reconnects with a card reset (as a power cycle of the field would).
    fn reset(&mut self) -> Result<(), TransportError> {
        self.call(Request::Reset).map(|_| ())
    }

    /// The ATR pcscd reports for the reader (a status query: nothing reaches the token,
    /// and it works also after a stall).
    fn atr(&self) -> Option<Vec<u8>> {
        crate::status::atr_of(&self.status_context, &self.reader_c)
    }
}

impl Drop for PcscTransport {
    fn drop(&mut self) {
        // Hang up, so that the worker leaves its loop and disconnects the card.
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.requests, closed));
        // A stalled worker is still blocked in libpcsclite: leave it, it exits on its
        // own when the stack lets go. Otherwise wait, so the disconnect has happened.
        if let Some(worker) = self.worker.take()
            && !self.stalled
        {
            let _ = worker.join();
        }
    }
}

/// An open PC/SC transaction (SCardBeginTransaction); dropping it ends the transaction.
struct PcscTransaction<'a> {
    transport: &'a mut PcscTransport,
}

impl Transaction for PcscTransaction<'_> {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        // The one copy of the command on this side: allocated at its size, moved to the
        // worker, wiped there after SCardTransmit.
        self.transport
            .call(Request::Transmit(Zeroizing::new(command.to_vec())))
    }
}

impl Drop for PcscTransaction<'_> {
    fn drop(&mut self) {
        if !self.transport.stalled {
            let _ = self.transport.requests.send(Request::End);
        }
    }
}
