//! The thread that owns the card connection. Every call that talks to the token runs
//! here, so that the caller can stop waiting for it after a deadline: the PC/SC stack
//! itself has no timeout on SCardTransmit (see the crate docs).

use std::ffi::CString;
use std::sync::mpsc::{Receiver, Sender};

use pcsc::{Card, Context, Disposition, Protocols, ShareMode};
use safeid_transport::TransportError;

use crate::error::map_error;

/// Receive buffer for every transmit, sized to the largest reply PC/SC can deliver: a
/// "buffer too small" error would arrive after the command already ran on the token
/// (PROTOCOL.md section 1), and it must not be retried.
pub(crate) const RECEIVE_BUFFER: usize = pcsc::MAX_BUFFER_SIZE_EXTENDED;

/// What the caller asks the worker to do. Every request but `End` gets one reply.
pub(crate) enum Request {
    Begin,
    Transmit(Vec<u8>),
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
        return;
    }
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    while let Ok(request) = requests.recv() {
        let reply = match request {
            Request::Begin => match card.transaction() {
                Ok(transaction) => {
                    if replies.send(Ok(Vec::new())).is_err() {
                        return;
                    }
                    if !serve_transaction(&transaction, &requests, &replies, &mut buffer) {
                        return;
                    }
                    // `transaction` drops here: SCardEndTransaction, leaving the card.
                    continue;
                }
                Err(e) => Err(map_error(e)),
            },
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
            return;
        }
    }
}

/// Serves transmits until `End`. Returns false when the caller hung up.
fn serve_transaction(
    card: &Card,
    requests: &Receiver<Request>,
    replies: &Sender<Reply>,
    buffer: &mut [u8],
) -> bool {
    while let Ok(request) = requests.recv() {
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
fn transmit(card: &Card, command: &[u8], buffer: &mut [u8]) -> Reply {
    let reply = card.transmit(command, buffer).map_err(map_error)?;
    match reply.len() {
        0 => Err(TransportError::EmptyReply),
        1 => Err(TransportError::ShortReply { len: 1 }),
        _ => Ok(reply.to_vec()),
    }
}
