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
    #[arg(
        long,
        default_value_t = 30,
        conflicts_with = "sim",
        help_heading = "Token"
    )]
    pub wait: u64,
    /// Extra token models (TOML or JSON: prefix, name, manufacturer, restricted, key or
    /// key_env), added to the built-in table; rows with the same prefix replace built-in
    /// ones. `-` reads it from standard input.
    #[arg(long, value_name = "FILE", help_heading = "Token")]
    pub models: Option<PathBuf>,
}

/// The access key, for commands that authenticate.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Access key: 32 hex digits, @FILE holding them, `-` for standard input, or
    /// env:NAME. Needed only for models whose key is not known; a wrong key is refused once
    /// and never retried.
    #[arg(long, value_name = "HEX|@FILE|-|env:NAME", help_heading = "Token")]
    pub key: Option<String>,
}

/// `--trace`, for commands that talk to a token.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Print every APDU exchanged with the token on standard error (bodies of secure
    /// commands are always redacted).
    #[arg(long, help_heading = "Token")]
    pub trace: bool,
}

impl TraceArgs {
    /// The trace callback, when asked for.
    pub fn trace(&self) -> Option<safeid::token::Trace> {
        self.trace
            .then(|| Arc::new(|line: &str| errln!("apdu {line}")) as safeid::token::Trace)
    }
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

/// The model table: built-in rows plus the user's file (`-`: standard input), read with
/// the protocol crate's cap into a wiped buffer since it may hold keys: JSON when the name
/// ends in .json or the text starts with `{` or `[` (not TOML's `[[`), else TOML; the keys
/// of `key_env` rows are taken from the environment.
pub fn model_table(path: Option<&PathBuf>) -> Result<ModelTable, CliError> {
    let mut table = ModelTable::builtin();
    let Some(path) = path else {
        return Ok(table);
    };
    let bad = |e: safeid::proto::ProtoError| {
        CliError::new("bad_model_file", format!("{}: {e}", path.display()))
    };
    let limit = MAX_MODEL_TABLE_BYTES as u64 + 1;
    let text = safeid::sources::read_text_file(path, limit, "model file")?;
    let start = text.expose().trim_start();
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || start.starts_with('{')
        || (start.starts_with('[') && !start.starts_with("[["));
    let format = if is_json {
        ModelFormat::Json
    } else {
        ModelFormat::Toml
    };
    let mut extra = ModelTable::parse(text.expose().as_bytes(), format).map_err(bad)?;
    extra
        .resolve_keys(|name| std::env::var(name).ok().map(SecretString::from))
        .map_err(bad)?;
    table.extend(extra);
    Ok(table)
}

/// Builds the provisioner for a token command.
pub fn provisioner(
    backend: &BackendArgs,
    key: Option<&KeyArgs>,
    trace: Option<&TraceArgs>,
) -> Result<Provisioner, CliError> {
    let key = key
        .and_then(|k| k.key.as_deref())
        .map(safeid::keys::parse_key_arg)
        .transpose()?;
    Ok(Provisioner::new()
        .with_models(model_table(backend.models.as_ref())?)
        .with_key(key)
        .with_trace(trace.and_then(TraceArgs::trace)))
}

impl BackendArgs {
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
        let transport = PcscTransport::open(choice, policy)
            .map_err(|e| reader_error(e, self.reader.as_deref()))?;
        Ok(Backend {
            transport: Box::new(transport),
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
         with reader support (`cargo install --locked --path crates/cli --features pcsc`, \
         needs libpcsclite-dev and pkg-config)",
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

/// A reader error for `--reader wanted`: "several readers" says which readers matched
/// what was typed (a part of a name: the readers whose names contain it, in any letter
/// case, as `safeid_pcsc::select_reader` matches them).
#[cfg(feature = "pcsc")]
pub fn reader_error(e: safeid::transport::TransportError, wanted: Option<&str>) -> CliError {
    use safeid::transport::TransportError;
    let (TransportError::AmbiguousReader { .. }, Some(wanted)) = (&e, wanted) else {
        return e.into();
    };
    let needle = wanted.to_lowercase();
    let matching: Vec<String> = safeid_pcsc::list_readers()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, name)| name.to_lowercase().contains(&needle))
        .map(|(i, name)| format!("[{i}] {name}"))
        .collect();
    if matching.len() < 2 {
        return e.into();
    }
    CliError::new(
        safeid::error::transport_kind(&e),
        format!(
            "--reader \"{wanted}\" matches {}: {}",
            crate::output::plural(matching.len(), "reader", "readers"),
            matching.join(", ")
        ),
    )
    .with_hint(Some(safeid::Hint::ChooseReader))
}
