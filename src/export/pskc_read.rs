//! A strict reader for the PSKC documents this crate writes and those vendors ship: RFC
//! 6030 namespace and `Version="1.0"`, TOTP keys only, secrets in `Secret/PlainValue` or,
//! with a key or password, `Secret/EncryptedValue` (AES-128-CBC, RFC 6030 sections 6.1
//! and 6.2) authenticated by `ValueMAC` (HMAC-SHA1 under the `MACMethod/MACKey`).
//!
//! Built on `quick-xml`'s namespace-aware reader. A DOCTYPE is refused (no entity games);
//! elements of other namespaces are skipped with their content. Errors carry positions,
//! never values. Bounds: at most [`MAX_PSKC_BYTES`] of input, 32 levels of nesting,
//! 100 000 key packages, 1 MiB of text per element, [`MAX_PBKDF2_ITERATIONS`] PBKDF2
//! iterations; memory is a small multiple of the input size. No input makes it panic
//! (proptests in tests/export_roundtrip.rs and tests/export_pskc_encrypted.rs; a fuzz
//! target is to come). A fuzz target should read with `PskcDecryption::None` or a
//! pre-shared key: with a password, each input may cost a PBKDF2 run of up to
//! `MAX_PBKDF2_ITERATIONS`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};
use zeroize::Zeroizing;

use super::pskc::{PSKC_NAMESPACE, PSKC_TOTP};
use super::pskc_crypto::{
    AES128_CBC, DS_NS, HMAC_SHA1, MAX_PBKDF2_ITERATIONS, PBKDF2, PKCS5_NS, PRF_HMAC_SHA1, XENC_NS,
    XENC11_NS, decrypt, derive, mac_matches,
};
use super::{ImportError, PskcDecryption, check_unique_import};
use crate::record::{DEFAULT_PERIOD, HmacAlgorithm, TOKEN_DIGITS, TokenSeed};
use crate::sources::{check_length, check_serial};

/// The largest document accepted, bytes (32 MiB: some 40 000 encrypted key packages).
pub const MAX_PSKC_BYTES: usize = 32 << 20;
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 32;
/// Most key packages accepted in one document.
const MAX_PACKAGES: usize = 100_000;
/// Longest text accepted in one element.
const MAX_TEXT: usize = 1 << 20;

/// What one `KeyPackage` said.
#[derive(Default)]
struct Draft {
    line: u64,
    manufacturer: Option<String>,
    serial: Option<String>,
    model: Option<String>,
    keys: usize,
    algorithm: Option<String>,
    suite: Option<String>,
    length: Option<String>,
    encoding: Option<String>,
    friendly_name: Option<String>,
    user_id: Option<String>,
    device_user_id: Option<String>,
    secret: Option<Zeroizing<String>>,
    encrypted: bool,
    cipher_algorithm: Option<String>,
    cipher_value: Option<String>,
    value_mac: Option<String>,
    interval: Option<String>,
}

/// What the `KeyContainer` says about encryption.
#[derive(Default)]
struct Container {
    encryption_key: bool,
    derived: bool,
    derivation_algorithm: Option<String>,
    salt: Option<String>,
    iterations: Option<String>,
    key_length: Option<String>,
    prf: Option<String>,
    mac_algorithm: Option<String>,
    mac_key_algorithm: Option<String>,
    mac_key_value: Option<String>,
}

fn line_of(text: &str, offset: u64) -> u64 {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

fn syntax(text: &str, offset: u64) -> ImportError {
    ImportError::Syntax {
        format: "XML",
        line: line_of(text, offset),
        column: 0,
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, ()> {
    for a in e.attributes() {
        let a = a.map_err(|_| ())?;
        if a.key.as_ref() == name {
            return a
                .normalized_value(XmlVersion::Implicit1_0)
                .map(|v| Some(v.into_owned()))
                .map_err(|_| ());
        }
    }
    Ok(None)
}

/// The name an element goes by on the path stack: PSKC elements by their local name, the
/// XML Encryption, Signature and PKCS #5 ones with a fixed prefix (whatever prefix the
/// document used), elements in no namespace as `-:name` (RFC 6030's figure 7 writes the
/// PBKDF2 parameters that way), anything else as `?` (skipped).
fn stack_name(ns: &ResolveResult<'_>, local: &str) -> String {
    match ns {
        ResolveResult::Bound(n) => match n.as_ref() {
            x if x == PSKC_NAMESPACE => local.to_owned(),
            x if x == XENC_NS => format!("xenc:{local}"),
            x if x == XENC11_NS => format!("xenc11:{local}"),
            x if x == DS_NS => format!("ds:{local}"),
            x if x == PKCS5_NS => format!("pkcs5:{local}"),
            _ => "?".to_owned(),
        },
        _ => format!("-:{local}"),
    }
}

/// The PBKDF2 parameter elements are read in the PKCS #5, PSKC or no namespace.
fn pbkdf2_child(rest: &str) -> Option<&str> {
    let rest = rest.strip_prefix("KeyContainer/EncryptionKey/xenc11:DerivedKey/xenc11:KeyDerivationMethod/pkcs5:PBKDF2-params/")?;
    Some(rest)
}

fn unprefixed(name: &str) -> &str {
    name.strip_prefix("pkcs5:")
        .or_else(|| name.strip_prefix("-:"))
        .unwrap_or(name)
}

/// Reads a PSKC document with plain values into records (one per `KeyPackage`, keyed by
/// `DeviceInfo/SerialNo`). An encrypted document is refused ([`ImportError::NeedsKey`]):
/// use [`read_pskc_with`].
pub fn read_pskc(text: &str) -> Result<Vec<TokenSeed>, ImportError> {
    read_pskc_with(text, &PskcDecryption::None)
}

/// Reads a PSKC document, decrypting `EncryptedValue` secrets with the given key or
/// password and checking every `ValueMAC`. The whole document must be valid (every MAC
/// right) before any record is returned.
pub fn read_pskc_with(
    text: &str,
    decryption: &PskcDecryption,
) -> Result<Vec<TokenSeed>, ImportError> {
    if text.len() > MAX_PSKC_BYTES {
        return Err(ImportError::TooLarge {
            max: MAX_PSKC_BYTES,
        });
    }
    let text = crate::sources::strip_bom(text);
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut drafts: Vec<Draft> = Vec::new();
    let mut container = Container::default();
    let mut buf = Zeroizing::new(String::new());
    let mut saw_root = false;
    loop {
        let pos = reader.buffer_position();
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|_| syntax(text, pos))?;
        if let ResolveResult::Unknown(_) = ns {
            return Err(syntax(text, pos));
        }
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = stack_name(&ns, e.local_name().as_ref());
                if stack.is_empty() {
                    if saw_root || name != "KeyContainer" {
                        return Err(ImportError::Structure(format!(
                            "the root element is not a KeyContainer in namespace {PSKC_NAMESPACE}"
                        )));
                    }
                    saw_root = true;
                    if attr(e, "Version")
                        .map_err(|()| syntax(text, pos))?
                        .as_deref()
                        != Some("1.0")
                    {
                        return Err(ImportError::Structure(
                            "KeyContainer Version is not \"1.0\"".into(),
                        ));
                    }
                }
                stack.push(name);
                if stack.len() > MAX_DEPTH {
                    return Err(ImportError::Structure("elements nested too deeply".into()));
                }
                let path = stack.join("/");
                let algorithm = || attr(e, "Algorithm").map_err(|()| syntax(text, pos));
                match path.as_str() {
                    "KeyContainer/KeyPackage" => {
                        if drafts.len() >= MAX_PACKAGES {
                            return Err(ImportError::Structure("too many KeyPackages".into()));
                        }
                        drafts.push(Draft {
                            line: line_of(text, pos),
                            ..Draft::default()
                        });
                    }
                    "KeyContainer/KeyPackage/Key" => {
                        let d = drafts.last_mut().ok_or_else(|| syntax(text, pos))?;
                        d.keys += 1;
                        d.algorithm = algorithm()?;
                    }
                    "KeyContainer/KeyPackage/Key/AlgorithmParameters/ResponseFormat" => {
                        let d = drafts.last_mut().ok_or_else(|| syntax(text, pos))?;
                        d.length = attr(e, "Length").map_err(|()| syntax(text, pos))?;
                        d.encoding = attr(e, "Encoding").map_err(|()| syntax(text, pos))?;
                    }
                    "KeyContainer/KeyPackage/Key/Data/Secret/EncryptedValue" => {
                        if let Some(d) = drafts.last_mut() {
                            d.encrypted = true;
                        }
                    }
                    "KeyContainer/KeyPackage/Key/Data/Secret/EncryptedValue/xenc:EncryptionMethod" => {
                        if let Some(d) = drafts.last_mut() {
                            d.cipher_algorithm = algorithm()?;
                        }
                    }
                    "KeyContainer/EncryptionKey" => container.encryption_key = true,
                    "KeyContainer/EncryptionKey/xenc11:DerivedKey" => container.derived = true,
                    "KeyContainer/EncryptionKey/xenc11:DerivedKey/xenc11:KeyDerivationMethod" => {
                        container.derivation_algorithm = algorithm()?;
                    }
                    "KeyContainer/MACMethod" => container.mac_algorithm = algorithm()?,
                    "KeyContainer/MACMethod/MACKey/xenc:EncryptionMethod" => {
                        container.mac_key_algorithm = algorithm()?;
                    }
                    p => {
                        if let Some(rest) = pbkdf2_child(p)
                            && unprefixed(rest) == "PRF"
                        {
                            container.prf = Some(algorithm()?.unwrap_or_default());
                        }
                    }
                }
                buf.clear();
                if empty {
                    finish_element(&stack, &mut drafts, &mut container, &mut buf);
                    stack.pop();
                }
            }
            Event::Text(t) => {
                push_text(&mut buf, &t.xml10_content()).map_err(|()| syntax(text, pos))?;
            }
            Event::CData(t) => {
                push_text(&mut buf, &t.xml10_content()).map_err(|()| syntax(text, pos))?;
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => return Err(syntax(text, pos)),
                    },
                    Err(_) => return Err(syntax(text, pos)),
                };
                push_text(&mut buf, c.encode_utf8(&mut [0u8; 4]))
                    .map_err(|()| syntax(text, pos))?;
            }
            Event::End(_) => {
                finish_element(&stack, &mut drafts, &mut container, &mut buf);
                stack.pop();
                buf.clear();
            }
            Event::DocType(_) => {
                return Err(ImportError::Structure(
                    "a DOCTYPE is not accepted in PSKC".into(),
                ));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() || !saw_root {
        return Err(syntax(text, text.len() as u64));
    }
    let keys = if drafts.iter().any(|d| d.encrypted) {
        Some(container_keys(&container, decryption)?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.into_iter().enumerate() {
        let at = format!("KeyPackage {} (line {})", i + 1, d.line);
        let seed = build(d, keys.as_ref(), &at)?;
        out.push((at, seed));
    }
    check_unique_import(&out)?;
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

fn push_text(buf: &mut Zeroizing<String>, piece: &str) -> Result<(), ()> {
    if buf.len() + piece.len() > MAX_TEXT {
        return Err(());
    }
    buf.push_str(piece);
    Ok(())
}

/// Base64 in XML may be wrapped over several lines.
fn compact(buf: &str) -> String {
    buf.chars().filter(|c| !c.is_ascii_whitespace()).collect()
}

/// Stores the text collected for the element on top of the stack, when it is one we read.
fn finish_element(
    stack: &[String],
    drafts: &mut [Draft],
    container: &mut Container,
    buf: &mut Zeroizing<String>,
) {
    let path = stack.join("/");
    let value = || Some(buf.trim().to_owned());
    if let Some(rest) = pbkdf2_child(&path) {
        let names: Vec<&str> = rest.split('/').map(unprefixed).collect();
        match names[..] {
            ["Salt", "Specified"] => container.salt = Some(compact(buf)),
            ["IterationCount"] => container.iterations = value(),
            ["KeyLength"] => container.key_length = value(),
            _ => {}
        }
        return;
    }
    if path == "KeyContainer/MACMethod/MACKey/xenc:CipherData/xenc:CipherValue" {
        container.mac_key_value = Some(compact(buf));
        return;
    }
    let Some(d) = drafts.last_mut() else { return };
    let Some(rest) = path.strip_prefix("KeyContainer/KeyPackage/") else {
        return;
    };
    match rest {
        "DeviceInfo/Manufacturer" => d.manufacturer = value(),
        "DeviceInfo/SerialNo" => d.serial = value(),
        "DeviceInfo/Model" => d.model = value(),
        "DeviceInfo/UserId" => d.device_user_id = value(),
        "Key/AlgorithmParameters/Suite" => d.suite = value(),
        "Key/FriendlyName" => d.friendly_name = value(),
        "Key/UserId" => d.user_id = value(),
        "Key/Data/TimeInterval/PlainValue" => d.interval = value(),
        "Key/Data/Secret/PlainValue" => d.secret = Some(Zeroizing::new(compact(buf))),
        "Key/Data/Secret/EncryptedValue/xenc:CipherData/xenc:CipherValue" => {
            d.cipher_value = Some(compact(buf));
        }
        "Key/Data/Secret/ValueMAC" => d.value_mac = Some(compact(buf)),
        _ => {}
    }
}

/// The AES key and the MAC key of an encrypted document.
struct Keys {
    aes: Zeroizing<Vec<u8>>,
    mac: Zeroizing<Vec<u8>>,
}

fn structure(problem: &str) -> ImportError {
    ImportError::Structure(problem.to_owned())
}

fn container_keys(c: &Container, decryption: &PskcDecryption) -> Result<Keys, ImportError> {
    if !c.encryption_key {
        return Err(structure(
            "the secrets are encrypted but the KeyContainer has no EncryptionKey",
        ));
    }
    let aes: Zeroizing<Vec<u8>> = if c.derived {
        let PskcDecryption::Password(password) = decryption else {
            return Err(ImportError::NeedsKey {
                needs: "a password (PBKDF2)",
            });
        };
        if c.derivation_algorithm.as_deref() != Some(PBKDF2) {
            return Err(structure("the key derivation method is not PBKDF2"));
        }
        if c.prf
            .as_deref()
            .is_some_and(|p| !p.is_empty() && p != PRF_HMAC_SHA1)
        {
            return Err(structure("the PBKDF2 PRF is not HMAC-SHA1"));
        }
        if c.key_length.as_deref().is_some_and(|l| l != "16") {
            return Err(structure("the PBKDF2 KeyLength is not 16 (AES-128)"));
        }
        let salt = c
            .salt
            .as_deref()
            .and_then(|s| STANDARD.decode(s).ok())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| structure("the PBKDF2 Salt/Specified is missing or not base64"))?;
        let iterations = c
            .iterations
            .as_deref()
            .and_then(|i| i.parse::<u32>().ok())
            .filter(|i| (1..=MAX_PBKDF2_ITERATIONS).contains(i))
            .ok_or_else(|| {
                ImportError::Structure(format!(
                    "the PBKDF2 IterationCount is missing or not 1 to {MAX_PBKDF2_ITERATIONS}"
                ))
            })?;
        Zeroizing::new(derive(password.expose().as_bytes(), &salt, iterations).to_vec())
    } else {
        let PskcDecryption::PreSharedKey(key) = decryption else {
            return Err(ImportError::NeedsKey {
                needs: "a pre-shared key",
            });
        };
        Zeroizing::new(key.bytes().to_vec())
    };
    if c.mac_algorithm.as_deref() != Some(HMAC_SHA1) {
        return Err(structure(
            "encrypted secrets need a MACMethod with HMAC-SHA1 (hmac-sha1)",
        ));
    }
    if c.mac_key_algorithm.as_deref() != Some(AES128_CBC) {
        return Err(structure("the MACKey is not encrypted with AES-128-CBC"));
    }
    let mac_cipher = c
        .mac_key_value
        .as_deref()
        .and_then(|v| STANDARD.decode(v).ok())
        .ok_or_else(|| structure("the MACKey CipherValue is missing or not base64"))?;
    let mac = decrypt(&aes, &mac_cipher).ok_or_else(|| ImportError::WrongKey {
        at: "MACMethod/MACKey".into(),
    })?;
    if mac.is_empty() {
        return Err(ImportError::WrongKey {
            at: "MACMethod/MACKey".into(),
        });
    }
    Ok(Keys { aes, mac })
}

fn entry(at: &str, problem: impl Into<String>) -> ImportError {
    ImportError::entry(at, problem)
}

fn build(d: Draft, keys: Option<&Keys>, at: &str) -> Result<TokenSeed, ImportError> {
    if d.keys != 1 {
        return Err(entry(
            at,
            format!("a KeyPackage must hold exactly one Key, found {}", d.keys),
        ));
    }
    let serial = d
        .serial
        .filter(|s| !s.is_empty())
        .ok_or_else(|| entry(at, "DeviceInfo/SerialNo is missing"))?;
    check_serial(&serial).map_err(|e| entry(at, e.to_string()))?;
    if d.algorithm.as_deref() != Some(PSKC_TOTP) {
        return Err(entry(at, format!("the Key Algorithm is not {PSKC_TOTP}")));
    }
    let bytes: Zeroizing<Vec<u8>> = match (d.encrypted, keys) {
        (true, Some(keys)) => {
            if d.cipher_algorithm.as_deref() != Some(AES128_CBC) {
                return Err(entry(at, "the secret is not encrypted with AES-128-CBC"));
            }
            let cipher = d
                .cipher_value
                .as_deref()
                .and_then(|v| STANDARD.decode(v).ok())
                .ok_or_else(|| entry(at, "the secret's CipherValue is missing or not base64"))?;
            let value_mac = d
                .value_mac
                .as_deref()
                .and_then(|v| STANDARD.decode(v).ok())
                .ok_or_else(|| entry(at, "the secret's ValueMAC is missing or not base64"))?;
            if !mac_matches(&keys.mac, &cipher, &value_mac) {
                return Err(ImportError::WrongKey { at: at.to_owned() });
            }
            decrypt(&keys.aes, &cipher)
                .ok_or_else(|| ImportError::WrongKey { at: at.to_owned() })?
        }
        (true, None) => {
            return Err(ImportError::NeedsKey {
                needs: "a key or password",
            });
        }
        (false, _) => {
            let secret = d
                .secret
                .ok_or_else(|| entry(at, "Data/Secret/PlainValue is missing"))?;
            Zeroizing::new(
                STANDARD
                    .decode(secret.as_bytes())
                    .map_err(|_| entry(at, "the secret PlainValue is not valid base64"))?,
            )
        }
    };
    let secret = check_length(safeid_secret::SecretBytes::from_slice(&bytes))
        .map_err(|e| entry(at, e.to_string()))?;
    let digits = match d.length.as_deref().map(str::trim) {
        None => TOKEN_DIGITS,
        Some(l) => l
            .parse::<u8>()
            .ok()
            .filter(|n| (6..=8).contains(n))
            .ok_or_else(|| entry(at, "ResponseFormat Length is not 6, 7 or 8"))?,
    };
    if let Some(enc) = d.encoding.as_deref()
        && enc.trim() != "DECIMAL"
    {
        return Err(entry(at, "ResponseFormat Encoding is not DECIMAL"));
    }
    let hash = match d.suite.as_deref() {
        None | Some("") => HmacAlgorithm::Sha1,
        Some(s) => s
            .parse::<HmacAlgorithm>()
            .map_err(|_| entry(at, "AlgorithmParameters Suite is not SHA1 or SHA256"))?,
    };
    let period = match d.interval.as_deref() {
        None => DEFAULT_PERIOD,
        Some("30") => 30,
        Some("60") => 60,
        Some(_) => return Err(entry(at, "TimeInterval is not 30 or 60")),
    };
    let mut seed = TokenSeed::new(serial, secret);
    seed.hash = hash;
    seed.period = period;
    seed.digits = digits;
    seed.manufacturer = d.manufacturer.filter(|s| !s.is_empty());
    seed.model = d.model.filter(|s| !s.is_empty());
    seed.upn = d.user_id.or(d.device_user_id).filter(|s| !s.is_empty());
    seed.display_name = d.friendly_name.filter(|s| !s.is_empty());
    Ok(seed)
}
