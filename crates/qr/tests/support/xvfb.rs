//! An Xvfb server for tests, and windows that show a grey image on it (x11rb PutImage, no
//! image viewer needed). Shared by safeid-qr's screen tests and the CLI's `scan --watch`
//! tests (which include this file by path).
#![allow(dead_code, clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, ImageFormat, WindowClass,
};
use x11rb::wrapper::ConnectionExt as _;

/// Kills the X server when dropped, also when an assertion fails.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_xvfb(screens: &[&str]) -> Option<(Server, String)> {
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
    // Tests of one binary run in parallel: each call takes the next number.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    for _ in 0..20 {
        let attempt = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let n = 100 + (std::process::id() as usize * 13 + attempt * 7) % 800;
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .arg(&display)
            .args(screens.iter().enumerate().flat_map(|(i, geometry)| {
                ["-screen".to_owned(), i.to_string(), (*geometry).to_owned()]
            }))
            // -noreset: by default Xvfb resets itself whenever its last client leaves, and a
            // connection that arrives during the reset is dropped ("connection reset by
            // peer"); a scan that connects once per poll met exactly that.
            .args(["-nolisten", "tcp", "-noreset"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut server = Server(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            // An Xvfb that ended did not get this display: try the next number.
            if server.0.try_wait().ok().flatten().is_some() {
                break;
            }
            if x11rb::connect(Some(&display)).is_ok() {
                return Some((server, display));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("Xvfb did not start");
}

/// Maps a window at (x, y) on screen `screen_num` showing `luma` (grey, 8 bits).
pub fn show(conn: &impl Connection, screen_num: usize, luma: &image::GrayImage, x: i16, y: i16) {
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
