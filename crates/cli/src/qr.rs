//! QR codes: `safeid qr` (generate) and the renderer used by exports.

use std::path::PathBuf;

use clap::Args;

use crate::Out;
use crate::error::{CliError, CliResult, Exit};
use crate::seed::secret_value;

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
    /// The text to encode (normally an otpauth:// URI, which holds the secret): the text
    /// itself, or @FILE, `-` (standard input) or env:NAME to keep it out of the process
    /// list.
    #[arg(value_name = "TEXT|@FILE|-|env:NAME")]
    text: String,
    /// Write a PNG here (mode 0600) instead of drawing in the terminal.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Terminal with dark text on a light background.
    #[arg(long)]
    light: bool,
}

pub fn run(args: &QrArgs, out: Out) -> CliResult {
    let text = secret_value(&args.text)?;
    let text = text.expose();
    match &args.output {
        Some(path) => {
            safeid::export::write_atomic(path, &render_png(text)?)
                .map_err(|e| crate::error::io_error(path, e))?;
            if out.json {
                outln!("{}", serde_json::json!({"written": path}));
            } else {
                out.note(format!(
                    "wrote {} (mode 0600: it holds the secret)",
                    path.display()
                ));
            }
        }
        None if out.json => {
            return Err(CliError::usage(
                "--json needs --output FILE: a terminal drawing is not JSON",
            ));
        }
        None if args.light => out!(
            "{}",
            safeid::qr::generate::terminal_for_light_background(text)?
        ),
        None => out!("{}", safeid::qr::generate::terminal(text)?),
    }
    Ok(Exit::Success)
}
