//! PSKC, the Portable Symmetric Key Container (RFC 6030), with plain values or with the
//! secrets encrypted (section 6.1 pre-shared key, section 6.2 password).
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

use super::pskc_crypto::{
    AES128_CBC, DS_NS, HMAC_SHA1, MAC_KEY_BYTES, MAX_PBKDF2_ITERATIONS, MIN_PBKDF2_ITERATIONS,
    PBKDF2, PKCS5_NS, PRF_HMAC_SHA1, SALT_BYTES, XENC_NS, XENC11_NS, derive, encrypt, mac, random,
};
use super::{ExportError, ExportOptions, Format, PskcEncryption, SecretBuf};
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
///
/// With [`ExportOptions::pskc_encryption`] each secret is written as an `EncryptedValue`
/// (AES-128-CBC, fresh IV) with its `ValueMAC` (HMAC-SHA1 over IV and ciphertext, under a
/// random MAC key that is itself encrypted in `MACMethod/MACKey`), under a pre-shared key
/// (`EncryptionKey/ds:KeyName`, RFC 6030 section 6.1) or a PBKDF2 key
/// (`EncryptionKey/xenc11:DerivedKey`, section 6.2). Everything else stays in clear, as in
/// the RFC's examples.
pub fn write_pskc(
    records: &[TokenSeed],
    options: &ExportOptions,
) -> Result<SecretString, ExportError> {
    Format::Pskc.check_records(records)?;
    let crypto = Crypto::new(options.pskc_encryption.as_ref())?;
    let mut out = SecretBuf::with_capacity(900 * records.len() + 1200);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    match &crypto {
        None => {
            let _ = writeln!(
                out,
                "<KeyContainer Version=\"1.0\" xmlns=\"{PSKC_NAMESPACE}\">"
            );
        }
        Some(c) => c.write_header(&mut out)?,
    }
    for r in records {
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
        out.push_str("      <Data>\n        <Secret>\n");
        match &crypto {
            None => {
                // One exact-size allocation, wiped on drop.
                let secret = Zeroizing::new(STANDARD.encode(r.secret.expose()));
                out.push_str("          <PlainValue>");
                out.push_str(&secret);
                out.push_str("</PlainValue>\n");
            }
            Some(c) => c.write_secret(&mut out, r.secret.expose())?,
        }
        out.push_str("        </Secret>\n");
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
    out.into_secret_string()
        .ok_or_else(|| ExportError::Io(std::io::Error::other("XML writer produced non-UTF-8")))
}

/// The keys of one encrypted document.
struct Crypto {
    /// The AES key (pre-shared or derived).
    key: Zeroizing<[u8; 16]>,
    /// The random HMAC key.
    mac_key: Zeroizing<[u8; MAC_KEY_BYTES]>,
    kind: Kind,
}

enum Kind {
    PreShared {
        name: String,
    },
    Derived {
        salt: [u8; SALT_BYTES],
        iterations: u32,
    },
}

fn crypto_err(e: String) -> ExportError {
    ExportError::Crypto(e)
}

impl Crypto {
    fn new(encryption: Option<&PskcEncryption>) -> Result<Option<Self>, ExportError> {
        let Some(encryption) = encryption else {
            return Ok(None);
        };
        let mac_key = random::<MAC_KEY_BYTES>().map_err(crypto_err)?;
        let (key, kind) = match encryption {
            PskcEncryption::PreSharedKey { key, key_name } => {
                let mut k = Zeroizing::new([0u8; 16]);
                k.copy_from_slice(key.bytes());
                let name = key_name.as_deref().unwrap_or("Pre-shared-key");
                let name = xml_escape(name).ok_or_else(|| {
                    ExportError::Crypto("the key name holds control characters".into())
                })?;
                (k, Kind::PreShared { name })
            }
            PskcEncryption::Password {
                password,
                iterations,
            } => {
                if *iterations < MIN_PBKDF2_ITERATIONS || *iterations > MAX_PBKDF2_ITERATIONS {
                    return Err(ExportError::Crypto(format!(
                        "PBKDF2 iterations must be {MIN_PBKDF2_ITERATIONS} to {MAX_PBKDF2_ITERATIONS}"
                    )));
                }
                if password.expose().is_empty() {
                    return Err(ExportError::Crypto("the password is empty".into()));
                }
                let salt = *random::<SALT_BYTES>().map_err(crypto_err)?;
                let key = derive(password.expose().as_bytes(), &salt, *iterations);
                (
                    key,
                    Kind::Derived {
                        salt,
                        iterations: *iterations,
                    },
                )
            }
        };
        Ok(Some(Self { key, mac_key, kind }))
    }

    fn write_header(&self, out: &mut SecretBuf) -> Result<(), ExportError> {
        match &self.kind {
            Kind::PreShared { name } => {
                let _ = writeln!(
                    out,
                    "<KeyContainer Version=\"1.0\" xmlns=\"{PSKC_NAMESPACE}\" xmlns:ds=\"{DS_NS}\" xmlns:xenc=\"{XENC_NS}\">"
                );
                let _ = writeln!(
                    out,
                    "  <EncryptionKey>\n    <ds:KeyName>{name}</ds:KeyName>\n  </EncryptionKey>"
                );
            }
            Kind::Derived { salt, iterations } => {
                let _ = writeln!(
                    out,
                    "<KeyContainer Version=\"1.0\" xmlns=\"{PSKC_NAMESPACE}\" xmlns:xenc=\"{XENC_NS}\" xmlns:xenc11=\"{XENC11_NS}\" xmlns:pkcs5=\"{PKCS5_NS}\">"
                );
                out.push_str("  <EncryptionKey>\n    <xenc11:DerivedKey>\n");
                let _ = writeln!(
                    out,
                    "      <xenc11:KeyDerivationMethod Algorithm=\"{PBKDF2}\">"
                );
                out.push_str("        <pkcs5:PBKDF2-params>\n");
                let _ = writeln!(
                    out,
                    "          <pkcs5:Salt>\n            <pkcs5:Specified>{}</pkcs5:Specified>\n          </pkcs5:Salt>",
                    STANDARD.encode(salt)
                );
                let _ = writeln!(
                    out,
                    "          <pkcs5:IterationCount>{iterations}</pkcs5:IterationCount>"
                );
                out.push_str("          <pkcs5:KeyLength>16</pkcs5:KeyLength>\n");
                let _ = writeln!(out, "          <pkcs5:PRF Algorithm=\"{PRF_HMAC_SHA1}\"/>");
                out.push_str("        </pkcs5:PBKDF2-params>\n");
                out.push_str("      </xenc11:KeyDerivationMethod>\n");
                out.push_str("    </xenc11:DerivedKey>\n  </EncryptionKey>\n");
            }
        }
        let mac_key = encrypt(&*self.key, &*self.mac_key).map_err(crypto_err)?;
        let _ = writeln!(out, "  <MACMethod Algorithm=\"{HMAC_SHA1}\">");
        out.push_str("    <MACKey>\n");
        write_cipher(out, "      ", &mac_key);
        out.push_str("    </MACKey>\n  </MACMethod>\n");
        Ok(())
    }

    fn write_secret(&self, out: &mut SecretBuf, secret: &[u8]) -> Result<(), ExportError> {
        let cipher = encrypt(&*self.key, secret).map_err(crypto_err)?;
        let value_mac = mac(&*self.mac_key, &cipher);
        out.push_str("          <EncryptedValue>\n");
        write_cipher(out, "            ", &cipher);
        out.push_str("          </EncryptedValue>\n");
        let _ = writeln!(
            out,
            "          <ValueMAC>{}</ValueMAC>",
            STANDARD.encode(value_mac)
        );
        Ok(())
    }
}

/// `xenc:EncryptionMethod` (AES-128-CBC) and `xenc:CipherData/xenc:CipherValue`.
fn write_cipher(out: &mut SecretBuf, indent: &str, cipher: &[u8]) {
    let _ = writeln!(
        out,
        "{indent}<xenc:EncryptionMethod Algorithm=\"{AES128_CBC}\"/>"
    );
    let _ = writeln!(
        out,
        "{indent}<xenc:CipherData>\n{indent}  <xenc:CipherValue>{}</xenc:CipherValue>\n{indent}</xenc:CipherData>",
        STANDARD.encode(cipher)
    );
}
