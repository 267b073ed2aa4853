//! The token configuration written by "write config" (docs/protocol.md section 3).

use std::fmt;
use std::str::FromStr;

use crate::error::ProtoError;

/// How long the display stays on (docs/protocol.md section 3, write config, tag `1F`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisplayTimeout {
    /// 15 seconds (code 0).
    S15,
    /// 30 seconds (code 1).
    S30,
    /// 60 seconds (code 2).
    S60,
    /// 120 seconds (code 3).
    S120,
}

impl DisplayTimeout {
    /// The timeout for 15, 30, 60 or 120 seconds; `None` for anything else.
    pub fn from_seconds(seconds: u32) -> Option<Self> {
        match seconds {
            15 => Some(Self::S15),
            30 => Some(Self::S30),
            60 => Some(Self::S60),
            120 => Some(Self::S120),
            _ => None,
        }
    }

    /// The timeout in seconds.
    pub fn seconds(self) -> u32 {
        match self {
            Self::S15 => 15,
            Self::S30 => 30,
            Self::S60 => 60,
            Self::S120 => 120,
        }
    }

    /// The byte sent in the config TLV (0..=3).
    pub fn code(self) -> u8 {
        match self {
            Self::S15 => 0,
            Self::S30 => 1,
            Self::S60 => 2,
            Self::S120 => 3,
        }
    }
}

/// The HMAC the token computes codes with (docs/protocol.md section 3, write config, tag `0A`):
/// the token's own subset of the general [`safeid_totp::Algorithm`], and the one place
/// that maps between the two (`From` / `TryFrom`).
///
/// ```
/// use safeid_proto::HmacAlgorithm;
/// use safeid_totp::Algorithm;
///
/// let sha256: HmacAlgorithm = "HMAC-SHA256".parse()?;
/// assert_eq!(sha256.name(), "SHA256");
/// assert_eq!(Algorithm::from(sha256), Algorithm::Sha256);
/// assert!(HmacAlgorithm::try_from(Algorithm::Sha512).is_err());
/// # Ok::<(), safeid_proto::ProtoError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HmacAlgorithm {
    /// HMAC-SHA-1 (code 1), the default of every format.
    #[default]
    Sha1,
    /// HMAC-SHA-256 (code 2).
    Sha256,
}

impl HmacAlgorithm {
    /// Both algorithms, SHA-1 first.
    pub const ALL: [HmacAlgorithm; 2] = [HmacAlgorithm::Sha1, HmacAlgorithm::Sha256];

    /// The byte sent in the config TLV.
    pub fn code(self) -> u8 {
        match self {
            Self::Sha1 => 1,
            Self::Sha256 => 2,
        }
    }

    /// The name as `otpauth://` URIs write it: `"SHA1"` or `"SHA256"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }
}

impl fmt::Display for HmacAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Longest name shown back in [`ProtoError::UnknownAlgorithm`].
const SHOWN_NAME: usize = 32;

impl FromStr for HmacAlgorithm {
    type Err = ProtoError;

    /// Reads `SHA1` or `SHA256` in any letter case, with or without a `-` or `_` before the
    /// digits and with or without an `HMAC` prefix: `sha1`, `SHA-1`, `hmacsha1`,
    /// `HMAC-SHA256`, `hmac_sha_256` all parse.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let bare = compact.strip_prefix("hmac").unwrap_or(&compact);
        match bare {
            "sha1" => Ok(Self::Sha1),
            "sha256" => Ok(Self::Sha256),
            _ => Err(ProtoError::UnknownAlgorithm {
                name: text.chars().take(SHOWN_NAME).collect(),
            }),
        }
    }
}

impl From<HmacAlgorithm> for safeid_totp::Algorithm {
    fn from(algorithm: HmacAlgorithm) -> Self {
        match algorithm {
            HmacAlgorithm::Sha1 => safeid_totp::Algorithm::Sha1,
            HmacAlgorithm::Sha256 => safeid_totp::Algorithm::Sha256,
        }
    }
}

impl TryFrom<safeid_totp::Algorithm> for HmacAlgorithm {
    type Error = ProtoError;

    /// SHA-1 and SHA-256; any other algorithm is [`ProtoError::UnsupportedAlgorithm`],
    /// which names it.
    fn try_from(algorithm: safeid_totp::Algorithm) -> Result<Self, Self::Error> {
        match algorithm {
            safeid_totp::Algorithm::Sha1 => Ok(Self::Sha1),
            safeid_totp::Algorithm::Sha256 => Ok(Self::Sha256),
            other => Err(ProtoError::UnsupportedAlgorithm {
                algorithm: other.name(),
            }),
        }
    }
}

/// The TOTP time step (docs/protocol.md section 3, write config, tag `0D`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeStep {
    /// 30 seconds (`0x1E`).
    S30,
    /// 60 seconds (`0x3C`).
    S60,
}

impl TimeStep {
    /// The step for 30 or 60 seconds; `None` for anything else.
    pub fn from_seconds(seconds: u32) -> Option<Self> {
        match seconds {
            30 => Some(Self::S30),
            60 => Some(Self::S60),
            _ => None,
        }
    }

    /// The step in seconds.
    pub fn seconds(self) -> u32 {
        match self {
            Self::S30 => 30,
            Self::S60 => 60,
        }
    }

    /// The byte sent in the config TLV (the number of seconds).
    pub fn code(self) -> u8 {
        match self {
            Self::S30 => 0x1E,
            Self::S60 => 0x3C,
        }
    }
}

/// Everything "write config" sets, all at once: there is no partial update
/// (docs/protocol.md section 3, write config). On restricted models writing it erases the
/// seed (section 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenConfig {
    /// How long the display stays on.
    pub display_timeout: DisplayTimeout,
    /// UTC Unix time to set the token's clock to.
    pub unix_time: u32,
    /// The HMAC for codes.
    pub hmac: HmacAlgorithm,
    /// The TOTP time step.
    pub step: TimeStep,
}

impl TokenConfig {
    /// Length of the config TLV.
    pub const TLV_LEN: usize = 19;

    /// The 19-byte TLV body of "write config" (docs/protocol.md section 3):
    /// `81 11 | 1F 01 tt | 0F 04 time | 86 06 | 0A 01 hh | 0D 01 ss`.
    pub fn tlv(&self) -> [u8; Self::TLV_LEN] {
        let [t0, t1, t2, t3] = self.unix_time.to_be_bytes();
        [
            0x81,
            0x11,
            0x1F,
            0x01,
            self.display_timeout.code(),
            0x0F,
            0x04,
            t0,
            t1,
            t2,
            t3,
            0x86,
            0x06,
            0x0A,
            0x01,
            self.hmac.code(),
            0x0D,
            0x01,
            self.step.code(),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use safeid_totp::Algorithm;

    #[test]
    fn algorithm_names_parse_in_their_usual_spellings() {
        for text in [
            "SHA1",
            "sha1",
            "Sha1",
            "sha-1",
            "SHA-1",
            "hmacsha1",
            "HMACSHA1",
            "HMAC-SHA1",
            "hmac-sha-1",
            "HMAC_SHA1",
        ] {
            assert_eq!(
                text.parse::<HmacAlgorithm>().unwrap(),
                HmacAlgorithm::Sha1,
                "{text}"
            );
        }
        for text in [
            "SHA256",
            "sha256",
            "sha-256",
            "SHA-256",
            "hmacsha256",
            "HMAC-SHA256",
            "hmac_sha_256",
        ] {
            assert_eq!(
                text.parse::<HmacAlgorithm>().unwrap(),
                HmacAlgorithm::Sha256,
                "{text}"
            );
        }
        for text in [
            "", "sha", "sha2", "SHA512", "sha-512", "md5", "hmac", "sha 1", "sha1 ", "1",
        ] {
            let err = text.parse::<HmacAlgorithm>().unwrap_err();
            assert!(matches!(err, ProtoError::UnknownAlgorithm { .. }), "{text}");
        }
        let long = "x".repeat(10_000);
        let err = long.parse::<HmacAlgorithm>().unwrap_err();
        assert!(
            err.to_string().len() < 200,
            "the message echoes at most 32 characters"
        );
        assert!(
            "SHA3-256"
                .parse::<HmacAlgorithm>()
                .unwrap_err()
                .to_string()
                .contains("SHA3-256")
        );
    }

    #[test]
    fn names_and_wire_codes_follow_section_3() {
        // docs/protocol.md section 3, write config, tag 0A: 1 = SHA-1, 2 = SHA-256.
        assert_eq!(
            (HmacAlgorithm::Sha1.name(), HmacAlgorithm::Sha1.code()),
            ("SHA1", 1)
        );
        assert_eq!(
            (HmacAlgorithm::Sha256.name(), HmacAlgorithm::Sha256.code()),
            ("SHA256", 2)
        );
        assert_eq!(HmacAlgorithm::Sha256.to_string(), "SHA256");
        for a in HmacAlgorithm::ALL {
            assert_eq!(a.name().parse::<HmacAlgorithm>().unwrap(), a);
        }
    }

    #[test]
    fn the_general_algorithm_maps_both_ways() {
        assert_eq!(Algorithm::from(HmacAlgorithm::Sha1), Algorithm::Sha1);
        assert_eq!(Algorithm::from(HmacAlgorithm::Sha256), Algorithm::Sha256);
        assert_eq!(
            HmacAlgorithm::try_from(Algorithm::Sha1).unwrap(),
            HmacAlgorithm::Sha1
        );
        assert_eq!(
            HmacAlgorithm::try_from(Algorithm::Sha256).unwrap(),
            HmacAlgorithm::Sha256
        );
        let err = HmacAlgorithm::try_from(Algorithm::Sha512).unwrap_err();
        assert!(matches!(
            err,
            ProtoError::UnsupportedAlgorithm {
                algorithm: "SHA512"
            }
        ));
        assert!(err.to_string().contains("SHA512"), "{err}");
        // Every general algorithm either maps back to itself or is refused: no `_ =>`
        // fallback to another algorithm.
        for general in Algorithm::ALL {
            if let Ok(token) = HmacAlgorithm::try_from(general) {
                assert_eq!(Algorithm::from(token), general);
                assert_eq!(token.name(), general.name());
            }
        }
    }

    #[test]
    fn seconds_round_trip() {
        for s in [15, 30, 60, 120] {
            assert_eq!(
                DisplayTimeout::from_seconds(s).map(DisplayTimeout::seconds),
                Some(s)
            );
        }
        for s in [30, 60] {
            assert_eq!(TimeStep::from_seconds(s).map(TimeStep::seconds), Some(s));
        }
        for s in [0, 1, 14, 45, 90, 121, u32::MAX] {
            assert_eq!(DisplayTimeout::from_seconds(s), None);
            assert_eq!(TimeStep::from_seconds(s), None);
        }
    }
}
