//! Every export compared byte for byte with a golden file written by hand from the format's
//! specification (tests/golden/export/), and the golden files read back by the importers.
#![allow(clippy::unwrap_used)]

#[path = "golden/records.rs"]
mod records;

use records::{a, b, c, e, golden, same};
use safeid::export::{self, ExportError, ExportOptions, Format, GraphShape, Limit};
use safeid::record::TokenSeed;
use safeid::sources::{SecretEncoding, SeedFileOptions};

fn check(actual: &str, name: &str) {
    let expected = golden(&format!("export/{name}"));
    assert_eq!(actual, expected, "export differs from golden file {name}");
}

#[test]
fn entra_csv_matches_the_documented_layout() {
    let out = export::write_entra_csv(&[a(), b()], &ExportOptions::default()).unwrap();
    check(out.expose(), "entra.csv");
}

#[test]
fn entra_csv_fills_missing_upns_from_the_option() {
    let options = ExportOptions {
        upn: Some("bob@example.com".into()),
        ..ExportOptions::default()
    };
    let out = export::write_entra_csv(&[a(), b()], &options).unwrap();
    check(out.expose(), "entra_default_upn.csv");
}

#[test]
fn graph_json_array_and_value_shapes() {
    let out = export::write_graph_json(&[a(), b(), c()], &ExportOptions::default()).unwrap();
    check(out.expose(), "graph.json");
    let options = ExportOptions {
        graph_shape: GraphShape::Value,
        ..ExportOptions::default()
    };
    let out = export::write_graph_json(&[a()], &options).unwrap();
    check(out.expose(), "graph_value.json");
}

#[test]
fn pskc_matches_rfc_6030_layout() {
    let out = export::write_pskc(&[a(), b(), c()], &ExportOptions::default()).unwrap();
    check(out.expose(), "pskc.xml");
}

#[test]
fn privacyidea_csv_is_hex_without_header() {
    let out = export::write_privacyidea_csv(&[a(), b()]).unwrap();
    check(out.expose(), "privacyidea.csv");
}

#[test]
fn privacyidea_csv_carries_sha256_only_where_the_importer_guesses_it() {
    // c() is SHA-256 with a 32-byte seed: 64 hex digits, which privacyIDEA reads as SHA-256.
    let out = export::write_privacyidea_csv(&[c()]).unwrap();
    check(out.expose(), "privacyidea_sha256.csv");
    let back = export::read_privacyidea_csv(out.expose()).unwrap();
    assert!(same(&back, &[c()]));
}

#[test]
fn duo_csv_is_serial_and_hex() {
    let out = export::write_duo_csv(&[a(), e()]).unwrap();
    check(out.expose(), "duo.csv");
    assert!(same(
        &export::read_duo_csv(&golden("export/duo.csv"), 30, 6).unwrap(),
        &[a(), e()]
    ));
}

#[test]
fn linotp_csv_has_a_hash_column() {
    let out = export::write_linotp_csv(&[a(), b(), c()]).unwrap();
    check(out.expose(), "linotp.csv");
    assert!(same(
        &export::read_linotp_csv(&golden("export/linotp.csv")).unwrap(),
        &[a(), b(), c()]
    ));
}

#[test]
fn vendor_csv_base32_and_hex_with_header() {
    let out = export::write_vendor_csv(&[a(), b(), c()], &ExportOptions::default()).unwrap();
    check(out.expose(), "vendor_base32.csv");
    let options = ExportOptions {
        vendor_encoding: SecretEncoding::Hex,
        vendor_header: true,
        ..ExportOptions::default()
    };
    let out = export::write_vendor_csv(&[a(), b(), c()], &options).unwrap();
    check(out.expose(), "vendor_hex_header.csv");
}

#[test]
fn otpauth_uri_list() {
    let out = export::write_otpauth_uris(&[a(), b(), c()], &ExportOptions::default()).unwrap();
    check(out.expose(), "otpauth.txt");
}

#[test]
fn format_render_dispatches_to_the_same_writers() {
    let records = [a(), b()];
    let options = ExportOptions::default();
    for (format, name) in [
        (Format::EntraCsv, "entra.csv"),
        (Format::PrivacyIdeaCsv, "privacyidea.csv"),
    ] {
        check(format.render(&records, &options).unwrap().expose(), name);
        assert_eq!(Format::from_name(format.name()), Some(format));
    }
}

#[test]
fn golden_files_import_back_to_the_records() {
    let all = [a(), b(), c()];
    let sha1 = [a(), b()];
    let opts = SeedFileOptions::default();
    assert!(same(
        &export::read_entra_csv(&golden("export/entra.csv"), &opts).unwrap(),
        &sha1
    ));
    assert!(same(
        &export::read_graph_json(&golden("export/graph.json")).unwrap(),
        &all
    ));
    assert!(same(
        &export::read_graph_json(&golden("export/graph_value.json")).unwrap(),
        &[a()]
    ));
    assert!(same(
        &export::read_pskc(&golden("export/pskc.xml")).unwrap(),
        &all
    ));
    assert!(same(
        &export::read_privacyidea_csv(&golden("export/privacyidea.csv")).unwrap(),
        &sha1
    ));
    assert!(same(
        &export::read_otpauth_uris(&golden("export/otpauth.txt")).unwrap(),
        &all
    ));
    // The vendor format has no hash or period: those come from the options.
    let vendor = export::read_vendor_csv(&golden("export/vendor_base32.csv"), &opts).unwrap();
    let secrets: Vec<_> = vendor.iter().map(|r| r.secret.clone()).collect();
    assert_eq!(
        secrets,
        all.iter().map(|r| r.secret.clone()).collect::<Vec<_>>()
    );
    let hex = export::read_vendor_csv(&golden("export/vendor_hex_header.csv"), &opts).unwrap();
    assert_eq!(
        hex.iter().map(|r| r.secret.clone()).collect::<Vec<_>>(),
        secrets
    );
}

#[test]
fn descriptive_fields_survive_the_formats_that_carry_them() {
    let pskc = export::read_pskc(&golden("export/pskc.xml")).unwrap();
    assert_eq!(pskc[0].upn.as_deref(), Some("alice@example.com"));
    assert_eq!(
        pskc[2].display_name.as_deref(),
        Some("Lab token <3 & \"co\"")
    );
    assert_eq!(pskc[1].model.as_deref(), Some("OTPC-P2-i"));
    let graph = export::read_graph_json(&golden("export/graph.json")).unwrap();
    assert_eq!(graph[2].display_name, c().display_name);
    assert_eq!(graph[0].manufacturer.as_deref(), Some("Token2"));
    let entra =
        export::read_entra_csv(&golden("export/entra.csv"), &SeedFileOptions::default()).unwrap();
    assert_eq!(
        (entra[0].upn.as_deref(), entra[1].upn.as_deref()),
        (Some("alice@example.com"), None)
    );
}

fn limit_of(e: ExportError) -> Limit {
    match e {
        ExportError::Limit { limit, .. } => limit.limit,
        other => panic!("not a limit: {other}"),
    }
}

#[test]
fn writers_refuse_what_their_format_cannot_say() {
    let o = ExportOptions::default();
    // SHA-256 has no place in the Entra CSV or the Duo CSV.
    for format in [Format::EntraCsv, Format::DuoCsv] {
        let e = format.render(&[c()], &o).unwrap_err();
        assert!(e.to_string().contains("use pskc"), "{e}");
        assert!(matches!(limit_of(e), Limit::Hash { .. }), "{format:?}");
    }
    // privacyIDEA would read a 32-byte SHA-1 seed (64 hex digits) as SHA-256.
    let mut sha1_32 = c();
    sha1_32.hash = safeid::record::HmacAlgorithm::Sha1;
    let e = export::write_privacyidea_csv(&[sha1_32]).unwrap_err();
    assert!(e.to_string().contains("8659600000003"), "{e}");
    assert_eq!(limit_of(e), Limit::GuessedHash { guessed: "sha256" });
    // A SHA-256 seed of 20 bytes would be read as SHA-1.
    let mut sha256_20 = a();
    sha256_20.hash = safeid::record::HmacAlgorithm::Sha256;
    assert_eq!(
        limit_of(export::write_privacyidea_csv(&[sha256_20]).unwrap_err()),
        Limit::GuessedHash { guessed: "sha1" }
    );
    // Duo sets one time step for the whole import.
    assert!(matches!(
        export::write_duo_csv(&[a(), b()]),
        Err(ExportError::Mixed { .. })
    ));
    // A period the tokens cannot hold.
    let mut odd = a();
    odd.period = 45;
    for format in Format::ALL {
        assert!(
            matches!(
                limit_of(format.render(&[odd.clone()], &o).unwrap_err()),
                Limit::Period { .. }
            ),
            "{format:?}"
        );
    }
    // Entra and Graph need manufacturer and model.
    let bare = TokenSeed::new("1", a().secret);
    assert!(matches!(
        export::write_entra_csv(std::slice::from_ref(&bare), &o),
        Err(ExportError::Missing { .. })
    ));
    assert!(matches!(
        export::write_graph_json(std::slice::from_ref(&bare), &o),
        Err(ExportError::Missing { .. })
    ));
    let filled = ExportOptions {
        manufacturer: Some("M".into()),
        model: Some("X".into()),
        ..o.clone()
    };
    assert!(export::write_graph_json(&[bare], &filled).is_ok());
    // One seed per serial, and something to export.
    for format in Format::ALL {
        assert!(
            matches!(
                format.render(&[a(), a()], &o),
                Err(ExportError::DuplicateSerial(_))
            ),
            "{format:?}"
        );
        assert!(
            matches!(format.render(&[], &o), Err(ExportError::Empty)),
            "{format:?}"
        );
    }
    // Separators privacyIDEA, LinOTP and Duo cannot quote, control characters nobody can
    // carry.
    let mut comma = a();
    comma.serial = "12,3".into();
    for format in [Format::PrivacyIdeaCsv, Format::LinotpCsv, Format::DuoCsv] {
        assert!(
            matches!(
                format.render(&[comma.clone()], &o),
                Err(ExportError::Unrepresentable { .. })
            ),
            "{format:?}"
        );
    }
    let mut hash_only = a();
    hash_only.serial = "#".into();
    assert!(matches!(
        export::write_linotp_csv(&[hash_only]),
        Err(ExportError::Unrepresentable { .. })
    ));
    let mut control = a();
    control.model = Some("bad\u{7}".into());
    assert!(matches!(
        export::write_pskc(&[control.clone()], &o),
        Err(ExportError::Unrepresentable { .. })
    ));
    assert!(matches!(
        export::write_entra_csv(&[control], &o),
        Err(ExportError::Unrepresentable { .. })
    ));
}

#[test]
fn error_messages_never_contain_the_secret() {
    let o = ExportOptions::default();
    let mut odd = c();
    odd.period = 45;
    for format in Format::ALL {
        for records in [vec![odd.clone()], vec![c()], vec![a(), b()]] {
            let Err(e) = format.render(&records, &o) else {
                continue;
            };
            let text = e.to_string();
            assert!(
                !text.contains("GEZDGNBV")
                    && !text.contains("MTIzNDU2")
                    && !text.contains("3132333435"),
                "{text}"
            );
        }
    }
}

#[test]
fn vendor_csv_writes_a_header_when_the_first_serial_would_pass_for_one() {
    let mut r = a();
    r.serial = "SERIAL-7".into();
    let out = export::write_vendor_csv(&[r], &ExportOptions::default()).unwrap();
    assert_eq!(
        out.expose(),
        "serial,secret\nSERIAL-7,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n"
    );
    let back = export::read_vendor_csv(out.expose(), &SeedFileOptions::default()).unwrap();
    assert_eq!(back[0].serial, "SERIAL-7");
}
