//! `safeid`: burn TOTP seeds into NFC-programmable hardware tokens (Deepnet SafeID,
//! Token2, ExcelSecu) from a PC/SC reader, or into the built-in virtual token.
//!
//! A thin binary over the `safeid` libraries: argument parsing, backend choice and
//! printing only. Run `safeid --help`, or see docs/cli.md.
#![forbid(unsafe_code)]

mod backend;
mod batch;
mod code;
mod error;
mod output;
mod qr;
mod scan;
mod seed;
mod token;
mod uri;
mod vtoken;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use error::CliResult;

/// Burn TOTP seeds into NFC-programmable hardware tokens (Deepnet SafeID/Diamond,
/// Token2 C301-i/C302-i/OTPC/miniOTP, ExcelSecu eSecuOTP) through a PC/SC reader, or into
/// the built-in virtual token (--sim) to try everything without hardware.
///
/// Typical job: a service shows an otpauth:// QR code; burn its secret into a token:
///
///   safeid burn --uri 'otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example'
///
/// then switch the token off and on, and compare its display with the code printed (or
/// pass it with --verify CODE).
#[derive(Debug, Parser)]
#[command(name = "safeid", version = version(), about, long_about, max_term_width = 100)]
struct Cli {
    /// Print results as JSON (one object per line); errors too, as {"error": {...}}.
    #[arg(long, global = true)]
    json: bool,

    /// Print only results and errors (no progress, no advice).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

/// The version line: the package version and whether PC/SC reader support is built in.
fn version() -> &'static str {
    if cfg!(feature = "pcsc") {
        concat!(env!("CARGO_PKG_VERSION"), " (PC/SC readers: yes)")
    } else {
        concat!(
            env!("CARGO_PKG_VERSION"),
            " (PC/SC readers: no, virtual token only; build with --features pcsc)"
        )
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode otpauth:// and otpauth-migration:// URIs and show what they hold.
    Uri(uri::UriArgs),
    /// Compute HOTP/TOTP codes (previous, current and next, as the vendor tool's Test button).
    Code(code::CodeArgs),
    /// List the PC/SC readers, numbered (the numbers are what --reader takes).
    Readers,
    /// Read a token's serial, model and clock (needs no key, changes nothing).
    Info(token::InfoArgs),
    /// Burn a seed into a token: config (clock, algorithm, step) first, then the seed.
    Burn(token::BurnArgs),
    /// Set the token's clock from the host (on restricted models this erases the seed).
    SyncClock(token::SyncClockArgs),
    /// Provision many tokens (one or several readers) with a journal that loses no seed.
    Batch(batch::BatchArgs),
    /// Export the seeds of a batch journal (Entra ID, Graph, PSKC, privacyIDEA...).
    Export(batch::ExportArgs),
    /// Find QR codes in image files or on the screens and say what they hold.
    Scan(scan::ScanArgs),
    /// Show a QR code in the terminal or write it as PNG.
    Qr(qr::QrArgs),
    /// Serve the virtual token to a real pcscd through the vsmartcard vpcd driver.
    VirtualToken(vtoken::VirtualTokenArgs),
}

/// How the command reports: JSON or text, quiet or not.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// JSON output.
    pub json: bool,
    /// No progress or advice.
    pub quiet: bool,
}

impl Out {
    /// Prints advice or progress on standard error, unless quiet or JSON.
    pub fn note(&self, text: impl std::fmt::Display) {
        if !self.quiet && !self.json {
            eprintln!("{text}");
        }
    }

    /// Prints a warning on standard error (also with --json; not with --quiet).
    pub fn warn(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("warning: {text}");
        }
    }
}

/// Parses the command line and runs the command.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out {
        json: cli.json,
        quiet: cli.quiet,
    };
    let result: CliResult = match cli.command {
        Command::Uri(args) => uri::run(&args, out),
        Command::Code(args) => code::run(&args, out),
        Command::Readers => backend::list_readers(out),
        Command::Info(args) => token::info(&args, out),
        Command::Burn(args) => token::burn(&args, out),
        Command::SyncClock(args) => token::sync_clock(&args, out),
        Command::Batch(args) => batch::batch(&args, out),
        Command::Export(args) => batch::export(&args, out),
        Command::Qr(args) => qr::run(&args, out),
        Command::Scan(args) => scan::run(&args, out),
        Command::VirtualToken(args) => vtoken::run(&args, out),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            if out.json {
                println!("{}", e.json());
            } else {
                eprintln!("error: {e}");
            }
            e.exit.into()
        }
    }
}
