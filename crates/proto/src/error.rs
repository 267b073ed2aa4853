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
    /// A seed must be 1 to [`MAX_SEED_BYTES`](crate::MAX_SEED_BYTES) bytes
    /// (docs/protocol.md section 3, write seed).
    #[error(
        "a seed must be 1 to {} bytes long, this one is {len} bytes",
        crate::MAX_SEED_BYTES
    )]
    SeedLength {
        /// The length that was refused.
        len: usize,
    },
    /// An access key could not be read. The text never contains the key.
    #[error("invalid access key: {0}")]
    InvalidKey(String),
    /// A command could not be built; nothing of it exists to be sent. The reason never
    /// contains seed or key bytes.
    #[error("cannot build the {command} command: {reason}")]
    CannotBuild {
        /// The command, e.g. `"write seed"`.
        command: &'static str,
        /// What went wrong.
        reason: &'static str,
    },
    /// The name is not one of the token's HMAC algorithms ([`HmacAlgorithm`](crate::HmacAlgorithm)).
    #[error("unknown HMAC algorithm {name:?}: the tokens compute codes with SHA1 or SHA256")]
    UnknownAlgorithm {
        /// The name as given, cut to at most 32 characters.
        name: String,
    },
    /// The algorithm exists but the token cannot compute codes with it.
    #[error("the tokens compute codes with SHA1 or SHA256, not {algorithm}")]
    UnsupportedAlgorithm {
        /// The algorithm's name, e.g. `"SHA512"`.
        algorithm: &'static str,
    },
    /// A model table file or row was refused (docs/protocol.md section 6).
    #[error(transparent)]
    ModelTable(#[from] ModelTableError),
}

/// Why a model table (docs/protocol.md section 6) could not be loaded. Messages name the
/// row (1-based, in file order) and never contain a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelTableError {
    /// The input is longer than [`MAX_MODEL_TABLE_BYTES`](crate::model::MAX_MODEL_TABLE_BYTES);
    /// refused before parsing.
    #[error("model table too large: more than the limit of {max} bytes")]
    TooLarge {
        /// The length given (a caller that reads at most `max + 1` bytes passes `max + 1`).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input is not UTF-8 text.
    #[error("model table: not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first byte that is not valid UTF-8.
        offset: usize,
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
    /// The variable a row names in `key_env` is not set or holds no key
    /// ([`ModelTable::resolve_keys`](crate::ModelTable::resolve_keys)). Never shows the
    /// variable's value.
    #[error("model table row with prefix {prefix:?}: key_env {var}: {reason}")]
    KeyEnv {
        /// The row's prefix.
        prefix: String,
        /// The variable's name.
        var: String,
        /// What is wrong with it.
        reason: String,
    },
}
