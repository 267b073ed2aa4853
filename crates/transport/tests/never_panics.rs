//! Property tests: `transmit` never panics, whatever the command and whatever a broken or
//! hostile reader answers, and it only ever sends well-formed short APDUs.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use safeid_transport::{
    MAX_GET_RESPONSE, MAX_WRONG_LENGTH, Resend, Transaction, TransportError, command_case, transmit,
};

/// Answers with the given replies in turn, then with `61 00` forever.
struct Arbitrary {
    replies: std::vec::IntoIter<Vec<u8>>,
    sent: Vec<Vec<u8>>,
}

impl Transaction for Arbitrary {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(command.to_vec());
        Ok(self.replies.next().unwrap_or_else(|| vec![0x61, 0x00]))
    }
}

/// Replies biased towards continuation status words, so the interesting paths are hit.
fn reply() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..8),
        (proptest::collection::vec(any::<u8>(), 0..4), any::<u8>()).prop_map(|(mut d, x)| {
            d.extend([0x61, x]);
            d
        }),
        (proptest::collection::vec(any::<u8>(), 0..4), any::<u8>()).prop_map(|(mut d, x)| {
            d.extend([0x6C, x]);
            d
        }),
    ]
}

proptest! {
    #[test]
    fn transmit_never_panics(
        command in proptest::collection::vec(any::<u8>(), 0..270),
        replies in proptest::collection::vec(reply(), 0..80),
        once in any::<bool>(),
    ) {
        let resend = if once { Resend::Never { command: "write seed" } } else { Resend::Allowed };
        let mut tx = Arbitrary { replies: replies.into_iter(), sent: Vec::new() };
        let result = transmit(&mut tx, &command, resend);
        prop_assert!(tx.sent.len() <= 1 + MAX_GET_RESPONSE + MAX_WRONG_LENGTH);
        for sent in &tx.sent {
            prop_assert!(command_case(sent).is_ok(), "sent a malformed APDU {:02X?}", sent);
        }
        if once {
            // The caller's command goes out once; everything after it is GET RESPONSE.
            prop_assert!(tx.sent.iter().skip(1).all(|c| c.starts_with(&[0x00, 0xC0, 0x00, 0x00])),
                "re-sent a once-only command: {:02X?}", tx.sent);
        }
        if command_case(&command).is_err() {
            prop_assert!(tx.sent.is_empty());
            prop_assert!(matches!(result, Err(TransportError::MalformedCommand(_))), "{:?}", result);
        }
    }

    /// A chain of `61 XX` replies ending in a final status word yields the concatenated
    /// data and that status word.
    #[test]
    fn chains_concatenate(
        parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..6), 1..10),
        sw in (0x90u16..=0x9F).prop_map(|hi| hi << 8),
    ) {
        let mut replies = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let mut r = part.clone();
            if i + 1 == parts.len() {
                r.extend(sw.to_be_bytes());
            } else {
                r.extend([0x61, 0x10]);
            }
            replies.push(r);
        }
        let mut tx = Arbitrary { replies: replies.into_iter(), sent: Vec::new() };
        let response = transmit(&mut tx, &[0x80, 0x41, 0x00, 0x00, 0x00], Resend::Allowed).unwrap();
        let expected = parts.concat();
        prop_assert_eq!(response.data(), expected.as_slice());
        prop_assert_eq!(response.sw(), sw);
        prop_assert_eq!(tx.sent.len(), parts.len());
        for sent in &tx.sent[1..] {
            prop_assert_eq!(sent.as_slice(), &[0x00, 0xC0, 0x00, 0x00, 0x10][..]);
        }
    }
}
