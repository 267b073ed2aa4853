//! Command APDUs (docs/protocol.md sections 1 and 3): one builder per command.

use std::fmt;

use safeid_secret::SecretBytes;
use zeroize::Zeroizing;

use crate::config::TokenConfig;
use crate::crypto::{self, BLOCK, SECURE_CLA};
use crate::error::ProtoError;
use crate::keys::{AccessKey, Challenge, Seed};

/// Length seeds shorter than this are zero-extended to (docs/protocol.md section 3, write seed).
pub const MIN_SEED_FRAME: usize = 20;

/// A complete command APDU, ready for the transport.
///
/// The bytes of every command are kept in a zeroizing buffer (those of "authenticate" and
/// "write seed" derive from a secret); `Debug` prints [`Command::redacted`].
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    bytes: SecretBytes,
    name: &'static str,
    sensitive: bool,
    once: bool,
}

impl Command {
    fn public(name: &'static str, bytes: &[u8]) -> Self {
        Self {
            bytes: SecretBytes::from_slice(bytes),
            name,
            sensitive: false,
            once: false,
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

    /// False for commands that must reach the token at most once: authenticate (a
    /// re-sent one counts as another attempt toward the token's lockout), write config
    /// and write seed (they program the token). A transport must then not follow a
    /// `6C XX` reply by sending the command again (docs/protocol.md section 1); GET
    /// RESPONSE after `61 XX` is a different command and stays allowed. True for get
    /// info, get challenge and SELECT, which may run twice without harm.
    pub fn may_resend(&self) -> bool {
        !self.once
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

/// The error for a command that cannot be built; nothing of it exists to be sent.
fn cannot_build(command: &'static str, reason: &'static str) -> ProtoError {
    ProtoError::CannotBuild { command, reason }
}

/// Encrypts `data` in place with SM4-ECB, or fails: a command must never carry a body
/// that was meant to be encrypted and is not.
fn encrypt(command: &'static str, key: &AccessKey, data: &mut [u8]) -> Result<(), ProtoError> {
    if crypto::sm4_ecb_encrypt(key, data) {
        Ok(())
    } else {
        Err(cannot_build(
            command,
            "the body to encrypt is not a whole number of 16-byte blocks",
        ))
    }
}

/// "authenticate": `80 CE 00 00 10` + SM4-ECB(key, challenge ‖ 00×8)
/// (docs/protocol.md section 3, authenticate). Sensitive, and sent at most once.
///
/// Errors: [`ProtoError::CannotBuild`] if the encryption failed (unreachable with these
/// typed inputs: the block is always 16 bytes; checked so that no change can send the
/// challenge unencrypted).
pub fn authenticate(key: &AccessKey, challenge: &Challenge) -> Result<Command, ProtoError> {
    const NAME: &str = "authenticate";
    const HEADER: [u8; 5] = [0x80, 0xCE, 0x00, 0x00, 0x10];
    let mut bytes = Zeroizing::new(Vec::with_capacity(HEADER.len() + BLOCK));
    bytes.extend_from_slice(&HEADER);
    bytes.extend_from_slice(&challenge.0);
    bytes.resize(HEADER.len() + BLOCK, 0);
    encrypt(NAME, key, &mut bytes[HEADER.len()..])?;
    Ok(Command {
        bytes: SecretBytes::new(std::mem::take(&mut *bytes)),
        name: NAME,
        sensitive: true,
        once: true,
    })
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

/// What a secure command is, for [`secure`].
struct Secure {
    name: &'static str,
    sensitive: bool,
    /// INS P1 P2.
    header: [u8; 3],
}

/// Builds a secure command `84 INS P1 P2 Lc body MAC4` (docs/protocol.md section 3, MAC).
///
/// Errors: [`ProtoError::CannotBuild`] when the body and MAC do not fit a short APDU
/// (Lc at most 255) or the MAC cannot be computed. Unreachable for the bodies of this
/// crate (at most 68 bytes), checked so that no change can send a wrong Lc or a zero MAC.
fn secure(command: &Secure, key: &AccessKey, body: &[u8]) -> Result<Command, ProtoError> {
    let [ins, p1, p2] = command.header;
    let lc = u8::try_from(body.len() + 4).map_err(|_| {
        cannot_build(
            command.name,
            "the body and MAC are longer than the 255 bytes a short APDU carries",
        )
    })?;
    let mac = crypto::mac(key, ins, p1, p2, body)
        .ok_or_else(|| cannot_build(command.name, "the MAC cannot be computed"))?;
    let mut bytes = Vec::with_capacity(body.len() + 9);
    bytes.extend_from_slice(&[SECURE_CLA, ins, p1, p2, lc]);
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(&mac);
    Ok(Command {
        bytes: SecretBytes::new(bytes),
        name: command.name,
        sensitive: command.sensitive,
        once: true,
    })
}

/// "write seed": `84 C5 01 00 Lc` + SM4-ECB(key, [`frame_seed`]) + MAC4
/// (docs/protocol.md section 3, write seed). Needs a prior authenticate. Sensitive, and
/// sent at most once.
///
/// Errors: [`ProtoError::CannotBuild`] if the frame could not be encrypted or the command
/// does not fit a short APDU (unreachable for a [`Seed`] of at most
/// [`MAX_SEED_BYTES`](crate::MAX_SEED_BYTES); checked so that no change can send the seed
/// in plaintext).
pub fn write_seed(key: &AccessKey, seed: &Seed) -> Result<Command, ProtoError> {
    const COMMAND: Secure = Secure {
        name: "write seed",
        sensitive: true,
        header: [0xC5, 0x01, 0x00],
    };
    let frame = frame_seed(seed);
    let mut body = Zeroizing::new(frame.expose().to_vec());
    encrypt(COMMAND.name, key, &mut body)?;
    secure(&COMMAND, key, &body)
}

/// "write config": `84 D4 00 00 17` + the 19-byte TLV ([`TokenConfig::tlv`]) + MAC4
/// (docs/protocol.md section 3, write config). Needs a prior authenticate. On restricted
/// models it erases the seed (section 4). Not sensitive (nothing in it is secret), but
/// sent at most once.
///
/// Errors: [`ProtoError::CannotBuild`] if the MAC cannot be computed (unreachable: the
/// TLV is always 19 bytes).
pub fn write_config(key: &AccessKey, config: &TokenConfig) -> Result<Command, ProtoError> {
    const COMMAND: Secure = Secure {
        name: "write config",
        sensitive: false,
        header: [0xD4, 0x00, 0x00],
    };
    secure(&COMMAND, key, &config.tlv())
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
        let auth = authenticate(&key, &Challenge([1; 8])).unwrap();
        assert_eq!(auth.redacted(), "80CE000010<redacted>");
        assert!(auth.is_sensitive());
        let seed = Seed::new(SecretBytes::from(vec![0x55; 20])).unwrap();
        let cmd = write_seed(&key, &seed).unwrap();
        assert_eq!(cmd.redacted(), "84C5010024<redacted>");
        assert_eq!(
            format!("{cmd:?}"),
            "Command(write seed: 84C5010024<redacted>)"
        );
        assert_eq!(cmd.name(), "write seed");
    }

    fn config() -> TokenConfig {
        TokenConfig {
            display_timeout: crate::DisplayTimeout::S30,
            unix_time: 1_700_000_000,
            hmac: crate::HmacAlgorithm::Sha1,
            step: crate::TimeStep::S30,
        }
    }

    #[test]
    fn only_reads_may_be_resent() {
        let key = AccessKey::token2();
        let seed = Seed::new(SecretBytes::from(vec![0x55; 20])).unwrap();
        for read in [get_info(), get_challenge(), select_fallback()] {
            assert!(read.may_resend(), "{}", read.name());
        }
        let secure = [
            authenticate(&key, &Challenge([1; 8])).unwrap(),
            write_config(&key, &config()).unwrap(),
            write_seed(&key, &seed).unwrap(),
        ];
        let names: Vec<&str> = secure.iter().map(Command::name).collect();
        assert_eq!(names, ["authenticate", "write config", "write seed"]);
        for command in &secure {
            assert!(!command.may_resend(), "{}", command.name());
        }
        // write config is sent once but is not secret: its trace shows everything
        assert!(!secure[1].is_sensitive());
        assert_eq!(secure[1].redacted().len(), 2 * (5 + 19 + 4));
    }

    #[test]
    fn a_body_too_long_for_a_short_apdu_is_an_error() {
        let key = AccessKey::token2();
        let command = Secure {
            name: "write seed",
            sensitive: true,
            header: [0xC5, 0x01, 0x00],
        };
        // 251 + 4 bytes of MAC = 255: the longest Lc a short APDU has.
        let longest = secure(&command, &key, &[0xA5; 251]).unwrap();
        assert_eq!(longest.as_bytes()[4], 0xFF);
        assert_eq!(longest.as_bytes().len(), 5 + 255);
        let err = secure(&command, &key, &[0xA5; 252]).unwrap_err();
        assert!(
            matches!(
                err,
                ProtoError::CannotBuild {
                    command: "write seed",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("255"), "{err}");
        assert!(secure(&command, &key, &[0xA5; 4096]).is_err());
    }

    #[test]
    fn a_body_that_cannot_be_encrypted_is_an_error_not_plaintext() {
        let key = AccessKey::token2();
        let mut partial = [0x11u8; 15];
        let err = encrypt("write seed", &key, &mut partial).unwrap_err();
        assert!(matches!(
            err,
            ProtoError::CannotBuild {
                command: "write seed",
                ..
            }
        ));
        assert!(err.to_string().contains("16-byte blocks"), "{err}");
        let mut whole = [0x11u8; 32];
        encrypt("write seed", &key, &mut whole).unwrap();
        assert_ne!(whole, [0x11u8; 32]);
    }

    #[test]
    fn write_seed_carries_no_plaintext() {
        let key = AccessKey::token2();
        for len in [1, 19, 20, 32, Seed::MAX_LEN] {
            let raw: Vec<u8> = (0..len).map(|i| 0xC0 ^ (i as u8)).collect();
            let seed = Seed::new(SecretBytes::from(raw.clone())).unwrap();
            let cmd = write_seed(&key, &seed).unwrap();
            let body = &cmd.as_bytes()[5..];
            let frame = frame_seed(&seed);
            assert_ne!(
                &body[..frame.len()],
                frame.expose(),
                "{len}: frame in clear"
            );
            if len >= 8 {
                assert!(
                    !body.windows(8).any(|w| w == &raw[..8]),
                    "seed of {len} bytes appears in clear"
                );
            }
        }
    }
}
