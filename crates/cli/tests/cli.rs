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

fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
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
