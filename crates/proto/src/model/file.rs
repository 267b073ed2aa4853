//! The model table file format (TOML or JSON), row by row, with errors that name the
//! row and never contain a key.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::Model;
use crate::error::{ModelTableError, ProtoError};
use crate::keys::AccessKey;

/// The fields of a row other than `key`, which is taken out by hand first so that no
/// parser error can quote it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    prefix: String,
    name: String,
    manufacturer: String,
    #[serde(default = "restricted_by_default")]
    restricted: bool,
    #[serde(default)]
    key_env: Option<String>,
}

/// Unknown restrictedness is treated as restricted (PROTOCOL.md section 4).
fn restricted_by_default() -> bool {
    true
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
            "unknown top-level field `{extra}`, only `model` rows are allowed"
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

fn parse_row(number: usize, row: Value) -> Result<Model, ProtoError> {
    let Value::Object(mut fields) = row else {
        return Err(row_error(
            &row_label(number, None),
            "expected a table of fields",
        ));
    };
    let label = row_label(number, fields.get("prefix").and_then(Value::as_str));
    let key = take_key(&label, &mut fields)?;
    let row: Row = serde_json::from_value(Value::Object(fields))
        .map_err(|err| row_error(&label, err.to_string()))?;
    if row.prefix.is_empty() || !row.prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(row_error(
            &label,
            "prefix must be non-empty ASCII letters and digits",
        ));
    }
    if row.name.trim().is_empty() || row.manufacturer.trim().is_empty() {
        return Err(row_error(&label, "name and manufacturer must not be empty"));
    }
    if let Some(var) = &row.key_env {
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
        prefix: row.prefix,
        name: row.name,
        manufacturer: row.manufacturer,
        restricted: row.restricted,
        key,
        key_env: row.key_env,
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
