//! The closed set of hash functions behind the HMAC.

use core::fmt;

/// The hash function of the HMAC (RFC 6238 section 1.2 allows SHA-1, SHA-256 and SHA-512).
///
/// A closed enum rather than a generic parameter, so callers never name RustCrypto types.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA-1, the RFC 4226 default and what nearly every token and app uses.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// Every algorithm, in the order SHA-1, SHA-256, SHA-512.
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// The name as written in `otpauth://` URIs: `SHA1`, `SHA256` or `SHA512`.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Length of the HMAC output in bytes (20, 32 or 64).
    pub const fn output_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// Hash block size in bytes (64, 64 or 128); HMAC hashes keys longer than this first.
    pub const fn block_len(self) -> usize {
        match self {
            Algorithm::Sha1 | Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// The text was not `SHA1`, `SHA256` or `SHA512` (in any ASCII letter case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected SHA1, SHA256 or SHA512")]
pub struct UnknownAlgorithm;

impl core::str::FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// The `otpauth://` spelling, ASCII case-insensitive; no Unicode case folding and no
    /// other spellings (`SHA-1`, `MD5` are refused rather than replaced by SHA1), as
    /// docs/otpauth.md rule 7 requires.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or(UnknownAlgorithm)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
