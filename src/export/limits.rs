//! What each export format can carry, as data that can be checked before any token is
//! touched.
//!
//! A batch knows its tokens' parameters (hash, period, digits, seed length) before the
//! first burn; [`Format::check`] says whether a format can carry them and, when it cannot,
//! which limit is hit and which formats can. Every writer runs the same check on every
//! record, so a batch that passes the preflight can always be exported afterwards.
//! docs/exports.md lists the limits with their sources.

use std::fmt;

use super::Format;
use crate::record::{HmacAlgorithm, TokenSeed};
use crate::sources::MAX_SEED_BYTES;

/// The parameters of a token that decide whether a format can carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenParams {
    /// The HMAC hash function.
    pub hash: HmacAlgorithm,
    /// The time step in seconds.
    pub period: u32,
    /// The number of digits.
    pub digits: u8,
    /// The seed length in bytes.
    pub seed_len: usize,
}

impl TokenParams {
    /// The parameters of one record.
    pub fn of(record: &TokenSeed) -> Self {
        Self {
            hash: record.hash,
            period: record.period,
            digits: record.digits,
            seed_len: record.secret.len(),
        }
    }
}

impl fmt::Display for TokenParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} with a {}-byte seed, {} s, {} digits",
            self.hash, self.seed_len, self.period, self.digits
        )
    }
}

/// Which limit of a format a token's parameters exceed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// The format cannot name this hash function.
    Hash {
        /// The hash functions the format carries.
        allowed: &'static [HmacAlgorithm],
    },
    /// The format (or its importer) takes other time steps only.
    Period {
        /// The time steps the format carries.
        allowed: &'static [u32],
    },
    /// The format takes other digit counts only.
    Digits {
        /// The digit counts the format carries.
        allowed: &'static [u8],
    },
    /// The seed is shorter or longer than the format (or the tokens) allow.
    SeedLength {
        /// The shortest seed, bytes.
        min: usize,
        /// The longest seed, bytes.
        max: usize,
    },
    /// The format has no hash column and its importer guesses the hash from the key's
    /// length (privacyIDEA CSV): this length is read as another hash function.
    GuessedHash {
        /// What the importer would take the key for (`sha224`, `sha256`, `sha384`...).
        guessed: &'static str,
    },
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T: fmt::Display>(items: &[T]) -> String {
            items
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" or ")
        }
        match self {
            Self::Hash { allowed } => write!(f, "the format carries {} only", list(allowed)),
            Self::Period { allowed } => {
                write!(
                    f,
                    "the format carries a time step of {} s only",
                    list(allowed)
                )
            }
            Self::Digits { allowed } => {
                write!(f, "the format carries {} digits only", list(allowed))
            }
            Self::SeedLength { min, max } => {
                write!(f, "the format carries seeds of {min} to {max} bytes only")
            }
            Self::GuessedHash { guessed } => write!(
                f,
                "the file has no hash column and privacyIDEA reads a key of this length as {guessed}"
            ),
        }
    }
}

/// A format cannot carry a token's parameters. Names the limit and the formats that can;
/// never contains secret text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitError {
    /// The format that was asked for.
    pub format: Format,
    /// The parameters it cannot carry.
    pub params: TokenParams,
    /// The limit they exceed.
    pub limit: Limit,
    /// The formats that carry these parameters (PSKC first when it can).
    pub alternatives: Vec<Format>,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cannot carry {}: {}",
            self.format.title(),
            self.params,
            self.limit
        )?;
        match self.alternatives.first() {
            None => write!(f, "; no export format can carry these parameters"),
            Some(best) => {
                let names: Vec<&str> = self.alternatives.iter().map(|a| a.name()).collect();
                write!(
                    f,
                    "; formats that can: {} (use {})",
                    names.join(", "),
                    best.name()
                )
            }
        }
    }
}

impl std::error::Error for LimitError {}

const SHA1_ONLY: &[HmacAlgorithm] = &[HmacAlgorithm::Sha1];
const BOTH_HASHES: &[HmacAlgorithm] = &[HmacAlgorithm::Sha1, HmacAlgorithm::Sha256];
const PERIODS: &[u32] = &[30, 60];
const SIX: &[u8] = &[6];
const SIX_OR_EIGHT: &[u8] = &[6, 8];
const SIX_TO_EIGHT: &[u8] = &[6, 7, 8];

/// The longest base32 secret the Entra ID CSV upload takes.
pub const ENTRA_MAX_BASE32_CHARS: usize = 128;

/// What privacyIDEA's OATH CSV import takes a hex key of `seed_len` bytes for: it has no
/// hash column and guesses from the number of hex digits (56: SHA-224, 64: SHA-256,
/// 96: SHA-384, 128: SHA-512, anything else: SHA-1; `TokenClass.get_import_csv` in
/// privacyIDEA 3.14).
pub fn privacyidea_csv_hash_guess(seed_len: usize) -> &'static str {
    match seed_len.saturating_mul(2) {
        56 => "sha224",
        64 => "sha256",
        96 => "sha384",
        128 => "sha512",
        _ => "sha1",
    }
}

fn hash_name(h: HmacAlgorithm) -> &'static str {
    match h {
        HmacAlgorithm::Sha1 => "sha1",
        HmacAlgorithm::Sha256 => "sha256",
    }
}

impl Format {
    /// The format's name in messages (`privacyIDEA CSV`, `PSKC`...).
    pub fn title(self) -> &'static str {
        match self {
            Self::EntraCsv => "Entra ID CSV",
            Self::GraphJson => "Graph JSON",
            Self::Pskc => "PSKC",
            Self::PrivacyIdeaCsv => "privacyIDEA CSV",
            Self::VendorCsv => "vendor CSV",
            Self::OtpauthUris => "otpauth URI list",
            Self::DuoCsv => "Duo CSV",
            Self::LinotpCsv => "LinOTP CSV",
        }
    }

    /// False for formats that carry serial and secret only, whose hash and period travel
    /// separately (the vendor CSV): they are never proposed as an alternative.
    pub fn carries_parameters(self) -> bool {
        !matches!(self, Self::VendorCsv)
    }

    /// Whether this format can carry a token with these parameters; the error names the
    /// limit and the formats that can. Call it before burning: every writer applies the
    /// same rule to every record.
    ///
    /// ```
    /// use safeid::export::{Format, TokenParams};
    /// use safeid::record::HmacAlgorithm;
    /// let sha1_32 = TokenParams { hash: HmacAlgorithm::Sha1, period: 30, digits: 6, seed_len: 32 };
    /// let e = Format::PrivacyIdeaCsv.check(&sha1_32).unwrap_err();
    /// assert_eq!(e.alternatives[0], Format::Pskc);
    /// assert!(e.to_string().contains("use pskc"));
    /// assert!(Format::Pskc.check(&sha1_32).is_ok());
    /// ```
    pub fn check(self, params: &TokenParams) -> Result<(), LimitError> {
        self.limit(params).map_or(Ok(()), |limit| {
            Err(LimitError {
                format: self,
                params: *params,
                limit,
                alternatives: Self::carriers(params),
            })
        })
    }

    /// The formats that carry these parameters (those with [`Format::carries_parameters`]),
    /// PSKC first.
    pub fn carriers(params: &TokenParams) -> Vec<Format> {
        let mut order = vec![Format::Pskc];
        order.extend(Format::ALL.into_iter().filter(|f| *f != Format::Pskc));
        order
            .into_iter()
            .filter(|f| f.carries_parameters() && f.limit(params).is_none())
            .collect()
    }

    /// The first limit these parameters exceed, if any.
    fn limit(self, p: &TokenParams) -> Option<Limit> {
        let (hashes, periods, digits, max_seed) = match self {
            Self::EntraCsv => (
                SHA1_ONLY,
                PERIODS,
                SIX,
                // Base32 carries 5 bits per character.
                ENTRA_MAX_BASE32_CHARS * 5 / 8,
            ),
            Self::GraphJson => (BOTH_HASHES, PERIODS, SIX, MAX_SEED_BYTES),
            Self::Pskc | Self::OtpauthUris => (BOTH_HASHES, PERIODS, SIX_TO_EIGHT, MAX_SEED_BYTES),
            Self::PrivacyIdeaCsv | Self::LinotpCsv => {
                (BOTH_HASHES, PERIODS, SIX_OR_EIGHT, MAX_SEED_BYTES)
            }
            Self::DuoCsv => (SHA1_ONLY, PERIODS, SIX_OR_EIGHT, MAX_SEED_BYTES),
            Self::VendorCsv => (BOTH_HASHES, PERIODS, SIX_TO_EIGHT, MAX_SEED_BYTES),
        };
        let max_seed = max_seed.min(MAX_SEED_BYTES);
        if p.seed_len == 0 || p.seed_len > max_seed {
            return Some(Limit::SeedLength {
                min: 1,
                max: max_seed,
            });
        }
        if !hashes.contains(&p.hash) {
            return Some(Limit::Hash { allowed: hashes });
        }
        if self == Self::PrivacyIdeaCsv {
            let guessed = privacyidea_csv_hash_guess(p.seed_len);
            if guessed != hash_name(p.hash) {
                return Some(Limit::GuessedHash { guessed });
            }
        }
        if !periods.contains(&p.period) {
            return Some(Limit::Period { allowed: periods });
        }
        if !digits.contains(&p.digits) {
            return Some(Limit::Digits { allowed: digits });
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(hash: HmacAlgorithm, seed_len: usize) -> TokenParams {
        TokenParams {
            hash,
            period: 30,
            digits: 6,
            seed_len,
        }
    }

    #[test]
    fn privacyidea_csv_follows_the_importers_length_guess() {
        // 20 bytes = 40 hex digits: SHA-1; 28/32/48 bytes = 56/64/96 hex digits.
        for len in 1..=63 {
            let sha1 = Format::PrivacyIdeaCsv.check(&p(HmacAlgorithm::Sha1, len));
            let sha256 = Format::PrivacyIdeaCsv.check(&p(HmacAlgorithm::Sha256, len));
            assert_eq!(sha1.is_ok(), ![28, 32, 48].contains(&len), "SHA1 {len}");
            assert_eq!(sha256.is_ok(), len == 32, "SHA256 {len}");
        }
        let e = Format::PrivacyIdeaCsv
            .check(&p(HmacAlgorithm::Sha1, 48))
            .unwrap_err();
        assert_eq!(e.limit, Limit::GuessedHash { guessed: "sha384" });
        let text = e.to_string();
        assert!(
            text.contains("privacyIDEA CSV cannot carry SHA1 with a 48-byte seed"),
            "{text}"
        );
        assert!(text.ends_with("(use pskc)"), "{text}");
        assert!(!e.alternatives.contains(&Format::VendorCsv));
        assert!(e.alternatives.contains(&Format::LinotpCsv));
        // The message docs/exports.md shows.
        let e = Format::PrivacyIdeaCsv
            .check(&p(HmacAlgorithm::Sha1, 32))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "privacyIDEA CSV cannot carry SHA1 with a 32-byte seed, 30 s, 6 digits: the file has \
             no hash column and privacyIDEA reads a key of this length as sha256; formats that \
             can: pskc, entra, graph, otpauth, duo, linotp (use pskc)"
        );
    }

    #[test]
    fn entra_is_sha1_30_or_60_six_digits() {
        assert!(Format::EntraCsv.check(&p(HmacAlgorithm::Sha1, 63)).is_ok());
        let e = Format::EntraCsv
            .check(&p(HmacAlgorithm::Sha256, 20))
            .unwrap_err();
        assert!(matches!(e.limit, Limit::Hash { .. }));
        assert_eq!(e.alternatives[0], Format::Pskc);
        assert!(e.alternatives.contains(&Format::GraphJson));
        assert!(!e.alternatives.contains(&Format::DuoCsv));
        let mut odd = p(HmacAlgorithm::Sha1, 20);
        odd.period = 45;
        for f in Format::ALL {
            assert!(
                matches!(f.check(&odd).unwrap_err().limit, Limit::Period { .. }),
                "{f:?}"
            );
        }
        let e = Format::EntraCsv.check(&odd).unwrap_err();
        assert!(e.to_string().contains("no export format can carry"), "{e}");
    }

    #[test]
    fn seed_lengths_outside_the_tokens_range_are_refused_everywhere() {
        for f in Format::ALL {
            for len in [0, 64, 80] {
                assert!(
                    matches!(
                        f.check(&p(HmacAlgorithm::Sha1, len)).unwrap_err().limit,
                        Limit::SeedLength { .. }
                    ),
                    "{f:?} {len}"
                );
            }
        }
    }
}
