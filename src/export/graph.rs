//! Microsoft Graph `hardwareOathTokenAuthenticationMethodDevice` JSON, the body for
//! `POST /directory/authenticationMethodDevices/hardwareOathDevices` (docs/protocol.md section 8).
//!
//! Each object has `serialNumber`, `manufacturer`, `model`, `secretKey` (base32),
//! `timeIntervalInSeconds` (a number; the importer also takes the string form used in some
//! of Microsoft's examples), `hashFunction` (`hmacsha1` or `hmacsha256`) and, when known,
//! `displayName`. Assignment to a user (`assignTo`) needs a directory object id, which a
//! token burner does not know, so it is not written.

use safeid_secret::SecretString;
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use super::{
    ExportError, ExportOptions, Format, ImportError, SecretBuf, check_unique_import, manufacturer,
    model,
};
use crate::record::{DEFAULT_PERIOD, HmacAlgorithm, TokenSeed};
use crate::sources::{SecretEncoding, check_serial, decode_secret};

const FORMAT: &str = "Graph JSON";

/// The outer shape of the Graph JSON document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GraphShape {
    /// A bare array of devices.
    #[default]
    Array,
    /// `{"value": [...]}`, the collection shape of Graph requests and responses.
    Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Device<'a> {
    serial_number: &'a str,
    manufacturer: &'a str,
    model: &'a str,
    secret_key: &'a str,
    time_interval_in_seconds: u32,
    hash_function: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
}

#[derive(Serialize)]
struct Wrapped<'a> {
    value: &'a [Device<'a>],
}

fn hash_name(h: HmacAlgorithm) -> &'static str {
    match h {
        HmacAlgorithm::Sha1 => "hmacsha1",
        HmacAlgorithm::Sha256 => "hmacsha256",
    }
}

/// Builds the Graph JSON (pretty-printed with two-space indents, ending in a newline).
pub fn write_graph_json(
    records: &[TokenSeed],
    options: &ExportOptions,
) -> Result<SecretString, ExportError> {
    Format::GraphJson.check_records(records)?;
    let secrets: Vec<Zeroizing<String>> = records
        .iter()
        .map(|r| Zeroizing::new(safeid_otpauth::encode_base32(r.secret.expose())))
        .collect();
    let mut devices = Vec::with_capacity(records.len());
    for (r, secret) in records.iter().zip(&secrets) {
        devices.push(Device {
            serial_number: &r.serial,
            manufacturer: manufacturer(r, options, FORMAT)?,
            model: model(r, options, FORMAT)?,
            secret_key: secret,
            time_interval_in_seconds: r.period,
            hash_function: hash_name(r.hash),
            display_name: r.display_name.as_deref(),
        });
    }
    // serde_json writes each piece straight into the buffer (no intermediate string).
    let mut out = SecretBuf::with_capacity(300 * records.len() + 16);
    let written = match options.graph_shape {
        GraphShape::Array => serde_json::to_writer_pretty(&mut out, &devices),
        GraphShape::Value => serde_json::to_writer_pretty(&mut out, &Wrapped { value: &devices }),
    };
    // Serialising borrowed strings and numbers into memory cannot fail.
    written.map_err(|_| ExportError::Io(std::io::Error::other("JSON writer failed")))?;
    out.push_str("\n");
    out.into_secret_string()
        .ok_or_else(|| ExportError::Io(std::io::Error::other("JSON writer produced non-UTF-8")))
}

/// Reads Graph JSON: an array of device objects or `{"value": [...]}`. Unknown members
/// (`@contentId`, `assignTo`, `id`...) are ignored; the members this crate writes are
/// checked, and serials must be unique.
pub fn read_graph_json(text: &str) -> Result<Vec<TokenSeed>, ImportError> {
    let text = crate::sources::strip_bom(text);
    let mut doc: Value = serde_json::from_str(text).map_err(|e| ImportError::Syntax {
        format: "JSON",
        line: e.line() as u64,
        column: e.column() as u64,
    })?;
    let items = match &mut doc {
        Value::Array(items) => items,
        Value::Object(map) => match map.get_mut("value") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ImportError::Structure(
                    "expected an array or an object with a \"value\" array".into(),
                ));
            }
        },
        _ => {
            return Err(ImportError::Structure(
                "expected an array or an object with a \"value\" array".into(),
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter_mut().enumerate() {
        let at = format!("entry {}", i + 1);
        let seed = device(item).map_err(|p| ImportError::entry(&at, p))?;
        out.push((at, seed));
    }
    check_unique_import(&out)?;
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

fn device(item: &mut Value) -> Result<TokenSeed, String> {
    let map = item.as_object_mut().ok_or("not a JSON object")?;
    // Take the secret out of the tree so that it can be wiped after decoding.
    let secret = match map.remove("secretKey") {
        Some(Value::String(s)) => Zeroizing::new(s),
        Some(_) => return Err("secretKey is not a string".into()),
        None => return Err("secretKey is missing".into()),
    };
    let text = |key: &str| -> Result<Option<String>, String> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{key} is not a string")),
        }
    };
    let serial = text("serialNumber")?.ok_or("serialNumber is missing")?;
    check_serial(&serial).map_err(|e| e.to_string())?;
    let secret =
        decode_secret(&secret, SecretEncoding::Base32).map_err(|e| format!("secretKey: {e}"))?;
    let period = match map.get("timeIntervalInSeconds") {
        None | Some(Value::Null) => DEFAULT_PERIOD,
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        Some(_) => 0,
    };
    if period != 30 && period != 60 {
        return Err("timeIntervalInSeconds is not 30 or 60".into());
    }
    let hash = match text("hashFunction")?.as_deref() {
        None | Some("hmacsha1") => HmacAlgorithm::Sha1,
        Some("hmacsha256") => HmacAlgorithm::Sha256,
        Some(_) => return Err("hashFunction is not hmacsha1 or hmacsha256".into()),
    };
    let mut seed = TokenSeed::new(serial, secret);
    seed.period = period;
    seed.hash = hash;
    seed.manufacturer = text("manufacturer")?;
    seed.model = text("model")?;
    seed.display_name = text("displayName")?;
    Ok(seed)
}
