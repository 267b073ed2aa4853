//! Find the QR codes in an image file and say what each holds (a TOTP credential, a
//! Google Authenticator export, or what else), secrets redacted.
//!
//! `cargo run --example scan_qr [IMAGE]` (without an image: one is generated first)
#![forbid(unsafe_code)]

use safeid::proto::ModelTable;
use safeid::sources::{self, SeedInput};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = match std::env::args().nth(1) {
        Some(p) => p.into(),
        None => {
            let uri = "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example";
            let png = safeid::qr::generate::png(uri, 6)?;
            let path = dir.path().join("code.png");
            std::fs::write(&path, png)?;
            path
        }
    };
    let found = sources::read(SeedInput::QrFile(path), &ModelTable::builtin())?;
    for code in &found.scanned {
        println!("{}: {}", code.source, code.content.describe());
        println!("  {}", code.content.redacted(code.text.expose()));
    }
    println!("{} burnable secret(s)", found.secrets.len());
    if found.secrets.is_empty() {
        Err(found.describe().into())
    } else {
        Ok(())
    }
}
