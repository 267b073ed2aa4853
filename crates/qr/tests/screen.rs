//! Screen capture for real: an Xvfb server with two screens, a generated QR code drawn into
//! a window on each (x11rb PutImage, no image viewer needed), then `scan_screens`.
//!
//! Skipped (with a message) when `Xvfb` is not installed; Debian package: `xvfb`.
#![allow(clippy::unwrap_used)]

#[path = "support/xvfb.rs"]
mod xvfb;

use std::process::Command;

use x11rb::connection::Connection;
use xvfb::{show, start_xvfb};

#[test]
fn capture_finds_codes_on_every_screen() {
    let Some((_server, display)) = start_xvfb(&["1920x1080x24", "1280x1024x24"]) else {
        return;
    };
    let first = "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME";
    let second = "otpauth://totp/Mail:bob?secret=KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ";
    let (conn, _) = x11rb::connect(Some(&display)).expect(&display);
    assert_eq!(conn.setup().roots.len(), 2);
    show(
        &conn,
        0,
        &safeid_qr::generate::image(first, 4).unwrap(),
        700,
        300,
    );
    show(
        &conn,
        1,
        &safeid_qr::generate::image(second, 3).unwrap(),
        100,
        500,
    );

    let shots = safeid_qr::screen::capture_display(Some(&display)).unwrap();
    assert!(shots.len() >= 2, "{shots:?}");
    assert!(
        shots.iter().any(|s| s.image.dimensions() == (1920, 1080)),
        "{shots:?}"
    );
    assert!(
        shots.iter().any(|s| s.image.dimensions() == (1280, 1024)),
        "{shots:?}"
    );

    let limits = safeid_qr::Limits::default();
    let scanned = safeid_qr::screen::scan_display(Some(&display), &limits).unwrap();
    let texts: Vec<(String, String)> = scanned
        .iter()
        .flat_map(|(name, found)| {
            found
                .iter()
                .map(|f| (name.clone(), f.text.expose().to_owned()))
        })
        .collect();
    assert_eq!(
        texts.len(),
        2,
        "{:?}",
        scanned.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    assert!(
        texts
            .iter()
            .any(|(n, t)| t == first && n.contains("screen 0"))
    );
    assert!(
        texts
            .iter()
            .any(|(n, t)| t == second && n.contains("screen 1"))
    );
}

#[test]
fn no_display_is_a_clear_error() {
    // Runs in a child process so that this process's environment stays untouched.
    if std::env::var_os("SAFEID_QR_CHILD").is_some() {
        return;
    }
    // An empty runtime directory: no compositor behind WAYLAND_DISPLAY, no session bus.
    let runtime = std::env::temp_dir().join(format!("safeid-qr-no-display-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_without_display",
            "--nocapture",
            "--include-ignored",
        ])
        .env("SAFEID_QR_CHILD", "1")
        .env_remove("DISPLAY")
        .env("WAYLAND_DISPLAY", "wayland-0")
        .env("XDG_RUNTIME_DIR", &runtime)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}/no-bus", runtime.display()),
        )
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&runtime);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
#[ignore = "run by no_display_is_a_clear_error in a child process"]
fn child_without_display() {
    let e = safeid_qr::capture_all().unwrap_err();
    if cfg!(feature = "wayland") {
        // Both Wayland routes tried, and the message says why each failed.
        assert!(matches!(e, safeid_qr::QrError::Screen(_)), "{e}");
        let message = e.to_string();
        assert!(message.contains("portal"), "{message}");
        assert!(message.contains("no D-Bus session bus"), "{message}");
        assert!(message.contains("screencopy"), "{message}");
        assert!(
            message.contains("cannot connect to the Wayland compositor"),
            "{message}"
        );
    } else {
        assert!(matches!(e, safeid_qr::QrError::WaylandUnsupported), "{e}");
        assert!(e.to_string().contains("Wayland without X"));
        assert!(e.to_string().contains("`wayland` feature"), "{e}");
    }
}

#[test]
fn a_screen_with_a_light_and_a_dark_mode_code_gives_both() {
    let Some((_server, display)) = start_xvfb(&["1920x1080x24"]) else {
        return;
    };
    let light = "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME";
    let dark = "otpauth://totp/Chat:carol?secret=MFRGGZDFMZTWQ2LKNNWG23TPOA&issuer=Chat";
    let (conn, _) = x11rb::connect(Some(&display)).unwrap();
    // A dark page around the dark-mode code: light modules on a near-black background,
    // as a dark theme draws it.
    let mut page = image::GrayImage::from_pixel(900, 900, image::Luma([24]));
    let mut code = safeid_qr::generate::image(dark, 5).unwrap();
    image::imageops::invert(&mut code);
    for p in code.pixels_mut() {
        p.0[0] = p.0[0].max(24);
    }
    image::imageops::overlay(&mut page, &code, 150, 150);
    show(&conn, 0, &page, 960, 90);
    show(
        &conn,
        0,
        &safeid_qr::generate::image(light, 5).unwrap(),
        200,
        300,
    );

    let limits = safeid_qr::Limits::default();
    let scanned = safeid_qr::screen::scan_display(Some(&display), &limits).unwrap();
    let mut texts: Vec<String> = scanned
        .iter()
        .flat_map(|(_, found)| found.iter().map(|f| f.text.expose().to_owned()))
        .collect();
    texts.sort();
    let mut want = vec![dark.to_owned(), light.to_owned()];
    want.sort();
    assert_eq!(texts, want);
}
