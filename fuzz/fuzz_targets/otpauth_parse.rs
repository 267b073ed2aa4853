#![no_main]
//! Arbitrary bytes through every text entry point of safeid-otpauth: none may panic, and a
//! refusal's message must be producible (Display and Debug).

use safeid_otpauth::{Credential, decode_base32, parse_any};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(err) = parse_any(&text) {
        let _ = format!("{err} {err:?}");
    }
    let _ = Credential::parse(&text);
    let _ = decode_base32(&text);
    // The same bytes behind a valid prefix reach the label and query code.
    let _ = parse_any(&format!("otpauth://totp/{text}"));
    let _ = parse_any(&format!("otpauth://hotp/a?secret=MZXW6YTBOI&{text}"));
});
