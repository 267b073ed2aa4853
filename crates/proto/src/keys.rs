//! The secret and semi-secret inputs of the commands: access key, seed, challenge
//! (docs/protocol.md sections 2 and 3).

use std::fmt;

use safeid_secret::{SecretBytes, wipe};
use zeroize::Zeroizing;

use crate::error::ProtoError;

/// The public access key of Token2 single-profile tokens (docs/protocol.md section 2).
pub const TOKEN2_KEY: [u8; 16] = [
    0x8A, 0xD2, 0x06, 0x88, 0x3C, 0xA3, 0x69, 0x48, 0x2A, 0xB2, 0x71, 0x82, 0xB6, 0xE8, 0x32, 0x24,
];

/// A 16-byte SM4 access key (docs/protocol.md section 2). Prints as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey(SecretBytes);

impl AccessKey {
    /// Wraps 16 key bytes. The caller should wipe its copy.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        let mut bytes = bytes;
        let key = Self(SecretBytes::from_slice(&bytes));
        wipe(&mut bytes);
        key
    }

    /// Reads 32 hex digits, in either letter case; spaces, tabs and newlines between them
    /// are ignored. The error never repeats the text.
    pub fn from_hex(text: &str) -> Result<Self, ProtoError> {
        // Allocated once at its largest size: a collecting Vec that grows would free
        // partial copies of the key without wiping them.
        let mut digits = Zeroizing::new(Vec::with_capacity(text.len()));
        digits.extend(text.bytes().filter(|b| !b.is_ascii_whitespace()));
        Self::from_hex_digits(&digits)
    }

    fn from_hex_digits(digits: &[u8]) -> Result<Self, ProtoError> {
        if digits.len() != 32 {
            return Err(ProtoError::InvalidKey(format!(
                "expected 32 hex digits (16 bytes), found {} characters",
                digits.len()
            )));
        }
        if let Some(pos) = digits.iter().position(|b| !b.is_ascii_hexdigit()) {
            return Err(ProtoError::InvalidKey(format!(
                "character {} is not a hex digit",
                pos + 1
            )));
        }
        let mut bytes = [0u8; 16];
        let decoded = data_encoding::HEXLOWER_PERMISSIVE.decode_mut(digits, &mut bytes);
        let result = match decoded {
            Ok(16) => Ok(Self(SecretBytes::from_slice(&bytes))),
            _ => Err(ProtoError::InvalidKey("not a hex string".to_string())),
        };
        wipe(&mut bytes);
        result
    }

    /// The Token2 public key `8AD206883CA369482AB27182B6E83224` (docs/protocol.md section 2).
    pub fn token2() -> Self {
        Self::from_bytes(TOKEN2_KEY)
    }

    /// True when this is the Token2 public key.
    pub fn is_token2(&self) -> bool {
        *self == Self::token2()
    }

    /// The key bytes (always 16).
    pub(crate) fn expose(&self) -> &[u8] {
        self.0.expose()
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKey({})", safeid_secret::REDACTED)
    }
}

/// The longest seed the tokens store, in bytes (docs/protocol.md section 3, write seed):
/// the one constant for it in the workspace ([`Seed::MAX_LEN`] is the same value).
pub const MAX_SEED_BYTES: usize = 63;

/// A TOTP seed as the token takes it: 1 to [`MAX_SEED_BYTES`] raw bytes (docs/protocol.md section 3, write
/// seed). Prints as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed(SecretBytes);

impl Seed {
    /// The longest seed the token accepts: [`MAX_SEED_BYTES`].
    pub const MAX_LEN: usize = MAX_SEED_BYTES;

    /// Checks the length (1 to [`MAX_SEED_BYTES`] bytes).
    pub fn new(bytes: SecretBytes) -> Result<Self, ProtoError> {
        match bytes.len() {
            1..=Self::MAX_LEN => Ok(Self(bytes)),
            len => Err(ProtoError::SeedLength { len }),
        }
    }

    /// Number of raw bytes (before the zero-extension to 20).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a seed has at least one byte.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw seed bytes.
    pub fn expose(&self) -> &[u8] {
        self.0.expose()
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed({})", safeid_secret::REDACTED)
    }
}

/// The 8 random bytes of a get-challenge reply (docs/protocol.md section 3). Not secret: it
/// crosses the air in the clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Challenge(pub [u8; 8]);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex_accepts_case_and_spaces() {
        let a = AccessKey::from_hex("8AD206883CA369482AB27182B6E83224").unwrap();
        let b = AccessKey::from_hex("8a d2 06 88 3c a3 69 48\n2a b2 71 82 b6 e8 32 24").unwrap();
        assert_eq!(a, b);
        assert!(a.is_token2());
        assert_eq!(a.expose(), &TOKEN2_KEY);
    }

    #[test]
    fn hex_errors_do_not_repeat_the_key() {
        for bad in [
            "8AD206883CA369482AB27182B6E832",
            "8AD206883CA369482AB27182B6E8322400",
            "8AD206883CA369482AB27182B6E8322G",
            "",
        ] {
            let err = AccessKey::from_hex(bad).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(matches!(err, ProtoError::InvalidKey(_)));
            assert!(!text.contains("8AD2"), "{text}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let text = format!("{:?}", AccessKey::token2());
        assert_eq!(text, "AccessKey(<redacted>)");
        let seed = Seed::new(SecretBytes::from(b"12345678901234567890".to_vec())).unwrap();
        assert!(!format!("{seed:?}").contains("1234"));
    }

    #[test]
    fn seed_length_is_checked() {
        assert!(matches!(
            Seed::new(SecretBytes::default()),
            Err(ProtoError::SeedLength { len: 0 })
        ));
        assert!(matches!(
            Seed::new(SecretBytes::from(vec![1; 64])),
            Err(ProtoError::SeedLength { len: 64 })
        ));
        assert_eq!(Seed::new(SecretBytes::from(vec![1; 63])).unwrap().len(), 63);
        assert_eq!(Seed::new(SecretBytes::from(vec![1])).unwrap().len(), 1);
    }
}
