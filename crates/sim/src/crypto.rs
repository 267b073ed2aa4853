//! The token's own cryptography: SM4 (RustCrypto `sm4`) in ECB mode, the CBC-MAC of the
//! secure commands (docs/protocol.md section 3, "MAC"), and the RFC 6238 code the display shows.
//!
//! Public so that fuzz harnesses can craft commands the token accepts and so reach deep
//! states. The simulator's integration tests deliberately do NOT use it: they build their
//! commands with their own code, so a bug here cannot hide itself.

use std::fmt;

use cipher::generic_array::GenericArray;
use cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use sm4::Sm4;

/// SM4 block size in bytes.
pub const BLOCK: usize = 16;

/// The access key of one token, ready for use. Its round keys are wiped on drop and never
/// printed.
#[derive(Clone)]
pub struct TokenCipher(Sm4);

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCipher(<redacted>)")
    }
}

/// The data given to an ECB operation is not a whole number of 16-byte blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("SM4-ECB input of {0} bytes is not a multiple of 16")]
pub struct NotAligned(pub usize);

impl TokenCipher {
    /// Prepares the 16-byte access key (docs/protocol.md section 2).
    pub fn new(key: &[u8; 16]) -> Self {
        Self(Sm4::new(&GenericArray::from(*key)))
    }

    /// Encrypts `data` in place, block by block (SM4-ECB).
    pub fn encrypt_ecb(&self, data: &mut [u8]) -> Result<(), NotAligned> {
        if !data.len().is_multiple_of(BLOCK) {
            return Err(NotAligned(data.len()));
        }
        for block in data.chunks_exact_mut(BLOCK) {
            self.0.encrypt_block(GenericArray::from_mut_slice(block));
        }
        Ok(())
    }

    /// Decrypts `data` in place, block by block (SM4-ECB).
    pub fn decrypt_ecb(&self, data: &mut [u8]) -> Result<(), NotAligned> {
        if !data.len().is_multiple_of(BLOCK) {
            return Err(NotAligned(data.len()));
        }
        for block in data.chunks_exact_mut(BLOCK) {
            self.0.decrypt_block(GenericArray::from_mut_slice(block));
        }
        Ok(())
    }

    /// The 4-byte MAC of `input` (docs/protocol.md section 3, "MAC", steps 2 and 3): pad with
    /// `80 00..` only when unaligned, SM4-CBC with a zero IV, first 4 bytes of the last block.
    pub fn mac(&self, input: &[u8]) -> [u8; 4] {
        let mut chain = [0u8; BLOCK];
        let mut blocks = input.chunks(BLOCK).peekable();
        if blocks.peek().is_none() {
            // An empty input is "unaligned": it becomes one padding block.
            chain[0] = 0x80;
            self.0
                .encrypt_block(GenericArray::from_mut_slice(&mut chain));
        }
        while let Some(block) = blocks.next() {
            let mut padded = [0u8; BLOCK];
            padded[..block.len()].copy_from_slice(block);
            if block.len() < BLOCK {
                padded[block.len()] = 0x80;
            }
            for (c, p) in chain.iter_mut().zip(padded) {
                *c ^= p;
            }
            self.0
                .encrypt_block(GenericArray::from_mut_slice(&mut chain));
            if blocks.peek().is_none() {
                break;
            }
        }
        [chain[0], chain[1], chain[2], chain[3]]
    }

    /// The MAC of a secure command (docs/protocol.md section 3, "MAC", step 1): over
    /// `80 INS P1 P2 Lc'` followed by `body`, where `body` excludes the MAC itself.
    /// `None` when `body` is too long for a short APDU (Lc' would not fit one byte).
    pub fn command_mac(&self, ins: u8, p1: u8, p2: u8, body: &[u8]) -> Option<[u8; 4]> {
        let lc = u8::try_from(body.len()).ok()?;
        let mut input = Vec::with_capacity(5 + body.len());
        input.extend_from_slice(&[0x80, ins, p1, p2, lc]);
        input.extend_from_slice(body);
        Some(self.mac(&input))
    }
}

/// Compares two byte strings without an early exit on the first difference.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The HMAC function the display uses (write config tag `0A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HmacAlgorithm {
    /// HMAC-SHA-1 (config value 1, the factory default).
    #[serde(rename = "SHA1")]
    Sha1,
    /// HMAC-SHA-256 (config value 2).
    #[serde(rename = "SHA256")]
    Sha256,
}

/// The 6-digit RFC 6238 code for `seed` at Unix time `time` with time step `step`
/// (RFC 4226 dynamic truncation). Written here, apart from `safeid-totp`, so that the
/// virtual token's display is an independent check of the host's expectation.
pub fn totp6(algorithm: HmacAlgorithm, seed: &[u8], time: u64, step: u64) -> Option<String> {
    let counter = time.checked_div(step)?.to_be_bytes();
    let digest: Vec<u8> = match algorithm {
        HmacAlgorithm::Sha1 => {
            let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(seed).ok()?;
            m.update(&counter);
            m.finalize().into_bytes().to_vec()
        }
        HmacAlgorithm::Sha256 => {
            let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(seed).ok()?;
            m.update(&counter);
            m.finalize().into_bytes().to_vec()
        }
    };
    let offset = usize::from(digest.last()? & 0x0F);
    let word = digest.get(offset..offset + 4)?;
    let value = u32::from_be_bytes([word[0], word[1], word[2], word[3]]) & 0x7FFF_FFFF;
    Some(format!("{:06}", value % 1_000_000))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, last 6 of the 8 digits.
    #[test]
    fn totp6_matches_rfc6238() {
        let s1 = b"12345678901234567890";
        let s2 = b"12345678901234567890123456789012";
        let cases = [
            (59, "287082", "119246"),
            (1_111_111_109, "081804", "084774"),
            (1_111_111_111, "050471", "062674"),
            (1_234_567_890, "005924", "819424"),
            (2_000_000_000, "279037", "698825"),
            (20_000_000_000, "353130", "737706"),
        ];
        for (t, c1, c2) in cases {
            assert_eq!(totp6(HmacAlgorithm::Sha1, s1, t, 30).as_deref(), Some(c1));
            assert_eq!(totp6(HmacAlgorithm::Sha256, s2, t, 30).as_deref(), Some(c2));
        }
        assert_eq!(totp6(HmacAlgorithm::Sha1, s1, 59, 0), None);
    }

    // GB/T 32907-2016 example 1: key = plaintext = 0123456789ABCDEFFEDCBA9876543210.
    #[test]
    fn sm4_standard_vector_and_alignment() {
        let key = [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54,
            0x32, 0x10,
        ];
        let c = TokenCipher::new(&key);
        let mut data = key;
        c.encrypt_ecb(&mut data).unwrap();
        assert_eq!(
            data,
            [
                0x68, 0x1E, 0xDF, 0x34, 0xD2, 0x06, 0x96, 0x5E, 0x86, 0xB3, 0xE9, 0x4F, 0x53, 0x6E,
                0x42, 0x46
            ]
        );
        c.decrypt_ecb(&mut data).unwrap();
        assert_eq!(data, key);
        assert_eq!(c.encrypt_ecb(&mut [0u8; 15]), Err(NotAligned(15)));
        assert_eq!(format!("{c:?}"), "TokenCipher(<redacted>)");
    }

    #[test]
    fn mac_pads_only_unaligned_input() {
        let c = TokenCipher::new(&[7; 16]);
        // One aligned block: MAC = first 4 bytes of E(block).
        let mut block = [0x11u8; 16];
        let aligned = c.mac(&block);
        c.encrypt_ecb(&mut block).unwrap();
        assert_eq!(aligned, [block[0], block[1], block[2], block[3]]);
        // Unaligned: explicit padding gives the same MAC as implicit.
        let mut padded = [0u8; 16];
        padded[..3].copy_from_slice(&[1, 2, 3]);
        padded[3] = 0x80;
        assert_eq!(c.mac(&[1, 2, 3]), c.mac(&padded));
        let mut empty_padded = [0u8; 16];
        empty_padded[0] = 0x80;
        assert_eq!(c.mac(&[]), c.mac(&empty_padded));
        assert_ne!(c.mac(&[]), c.mac(&[0x80]));
        assert!(c.command_mac(0xC5, 1, 0, &[0; 256]).is_none());
    }
}
