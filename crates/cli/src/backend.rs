//! Choosing where the token is (the built-in virtual token with `--sim`, or a PC/SC
//! reader) and the provisioner settings every token command shares.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;
use safeid::Provisioner;
use safeid::proto::{MAX_MODEL_TABLE_BYTES, ModelFormat, ModelTable};
use safeid::secret::SecretString;
use safeid::transport::Transport;
use safeid_sim::{SimTransport, SystemClock, TokenSpec, VirtualToken};

use crate::Out;
use crate::error::CliError;

/// Where the token is, and how to talk to it.
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
    /// The reader: its exact name, a unique part of its name, or its number in
    /// `safeid readers` (default: the only reader present).
    #[arg(long, short = 'r', conflicts_with = "sim", help_heading = "Token")]
    pub reader: Option<String>,
    /// Seconds to wait for a token to be placed on the reader.
    #[arg(long, default_value_t = 30, help_heading = "Token")]
    pub wait: u64,
    /// Extra token models (TOML or JSON: prefix, name, manufacturer, restricted, key or
    /// key_env), added to the built-in table; rows with the same prefix replace built-in
    /// ones.
    #[arg(long, value_name = "FILE", help_heading = "Token")]
    pub models: Option<PathBuf>,
    /// Access key: 32 hex digits, @FILE holding them, `-` for standard input, or
    /// env:NAME. Needed only for models whose key is not known; a wrong key is refused once
    /// and never retried.
    #[arg(long, value_name = "HEX|@FILE|-|env:NAME", help_heading = "Token")]
    pub key: Option<String>,
    /// Print every APDU exchanged with the token on standard error (bodies of secure
    /// commands are always redacted).
    #[arg(long, help_heading = "Token")]
    pub trace: bool,
}

/// An open backend.
pub struct Backend {
    /// The transport to talk through.
    pub transport: Box<dyn Transport>,
    /// The virtual token, when `--sim` (to show its display).
    pub virtual_token: Option<Arc<Mutex<VirtualToken>>>,
}

impl Backend {
    /// What the virtual token's display shows now, with `--sim`.
    pub fn display(&self) -> Option<String> {
        self.virtual_token
            .as_ref()
            .and_then(|t| t.lock().ok().and_then(|t| t.display_code()))
    }
}

/// The model table: built-in rows plus the user's file (TOML or JSON by its extension, at
/// most `MAX_MODEL_TABLE_BYTES`, read into a wiped buffer since it may hold keys), with the
/// keys of `key_env` rows taken from the environment.
pub fn model_table(path: Option<&PathBuf>) -> Result<ModelTable, CliError> {
    let mut table = ModelTable::builtin();
    let Some(path) = path else {
        return Ok(table);
    };
    let bad = |e: safeid::proto::ProtoError| {
        CliError::new("bad_model_file", format!("{}: {e}", path.display()))
    };
    let format = ModelFormat::from_path(path).map_err(bad)?;
    let limit = MAX_MODEL_TABLE_BYTES as u64 + 1;
    let text = safeid::sources::read_text_file(path, limit, "model file")?;
    let mut extra = ModelTable::parse(text.expose().as_bytes(), format).map_err(bad)?;
    extra
        .resolve_keys(|name| std::env::var(name).ok().map(SecretString::from))
        .map_err(bad)?;
    table.extend(extra);
    Ok(table)
}

impl BackendArgs {
    /// The provisioner these flags describe.
    pub fn provisioner(&self) -> Result<Provisioner, CliError> {
        let key = self
            .key
            .as_deref()
            .map(safeid::keys::parse_key_arg)
            .transpose()?;
        let trace: Option<safeid::token::Trace> = self
            .trace
            .then(|| Arc::new(|line: &str| eprintln!("apdu {line}")) as safeid::token::Trace);
        Ok(Provisioner::new()
            .with_models(model_table(self.models.as_ref())?)
            .with_key(key)
            .with_trace(trace))
    }

    /// Opens the chosen backend.
    pub fn open(&self, out: Out) -> Result<Backend, CliError> {
        if self.sim {
            let mut spec = TokenSpec::token2(self.sim_serial.clone());
            spec.clock_offset = self.sim_clock_offset;
            let token = Arc::new(Mutex::new(VirtualToken::new(spec, Arc::new(SystemClock))));
            return Ok(Backend {
                transport: Box::new(SimTransport::new(Arc::clone(&token))),
                virtual_token: Some(token),
            });
        }
        self.open_reader(out)
    }

    #[cfg(feature = "pcsc")]
    fn open_reader(&self, out: Out) -> Result<Backend, CliError> {
        use safeid_pcsc::{PcscTransport, WaitPolicy};
        let choice = self
            .reader
            .as_deref()
            .map_or(safeid_pcsc::ReaderChoice::Auto, reader_choice);
        let policy = WaitPolicy {
            timeout: std::time::Duration::from_secs(self.wait),
            on_wait: Some(Box::new(move |msg: &str| out.note(msg))),
        };
        Ok(Backend {
            transport: Box::new(PcscTransport::open(choice, policy)?),
            virtual_token: None,
        })
    }

    #[cfg(not(feature = "pcsc"))]
    fn open_reader(&self, _out: Out) -> Result<Backend, CliError> {
        Err(no_pcsc())
    }
}

/// The error of a build without reader support.
#[cfg(not(feature = "pcsc"))]
pub fn no_pcsc() -> CliError {
    CliError::new(
        "no_pcsc_support",
        "this build has no PC/SC reader support: use --sim for the virtual token, or install \
         with reader support (`cargo install --path crates/cli --features pcsc`, needs \
         libpcsclite-dev and pkg-config)",
    )
}

/// `safeid readers`: the readers pcscd knows, numbered as `--reader` takes them.
#[cfg(feature = "pcsc")]
pub fn list_readers(out: Out) -> crate::error::CliResult {
    let readers = safeid_pcsc::list_readers()?;
    if readers.is_empty() {
        return Err(safeid::transport::TransportError::NoReader.into());
    }
    for (i, name) in readers.iter().enumerate() {
        if out.json {
            println!("{}", serde_json::json!({"index": i, "name": name}));
        } else {
            println!("[{i}] {name}");
        }
    }
    Ok(crate::error::Exit::Success)
}

/// `safeid readers` without PC/SC support.
#[cfg(not(feature = "pcsc"))]
pub fn list_readers(_out: Out) -> crate::error::CliResult {
    Err(no_pcsc())
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
