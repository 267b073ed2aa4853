//! What a virtual token is made of: serial, access key, model behaviour and test options.

use std::fmt;

/// Token2's published access key for its single-profile tokens (docs/protocol.md section 2).
pub const TOKEN2_KEY: [u8; 16] = [
    0x8A, 0xD2, 0x06, 0x88, 0x3C, 0xA3, 0x69, 0x48, 0x2A, 0xB2, 0x71, 0x82, 0xB6, 0xE8, 0x32, 0x24,
];

/// The models of docs/protocol.md section 6: serial prefix, model name, and whether a config
/// write keeps the seed (`true` = unrestricted).
pub const MODELS: &[(&str, &str, bool)] = &[
    ("8659612", "Token2 OTPC-P1-i", true),
    ("8659622", "Token2 OTPC-P2-i", false),
    ("8659621", "Token2 OTPC-P2-i-NB", false),
    ("8659600", "Token2 miniOTP-2-i", true),
    ("8659601", "Token2 miniOTP-3-i", false),
    ("8659609", "Token2 miniOTP-3-i-NB", false),
    ("8659610", "Token2 C301-i", false),
    ("8659632", "Token2 C302-i", true),
];

/// Whether a token with this serial erases its seed on a config write (docs/protocol.md
/// sections 4 and 6). Unknown prefixes count as restricted.
pub fn restricted_for_serial(serial: &str) -> bool {
    MODELS
        .iter()
        .find(|(prefix, _, _)| serial.starts_with(prefix))
        .is_none_or(|(_, _, keeps_seed)| !keeps_seed)
}

/// How to build a [`crate::VirtualToken`].
///
/// The key field is public for convenience in tests; `Debug` never prints it.
#[derive(Clone)]
pub struct TokenSpec {
    /// The serial that get info reports (ASCII; at most 64 bytes are reported).
    pub serial: String,
    /// The SM4 access key (docs/protocol.md section 2).
    pub key: [u8; 16],
    /// Whether a config write erases the seed (docs/protocol.md section 4).
    pub restricted: bool,
    /// Token clock minus host clock when the token is created, in seconds.
    pub clock_offset: i64,
    /// Lock the token for good after this many failed authentications (in total, across
    /// power cycles). `None`: never lock (newer firmware). `Some(0)`: locked from the start.
    pub lockout_after: Option<u32>,
    /// Answer `6D00` to everything but SELECT until the application
    /// `B0 00 00 00 00 23` is selected (the selection is lost on reset and power off), to
    /// exercise the host's SELECT fallback (docs/protocol.md section 1). Default `false`.
    pub require_select: bool,
}

impl TokenSpec {
    /// A token with this serial and key; restricted unless the serial prefix is a known
    /// unrestricted model, clock in step with the host, no lockout, no SELECT needed.
    pub fn new(serial: impl Into<String>, key: [u8; 16]) -> Self {
        let serial = serial.into();
        Self {
            restricted: restricted_for_serial(&serial),
            serial,
            key,
            clock_offset: 0,
            lockout_after: None,
            require_select: false,
        }
    }

    /// A Token2 token: the public Token2 key and the restrictedness of its serial prefix.
    pub fn token2(serial: impl Into<String>) -> Self {
        Self::new(serial, TOKEN2_KEY)
    }
}

impl fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSpec")
            .field("serial", &self.serial)
            .field("key", &safeid_secret::REDACTED)
            .field("restricted", &self.restricted)
            .field("clock_offset", &self.clock_offset)
            .field("lockout_after", &self.lockout_after)
            .field("require_select", &self.require_select)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_from_protocol_section_6() {
        assert!(!restricted_for_serial("8659612000001"));
        assert!(restricted_for_serial("8659622000001"));
        assert!(restricted_for_serial("86596210000012"));
        assert!(!restricted_for_serial("8659600123456"));
        assert!(restricted_for_serial("8659601123456"));
        assert!(restricted_for_serial("8659609123456"));
        assert!(restricted_for_serial("8659610123456"));
        assert!(!restricted_for_serial("8659632123456"));
        assert!(restricted_for_serial("1234567890123"));
        assert!(restricted_for_serial(""));
    }

    #[test]
    fn debug_hides_key() {
        let s = TokenSpec::token2("8659612000001");
        let text = format!("{s:?}");
        assert!(text.contains("<redacted>"));
        assert!(!text.to_lowercase().contains("8ad2"));
        assert!(!text.contains("138"));
    }
}
