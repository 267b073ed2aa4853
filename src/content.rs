//! What a scanned QR code holds, in words a user understands, and which credential (if
//! any) can be burned from it.
//!
//! Services show many kinds of QR codes during MFA enrolment; only `otpauth://` TOTP
//! credentials (directly, or inside a Google Authenticator export) can go into a token.
//! Everything else is named, with what to do instead, rather than a bare parse error.

use safeid_otpauth::{Credential, Kind, MigrationBatch, Parsed};
use safeid_proto::ModelTable;

/// The kind of content a QR code holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// One `otpauth://` credential (TOTP or HOTP).
    Credential(Credential),
    /// A Google Authenticator export (`otpauth-migration://`), one or more accounts.
    Migration(MigrationBatch),
    /// An `otpauth` URI that does not parse (the error says which part is wrong).
    BrokenOtpauth(String),
    /// A Microsoft Authenticator push enrolment (`phonefactor://`).
    MicrosoftPush,
    /// A FIDO passkey / hybrid sign-in code (`FIDO:/...`).
    FidoPasskey,
    /// A token's own serial number barcode.
    TokenSerial {
        /// The serial.
        serial: String,
        /// The model, when the prefix is known.
        model: Option<String>,
    },
    /// An ordinary web address.
    Url(String),
    /// Anything else.
    Text,
}

impl Content {
    /// Classifies a decoded text.
    pub fn classify(text: &str, models: &ModelTable) -> Self {
        let t = text.trim();
        let lower = t.get(..t.len().min(24)).unwrap_or("").to_ascii_lowercase();
        if lower.starts_with("otpauth://") || lower.starts_with("otpauth-migration://") {
            return match safeid_otpauth::parse_any(t) {
                Ok(Parsed::Single(c)) => Content::Credential(c),
                Ok(Parsed::Migration(b)) => Content::Migration(b),
                Err(e) => Content::BrokenOtpauth(e.to_string()),
            };
        }
        if lower.starts_with("phonefactor://") {
            return Content::MicrosoftPush;
        }
        if lower.starts_with("fido:/") {
            return Content::FidoPasskey;
        }
        if lower.starts_with("http://") || lower.starts_with("https://") {
            // Only scheme and host: a URL can carry tokens in its query.
            let host = t
                .split_once("://")
                .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
                .unwrap_or("");
            return Content::Url(host.to_owned());
        }
        let serial_like =
            (6..=20).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric());
        if serial_like && t.bytes().any(|b| b.is_ascii_digit()) {
            let model = models.identify(t).map(|m| m.display_name());
            if model.is_some() || t.bytes().all(|b| b.is_ascii_digit()) {
                return Content::TokenSerial {
                    serial: t.to_owned(),
                    model,
                };
            }
        }
        Content::Text
    }

    /// One line saying what this is and, when it cannot be burned, what to do instead.
    /// Never contains a secret.
    pub fn describe(&self) -> String {
        match self {
            Content::Credential(c) => {
                let kind = match c.kind {
                    Kind::Totp { period } => format!("TOTP, {period} s"),
                    Kind::Hotp { .. } => "HOTP (counter-based: the tokens only do TOTP)".into(),
                };
                format!(
                    "otpauth credential {}: {kind}, {}, {} digits",
                    label(c),
                    c.algorithm,
                    c.digits
                )
            }
            Content::Migration(b) => {
                let names: Vec<String> = b.credentials.iter().map(label).collect();
                format!(
                    "Google Authenticator export with {} account(s): {}",
                    b.credentials.len(),
                    names.join(", ")
                )
            }
            Content::BrokenOtpauth(e) => format!("an otpauth URI that does not parse: {e}"),
            Content::MicrosoftPush => "a Microsoft Authenticator push enrolment (phonefactor://), not a TOTP secret: in the Microsoft sign-in page choose \"I want to use a different authenticator app\" to get an otpauth QR code".into(),
            Content::FidoPasskey => "a FIDO passkey sign-in code (FIDO:/), for a phone's passkey, not a TOTP secret".into(),
            Content::TokenSerial { serial, model } => match model {
                Some(m) => format!("a token serial number barcode: {serial} ({m}), not a secret"),
                None => format!("a serial number barcode: {serial}, not a secret"),
            },
            Content::Url(host) => format!("an ordinary web address ({host}), not a TOTP secret"),
            Content::Text => "text that is not an otpauth URI".into(),
        }
    }

    /// The credentials that could be burned from this content (TOTP or not: the burn plan
    /// decides what the token can take).
    pub fn credentials(&self) -> Vec<Credential> {
        match self {
            Content::Credential(c) => vec![c.clone()],
            Content::Migration(b) => b.credentials.clone(),
            _ => Vec::new(),
        }
    }
}

/// `issuer:account`, or the account alone.
pub fn label(c: &Credential) -> String {
    match &c.issuer {
        Some(i) => format!("{i}:{}", c.account),
        None => c.account.clone(),
    }
}

/// The text with its secret parts replaced by `<redacted>`, decided by what the parser
/// understood rather than by how the text spells it ([`Content::redacted`]).
pub fn redact(text: &str, models: &ModelTable) -> String {
    Content::classify(text, models).redacted(text)
}

impl Content {
    /// `text` (the decoded code this content was classified from) as it may be shown
    /// without `--reveal`: a credential in its canonical form with the secret replaced,
    /// an export without its payload, a push enrolment or passkey code without its code, a
    /// web address without path and query, and any other text not at all (it could be a
    /// bare secret). Only a token's serial number is shown as it is.
    pub fn redacted(&self, text: &str) -> String {
        let t = text.trim();
        match self {
            Content::Credential(c) => redacted_uri(c),
            Content::Migration(_) => "otpauth-migration://offline?data=<redacted>".into(),
            Content::BrokenOtpauth(_) => {
                let scheme = t.split_once("://").map_or("otpauth", |(s, _)| s);
                format!("{}://<redacted>", scheme.to_ascii_lowercase())
            }
            Content::MicrosoftPush => "phonefactor://<redacted>".into(),
            Content::FidoPasskey => "FIDO:/<redacted>".into(),
            Content::Url(host) => {
                let scheme = t.split_once("://").map_or("https", |(s, _)| s);
                format!("{}://{host}/<redacted>", scheme.to_ascii_lowercase())
            }
            Content::TokenSerial { serial, .. } => serial.clone(),
            Content::Text => format!("<redacted: {} characters>", t.chars().count()),
        }
    }
}

/// The canonical URI of `c` with `secret=<redacted>`: built from the parsed parameters, so
/// no spelling of the original (percent-encoded keys, repeated parameters) survives.
fn redacted_uri(c: &Credential) -> String {
    let mut shown = c.clone();
    // The canonical form of a one-byte zero secret ("AA") is replaced below; the real
    // secret never enters the string.
    shown.secret = safeid_secret::SecretBytes::from_slice(&[0]);
    let uri = shown.to_uri();
    uri.expose().replacen("?secret=AA", "?secret=<redacted>", 1)
}

/// Picks one credential among those found. `choice` is a 1-based index or a part of
/// `issuer:account` (case-insensitive); with no choice there must be exactly one.
pub fn pick(creds: &[Credential], choice: Option<&str>) -> Result<Credential, String> {
    pick_index(creds, choice).map(|i| creds[i].clone())
}

/// [`pick`], returning the index chosen. Errors list the accounts, numbered, and never
/// hold a secret.
pub fn pick_index(creds: &[Credential], choice: Option<&str>) -> Result<usize, String> {
    let listing = || {
        creds
            .iter()
            .enumerate()
            .map(|(i, c)| format!("  {}: {}", i + 1, label(c)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let n = creds.len();
    let Some(want) = choice else {
        return match n {
            0 => Err("no otpauth credential was found".into()),
            1 => Ok(0),
            n => Err(format!(
                "{n} accounts were found; choose one by number or by a part of its name:\n{}",
                listing()
            )),
        };
    };
    if let Ok(i) = want.trim().parse::<usize>() {
        return if (1..=n).contains(&i) {
            Ok(i - 1)
        } else {
            Err(format!(
                "there is no account {i}; the accounts are:\n{}",
                listing()
            ))
        };
    }
    let w = want.to_lowercase();
    let hits: Vec<usize> = (0..n)
        .filter(|&i| label(&creds[i]).to_lowercase().contains(&w))
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("no account matches {want:?}:\n{}", listing())),
        _ => Err(format!("several accounts match {want:?}:\n{}", listing())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn classify(t: &str) -> Content {
        Content::classify(t, &ModelTable::builtin())
    }

    #[test]
    fn kinds_are_recognised() {
        assert!(matches!(
            classify("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP"),
            Content::Credential(_)
        ));
        assert!(matches!(
            classify("otpauth://totp/A:b?secret=1"),
            Content::BrokenOtpauth(_)
        ));
        assert_eq!(
            classify("phonefactor://activate_account?code=123&url=https://x"),
            Content::MicrosoftPush
        );
        assert_eq!(classify("FIDO:/1234567890"), Content::FidoPasskey);
        assert_eq!(
            classify("https://example.com/login?t=secret"),
            Content::Url("example.com".into())
        );
        assert_eq!(
            classify("8659622000001"),
            Content::TokenSerial {
                serial: "8659622000001".into(),
                model: Some("Token2 OTPC-P2-i".into())
            }
        );
        assert_eq!(classify("hello world"), Content::Text);
        assert_eq!(classify("ABCDEFGH"), Content::Text);
    }

    #[test]
    fn descriptions_never_hold_the_secret() {
        for t in [
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP",
            "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PX",
            "otpauth://hotp/A:b?secret=JBSWY3DPEHPK3PXP",
        ] {
            let d = classify(t).describe();
            assert!(!d.contains("JBSWY3DP"), "{d}");
        }
        let m = ModelTable::builtin();
        assert_eq!(
            redact("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&issuer=A", &m),
            // The canonical form (docs/otpauth.md rule 10) with the secret replaced.
            "otpauth://totp/A:b?secret=<redacted>&issuer=A&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            // Not a valid export: nothing after the scheme is shown.
            redact("otpauth-migration://offline?data=CjEKFA", &m),
            "otpauth-migration://<redacted>"
        );
        // Spellings the raw-key-name redaction missed: the parser reads them as the secret.
        let spelled = redact("otpauth://totp/A:b?%73ecret=JBSWY3DPEHPK3PXP&issuer=A", &m);
        assert!(!spelled.contains("JBSWY3DP"), "{spelled}");
        let push = redact("phonefactor://activate_account?code=123456789&url=x", &m);
        assert!(!push.contains("123456789"), "{push}");
        assert_eq!(redact("JBSWY3DPEHPK3PXP", &m), "<redacted: 16 characters>");
    }

    #[test]
    fn pick_by_index_and_name() {
        let a = Credential::parse("otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP").unwrap();
        let b = Credential::parse("otpauth://totp/Google:bob?secret=JBSWY3DPEHPK3PXP").unwrap();
        let both = [a.clone(), b.clone()];
        assert!(pick(&both, None).unwrap_err().contains("2 accounts"));
        assert_eq!(pick(&both, Some("2")).unwrap(), b);
        assert_eq!(pick(&both, Some("github")).unwrap(), a);
        assert!(pick(&both, Some("3")).is_err());
        assert!(pick(&both, Some("b")).unwrap_err().contains("several"));
        assert_eq!(pick(std::slice::from_ref(&a), None).unwrap(), a);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod props {
    use proptest::prelude::*;
    use safeid_otpauth::{Algorithm, Credential, Kind};
    use safeid_secret::SecretBytes;

    use super::*;

    fn credential() -> impl Strategy<Value = Credential> {
        (
            proptest::collection::vec(any::<u8>(), 10..64),
            "[A-Za-z0-9 ._@-]{1,20}",
            proptest::option::of("[A-Za-z0-9 .-]{1,12}"),
            prop_oneof![
                Just(Algorithm::Sha1),
                Just(Algorithm::Sha256),
                Just(Algorithm::Sha512)
            ],
            6u8..=8,
            1u64..=120,
        )
            .prop_map(
                |(secret, account, issuer, algorithm, digits, period)| Credential {
                    kind: Kind::Totp { period },
                    issuer: issuer
                        .map(|i| i.trim().to_owned())
                        .filter(|i| !i.is_empty()),
                    account: account.trim_start().to_owned() + "x",
                    secret: SecretBytes::new(secret),
                    algorithm,
                    digits,
                },
            )
    }

    /// Percent-encodes the characters of `text` where `mask` says so (any case of hex),
    /// leaving the `?`, `&` and `=` that structure the URI alone.
    fn respell(text: &str, mask: &[u8]) -> String {
        let query_at = text.find('?').unwrap_or(text.len());
        let mut out = String::new();
        for (i, ch) in text.char_indices() {
            let m = mask.get(i % mask.len().max(1)).copied().unwrap_or(0);
            let structural = matches!(ch, '?' | '&' | '=' | ':' | '/') || i < query_at.min(10);
            if !structural && ch.is_ascii_alphanumeric() && m % 3 == 0 {
                if m % 2 == 0 {
                    out.push_str(&format!("%{:02X}", ch as u32));
                } else {
                    out.push_str(&format!("%{:02x}", ch as u32));
                }
            } else {
                out.push(ch);
            }
        }
        out
    }

    fn spellings(secret: &[u8]) -> Vec<String> {
        use base64::Engine as _;
        let b32 = safeid_otpauth::encode_base32(secret);
        vec![
            b32.clone(),
            b32.to_ascii_lowercase(),
            data_encoding::HEXUPPER.encode(secret),
            data_encoding::HEXLOWER.encode(secret),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        ]
    }

    proptest! {
        /// For any credential and any percent-encoding of its URI, what `scan` prints
        /// without `--reveal` (the redacted text and the description) never holds the
        /// secret in base32, hex or base64.
        #[test]
        fn no_spelling_of_a_uri_leaks_its_secret(
            cred in credential(),
            mask in proptest::collection::vec(any::<u8>(), 1..64),
        ) {
            let models = ModelTable::builtin();
            let uri = respell(cred.to_uri().expose(), &mask);
            let content = Content::classify(&uri, &models);
            let shown = format!("{}\n{}", content.redacted(&uri), content.describe());
            for s in spellings(cred.secret.expose()) {
                prop_assert!(!shown.contains(&s), "{shown} holds {s}");
            }
        }

        /// A push enrolment's code and a bare text are never shown.
        #[test]
        fn push_codes_and_bare_texts_stay_hidden(code in "[A-Za-z]{2}[A-Za-z0-9]{10,38}") {
            let models = ModelTable::builtin();
            for text in [format!("phonefactor://activate_account?code={code}&url=https://x"), code.clone()] {
                let content = Content::classify(&text, &models);
                let shown = format!("{}\n{}", content.redacted(&text), content.describe());
                prop_assert!(!shown.contains(&code), "{shown}");
            }
        }
    }
}
