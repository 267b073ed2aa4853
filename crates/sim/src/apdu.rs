//! Decoding of ISO 7816-4 short command APDUs (cases 1 to 4), written from the standard
//! and docs/protocol.md section 1, independently of `safeid-proto`.

/// Status words the virtual token answers with (docs/protocol.md section 5, plus the ISO 7816-4
/// words for a selection failure, bad parameters and an internal error).
pub mod sw {
    /// Success.
    pub const OK: u16 = 0x9000;
    /// Authentication failed, token locked, command needs authentication, or bad MAC.
    pub const SECURITY: u16 = 0x6983;
    /// Malformed data.
    pub const BAD_DATA: u16 = 0x6A80;
    /// Wrong length (the header does not match the body, or a fixed length is wrong).
    pub const WRONG_LENGTH: u16 = 0x6700;
    /// Instruction not supported.
    pub const BAD_INS: u16 = 0x6D00;
    /// Class not supported.
    pub const BAD_CLA: u16 = 0x6E00;
    /// Incorrect P1-P2 (ISO 7816-4; docs/protocol.md fixes P1 P2 for every command).
    pub const BAD_P1P2: u16 = 0x6A86;
    /// SELECT of an application the token does not have (ISO 7816-4 "file not found").
    pub const NOT_FOUND: u16 = 0x6A82;
    /// Internal error (the random source failed).
    pub const INTERNAL: u16 = 0x6F00;
}

/// The four header bytes of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
}

/// The part after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Body<'a> {
    /// Command data; `None` for cases 1 and 2 (no Lc byte).
    pub data: Option<&'a [u8]>,
    /// Expected length byte, when present (cases 2 and 4).
    pub le: Option<u8>,
}

/// Splits off the header; `None` when there are fewer than four bytes.
pub(crate) fn header(apdu: &[u8]) -> Option<Header> {
    match apdu {
        [cla, ins, p1, p2, ..] => Some(Header {
            cla: *cla,
            ins: *ins,
            p1: *p1,
            p2: *p2,
        }),
        _ => None,
    }
}

/// Decodes the body as a short APDU. `Err(())` when Lc disagrees with the length that
/// follows, or when the command uses extended length (Lc = 00 with more bytes), which
/// these tokens do not support.
pub(crate) fn body(apdu: &[u8]) -> Result<Body<'_>, ()> {
    let rest = apdu.get(4..).ok_or(())?;
    match rest {
        [] => Ok(Body {
            data: None,
            le: None,
        }),
        [le] => Ok(Body {
            data: None,
            le: Some(*le),
        }),
        [0, ..] => Err(()),
        [lc, tail @ ..] => {
            let lc = usize::from(*lc);
            if tail.len() == lc {
                Ok(Body {
                    data: Some(tail),
                    le: None,
                })
            } else if tail.len() == lc + 1 {
                Ok(Body {
                    data: tail.get(..lc),
                    le: tail.last().copied(),
                })
            } else {
                Err(())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn four_cases() {
        assert_eq!(header(&[1, 2, 3]), None);
        let h = header(&[0x80, 0x41, 0, 0]).unwrap();
        assert_eq!((h.cla, h.ins, h.p1, h.p2), (0x80, 0x41, 0, 0));
        assert_eq!(
            body(&[0x80, 0x4B, 8, 0]),
            Ok(Body {
                data: None,
                le: None
            })
        );
        assert_eq!(
            body(&[0x80, 0x4B, 8, 0, 0]),
            Ok(Body {
                data: None,
                le: Some(0)
            })
        );
        assert_eq!(
            body(&[0x80, 0x41, 0, 0, 2, 2, 0x11]),
            Ok(Body {
                data: Some(&[2, 0x11][..]),
                le: None
            })
        );
        assert_eq!(
            body(&[0x80, 0x41, 0, 0, 2, 2, 0x11, 0]),
            Ok(Body {
                data: Some(&[2, 0x11][..]),
                le: Some(0)
            })
        );
        assert_eq!(body(&[0x80, 0x41, 0, 0, 2, 2]), Err(()));
        assert_eq!(body(&[0x80, 0x41, 0, 0, 2, 2, 0x11, 0, 0]), Err(()));
        assert_eq!(body(&[0x80, 0x41, 0, 0, 0, 0, 2]), Err(()));
    }
}
