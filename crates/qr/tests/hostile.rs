//! Hostile input: non-images, truncated files, decompression bombs, random bytes. Every
//! case must be an error (or an empty result), never a panic, within bounded time.
//!
//! `load_luma` catches panics inside the image decoders (a caller never sees one), so the
//! property tests also assert that [`safeid_qr::caught_panics`] stays 0: a decoder panic
//! fails them instead of passing as an error. (rqrr panics, which the detector catches by
//! design on some inputs, are not counted there.)
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use proptest::prelude::*;
use safeid_qr::{Limits, QrError, decode_bytes};

/// CRC-32 (IEEE), bitwise: PNG chunk checksums for hand-made headers.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
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

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A PNG whose header announces `w` x `h` (colour type 6 = RGBA, 8 bits) followed by a
/// tiny zlib stream of zeros: a decompression bomb if the decoder believed it.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // zlib header + one empty stored block: valid but far too short.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0, 0, 0, 1],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn crc32_matches_the_png_iend_constant() {
    // Every PNG ends with IEND whose CRC is AE 42 60 82 (PNG specification, 5.6).
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
}

#[test]
fn non_image_is_unknown_format() {
    for bytes in [
        &b""[..],
        b"hello world",
        b"otpauth://totp/x?secret=AAAA",
        &[0u8; 64],
    ] {
        assert!(matches!(
            decode_bytes(bytes, &Limits::default()),
            Err(QrError::UnknownFormat)
        ));
    }
}

#[test]
fn huge_dimensions_are_refused_from_the_header() {
    let t = Instant::now();
    let e = decode_bytes(&png_header_only(20_000, 20_000), &Limits::default()).unwrap_err();
    assert!(
        matches!(e, QrError::TooLarge { .. } | QrError::Image(_)),
        "{e}"
    );
    // 9000 x 9000 fits the side limits but not 80 Mpx.
    let e = decode_bytes(&png_header_only(9000, 9000), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            e,
            QrError::TooLarge {
                limit: "max_pixels",
                ..
            }
        ),
        "{e}"
    );
    let small = Limits {
        max_alloc_bytes: 1 << 20,
        ..Limits::default()
    };
    let e = decode_bytes(&png_header_only(2000, 2000), &small).unwrap_err();
    assert!(
        matches!(e, QrError::TooLarge { .. } | QrError::Image(_)),
        "{e}"
    );
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn bomb_within_limits_is_an_error_not_a_panic() {
    // Dimensions allowed, but the data stops right away: a truncated bomb.
    let e = decode_bytes(&png_header_only(4000, 4000), &Limits::default()).unwrap_err();
    assert!(matches!(e, QrError::Image(_)), "{e}");
}

#[test]
fn truncated_files_are_errors() {
    let png = safeid_qr::generate::png("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", 4).unwrap();
    for cut in [8, 20, 33, 50, png.len() / 2, png.len() - 13] {
        let r = decode_bytes(&png[..cut], &Limits::default());
        assert!(r.is_err(), "cut at {cut} decoded");
    }
}

#[test]
fn file_size_limit_and_missing_file() {
    let dir = std::env::temp_dir().join(format!("safeid-qr-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.bin");
    std::fs::write(&path, vec![0u8; 4096]).unwrap();
    let limits = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    let e = safeid_qr::decode_file(&path, &limits).unwrap_err();
    assert!(
        matches!(
            e,
            QrError::FileTooLarge {
                size: 1001,
                max: 1000
            }
        ),
        "{e}"
    );
    let e = safeid_qr::decode_file(dir.join("missing.png"), &limits).unwrap_err();
    assert!(matches!(e, QrError::Io { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn deadline_is_enforced() {
    let s = safeid_qr::corpus::sample(safeid_qr::corpus::Condition::Small4k, 3, 0);
    let luma = safeid_qr::load_luma(&s.bytes, &Limits::default()).unwrap();
    let limits = Limits {
        deadline: Duration::from_millis(1),
        ..Limits::default()
    };
    let t = Instant::now();
    let e = safeid_qr::decode_luma(luma, &limits).unwrap_err();
    assert!(matches!(e, QrError::Deadline(_)), "{e}");
    assert!(t.elapsed() < Duration::from_millis(500));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_bytes(&bytes, &Limits::small());
        prop_assert_eq!(safeid_qr::caught_panics(), 0, "an image decoder panicked");
    }

    #[test]
    fn mutated_images_never_panic(
        pos in 0usize..4096,
        val in any::<u8>(),
        format in 0usize..6,
    ) {
        let text = "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP";
        let img = image::DynamicImage::ImageLuma8(safeid_qr::generate::image(text, 3).unwrap()).to_rgb8();
        let mut bytes = Vec::new();
        let fmt = [
            image::ImageFormat::Png,
            image::ImageFormat::Bmp,
            image::ImageFormat::Gif,
            image::ImageFormat::Jpeg,
            image::ImageFormat::Tiff,
            image::ImageFormat::WebP,
        ][format];
        img.write_to(&mut std::io::Cursor::new(&mut bytes), fmt).unwrap();
        let p = pos % bytes.len();
        bytes[p] ^= val | 1;
        let _ = decode_bytes(&bytes, &Limits::small());
        prop_assert_eq!(safeid_qr::caught_panics(), 0, "an image decoder panicked");
    }
}

/// zlib with stored blocks (RFC 1950/1951), Adler-32 computed here.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// The pixel at (x, y) of the interlaced test images.
fn test_pixel(x: u32, y: u32) -> [u8; 4] {
    [
        (x * 7 % 256) as u8,
        (y * 11 % 256) as u8,
        (x * y % 256) as u8,
        ((x + 2 * y) * 5 % 256) as u8,
    ]
}

#[test]
fn interlaced_png_decodes_to_the_pixels_it_encodes() {
    // Adam7 as the PNG specification (8.2) draws it: the pass of each pixel of an 8x8 tile.
    let tile = [
        [1, 6, 4, 6, 2, 6, 4, 6],
        [7, 7, 7, 7, 7, 7, 7, 7],
        [5, 6, 5, 6, 5, 6, 5, 6],
        [7, 7, 7, 7, 7, 7, 7, 7],
        [3, 6, 4, 6, 3, 6, 4, 6],
        [7, 7, 7, 7, 7, 7, 7, 7],
        [5, 6, 5, 6, 5, 6, 5, 6],
        [7, 7, 7, 7, 7, 7, 7, 7],
    ];
    for (w, h) in [(1, 1), (3, 2), (5, 9), (37, 23), (64, 64)] {
        let mut raw = Vec::new();
        for pass in 1..=7 {
            // Each pass is a reduced image: its rows in order, each led by a filter byte.
            for y in 0..h {
                let row: Vec<u32> = (0..w)
                    .filter(|&x| tile[(y % 8) as usize][(x % 8) as usize] == pass)
                    .collect();
                if row.is_empty() {
                    continue;
                }
                raw.push(0); // filter type None
                for x in row {
                    raw.extend_from_slice(&test_pixel(x, y));
                }
            }
        }
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 1]); // RGBA, 8 bits, Adam7
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(&mut png, b"IDAT", &zlib_stored(&raw));
        chunk(&mut png, b"IEND", &[]);
        let luma = safeid_qr::load_luma(&png, &Limits::default())
            .unwrap_or_else(|e| panic!("{w}x{h}: {e}"));
        assert_eq!((luma.width(), luma.height()), (w, h));
        for y in 0..h {
            for x in 0..w {
                // ITU-R BT.709 luma over white.
                let [r, g, b, a] = test_pixel(x, y).map(f64::from);
                let want =
                    (0.2126 * r + 0.7152 * g + 0.0722 * b) * a / 255.0 + 255.0 * (1.0 - a / 255.0);
                let got = f64::from(luma.get_pixel(x, y).0[0]);
                assert!(
                    (got - want).abs() <= 1.5,
                    "{w}x{h} at ({x}, {y}): {got} vs {want}"
                );
            }
        }
    }
}
