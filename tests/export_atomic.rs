//! Export files on disk: mode 0600, atomic replacement, no partial or temporary file left
//! behind on error, and the QR PNG export with an injected renderer.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

#[path = "golden/records.rs"]
mod records;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use safeid::export::{self, ExportError, ExportOptions, Format};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    v.sort();
    v
}

#[test]
fn exports_are_written_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    for format in Format::ALL {
        let path = dir
            .path()
            .join(format!("out-{}.{}", format.name(), format.extension()));
        // The Duo CSV says one time step for the file: a() and e() are both 30 s.
        let records = [records::a(), records::e()];
        format
            .export_to(&path, &records, &ExportOptions::default())
            .unwrap();
        assert_eq!(mode(&path), 0o600, "{format:?}");
        let want = format.render(&records, &ExportOptions::default()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), want.expose());
    }
}

#[test]
fn an_existing_file_is_replaced_whole_and_made_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seeds.csv");
    fs::write(
        &path,
        "old contents that are longer than the new ones\n".repeat(10),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    export::write_atomic(&path, b"new\n").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new\n");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(names(dir.path()), ["seeds.csv"], "no temporary file left");
}

#[test]
fn a_failed_write_leaves_no_partial_or_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // The target is a directory: the final rename fails after the data was written.
    let target = dir.path().join("taken");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"x").unwrap();
    assert!(export::write_atomic(&target, b"secret bytes").is_err());
    assert_eq!(
        names(dir.path()),
        ["taken"],
        "the temporary file was removed"
    );
    assert_eq!(names(&target), ["keep"]);
    // A missing directory: nothing is created anywhere.
    assert!(export::write_atomic(&dir.path().join("missing/out.csv"), b"x").is_err());
    assert_eq!(names(dir.path()), ["taken"]);
    // A refused export writes nothing at all.
    let path = dir.path().join("entra.csv");
    let err = Format::EntraCsv.export_to(&path, &[records::c()], &ExportOptions::default());
    assert!(matches!(err, Err(ExportError::Limit { .. })));
    assert!(!path.exists());
}

#[test]
fn qr_pngs_one_per_token_through_the_given_renderer() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let paths = export::write_qr_pngs(
        &[records::a(), records::b()],
        dir.path(),
        &ExportOptions::default(),
        |uri| {
            seen.push(uri.to_owned());
            Ok::<_, String>(format!("PNG of {uri}").into_bytes())
        },
    )
    .unwrap();
    assert_eq!(
        names(dir.path()),
        ["8659612000001.png", "8659622000002.png"]
    );
    let expected = records::golden("export/otpauth.txt");
    let lines: Vec<&str> = expected.lines().take(2).collect();
    assert_eq!(seen, lines, "each QR code holds the token's otpauth URI");
    for p in &paths {
        assert_eq!(mode(p), 0o600);
    }
    assert_eq!(
        fs::read(&paths[0]).unwrap(),
        format!("PNG of {}", lines[0]).into_bytes()
    );
}

#[test]
fn qr_export_refuses_serials_that_are_not_file_names_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let mut evil = records::b();
    evil.serial = "../escape".into();
    let result = export::write_qr_pngs(
        &[records::a(), evil],
        dir.path(),
        &ExportOptions::default(),
        |_| Ok::<_, String>(Vec::new()),
    );
    assert!(matches!(result, Err(ExportError::FileName(_))));
    assert!(names(dir.path()).is_empty());
    for bad in ["", ".hidden", "a/b", "a b", "ü"] {
        assert!(export::qr_file_name(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        export::qr_file_name("8659612000001").unwrap(),
        "8659612000001.png"
    );
    let failing = export::write_qr_pngs(
        &[records::a()],
        dir.path(),
        &ExportOptions::default(),
        |_| Err("too long"),
    );
    assert!(matches!(failing, Err(ExportError::Render { .. })));
}

#[test]
fn qr_png_files_decode_back_to_the_otpauth_uris() {
    let dir = tempfile::tempdir().unwrap();
    let paths = export::write_qr_png_files(
        &[records::a(), records::c()],
        dir.path(),
        &ExportOptions::default(),
        export::QR_MODULE_PX,
    )
    .unwrap();
    let expected = records::golden("export/otpauth.txt");
    let lines: Vec<&str> = expected.lines().collect();
    for (path, want) in paths.iter().zip([lines[0], lines[2]]) {
        assert_eq!(mode(path), 0o600);
        let found = safeid::qr::decode_file(path, &safeid::qr::Limits::default()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text.expose(), want);
    }
}
