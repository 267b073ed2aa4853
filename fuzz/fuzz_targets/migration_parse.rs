#![no_main]
//! The strict protobuf reader on raw payload bytes, and the whole `otpauth-migration://`
//! path on text. Nothing may panic; every credential found must round-trip.

use safeid_otpauth::{Credential, MAX_URI_LEN, parse_migration, parse_migration_payload};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = parse_migration_payload(data) {
        for c in &batch.credentials {
            let uri = c.to_uri();
            if uri.expose().len() <= MAX_URI_LEN {
                let again = Credential::parse(uri.expose()).expect("canonical URI parses");
                assert_eq!(&again, c);
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = parse_migration(&format!("otpauth-migration://offline?data={text}"));
    let _ = parse_migration(&text);
});
