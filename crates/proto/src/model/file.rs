//! The model table file format (TOML or JSON), row by row, with errors that name the
//! row and never contain a key.

use serde_json::{Map, Value};

use super::Model;
use crate::error::{ModelTableError, ProtoError};
use crate::keys::AccessKey;

/// The fields a row may have.
const FIELDS: [&str; 6] = [
    "prefix",
    "name",
    "manufacturer",
    "restricted",
    "key",
    "key_env",
];

/// Longest accepted prefix: serials seen are 13 and 14 characters. The bound also keeps a
/// key pasted into the wrong field out of row labels.
const MAX_PREFIX: usize = 16;

/// A field name for an error message; hidden if it could be a pasted key.
fn shown(name: &str) -> String {
    let hex_digits = name.bytes().filter(u8::is_ascii_hexdigit).count();
    if hex_digits >= 16 {
        safeid_secret::REDACTED.to_string()
    } else {
        format!("`{name}`")
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

pub(super) fn from_toml(text: &str) -> Result<Vec<Model>, ProtoError> {
    let table: toml::Table = toml::from_str(text).map_err(|err| {
        // Only the message and the position: the error's Display quotes the source line,
        // which could be a key.
        let (line, column) = line_column(text, err.span().map_or(0, |s| s.start));
        ModelTableError::Syntax {
            format: "TOML",
            line,
            column,
            message: err.message().to_string(),
        }
    })?;
    let value = serde_json::to_value(table)
        .map_err(|err| ModelTableError::Shape(format!("unsupported TOML value: {err}")))?;
    from_value(value)
}

pub(super) fn from_json(text: &str) -> Result<Vec<Model>, ProtoError> {
    let value: Value = serde_json::from_str(text).map_err(|err| {
        let message = err.to_string();
        // serde_json appends " at line L column C"; keep the message alone.
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string();
        ModelTableError::Syntax {
            format: "JSON",
            line: err.line(),
            column: err.column(),
            message,
        }
    })?;
    from_value(value)
}

fn from_value(value: Value) -> Result<Vec<Model>, ProtoError> {
    let Value::Object(mut top) = value else {
        return Err(ModelTableError::Shape("expected a table with a `model` list".into()).into());
    };
    let rows = top.remove("model");
    if let Some(extra) = top.keys().next() {
        return Err(ModelTableError::Shape(format!(
            "unknown top-level field {}, only `model` rows are allowed",
            shown(extra)
        ))
        .into());
    }
    let Some(Value::Array(rows)) = rows else {
        return Err(ModelTableError::Shape(
            "expected `[[model]]` rows (TOML) or a `model` array (JSON)".into(),
        )
        .into());
    };
    let mut models: Vec<Model> = Vec::with_capacity(rows.len());
    for (index, row) in rows.into_iter().enumerate() {
        let model = parse_row(index + 1, row)?;
        if let Some(first) = models.iter().position(|m| m.prefix == model.prefix) {
            return Err(row_error(
                &row_label(index + 1, Some(&model.prefix)),
                format!("prefix already used by row {}", first + 1),
            ));
        }
        models.push(model);
    }
    Ok(models)
}

fn row_label(number: usize, prefix: Option<&str>) -> String {
    match prefix {
        Some(prefix) => format!("row {number} (prefix {prefix:?})"),
        None => format!("row {number}"),
    }
}

fn row_error(row: &str, reason: impl Into<String>) -> ProtoError {
    ModelTableError::Row {
        row: row.to_string(),
        reason: reason.into(),
    }
    .into()
}

fn valid_prefix(prefix: &str) -> bool {
    (1..=MAX_PREFIX).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Reads one row by hand rather than through serde, whose messages quote the values
/// (a key pasted into the wrong field would end up in the error).
fn parse_row(number: usize, row: Value) -> Result<Model, ProtoError> {
    let Value::Object(mut fields) = row else {
        return Err(row_error(
            &row_label(number, None),
            "expected a table of fields",
        ));
    };
    let prefix = fields
        .get("prefix")
        .and_then(Value::as_str)
        .filter(|p| valid_prefix(p));
    let label = row_label(number, prefix);
    if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(row_error(
            &label,
            format!(
                "unknown field {}, expected one of {}",
                shown(unknown),
                FIELDS.join(", ")
            ),
        ));
    }
    let key = take_key(&label, &mut fields)?;
    let mut text = |field: &str| match fields.remove(field) {
        Some(Value::String(value)) => Ok(Some(value)),
        None => Ok(None),
        Some(_) => Err(row_error(
            &label,
            format!("field `{field}` must be a string"),
        )),
    };
    let required = |value: Option<String>, field: &str| {
        value.ok_or_else(|| row_error(&label, format!("missing field `{field}`")))
    };
    let prefix = required(text("prefix")?, "prefix")?;
    let name = required(text("name")?, "name")?;
    let manufacturer = required(text("manufacturer")?, "manufacturer")?;
    let key_env = text("key_env")?;
    let restricted = match fields.remove("restricted") {
        // Unknown restrictedness is treated as restricted (docs/protocol.md section 4).
        None => true,
        Some(Value::Bool(value)) => value,
        Some(_) => {
            return Err(row_error(
                &label,
                "field `restricted` must be true or false",
            ));
        }
    };
    if !valid_prefix(&prefix) {
        return Err(row_error(
            &label,
            format!("prefix must be 1 to {MAX_PREFIX} ASCII letters and digits"),
        ));
    }
    if name.trim().is_empty() || manufacturer.trim().is_empty() {
        return Err(row_error(&label, "name and manufacturer must not be empty"));
    }
    if let Some(var) = &key_env {
        if key.is_some() {
            return Err(row_error(&label, "give `key` or `key_env`, not both"));
        }
        if var.len() == 32 && var.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(row_error(
                &label,
                "key_env looks like a key: put keys in `key`",
            ));
        }
        let valid_name = var
            .bytes()
            .enumerate()
            .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
        if var.is_empty() || !valid_name {
            return Err(row_error(
                &label,
                "key_env must be an environment variable name",
            ));
        }
    }
    Ok(Model {
        prefix,
        name,
        manufacturer,
        restricted,
        key,
        key_env,
    })
}

/// Removes `key` from the row and reads it; errors never quote it.
fn take_key(label: &str, fields: &mut Map<String, Value>) -> Result<Option<AccessKey>, ProtoError> {
    match fields.remove("key") {
        None => Ok(None),
        Some(Value::String(text)) => {
            let text = safeid_secret::SecretString::from(text);
            AccessKey::from_hex(text.expose())
                .map(Some)
                .map_err(|err| match err {
                    ProtoError::InvalidKey(reason) => row_error(label, format!("key: {reason}")),
                    other => other,
                })
        }
        Some(_) => Err(row_error(label, "key must be a string of 32 hex digits")),
    }
}
