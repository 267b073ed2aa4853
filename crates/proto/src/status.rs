//! Status words of the token family (docs/protocol.md section 5).

use std::fmt;

/// An ISO 7816-4 status word, named as this token family uses it (docs/protocol.md section 5).
///
/// `From<u16>` and [`StatusWord::code`] round-trip for every `u16`: words without a name
/// here land in [`StatusWord::Other`] and keep their value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusWord {
    /// `90 00`: success.
    Success,
    /// `61 XX`: T=0 continuation, `XX` more bytes wait for GET RESPONSE (section 1).
    BytesAvailable(u8),
    /// `6C XX`: T=0 continuation, re-send the command with Le = `XX` (section 1).
    WrongLe(u8),
    /// `69 83`: authentication failed, token locked, authentication needed, or bad MAC.
    SecurityStatusNotSatisfied,
    /// `6A 80`: malformed data (seed framing, config TLV, authenticate length or order).
    WrongData,
    /// `67 00`: wrong length.
    WrongLength,
    /// `6D 00`: instruction not supported.
    InsNotSupported,
    /// `6E 00`: class not supported.
    ClaNotSupported,
    /// Any other word, kept as it came.
    Other(u16),
}

impl StatusWord {
    /// The two bytes as one big-endian number, e.g. `0x9000`.
    pub fn code(self) -> u16 {
        match self {
            Self::Success => 0x9000,
            Self::BytesAvailable(n) => 0x6100 | u16::from(n),
            Self::WrongLe(n) => 0x6C00 | u16::from(n),
            Self::SecurityStatusNotSatisfied => 0x6983,
            Self::WrongData => 0x6A80,
            Self::WrongLength => 0x6700,
            Self::InsNotSupported => 0x6D00,
            Self::ClaNotSupported => 0x6E00,
            Self::Other(code) => code,
        }
    }

    /// Reads the status word from the last two bytes of `sw1 sw2`.
    pub fn from_bytes(sw1: u8, sw2: u8) -> Self {
        Self::from(u16::from_be_bytes([sw1, sw2]))
    }

    /// True for `90 00`.
    pub fn is_success(self) -> bool {
        self == Self::Success
    }

    /// What the word means for this token family (docs/protocol.md section 5), for error
    /// messages.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::BytesAvailable(_) => "more response bytes available (T=0 GET RESPONSE needed)",
            Self::WrongLe(_) => "wrong Le (T=0: re-send with the Le the token asked for)",
            Self::SecurityStatusNotSatisfied => {
                "authentication failed, token locked, command needs authentication, or bad MAC"
            }
            Self::WrongData => {
                "malformed data: seed framing or padding, config TLV, authenticate length, \
                 or authenticate without a challenge"
            }
            Self::WrongLength => "wrong length",
            Self::InsNotSupported => "instruction not supported (not this kind of token?)",
            Self::ClaNotSupported => "class not supported (not this kind of token?)",
            Self::Other(_) => "status word not used by this token family",
        }
    }
}

impl From<u16> for StatusWord {
    fn from(code: u16) -> Self {
        let [sw1, sw2] = code.to_be_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Self::Success,
            (0x61, n) => Self::BytesAvailable(n),
            (0x6C, n) => Self::WrongLe(n),
            (0x69, 0x83) => Self::SecurityStatusNotSatisfied,
            (0x6A, 0x80) => Self::WrongData,
            (0x67, 0x00) => Self::WrongLength,
            (0x6D, 0x00) => Self::InsNotSupported,
            (0x6E, 0x00) => Self::ClaNotSupported,
            _ => Self::Other(code),
        }
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> Self {
        sw.code()
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [sw1, sw2] = self.code().to_be_bytes();
        write!(f, "{sw1:02X} {sw2:02X} ({})", self.meaning())
    }
}

/// Splits a reply into its data and its status word (the last two bytes).
///
/// Returns `None` when the reply is shorter than a status word.
pub fn split_reply(reply: &[u8]) -> Option<(&[u8], StatusWord)> {
    let (data, sw) = reply.split_at_checked(reply.len().checked_sub(2)?)?;
    match sw {
        [sw1, sw2] => Some((data, StatusWord::from_bytes(*sw1, *sw2))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_u16_round_trips() {
        for code in 0..=u16::MAX {
            assert_eq!(StatusWord::from(code).code(), code, "{code:04X}");
        }
    }

    #[test]
    fn named_words_map_to_their_variants() {
        // Values from docs/protocol.md section 5 and ISO 7816-4, written out by hand.
        let cases = [
            (0x9000, StatusWord::Success),
            (0x6983, StatusWord::SecurityStatusNotSatisfied),
            (0x6A80, StatusWord::WrongData),
            (0x6700, StatusWord::WrongLength),
            (0x6D00, StatusWord::InsNotSupported),
            (0x6E00, StatusWord::ClaNotSupported),
            (0x6110, StatusWord::BytesAvailable(0x10)),
            (0x6C0A, StatusWord::WrongLe(0x0A)),
            (0x6A82, StatusWord::Other(0x6A82)),
            (0x9001, StatusWord::Other(0x9001)),
        ];
        for (code, sw) in cases {
            assert_eq!(StatusWord::from(code), sw);
        }
    }

    #[test]
    fn split_reply_needs_two_bytes() {
        assert_eq!(split_reply(&[]), None);
        assert_eq!(split_reply(&[0x90]), None);
        assert_eq!(
            split_reply(&[0x90, 0x00]),
            Some((&[][..], StatusWord::Success))
        );
        assert_eq!(
            split_reply(&[1, 2, 0x69, 0x83]),
            Some((&[1u8, 2][..], StatusWord::SecurityStatusNotSatisfied))
        );
        assert_eq!(StatusWord::Success.to_string(), "90 00 (success)");
    }
}
