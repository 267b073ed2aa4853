//! Generated codes decode back to their text, in every supported file format and from the
//! terminal rendering.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageFormat, Luma};
use proptest::prelude::*;
use safeid_qr::generate::{self, QUIET_ZONE};
use safeid_qr::{Limits, decode_bytes, decode_image};

const URI: &str = "otpauth://totp/ACME:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME";

fn texts(found: &[safeid_qr::Found]) -> Vec<&str> {
    found.iter().map(|f| f.text.expose()).collect()
}

#[test]
fn png_round_trip() {
    let png = generate::png(URI, 4).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let found = decode_bytes(&png, &Limits::default()).unwrap();
    assert_eq!(texts(&found), [URI]);
    assert!(found[0].utf8);
}

#[test]
fn every_supported_format_decodes() {
    let img = DynamicImage::ImageLuma8(generate::image(URI, 5).unwrap());
    for fmt in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Bmp,
        ImageFormat::Gif,
        ImageFormat::WebP,
        ImageFormat::Tiff,
    ] {
        let mut bytes = Vec::new();
        let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
        rgb.write_to(&mut Cursor::new(&mut bytes), fmt).unwrap();
        let found = decode_bytes(&bytes, &Limits::default()).unwrap();
        assert_eq!(texts(&found), [URI], "{fmt:?}");
    }
}

#[test]
fn transparent_background_is_read_as_white() {
    let code = generate::image(URI, 4).unwrap();
    let rgba = image::RgbaImage::from_fn(code.width(), code.height(), |x, y| {
        if code.get_pixel(x, y).0[0] == 0 {
            image::Rgba([0, 0, 0, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let found = decode_image(&DynamicImage::ImageRgba8(rgba), &Limits::default()).unwrap();
    assert_eq!(texts(&found), [URI]);
}

/// Paints the terminal text back into pixels (each character cell 2 modules high, 1 wide),
/// `drawn` being the luma of a drawn half block.
fn terminal_to_image(s: &str, drawn: u8) -> GrayImage {
    let lines: Vec<Vec<char>> = s.lines().map(|l| l.chars().collect()).collect();
    let (w, h) = (lines[0].len() as u32, lines.len() as u32 * 2);
    let px = 4;
    GrayImage::from_fn(w * px, h * px, |x, y| {
        let c = lines[(y / px / 2) as usize][(x / px) as usize];
        let top = (y / px) % 2 == 0;
        let on = match c {
            '\u{2588}' => true,
            '\u{2580}' => top,
            '\u{2584}' => !top,
            _ => false,
        };
        Luma([if on { drawn } else { 255 - drawn }])
    })
}

#[test]
fn terminal_renderings_decode() {
    let dark_terminal = generate::terminal(URI).unwrap();
    let m = generate::modules(URI).unwrap();
    let lines: Vec<&str> = dark_terminal.lines().collect();
    assert_eq!(lines.len(), (m.size + 2 * QUIET_ZONE).div_ceil(2));
    assert!(
        lines
            .iter()
            .all(|l| l.chars().count() == m.size + 2 * QUIET_ZONE)
    );
    // On a dark terminal the drawn blocks are light.
    let img = terminal_to_image(&dark_terminal, 255);
    let found = decode_image(&DynamicImage::ImageLuma8(img), &Limits::default()).unwrap();
    assert_eq!(texts(&found), [URI]);

    let light_terminal = generate::terminal_for_light_background(URI).unwrap();
    let img = terminal_to_image(&light_terminal, 0);
    let found = decode_image(&DynamicImage::ImageLuma8(img), &Limits::default()).unwrap();
    assert_eq!(texts(&found), [URI]);
}

#[test]
fn too_long_text_is_an_error() {
    let long = "A".repeat(8000);
    assert!(generate::png(&long, 2).is_err());
    assert!(generate::terminal(&long).is_err());
}

#[test]
fn debug_output_hides_the_text() {
    let found = decode_bytes(&generate::png(URI, 3).unwrap(), &Limits::default()).unwrap();
    let dbg = format!("{found:?}");
    assert!(!dbg.contains("JBSWY3DPEHPK3PXP"), "{dbg}");
    let m = generate::modules(URI).unwrap();
    assert!(!format!("{m:?}").contains("true"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any short text survives encode -> PNG -> decode.
    #[test]
    fn any_text_round_trips(text in "[ -~]{1,120}", module in 2u32..5) {
        let png = generate::png(&text, module).unwrap();
        let found = decode_bytes(&png, &Limits::default()).unwrap();
        prop_assert_eq!(texts(&found), [text.as_str()]);
    }
}
