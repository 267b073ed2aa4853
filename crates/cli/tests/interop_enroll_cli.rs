//! `safeid batch --enroll` and `safeid burn --enroll` against a real privacyIDEA server
//! that this test starts on 127.0.0.1 (scripts/interop/pi_harness.py serve) and stops by
//! PID. The codes given to `/validate/check` are computed by oathtool from the seeds that
//! `safeid export` reads back out of the sealed journal, so the server accepting them
//! proves that what was enrolled is what was burned and journaled:
//!
//! - a batch of virtual tokens is enrolled, with a sealed journal and an encrypted PSKC
//!   export, and every token's code is accepted; a plain export is refused up front;
//! - with the server stopped, `--resume` is refused before anything is touched (the
//!   server is checked first), and once it is back the resume enrolls nothing twice;
//! - `burn --enroll` enrolls one token; the second identical burn finds it enrolled.
//!
//! Needs scripts/interop/setup.sh; run with
//! `SAFEID_INTEROP_VENV=$(bash scripts/interop/setup.sh) cargo test -p safeid-cli --all-features --test interop_enroll_cli -- --ignored`.
#![cfg(feature = "enroll")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/interop_common/mod.rs"]
mod interop_common;

use std::path::Path;
use std::process::{Command, Output};

use interop_common::{Server, now, oathtool, random_hex};
use serde_json::{Value, json};

fn safeid(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_safeid"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn validate(base: &str, serial: &str, otp: &str) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(format!("{base}/validate/check"))
        .header("Content-Type", "application/json")
        .send(json!({"serial": serial, "pass": otp}).to_string())
        .unwrap();
    let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    v["result"]["authentication"] == "ACCEPT"
}

/// `serial,hex` rows of the vendor CSV that `safeid export` writes.
fn seeds(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (s, h) = l.split_once(',').unwrap();
            (s.to_owned(), h.to_owned())
        })
        .collect()
}

#[test]
#[ignore = "needs privacyIDEA: see scripts/interop/setup.sh"]
fn batch_and_burn_enroll_into_a_real_privacyidea_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("pi");
    let password = random_hex(16);
    let mut server = Server::start(&data, &password, 0, None);
    let port = server.port;
    let base = format!("http://127.0.0.1:{port}");
    let url = format!("privacyidea={base}");
    let journal = dir.path().join("journal");
    let j = journal.to_str().unwrap();
    let pskc = dir.path().join("out.pskcxml");
    let env = [
        ("SAFEID_TEST_PI_PW", password.as_str()),
        ("SAFEID_TEST_JP", "journal passphrase for the test"),
        ("SAFEID_TEST_PSKC_PW", "pskc password for the test"),
    ];
    let batch = |extra: &[&str]| {
        let mut a = vec![
            "batch",
            "--sim",
            "--sim-count",
            "3",
            "--sim-prefix",
            "8659612",
            "--random",
            "--journal",
            j,
            "--journal-passphrase",
            "env:SAFEID_TEST_JP",
            "--enroll",
            &url,
            "--enroll-password",
            "env:SAFEID_TEST_PI_PW",
            "--json",
        ];
        a.extend_from_slice(extra);
        safeid(&a, &env)
    };

    // A plain export with --enroll: refused before the journal exists.
    let csv = dir.path().join("plain.csv");
    let out = batch(&["--export", &format!("vendor={}", csv.display())]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out)[0]["error"]["kind"], "export_format");
    assert!(!journal.exists() && !csv.exists());

    // The batch: three tokens burned and enrolled, the PSKC export encrypted.
    let out = batch(&[
        "--export",
        &format!("pskc={}", pskc.display()),
        "--pskc-password",
        "env:SAFEID_TEST_PSKC_PW",
    ]);
    let lines = json_lines(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{lines:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tokens: Vec<&Value> = lines.iter().filter(|l| l.get("serial").is_some()).collect();
    assert_eq!(tokens.len(), 3);
    for t in &tokens {
        assert_eq!(t["enrollment"]["status"], "enrolled", "{t}");
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"]["enrolled"], 3);
    let pskc_text = std::fs::read_to_string(&pskc).unwrap();
    assert!(pskc_text.contains("EncryptedValue"));

    // The seeds, read back out of the sealed journal by `safeid export`.
    let seeds_csv = dir.path().join("seeds.csv");
    let out = safeid(
        &[
            "export",
            "--journal",
            j,
            "--journal-passphrase",
            "env:SAFEID_TEST_JP",
            &format!("vendor={}", seeds_csv.display()),
        ],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = seeds(&seeds_csv);
    assert_eq!(rows.len(), 3);
    // Without the passphrase the journal does not open.
    let out = safeid(&["export", "--journal", j, "vendor=-"], &env);
    assert_eq!(out.status.code(), Some(1));
    let mut accepted = 0;
    for (serial, secret) in &rows {
        let hex = data_encoding::HEXLOWER.encode(
            &data_encoding::BASE32_NOPAD
                .decode(secret.as_bytes())
                .unwrap(),
        );
        let code = oathtool(&hex, "SHA1", 30, now());
        assert!(validate(&base, serial, &code), "{serial} rejected");
        accepted += 1;
    }
    println!(
        "INTEROP | safeid batch --enroll (CLI) | privacyIDEA /validate/check | 3 | {accepted}"
    );

    // The server stopped: a resume is refused before anything is touched.
    server.stop();
    let out = batch(&["--resume"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_lines(&out)[0]["error"]["kind"], "enroll");
    // Back up: the resume enrolls nothing twice (the three are done and enrolled).
    let _server = Server::start(&data, &password, port, None);
    let out = batch(&["--resume"]);
    let lines = json_lines(&out);
    assert_eq!(out.status.code(), Some(0), "{lines:?}");
    assert_eq!(lines.last().unwrap()["summary"]["enrolled"], 0);

    // One token with `burn --enroll`; the same burn again finds it enrolled.
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let burn = || {
        safeid(
            &[
                "burn",
                "--sim",
                "--yes",
                "--json",
                "--secret-base32",
                secret,
                "--enroll",
                &url,
                "--enroll-password",
                "env:SAFEID_TEST_PI_PW",
            ],
            &env,
        )
    };
    let out = burn();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = &json_lines(&out)[0];
    assert_eq!(v["enrollment"]["status"], "enrolled", "{v}");
    let serial = v["token"]["serial"].as_str().unwrap().to_owned();
    let hex = data_encoding::HEXLOWER.encode(
        &data_encoding::BASE32_NOPAD
            .decode(secret.as_bytes())
            .unwrap(),
    );
    assert!(validate(&base, &serial, &oathtool(&hex, "SHA1", 30, now())));
    let out = burn();
    assert_eq!(
        json_lines(&out)[0]["enrollment"]["status"],
        "already_enrolled"
    );
}
