//! The model table of docs/protocol.md section 6: built-in rows, files, overrides, errors.
#![allow(clippy::unwrap_used)]

use safeid_proto::{
    AccessKey, MAX_MODEL_TABLE_BYTES, ModelFormat, ModelTable, ModelTableError, ProtoError,
};
use safeid_secret::SecretString;

const KEY_HEX: &str = "C4B771095F16B197A1EDF8423A513CD1";

/// docs/protocol.md section 6, written out again: prefix, model, restricted.
const TABLE: [(&str, &str, bool); 8] = [
    ("8659612", "OTPC-P1-i", false),
    ("8659622", "OTPC-P2-i", true),
    ("8659621", "OTPC-P2-i-NB", true),
    ("8659600", "miniOTP-2-i", false),
    ("8659601", "miniOTP-3-i", true),
    ("8659609", "miniOTP-3-i-NB", true),
    ("8659610", "C301-i", true),
    ("8659632", "C302-i", false),
];

#[test]
fn builtin_knows_every_token2_prefix() {
    let table = ModelTable::builtin();
    assert_eq!(table.len(), 8);
    for (prefix, name, restricted) in TABLE {
        let serial = format!("{prefix}000123");
        let model = table.identify(&serial).unwrap();
        assert_eq!(model.prefix, prefix);
        assert_eq!(model.name, name);
        assert_eq!(model.manufacturer, "Token2");
        assert_eq!(model.restricted, restricted, "{name}");
        assert_eq!(model.key.as_ref(), Some(&AccessKey::token2()));
        assert_eq!(model.display_name(), format!("Token2 {name}"));
    }
    assert!(table.identify("1234567890123").is_none());
    assert!(table.identify("865961").is_none());
    assert!(table.identify("").is_none());
}

#[test]
fn longest_prefix_wins_and_user_rows_override() {
    let user = ModelTable::from_toml_str(&format!(
        r#"
[[model]]
prefix = "86596"
name = "Any"
manufacturer = "Token2"
restricted = false

[[model]]
prefix = "865962200"
name = "Special P2"
manufacturer = "Token2"
key = "{KEY_HEX}"

[[model]]
prefix = "8659612"
name = "P1 (mine)"
manufacturer = "Token2"
restricted = true
"#
    ))
    .unwrap();
    let mut table = ModelTable::builtin();
    table.extend(user);
    assert_eq!(table.len(), 10);
    assert_eq!(table.identify("8659622001234").unwrap().name, "Special P2");
    assert_eq!(
        table.identify("8659622001234").unwrap().key,
        Some(AccessKey::from_hex(KEY_HEX).unwrap())
    );
    assert_eq!(table.identify("8659622101234").unwrap().name, "OTPC-P2-i");
    assert_eq!(table.identify("8659699999999").unwrap().name, "Any");
    let p1 = table.identify("8659612000001").unwrap();
    assert_eq!(p1.name, "P1 (mine)");
    assert!(p1.restricted);
    assert!(p1.key.is_none());
    assert_eq!(table.iter().filter(|m| m.prefix == "8659612").count(), 1);
}

#[test]
fn json_has_the_same_fields() {
    let text = format!(
        r#"{{"model": [
            {{"prefix": "12", "name": "SafeID/Diamond", "manufacturer": "Deepnet", "key": "{}"}},
            {{"prefix": "77", "name": "eSecuOTP", "manufacturer": "ExcelSecu", "restricted": false, "key_env": "EXCELSECU_KEY"}}
        ]}}"#,
        KEY_HEX.to_lowercase()
    );
    let table = ModelTable::from_json_str(&text).unwrap();
    let deepnet = table.identify("1200").unwrap();
    assert!(deepnet.restricted, "restricted defaults to true");
    assert_eq!(deepnet.key, Some(AccessKey::from_hex(KEY_HEX).unwrap()));
    let excel = table.identify("7700").unwrap();
    assert!(!excel.restricted);
    assert_eq!(excel.key_env.as_deref(), Some("EXCELSECU_KEY"));
    assert!(excel.key.is_none(), "parsing reads no environment");
}

fn secret(text: &str) -> Option<SecretString> {
    Some(SecretString::from(text.to_string()))
}

/// Two `key_env` rows, one `key` row and one row without a key.
fn key_env_table() -> ModelTable {
    ModelTable::from_toml_str(&format!(
        r#"
[[model]]
prefix = "12"
name = "SafeID/Diamond"
manufacturer = "Deepnet"
key_env = "DEEPNET_KEY"

[[model]]
prefix = "77"
name = "eSecuOTP"
manufacturer = "ExcelSecu"
key_env = "EXCELSECU_KEY"

[[model]]
prefix = "33"
name = "Fixed"
manufacturer = "Someone"
key = "{KEY_HEX}"

[[model]]
prefix = "44"
name = "Unknown key"
manufacturer = "Someone"
"#
    ))
    .unwrap()
}

#[test]
fn key_env_rows_are_resolved_through_the_lookup() {
    let mut table = key_env_table();
    let asked = std::cell::RefCell::new(Vec::new());
    table
        .resolve_keys(|name| {
            asked.borrow_mut().push(name.to_string());
            match name {
                "DEEPNET_KEY" => secret(KEY_HEX),
                // lower case with spaces, as `key` accepts
                "EXCELSECU_KEY" => secret("8ad2 0688 3ca3 6948 2ab2 7182 b6e8 3224"),
                _ => None,
            }
        })
        .unwrap();
    assert_eq!(*asked.borrow(), ["DEEPNET_KEY", "EXCELSECU_KEY"]);
    let key = |serial: &str| table.identify(serial).unwrap().key.clone();
    assert_eq!(key("1200"), Some(AccessKey::from_hex(KEY_HEX).unwrap()));
    assert_eq!(key("7700"), Some(AccessKey::token2()));
    assert_eq!(key("3300"), Some(AccessKey::from_hex(KEY_HEX).unwrap()));
    assert_eq!(key("4400"), None);
    assert_eq!(
        table.identify("1200").unwrap().key_env.as_deref(),
        Some("DEEPNET_KEY")
    );
    // a second resolve asks for nothing: every key_env row has its key
    table.resolve_keys(|_| panic!("asked again")).unwrap();
}

#[test]
fn key_env_errors_name_the_variable_and_the_row_never_the_value() {
    let value_shown = "C4B771095F16B197A1EDF8423A51";
    let cases: [(Option<&str>, &str); 4] = [
        (None, "not set"),
        (Some(value_shown), "32 hex digits"),
        (Some("C4B771095F16B197A1EDF8423A513CDZ"), "not a hex digit"),
        (Some(""), "32 hex digits"),
    ];
    for (value, expected) in cases {
        let mut table = key_env_table();
        let err = table
            .resolve_keys(|name| match name {
                "DEEPNET_KEY" => secret(KEY_HEX),
                _ => value.and_then(secret),
            })
            .unwrap_err();
        let shown = format!("{err} | {err:?}");
        assert!(
            matches!(
                &err,
                ProtoError::ModelTable(ModelTableError::KeyEnv { prefix, var, .. })
                    if prefix == "77" && var == "EXCELSECU_KEY"
            ),
            "{shown}"
        );
        assert!(
            shown.contains("EXCELSECU_KEY") && shown.contains("\"77\""),
            "{shown}"
        );
        assert!(shown.contains(expected), "expected {expected:?} in {shown}");
        assert!(!shown.contains(&value_shown[..12]), "value leaked: {shown}");
        assert!(!shown.contains(&KEY_HEX[..12]), "key leaked: {shown}");
        // the row before the failing one keeps the key it got
        assert!(table.identify("1200").unwrap().key.is_some());
    }
}

#[test]
fn parse_takes_bytes_in_either_format() {
    let toml = b"[[model]]\nprefix = \"9\"\nname = \"n\"\nmanufacturer = \"m\"\n";
    let table = ModelTable::parse(toml, ModelFormat::Toml).unwrap();
    assert_eq!(table.identify("99").unwrap().name, "n");
    let json = br#"{"model": [{"prefix": "8", "name": "j", "manufacturer": "m"}]}"#;
    let table = ModelTable::parse(json, ModelFormat::Json).unwrap();
    assert_eq!(table.identify("88").unwrap().name, "j");
    // each format refuses the other
    assert!(ModelTable::parse(toml, ModelFormat::Json).is_err());
    assert!(ModelTable::parse(json, ModelFormat::Toml).is_err());
    let err = ModelTable::parse(b"[[model]]\nname = \"\xFF\"\n", ModelFormat::Toml).unwrap_err();
    assert!(
        matches!(
            err,
            ProtoError::ModelTable(ModelTableError::NotUtf8 { offset: 18 })
        ),
        "{err:?}"
    );
}

#[test]
fn the_format_comes_from_the_file_name() {
    assert_eq!(
        ModelFormat::from_path("models.TOML").unwrap(),
        ModelFormat::Toml
    );
    assert_eq!(
        ModelFormat::from_path("a/b/models.json").unwrap(),
        ModelFormat::Json
    );
    assert_eq!(ModelFormat::from_path("x.Json").unwrap().name(), "JSON");
    for bad in ["models.txt", "models", "toml", ".toml.bak"] {
        let err = ModelFormat::from_path(bad).unwrap_err().to_string();
        assert!(
            err.contains("unknown file type") && err.contains(bad),
            "{err}"
        );
    }
}

#[test]
fn an_oversized_table_is_refused_before_parsing() {
    // Valid rows up to the limit parse; one byte more is refused with the limit named.
    let row = "[[model]]\nprefix = \"1\"\nname = \"n\"\nmanufacturer = \"m\"\n";
    let mut text = row.to_string();
    text.push_str(&"#".repeat(MAX_MODEL_TABLE_BYTES - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), MAX_MODEL_TABLE_BYTES);
    assert_eq!(ModelTable::from_toml_str(&text).unwrap().len(), 1);
    text.push(' ');
    let err = ModelTable::from_toml_str(&text).unwrap_err();
    assert!(
        matches!(
            err,
            ProtoError::ModelTable(ModelTableError::TooLarge { len, max })
                if len == MAX_MODEL_TABLE_BYTES + 1 && max == MAX_MODEL_TABLE_BYTES
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("262144"), "{err}");
    // Refused before parsing: the same size of broken syntax gives the size error, not
    // a syntax error, in both formats and for bytes that are not even UTF-8.
    let junk = vec![0xFFu8; MAX_MODEL_TABLE_BYTES + 1];
    for format in [ModelFormat::Toml, ModelFormat::Json] {
        assert!(matches!(
            ModelTable::parse(&junk, format),
            Err(ProtoError::ModelTable(ModelTableError::TooLarge { .. }))
        ));
    }
    let json = "[".repeat(MAX_MODEL_TABLE_BYTES + 1);
    assert!(matches!(
        ModelTable::from_json_str(&json),
        Err(ProtoError::ModelTable(ModelTableError::TooLarge { .. }))
    ));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // The largest nesting that fits under the size limit, in both formats.
    let depth = MAX_MODEL_TABLE_BYTES / 2 - 16;
    let json = format!("{{\"model\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
    assert!(ModelTable::from_json_str(&json[..MAX_MODEL_TABLE_BYTES.min(json.len())]).is_err());
    let toml = format!("model = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    assert!(ModelTable::from_toml_str(&toml[..MAX_MODEL_TABLE_BYTES.min(toml.len())]).is_err());
    let inline = format!(
        "model = {}1{}\n",
        "{a=".repeat(depth / 3),
        "}".repeat(depth / 3)
    );
    assert!(ModelTable::from_toml_str(&inline).is_err());
}

/// Each bad file, and a word its error must contain. Every file has the key in it.
fn bad_tables() -> Vec<(String, &'static str)> {
    let row = |extra: &str| {
        format!(
            "[[model]]\nprefix = \"11\"\nname = \"a\"\nmanufacturer = \"b\"\nkey = \"{KEY_HEX}\"\n{extra}"
        )
    };
    vec![
        (row("colour = \"red\"\n"), "colour"),
        (
            format!(
                "{}[[model]]\nprefix = \"22\"\nname = \"c\"\nkey = \"{KEY_HEX}\"\n",
                row("")
            ),
            "row 2 (prefix \"22\")",
        ),
        (format!("{}{}", row(""), row("")), "row 2 (prefix \"11\")"),
        (row("key_env = \"X\"\n"), "not both"),
        (
            format!(
                "[[model]]\nprefix = \"11\"\nname = \"a\"\nmanufacturer = \"b\"\nkey_env = \"{KEY_HEX}\"\n"
            ),
            "looks like a key",
        ),
        (
            format!(
                "[[model]]\nprefix = \"11\"\nname = \"a\"\nmanufacturer = \"b\"\nkey = \"{}\"\n",
                &KEY_HEX[..30]
            ),
            "32 hex digits",
        ),
        (
            format!(
                "[[model]]\nprefix = \"11\"\nname = \"a\"\nmanufacturer = \"b\"\nkey = \"{}Z\"\n",
                &KEY_HEX[..31]
            ),
            "not a hex digit",
        ),
        (
            format!(
                "[[model]]\nprefix = \"11\"\nname = \"a\"\nmanufacturer = \"b\"\nkey = {KEY_HEX}\n"
            ),
            "line 5",
        ),
        (
            format!(
                "[[model]]\nprefix = \"11\"\nname = \"a\"\nmanufacturer = \"b\"\nkey = 0x{KEY_HEX}\n"
            ),
            "line 5",
        ),
        (
            format!(
                "[[model]]\nprefix = \"1-1\"\nname = \"a\"\nmanufacturer = \"b\"\nkey = \"{KEY_HEX}\"\n"
            ),
            "prefix must be",
        ),
        (
            format!(
                "[[model]]\nprefix = \"11\"\nname = \"\"\nmanufacturer = \"b\"\nkey = \"{KEY_HEX}\"\n"
            ),
            "must not be empty",
        ),
        (
            format!(
                "[[model]]\nprefix = \"11\"\nname = \"a\"\nmanufacturer = \"b\"\nrestricted = \"{KEY_HEX}\"\nkey = \"{KEY_HEX}\"\n"
            ),
            "restricted",
        ),
        (
            format!("models = 1\n{}", row("")),
            "unknown top-level field",
        ),
        (format!("key = \"{KEY_HEX}\"\n"), "unknown top-level field"),
        (String::new(), "[[model]]"),
        (
            format!("[[model]]\nprefix = \"{KEY_HEX}\"\nname = \"a\"\nmanufacturer = \"b\"\n"),
            "prefix must be 1 to 16",
        ),
        (
            format!(
                "[[model]]\nprefix = \"11\"\nname = \"a\"\nmanufacturer = \"b\"\n\"{KEY_HEX}\" = true\n"
            ),
            "unknown field <redacted>",
        ),
        (
            format!(
                "[[model]]\nprefix = \"11\"\nname = 5\nmanufacturer = \"b\"\nkey = \"{KEY_HEX}\"\n"
            ),
            "`name` must be a string",
        ),
        (
            format!("[[model]]\nprefix = \"11\"\nname = \"a\"\nkey = \"{KEY_HEX}\"\n"),
            "missing field `manufacturer`",
        ),
        (
            format!("model = [\"{KEY_HEX}\"]\n"),
            "row 1: expected a table",
        ),
    ]
}

#[test]
fn bad_rows_are_refused_with_the_row_named_and_no_key() {
    for (text, expected) in bad_tables() {
        let err = ModelTable::from_toml_str(&text).unwrap_err();
        let shown = format!("{err} | {err:?}");
        assert!(shown.contains(expected), "expected {expected:?} in {shown}");
        assert!(!shown.contains(&KEY_HEX[..12]), "key leaked: {shown}");
        assert!(
            !shown.to_lowercase().contains(&KEY_HEX[..12].to_lowercase()),
            "key leaked: {shown}"
        );
    }
}

#[test]
fn bad_json_is_refused_without_the_key() {
    let cases = [
        (
            format!(
                r#"{{"model": [{{"prefix": "1", "name": "a", "manufacturer": "b", "key": "{KEY_HEX}", "x": 1}}]}}"#
            ),
            "row 1 (prefix \"1\")",
        ),
        (
            format!(
                r#"{{"model": [{{"prefix": "1", "name": "a", "manufacturer": "b", "key": {}}}]}}"#,
                &KEY_HEX[..8].replace(|c: char| !c.is_ascii_digit(), "1")
            ),
            "must be a string",
        ),
        (
            format!(
                r#"{{"model": [{{"prefix": "1", "name": "a", "manufacturer": "b", "key": "{KEY_HEX}"]}}"#
            ),
            "line 1",
        ),
        (
            format!(r#"{{"model": {{"prefix": "1", "key": "{KEY_HEX}"}}}}"#),
            "model",
        ),
        (format!(r#"["{KEY_HEX}"]"#), "model"),
    ];
    for (text, expected) in cases {
        let err = ModelTable::from_json_str(&text).unwrap_err();
        let shown = format!("{err} | {err:?}");
        assert!(shown.contains(expected), "expected {expected:?} in {shown}");
        assert!(!shown.contains(&KEY_HEX[..12]), "key leaked: {shown}");
    }
}

#[test]
fn debug_of_a_table_hides_keys() {
    let table = ModelTable::from_toml_str(&format!(
        "[[model]]\nprefix = \"1\"\nname = \"a\"\nmanufacturer = \"b\"\nkey = \"{KEY_HEX}\"\n"
    ))
    .unwrap();
    let shown = format!("{table:?} {:?}", table.identify("1").unwrap());
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains(&KEY_HEX[..12]));
    let builtin = format!("{:?}", ModelTable::builtin());
    assert!(
        !builtin.contains("8AD2") && !builtin.contains("8ad2") && !builtin.contains("138, 210")
    );
}
