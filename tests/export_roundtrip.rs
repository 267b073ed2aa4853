//! Export -> import round trips for every format with an importer, over generated records
//! (proptest), and importers fed arbitrary text never panic.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use safeid::export::{self, ExportOptions, Format, GraphShape};
use safeid::record::{HmacAlgorithm, TokenSeed};
use safeid::secret::SecretBytes;
use safeid::sources::{SecretEncoding, SeedFileOptions};

fn record() -> impl Strategy<Value = TokenSeed> {
    (
        "[0-9A-Z][0-9A-Za-z_-]{0,15}",
        proptest::collection::vec(any::<u8>(), 1..=63),
        prop_oneof![Just(HmacAlgorithm::Sha1), Just(HmacAlgorithm::Sha256)],
        prop_oneof![Just(30u32), Just(60u32)],
        proptest::option::of("[ -~]{1,20}"),
        proptest::option::of("[a-z]{1,8}@example\\.com"),
        proptest::option::of("[ -~\u{e9}\u{4e2d}]{1,20}"),
    )
        .prop_map(|(serial, secret, hash, period, model, upn, display_name)| {
            let mut r = TokenSeed::new(serial, SecretBytes::from(secret));
            r.hash = hash;
            r.period = period;
            r.manufacturer = Some("Token2".into());
            r.model = model.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
            r.upn = upn;
            r.display_name = display_name
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty());
            r
        })
}

fn records() -> impl Strategy<Value = Vec<TokenSeed>> {
    proptest::collection::vec(record(), 1..6).prop_map(|mut v| {
        let mut seen = std::collections::HashSet::new();
        v.retain(|r| seen.insert(r.serial.clone()));
        v
    })
}

fn sha1_only(v: &[TokenSeed]) -> Vec<TokenSeed> {
    v.iter()
        .cloned()
        .map(|mut r| {
            r.hash = HmacAlgorithm::Sha1;
            r
        })
        .collect()
}

fn same_seeds(a: &[TokenSeed], b: &[TokenSeed]) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        prop_assert!(x.same_seed(y), "{:?} != {:?}", x, y);
    }
    Ok(())
}

fn options() -> ExportOptions {
    ExportOptions {
        model: Some("OTPC-P1-i".into()),
        ..ExportOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn graph_json_round_trips(v in records(), wrapped in any::<bool>()) {
        let shape = if wrapped { GraphShape::Value } else { GraphShape::Array };
        let text = export::write_graph_json(&v, &ExportOptions { graph_shape: shape, ..options() }).unwrap();
        let back = export::read_graph_json(text.expose()).unwrap();
        same_seeds(&v, &back)?;
        for (x, y) in v.iter().zip(&back) {
            prop_assert_eq!(&x.display_name, &y.display_name);
        }
    }

    #[test]
    fn pskc_round_trips(v in records()) {
        let text = export::write_pskc(&v, &options()).unwrap();
        let back = export::read_pskc(text.expose()).unwrap();
        same_seeds(&v, &back)?;
        for (x, y) in v.iter().zip(&back) {
            prop_assert_eq!(&x.upn, &y.upn);
            prop_assert_eq!(&x.display_name, &y.display_name);
            prop_assert_eq!(x.model.as_deref().or(Some("OTPC-P1-i")), y.model.as_deref());
        }
    }

    #[test]
    fn entra_csv_round_trips(v in records()) {
        let v = sha1_only(&v);
        let text = export::write_entra_csv(&v, &options()).unwrap();
        let back = export::read_entra_csv(text.expose(), &SeedFileOptions::default()).unwrap();
        same_seeds(&v, &back)?;
        for (x, y) in v.iter().zip(&back) {
            prop_assert_eq!(&x.upn, &y.upn);
        }
    }

    #[test]
    fn privacyidea_csv_round_trips(v in records()) {
        // The hash privacyIDEA guesses from the length; lengths it reads as SHA-224 or
        // SHA-384 cannot be exported at all.
        let v: Vec<TokenSeed> = v
            .into_iter()
            .filter_map(|mut r| {
                r.hash = match export::privacyidea_csv_hash_guess(r.secret.len()) {
                    "sha1" => HmacAlgorithm::Sha1,
                    "sha256" => HmacAlgorithm::Sha256,
                    _ => return None,
                };
                Some(r)
            })
            .collect();
        prop_assume!(!v.is_empty());
        let text = export::write_privacyidea_csv(&v).unwrap();
        same_seeds(&v, &export::read_privacyidea_csv(text.expose()).unwrap())?;
    }

    #[test]
    fn privacyidea_csv_refuses_exactly_what_the_importer_would_misread(v in records()) {
        let text = export::write_privacyidea_csv(&v);
        let misread = v.iter().any(|r| {
            export::privacyidea_csv_hash_guess(r.secret.len()) != r.hash.name().to_ascii_lowercase()
        });
        prop_assert_eq!(text.is_err(), misread);
    }

    #[test]
    fn linotp_csv_round_trips(v in records()) {
        let text = export::write_linotp_csv(&v).unwrap();
        same_seeds(&v, &export::read_linotp_csv(text.expose()).unwrap())?;
    }

    #[test]
    fn duo_csv_round_trips(v in records(), period in prop_oneof![Just(30u32), Just(60u32)]) {
        let v: Vec<TokenSeed> = sha1_only(&v)
            .into_iter()
            .map(|mut r| {
                r.period = period;
                r
            })
            .collect();
        let text = export::write_duo_csv(&v).unwrap();
        same_seeds(&v, &export::read_duo_csv(text.expose(), period, 6).unwrap())?;
    }

    #[test]
    fn vendor_csv_round_trips(v in records(), hex in any::<bool>(), header in any::<bool>()) {
        // The vendor format carries serial and secret only.
        let v: Vec<TokenSeed> = v.into_iter().map(|r| TokenSeed::new(r.serial, r.secret)).collect();
        let encoding = if hex { SecretEncoding::Hex } else { SecretEncoding::Base32 };
        let o = ExportOptions { vendor_encoding: encoding, vendor_header: header, ..options() };
        let text = export::write_vendor_csv(&v, &o).unwrap();
        let read = SeedFileOptions { encoding: Some(encoding), ..SeedFileOptions::default() };
        same_seeds(&v, &export::read_vendor_csv(text.expose(), &read).unwrap())?;
    }

    #[test]
    fn otpauth_uris_round_trip(v in records()) {
        let text = export::write_otpauth_uris(&v, &options()).unwrap();
        same_seeds(&v, &export::read_otpauth_uris(text.expose()).unwrap())?;
    }

    #[test]
    fn importers_never_panic_on_text(text in "\\PC{0,400}") {
        let _ = export::read_graph_json(&text);
        let _ = export::read_pskc(&text);
        let _ = export::read_privacyidea_csv(&text);
        let _ = export::read_otpauth_uris(&text);
        let _ = export::read_entra_csv(&text, &SeedFileOptions::default());
        let _ = export::read_linotp_csv(&text);
        let _ = export::read_duo_csv(&text, 30, 6);
    }

    #[test]
    fn pskc_reader_never_panics_on_mangled_documents(v in records(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let text = export::write_pskc(&v, &options()).unwrap();
        let mut bytes = text.expose().as_bytes().to_vec();
        let i = cut.index(bytes.len());
        bytes[i] = byte;
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = export::read_pskc(s);
        }
        let _ = export::read_pskc(&text.expose()[..text.expose().char_indices().nth(i).map_or(0, |(p, _)| p)]);
    }
}

#[test]
fn every_text_format_with_an_importer_round_trips_the_golden_records() {
    let mut a = TokenSeed::new(
        "8659612000001",
        SecretBytes::from(b"12345678901234567890".to_vec()),
    )
    .with_model("Token2", "OTPC-P1-i");
    a.upn = Some("alice@example.com".into());
    let o = ExportOptions::default();
    for format in Format::ALL {
        let text = format.render(std::slice::from_ref(&a), &o).unwrap();
        let back = match format {
            Format::EntraCsv => export::read_entra_csv(text.expose(), &SeedFileOptions::default()),
            Format::GraphJson => export::read_graph_json(text.expose()),
            Format::Pskc => export::read_pskc(text.expose()),
            Format::PrivacyIdeaCsv => export::read_privacyidea_csv(text.expose()),
            Format::VendorCsv => {
                export::read_vendor_csv(text.expose(), &SeedFileOptions::default())
            }
            Format::OtpauthUris => export::read_otpauth_uris(text.expose()),
            Format::DuoCsv => export::read_duo_csv(text.expose(), 30, 6),
            Format::LinotpCsv => export::read_linotp_csv(text.expose()),
        }
        .unwrap();
        assert!(back.len() == 1 && back[0].same_seed(&a), "{format:?}");
    }
}

#[test]
fn importers_refuse_what_the_tokens_cannot_hold() {
    let graph = r#"[{"serialNumber":"1","secretKey":"MZXW6YTBOI","timeIntervalInSeconds":45}]"#;
    assert!(export::read_graph_json(graph).is_err());
    let graph = r#"[{"serialNumber":"1","secretKey":"MZXW6YTBOI","hashFunction":"hmacsha512"}]"#;
    assert!(export::read_graph_json(graph).is_err());
    let graph =
        r#"{"value":[{"serialNumber":"1","secretKey":"MZXW6YTBOI","timeIntervalInSeconds":"60"}]}"#;
    assert_eq!(
        export::read_graph_json(graph).unwrap()[0].period,
        60,
        "string interval as in Microsoft's examples"
    );
    let dup = r#"[{"serialNumber":"1","secretKey":"MZXW6YTBOI"},{"serialNumber":"1","secretKey":"GEZDGNBV"}]"#;
    assert!(matches!(
        export::read_graph_json(dup),
        Err(export::ImportError::DuplicateSerial { .. })
    ));
    assert!(export::read_privacyidea_csv("1, 666f6f626172, hotp, 6").is_err());
    assert!(
        export::read_privacyidea_csv("# version: 2\nu, r, realm, 1, 666f6f626172, totp").is_err()
    );
    assert!(export::read_otpauth_uris("otpauth://hotp/x?secret=MZXW6YTBOI").is_err());
    assert!(
        export::read_otpauth_uris("otpauth://totp/x?secret=MZXW6YTBOI&algorithm=SHA512").is_err()
    );
    let encrypted = r#"<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage>
        <DeviceInfo><SerialNo>1</SerialNo></DeviceInfo>
        <Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp"><Data><Secret>
        <EncryptedValue>x</EncryptedValue></Secret></Data></Key></KeyPackage></KeyContainer>"#;
    let err = export::read_pskc(encrypted).unwrap_err().to_string();
    assert!(err.contains("encrypted"), "{err}");
    let hotp = r#"<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage>
        <DeviceInfo><SerialNo>1</SerialNo></DeviceInfo>
        <Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret>
        <PlainValue>Zm9vYmFy</PlainValue></Secret></Data></Key></KeyPackage></KeyContainer>"#;
    assert!(export::read_pskc(hotp).is_err());
    let doctype = r#"<!DOCTYPE x [<!ENTITY a "b">]><KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"/>"#;
    assert!(export::read_pskc(doctype).is_err());
}

#[test]
fn pskc_reader_takes_prefixed_namespaces_and_foreign_elements() {
    let doc = r#"<?xml version="1.0"?>
<pskc:KeyContainer xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:x="urn:example" Version="1.0">
  <x:Note><pskc:KeyPackage>ignored: not in a PSKC path</pskc:KeyPackage></x:Note>
  <pskc:KeyPackage>
    <pskc:DeviceInfo><pskc:SerialNo> 42 </pskc:SerialNo></pskc:DeviceInfo>
    <pskc:Key Id="k" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
      <pskc:Data><pskc:Secret><pskc:PlainValue>
        MTIzNDU2Nzg5MDEy
        MzQ1Njc4OTA=
      </pskc:PlainValue></pskc:Secret></pskc:Data>
    </pskc:Key>
  </pskc:KeyPackage>
</pskc:KeyContainer>"#;
    let v = export::read_pskc(doc).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].serial.as_str(), v[0].secret.expose()),
        ("42", &b"12345678901234567890"[..])
    );
    assert_eq!((v[0].period, v[0].hash), (30, HmacAlgorithm::Sha1));
}
