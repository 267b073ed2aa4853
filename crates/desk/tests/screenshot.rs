//! Starts the real binary under Xvfb, finds its window by title over X11, and saves a
//! screenshot of it as a PNG (docs/images/desk.png comes from this test, through
//! scripts/desk-screenshot.sh).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt, ImageFormat, Window};

/// Kills the child when dropped (a failed assertion must not leave Xvfb running).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const URI: &str =
    "otpauth://totp/JumpCloud:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=JumpCloud";

#[test]
#[ignore = "needs Xvfb and Mesa's software OpenGL (apt: xvfb libgl1-mesa-dri libegl1); run scripts/desk-screenshot.sh"]
fn real_window_under_xvfb_is_found_and_captured() {
    let display = free_display();
    let xvfb = Reaped(
        Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed"),
    );
    let (conn, screen) = connect(&display);
    let root = conn.setup().roots[screen].root;

    let app = Reaped(
        Command::new(env!("CARGO_BIN_EXE_safeid-desk"))
            .args(["--sim", "--uri", URI, "--connect"])
            .env("DISPLAY", &display)
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .env_remove("WAYLAND_DISPLAY")
            .spawn()
            .unwrap(),
    );
    let window = find_window(&conn, root, "safeid", Duration::from_secs(60));
    // The pointer out of the way (Xvfb starts it in the middle, over a control).
    conn.warp_pointer(x11rb::NONE, root, 0, 0, 0, 0, 1279, 799)
        .unwrap();
    conn.flush().unwrap();
    // Let the app lay out, read the token and draw a few frames.
    std::thread::sleep(Duration::from_secs(4));
    let geometry = conn.get_geometry(window).unwrap().reply().unwrap();
    let (w, h) = (geometry.width, geometry.height);
    assert!(w >= 400 && h >= 300, "window {w}x{h}");
    let image = conn
        .get_image(ImageFormat::Z_PIXMAP, window, 0, 0, w, h, !0)
        .unwrap()
        .reply()
        .unwrap();
    assert_eq!(image.depth, 24);
    let mut rgb = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for px in image.data.chunks_exact(4) {
        rgb.extend_from_slice(&[px[2], px[1], px[0]]);
    }
    let picture = image::RgbImage::from_raw(u32::from(w), u32::from(h), rgb).unwrap();
    // A drawn window, not a blank one: many colours (text is anti-aliased).
    let colours: std::collections::HashSet<_> = picture.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() > 50,
        "only {} colours: was anything drawn?",
        colours.len()
    );
    let out = std::env::var_os("SAFEID_DESK_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("desk.png"));
    picture.save(&out).unwrap();
    eprintln!("screenshot of {w}x{h} saved to {}", out.display());
    drop(app);
    drop(xvfb);
}

/// A display number nobody uses.
fn free_display() -> String {
    (90..200)
        .find(|n| {
            !PathBuf::from(format!("/tmp/.X11-unix/X{n}")).exists()
                && !PathBuf::from(format!("/tmp/.X{n}-lock")).exists()
        })
        .map(|n| format!(":{n}"))
        .expect("a free X display number")
}

fn connect(display: &str) -> (x11rb::rust_connection::RustConnection, usize) {
    let start = Instant::now();
    loop {
        match x11rb::connect(Some(display)) {
            Ok(c) => return c,
            Err(e) if start.elapsed() > Duration::from_secs(20) => panic!("Xvfb {display}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The mapped top-level window whose title starts with `prefix`.
fn find_window(conn: &impl Connection, root: Window, prefix: &str, timeout: Duration) -> Window {
    let start = Instant::now();
    loop {
        let tree = conn.query_tree(root).unwrap().reply().unwrap();
        for &w in &tree.children {
            let name = conn
                .get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256)
                .unwrap()
                .reply()
                .unwrap();
            let mapped = conn
                .get_window_attributes(w)
                .unwrap()
                .reply()
                .unwrap()
                .map_state
                == x11rb::protocol::xproto::MapState::VIEWABLE;
            if mapped && String::from_utf8_lossy(&name.value).starts_with(prefix) {
                return w;
            }
        }
        assert!(
            start.elapsed() < timeout,
            "no window titled {prefix}… appeared"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
