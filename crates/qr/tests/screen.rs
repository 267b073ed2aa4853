//! Screen capture for real: an Xvfb server with two screens, a generated QR code drawn into
//! a window on each (x11rb PutImage, no image viewer needed), then `scan_screens`.
//!
//! Skipped (with a message) when `Xvfb` is not installed; Debian package: `xvfb`.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, ImageFormat, WindowClass,
};
use x11rb::wrapper::ConnectionExt as _;

/// Kills the X server when dropped, also when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_xvfb() -> Option<(Server, String)> {
    if Command::new("Xvfb")
        .arg("-help")
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("skipped: Xvfb is not installed (Debian package xvfb)");
        return None;
    }
    // A display number unlikely to be taken, derived from the process id.
    for attempt in 0..20 {
        let n = 100 + (std::process::id() as usize + attempt * 7) % 800;
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                "1920x1080x24",
                "-screen",
                "1",
                "1280x1024x24",
            ])
            .args(["-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = Server(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if x11rb::connect(Some(&display)).is_ok() {
                return Some((server, display));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("Xvfb did not start");
}

/// Maps a window at (x, y) on `screen` showing `luma` (grey, 8 bits).
fn show(conn: &impl Connection, screen_num: usize, luma: &image::GrayImage, x: i16, y: i16) {
    let screen = &conn.setup().roots[screen_num];
    let (w, h) = (luma.width() as u16, luma.height() as u16);
    let win = conn.generate_id().unwrap();
    conn.create_window(
        screen.root_depth,
        win,
        screen.root,
        x,
        y,
        w,
        h,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new()
            .background_pixel(screen.white_pixel)
            .override_redirect(1)
            .event_mask(EventMask::EXPOSURE),
    )
    .unwrap();
    conn.map_window(win).unwrap();
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, win, &CreateGCAux::new()).unwrap();
    // 32-bit little-endian BGRX pixels, sent in strips that fit any request size.
    let rows_per_strip = (60_000 / (usize::from(w) * 4)).max(1) as u16;
    let mut row = 0u16;
    while row < h {
        let rows = rows_per_strip.min(h - row);
        let mut data = Vec::with_capacity(usize::from(w) * usize::from(rows) * 4);
        for yy in row..row + rows {
            for xx in 0..w {
                let v = luma.get_pixel(u32::from(xx), u32::from(yy)).0[0];
                data.extend_from_slice(&[v, v, v, 0]);
            }
        }
        conn.put_image(
            ImageFormat::Z_PIXMAP,
            win,
            gc,
            w,
            rows,
            0,
            row as i16,
            0,
            screen.root_depth,
            &data,
        )
        .unwrap();
        row += rows;
    }
    conn.sync().unwrap();
}

#[test]
fn capture_finds_codes_on_every_screen() {
    let Some((_server, display)) = start_xvfb() else {
        return;
    };
    let first = "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME";
    let second = "otpauth://totp/Mail:bob?secret=KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ";
    let (conn, _) = x11rb::connect(Some(&display)).unwrap();
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
        .output()
        .unwrap();
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
    assert!(matches!(e, safeid_qr::QrError::WaylandUnsupported), "{e}");
    assert!(e.to_string().contains("Wayland without X"));
}
