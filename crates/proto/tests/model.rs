//! The model table of docs/protocol.md section 6: built-in rows, files, overrides, errors.
#![allow(clippy::unwrap_used)]

use safeid_proto::{AccessKey, ModelTable, ProtoError};

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
    let resolved = excel
        .resolve_key(|name| (name == "EXCELSECU_KEY").then(|| KEY_HEX.to_string()))
        .unwrap();
    assert_eq!(resolved, Some(AccessKey::from_hex(KEY_HEX).unwrap()));
    let err = excel.resolve_key(|_| Some("12".into())).unwrap_err();
    assert!(matches!(err, ProtoError::InvalidKey(_)));
    assert!(excel.resolve_key(|_| None).is_err());
}

#[test]
fn load_chooses_the_format_by_extension() {
    let dir = std::env::temp_dir().join(format!("safeid-proto-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml_path = dir.join("models.TOML");
    std::fs::write(
        &toml_path,
        "[[model]]\nprefix = \"9\"\nname = \"n\"\nmanufacturer = \"m\"\n",
    )
    .unwrap();
    assert_eq!(
        ModelTable::load(&toml_path)
            .unwrap()
            .identify("99")
            .unwrap()
            .name,
        "n"
    );
    let json_path = dir.join("models.json");
    std::fs::write(
        &json_path,
        r#"{"model": [{"prefix": "8", "name": "j", "manufacturer": "m"}]}"#,
    )
    .unwrap();
    assert_eq!(
        ModelTable::load(&json_path)
            .unwrap()
            .identify("88")
            .unwrap()
            .name,
        "j"
    );
    let txt = dir.join("models.txt");
    std::fs::write(&txt, "").unwrap();
    assert!(
        ModelTable::load(&txt)
            .unwrap_err()
            .to_string()
            .contains("unknown file type")
    );
    let missing = ModelTable::load(dir.join("absent.toml")).unwrap_err();
    assert!(missing.to_string().contains("absent.toml"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
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
