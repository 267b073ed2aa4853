//! `otpauth-migration://offline?data=...` (Google Authenticator export), docs/otpauth.md rule 9.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use safeid_secret::{SecretBytes, SecretString, wipe};

use crate::credential::{Algorithm, Credential, DEFAULT_PERIOD, Kind};
use crate::error::{
    Base64Problem, EntryProblem, Message, MigrationError, ParseError, ProtobufError,
    ProtobufErrorKind, quote,
};
use crate::percent::decode;
use crate::protobuf::{LEN, Reader, VARINT, Value};
use crate::uri::{Scheme, query_pairs, split_parts, split_scheme};

/// Standard base64 with padding optional (URL-safe symbols are translated beforehand).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The contents of one `otpauth-migration://` URI (one QR code of a possibly larger export).
///
/// The integer fields are the protobuf `int32` values as sent, `None` when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationBatch {
    /// The credentials, in export order.
    pub credentials: Vec<Credential>,
    /// Payload format version (field 2).
    pub version: Option<i32>,
    /// Number of QR codes in the export (field 3).
    pub batch_size: Option<i32>,
    /// Zero-based index of this QR code in the export (field 4).
    pub batch_index: Option<i32>,
    /// Identifier shared by all QR codes of one export (field 5).
    pub batch_id: Option<i32>,
}

/// Parses an `otpauth-migration://offline?data=...` URI (docs/otpauth.md rules 1 and 9).
///
/// `data` is base64: standard, with URL-safe symbols, missing padding and a `+` that became
/// a space tolerated. The payload is read by a strict protobuf reader. Entries become
/// [`Credential`]s: TOTP entries get the 30 s period (the format has no period field), HOTP
/// entries keep their counter, the name is split into issuer and account like a label, and
/// the issuer field wins over the name's prefix.
pub fn parse_migration(uri: &str) -> Result<MigrationBatch, ParseError> {
    let rest = match split_scheme(uri)? {
        (Scheme::Migration, rest) => rest,
        (Scheme::Single, _) => return Err(ParseError::SingleScheme),
    };
    let (host, _path, query) = split_parts(rest);
    if host != "offline" {
        return Err(MigrationError::Host { found: quote(host) }.into());
    }
    let mut data = None;
    for (key, value) in query_pairs(query.unwrap_or("")) {
        if key == "data" && data.replace(value).is_some() {
            return Err(MigrationError::DuplicateData.into());
        }
    }
    let data = match data {
        None | Some("") => return Err(MigrationError::MissingData.into()),
        Some(raw) => {
            SecretString::from(decode(raw, true).map_err(|_| MigrationError::DataEncoding)?)
        }
    };
    if data.expose().is_empty() {
        return Err(MigrationError::MissingData.into());
    }
    let payload = decode_base64(data.expose())?;
    Ok(decode_payload(payload.expose())?)
}

/// Decodes the protobuf `MigrationPayload` bytes that the `data` parameter carries (after
/// base64), with the strict reader of docs/otpauth.md rule 9. [`parse_migration`] uses it; it is
/// public for callers that already hold the decoded bytes (and for fuzzing).
pub fn parse_migration_payload(bytes: &[u8]) -> Result<MigrationBatch, ParseError> {
    Ok(decode_payload(bytes)?)
}

/// Base64 with the tolerances of rule 9, into a wiping buffer.
fn decode_base64(text: &str) -> Result<SecretBytes, MigrationError> {
    // A space is a `+` that went through form-decoding; `-` and `_` are URL-safe symbols.
    let normalised: String = text
        .chars()
        .map(|c| match c {
            ' ' | '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let normalised = SecretString::from(normalised);
    let mut buf = vec![0u8; base64::decoded_len_estimate(normalised.expose().len())];
    match BASE64.decode_slice(normalised.expose(), &mut buf) {
        Ok(written) => {
            wipe(&mut buf[written..]);
            buf.truncate(written);
            Ok(SecretBytes::new(buf))
        }
        Err(err) => {
            wipe(&mut buf);
            use base64::DecodeError as E;
            Err(MigrationError::Base64(match err {
                base64::DecodeSliceError::DecodeError(E::InvalidByte(position, _)) => {
                    Base64Problem::Character { position }
                }
                base64::DecodeSliceError::DecodeError(E::InvalidLastSymbol(position, _)) => {
                    Base64Problem::TrailingBits { position }
                }
                base64::DecodeSliceError::DecodeError(E::InvalidPadding) => Base64Problem::Padding,
                _ => Base64Problem::Length,
            }))
        }
    }
}

/// A string field (`name`, `issuer`) as strict UTF-8.
fn utf8(
    message: Message,
    data: &[u8],
    offset: usize,
    field: u64,
    name: &'static str,
) -> Result<String, MigrationError> {
    match std::str::from_utf8(data) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Err(MigrationError::Protobuf(ProtobufError {
            message,
            offset,
            kind: ProtobufErrorKind::NotUtf8 { field, name },
        })),
    }
}

/// A known field arrived with the wrong wire type.
fn wrong_wire_type(
    message: Message,
    field: &crate::protobuf::Field<'_>,
    name: &'static str,
    expected: u8,
) -> MigrationError {
    MigrationError::Protobuf(ProtobufError {
        message,
        offset: field.offset,
        kind: ProtobufErrorKind::WrongWireType {
            field: field.number,
            name,
            found: field.value.wire_type(),
            expected,
        },
    })
}

/// `MigrationPayload`: 1 otp_parameters (repeated), 2 version, 3 batch_size,
/// 4 batch_index, 5 batch_id. Later copies of a singular field win, as in protobuf.
fn decode_payload(bytes: &[u8]) -> Result<MigrationBatch, MigrationError> {
    let mut reader = Reader::new(bytes, 0, Message::Payload);
    let mut batch = MigrationBatch {
        credentials: Vec::new(),
        version: None,
        batch_size: None,
        batch_index: None,
        batch_id: None,
    };
    while let Some(field) = reader.next_field().map_err(MigrationError::Protobuf)? {
        let (name, slot) = match field.number {
            1 => {
                let Value::Len(entry, base) = field.value else {
                    return Err(wrong_wire_type(
                        Message::Payload,
                        &field,
                        "otp_parameters",
                        LEN,
                    ));
                };
                let index = batch.credentials.len();
                batch.credentials.push(decode_entry(entry, base, index)?);
                continue;
            }
            2 => ("version", &mut batch.version),
            3 => ("batch_size", &mut batch.batch_size),
            4 => ("batch_index", &mut batch.batch_index),
            5 => ("batch_id", &mut batch.batch_id),
            _ => continue,
        };
        let Value::Varint(v) = field.value else {
            return Err(wrong_wire_type(Message::Payload, &field, name, VARINT));
        };
        // int32 semantics: the low 32 bits of the varint.
        *slot = Some(v as u32 as i32);
    }
    Ok(batch)
}

/// `OtpParameters`: 1 secret, 2 name, 3 issuer, 4 algorithm, 5 digits, 6 type, 7 counter.
fn decode_entry(bytes: &[u8], base: usize, index: usize) -> Result<Credential, MigrationError> {
    let message = Message::OtpParameters(index);
    let mut reader = Reader::new(bytes, base, message);
    let mut secret = SecretBytes::default();
    let (mut name, mut issuer) = (String::new(), String::new());
    let (mut algorithm, mut digits, mut kind, mut counter) = (0u64, 0u64, 0u64, 0u64);
    while let Some(field) = reader.next_field().map_err(MigrationError::Protobuf)? {
        match (field.number, field.value) {
            (1, Value::Len(data, _)) => secret = SecretBytes::from_slice(data),
            (2, Value::Len(data, at)) => name = utf8(message, data, at, 2, "name")?,
            (3, Value::Len(data, at)) => issuer = utf8(message, data, at, 3, "issuer")?,
            (4, Value::Varint(v)) => algorithm = v,
            (5, Value::Varint(v)) => digits = v,
            (6, Value::Varint(v)) => kind = v,
            (7, Value::Varint(v)) => counter = v,
            (1..=3, _) => {
                let name = ["secret", "name", "issuer"][(field.number - 1) as usize];
                return Err(wrong_wire_type(message, &field, name, LEN));
            }
            (4..=7, _) => {
                let name = ["algorithm", "digits", "type", "counter"][(field.number - 4) as usize];
                return Err(wrong_wire_type(message, &field, name, VARINT));
            }
            _ => {}
        }
    }
    let problem = |problem| MigrationError::Entry { index, problem };
    let algorithm = match algorithm {
        0 | 1 => Algorithm::Sha1,
        2 => Algorithm::Sha256,
        3 => Algorithm::Sha512,
        4 => return Err(problem(EntryProblem::Md5)),
        other => return Err(problem(EntryProblem::Algorithm(other))),
    };
    let digits = match digits {
        0 | 1 => 6,
        2 => 8,
        other => return Err(problem(EntryProblem::Digits(other))),
    };
    let kind = match kind {
        0 | 2 => Kind::Totp {
            period: DEFAULT_PERIOD,
        },
        1 => Kind::Hotp { counter },
        other => return Err(problem(EntryProblem::Type(other))),
    };
    if secret.is_empty() {
        return Err(problem(EntryProblem::EmptySecret));
    }
    // The name is split like a label (it is plain text, so there is nothing to decode).
    let (prefix, account) = match name.split_once(':') {
        Some((prefix, account)) => (Some(prefix), account),
        None => (None, name.as_str()),
    };
    let account = account.trim_start_matches(' ');
    if account.is_empty() {
        return Err(problem(EntryProblem::EmptyAccount));
    }
    let issuer = Some(issuer)
        .filter(|i| !i.is_empty())
        .or_else(|| prefix.filter(|p| !p.is_empty()).map(str::to_owned));
    Ok(Credential {
        kind,
        issuer,
        account: account.to_owned(),
        secret,
        algorithm,
        digits,
    })
}
