//! Sealed journals: every seed encrypted with AES-256-GCM under a key derived from a
//! passphrase, so that the journal of an enrolling batch holds no seed in clear (module
//! documentation of [`crate::journal`], section "Sealed journals").
//!
//! Key schedule: `master = PBKDF2-HMAC-SHA256(passphrase, salt, iterations, 32 bytes)`,
//! then `key = HMAC-SHA256(master, "safeid journal seal key v1")` and
//! `check = HMAC-SHA256(master, "safeid journal seal check v1")[..16]`. The header keeps
//! the salt, the iteration count and `check`; opening derives `master` once and compares
//! `check` (constant time) before anything else is read, so a wrong passphrase is refused
//! at once and never mistaken for damaged lines. (One PBKDF2 block only, then HMAC: a
//! guesser cannot test a passphrase for less than the full iteration count.)
//!
//! A sealed seed is `base64(nonce || ciphertext || tag)` with a fresh random 96-bit nonce
//! per line; the additional data binds it to its serial and TOTP parameters, so a sealed
//! value moved to another line (another serial) or edited no longer opens.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use safeid_secret::{SecretBytes, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::JournalError;
use crate::record::HmacAlgorithm;

/// PBKDF2-HMAC-SHA256 iterations written in a new sealed journal's header by default
/// (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). The derivation runs once per open.
pub const DEFAULT_SEAL_ITERATIONS: u32 = 600_000;
/// The fewest iterations a sealed journal may say (writing or reading).
pub const MIN_SEAL_ITERATIONS: u32 = 1_000;
/// The most iterations a sealed journal may say: a hostile header cannot make opening
/// spin for hours.
pub const MAX_SEAL_ITERATIONS: u32 = 10_000_000;

const KDF: &str = "pbkdf2-hmac-sha256";
const CIPHER: &str = "aes-256-gcm";
const SALT_BYTES: usize = 16;
const CHECK_BYTES: usize = 16;
const NONCE_BYTES: usize = 12;
/// The longest sealed value read (a 63-byte seed is 12 + 63 + 16 bytes, 124 in base64).
const MAX_SEALED_CHARS: usize = 256;

/// How a batch seals its journal: the passphrase, and the iterations for a new journal
/// (an existing journal keeps the ones in its header).
#[derive(Clone, Debug)]
pub struct JournalSeal {
    /// The passphrase (its UTF-8 bytes are the PBKDF2 password).
    pub passphrase: SecretString,
    /// PBKDF2 iterations for a new journal, [`MIN_SEAL_ITERATIONS`] to
    /// [`MAX_SEAL_ITERATIONS`].
    pub iterations: u32,
}

impl JournalSeal {
    /// A seal with [`DEFAULT_SEAL_ITERATIONS`].
    pub fn new(passphrase: SecretString) -> Self {
        Self {
            passphrase,
            iterations: DEFAULT_SEAL_ITERATIONS,
        }
    }
}

/// The `seal` object of a sealed journal's header line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct SealHeader {
    kdf: String,
    iterations: u32,
    salt: String,
    check: String,
    cipher: String,
}

/// The derived key of an open sealed journal (wiped on drop).
pub(super) struct SealKey {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

fn bad(reason: &str) -> JournalError {
    JournalError::BadSeal(reason.to_owned())
}

/// `(key, check)` from the passphrase.
fn derive(
    passphrase: &SecretString,
    salt: &[u8],
    iterations: u32,
) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; CHECK_BYTES]>) {
    let mut master = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(
        passphrase.expose().as_bytes(),
        salt,
        iterations,
        &mut *master,
    );
    let expand = |label: &[u8]| {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&*master)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(label);
        Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()))
    };
    let key = expand(b"safeid journal seal key v1");
    let full = expand(b"safeid journal seal check v1");
    let mut check = Zeroizing::new([0u8; CHECK_BYTES]);
    check.copy_from_slice(&full[..CHECK_BYTES]);
    (key, check)
}

fn random<const N: usize>() -> Result<[u8; N], JournalError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| JournalError::Random(e.to_string()))?;
    Ok(b)
}

/// Constant-time equality of two short byte strings of the same length.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The additional data of a sealed seed: its serial and TOTP parameters.
fn aad(serial: &str, hash: HmacAlgorithm, period: u32, digits: u8) -> Vec<u8> {
    format!(
        "safeid journal seed v1\0{serial}\0{}\0{period}\0{digits}",
        hash.name()
    )
    .into_bytes()
}

impl SealKey {
    /// A new seal for a new journal: a fresh salt, the key, and the header to write.
    pub(super) fn create(seal: &JournalSeal) -> Result<(SealKey, SealHeader), JournalError> {
        if !(MIN_SEAL_ITERATIONS..=MAX_SEAL_ITERATIONS).contains(&seal.iterations) {
            return Err(JournalError::BadSeal(format!(
                "{} PBKDF2 iterations: a sealed journal takes {MIN_SEAL_ITERATIONS} to {MAX_SEAL_ITERATIONS}",
                seal.iterations
            )));
        }
        if seal.passphrase.expose().is_empty() {
            return Err(bad("the passphrase is empty"));
        }
        let salt = random::<SALT_BYTES>()?;
        let (key, check) = derive(&seal.passphrase, &salt, seal.iterations);
        let header = SealHeader {
            kdf: KDF.into(),
            iterations: seal.iterations,
            salt: B64.encode(salt),
            check: B64.encode(*check),
            cipher: CIPHER.into(),
        };
        Ok((SealKey { key }, header))
    }

    /// The key of an existing sealed journal, after checking the passphrase against the
    /// header's `check`.
    pub(super) fn open(
        header: &SealHeader,
        passphrase: &SecretString,
        path: &std::path::Path,
    ) -> Result<SealKey, JournalError> {
        if header.kdf != KDF || header.cipher != CIPHER {
            return Err(JournalError::BadSeal(format!(
                "unknown sealing {} / {} (this build seals with {KDF} / {CIPHER})",
                header.kdf.escape_debug(),
                header.cipher.escape_debug()
            )));
        }
        if !(MIN_SEAL_ITERATIONS..=MAX_SEAL_ITERATIONS).contains(&header.iterations) {
            return Err(JournalError::BadSeal(format!(
                "{} PBKDF2 iterations, outside {MIN_SEAL_ITERATIONS} to {MAX_SEAL_ITERATIONS}",
                header.iterations
            )));
        }
        let salt = B64
            .decode(&header.salt)
            .ok()
            .filter(|s| s.len() == SALT_BYTES)
            .ok_or_else(|| bad("the salt is not 16 bytes of base64"))?;
        let want = B64
            .decode(&header.check)
            .ok()
            .filter(|c| c.len() == CHECK_BYTES)
            .ok_or_else(|| bad("the key check is not 16 bytes of base64"))?;
        let (key, check) = derive(passphrase, &salt, header.iterations);
        if !same(&*check, &want) {
            return Err(JournalError::WrongPassphrase(path.to_path_buf()));
        }
        Ok(SealKey { key })
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&*self.key).into())
    }

    /// Seals a seed for the `planned` line of `serial` with these parameters.
    pub(super) fn seal(
        &self,
        secret: &SecretBytes,
        serial: &str,
        hash: HmacAlgorithm,
        period: u32,
        digits: u8,
    ) -> Result<String, JournalError> {
        let nonce = random::<NONCE_BYTES>()?;
        let aad = aad(serial, hash, period, digits);
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose(),
                    aad: &aad,
                },
            )
            .map_err(|_| bad("the seed could not be sealed"))?;
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(B64.encode(out))
    }

    /// Opens a sealed seed; `None` when it is not one of this key's, for this serial and
    /// these parameters (edited, moved, or damaged).
    pub(super) fn unseal(
        &self,
        text: &str,
        serial: &str,
        hash: HmacAlgorithm,
        period: u32,
        digits: u8,
    ) -> Option<SecretBytes> {
        if text.len() > MAX_SEALED_CHARS {
            return None;
        }
        let bytes = B64.decode(text).ok()?;
        if bytes.len() < NONCE_BYTES + 16 {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let aad = aad(serial, hash, period, digits);
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .ok()?,
        );
        Some(SecretBytes::from_slice(&plain))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn seal(pass: &str) -> JournalSeal {
        JournalSeal {
            passphrase: SecretString::new(pass.into()),
            iterations: MIN_SEAL_ITERATIONS,
        }
    }

    #[test]
    fn a_sealed_seed_opens_only_with_its_key_serial_and_parameters() {
        let (key, header) = SealKey::create(&seal("correct horse")).unwrap();
        let secret = SecretBytes::from_slice(b"12345678901234567890");
        let text = key
            .seal(&secret, "8659622000001", HmacAlgorithm::Sha1, 30, 6)
            .unwrap();
        assert!(!text.contains("MTIzNDU2Nzg5MDEyMzQ1Njc4OTA"));
        let again = SealKey::open(
            &header,
            &SecretString::new("correct horse".into()),
            "j".as_ref(),
        )
        .unwrap();
        let open = |serial: &str, hash, period| again.unseal(&text, serial, hash, period, 6);
        assert_eq!(
            open("8659622000001", HmacAlgorithm::Sha1, 30).unwrap(),
            secret
        );
        assert!(open("8659622000002", HmacAlgorithm::Sha1, 30).is_none());
        assert!(open("8659622000001", HmacAlgorithm::Sha256, 30).is_none());
        assert!(open("8659622000001", HmacAlgorithm::Sha1, 60).is_none());
        // A fresh nonce per seal: the same seed seals differently.
        let other = key
            .seal(&secret, "8659622000001", HmacAlgorithm::Sha1, 30, 6)
            .unwrap();
        assert_ne!(text, other);
        // One flipped bit anywhere is refused.
        let mut raw = B64.decode(&text).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert!(
            again
                .unseal(
                    &B64.encode(&raw),
                    "8659622000001",
                    HmacAlgorithm::Sha1,
                    30,
                    6
                )
                .is_none()
        );
    }

    #[test]
    fn a_wrong_passphrase_is_refused_by_the_check() {
        let (_, header) = SealKey::create(&seal("one")).unwrap();
        let e = SealKey::open(&header, &SecretString::new("two".into()), "j".as_ref()).unwrap_err();
        assert!(matches!(e, JournalError::WrongPassphrase(_)), "{e}");
        let mut h = header.clone();
        h.iterations = MAX_SEAL_ITERATIONS + 1;
        let e = SealKey::open(&h, &SecretString::new("one".into()), "j".as_ref()).unwrap_err();
        assert!(matches!(e, JournalError::BadSeal(_)), "{e}");
    }

    /// PBKDF2-HMAC-SHA256 known answer (RFC 7914 section 11, first vector: "passwd",
    /// salt "salt", 1 iteration, first 32 bytes), so the derivation is the standard one.
    #[test]
    fn pbkdf2_is_the_standard_one() {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"passwd", b"salt", 1, &mut out);
        assert_eq!(
            data_encoding::HEXLOWER.encode(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }
}
