//! The decoder against the synthetic screenshot corpus: a sample of every condition, with
//! the texts the generator encoded as the expected values.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use safeid_qr::corpus::{Condition, sample};
use safeid_qr::{Limits, decode_bytes};

/// Debug builds are slow: allow far more time than the default deadline.
fn limits() -> Limits {
    Limits {
        deadline: Duration::from_secs(120),
        ..Limits::default()
    }
}

fn check(condition: Condition, indices: &[usize]) {
    for &i in indices {
        let s = sample(condition, 7, i);
        let found = decode_bytes(&s.bytes, &limits()).unwrap();
        let mut got: Vec<&str> = found.iter().map(|f| f.text.expose()).collect();
        let mut want: Vec<&str> = s.texts.iter().map(String::as_str).collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{} ({})", s.file_name, s.detail);
    }
}

#[test]
fn corpus_is_deterministic() {
    let a = sample(Condition::Jpeg, 5, 2);
    let b = sample(Condition::Jpeg, 5, 2);
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.texts, b.texts);
    assert_ne!(sample(Condition::Jpeg, 6, 2).texts, a.texts);
    assert!(a.file_name.ends_with(".jpg"));
    assert_eq!(sample(Condition::TwoCodes, 5, 0).texts.len(), 2);
    assert!(sample(Condition::NoCode, 5, 0).texts.is_empty());
}

#[test]
fn plain() {
    check(Condition::Plain, &[0, 1]);
}

#[test]
fn small_4k() {
    check(Condition::Small4k, &[0]);
}

#[test]
fn scaled() {
    check(Condition::Scaled, &[0, 1, 2]);
}

#[test]
fn jpeg() {
    check(Condition::Jpeg, &[0, 1]);
}

#[test]
fn blur() {
    check(Condition::Blur, &[0, 1]);
}

/// Blur of 0.45-0.65 module, where rqrr and zbarimg read nothing: most must decode
/// (the benchmark's figure is about 70 %), and nothing else may be read.
#[test]
fn heavy_blur() {
    let mut decoded = 0;
    for i in 0..8 {
        let s = sample(Condition::HeavyBlur, 7, i);
        let found = decode_bytes(&s.bytes, &limits()).unwrap();
        for f in &found {
            assert!(
                s.texts.iter().any(|t| t == f.text.expose()),
                "{} read a wrong text",
                s.file_name
            );
        }
        decoded += usize::from(!found.is_empty());
    }
    assert!(
        decoded >= 4,
        "only {decoded} of 8 heavy-blur samples decoded"
    );
}

#[test]
fn low_contrast() {
    check(Condition::LowContrast, &[0, 1]);
}

#[test]
fn dark_mode() {
    check(Condition::DarkMode, &[0, 1]);
}

#[test]
fn rotated() {
    check(Condition::Rotated, &[0, 1, 2]);
}

#[test]
fn no_quiet_zone() {
    check(Condition::NoQuietZone, &[0, 1]);
}

#[test]
fn two_codes() {
    check(Condition::TwoCodes, &[0, 1]);
}

#[test]
fn no_code_finds_nothing() {
    check(Condition::NoCode, &[0]);
}
