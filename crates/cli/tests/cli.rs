//! The `safeid` binary, driven as a user would: known answers from the RFCs, the virtual
//! token's display as the proof of a burn, and the shapes of JSON output and errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// RFC 6238's SHA-1 seed "12345678901234567890" in base32.
const RFC_SEED_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const URI: &str = "otpauth://totp/Example:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example";

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_safeid"))
}

fn run(args: &[&str]) -> Output {
    run_stdin(args, "")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    run_bytes(args, input.as_bytes())
}

fn run_bytes(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A writer thread: a command that does not read its input must not block the test.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    check_clean(&out);
    out
}

/// What no output of the command may contain: a panic, or Rust's Debug rendering of a
/// value (`Vendor { header: true }`, `Some(..)`) instead of words.
fn check_clean(out: &Output) {
    let all = format!("{}{}", stdout(out), stderr(out));
    assert!(!all.contains("panicked"), "a panic: {all}");
    for marker in ["Some(", "None)", "Ok(", "Err("] {
        assert!(!all.contains(marker), "Debug text {marker:?} in: {all}");
    }
    // `Name { field: ...`: a struct printed with {:?}.
    for (i, _) in all.match_indices(" { ") {
        let after = &all[i + 3..];
        let ident: String = after
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        assert!(
            ident.is_empty() || !after[ident.len()..].starts_with(": "),
            "Debug text in: {all}"
        );
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn uri_json_fields_and_secret_only_with_reveal() {
    let out = run(&["uri", "--json", URI]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = &json_lines(&out)[0];
    assert_eq!(v["type"], "totp");
    assert_eq!(v["issuer"], "Example");
    assert_eq!(v["account"], "alice@example.com");
    assert_eq!(v["algorithm"], "SHA1");
    assert_eq!(v["digits"], 6);
    assert_eq!(v["period"], 30);
    assert!(v.get("secret_base32").is_none());
    assert!(!stdout(&out).contains(RFC_SEED_B32));

    let out = run(&["uri", "--json", "--reveal", URI]);
    let v = &json_lines(&out)[0];
    assert_eq!(v["secret_base32"], RFC_SEED_B32);
    assert_eq!(v["secret_hex"], "3132333435363738393031323334353637383930");
}

#[test]
fn uri_reads_stdin_and_reports_each_bad_line() {
    let input = format!(
        "{URI}\notpauth://steam/x?secret=JBSWY3DPEHPK3PXP\notpauth://hotp/H:u?secret=JBSWY3DPEHPK3PXP&counter=7\n"
    );
    let out = run_stdin(&["uri", "--json"], &input);
    assert!(
        !out.status.success(),
        "a bad line makes the exit code non-zero"
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["type"], "totp");
    assert!(
        lines[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("steam")
    );
    assert_eq!(lines[1]["error"]["kind"], "bad_uri");
    assert_eq!(lines[2]["type"], "hotp");
    assert_eq!(lines[2]["counter"], 7);
    assert!(!stdout(&out).contains("JBSWY3DP"));
}

#[test]
fn code_matches_rfc_6238_and_rfc_4226() {
    // RFC 6238 Appendix B, SHA-1: T=59 -> 94287082, T=1111111109 -> 07081804.
    let out = run(&[
        "code",
        "--secret-base32",
        RFC_SEED_B32,
        "--digits",
        "8",
        "--time",
        "59",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = &json_lines(&out)[0];
    assert_eq!(v["current"], "94287082");
    assert_eq!(v["seconds_left"], 1);
    let out = run(&[
        "code",
        "--secret-hex",
        "3132333435363738393031323334353637383930",
        "--digits",
        "8",
        "--time",
        "1111111109",
        "--json",
    ]);
    assert_eq!(json_lines(&out)[0]["current"], "07081804");
    // RFC 4226 Appendix D: counter 0 -> 755224, counter 9 -> 520489.
    let out = run(&[
        "code",
        "--secret-base32",
        RFC_SEED_B32,
        "--counter",
        "9",
        "--json",
    ]);
    assert_eq!(json_lines(&out)[0]["code"], "520489");
    let hotp = "otpauth://hotp/X:y?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0";
    let out = run(&["code", hotp, "--json"]);
    assert_eq!(json_lines(&out)[0]["code"], "755224");
    // Human output shows previous/current/next.
    let out = run(&["code", URI, "--time", "59"]);
    assert!(
        stdout(&out).contains("current   287082"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn burn_on_the_virtual_token_and_verify_its_display() {
    let out = run(&["burn", "--sim", "--yes", "--json", "--verify", "--uri", URI]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = &json_lines(&out)[0];
    assert_eq!(v["apdus"], 5);
    assert_eq!(v["token"]["serial"], "8659622000001");
    assert_eq!(v["verify"]["matched"], true);
    let display = v["virtual_display"].as_str().unwrap();
    let expected = &v["expected"];
    assert!(
        [
            &expected["previous"],
            &expected["current"],
            &expected["next"]
        ]
        .iter()
        .any(|c| c.as_str() == Some(display))
    );
    assert!(!stdout(&out).contains(RFC_SEED_B32));
}

#[test]
fn burn_refuses_what_the_token_cannot_do_before_touching_it() {
    let out = run(&[
        "burn",
        "--sim",
        "--yes",
        "--uri",
        "otpauth://hotp/X:y?secret=JBSWY3DPEHPK3PXP",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("type: the token only does TOTP"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "burn",
        "--sim",
        "--yes",
        "--uri",
        &format!("{URI}&digits=8"),
    ]);
    assert!(stderr(&out).contains("digits"), "{}", stderr(&out));
    let out = run(&[
        "burn",
        "--sim",
        "--yes",
        "--accept",
        "six-digits",
        "--uri",
        &format!("{URI}&digits=8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("last 6 digits"));
}

#[test]
fn unknown_model_needs_a_key_and_keys_never_echo() {
    let out = run(&[
        "burn",
        "--sim",
        "--sim-serial",
        "ZZ12345678",
        "--yes",
        "--uri",
        URI,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown token model"),
        "{}",
        stderr(&out)
    );

    // The virtual token of an unknown model carries the Token2 key; give it explicitly,
    // in lower case, from the environment.
    let out = Command::new(binary())
        .args([
            "burn",
            "--sim",
            "--sim-serial",
            "ZZ12345678",
            "--yes",
            "--key",
            "env:SAFEID_TEST_KEY",
            "--uri",
            URI,
        ])
        .env("SAFEID_TEST_KEY", "8ad206883ca369482ab27182b6e83224")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("the key was a guess"));

    let out = run(&[
        "burn",
        "--sim",
        "--yes",
        "--key",
        "00112233445566778899AABBCCDDEEFG",
        "--uri",
        URI,
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not 16 bytes of hex"));
    assert!(
        !stderr(&out).contains("00112233"),
        "the key is never echoed"
    );
    // The same refusal for programs: the kind the desk app reports too (the library's).
    let out = run(&[
        "burn",
        "--sim",
        "--yes",
        "--json",
        "--key",
        "env:SAFEID_TEST_KEY_THAT_IS_NOT_SET",
        "--uri",
        URI,
    ]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        json_lines(&out)[0]["error"]["kind"],
        "bad_secret_argument",
        "{}",
        stdout(&out)
    );

    let out = run(&[
        "burn",
        "--sim",
        "--yes",
        "--key",
        "0000000000000000000000000000000F",
        "--uri",
        URI,
    ]);
    assert!(
        stderr(&out).contains("refused the access key"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn info_and_sync_clock_on_the_virtual_token() {
    let out = run(&["info", "--sim", "--sim-clock-offset", "-120", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = &json_lines(&out)[0];
    assert_eq!(v["model"], "OTPC-P2-i");
    assert!((-121..=-119).contains(&v["drift"].as_i64().unwrap()));
    let out = run(&["sync-clock", "--sim"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("erases its seed"), "{}", stderr(&out));
    let out = run(&[
        "sync-clock",
        "--sim",
        "--sim-serial",
        "8659632000001",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["drift"], 0);
}

#[test]
fn qr_png_scan_and_burn_from_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("code.png");
    let out = run(&["qr", URI, "-o", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = run(&["scan", "--json", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = &json_lines(&out)[0];
    assert_eq!(v["kind"], "otpauth");
    assert_eq!(v["file"], png.to_str().unwrap());
    assert!(v["text"].as_str().unwrap().contains("secret=<redacted>"));
    let out = run(&["scan", "--json", "--reveal", png.to_str().unwrap()]);
    assert_eq!(json_lines(&out)[0]["text"], URI);

    let out = run(&[
        "burn",
        "--sim",
        "--yes",
        "--json",
        "--verify",
        "--qr",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["verify"]["matched"], true);

    // A code that is not a credential is named.
    let push = dir.path().join("push.png");
    run(&[
        "qr",
        "phonefactor://activate_account?code=1",
        "-o",
        push.to_str().unwrap(),
    ]);
    let out = run(&["burn", "--sim", "--yes", "--qr", push.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Microsoft Authenticator push"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn batch_then_export_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let entra = dir.path().join("entra.csv");
    let out = run(&[
        "batch",
        "--sim",
        "--sim-count",
        "3",
        "--sim-readers",
        "2",
        "--random",
        "--journal",
        journal.to_str().unwrap(),
        "--export",
        &format!("entra={}", entra.display()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("3 burned"));
    let csv = std::fs::read_to_string(&entra).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "upn,serial number,secret key,time interval,manufacturer,model"
    );
    assert_eq!(lines.len(), 4);
    use std::os::unix::fs::PermissionsExt;
    for f in [&journal, &entra] {
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // A second run without --resume refuses to touch the journal.
    let out = run(&[
        "batch",
        "--sim",
        "--random",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--resume"));

    let pskc = dir.path().join("seeds.pskcxml");
    let out = run(&[
        "export",
        "--journal",
        journal.to_str().unwrap(),
        &format!("pskc={}", pskc.display()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let xml = std::fs::read_to_string(&pskc).unwrap();
    assert_eq!(
        xml.matches("<pskc:KeyPackage>").count() + xml.matches("<KeyPackage>").count(),
        3,
        "{xml}"
    );
}

/// The secret prompt on a real terminal (a pty from util-linux `script`): the typed secret
/// is not echoed, and the burn uses it.
#[test]
fn secret_prompt_does_not_echo() {
    let cmd = format!("{} burn --sim --yes --secret-prompt", binary().display());
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` provides the pty");
    let mut stdin = child.stdin.take().unwrap();
    // Wait for the prompt to switch echo off before typing.
    std::thread::sleep(std::time::Duration::from_millis(700));
    stdin.write_all(b"JBSWY3DPEHPK3PXP\n").unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let screen = stdout(&out);
    assert!(screen.contains("not shown"), "{screen}");
    assert!(
        screen.contains("secret read as base32 (10 bytes)"),
        "{screen}"
    );
    assert!(screen.contains("virtual token display"), "{screen}");
    assert!(
        !screen.contains("JBSWY3DPEHPK3PXP"),
        "the secret was echoed: {screen}"
    );
}

/// A 64x64 white 24-bit BMP (no checksums to compute): an image with no QR code.
fn blank_bmp() -> Vec<u8> {
    let (w, h) = (64u32, 64u32);
    let row = (w * 3).div_ceil(4) * 4;
    let pixels = row * h;
    let mut b = Vec::new();
    b.extend_from_slice(b"BM");
    b.extend_from_slice(&(54 + pixels).to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&54u32.to_le_bytes());
    b.extend_from_slice(&40u32.to_le_bytes());
    b.extend_from_slice(&w.to_le_bytes());
    b.extend_from_slice(&h.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&pixels.to_le_bytes());
    b.extend_from_slice(&2835u32.to_le_bytes());
    b.extend_from_slice(&2835u32.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.resize(b.len() + pixels as usize, 0xFF);
    b
}

fn path_str(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn version_says_whether_reader_support_is_built_in() {
    let out = run(&["--version"]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.starts_with("safeid 0.1.0 "), "{text}");
    if cfg!(feature = "pcsc") {
        assert!(text.contains("PC/SC readers: yes"), "{text}");
    } else {
        assert!(text.contains("PC/SC readers: no"), "{text}");
    }
}

#[test]
fn exit_codes_success_failure_usage_and_not_verified() {
    assert_eq!(code(&run(&["code", URI, "--time", "59"])), 0);
    // failure: an unknown model without a key
    let out = run(&[
        "burn",
        "--sim",
        "--sim-serial",
        "ZZ1",
        "--yes",
        "--uri",
        URI,
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    // usage: an unknown flag, a bad value, flags that exclude each other
    assert_eq!(code(&run(&["burn", "--no-such-flag"])), 2);
    assert_eq!(code(&run(&["code", URI, "--digits", "many"])), 2);
    assert_eq!(
        code(&run(&["code", URI, "--secret-hex", "3132"])),
        2,
        "a URI and a raw secret exclude each other"
    );
    assert_eq!(code(&run(&[])), 2, "no subcommand");
    // not verified: the burn succeeded, the code typed is not the display's
    let out = run(&[
        "burn", "--sim", "--yes", "--json", "--verify", "000000", "--uri", URI,
    ]);
    let v = &json_lines(&out)[0];
    assert_eq!(v["verify"]["matched"], false, "{v}");
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    assert_eq!(v["apdus"], 5, "the burn itself succeeded");
}

#[test]
fn json_errors_from_the_parser_and_from_commands() {
    for args in [
        &["--json", "burn", "--no-such-flag"][..],
        &["burn", "--json", "--sim-count", "3", "--uri", URI],
        &["--json"],
    ] {
        let out = run(args);
        assert_eq!(code(&out), 2, "{args:?}");
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: {}", stdout(&out));
        assert_eq!(lines[0]["error"]["kind"], "usage", "{args:?}");
        assert!(lines[0]["error"]["message"].as_str().unwrap().len() > 10);
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
    let out = run(&[
        "burn",
        "--sim",
        "--sim-serial",
        "ZZ1",
        "--yes",
        "--json",
        "--uri",
        URI,
    ]);
    let v = &json_lines(&out)[0];
    assert_eq!(v["error"]["kind"], "unknown_model");
    assert!(
        v["error"]["hint"].as_str().unwrap().contains("--key"),
        "{v}"
    );
    let out = run(&[
        "code",
        "--json",
        "--secret-base32",
        "@/nonexistent/safeid/seed",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        json_lines(&out)[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/safeid/seed")
    );
    // --help is not an error, even with --json
    let out = run(&["--json", "--help"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("Usage:"));
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "BASH"] {
        let out = run(&["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for word in ["burn", "probe", "readers", "sync-clock", "--reader"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    assert_eq!(code(&run(&["completions", "tcsh"])), 2);
}

#[test]
fn man_page_to_stdout_and_per_command_pages() {
    let out = run(&["man"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.contains(".TH safeid 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    for word in ["burn", "probe", "readers", "completions"] {
        assert!(page.contains(word), "the page lacks {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", path_str(dir.path())]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let burn = std::fs::read_to_string(dir.path().join("safeid-burn.1")).unwrap();
    assert!(burn.contains("\\-\\-secret\\-prompt"), "{burn}");
    assert!(stdout(&out).contains("safeid-probe.1"));
}

#[test]
fn value_names_in_any_letter_case() {
    let out = run(&[
        "burn",
        "--sim",
        "--yes",
        "--json",
        "--algorithm",
        "SHA256",
        "--sync-clock",
        "FALSE",
        "--secret-base32",
        RFC_SEED_B32,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["hmac"], "SHA256", "{}", stdout(&out));
    assert_eq!(json_lines(&out)[0]["clock_synced"], false);
    // RFC 6238 Appendix B, SHA-512 seed (64 bytes of "1234567890..."), T=59 -> 90693936.
    let seed512 = "3132333435363738393031323334353637383930".repeat(3) + "31323334";
    let out = run(&[
        "code",
        "--json",
        "--secret-hex",
        &seed512,
        "--algorithm",
        "SHA512",
        "--digits",
        "8",
        "--time",
        "59",
    ]);
    assert_eq!(
        json_lines(&out)[0]["current"],
        "90693936",
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "burn",
        "--sim",
        "--yes",
        "--accept",
        "SIX-DIGITS",
        "--uri",
        &format!("{URI}&digits=8"),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let seeds = dir.path().join("seeds.csv");
    std::fs::write(
        &seeds,
        "serial,secret\n8659622000001,3132333435363738393031323334353637383930\n",
    )
    .unwrap();
    let out = run(&[
        "batch",
        "--sim",
        "--sim-count",
        "1",
        "--on-error",
        "SKIP",
        "--seed-file",
        path_str(&seeds),
        "--encoding",
        "HEX",
        "--journal",
        path_str(&journal),
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let pskc = dir.path().join("seeds.pskcxml");
    let out = run(&[
        "export",
        "--journal",
        path_str(&journal),
        &format!("PSKC={}", pskc.display()),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        std::fs::read_to_string(&pskc)
            .unwrap()
            .contains("KeyPackage")
    );
}

#[test]
fn standard_input_where_a_file_or_secret_is_read() {
    let out = run_stdin(
        &["code", "-", "--time", "59", "--json"],
        &format!("{URI}\n"),
    );
    assert_eq!(json_lines(&out)[0]["current"], "287082", "{}", stderr(&out));
    let out = run_stdin(
        &["burn", "--sim", "--yes", "--json", "--verify", "--uri", "-"],
        URI,
    );
    assert_eq!(
        json_lines(&out)[0]["verify"]["matched"],
        true,
        "{}",
        stderr(&out)
    );
    let models = "[[model]]\nprefix = \"77\"\nname = \"Test model\"\nmanufacturer = \"Tester\"\nrestricted = false\nkey = \"8AD206883CA369482AB27182B6E83224\"\n";
    let out = run_stdin(
        &[
            "info",
            "--sim",
            "--sim-serial",
            "7700000001",
            "--models",
            "-",
            "--json",
        ],
        models,
    );
    assert_eq!(
        json_lines(&out)[0]["model"],
        "Test model",
        "{}",
        stderr(&out)
    );

    // An image on standard input, for scan and burn.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("code.png");
    run(&["qr", URI, "-o", path_str(&png)]);
    let bytes = std::fs::read(&png).unwrap();
    let out = run_bytes(&["scan", "--json", "-"], &bytes);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["kind"], "otpauth");
    let out = run_bytes(
        &["burn", "--sim", "--yes", "--json", "--verify", "--qr", "-"],
        &bytes,
    );
    assert_eq!(json_lines(&out)[0]["verify"]["matched"], true);

    // Standard input can be read once: two `-` are refused before anything is done.
    let out = run_stdin(&["burn", "--sim", "--yes", "--uri", "-", "--key", "-"], URI);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--uri and --key"), "{}", stderr(&out));
}

#[test]
fn quiet_prints_results_only_and_trace_is_only_where_a_token_is() {
    // JBSWY3DPEHPK3PXP is 80 bits: a warning, which --quiet leaves out.
    let short = "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP";
    let loud = run(&["burn", "--sim", "--yes", "--uri", short]);
    assert!(stderr(&loud).contains("warning"), "{}", stderr(&loud));
    let quiet = run(&["burn", "--sim", "--yes", "--quiet", "--uri", short]);
    assert_eq!(code(&quiet), 0);
    assert_eq!(stderr(&quiet), "", "--quiet prints results only");
    assert!(stdout(&quiet).contains("current"));

    let traced = run(&[
        "burn",
        "--sim",
        "--yes",
        "--trace",
        "--secret-base32",
        RFC_SEED_B32,
    ]);
    let apdus = stderr(&traced)
        .lines()
        .filter(|l| l.starts_with("apdu"))
        .count();
    assert!(apdus >= 5, "{}", stderr(&traced));
    assert!(
        !stderr(&traced).contains("31 32 33 34"),
        "the seed is redacted"
    );
    for args in [
        &["uri", "--trace", URI][..],
        &["code", "--trace", URI],
        &["probe", "--sim", "--trace"],
    ] {
        assert_eq!(code(&run(args)), 2, "{args:?} takes no --trace");
    }
}

#[test]
fn no_progress_bar_when_not_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let out = run(&[
        "batch",
        "--sim",
        "--sim-count",
        "3",
        "--random",
        "--journal",
        path_str(&journal),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.contains("burned;"))
            .count(),
        3
    );
}

#[test]
fn probe_reports_the_virtual_token_read_only() {
    let out = run(&["probe", "--sim"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "reader       virtual token 8659622000001",
        "ATR          3B 80 80 01 01",
        "get info     > 80 41 00 00 02 02 11",
        "serial       8659622000001",
        "model        Token2 OTPC-P2-i",
        "to burn it   nothing more",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
    assert!(stderr(&out).contains("support request"));

    let out = run(&["probe", "--sim", "--sim-serial", "ZZ12345678", "--json"]);
    assert_eq!(code(&out), 0);
    let v = &json_lines(&out)[0];
    assert_eq!(v["serial"], "ZZ12345678");
    assert_eq!(v["model"], Value::Null);
    assert_eq!(v["exchanges"].as_array().unwrap().len(), 1, "get info only");
    assert!(
        v["needs"][0].as_str().unwrap().contains("access key"),
        "{v}"
    );
    // A probe takes no key: it never authenticates.
    assert_eq!(code(&run(&["probe", "--sim", "--key", "00"])), 2);
}

#[test]
fn io_errors_name_their_file() {
    let missing = "/nonexistent/safeid/file";
    for args in [
        &["burn", "--sim", "--yes", "--qr", missing][..],
        &["burn", "--sim", "--yes", "--models", missing, "--uri", URI],
        &[
            "burn",
            "--sim",
            "--yes",
            "--key",
            &format!("@{missing}"),
            "--uri",
            URI,
        ],
        &["burn", "--sim", "--yes", "--uri", &format!("@{missing}")],
        &[
            "batch",
            "--sim",
            "--seed-file",
            missing,
            "--journal",
            "/tmp/safeid-cli-test-unused",
        ],
        &[
            "export",
            "--journal",
            missing,
            "otpauth=/tmp/safeid-cli-test-unused.txt",
        ],
        &["scan", missing],
    ] {
        let out = run(args);
        assert_eq!(code(&out), 1, "{args:?}");
        assert!(stderr(&out).contains(missing), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let mut child = Command::new(binary())
        .args(["uri", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // About 1 MB of output, far more than a pipe holds.
    let writer = std::thread::spawn(move || {
        for _ in 0..4000 {
            if writeln!(stdin, "{URI}").is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    // The reader is dropped here, as `head -1` exits.
    assert_eq!(first, "input 1: otpauth URI\n");
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(stderr(&out), "", "no panic, no message");
    assert_eq!(code(&out), 0);
}

#[test]
fn a_batch_whose_output_closes_stops_cleanly_with_the_resume_command() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let mut child = Command::new(binary())
        .args([
            "batch",
            "--sim",
            "--sim-count",
            "5000",
            "--random",
            "--journal",
        ])
        .arg(&journal)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert!(first.contains("burned;"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("standard output was closed"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert_eq!(code(&out), 1);
    let (state, _) = safeid::journal::JournalState::load(&journal).unwrap();
    assert!(state.len() < 5000, "it stopped");
    assert_eq!(state.uncertain().count(), 0, "no token left half-burned");
}

// ---- The defects of issue 10, each with its test. ----

#[test]
fn scan_reports_every_file_and_names_the_blank_one() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("a.png");
    run(&["qr", URI, "-o", path_str(&png)]);
    let blank = dir.path().join("blank.bmp");
    std::fs::write(&blank, blank_bmp()).unwrap();
    let missing = dir.path().join("missing.png");
    let out = run(&["scan", path_str(&png), path_str(&missing), path_str(&blank)]);
    assert_eq!(code(&out), 1, "a missing and a blank file fail the scan");
    let text = stdout(&out);
    assert!(text.contains(&format!("{}: ", png.display())), "{text}");
    assert!(
        text.contains("Example:alice@example.com"),
        "a.png's result is kept: {text}"
    );
    assert!(
        text.contains(&format!("{}: no QR code found", blank.display())),
        "{text}"
    );
    assert!(
        stderr(&out).contains(path_str(&missing)),
        "{}",
        stderr(&out)
    );

    let out = run(&[
        "scan",
        "--json",
        path_str(&png),
        path_str(&missing),
        path_str(&blank),
    ]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{}", stdout(&out));
    assert_eq!(lines[0]["kind"], "otpauth");
    assert_eq!(lines[1]["file"], path_str(&missing));
    assert!(lines[1]["error"]["kind"].is_string());
    assert_eq!(lines[2]["file"], path_str(&blank));
    assert_eq!(lines[2]["codes"], 0);
}

#[test]
fn export_says_what_it_leaves_out_and_overwrites_nothing() {
    use safeid::journal::Journal;
    use safeid::record::TokenSeed;
    use safeid::secret::SecretBytes;
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    {
        let (mut j, _) = Journal::open(&journal).unwrap();
        let burned = TokenSeed::new("8659622000001", SecretBytes::from_slice(&[1; 20]));
        j.plan(&burned).unwrap();
        j.mark_burned("8659622000001").unwrap();
        // Planned, never confirmed: the token may or may not hold it.
        j.plan(&TokenSeed::new(
            "8659622000002",
            SecretBytes::from_slice(&[2; 20]),
        ))
        .unwrap();
    }
    let list = dir.path().join("uris.txt");
    let out = run(&[
        "export",
        "--journal",
        path_str(&journal),
        &format!("otpauth={}", list.display()),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("exported 1 token as otpauth"),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("left out 1 token whose burn is uncertain (8659622000002)"),
        "{err}"
    );
    assert!(err.contains("--include-uncertain"), "{err}");

    // The file exists now: refused without --force, nothing rewritten.
    let before = std::fs::read(&list).unwrap();
    let out = run(&[
        "export",
        "--journal",
        path_str(&journal),
        &format!("otpauth={}", list.display()),
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("exists") && stderr(&out).contains("--force"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&list).unwrap(), before);

    // The same path twice is refused before anything is written.
    let other = dir.path().join("twice.csv");
    let out = run(&[
        "export",
        "--journal",
        path_str(&journal),
        &format!("entra={}", other.display()),
        &format!("vendor={}", other.display()),
    ]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("given twice"), "{}", stderr(&out));
    assert!(!other.exists());

    let out = run(&[
        "export",
        "--journal",
        path_str(&journal),
        "--include-uncertain",
        "--force",
        "--json",
        &format!("otpauth={}", list.display()),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["tokens"], 2);
    assert_eq!(
        std::fs::read_to_string(&list)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("otpauth://"))
            .count(),
        2
    );

    // The journal from standard input.
    let bytes = std::fs::read(&journal).unwrap();
    let vendor = dir.path().join("vendor.csv");
    let out = run_bytes(
        &[
            "export",
            "--journal",
            "-",
            "--json",
            &format!("vendor={}", vendor.display()),
        ],
        &bytes,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        json_lines(&out)[0]["uncertain_left_out"][0],
        "8659622000002"
    );
}

#[test]
fn virtual_token_without_vpcd_fails_at_once_whatever_stdin_does() {
    // A port where nothing listens; standard input closed at once.
    let started = std::time::Instant::now();
    let out = run(&["virtual-token", "--port", "1", "--connect-timeout", "1"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("vpcd"), "{}", stderr(&out));
    // Standard input left open: the error still comes within the timeout.
    let mut child = Command::new(binary())
        .args(["virtual-token", "--port", "1", "--connect-timeout", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still waiting on standard input"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(stdin);
    assert_eq!(status.code(), Some(1));
    let out = child.wait_with_output().unwrap();
    assert!(stderr(&out).contains("vpcd"), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn sync_clock_json_says_what_happened_to_clock_and_seed() {
    let out = run(&["sync-clock", "--sim", "--erase-seed", "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v = &json_lines(&out)[0];
    assert_eq!(
        (v["clock_set"].clone(), v["seed_erased"].clone()),
        (Value::Bool(true), Value::Bool(true))
    );
    let out = run(&[
        "sync-clock",
        "--sim",
        "--sim-serial",
        "8659632000001",
        "--json",
    ]);
    assert_eq!(json_lines(&out)[0]["seed_erased"], false);
    let out = run(&[
        "sync-clock",
        "--sim",
        "--sim-serial",
        "ZZ1",
        "--erase-seed",
        "--json",
        "--key",
        "8ad206883ca369482ab27182b6e83224",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        json_lines(&out)[0]["seed_erased"],
        Value::Null,
        "unknown model: not known"
    );
}

#[test]
fn uri_json_keeps_warnings_and_one_line_per_input_line() {
    let short = "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP";
    let out = run_stdin(&["uri", "--json"], &format!("{short}\n\n{URI}\n"));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("128 bits"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["empty"], true);
    assert_eq!(lines[2]["input"], 3);
    assert_eq!(lines[2]["warnings"].as_array().unwrap().len(), 0);
}

#[test]
fn flags_that_would_be_ignored_are_refused() {
    for args in [
        &[
            "burn",
            "--sim",
            "--yes",
            "--account",
            "1",
            "--secret-base32",
            RFC_SEED_B32,
        ][..],
        &[
            "batch",
            "--random",
            "--sim-count",
            "3",
            "--journal",
            "/tmp/safeid-cli-unused",
        ],
        &[
            "batch",
            "--sim",
            "--sim-readers",
            "0",
            "--random",
            "--journal",
            "/tmp/safeid-cli-unused",
        ],
        &["burn", "--sim", "--wait", "5", "--yes", "--uri", URI],
        &["info", "--sim-serial", "8659622000001"],
    ] {
        let out = run(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
    assert!(!std::path::Path::new("/tmp/safeid-cli-unused").exists());
}

#[test]
fn code_takes_ten_digits_and_a_uri_at_most_eight() {
    // RFC 4226 Appendix D: the truncated value at counter 0 is 1284755224.
    let out = run(&[
        "code",
        "--secret-base32",
        RFC_SEED_B32,
        "--counter",
        "0",
        "--digits",
        "10",
        "--json",
    ]);
    assert_eq!(
        json_lines(&out)[0]["code"],
        "1284755224",
        "{}",
        stderr(&out)
    );
    let out = run(&["code", &format!("{URI}&digits=10")]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("digits"), "{}", stderr(&out));
}

#[test]
fn help_of_batch_and_export_lists_every_export_format() {
    for cmd in ["batch", "export"] {
        let help = stdout(&run(&[cmd, "--help"]));
        for format in [
            "entra",
            "graph",
            "pskc",
            "privacyidea",
            "vendor",
            "otpauth",
            "qr",
        ] {
            assert!(help.contains(format), "{cmd} --help lacks {format}");
        }
    }
}

#[test]
fn plurals_are_right() {
    let dir = tempfile::tempdir().unwrap();
    for (count, word) in [("1", "1 token as"), ("2", "2 tokens as")] {
        let journal = dir.path().join(format!("journal{count}"));
        let list = dir.path().join(format!("list{count}.txt"));
        let out = run(&[
            "batch",
            "--sim",
            "--sim-count",
            count,
            "--random",
            "--journal",
            path_str(&journal),
            "--export",
            &format!("otpauth={}", list.display()),
        ]);
        assert!(
            stdout(&out).contains(&format!("exported {word} otpauth")),
            "{}",
            stdout(&out)
        );
    }
}

#[cfg(not(feature = "pcsc"))]
#[test]
fn readers_without_reader_support_says_how_to_get_it() {
    let out = run(&["readers", "--json"]);
    assert_eq!(code(&out), 1);
    let v = &json_lines(&out)[0];
    assert_eq!(v["error"]["kind"], "no_pcsc_support");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--features pcsc")
    );
}

#[test]
fn an_ambiguous_prompted_secret_names_the_ways_to_say_which() {
    // Valid hex and valid base32 alike.
    let out = run_stdin(
        &["burn", "--sim", "--yes", "--secret-prompt"],
        "ABCDEF22ABCDEF22\n",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("base32:") && err.contains("--secret-hex"),
        "{err}"
    );
    assert!(!err.contains("--encoding"), "burn has no --encoding: {err}");
}
