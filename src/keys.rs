//! Access keys given by the user: `--key HEX`, `--key @FILE`, `--key env:NAME`.
//!
//! A key given by the user is used as it is: the workflow never tries another one, and
//! never retries a refused one (PROTOCOL.md sections 2 and 5).

use std::path::Path;

use safeid_proto::AccessKey;
use safeid_secret::SecretString;
use thiserror::Error;

/// Why a key argument could not be used. Never contains the key.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeyError {
    /// The text is not 32 hex digits.
    #[error(
        "the access key from {source_name} is not 16 bytes of hex (32 hex digits, either letter case, spaces allowed)"
    )]
    NotHex {
        /// Where it came from (`the command line`, `file F`, `environment variable N`).
        source_name: String,
    },
    /// The file could not be read.
    #[error("cannot read the key file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// The variable is not set.
    #[error("the environment variable {0} is not set (or not UTF-8)")]
    Env(String),
}

/// Reads a key from `HEX`, `@FILE` or `env:NAME`.
pub fn parse_key_arg(arg: &str) -> Result<AccessKey, KeyError> {
    let (text, source_name) = if let Some(path) = arg.strip_prefix('@') {
        (read_file(Path::new(path))?, format!("file {path}"))
    } else if let Some(name) = arg.strip_prefix("env:") {
        let value = std::env::var(name).map_err(|_| KeyError::Env(name.to_owned()))?;
        (
            SecretString::new(value),
            format!("environment variable {name}"),
        )
    } else {
        (
            SecretString::new(arg.to_owned()),
            "the command line".to_owned(),
        )
    };
    AccessKey::from_hex(text.expose().trim()).map_err(|_| KeyError::NotHex { source_name })
}

fn read_file(path: &Path) -> Result<SecretString, KeyError> {
    std::fs::read_to_string(path)
        .map(SecretString::new)
        .map_err(|e| KeyError::File {
            path: path.display().to_string(),
            reason: e.kind().to_string(),
        })
}
