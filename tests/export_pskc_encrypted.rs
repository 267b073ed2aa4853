//! Encrypted PSKC (RFC 6030 sections 6.1 and 6.2): the reader against the RFC's own
//! figures (their key made a TOTP key, tests/golden/export/pskc_rfc6030_*.xml), the writer
//! round-tripped through the reader, and every way a wrong key, a wrong password or an
//! altered file must fail. The writer is also read by privacyIDEA, the `pskc` Python
//! package and `pskctool` in tests/interop_privacyidea.rs.
#![allow(clippy::unwrap_used)]

#[path = "golden/records.rs"]
mod records;

use proptest::prelude::*;
use records::{a, b, c, golden, same};
use safeid::export::{
    self, ExportOptions, ImportError, MIN_PBKDF2_ITERATIONS, PskcDecryption, PskcEncryption,
    PskcKey,
};
use safeid::record::{HmacAlgorithm, TokenSeed};
use safeid::secret::{SecretBytes, SecretString};

const RFC_PSK: &str = "12345678901234567890123456789012";

fn rfc_psk() -> PskcKey {
    PskcKey::from_hex(RFC_PSK).unwrap()
}

fn password(p: &str) -> SecretString {
    SecretString::new(p.to_owned())
}

fn fast_password(p: &str) -> PskcEncryption {
    PskcEncryption::Password {
        password: password(p),
        iterations: MIN_PBKDF2_ITERATIONS,
    }
}

#[test]
fn rfc_6030_figure_6_pre_shared_key() {
    let doc = golden("export/pskc_rfc6030_figure6_totp.xml");
    let v = export::read_pskc_with(&doc, &PskcDecryption::PreSharedKey(rfc_psk())).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].serial, "987654321");
    assert_eq!(v[0].secret.expose(), b"12345678901234567890");
    assert_eq!(
        (v[0].digits, v[0].period, v[0].hash),
        (8, 60, HmacAlgorithm::Sha1)
    );
    assert_eq!(v[0].manufacturer.as_deref(), Some("Manufacturer"));
}

#[test]
fn rfc_6030_figure_7_password() {
    let doc = golden("export/pskc_rfc6030_figure7_totp.xml");
    let v = export::read_pskc_with(&doc, &PskcDecryption::Password(password("qwerty"))).unwrap();
    assert_eq!(v[0].serial, "987654321");
    assert_eq!(v[0].secret.expose(), b"12345678901234567890");
    assert_eq!(v[0].period, 30);
}

#[test]
fn wrong_keys_and_missing_keys_are_refused_without_secrets_in_the_message() {
    let fig6 = golden("export/pskc_rfc6030_figure6_totp.xml");
    let fig7 = golden("export/pskc_rfc6030_figure7_totp.xml");
    let wrong = PskcKey::from_hex("00000000000000000000000000000000").unwrap();
    for (doc, dec) in [
        (&fig6, PskcDecryption::PreSharedKey(wrong)),
        (&fig7, PskcDecryption::Password(password("qwertz"))),
    ] {
        let e = export::read_pskc_with(doc, &dec).unwrap_err();
        assert!(matches!(e, ImportError::WrongKey { .. }), "{e}");
        let text = e.to_string();
        assert!(
            !text.contains("qwert") && !text.contains("1234567890"),
            "{text}"
        );
    }
    // No key, or the other kind of key.
    for (doc, dec) in [
        (&fig6, PskcDecryption::None),
        (&fig6, PskcDecryption::Password(password("qwerty"))),
        (&fig7, PskcDecryption::None),
        (&fig7, PskcDecryption::PreSharedKey(rfc_psk())),
    ] {
        let e = export::read_pskc_with(doc, &dec).unwrap_err();
        assert!(matches!(e, ImportError::NeedsKey { .. }), "{e}");
    }
    assert!(matches!(
        export::read_pskc(&fig6),
        Err(ImportError::NeedsKey { .. })
    ));
}

#[test]
fn an_altered_ciphertext_or_mac_is_detected() {
    let fig6 = golden("export/pskc_rfc6030_figure6_totp.xml");
    let dec = PskcDecryption::PreSharedKey(rfc_psk());
    // One base64 character of the secret's ciphertext, then of its MAC.
    for (from, to) in [
        ("AAECAwQFBgcICQoLDA0OD+cI", "AAECAwQFBgcICQoLDA0OD+cJ"),
        (
            "Su+NvtQfmvfJzF6bmQiJqoLRExc=",
            "Su+NvtQfmvfJzF6bmQiJqoLSExc=",
        ),
    ] {
        let altered = fig6.replace(from, to);
        assert_ne!(altered, fig6);
        let e = export::read_pskc_with(&altered, &dec).unwrap_err();
        assert!(matches!(e, ImportError::WrongKey { .. }), "{e}");
    }
    // A missing ValueMAC is not silently accepted.
    let no_mac = fig6.replace(
        "<ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=\n                    </ValueMAC>",
        "",
    );
    assert_ne!(no_mac, fig6);
    assert!(export::read_pskc_with(&no_mac, &dec).is_err());
}

#[test]
fn written_documents_round_trip_and_hide_the_secrets() {
    let records = [a(), b(), c()];
    for enc in [
        PskcEncryption::pre_shared(rfc_psk()),
        fast_password("correct horse"),
    ] {
        let options = ExportOptions {
            pskc_encryption: Some(enc.clone()),
            ..ExportOptions::default()
        };
        let text = export::write_pskc(&records, &options).unwrap();
        for secret_text in ["MTIzNDU2Nzg5MDEy", "Zm9vYmFy", "PlainValue>M"] {
            assert!(!text.expose().contains(secret_text));
        }
        let dec = match enc {
            PskcEncryption::PreSharedKey { key, .. } => PskcDecryption::PreSharedKey(key),
            PskcEncryption::Password { password, .. } => PskcDecryption::Password(password),
            _ => unreachable!(),
        };
        let back = export::read_pskc_with(text.expose(), &dec).unwrap();
        assert!(same(&back, &records));
        // A fresh IV (and salt) each time: two exports never share a ciphertext.
        let again = export::write_pskc(&records, &options).unwrap();
        assert_ne!(again.expose(), text.expose());
    }
}

#[test]
fn the_writer_refuses_weak_password_settings() {
    for enc in [
        PskcEncryption::Password {
            password: password("pw"),
            iterations: MIN_PBKDF2_ITERATIONS - 1,
        },
        fast_password(""),
    ] {
        let options = ExportOptions {
            pskc_encryption: Some(enc),
            ..ExportOptions::default()
        };
        assert!(matches!(
            export::write_pskc(&[a()], &options),
            Err(export::ExportError::Crypto(_))
        ));
    }
}

#[test]
fn hostile_pbkdf2_parameters_are_bounded() {
    let fig7 = golden("export/pskc_rfc6030_figure7_totp.xml");
    let dec = PskcDecryption::Password(password("qwerty"));
    for (from, to) in [
        ("<IterationCount>1000<", "<IterationCount>4000000000<"),
        ("<IterationCount>1000<", "<IterationCount>0<"),
        ("<KeyLength>16<", "<KeyLength>32<"),
        ("Ej7/PEpyEpw=", "!!"),
    ] {
        let altered = fig7.replace(from, to);
        assert_ne!(altered, fig7);
        let e = export::read_pskc_with(&altered, &dec).unwrap_err();
        assert!(matches!(e, ImportError::Structure(_)), "{from}: {e}");
    }
}

#[test]
fn oversized_documents_are_refused_before_parsing() {
    let big = " ".repeat(export::MAX_PSKC_BYTES + 1);
    assert!(matches!(
        export::read_pskc(&big),
        Err(ImportError::TooLarge { .. })
    ));
}

fn record() -> impl Strategy<Value = TokenSeed> {
    (
        "[0-9]{6,12}",
        proptest::collection::vec(any::<u8>(), 1..=63),
        prop_oneof![Just(HmacAlgorithm::Sha1), Just(HmacAlgorithm::Sha256)],
        prop_oneof![Just(30u32), Just(60u32)],
    )
        .prop_map(|(serial, secret, hash, period)| {
            let mut r = TokenSeed::new(serial, SecretBytes::from(secret));
            r.hash = hash;
            r.period = period;
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn pre_shared_key_round_trips(r in record(), key in any::<[u8; 16]>()) {
        let key = PskcKey::from_bytes(key);
        let options = ExportOptions {
            pskc_encryption: Some(PskcEncryption::pre_shared(key.clone())),
            ..ExportOptions::default()
        };
        let text = export::write_pskc(std::slice::from_ref(&r), &options).unwrap();
        let back = export::read_pskc_with(text.expose(), &PskcDecryption::PreSharedKey(key)).unwrap();
        prop_assert!(back.len() == 1 && back[0].same_seed(&r));
    }

    #[test]
    fn mangled_encrypted_documents_never_panic(r in record(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let options = ExportOptions {
            pskc_encryption: Some(PskcEncryption::pre_shared(rfc_psk())),
            ..ExportOptions::default()
        };
        let text = export::write_pskc(std::slice::from_ref(&r), &options).unwrap();
        let mut bytes = text.expose().as_bytes().to_vec();
        let i = cut.index(bytes.len());
        bytes[i] = byte;
        let mangled = String::from_utf8_lossy(&bytes);
        let result = export::read_pskc_with(&mangled, &PskcDecryption::PreSharedKey(rfc_psk()));
        if let Ok(v) = result {
            // Whatever still parses must still be this token's seed (the MAC holds).
            prop_assert!(v.len() == 1);
            prop_assert_eq!(v[0].secret.expose(), r.secret.expose());
        }
    }
}
