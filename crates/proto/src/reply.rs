//! Reply parsers (docs/protocol.md sections 3 and 5). Every reply includes its status word;
//! nothing here panics or reads past the end, whatever the bytes.

use crate::error::ProtoError;
use crate::keys::Challenge;
use crate::status::{StatusWord, split_reply};

/// What "get info" returns (docs/protocol.md section 3, get info).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// The serial number: printable ASCII, length not fixed (13 and 14 seen).
    pub serial: String,
    /// The token's clock, Unix time (UTC).
    pub unix_time: u32,
}

const INFO: &str = "get info";
const CHALLENGE: &str = "get challenge";
const TAG_INFO: u8 = 0x95;
const TAG_SERIAL: u8 = 0x02;
const TAG_CLOCK: u8 = 0x11;

/// Splits off the status word; a word other than `90 00` is a [`ProtoError::Status`].
fn success_data<'r>(command: &'static str, reply: &'r [u8]) -> Result<&'r [u8], ProtoError> {
    let (data, sw) = split_reply(reply).ok_or_else(|| ProtoError::MalformedReply {
        command,
        reason: format!("{} byte(s), shorter than a status word", reply.len()),
    })?;
    if sw == StatusWord::Success {
        Ok(data)
    } else {
        Err(ProtoError::Status { command, sw })
    }
}

fn malformed(reason: impl Into<String>) -> ProtoError {
    ProtoError::MalformedReply {
        command: INFO,
        reason: reason.into(),
    }
}

/// Reads one SIMPLE-TLV object (ISO 7816-4 5.2.1: one tag byte; a length byte `00..FE`,
/// or `FF` and two big-endian length bytes) from the front of `data`.
/// Returns the tag, the value and the rest.
fn simple_tlv(data: &[u8]) -> Result<(u8, &[u8], &[u8]), ProtoError> {
    let (&tag, rest) = data
        .split_first()
        .ok_or_else(|| malformed("missing TLV tag"))?;
    if tag == 0x00 || tag == 0xFF {
        return Err(malformed(format!("invalid TLV tag {tag:02X}")));
    }
    let (&first, rest) = rest
        .split_first()
        .ok_or_else(|| malformed(format!("tag {tag:02X} has no length")))?;
    let (len, rest) = if first == 0xFF {
        let (len, rest) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| malformed(format!("tag {tag:02X}: truncated length")))?;
        (usize::from(u16::from_be_bytes(*len)), rest)
    } else {
        (usize::from(first), rest)
    };
    if len > rest.len() {
        return Err(malformed(format!(
            "tag {tag:02X} says {len} byte(s) but only {} follow",
            rest.len()
        )));
    }
    let (value, rest) = rest.split_at(len);
    Ok((tag, value, rest))
}

/// Parses the reply to "get info", status word included (docs/protocol.md section 3, get
/// info): `95 LL | 02 NN serial | 11 04 time` + `90 00`, the inner tags in either order.
///
/// Strict: the outer length must cover exactly the data, each of the two tags must
/// appear exactly once, no other tag is accepted, the serial must be non-empty printable
/// ASCII and the clock exactly 4 bytes.
pub fn parse_info(reply: &[u8]) -> Result<Info, ProtoError> {
    let data = success_data(INFO, reply)?;
    if data.is_empty() {
        return Err(malformed("no data before 90 00"));
    }
    let (tag, mut inner, trailing) = simple_tlv(data)?;
    if tag != TAG_INFO {
        return Err(malformed(format!("expected tag 95, found {tag:02X}")));
    }
    if !trailing.is_empty() {
        return Err(malformed(format!(
            "{} byte(s) after the 95 object",
            trailing.len()
        )));
    }
    let mut serial = None;
    let mut clock = None;
    while !inner.is_empty() {
        let (tag, value, rest) = simple_tlv(inner)?;
        inner = rest;
        let slot = match tag {
            TAG_SERIAL => &mut serial,
            TAG_CLOCK => &mut clock,
            other => return Err(malformed(format!("unexpected tag {other:02X}"))),
        };
        if slot.replace(value).is_some() {
            return Err(malformed(format!("tag {tag:02X} appears twice")));
        }
    }
    let serial = serial.ok_or_else(|| malformed("no serial (tag 02)"))?;
    let clock = clock.ok_or_else(|| malformed("no clock (tag 11)"))?;
    let clock: [u8; 4] = clock
        .try_into()
        .map_err(|_| malformed(format!("clock is {} byte(s), expected 4", clock.len())))?;
    if serial.is_empty() {
        return Err(malformed("empty serial"));
    }
    if let Some(pos) = serial.iter().position(|b| !b.is_ascii_graphic()) {
        return Err(malformed(format!(
            "serial byte {} ({:02X}) is not printable ASCII",
            pos + 1,
            serial[pos]
        )));
    }
    let serial = String::from_utf8_lossy(serial).into_owned();
    Ok(Info {
        serial,
        unix_time: u32::from_be_bytes(clock),
    })
}

/// Parses the reply to "get challenge": exactly 8 bytes + `90 00` (docs/protocol.md section 3).
pub fn parse_challenge(reply: &[u8]) -> Result<Challenge, ProtoError> {
    let data = success_data(CHALLENGE, reply)?;
    let bytes: [u8; 8] = data.try_into().map_err(|_| ProtoError::MalformedReply {
        command: CHALLENGE,
        reason: format!("{} byte(s) of challenge, expected 8", data.len()),
    })?;
    Ok(Challenge(bytes))
}

/// Checks a reply that must be exactly `90 00` with no data (authenticate, write seed,
/// write config; docs/protocol.md sections 3 and 5). `command` names the command in the error,
/// e.g. [`crate::Command::name`].
pub fn parse_status(command: &'static str, reply: &[u8]) -> Result<(), ProtoError> {
    let data = success_data(command, reply)?;
    if data.is_empty() {
        Ok(())
    } else {
        Err(ProtoError::MalformedReply {
            command,
            reason: format!("{} unexpected data byte(s) before 90 00", data.len()),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn long_form_length_is_read() {
        // 95 FF 00 09 | 02 01 'A' | 11 04 00 00 00 05
        let reply = [
            0x95, 0xFF, 0x00, 0x09, 0x02, 0x01, b'A', 0x11, 0x04, 0, 0, 0, 5, 0x90, 0x00,
        ];
        assert_eq!(
            parse_info(&reply).unwrap(),
            Info {
                serial: "A".into(),
                unix_time: 5
            }
        );
    }

    #[test]
    fn strictness() {
        let cases: &[&[u8]] = &[
            // duplicate serial
            &[
                0x95, 0x0C, 0x02, 0x01, b'A', 0x02, 0x01, b'B', 0x11, 0x04, 0, 0, 0, 1, 0x90, 0,
            ],
            // unknown tag
            &[
                0x95, 0x0C, 0x02, 0x01, b'A', 0x05, 0x01, b'B', 0x11, 0x04, 0, 0, 0, 1, 0x90, 0,
            ],
            // clock of 3 bytes
            &[0x95, 0x08, 0x02, 0x01, b'A', 0x11, 0x03, 0, 0, 1, 0x90, 0],
            // empty serial
            &[0x95, 0x08, 0x02, 0x00, 0x11, 0x04, 0, 0, 0, 1, 0x90, 0],
            // control character in serial
            &[
                0x95, 0x09, 0x02, 0x01, 0x07, 0x11, 0x04, 0, 0, 0, 1, 0x90, 0,
            ],
            // wrong outer tag
            &[
                0x96, 0x09, 0x02, 0x01, b'A', 0x11, 0x04, 0, 0, 0, 1, 0x90, 0,
            ],
            // trailing byte after the 95 object
            &[
                0x95, 0x09, 0x02, 0x01, b'A', 0x11, 0x04, 0, 0, 0, 1, 0xEE, 0x90, 0,
            ],
            // truncated long-form length
            &[0x95, 0xFF, 0x00, 0x90, 0],
        ];
        for reply in cases {
            assert!(
                matches!(parse_info(reply), Err(ProtoError::MalformedReply { .. })),
                "{reply:02X?}"
            );
        }
    }

    #[test]
    fn challenge_and_status() {
        let ok = [1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00];
        assert_eq!(
            parse_challenge(&ok).unwrap(),
            Challenge([1, 2, 3, 4, 5, 6, 7, 8])
        );
        assert!(matches!(
            parse_challenge(&ok[1..]),
            Err(ProtoError::MalformedReply {
                command: "get challenge",
                ..
            })
        ));
        assert!(matches!(
            parse_challenge(&[0x6D, 0x00]),
            Err(ProtoError::Status {
                sw: StatusWord::InsNotSupported,
                ..
            })
        ));
        assert!(parse_status("write seed", &[0x90, 0x00]).is_ok());
        assert!(matches!(
            parse_status("write seed", &[0x69, 0x83]),
            Err(ProtoError::Status {
                command: "write seed",
                sw: StatusWord::SecurityStatusNotSatisfied
            })
        ));
        assert!(parse_status("write seed", &[0x01, 0x90, 0x00]).is_err());
        assert!(parse_status("write seed", &[0x90]).is_err());
    }
}
