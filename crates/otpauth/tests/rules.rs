//! Table-driven tests of `otpauth://` parsing, one block per numbered rule of docs/otpauth.md.
//! Expected values come from the policy text and from known facts: `JBSWY3DPEHPK3PXP` is
//! `Hello!` + DEADBEEF, `GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ` is the RFC 4226 test secret
//! `12345678901234567890`, and `MZXW6YTBOI` is `foobar` (RFC 4648 section 10).
#![allow(clippy::unwrap_used)]

use safeid_otpauth::{
    Algorithm, Base32Error, Credential, Kind, LabelError, LabelPart, ParseError, Warning,
};
use safeid_secret::SecretBytes;

/// `Hello!` followed by DE AD BE EF.
const HELLO: &[u8] = b"Hello!\xde\xad\xbe\xef";
const HELLO_B32: &str = "JBSWY3DPEHPK3PXP";

/// What a case expects.
enum Expect {
    /// Parses to exactly this credential.
    Valid(Credential),
    /// Fails with exactly this error.
    Refused(ParseError),
    /// Fails with an error this predicate accepts (positions left to the decoder).
    RefusedLike(fn(&ParseError) -> bool),
}
use Expect::{Refused, RefusedLike, Valid};

/// A TOTP credential with the defaults (SHA1, 6 digits, 30 s).
fn totp(issuer: Option<&str>, account: &str, secret: &[u8]) -> Credential {
    Credential {
        kind: Kind::Totp { period: 30 },
        issuer: issuer.map(str::to_owned),
        account: account.to_owned(),
        secret: SecretBytes::from_slice(secret),
        algorithm: Algorithm::Sha1,
        digits: 6,
    }
}

/// The usual expected value: account `alice`, no issuer, the HELLO secret.
fn alice() -> Credential {
    totp(None, "alice", HELLO)
}

fn with(mut c: Credential, change: impl FnOnce(&mut Credential)) -> Credential {
    change(&mut c);
    c
}

/// `otpauth://totp/alice?secret=HELLO` followed by `extra`.
fn q(extra: &str) -> String {
    format!("otpauth://totp/alice?secret={HELLO_B32}{extra}")
}

/// `otpauth://totp/<label>?secret=HELLO`.
fn label(label: &str) -> String {
    format!("otpauth://totp/{label}?secret={HELLO_B32}")
}

fn check(rule: &str, cases: Vec<(String, Expect)>) -> usize {
    let count = cases.len();
    for (uri, expect) in cases {
        let got = Credential::parse(&uri);
        let shown = if uri.len() > 120 {
            format!("{}... ({} bytes)", &uri[..100], uri.len())
        } else {
            uri.clone()
        };
        match (expect, got) {
            (Valid(want), Ok(c)) => assert_eq!(c, want, "rule {rule}: {shown}"),
            (Refused(want), Err(e)) => assert_eq!(e, want, "rule {rule}: {shown}"),
            (RefusedLike(pred), Err(e)) => assert!(pred(&e), "rule {rule}: {shown}: {e:?}"),
            (_, got) => panic!("rule {rule}: {shown}: unexpected {got:?}"),
        }
    }
    count
}

/// An input of exactly `len` bytes: the base URI padded with an unknown parameter.
fn sized(len: usize) -> String {
    let mut uri = q("&pad=");
    let fill = len - uri.len();
    uri.push_str(&"x".repeat(fill));
    uri
}

#[test]
fn rule_1_trim_and_length_limit() {
    check(
        "1",
        vec![
            (format!(" \t\r\n{}\n ", q("")), Valid(alice())),
            (sized(4096), Valid(alice())),
            (format!("  {}\n", sized(4096)), Valid(alice())),
            (sized(4097), Refused(ParseError::TooLong { len: 4097 })),
            (
                sized(100_000),
                Refused(ParseError::TooLong { len: 100_000 }),
            ),
            // Only ASCII whitespace is trimmed: a no-break space stays and breaks the scheme.
            (format!("\u{a0}{}", q("")), Refused(ParseError::Scheme)),
        ],
    );
}

#[test]
fn rule_2_scheme_type_authority_fragment() {
    let t = |s: &str| ParseError::UnsupportedType { found: s.into() };
    let hotp = Credential {
        kind: Kind::Hotp { counter: 0 },
        ..alice()
    };
    check(
        "2",
        vec![
            (q("").replace("otpauth", "OTPAUTH"), Valid(alice())),
            (q("").replace("otpauth", "OtpAuth"), Valid(alice())),
            (q("").replace("totp", "hotp"), Valid(hotp)),
            // `steam` is refused with the Steam Guard explanation of rule 4a.
            (
                q("").replace("totp", "steam"),
                Refused(ParseError::SteamGuard { key: "type" }),
            ),
            (
                q("").replace("totp", "Steam"),
                Refused(ParseError::SteamGuard { key: "type" }),
            ),
            (q("").replace("totp", "yaotp"), Refused(t("yaotp"))),
            (q("").replace("totp", "TOTP"), Refused(t("TOTP"))),
            (q("").replace("totp", "totp:443"), Refused(ParseError::Port)),
            (q("").replace("totp", "totp:"), Refused(ParseError::Port)),
            (
                q("").replace("totp", "user@totp"),
                Refused(ParseError::Userinfo),
            ),
            (
                q("").replace("totp", "u:pw@totp"),
                Refused(ParseError::Userinfo),
            ),
            (q("").replace("totp", ""), Refused(ParseError::MissingType)),
            (
                q("").replace("otpauth://", "otpauth:"),
                Refused(ParseError::Scheme),
            ),
            (
                q("").replace("otpauth", "http"),
                Refused(ParseError::Scheme),
            ),
            (HELLO_B32.to_owned(), Refused(ParseError::Scheme)),
            (String::new(), Refused(ParseError::Scheme)),
            // The fragment is dropped, parameters in it included.
            (q("#digits=8"), Valid(alice())),
            (
                q("&digits=7#&digits=8"),
                Valid(with(alice(), |c| c.digits = 7)),
            ),
            (
                format!("otpauth://totp/alice#?secret={HELLO_B32}"),
                Refused(ParseError::MissingSecret),
            ),
            (
                "otpauth-migration://offline?data=AA".into(),
                Refused(ParseError::MigrationScheme),
            ),
        ],
    );
}

#[test]
fn rule_3_label() {
    let acme = |account: &str| totp(Some("ACME"), account, HELLO);
    let l = |e| Refused(ParseError::Label(e));
    check(
        "3",
        vec![
            (label("ACME:alice"), Valid(acme("alice"))),
            (label("ACME%3Aalice"), Valid(acme("alice"))),
            (label("ACME%3aalice"), Valid(acme("alice"))),
            (label("ACME:%20%20alice"), Valid(acme("alice"))),
            (label("ACME%3A%20alice"), Valid(acme("alice"))),
            (label("ACME: alice"), Valid(acme("alice"))),
            (label("ACME:alice%20"), Valid(acme("alice "))),
            (label("%20alice"), Valid(alice())),
            // `+` is a literal plus in the label (a space only in the query).
            (label("ACME:+alice"), Valid(acme("+alice"))),
            (label("A+B:c+d"), Valid(totp(Some("A+B"), "c+d", HELLO))),
            // Further colons stay in the account, whichever form the first one takes.
            (label("ACME:alice:extra"), Valid(acme("alice:extra"))),
            (label("ACME%3Aalice%3Aextra"), Valid(acme("alice:extra"))),
            (label("ACME:alice%3Aextra"), Valid(acme("alice:extra"))),
            (label("ACME%3Aalice:extra"), Valid(acme("alice:extra"))),
            // Decoded once: `%253A` is the text `%3A`, not a separator.
            (
                label("ACME%253Aalice"),
                Valid(totp(None, "ACME%3Aalice", HELLO)),
            ),
            (label(":alice"), Valid(alice())),
            (
                label("Example Co:alice"),
                Valid(totp(Some("Example Co"), "alice", HELLO)),
            ),
            (
                label("alice%40example.com"),
                Valid(totp(None, "alice@example.com", HELLO)),
            ),
            (
                label("%E2%82%AC:%C3%A9"),
                Valid(totp(Some("€"), "é", HELLO)),
            ),
            (label("€:é"), Valid(totp(Some("€"), "é", HELLO))),
            (label("a/b:c"), Valid(totp(Some("a/b"), "c", HELLO))),
            (label(""), l(LabelError::Empty)),
            (
                format!("otpauth://totp?secret={HELLO_B32}"),
                l(LabelError::Empty),
            ),
            (label("ACME:"), l(LabelError::EmptyAccount)),
            (label("ACME%3A"), l(LabelError::EmptyAccount)),
            (label("ACME:%20%20"), l(LabelError::EmptyAccount)),
            (label(":"), l(LabelError::EmptyAccount)),
            (label("%20"), l(LabelError::EmptyAccount)),
            (
                label("%FF:alice"),
                l(LabelError::NotUtf8(LabelPart::IssuerPrefix)),
            ),
            (
                label("ACME:%C3"),
                l(LabelError::NotUtf8(LabelPart::Account)),
            ),
            (
                label("ACME:%C3%28"),
                l(LabelError::NotUtf8(LabelPart::Account)),
            ),
            (
                label("ACME:al%2"),
                l(LabelError::BadEscape(LabelPart::Account)),
            ),
            (
                label("AC%zzME:alice"),
                l(LabelError::BadEscape(LabelPart::IssuerPrefix)),
            ),
        ],
    );
}

#[test]
fn rule_4_query() {
    let dup = |key| Refused(ParseError::Duplicate { key });
    let enc = |key| Refused(ParseError::Encoding { key });
    check(
        "4",
        vec![
            (q("&foo=bar&image=https%3A%2F%2Fx%2Fy.png"), Valid(alice())),
            (q("&foo=%ZZ&bar"), Valid(alice())),
            (q("&&&"), Valid(alice())),
            // Keys are case-sensitive: `Digits` is unknown, `Secret` is not the secret.
            (q("&Digits=9"), Valid(alice())),
            (
                format!("otpauth://totp/alice?Secret={HELLO_B32}"),
                Refused(ParseError::MissingSecret),
            ),
            // Keys are form-decoded.
            (
                format!("otpauth://totp/alice?s%65cret={HELLO_B32}"),
                Valid(alice()),
            ),
            // Empty values count as absent.
            (q("&digits=&algorithm=&period=&issuer="), Valid(alice())),
            (q("&digits"), Valid(alice())),
            (
                "otpauth://totp/alice?secret=".into(),
                Refused(ParseError::MissingSecret),
            ),
            (
                "otpauth://totp/alice?secret".into(),
                Refused(ParseError::MissingSecret),
            ),
            (
                "otpauth://totp/alice".into(),
                Refused(ParseError::MissingSecret),
            ),
            // Values are form-decoded: `+` is a space, `%2B` a plus.
            (
                q("&issuer=ACME+Co"),
                Valid(totp(Some("ACME Co"), "alice", HELLO)),
            ),
            (
                q("&issuer=ACME%2BCo"),
                Valid(totp(Some("ACME+Co"), "alice", HELLO)),
            ),
            (
                q("&issuer=%E2%82%AC"),
                Valid(totp(Some("€"), "alice", HELLO)),
            ),
            (q("&issuer=%FF"), enc("issuer")),
            (q("&issuer=%F"), enc("issuer")),
            (q("&digits=%3"), enc("digits")),
            (q("&algorithm=%C3"), enc("algorithm")),
            (q("&period=%"), enc("period")),
            ("otpauth://totp/alice?secret=%ZZ".into(), enc("secret")),
            // Repeats are refused, also when one copy is empty or the values agree.
            (q("&secret=MZXW6YTBOI"), dup("secret")),
            (q("&secret="), dup("secret")),
            (q(&format!("&secret={HELLO_B32}")), dup("secret")),
            (q("&issuer=A&issuer=B"), dup("issuer")),
            (q("&issuer=&issuer=B"), dup("issuer")),
            (q("&algorithm=SHA1&algorithm=SHA1"), dup("algorithm")),
            (q("&digits=6&digits=8"), dup("digits")),
            (q("&period=30&period=60"), dup("period")),
            (q("&counter=1&counter=2"), dup("counter")),
            (q("&s%65cret=MZXW6YTBOI"), dup("secret")),
        ],
    );
}

/// The 20-byte RFC 4226 test secret, so that no short-secret warning mixes in.
const RFC_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

#[test]
fn rule_4a_parameters_that_change_what_a_code_means() {
    let steam = |key| Refused(ParseError::SteamGuard { key });
    let hotp = |extra: &str| q(extra).replace("totp", "hotp");
    check(
        "4a",
        vec![
            // pyotp's and KeePassXC's Steam convention, in any ASCII case, form-decoded.
            (q("&encoder=steam"), steam("encoder")),
            (q("&encoder=Steam"), steam("encoder")),
            (q("&encoder=STEAM"), steam("encoder")),
            (q("&encoder=st%65am"), steam("encoder")),
            (hotp("&encoder=steam"), steam("encoder")),
            // KeePassXC writes `digits=5` with it: the Steam explanation, not a digits error.
            (
                format!(
                    "otpauth://totp/Valve:gaben?secret={RFC_B32}&period=30&digits=5\
                     &issuer=Valve&encoder=steam"
                ),
                steam("encoder"),
            ),
            // Checked before the secret, so the first thing to fix is the real problem.
            (
                "otpauth://totp/alice?encoder=steam".into(),
                steam("encoder"),
            ),
            // `algorithm=steam` (seen in some parsers) says the same thing.
            (q("&algorithm=steam"), steam("algorithm")),
            (q("&algorithm=STEAM"), steam("algorithm")),
            // Any other encoder would change the code in an unknown way: refused too.
            (
                q("&encoder=base26"),
                Refused(ParseError::Encoder {
                    found: "base26".into(),
                }),
            ),
            (
                q("&encoder=steam+"),
                Refused(ParseError::Encoder {
                    found: "steam ".into(),
                }),
            ),
            (
                q("&encoder=%FF"),
                Refused(ParseError::Encoding { key: "encoder" }),
            ),
            // Repeated: refused like the other parameters that matter (pyotp keeps the last
            // copy, KeePassXC the first).
            (
                q("&encoder=steam&encoder=steam"),
                Refused(ParseError::Duplicate { key: "encoder" }),
            ),
            (
                q("&encoder=&encoder=steam"),
                Refused(ParseError::Duplicate { key: "encoder" }),
            ),
            // An empty value counts as absent (rule 4), as KeePassXC's default encoder does.
            (q("&encoder="), Valid(alice())),
            (q("&encoder"), Valid(alice())),
            // Keys stay case-sensitive: `Encoder` is an unknown key, and pyotp and KeePassXC
            // ignore it as well.
            (q("&Encoder=steam"), Valid(alice())),
            // Harmless parameters are still ignored: a logo `image` URL (pyotp writes it),
            // display hints, Yandex's `pin` outside its own type, anything else.
            (
                q(
                    "&image=https%3A%2F%2Fexample.com%2Flogo.png&lock=false&color=FF0000\
                   &pin=1234&foo=bar",
                ),
                Valid(alice()),
            ),
        ],
    );
}

#[test]
fn rule_4a_steam_guard_message_explains_the_refusal() {
    let message = Credential::parse(&q("&encoder=steam"))
        .unwrap_err()
        .to_string();
    for part in [
        "encoder",
        "Steam Guard",
        "5 characters",
        "23456789BCDFGHJKMNPQRTVWXY",
        "6 digits",
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    let message = Credential::parse(&q("&encoder=base26"))
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("encoder: \"base26\""), "{message}");
}

#[test]
fn rule_4a_steam_issuer_is_a_warning() {
    let steam_uri = format!("otpauth://totp/Steam:gaben?secret={RFC_B32}&issuer=Steam");
    let c = Credential::parse(&steam_uri).unwrap();
    assert_eq!(c.issuer.as_deref(), Some("Steam"));
    assert_eq!(c.account, "gaben");
    assert_eq!(c.warnings(), vec![Warning::SteamIssuer]);
    assert!(c.warnings()[0].to_string().contains("Steam Guard"));
    // The warning does not stop the canonical form from parsing back (rule 10).
    assert_eq!(Credential::parse(c.to_uri().expose()).unwrap(), c);
    // The label prefix alone is enough, in any ASCII case.
    let lower = format!("otpauth://totp/steam:gaben?secret={RFC_B32}");
    assert_eq!(
        Credential::parse(&lower).unwrap().warnings(),
        vec![Warning::SteamIssuer]
    );
    // Only the exact name: other issuers, also ones that contain it, get no warning.
    for issuer in ["Valve", "Steam%20Community", "Steamboat", "Ste%C3%A4m"] {
        let uri = format!("otpauth://totp/a?secret={RFC_B32}&issuer={issuer}");
        assert_eq!(
            Credential::parse(&uri).unwrap().warnings(),
            vec![],
            "{issuer}"
        );
    }
    // With a short secret both warnings are given.
    let short = Credential::parse(&q("&issuer=STEAM")).unwrap();
    assert_eq!(
        short.warnings(),
        vec![Warning::ShortSecret { bytes: 10 }, Warning::SteamIssuer]
    );
}

#[test]
fn rule_5_issuer() {
    check(
        "5",
        vec![
            (
                label("ACME:alice") + "&issuer=ACME",
                Valid(totp(Some("ACME"), "alice", HELLO)),
            ),
            // Microsoft-style mismatch: accepted, the parameter wins.
            (
                label("Contoso:alice%40contoso.com") + "&issuer=Microsoft",
                Valid(totp(Some("Microsoft"), "alice@contoso.com", HELLO)),
            ),
            (q("&issuer=ACME"), Valid(totp(Some("ACME"), "alice", HELLO))),
            (
                label("ACME:alice") + "&issuer=",
                Valid(totp(Some("ACME"), "alice", HELLO)),
            ),
        ],
    );
}

#[test]
fn rule_6_secret() {
    let secret = |s: &str| format!("otpauth://totp/alice?secret={s}");
    let with_secret = |bytes: &[u8]| totp(None, "alice", bytes);
    let b32 = |e| Refused(ParseError::Secret(e));
    check(
        "6",
        vec![
            (secret("jbswy3dpehpk3pxp"), Valid(alice())),
            (secret("JbSwY3dPeHpK3pXp"), Valid(alice())),
            (secret("JBSW+Y3DP+EHPK+3PXP"), Valid(alice())),
            (secret("JBSW%20Y3DP%20EHPK%203PXP"), Valid(alice())),
            (secret("JBSW Y3DP EHPK 3PXP"), Valid(alice())),
            (secret("MZXW6YTBOI"), Valid(with_secret(b"foobar"))),
            (secret("MZXW6YTBOI======"), Valid(with_secret(b"foobar"))),
            (
                secret("MZXW6YTBOI%3D%3D%3D%3D%3D%3D"),
                Valid(with_secret(b"foobar")),
            ),
            (secret("MZXW6YQ="), Valid(with_secret(b"foob"))),
            (secret("MZXW6YQ"), Valid(with_secret(b"foob"))),
            (
                secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
                Valid(with_secret(b"12345678901234567890")),
            ),
            // Short secrets parse (a warning, tested below); non-zero trailing bits are tolerated.
            (secret("MY"), Valid(with_secret(b"f"))),
            (secret("MZXW6"), Valid(with_secret(b"foo"))),
            (secret("MZXW7"), Valid(with_secret(b"foo"))),
            // Invalid lengths: 1, 3 and 6 symbols cannot encode whole bytes.
            (secret("M"), b32(Base32Error::Length { symbols: 1 })),
            (secret("MZX"), b32(Base32Error::Length { symbols: 3 })),
            (secret("MZXW6Y"), b32(Base32Error::Length { symbols: 6 })),
            (secret("JBSWY3DPE"), b32(Base32Error::Length { symbols: 9 })),
            (
                secret("JBSWY3D1"),
                b32(Base32Error::Character { position: 7 }),
            ),
            (
                secret("JBSWY3D0"),
                b32(Base32Error::Character { position: 7 }),
            ),
            (
                secret("JBSWY3D%09"),
                b32(Base32Error::Character { position: 7 }),
            ),
            (
                secret("JBSWY3D%C3%A9"),
                b32(Base32Error::Character { position: 7 }),
            ),
            // No Unicode case folding: the Kelvin sign is not K.
            (
                secret("JBSWY3DPEHP%E2%84%AA3PXP"),
                b32(Base32Error::Character { position: 11 }),
            ),
            (
                secret("MZXW6YTB%3DOI"),
                b32(Base32Error::Padding { position: 8 }),
            ),
            (
                secret("MY%3D%3D%3D%3D%3D%3DMY%3D%3D%3D%3D%3D%3D"),
                b32(Base32Error::Padding { position: 2 }),
            ),
            (
                secret("MZXW6YTBOI%3D"),
                RefusedLike(|e| matches!(e, ParseError::Secret(Base32Error::Padding { .. }))),
            ),
            (secret("%3D%3D%3D%3D%3D%3D%3D%3D"), b32(Base32Error::Empty)),
            (secret("+++"), b32(Base32Error::Empty)),
        ],
    );
}

#[test]
fn rule_6_short_secrets_are_warnings_not_errors() {
    let short = Credential::parse(&q("")).unwrap();
    assert_eq!(short.warnings(), vec![Warning::ShortSecret { bytes: 10 }]);
    let rfc = Credential::parse("otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    assert_eq!(rfc.unwrap().warnings(), vec![]);
    // 16 bytes (128 bits) is exactly the minimum: no warning; 15 bytes warns.
    let b16 = format!(
        "otpauth://totp/a?secret={}",
        safeid_otpauth::encode_base32(&[7; 16])
    );
    assert_eq!(Credential::parse(&b16).unwrap().warnings(), vec![]);
    let b15 = format!(
        "otpauth://totp/a?secret={}",
        safeid_otpauth::encode_base32(&[7; 15])
    );
    let warnings = Credential::parse(&b15).unwrap().warnings();
    assert_eq!(warnings, vec![Warning::ShortSecret { bytes: 15 }]);
    assert!(warnings[0].to_string().contains("120 bits"));
}

#[test]
fn rule_7_algorithm() {
    let alg = |a| Valid(with(alice(), |c| c.algorithm = a));
    let bad = |s: &str| Refused(ParseError::Algorithm { found: s.into() });
    check(
        "7",
        vec![
            (q("&algorithm=SHA1"), alg(Algorithm::Sha1)),
            (q("&algorithm=sha1"), alg(Algorithm::Sha1)),
            (q("&algorithm=SHA256"), alg(Algorithm::Sha256)),
            (q("&algorithm=sha256"), alg(Algorithm::Sha256)),
            (q("&algorithm=Sha512"), alg(Algorithm::Sha512)),
            (q("&algorithm=MD5"), bad("MD5")),
            (q("&algorithm=SHA-1"), bad("SHA-1")),
            (q("&algorithm=SHA224"), bad("SHA224")),
            (q("&algorithm=SHA1+"), bad("SHA1 ")),
            // U+017F LATIN SMALL LETTER LONG S folds to `s` in Unicode, not in ASCII.
            (q("&algorithm=%C5%BFHA1"), bad("ſHA1")),
        ],
    );
}

#[test]
fn rule_8_digits_period_counter() {
    let digits = |d| Valid(with(alice(), |c| c.digits = d));
    let period = |p| Valid(with(alice(), |c| c.kind = Kind::Totp { period: p }));
    let hotp = |counter| {
        Valid(Credential {
            kind: Kind::Hotp { counter },
            ..alice()
        })
    };
    let h = |extra: &str| q(extra).replace("totp", "hotp");
    let bad_digits = |s: &str| Refused(ParseError::Digits { found: s.into() });
    let bad_period = |s: &str| Refused(ParseError::Period { found: s.into() });
    let bad_counter = |s: &str| Refused(ParseError::Counter { found: s.into() });
    check(
        "8",
        vec![
            (q("&digits=6"), digits(6)),
            (q("&digits=7"), digits(7)),
            (q("&digits=8"), digits(8)),
            (q("&digits=08"), digits(8)),
            (q("&digits=5"), bad_digits("5")),
            (q("&digits=9"), bad_digits("9")),
            (q("&digits=10"), bad_digits("10")),
            (q("&digits=0"), bad_digits("0")),
            (q("&digits=%2B6"), bad_digits("+6")),
            (q("&digits=-6"), bad_digits("-6")),
            (q("&digits=6.0"), bad_digits("6.0")),
            (q("&digits=+6"), bad_digits(" 6")),
            (q("&digits=%EF%BC%96"), bad_digits("６")),
            (q("&digits=six"), bad_digits("six")),
            (
                q("&digits=99999999999999999999999"),
                bad_digits("99999999999999999999999"),
            ),
            (q(""), period(30)),
            (q("&period=60"), period(60)),
            (q("&period=1"), period(1)),
            (q("&period=18446744073709551615"), period(u64::MAX)),
            (q("&period=0"), bad_period("0")),
            (q("&period=-30"), bad_period("-30")),
            (q("&period=30.5"), bad_period("30.5")),
            (q("&period=1e3"), bad_period("1e3")),
            (
                q("&period=18446744073709551616"),
                bad_period("18446744073709551616"),
            ),
            (h(""), hotp(0)),
            (h("&counter=0"), hotp(0)),
            (h("&counter=42"), hotp(42)),
            (h("&counter=18446744073709551615"), hotp(u64::MAX)),
            (
                h("&counter=18446744073709551616"),
                bad_counter("18446744073709551616"),
            ),
            (h("&counter=-1"), bad_counter("-1")),
            (h("&counter=%2B1"), bad_counter("+1")),
            (h("&counter=1.5"), bad_counter("1.5")),
            (h("&counter=%D9%A3"), bad_counter("٣")),
            (h("&counter=0x10"), bad_counter("0x10")),
            // Each kind reads only its own parameter.
            (q("&counter=abc"), Valid(alice())),
            (h("&period=abc"), hotp(0)),
        ],
    );
}

#[test]
fn all_parameters_together() {
    let uri = "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ\
               &issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60";
    let c = Credential::parse(uri).unwrap();
    assert_eq!(c.issuer.as_deref(), Some("ACME Co"));
    assert_eq!(c.account, "john.doe@email.com");
    assert_eq!(c.algorithm, Algorithm::Sha256);
    assert_eq!(c.digits, 8);
    assert_eq!(c.kind, Kind::Totp { period: 60 });
    assert_eq!(c.secret.len(), 20);
}

#[test]
fn canonical_formatting_rule_10() {
    let c = Credential {
        kind: Kind::Hotp { counter: 7 },
        issuer: Some("A&B Co".into()),
        account: "x:y+z é".into(),
        secret: SecretBytes::from_slice(b"foobar"),
        algorithm: Algorithm::Sha512,
        digits: 8,
    };
    assert_eq!(
        c.to_uri().expose(),
        "otpauth://hotp/A%26B%20Co:x%3Ay%2Bz%20%C3%A9?secret=MZXW6YTBOI&issuer=A%26B%20Co\
         &algorithm=SHA512&digits=8&counter=7"
    );
    assert_eq!(Credential::parse(c.to_uri().expose()).unwrap(), c);
    // An issuer with a colon cannot be a label prefix; an account with one needs a prefix.
    let colon = Credential {
        issuer: Some("a:b".into()),
        account: "c:d".into(),
        ..c.clone()
    };
    assert!(
        colon
            .to_uri()
            .expose()
            .starts_with("otpauth://hotp/:c%3Ad?")
    );
    assert_eq!(Credential::parse(colon.to_uri().expose()).unwrap(), colon);
    let plain = Credential {
        issuer: None,
        account: "bob".into(),
        kind: Kind::Totp { period: 30 },
        ..c
    };
    assert!(
        plain
            .to_uri()
            .expose()
            .starts_with("otpauth://totp/bob?secret=")
    );
    assert!(plain.to_uri().expose().ends_with("&period=30"));
}

#[test]
fn algorithm_display_and_from_str() {
    for (a, name) in [
        (Algorithm::Sha1, "SHA1"),
        (Algorithm::Sha256, "SHA256"),
        (Algorithm::Sha512, "SHA512"),
    ] {
        assert_eq!(a.to_string(), name);
        assert_eq!(name.parse::<Algorithm>().unwrap(), a);
        assert_eq!(name.to_lowercase().parse::<Algorithm>().unwrap(), a);
    }
    assert!("MD5".parse::<Algorithm>().is_err());
    assert!("".parse::<Algorithm>().is_err());
}

#[test]
fn debug_redacts_the_secret() {
    let c = Credential::parse(&q("")).unwrap();
    let debug = format!("{c:?}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(!debug.contains("Hello"), "{debug}");
    assert!(!debug.contains(HELLO_B32), "{debug}");
    assert_eq!(format!("{:?}", c.to_uri()), "<redacted>");
}
