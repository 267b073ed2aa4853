//! The token's command set, decoded straight from docs/protocol.md section 3 (not from
//! `safeid-proto`). Each handler returns the reply data, or the error status word.
//!
//! Check order, everywhere: class, instruction, length framing (`6700`), P1-P2 (`6A86`),
//! security status (`6983`), MAC (`6983`), then the data itself (`6A80`).

use safeid_secret::SecretBytes;

use crate::apdu::{self, Body, Header, sw};
use crate::crypto::{BLOCK, HmacAlgorithm, ct_eq};
use crate::token::{Config, MAX_SERIAL, VirtualToken};

/// The application identifier one tool selects first (docs/protocol.md section 1).
pub const SELECT_AID: [u8; 6] = [0xB0, 0x00, 0x00, 0x00, 0x00, 0x23];

/// Longest seed the token takes (docs/protocol.md section 3, write seed).
pub const MAX_SEED: usize = 63;

const INS_SELECT: u8 = 0xA4;
const INS_INFO: u8 = 0x41;
const INS_CHALLENGE: u8 = 0x4B;
const INS_AUTH: u8 = 0xCE;
const INS_SEED: u8 = 0xC5;
const INS_CONFIG: u8 = 0xD4;

const TAG_SERIAL: u8 = 0x02;
const TAG_TIME: u8 = 0x11;

type Reply = Result<Vec<u8>, u16>;

impl VirtualToken {
    pub(crate) fn dispatch(&mut self, raw: &[u8]) -> Reply {
        let h = apdu::header(raw).ok_or(sw::WRONG_LENGTH)?;
        if !matches!(h.cla, 0x00 | 0x80 | 0x84) {
            return Err(sw::BAD_CLA);
        }
        let known = matches!(
            h.ins,
            INS_SELECT | INS_INFO | INS_CHALLENGE | INS_AUTH | INS_SEED | INS_CONFIG
        );
        if !known {
            return Err(sw::BAD_INS);
        }
        // A known instruction under another class than its own.
        let expected_cla = match h.ins {
            INS_SELECT => 0x00,
            INS_SEED | INS_CONFIG => 0x84,
            _ => 0x80,
        };
        if h.cla != expected_cla {
            return Err(sw::BAD_CLA);
        }
        let body = apdu::body(raw).map_err(|()| sw::WRONG_LENGTH)?;
        if h.ins == INS_SELECT {
            return self.select(h, body);
        }
        if self.require_select && !self.selected {
            return Err(sw::BAD_INS);
        }
        match h.ins {
            INS_INFO => self.info(h, body),
            INS_CHALLENGE => self.get_challenge(h, body),
            INS_AUTH => self.authenticate(h, body),
            INS_SEED => self.write_seed(h, body),
            _ => self.write_config(h, body),
        }
    }

    /// SELECT by AID `00 A4 04 00 06 B0 00 00 00 00 23` (docs/protocol.md section 1).
    fn select(&mut self, h: Header, body: Body<'_>) -> Reply {
        if (h.p1, h.p2) != (0x04, 0x00) {
            return Err(sw::BAD_P1P2);
        }
        let data = body.data.ok_or(sw::WRONG_LENGTH)?;
        if data != SELECT_AID {
            return Err(sw::NOT_FOUND);
        }
        self.selected = true;
        Ok(Vec::new())
    }

    /// Get info `80 41 00 00 Lc <tags>` (docs/protocol.md section 3, get info): the requested
    /// tags in the requested order, framed as `95 LL ...`.
    fn info(&mut self, h: Header, body: Body<'_>) -> Reply {
        let tags = body.data.ok_or(sw::WRONG_LENGTH)?;
        if (h.p1, h.p2) != (0, 0) {
            return Err(sw::BAD_P1P2);
        }
        let mut seen = [false; 2];
        let mut content = Vec::new();
        for &tag in tags {
            let slot = match tag {
                TAG_SERIAL => 0,
                TAG_TIME => 1,
                _ => return Err(sw::BAD_DATA),
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(sw::BAD_DATA);
            }
            if tag == TAG_SERIAL {
                let serial = self.serial.as_bytes();
                let serial = serial.get(..MAX_SERIAL).unwrap_or(serial);
                content.push(TAG_SERIAL);
                content.push(u8::try_from(serial.len()).map_err(|_| sw::INTERNAL)?);
                content.extend_from_slice(serial);
            } else {
                let time =
                    u32::try_from(self.token_time_at(self.clock.now()).max(0)).unwrap_or(u32::MAX);
                content.extend_from_slice(&[TAG_TIME, 4]);
                content.extend_from_slice(&time.to_be_bytes());
            }
        }
        let mut reply = vec![0x95, u8::try_from(content.len()).map_err(|_| sw::INTERNAL)?];
        reply.extend_from_slice(&content);
        Ok(reply)
    }

    /// Get challenge `80 4B 08 00` (docs/protocol.md section 3): accepted with no body, with
    /// Le = 00 or 08, or with Lc = 01 and data `00`. Clears authentication.
    fn get_challenge(&mut self, h: Header, body: Body<'_>) -> Reply {
        match body.data {
            None | Some([0x00]) => {}
            Some([_]) => return Err(sw::BAD_DATA),
            Some(_) => return Err(sw::WRONG_LENGTH),
        }
        if !matches!(body.le, None | Some(0x00 | 0x08)) {
            return Err(sw::WRONG_LENGTH);
        }
        if (h.p1, h.p2) != (0x08, 0x00) {
            return Err(sw::BAD_P1P2);
        }
        self.authenticated = false;
        self.challenge = None;
        let challenge = match self.next_challenges.pop_front() {
            Some(c) => c,
            None => {
                let mut c = [0u8; 8];
                getrandom::fill(&mut c).map_err(|_| sw::INTERNAL)?;
                c
            }
        };
        self.challenge = Some(challenge);
        Ok(challenge.to_vec())
    }

    /// Authenticate `80 CE 00 00 10 <SM4-ECB(key, challenge || 00*8)>` (docs/protocol.md
    /// section 3). A failure voids the challenge and counts towards the lockout.
    fn authenticate(&mut self, h: Header, body: Body<'_>) -> Reply {
        if (h.p1, h.p2) != (0, 0) {
            return Err(sw::BAD_P1P2);
        }
        let data = body.data.unwrap_or_default();
        if data.len() != BLOCK {
            return Err(sw::BAD_DATA);
        }
        let challenge = self.challenge.take().ok_or(sw::BAD_DATA)?;
        self.authenticated = false;
        if self.locked {
            return Err(sw::SECURITY);
        }
        let mut plain = [0u8; BLOCK];
        plain.copy_from_slice(data);
        self.cipher
            .decrypt_ecb(&mut plain)
            .map_err(|_| sw::INTERNAL)?;
        let mut expected = [0u8; BLOCK];
        expected[..8].copy_from_slice(&challenge);
        if ct_eq(&plain, &expected) {
            self.authenticated = true;
            return Ok(Vec::new());
        }
        self.failed_auths = self.failed_auths.saturating_add(1);
        if self.lockout_after.is_some_and(|n| self.failed_auths >= n) {
            self.locked = true;
        }
        Err(sw::SECURITY)
    }

    /// Checks authentication and the trailing MAC of a secure command (docs/protocol.md
    /// section 3, "MAC"); returns the body without the MAC.
    fn secured<'a>(&self, h: Header, data: &'a [u8]) -> Result<&'a [u8], u16> {
        if !self.authenticated {
            return Err(sw::SECURITY);
        }
        let split = data.len().checked_sub(4).ok_or(sw::WRONG_LENGTH)?;
        let (payload, mac) = data.split_at(split);
        let expected = self
            .cipher
            .command_mac(h.ins, h.p1, h.p2, payload)
            .ok_or(sw::WRONG_LENGTH)?;
        if !ct_eq(&expected, mac) {
            return Err(sw::SECURITY);
        }
        Ok(payload)
    }

    /// Write seed `84 C5 01 00 Lc <SM4-ECB(key, seed || 80 00..)> <MAC4>` (docs/protocol.md
    /// section 3, write seed). Stores exactly the bytes before the padding.
    fn write_seed(&mut self, h: Header, body: Body<'_>) -> Reply {
        let data = body.data.ok_or(sw::WRONG_LENGTH)?;
        if data.len() < 5 {
            return Err(sw::WRONG_LENGTH);
        }
        if (h.p1, h.p2) != (0x01, 0x00) {
            return Err(sw::BAD_P1P2);
        }
        let cipher_text = self.secured(h, data)?;
        if !cipher_text.len().is_multiple_of(BLOCK) || cipher_text.len() > MAX_SEED + 1 {
            return Err(sw::BAD_DATA);
        }
        let mut buf = cipher_text.to_vec();
        self.cipher
            .decrypt_ecb(&mut buf)
            .map_err(|_| sw::BAD_DATA)?;
        // From here the buffer holds the seed: owned by a zeroizing type at once.
        let plain = SecretBytes::new(buf);
        let len = unpad(plain.expose()).ok_or(sw::BAD_DATA)?;
        if !(1..=MAX_SEED).contains(&len) {
            return Err(sw::BAD_DATA);
        }
        let seed = SecretBytes::from_slice(plain.expose().get(..len).unwrap_or_default());
        self.seed = Some(seed);
        self.seed_writes = self.seed_writes.saturating_add(1);
        Ok(Vec::new())
    }

    /// Write config `84 D4 00 00 17 <19-byte TLV> <MAC4>` (docs/protocol.md section 3, write
    /// config; section 4: a restricted token erases its seed).
    fn write_config(&mut self, h: Header, body: Body<'_>) -> Reply {
        let data = body.data.ok_or(sw::WRONG_LENGTH)?;
        if data.len() != 0x17 {
            return Err(sw::WRONG_LENGTH);
        }
        if (h.p1, h.p2) != (0, 0) {
            return Err(sw::BAD_P1P2);
        }
        let tlv = self.secured(h, data)?;
        let (config, time) = parse_config(tlv).ok_or(sw::BAD_DATA)?;
        self.config = config;
        self.clock_base_token = i128::from(time);
        self.clock_base_host = self.clock.now();
        self.clock_set_count = self.clock_set_count.saturating_add(1);
        if self.restricted {
            self.seed = None;
        }
        self.config_writes = self.config_writes.saturating_add(1);
        Ok(Vec::new())
    }
}

/// Length of the seed inside a decrypted block string: everything before the last `80`
/// that is followed only by zeros.
fn unpad(plain: &[u8]) -> Option<usize> {
    let last = plain.iter().rposition(|&b| b != 0)?;
    (plain[last] == 0x80).then_some(last)
}

/// The strict 19-byte config TLV: `81 11 1F 01 t 0F 04 tttt 86 06 0A 01 h 0D 01 s`.
fn parse_config(tlv: &[u8]) -> Option<(Config, u32)> {
    let [
        0x81,
        0x11,
        0x1F,
        0x01,
        timeout,
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
        hmac,
        0x0D,
        0x01,
        step,
    ] = *tlv
    else {
        return None;
    };
    let hmac = match hmac {
        1 => HmacAlgorithm::Sha1,
        2 => HmacAlgorithm::Sha256,
        _ => return None,
    };
    if timeout > 3 || !matches!(step, 0x1E | 0x3C) {
        return None;
    }
    let config = Config {
        display_timeout: timeout,
        hmac,
        step,
    };
    Some((config, u32::from_be_bytes([t0, t1, t2, t3])))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unpad_finds_last_marker() {
        assert_eq!(unpad(&[1, 0x80, 0, 0]), Some(1));
        assert_eq!(unpad(&[0x80, 0x80, 0]), Some(1));
        assert_eq!(unpad(&[0x80, 0, 0]), Some(0));
        assert_eq!(unpad(&[1, 2, 0]), None);
        assert_eq!(unpad(&[0, 0]), None);
        assert_eq!(unpad(&[]), None);
    }

    #[test]
    fn config_tlv_is_strict() {
        let good = [
            0x81, 0x11, 0x1F, 0x01, 0x03, 0x0F, 0x04, 0x65, 0x53, 0xF1, 0x00, 0x86, 0x06, 0x0A,
            0x01, 0x02, 0x0D, 0x01, 0x3C,
        ];
        let (c, t) = parse_config(&good).unwrap();
        assert_eq!(t, 1_700_000_000);
        assert_eq!(
            (c.display_timeout_s(), c.hmac, c.step),
            (120, HmacAlgorithm::Sha256, 60)
        );
        for i in 0..good.len() {
            let mut bad = good;
            bad[i] ^= 0x40;
            // Flipping a time byte keeps it valid; anything else must be refused.
            assert_eq!(
                parse_config(&bad).is_some(),
                (7..11).contains(&i),
                "byte {i}"
            );
        }
        assert!(parse_config(&good[..18]).is_none());
    }
}
