//! Property tests of the model table parser (docs/protocol.md section 6): any bytes in
//! either format are a table or an error, never a panic; tables written out by this test's
//! own renderers read back row for row; no error ever shows a key that was in the input.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use safeid_proto::{AccessKey, ModelFormat, ModelTable, ProtoError};
use safeid_secret::SecretString;

/// One row as the test means it: prefix, name, manufacturer, restricted (None: left
/// out), key as 32 hex digits, or a key_env variable name.
#[derive(Clone, Debug)]
struct Row {
    prefix: String,
    name: String,
    manufacturer: String,
    restricted: Option<bool>,
    key: Key,
}

#[derive(Clone, Debug)]
enum Key {
    None,
    Hex(String),
    Env(String),
}

fn row() -> impl Strategy<Value = Row> {
    (
        "[A-Za-z0-9]{1,16}",
        // names may hold anything printable, quotes and backslashes included
        "[ -~]{0,20}[A-Za-z][ -~]{0,20}",
        "[A-Za-z][A-Za-z0-9 ._-]{0,20}",
        prop::option::of(any::<bool>()),
        prop_oneof![
            Just(Key::None),
            "[0-9A-Fa-f]{32}".prop_map(Key::Hex),
            "[A-Z_][A-Z0-9_]{0,20}".prop_map(Key::Env),
        ],
    )
        .prop_map(|(prefix, name, manufacturer, restricted, key)| Row {
            prefix,
            name,
            manufacturer,
            restricted,
            key,
        })
}

/// One to seven rows with distinct prefixes (a table without rows is refused).
fn rows() -> impl Strategy<Value = Vec<Row>> {
    prop::collection::vec(row(), 1..8).prop_map(|mut rows| {
        let mut seen = std::collections::HashSet::new();
        rows.retain(|r| seen.insert(r.prefix.clone()));
        rows
    })
}

/// A string literal valid in both TOML (basic string) and JSON: the printable ASCII this
/// test generates needs only `"` and `\` escaped.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn fields(row: &Row) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("prefix", quoted(&row.prefix)),
        ("name", quoted(&row.name)),
        ("manufacturer", quoted(&row.manufacturer)),
    ];
    if let Some(r) = row.restricted {
        fields.push(("restricted", r.to_string()));
    }
    match &row.key {
        Key::None => {}
        Key::Hex(hex) => fields.push(("key", quoted(hex))),
        Key::Env(var) => fields.push(("key_env", quoted(var))),
    }
    fields
}

fn to_toml(rows: &[Row]) -> String {
    let mut text = String::new();
    for row in rows {
        text.push_str("[[model]]\n");
        for (name, value) in fields(row) {
            text.push_str(&format!("{name} = {value}\n"));
        }
    }
    text
}

fn to_json(rows: &[Row]) -> String {
    let rows: Vec<String> = rows
        .iter()
        .map(|row| {
            let fields: Vec<String> = fields(row)
                .into_iter()
                .map(|(name, value)| format!("\"{name}\": {value}"))
                .collect();
            format!("{{{}}}", fields.join(", "))
        })
        .collect();
    format!("{{\"model\": [{}]}}", rows.join(", "))
}

fn check_table(rows: &[Row], table: &ModelTable) -> Result<(), TestCaseError> {
    prop_assert_eq!(table.len(), rows.len());
    for (row, model) in rows.iter().zip(table.iter()) {
        prop_assert_eq!(&model.prefix, &row.prefix);
        prop_assert_eq!(&model.name, &row.name);
        prop_assert_eq!(&model.manufacturer, &row.manufacturer);
        // docs/protocol.md section 4: unknown restrictedness is restricted
        prop_assert_eq!(model.restricted, row.restricted.unwrap_or(true));
        match &row.key {
            Key::None => prop_assert!(model.key.is_none() && model.key_env.is_none()),
            Key::Hex(hex) => {
                prop_assert_eq!(model.key.as_ref(), Some(&AccessKey::from_hex(hex).unwrap()));
            }
            Key::Env(var) => {
                prop_assert!(model.key.is_none());
                prop_assert_eq!(model.key_env.as_deref(), Some(var.as_str()));
            }
        }
    }
    Ok(())
}

/// Whether `text` shows any 12-character run of `hex` (either letter case).
fn shows_key(text: &str, hex: &str) -> bool {
    let text = text.to_ascii_lowercase();
    let hex = hex.to_ascii_lowercase();
    (0..=hex.len() - 12).any(|i| text.contains(&hex[i..i + 12]))
}

proptest! {
    #[test]
    fn any_bytes_are_a_table_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        for format in [ModelFormat::Toml, ModelFormat::Json] {
            let _ = ModelTable::parse(&bytes, format);
        }
    }

    #[test]
    fn rendered_tables_read_back(rows in rows()) {
        let toml = to_toml(&rows);
        let json = to_json(&rows);
        let from_toml = ModelTable::parse(toml.as_bytes(), ModelFormat::Toml);
        prop_assert!(from_toml.is_ok(), "{}\n{:?}", toml, from_toml);
        check_table(&rows, &from_toml.unwrap())?;
        let from_json = ModelTable::parse(json.as_bytes(), ModelFormat::Json);
        prop_assert!(from_json.is_ok(), "{}\n{:?}", json, from_json);
        check_table(&rows, &from_json.unwrap())?;
    }

    /// Every `key_env` row gets the key its variable holds; the others keep theirs.
    #[test]
    fn resolved_keys_come_from_the_lookup(rows in rows(), value in "[0-9A-F]{32}") {
        let mut table = ModelTable::parse(to_toml(&rows).as_bytes(), ModelFormat::Toml).unwrap();
        table.resolve_keys(|_| Some(SecretString::from(value.clone()))).unwrap();
        let from_env = AccessKey::from_hex(&value).unwrap();
        for (row, model) in rows.iter().zip(table.iter()) {
            match &row.key {
                Key::None => prop_assert!(model.key.is_none()),
                Key::Hex(hex) => prop_assert_eq!(model.key.as_ref(), Some(&AccessKey::from_hex(hex).unwrap())),
                Key::Env(_) => prop_assert_eq!(model.key.as_ref(), Some(&from_env)),
            }
        }
    }

    /// A table holding a key, damaged by one inserted or deleted run of characters, parses
    /// or fails; when it fails the message does not show the key.
    #[test]
    fn errors_never_show_a_key(
        rows in rows(),
        hex in "[0-9A-F]{32}",
        json in any::<bool>(),
        at in any::<prop::sample::Index>(),
        cut in 0usize..40,
        insert in "[ -~\n]{0,12}",
    ) {
        let mut rows = rows;
        rows.push(Row {
            prefix: "Z9".into(),
            name: "n".into(),
            manufacturer: "m".into(),
            restricted: None,
            key: Key::Hex(hex.clone()),
        });
        let mut text = if json { to_json(&rows) } else { to_toml(&rows) };
        let at = at.index(text.len());
        let end = (at + cut).min(text.len());
        text.replace_range(at..end, &insert);
        let format = if json { ModelFormat::Json } else { ModelFormat::Toml };
        if let Err(err) = ModelTable::parse(text.as_bytes(), format) {
            let shown = format!("{err} | {err:?}");
            prop_assert!(!shows_key(&shown, &hex), "key shown: {}", shown);
            if let ProtoError::ModelTable(_) | ProtoError::InvalidKey(_) = err {
            } else {
                prop_assert!(false, "unexpected error kind: {}", shown);
            }
        }
    }
}
