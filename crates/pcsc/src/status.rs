//! What is on each reader, from pcscd's reader states (SCardGetStatusChange with a zero
//! timeout): whether a card is there and its ATR. Nothing is sent to any card; only
//! [`card_protocol`] connects (in shared mode, no APDU) to learn the protocol in use.

use std::ffi::CStr;
use std::time::Duration;

use pcsc::{Disposition, Error, Protocol, Protocols, ReaderState, ShareMode, State};
use safeid_transport::TransportError;

use crate::ReaderChoice;
use crate::error::map_error;
use crate::reader::{establish, reader_names, resolve};

/// Whether a card is on a reader, as pcscd sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CardPresence {
    /// No card.
    Empty,
    /// A card that answered the reset.
    Present,
    /// A card is there but does not answer (switched off, or not a working card).
    Mute,
    /// A card is there and another program holds it exclusively.
    Exclusive,
    /// The reader cannot be used (unplugged, or its driver failed).
    Unavailable,
}

/// One reader and what is on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderStatus {
    /// The reader's name, as [`crate::list_readers`] gives it.
    pub name: String,
    /// Whether a card is there.
    pub card: CardPresence,
    /// The card's answer to reset, when one is present.
    pub atr: Option<Vec<u8>>,
}

/// Every reader pcscd knows, in its order (the numbering `ReaderChoice::Index` uses),
/// with what is on it. Talks to pcscd only, never to a card.
///
/// Errors: [`TransportError::NoService`] when pcscd is not reachable.
pub fn reader_status() -> Result<Vec<ReaderStatus>, TransportError> {
    let context = establish()?;
    let names = reader_names(&context)?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut states: Vec<ReaderState> = names
        .iter()
        .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
        .collect();
    // With UNAWARE as the known state, this returns the current states at once.
    match context.get_status_change(Duration::ZERO, &mut states) {
        Ok(()) | Err(Error::Timeout) => {}
        Err(e) => return Err(map_error(e)),
    }
    Ok(states
        .iter()
        .map(|s| {
            let card = presence(s.event_state());
            ReaderStatus {
                name: s.name().to_string_lossy().into_owned(),
                card,
                atr: atr_if_present(card, s.atr()),
            }
        })
        .collect())
}

/// The ATR pcscd holds for `reader`, if a card is there.
pub(crate) fn atr_of(context: &pcsc::Context, reader: &CStr) -> Option<Vec<u8>> {
    let mut states = [ReaderState::new(reader.to_owned(), State::UNAWARE)];
    match context.get_status_change(Duration::ZERO, &mut states) {
        Ok(()) | Err(Error::Timeout) => {}
        Err(_) => return None,
    }
    atr_if_present(presence(states[0].event_state()), states[0].atr())
}

fn atr_if_present(card: CardPresence, atr: &[u8]) -> Option<Vec<u8>> {
    match card {
        CardPresence::Present | CardPresence::Mute | CardPresence::Exclusive if !atr.is_empty() => {
            Some(atr.to_vec())
        }
        _ => None,
    }
}

/// Reads a reader's state flags.
fn presence(state: State) -> CardPresence {
    if state.intersects(State::UNKNOWN | State::UNAVAILABLE) {
        CardPresence::Unavailable
    } else if !state.contains(State::PRESENT) {
        CardPresence::Empty
    } else if state.contains(State::MUTE) {
        CardPresence::Mute
    } else if state.contains(State::EXCLUSIVE) {
        CardPresence::Exclusive
    } else {
        CardPresence::Present
    }
}

/// The transmission protocol of the card on the reader `choice` names (`"T=0"`,
/// `"T=1"` or `"raw"`), or `None` when none is active. Connects in shared mode and
/// disconnects leaving the card as it is (no reset); no APDU is sent.
///
/// Errors: as [`crate::PcscTransport::open`] without waiting ([`TransportError::NoCard`]
/// when the reader is empty).
pub fn card_protocol(choice: &ReaderChoice) -> Result<Option<&'static str>, TransportError> {
    let context = establish()?;
    let (_, reader) = resolve(&context, choice)?;
    let card = context
        .connect(&reader, ShareMode::Shared, Protocols::ANY)
        .map_err(map_error)?;
    let protocol = card.status2_owned().map_err(map_error)?.protocol2();
    // Dropping a `Card` resets it; leave it as it is instead.
    let _ = card.disconnect(Disposition::LeaveCard);
    Ok(protocol.map(|p| match p {
        Protocol::T0 => "T=0",
        Protocol::T1 => "T=1",
        Protocol::RAW => "raw",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_flags_to_presence() {
        assert_eq!(presence(State::EMPTY), CardPresence::Empty);
        assert_eq!(
            presence(State::PRESENT | State::INUSE),
            CardPresence::Present
        );
        assert_eq!(presence(State::PRESENT | State::MUTE), CardPresence::Mute);
        assert_eq!(
            presence(State::PRESENT | State::EXCLUSIVE | State::INUSE),
            CardPresence::Exclusive
        );
        assert_eq!(presence(State::UNAVAILABLE), CardPresence::Unavailable);
        assert_eq!(
            presence(State::UNKNOWN | State::IGNORE),
            CardPresence::Unavailable
        );
    }

    #[test]
    fn atr_only_with_a_card() {
        let atr = [0x3B, 0x80, 0x80, 0x01, 0x01];
        assert_eq!(
            atr_if_present(CardPresence::Present, &atr),
            Some(atr.to_vec())
        );
        assert_eq!(atr_if_present(CardPresence::Empty, &atr), None);
        assert_eq!(atr_if_present(CardPresence::Present, &[]), None);
    }
}
