//! A small, strict protobuf wire-format reader for the migration payload (docs/otpauth.md
//! rule 9). Errors: truncation, over-long varints, lengths past the end, field number 0,
//! wire types 6 and 7, unbalanced groups. Unknown fields of every wire type are skipped.

use crate::error::{Message, ProtobufError, ProtobufErrorKind};

/// Wire type numbers.
pub(crate) const VARINT: u8 = 0;
const I64: u8 = 1;
pub(crate) const LEN: u8 = 2;
const SGROUP: u8 = 3;
const EGROUP: u8 = 4;
const I32: u8 = 5;

/// A field's value as the wire format gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2, with the offset of its first byte in the whole payload.
    Len(&'a [u8], usize),
    /// Wire types 1, 3 and 5 (fixed-size values and groups), already skipped.
    Skipped(u8),
}

impl Value<'_> {
    /// The wire type this value came with.
    pub(crate) fn wire_type(&self) -> u8 {
        match self {
            Self::Varint(_) => VARINT,
            Self::Len(..) => LEN,
            Self::Skipped(wire_type) => *wire_type,
        }
    }
}

/// A field: number, value, and the payload offset of its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// Field number (never 0).
    pub number: u64,
    /// The value.
    pub value: Value<'a>,
    /// Payload offset of the tag.
    pub offset: usize,
}

/// Reads the fields of one message in order.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf` in the whole payload, for error positions.
    base: usize,
    message: Message,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, which starts at payload offset `base`.
    pub(crate) fn new(buf: &'a [u8], base: usize, message: Message) -> Self {
        Self {
            buf,
            pos: 0,
            base,
            message,
        }
    }

    /// An error at payload offset `base + at`.
    pub(crate) fn error(&self, at: usize, kind: ProtobufErrorKind) -> ProtobufError {
        ProtobufError {
            message: self.message,
            offset: self.base + at,
            kind,
        }
    }

    /// Reads a varint of at most 10 bytes whose value fits in 64 bits.
    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(self.error(start, ProtobufErrorKind::Truncated));
            };
            self.pos += 1;
            // The tenth byte may only carry the 64th bit.
            if i == 9 && byte > 1 {
                return Err(self.error(start, ProtobufErrorKind::OverlongVarint));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(start, ProtobufErrorKind::OverlongVarint))
    }

    /// Advances over `n` bytes, or reports truncation at `start`.
    fn skip(&mut self, n: usize, start: usize) -> Result<(), ProtobufError> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.buf.len() => {
                self.pos = end;
                Ok(())
            }
            _ => Err(self.error(start, ProtobufErrorKind::Truncated)),
        }
    }

    /// Reads a tag: field number (not 0) and wire type (not 6 or 7).
    fn tag(&mut self) -> Result<(u64, u8), ProtobufError> {
        let start = self.pos;
        let tag = self.varint()?;
        let number = tag >> 3;
        let wire_type = (tag & 7) as u8;
        if number == 0 {
            return Err(self.error(start, ProtobufErrorKind::FieldZero));
        }
        if wire_type > I32 {
            return Err(self.error(
                start,
                ProtobufErrorKind::InvalidWireType {
                    field: number,
                    wire_type,
                },
            ));
        }
        Ok((number, wire_type))
    }

    /// Reads the value of a non-group field whose tag was just read.
    fn value(
        &mut self,
        number: u64,
        wire_type: u8,
        start: usize,
    ) -> Result<Value<'a>, ProtobufError> {
        Ok(match wire_type {
            VARINT => Value::Varint(self.varint()?),
            I64 => {
                self.skip(8, start)?;
                Value::Skipped(I64)
            }
            I32 => {
                self.skip(4, start)?;
                Value::Skipped(I32)
            }
            _ => {
                let len = self.varint()?;
                let begin = self.pos;
                let past_end = self.error(
                    start,
                    ProtobufErrorKind::LengthPastEnd { field: number, len },
                );
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|len| begin.checked_add(len))
                    .filter(|&end| end <= self.buf.len())
                    .ok_or(past_end)?;
                self.pos = end;
                Value::Len(&self.buf[begin..end], self.base + begin)
            }
        })
    }

    /// Skips a group whose start tag (field `number`) was just read, nested groups
    /// included, without recursion.
    fn skip_group(&mut self, number: u64, start: usize) -> Result<(), ProtobufError> {
        let mut open = vec![number];
        while let Some(&innermost) = open.last() {
            if self.pos >= self.buf.len() {
                return Err(self.error(start, ProtobufErrorKind::UnclosedGroup { field: number }));
            }
            let tag_start = self.pos;
            let (field, wire_type) = self.tag()?;
            match wire_type {
                SGROUP => open.push(field),
                EGROUP if field == innermost => {
                    open.pop();
                }
                EGROUP => {
                    return Err(
                        self.error(tag_start, ProtobufErrorKind::UnexpectedEndGroup { field })
                    );
                }
                _ => {
                    self.value(field, wire_type, tag_start)?;
                }
            }
        }
        Ok(())
    }

    /// The next field, or None at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<Field<'a>>, ProtobufError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let offset = self.pos;
        let (number, wire_type) = self.tag()?;
        let value = match wire_type {
            SGROUP => {
                self.skip_group(number, offset)?;
                Value::Skipped(SGROUP)
            }
            EGROUP => {
                return Err(self.error(
                    offset,
                    ProtobufErrorKind::UnexpectedEndGroup { field: number },
                ));
            }
            _ => self.value(number, wire_type, offset)?,
        };
        Ok(Some(Field {
            number,
            value,
            offset: self.base + offset,
        }))
    }
}
