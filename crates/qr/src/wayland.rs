//! Native Wayland screen capture (cargo feature `wayland`).
//!
//! Two routes, tried in this order:
//!
//! 1. The xdg-desktop-portal Screenshot portal over the D-Bus session bus (zbus, blocking
//!    API). It works on every desktop that ships a portal backend (GNOME, KDE, wlroots
//!    with xdg-desktop-portal-wlr) and may show the user a permission dialog. It gives one
//!    PNG of the whole desktop, loaded with the crate's bounded loader; the portal's
//!    temporary file is then removed, but only when it is plainly the portal's own
//!    temporary file (see [`is_portal_temp`]).
//! 2. When no portal answers (no session bus, no portal service, no Screenshot interface,
//!    no reply to the call), the wlroots screencopy protocol
//!    (`zwlr_screencopy_manager_v1`) straight on the compositor's socket, one capture per
//!    `wl_output`, through a shared-memory buffer read back with ordinary file reads.
//!
//! An answer from the portal that gives no image (response 1, cancelled; response 2,
//! which xdg-desktop-portal also sends when the user refused the permission dialog or
//! refused it before) is returned as [`QrError::ScreenPermission`] and not worked around
//! with screencopy.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use image::{GrayImage, RgbImage};
use wayland_client::globals::{GlobalListContents, registry_queue_init};
use wayland_client::protocol::{wl_buffer, wl_output, wl_registry, wl_shm, wl_shm_pool};
use wayland_client::{Connection, Dispatch, EventQueue, Proxy, QueueHandle, WEnum};
use wayland_protocols_wlr::screencopy::v1::client::{
    zwlr_screencopy_frame_v1 as frame_v1, zwlr_screencopy_manager_v1 as manager_v1,
};

use crate::screen::{Channels, PORTAL_TIMEOUT};
use crate::{Limits, QrError};

/// One captured image, in the channels the caller asked for.
pub(crate) enum Frame {
    /// R, G, B.
    Rgb(RgbImage),
    /// BT.709 luma.
    Luma(GrayImage),
}

/// What a capture route hands each image to: its name and its pixels.
pub(crate) type Sink<'a> = dyn FnMut(String, Frame) -> Result<(), QrError> + 'a;

/// Captures the Wayland desktop: the portal first, screencopy when no portal answers.
///
/// `each` is called once per image (one for the portal, one per output for screencopy),
/// the next image being captured only after it returned.
pub(crate) fn capture(
    limits: &Limits,
    channels: Channels,
    each: &mut Sink<'_>,
) -> Result<(), QrError> {
    let portal_failure = match portal(limits, channels) {
        Ok((name, frame)) => return each(name, frame),
        Err(Failure::Fatal(e)) => return Err(e),
        Err(Failure::Unavailable(why)) => why,
    };
    match screencopy(limits, channels, each) {
        Err(QrError::Screen(why)) => Err(QrError::Screen(format!(
            "Wayland capture: the xdg-desktop-portal screenshot failed ({portal_failure}), \
             and so did the wlroots screencopy fallback ({why})"
        ))),
        other => other,
    }
}

/// Why the portal gave no image.
enum Failure {
    /// No portal answered usefully: try screencopy.
    Unavailable(String),
    /// An answer that stands (the user refused, the image is beyond the limits).
    Fatal(QrError),
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::Unavailable(format!("{what}: {e}"))
}

const PORTAL_NAME: &str = "org.freedesktop.portal.Desktop";
const PORTAL_PATH: &str = "/org/freedesktop/portal/desktop";
const SCREENSHOT_IFACE: &str = "org.freedesktop.portal.Screenshot";
const REQUEST_IFACE: &str = "org.freedesktop.portal.Request";

/// Distinguishes the handle tokens of the requests of one process.
static TOKENS: AtomicU64 = AtomicU64::new(0);

/// What the portal thread tells the caller, in order.
enum Progress {
    /// The connection, so that the caller can close it when it stops waiting.
    Connected(zbus::blocking::Connection),
    /// The portal accepted the request: from now on it may be showing a dialog.
    Accepted,
    /// The outcome.
    Done(Result<PathBuf, Failure>),
}

/// The portal's screenshot, loaded within `limits`; its temporary file removed.
fn portal(limits: &Limits, channels: Channels) -> Result<(String, Frame), Failure> {
    let path = portal_request()?;
    let loaded = load_screenshot(&path, limits, channels).map_err(Failure::Fatal);
    if is_portal_temp(&path) {
        let _ = std::fs::remove_file(&path);
    }
    loaded
}

/// Runs the portal request on its own thread and waits at most [`PORTAL_TIMEOUT`] for it.
///
/// The blocking zbus API has no timeout on waiting for a signal, so the wait happens here;
/// when it runs out, the connection is closed, which ends the thread's wait too.
fn portal_request() -> Result<PathBuf, Failure> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("safeid-qr-portal".into())
        .spawn(move || {
            let outcome = portal_thread(&tx);
            let _ = tx.send(Progress::Done(outcome));
        })
        .map_err(|e| unavailable("cannot start the portal thread", e))?;
    let deadline = Instant::now() + PORTAL_TIMEOUT;
    let mut connection = None;
    let mut accepted = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Progress::Connected(c)) => connection = Some(c),
            Ok(Progress::Accepted) => accepted = true,
            Ok(Progress::Done(outcome)) => return outcome,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Failure::Unavailable(
                    "the portal thread ended without an answer".into(),
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(c) = connection {
                    let _ = c.close();
                }
                let secs = PORTAL_TIMEOUT.as_secs();
                return Err(if accepted {
                    // The request was accepted and never answered: a permission dialog
                    // is the usual reason.
                    Failure::Fatal(QrError::ScreenPermission(format!(
                        "no answer came within {secs} s (a permission dialog may still be open)"
                    )))
                } else {
                    Failure::Unavailable(format!("no reply from the portal within {secs} s"))
                });
            }
        }
    }
}

/// The D-Bus side: subscribe, call Screenshot, wait for its Response; the file's path.
fn portal_thread(tx: &mpsc::Sender<Progress>) -> Result<PathBuf, Failure> {
    use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

    let conn = zbus::blocking::connection::Builder::session()
        .and_then(|b| b.method_timeout(PORTAL_TIMEOUT).build())
        .map_err(|e| unavailable("no D-Bus session bus", e))?;
    let _ = tx.send(Progress::Connected(conn.clone()));
    let unique = conn
        .unique_name()
        .ok_or_else(|| Failure::Unavailable("the bus gave no unique name".into()))?
        .to_string();
    let sender = unique.trim_start_matches(':').replace('.', "_");
    let token = format!(
        "safeid_qr_{}_{}",
        std::process::id(),
        TOKENS.fetch_add(1, Ordering::Relaxed)
    );
    let predicted = format!("{PORTAL_PATH}/request/{sender}/{token}");
    // Subscribed before the call, so a fast Response cannot be missed; the path is
    // checked below (portals before 0.9 answered on another path, returned by the call).
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(REQUEST_IFACE)
        .and_then(|b| b.member("Response"))
        .map_err(|e| unavailable("match rule", e))?
        .build();
    let mut responses = zbus::blocking::MessageIterator::for_match_rule(rule, &conn, Some(16))
        .map_err(|e| unavailable("cannot subscribe to the portal's Response signal", e))?;
    let mut options: HashMap<&str, Value<'_>> = HashMap::new();
    options.insert("handle_token", Value::from(token.as_str()));
    options.insert("interactive", Value::from(false));
    let reply = conn
        .call_method(
            Some(PORTAL_NAME),
            PORTAL_PATH,
            Some(SCREENSHOT_IFACE),
            "Screenshot",
            &("", options),
        )
        .map_err(|e| unavailable("Screenshot call", e))?;
    let handle: OwnedObjectPath = reply
        .body()
        .deserialize()
        .map_err(|e| unavailable("unexpected reply to Screenshot", e))?;
    let _ = tx.send(Progress::Accepted);
    // Only the portal's own signals count, not another client's on the same path.
    let owner: String = conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "GetNameOwner",
            &(PORTAL_NAME,),
        )
        .and_then(|m| m.body().deserialize())
        .map_err(|e| unavailable("cannot find the portal's owner on the bus", e))?;
    for message in responses.by_ref() {
        let message = message.map_err(|e| unavailable("D-Bus", e))?;
        let header = message.header();
        let path = header.path().map(|p| p.as_str()).unwrap_or_default();
        if path != predicted && path != handle.as_str() {
            continue;
        }
        if header.sender().map(|s| s.as_str()) != Some(owner.as_str()) {
            continue;
        }
        let (response, results): (u32, HashMap<String, OwnedValue>) = message
            .body()
            .deserialize()
            .map_err(|e| unavailable("unexpected Response from the portal", e))?;
        return match response {
            0 => {
                let uri = match results.get("uri").map(|v| &**v) {
                    Some(Value::Str(s)) => s.as_str().to_owned(),
                    _ => {
                        return Err(Failure::Unavailable(
                            "the portal's answer has no uri".into(),
                        ));
                    }
                };
                file_uri_path(&uri).ok_or_else(|| {
                    Failure::Unavailable("the portal's uri is not a local file:// path".into())
                })
            }
            1 => Err(Failure::Fatal(QrError::ScreenPermission(
                "the request was cancelled".into(),
            ))),
            // xdg-desktop-portal (1.16 and later) answers 2 when the permission was
            // refused, now or remembered from before, as well as on other failures:
            // screencopy must not go behind the user's back then.
            other => Err(Failure::Fatal(QrError::ScreenPermission(format!(
                "the screenshot portal answered that it failed (response {other}): \
                 permission refused, now or remembered in the desktop's privacy settings, \
                 or another error of the portal"
            )))),
        };
    }
    Err(Failure::Unavailable(
        "the D-Bus connection closed before the portal answered".into(),
    ))
}

/// The local path of a `file://` URI (percent-decoded), or `None` for anything else:
/// another scheme or host, a relative path, `..` components, a NUL byte, a bad escape.
fn file_uri_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let raw = rest.as_bytes();
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let text = std::str::from_utf8(hex).ok()?;
            bytes.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else if b == b'?' || b == b'#' {
            return None;
        } else {
            bytes.push(b);
            i += 1;
        }
    }
    if bytes.contains(&0) {
        return None;
    }
    let path = PathBuf::from(OsString::from_vec(bytes));
    if path.components().any(|c| c == Component::ParentDir) {
        return None;
    }
    Some(path)
}

/// xdg-desktop-portal-wlr writes every screenshot to this one file.
const WLR_PORTAL_FILE: &str = "/tmp/out.png";

/// Whether `path` is the portal's temporary screenshot, which may be removed: a regular
/// file (not a symbolic link) of ours, named `*.png`, either xdg-desktop-portal-wlr's
/// fixed `/tmp/out.png` or anywhere under `$XDG_RUNTIME_DIR` except the document portal's
/// `doc/` (whose files are the user's own, exported). Anything else, such as GNOME's
/// screenshots in the user's Pictures folder, is left alone.
fn is_portal_temp(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.file_type().is_file() || meta.uid() != rustix::process::geteuid().as_raw() {
        return false;
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    if !name.to_string_lossy().ends_with(".png") {
        return false;
    }
    let Ok(dir) = dir.canonicalize() else {
        return false;
    };
    if dir.join(name) == Path::new(WLR_PORTAL_FILE) {
        return true;
    }
    let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) else {
        return false;
    };
    let Ok(runtime) = Path::new(&runtime).canonicalize() else {
        return false;
    };
    dir.starts_with(&runtime) && !dir.starts_with(runtime.join("doc"))
}

/// Reads (at most `max_file_bytes`) and decodes the portal's PNG within `limits`.
fn load_screenshot(
    path: &Path,
    limits: &Limits,
    channels: Channels,
) -> Result<(String, Frame), QrError> {
    let bytes = crate::load::read_file(path, limits)?;
    let frame = match channels {
        Channels::Luma => Frame::Luma(crate::load_luma(&bytes, limits)?),
        Channels::Rgb => Frame::Rgb(decode_rgb(&bytes, limits)?),
    };
    let (w, h) = match &frame {
        Frame::Rgb(i) => i.dimensions(),
        Frame::Luma(i) => i.dimensions(),
    };
    Ok((format!("wayland portal screenshot ({w}x{h})"), frame))
}

/// Decodes to RGB: dimensions checked before any pixel, the decoder under
/// `max_alloc_bytes`, and its output (at most 8 bytes per pixel) plus the RGB copy too.
fn decode_rgb(bytes: &[u8], limits: &Limits) -> Result<RgbImage, QrError> {
    let reader = || {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| QrError::Image(e.to_string()))
    };
    let (w, h) = reader()?.into_dimensions()?;
    limits.check_dimensions(w, h)?;
    if u64::from(w) * u64::from(h) * 11 > limits.max_alloc_bytes {
        return Err(QrError::TooLarge {
            width: w,
            height: h,
            limit: "max_alloc_bytes",
        });
    }
    let mut reader = reader()?;
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    Ok(reader.decode()?.to_rgb8())
}

/// How long the compositor may take for each step of screencopy.
const SCREENCOPY_TIMEOUT: Duration = Duration::from_secs(10);

fn sc_err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> QrError + '_ {
    move |e| QrError::Screen(format!("{what}: {e}"))
}

/// What the compositor told about one output.
struct OutputInfo {
    handle: wl_output::WlOutput,
    name: Option<String>,
    make_model: Option<String>,
}

/// What the compositor told about one screencopy frame.
struct FrameInfo {
    handle: frame_v1::ZwlrScreencopyFrameV1,
    /// The first shared-memory buffer offered: format code, width, height, stride.
    shm: Option<(u32, u32, u32, u32)>,
    buffer_done: bool,
    y_invert: bool,
    ready: bool,
    failed: bool,
}

#[derive(Default)]
struct State {
    outputs: Vec<OutputInfo>,
    frames: Vec<FrameInfo>,
}

impl Dispatch<wl_registry::WlRegistry, GlobalListContents> for State {
    fn event(
        _: &mut Self,
        _: &wl_registry::WlRegistry,
        _: wl_registry::Event,
        _: &GlobalListContents,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        // Outputs added or removed during the capture are not followed.
    }
}

impl Dispatch<wl_output::WlOutput, usize> for State {
    fn event(
        state: &mut Self,
        _: &wl_output::WlOutput,
        event: wl_output::Event,
        index: &usize,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let Some(info) = state.outputs.get_mut(*index) else {
            return;
        };
        match event {
            wl_output::Event::Name { name } => info.name = Some(name),
            wl_output::Event::Geometry { make, model, .. } => {
                info.make_model = Some(format!("{make} {model}"));
            }
            _ => {}
        }
    }
}

impl Dispatch<frame_v1::ZwlrScreencopyFrameV1, usize> for State {
    fn event(
        state: &mut Self,
        _: &frame_v1::ZwlrScreencopyFrameV1,
        event: frame_v1::Event,
        index: &usize,
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        let Some(info) = state.frames.get_mut(*index) else {
            return;
        };
        match event {
            frame_v1::Event::Buffer {
                format,
                width,
                height,
                stride,
            } => {
                let code = match format {
                    WEnum::Value(f) => u32::from(f),
                    WEnum::Unknown(c) => c,
                };
                // Prefer a format we can read if several are offered.
                if info.shm.is_none_or(|(c, ..)| shm_format(c).is_none()) {
                    info.shm = Some((code, width, height, stride));
                }
            }
            frame_v1::Event::Flags { flags } => {
                info.y_invert = match flags {
                    WEnum::Value(f) => f.contains(frame_v1::Flags::YInvert),
                    WEnum::Unknown(bits) => bits & 1 != 0,
                };
            }
            frame_v1::Event::BufferDone => info.buffer_done = true,
            frame_v1::Event::Ready { .. } => info.ready = true,
            frame_v1::Event::Failed => info.failed = true,
            _ => {}
        }
    }
}

macro_rules! ignore_events {
    ($($iface:ty),*) => {$(
        impl Dispatch<$iface, ()> for State {
            fn event(
                _: &mut Self,
                _: &$iface,
                _: <$iface as wayland_client::Proxy>::Event,
                _: &(),
                _: &Connection,
                _: &QueueHandle<Self>,
            ) {
            }
        }
    )*};
}

ignore_events!(
    wl_shm::WlShm,
    wl_shm_pool::WlShmPool,
    wl_buffer::WlBuffer,
    manager_v1::ZwlrScreencopyManagerV1
);

/// The byte order of a supported 32-bit wl_shm format: the offsets of R, G, B in each
/// little-endian pixel.
fn shm_format(code: u32) -> Option<(wl_shm::Format, [usize; 3])> {
    use wl_shm::Format;
    let format = Format::try_from(code).ok()?;
    match format {
        // 0xAARRGGBB little-endian: B, G, R, A in memory.
        Format::Argb8888 | Format::Xrgb8888 => Some((format, [2, 1, 0])),
        // 0xAABBGGRR little-endian: R, G, B, A in memory.
        Format::Abgr8888 | Format::Xbgr8888 => Some((format, [0, 1, 2])),
        _ => None,
    }
}

/// Dispatches events until `done` holds, waiting on the socket at most until `deadline`.
fn wait_until(
    queue: &mut EventQueue<State>,
    state: &mut State,
    deadline: Instant,
    done: impl Fn(&State) -> bool,
) -> Result<(), QrError> {
    loop {
        queue
            .dispatch_pending(state)
            .map_err(|e| sc_err("Wayland")(&e))?;
        if done(state) {
            return Ok(());
        }
        queue.flush().map_err(|e| sc_err("Wayland")(&e))?;
        let Some(guard) = queue.prepare_read() else {
            continue;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(QrError::Screen(format!(
                "the compositor did not answer within {} s",
                SCREENCOPY_TIMEOUT.as_secs()
            )));
        }
        let timeout = rustix::event::Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let fd = guard.connection_fd();
        let mut fds = [rustix::event::PollFd::from_borrowed_fd(
            fd,
            rustix::event::PollFlags::IN | rustix::event::PollFlags::ERR,
        )];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(sc_err("poll on the Wayland socket")(&e)),
        }
        match guard.read() {
            Ok(_) => {}
            Err(wayland_client::backend::WaylandError::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(sc_err("Wayland")(&e)),
        }
    }
}

/// A frame's buffer, checked: format, width, height, stride, bytes of the buffer.
struct Checked {
    format: wl_shm::Format,
    order: [usize; 3],
    width: u32,
    height: u32,
    stride: u32,
    len: u64,
}

fn check_frame(info: &FrameInfo, name: &str, limits: &Limits) -> Result<Checked, QrError> {
    let Some((code, width, height, stride)) = info.shm else {
        return Err(QrError::Screen(format!(
            "{name}: the compositor offers no shared-memory buffer"
        )));
    };
    let (format, order) = shm_format(code)
        .ok_or_else(|| QrError::Screen(format!("{name}: unsupported pixel format 0x{code:08x}")))?;
    limits.check_dimensions(width, height)?;
    if width.checked_mul(4).is_none_or(|row| stride < row) {
        return Err(QrError::Screen(format!(
            "{name}: stride {stride} too small for width {width}"
        )));
    }
    let len = u64::from(stride) * u64::from(height);
    // wl_shm sizes are i32.
    if i32::try_from(len).is_err()
        || i32::try_from(width).is_err()
        || i32::try_from(height).is_err()
    {
        return Err(QrError::TooLarge {
            width,
            height,
            limit: "max_alloc_bytes",
        });
    }
    Ok(Checked {
        format,
        order,
        width,
        height,
        stride,
        len,
    })
}

/// The screencopy route: every output, one after the other, into `each`.
fn screencopy(limits: &Limits, channels: Channels, each: &mut Sink<'_>) -> Result<(), QrError> {
    let conn = Connection::connect_to_env()
        .map_err(|e| sc_err("cannot connect to the Wayland compositor")(&e))?;
    let (globals, mut queue) =
        registry_queue_init::<State>(&conn).map_err(|e| sc_err("Wayland registry")(&e))?;
    let qh = queue.handle();
    let manager: manager_v1::ZwlrScreencopyManagerV1 =
        globals.bind(&qh, 1..=3, ()).map_err(|e| {
            sc_err("the compositor does not offer wlr-screencopy (zwlr_screencopy_manager_v1)")(&e)
        })?;
    let shm: wl_shm::WlShm = globals
        .bind(&qh, 1..=1, ())
        .map_err(|e| sc_err("the compositor does not offer wl_shm")(&e))?;
    let outputs: Vec<(u32, u32)> = globals.contents().with_list(|list| {
        list.iter()
            .filter(|g| g.interface == "wl_output")
            .map(|g| (g.name, g.version))
            .collect()
    });
    if outputs.is_empty() {
        return Err(QrError::Screen("the compositor has no output".into()));
    }
    let mut state = State::default();
    for (index, (global, version)) in outputs.into_iter().enumerate() {
        let handle = globals.registry().bind::<wl_output::WlOutput, _, _>(
            global,
            version.min(4),
            &qh,
            index,
        );
        state.outputs.push(OutputInfo {
            handle,
            name: None,
            make_model: None,
        });
    }
    for index in 0..state.outputs.len() {
        let handle = manager.capture_output(0, &state.outputs[index].handle, &qh, index);
        state.frames.push(FrameInfo {
            handle,
            shm: None,
            buffer_done: false,
            y_invert: false,
            ready: false,
            failed: false,
        });
    }
    let v3 = manager.version() >= 3;
    wait_until(
        &mut queue,
        &mut state,
        Instant::now() + SCREENCOPY_TIMEOUT,
        |s| {
            s.frames
                .iter()
                .all(|f| f.failed || (f.shm.is_some() && (!v3 || f.buffer_done)))
        },
    )?;

    // Every output's geometry against the limits before anything is allocated.
    let mut checked = Vec::new();
    let mut total = 0u64;
    let mut largest_step = 0u64;
    for (index, frame) in state.frames.iter().enumerate() {
        let name = output_name(&state.outputs[index], index);
        if frame.failed {
            return Err(QrError::Screen(format!(
                "the compositor could not capture {name}"
            )));
        }
        let c = check_frame(frame, &name, limits)?;
        let pixels = u64::from(c.width) * u64::from(c.height);
        let (image, step) = match channels {
            // All images are returned together; one shared buffer at a time.
            Channels::Rgb => (3 * pixels, c.len),
            // Each image is decoded before the next: its luma and its buffer.
            Channels::Luma => (0, pixels.saturating_add(c.len)),
        };
        total = total.saturating_add(image);
        largest_step = largest_step.max(step);
        if total.saturating_add(largest_step) > limits.max_alloc_bytes {
            return Err(QrError::TooLarge {
                width: c.width,
                height: c.height,
                limit: "max_alloc_bytes",
            });
        }
        checked.push((name, c));
    }

    for (index, (name, c)) in checked.into_iter().enumerate() {
        let frame = copy_frame(&mut queue, &mut state, index, &shm, &qh, &c, channels).map_err(
            |e| match e {
                QrError::Screen(m) => QrError::Screen(format!("{name}: {m}")),
                other => other,
            },
        )?;
        let label = format!("wayland output {name} ({}x{})", c.width, c.height);
        each(label, frame)?;
    }
    Ok(())
}

fn output_name(info: &OutputInfo, index: usize) -> String {
    info.name
        .clone()
        .or_else(|| info.make_model.clone())
        .unwrap_or_else(|| index.to_string())
}

/// Copies one frame into a fresh memfd-backed wl_shm buffer and reads it back.
fn copy_frame(
    queue: &mut EventQueue<State>,
    state: &mut State,
    index: usize,
    shm: &wl_shm::WlShm,
    qh: &QueueHandle<State>,
    c: &Checked,
    channels: Channels,
) -> Result<Frame, QrError> {
    let io = |e: std::io::Error| sc_err("shared-memory buffer")(&e);
    let fd = rustix::fs::memfd_create("safeid-qr-screencopy", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| io(e.into()))?;
    let file = File::from(fd);
    file.set_len(c.len).map_err(io)?;
    // The sizes fit in i32 (check_frame).
    let as_i32 = |v: u64| i32::try_from(v).unwrap_or(i32::MAX);
    let pool = shm.create_pool(file.as_fd(), as_i32(c.len), qh, ());
    let buffer = pool.create_buffer(
        0,
        as_i32(c.width.into()),
        as_i32(c.height.into()),
        as_i32(c.stride.into()),
        c.format,
        qh,
        (),
    );
    let frame = state.frames[index].handle.clone();
    frame.copy(&buffer);
    let waited = wait_until(queue, state, Instant::now() + SCREENCOPY_TIMEOUT, |s| {
        s.frames[index].ready || s.frames[index].failed
    });
    let info = &state.frames[index];
    let (ready, y_invert) = (info.ready, info.y_invert);
    frame.destroy();
    buffer.destroy();
    pool.destroy();
    let _ = queue.flush();
    waited?;
    if !ready {
        return Err(QrError::Screen("the compositor failed to copy it".into()));
    }
    read_pixels(&file, c, y_invert, channels)
}

/// Reads the buffer row by row with positioned reads and converts it.
fn read_pixels(
    file: &File,
    c: &Checked,
    y_invert: bool,
    channels: Channels,
) -> Result<Frame, QrError> {
    let (w, h) = (c.width as usize, c.height as usize);
    let per_pixel = if channels == Channels::Rgb { 3 } else { 1 };
    let mut out = vec![0u8; per_pixel * w * h];
    let mut row = vec![0u8; 4 * w];
    for (y, dst) in out.chunks_exact_mut(per_pixel * w).enumerate() {
        let src_row = if y_invert { h - 1 - y } else { y };
        let offset = u64::from(c.stride) * src_row as u64;
        file.read_exact_at(&mut row, offset)
            .map_err(|e| sc_err("reading the shared-memory buffer")(&e))?;
        convert_row(&row, c.order, channels, dst);
    }
    let (w, h) = (c.width, c.height);
    let wrong = || QrError::Screen("screenshot buffer of the wrong size".into());
    Ok(match channels {
        Channels::Rgb => Frame::Rgb(RgbImage::from_raw(w, h, out).ok_or_else(wrong)?),
        Channels::Luma => Frame::Luma(GrayImage::from_raw(w, h, out).ok_or_else(wrong)?),
    })
}

/// One row of 4-byte pixels (R, G, B at `order`) to RGB or BT.709 luma (integer weights,
/// as the X11 capture and `to_luma`).
fn convert_row(row: &[u8], order: [usize; 3], channels: Channels, out: &mut [u8]) {
    let [r, g, b] = order;
    match channels {
        Channels::Rgb => {
            for (p, d) in row.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
                d.copy_from_slice(&[p[r], p[g], p[b]]);
            }
        }
        Channels::Luma => {
            for (p, d) in row.chunks_exact(4).zip(out.iter_mut()) {
                *d = ((54 * u32::from(p[r]) + 183 * u32::from(p[g]) + 19 * u32::from(p[b])) >> 8)
                    as u8;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn file_uris() {
        assert_eq!(
            file_uri_path("file:///tmp/out.png"),
            Some(PathBuf::from("/tmp/out.png"))
        );
        assert_eq!(
            file_uri_path("file://localhost/run/user/1000/a%20b.png"),
            Some(PathBuf::from("/run/user/1000/a b.png"))
        );
        assert_eq!(file_uri_path("https://example.org/a.png"), None);
        assert_eq!(file_uri_path("file://host/a.png"), None);
        assert_eq!(file_uri_path("file:///tmp/%2e%2e/etc/passwd"), None);
        assert_eq!(file_uri_path("file:///tmp/a%0"), None);
        assert_eq!(file_uri_path("file:///tmp/a%+1"), None);
        assert_eq!(file_uri_path("file:///tmp/a%00b"), None);
        assert_eq!(file_uri_path("file://"), None);
    }

    #[test]
    fn only_portal_temp_files_are_removable() {
        let dir = std::env::temp_dir().join(format!("safeid-qr-wl-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let png = dir.join("shot.png");
        std::fs::write(&png, b"x").unwrap();
        // Outside $XDG_RUNTIME_DIR and not /tmp/out.png: kept.
        assert!(!is_portal_temp(&png));
        assert!(!is_portal_temp(Path::new("/etc/passwd")));
        assert!(!is_portal_temp(Path::new("/nonexistent/out.png")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pixel_orders() {
        // One pixel R=200, G=100, B=50 in both byte orders.
        let argb = [50u8, 100, 200, 255];
        let abgr = [200u8, 100, 50, 255];
        let (_, o1) = shm_format(u32::from(wl_shm::Format::Xrgb8888)).unwrap();
        let (_, o2) = shm_format(u32::from(wl_shm::Format::Abgr8888)).unwrap();
        let mut rgb = [0u8; 3];
        convert_row(&argb, o1, Channels::Rgb, &mut rgb);
        assert_eq!(rgb, [200, 100, 50]);
        convert_row(&abgr, o2, Channels::Rgb, &mut rgb);
        assert_eq!(rgb, [200, 100, 50]);
        let mut luma = [0u8; 1];
        convert_row(&argb, o1, Channels::Luma, &mut luma);
        // (54*200 + 183*100 + 19*50) / 256, by hand: 30050 / 256 = 117.
        assert_eq!(luma, [117]);
        assert!(shm_format(u32::from(wl_shm::Format::Rgb565)).is_none());
    }
}
