//! Choosing where the token is: the built-in virtual token (`--sim`) or a PC/SC reader.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use clap::Args;
use safeid::proto::{MAX_MODEL_TABLE_BYTES, ModelFormat, ModelTable};
use safeid::secret::SecretString;
use safeid::sim::{SimTransport, SystemClock, TokenSpec, VirtualToken};
use safeid::transport::Transport;

/// Reads a `--models` file: the format by its extension, at most
/// [`MAX_MODEL_TABLE_BYTES`] (+1, so that the parser reports the size), and the keys of
/// `key_env` rows from the process environment.
pub fn load_model_file(path: &Path) -> Result<ModelTable, Box<dyn std::error::Error>> {
    let format = ModelFormat::from_path(path)?;
    let cannot_read =
        |e: std::io::Error| format!("cannot read model table {}: {e}", path.display());
    let limit = MAX_MODEL_TABLE_BYTES + 1;
    // The file may hold access keys: one buffer of the largest size read (so that no
    // reallocation leaves a copy behind), wiped after parsing.
    let mut bytes = Vec::with_capacity(limit);
    let read =
        std::fs::File::open(path).and_then(|file| file.take(limit as u64).read_to_end(&mut bytes));
    let parsed: Result<ModelTable, Box<dyn std::error::Error>> = match read {
        Ok(_) => ModelTable::parse(&bytes, format).map_err(Into::into),
        Err(e) => Err(cannot_read(e).into()),
    };
    safeid::secret::wipe(&mut bytes);
    let mut table = parsed?;
    table.resolve_keys(|name| std::env::var(name).ok().map(SecretString::from))?;
    Ok(table)
}

/// Where the token is.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Use the built-in virtual token instead of a reader (no hardware needed).
    #[arg(long, help_heading = "Token")]
    pub sim: bool,
    /// Serial of the virtual token; its prefix picks the model (default: a Token2
    /// OTPC-P2-i, a restricted model).
    #[arg(
        long,
        default_value = "8659622000001",
        requires = "sim",
        help_heading = "Token"
    )]
    pub sim_serial: String,
    /// How far the virtual token's clock is off the host's, in seconds.
    #[arg(
        long,
        default_value_t = 0,
        requires = "sim",
        allow_negative_numbers = true,
        help_heading = "Token"
    )]
    pub sim_clock_offset: i64,
    /// The reader: its exact name, a unique part of its name, or its index in
    /// `safeid readers` (default: the only reader present).
    #[arg(long, short = 'r', conflicts_with = "sim", help_heading = "Token")]
    pub reader: Option<String>,
    /// Seconds to wait for a token to be placed on the reader.
    #[arg(long, default_value_t = 30, help_heading = "Token")]
    pub wait: u64,
    /// Extra token models (TOML or JSON: prefix, name, manufacturer, restricted, key),
    /// added to the built-in table; rows with the same prefix replace built-in ones.
    #[arg(long, value_name = "FILE", help_heading = "Token")]
    pub models: Option<PathBuf>,
}

/// An open backend.
pub struct Backend {
    /// The transport to talk through.
    pub transport: Box<dyn Transport>,
    /// The virtual token, when `--sim` (to show its display).
    pub virtual_token: Option<Arc<Mutex<VirtualToken>>>,
}

impl BackendArgs {
    /// The model table: built-in rows plus `--models`.
    pub fn model_table(&self) -> Result<ModelTable, Box<dyn std::error::Error>> {
        let mut table = ModelTable::builtin();
        if let Some(path) = &self.models {
            table.extend(load_model_file(path)?);
        }
        Ok(table)
    }

    /// Opens the chosen backend.
    pub fn open(&self) -> Result<Backend, Box<dyn std::error::Error>> {
        if self.sim {
            let mut spec = TokenSpec::token2(self.sim_serial.clone());
            spec.clock_offset = self.sim_clock_offset;
            let token = Arc::new(Mutex::new(VirtualToken::new(spec, Arc::new(SystemClock))));
            return Ok(Backend {
                transport: Box::new(SimTransport::new(Arc::clone(&token))),
                virtual_token: Some(token),
            });
        }
        self.open_reader()
    }

    #[cfg(feature = "pcsc")]
    fn open_reader(&self) -> Result<Backend, Box<dyn std::error::Error>> {
        use safeid_pcsc::{PcscTransport, ReaderChoice, WaitPolicy};
        let choice = self
            .reader
            .as_deref()
            .map_or(ReaderChoice::Auto, reader_choice);
        let policy = WaitPolicy {
            timeout: std::time::Duration::from_secs(self.wait),
            on_wait: Some(Box::new(|msg: &str| eprintln!("{msg}"))),
        };
        Ok(Backend {
            transport: Box::new(PcscTransport::open(choice, policy)?),
            virtual_token: None,
        })
    }

    #[cfg(not(feature = "pcsc"))]
    fn open_reader(&self) -> Result<Backend, Box<dyn std::error::Error>> {
        Err(
            "this build has no PC/SC reader support: use --sim for the virtual token, or \
             rebuild with `--features pcsc` (needs libpcsclite-dev and pkg-config)"
                .into(),
        )
    }
}

/// `safeid readers`: the readers pcscd knows, numbered as `--reader` takes them.
#[cfg(feature = "pcsc")]
pub fn list_readers() -> super::CliResult {
    let readers = safeid_pcsc::list_readers()?;
    if readers.is_empty() {
        return Err(safeid::transport::TransportError::NoReader.into());
    }
    for (i, name) in readers.iter().enumerate() {
        println!("[{i}] {name}");
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// `safeid readers` without PC/SC support.
#[cfg(not(feature = "pcsc"))]
pub fn list_readers() -> super::CliResult {
    Err(
        "this build has no PC/SC reader support: rebuild with `--features pcsc` \
         (needs libpcsclite-dev and pkg-config)"
            .into(),
    )
}

/// `--reader` text: a number is an index (so `0` never matches every name containing a
/// zero), anything else an exact name or a unique part of one.
#[cfg(feature = "pcsc")]
pub fn reader_choice(text: &str) -> safeid_pcsc::ReaderChoice {
    use safeid_pcsc::ReaderChoice;
    match text.parse::<usize>() {
        Ok(i) => ReaderChoice::Index(i),
        Err(_) => ReaderChoice::Name(text.to_owned()),
    }
}
