//! Error types. Every message names the part of the URI that is wrong and why, and no
//! message ever contains the secret (not even part of it): base32 and base64 problems are
//! reported by position and length only.

use thiserror::Error;

use crate::MAX_URI_LEN;

/// Longest excerpt of a non-secret value (type, algorithm, digits...) quoted in a message.
const QUOTE_LIMIT: usize = 40;

/// Copies a non-secret value for an error message, cut to a readable length.
pub(crate) fn quote(value: &str) -> String {
    if value.chars().count() <= QUOTE_LIMIT {
        value.to_owned()
    } else {
        let mut cut: String = value.chars().take(QUOTE_LIMIT).collect();
        cut.push_str("...");
        cut
    }
}

/// Why an `otpauth://` or `otpauth-migration://` URI was refused (docs/otpauth.md rules 1-9).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Rule 1: the trimmed input is longer than [`MAX_URI_LEN`] bytes.
    #[error("input: {len} bytes long, more than the {MAX_URI_LEN}-byte limit")]
    TooLong {
        /// Length of the trimmed input in bytes.
        len: usize,
    },
    /// Rule 2: the input does not start with `otpauth://` or `otpauth-migration://`.
    #[error("scheme: expected `otpauth://` or `otpauth-migration://`")]
    Scheme,
    /// A migration export was given where a single `otpauth://` credential was expected.
    #[error(
        "scheme: this is an `otpauth-migration://` export, not a single `otpauth://` credential \
         (use parse_migration or parse_any)"
    )]
    MigrationScheme,
    /// A single `otpauth://` credential was given where a migration export was expected.
    #[error(
        "scheme: this is a single `otpauth://` credential, not an `otpauth-migration://` export \
         (use Credential::parse or parse_any)"
    )]
    SingleScheme,
    /// Rule 2: nothing between `otpauth://` and the label.
    #[error("type: missing after `otpauth://` (expected `totp` or `hotp`)")]
    MissingType,
    /// Rule 2: a type other than `totp` or `hotp` (e.g. `yaotp`; `steam` is
    /// [`ParseError::SteamGuard`]).
    #[error("type: {found:?} is not supported (expected `totp` or `hotp`, in lower case)")]
    UnsupportedType {
        /// The type as written (cut to a readable length).
        found: String,
    },
    /// Rule 2: `otpauth://totp:1234/...`.
    #[error("type: a port after the type is not allowed")]
    Port,
    /// Rule 2: `otpauth://user@totp/...`.
    #[error("type: user information before the type (`...@`) is not allowed")]
    Userinfo,
    /// Rule 3: the label is empty, malformed, or has an empty account.
    #[error("label: {0}")]
    Label(LabelError),
    /// Rule 4: a security-relevant parameter appears more than once.
    #[error(
        "{key}: given more than once; repeated parameters are refused because parsers \
         disagree on which copy wins"
    )]
    Duplicate {
        /// The repeated parameter name.
        key: &'static str,
    },
    /// Rule 4: the value of a known parameter is not valid form-encoded UTF-8.
    #[error("{key}: the value is not valid percent-encoded UTF-8")]
    Encoding {
        /// The parameter whose value is malformed.
        key: &'static str,
    },
    /// Rule 4a: the URI asks for Steam Guard codes (`encoder=steam`, `algorithm=steam` or
    /// the type `steam`). `key` names where: `"encoder"`, `"algorithm"` or `"type"`.
    #[error(
        "{key}: `steam` asks for Steam Guard codes, which are 5 characters from Steam's own \
         26-symbol alphabet (23456789BCDFGHJKMNPQRTVWXY), not decimal digits; a token that \
         shows 6 digits cannot display them, so this URI is refused rather than read as an \
         ordinary TOTP credential"
    )]
    SteamGuard {
        /// The part of the URI that asked for Steam Guard codes.
        key: &'static str,
    },
    /// Rule 4a: an `encoder` other than `steam`: it would change how codes are written, in a
    /// way this crate does not know.
    #[error(
        "encoder: {found:?} is not a known code encoding; a parameter that changes how codes \
         are written is refused, never ignored"
    )]
    Encoder {
        /// The value as written (cut to a readable length).
        found: String,
    },
    /// Rule 6: no `secret` parameter, or an empty one.
    #[error("secret: missing (the `secret` parameter is required)")]
    MissingSecret,
    /// Rule 6: the secret is not valid base32.
    #[error("secret: {0}")]
    Secret(Base32Error),
    /// Rule 7: an algorithm other than SHA1, SHA256, SHA512.
    #[error("algorithm: {found:?} is not supported (expected SHA1, SHA256 or SHA512)")]
    Algorithm {
        /// The value as written (cut to a readable length).
        found: String,
    },
    /// Rule 8: `digits` is not the ASCII decimal 6, 7 or 8.
    #[error("digits: {found:?} is not allowed (expected 6, 7 or 8)")]
    Digits {
        /// The value as written (cut to a readable length).
        found: String,
    },
    /// Rule 8: `period` is not an ASCII decimal number of seconds >= 1.
    #[error("period: {found:?} is not a whole number of seconds from 1 to 2^64-1")]
    Period {
        /// The value as written (cut to a readable length).
        found: String,
    },
    /// Rule 8: `counter` is not an ASCII decimal number in 0..=2^64-1.
    #[error("counter: {found:?} is not a whole number from 0 to 2^64-1")]
    Counter {
        /// The value as written (cut to a readable length).
        found: String,
    },
    /// Rule 9: the migration export is malformed.
    #[error(transparent)]
    Migration(#[from] MigrationError),
}

/// Which part of a label was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelPart {
    /// The text before the first `:` / `%3A`.
    IssuerPrefix,
    /// The account name.
    Account,
}

impl std::fmt::Display for LabelPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::IssuerPrefix => "issuer prefix",
            Self::Account => "account",
        })
    }
}

/// Rule 3: what is wrong with the label.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LabelError {
    /// No label at all (`otpauth://totp?secret=...` or `otpauth://totp/?...`).
    #[error("empty; an account name is required")]
    Empty,
    /// The account name (after the issuer prefix, leading spaces dropped) is empty.
    #[error("the account name is empty")]
    EmptyAccount,
    /// A `%` not followed by two hex digits.
    #[error("{0}: malformed percent escape (`%` must be followed by two hex digits)")]
    BadEscape(LabelPart),
    /// The percent-decoded bytes are not UTF-8.
    #[error("{0}: not valid UTF-8 after percent-decoding")]
    NotUtf8(LabelPart),
}

/// Rule 6: why a base32 secret was refused. Positions count bytes of the text as given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Base32Error {
    /// Nothing left after removing spaces.
    #[error("empty after removing spaces")]
    Empty,
    /// The number of base32 symbols cannot come from encoding whole bytes.
    #[error("{symbols} base32 symbols is not a valid base32 length")]
    Length {
        /// Number of symbols (spaces and padding not counted).
        symbols: usize,
    },
    /// A character outside `A-Z`, `a-z`, `2-7`, space and trailing `=`.
    #[error("invalid base32 character at byte {position}")]
    Character {
        /// Byte offset of the offending character.
        position: usize,
    },
    /// `=` padding that is not a trailing run, or the wrong amount of it.
    #[error("invalid `=` padding at byte {position}")]
    Padding {
        /// Byte offset where the padding problem was found.
        position: usize,
    },
}

/// Rule 9: why an `otpauth-migration://` export was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// The host is not `offline`.
    #[error("migration: host {found:?} is not supported (expected `offline`)")]
    Host {
        /// The host as written (cut to a readable length).
        found: String,
    },
    /// No `data` parameter, or an empty one.
    #[error("migration data: the `data` parameter is missing")]
    MissingData,
    /// More than one `data` parameter.
    #[error("migration data: the `data` parameter is given more than once")]
    DuplicateData,
    /// The `data` value is not valid percent-encoded UTF-8.
    #[error("migration data: not valid percent-encoded UTF-8")]
    DataEncoding,
    /// The `data` value is not base64.
    #[error("migration data: not valid base64 ({0})")]
    Base64(Base64Problem),
    /// The decoded bytes are not a well-formed protobuf message.
    #[error("migration {0}")]
    Protobuf(ProtobufError),
    /// One entry is well-formed protobuf but cannot become a credential.
    #[error("migration otp_parameters[{index}]: {problem}")]
    Entry {
        /// Zero-based position of the entry in the payload.
        index: usize,
        /// What is wrong with it.
        problem: EntryProblem,
    },
}

/// What is wrong with base64 migration data. Never shows the offending character.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Base64Problem {
    /// A character outside the (standard or URL-safe) alphabet.
    #[error("invalid character at byte {position}")]
    Character {
        /// Byte offset in the normalised text.
        position: usize,
    },
    /// The number of symbols cannot come from encoding whole bytes.
    #[error("invalid length")]
    Length,
    /// The last symbol carries non-zero bits that do not belong to any byte.
    #[error("non-zero trailing bits in the last symbol at byte {position}")]
    TrailingBits {
        /// Byte offset in the normalised text.
        position: usize,
    },
    /// Malformed `=` padding.
    #[error("invalid `=` padding")]
    Padding,
}

/// Which protobuf message a [`ProtobufError`] happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// The top-level `MigrationPayload`.
    Payload,
    /// The `OtpParameters` entry with this zero-based index.
    OtpParameters(usize),
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Payload => f.write_str("MigrationPayload"),
            Self::OtpParameters(i) => write!(f, "otp_parameters[{i}]"),
        }
    }
}

/// A protobuf decoding error: where (message and byte offset in the decoded data) and what.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("protobuf {message} at byte {offset}: {kind}")]
pub struct ProtobufError {
    /// The message being read.
    pub message: Message,
    /// Byte offset in the decoded payload.
    pub offset: usize,
    /// What went wrong.
    pub kind: ProtobufErrorKind,
}

/// The strict protobuf reader's refusals (docs/otpauth.md rule 9).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtobufErrorKind {
    /// The data ends inside a tag, varint or fixed-size value.
    #[error("truncated: the data ends inside a field")]
    Truncated,
    /// A varint longer than 10 bytes or too large for 64 bits.
    #[error("over-long varint (more than 64 bits)")]
    OverlongVarint,
    /// A length-delimited field claims more bytes than remain.
    #[error("field {field}: length {len} runs past the end of the data")]
    LengthPastEnd {
        /// Field number.
        field: u64,
        /// The claimed length.
        len: u64,
    },
    /// Field number 0 is reserved.
    #[error("field number 0 is not allowed")]
    FieldZero,
    /// Wire types 6 and 7 do not exist.
    #[error("field {field}: wire type {wire_type} does not exist")]
    InvalidWireType {
        /// Field number.
        field: u64,
        /// The wire type (6 or 7).
        wire_type: u8,
    },
    /// A known field with the wrong wire type.
    #[error("field {field} ({name}): wire type {found}, expected {expected}")]
    WrongWireType {
        /// Field number.
        field: u64,
        /// Field name in the schema.
        name: &'static str,
        /// Wire type found.
        found: u8,
        /// Wire type the schema requires.
        expected: u8,
    },
    /// An end-group tag without a matching start-group tag.
    #[error("field {field}: end-group without a matching start-group")]
    UnexpectedEndGroup {
        /// Field number of the end-group tag.
        field: u64,
    },
    /// A start-group tag whose end-group tag never comes.
    #[error("field {field}: group is never closed")]
    UnclosedGroup {
        /// Field number of the start-group tag.
        field: u64,
    },
    /// A string field that is not UTF-8.
    #[error("field {field} ({name}): not valid UTF-8")]
    NotUtf8 {
        /// Field number.
        field: u64,
        /// Field name in the schema.
        name: &'static str,
    },
}

/// Why a well-formed migration entry cannot become a [`crate::Credential`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EntryProblem {
    /// Algorithm 4 (MD5) is refused.
    #[error("algorithm: MD5 is refused")]
    Md5,
    /// An algorithm number outside 0..=4.
    #[error("algorithm: unknown value {0}")]
    Algorithm(u64),
    /// A digits number outside 0..=2.
    #[error("digits: unknown value {0} (expected 0 unspecified, 1 six, 2 eight)")]
    Digits(u64),
    /// A type number outside 0..=2.
    #[error("type: unknown value {0} (expected 0 unspecified, 1 HOTP, 2 TOTP)")]
    Type(u64),
    /// No secret bytes.
    #[error("secret: missing or empty")]
    EmptySecret,
    /// The name gives no account (empty, or nothing after the issuer prefix).
    #[error("name: the account name is empty")]
    EmptyAccount,
}
