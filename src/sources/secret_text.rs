//! Secrets typed or stored as text: base32 or hex, and how the two are told apart.
//!
//! Detection rule (documented in docs/exports.md):
//! 1. ASCII whitespace anywhere is ignored (`JBSW Y3DP ...` is fine).
//! 2. The text *can be hex* when it is non-empty, has an even number of characters and
//!    every character is `0-9`, `a-f` or `A-F`.
//! 3. The text *can be base32* when `safeid_otpauth::decode_base32` accepts it (case,
//!    spaces and optional `=` padding are tolerated there).
//! 4. Exactly one of the two: that encoding. Neither: refused. Both (only possible when
//!    every character is one of `2-7`, `a-f`, `A-F` and the length suits both): the text
//!    is *ambiguous* and is refused unless the caller says which encoding it is.
//!
//! No error built here contains any part of the secret text.

use data_encoding::HEXLOWER_PERMISSIVE;
use safeid_otpauth::Base32Error;
use safeid_secret::SecretBytes;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::plan::MAX_SEED_BYTES;

/// How a secret was written as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretEncoding {
    /// RFC 4648 base32 (`A-Z`, `2-7`), padding optional.
    Base32,
    /// Hexadecimal, two digits per byte, either case.
    Hex,
}

impl SecretEncoding {
    /// `base32` or `hex`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Base32 => "base32",
            Self::Hex => "hex",
        }
    }
}

impl std::fmt::Display for SecretEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a secret text was refused. Never contains the text itself.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SecretTextError {
    /// Nothing but whitespace.
    #[error("the secret is empty")]
    Empty,
    /// Neither valid base32 nor valid hex.
    #[error("the secret is neither base32 (A-Z, 2-7) nor hex (an even number of 0-9, a-f)")]
    Neither,
    /// Asked for base32, and it is not.
    #[error("the secret is not valid base32: {0}")]
    NotBase32(Base32Error),
    /// Asked for hex, and it is not.
    #[error("the secret is not valid hex (an even number of 0-9, a-f, A-F)")]
    NotHex,
    /// Valid as both encodings; the caller must say which.
    #[error(
        "the secret is valid both as base32 and as hex; say which encoding it is \
         (prefix `hex:` or `base32:` when typing it, or choose the file's encoding)"
    )]
    Ambiguous,
    /// Decoded to a length the tokens cannot hold.
    #[error("the secret decodes to {bytes} bytes; the tokens take 1 to {MAX_SEED_BYTES}")]
    Length {
        /// Decoded length in bytes.
        bytes: usize,
    },
}

/// Which encodings a text is valid in (rule 2 and 3 of the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Candidates {
    /// Only base32.
    Base32,
    /// Only hex.
    Hex,
    /// Both: ambiguous.
    Both,
    /// Neither.
    Neither,
}

fn compact(text: &str) -> Zeroizing<String> {
    Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect())
}

fn can_be_hex(compact: &str) -> bool {
    !compact.is_empty()
        && compact.len().is_multiple_of(2)
        && compact.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Classifies a secret text (whitespace ignored).
pub(crate) fn candidates(text: &str) -> Candidates {
    let c = compact(text);
    let hex = can_be_hex(&c);
    let b32 = safeid_otpauth::decode_base32(&c).is_ok();
    match (b32, hex) {
        (true, true) => Candidates::Both,
        (true, false) => Candidates::Base32,
        (false, true) => Candidates::Hex,
        (false, false) => Candidates::Neither,
    }
}

/// Decodes a secret text in the given encoding, whitespace ignored, and checks the token's
/// seed length (1 to [`MAX_SEED_BYTES`] bytes).
pub fn decode_secret(text: &str, encoding: SecretEncoding) -> Result<SecretBytes, SecretTextError> {
    let c = compact(text);
    if c.is_empty() {
        return Err(SecretTextError::Empty);
    }
    let bytes = match encoding {
        SecretEncoding::Base32 => {
            safeid_otpauth::decode_base32(&c).map_err(SecretTextError::NotBase32)?
        }
        SecretEncoding::Hex => {
            if !can_be_hex(&c) {
                return Err(SecretTextError::NotHex);
            }
            SecretBytes::new(
                HEXLOWER_PERMISSIVE
                    .decode(c.as_bytes())
                    .map_err(|_| SecretTextError::NotHex)?,
            )
        }
    };
    check_length(bytes)
}

/// Checks the token's seed length: 1 to [`MAX_SEED_BYTES`] bytes.
pub fn check_length(bytes: SecretBytes) -> Result<SecretBytes, SecretTextError> {
    if bytes.is_empty() || bytes.len() > MAX_SEED_BYTES {
        return Err(SecretTextError::Length { bytes: bytes.len() });
    }
    Ok(bytes)
}

/// Decodes a secret text whose encoding is detected by the rule of the module doc; `hint`
/// resolves (and, when given, overrides) detection. Returns the encoding used.
pub fn detect_and_decode(
    text: &str,
    hint: Option<SecretEncoding>,
) -> Result<(SecretBytes, SecretEncoding), SecretTextError> {
    if let Some(encoding) = hint {
        return decode_secret(text, encoding).map(|s| (s, encoding));
    }
    let encoding = match candidates(text) {
        Candidates::Base32 => SecretEncoding::Base32,
        Candidates::Hex => SecretEncoding::Hex,
        Candidates::Both => return Err(SecretTextError::Ambiguous),
        Candidates::Neither if compact(text).is_empty() => return Err(SecretTextError::Empty),
        Candidates::Neither => return Err(SecretTextError::Neither),
    };
    decode_secret(text, encoding).map(|s| (s, encoding))
}

/// Parses a secret typed at the manual-entry prompt.
///
/// An explicit prefix `hex:` or `base32:` (any case) chooses the encoding; otherwise it is
/// detected (module doc), and an ambiguous text is refused with a hint to use a prefix.
/// The terminal read without echo belongs to the binary (e.g. the `rpassword` crate).
///
/// ```
/// use safeid::sources::{parse_manual_secret, SecretEncoding};
/// let (seed, enc) = parse_manual_secret("GEZD GNBV GY3T QOJQ").unwrap();
/// assert_eq!((seed.expose(), enc), (&b"1234567890"[..], SecretEncoding::Base32));
/// let (seed, enc) = parse_manual_secret("hex:3132").unwrap();
/// assert_eq!((seed.expose(), enc), (&b"12"[..], SecretEncoding::Hex));
/// ```
pub fn parse_manual_secret(text: &str) -> Result<(SecretBytes, SecretEncoding), SecretTextError> {
    let trimmed = text.trim();
    let (hint, rest) = split_prefix(trimmed);
    detect_and_decode(rest, hint)
}

fn split_prefix(text: &str) -> (Option<SecretEncoding>, &str) {
    for (prefix, encoding) in [
        ("hex:", SecretEncoding::Hex),
        ("base32:", SecretEncoding::Base32),
    ] {
        if text.len() >= prefix.len()
            && text.is_char_boundary(prefix.len())
            && text[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            return (Some(encoding), &text[prefix.len()..]);
        }
    }
    (None, text)
}
