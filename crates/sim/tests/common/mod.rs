//! Host-side helpers for the simulator's tests, written from docs/protocol.md on their own:
//! they share no code with the simulator (nor with `safeid-proto`). Only the raw SM4
//! block function comes from the same RustCrypto crate, and the shared vectors check it.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use cipher::generic_array::GenericArray;
use cipher::{BlockEncrypt, KeyInit};
use safeid_sim::{ManualClock, TokenSpec, VirtualToken};

pub const T0: u64 = 1_700_000_000;

pub fn hex(s: &str) -> Vec<u8> {
    data_encoding::HEXUPPER_PERMISSIVE
        .decode(s.as_bytes())
        .unwrap()
}

pub fn upper_hex(b: &[u8]) -> String {
    data_encoding::HEXUPPER.encode(b)
}

/// The status word at the end of a reply.
pub fn sw(reply: &[u8]) -> u16 {
    assert!(reply.len() >= 2, "reply shorter than a status word");
    u16::from_be_bytes([reply[reply.len() - 2], reply[reply.len() - 1]])
}

/// The data before the status word.
pub fn data(reply: &[u8]) -> &[u8] {
    &reply[..reply.len() - 2]
}

/// The host side of one access key.
pub struct Host {
    pub key: [u8; 16],
}

impl Host {
    pub fn new(key: [u8; 16]) -> Self {
        Self { key }
    }

    pub fn token2() -> Self {
        Self::new(hex("8AD206883CA369482AB27182B6E83224").try_into().unwrap())
    }

    fn encrypt(&self, block: [u8; 16]) -> [u8; 16] {
        let c = sm4::Sm4::new(&GenericArray::from(self.key));
        let mut b = GenericArray::from(block);
        c.encrypt_block(&mut b);
        b.into()
    }

    /// `80 CE 00 00 10` + SM4(key, challenge || 00*8).
    pub fn auth_apdu(&self, challenge: &[u8]) -> Vec<u8> {
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(challenge);
        let mut apdu = vec![0x80, 0xCE, 0x00, 0x00, 0x10];
        apdu.extend_from_slice(&self.encrypt(block));
        apdu
    }

    /// MAC4 over `80 INS P1 P2 Lc'` || body, padded to 16 only if unaligned, CBC zero IV.
    pub fn mac(&self, ins: u8, p1: u8, p2: u8, body: &[u8]) -> [u8; 4] {
        let mut input = vec![0x80, ins, p1, p2, body.len() as u8];
        input.extend_from_slice(body);
        if !input.len().is_multiple_of(16) {
            input.push(0x80);
            input.resize(input.len().div_ceil(16) * 16, 0);
        }
        let mut state = [0u8; 16];
        for chunk in input.chunks(16) {
            let mut x = [0u8; 16];
            for i in 0..16 {
                x[i] = state[i] ^ chunk[i];
            }
            state = self.encrypt(x);
        }
        [state[0], state[1], state[2], state[3]]
    }

    /// A secure command `84 INS P1 P2 Lc body MAC4`.
    pub fn secure(&self, ins: u8, p1: u8, p2: u8, body: &[u8]) -> Vec<u8> {
        let mac = self.mac(ins, p1, p2, body);
        let mut apdu = vec![0x84, ins, p1, p2, (body.len() + 4) as u8];
        apdu.extend_from_slice(body);
        apdu.extend_from_slice(&mac);
        apdu
    }

    /// ECB encryption of already padded data.
    pub fn ecb(&self, plain: &[u8]) -> Vec<u8> {
        assert_eq!(plain.len() % 16, 0);
        plain
            .chunks(16)
            .flat_map(|c| self.encrypt(c.try_into().unwrap()))
            .collect()
    }

    /// The padded plaintext of write seed: zero-extend to 20 bytes, then 80 00.. to 16.
    pub fn seed_plain(seed: &[u8]) -> Vec<u8> {
        let mut p = seed.to_vec();
        if p.len() < 20 {
            p.resize(20, 0);
        }
        p.push(0x80);
        while !p.len().is_multiple_of(16) {
            p.push(0);
        }
        p
    }

    pub fn seed_apdu(&self, seed: &[u8]) -> Vec<u8> {
        self.secure(0xC5, 0x01, 0x00, &self.ecb(&Self::seed_plain(seed)))
    }

    /// Write config body: `81 11 1F 01 t 0F 04 time 86 06 0A 01 h 0D 01 step`.
    pub fn config_tlv(timeout: u8, time: u32, hmac: u8, step: u8) -> Vec<u8> {
        let mut b = vec![0x81, 0x11, 0x1F, 0x01, timeout, 0x0F, 0x04];
        b.extend_from_slice(&time.to_be_bytes());
        b.extend_from_slice(&[0x86, 0x06, 0x0A, 0x01, hmac, 0x0D, 0x01, step]);
        b
    }

    pub fn config_apdu(&self, timeout: u8, time: u32, hmac: u8, step: u8) -> Vec<u8> {
        self.secure(0xD4, 0, 0, &Self::config_tlv(timeout, time, hmac, step))
    }

    /// get challenge + authenticate; returns the authenticate status word.
    pub fn authenticate(&self, token: &mut VirtualToken) -> u16 {
        let r = token.process(&[0x80, 0x4B, 0x08, 0x00, 0x00]);
        assert_eq!(sw(&r), 0x9000);
        assert_eq!(data(&r).len(), 8);
        sw(&token.process(&self.auth_apdu(data(&r))))
    }
}

pub const GET_INFO: [u8; 7] = [0x80, 0x41, 0x00, 0x00, 0x02, 0x02, 0x11];
pub const GET_CHALLENGE: [u8; 5] = [0x80, 0x4B, 0x08, 0x00, 0x00];

/// A token with a manual clock at [`T0`].
pub fn token_with(spec: TokenSpec) -> (VirtualToken, ManualClock) {
    let clock = ManualClock::new(T0);
    (VirtualToken::new(spec, Arc::new(clock.clone())), clock)
}

/// An unrestricted Token2 OTPC-P1-i.
pub fn p1() -> (VirtualToken, ManualClock) {
    token_with(TokenSpec::token2("8659612000001"))
}

/// A restricted Token2 OTPC-P2-i.
pub fn p2() -> (VirtualToken, ManualClock) {
    token_with(TokenSpec::token2("8659622000001"))
}
