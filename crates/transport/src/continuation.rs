//! The ISO 7816 continuation driver (docs/protocol.md section 1), written once above
//! [`Transaction`] so that every backend gets the same handling.

use zeroize::Zeroizing;

use crate::apdu::{command_case, with_le};
use crate::{Response, Transaction, TransportError, hex};

/// How many `61 XX` replies one command may chain before the driver gives up
/// (64 x 256 bytes = 16 KiB, far more than any reply of this token family).
pub const MAX_GET_RESPONSE: usize = 64;

/// How many `6C XX` re-sends one command may cause before the driver gives up. A card
/// that asks twice for the same Le will ask forever.
pub const MAX_WRONG_LENGTH: usize = 3;

/// Whether the continuation driver may send a command a second time, which is what a
/// `6C XX` reply asks for (docs/protocol.md section 1). The caller decides: this crate
/// knows nothing of the command set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resend {
    /// Running the command twice does no harm (get info, get challenge, SELECT): a
    /// `6C XX` reply re-sends it with Le = `XX`.
    Allowed,
    /// The command must reach the token at most once: a re-sent authenticate counts as
    /// another attempt toward the token's lockout, a re-sent write programs the token
    /// again. A `6C XX` reply to it is [`TransportError::NotResent`]. `command` names it
    /// in that error, e.g. `"write seed"`.
    Never {
        /// The command's name, for the error message.
        command: &'static str,
    },
}

/// Sends one command APDU and follows ISO 7816 continuations (docs/protocol.md section 1).
///
/// - `61 XX`: the data of the reply is kept and `00 C0 00 00 XX` (GET RESPONSE; `XX = 00`
///   asks for 256 bytes) is sent; data accumulates across several `61` replies. GET
///   RESPONSE is a command of its own, so this holds whatever `resend` says.
/// - `6C XX`: with [`Resend::Allowed`], the last command is re-sent with Le = `XX`
///   (appended for cases 1 and 3, replaced for cases 2 and 4); the data of the `6C` reply
///   is dropped. With [`Resend::Never`], nothing more is sent and the answer is
///   [`TransportError::NotResent`]. A `6C XX` to a GET RESPONSE re-sends the GET
///   RESPONSE, never the command before it.
/// - Any other status word ends the exchange; the returned [`Response`] holds all the
///   accumulated data and that status word. The driver never interprets it otherwise.
///
/// Errors: a malformed (or extended-length) command is
/// [`TransportError::MalformedCommand`] and nothing is sent; a reply shorter than two bytes
/// is [`TransportError::EmptyReply`] / [`TransportError::ShortReply`]; more than
/// [`MAX_GET_RESPONSE`] `61` or [`MAX_WRONG_LENGTH`] `6C` replies is
/// [`TransportError::Continuation`]. Backend errors pass through unchanged. Nothing is
/// ever retried after an error: a secure command must not run twice.
///
/// The command is sent from the caller's buffer; the copies this driver makes (a command
/// rewritten with a new Le) are wiped when dropped.
pub fn transmit(
    tx: &mut dyn Transaction,
    command: &[u8],
    resend: Resend,
) -> Result<Response, TransportError> {
    command_case(command)?;
    // `None`: the next command to send is the caller's own `command`.
    let mut rewritten: Option<Zeroizing<Vec<u8>>> = None;
    let mut data = Vec::new();
    let mut get_responses = 0usize;
    let mut resends = 0usize;
    loop {
        let current: &[u8] = rewritten.as_deref().map_or(command, Vec::as_slice);
        let reply = Response::from_raw(tx.transmit_raw(current)?)?;
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
                rewritten = Some(Zeroizing::new(vec![0x00, 0xC0, 0x00, 0x00, le]));
            }
            0x6C => {
                if let (None, Resend::Never { command: name }) = (&rewritten, resend) {
                    return Err(TransportError::NotResent {
                        command: name,
                        header: hex(command.get(..5).unwrap_or(command)),
                        le: reply.sw2(),
                    });
                }
                resends += 1;
                if resends > MAX_WRONG_LENGTH {
                    return Err(TransportError::Continuation(format!(
                        "more than {MAX_WRONG_LENGTH} `6C XX` replies to one command"
                    )));
                }
                rewritten = Some(with_le(current, reply.sw2())?);
            }
            _ => {
                let sw = reply.sw();
                data.extend_from_slice(reply.data());
                return Ok(Response::new(data, sw));
            }
        }
    }
}
