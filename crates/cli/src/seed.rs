//! Where a single token's seed comes from: the command-line side of `safeid::sources`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use safeid::proto::ModelTable;
use safeid::secret::SecretString;
use safeid::sources::{self, Secret, SecretEncoding, SeedInput};

use crate::Out;
use crate::error::CliError;

/// The largest image read from standard input (`--qr -`).
const MAX_STDIN_IMAGE_BYTES: u64 = 64 << 20;

/// A secret's text encoding.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "lower")]
pub enum EncodingArg {
    /// RFC 4648 base32 (A-Z, 2-7).
    Base32,
    /// Hexadecimal.
    Hex,
}

impl From<EncodingArg> for SecretEncoding {
    fn from(e: EncodingArg) -> Self {
        match e {
            EncodingArg::Base32 => SecretEncoding::Base32,
            EncodingArg::Hex => SecretEncoding::Hex,
        }
    }
}

/// Where the seed comes from (exactly one). Every value that holds a secret may also be
/// given as @FILE (read from a file), `-` (standard input) or env:NAME (an environment
/// variable), which other users cannot see in the process list.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SeedArgs {
    /// An otpauth:// URI (or an otpauth-migration:// export; pick with --account).
    #[arg(long, value_name = "URI|@FILE|-|env:NAME", help_heading = "Seed")]
    pub uri: Option<String>,
    /// The secret as base32 (spaces, padding and lower case tolerated).
    #[arg(long, value_name = "BASE32|@FILE|-|env:NAME", help_heading = "Seed")]
    pub secret_base32: Option<String>,
    /// The secret as hex (either letter case).
    #[arg(long, value_name = "HEX|@FILE|-|env:NAME", help_heading = "Seed")]
    pub secret_hex: Option<String>,
    /// An image file holding the service's QR code (PNG, JPEG, BMP, GIF, WebP, TIFF);
    /// `-` reads the image from standard input.
    #[arg(long, value_name = "FILE", help_heading = "Seed")]
    pub qr: Option<PathBuf>,
    /// Take the QR code from the screens (every monitor).
    #[arg(long, help_heading = "Seed")]
    pub screen: bool,
    /// Type the secret (base32 or hex, detected; or prefixed `base32:` / `hex:`) at a
    /// prompt that does not echo it. Without a terminal, one line is read from stdin.
    #[arg(long, help_heading = "Seed")]
    pub secret_prompt: bool,
}

/// Reads the chosen source and picks one secret (`account` for several).
pub fn read(
    args: &SeedArgs,
    account: Option<&str>,
    models: &ModelTable,
    out: Out,
) -> Result<Secret, CliError> {
    let input = if let Some(uri) = &args.uri {
        SeedInput::Uri(secret_value(uri)?)
    } else if let Some(b32) = &args.secret_base32 {
        SeedInput::Text {
            text: secret_value(b32)?,
            encoding: Some(SecretEncoding::Base32),
        }
    } else if let Some(hex) = &args.secret_hex {
        SeedInput::Text {
            text: secret_value(hex)?,
            encoding: Some(SecretEncoding::Hex),
        }
    } else if let Some(path) = &args.qr {
        qr_input(path)?
    } else if args.screen {
        SeedInput::Screen
    } else if args.secret_prompt {
        prompt()?
    } else {
        return Err(CliError::usage(
            "give the seed: --uri, --qr FILE, --screen, --secret-base32, --secret-hex or --secret-prompt",
        ));
    };
    let found = sources::read(input, models).map_err(|e| {
        let choose_encoding = e.hint() == Some(safeid::Hint::ChooseEncoding);
        let mut err = CliError::from(e);
        if choose_encoding {
            // `burn` has no --encoding: the text itself, or the flag, says which.
            err.hint = Some(
                "type it with a base32: or hex: prefix, or give it with --secret-base32 or --secret-hex"
                    .into(),
            );
        }
        err
    })?;
    let secret = found.pick(account)?;
    if let sources::Origin::Text(encoding) = secret.origin
        && args.secret_prompt
    {
        out.note(format!(
            "secret read as {} ({} bytes)",
            encoding.name(),
            secret.credential.secret.len()
        ));
    }
    Ok(secret)
}

/// Refuses a command line that reads standard input for two things (the second would
/// find it empty). Each entry is a flag and its value; `-` is standard input.
pub fn one_stdin(values: &[(&str, Option<&str>)]) -> Result<(), CliError> {
    let readers: Vec<&str> = values
        .iter()
        .filter(|(_, v)| *v == Some("-"))
        .map(|(flag, _)| *flag)
        .collect();
    if readers.len() > 1 {
        return Err(CliError::usage(format!(
            "{} all read standard input, which can be read only once: give all but one as @FILE or env:NAME",
            readers.join(" and ")
        )));
    }
    Ok(())
}

/// A secret value: the text itself, @FILE, `-` or env:NAME.
pub fn secret_value(arg: &str) -> Result<SecretString, CliError> {
    Ok(safeid::keys::read_secret_arg(arg)?.0)
}

/// `--qr FILE`: a file, or with `-` the image on standard input.
pub fn qr_input(path: &std::path::Path) -> Result<SeedInput, CliError> {
    if path.as_os_str() != "-" {
        return Ok(SeedInput::QrFile(path.to_path_buf()));
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_STDIN_IMAGE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new("io", format!("reading the image from standard input: {e}")))?;
    if bytes.len() as u64 > MAX_STDIN_IMAGE_BYTES {
        return Err(CliError::new(
            "too_large",
            format!("the image on standard input is larger than {MAX_STDIN_IMAGE_BYTES} bytes"),
        ));
    }
    Ok(SeedInput::QrImage {
        name: "standard input".into(),
        bytes,
    })
}

/// Reads a secret without echo (or a line from a non-terminal stdin).
fn prompt() -> Result<SeedInput, CliError> {
    let io = |e: std::io::Error| {
        CliError::new(
            "io",
            format!("reading the secret from the terminal or standard input: {e}"),
        )
    };
    let text = if std::io::stdin().is_terminal() {
        SecretString::new(
            rpassword::prompt_password("Secret (base32 or hex; not shown): ").map_err(io)?,
        )
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take(safeid::sources::MAX_SECRET_TEXT_BYTES)
            .read_to_string(&mut line)
            .map_err(io)?;
        SecretString::new(line.lines().next().unwrap_or("").to_owned())
    };
    Ok(SeedInput::Text {
        text,
        encoding: None,
    })
}
