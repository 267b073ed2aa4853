//! Burn an `otpauth://` secret into a token on a PC/SC reader: the same workflow as the
//! virtual token, over `safeid_pcsc::PcscTransport`.
//!
//! `cargo run -p safeid-cli --features pcsc --example burn_reader [READER] [URI]`
//! (READER: a name, part of one, or empty for the only reader; waits 30 s for a token).
#![forbid(unsafe_code)]

use std::time::Duration;

use safeid::sources::{self, SeedInput};
use safeid::{BurnOptions, PlanOptions, Provisioner};
use safeid_pcsc::{PcscTransport, ReaderChoice, WaitPolicy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let choice = match args.next().filter(|r| !r.is_empty()) {
        Some(name) => ReaderChoice::Name(name),
        None => ReaderChoice::Auto,
    };
    let uri = args.next().unwrap_or_else(|| {
        "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into()
    });
    let policy = WaitPolicy::new(Duration::from_secs(30)).on_wait(|m: &str| eprintln!("{m}"));
    let mut reader = PcscTransport::open(choice, policy)?;
    let provisioner = Provisioner::new();

    let secret = sources::read(SeedInput::Uri(uri.into()), provisioner.models())?.pick(None)?;
    let plan = secret.plan(&PlanOptions::default())?;
    let status = provisioner.read(&mut reader)?;
    let pending = provisioner.prepare(status, plan, &BurnOptions::default())?;
    println!("{} -> yes", pending.question());
    let burned = pending.burn(&provisioner, &mut reader)?;
    let codes = burned.expected_now();
    println!(
        "switch the token off and on: it must show {} (or {} / {})",
        codes.current, codes.previous, codes.next
    );
    Ok(())
}
