//! The thread that owns the card connection. Every call that talks to the token runs
//! here, so that the caller can stop waiting for it after a deadline: the PC/SC stack
//! itself has no timeout on SCardTransmit (see the crate docs).

use std::ffi::CString;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use pcsc::{Card, Context, Disposition, Protocols, ShareMode};
use safeid_transport::TransportError;
use zeroize::{Zeroize, Zeroizing};

use crate::error::map_error;

/// Receive buffer for every transmit, sized to the largest reply PC/SC can deliver: a
/// "buffer too small" error would arrive after the command already ran on the token
/// (docs/protocol.md section 1), and it must not be retried.
pub(crate) const RECEIVE_BUFFER: usize = pcsc::MAX_BUFFER_SIZE_EXTENDED;

/// How long the worker, inside a transaction, keeps polling for the next request after a
/// reply before it sleeps, and how long the caller polls for a reply (see
/// [`recv_spinning`]). Between transactions the worker sleeps at once.
pub(crate) const SPIN: Duration = Duration::from_micros(500);

/// Receives from `channel`, polling it for up to `spin` (yielding the CPU between polls)
/// before blocking, and giving up after `limit` in all (`None`: never).
///
/// Why: every request and reply crosses between the caller's thread and the worker. A
/// thread that blocks lets its CPU go idle, and in a virtual machine an idle virtual CPU
/// is halted; waking it again for the next message costs tens of microseconds, several
/// times per APDU, which is more than a whole APDU round trip to a virtual token. Polling
/// for a short while keeps both threads awake through the few microseconds between the
/// APDUs of a burn and through a fast token's reply; a slow reader (a real contactless
/// exchange takes milliseconds) still ends in an ordinary blocking wait. The `pcsc` benchmark (crates/cli/benches/pcsc.rs)
/// example of the root package measures the effect.
pub(crate) fn recv_spinning<T>(
    channel: &Receiver<T>,
    spin: Duration,
    limit: Option<Duration>,
) -> Result<T, RecvTimeoutError> {
    let start = Instant::now();
    let spin = limit.map_or(spin, |limit| spin.min(limit));
    loop {
        match channel.try_recv() {
            Ok(value) => return Ok(value),
            Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => {}
        }
        if start.elapsed() >= spin {
            break;
        }
        thread::yield_now();
    }
    match limit {
        Some(limit) => channel.recv_timeout(limit.saturating_sub(start.elapsed())),
        None => channel.recv().map_err(|_| RecvTimeoutError::Disconnected),
    }
}

/// What the caller asks the worker to do. Every request but `End` gets one reply.
///
/// The command of a `Transmit` (a write seed or an authenticate among them) is moved
/// across the channel, not copied, and wiped when the worker is done with it, or when a
/// request that was never served is dropped with the channel.
pub(crate) enum Request {
    Begin,
    Transmit(Zeroizing<Vec<u8>>),
    End,
    Reset,
}

/// A reply: the raw response bytes for `Transmit`, empty for the others.
pub(crate) type Reply = Result<Vec<u8>, TransportError>;

/// Connects (replying once with the outcome), then serves requests until the caller
/// hangs up. Dropping the card at the end disconnects with a reset.
pub(crate) fn run(
    context: Context,
    reader: CString,
    requests: Receiver<Request>,
    replies: Sender<Reply>,
) {
    let mut card = match context.connect(&reader, ShareMode::Shared, Protocols::ANY) {
        Ok(card) => card,
        Err(e) => {
            let _ = replies.send(Err(map_error(e)));
            return;
        }
    };
    if replies.send(Ok(Vec::new())).is_err() {
        leave(card);
        return;
    }
    let mut buffer = Zeroizing::new(vec![0u8; RECEIVE_BUFFER]);
    while let Ok(request) = requests.recv() {
        let reply = match request {
            Request::Begin => {
                let served = match card.transaction() {
                    // `transaction` drops at the end of this arm: SCardEndTransaction,
                    // leaving the card.
                    Ok(transaction) => Ok(replies.send(Ok(Vec::new())).is_ok()
                        && serve_transaction(&transaction, &requests, &replies, &mut buffer)),
                    Err(e) => Err(map_error(e)),
                };
                match served {
                    Ok(true) => continue,
                    Ok(false) => {
                        leave(card);
                        return;
                    }
                    Err(e) => Err(e),
                }
            }
            Request::Reset => card
                .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard)
                .map(|()| Vec::new())
                .map_err(map_error),
            Request::End => continue,
            Request::Transmit(_) => Err(TransportError::Backend(
                "internal error: transmit outside a transaction".into(),
            )),
        };
        if replies.send(reply).is_err() {
            leave(card);
            return;
        }
    }
    // The caller closed the transport: the card is disconnected with a reset (`Card`'s
    // drop), so the token starts its next session from power-up.
}

/// The caller hung up in the middle of a request: it gave up on a stalled reader
/// ([`TransportError::ReaderStalled`]) and may be long gone, and the card in the reader
/// may be another one by now. Disconnect without resetting: a late reset here would hit
/// whatever token is on the reader then (pcscd resets the slot, and the next session's
/// first command fails with a protocol mismatch; seen in `live_pcscd`).
fn leave(card: Card) {
    let _ = card.disconnect(Disposition::LeaveCard);
}

/// Serves transmits until `End`. Returns false when the caller hung up.
fn serve_transaction(
    card: &Card,
    requests: &Receiver<Request>,
    replies: &Sender<Reply>,
    buffer: &mut [u8],
) -> bool {
    while let Ok(request) = recv_spinning(requests, SPIN, None) {
        let reply = match request {
            Request::Transmit(command) => transmit(card, &command, buffer),
            Request::End => return true,
            Request::Begin | Request::Reset => Err(TransportError::Backend(
                "internal error: nested transaction or reset".into(),
            )),
        };
        if replies.send(reply).is_err() {
            return false;
        }
    }
    false
}

/// One SCardTransmit. A token that leaves the field while the command is in flight gives
/// an empty "successful" reply: anything shorter than a status word is an error.
///
/// The part of `buffer` the reply filled is wiped once the reply is copied out, so no
/// reply outlives its exchange in the worker (replies of this token family carry no
/// secret, but the buffer need not rely on that); the whole buffer is wiped on drop.
fn transmit(card: &Card, command: &[u8], buffer: &mut [u8]) -> Reply {
    let (filled, reply) = match card.transmit(command, buffer) {
        Ok(reply) => (
            reply.len(),
            match reply.len() {
                0 => Err(TransportError::EmptyReply),
                1 => Err(TransportError::ShortReply { len: 1 }),
                _ => Ok(reply.to_vec()),
            },
        ),
        // The stack may have written into the buffer before it failed: wipe all of it.
        Err(e) => (buffer.len(), Err(map_error(e))),
    };
    wipe_prefix(buffer, filled);
    reply
}

/// Wipes the first `len` bytes of `buffer` (all of it when `len` is larger).
fn wipe_prefix(buffer: &mut [u8], len: usize) {
    let end = len.min(buffer.len());
    buffer[..end].zeroize();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn wipe_prefix_clears_only_the_reply() {
        let mut buffer = vec![0xAAu8; 8];
        wipe_prefix(&mut buffer, 3);
        assert_eq!(buffer, [0, 0, 0, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA]);
        wipe_prefix(&mut buffer, 100);
        assert_eq!(buffer, [0; 8]);
    }

    #[test]
    fn a_waiting_message_is_taken_at_once() {
        let (tx, rx) = mpsc::channel();
        tx.send(7).unwrap();
        assert_eq!(recv_spinning(&rx, SPIN, Some(Duration::ZERO)), Ok(7));
    }

    #[test]
    fn a_message_after_the_spin_is_still_received() {
        let (tx, rx) = mpsc::channel();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            tx.send(1).unwrap();
        });
        let start = Instant::now();
        assert_eq!(recv_spinning(&rx, Duration::from_micros(100), None), Ok(1));
        assert!(start.elapsed() >= Duration::from_millis(50));
        sender.join().unwrap();
    }

    #[test]
    fn the_limit_bounds_the_whole_wait() {
        let (_tx, rx) = mpsc::channel::<u8>();
        let start = Instant::now();
        assert_eq!(
            recv_spinning(
                &rx,
                Duration::from_secs(10),
                Some(Duration::from_millis(30))
            ),
            Err(RecvTimeoutError::Timeout)
        );
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }

    #[test]
    fn a_hung_up_sender_ends_the_wait() {
        let (tx, rx) = mpsc::channel::<u8>();
        drop(tx);
        assert_eq!(
            recv_spinning(&rx, SPIN, None),
            Err(RecvTimeoutError::Disconnected)
        );
        let (tx, rx) = mpsc::channel::<u8>();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            drop(tx);
        });
        assert_eq!(
            recv_spinning(&rx, Duration::ZERO, Some(Duration::from_secs(5))),
            Err(RecvTimeoutError::Disconnected)
        );
        sender.join().unwrap();
    }
}
