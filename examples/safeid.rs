//! `safeid`: burn TOTP seeds into NFC-programmable hardware tokens (Deepnet SafeID,
//! Token2, ExcelSecu) from a PC/SC reader, or into the built-in virtual token.
//!
//! A thin binary over the `safeid` libraries: argument parsing, backend choice and
//! printing only. Run `safeid --help`, or see docs/cli.md.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
