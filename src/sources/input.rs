//! Seed sources for one token, all turned into one type ([`Secret`]) with one error type
//! ([`SourceError`]): an `otpauth://` URI or Google Authenticator export, a QR code in an
//! image file, in image bytes or on the screens, base32 or hex text, a fresh random seed,
//! or a seed file's row for the token's serial.

use std::path::{Path, PathBuf};

use safeid_otpauth::{Credential, Kind, Parsed};
use safeid_proto::ModelTable;
use safeid_secret::{SecretBytes, SecretString};

use super::{
    SecretEncoding, SeedFile, SourceError, detect_and_decode, parse_manual_secret, random_seed,
};
use crate::content::{self, Content};
use crate::plan::{Acceptance, BurnPlan, MIN_STRONG_SEED_BYTES, PlanError, PlanOptions, Risk};

/// Where one token's seed comes from.
pub enum SeedInput {
    /// An `otpauth://` or `otpauth-migration://` URI.
    Uri(SecretString),
    /// An image file holding QR codes.
    QrFile(PathBuf),
    /// Image file contents (a dropped or pasted image); `name` appears in messages.
    QrImage {
        /// A name for messages.
        name: String,
        /// The file's bytes.
        bytes: Vec<u8>,
    },
    /// Every monitor of the screens.
    Screen,
    /// A secret typed as base32 or hex: the encoding given, else a `base32:` or `hex:`
    /// prefix, else detected ([`super::parse_manual_secret`]).
    Text {
        /// The text.
        text: SecretString,
        /// The encoding, when the user said.
        encoding: Option<SecretEncoding>,
    },
    /// A fresh random seed of this many bytes (OS CSPRNG).
    Random {
        /// Length in bytes.
        bytes: usize,
    },
}

/// How a [`Secret`] was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// From a service: a URI or a QR code (`source` names the file or screen, if any).
    Service {
        /// The file or screen the code was found on.
        source: Option<String>,
    },
    /// Typed text, in this encoding.
    Text(SecretEncoding),
    /// Generated here.
    Random,
    /// A seed file's row.
    SeedFile,
}

/// A seed for one token with the parameters it comes with: what every source yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The credential (for raw secrets: TOTP, SHA-1, 30 s, 6 digits, no label; the plan
    /// options choose algorithm and period).
    pub credential: Credential,
    /// Where it came from.
    pub origin: Origin,
}

impl Secret {
    /// A raw secret with default parameters.
    pub fn raw(secret: SecretBytes, origin: Origin) -> Self {
        Self {
            credential: Credential {
                kind: Kind::Totp {
                    period: safeid_otpauth::DEFAULT_PERIOD,
                },
                issuer: None,
                account: String::new(),
                secret,
                algorithm: safeid_totp::Algorithm::Sha1,
                digits: crate::record::TOKEN_DIGITS,
            },
            origin,
        }
    }

    /// True when a service chose the parameters (they may only be overridden explicitly).
    pub fn from_service(&self) -> bool {
        matches!(self.origin, Origin::Service { .. })
    }

    /// `issuer:account`, or `None` for raw secrets.
    pub fn label(&self) -> Option<String> {
        Some(content::label(&self.credential)).filter(|l| !l.is_empty())
    }

    /// The burn plan: a service's credential keeps its parameters unless an override is
    /// accepted; a raw secret takes the options' algorithm and period. A random seed under
    /// 16 bytes needs the short-seed risk accepted.
    pub fn plan(&self, opts: &PlanOptions) -> Result<BurnPlan, PlanError> {
        let len = self.credential.secret.len();
        match self.origin {
            Origin::Service { .. } => BurnPlan::from_credential(&self.credential, opts),
            Origin::Random
                if len < MIN_STRONG_SEED_BYTES
                    && !opts.accepts(Acceptance::Risk(Risk::ShortRandomSeed)) =>
            {
                Err(PlanError::ShortRandomSeed(len))
            }
            // A seed file row says its own algorithm and period (the file's options).
            Origin::SeedFile => {
                let own = PlanOptions {
                    algorithm: opts.algorithm.or_else(|| {
                        safeid_proto::HmacAlgorithm::try_from(self.credential.algorithm).ok()
                    }),
                    period: opts.period.or(match self.credential.kind {
                        Kind::Totp { period } => Some(period),
                        Kind::Hotp { .. } => None,
                    }),
                    ..opts.clone()
                };
                BurnPlan::from_seed(&self.credential.secret, &own)
            }
            _ => BurnPlan::from_seed(&self.credential.secret, opts),
        }
    }
}

/// One QR code found by a scan, with what it holds.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// The file name, or the screen's name.
    pub source: String,
    /// The decoded text (may hold a secret: show it through [`content::redact`]).
    pub text: SecretString,
    /// What it is.
    pub content: Content,
}

/// What a source produced: the secrets that can be burned, and for scans every code found
/// (to explain what was seen when it is not a TOTP credential).
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Burnable secrets, in the order found (several for an export or several codes).
    pub secrets: Vec<Secret>,
    /// Every QR code decoded (scans only).
    pub scanned: Vec<Scanned>,
}

impl Found {
    /// One secret: the only one, or the one `choice` names (a 1-based index, or a part of
    /// `issuer:account`, case-insensitive).
    pub fn pick(&self, choice: Option<&str>) -> Result<Secret, SourceError> {
        if self.secrets.is_empty() {
            return Err(SourceError::NoCredential {
                seen: self.describe(),
            });
        }
        let creds: Vec<Credential> = self.secrets.iter().map(|s| s.credential.clone()).collect();
        let i = content::pick_index(&creds, choice).map_err(SourceError::Account)?;
        Ok(self.secrets[i].clone())
    }

    /// One line per code found, saying what it is (never a secret).
    pub fn describe(&self) -> String {
        if self.scanned.is_empty() {
            return "no QR code was found".into();
        }
        self.scanned
            .iter()
            .map(|s| format!("{}: {}", s.source, s.content.describe()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Reads a seed input. `models` names token serial barcodes found by a scan.
pub fn read(input: SeedInput, models: &ModelTable) -> Result<Found, SourceError> {
    let limits = safeid_qr::Limits::default();
    match input {
        SeedInput::Uri(text) => from_uri(text.expose()),
        SeedInput::QrFile(path) => {
            let codes =
                safeid_qr::decode_file(&path, &limits).map_err(|error| SourceError::Qr {
                    place: path.display().to_string(),
                    error,
                })?;
            Ok(from_codes(scanned(
                &path.display().to_string(),
                codes,
                models,
            )))
        }
        SeedInput::QrImage { name, bytes } => {
            let codes =
                safeid_qr::decode_bytes(&bytes, &limits).map_err(|error| SourceError::Qr {
                    place: name.clone(),
                    error,
                })?;
            Ok(from_codes(scanned(&name, codes, models)))
        }
        SeedInput::Screen => {
            let screens = safeid_qr::scan_screens(&limits).map_err(|error| SourceError::Qr {
                place: "the screens".into(),
                error,
            })?;
            let all = screens
                .into_iter()
                .flat_map(|(name, codes)| scanned(&name, codes, models))
                .collect();
            Ok(from_codes(all))
        }
        SeedInput::Text { text, encoding } => {
            let (secret, encoding) = match encoding {
                Some(e) => detect_and_decode(text.expose(), Some(e))?,
                None => parse_manual_secret(text.expose())?,
            };
            Ok(single(Secret::raw(secret, Origin::Text(encoding))))
        }
        SeedInput::Random { bytes } => Ok(single(Secret::raw(random_seed(bytes)?, Origin::Random))),
    }
}

/// The seed file's row for `serial`, as a secret.
pub fn from_seed_file(file: &SeedFile, serial: &str) -> Result<Secret, SourceError> {
    let row = file
        .seed_for(serial)
        .ok_or_else(|| SourceError::NoRowForSerial(serial.to_owned()))?;
    let mut secret = Secret::raw(row.secret.clone(), Origin::SeedFile);
    secret.credential.kind = Kind::Totp {
        period: u64::from(row.period),
    };
    secret.credential.algorithm = row.hash.into();
    Ok(secret)
}

fn single(secret: Secret) -> Found {
    Found {
        secrets: vec![secret],
        scanned: Vec::new(),
    }
}

fn from_uri(text: &str) -> Result<Found, SourceError> {
    let service = || Origin::Service { source: None };
    let secrets = match safeid_otpauth::parse_any(text)? {
        Parsed::Single(c) => vec![Secret {
            credential: c,
            origin: service(),
        }],
        Parsed::Migration(batch) => batch
            .credentials
            .into_iter()
            .map(|c| Secret {
                credential: c,
                origin: service(),
            })
            .collect(),
    };
    Ok(Found {
        secrets,
        scanned: Vec::new(),
    })
}

fn scanned(source: &str, codes: Vec<safeid_qr::Found>, models: &ModelTable) -> Vec<Scanned> {
    codes
        .into_iter()
        .map(|c| Scanned {
            source: source.to_owned(),
            content: Content::classify(c.text.expose(), models),
            text: c.text,
        })
        .collect()
}

fn from_codes(scanned: Vec<Scanned>) -> Found {
    let secrets = scanned
        .iter()
        .flat_map(|s| {
            s.content.credentials().into_iter().map(|c| Secret {
                credential: c,
                origin: Origin::Service {
                    source: Some(s.source.clone()),
                },
            })
        })
        .collect();
    Found { secrets, scanned }
}

/// Reads a whole file of at most `limit` bytes as UTF-8 text; `what` names the kind of
/// file in errors (`seed file`, `URI list`). A larger file is refused before it is read.
/// `-` reads standard input, with the same limit.
pub fn read_text_file(
    path: &Path,
    limit: u64,
    what: &'static str,
) -> Result<SecretString, SourceError> {
    use std::io::Read;
    let io = |e: std::io::Error| SourceError::Io {
        path: path.to_path_buf(),
        what,
        reason: e.to_string(),
    };
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    } else {
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > limit {
            return Err(SourceError::TooLarge {
                path: path.to_path_buf(),
                what,
                limit,
            });
        }
        file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    }
    if bytes.len() as u64 > limit {
        return Err(SourceError::TooLarge {
            path: path.to_path_buf(),
            what,
            limit,
        });
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(SecretString::new(text.to_owned())),
        Err(e) => Err(SourceError::NotUtf8 {
            path: path.to_path_buf(),
            what,
            offset: e.valid_up_to(),
        }),
    }
}

/// How [`watch_screens`] polls.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// The shortest time between the start of two captures.
    pub interval: std::time::Duration,
    /// Give up after this long (`None`: until cancelled).
    pub timeout: Option<std::time::Duration>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_millis(500),
            timeout: Some(std::time::Duration::from_secs(120)),
        }
    }
}

/// After a scan that took `work`, [`watch_screens`] rests at least this many times as
/// long before the next one: the watch then spends at most a fifth of its time capturing
/// and decoding (one thread at a time), whatever the screens' size or the machine's
/// speed, which leaves room under a quarter of one core for what the pacing does not
/// time (connecting to the display, the process itself). With a factor of 3 the
/// measured share on 1080p + 4K screens was 25.3 %, over the quarter.
pub const WATCH_REST_FACTOR: u32 = 4;

/// How long [`watch_screens`] waits after a scan that took `work`, before the next capture:
/// the rest of the interval, but never less than [`WATCH_REST_FACTOR`] times `work`.
pub fn watch_pause(options: &WatchOptions, work: std::time::Duration) -> std::time::Duration {
    options
        .interval
        .saturating_sub(work)
        .max(work.saturating_mul(WATCH_REST_FACTOR))
}

/// Whether reading [`SeedInput::Screen`] (or [`watch_screens`]) may make the desktop ask the
/// user to allow a screenshot: a Wayland session captured through the xdg-desktop-portal
/// (the `wayland` feature). A front end says so before it scans, so that the user looks
/// for the dialog; the capture waits for the answer up to
/// [`safeid_qr::screen::PORTAL_TIMEOUT`], and a refusal is an error that names it.
pub fn screen_may_ask_permission() -> bool {
    safeid_qr::screen::may_ask_permission()
}

/// Watches every monitor until a QR code appears, then returns what was found (once).
/// `Ok(None)`: the timeout passed, or `cancelled` returned true (checked at least every
/// 100 ms). Any code counts (a code that is not a TOTP credential is returned too, so
/// the caller can say what it is).
///
/// CPU use is bounded: each scan is followed by a pause of at least
/// [`WATCH_REST_FACTOR`] times its own duration ([`watch_pause`]), so the watch keeps at
/// most a quarter of one core busy (a fifth by the pacing). A screen without a code costs about 30-40 ms per scan
/// at 1080p and 150-200 ms at 4K (docs/qr.md), so at the default interval the pause is
/// the interval itself except on 4K screens.
pub fn watch_screens(
    models: &ModelTable,
    options: WatchOptions,
    cancelled: &dyn Fn() -> bool,
) -> Result<Option<Found>, SourceError> {
    let start = std::time::Instant::now();
    let step = std::time::Duration::from_millis(100);
    loop {
        let began = std::time::Instant::now();
        let found = read(SeedInput::Screen, models)?;
        if !found.scanned.is_empty() {
            return Ok(Some(found));
        }
        let pause = watch_pause(&options, began.elapsed());
        let resume = std::time::Instant::now() + pause;
        loop {
            let expired = options.timeout.is_some_and(|t| start.elapsed() >= t);
            if expired || cancelled() {
                return Ok(None);
            }
            let now = std::time::Instant::now();
            if now >= resume {
                break;
            }
            let mut nap = (resume - now).min(step);
            if let Some(t) = options.timeout {
                // Wake up when the timeout passes rather than up to a step later.
                nap = nap.min(t.saturating_sub(start.elapsed()));
            }
            std::thread::sleep(nap);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_file_row_keeps_its_own_algorithm_and_period() {
        let options = crate::sources::SeedFileOptions {
            hash: safeid_proto::HmacAlgorithm::Sha256,
            period: 60,
            ..Default::default()
        };
        let file =
            SeedFile::parse_with("8659622000001,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n", &options)
                .unwrap();
        let secret = from_seed_file(&file, "8659622000001").unwrap();
        let plan = secret.plan(&PlanOptions::default()).unwrap();
        assert_eq!(plan.hmac(), safeid_proto::HmacAlgorithm::Sha256);
        assert_eq!(plan.step().seconds(), 60);
        assert!(matches!(
            from_seed_file(&file, "8659622000002"),
            Err(SourceError::NoRowForSerial(_))
        ));
    }

    #[test]
    fn the_watch_rests_four_times_as_long_as_it_worked() {
        use std::time::Duration;
        let ms = Duration::from_millis;
        let options = WatchOptions {
            interval: ms(500),
            timeout: None,
        };
        // A quick scan: the rest of the interval.
        assert_eq!(watch_pause(&options, ms(40)), ms(460));
        // A slow scan (a 4K screen on a slow machine): four times its length.
        assert_eq!(watch_pause(&options, ms(200)), ms(800));
        assert_eq!(watch_pause(&options, ms(2000)), ms(8000));
        // Busy share = work / (work + pause) never above a fifth.
        for work in [0u64, 1, 50, 100, 101, 400, 10_000] {
            let pause = watch_pause(&options, ms(work));
            assert!(5 * work <= work + pause.as_millis() as u64, "{work} ms");
        }
    }

    #[test]
    fn a_short_random_seed_needs_the_risk_accepted() {
        let found = read(SeedInput::Random { bytes: 10 }, &ModelTable::builtin()).unwrap();
        let secret = found.pick(None).unwrap();
        assert_eq!(
            secret.plan(&PlanOptions::default()).unwrap_err(),
            PlanError::ShortRandomSeed(10)
        );
        let mut opts = PlanOptions::default();
        opts.accept.insert(Acceptance::Risk(Risk::ShortRandomSeed));
        assert_eq!(secret.plan(&opts).unwrap().seed().len(), 10);
    }
}
