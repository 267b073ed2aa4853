//! QR codes: `safeid qr` (generate) and the renderer used by exports.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::CliResult;

/// Pixels per QR module in generated PNG files.
const MODULE_PX: u32 = 8;

/// Renders `text` as a PNG (the QR export's renderer).
pub fn render_png(text: &str) -> Result<Vec<u8>, safeid::qr::QrError> {
    safeid::qr::generate::png(text, MODULE_PX)
}

/// Show an otpauth URI as a QR code in the terminal, or write it as a PNG file, e.g. to
/// enrol the same secret in a phone app as well.
#[derive(Debug, Args)]
pub struct QrArgs {
    /// The text to encode (normally an otpauth:// URI; it holds the secret).
    text: String,
    /// Write a PNG here (mode 0600) instead of drawing in the terminal.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Terminal with dark text on a light background.
    #[arg(long)]
    light: bool,
}

pub fn run(args: &QrArgs) -> CliResult {
    match &args.output {
        Some(path) => {
            safeid::export::write_atomic(path, &render_png(&args.text)?)?;
            eprintln!("wrote {} (mode 0600: it holds the secret)", path.display());
        }
        None if args.light => print!(
            "{}",
            safeid::qr::generate::terminal_for_light_background(&args.text)?
        ),
        None => print!("{}", safeid::qr::generate::terminal(&args.text)?),
    }
    Ok(ExitCode::SUCCESS)
}
