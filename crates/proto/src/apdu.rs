//! Command APDUs (docs/protocol.md sections 1 and 3): one builder per command.

use std::fmt;

use safeid_secret::{SecretBytes, wipe};

use crate::config::TokenConfig;
use crate::crypto::{self, BLOCK, SECURE_CLA};
use crate::keys::{AccessKey, Challenge, Seed};

/// Length seeds shorter than this are zero-extended to (docs/protocol.md section 3, write seed).
pub const MIN_SEED_FRAME: usize = 20;

/// A complete command APDU, ready for the transport.
///
/// The bytes of "authenticate" and "write seed" are kept in a zeroizing buffer; `Debug`
/// prints [`Command::redacted`].
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    bytes: SecretBytes,
    name: &'static str,
    sensitive: bool,
}

impl Command {
    fn public(name: &'static str, bytes: &[u8]) -> Self {
        Self {
            bytes: SecretBytes::from_slice(bytes),
            name,
            sensitive: false,
        }
    }

    /// The APDU as it goes on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.expose()
    }

    /// The command's name as docs/protocol.md section 3 writes it, e.g. `"get info"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// True for commands whose body derives from a secret (authenticate, write seed).
    pub fn is_sensitive(&self) -> bool {
        self.sensitive
    }

    /// Upper-case hex for traces: the full APDU, or for sensitive commands the header
    /// (CLA INS P1 P2 Lc) followed by `<redacted>`.
    pub fn redacted(&self) -> String {
        let bytes = self.as_bytes();
        if self.sensitive {
            let header = bytes.get(..5).unwrap_or(bytes);
            format!(
                "{}{}",
                data_encoding::HEXUPPER.encode(header),
                safeid_secret::REDACTED
            )
        } else {
            data_encoding::HEXUPPER.encode(bytes)
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({}: {})", self.name, self.redacted())
    }
}

/// "get info": `80 41 00 00 02 02 11`, asking for tags `02` (serial) and `11` (clock)
/// (docs/protocol.md section 3). Parse the reply with [`crate::parse_info`].
pub fn get_info() -> Command {
    Command::public("get info", &[0x80, 0x41, 0x00, 0x00, 0x02, 0x02, 0x11])
}

/// "get challenge": `80 4B 08 00 00` (docs/protocol.md section 3). Parse the reply with
/// [`crate::parse_challenge`].
pub fn get_challenge() -> Command {
    Command::public("get challenge", &[0x80, 0x4B, 0x08, 0x00, 0x00])
}

/// SELECT `00 A4 04 00 06 B0 00 00 00 00 23` (docs/protocol.md section 1). Only a fallback,
/// for when get info answered `6D 00` or `6E 00`; never sent by default.
pub fn select_fallback() -> Command {
    Command::public(
        "select",
        &[
            0x00, 0xA4, 0x04, 0x00, 0x06, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x23,
        ],
    )
}

/// "authenticate": `80 CE 00 00 10` + SM4-ECB(key, challenge ‖ 00×8)
/// (docs/protocol.md section 3, authenticate). Sensitive.
pub fn authenticate(key: &AccessKey, challenge: &Challenge) -> Command {
    let mut block = [0u8; BLOCK];
    block[..8].copy_from_slice(&challenge.0);
    // 16 bytes is always one whole block.
    crypto::sm4_ecb_encrypt(key, &mut block);
    let mut bytes = vec![0x80, 0xCE, 0x00, 0x00, 0x10];
    bytes.extend_from_slice(&block);
    Command {
        bytes: SecretBytes::new(bytes),
        name: "authenticate",
        sensitive: true,
    }
}

/// The plaintext seed frame of "write seed" (docs/protocol.md section 3): the seed
/// zero-extended to 20 bytes when shorter, then `80` and zeros up to the next 16-byte
/// boundary, always (an aligned seed gets a whole extra block).
pub fn frame_seed(seed: &Seed) -> SecretBytes {
    let raw = seed.expose();
    let extended = raw.len().max(MIN_SEED_FRAME);
    let framed = (extended + 1).next_multiple_of(BLOCK);
    let mut frame = vec![0u8; framed];
    frame[..raw.len()].copy_from_slice(raw);
    frame[extended] = 0x80;
    SecretBytes::new(frame)
}

/// Builds a secure command `84 INS P1 P2 Lc body MAC4` (docs/protocol.md section 3, MAC).
/// Every body given here is at most 80 bytes, so Lc fits in a byte.
fn secure(command: (&'static str, bool), key: &AccessKey, header: [u8; 3], body: &[u8]) -> Command {
    let (name, sensitive) = command;
    let [ins, p1, p2] = header;
    let mac = crypto::mac(key, ins, p1, p2, body).unwrap_or_default();
    let lc = u8::try_from(body.len() + 4).unwrap_or(u8::MAX);
    let mut bytes = Vec::with_capacity(body.len() + 9);
    bytes.extend_from_slice(&[SECURE_CLA, ins, p1, p2, lc]);
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(&mac);
    Command {
        bytes: SecretBytes::new(bytes),
        name,
        sensitive,
    }
}

/// "write seed": `84 C5 01 00 Lc` + SM4-ECB(key, [`frame_seed`]) + MAC4
/// (docs/protocol.md section 3, write seed). Needs a prior authenticate. Sensitive.
pub fn write_seed(key: &AccessKey, seed: &Seed) -> Command {
    let frame = frame_seed(seed);
    let mut body = frame.expose().to_vec();
    // A frame is a whole number of blocks by construction.
    crypto::sm4_ecb_encrypt(key, &mut body);
    let command = secure(("write seed", true), key, [0xC5, 0x01, 0x00], &body);
    wipe(&mut body);
    command
}

/// "write config": `84 D4 00 00 17` + the 19-byte TLV ([`TokenConfig::tlv`]) + MAC4
/// (docs/protocol.md section 3, write config). Needs a prior authenticate. On restricted
/// models it erases the seed (section 4).
pub fn write_config(key: &AccessKey, config: &TokenConfig) -> Command {
    secure(
        ("write config", false),
        key,
        [0xD4, 0x00, 0x00],
        &config.tlv(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fixed_commands_match_section_3() {
        assert_eq!(
            data_encoding::HEXUPPER.encode(get_info().as_bytes()),
            "80410000020211"
        );
        assert_eq!(
            data_encoding::HEXUPPER.encode(get_challenge().as_bytes()),
            "804B080000"
        );
        assert_eq!(
            data_encoding::HEXUPPER.encode(select_fallback().as_bytes()),
            "00A4040006B00000000023"
        );
        assert_eq!(get_info().redacted(), "80410000020211");
        assert!(!get_info().is_sensitive());
    }

    #[test]
    fn frame_lengths_match_section_3() {
        for (len, framed) in [
            (1, 32),
            (16, 32),
            (19, 32),
            (20, 32),
            (31, 32),
            (32, 48),
            (47, 48),
            (48, 64),
            (63, 64),
        ] {
            let seed = Seed::new(SecretBytes::from(vec![0xAA; len])).unwrap();
            assert_eq!(frame_seed(&seed).len(), framed, "seed of {len} bytes");
        }
    }

    #[test]
    fn sensitive_commands_are_redacted() {
        let key = AccessKey::token2();
        let auth = authenticate(&key, &Challenge([1; 8]));
        assert_eq!(auth.redacted(), "80CE000010<redacted>");
        assert!(auth.is_sensitive());
        let seed = Seed::new(SecretBytes::from(vec![0x55; 20])).unwrap();
        let cmd = write_seed(&key, &seed);
        assert_eq!(cmd.redacted(), "84C5010024<redacted>");
        assert_eq!(
            format!("{cmd:?}"),
            "Command(write seed: 84C5010024<redacted>)"
        );
        assert_eq!(cmd.name(), "write seed");
    }
}
