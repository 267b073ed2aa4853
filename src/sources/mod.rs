//! Seed sources: random seeds from the OS CSPRNG, vendor and Entra seed files (picked by the
//! serial read from the token), and secrets typed at a prompt (docs/protocol.md section 8).
//!
//! The QR and `otpauth://` sources live in `safeid-qr` and `safeid-otpauth`; everything here
//! produces [`SecretBytes`] or [`TokenSeed`](crate::record::TokenSeed) values, and no error
//! ever contains secret text.

mod entra_csv;
mod secret_text;
mod seed_file;

use safeid_secret::SecretBytes;
use thiserror::Error;

pub use entra_csv::ENTRA_COLUMNS;
pub use secret_text::{
    MAX_SEED_BYTES, SecretEncoding, SecretTextError, check_length, decode_secret,
    detect_and_decode, parse_manual_secret,
};
pub(crate) use seed_file::strip_bom;
pub use seed_file::{
    MAX_PROBLEMS, MAX_SERIAL_LEN, Problem, ProblemKind, SeedFile, SeedFileError, SeedFileLayout,
    SeedFileOptions, SeedRow, check_serial,
};

/// Random seed length when none is asked for: 20 bytes (32 base32 characters), the
/// vendor tool's default and RFC 4226's recommended HMAC-SHA-1 key size.
pub const DEFAULT_RANDOM_BYTES: usize = 20;

/// Why a seed source failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A random seed length outside what the tokens hold.
    #[error("a random seed must be 1 to {MAX_SEED_BYTES} bytes, not {0}")]
    RandomLength(usize),
    /// The operating system's random generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(getrandom::Error),
}

/// A fresh seed of `bytes` bytes (1 to [`MAX_SEED_BYTES`]) from the operating system's
/// CSPRNG (`getrandom`).
///
/// ```
/// let seed = safeid::sources::random_seed(safeid::sources::DEFAULT_RANDOM_BYTES).unwrap();
/// assert_eq!(seed.len(), 20);
/// assert!(safeid::sources::random_seed(64).is_err());
/// ```
pub fn random_seed(bytes: usize) -> Result<SecretBytes, SourceError> {
    if bytes == 0 || bytes > MAX_SEED_BYTES {
        return Err(SourceError::RandomLength(bytes));
    }
    let mut buf = zeroize::Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(&mut buf).map_err(SourceError::Rng)?;
    Ok(SecretBytes::from_slice(&buf))
}
