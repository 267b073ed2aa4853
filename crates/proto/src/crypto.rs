//! SM4 block encryption and the command MAC (docs/protocol.md section 3, "authenticate" and
//! "MAC"), composed from RustCrypto's `sm4` and `cbc` crates.

use cipher::generic_array::GenericArray;
use cipher::{BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit};
use sm4::Sm4;
use zeroize::{Zeroize, Zeroizing};

use crate::keys::AccessKey;

/// SM4's block size in bytes.
pub const BLOCK: usize = 16;

/// The class byte the MAC is computed with (the wire carries `84`), docs/protocol.md section 3.
pub const MAC_CLA: u8 = 0x80;

/// The class byte of the secure commands on the wire.
pub const SECURE_CLA: u8 = 0x84;

fn cipher(key: &AccessKey) -> Sm4 {
    Sm4::new(GenericArray::from_slice(key.expose()))
}

/// Encrypts `data` in place with SM4 in ECB mode: each 16-byte block on its own
/// (docs/protocol.md section 3, authenticate and write seed).
///
/// Returns `false` and leaves `data` untouched when its length is not a multiple of 16.
#[must_use = "a false result means `data` was not encrypted"]
pub fn sm4_ecb_encrypt(key: &AccessKey, data: &mut [u8]) -> bool {
    if !data.len().is_multiple_of(BLOCK) {
        return false;
    }
    let sm4 = cipher(key);
    for block in data.chunks_exact_mut(BLOCK) {
        sm4.encrypt_block(GenericArray::from_mut_slice(block));
    }
    true
}

/// The 4-byte MAC of a secure command (docs/protocol.md section 3, "MAC").
///
/// The input is `80 INS P1 P2 Lc'` followed by `body`, where `Lc'` is the body length
/// (without the MAC). It is padded with `80 00..` to a 16-byte boundary only when it is
/// not aligned, encrypted with SM4-CBC under a zero IV, and the MAC is the first 4 bytes
/// of the last ciphertext block. Returns `None` when the body is longer than 255 bytes.
#[must_use]
pub fn mac(key: &AccessKey, ins: u8, p1: u8, p2: u8, body: &[u8]) -> Option<[u8; 4]> {
    let lc = u8::try_from(body.len()).ok()?;
    let mut input = Vec::with_capacity(body.len() + 5 + BLOCK);
    input.extend_from_slice(&[MAC_CLA, ins, p1, p2, lc]);
    input.extend_from_slice(body);
    if !input.len().is_multiple_of(BLOCK) {
        input.push(0x80);
        input.resize(input.len().next_multiple_of(BLOCK), 0);
    }
    let mut cbc = cbc::Encryptor::<Sm4>::new(
        GenericArray::from_slice(key.expose()),
        &GenericArray::default(),
    );
    let mut last = Zeroizing::new([0u8; BLOCK]);
    for block in input.chunks_exact(BLOCK) {
        let mut out = GenericArray::clone_from_slice(block);
        cbc.encrypt_block_mut(&mut out);
        last.copy_from_slice(&out);
        out.as_mut_slice().zeroize();
    }
    // The body of a write seed is ciphertext, but config and headers are not secret either;
    // wipe anyway so no plaintext copy outlives the call.
    safeid_secret::wipe(&mut input);
    let mac = [last[0], last[1], last[2], last[3]];
    Some(mac)
}

/// Checks the MAC of a complete secure command APDU `84 INS P1 P2 Lc body MAC4`
/// (docs/protocol.md section 3, "MAC"), as the token does.
///
/// False when the class byte is not `84`, when Lc does not match the length, or when the
/// MAC is wrong.
pub fn verify_mac(key: &AccessKey, apdu: &[u8]) -> bool {
    let Some((header, rest)) = apdu.split_first_chunk::<5>() else {
        return false;
    };
    let [cla, ins, p1, p2, lc] = *header;
    if cla != SECURE_CLA || usize::from(lc) != rest.len() {
        return false;
    }
    let Some((body, tag)) = rest.split_last_chunk::<4>() else {
        return false;
    };
    match mac(key, ins, p1, p2, body) {
        Some(expected) => ct_eq4(&expected, tag),
        None => false,
    }
}

/// Compares two 4-byte MACs without an early exit.
fn ct_eq4(a: &[u8; 4], b: &[u8; 4]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        data_encoding::HEXUPPER
            .decode(s.as_bytes())
            .unwrap_or_default()
    }

    /// GB/T 32907-2016 appendix A, example 1: key = plaintext.
    #[test]
    fn sm4_standard_vector() {
        let mut key = [0u8; 16];
        key.copy_from_slice(&unhex("0123456789ABCDEFFEDCBA9876543210"));
        let key = AccessKey::from_bytes(key);
        let mut block = unhex("0123456789ABCDEFFEDCBA9876543210");
        assert!(sm4_ecb_encrypt(&key, &mut block));
        assert_eq!(block, unhex("681EDF34D206965E86B3E94F536E4246"));
        // Two identical blocks encrypt identically in ECB.
        let mut two = unhex("0123456789ABCDEFFEDCBA98765432100123456789ABCDEFFEDCBA9876543210");
        assert!(sm4_ecb_encrypt(&key, &mut two));
        assert_eq!(
            two,
            unhex("681EDF34D206965E86B3E94F536E4246681EDF34D206965E86B3E94F536E4246")
        );
    }

    /// Compiles only when the SM4 key schedule and the CBC state wipe themselves on drop,
    /// that is when this crate's own `zeroize` features are on (`cargo test -p
    /// safeid-proto` resolves the features of this crate alone).
    #[test]
    fn cipher_state_is_wiped_on_drop() {
        fn wiped_on_drop<T: cipher::zeroize::ZeroizeOnDrop>() {}
        wiped_on_drop::<Sm4>();
        wiped_on_drop::<cbc::Encryptor<Sm4>>();
    }

    #[test]
    fn ecb_refuses_partial_blocks() {
        let mut data = [0u8; 15];
        assert!(!sm4_ecb_encrypt(&AccessKey::token2(), &mut data));
        assert_eq!(data, [0u8; 15]);
    }

    #[test]
    fn mac_refuses_long_bodies() {
        assert!(mac(&AccessKey::token2(), 0xC5, 1, 0, &[0; 256]).is_none());
        assert!(mac(&AccessKey::token2(), 0xC5, 1, 0, &[0; 255]).is_some());
    }

    #[test]
    fn verify_mac_checks_shape() {
        let key = AccessKey::token2();
        assert!(!verify_mac(&key, &[]));
        assert!(!verify_mac(&key, &[0x84, 0xD4, 0, 0, 0]));
        assert!(!verify_mac(&key, &[0x84, 0xD4, 0, 0, 3, 1, 2, 3]));
        let tag = mac(&key, 0xD4, 0, 0, &[]).unwrap_or_default();
        let mut apdu = vec![0x84, 0xD4, 0, 0, 4];
        apdu.extend_from_slice(&tag);
        assert!(verify_mac(&key, &apdu));
        apdu[0] = 0x80;
        assert!(!verify_mac(&key, &apdu));
    }
}
