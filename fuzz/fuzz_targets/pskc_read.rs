#![no_main]
//! Arbitrary text as a PSKC document, read plain and with a pre-shared key: the reader
//! never panics, every refusal can be displayed, and a document that reads survives a
//! round trip through the writer, plain and encrypted under the same key, unchanged.
//! (No password case: each input could cost up to the reader's cap of PBKDF2 iterations.)

use safeid::export::{self, ExportOptions, PskcDecryption, PskcEncryption, PskcKey};
use safeid::record::TokenSeed;

const KEY: [u8; 16] = *b"fuzz-pskc-key-16";

fn same(a: &[TokenSeed], b: &[TokenSeed]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_seed(y))
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let key = PskcDecryption::PreSharedKey(PskcKey::from_bytes(KEY));
    for decryption in [PskcDecryption::None, key] {
        match export::read_pskc_with(&text, &decryption) {
            Err(e) => {
                let _ = e.to_string();
            }
            Ok(records) => {
                let mut options = ExportOptions {
                    manufacturer: Some("m".into()),
                    model: Some("x".into()),
                    ..ExportOptions::default()
                };
                // What it read it can write (a record outside PSKC's limits could not
                // have been read), and reads back the same, plain and encrypted.
                let Ok(plain) = export::write_pskc(&records, &options) else {
                    return;
                };
                let again = export::read_pskc(plain.expose()).expect("own output reads");
                assert!(same(&records, &again));
                options.pskc_encryption = Some(PskcEncryption::PreSharedKey {
                    key: PskcKey::from_bytes(KEY),
                    key_name: None,
                });
                let sealed = export::write_pskc(&records, &options).expect("encrypts");
                let back = export::read_pskc_with(
                    sealed.expose(),
                    &PskcDecryption::PreSharedKey(PskcKey::from_bytes(KEY)),
                )
                .expect("own encrypted output reads");
                assert!(same(&records, &back));
            }
        }
    }
});
