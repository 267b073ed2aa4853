#![no_main]
//! Model table files (docs/protocol.md section 6) as outside bytes: the first byte picks
//! TOML or JSON, the rest goes to `ModelTable::parse`. It must never panic; a table that
//! parses has unique, well-formed prefixes, every row identifies itself, and resolving
//! its `key_env` rows gives each of them a key.

use safeid_proto::{AccessKey, MAX_MODEL_TABLE_BYTES, ModelFormat, ModelTable};
use safeid_secret::SecretString;

const KEY: &str = "8AD206883CA369482AB27182B6E83224";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let format = if selector & 1 == 0 {
        ModelFormat::Toml
    } else {
        ModelFormat::Json
    };
    let mut table = match ModelTable::parse(bytes, format) {
        Ok(table) => table,
        Err(err) => {
            // Rendering the error must not panic either.
            let _ = err.to_string();
            return;
        }
    };
    assert!(bytes.len() <= MAX_MODEL_TABLE_BYTES);
    let mut prefixes = std::collections::HashSet::new();
    for model in &table {
        assert!(prefixes.insert(model.prefix.clone()), "duplicate prefix");
        assert!((1..=16).contains(&model.prefix.len()));
        assert!(model.prefix.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(!(model.key.is_some() && model.key_env.is_some()));
        let found = table.identify(&model.prefix).map(|m| m.prefix.as_str());
        assert_eq!(found, Some(model.prefix.as_str()));
    }
    let with_env = table.iter().filter(|m| m.key_env.is_some()).count();
    table
        .resolve_keys(|_| Some(SecretString::from(KEY.to_string())))
        .expect("a valid key resolves");
    let token2 = AccessKey::token2();
    assert_eq!(
        table
            .iter()
            .filter(|m| m.key_env.is_some() && m.key.as_ref() == Some(&token2))
            .count(),
        with_env
    );
});
