//! Shared by the interoperability tests: the virtual tokens they burn, the privacyIDEA
//! harness (scripts/interop/pi_harness.py, in the venv made by scripts/interop/setup.sh),
//! and oathtool as the independent code generator.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use safeid::record::{HmacAlgorithm, TokenSeed};
use safeid::secret::SecretBytes;
use safeid::{BurnPlan, PlanOptions, Session};
use safeid_sim::{SimTransport, SystemClock, TokenSpec, VirtualToken};
use serde_json::{Value, json};

/// Seed lengths at and around every boundary the importers care about: 16 (RFC 4226's
/// minimum), 20 (SHA-1's output), 28/32/48 (the lengths privacyIDEA reads as SHA-224,
/// SHA-256 and SHA-384), 63 (the tokens' maximum), and 1.
pub const SEED_LENGTHS: [usize; 17] = [
    1, 15, 16, 17, 19, 20, 21, 27, 28, 29, 31, 32, 33, 47, 48, 49, 63,
];
pub const HASHES: [HmacAlgorithm; 2] = [HmacAlgorithm::Sha1, HmacAlgorithm::Sha256];
pub const PERIODS: [u32; 2] = [30, 60];

/// The venv made by scripts/interop/setup.sh; the test fails (it does not skip) without it.
pub fn venv() -> PathBuf {
    let v = std::env::var_os("SAFEID_INTEROP_VENV").expect(
        "SAFEID_INTEROP_VENV is not set: run `SAFEID_INTEROP_VENV=$(bash scripts/interop/setup.sh)` first",
    );
    let v = PathBuf::from(v);
    assert!(
        v.join("bin/python").exists(),
        "{} holds no venv",
        v.display()
    );
    v
}

/// scripts/interop/pi_harness.py, found from the package of the test that runs (the
/// workspace root, or a member crate under it).
pub fn harness() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("scripts/interop/pi_harness.py"))
        .find(|p| p.exists())
        .expect("scripts/interop/pi_harness.py above the package")
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A random hex string of `n` bytes (passwords for the throwaway admin account).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A virtual token burned through the library's `Session` with a random seed.
pub struct Burned {
    pub token: Arc<Mutex<VirtualToken>>,
    pub record: TokenSeed,
}

impl Burned {
    /// What the token's display shows when the host clock reads `t`.
    pub fn display_at(&self, t: u64) -> String {
        self.token.lock().unwrap().display_code_at(t).unwrap()
    }
}

/// Burns a fresh virtual Token2 token with serial `serial` and a random seed. Both the
/// token's clock and the session's follow the host clock, as privacyIDEA's does.
pub fn burn(serial: &str, seed_len: usize, hash: HmacAlgorithm, period: u32) -> Burned {
    let token = Arc::new(Mutex::new(VirtualToken::new(
        TokenSpec::token2(serial),
        Arc::new(SystemClock),
    )));
    let mut transport = SimTransport::new(Arc::clone(&token));
    let seed = safeid::sources::random_seed(seed_len).unwrap();
    let options = PlanOptions {
        algorithm: Some(hash),
        period: Some(u64::from(period)),
        ..PlanOptions::default()
    };
    let plan = BurnPlan::from_seed(&seed, &options).unwrap();
    Session::new(&mut transport)
        .with_clock(Arc::new(SystemClock))
        .burn_serial(&plan, Some(serial))
        .unwrap();
    let mut record = TokenSeed::new(serial, SecretBytes::from_slice(seed.expose()))
        .with_model("Token2", "OTPC-P1-i");
    record.hash = hash;
    record.period = period;
    Burned { token, record }
}

/// The code oathtool computes for a hex secret at Unix time `t` (6 digits).
pub fn oathtool(secret_hex: &str, hash: &str, period: u32, t: u64) -> String {
    let algo = match hash.to_ascii_uppercase().as_str() {
        "SHA256" => "SHA256",
        "SHA1" => "SHA1",
        other => panic!("oathtool: unexpected hash {other}"),
    };
    let out = Command::new("oathtool")
        .arg(format!("--totp={algo}"))
        .arg(format!("--time-step-size={period}s"))
        .args(["--digits=6", "-N"])
        .arg(format!("@{t}"))
        .arg(secret_hex)
        .output()
        .expect("oathtool runs (Debian package oathtool)");
    assert!(out.status.success(), "oathtool failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `pskctool --validate` (it exits 0 either way: the verdict is `OK` or `FAIL` on stdout).
pub fn pskctool_validates(path: &Path) -> bool {
    let out = Command::new("pskctool")
        .arg("--validate")
        .arg(path)
        .output()
        .expect("pskctool runs (Debian package pskctool)");
    String::from_utf8_lossy(&out.stdout).trim() == "OK"
}

/// The privacyIDEA driver process (pi_harness.py driver): one for all cases.
pub struct Driver {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub started_in: Duration,
}

impl Driver {
    pub fn start(data: &Path, admin_password: &str) -> Self {
        let t0 = Instant::now();
        let mut child = Command::new(venv().join("bin/python"))
            .arg(harness())
            .arg("driver")
            .arg("--data")
            .arg(data)
            .env("SAFEID_PI_ADMIN_PASSWORD", admin_password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the venv's python runs");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut d = Self {
            child,
            stdin,
            stdout,
            started_in: Duration::ZERO,
        };
        let ready = d.read_reply();
        assert_eq!(ready["ready"], true, "driver did not start: {ready}");
        d.started_in = t0.elapsed();
        d
    }

    fn read_reply(&mut self) -> Value {
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "the privacyIDEA driver exited");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    pub fn request(&mut self, req: Value) -> Value {
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
        self.read_reply()
    }

    pub fn load(
        &mut self,
        kind: &str,
        path: &Path,
        psk: Option<&str>,
        password: Option<&str>,
    ) -> Value {
        self.request(
            json!({"op": "load", "kind": kind, "path": path, "psk": psk, "password": password}),
        )
    }

    pub fn check(&mut self, serial: &str, otp: &str) -> bool {
        let r = self.request(json!({"op": "check", "serial": serial, "otp": otp}));
        r["accept"]
            .as_bool()
            .unwrap_or_else(|| panic!("check failed: {r}"))
    }

    pub fn token(&mut self, serial: &str) -> Value {
        self.request(json!({"op": "token", "serial": serial}))
    }

    pub fn secrets(
        &mut self,
        format: &str,
        path: &Path,
        psk: Option<&str>,
        password: Option<&str>,
    ) -> Vec<Value> {
        let r = self.request(json!({"op": "secrets", "format": format, "path": path, "psk": psk, "password": password}));
        r["tokens"]
            .as_array()
            .unwrap_or_else(|| panic!("secrets of {format} failed: {r}"))
            .clone()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{}", json!({"op": "quit"}));
        let _ = self.stdin.flush();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A privacyIDEA server on 127.0.0.1 (pi_harness.py serve), stopped by its PID.
pub struct Server {
    child: Option<Child>,
    pub pid: u32,
    pub port: u16,
    pub started_in: Duration,
}

impl Server {
    /// Starts the server on `data` (created on first use; reused, with its tokens, when
    /// started again), on `port` (0: any free one), over HTTPS when `tls` gives a
    /// certificate and key file.
    pub fn start(
        data: &Path,
        admin_password: &str,
        port: u16,
        tls: Option<(&Path, &Path)>,
    ) -> Self {
        let t0 = Instant::now();
        let mut cmd = Command::new(venv().join("bin/python"));
        cmd.arg(harness())
            .arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--port")
            .arg(port.to_string())
            .env("SAFEID_PI_ADMIN_PASSWORD", admin_password)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some((cert, key)) = tls {
            cmd.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        let mut child = cmd.spawn().expect("the venv's python runs");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("server did not start: {line:?}"));
        let pid = u32::try_from(v["pid"].as_u64().unwrap()).unwrap();
        assert_eq!(pid, child.id(), "the server reports its own PID");
        Self {
            child: Some(child),
            pid,
            port: u16::try_from(v["port"].as_u64().unwrap()).unwrap(),
            started_in: t0.elapsed(),
        }
    }

    /// Stops the server by its PID (SIGTERM, then SIGKILL after 5 s) and waits for it.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill")
            .args(["-KILL", &self.pid.to_string()])
            .status();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
