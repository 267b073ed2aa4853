//! The ISO 7816 continuation driver (docs/protocol.md section 1), written once above
//! [`Transaction`] so that every backend gets the same handling.

use crate::apdu::{command_case, with_le};
use crate::{Response, Transaction, TransportError};

/// How many `61 XX` replies one command may chain before the driver gives up
/// (64 x 256 bytes = 16 KiB, far more than any reply of this token family).
pub const MAX_GET_RESPONSE: usize = 64;

/// How many `6C XX` re-sends one command may cause before the driver gives up. A card
/// that asks twice for the same Le will ask forever.
pub const MAX_WRONG_LENGTH: usize = 3;

/// Sends one command APDU and follows ISO 7816 continuations (docs/protocol.md section 1).
///
/// - `61 XX`: the data of the reply is kept and `00 C0 00 00 XX` (GET RESPONSE; `XX = 00`
///   asks for 256 bytes) is sent; data accumulates across several `61` replies.
/// - `6C XX`: the last command is re-sent with Le = `XX` (appended for cases 1 and 3,
///   replaced for cases 2 and 4); the data of the `6C` reply is dropped.
/// - Any other status word ends the exchange; the returned [`Response`] holds all the
///   accumulated data and that status word. The driver never interprets it otherwise.
///
/// Errors: a malformed (or extended-length) command is
/// [`TransportError::MalformedCommand`] and nothing is sent; a reply shorter than two bytes
/// is [`TransportError::EmptyReply`] / [`TransportError::ShortReply`]; more than
/// [`MAX_GET_RESPONSE`] `61` or [`MAX_WRONG_LENGTH`] `6C` replies is
/// [`TransportError::Continuation`]. Backend errors pass through unchanged. Nothing is
/// ever retried after an error: a secure command must not run twice.
pub fn transmit(tx: &mut dyn Transaction, command: &[u8]) -> Result<Response, TransportError> {
    command_case(command)?;
    let mut current = command.to_vec();
    let mut data = Vec::new();
    let mut get_responses = 0usize;
    let mut resends = 0usize;
    loop {
        let reply = Response::from_raw(tx.transmit_raw(&current)?)?;
        match reply.sw1() {
            0x61 => {
                get_responses += 1;
                if get_responses > MAX_GET_RESPONSE {
                    return Err(TransportError::Continuation(format!(
                        "more than {MAX_GET_RESPONSE} `61 XX` replies to one command"
                    )));
                }
                let le = reply.sw2();
                data.extend_from_slice(reply.data());
                current = vec![0x00, 0xC0, 0x00, 0x00, le];
            }
            0x6C => {
                resends += 1;
                if resends > MAX_WRONG_LENGTH {
                    return Err(TransportError::Continuation(format!(
                        "more than {MAX_WRONG_LENGTH} `6C XX` replies to one command"
                    )));
                }
                current = with_le(&current, reply.sw2())?;
            }
            _ => {
                let sw = reply.sw();
                data.extend_from_slice(reply.data());
                return Ok(Response::new(data, sw));
            }
        }
    }
}
