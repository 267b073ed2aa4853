//! Secrets given by the user as arguments: the text itself, `@FILE`, `-` (standard input)
//! or `env:NAME` ([`read_secret_arg`]), and access keys given that way ([`parse_key_arg`]).
//! The text form is visible to other users in the process list; the others are not.
//!
//! A key given by the user is used as it is: the workflow never tries another one, and
//! never retries a refused one (docs/protocol.md sections 2 and 5).

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

impl KeyError {
    /// A stable name for the kind of error, `bad_secret_argument`: what the CLI's JSON
    /// errors and the desk app both report.
    pub fn kind(&self) -> &'static str {
        "bad_secret_argument"
    }
}

/// The most read from a file or standard input for one secret argument.
pub const MAX_SECRET_ARG_BYTES: u64 = 4096;

/// Reads a secret argument: `@FILE` (the file's contents), `-` (standard input),
/// `env:NAME` (an environment variable), or else the text itself. Surrounding whitespace
/// is trimmed. Returns the secret and a name of where it came from, for messages.
pub fn read_secret_arg(arg: &str) -> Result<(SecretString, String), KeyError> {
    let (text, source_name) = if let Some(path) = arg.strip_prefix('@') {
        (read_file(Path::new(path))?, format!("file {path}"))
    } else if arg == "-" {
        (read_file(Path::new("-"))?, "standard input".to_owned())
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
    Ok((
        SecretString::new(text.expose().trim().to_owned()),
        source_name,
    ))
}

/// Reads an access key from `HEX`, `@FILE`, `-` or `env:NAME` ([`read_secret_arg`]).
pub fn parse_key_arg(arg: &str) -> Result<AccessKey, KeyError> {
    let (text, source_name) = read_secret_arg(arg)?;
    AccessKey::from_hex(text.expose()).map_err(|_| KeyError::NotHex { source_name })
}

fn read_file(path: &Path) -> Result<SecretString, KeyError> {
    let err = |reason: String| KeyError::File {
        path: if path.as_os_str() == "-" {
            "(standard input)".to_owned()
        } else {
            path.display().to_string()
        },
        reason,
    };
    crate::sources::read_text_file(path, MAX_SECRET_ARG_BYTES, "secret file").map_err(|e| match e {
        crate::sources::SourceError::Io { reason, .. } => err(reason),
        crate::sources::SourceError::TooLarge { limit, .. } => {
            err(format!("larger than {limit} bytes"))
        }
        _ => err("not UTF-8 text".to_owned()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: &str = "8AD206883CA369482AB27182B6E83224";

    #[test]
    fn hex_in_either_case_with_spaces() {
        let upper = parse_key_arg(KEY).unwrap();
        let lower = parse_key_arg(&KEY.to_lowercase()).unwrap();
        let spaced = parse_key_arg("8AD2 0688 3CA3 6948 2AB2 7182 B6E8 3224").unwrap();
        assert_eq!(upper, AccessKey::token2());
        assert_eq!(lower, AccessKey::token2());
        assert_eq!(spaced, AccessKey::token2());
    }

    #[test]
    fn file_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, format!("{}\n", KEY.to_lowercase())).unwrap();
        let from_file = parse_key_arg(&format!("@{}", path.display())).unwrap();
        assert_eq!(from_file, AccessKey::token2());
        // A variable name no other test uses; set by this test alone.
        let name = "SAFEID_KEYS_UNIT_TEST_KEY";
        assert_eq!(
            parse_key_arg(&format!("env:{name}")),
            Err(KeyError::Env(name.into()))
        );
        let missing = parse_key_arg("@/nonexistent/safeid/key").unwrap_err();
        assert!(matches!(missing, KeyError::File { .. }));
    }

    #[test]
    fn errors_never_contain_the_key() {
        for bad in [
            "8AD206883CA369482AB27182B6E832",
            "8AD206883CA369482AB27182B6E8322Z",
        ] {
            let e = parse_key_arg(bad).unwrap_err().to_string();
            assert!(!e.contains("8AD2"), "{e}");
            assert!(e.contains("the command line"));
        }
    }
}
