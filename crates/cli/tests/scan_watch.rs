//! `safeid scan --screen --watch` on a real X server: an Xvfb with a 1080p and a 4K screen,
//! a code shown on the 4K one only after the watch has run for a while. Checks that the
//! watch reports that code once, redacted, and that while it waited it kept less than a
//! quarter of one core busy (the process's own CPU time from /proc, over a 6 s window).
//!
//! Skipped (with a message) when `Xvfb` is not installed; Debian package: `xvfb`.
#![allow(clippy::unwrap_used)]

#[path = "../../qr/tests/support/xvfb.rs"]
mod xvfb;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_safeid"))
}

/// User + system CPU time of a running process, in clock ticks (/proc/PID/stat fields 14
/// and 15, counted after the parenthesised command name).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_second() -> f64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Waits for the child to end within `limit`, killing it (and failing) otherwise.
fn finish(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the watch did not end within {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_watch_reports_a_late_code_once_and_stays_under_a_quarter_core() {
    let Some((_server, display)) = xvfb::start_xvfb(&["1920x1080x24", "3840x2160x24"]) else {
        return;
    };
    let secret = "KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ";
    let uri = format!("otpauth://totp/Mail:bob?secret={secret}&issuer=Mail");
    let child = Command::new(binary())
        .args(["scan", "--screen", "--watch", "--timeout", "60", "--json"])
        .env("DISPLAY", &display)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Let it start, then measure its CPU share over a window of scans of empty screens.
    std::thread::sleep(Duration::from_secs(1));
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    std::thread::sleep(Duration::from_secs(6));
    let (wall, used) = (
        t0.elapsed().as_secs_f64(),
        (cpu_ticks(pid) - c0) as f64 / clock_ticks_per_second(),
    );
    let share = used / wall;
    println!(
        "WATCH cpu {used:.2} s in {wall:.2} s = {:.1} % of one core (1080p + 4K, no code)",
        share * 100.0
    );
    assert!(
        share <= 0.25,
        "the watch used {:.1} % of a core",
        share * 100.0
    );

    let (conn, _) = x11rb::connect(Some(&display)).unwrap();
    let code = safeid::qr::generate::image(&uri, 4).unwrap();
    xvfb::show(&conn, 1, &code, 1400, 700);
    let shown = Instant::now();
    let out = finish(child, Duration::from_secs(30));
    println!(
        "WATCH code found {:.2} s after it appeared",
        shown.elapsed().as_secs_f64()
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "reported once: {stdout}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["kind"], "otpauth", "{v}");
    assert!(v["file"].as_str().unwrap().contains("screen 1"), "{v}");
    assert!(
        !stdout.contains(secret),
        "redacted without --reveal: {stdout}"
    );
    assert_eq!(v["credentials"][0]["account"], "bob", "{v}");
}

#[test]
fn the_watch_gives_up_after_its_timeout() {
    let Some((_server, display)) = xvfb::start_xvfb(&["1280x1024x24"]) else {
        return;
    };
    let started = Instant::now();
    let child = Command::new(binary())
        .args(["scan", "--screen", "--watch", "--timeout", "2"])
        .env("DISPLAY", &display)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(child, Duration::from_secs(20));
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        stderr.contains("no QR code appeared within 2 s"),
        "{stderr}"
    );
    assert!(stderr.contains("gives up after 2 s"), "{stderr}");
}

#[test]
fn watch_needs_screen() {
    let out = Command::new(binary())
        .args(["scan", "--watch", "some.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--screen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
