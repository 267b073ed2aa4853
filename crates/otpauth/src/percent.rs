//! Percent-decoding (labels: `+` literal; query: `+` is a space) and canonical
//! percent-encoding. Small enough that a dependency would cost more than it saves; the
//! workspace has no percent-encoding crate.

use safeid_secret::wipe;

/// Why percent-decoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeFail {
    /// `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes once (and `+` as a space when `plus_is_space`), as strict UTF-8.
///
/// The working buffer is wiped on failure, since it may hold part of a secret.
pub(crate) fn decode(input: &str, plus_is_space: bool) -> Result<String, DecodeFail> {
    let bytes = input.as_bytes();
    // Decoding never grows the text, so this buffer never reallocates (no stray copies).
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    wipe(&mut out);
                    return Err(DecodeFail::BadEscape);
                };
                out.push((hi << 4) | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|err| {
        wipe(&mut err.into_bytes());
        DecodeFail::NotUtf8
    })
}

/// Percent-encodes everything but the RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`), with upper-case hex. Safe in a label and in a query value:
/// `:`, `+`, `&`, `=`, `%`, `#`, `?`, `/` and spaces are all escaped.
pub(crate) fn encode_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plus() {
        assert_eq!(decode("a%20b+c", false).unwrap(), "a b+c");
        assert_eq!(decode("a%20b+c", true).unwrap(), "a b c");
        assert_eq!(decode("%C3%A9%c3%a9", false).unwrap(), "éé");
        assert_eq!(decode("%2", false), Err(DecodeFail::BadEscape));
        assert_eq!(decode("%zz", false), Err(DecodeFail::BadEscape));
        assert_eq!(decode("%FF", false), Err(DecodeFail::NotUtf8));
    }

    #[test]
    fn encodes_everything_but_unreserved() {
        let mut out = String::new();
        encode_into(&mut out, "a b:c+d&e=%/é~");
        assert_eq!(out, "a%20b%3Ac%2Bd%26e%3D%25%2F%C3%A9~");
    }
}
