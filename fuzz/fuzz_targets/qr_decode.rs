#![no_main]
//! Arbitrary bytes into `safeid_qr::decode_bytes` with small limits: every input must give
//! `Ok` or a typed error, never a panic, an abort or an allocation beyond the limits.
//!
//! rqrr has known panics; the crate catches them around each decoder call. libfuzzer-sys
//! turns every panic into an abort through its panic hook, so the target installs a silent
//! hook: a panic that escapes the crate still aborts (libfuzzer-sys catches it at the
//! top and aborts), while the ones the crate catches by design pass.

use std::sync::Once;
use std::time::Duration;

static HOOK: Once = Once::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let limits = safeid_qr::Limits {
        max_width: 1024,
        max_height: 1024,
        max_pixels: 1 << 20,
        max_alloc_bytes: 32 << 20,
        max_file_bytes: 1 << 20,
        deadline: Duration::from_secs(2),
    };
    let _ = safeid_qr::decode_bytes(data, &limits);
});
