//! Every export compared byte for byte with a golden file written by hand from the format's
//! specification (tests/golden/export/), and the golden files read back by the importers.
#![allow(clippy::unwrap_used)]

#[path = "golden/records.rs"]
mod records;

use records::{a, b, c, golden, same};
use safeid::export::{self, ExportError, ExportOptions, Format, GraphShape};
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

#[test]
fn writers_refuse_what_their_format_cannot_say() {
    let o = ExportOptions::default();
    // SHA-256 has no place in the Entra CSV or privacyIDEA CSV.
    assert!(matches!(
        export::write_entra_csv(&[c()], &o),
        Err(ExportError::UnsupportedHash { .. })
    ));
    assert!(matches!(
        export::write_privacyidea_csv(&[c()]),
        Err(ExportError::UnsupportedHash { .. })
    ));
    // A period the tokens cannot hold.
    let mut odd = a();
    odd.period = 45;
    for format in [
        Format::EntraCsv,
        Format::GraphJson,
        Format::Pskc,
        Format::PrivacyIdeaCsv,
    ] {
        assert!(
            matches!(
                format.render(&[odd.clone()], &o),
                Err(ExportError::UnsupportedPeriod { period: 45, .. })
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
    // Separators privacyIDEA cannot quote, control characters nobody can carry.
    let mut comma = a();
    comma.serial = "12,3".into();
    assert!(matches!(
        export::write_privacyidea_csv(&[comma]),
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
        if let Err(e) = format.render(&[odd.clone()], &o) {
            let text = e.to_string();
            assert!(
                !text.contains("GEZDGNBV") && !text.contains("MTIzNDU2"),
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
