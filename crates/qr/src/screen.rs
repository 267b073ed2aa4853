//! Screen capture of every monitor, for `safeid scan` without an image file.
//!
//! X11 (and XWayland) is captured through x11rb's pure-Rust connection: every screen of the
//! display (`-screen 0`, `-screen 1`, ...) and, within each, every RandR monitor (or the
//! whole root window when RandR is missing).
//!
//! A Wayland session (`$WAYLAND_DISPLAY` set) is captured when the crate is built with its
//! `wayland` feature, before X11 even when XWayland set `$DISPLAY` (XWayland's root window
//! shows only X clients); a capture failure then falls back to X11. The Wayland capture
//! goes through the xdg-desktop-portal Screenshot
//! portal first, which may make the desktop ask the user for permission (see
//! [`may_ask_permission`], [`PORTAL_TIMEOUT`] and [`QrError::ScreenPermission`]), then,
//! when no portal answers, through the wlroots screencopy protocol. Without the feature
//! such a session is [`QrError::WaylandUnsupported`].

use std::time::Duration;

use image::RgbImage;
use x11rb::connection::Connection;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat, Screen, Visualtype};
use x11rb::rust_connection::RustConnection;

use crate::{Found, Limits, QrError};

/// One captured monitor.
#[derive(Clone)]
pub struct Screenshot {
    /// Where it came from, e.g. `":99 screen 0 monitor screen (1920x1080+0+0)"`.
    pub name: String,
    /// The pixels.
    pub image: RgbImage,
}

impl std::fmt::Debug for Screenshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screenshot")
            .field("name", &self.name)
            .field("width", &self.image.width())
            .field("height", &self.image.height())
            .finish()
    }
}

/// A rectangle of one X screen to capture.
struct Area {
    name: String,
    x: i16,
    y: i16,
    width: u16,
    height: u16,
}

/// How long a capture through the xdg-desktop-portal waits for the portal's answer (feature
/// `wayland`). Fixed rather than [`Limits::deadline`], which bounds decoding (seconds), because
/// the portal may be showing the user a permission dialog; past it the capture fails with
/// [`QrError::ScreenPermission`] (or, when the portal never accepted the request, falls
/// back to screencopy).
pub const PORTAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a capture of the default display ([`capture_all`], [`scan_screens`], `None` as
/// the display) will go through the Wayland screenshot portal, where the desktop may show a
/// permission dialog: this build has the `wayland` feature and `$WAYLAND_DISPLAY` is set
/// (with or without XWayland's `$DISPLAY`). Callers can tell the user before they capture,
/// e.g. "your desktop may ask you to allow a screenshot".
pub fn may_ask_permission() -> bool {
    cfg!(feature = "wayland") && wayland_session()
}

/// `$WAYLAND_DISPLAY` set and not empty.
#[cfg_attr(not(feature = "wayland"), allow(dead_code))]
fn wayland_session() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

/// `$DISPLAY` set and not empty (an X server, or XWayland).
#[cfg_attr(not(feature = "wayland"), allow(dead_code))]
fn x_display() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
}

/// On a Wayland session the Wayland capture comes first, even when XWayland set
/// `$DISPLAY`: XWayland's root window shows only the X clients, not the native windows a
/// code is usually in. A capture failure falls back to X11 when there is a `$DISPLAY`; a
/// refusal ([`QrError::ScreenPermission`]) is the user's answer and is returned, and so is
/// any error of decoding.
#[cfg(feature = "wayland")]
fn wayland_first<T>(mut capture: impl FnMut() -> Result<T, QrError>) -> Option<Result<T, QrError>> {
    if !wayland_session() {
        return None;
    }
    match capture() {
        Err(QrError::Screen(_)) if x_display() => None,
        other => Some(other),
    }
}

fn x_err(what: &str) -> impl Fn(&dyn std::fmt::Display) -> QrError + '_ {
    move |e| QrError::Screen(format!("{what}: {e}"))
}

/// Captures every monitor of every screen of the X display named by `$DISPLAY`, or, when
/// `$WAYLAND_DISPLAY` is set and the `wayland` feature is on, the Wayland desktop first
/// (see the module documentation).
///
/// Errors: [`QrError::WaylandUnsupported`] when only `$WAYLAND_DISPLAY` is set and the
/// feature is off, [`QrError::ScreenPermission`] when the desktop's portal was refused,
/// [`QrError::Screen`] when there is no display or the X server (or every Wayland route)
/// refuses.
pub fn capture_all() -> Result<Vec<Screenshot>, QrError> {
    capture_display(None)
}

/// Like [`capture_all`], for the X display `display` (e.g. `":1"`); `None` means `$DISPLAY`
/// (or the Wayland desktop, as [`capture_all`]).
///
/// Within [`Limits::default`]: see [`capture_display_within`].
pub fn capture_display(display: Option<&str>) -> Result<Vec<Screenshot>, QrError> {
    capture_display_within(display, &Limits::default())
}

/// Like [`capture_display`], within `limits`: the geometry the server reports for every
/// monitor is checked against the size limits, and the memory of all the screenshots
/// (3 bytes per pixel, they are returned together) plus one GetImage strip against
/// `limits.max_alloc_bytes`, before any pixel is requested or allocated
/// ([`QrError::TooLarge`]). On Wayland the same holds for the portal's image (its file
/// size, dimensions and decoding memory) and for every screencopy output.
pub fn capture_display_within(
    display: Option<&str>,
    limits: &Limits,
) -> Result<Vec<Screenshot>, QrError> {
    #[cfg(feature = "wayland")]
    if display.is_none()
        && let Some(result) = wayland_first(|| {
            let mut shots = Vec::new();
            crate::wayland::capture(limits, Channels::Rgb, &mut |name, frame| {
                let image = match frame {
                    crate::wayland::Frame::Rgb(image) => image,
                    crate::wayland::Frame::Luma(luma) => {
                        image::DynamicImage::ImageLuma8(luma).to_rgb8()
                    }
                };
                shots.push(Screenshot { name, image });
                Ok(())
            })?;
            Ok(shots)
        })
    {
        return result;
    }
    let (conn, display) = connect(display)?;
    let mut all = Vec::new();
    for (index, screen) in conn.setup().roots.iter().enumerate() {
        for area in areas(&conn, &display, index, screen) {
            check_area(&area, limits)?;
            all.push((index, area));
        }
    }
    let need = all.iter().fold(STRIP_BYTES as u64, |sum, (_, a)| {
        sum.saturating_add(3 * u64::from(a.width) * u64::from(a.height))
    });
    if need > limits.max_alloc_bytes {
        let (w, h) = all
            .iter()
            .map(|(_, a)| (u32::from(a.width), u32::from(a.height)))
            .max_by_key(|&(w, h)| u64::from(w) * u64::from(h))
            .unwrap_or((0, 0));
        return Err(QrError::TooLarge {
            width: w,
            height: h,
            limit: "max_alloc_bytes",
        });
    }
    let mut shots = Vec::new();
    for (index, area) in all {
        let screen = &conn.setup().roots[index];
        let (w, h) = (u32::from(area.width), u32::from(area.height));
        let mut raw = vec![0u8; 3 * w as usize * h as usize];
        grab(&conn, screen, &area, Channels::Rgb, &mut raw)?;
        let image = RgbImage::from_raw(w, h, raw)
            .ok_or_else(|| QrError::Screen("screenshot buffer of the wrong size".into()))?;
        shots.push(Screenshot {
            name: area.name,
            image,
        });
    }
    Ok(shots)
}

/// The most one GetImage reply holds (and so the most the capture holds besides the
/// screenshot itself).
const STRIP_BYTES: usize = 8 << 20;

fn connect(display: Option<&str>) -> Result<(RustConnection, String), QrError> {
    let display = match display {
        Some(d) => Some(d.to_owned()),
        None => std::env::var("DISPLAY").ok(),
    };
    let Some(display) = display.filter(|d| !d.is_empty()) else {
        if std::env::var_os("WAYLAND_DISPLAY").is_some() {
            return Err(QrError::WaylandUnsupported);
        }
        return Err(QrError::Screen(
            "no display: DISPLAY is not set (no X11 session)".into(),
        ));
    };
    let (conn, _) =
        x11rb::connect(Some(&display)).map_err(|e| x_err("cannot connect to the X server")(&e))?;
    Ok((conn, display))
}

/// The server-reported geometry of one area against the size limits.
fn check_area(area: &Area, limits: &Limits) -> Result<(), QrError> {
    limits.check_dimensions(u32::from(area.width), u32::from(area.height))
}

/// The RandR monitors of a screen, or its whole root window.
fn areas(conn: &RustConnection, display: &str, index: usize, screen: &Screen) -> Vec<Area> {
    let whole = || Area {
        name: format!(
            "{display} screen {index} ({}x{})",
            screen.width_in_pixels, screen.height_in_pixels
        ),
        x: 0,
        y: 0,
        width: screen.width_in_pixels,
        height: screen.height_in_pixels,
    };
    let monitors = conn
        .randr_get_monitors(screen.root, true)
        .ok()
        .and_then(|cookie| cookie.reply().ok())
        .map(|r| r.monitors)
        .unwrap_or_default();
    let mut out = Vec::new();
    for m in monitors {
        // Clip to the root window: GetImage outside it is an error.
        let x0 = i32::from(m.x).max(0);
        let y0 = i32::from(m.y).max(0);
        let x1 = (i32::from(m.x) + i32::from(m.width)).min(i32::from(screen.width_in_pixels));
        let y1 = (i32::from(m.y) + i32::from(m.height)).min(i32::from(screen.height_in_pixels));
        if x1 <= x0 || y1 <= y0 {
            continue;
        }
        let label = conn
            .get_atom_name(m.name)
            .ok()
            .and_then(|c| c.reply().ok())
            .map(|r| String::from_utf8_lossy(&r.name).into_owned())
            .unwrap_or_else(|| "?".into());
        out.push(Area {
            name: format!(
                "{display} screen {index} monitor {label} ({}x{}+{x0}+{y0})",
                x1 - x0,
                y1 - y0
            ),
            x: x0 as i16,
            y: y0 as i16,
            width: (x1 - x0) as u16,
            height: (y1 - y0) as u16,
        });
    }
    if out.is_empty() {
        out.push(whole());
    }
    out
}

/// What [`grab`] (and the Wayland capture) writes per pixel.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channels {
    /// R, G, B.
    Rgb,
    /// BT.709 luma, integer weights (as `to_luma`).
    Luma,
}

/// Reads one area with GetImage (ZPixmap), in strips of at most [`STRIP_BYTES`], into
/// `out` (3 or 1 bytes per pixel, rows without padding).
fn grab(
    conn: &RustConnection,
    screen: &Screen,
    area: &Area,
    channels: Channels,
    out: &mut [u8],
) -> Result<(), QrError> {
    let visual = find_visual(screen).ok_or_else(|| {
        QrError::Screen("root visual not found in the server's description".into())
    })?;
    let bpp = conn
        .setup()
        .pixmap_formats
        .iter()
        .find(|f| f.depth == screen.root_depth)
        .map(|f| f.bits_per_pixel)
        .unwrap_or(32);
    if bpp != 32 && bpp != 24 && bpp != 16 {
        return Err(QrError::Screen(format!(
            "unsupported pixel format: {bpp} bits per pixel"
        )));
    }
    let (w, h) = (u32::from(area.width), u32::from(area.height));
    let per_pixel = if channels == Channels::Rgb { 3 } else { 1 };
    if out.len() != per_pixel * w as usize * h as usize {
        return Err(QrError::Screen(
            "screenshot buffer of the wrong size".into(),
        ));
    }
    let strip = (STRIP_BYTES as u32 / (w.max(1) * 4)).clamp(1, h.max(1));
    let msb = conn.setup().image_byte_order == x11rb::protocol::xproto::ImageOrder::MSB_FIRST;
    let mut y = 0u32;
    while y < h {
        let rows = strip.min(h - y);
        let top = i16::try_from(i32::from(area.y) + y as i32)
            .map_err(|_| QrError::Screen("monitor beyond X coordinates".into()))?;
        let reply = conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                screen.root,
                area.x,
                top,
                area.width,
                rows as u16,
                !0,
            )
            .map_err(|e| x_err("GetImage")(&e))?
            .reply()
            .map_err(|e| x_err("GetImage")(&e))?;
        let start = per_pixel * w as usize * y as usize;
        let end = per_pixel * w as usize * (y + rows) as usize;
        unpack(
            &reply.data,
            (bpp, msb),
            &visual,
            (w, rows),
            channels,
            &mut out[start..end],
        )?;
        y += rows;
    }
    Ok(())
}

fn find_visual(screen: &Screen) -> Option<Visualtype> {
    screen
        .allowed_depths
        .iter()
        .flat_map(|d| d.visuals.iter())
        .find(|v| v.visual_id == screen.root_visual)
        .copied()
}

/// Converts ZPixmap rows (pixels of `bpp` bits in the server's byte order, rows padded to
/// 32 bits) to `rows` rows of RGB or luma in `out`.
fn unpack(
    data: &[u8],
    (bpp, msb): (u8, bool),
    visual: &Visualtype,
    (width, rows): (u32, u32),
    channels: Channels,
    out: &mut [u8],
) -> Result<(), QrError> {
    let bytes_pp = usize::from(bpp / 8);
    let stride = (width as usize * bytes_pp).div_ceil(4) * 4;
    if data.len() < stride * rows as usize {
        return Err(QrError::Screen("GetImage returned too little data".into()));
    }
    let channel = |pixel: u32, mask: u32| -> u8 {
        if mask == 0 {
            return 0;
        }
        let v = (pixel & mask) >> mask.trailing_zeros();
        let max = mask >> mask.trailing_zeros();
        (v * 255 / max) as u8
    };
    let per_pixel = if channels == Channels::Rgb { 3 } else { 1 };
    for (row, dst) in out
        .chunks_exact_mut(per_pixel * width as usize)
        .take(rows as usize)
        .enumerate()
    {
        let line = &data[row * stride..];
        for (x, d) in dst.chunks_exact_mut(per_pixel).enumerate() {
            let p = &line[x * bytes_pp..x * bytes_pp + bytes_pp];
            let pixel = if msb {
                p.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
            } else {
                p.iter()
                    .rev()
                    .fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
            };
            let rgb = [
                channel(pixel, visual.red_mask),
                channel(pixel, visual.green_mask),
                channel(pixel, visual.blue_mask),
            ];
            if channels == Channels::Rgb {
                d.copy_from_slice(&rgb);
            } else {
                d[0] = ((54 * u32::from(rgb[0]) + 183 * u32::from(rgb[1]) + 19 * u32::from(rgb[2]))
                    >> 8) as u8;
            }
        }
    }
    Ok(())
}

/// Captures every monitor ([`capture_all`]) and decodes the QR codes on each.
///
/// Returns one entry per monitor, with its name and the codes found there (possibly none).
pub fn scan_screens(limits: &Limits) -> Result<Vec<(String, Vec<Found>)>, QrError> {
    scan_display(None, limits)
}

/// Like [`scan_screens`], for the X display `display`; `None` means `$DISPLAY`.
///
/// Monitors are captured one at a time straight into luma (1 byte per pixel) and decoded
/// before the next is captured. Before a pixel is requested, the geometry the server
/// reports for each monitor is checked against `limits` (sizes, and the luma image plus
/// one GetImage strip against `max_alloc_bytes`): a screen beyond them is
/// [`QrError::TooLarge`].
///
/// With `None` on a native Wayland session (feature `wayland`), the desktop is captured
/// as [`capture_all`] does, each image straight into luma and decoded before the next.
pub fn scan_display(
    display: Option<&str>,
    limits: &Limits,
) -> Result<Vec<(String, Vec<Found>)>, QrError> {
    #[cfg(feature = "wayland")]
    if display.is_none()
        && let Some(result) = wayland_first(|| {
            let mut out = Vec::new();
            crate::wayland::capture(limits, Channels::Luma, &mut |name, frame| {
                let luma = match frame {
                    crate::wayland::Frame::Luma(luma) => luma,
                    crate::wayland::Frame::Rgb(rgb) => {
                        crate::to_luma(&image::DynamicImage::ImageRgb8(rgb))
                    }
                };
                out.push((name, crate::decode_luma(luma, limits)?));
                Ok(())
            })?;
            Ok(out)
        })
    {
        return result;
    }
    let (conn, display) = connect(display)?;
    let mut all = Vec::new();
    for (index, screen) in conn.setup().roots.iter().enumerate() {
        for area in areas(&conn, &display, index, screen) {
            check_area(&area, limits)?;
            let (w, h) = (u32::from(area.width), u32::from(area.height));
            let need = u64::from(w) * u64::from(h) + STRIP_BYTES as u64;
            if need > limits.max_alloc_bytes {
                return Err(QrError::TooLarge {
                    width: w,
                    height: h,
                    limit: "max_alloc_bytes",
                });
            }
            all.push((index, area));
        }
    }
    let mut out = Vec::new();
    for (index, area) in all {
        let screen = &conn.setup().roots[index];
        let (w, h) = (u32::from(area.width), u32::from(area.height));
        let mut raw = vec![0u8; w as usize * h as usize];
        grab(&conn, screen, &area, Channels::Luma, &mut raw)?;
        let luma = image::GrayImage::from_raw(w, h, raw)
            .ok_or_else(|| QrError::Screen("screenshot buffer of the wrong size".into()))?;
        let found = crate::decode_luma(luma, limits)?;
        out.push((area.name, found));
    }
    Ok(out)
}
