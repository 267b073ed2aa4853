//! The `otpauth://` parser (docs/otpauth.md rules 1-8 and 4a) and the parts shared with the
//! migration parser (trimming, length limit, scheme, query splitting).

use safeid_secret::SecretString;

use crate::MAX_URI_LEN;
use crate::base32::decode_base32;
use crate::credential::{Algorithm, Credential, DEFAULT_DIGITS, DEFAULT_PERIOD, Kind};
use crate::error::{LabelError, LabelPart, ParseError, quote};
use crate::percent::{DecodeFail, decode};

/// Which of the two schemes an input uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `otpauth://`
    Single,
    /// `otpauth-migration://`
    Migration,
}

/// Rule 1 and the scheme of rule 2: trims ASCII whitespace, enforces the length limit and
/// returns the scheme with the rest of the text after `://`.
pub(crate) fn split_scheme(input: &str) -> Result<(Scheme, &str), ParseError> {
    let text = input.trim_ascii();
    if text.len() > MAX_URI_LEN {
        return Err(ParseError::TooLong { len: text.len() });
    }
    for (prefix, scheme) in [
        ("otpauth://", Scheme::Single),
        ("otpauth-migration://", Scheme::Migration),
    ] {
        // `get` rather than slicing: the prefix length may fall inside a UTF-8 character.
        if let Some(head) = text.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            return Ok((scheme, &text[prefix.len()..]));
        }
    }
    Err(ParseError::Scheme)
}

/// Splits what follows `://` into authority, path (without its leading `/`) and query,
/// after dropping any `#fragment`.
pub(crate) fn split_parts(rest: &str) -> (&str, Option<&str>, Option<&str>) {
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    match before_query.split_once('/') {
        Some((authority, path)) => (authority, Some(path), query),
        None => (before_query, None, query),
    }
}

/// Splits a query on `&` into raw `(key, value)` pairs with the key form-decoded. Keys that
/// do not decode cannot be one of ours and are skipped, like any unknown key (rule 4).
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (String, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            decode(key, true).ok().map(|key| (key, value))
        })
}

/// The parameters of rule 4 that may appear only once (`encoder`: rule 4a).
const KEYS: [&str; 7] = [
    "secret",
    "issuer",
    "algorithm",
    "digits",
    "period",
    "counter",
    "encoder",
];

/// The value that asks for Steam Guard codes, as `encoder`, `algorithm` or type (rule 4a).
const STEAM: &str = "steam";

/// Parses an `otpauth://` URI (docs/otpauth.md rules 1-8 and 4a).
pub(crate) fn parse_single(input: &str) -> Result<Credential, ParseError> {
    let rest = match split_scheme(input)? {
        (Scheme::Single, rest) => rest,
        (Scheme::Migration, _) => return Err(ParseError::MigrationScheme),
    };
    let (authority, path, query) = split_parts(rest);
    let is_totp = parse_type(authority)?;
    let (prefix, account) = parse_label(path.unwrap_or(""))?;

    // Rule 4: collect each known key at most once; unknown keys are ignored.
    let mut raw: [Option<&str>; 7] = [None; 7];
    for (key, value) in query_pairs(query.unwrap_or("")) {
        if let Some(slot) = KEYS.iter().position(|k| *k == key)
            && raw[slot].replace(value).is_some()
        {
            return Err(ParseError::Duplicate { key: KEYS[slot] });
        }
    }
    let [secret, issuer, algorithm, digits, period, counter, encoder] = raw;

    // Rule 4a: `encoder` changes how codes are written, so it is never ignored. Checked
    // before the other values so that a Steam URI (which also says `digits=5`) gets the
    // error that explains it.
    if let Some(encoder) = form_value("encoder", encoder)? {
        return Err(if encoder.eq_ignore_ascii_case(STEAM) {
            ParseError::SteamGuard { key: "encoder" }
        } else {
            ParseError::Encoder {
                found: quote(&encoder),
            }
        });
    }

    // Rule 6. The decoded text is secret, so it lives in a wiping buffer.
    let secret = form_value("secret", secret)?
        .map(SecretString::from)
        .ok_or(ParseError::MissingSecret)?;
    let secret = decode_base32(secret.expose()).map_err(ParseError::Secret)?;

    // Rule 5: the parameter wins over the label prefix; a mismatch is accepted.
    let issuer = form_value("issuer", issuer)?.or(prefix);

    // Rule 7 (and rule 4a: `algorithm=steam` is one more way to ask for Steam Guard codes).
    let algorithm = match form_value("algorithm", algorithm)? {
        None => Algorithm::Sha1,
        Some(text) if text.eq_ignore_ascii_case(STEAM) => {
            return Err(ParseError::SteamGuard { key: "algorithm" });
        }
        Some(text) => text.parse().map_err(|_| ParseError::Algorithm {
            found: quote(&text),
        })?,
    };

    // Rule 8.
    let digits = match form_value("digits", digits)? {
        None => DEFAULT_DIGITS,
        Some(text) => match parse_decimal(&text) {
            Some(n @ 6..=8) => n as u8,
            _ => {
                return Err(ParseError::Digits {
                    found: quote(&text),
                });
            }
        },
    };
    let kind = if is_totp {
        let period = match form_value("period", period)? {
            None => DEFAULT_PERIOD,
            Some(text) => match parse_decimal(&text) {
                Some(n @ 1..) => n,
                _ => {
                    return Err(ParseError::Period {
                        found: quote(&text),
                    });
                }
            },
        };
        Kind::Totp { period }
    } else {
        let counter = match form_value("counter", counter)? {
            None => 0,
            Some(text) => parse_decimal(&text).ok_or_else(|| ParseError::Counter {
                found: quote(&text),
            })?,
        };
        Kind::Hotp { counter }
    };

    Ok(Credential {
        kind,
        issuer,
        account,
        secret,
        algorithm,
        digits,
    })
}

/// Rule 2: the type is exactly `totp` or `hotp`, with no port and no userinfo.
/// Returns true for TOTP. The type `steam` (in any case) gets the explanation of rule 4a.
fn parse_type(authority: &str) -> Result<bool, ParseError> {
    match authority {
        "totp" => Ok(true),
        "hotp" => Ok(false),
        "" => Err(ParseError::MissingType),
        _ if authority.contains('@') => Err(ParseError::Userinfo),
        _ if authority.contains(':') => Err(ParseError::Port),
        _ if authority.eq_ignore_ascii_case(STEAM) => Err(ParseError::SteamGuard { key: "type" }),
        _ => Err(ParseError::UnsupportedType {
            found: quote(authority),
        }),
    }
}

/// Rule 3: splits the raw label at the first `:` or `%3A` (either case), percent-decodes
/// each part once as strict UTF-8 (`+` stays a plus), drops the account's leading spaces.
/// Returns the issuer prefix (None when absent or empty) and the account.
fn parse_label(raw: &str) -> Result<(Option<String>, String), ParseError> {
    if raw.is_empty() {
        return Err(ParseError::Label(LabelError::Empty));
    }
    let colon = raw.find(':').map(|at| (at, 1));
    let escaped = raw
        .as_bytes()
        .windows(3)
        .position(|w| w[0] == b'%' && w[1] == b'3' && w[2].eq_ignore_ascii_case(&b'a'))
        .map(|at| (at, 3));
    let split = match (colon, escaped) {
        (Some(c), Some(e)) => Some(if c.0 < e.0 { c } else { e }),
        (c, e) => c.or(e),
    };
    let label_part = |text: &str, part| {
        decode(text, false).map_err(|fail| {
            ParseError::Label(match fail {
                DecodeFail::BadEscape => LabelError::BadEscape(part),
                DecodeFail::NotUtf8 => LabelError::NotUtf8(part),
            })
        })
    };
    let (prefix, account) = match split {
        Some((at, len)) => (
            Some(label_part(&raw[..at], LabelPart::IssuerPrefix)?),
            label_part(&raw[at + len..], LabelPart::Account)?,
        ),
        None => (None, label_part(raw, LabelPart::Account)?),
    };
    let account = account.trim_start_matches(' ');
    if account.is_empty() {
        return Err(ParseError::Label(LabelError::EmptyAccount));
    }
    let prefix = prefix.filter(|p| !p.is_empty());
    Ok((prefix, account.to_owned()))
}

/// Form-decodes a parameter value (rule 4); an empty value counts as absent.
fn form_value(key: &'static str, raw: Option<&str>) -> Result<Option<String>, ParseError> {
    match raw {
        None | Some("") => Ok(None),
        Some(raw) => decode(raw, true)
            .map(|value| Some(value).filter(|v| !v.is_empty()))
            .map_err(|_| ParseError::Encoding { key }),
    }
}

/// Rule 8: ASCII decimal digits only (no sign, no fraction, no non-ASCII digits, no
/// overflow). Leading zeros are allowed.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
