//! A strict reader for the PSKC documents this crate writes and those vendors ship with
//! plain values: RFC 6030 namespace and `Version="1.0"`, TOTP keys only, secrets in
//! `Secret/PlainValue` (an `EncryptedValue` is refused: decryption is not supported).
//!
//! Built on `quick-xml`'s namespace-aware reader. A DOCTYPE is refused (no entity games);
//! elements of other namespaces are skipped with their content. Errors carry positions,
//! never values.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};
use zeroize::Zeroizing;

use super::pskc::{PSKC_NAMESPACE, PSKC_TOTP};
use super::{ImportError, check_unique_import};
use crate::record::{DEFAULT_PERIOD, HashFunction, TOKEN_DIGITS, TokenSeed};
use crate::sources::{check_length, check_serial};

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
    interval: Option<String>,
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

/// Reads a PSKC document into records (one per `KeyPackage`, keyed by
/// `DeviceInfo/SerialNo`). The whole document must be valid before any record is returned.
pub fn read_pskc(text: &str) -> Result<Vec<TokenSeed>, ImportError> {
    let text = crate::sources::strip_bom(text);
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut drafts: Vec<Draft> = Vec::new();
    let mut buf = Zeroizing::new(String::new());
    let mut saw_root = false;
    loop {
        let pos = reader.buffer_position();
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|_| syntax(text, pos))?;
        let in_pskc = match ns {
            ResolveResult::Bound(n) => n.as_ref() == PSKC_NAMESPACE,
            ResolveResult::Unbound => false,
            ResolveResult::Unknown(_) => return Err(syntax(text, pos)),
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name().as_ref().to_owned();
                let name = if in_pskc { local } else { "?".to_owned() };
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
                        d.algorithm = attr(e, "Algorithm").map_err(|()| syntax(text, pos))?;
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
                    _ => {}
                }
                buf.clear();
                if empty {
                    finish_element(&stack, &mut drafts, &mut buf);
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
                finish_element(&stack, &mut drafts, &mut buf);
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
    let mut out = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.into_iter().enumerate() {
        let at = format!("KeyPackage {} (line {})", i + 1, d.line);
        let seed = build(d).map_err(|p| ImportError::entry(&at, p))?;
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

/// Stores the text collected for the element on top of the stack, when it is one we read.
fn finish_element(stack: &[String], drafts: &mut [Draft], buf: &mut Zeroizing<String>) {
    let Some(d) = drafts.last_mut() else { return };
    let path = stack.join("/");
    let Some(rest) = path.strip_prefix("KeyContainer/KeyPackage/") else {
        return;
    };
    let value = || Some(buf.trim().to_owned());
    match rest {
        "DeviceInfo/Manufacturer" => d.manufacturer = value(),
        "DeviceInfo/SerialNo" => d.serial = value(),
        "DeviceInfo/Model" => d.model = value(),
        "DeviceInfo/UserId" => d.device_user_id = value(),
        "Key/AlgorithmParameters/Suite" => d.suite = value(),
        "Key/FriendlyName" => d.friendly_name = value(),
        "Key/UserId" => d.user_id = value(),
        "Key/Data/TimeInterval/PlainValue" => d.interval = value(),
        "Key/Data/Secret/PlainValue" => {
            // Base64 in XML may be wrapped over several lines.
            d.secret = Some(Zeroizing::new(
                buf.chars().filter(|c| !c.is_ascii_whitespace()).collect(),
            ));
        }
        _ => {}
    }
}

fn build(d: Draft) -> Result<TokenSeed, String> {
    if d.keys != 1 {
        return Err(format!(
            "a KeyPackage must hold exactly one Key, found {}",
            d.keys
        ));
    }
    let serial = d
        .serial
        .filter(|s| !s.is_empty())
        .ok_or("DeviceInfo/SerialNo is missing")?;
    check_serial(&serial).map_err(|e| e.to_string())?;
    if d.algorithm.as_deref() != Some(PSKC_TOTP) {
        return Err(format!("the Key Algorithm is not {PSKC_TOTP}"));
    }
    if d.encrypted {
        return Err(
            "the secret is encrypted (EncryptedValue); only plain values are supported".into(),
        );
    }
    let secret = d.secret.ok_or("Data/Secret/PlainValue is missing")?;
    let bytes = STANDARD
        .decode(secret.as_bytes())
        .map_err(|_| "the secret PlainValue is not valid base64")?;
    let secret = check_length(bytes.into()).map_err(|e| e.to_string())?;
    let digits = match d.length.as_deref().map(str::trim) {
        None => TOKEN_DIGITS,
        Some(l) => l
            .parse::<u8>()
            .ok()
            .filter(|n| (6..=8).contains(n))
            .ok_or("ResponseFormat Length is not 6, 7 or 8")?,
    };
    if let Some(enc) = d.encoding.as_deref()
        && enc.trim() != "DECIMAL"
    {
        return Err("ResponseFormat Encoding is not DECIMAL".into());
    }
    let hash = match d.suite.as_deref() {
        None | Some("") => HashFunction::Sha1,
        Some(s) => s
            .parse::<HashFunction>()
            .map_err(|_| "AlgorithmParameters Suite is not SHA1 or SHA256")?,
    };
    let period = match d.interval.as_deref() {
        None => DEFAULT_PERIOD,
        Some("30") => 30,
        Some("60") => 60,
        Some(_) => return Err("TimeInterval is not 30 or 60".into()),
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
