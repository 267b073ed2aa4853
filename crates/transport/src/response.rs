//! A complete response APDU after continuation: the data and the final status word.

use std::fmt;

/// A response APDU: the reply data (accumulated across `61 XX` continuations) and the
/// status word of the last reply.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    data: Vec<u8>,
    sw: u16,
}

impl Response {
    /// A response from its data and status word.
    pub fn new(data: Vec<u8>, sw: u16) -> Self {
        Self { data, sw }
    }

    /// Splits a raw reply (data followed by SW1 SW2) into a response.
    ///
    /// A reply of 0 bytes is [`TransportError::EmptyReply`](crate::TransportError::EmptyReply),
    /// of 1 byte [`TransportError::ShortReply`](crate::TransportError::ShortReply).
    pub fn from_raw(mut raw: Vec<u8>) -> Result<Self, crate::TransportError> {
        match raw.len() {
            0 => Err(crate::TransportError::EmptyReply),
            1 => Err(crate::TransportError::ShortReply { len: 1 }),
            len => {
                let sw = u16::from_be_bytes([raw[len - 2], raw[len - 1]]);
                raw.truncate(len - 2);
                Ok(Self { data: raw, sw })
            }
        }
    }

    /// The reply data, without the status word.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The status word, `SW1 << 8 | SW2`.
    pub fn sw(&self) -> u16 {
        self.sw
    }

    /// The first status byte.
    pub fn sw1(&self) -> u8 {
        self.sw.to_be_bytes()[0]
    }

    /// The second status byte.
    pub fn sw2(&self) -> u8 {
        self.sw.to_be_bytes()[1]
    }

    /// Whether the status word is `90 00`.
    pub fn is_success(&self) -> bool {
        self.sw == 0x9000
    }

    /// The reply data, without the status word, by value.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The whole response as it would arrive in one piece: data followed by SW1 SW2.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut bytes = self.data;
        bytes.extend_from_slice(&self.sw.to_be_bytes());
        bytes
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("data", &crate::hex(&self.data))
            .field("sw", &format_args!("{:04X}", self.sw))
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::TransportError;

    #[test]
    fn accessors_split_the_status_word() {
        let r = Response::from_raw(vec![0xDE, 0xAD, 0x6A, 0x80]).unwrap();
        assert_eq!(r.data(), &[0xDE, 0xAD]);
        assert_eq!((r.sw(), r.sw1(), r.sw2()), (0x6A80, 0x6A, 0x80));
        assert!(!r.is_success());
        assert_eq!(r.clone().into_bytes(), vec![0xDE, 0xAD, 0x6A, 0x80]);
        assert_eq!(r.into_data(), vec![0xDE, 0xAD]);
        assert!(Response::from_raw(vec![0x90, 0x00]).unwrap().is_success());
    }

    #[test]
    fn short_replies_are_errors() {
        assert_eq!(Response::from_raw(vec![]), Err(TransportError::EmptyReply));
        assert_eq!(
            Response::from_raw(vec![0x90]),
            Err(TransportError::ShortReply { len: 1 })
        );
    }

    #[test]
    fn debug_is_hex() {
        let r = Response::new(vec![0x01, 0xAB], 0x9000);
        assert_eq!(format!("{r:?}"), r#"Response { data: "01 AB", sw: 9000 }"#);
    }
}
