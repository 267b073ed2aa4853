//! The fixed records behind the golden files (shared by the export tests).
//!
//! Secrets are RFC test vectors, so the expected encodings in the golden files come from
//! the RFCs, not from this crate: `12345678901234567890` is the RFC 4226 / RFC 6238 SHA-1
//! seed (base32 `GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ`, base64 `MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=`),
//! `foobar` is the RFC 4648 section 10 vector (base32 `MZXW6YTBOI======`, base64
//! `Zm9vYmFy`), and the 32-byte `1234...9012` is the RFC 6238 SHA-256 seed.
#![allow(dead_code)]

use safeid::record::{HmacAlgorithm, TokenSeed};
use safeid::secret::SecretBytes;

/// SHA-1, 30 s, with a user.
pub fn a() -> TokenSeed {
    let mut r = TokenSeed::new(
        "8659612000001",
        SecretBytes::from(b"12345678901234567890".to_vec()),
    )
    .with_model("Token2", "OTPC-P1-i");
    r.upn = Some("alice@example.com".into());
    r
}

/// SHA-1, 60 s, short secret, no user.
pub fn b() -> TokenSeed {
    let mut r = TokenSeed::new("8659622000002", SecretBytes::from(b"foobar".to_vec()))
        .with_model("Token2", "OTPC-P2-i");
    r.period = 60;
    r
}

/// SHA-256, 30 s, a display name that needs escaping.
pub fn c() -> TokenSeed {
    let mut r = TokenSeed::new(
        "8659600000003",
        SecretBytes::from(b"12345678901234567890123456789012".to_vec()),
    )
    .with_model("Token2", "miniOTP-2-i");
    r.hash = HmacAlgorithm::Sha256;
    r.display_name = Some("Lab token <3 & \"co\"".into());
    r
}

/// SHA-1, 30 s, a 5-byte secret (RFC 4648 section 10 `fooba`, hex `666f6f6261`).
pub fn e() -> TokenSeed {
    TokenSeed::new("8659612000004", SecretBytes::from(b"fooba".to_vec()))
        .with_model("Token2", "OTPC-P1-i")
}

/// Reads a golden file.
pub fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Same serial, secret, hash, period and digits.
pub fn same(a: &[TokenSeed], b: &[TokenSeed]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_seed(y))
}
