//! The token configuration written by "write config" (docs/protocol.md section 3).

use std::fmt;

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

/// The HMAC the token computes codes with (docs/protocol.md section 3, write config, tag `0A`).
///
/// The token's own subset of [`safeid_totp::Algorithm`]; the conversions below are the only
/// mapping between the two in the workspace.
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
    pub const ALL: [HmacAlgorithm; 2] = [Self::Sha1, Self::Sha256];

    /// The byte sent in the config TLV.
    pub fn code(self) -> u8 {
        match self {
            Self::Sha1 => 1,
            Self::Sha256 => 2,
        }
    }

    /// The conventional upper-case name: `SHA1` or `SHA256`.
    pub fn name(self) -> &'static str {
        safeid_totp::Algorithm::from(self).name()
    }

    /// Parses the spellings users and file formats write, ASCII case-insensitive: `SHA1`,
    /// `sha-256`, `HMAC-SHA256`, `hmacsha1`. Anything else (SHA-512, MD5) is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        let bare = lower
            .strip_prefix("hmac-")
            .or_else(|| lower.strip_prefix("hmac"))
            .unwrap_or(&lower);
        match bare.replace('-', "").as_str() {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            _ => None,
        }
    }
}

impl fmt::Display for HmacAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<HmacAlgorithm> for safeid_totp::Algorithm {
    fn from(h: HmacAlgorithm) -> Self {
        match h {
            HmacAlgorithm::Sha1 => Self::Sha1,
            HmacAlgorithm::Sha256 => Self::Sha256,
        }
    }
}

/// The token has no HMAC for this algorithm (it supports SHA-1 and SHA-256).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the token supports SHA1 and SHA256, not {0}")]
pub struct UnsupportedAlgorithm(pub safeid_totp::Algorithm);

impl TryFrom<safeid_totp::Algorithm> for HmacAlgorithm {
    type Error = UnsupportedAlgorithm;

    fn try_from(a: safeid_totp::Algorithm) -> Result<Self, Self::Error> {
        match a {
            safeid_totp::Algorithm::Sha1 => Ok(Self::Sha1),
            safeid_totp::Algorithm::Sha256 => Ok(Self::Sha256),
            other => Err(UnsupportedAlgorithm(other)),
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
mod tests {
    use super::*;

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
