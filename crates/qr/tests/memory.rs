//! Peak memory of real bombs, measured in a child process.
//!
//! Each case runs this test binary again as a child (`child`, ignored in a normal run)
//! with the case in the environment; the child loads the file (or captures the X display),
//! prints the outcome and its peak resident set (`VmHWM` from `/proc/self/status`), and
//! fails if a decoder panic was caught. The parent writes the bombs as real files first,
//! so their making does not count, and asserts the outcome (a clean error or a correct
//! decode, pixel values from the formulas of the specifications) and that the peak stays
//! under the budget plus [`OVERHEAD`]. Figures go to stderr (`--nocapture`) for
//! docs/qr.md.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use safeid_qr::{Limits, QrError};

const MIB: u64 = 1 << 20;
/// The test binary, the file read into memory, decoder tables and rows, allocator slack.
const OVERHEAD: u64 = 32 * MIB;
const CASE: &str = "SAFEID_QR_MEM_CASE";
const INPUT: &str = "SAFEID_QR_MEM_INPUT";
const ALLOC: &str = "SAFEID_QR_MEM_ALLOC";

fn vm_hwm_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

fn error_kind(e: &QrError) -> String {
    match e {
        QrError::TooLarge { limit, .. } => format!("TooLarge:{limit}"),
        QrError::Image(m) => format!("Image ({m})"),
        QrError::UnknownFormat => "UnknownFormat".into(),
        QrError::Deadline(_) => "Deadline".into(),
        QrError::Screen(_) => "Screen".into(),
        other => format!("other:{other}"),
    }
}

/// Luma histogram as "value:count,...".
fn histogram(pixels: &[u8]) -> String {
    let mut counts = [0u64; 256];
    for &p in pixels {
        counts[usize::from(p)] += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(v, c)| format!("{v}:{c}"))
        .collect();
    parts.join(",")
}

#[test]
#[ignore = "child process of the memory tests, started by them"]
fn child() {
    let Ok(case) = std::env::var(CASE) else {
        return;
    };
    let input = std::env::var(INPUT).unwrap();
    let mut limits = Limits::default();
    if let Ok(alloc) = std::env::var(ALLOC) {
        limits.max_alloc_bytes = alloc.parse().unwrap();
    }
    let base = vm_hwm_bytes();
    let start = Instant::now();
    let outcome = match case.as_str() {
        "load" => {
            let bytes = std::fs::read(&input).unwrap();
            match safeid_qr::load_luma(&bytes, &limits) {
                Ok(img) => format!(
                    "ok {}x{} {}",
                    img.width(),
                    img.height(),
                    histogram(img.as_raw())
                ),
                Err(e) => format!("err {}", error_kind(&e)),
            }
        }
        "reference" => {
            // The previous load, for comparison: decode with `image`, copy to RGBA8 to
            // flatten alpha, then luma.
            let bytes = std::fs::read(&input).unwrap();
            let image = image::load_from_memory(&bytes).unwrap();
            let rgba = image.to_rgba8();
            let luma = image::DynamicImage::ImageRgba8(rgba).to_luma8();
            format!("ok {}x{}", luma.width(), luma.height())
        }
        "decode" => match safeid_qr::decode_file(&input, &limits) {
            Ok(found) => format!("ok {} codes", found.len()),
            Err(e) => format!("err {}", error_kind(&e)),
        },
        "capture" => match safeid_qr::screen::capture_display_within(Some(&input), &limits) {
            Ok(shots) => {
                let sizes: Vec<String> = shots
                    .iter()
                    .map(|s| format!("{}x{}", s.image.width(), s.image.height()))
                    .collect();
                format!("ok {}", sizes.join(","))
            }
            Err(e) => format!("err {}", error_kind(&e)),
        },
        "scan" => match safeid_qr::scan_display(Some(&input), &limits) {
            Ok(screens) => format!("ok {} screens", screens.len()),
            Err(e) => format!("err {}", error_kind(&e)),
        },
        other => panic!("unknown case {other}"),
    };
    let secs = start.elapsed().as_secs_f64();
    println!("MEMCHILD {} {} {secs:.3} {outcome}", base, vm_hwm_bytes());
    assert_eq!(safeid_qr::caught_panics(), 0, "a decoder panic was caught");
}

/// What one child reported.
#[derive(Debug)]
struct Measured {
    /// VmHWM before the case ran (the test binary itself).
    base: u64,
    /// VmHWM after it.
    peak: u64,
    secs: f64,
    outcome: String,
}

fn measure(label: &str, case: &str, input: &str, alloc: Option<u64>) -> Measured {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CASE, case)
    .env(INPUT, input)
    .env_remove(ALLOC);
    if let Some(a) = alloc {
        cmd.env(ALLOC, a.to_string());
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{label}: child failed\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.find("MEMCHILD ").map(|i| &l[i + 9..]))
        .unwrap_or_else(|| panic!("{label}: no report\n{stdout}"));
    let mut parts = line.splitn(4, ' ');
    let m = Measured {
        base: parts.next().unwrap().parse().unwrap(),
        peak: parts.next().unwrap().parse().unwrap(),
        secs: parts.next().unwrap().parse().unwrap(),
        outcome: parts.next().unwrap().to_owned(),
    };
    eprintln!(
        "MEMORY {label}: peak {:.1} MiB (binary alone {:.1} MiB), {:.2} s, {}",
        m.peak as f64 / MIB as f64,
        m.base as f64 / MIB as f64,
        m.secs,
        m.outcome.chars().take(120).collect::<String>()
    );
    m
}

fn assert_under(label: &str, m: &Measured, bound: u64) {
    assert!(
        m.peak <= bound,
        "{label}: peak {} MiB above {} MiB",
        m.peak / MIB,
        bound / MIB
    );
}

fn budget() -> u64 {
    Limits::default().max_alloc_bytes
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("safeid-qr-memory-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Parses "ok WxH v:c,v:c" into its histogram.
fn parse_ok(outcome: &str, w: u32, h: u32) -> BTreeMap<u8, u64> {
    let rest = outcome
        .strip_prefix(&format!("ok {w}x{h} "))
        .unwrap_or_else(|| panic!("expected a {w}x{h} image, got {outcome}"));
    rest.split(',')
        .map(|p| {
            let (v, c) = p.split_once(':').unwrap();
            (v.parse().unwrap(), c.parse().unwrap())
        })
        .collect()
}

/// BT.709 luma (ITU-R BT.709: 0.2126 R + 0.7152 G + 0.0722 B) composited over white with
/// alpha a: the value a correct decode must give, within 1 for integer rounding.
fn expected_luma(r: u8, g: u8, b: u8, a: u8) -> f64 {
    let y = 0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b);
    let a = f64::from(a) / 255.0;
    y * a + 255.0 * (1.0 - a)
}

fn assert_histogram(label: &str, got: &BTreeMap<u8, u64>, want: &[(f64, u64)]) {
    assert_eq!(got.len(), want.len(), "{label}: {got:?} vs {want:?}");
    for (&(value, count), (&v, &c)) in want.iter().zip(got) {
        assert!(
            (f64::from(v) - value).abs() <= 1.0 && c == count,
            "{label}: {got:?} vs {want:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// PNG

/// 8944 x 8944 RGBA, 8 bits: row y % 1024 == 0 transparent, == 1 half-transparent black,
/// every other row opaque (100, 150, 200). About 330 KB, 320 MB decoded as RGBA.
const BIG: u32 = 8944;

fn big_rgba_png(path: &Path) -> u64 {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut enc = png::Encoder::new(file, BIG, BIG);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    enc.set_filter(png::Filter::NoFilter);
    let mut stream = enc.write_header().unwrap().into_stream_writer().unwrap();
    let mut row = vec![0u8; BIG as usize * 4];
    for y in 0..BIG {
        let px: [u8; 4] = match y % 1024 {
            0 => [0, 0, 0, 0],
            1 => [0, 0, 0, 128],
            _ => [100, 150, 200, 255],
        };
        for p in row.chunks_exact_mut(4) {
            p.copy_from_slice(&px);
        }
        stream.write_all(&row).unwrap();
    }
    stream.finish().unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn big_rgba_expected() -> Vec<(f64, u64)> {
    let special = u64::from(BIG.div_ceil(1024)); // rows 0, 1024, ..., 8192: 9
    let half = u64::from((BIG - 1).div_ceil(1024)); // rows 1, 1025, ..., 8193: 9
    let w = u64::from(BIG);
    let mut want = vec![
        (expected_luma(0, 0, 0, 128), half * w),
        (
            expected_luma(100, 150, 200, 255),
            (u64::from(BIG) - special - half) * w,
        ),
        (expected_luma(0, 0, 0, 0), special * w),
    ];
    want.sort_by(|a, b| a.0.total_cmp(&b.0));
    want
}

#[test]
fn huge_rgba_png_decodes_within_the_budget() {
    let dir = Scratch::new("png");
    let file = dir.0.join("big.png");
    let size = big_rgba_png(&file);
    assert!(size < 1 << 20, "the bomb is {size} bytes");
    let path = file.to_str().unwrap().to_owned();
    let label = format!("PNG {BIG}x{BIG} RGBA ({} KB) load_luma", size / 1000);
    let m = measure(&label, "load", &path, None);
    assert_histogram(
        &label,
        &parse_ok(&m.outcome, BIG, BIG),
        &big_rgba_expected(),
    );
    // Row by row: the luma image (80 MB) and rows, far under the budget.
    assert_under(&label, &m, u64::from(BIG) * u64::from(BIG) + OVERHEAD);
    assert_under(&label, &m, budget() + OVERHEAD);

    // For comparison, the previous load (`image` decode + `to_rgba8` + luma): both copies
    // and the luma image at once, above the budget it claimed to keep.
    let label = "PNG 8944x8944 RGBA, reference: image::load_from_memory + to_rgba8";
    let reference = measure(label, "reference", &path, None);
    assert!(reference.peak > budget(), "{label}");

    // The same file past a budget smaller than its luma image: refused before allocating.
    let label = "PNG 8944x8944 RGBA, max_alloc_bytes 64 MiB";
    let m = measure(label, "load", &path, Some(64 * MIB));
    assert_eq!(m.outcome, "err TooLarge:max_alloc_bytes", "{label}");
    assert_under(label, &m, m.base + 8 * MIB);

    // The whole pipeline on it: a clean result (no code) or the deadline, never a panic.
    let label = "PNG 8944x8944 RGBA decode_file";
    let m = measure(label, "decode", &path, None);
    assert!(
        m.outcome == "ok 0 codes" || m.outcome == "err Deadline",
        "{label}: {}",
        m.outcome
    );
    // The detector's own buffers come on top of the 80 MB luma image; the whole path
    // still stays under the budget.
    assert_under(label, &m, budget() + OVERHEAD);
}

/// zlib stream of `n` zero bytes (fixed Huffman: one literal 0, then matches of length
/// 258 at distance 1; RFC 1951 3.2.6), `n = 1 + 258 k`, with its Adler-32 (RFC 1950:
/// A = 1, B = n mod 65521 for zeros).
fn zlib_zeros(n: u64) -> Vec<u8> {
    assert_eq!((n - 1) % 258, 0);
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, n: u32) {
            self.acc |= value << self.len;
            self.len += n;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// Huffman codes go most significant bit first.
        fn code(&mut self, code: u64, n: u32) {
            let reversed = (0..n).fold(0, |r, i| (r << 1) | ((code >> i) & 1));
            self.put(reversed, n);
        }
    }
    let mut b = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        len: 0,
    };
    b.put(1, 1); // BFINAL
    b.put(1, 2); // BTYPE 01: fixed codes
    b.code(0x30, 8); // literal 0
    for _ in 0..(n - 1) / 258 {
        b.code(0xC5, 8); // length symbol 285 = 258
        b.code(0, 5); // distance code 0 = 1
    }
    b.code(0, 7); // end of block (256)
    if b.len > 0 {
        b.put(0, 8 - b.len);
    }
    let adler = ((n % 65_521) << 16) | 1;
    b.out.extend_from_slice(&(adler as u32).to_be_bytes());
    b.out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

#[test]
fn png_whose_zlib_stream_inflates_far_past_the_image_is_bounded() {
    // 256 x 256 grey: 256 * (1 + 256) bytes of image data; the zlib stream inflates to
    // 1 GiB of zeros, all but 65 792 bytes past the image. Valid zlib, valid chunks.
    let n = 1 + 258 * ((1u64 << 30) / 258);
    let zlib = zlib_zeros(n);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&256u32.to_be_bytes());
    ihdr.extend_from_slice(&256u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    for part in zlib.chunks(1 << 20) {
        png_chunk(&mut png, b"IDAT", part);
    }
    png_chunk(&mut png, b"IEND", &[]);
    let dir = Scratch::new("zlib");
    let path = dir.file("trailing.png", &png);
    let label = format!("PNG 256x256 inflating to 1 GiB ({} KB)", png.len() / 1000);
    let m = measure(&label, "load", &path, None);
    let got = parse_ok(&m.outcome, 256, 256);
    assert_histogram(&label, &got, &[(0.0, 65_536)]);
    assert_under(&label, &m, m.base + 16 * MIB);
}

// ---------------------------------------------------------------------------------------
// JPEG, written by hand (ITU T.81): every coefficient 0, so every sample is 128 (the
// level shift of A.3.1) and RGB (128, 128, 128) after YCbCr conversion (JFIF).

fn jpeg_constant(w: u16, h: u16, progressive: bool) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    // DQT: table 0, all ones.
    j.extend_from_slice(&[0xFF, 0xDB, 0, 67, 0]);
    j.extend_from_slice(&[1; 64]);
    // SOF0 / SOF2: 8 bits, h, w, 3 components sampled 1x1, table 0.
    j.extend_from_slice(&[0xFF, if progressive { 0xC2 } else { 0xC0 }, 0, 17, 8]);
    j.extend_from_slice(&h.to_be_bytes());
    j.extend_from_slice(&w.to_be_bytes());
    j.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
    // DHT: DC table 0 and AC table 0, each one code of length 1 ("0") for symbol 0
    // (DC: difference category 0; AC: end of block).
    j.extend_from_slice(&[0xFF, 0xC4, 0, 38]);
    for class in [0x00, 0x10] {
        j.push(class);
        let mut counts = [0u8; 16];
        counts[0] = 1;
        j.extend_from_slice(&counts);
        j.push(0);
    }
    // SOS: all three components; baseline: spectral 0..63; progressive: DC first scan.
    let se = if progressive { 0 } else { 63 };
    j.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0, 3, 0, 0, se, 0]);
    let mcus = u64::from(w.div_ceil(8)) * u64::from(h.div_ceil(8));
    // Baseline: DC "0" + EOB "0" per block; progressive DC scan: "0" per block.
    let bits = mcus * 3 * if progressive { 1 } else { 2 };
    let bytes = bits.div_ceil(8) as usize;
    j.resize(j.len() + bytes, 0);
    let pad = (bytes as u64 * 8 - bits) as u32;
    if pad > 0 {
        // Padding bits are ones (F.1.2.3).
        *j.last_mut().unwrap() = (1u8 << pad) - 1;
    }
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

#[test]
fn huge_jpegs_stay_within_the_budget() {
    let dir = Scratch::new("jpeg");
    // 16000 x 5000 = 80 Mpx, baseline YCbCr: decoded straight to luma (80 MB).
    let path = dir.file("baseline.jpg", &jpeg_constant(16_000, 5_000, false));
    let label = "JPEG 16000x5000 baseline load_luma";
    let m = measure(label, "load", &path, None);
    assert_histogram(
        label,
        &parse_ok(&m.outcome, 16_000, 5_000),
        &[(expected_luma(128, 128, 128, 255), 80_000_000)],
    );
    assert_under(label, &m, budget() + OVERHEAD);

    // Progressive: the decoder keeps 2 bytes per coefficient of every component for the
    // whole image (480 MB here) besides the 80 MB output: refused before allocating.
    let path = dir.file("progressive.jpg", &jpeg_constant(16_000, 5_000, true));
    let label = "JPEG 16000x5000 progressive load_luma";
    let m = measure(label, "load", &path, None);
    assert_eq!(m.outcome, "err TooLarge:max_alloc_bytes", "{label}");
    assert_under(label, &m, m.base + 16 * MIB);

    // A progressive one that fits (30 Mpx: 30 MB output + 180 MB coefficients) decodes.
    let path = dir.file("progressive-small.jpg", &jpeg_constant(6_000, 5_000, true));
    let label = "JPEG 6000x5000 progressive load_luma";
    let m = measure(label, "load", &path, None);
    assert_histogram(
        label,
        &parse_ok(&m.outcome, 6_000, 5_000),
        &[(expected_luma(128, 128, 128, 255), 30_000_000)],
    );
    assert_under(label, &m, budget() + OVERHEAD);

    // Header only: 80 Mpx announced, no scan data at all.
    let mut header = jpeg_constant(16_000, 5_000, false);
    header.truncate(2 + 69 + 19 + 40 + 14);
    let path = dir.file("header.jpg", &header);
    let label = "JPEG 16000x5000 header only";
    let m = measure(label, "load", &path, None);
    assert!(
        m.outcome.starts_with("err ") || m.outcome.starts_with("ok "),
        "{label}"
    );
    assert_under(label, &m, budget() + OVERHEAD);
}

// ---------------------------------------------------------------------------------------
// TIFF, GIF, WebP

/// A little-endian baseline grey TIFF: header, `strip` at offset 8, then the IFD (one
/// strip of `count` bytes announced).
fn tiff_grey(w: u32, h: u32, compression: u16, strip: &[u8], count: u32) -> Vec<u8> {
    let mut t = b"II*\0".to_vec();
    let ifd = 8 + strip.len() as u32 + (strip.len() as u32 & 1);
    t.extend_from_slice(&ifd.to_le_bytes());
    t.extend_from_slice(strip);
    if strip.len() % 2 == 1 {
        t.push(0);
    }
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, w),                      // ImageWidth
        (257, 4, h),                      // ImageLength
        (258, 3, 8),                      // BitsPerSample
        (259, 3, u32::from(compression)), // Compression: 1 none, 32773 PackBits
        (262, 3, 1),                      // PhotometricInterpretation: black is zero
        (273, 4, 8),                      // StripOffsets
        (277, 3, 1),                      // SamplesPerPixel
        (278, 4, h),                      // RowsPerStrip
        (279, 4, count),                  // StripByteCounts
    ];
    t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        if kind == 3 {
            t.extend_from_slice(&(value as u16).to_le_bytes());
            t.extend_from_slice(&[0, 0]);
        } else {
            t.extend_from_slice(&value.to_le_bytes());
        }
    }
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

#[test]
fn huge_tiff_stays_within_the_budget() {
    let dir = Scratch::new("tiff");
    // 8944 x 8944 grey, PackBits, written by hand (TIFF 6.0: baseline IFD, one strip, a
    // run of n equal bytes is the byte 1 - n then the value): rows y % 1024 == 0 are 0,
    // the others 143. The decoder holds its own 80 MB copy besides the output.
    let mut strip = Vec::new();
    for y in 0..BIG {
        let value = if y % 1024 == 0 { 0 } else { 143 };
        let mut left = BIG;
        while left > 0 {
            let n = left.min(128);
            strip.extend_from_slice(&[(1 - n as i32) as u8, value]);
            left -= n;
        }
    }
    let bytes = tiff_grey(BIG, BIG, 32_773, &strip, strip.len() as u32);
    let path = dir.file("big.tif", &bytes);
    let label = format!(
        "TIFF {BIG}x{BIG} grey PackBits ({} KB) load_luma",
        bytes.len() / 1000
    );
    let m = measure(&label, "load", &path, None);
    let black = u64::from(BIG.div_ceil(1024)) * u64::from(BIG);
    assert_histogram(
        &label,
        &parse_ok(&m.outcome, BIG, BIG),
        &[
            (0.0, black),
            (143.0, u64::from(BIG) * u64::from(BIG) - black),
        ],
    );
    assert_under(&label, &m, budget() + OVERHEAD);
    // Under a budget that holds the output but not the decoder's copy: refused up front.
    let label = "TIFF 8944x8944 grey, max_alloc_bytes 120 MiB";
    let m = measure(label, "load", &path, Some(120 * MIB));
    assert_eq!(m.outcome, "err TooLarge:max_alloc_bytes", "{label}");
    assert_under(label, &m, m.base + 8 * MIB);

    // Header only: 16000 x 5000 grey announced, its one 80 MB strip past the end of file.
    let t = tiff_grey(16_000, 5_000, 1, &[], 80_000_000);
    let path = dir.file("header.tif", &t);
    let label = "TIFF 16000x5000 header only";
    let m = measure(label, "load", &path, None);
    assert!(m.outcome.starts_with("err "), "{label}: {}", m.outcome);
    assert_under(label, &m, budget() + OVERHEAD);
}

#[test]
fn huge_gif_and_webp_headers_stay_within_the_budget() {
    let dir = Scratch::new("gifwebp");
    // GIF89a, 16000 x 5000 screen and image, 256-colour table, one LZW clear code.
    let mut g = b"GIF89a".to_vec();
    g.extend_from_slice(&16_000u16.to_le_bytes());
    g.extend_from_slice(&5_000u16.to_le_bytes());
    g.extend_from_slice(&[0xF7, 0, 0]);
    g.extend_from_slice(&[0u8; 768]);
    g.push(0x2C);
    g.extend_from_slice(&[0, 0, 0, 0]);
    g.extend_from_slice(&16_000u16.to_le_bytes());
    g.extend_from_slice(&5_000u16.to_le_bytes());
    g.extend_from_slice(&[0, 8, 2, 0x00, 0x01, 0, 0x3B]);
    let path = dir.file("header.gif", &g);
    let label = "GIF 16000x5000 header only";
    let m = measure(label, "load", &path, None);
    assert!(
        m.outcome.starts_with("err ") || m.outcome.starts_with("ok "),
        "{label}"
    );
    assert_under(label, &m, budget() + OVERHEAD);

    // WebP lossless (VP8L) headers: 16383 x 4882 with alpha (4 + 4 bytes per pixel:
    // over the budget) and 8000 x 5000 with alpha (within it, data missing).
    let webp = |w: u32, h: u32| {
        let bits = (w - 1) | ((h - 1) << 14) | (1 << 28);
        let mut vp8l = vec![0x2F];
        vp8l.extend_from_slice(&bits.to_le_bytes());
        vp8l.extend_from_slice(&[0u8; 11]);
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(4 + 8 + vp8l.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WEBPVP8L");
        out.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
        out.extend_from_slice(&vp8l);
        out
    };
    let path = dir.file("over.webp", &webp(16_383, 4_882));
    let label = "WebP 16383x4882 header only";
    let m = measure(label, "load", &path, None);
    assert_eq!(m.outcome, "err TooLarge:max_alloc_bytes", "{label}");
    assert_under(label, &m, m.base + 16 * MIB);
    let path = dir.file("within.webp", &webp(8_000, 5_000));
    let label = "WebP 8000x5000 header only";
    let m = measure(label, "load", &path, None);
    assert!(m.outcome.starts_with("err "), "{label}: {}", m.outcome);
    assert_under(label, &m, budget() + OVERHEAD);
}

// ---------------------------------------------------------------------------------------
// X11

/// Kills the X server when dropped, also when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xvfb(geometry: &str) -> Option<(Server, String)> {
    if Command::new("Xvfb")
        .arg("-help")
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        return None;
    }
    for attempt in 0..20 {
        let n = 100 + (std::process::id() as usize * 3 + attempt * 11 + geometry.len()) % 800;
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                geometry,
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if x11rb::connect(Some(&display)).is_ok() {
                return Some((server, display));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("Xvfb did not start with {geometry}");
}

#[test]
fn huge_screens_are_checked_before_getimage() {
    // 16000 x 12000 = 192 Mpx: over max_pixels, refused from the server's geometry.
    let Some((server, display)) = xvfb("16000x12000x24") else {
        eprintln!(
            "skipped: Xvfb is not installed (apt-get install -y --no-install-recommends xvfb)"
        );
        return;
    };
    for case in ["scan", "capture"] {
        let label = format!("Xvfb 16000x12000 {case}");
        let m = measure(&label, case, &display, None);
        assert_eq!(m.outcome, "err TooLarge:max_pixels", "{label}");
        assert_under(&label, &m, m.base + 8 * MIB);
    }
    drop(server);

    // 10000 x 8000 = 80 Mpx: allowed. Capture holds 240 MB of RGB plus one 8 MiB strip;
    // with max_alloc_bytes at 200 MiB it is refused before any GetImage.
    let (_server, display) = xvfb("10000x8000x24").unwrap();
    let label = "Xvfb 10000x8000 capture";
    let m = measure(label, "capture", &display, None);
    assert_eq!(m.outcome, "ok 10000x8000", "{label}");
    assert_under(label, &m, budget() + OVERHEAD);
    let label = "Xvfb 10000x8000 capture, max_alloc_bytes 200 MiB";
    let m = measure(label, "capture", &display, Some(200 * MIB));
    assert_eq!(m.outcome, "err TooLarge:max_alloc_bytes", "{label}");
    assert_under(label, &m, m.base + 8 * MIB);
    // Scanning captures straight into luma (80 MB) and then runs the detector.
    let label = "Xvfb 10000x8000 scan";
    let m = measure(label, "scan", &display, None);
    assert!(
        m.outcome == "ok 1 screens" || m.outcome == "err Deadline",
        "{label}: {}",
        m.outcome
    );
    assert_under(label, &m, budget() + OVERHEAD);
}
