//! `safeid probe`: a read-only report on whatever token is on the reader, over
//! `safeid::probe`. It sends get info (and, when that is not answered, the SELECT fallback
//! and get info again) and nothing else: no challenge, no authenticate, no write. It holds
//! no secret, so its output can be attached to a support request as it is.

use clap::Args;
use safeid::probe::ProbeReport;
use safeid::proto::ModelTable;
use safeid::report::describe_offset;
use safeid::transport::Transport;
use serde_json::json;

use crate::Out;
use crate::backend::{BackendArgs, model_table};
use crate::error::{CliError, CliResult, Exit};

/// Report what a token says about itself, read-only, for a token the tool may not know
/// (the Deepnet SafeID/Diamond and ExcelSecu prefixes and keys are not public): reader
/// name, ATR, protocol, the info command and reply (raw and decoded), the model the serial
/// suggests and why, and what the tool would need to burn it.
///
/// Sends get info only (and the SELECT fallback when a token asks for it): no challenge,
/// no authenticate, no write, so it needs no key and changes nothing. Nothing in the
/// report is secret: attach it to a support request as it is. Run this first on a token
/// of unknown model.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    backend: BackendArgs,
}

/// The probe's report (the library fills in the ATR the transport knows). Read-only.
pub fn report(
    transport: &mut dyn Transport,
    models: &ModelTable,
    host_time: u64,
) -> Result<ProbeReport, CliError> {
    Ok(safeid::probe::probe(transport, models, host_time)?)
}

pub fn run(args: &ProbeArgs, out: Out) -> CliResult {
    let provisioner =
        safeid::Provisioner::new().with_models(model_table(args.backend.models.as_ref())?);
    let mut backend = args.backend.open(out)?;
    let protocol = protocol(&backend);
    let report = report(
        backend.transport.as_mut(),
        provisioner.models(),
        provisioner.now(),
    )?;
    if out.json {
        let mut v = json!(report);
        v["protocol"] = json!(protocol);
        outln!("{v}");
    } else {
        out!("{}", text(&report, protocol.as_deref()));
        out.note(
            "No secure command was sent and nothing secret is shown: this report can be attached to a support request as it is.",
        );
    }
    Ok(if report.problem.is_some() {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// The transmission protocol, when the reader tells (the virtual token has none).
#[cfg(feature = "pcsc")]
fn protocol(backend: &crate::backend::Backend) -> Option<String> {
    if backend.virtual_token.is_some() {
        return None;
    }
    let reader = safeid_pcsc::ReaderChoice::Name(backend.transport.name());
    safeid_pcsc::card_protocol(&reader)
        .ok()
        .flatten()
        .map(str::to_owned)
}

#[cfg(not(feature = "pcsc"))]
fn protocol(_backend: &crate::backend::Backend) -> Option<String> {
    None
}

/// The report for people.
fn text(r: &ProbeReport, protocol: Option<&str>) -> String {
    let mut s = String::new();
    let mut line = |label: &str, value: &str| s.push_str(&format!("{label:<12} {value}\n"));
    line("reader", &r.reader);
    line("ATR", r.atr.as_deref().unwrap_or("(not known)"));
    line("protocol", protocol.unwrap_or("(not known)"));
    for e in &r.exchanges {
        line(e.command, &format!("> {}", e.sent));
        line("", &format!("< {}", e.reply));
    }
    if let Some(serial) = &r.serial {
        line("serial", serial);
    }
    if let (Some(time), Some(date)) = (r.token_time, &r.token_date) {
        let drift = i64::from(time) - i64::try_from(r.host_time).unwrap_or(i64::MAX);
        line(
            "token clock",
            &format!("{date} ({} the host's)", describe_offset(drift)),
        );
    }
    line(
        "model",
        r.model
            .as_deref()
            .unwrap_or("unknown (no prefix of the model table fits)"),
    );
    line("why", &r.model_reason);
    if r.needs.is_empty() {
        line(
            "to burn it",
            "nothing more: the model and its access key are known",
        );
    }
    for (i, need) in r.needs.iter().enumerate() {
        line(if i == 0 { "to burn it" } else { "" }, &format!("- {need}"));
    }
    if let Some(problem) = &r.problem {
        line("problem", problem);
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    /// Every command the mock received, as plain bytes for comparison.
    fn sent(mock: safeid::transport::mock::ScriptedTransport) -> Vec<Vec<u8>> {
        mock.finish().into_iter().map(|c| c.to_vec()).collect()
    }

    use std::sync::{Arc, Mutex};

    use safeid::transport::hex;
    use safeid::transport::mock::{Exchange, ScriptedTransport};
    use safeid_sim::{SystemClock, TokenSpec, VirtualToken};

    use super::*;

    /// Get info, as docs/protocol.md section 3 writes it.
    const GET_INFO: [u8; 7] = [0x80, 0x41, 0x00, 0x00, 0x02, 0x02, 0x11];
    /// The SELECT fallback of section 1.
    const SELECT: [u8; 11] = [
        0x00, 0xA4, 0x04, 0x00, 0x06, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x23,
    ];

    /// The virtual token's answer to get info (an independent implementation of the
    /// token side).
    fn info_reply(serial: &str) -> Vec<u8> {
        let token = Arc::new(Mutex::new(VirtualToken::new(
            TokenSpec::token2(serial),
            Arc::new(SystemClock),
        )));
        let reply = token.lock().unwrap().process(&GET_INFO);
        assert!(reply.ends_with(&[0x90, 0x00]), "{}", hex(&reply));
        reply
    }

    #[test]
    fn a_known_token_gets_get_info_and_nothing_else() {
        let mut mock = ScriptedTransport::new(vec![Exchange::ok(
            &GET_INFO[..],
            info_reply("8659622000001").as_slice(),
        )]);
        let r = report(&mut mock, &ModelTable::builtin(), safeid::totp::now()).unwrap();
        assert_eq!(sent(mock), vec![GET_INFO.to_vec()]);
        assert_eq!(r.serial.as_deref(), Some("8659622000001"));
        assert_eq!(r.model.as_deref(), Some("Token2 OTPC-P2-i"));
        assert!(r.needs.is_empty(), "{:?}", r.needs);
        assert!(r.problem.is_none());
        let shown = text(&r, Some("T=1"));
        assert!(
            shown.contains("get info     > 80 41 00 00 02 02 11"),
            "{shown}"
        );
        assert!(shown.contains("protocol     T=1"), "{shown}");
    }

    #[test]
    fn a_token_that_wants_select_gets_select_then_get_info() {
        let mut mock = ScriptedTransport::new(vec![
            Exchange::ok(&GET_INFO[..], &[0x6D, 0x00][..]),
            Exchange::ok(&SELECT[..], &[0x90, 0x00][..]),
            Exchange::ok(&GET_INFO[..], info_reply("ZZ12345678").as_slice()),
        ]);
        let r = report(&mut mock, &ModelTable::builtin(), safeid::totp::now()).unwrap();
        assert_eq!(
            sent(mock),
            vec![GET_INFO.to_vec(), SELECT.to_vec(), GET_INFO.to_vec()]
        );
        assert_eq!(r.serial.as_deref(), Some("ZZ12345678"));
        assert_eq!(r.model, None);
        assert!(
            r.needs.iter().any(|n| n.contains("access key")),
            "{:?}",
            r.needs
        );
        assert_eq!(r.exchanges.len(), 3);
        assert_eq!(r.exchanges[0].reply, "6D 00");
    }

    #[test]
    fn a_card_of_another_kind_is_a_problem_not_a_crash() {
        let mut mock = ScriptedTransport::new(vec![Exchange::ok(&GET_INFO[..], &[0x6A, 0x82][..])]);
        let r = report(&mut mock, &ModelTable::builtin(), safeid::totp::now()).unwrap();
        assert_eq!(sent(mock), vec![GET_INFO.to_vec()]);
        assert!(r.problem.is_some());
        assert!(text(&r, None).contains("problem"));
    }
}
