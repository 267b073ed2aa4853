#![no_main]
//! Arbitrary text through the seed-file parser and the PSKC, Graph JSON, privacyIDEA and
//! otpauth-list importers: none may panic, every refusal can be displayed, and whatever
//! parses survives a round trip through its own export unchanged.

use safeid::export::{self, ExportOptions};
use safeid::record::TokenSeed;
use safeid::sources::{self, SecretEncoding, SeedFile, SeedFileOptions};

fn same(a: &[TokenSeed], b: &[TokenSeed]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_seed(y))
}

fn fill(records: &[TokenSeed]) -> ExportOptions {
    let _ = records;
    ExportOptions {
        manufacturer: Some("m".into()),
        model: Some("x".into()),
        ..ExportOptions::default()
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    match SeedFile::parse(&text) {
        Ok(file) => {
            // Every serial is found again, and the file re-exported as vendor CSV parses back.
            for row in file.rows() {
                assert!(file.seed_for(&row.seed.serial).is_some());
            }
            let records: Vec<TokenSeed> = file.records().cloned().collect();
            if let Ok(csv) = export::write_vendor_csv(&records, &ExportOptions::default()) {
                let options = SeedFileOptions {
                    encoding: Some(SecretEncoding::Base32),
                    ..SeedFileOptions::default()
                };
                let back =
                    SeedFile::parse_with(csv.expose(), &options).expect("own vendor CSV parses");
                // The vendor format carries serial and secret only.
                let back = back.into_records();
                assert_eq!(records.len(), back.len());
                for (x, y) in records.iter().zip(&back) {
                    assert!(x.serial == y.serial && x.secret == y.secret);
                }
            }
        }
        Err(e) => {
            assert!(!e.problems.is_empty());
            let _ = format!("{e} {e:?}");
        }
    }
    let hex = SeedFileOptions {
        encoding: Some(SecretEncoding::Hex),
        ..SeedFileOptions::default()
    };
    let _ = SeedFile::parse_with(&text, &hex);
    let _ = sources::parse_manual_secret(&text);

    if let Ok(records) = export::read_pskc(&text) {
        // Characters XML cannot carry (e.g. U+FFFE) may be refused on the way out.
        if let Ok(xml) = export::write_pskc(&records, &fill(&records)) {
            assert!(same(
                &records,
                &export::read_pskc(xml.expose()).expect("own PSKC parses")
            ));
        }
    }
    if let Ok(records) = export::read_graph_json(&text) {
        let json =
            export::write_graph_json(&records, &fill(&records)).expect("imported records export");
        assert!(same(
            &records,
            &export::read_graph_json(json.expose()).expect("own JSON parses")
        ));
    }
    if let Ok(records) = export::read_privacyidea_csv(&text) {
        let csv = export::write_privacyidea_csv(&records).expect("imported records export");
        assert!(same(
            &records,
            &export::read_privacyidea_csv(csv.expose()).expect("own CSV parses")
        ));
    }
    if let Err(e) = export::read_otpauth_uris(&text) {
        let _ = format!("{e} {e:?}");
    }
});
