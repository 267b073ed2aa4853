//! The [`Credential`] type and its canonical `otpauth://` form (docs/otpauth.md rule 10).

use std::fmt;

use safeid_secret::{SecretBytes, SecretString};

use crate::base32::encode_base32;
use crate::percent::encode_into;

/// The HMAC hash of an OTP credential (docs/otpauth.md rule 7): the TOTP crate's own type,
/// so that a credential's algorithm reaches the code generator without a mapping.
pub use safeid_totp::{Algorithm, UnknownAlgorithm};

/// Time-based or counter-based, with the parameter that goes with each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// RFC 6238 TOTP with a time step of `period` seconds (>= 1; default 30).
    Totp {
        /// Time step in seconds.
        period: u64,
    },
    /// RFC 4226 HOTP with the next counter value (default 0).
    Hotp {
        /// Counter value.
        counter: u64,
    },
}

/// Default TOTP time step in seconds.
pub const DEFAULT_PERIOD: u64 = 30;
/// Default number of digits.
pub const DEFAULT_DIGITS: u8 = 6;
/// Secrets shorter than this many bytes (128 bits, the RFC 4226 minimum) get a warning.
pub const MIN_SECRET_BYTES: usize = 16;

/// One OTP credential, as read from an `otpauth://` URI or a migration export entry.
///
/// `Debug` shows the secret as `<redacted>`. The parser only produces values with a
/// non-empty account without leading spaces, a non-empty issuer when present, a non-empty
/// secret, 6..=8 digits and a period >= 1; for such values `parse(to_uri(c)) == c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// TOTP (with period) or HOTP (with counter).
    pub kind: Kind,
    /// The service name, from the `issuer` parameter or else the label prefix.
    pub issuer: Option<String>,
    /// The account name from the label.
    pub account: String,
    /// The shared secret (decoded from base32).
    pub secret: SecretBytes,
    /// The HMAC hash.
    pub algorithm: Algorithm,
    /// Number of code digits (6, 7 or 8 when parsed).
    pub digits: u8,
}

/// Something about a credential that is allowed but worth telling the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Warning {
    /// The secret is shorter than [`MIN_SECRET_BYTES`] (128 bits, RFC 4226's minimum).
    ShortSecret {
        /// Length of the secret in bytes.
        bytes: usize,
    },
    /// The issuer is `Steam` (any ASCII case). Steam's own exports carry no other mark, and
    /// some apps read such a URI as asking for Steam Guard codes, which a token showing
    /// decimal digits cannot produce (docs/otpauth.md rule 4a).
    SteamIssuer,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShortSecret { bytes } => write!(
                f,
                "secret is {} bits long, shorter than the {} bits RFC 4226 requires",
                bytes * 8,
                MIN_SECRET_BYTES * 8
            ),
            Self::SteamIssuer => f.write_str(
                "issuer is Steam: Steam Guard expects 5-character codes from Steam's own \
                 alphabet, not decimal digits, so a token that shows 6 digits will most \
                 likely not be accepted by Steam",
            ),
        }
    }
}

impl Credential {
    /// Weaknesses that do not stop parsing (the caller decides what to do with them).
    pub fn warnings(&self) -> Vec<Warning> {
        let mut warnings = Vec::new();
        if self.secret.len() < MIN_SECRET_BYTES {
            warnings.push(Warning::ShortSecret {
                bytes: self.secret.len(),
            });
        }
        if self
            .issuer
            .as_deref()
            .is_some_and(|issuer| issuer.eq_ignore_ascii_case("steam"))
        {
            warnings.push(Warning::SteamIssuer);
        }
        warnings
    }

    /// The canonical `otpauth://` URI (docs/otpauth.md rule 10): percent-encoded label
    /// `issuer:account`, then `secret` (upper-case unpadded base32), `issuer`, `algorithm`,
    /// `digits` and `period` or `counter`, always in this order and always present.
    ///
    /// The issuer goes in the label prefix only when it has no `:`; an account with a `:` and
    /// no usable prefix gets an empty prefix (`:a%3Ab`), so that the first split point is
    /// always the intended one. The result parses back to `self` when `self` is something
    /// the parser can produce (see the type's docs) and the URI stays within
    /// [`crate::MAX_URI_LEN`] bytes. It holds the secret, hence the [`SecretString`].
    ///
    /// ```
    /// use safeid_otpauth::Credential;
    /// let c = Credential::parse("otpauth://totp/ACME:alice?secret=jbswy3dpehpk3pxp").unwrap();
    /// assert_eq!(
    ///     c.to_uri().expose(),
    ///     "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME\
    ///      &algorithm=SHA1&digits=6&period=30"
    /// );
    /// ```
    pub fn to_uri(&self) -> SecretString {
        let secret = SecretString::from(encode_base32(self.secret.expose()));
        // Reserve generously so the buffer holding the secret never reallocates.
        let capacity = 128
            + secret.expose().len()
            + 6 * (self.account.len() + self.issuer.as_ref().map_or(0, String::len));
        let mut uri = String::with_capacity(capacity);
        uri.push_str(match self.kind {
            Kind::Totp { .. } => "otpauth://totp/",
            Kind::Hotp { .. } => "otpauth://hotp/",
        });
        match &self.issuer {
            Some(issuer) if !issuer.contains(':') => {
                encode_into(&mut uri, issuer);
                uri.push(':');
            }
            _ if self.account.contains(':') => uri.push(':'),
            _ => {}
        }
        encode_into(&mut uri, &self.account);
        uri.push_str("?secret=");
        uri.push_str(secret.expose());
        if let Some(issuer) = &self.issuer {
            uri.push_str("&issuer=");
            encode_into(&mut uri, issuer);
        }
        uri.push_str("&algorithm=");
        uri.push_str(self.algorithm.name());
        uri.push_str("&digits=");
        uri.push_str(&self.digits.to_string());
        match self.kind {
            Kind::Totp { period } => {
                uri.push_str("&period=");
                uri.push_str(&period.to_string());
            }
            Kind::Hotp { counter } => {
                uri.push_str("&counter=");
                uri.push_str(&counter.to_string());
            }
        }
        SecretString::from(uri)
    }
}
