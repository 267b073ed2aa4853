//! Reading the known-answer tables in `tests/data/`.
#![allow(clippy::unwrap_used, dead_code)]

use safeid_totp::Algorithm;

/// The rows of a CSV file in `tests/data/`, split at commas, without `#` comments and
/// blank lines.
pub fn rows(name: &str) -> Vec<Vec<String>> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            line.split(',')
                .map(|field| field.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The algorithm named as in the tables (`SHA1`, `SHA256`, `SHA512`).
pub fn algorithm(name: &str) -> Algorithm {
    match name {
        "SHA1" => Algorithm::Sha1,
        "SHA256" => Algorithm::Sha256,
        "SHA512" => Algorithm::Sha512,
        other => panic!("unknown algorithm {other:?} in a data file"),
    }
}

/// The RFC 6238 Appendix B seed for an algorithm: "12345678901234567890" repeated and cut
/// to 20, 32 or 64 bytes.
pub fn rfc6238_seed(algorithm: Algorithm) -> Vec<u8> {
    let len = match algorithm {
        Algorithm::Sha1 => 20,
        Algorithm::Sha256 => 32,
        Algorithm::Sha512 => 64,
    };
    b"12345678901234567890"
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}
