//! Token models by serial prefix, and the user-extensible model table
//! (docs/protocol.md sections 2, 4 and 6). The file format is described in the crate doc.
//!
//! Sans-IO like the rest of the crate: a table is parsed from bytes or text
//! ([`ModelTable::parse`]); reading the file is the caller's job, and so is reading the
//! environment for `key_env` rows ([`ModelTable::resolve_keys`]).

mod file;

use std::fmt;
use std::path::Path;

use safeid_secret::SecretString;

use crate::error::{ModelTableError, ProtoError};
use crate::keys::AccessKey;

/// The largest model table accepted, in bytes: 256 KiB, room for a thousand rows and more.
/// [`ModelTable::parse`] refuses a longer input before parsing it; a caller reading a file
/// should read at most one byte more than this (e.g. `Read::take`) and pass what it got.
pub const MAX_MODEL_TABLE_BYTES: usize = 256 * 1024;

/// The two formats of a model table file (the crate doc describes both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelFormat {
    /// TOML: `[[model]]` tables.
    Toml,
    /// JSON: `{"model": [...]}`.
    Json,
}

impl ModelFormat {
    /// The format a file name's extension names: `.toml` or `.json`, in any letter case.
    /// Looks at the name only; nothing is read.
    ///
    /// Errors: [`ModelTableError::UnknownFormat`] for any other extension.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ProtoError> {
        let path = path.as_ref();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("toml") => Ok(Self::Toml),
            Some("json") => Ok(Self::Json),
            _ => Err(ModelTableError::UnknownFormat {
                path: path.display().to_string(),
            }
            .into()),
        }
    }

    /// `"TOML"` or `"JSON"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Toml => "TOML",
            Self::Json => "JSON",
        }
    }
}

/// Refuses an input longer than [`MAX_MODEL_TABLE_BYTES`] before anything parses it.
fn check_size(len: usize) -> Result<(), ProtoError> {
    if len > MAX_MODEL_TABLE_BYTES {
        return Err(ModelTableError::TooLarge {
            len,
            max: MAX_MODEL_TABLE_BYTES,
        }
        .into());
    }
    Ok(())
}

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
    /// not be written in the table file. [`ModelTable::resolve_keys`] reads it (through a
    /// lookup the caller passes) into [`Model::key`].
    pub key_env: Option<String>,
}

impl Model {
    /// `"manufacturer name"`, e.g. `"Token2 OTPC-P1-i"`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.manufacturer, self.name)
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

    /// Parses the bytes of a model table file in `format` (see [`ModelFormat::from_path`]
    /// to choose it by the file name). Rows with `key_env` keep the variable's name;
    /// call [`ModelTable::resolve_keys`] to read them.
    ///
    /// Errors ([`ProtoError::ModelTable`]): [`ModelTableError::TooLarge`] for more than
    /// [`MAX_MODEL_TABLE_BYTES`], checked before anything is parsed;
    /// [`ModelTableError::NotUtf8`]; and the syntax, shape and row errors of the format.
    /// No error message contains a key.
    ///
    /// ```
    /// use safeid_proto::{ModelFormat, ModelTable};
    ///
    /// let bytes = b"[[model]]\nprefix = \"12\"\nname = \"SafeID\"\nmanufacturer = \"Deepnet\"\n";
    /// let table = ModelTable::parse(bytes, ModelFormat::from_path("models.toml")?)?;
    /// assert_eq!(table.identify("1234").map(|m| m.name.as_str()), Some("SafeID"));
    /// # Ok::<(), safeid_proto::ProtoError>(())
    /// ```
    pub fn parse(bytes: &[u8], format: ModelFormat) -> Result<Self, ProtoError> {
        check_size(bytes.len())?;
        let text = std::str::from_utf8(bytes).map_err(|err| ModelTableError::NotUtf8 {
            offset: err.valid_up_to(),
        })?;
        match format {
            ModelFormat::Toml => Self::from_toml_str(text),
            ModelFormat::Json => Self::from_json_str(text),
        }
    }

    /// Reads a table in the TOML format of the crate doc; the same limits and errors as
    /// [`ModelTable::parse`].
    pub fn from_toml_str(text: &str) -> Result<Self, ProtoError> {
        check_size(text.len())?;
        Ok(Self {
            models: file::from_toml(text)?,
        })
    }

    /// Reads a table in the JSON format of the crate doc (`{"model": [{...}, ...]}`); the
    /// same limits and errors as [`ModelTable::parse`].
    pub fn from_json_str(text: &str) -> Result<Self, ProtoError> {
        check_size(text.len())?;
        Ok(Self {
            models: file::from_json(text)?,
        })
    }

    /// Reads the key of every row that names a `key_env` variable and has no key yet:
    /// `lookup` gives the variable's value (pass
    /// `|name| std::env::var(name).ok().map(SecretString::from)` for the process
    /// environment; this crate does no I/O), which must be 32 hex digits as in `key`.
    /// Rows that have a key, or name no variable, are left as they are; `key_env` is kept.
    ///
    /// Errors: [`ModelTableError::KeyEnv`] for the first row whose variable is not set or
    /// does not hold a key. The message names the variable and the row (by its prefix),
    /// never the variable's value. Rows before it keep the keys already read.
    ///
    /// ```
    /// use safeid_proto::{AccessKey, ModelTable};
    /// use safeid_secret::SecretString;
    ///
    /// let mut table = ModelTable::from_toml_str(
    ///     "[[model]]\nprefix = \"12\"\nname = \"SafeID\"\nmanufacturer = \"Deepnet\"\nkey_env = \"DEEPNET_KEY\"\n",
    /// )?;
    /// assert!(table.clone().resolve_keys(|_| None).is_err()); // not set
    /// table.resolve_keys(|name| {
    ///     (name == "DEEPNET_KEY").then(|| SecretString::from("8AD206883CA369482AB27182B6E83224".to_string()))
    /// })?;
    /// assert_eq!(table.identify("1234").and_then(|m| m.key.clone()), Some(AccessKey::token2()));
    /// # Ok::<(), safeid_proto::ProtoError>(())
    /// ```
    pub fn resolve_keys(
        &mut self,
        lookup: impl Fn(&str) -> Option<SecretString>,
    ) -> Result<(), ProtoError> {
        for model in &mut self.models {
            if model.key.is_some() {
                continue;
            }
            let Some(var) = &model.key_env else {
                continue;
            };
            let key_error = |reason: String| ModelTableError::KeyEnv {
                prefix: model.prefix.clone(),
                var: var.clone(),
                reason,
            };
            let Some(value) = lookup(var) else {
                return Err(key_error("the variable is not set".to_string()).into());
            };
            let key = AccessKey::from_hex(value.expose()).map_err(|err| match err {
                ProtoError::InvalidKey(reason) => ProtoError::from(key_error(reason)),
                other => other,
            })?;
            model.key = Some(key);
        }
        Ok(())
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
