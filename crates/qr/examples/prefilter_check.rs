//! "No code lost": every image of the generated corpus that the full cascade
//! (`decode_luma_exhaustive`, no prefilter) decodes must give the same texts through the
//! fast path (`decode_luma`), and the fast path must find nothing on screens without a code.
//! Prints per condition the successes of both and the decode medians.
//!
//! `cargo run --release -p safeid-qr --example prefilter_check -- [--per N] [--seed S] [--only CONDITION]`
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use safeid_qr::corpus::{self, Condition};
use safeid_qr::{Limits, decode_luma, decode_luma_exhaustive, load_luma};

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.parse::<u64>().unwrap())
    };
    let per = opt("--per").unwrap_or(25) as usize;
    let seed = opt("--seed").unwrap_or(1);
    let limits = Limits {
        deadline: Duration::from_secs(60),
        ..Limits::default()
    };
    let mut lost = 0;
    println!("seed {seed}, {per} per condition; ok = every encoded text found (no-code: none)");
    println!(
        "{:<14} {:>4} {:>10} {:>10} {:>5} {:>12} {:>12}",
        "condition", "n", "exhaustive", "fast", "lost", "exh. ms", "fast ms"
    );
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    for condition in Condition::ALL {
        if only.is_some_and(|o| o != condition.name()) {
            continue;
        }
        let (mut ok_e, mut ok_f, mut lost_c) = (0, 0, 0);
        let (mut te, mut tf) = (Vec::new(), Vec::new());
        for index in 0..per {
            let s = corpus::sample(condition, seed, index);
            let luma = load_luma(&s.bytes, &limits).unwrap();
            let t = Instant::now();
            let exh = decode_luma_exhaustive(luma.clone(), &limits).unwrap();
            te.push(t.elapsed());
            let t = Instant::now();
            let fast = decode_luma(luma, &limits).unwrap();
            tf.push(t.elapsed());
            let texts = |f: &[safeid_qr::Found]| {
                let mut v: Vec<String> = f.iter().map(|f| f.text.expose().to_owned()).collect();
                v.sort();
                v
            };
            let (e, f) = (texts(&exh), texts(&fast));
            let mut want = s.texts.clone();
            want.sort();
            ok_e += usize::from(e == want);
            ok_f += usize::from(f == want);
            if e.iter().any(|t| !f.contains(t)) || (want.is_empty() && !f.is_empty()) {
                lost_c += 1;
                println!("  lost: {} ({})", s.file_name, s.detail);
            }
        }
        lost += lost_c;
        println!(
            "{:<14} {:>4} {:>10} {:>10} {:>5} {:>12.1} {:>12.1}",
            condition.name(),
            per,
            ok_e,
            ok_f,
            lost_c,
            median(te),
            median(tf)
        );
    }
    println!("images where the fast path lost a code the full cascade found: {lost}");
    if lost > 0 {
        std::process::exit(1);
    }
}
