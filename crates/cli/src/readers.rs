//! `safeid readers`: every PC/SC reader, numbered as `--reader` takes them, with whether a
//! token is on it and, read-only (get info only), its serial and model.

use std::path::PathBuf;

use clap::Args;

use crate::Out;
use crate::error::CliResult;

/// List the readers, and what is on each.
#[derive(Debug, Args)]
pub struct ReadersArgs {
    /// Extra token models (see `safeid burn --help`), to name the tokens found.
    #[arg(long, value_name = "FILE")]
    models: Option<PathBuf>,
}

/// `safeid readers`.
#[cfg(feature = "pcsc")]
pub fn run(args: &ReadersArgs, out: Out) -> CliResult {
    use safeid::transport::TransportError;
    use safeid_pcsc::CardPresence;
    use serde_json::json;

    let provisioner =
        safeid::Provisioner::new().with_models(crate::backend::model_table(args.models.as_ref())?);
    let readers = safeid_pcsc::reader_status()?;
    if readers.is_empty() {
        return Err(TransportError::NoReader.into());
    }
    for (index, reader) in readers.iter().enumerate() {
        let token =
            (reader.card == CardPresence::Present).then(|| read(&provisioner, &reader.name));
        if out.json {
            let mut v = json!({
                "index": index,
                "name": reader.name,
                "card": presence_name(reader.card),
                "atr": reader.atr.as_deref().map(safeid::transport::hex),
            });
            match &token {
                Some(Ok(status)) => {
                    v["token"] = json!(status);
                    v["token"]["model_name"] = json!(status.model_name());
                }
                Some(Err(e)) => v["error"] = e.json()["error"].clone(),
                None => {}
            }
            outln!("{v}");
            continue;
        }
        let what = match (&token, reader.card) {
            (Some(Ok(status)), _) => format!(
                "token {}, {}",
                status.serial,
                status.model_name().unwrap_or_else(
                    || "unknown model (`safeid probe` reports what it says)".into()
                )
            ),
            (Some(Err(e)), _) => format!("a card that could not be read: {}", e.message),
            (None, CardPresence::Empty) => "no token".into(),
            (None, CardPresence::Mute) => {
                "a card that does not answer (is the token switched on?)".into()
            }
            (None, CardPresence::Exclusive) => "a card another program holds exclusively".into(),
            (None, _) => "the reader cannot be used (unplugged, or its driver failed)".into(),
        };
        outln!("[{index}] {}: {what}", reader.name);
    }
    Ok(crate::error::Exit::Success)
}

/// Reads serial, model and clock of the token on `reader` without waiting: get info only.
#[cfg(feature = "pcsc")]
fn read(
    provisioner: &safeid::Provisioner,
    reader: &str,
) -> Result<safeid::TokenStatus, crate::error::CliError> {
    use safeid_pcsc::{PcscTransport, ReaderChoice, WaitPolicy};
    let mut transport =
        PcscTransport::open(ReaderChoice::Name(reader.to_owned()), WaitPolicy::no_wait())?;
    Ok(provisioner.read(&mut transport)?)
}

/// The JSON name of a reader's card state.
#[cfg(feature = "pcsc")]
fn presence_name(card: safeid_pcsc::CardPresence) -> &'static str {
    use safeid_pcsc::CardPresence;
    match card {
        CardPresence::Empty => "empty",
        CardPresence::Present => "present",
        CardPresence::Mute => "mute",
        CardPresence::Exclusive => "exclusive",
        _ => "unavailable",
    }
}

/// `safeid readers` without PC/SC support.
#[cfg(not(feature = "pcsc"))]
pub fn run(_args: &ReadersArgs, _out: Out) -> CliResult {
    Err(crate::backend::no_pcsc())
}
