//! Short-APDU case classification (ISO 7816-4 section 5.1), needed to know whether a
//! command carries Le before the continuation driver rewrites it (docs/protocol.md section 1).

use zeroize::Zeroizing;

use crate::TransportError;

/// The four ISO 7816-4 command cases of a short APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApduCase {
    /// Header only: `CLA INS P1 P2`.
    Case1,
    /// Header and Le: `CLA INS P1 P2 Le`.
    Case2,
    /// Header, Lc and data: `CLA INS P1 P2 Lc data`.
    Case3,
    /// Header, Lc, data and Le: `CLA INS P1 P2 Lc data Le`.
    Case4,
}

impl ApduCase {
    /// Whether the command ends with an Le byte (cases 2 and 4).
    pub fn has_le(self) -> bool {
        matches!(self, Self::Case2 | Self::Case4)
    }
}

/// Classifies a short command APDU (docs/protocol.md section 1: short APDUs only).
///
/// Rejects, with [`TransportError::MalformedCommand`], anything shorter than the 4-byte
/// header, extended-length encodings (a zero byte in the Lc position of a longer command)
/// and commands whose length does not agree with their Lc byte.
pub fn command_case(command: &[u8]) -> Result<ApduCase, TransportError> {
    match command.len() {
        0..=3 => Err(TransportError::MalformedCommand(format!(
            "{} bytes, shorter than the 4-byte header",
            command.len()
        ))),
        4 => Ok(ApduCase::Case1),
        5 => Ok(ApduCase::Case2),
        len => {
            let lc = usize::from(command[4]);
            if lc == 0 {
                return Err(TransportError::MalformedCommand(
                    "extended-length APDUs are not supported".into(),
                ));
            }
            if len == 5 + lc {
                Ok(ApduCase::Case3)
            } else if len == 6 + lc {
                Ok(ApduCase::Case4)
            } else {
                Err(TransportError::MalformedCommand(format!(
                    "{len} bytes do not agree with Lc = {lc}"
                )))
            }
        }
    }
}

/// The same command with its Le set to `le`: appended for cases 1 and 3, replaced for
/// cases 2 and 4 (docs/protocol.md section 1, the `6C XX` rule).
///
/// The copy is allocated at its final size (a growing `Vec` would leave its old buffer
/// behind unwiped) and is wiped when dropped.
pub(crate) fn with_le(command: &[u8], le: u8) -> Result<Zeroizing<Vec<u8>>, TransportError> {
    let case = command_case(command)?;
    let kept = if case.has_le() {
        &command[..command.len() - 1]
    } else {
        command
    };
    let mut out = Zeroizing::new(Vec::with_capacity(kept.len() + 1));
    out.extend_from_slice(kept);
    out.push(le);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cases_follow_iso_7816_4() {
        assert_eq!(command_case(&[0, 0xA4, 0, 0]), Ok(ApduCase::Case1));
        assert_eq!(command_case(&[0, 0xB0, 0, 0, 0]), Ok(ApduCase::Case2));
        assert_eq!(command_case(&[0, 0xD6, 0, 0, 1, 7]), Ok(ApduCase::Case3));
        assert_eq!(command_case(&[0, 0xD6, 0, 0, 1, 7, 0]), Ok(ApduCase::Case4));
        let mut longest = vec![0x80, 0x41, 0, 0, 255];
        longest.extend([0xAB; 255]);
        assert_eq!(command_case(&longest), Ok(ApduCase::Case3));
        longest.push(0);
        assert_eq!(command_case(&longest), Ok(ApduCase::Case4));
    }

    #[test]
    fn malformed_commands_are_errors() {
        for bad in [
            &[][..],
            &[0x00],
            &[0x00, 0xA4, 0x04],
            &[0x00, 0xA4, 0x04, 0x00, 0x00, 0x01],
            &[0x00, 0xA4, 0x04, 0x00, 0x02, 0x01],
            &[0x00, 0xA4, 0x04, 0x00, 0x01, 0x01, 0x02, 0x03],
        ] {
            assert!(
                matches!(command_case(bad), Err(TransportError::MalformedCommand(_))),
                "{bad:02X?}"
            );
        }
    }

    #[test]
    fn le_is_appended_or_replaced() {
        let cases: [(&[u8], u8, &[u8]); 4] = [
            (&[0, 0xB0, 0, 0], 0x10, &[0, 0xB0, 0, 0, 0x10]),
            (&[0, 0xB0, 0, 0, 0], 0x10, &[0, 0xB0, 0, 0, 0x10]),
            (&[0, 0xD6, 0, 0, 1, 7], 9, &[0, 0xD6, 0, 0, 1, 7, 9]),
            (&[0, 0xD6, 0, 0, 1, 7, 0], 9, &[0, 0xD6, 0, 0, 1, 7, 9]),
        ];
        for (command, le, expected) in cases {
            let out = with_le(command, le).unwrap();
            assert_eq!(out.as_slice(), expected);
            // allocated once at its final size: no reallocation left a copy behind
            assert_eq!(out.capacity(), expected.len());
        }
        assert!(with_le(&[0, 0xB0], 1).is_err());
    }
}
