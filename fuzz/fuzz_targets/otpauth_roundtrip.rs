#![no_main]
//! Whatever parses must format canonically and parse back to the same value (docs/otpauth.md
//! rule 10), as long as the canonical URI stays within the 4096-byte limit (percent-encoding
//! may triple the size of raw non-ASCII text), and formatting twice gives the same text.

use safeid_otpauth::{Credential, MAX_URI_LEN, Parsed, parse_any};

fn check(c: &Credential) {
    let uri = c.to_uri();
    if uri.expose().len() > MAX_URI_LEN {
        return;
    }
    let again = Credential::parse(uri.expose()).expect("canonical URI parses");
    assert_eq!(&again, c, "round trip changed the credential");
    assert_eq!(
        again.to_uri().expose(),
        uri.expose(),
        "formatting is not canonical"
    );
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for candidate in [text.to_string(), format!("otpauth://totp/{text}")] {
        match parse_any(&candidate) {
            Ok(Parsed::Single(c)) => check(&c),
            Ok(Parsed::Migration(batch)) => batch.credentials.iter().for_each(check),
            Err(_) => {}
        }
    }
});
