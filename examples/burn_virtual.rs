//! Burn an `otpauth://` secret into the built-in virtual token, the way every front end
//! does it: seed, token, checks, confirmation, burn, codes, verification.
//!
//! `cargo run --example burn_virtual [URI]`
#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};

use safeid::sources::{self, SeedInput};
use safeid::{BurnOptions, PlanOptions, Provisioner};
use safeid_sim::{SimTransport, SystemClock, TokenSpec, VirtualToken};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::args().nth(1).unwrap_or_else(|| {
        "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example".into()
    });
    // A Token2 OTPC-P2-i on a virtual reader (any `Transport` works the same way).
    let token = Arc::new(Mutex::new(VirtualToken::new(
        TokenSpec::token2("8659622000001"),
        Arc::new(SystemClock),
    )));
    let mut reader = SimTransport::new(Arc::clone(&token));
    let provisioner = Provisioner::new();

    let secret = sources::read(SeedInput::Uri(uri.into()), provisioner.models())?.pick(None)?;
    let plan = secret.plan(&PlanOptions::default())?;
    let status = provisioner.read(&mut reader)?;
    let pending = provisioner.prepare(status, plan, &BurnOptions::default())?;
    println!("{} -> yes", pending.question());
    let burned = pending.burn(&provisioner, &mut reader)?;

    let codes = burned.expected_now();
    println!(
        "the display must show {} ({} s left)",
        codes.current, codes.seconds_left
    );
    let shown = token.lock().map_err(|_| "token lock")?.display_code();
    let shown = shown.ok_or("the virtual token shows nothing")?;
    let check = burned.verify_now(&shown);
    println!("display shows {shown}: {}", check.explanation());
    if check.is_good() {
        Ok(())
    } else {
        Err("not verified".into())
    }
}
