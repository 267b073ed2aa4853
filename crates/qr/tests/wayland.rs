//! Native Wayland capture against a real compositor: headless sway showing a QR code.
//!
//! sway (wlroots, headless backend, pixman renderer) runs in a private `XDG_RUNTIME_DIR`;
//! swaybg draws the code in the middle of a white output. The scan runs in a child process
//! (this test binary again, the ignored `child` test) because the routes are chosen from
//! process-wide environment variables: `WAYLAND_DISPLAY` and `XDG_RUNTIME_DIR` set,
//! `DISPLAY` removed, `DBUS_SESSION_BUS_ADDRESS` chosen per case.
//!
//! - `screencopy_without_a_session_bus`: the bus address points at nothing, so the portal
//!   route fails and the scan must fall back to wlroots screencopy.
//! - `portal_grant_and_refusal`: a private dbus-daemon (a config of its own: no service
//!   activation, nothing from the host's session), pipewire (xdg-desktop-portal-wlr 0.7
//!   exits at start without it), xdg-desktop-portal-wlr and xdg-desktop-portal 1.16. That
//!   xdg-desktop-portal only offers the Screenshot portal when some backend implements
//!   `org.freedesktop.impl.portal.Access`, and it asks it (the permission dialog) before a
//!   non-interactive screenshot of an unsandboxed program whose permission is not stored:
//!   xdg-desktop-portal-wlr has no Access, and the GTK/GNOME backends that do need a full
//!   desktop. So this test answers the dialog itself: a small Access implementation on the
//!   test's own bus connection, declared in a private portals directory
//!   (`XDG_DESKTOP_PORTAL_DIR`) next to a copy of `wlr.portal`. Granted, the scan must go
//!   through the portal (its screenshot's name says so) and find the code; refused, the
//!   scan must fail with `QrError::ScreenPermission` rather than fall back to screencopy.
//!
//! When a tool is missing the tests print SKIP and pass; they need the Debian packages
//! `sway swaybg grim xdg-desktop-portal xdg-desktop-portal-wlr pipewire dbus` (sway refuses
//! to run as root, so as root it is started as `nobody` through util-linux `setpriv`).
//! Every process started here is in a process group of its own, ended on drop.
#![cfg(feature = "wayland")]
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use safeid_qr::{Limits, QrError};

const TEXT: &str = "otpauth://totp/Test:alice?secret=JBSWY3DPEHPK3PXP&issuer=Test";
const CHILD: &str = "SAFEID_QR_WAYLAND_CHILD";
/// What a user without root is started as (sway refuses to run as root).
const NOBODY: u32 = 65534;

#[test]
#[ignore = "child process of the Wayland tests, started by them"]
fn child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    match safeid_qr::scan_screens(&Limits::default()) {
        Ok(screens) => {
            for (name, found) in screens {
                let texts: Vec<&str> = found.iter().map(|f| f.text.expose()).collect();
                println!("SCREEN\t{name}\t{}", texts.join("\t"));
            }
        }
        Err(e) => {
            let kind = match e {
                QrError::ScreenPermission(_) => "ScreenPermission",
                QrError::Screen(_) => "Screen",
                _ => "other",
            };
            println!("ERROR\t{kind}\t{e}");
        }
    }
}

/// What one child scan printed: `Ok` screens (name, texts) or `Err` (kind, message).
type Scan = Result<Vec<(String, Vec<String>)>, (String, String)>;

fn scan_in_child(env: &[(&str, &str)]) -> Scan {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1")
    .env_remove("DISPLAY")
    .env_remove("WAYLAND_SOCKET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut screens = Vec::new();
    for line in stdout.lines() {
        // The harness prints "test child ... " on the same line first.
        let line = ["SCREEN\t", "ERROR\t"]
            .iter()
            .find_map(|tag| line.find(tag).map(|i| &line[i..]))
            .unwrap_or(line);
        let mut parts = line.split('\t');
        match parts.next() {
            Some("SCREEN") => {
                let name = parts.next().unwrap_or_default().to_owned();
                let texts = parts.filter(|t| !t.is_empty()).map(str::to_owned);
                screens.push((name, texts.collect()));
            }
            Some("ERROR") => {
                let kind = parts.next().unwrap_or_default().to_owned();
                return Err((kind, parts.collect::<Vec<_>>().join("\t")));
            }
            _ => {}
        }
    }
    assert!(!screens.is_empty(), "child reported nothing\n{stdout}");
    Ok(screens)
}

/// Scans until the code shows (swaybg draws a moment after sway starts) or 10 s pass;
/// the last scan and how many were made.
fn scan_until_found(env: &[(&str, &str)]) -> (Scan, u32) {
    let start = Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        let scan = scan_in_child(env);
        let found = matches!(&scan, Ok(s) if s.iter().any(|(_, t)| !t.is_empty()));
        if found || scan.is_err() || start.elapsed() > Duration::from_secs(10) {
            return (scan, tries);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A program on `$PATH`, or `None`.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The first missing tool among `names` (programs on `$PATH` or absolute paths).
fn missing(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| {
            if n.starts_with('/') {
                !Path::new(n).exists()
            } else {
                which(n).is_none()
            }
        })
        .map(|n| (*n).to_owned())
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Processes started by the test, each the leader of its own process group, and a scratch
/// directory; all ended and removed on drop, also when an assertion failed.
struct Session {
    base: PathBuf,
    runtime: PathBuf,
    files: PathBuf,
    wayland_display: String,
    children: Vec<(String, Child)>,
}

impl Session {
    /// Starts headless sway with the QR code as its background.
    fn start(name: &str) -> Self {
        let base =
            std::env::temp_dir().join(format!("safeid-qr-wayland-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let runtime = base.join("runtime");
        let files = base.join("files");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::create_dir_all(&files).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&files, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        if is_root() {
            std::os::unix::fs::chown(&runtime, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let mut session = Session {
            base,
            runtime,
            files,
            wayland_display: String::new(),
            children: Vec::new(),
        };
        let png = safeid_qr::generate::png(TEXT, 8).unwrap();
        let qr = session.files.join("qr.png");
        std::fs::write(&qr, png).unwrap();
        let config = session.files.join("sway.conf");
        std::fs::write(
            &config,
            format!("output * bg {} center #ffffff\n", qr.display()),
        )
        .unwrap();

        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "sway",
            ]);
            c
        } else {
            Command::new("sway")
        };
        cmd.arg("-c").arg(&config).env_clear().envs([
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", session.files.display().to_string()),
            ("XDG_RUNTIME_DIR", session.runtime.display().to_string()),
            ("WLR_BACKENDS", "headless".into()),
            ("WLR_HEADLESS_OUTPUTS", "1".into()),
            ("WLR_LIBINPUT_NO_DEVICES", "1".into()),
            ("WLR_RENDERER", "pixman".into()),
        ]);
        session.spawn("sway", cmd);
        let runtime = session.runtime.clone();
        let socket = wait_for("sway's Wayland socket", Duration::from_secs(10), || {
            std::fs::read_dir(&runtime)
                .ok()?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|n| n.starts_with("wayland-") && !n.ends_with(".lock"))
        });
        session.wayland_display = socket;
        session
    }

    fn spawn(&mut self, label: &str, mut cmd: Command) {
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(self.base.join(format!("{label}.log"))).unwrap(),
            ));
        let child = cmd.spawn().unwrap();
        self.children.push((label.to_owned(), child));
    }

    /// Ends one process (its group) started as `label`.
    fn stop(&mut self, label: &str) {
        if let Some(i) = self.children.iter().position(|(l, _)| l == label) {
            let (_, mut child) = self.children.remove(i);
            let group = rustix::process::Pid::from_child(&child);
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            let _ = child.wait();
        }
    }

    fn runtime(&self) -> String {
        self.runtime.display().to_string()
    }

    /// A process's log, for failure messages.
    fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.base.join(format!("{label}.log"))).unwrap_or_default()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for (_, child) in self.children.iter_mut().rev() {
            let group = rustix::process::Pid::from_child(child);
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
        }
        for (_, child) in self.children.iter_mut().rev() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let group = rustix::process::Pid::from_child(child);
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn screencopy_without_a_session_bus() {
    if let Some(tool) = missing(&["sway", "swaybg"]).or_else(|| {
        if is_root() {
            missing(&["setpriv"])
        } else {
            None
        }
    }) {
        eprintln!("SKIP screencopy_without_a_session_bus: {tool} is not installed");
        return;
    }
    let start = Instant::now();
    let session = Session::start("screencopy");
    let started = start.elapsed();
    let runtime = session.runtime();
    let no_bus = format!("unix:path={runtime}/no-such-bus");
    let (scan, tries) = scan_until_found(&[
        ("WAYLAND_DISPLAY", &session.wayland_display),
        ("XDG_RUNTIME_DIR", &runtime),
        ("DBUS_SESSION_BUS_ADDRESS", &no_bus),
    ]);
    eprintln!(
        "WAYLAND screencopy: sway up in {:.2} s, scan found after {tries} tries, {:.2} s in all",
        started.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    let screens = scan.unwrap_or_else(|e| panic!("scan failed: {e:?}\n{}", session.log("sway")));
    assert_eq!(screens.len(), 1, "one headless output: {screens:?}");
    let (name, texts) = &screens[0];
    assert!(
        name.starts_with("wayland output ") && name.ends_with("(1280x720)"),
        "captured through screencopy: {name}"
    );
    assert_eq!(texts, &[TEXT.to_owned()]);

    // With XWayland's DISPLAY set as well (here to a display nobody serves), the Wayland
    // capture still comes first: XWayland's root window would show only X clients.
    let (scan, _) = scan_until_found(&[
        ("WAYLAND_DISPLAY", &session.wayland_display),
        ("XDG_RUNTIME_DIR", &runtime),
        ("DBUS_SESSION_BUS_ADDRESS", &no_bus),
        ("DISPLAY", ":987"),
    ]);
    let screens = scan.unwrap_or_else(|e| panic!("scan with DISPLAY set failed: {e:?}"));
    assert_eq!(screens.len(), 1, "{screens:?}");
    assert!(screens[0].0.starts_with("wayland output "), "{screens:?}");
    assert_eq!(screens[0].1, [TEXT.to_owned()]);
}

/// A Screenshot backend of version 2, the version from which xdg-desktop-portal asks the
/// Access backend for permission first (xdg-desktop-portal-wlr 0.7 is version 1, so the
/// frontend never asks with it). Refused, the frontend never calls it.
struct FakeScreenshot {
    called: Arc<AtomicUsize>,
}

#[zbus::interface(name = "org.freedesktop.impl.portal.Screenshot")]
impl FakeScreenshot {
    fn screenshot(
        &self,
        _handle: zbus::zvariant::ObjectPath<'_>,
        _app_id: &str,
        _parent_window: &str,
        _options: HashMap<String, zbus::zvariant::OwnedValue>,
    ) -> (u32, HashMap<String, zbus::zvariant::OwnedValue>) {
        self.called.fetch_add(1, Ordering::SeqCst);
        (2, HashMap::new())
    }

    // The portal interfaces spell their property in lower case.
    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        2
    }
}

/// `org.freedesktop.impl.portal.Access`: the permission dialog, answered by the test.
struct FakeAccess {
    grant: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
}

#[zbus::interface(name = "org.freedesktop.impl.portal.Access")]
impl FakeAccess {
    #[allow(clippy::too_many_arguments)]
    fn access_dialog(
        &self,
        _handle: zbus::zvariant::ObjectPath<'_>,
        _app_id: &str,
        _parent_window: &str,
        _title: &str,
        _subtitle: &str,
        _body: &str,
        _options: HashMap<String, zbus::zvariant::OwnedValue>,
    ) -> (u32, HashMap<String, zbus::zvariant::OwnedValue>) {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let response = if self.grant.load(Ordering::SeqCst) {
            0
        } else {
            1
        };
        (response, HashMap::new())
    }
}

const XDP: &str = "/usr/libexec/xdg-desktop-portal";
const XDP_WLR: &str = "/usr/libexec/xdg-desktop-portal-wlr";
const WLR_PORTAL: &str = "/usr/share/xdg-desktop-portal/portals/wlr.portal";
const ACCESS_NAME: &str = "org.safeid.test.PortalAccess";

fn name_has_owner(conn: &zbus::blocking::Connection, name: &str) -> bool {
    conn.call_method(
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        Some("org.freedesktop.DBus"),
        "NameHasOwner",
        &(name,),
    )
    .and_then(|m| m.body().deserialize::<bool>())
    .unwrap_or(false)
}

#[test]
fn portal_grant_and_refusal() {
    let tools = [
        "sway",
        "swaybg",
        "grim",
        "dbus-daemon",
        "pipewire",
        XDP,
        XDP_WLR,
        WLR_PORTAL,
    ];
    if let Some(tool) = missing(&tools).or_else(|| {
        if is_root() {
            missing(&["setpriv"])
        } else {
            None
        }
    }) {
        eprintln!("SKIP portal_grant_and_refusal: {tool} is not installed");
        return;
    }
    let start = Instant::now();
    let mut session = Session::start("portal");
    let runtime = session.runtime();
    let wayland = session.wayland_display.clone();

    // pipewire, which xdg-desktop-portal-wlr needs to start at all.
    let mut pw = Command::new("pipewire");
    pw.env("XDG_RUNTIME_DIR", &runtime)
        .env("DBUS_SESSION_BUS_ADDRESS", "disabled:")
        .env("HOME", &session.files);
    session.spawn("pipewire", pw);
    let pw_socket = session.runtime.join("pipewire-0");
    wait_for("pipewire's socket", Duration::from_secs(10), || {
        pw_socket.exists().then_some(())
    });

    // A private bus: its own config, no activation of the host's services.
    let bus_socket = session.runtime.join("bus");
    let bus_config = session.files.join("bus.conf");
    std::fs::write(
        &bus_config,
        format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n\
             <busconfig>\n  <type>session</type>\n  <listen>unix:path={}</listen>\n  \
             <auth>EXTERNAL</auth>\n  <policy context=\"default\">\n    \
             <allow send_destination=\"*\" eavesdrop=\"true\"/>\n    \
             <allow eavesdrop=\"true\"/>\n    <allow own=\"*\"/>\n  </policy>\n</busconfig>\n",
            bus_socket.display()
        ),
    )
    .unwrap();
    let mut bus = Command::new("dbus-daemon");
    bus.arg(format!("--config-file={}", bus_config.display()))
        .args(["--nofork", "--print-address=1"])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut bus_child = bus.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(bus_child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    session.children.push(("dbus-daemon".into(), bus_child));
    let address = line.trim().to_owned();
    assert!(address.starts_with("unix:"), "bus address {address:?}");

    // The permission dialog, answered here.
    let grant = Arc::new(AtomicBool::new(true));
    let asked = Arc::new(AtomicUsize::new(0));
    let fake_called = Arc::new(AtomicUsize::new(0));
    let access = zbus::blocking::connection::Builder::address(address.as_str())
        .unwrap()
        .name(ACCESS_NAME)
        .unwrap()
        .serve_at(
            "/org/freedesktop/portal/desktop",
            FakeAccess {
                grant: grant.clone(),
                asked: asked.clone(),
            },
        )
        .unwrap()
        .serve_at(
            "/org/freedesktop/portal/desktop",
            FakeScreenshot {
                called: fake_called.clone(),
            },
        )
        .unwrap()
        .build()
        .unwrap();

    let portals = session.files.join("portals");
    std::fs::create_dir_all(&portals).unwrap();
    std::fs::copy(WLR_PORTAL, portals.join("wlr.portal")).unwrap();
    std::fs::write(
        portals.join("safeid-test.portal"),
        format!(
            "[portal]\nDBusName={ACCESS_NAME}\nInterfaces=org.freedesktop.impl.portal.Access;\nUseIn=sway;\n"
        ),
    )
    .unwrap();
    // For the refusal: the test's own Screenshot backend of version 2, so that the frontend
    // shows (here: asks the test for) the permission dialog.
    let portals_v2 = session.files.join("portals-v2");
    std::fs::create_dir_all(&portals_v2).unwrap();
    std::fs::write(
        portals_v2.join("safeid-test.portal"),
        format!(
            "[portal]\nDBusName={ACCESS_NAME}\nInterfaces=org.freedesktop.impl.portal.Access;org.freedesktop.impl.portal.Screenshot;\nUseIn=sway;\n"
        ),
    )
    .unwrap();
    let portal_env = |cmd: &mut Command, portals: &Path| {
        cmd.env_clear().envs([
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", session.files.display().to_string()),
            ("XDG_RUNTIME_DIR", runtime.clone()),
            ("WAYLAND_DISPLAY", wayland.clone()),
            ("DBUS_SESSION_BUS_ADDRESS", address.clone()),
            ("XDG_CURRENT_DESKTOP", "sway".into()),
            ("XDG_DESKTOP_PORTAL_DIR", portals.display().to_string()),
        ]);
    };
    let mut wlr = Command::new(XDP_WLR);
    portal_env(&mut wlr, &portals);
    let mut xdp = Command::new(XDP);
    xdp.arg("--verbose");
    portal_env(&mut xdp, &portals);
    let mut xdp_v2 = Command::new(XDP);
    xdp_v2.arg("--verbose");
    portal_env(&mut xdp_v2, &portals_v2);
    session.spawn("xdg-desktop-portal-wlr", wlr);
    wait_for(
        "xdg-desktop-portal-wlr on the bus",
        Duration::from_secs(10),
        || name_has_owner(&access, "org.freedesktop.impl.portal.desktop.wlr").then_some(()),
    );
    session.spawn("xdg-desktop-portal", xdp);
    wait_for(
        "xdg-desktop-portal on the bus",
        Duration::from_secs(10),
        || name_has_owner(&access, "org.freedesktop.portal.Desktop").then_some(()),
    );
    let started = start.elapsed();

    let env = [
        ("WAYLAND_DISPLAY", wayland.as_str()),
        ("XDG_RUNTIME_DIR", runtime.as_str()),
        ("DBUS_SESSION_BUS_ADDRESS", address.as_str()),
    ];
    let (scan, tries) = scan_until_found(&env);
    let granted_at = start.elapsed();
    let logs = || {
        format!(
            "--- xdg-desktop-portal\n{}\n--- xdg-desktop-portal-wlr\n{}",
            session.log("xdg-desktop-portal"),
            session.log("xdg-desktop-portal-wlr")
        )
    };
    let screens = scan.unwrap_or_else(|e| panic!("scan failed: {e:?}\n{}", logs()));
    assert_eq!(screens.len(), 1, "one portal screenshot: {screens:?}");
    let (name, texts) = &screens[0];
    assert!(
        name.starts_with("wayland portal screenshot ") && name.ends_with("(1280x720)"),
        "captured through the portal, not the fallback: {name}\n{}",
        logs()
    );
    assert_eq!(texts, &[TEXT.to_owned()]);
    // xdg-desktop-portal-wlr's temporary file was removed after loading.
    assert!(
        !Path::new("/tmp/out.png").exists(),
        "the portal's /tmp/out.png is left behind"
    );

    // Refused: the documented error, and no screencopy behind the user's back.
    session.stop("xdg-desktop-portal");
    wait_for(
        "the first xdg-desktop-portal to leave",
        Duration::from_secs(5),
        || (!name_has_owner(&access, "org.freedesktop.portal.Desktop")).then_some(()),
    );
    session.spawn("xdg-desktop-portal-v2", xdp_v2);
    wait_for(
        "xdg-desktop-portal (v2 backend) on the bus",
        Duration::from_secs(10),
        || name_has_owner(&access, "org.freedesktop.portal.Desktop").then_some(()),
    );
    grant.store(false, Ordering::SeqCst);
    let asked_before = asked.load(Ordering::SeqCst);
    let refused = scan_in_child(&env);
    match &refused {
        Err((kind, message)) => {
            assert_eq!(kind, "ScreenPermission", "{message}");
            assert!(message.contains("permission refused"), "{message}");
        }
        Ok(screens) => panic!("refused, yet captured: {screens:?}"),
    }
    assert_eq!(
        asked.load(Ordering::SeqCst),
        asked_before + 1,
        "the frontend asked for permission once\n{}",
        session.log("xdg-desktop-portal-v2")
    );
    assert_eq!(
        fake_called.load(Ordering::SeqCst),
        0,
        "refused, yet the backend was called"
    );
    eprintln!(
        "WAYLAND portal: sway, pipewire, bus and portals up in {:.2} s, granted scan after {tries} tries at {:.2} s, refusal at {:.2} s",
        started.as_secs_f64(),
        granted_at.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    drop(access);
}
