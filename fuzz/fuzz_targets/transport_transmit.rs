//! The ISO 7816 continuation driver (`safeid_transport::transmit`) against arbitrary
//! commands and arbitrary reader replies: it must never panic, never send a malformed
//! APDU, and stay within its round bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safeid_transport::{
    MAX_GET_RESPONSE, MAX_WRONG_LENGTH, Transaction, TransportError, command_case, transmit,
};

#[derive(arbitrary::Arbitrary, Debug)]
struct Input {
    command: Vec<u8>,
    replies: Vec<Vec<u8>>,
}

struct Replay {
    replies: std::vec::IntoIter<Vec<u8>>,
    rounds: usize,
}

impl Transaction for Replay {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        assert!(
            command_case(command).is_ok(),
            "malformed APDU sent: {command:02X?}"
        );
        self.rounds += 1;
        Ok(self.replies.next().unwrap_or_else(|| vec![0x61, 0x00]))
    }
}

fuzz_target!(|input: Input| {
    let mut tx = Replay {
        replies: input.replies.into_iter(),
        rounds: 0,
    };
    let _ = transmit(&mut tx, &input.command);
    assert!(tx.rounds <= 1 + MAX_GET_RESPONSE + MAX_WRONG_LENGTH);
});
