//! Outside input is refused before its memory is spent: the `safeid` binary runs under an
//! address-space limit (`prlimit --as`, util-linux) far below the size of the input, so a
//! reader that took the input whole would fail to allocate instead of answering with the
//! documented refusal.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The limit the binary runs under: 160 MiB of address space (its threads' stacks and the
/// allocator's arenas fit; 300 MB of input does not).
const AS_LIMIT: u64 = 160 << 20;

fn limited(args: &[&str], stdin: Option<&Path>) -> Output {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={AS_LIMIT}"))
        .arg(env!("CARGO_BIN_EXE_safeid"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match stdin {
        Some(p) => cmd.stdin(std::fs::File::open(p).unwrap()),
        None => cmd.stdin(Stdio::null()),
    };
    cmd.output().expect("prlimit (util-linux) runs the binary")
}

/// A file of `len` bytes made of `line` repeated, written in pieces.
fn big_file(path: &Path, len: usize, line: &[u8]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut written = 0;
    while written < len {
        f.write_all(line).unwrap();
        written += line.len();
    }
    f.flush().unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_300_mb_line_on_standard_input_is_refused_at_4096_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("line");
    big_file(&input, 300 << 20, b"AAAAAAAAAAAAAAAA");
    let out = limited(&["uri"], Some(&input));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("longer than 4096 bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_24_mb_seed_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("seeds.csv");
    big_file(&csv, 24 << 20, b"8659622000001,JBSWY3DPEHPK3PXP\n");
    let journal = dir.path().join("journal");
    let out = limited(
        &[
            "batch",
            "--sim",
            "--seed-file",
            csv.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("larger than 16777216 bytes"),
        "{}",
        stderr(&out)
    );
    assert!(!journal.exists(), "nothing is created for a refused batch");
}

#[test]
fn a_large_uri_list_and_model_file_are_refused_by_their_caps() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("uris.txt");
    big_file(
        &list,
        5 << 20,
        b"otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP\n",
    );
    let out = limited(
        &[
            "batch",
            "--sim",
            "--uri-file",
            list.to_str().unwrap(),
            "--journal",
            dir.path().join("j").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        stderr(&out).contains("larger than 4194304 bytes"),
        "{}",
        stderr(&out)
    );

    let models = dir.path().join("models.toml");
    big_file(&models, 2 << 20, b"# padding padding padding\n");
    let out = limited(
        &["info", "--sim", "--models", models.to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("larger than"), "{}", stderr(&out));
}

#[test]
fn a_secret_file_over_4096_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    big_file(&secret, 64 << 20, b"JBSWY3DPEHPK3PXP");
    let at = format!("@{}", secret.display());
    let out = limited(&["code", "--secret-base32", &at], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("larger than 4096 bytes"),
        "{}",
        stderr(&out)
    );
}
