//! Token models by serial prefix, and the user-extensible model table
//! (docs/protocol.md sections 2, 4 and 6). The file format is described in the crate doc.

mod file;

use std::fmt;
use std::path::Path;

use crate::error::{ModelTableError, ProtoError};
use crate::keys::AccessKey;

/// One token model (docs/protocol.md section 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    /// Serials that start with this belong to the model.
    pub prefix: String,
    /// Model name without the manufacturer, e.g. `"OTPC-P1-i"`.
    pub name: String,
    /// Manufacturer, e.g. `"Token2"`.
    pub manufacturer: String,
    /// True when a config write erases the seed (docs/protocol.md section 4). Unknown means
    /// restricted.
    pub restricted: bool,
    /// The access key, when it is known (section 2). Prints as `<redacted>`.
    pub key: Option<AccessKey>,
    /// Name of an environment variable that holds the key as hex, for keys that should
    /// not be written in the table file. Read by [`Model::resolve_key`].
    pub key_env: Option<String>,
}

impl Model {
    /// `"manufacturer name"`, e.g. `"Token2 OTPC-P1-i"`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.manufacturer, self.name)
    }

    /// The model's access key: [`Model::key`] if set, otherwise the variable named by
    /// [`Model::key_env`] read through `lookup` (pass `|n| std::env::var(n).ok()` for the
    /// process environment; this crate itself does no I/O here). `Ok(None)` when the
    /// model names no key: the caller must then ask the user (docs/protocol.md section 2).
    pub fn resolve_key(
        &self,
        lookup: impl FnOnce(&str) -> Option<String>,
    ) -> Result<Option<AccessKey>, ProtoError> {
        if let Some(key) = &self.key {
            return Ok(Some(key.clone()));
        }
        let Some(var) = &self.key_env else {
            return Ok(None);
        };
        let Some(text) = lookup(var) else {
            return Err(ProtoError::InvalidKey(format!(
                "environment variable {var} (key of {}) is not set",
                self.display_name()
            )));
        };
        let text = safeid_secret::SecretString::from(text);
        AccessKey::from_hex(text.expose())
            .map(Some)
            .map_err(|err| match err {
                ProtoError::InvalidKey(reason) => {
                    ProtoError::InvalidKey(format!("{var}: {reason}"))
                }
                other => other,
            })
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (prefix {})",
            self.manufacturer, self.name, self.prefix
        )
    }
}

/// The models this crate knows, plus any the user loads (docs/protocol.md section 6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelTable {
    models: Vec<Model>,
}

/// The Token2 rows of docs/protocol.md section 6: prefix, model, restricted.
const TOKEN2_ROWS: [(&str, &str, bool); 8] = [
    ("8659612", "OTPC-P1-i", false),
    ("8659622", "OTPC-P2-i", true),
    ("8659621", "OTPC-P2-i-NB", true),
    ("8659600", "miniOTP-2-i", false),
    ("8659601", "miniOTP-3-i", true),
    ("8659609", "miniOTP-3-i-NB", true),
    ("8659610", "C301-i", true),
    ("8659632", "C302-i", false),
];

impl ModelTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The 8 Token2 models of docs/protocol.md section 6, all with the Token2 public key.
    pub fn builtin() -> Self {
        let models = TOKEN2_ROWS
            .iter()
            .map(|&(prefix, name, restricted)| Model {
                prefix: prefix.to_string(),
                name: name.to_string(),
                manufacturer: "Token2".to_string(),
                restricted,
                key: Some(AccessKey::token2()),
                key_env: None,
            })
            .collect();
        Self { models }
    }

    /// Reads a table in the TOML format of the crate doc.
    pub fn from_toml_str(text: &str) -> Result<Self, ProtoError> {
        Ok(Self {
            models: file::from_toml(text)?,
        })
    }

    /// Reads a table in the JSON format of the crate doc (`{"model": [{...}, ...]}`).
    pub fn from_json_str(text: &str) -> Result<Self, ProtoError> {
        Ok(Self {
            models: file::from_json(text)?,
        })
    }

    /// Reads a `.toml` or `.json` file (chosen by the extension, in any letter case).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ProtoError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let parse: fn(&str) -> Result<Self, ProtoError> = match ext.as_deref() {
            Some("toml") => Self::from_toml_str,
            Some("json") => Self::from_json_str,
            _ => return Err(ModelTableError::UnknownFormat { path: shown }.into()),
        };
        let text = std::fs::read_to_string(path).map_err(|source| ModelTableError::Io {
            path: shown,
            source,
        })?;
        parse(&text)
    }

    /// Adds `other`'s rows; a row of `other` replaces a row of `self` with the same prefix
    /// (so user rows override the built-in ones).
    pub fn extend(&mut self, other: ModelTable) {
        for model in other.models {
            match self.models.iter_mut().find(|m| m.prefix == model.prefix) {
                Some(slot) => *slot = model,
                None => self.models.push(model),
            }
        }
    }

    /// The model whose prefix is the longest one that `serial` starts with
    /// (docs/protocol.md section 6). `None` means unknown: treat as restricted and ask for a key.
    pub fn identify(&self, serial: &str) -> Option<&Model> {
        self.models
            .iter()
            .filter(|m| serial.starts_with(m.prefix.as_str()))
            .max_by_key(|m| m.prefix.len())
    }

    /// All rows, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Model> {
        self.models.iter()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

impl<'a> IntoIterator for &'a ModelTable {
    type Item = &'a Model;
    type IntoIter = std::slice::Iter<'a, Model>;

    fn into_iter(self) -> Self::IntoIter {
        self.models.iter()
    }
}
