//! privacyIDEA's REST API: `POST /auth` (admin login, a JWT), `GET /token/?serial=` (the
//! lookup), `POST /token/init` with `type=totp`, `serial`, `otpkey` (hex), `genkey=0`,
//! `hashlib`, `timeStep`, `otplen` and `description` (the seed fingerprint).
//!
//! HTTP is `ureq` on rustls (pure-Rust TLS, no OpenSSL), certificates verified against
//! Mozilla's roots or, with [`PrivacyIdeaConfig::ca_file`], against that private CA only.
//! Plain `http://` is accepted for loopback addresses only (tests, a local proxy). Request
//! bodies are built in a [`SecretBuf`] and responses read into one (privacyIDEA's
//! `/token/init` reply echoes the key in `detail`); what `ureq` and rustls buffer while
//! sending and receiving is outside this crate's reach and is not wiped. Errors carry the
//! server's message with any occurrence of the key or the password replaced.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use safeid_secret::SecretString;
use serde::{Deserialize, Serialize};
use ureq::Agent;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use super::{EnrollError, Enroller, Presence, seed_fingerprint};
use crate::export::SecretBuf;
use crate::record::{HmacAlgorithm, TokenSeed};

/// The largest response read, bytes (a `/token/init` reply with its QR images is ~20 KB).
const MAX_RESPONSE: usize = 4 << 20;

/// How to reach a privacyIDEA server.
#[derive(Clone, Debug)]
pub struct PrivacyIdeaConfig {
    /// The server's base URL, e.g. `https://pi.example.com` (a path prefix is kept).
    pub url: String,
    /// The admin user name.
    pub username: String,
    /// The admin password (read with [`SecretSource`](crate::export::secret_source::SecretSource)).
    pub password: SecretString,
    /// A PEM file of the CA(s) to trust instead of the public roots (a private CA).
    pub ca_file: Option<PathBuf>,
    /// Time limit of each request.
    pub timeout: Duration,
}

impl PrivacyIdeaConfig {
    /// A configuration with a 30 s timeout and the public roots.
    pub fn new(
        url: impl Into<String>,
        username: impl Into<String>,
        password: SecretString,
    ) -> Self {
        Self {
            url: url.into(),
            username: username.into(),
            password,
            ca_file: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// An [`Enroller`] for privacyIDEA.
pub struct PrivacyIdea {
    agent: Agent,
    base: String,
    username: String,
    password: SecretString,
    jwt: Option<SecretString>,
}

impl std::fmt::Debug for PrivacyIdea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivacyIdea")
            .field("base", &self.base)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Reply<T> {
    result: ReplyResult<T>,
}

#[derive(Deserialize)]
struct ReplyResult<T> {
    #[serde(default)]
    status: bool,
    value: Option<T>,
    error: Option<ReplyError>,
}

#[derive(Deserialize)]
struct ReplyError {
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct AuthValue {
    token: String,
}

#[derive(Deserialize)]
struct TokenList {
    #[serde(default)]
    tokens: Vec<TokenInfo>,
}

#[derive(Deserialize)]
struct TokenInfo {
    serial: String,
    #[serde(default)]
    tokentype: String,
    #[serde(default)]
    otplen: serde_json::Value,
    #[serde(default)]
    description: String,
    #[serde(default)]
    info: BTreeInfo,
}

#[derive(Deserialize, Default)]
struct BTreeInfo {
    hashlib: Option<String>,
    #[serde(rename = "timeStep")]
    time_step: Option<String>,
}

#[derive(Serialize)]
struct InitBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    serial: &'a str,
    otpkey: &'a str,
    genkey: u8,
    hashlib: &'static str,
    #[serde(rename = "timeStep")]
    time_step: u32,
    otplen: u8,
    description: &'a str,
}

fn hashlib(h: HmacAlgorithm) -> &'static str {
    match h {
        HmacAlgorithm::Sha1 => "sha1",
        HmacAlgorithm::Sha256 => "sha256",
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// Replaces every occurrence of the secrets in a server message and bounds its length.
fn scrub(message: &str, secrets: &[&str]) -> String {
    let mut m = message.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        m = m.replace(s, "<redacted>");
        m = m.replace(&s.to_ascii_uppercase(), "<redacted>");
    }
    m.chars().take(300).collect()
}

enum Failure {
    Transport(EnrollError),
    Status(u16, String),
}

impl PrivacyIdea {
    /// Checks the URL, loads the CA file if any, and prepares the HTTP client (no request
    /// is sent yet).
    pub fn new(config: PrivacyIdeaConfig) -> Result<Self, EnrollError> {
        let url = config.url.trim().trim_end_matches('/').to_owned();
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| EnrollError::Config(format!("{url:?} is not an http(s) URL")))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(EnrollError::Config(
                "the URL must not hold credentials; give the admin password separately".into(),
            ));
        }
        let host = if authority.starts_with('[') {
            authority.split_inclusive(']').next().unwrap_or(authority)
        } else {
            authority.split(':').next().unwrap_or(authority)
        };
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => {
                return Err(EnrollError::Config(format!(
                    "{url} is plain HTTP: the admin password and the seeds would cross the network in clear; use https:// (http:// is accepted for loopback addresses only)"
                )));
            }
            _ => {
                return Err(EnrollError::Config(format!(
                    "{url:?} is not an http(s) URL"
                )));
            }
        }
        if host.is_empty() {
            return Err(EnrollError::Config(format!("{url:?} names no host")));
        }
        let mut tls = TlsConfig::builder();
        if let Some(ca) = &config.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                EnrollError::Config(format!(
                    "cannot read the CA file {}: {}",
                    ca.display(),
                    e.kind()
                ))
            })?;
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(EnrollError::Config(format!(
                    "the CA file {} holds no PEM certificate",
                    ca.display()
                )));
            }
            tls = tls.root_certs(RootCerts::Specific(Arc::new(certs)));
        }
        let agent: Agent = Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(config.timeout))
            .user_agent(concat!("safeid/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Self {
            agent,
            base: url,
            username: config.username,
            password: config.password,
            jwt: None,
        })
    }

    fn transport_error(&self, e: ureq::Error) -> EnrollError {
        let target = self.target();
        match e {
            ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
                EnrollError::Tls {
                    target,
                    reason: e.to_string(),
                }
            }
            // rustls reports handshake and certificate failures as `InvalidData` I/O errors.
            ureq::Error::Io(ref io) if io.kind() == std::io::ErrorKind::InvalidData => {
                EnrollError::Tls {
                    target,
                    reason: e.to_string(),
                }
            }
            ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed => EnrollError::Unreachable {
                target,
                reason: e.to_string(),
            },
            other => EnrollError::Protocol {
                target,
                reason: other.to_string(),
            },
        }
    }

    /// Reads a response body into a wiped buffer (at most [`MAX_RESPONSE`] bytes).
    fn read_body(
        &self,
        response: &mut ureq::http::Response<ureq::Body>,
    ) -> Result<SecretBuf, EnrollError> {
        let mut out = SecretBuf::with_capacity(32 * 1024);
        let mut chunk = Zeroizing::new([0u8; 8192]);
        let mut reader = response.body_mut().as_reader();
        loop {
            let n = reader
                .read(&mut *chunk)
                .map_err(|e| EnrollError::Unreachable {
                    target: self.target(),
                    reason: format!("reading the reply: {}", e.kind()),
                })?;
            if n == 0 {
                break;
            }
            if out.len() + n > MAX_RESPONSE {
                return Err(EnrollError::Protocol {
                    target: self.target(),
                    reason: format!("the reply is longer than {MAX_RESPONSE} bytes"),
                });
            }
            out.push_bytes(&chunk[..n]);
        }
        Ok(out)
    }

    /// Sends one request; `Ok` with the body for 2xx, `Failure::Status` otherwise.
    fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&[u8]>,
        auth: bool,
    ) -> Result<SecretBuf, Failure> {
        let url = format!("{}{path}", self.base);
        let jwt = self.jwt.as_ref().map(|j| j.expose().to_owned());
        let result = match method {
            "GET" => {
                let mut req = self.agent.get(&url);
                for (k, v) in query {
                    req = req.query(*k, *v);
                }
                if auth && let Some(j) = &jwt {
                    req = req.header("Authorization", j);
                }
                req.call()
            }
            _ => {
                let mut req = self
                    .agent
                    .post(&url)
                    .header("Content-Type", "application/json");
                if auth && let Some(j) = &jwt {
                    req = req.header("Authorization", j);
                }
                req.send(body.unwrap_or(b"{}"))
            }
        };
        let mut response = result.map_err(|e| Failure::Transport(self.transport_error(e)))?;
        let status = response.status().as_u16();
        let bytes = self.read_body(&mut response).map_err(Failure::Transport)?;
        if (200..300).contains(&status) {
            Ok(bytes)
        } else {
            let message = serde_json::from_slice::<Reply<serde::de::IgnoredAny>>(bytes.as_bytes())
                .ok()
                .and_then(|r| r.result.error)
                .map(|e| e.message)
                .unwrap_or_default();
            Err(Failure::Status(status, message))
        }
    }

    fn parse<T: for<'de> Deserialize<'de>>(
        &self,
        bytes: &SecretBuf,
    ) -> Result<ReplyResult<T>, EnrollError> {
        serde_json::from_slice::<Reply<T>>(bytes.as_bytes())
            .map(|r| r.result)
            .map_err(|e| EnrollError::Protocol {
                target: self.target(),
                reason: format!(
                    "not a privacyIDEA reply (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            })
    }

    /// Logs in (`POST /auth`) and keeps the JWT for the following requests.
    pub fn authenticate(&mut self) -> Result<(), EnrollError> {
        let mut body = SecretBuf::with_capacity(256);
        serde_json::to_writer(
            &mut body,
            &serde_json::json!({"username": self.username, "password": self.password.expose()}),
        )
        .map_err(|_| EnrollError::Config("cannot encode the credentials".into()))?;
        let secrets = [self.password.expose()];
        let bytes = match self.send("POST", "/auth", &[], Some(body.as_bytes()), false) {
            Ok(b) => b,
            Err(Failure::Transport(e)) => return Err(e),
            Err(Failure::Status(status, message)) => {
                return Err(EnrollError::Auth {
                    target: self.target(),
                    reason: format!("HTTP {status}: {}", scrub(&message, &secrets)),
                });
            }
        };
        let r: ReplyResult<AuthValue> = self.parse(&bytes)?;
        match r.value {
            Some(v) if r.status && !v.token.is_empty() => {
                self.jwt = Some(SecretString::new(v.token));
                Ok(())
            }
            _ => Err(EnrollError::Auth {
                target: self.target(),
                reason: scrub(&r.error.map(|e| e.message).unwrap_or_default(), &secrets),
            }),
        }
    }

    /// Sends an authenticated request, logging in first and once more on a 401.
    fn authed(
        &mut self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<SecretBuf, Failure> {
        if self.jwt.is_none() {
            self.authenticate().map_err(Failure::Transport)?;
        }
        match self.send(method, path, query, body, true) {
            Err(Failure::Status(401, _)) => {
                self.jwt = None;
                self.authenticate().map_err(Failure::Transport)?;
                self.send(method, path, query, body, true)
            }
            other => other,
        }
    }

    fn find(&mut self, serial: &str) -> Result<Option<TokenInfo>, EnrollError> {
        let bytes = match self.authed("GET", "/token/", &[("serial", serial)], None) {
            Ok(b) => b,
            Err(Failure::Transport(e)) => return Err(e),
            Err(Failure::Status(status, message)) => {
                return Err(status_error(
                    self.target(),
                    serial,
                    status,
                    scrub(&message, &[]),
                ));
            }
        };
        let r: ReplyResult<TokenList> = self.parse(&bytes)?;
        let list = r.value.ok_or_else(|| EnrollError::Protocol {
            target: self.target(),
            reason: "the token list is missing".into(),
        })?;
        // The serial filter takes wildcards: keep the exact match only.
        Ok(list.tokens.into_iter().find(|t| t.serial == serial))
    }
}

fn status_error(target: String, serial: &str, status: u16, message: String) -> EnrollError {
    if status == 401 || status == 403 {
        EnrollError::Auth {
            target,
            reason: format!("HTTP {status}: {message}"),
        }
    } else {
        EnrollError::Refused {
            serial: serial.to_owned(),
            status,
            message,
        }
    }
}

impl Enroller for PrivacyIdea {
    fn target(&self) -> String {
        format!("privacyidea={}", self.base)
    }

    /// Logs in (`POST /auth`): the server answers and takes the admin credentials.
    fn check(&mut self) -> Result<(), EnrollError> {
        self.authenticate()
    }

    fn lookup(&mut self, seed: &TokenSeed) -> Result<Presence, EnrollError> {
        let Some(t) = self.find(&seed.serial)? else {
            return Ok(Presence::Absent);
        };
        let mut differences = Vec::new();
        if t.tokentype != "totp" {
            differences.push(format!("type {}", t.tokentype));
        }
        if t.info.hashlib.as_deref() != Some(hashlib(seed.hash)) {
            differences.push(format!(
                "hashlib {}",
                t.info.hashlib.as_deref().unwrap_or("-")
            ));
        }
        if t.info.time_step.as_deref() != Some(seed.period.to_string().as_str()) {
            differences.push(format!(
                "timeStep {}",
                t.info.time_step.as_deref().unwrap_or("-")
            ));
        }
        let otplen = match &t.otplen {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        if otplen != seed.digits.to_string() {
            differences.push(format!("otplen {otplen}"));
        }
        if !t.description.contains(&seed_fingerprint(seed)) {
            differences.push("not this seed's fingerprint in the description".into());
        }
        Ok(if differences.is_empty() {
            Presence::Same
        } else {
            Presence::Different(differences.join(", "))
        })
    }

    fn is_enrolled(&mut self, serial: &str) -> Result<bool, EnrollError> {
        Ok(self.find(serial)?.is_some())
    }

    fn register(&mut self, seed: &TokenSeed) -> Result<(), EnrollError> {
        let otpkey = Zeroizing::new(data_encoding::HEXLOWER.encode(seed.secret.expose()));
        let description = seed_fingerprint(seed);
        let mut body = SecretBuf::with_capacity(512);
        serde_json::to_writer(
            &mut body,
            &InitBody {
                kind: "totp",
                serial: &seed.serial,
                otpkey: &otpkey,
                genkey: 0,
                hashlib: hashlib(seed.hash),
                time_step: seed.period,
                otplen: seed.digits,
                description: &description,
            },
        )
        .map_err(|_| EnrollError::Config("cannot encode the enrollment".into()))?;
        let password = self.password.clone();
        let secrets = [otpkey.as_str(), password.expose()];
        let bytes = match self.authed("POST", "/token/init", &[], Some(body.as_bytes())) {
            Ok(b) => b,
            Err(Failure::Transport(e)) => return Err(e),
            Err(Failure::Status(status, message)) => {
                return Err(status_error(
                    self.target(),
                    &seed.serial,
                    status,
                    scrub(&message, &secrets),
                ));
            }
        };
        // The reply's `detail` echoes the key (otpkey, googleurl): only `result` is read,
        // and the buffer holding the reply is wiped when it is dropped.
        let r: ReplyResult<serde_json::Value> = self.parse(&bytes)?;
        if r.status
            && r.value
                .as_ref()
                .is_some_and(|v| v == &serde_json::Value::Bool(true))
        {
            Ok(())
        } else {
            Err(EnrollError::Refused {
                serial: seed.serial.clone(),
                status: 200,
                message: scrub(&r.error.map(|e| e.message).unwrap_or_default(), &secrets),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(url: &str) -> PrivacyIdeaConfig {
        PrivacyIdeaConfig::new(url, "admin", SecretString::new("pw".into()))
    }

    #[test]
    fn plain_http_is_for_loopback_only() {
        for ok in [
            "https://pi.example.com",
            "https://pi.example.com:8443/pi/",
            "http://127.0.0.1:5000",
            "http://localhost",
            "http://[::1]:80",
        ] {
            assert!(PrivacyIdea::new(config(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "http://pi.example.com",
            "ftp://x",
            "pi.example.com",
            "https://",
        ] {
            assert!(
                matches!(PrivacyIdea::new(config(bad)), Err(EnrollError::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn scrub_removes_secrets_in_either_case() {
        let m = scrub(
            "bad key 3132abcd and 3132ABCD, pw hunter2",
            &["3132abcd", "hunter2"],
        );
        assert_eq!(m, "bad key <redacted> and <redacted>, pw <redacted>");
    }

    #[test]
    fn a_missing_ca_file_is_a_config_error_naming_the_file() {
        let mut c = config("https://pi.example.com");
        c.ca_file = Some("/nonexistent/ca.pem".into());
        let e = PrivacyIdea::new(c).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    }
}
