//! Lenient base32 for secrets (docs/otpauth.md rule 6), built on `data-encoding` with a custom
//! [`Specification`]: the RFC 4648 alphabet, `a-z` translated to `A-Z` (ASCII only, no
//! Unicode case folding), spaces ignored, trailing bits not checked (random-length secrets
//! from real generators often leave non-zero bits there, and authenticators ignore them).

use std::sync::LazyLock;

use data_encoding::{BASE32_NOPAD, DecodeKind, Encoding, Specification};
use safeid_secret::{SecretBytes, wipe};

use crate::error::Base32Error;

/// Builds the lenient decoder, with or without `=` padding.
fn lenient(padded: bool) -> Encoding {
    let mut spec = Specification::new();
    spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    spec.padding = padded.then_some('=');
    spec.ignore.push(' ');
    spec.translate.from.push_str("abcdefghijklmnopqrstuvwxyz");
    spec.translate.to.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    spec.check_trailing_bits = false;
    // A fixed specification, checked by the unit test below; not derived from input.
    spec.encoding()
        .expect("the fixed base32 specification is valid")
}

/// Decoder for text without `=` (padding is optional, so both forms are accepted).
static UNPADDED: LazyLock<Encoding> = LazyLock::new(|| lenient(false));
/// Decoder for text with `=`: then the padding must be complete and correct.
static PADDED: LazyLock<Encoding> = LazyLock::new(|| lenient(true));

/// A byte the lenient decoder knows: a symbol in either case, space, or `=`.
fn is_allowed(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || (b'2'..=b'7').contains(&byte) || byte == b' ' || byte == b'='
}

/// Decodes a base32 secret leniently, per docs/otpauth.md rule 6.
///
/// Spaces are removed, letters are ASCII case-insensitive, `=` padding is optional (when
/// present it must be a complete trailing run), and the number of symbols must be a valid
/// base32 length (8k + 0, 2, 4, 5 or 7). There is no minimum length: short secrets are a
/// [`crate::Warning`], not an error. Empty text (after removing spaces) is refused.
///
/// Errors report positions and lengths, never the text.
///
/// ```
/// let bytes = safeid_otpauth::decode_base32("mzxw 6ytb oi").unwrap();
/// assert_eq!(bytes.expose(), b"foobar");
/// ```
pub fn decode_base32(text: &str) -> Result<SecretBytes, Base32Error> {
    let bytes = text.as_bytes();
    // `=` may only form a trailing run (spaces aside); data-encoding would otherwise accept
    // concatenated padded blocks such as `MY======MY======`.
    let first_pad = bytes.iter().position(|&b| b == b'=');
    if let Some(first) = first_pad
        && bytes[first..].iter().any(|&b| b != b'=' && b != b' ')
    {
        return Err(Base32Error::Padding { position: first });
    }
    let symbols = bytes.iter().filter(|&&b| b != b' ' && b != b'=').count();
    if symbols == 0 {
        return Err(Base32Error::Empty);
    }
    let encoding: &Encoding = if first_pad.is_some() {
        &PADDED
    } else {
        &UNPADDED
    };
    // With spaces ignorable, this is only an upper bound and never fails on length.
    let max_len = encoding
        .decode_len(bytes.len())
        .map_err(|_| Base32Error::Length { symbols })?;
    let mut buf = vec![0u8; max_len];
    match encoding.decode_mut(bytes, &mut buf) {
        Ok(written) => {
            wipe(&mut buf[written..]);
            buf.truncate(written);
            Ok(SecretBytes::new(buf))
        }
        Err(partial) => {
            wipe(&mut buf);
            let position = partial.error.position;
            Err(match partial.error.kind {
                // With `=` present, a bad total length means the padding run is wrong.
                DecodeKind::Length if first_pad.is_some() => Base32Error::Padding { position },
                // data-encoding checks the length first; a bad character is the more
                // useful report when there is one.
                DecodeKind::Length => match bytes.iter().position(|&b| !is_allowed(b)) {
                    Some(position) => Base32Error::Character { position },
                    None => Base32Error::Length { symbols },
                },
                DecodeKind::Padding => Base32Error::Padding { position },
                DecodeKind::Symbol | DecodeKind::Trailing => Base32Error::Character { position },
            })
        }
    }
}

/// Encodes bytes as upper-case, unpadded RFC 4648 base32 (the canonical form of rule 10).
///
/// ```
/// assert_eq!(safeid_otpauth::encode_base32(b"foobar"), "MZXW6YTBOI");
/// ```
pub fn encode_base32(bytes: &[u8]) -> String {
    BASE32_NOPAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_specifications_are_valid() {
        let _ = lenient(false);
        let _ = lenient(true);
    }
}
