//! Where a secret given by the user comes from: `@FILE`, `-` (standard input) or
//! `env:NAME`, never the command line itself (other users can read a process's
//! arguments). Used for the PSKC key or password and the privacyIDEA admin password.
//!
//! ```
//! use safeid::export::secret_source::SecretSource;
//! let source = SecretSource::parse("env:SAFEID_DOC_EXAMPLE_UNSET").unwrap();
//! let e = source.read().unwrap_err();
//! assert_eq!(e.to_string(), "the environment variable SAFEID_DOC_EXAMPLE_UNSET is not set (or not UTF-8)");
//! ```

use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use safeid_secret::SecretString;
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// The most bytes read from a secret's file or standard input.
pub const MAX_SECRET_SOURCE_BYTES: usize = 64 * 1024;

/// Where to read a secret from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// `@FILE`: the file's contents.
    File(PathBuf),
    /// `-`: standard input, read to its end.
    Stdin,
    /// `env:NAME`: the variable's value.
    Env(String),
}

/// Why a secret could not be read. Names the source, never the value.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretSourceError {
    /// The argument is not `@FILE`, `-` or `env:NAME`.
    #[error(
        "give the secret as @FILE, - (standard input) or env:NAME; a secret on the command line is visible to other users"
    )]
    Literal,
    /// The file could not be read.
    #[error("cannot read the secret file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// The OS error kind.
        reason: String,
    },
    /// Standard input could not be read.
    #[error("cannot read the secret from standard input: {0}")]
    Stdin(String),
    /// The variable is not set.
    #[error("the environment variable {0} is not set (or not UTF-8)")]
    Env(String),
    /// More than [`MAX_SECRET_SOURCE_BYTES`].
    #[error("the secret from {0} is longer than {MAX_SECRET_SOURCE_BYTES} bytes")]
    TooLong(String),
    /// Not UTF-8 text.
    #[error("the secret from {0} is not UTF-8 text")]
    NotText(String),
    /// Empty (after the final line end is removed).
    #[error("the secret from {0} is empty")]
    Empty(String),
}

impl SecretSource {
    /// Parses `@FILE`, `-` or `env:NAME`.
    pub fn parse(arg: &str) -> Result<Self, SecretSourceError> {
        if arg == "-" {
            Ok(Self::Stdin)
        } else if let Some(path) = arg.strip_prefix('@').filter(|p| !p.is_empty()) {
            Ok(Self::File(PathBuf::from(path)))
        } else if let Some(name) = arg.strip_prefix("env:").filter(|n| !n.is_empty()) {
            Ok(Self::Env(name.to_owned()))
        } else {
            Err(SecretSourceError::Literal)
        }
    }

    /// Reads the secret (standard input for [`SecretSource::Stdin`]).
    pub fn read(&self) -> Result<SecretString, SecretSourceError> {
        self.read_with(&mut std::io::stdin().lock())
    }

    /// Reads the secret, taking `stdin` for [`SecretSource::Stdin`]. One final line end
    /// (`\n` or `\r\n`) is removed, nothing else: a password may begin or end with spaces.
    pub fn read_with(&self, stdin: &mut dyn Read) -> Result<SecretString, SecretSourceError> {
        let text = match self {
            Self::Env(name) => Zeroizing::new(
                std::env::var(name).map_err(|_| SecretSourceError::Env(name.clone()))?,
            ),
            Self::File(path) => {
                let mut file = std::fs::File::open(path).map_err(|e| SecretSourceError::File {
                    path: path.display().to_string(),
                    reason: e.kind().to_string(),
                })?;
                read_bounded(&mut file, self).map_err(|e| match e {
                    ReadFail::Io(reason) => SecretSourceError::File {
                        path: path.display().to_string(),
                        reason,
                    },
                    ReadFail::Other(e) => e,
                })?
            }
            Self::Stdin => read_bounded(stdin, self).map_err(|e| match e {
                ReadFail::Io(reason) => SecretSourceError::Stdin(reason),
                ReadFail::Other(e) => e,
            })?,
        };
        let trimmed = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(&text);
        if trimmed.is_empty() {
            return Err(SecretSourceError::Empty(self.to_string()));
        }
        Ok(SecretString::new(trimmed.to_owned()))
    }
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "file {}", p.display()),
            Self::Stdin => f.write_str("standard input"),
            Self::Env(n) => write!(f, "environment variable {n}"),
        }
    }
}

enum ReadFail {
    Io(String),
    Other(SecretSourceError),
}

fn read_bounded(
    input: &mut dyn Read,
    source: &SecretSource,
) -> Result<Zeroizing<String>, ReadFail> {
    // Room for the limit plus one byte, allocated once so that no copy is left behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_SECRET_SOURCE_BYTES + 1));
    let mut chunk = Zeroizing::new([0u8; 4096]);
    loop {
        let n = input
            .read(&mut *chunk)
            .map_err(|e| ReadFail::Io(e.kind().to_string()))?;
        if n == 0 {
            break;
        }
        if bytes.len() + n > MAX_SECRET_SOURCE_BYTES {
            return Err(ReadFail::Other(SecretSourceError::TooLong(
                source.to_string(),
            )));
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(ReadFail::Other(SecretSourceError::NotText(
                source.to_string(),
            )))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_refuses_literals() {
        assert_eq!(SecretSource::parse("-"), Ok(SecretSource::Stdin));
        assert_eq!(
            SecretSource::parse("@/x/y"),
            Ok(SecretSource::File("/x/y".into()))
        );
        assert_eq!(
            SecretSource::parse("env:PW"),
            Ok(SecretSource::Env("PW".into()))
        );
        for bad in ["hunter2", "@", "env:", ""] {
            let e = SecretSource::parse(bad).unwrap_err();
            assert_eq!(e, SecretSourceError::Literal);
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn reads_file_and_stdin_removing_one_line_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, " pass word \r\n").unwrap();
        let s = SecretSource::File(path.clone())
            .read_with(&mut &b""[..])
            .unwrap();
        assert_eq!(s.expose(), " pass word ");
        let s = SecretSource::Stdin
            .read_with(&mut &b"qwerty\n\n"[..])
            .unwrap();
        assert_eq!(s.expose(), "qwerty\n");
        let e = SecretSource::Stdin.read_with(&mut &b"\n"[..]).unwrap_err();
        assert_eq!(e, SecretSourceError::Empty("standard input".into()));
    }

    #[test]
    fn errors_name_the_source_never_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, "s3cr3t".repeat(20_000)).unwrap();
        let e = SecretSource::File(big.clone())
            .read_with(&mut &b""[..])
            .unwrap_err();
        assert!(matches!(e, SecretSourceError::TooLong(_)));
        assert!(e.to_string().contains("big") && !e.to_string().contains("s3cr3t"));
        let e = SecretSource::Stdin
            .read_with(&mut &[0xffu8, 0xfe, b's'][..])
            .unwrap_err();
        assert_eq!(e, SecretSourceError::NotText("standard input".into()));
        let e = SecretSource::File(dir.path().join("missing"))
            .read_with(&mut &b""[..])
            .unwrap_err();
        assert!(matches!(e, SecretSourceError::File { .. }));
    }
}
