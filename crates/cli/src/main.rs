//! `safeid`: burn TOTP seeds into NFC-programmable hardware tokens (Deepnet SafeID,
//! Token2, ExcelSecu) from a PC/SC reader, or into the built-in virtual token.
//!
//! A thin binary over the `safeid` libraries: argument parsing, backend choice and
//! printing only. Run `safeid --help`, or see docs/cli.md.
#![forbid(unsafe_code)]

mod backend;
mod batch;
mod code;
mod output;
mod qr;
mod scan;
mod token;
mod uri;
mod vtoken;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
#[command(name = "safeid", version, about, long_about, max_term_width = 100)]
struct Cli {
    /// Print every APDU exchanged with the token on stderr (bodies of secure commands are
    /// always redacted).
    #[arg(long, global = true)]
    trace: bool,

    #[command(subcommand)]
    command: Command,
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

/// Parses the command line and runs the command.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let trace = cli.trace;
    let result = match cli.command {
        Command::Uri(args) => uri::run(&args),
        Command::Code(args) => code::run(&args),
        Command::Readers => backend::list_readers(),
        Command::Info(args) => token::info(&args, trace),
        Command::Burn(args) => token::burn(&args, trace),
        Command::SyncClock(args) => token::sync_clock(&args, trace),
        Command::Batch(args) => batch::batch(&args),
        Command::Export(args) => batch::export(&args),
        Command::Qr(args) => qr::run(&args),
        Command::Scan(args) => scan::run(&args),
        Command::VirtualToken(args) => vtoken::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Errors of the binary: any library error, printed with its own message.
pub type CliResult = Result<ExitCode, Box<dyn std::error::Error>>;
