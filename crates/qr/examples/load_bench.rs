//! PNG and JPEG decoding: `load_luma` against the previous load and the alternatives, side by
//! side in one run on synthetic screenshots of the corpus (1080p and 4K PNG, 1080p JPEG).
//!
//! ```text
//! cargo run --release -p safeid-qr --example load_bench -- [ROUNDS]
//! ```
//!
//! Every method decodes every file once per round, in turn (so load on the shared machine
//! spreads over all of them); the median time per file and the ratio to the first method
//! of the group are printed. Decode-only methods produce the decoder's own pixel format;
//! `load_luma` includes the conversion to luma.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::time::Instant;

use safeid_qr::corpus::{Condition, sample};
use safeid_qr::{Limits, load_luma};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

type Method = (&'static str, fn(&[u8]) -> usize);

fn png_crate(bytes: &[u8], ignore_checksums: bool) -> usize {
    let mut d = png::Decoder::new(Cursor::new(bytes));
    d.set_transformations(png::Transformations::normalize_to_color8());
    d.ignore_checksums(ignore_checksums);
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    r.next_frame(&mut buf).unwrap();
    buf.len()
}

/// What `load_luma` did before: decode with `image`, then convert the `DynamicImage`.
fn previous_load(bytes: &[u8]) -> usize {
    let image = image::load_from_memory(bytes).unwrap();
    safeid_qr::to_luma(&image).len()
}

const PNG: &[Method] = &[
    ("load_luma (png crate rows -> luma)", |b| {
        load_luma(b, &Limits::default()).unwrap().len()
    }),
    ("previous load: image decode + to_luma", |b| {
        previous_load(b)
    }),
    ("image::load_from_memory (decode only)", |b| {
        image::load_from_memory(b).unwrap().as_bytes().len()
    }),
    ("png crate next_frame (decode only)", |b| {
        png_crate(b, false)
    }),
    ("png crate, checksums ignored (decode only)", |b| {
        png_crate(b, true)
    }),
    ("png crate next_row, rows only (no luma)", |b| {
        let mut d = png::Decoder::new(Cursor::new(b));
        d.set_transformations(png::Transformations::normalize_to_color8());
        let mut r = d.read_info().unwrap();
        let mut n = 0;
        while let Some(row) = r.next_row().unwrap() {
            n += row.data()[0] as usize;
        }
        n
    }),
    ("png crate next_frame + luma (4x memory)", |b| {
        let mut d = png::Decoder::new(Cursor::new(b));
        d.set_transformations(png::Transformations::normalize_to_color8());
        let mut r = d.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        let c = info.color_type.samples();
        let luma: Vec<u8> = buf
            .chunks_exact(c)
            .map(|p| {
                ((54 * u32::from(p[0]) + 183 * u32::from(p[1]) + 19 * u32::from(p[2])) >> 8) as u8
            })
            .collect();
        luma.len()
    }),
    ("zune-png decode_raw (decode only)", |b| {
        let options = DecoderOptions::default().png_set_strip_to_8bit(true);
        zune_png::PngDecoder::new_with_options(ZCursor::new(b), options)
            .decode_raw()
            .unwrap()
            .len()
    }),
];

const JPEG: &[Method] = &[
    ("load_luma (zune-jpeg -> luma)", |b| {
        load_luma(b, &Limits::default()).unwrap().len()
    }),
    ("previous load: image decode + to_luma", |b| {
        previous_load(b)
    }),
    ("image::load_from_memory (decode only)", |b| {
        image::load_from_memory(b).unwrap().as_bytes().len()
    }),
    ("zune-jpeg direct, RGB out", |b| {
        let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
        zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(b), options)
            .decode()
            .unwrap()
            .len()
    }),
    ("zune-jpeg direct, Luma out", |b| {
        let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::Luma);
        zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(b), options)
            .decode()
            .unwrap()
            .len()
    }),
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(title: &str, files: &[Vec<u8>], methods: &[Method], rounds: usize) {
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); methods.len()];
    for _ in 0..rounds {
        for file in files {
            for (i, (_, f)) in methods.iter().enumerate() {
                let t = Instant::now();
                std::hint::black_box(f(std::hint::black_box(file)));
                times[i].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    println!("{title} ({} files x {rounds} rounds)", files.len());
    let base = median(times[0].clone());
    for ((name, _), t) in methods.iter().zip(times) {
        let m = median(t);
        println!("  {name:<48} {m:8.2} ms  x{:.2}", m / base);
    }
}

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let files = |c: Condition, n: usize| -> Vec<Vec<u8>> {
        (0..n).map(|i| sample(c, 11, i).bytes).collect()
    };
    run("PNG 1920x1080", &files(Condition::Plain, 6), PNG, rounds);
    run("PNG 3840x2160", &files(Condition::Small4k, 3), PNG, rounds);
    run("JPEG 1920x1080", &files(Condition::Jpeg, 6), JPEG, rounds);
}
