//! `safeid`: burn TOTP seeds into NFC-programmable hardware tokens (Deepnet SafeID,
//! Token2, ExcelSecu) from a PC/SC reader, or into the built-in virtual token.
//!
//! A thin binary over the `safeid` libraries: argument parsing, backend choice and
//! printing only. Run `safeid --help`, or see docs/cli.md.
#![forbid(unsafe_code)]

#[macro_use]
mod macros;

mod backend;
mod batch;
mod code;
mod docs;
mod enroll;
mod error;
mod output;
mod probe;
mod qr;
mod readers;
mod scan;
mod seed;
mod token;
mod uri;
mod vtoken;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use error::{CliError, CliResult, Exit};

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
    /// List the PC/SC readers, numbered (the numbers are what --reader takes), each with
    /// whether a token is on it and, read-only, its serial and model.
    Readers(readers::ReadersArgs),
    /// Read a token's serial, model and clock (needs no key, changes nothing).
    Info(token::InfoArgs),
    /// A read-only report on a token the tool may not know, for a support request: run
    /// this first on an unknown token.
    Probe(probe::ProbeArgs),
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
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions(docs::CompletionsArgs),
    /// Print the manual page (roff), or write one page per command into a folder.
    Man(docs::ManArgs),
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
            errln!("{text}");
        }
    }

    /// Prints a warning on standard error (also with --json; not with --quiet).
    pub fn warn(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            errln!("warning: {text}");
        }
    }

    /// Prints an error: one JSON object on standard output with --json, else
    /// `error: ...` on standard error.
    pub fn error(&self, e: &CliError) {
        if self.json {
            outln!("{}", e.json());
        } else {
            errln!("error: {e}");
        }
    }
}

/// Parses the command line and runs the command.
fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, wants_json(&args)).into(),
    };
    let out = Out {
        json: cli.json,
        quiet: cli.quiet,
    };
    let result: CliResult = match cli.command {
        Command::Uri(args) => uri::run(&args, out),
        Command::Code(args) => code::run(&args, out),
        Command::Readers(args) => readers::run(&args, out),
        Command::Info(args) => token::info(&args, out),
        Command::Probe(args) => probe::run(&args, out),
        Command::Burn(args) => token::burn(&args, out),
        Command::SyncClock(args) => token::sync_clock(&args, out),
        Command::Batch(args) => batch::batch(&args, out),
        Command::Export(args) => batch::export(&args, out),
        Command::Qr(args) => qr::run(&args, out),
        Command::Scan(args) => scan::run(&args, out),
        Command::VirtualToken(args) => vtoken::run(&args, out),
        Command::Completions(args) => docs::completions(&args, &mut Cli::command()),
        Command::Man(args) => docs::man(&args, Cli::command(), out),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            out.error(&e);
            e.exit.into()
        }
    }
}

/// Whether `--json` is on the command line (before a `--`), for errors of the parser
/// itself.
fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// Reports a command line the parser refused (exit 2), or prints the help or version it
/// was asked for (exit 0). With --json a refusal is one JSON error object.
fn usage_error(e: &clap::Error, json: bool) -> Exit {
    use clap::error::ErrorKind;
    let exit = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Success,
        _ => Exit::Usage,
    };
    if !json || exit == Exit::Success {
        // A closed pipe (`safeid --help | head -1`) is no error.
        let _ = e.print();
        return exit;
    }
    let message = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        "a subcommand is required: `safeid --help` lists them".to_owned()
    } else {
        let text = e.render().to_string();
        let first = text.lines().next().unwrap_or_default();
        first
            .strip_prefix("error: ")
            .unwrap_or(first)
            .trim()
            .to_owned()
    };
    outln!("{}", CliError::usage(message).json());
    exit
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// The command-line guide, checked against the parser below.
    const CLI_MD: &str = include_str!("../../../docs/cli.md");

    #[test]
    fn the_parser_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// The heading level of a Markdown line (0: not a heading), given whether the line
    /// is inside a fenced code block (where `#` starts a shell comment).
    fn heading_level(line: &str, in_code: &mut bool) -> usize {
        if line.trim_start().starts_with("```") {
            *in_code = !*in_code;
            return 0;
        }
        if *in_code {
            return 0;
        }
        let level = line.chars().take_while(|c| *c == '#').count();
        if line[level..].starts_with(' ') {
            level
        } else {
            0
        }
    }

    /// The text of the docs/cli.md section whose heading names `safeid NAME`, down to the
    /// next heading of the same or a higher level.
    fn section(name: &str) -> Option<String> {
        let wanted = format!("`safeid {name}");
        let mut in_code = false;
        let mut lines = CLI_MD.lines();
        let level = loop {
            let line = lines.next()?;
            let level = heading_level(line, &mut in_code);
            let after = line.find(&wanted).map(|i| &line[i + wanted.len()..]);
            // `safeid sync-clock`, not `safeid sync`: the name ends at a space or backquote.
            if level > 0 && after.is_some_and(|rest| rest.starts_with(['`', ' '])) {
                break level;
            }
        };
        let body: Vec<&str> = lines
            .take_while(|l| {
                let l2 = heading_level(l, &mut in_code);
                l2 == 0 || l2 > level
            })
            .collect();
        Some(body.join("\n"))
    }

    /// Every subcommand has a section in docs/cli.md, and every flag and argument of it
    /// (hidden ones aside) is named in that section; the global flags are named in the
    /// guide too. Fails when a subcommand or flag is added without its documentation.
    #[test]
    fn docs_cli_md_documents_every_subcommand_and_flag() {
        let command = Cli::command();
        let mut missing = Vec::new();
        for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long()
                && !["help", "version"].contains(&long)
                && !CLI_MD.contains(&format!("--{long}"))
            {
                missing.push(format!("global flag --{long}"));
            }
        }
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = sub.get_name();
            let Some(text) = section(name) else {
                missing.push(format!("a section whose heading names `safeid {name}`"));
                continue;
            };
            for arg in sub
                .get_arguments()
                .filter(|a| !a.is_hide_set() && !a.is_global_set())
            {
                let needle = match arg.get_long() {
                    Some("help") => continue,
                    Some(long) => format!("--{long}"),
                    None => arg.get_value_names().and_then(|v| v.first()).map_or_else(
                        || arg.get_id().to_string().to_uppercase(),
                        |v| v.to_string(),
                    ),
                };
                if !text.contains(&needle) {
                    missing.push(format!("safeid {name}: {needle}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "docs/cli.md does not document:\n  {}",
            missing.join("\n  ")
        );
    }

    #[test]
    fn the_section_finder_tells_names_apart() {
        assert!(section("no-such-command").is_none());
        // A section ends at the next heading, not at a `#` comment in a code block.
        let burn = section("burn").expect("docs/cli.md has a burn section");
        assert!(burn.contains("--secret-prompt") && !burn.contains("safeid info"));
        let mut in_code = false;
        assert_eq!(heading_level("## `safeid burn`", &mut in_code), 2);
        assert_eq!(heading_level("```sh", &mut in_code), 0);
        assert_eq!(heading_level("# a comment", &mut in_code), 0);
    }
}
