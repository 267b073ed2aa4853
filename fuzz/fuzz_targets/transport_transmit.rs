//! The ISO 7816 continuation driver (`safeid_transport::transmit`) against arbitrary
//! commands and arbitrary reader replies: it must never panic, never send a malformed
//! APDU, stay within its round bounds, and never send a once-only command
//! (`Resend::Never`: authenticate, write config, write seed) a second time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safeid_transport::{
    MAX_GET_RESPONSE, MAX_WRONG_LENGTH, Resend, Transaction, TransportError, command_case, transmit,
};

#[derive(arbitrary::Arbitrary, Debug)]
struct Input {
    command: Vec<u8>,
    replies: Vec<Vec<u8>>,
    once: bool,
}

struct Replay {
    replies: std::vec::IntoIter<Vec<u8>>,
    sent: Vec<Vec<u8>>,
}

impl Transaction for Replay {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        assert!(
            command_case(command).is_ok(),
            "malformed APDU sent: {command:02X?}"
        );
        self.sent.push(command.to_vec());
        Ok(self.replies.next().unwrap_or_else(|| vec![0x61, 0x00]))
    }
}

fuzz_target!(|input: Input| {
    let mut tx = Replay {
        replies: input.replies.into_iter(),
        sent: Vec::new(),
    };
    let resend = if input.once {
        Resend::Never {
            command: "write seed",
        }
    } else {
        Resend::Allowed
    };
    let result = transmit(&mut tx, &input.command, resend);
    assert!(tx.sent.len() <= 1 + MAX_GET_RESPONSE + MAX_WRONG_LENGTH);
    if input.once {
        // After the command itself only GET RESPONSE (`00 C0 00 00 XX`) may go out.
        for later in tx.sent.iter().skip(1) {
            assert!(
                later.len() == 5 && later.starts_with(&[0x00, 0xC0, 0x00, 0x00]),
                "once-only command followed by {later:02X?}"
            );
        }
        if let Err(TransportError::NotResent { header, .. }) = &result {
            // The header only: at most five bytes as hex.
            assert!(header.len() <= 14, "{header}");
        }
    }
});
