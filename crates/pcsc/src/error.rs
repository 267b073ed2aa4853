//! pcsc::Error -> TransportError, with messages that tell the user what to do.

use std::time::Duration;

use pcsc::Error;
use safeid_transport::TransportError;

/// Maps a PC/SC error to the [`TransportError`] the user sees.
///
/// Beyond the obvious pairs: `NotTransacted` (the token left between two APDUs: pcscd
/// reports it before it noticed the removal) is [`TransportError::CardRemoved`];
/// `ServiceStopped` and `CommError` (pcscd went away during a call) are
/// [`TransportError::NoService`]; `UnresponsiveCard` (the token does not answer the
/// reset, typically because it is switched off) is [`TransportError::NoCard`];
/// `InsufficientBuffer` says that the command already ran. Everything else keeps the
/// library's own words in [`TransportError::Backend`].
pub fn map_error(error: Error) -> TransportError {
    match error {
        Error::NoService | Error::ServiceStopped | Error::CommError => TransportError::NoService,
        Error::NoReadersAvailable => TransportError::NoReader,
        Error::ReaderUnavailable | Error::UnknownReader => TransportError::ReaderUnavailable,
        Error::NoSmartcard | Error::UnresponsiveCard => TransportError::NoCard,
        Error::RemovedCard | Error::NotTransacted => TransportError::CardRemoved,
        Error::ResetCard => TransportError::CardReset,
        Error::SharingViolation => TransportError::ReaderBusy,
        Error::Timeout => TransportError::Timeout { seconds: 0 },
        Error::InsufficientBuffer => TransportError::Backend(
            "the reply did not fit the receive buffer, but the command already ran on the \
             token: check the token's state before repeating anything"
                .into(),
        ),
        // The PC/SC code in hex, for looking it up; never Rust's Debug text.
        other => TransportError::Backend(format!("{other} (PC/SC code 0x{:08X})", other as u32)),
    }
}

/// [`TransportError::Timeout`] for a deadline, rounded up to whole seconds.
pub(crate) fn timeout(waited: Duration) -> TransportError {
    let seconds = waited.as_secs() + u64::from(waited.subsec_nanos() > 0);
    TransportError::Timeout { seconds }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_pairs() {
        let pairs = [
            (Error::NoService, TransportError::NoService),
            (Error::ServiceStopped, TransportError::NoService),
            (Error::CommError, TransportError::NoService),
            (Error::NoReadersAvailable, TransportError::NoReader),
            (Error::ReaderUnavailable, TransportError::ReaderUnavailable),
            (Error::UnknownReader, TransportError::ReaderUnavailable),
            (Error::NoSmartcard, TransportError::NoCard),
            (Error::UnresponsiveCard, TransportError::NoCard),
            (Error::RemovedCard, TransportError::CardRemoved),
            (Error::NotTransacted, TransportError::CardRemoved),
            (Error::ResetCard, TransportError::CardReset),
            (Error::SharingViolation, TransportError::ReaderBusy),
            (Error::Timeout, TransportError::Timeout { seconds: 0 }),
        ];
        for (pcsc, ours) in pairs {
            assert_eq!(map_error(pcsc), ours, "{pcsc:?}");
        }
    }

    #[test]
    fn everything_else_keeps_the_library_words() {
        let TransportError::Backend(text) = map_error(Error::ProtoMismatch) else {
            panic!("ProtoMismatch should be a backend error");
        };
        // SCARD_E_PROTO_MISMATCH is 0x8010000F in the PC/SC specification (part 5).
        assert!(text.contains("0x8010000F"), "{text}");
        assert!(text.contains("incompatible"), "{text}");
        assert!(
            !text.contains("ProtoMismatch"),
            "no Rust Debug text: {text}"
        );
        let TransportError::Backend(text) = map_error(Error::InsufficientBuffer) else {
            panic!("InsufficientBuffer should be a backend error");
        };
        assert!(text.contains("already ran"), "{text}");
    }

    #[test]
    fn deadlines_are_reported_in_whole_seconds_rounded_up() {
        assert_eq!(
            timeout(Duration::from_millis(1500)),
            TransportError::Timeout { seconds: 2 }
        );
        assert_eq!(
            timeout(Duration::from_secs(5)),
            TransportError::Timeout { seconds: 5 }
        );
        assert_eq!(
            timeout(Duration::from_millis(1)),
            TransportError::Timeout { seconds: 1 }
        );
    }

    #[test]
    fn messages_tell_the_user_what_to_do() {
        assert!(map_error(Error::NoService).to_string().contains("start it"));
        assert!(
            map_error(Error::NoSmartcard)
                .to_string()
                .contains("place it face down")
        );
        assert!(
            map_error(Error::SharingViolation)
                .to_string()
                .contains("close it")
        );
    }
}
