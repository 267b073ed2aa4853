use thiserror::Error;

/// Why an APDU could not be exchanged. Messages tell the user what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The smart-card service is not reachable.
    #[error(
        "the smart-card service (pcscd) is not running: start it (e.g. `pcscd` or `systemctl start pcscd`) and try again"
    )]
    NoService,
    /// No reader is connected.
    #[error("no smart-card reader found: plug in a reader and try again")]
    NoReader,
    /// The named reader does not exist.
    #[error("no reader matches {wanted:?}; readers present: {available}")]
    ReaderNotFound {
        /// What the user asked for.
        wanted: String,
        /// The readers that exist, comma-separated.
        available: String,
    },
    /// Several readers are present and none was chosen.
    #[error(
        "several readers are present and none was chosen: choose one by name, part of a name, or index: {available}"
    )]
    AmbiguousReader {
        /// The readers that exist, numbered.
        available: String,
    },
    /// The reader was unplugged.
    #[error("the reader was unplugged")]
    ReaderUnavailable,
    /// No token is on the reader.
    #[error("no token on the reader: switch the token on and place it face down on the reader")]
    NoCard,
    /// The token left the field during the exchange.
    #[error("the token was removed from the reader")]
    CardRemoved,
    /// The card was reset by someone else (another program, or the field).
    #[error("the token was reset during the exchange")]
    CardReset,
    /// Another program holds the reader.
    #[error("the reader is busy: another program is using it; close it and try again")]
    ReaderBusy,
    /// No answer within the deadline.
    #[error(
        "no answer from the token within {seconds} s: keep the token on the reader and switched on"
    )]
    Timeout {
        /// The deadline that passed, in seconds.
        seconds: u64,
    },
    /// The token answered with nothing (it left the field while the command was in flight).
    #[error("the token gave an empty reply (it probably left the field while the command ran)")]
    EmptyReply,
    /// The token answered with fewer than the two status bytes.
    #[error("the token gave a {len}-byte reply, shorter than a status word")]
    ShortReply {
        /// Length of the reply.
        len: usize,
    },
    /// A continuation (`61 XX` / `6C XX`) did not converge.
    #[error("the reader kept asking for continuation: {0}")]
    Continuation(String),
    /// The token answered `6C XX` ("send it again with Le = `XX`") to a command that must
    /// reach the token at most once ([`Resend::Never`](crate::Resend::Never)), so the
    /// driver did not re-send it. ISO 7816-4 says a `6C` reply means the command was not
    /// processed, but a token that breaks that rule may have run it: treat its effect as
    /// unknown. The message names the command and its header, never its body.
    #[error(
        "the token asked for {command} (header {header}) to be sent again with Le = {le:02X} (`6C {le:02X}`); it was not re-sent, because {command} must reach the token at most once"
    )]
    NotResent {
        /// The command's name, e.g. `"write seed"`.
        command: &'static str,
        /// The command's first five bytes (CLA INS P1 P2 and Lc or Le) as hex.
        header: String,
        /// The Le the token asked for.
        le: u8,
    },
    /// The command handed to the transport is not a well-formed short APDU (a bug in the
    /// caller, not a token problem). Nothing was sent.
    #[error("malformed command APDU, nothing was sent: {0}")]
    MalformedCommand(String),
    /// An earlier command never got an answer and the backend gave up on it; the
    /// connection cannot be used any more.
    #[error(
        "the reader stopped answering an earlier command: remove the token, replug the reader if needed, and start again"
    )]
    ReaderStalled,
    /// Anything else the backend reported, with its own words.
    #[error("reader error: {0}")]
    Backend(String),
}
