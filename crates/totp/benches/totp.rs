//! `Totp::code_at` against the raw HMAC it is built on, for SHA-1, SHA-256 and SHA-512.
//!
//! - `raw_hmac_keyed_each_time`: `Hmac::new_from_slice(key)` + `update(8-byte counter)` +
//!   `finalize`, the work of a naive implementation that keys the HMAC for every code;
//! - `raw_hmac_prekeyed`: clone of a keyed `Hmac` + `update` + `finalize`, the floor for an
//!   implementation that keeps the keyed state (no truncation, no formatting);
//! - `totp_code_at`: this crate, including step division, truncation and reduction;
//! - `totp_verify_window_1`: verification with `DEFAULT_WINDOW` (three candidates).
//!
//! Run: `cargo bench -p safeid-totp -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use safeid_totp::{Algorithm, DEFAULT_WINDOW, Totp};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

/// RFC 6238 time 1234567890 s, step 0x273EF07.
const UNIX: u64 = 1_234_567_890;

/// The RFC 6238 Appendix B seed for the algorithm (20, 32 or 64 bytes).
fn seed(algorithm: Algorithm) -> Vec<u8> {
    let len = algorithm.output_len();
    b"12345678901234567890"
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

fn group<M: Mac + KeyInit + Clone>(c: &mut Criterion, algorithm: Algorithm) {
    let key = seed(algorithm);
    let mut group = c.benchmark_group(algorithm.name());

    group.bench_function("raw_hmac_keyed_each_time", |b| {
        b.iter(|| {
            let mut mac = <M as Mac>::new_from_slice(black_box(&key)).unwrap();
            mac.update(&(black_box(UNIX) / 30).to_be_bytes());
            mac.finalize().into_bytes()
        });
    });

    let keyed = <M as Mac>::new_from_slice(&key).unwrap();
    group.bench_function("raw_hmac_prekeyed", |b| {
        b.iter(|| {
            let mut mac = black_box(&keyed).clone();
            mac.update(&(black_box(UNIX) / 30).to_be_bytes());
            mac.finalize().into_bytes()
        });
    });

    let totp = Totp::new(&key, algorithm, 8, 30).unwrap();
    group.bench_function("totp_code_at", |b| {
        b.iter(|| black_box(&totp).code_at(black_box(UNIX)));
    });

    let code = totp.code_at(UNIX).to_string();
    group.bench_function("totp_verify_window_1", |b| {
        b.iter(|| black_box(&totp).verify(black_box(&code), black_box(UNIX + 30), DEFAULT_WINDOW));
    });

    group.finish();
}

fn benches(c: &mut Criterion) {
    group::<Hmac<Sha1>>(c, Algorithm::Sha1);
    group::<Hmac<Sha256>>(c, Algorithm::Sha256);
    group::<Hmac<Sha512>>(c, Algorithm::Sha512);
}

criterion_group!(totp_benches, benches);
criterion_main!(totp_benches);
