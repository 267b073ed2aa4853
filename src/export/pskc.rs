//! PSKC, the Portable Symmetric Key Container (RFC 6030), with plain (unencrypted) values.
//!
//! One `KeyPackage` per token, elements in the order of the RFC 6030 schema:
//! `DeviceInfo` (`Manufacturer`, `SerialNo`, `Model`), then `Key` with `Id` (the serial)
//! and `Algorithm` `urn:ietf:params:xml:ns:keyprov:pskc:totp`, holding
//! `AlgorithmParameters` (`Suite` `SHA1`/`SHA256`, `ResponseFormat Length="6"
//! Encoding="DECIMAL"`), `FriendlyName`, `Data` (`Secret/PlainValue` in base64,
//! `TimeInterval/PlainValue`) and `UserId`. The `Suite` text is what privacyIDEA's PSKC
//! import reads as the hash name.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use safeid_secret::SecretString;
use zeroize::Zeroizing;

use super::{ExportError, ExportOptions, check_period, check_unique};
use crate::record::TokenSeed;

/// The PSKC XML namespace (RFC 6030 section 4).
pub const PSKC_NAMESPACE: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
/// The TOTP algorithm URI of the PSKC algorithm profiles.
pub const PSKC_TOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";

const FORMAT: &str = "PSKC";

/// Escapes text for XML content and attribute values; `None` when it holds characters
/// XML 1.0 cannot carry at all (control characters other than tab, CR, LF).
pub(crate) fn xml_escape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn escaped(r: &TokenSeed, text: &str, field: &'static str) -> Result<String, ExportError> {
    xml_escape(text).ok_or_else(|| ExportError::Unrepresentable {
        format: FORMAT,
        serial: r.serial.escape_debug().to_string(),
        field,
    })
}

/// Builds a PSKC document (two-space indents, LF ends). Manufacturer and model are written
/// when known (record, else options); a PSKC document does not require them.
pub fn write_pskc(
    records: &[TokenSeed],
    options: &ExportOptions,
) -> Result<SecretString, ExportError> {
    check_unique(records)?;
    let mut out = String::with_capacity(700 * records.len() + 200);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<KeyContainer Version=\"1.0\" xmlns=\"{PSKC_NAMESPACE}\">"
    );
    for r in records {
        check_period(r, FORMAT)?;
        let serial = escaped(r, &r.serial, "serial")?;
        out.push_str("  <KeyPackage>\n    <DeviceInfo>\n");
        if let Some(m) = r
            .manufacturer
            .as_deref()
            .or(options.manufacturer.as_deref())
        {
            let _ = writeln!(
                out,
                "      <Manufacturer>{}</Manufacturer>",
                escaped(r, m, "manufacturer")?
            );
        }
        let _ = writeln!(out, "      <SerialNo>{serial}</SerialNo>");
        if let Some(m) = r.model.as_deref().or(options.model.as_deref()) {
            let _ = writeln!(out, "      <Model>{}</Model>", escaped(r, m, "model")?);
        }
        out.push_str("    </DeviceInfo>\n");
        let _ = writeln!(out, "    <Key Id=\"{serial}\" Algorithm=\"{PSKC_TOTP}\">");
        out.push_str("      <AlgorithmParameters>\n");
        let _ = writeln!(out, "        <Suite>{}</Suite>", r.hash.name());
        let _ = writeln!(
            out,
            "        <ResponseFormat Length=\"{}\" Encoding=\"DECIMAL\"/>",
            r.digits
        );
        out.push_str("      </AlgorithmParameters>\n");
        if let Some(name) = &r.display_name {
            let _ = writeln!(
                out,
                "      <FriendlyName>{}</FriendlyName>",
                escaped(r, name, "display name")?
            );
        }
        let secret = Zeroizing::new(STANDARD.encode(r.secret.expose()));
        out.push_str("      <Data>\n        <Secret>\n          <PlainValue>");
        out.push_str(&secret);
        out.push_str("</PlainValue>\n        </Secret>\n");
        let _ = writeln!(
            out,
            "        <TimeInterval>\n          <PlainValue>{}</PlainValue>\n        </TimeInterval>",
            r.period
        );
        out.push_str("      </Data>\n");
        if let Some(upn) = r.upn.as_deref().or(options.upn.as_deref()) {
            let _ = writeln!(out, "      <UserId>{}</UserId>", escaped(r, upn, "upn")?);
        }
        out.push_str("    </Key>\n  </KeyPackage>\n");
    }
    out.push_str("</KeyContainer>\n");
    Ok(SecretString::from(out))
}
