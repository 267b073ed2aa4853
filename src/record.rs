//! The record of one token seed: which serial holds (or will hold) which secret, with the
//! TOTP parameters the token was configured with.
//!
//! [`TokenSeed`] is the one value that seed sources produce, the journal keeps and every
//! export writes. Its `Debug` output never shows the secret (the secret is a
//! [`SecretBytes`], whose `Debug` prints `<redacted>`).

use std::fmt;

use safeid_secret::SecretBytes;

/// The TOTP time step used when a source does not say (RFC 6238's default).
pub const DEFAULT_PERIOD: u32 = 30;

/// The number of digits these tokens display (docs/protocol.md section 7: there is no digits
/// setting).
pub const TOKEN_DIGITS: u8 = 6;

pub use safeid_proto::HmacAlgorithm;

/// One token's seed and parameters, keyed by the token's serial number.
///
/// ```
/// use safeid::record::TokenSeed;
/// use safeid::secret::SecretBytes;
/// let seed = TokenSeed::new("8659612000001", SecretBytes::from(b"12345678901234567890".to_vec()));
/// assert_eq!(seed.period, 30);
/// assert!(!format!("{seed:?}").contains("1234567890"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSeed {
    /// The token's serial number as the token reports it.
    pub serial: String,
    /// The raw seed bytes (the decoded base32 secret).
    pub secret: SecretBytes,
    /// The HMAC hash function.
    pub hash: HmacAlgorithm,
    /// The time step in seconds (the tokens support 30 and 60).
    pub period: u32,
    /// The number of digits (6 on these tokens).
    pub digits: u8,
    /// The manufacturer name for exports (from the model table), if known.
    pub manufacturer: Option<String>,
    /// The model name for exports (from the model table), if known.
    pub model: Option<String>,
    /// The user the token is meant for (Entra `upn`), if any.
    pub upn: Option<String>,
    /// A display name (Graph `displayName`), if any.
    pub display_name: Option<String>,
}

impl TokenSeed {
    /// A record with the defaults every format assumes: SHA-1, 30 s, 6 digits, no
    /// manufacturer, model, user or display name.
    pub fn new(serial: impl Into<String>, secret: SecretBytes) -> Self {
        Self {
            serial: serial.into(),
            secret,
            hash: HmacAlgorithm::Sha1,
            period: DEFAULT_PERIOD,
            digits: TOKEN_DIGITS,
            manufacturer: None,
            model: None,
            upn: None,
            display_name: None,
        }
    }

    /// The same record with manufacturer and model names (e.g. from the model table).
    pub fn with_model(mut self, manufacturer: impl Into<String>, model: impl Into<String>) -> Self {
        self.manufacturer = Some(manufacturer.into());
        self.model = Some(model.into());
        self
    }

    /// True when both records name the same serial with the same secret and TOTP
    /// parameters (descriptive fields such as the model or the user are ignored).
    pub fn same_seed(&self, other: &Self) -> bool {
        self.serial == other.serial
            && self.secret == other.secret
            && self.hash == other.hash
            && self.period == other.period
            && self.digits == other.digits
    }
}

impl fmt::Debug for TokenSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written out (not derived) so that a future field cannot leak by accident.
        f.debug_struct("TokenSeed")
            .field("serial", &self.serial)
            .field("secret", &safeid_secret::REDACTED)
            .field("secret_len", &self.secret.len())
            .field("hash", &self.hash)
            .field("period", &self.period)
            .field("digits", &self.digits)
            .field("manufacturer", &self.manufacturer)
            .field("model", &self.model)
            .field("upn", &self.upn)
            .field("display_name", &self.display_name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let s = TokenSeed::new("1", SecretBytes::from(b"JBSWY3DPEHPK3PXP".to_vec()));
        let text = format!("{s:?}");
        assert!(!text.contains("JBSWY3DPEHPK3PXP"));
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn hash_names_parse() {
        for (text, want) in [
            ("SHA1", Some(HmacAlgorithm::Sha1)),
            ("sha-256", Some(HmacAlgorithm::Sha256)),
            ("hmacsha256", Some(HmacAlgorithm::Sha256)),
            ("HMAC-SHA1", Some(HmacAlgorithm::Sha1)),
            ("sha512", None),
            ("", None),
        ] {
            assert_eq!(text.parse::<HmacAlgorithm>().ok(), want, "{text}");
        }
    }
}
