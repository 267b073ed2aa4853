//! Errors of the protocol layer.

use crate::status::StatusWord;

/// Everything that can go wrong while building a command or reading a reply.
///
/// No variant ever carries seed or key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    /// The token answered with a status word other than `90 00` (docs/protocol.md section 5).
    #[error("{command}: the token answered {sw}")]
    Status {
        /// The command that was refused, e.g. `"write seed"`.
        command: &'static str,
        /// The status word the token sent.
        sw: StatusWord,
    },
    /// The reply does not have the shape docs/protocol.md section 3 describes.
    #[error("{command}: malformed reply: {reason}")]
    MalformedReply {
        /// The command whose reply was malformed.
        command: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A seed must be 1 to 63 bytes (docs/protocol.md section 3, write seed).
    #[error("a seed must be 1 to 63 bytes long, this one is {len} bytes")]
    SeedLength {
        /// The length that was refused.
        len: usize,
    },
    /// An access key could not be read. The text never contains the key.
    #[error("invalid access key: {0}")]
    InvalidKey(String),
    /// A model table file or row was refused (docs/protocol.md section 6).
    #[error(transparent)]
    ModelTable(#[from] ModelTableError),
}

/// Why a model table (docs/protocol.md section 6) could not be loaded. Messages name the
/// row (1-based, in file order) and never contain a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelTableError {
    /// The file could not be read.
    #[error("cannot read model table {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file name ends in neither `.toml` nor `.json`.
    #[error("model table {path}: unknown file type, expected a .toml or .json file")]
    UnknownFormat {
        /// The file.
        path: String,
    },
    /// The text is not valid TOML or JSON.
    #[error("model table ({format}) line {line}, column {column}: {message}")]
    Syntax {
        /// `"TOML"` or `"JSON"`.
        format: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser reported (without the source line, which could hold a key).
        message: String,
    },
    /// The document is valid but not shaped like a model table.
    #[error("model table: {0}")]
    Shape(String),
    /// One row was refused.
    #[error("model table {row}: {reason}")]
    Row {
        /// Which row, e.g. `row 3 (prefix "8659612")`.
        row: String,
        /// What is wrong with it.
        reason: String,
    },
}
