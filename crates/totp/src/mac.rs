//! The pre-keyed HMAC state and RFC 4226 dynamic truncation.

use hmac::digest::Key;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::{Algorithm, TotpError};

/// An HMAC keyed once, for one of the three algorithms.
///
/// Keying HMAC hashes the padded key twice (inner and outer pad); keeping the keyed state
/// and cloning it per code halves the work of every code compared with keying afresh.
/// The raw key is not kept. The keyed state is key-equivalent, so it is overwritten when
/// dropped (see [`Drop`] below); RustCrypto's `hmac` 0.12 does not implement `Zeroize`,
/// so the overwrite is a best effort kept alive by `black_box`, and the short-lived copies
/// the hash functions leave on the stack while computing a code are not wiped.
#[derive(Clone)]
pub(crate) enum KeyedMac {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

impl KeyedMac {
    /// Keys an HMAC. Keys longer than the hash block are hashed first, as HMAC specifies.
    pub(crate) fn new(key: &[u8], algorithm: Algorithm) -> Result<Self, TotpError> {
        if key.is_empty() {
            return Err(TotpError::EmptyKey);
        }
        let rejected = |_| TotpError::KeyRejected;
        Ok(match algorithm {
            Algorithm::Sha1 => KeyedMac::Sha1(Hmac::new_from_slice(key).map_err(rejected)?),
            Algorithm::Sha256 => KeyedMac::Sha256(Hmac::new_from_slice(key).map_err(rejected)?),
            Algorithm::Sha512 => KeyedMac::Sha512(Hmac::new_from_slice(key).map_err(rejected)?),
        })
    }

    /// The algorithm this state was keyed for.
    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            KeyedMac::Sha1(_) => Algorithm::Sha1,
            KeyedMac::Sha256(_) => Algorithm::Sha256,
            KeyedMac::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// HOTP before the decimal reduction: HMAC of the 8-byte big-endian counter
    /// (RFC 4226 section 5.3, step 1), then dynamic truncation (steps 2 and 3).
    pub(crate) fn truncated(&self, counter: u64) -> u32 {
        let message = counter.to_be_bytes();
        match self {
            KeyedMac::Sha1(keyed) => mac_and_truncate(keyed, &message),
            KeyedMac::Sha256(keyed) => mac_and_truncate(keyed, &message),
            KeyedMac::Sha512(keyed) => mac_and_truncate(keyed, &message),
        }
    }
}

/// One HMAC from a keyed state: clone, absorb the message, finalize. No heap allocation.
fn mac_and_truncate<M: Mac + Clone>(keyed: &M, message: &[u8]) -> u32 {
    let mut mac = keyed.clone();
    mac.update(message);
    dynamic_truncate(&mac.finalize().into_bytes())
}

/// RFC 4226 section 5.3 dynamic truncation: the low 4 bits of the last byte pick an
/// offset; the 4 bytes there, big-endian, with the top bit cleared, are the result.
///
/// Works for every HMAC output of at least 19 bytes (SHA-1 gives 20). A shorter input
/// cannot occur here; it would yield 0 rather than panic.
///
/// ```
/// // The worked example of RFC 4226 section 5.4: 0x50ef7f19 = 1357872921.
/// let mac = [
///     0x1f, 0x86, 0x98, 0x69, 0x0e, 0x02, 0xca, 0x16, 0x61, 0x85, 0x50, 0xef, 0x7f, 0x19,
///     0xda, 0x8e, 0x94, 0x5b, 0x55, 0x5a,
/// ];
/// assert_eq!(safeid_totp::dynamic_truncate(&mac), 1_357_872_921);
/// ```
pub fn dynamic_truncate(hmac_output: &[u8]) -> u32 {
    let offset = usize::from(hmac_output.last().copied().unwrap_or(0) & 0x0f);
    let word = hmac_output
        .get(offset..offset + 4)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .unwrap_or([0; 4]);
    u32::from_be_bytes(word) & 0x7fff_ffff
}

impl Drop for KeyedMac {
    /// Overwrites the key-equivalent state with one keyed by an all-zero block.
    fn drop(&mut self) {
        match self {
            KeyedMac::Sha1(keyed) => *keyed = Mac::new(&Key::<Hmac<Sha1>>::default()),
            KeyedMac::Sha256(keyed) => *keyed = Mac::new(&Key::<Hmac<Sha256>>::default()),
            KeyedMac::Sha512(keyed) => *keyed = Mac::new(&Key::<Hmac<Sha512>>::default()),
        }
        // Keeps the compiler from treating the overwrite as a dead store.
        core::hint::black_box(&*self);
    }
}
