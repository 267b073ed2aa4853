//! `safeid completions SHELL` and `safeid man`: generated from the clap definition that
//! `--help` prints, so they always list the same commands and flags.

use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use crate::Out;
use crate::error::{CliError, CliResult, Exit, io_error};

/// Print a shell completion script on standard output.
///
/// For example: `safeid completions bash > ~/.local/share/bash-completion/completions/safeid`,
/// `safeid completions zsh > ~/.zfunc/_safeid` (with `fpath+=~/.zfunc` before `compinit`),
/// `safeid completions fish > ~/.config/fish/completions/safeid.fish`, or in PowerShell
/// `safeid completions powershell | Out-String | Invoke-Expression`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish or powershell (elvish works too).
    #[arg(value_enum, ignore_case = true)]
    shell: Shell,
}

/// Print the manual page safeid(1) as roff on standard output, or with --dir write one
/// page per command (safeid.1, safeid-burn.1, ...) into a folder.
///
/// For example: `safeid man | man -l -`, or
/// `safeid man --dir /usr/local/share/man/man1`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write safeid.1 and one safeid-COMMAND.1 page per command into this folder
    /// (created if missing) instead of printing safeid.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Writes the completion script.
pub fn completions(args: &CompletionsArgs, command: &mut clap::Command) -> CliResult {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, command, "safeid", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(Exit::Success)
}

/// Writes the manual page(s).
pub fn man(args: &ManArgs, command: clap::Command, out: Out) -> CliResult {
    let Some(dir) = &args.dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|e| CliError::new("io", format!("rendering the manual page: {e}")))?;
        out!("{}", String::from_utf8_lossy(&page));
        return Ok(Exit::Success);
    };
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    clap_mangen::generate_to(command.clone(), dir).map_err(|e| io_error(dir, e))?;
    let mut pages = vec![dir.join("safeid.1")];
    pages.extend(
        command
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| dir.join(format!("safeid-{}.1", c.get_name()))),
    );
    for page in pages.iter().filter(|p| p.exists()) {
        if out.json {
            outln!("{}", serde_json::json!({ "written": page }));
        } else {
            outln!("{}", page.display());
        }
    }
    Ok(Exit::Success)
}
