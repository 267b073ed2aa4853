//! PSKC encryption (RFC 6030 section 6): AES-128-CBC with a pre-shared key (6.1) or with a
//! key derived from a password by PBKDF2-HMAC-SHA1 (6.2), each secret authenticated by
//! HMAC-SHA1 under a random MAC key that travels encrypted in `MACMethod/MACKey`.
//!
//! The primitives are RustCrypto's `aes`, `cbc`, `hmac`, `sha1` and `pbkdf2`. Every
//! ciphertext is `IV || AES-128-CBC(key, PKCS#7(plaintext))` with a fresh random IV, as the
//! XML Encryption `aes128-cbc` algorithm defines and as privacyIDEA and the `pskc` Python
//! package read it; the MAC is computed over that same `IV || ciphertext`.

use aes::Aes128;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use safeid_secret::{SecretBytes, SecretString};
use sha1::Sha1;
use thiserror::Error;
use zeroize::Zeroizing;

/// `http://www.w3.org/2001/04/xmlenc#aes128-cbc`
pub(crate) const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
/// `http://www.w3.org/2000/09/xmldsig#hmac-sha1`
pub(crate) const HMAC_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";
/// The PBKDF2 algorithm URI of PKCS #5 v2.0 (RFC 6030 section 6.2).
pub(crate) const PBKDF2: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2";
/// The HMAC-SHA1 PRF URI (PBKDF2's default PRF).
pub(crate) const PRF_HMAC_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";
/// XML Encryption 1.1 namespace (`DerivedKey`).
pub(crate) const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
/// XML Encryption namespace.
pub(crate) const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
/// XML Signature namespace (`KeyName`).
pub(crate) const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// PKCS #5 v2.0 XML namespace (`PBKDF2-params`).
pub(crate) const PKCS5_NS: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#";

/// PBKDF2 iterations written by default. OWASP's 2023 figure for PBKDF2-HMAC-SHA1; the
/// derivation runs once per file (about 0.5 s in an optimised build).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 1_300_000;
/// The fewest PBKDF2 iterations the writer accepts (the count of RFC 6030's example).
pub const MIN_PBKDF2_ITERATIONS: u32 = 1_000;
/// The most PBKDF2 iterations the reader accepts: a hostile file cannot make it spin for
/// hours (10 million take a few seconds).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Salt bytes written.
pub(crate) const SALT_BYTES: usize = 16;
/// MAC key bytes written (the HMAC-SHA1 output size).
pub(crate) const MAC_KEY_BYTES: usize = 20;

/// A 128-bit AES key for PSKC (RFC 6030 section 6.1): wiped on drop, never printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PskcKey(SecretBytes);

/// Why a PSKC key could not be used. Never contains the key.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PskcKeyError {
    /// Not 32 hex digits.
    #[error("a PSKC pre-shared key is 16 bytes: 32 hex digits (spaces allowed)")]
    NotHex,
    /// The operating system's random generator failed.
    #[error("no random numbers for a new key: {0}")]
    Random(String),
}

impl PskcKey {
    /// A key from its 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(SecretBytes::from(bytes.to_vec()))
    }

    /// A key from 32 hex digits (either case; spaces, tabs and line ends ignored).
    pub fn from_hex(text: &str) -> Result<Self, PskcKeyError> {
        let compact: Zeroizing<String> =
            Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
        let bytes = Zeroizing::new(
            data_encoding::HEXLOWER_PERMISSIVE
                .decode(compact.as_bytes())
                .map_err(|_| PskcKeyError::NotHex)?,
        );
        if bytes.len() != 16 {
            return Err(PskcKeyError::NotHex);
        }
        Ok(Self(SecretBytes::from_slice(&bytes)))
    }

    /// A fresh random key from the operating system.
    pub fn generate() -> Result<Self, PskcKeyError> {
        let mut bytes = Zeroizing::new([0u8; 16]);
        getrandom::fill(&mut *bytes).map_err(|e| PskcKeyError::Random(e.to_string()))?;
        Ok(Self::from_bytes(*bytes))
    }

    /// The key as 32 lower-case hex digits (to hand to the importer, e.g. privacyIDEA's
    /// `psk`).
    pub fn to_hex(&self) -> SecretString {
        SecretString::from(data_encoding::HEXLOWER.encode(self.0.expose()))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.expose()
    }
}

/// How [`write_pskc`](super::write_pskc) protects the secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PskcEncryption {
    /// RFC 6030 section 6.1: AES-128-CBC under a key both sides already hold.
    PreSharedKey {
        /// The key.
        key: PskcKey,
        /// Written as `EncryptionKey/ds:KeyName` (`Pre-shared-key` when `None`).
        key_name: Option<String>,
    },
    /// RFC 6030 section 6.2: AES-128-CBC under PBKDF2-HMAC-SHA1(password, random salt).
    Password {
        /// The password (its UTF-8 bytes are the PBKDF2 password).
        password: SecretString,
        /// PBKDF2 iterations, at least [`MIN_PBKDF2_ITERATIONS`].
        iterations: u32,
    },
}

impl PskcEncryption {
    /// Section 6.1 with the default key name.
    pub fn pre_shared(key: PskcKey) -> Self {
        Self::PreSharedKey {
            key,
            key_name: None,
        }
    }

    /// Section 6.2 with [`DEFAULT_PBKDF2_ITERATIONS`].
    pub fn password(password: SecretString) -> Self {
        Self::Password {
            password,
            iterations: DEFAULT_PBKDF2_ITERATIONS,
        }
    }
}

/// What [`read_pskc_with`](super::read_pskc_with) may use to decrypt secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PskcDecryption {
    /// Plain values only: an encrypted document is refused ([`ImportError::NeedsKey`]).
    ///
    /// [`ImportError::NeedsKey`]: super::ImportError::NeedsKey
    #[default]
    None,
    /// The pre-shared key of section 6.1.
    PreSharedKey(PskcKey),
    /// The password of section 6.2.
    Password(SecretString),
}

type Enc = cbc::Encryptor<Aes128>;
type Dec = cbc::Decryptor<Aes128>;

/// Random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, String> {
    let mut out = Zeroizing::new([0u8; N]);
    getrandom::fill(&mut *out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// `IV || AES-128-CBC(key, PKCS#7(plaintext))` with a fresh random IV.
pub(crate) fn encrypt(key: &[u8], plaintext: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let iv = random::<16>()?;
    encrypt_with_iv(key, &iv, plaintext)
}

pub(crate) fn encrypt_with_iv(
    key: &[u8],
    iv: &[u8; 16],
    plaintext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, String> {
    let padded = (plaintext.len() / 16 + 1) * 16;
    let mut out = Zeroizing::new(vec![0u8; 16 + padded]);
    out[..16].copy_from_slice(iv);
    out[16..16 + plaintext.len()].copy_from_slice(plaintext);
    let enc =
        Enc::new_from_slices(key, iv).map_err(|_| "the AES key is not 16 bytes".to_owned())?;
    enc.encrypt_padded_mut::<Pkcs7>(&mut out[16..], plaintext.len())
        .map_err(|_| "AES-CBC padding failed".to_owned())?;
    Ok(out)
}

/// Decrypts `IV || ciphertext`; `None` when the length, key or padding is wrong.
pub(crate) fn decrypt(key: &[u8], data: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return None;
    }
    let (iv, body) = data.split_at(16);
    let dec = Dec::new_from_slices(key, iv).ok()?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = dec.decrypt_padded_mut::<Pkcs7>(&mut buf).ok()?.len();
    buf.truncate(len);
    Some(buf)
}

/// HMAC-SHA1 of `data` under `key`.
pub(crate) fn mac(key: &[u8], data: &[u8]) -> [u8; 20] {
    // HMAC takes keys of any length.
    let mut m = <Hmac<Sha1> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m.finalize().into_bytes().into()
}

/// Constant-time check of an HMAC-SHA1 value.
pub(crate) fn mac_matches(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    match <Hmac<Sha1> as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.verify_slice(expected).is_ok()
        }
        Err(_) => false,
    }
}

/// PBKDF2-HMAC-SHA1(password, salt, iterations) to a 16-byte key.
pub(crate) fn derive(password: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<[u8; 16]> {
    let mut out = Zeroizing::new([0u8; 16]);
    pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut *out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .unwrap()
    }

    #[test]
    fn rfc_6030_figure_7_key_derivation() {
        // RFC 6030 section 6.2: password "qwerty", salt Ej7/PEpyEpw=, 1000 iterations
        // give the key 651e63cd57008476af1ff6422cd02e41.
        let salt = [0x12, 0x3e, 0xff, 0x3c, 0x4a, 0x72, 0x12, 0x9c];
        assert_eq!(
            derive(b"qwerty", &salt, 1000).to_vec(),
            hex("651e63cd57008476af1ff6422cd02e41")
        );
    }

    #[test]
    fn rfc_6030_figure_6_decrypts_and_authenticates() {
        // Pre-shared key 12345678901234567890123456789012, MAC key
        // 1122334455667788990011223344556677889900, secret "12345678901234567890".
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        let key = hex("12345678901234567890123456789012");
        let mac_key = decrypt(
            &key,
            &b64("ESIzRFVmd4iZABEiM0RVZgKn6WjLaTC1sbeBMSvIhRejN9vJa2BOlSaMrR7I5wSX"),
        )
        .unwrap();
        assert_eq!(
            mac_key.to_vec(),
            hex("1122334455667788990011223344556677889900")
        );
        let cipher = b64("AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv");
        assert_eq!(
            decrypt(&key, &cipher).unwrap().to_vec(),
            b"12345678901234567890"
        );
        assert!(mac_matches(
            &mac_key,
            &cipher,
            &b64("Su+NvtQfmvfJzF6bmQiJqoLRExc=")
        ));
        assert!(!mac_matches(
            &mac_key,
            &cipher[1..],
            &b64("Su+NvtQfmvfJzF6bmQiJqoLRExc=")
        ));
    }

    #[test]
    fn encrypt_round_trips_and_pads_a_full_block() {
        let key = [7u8; 16];
        for len in [0, 1, 15, 16, 17, 63] {
            let pt: Vec<u8> = (0..len as u8).collect();
            let ct = encrypt(&key, &pt).unwrap();
            assert_eq!(ct.len(), 16 + (len / 16 + 1) * 16);
            assert_eq!(decrypt(&key, &ct).unwrap().to_vec(), pt);
            assert!(decrypt(&[8u8; 16], &ct).is_none_or(|p| p.to_vec() != pt));
        }
        assert!(decrypt(&key, &[0u8; 17]).is_none());
        assert!(decrypt(&key, &[0u8; 16]).is_none());
    }

    #[test]
    fn key_hex_parsing_never_echoes_the_key() {
        assert!(PskcKey::from_hex("12345678 90123456 78901234 56789012\n").is_ok());
        let e = PskcKey::from_hex("1234567890123456789012345678901").unwrap_err();
        assert!(!e.to_string().contains("1234"));
        assert_eq!(PskcKey::from_hex("zz").unwrap_err(), PskcKeyError::NotHex);
        let k = PskcKey::from_hex("000102030405060708090A0B0C0D0E0F").unwrap();
        assert_eq!(k.to_hex().expose(), "000102030405060708090a0b0c0d0e0f");
        assert!(!format!("{k:?}").contains("0001"));
    }
}
