//! Secret byte buffers shared by every safeid crate.
//!
//! Seeds and access keys pass through parsing, the protocol, the virtual token and the
//! workflow. One type for all of them means one place that guarantees the three rules:
//! the bytes are wiped when dropped ([`zeroize`]), they never print (`Debug` and
//! `Display` show `<redacted>`), and comparison is constant-time ([`subtle`]).
//!
//! This crate is deliberately tiny and has no workspace dependencies, so every other
//! crate (including `safeid-otpauth`, which may depend on no sibling crate but this one)
//! can use it.
#![forbid(unsafe_code)]

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// The text every secret prints as.
pub const REDACTED: &str = "<redacted>";

/// A secret byte string (a TOTP seed, an access key): wiped on drop, never printed.
///
/// ```
/// use safeid_secret::SecretBytes;
/// let s = SecretBytes::from(vec![1, 2, 3]);
/// assert_eq!(format!("{s:?}"), "<redacted>");
/// assert_eq!(s.expose(), &[1, 2, 3]);
/// ```
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps bytes that are already owned (no copy is left behind).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies a borrowed slice into a new secret.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// The secret bytes. Every call site is a place where the secret is used on purpose.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(bytes: &[u8]) -> Self {
        Self::from_slice(bytes)
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        // Length is not secret; the contents are compared without early exit.
        self.0.len() == other.0.len() && bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A secret string (a base32 seed as typed, a PSKC document): wiped on drop, never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps an owned string.
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Wipes a plain buffer in place (for temporaries that cannot be a [`SecretBytes`]).
pub fn wipe(buf: &mut [u8]) {
    buf.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_bytes() {
        let s = SecretBytes::from(b"JBSWY3DPEHPK3PXP".to_vec());
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
        let t = SecretString::from("hunter2".to_string());
        assert!(!format!("{t:?}{t}").contains("hunter2"));
    }

    #[test]
    fn equality_compares_contents_and_length() {
        assert_eq!(SecretBytes::from(vec![1, 2]), SecretBytes::from(vec![1, 2]));
        assert_ne!(SecretBytes::from(vec![1, 2]), SecretBytes::from(vec![1, 3]));
        assert_ne!(
            SecretBytes::from(vec![1, 2]),
            SecretBytes::from(vec![1, 2, 0])
        );
    }
}
