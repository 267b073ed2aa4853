//! A read-only report on whatever token is on a transport, for tokens the tool does not
//! know (the Deepnet SafeID/Diamond and ExcelSecu prefixes and keys are not public): what
//! the reader and the token say, which model the serial suggests and why, and what the tool
//! would need to burn it.
//!
//! A probe sends only "get info" (and, if that is not answered, the SELECT fallback then
//! "get info" again): no challenge, no authenticate, no write. It holds no secret, so its
//! report can be attached to a support request as it is.

use safeid_proto::{self as proto, ModelTable, StatusWord};
use safeid_transport::{Resend, Transport};
use serde::Serialize;

use crate::error::SessionError;
use crate::report::{describe_offset, utc_date};

/// What a probe found.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// The transport's name (the reader).
    pub reader: String,
    /// The card's answer to reset, hex, when the transport knows it.
    pub atr: Option<String>,
    /// Every command sent and its reply, hex (none of them secret).
    pub exchanges: Vec<ProbeExchange>,
    /// The decoded info, when the reply parsed.
    pub serial: Option<String>,
    /// The token's clock, Unix seconds.
    pub token_time: Option<u32>,
    /// The token's clock as a date.
    pub token_date: Option<String>,
    /// The host's clock when read.
    pub host_time: u64,
    /// The model the serial's prefix names, if any.
    pub model: Option<String>,
    /// Why that model (or none) was chosen.
    pub model_reason: String,
    /// What the tool needs to burn this token, in plain words; empty when nothing.
    pub needs: Vec<String>,
    /// What went wrong, when the token did not answer as this family does.
    pub problem: Option<String>,
}

/// One command and reply of a probe.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeExchange {
    /// The command's name.
    pub command: &'static str,
    /// The command, hex.
    pub sent: String,
    /// The reply, hex (data and status word), or the error.
    pub reply: String,
}

/// Probes the token on `transport`: read-only, see the module documentation.
pub fn probe(
    transport: &mut dyn Transport,
    models: &ModelTable,
    host_time: u64,
) -> Result<ProbeReport, SessionError> {
    let mut report = ProbeReport {
        reader: transport.name(),
        atr: transport.atr().as_deref().map(safeid_transport::hex),
        exchanges: Vec::new(),
        serial: None,
        token_time: None,
        token_date: None,
        host_time,
        model: None,
        model_reason: String::new(),
        needs: Vec::new(),
        problem: None,
    };
    let mut tx = transport.begin()?;
    let mut send = |command: proto::Command, report: &mut ProbeReport| {
        // get info and SELECT change nothing: re-sending them with another Le is harmless.
        let reply = safeid_transport::transmit(tx.as_mut(), command.as_bytes(), Resend::Allowed);
        report.exchanges.push(ProbeExchange {
            command: command.name(),
            sent: safeid_transport::hex(command.as_bytes()),
            reply: match &reply {
                Ok(r) => safeid_transport::hex(&r.clone().into_bytes()),
                Err(e) => format!("error: {e}"),
            },
        });
        reply.map(|r| r.into_bytes())
    };
    let mut info = proto::parse_info(&send(proto::get_info(), &mut report)?);
    if let Err(proto::ProtoError::Status {
        sw: StatusWord::InsNotSupported | StatusWord::ClaNotSupported,
        ..
    }) = info
    {
        send(proto::select_fallback(), &mut report)?;
        info = proto::parse_info(&send(proto::get_info(), &mut report)?);
    }
    drop(tx);
    match info {
        Ok(info) => describe(&mut report, &info, models),
        Err(e) => {
            report.problem = Some(format!(
                "the card does not answer get info as this token family does: {e}"
            ));
            report.model_reason = "no serial was read".into();
            report
                .needs
                .push("a token of the SafeID family (switched on, on the reader)".into());
        }
    }
    Ok(report)
}

fn describe(report: &mut ProbeReport, info: &proto::Info, models: &ModelTable) {
    report.serial = Some(info.serial.clone());
    report.token_time = Some(info.unix_time);
    report.token_date = Some(utc_date(u64::from(info.unix_time)));
    let drift = i64::from(info.unix_time) - i64::try_from(report.host_time).unwrap_or(i64::MAX);
    match models.identify(&info.serial) {
        Some(m) => {
            report.model = Some(m.display_name());
            report.model_reason = format!(
                "the serial starts with {}, the prefix of {} in the model table",
                m.prefix,
                m.display_name()
            );
            if m.key.is_none() && m.key_env.is_none() {
                report
                    .needs
                    .push("the model's access key (given explicitly, or in a model file)".into());
            }
        }
        None => {
            report.model_reason = format!(
                "no model in the table has a prefix of serial {}: the model is unknown (Deepnet and ExcelSecu prefixes are not public)",
                info.serial
            );
            report.needs.push(
                "the access key for this model, given explicitly (the tool cannot check it; some tokens lock after failed attempts)".into(),
            );
            report.needs.push(
                "optionally a model file row with the serial prefix, the name and whether a config write erases the seed (unknown models are treated as if it does)".into(),
            );
        }
    }
    if drift.unsigned_abs() > 30 {
        report.needs.push(format!(
            "the clock set (it is {} the host's): a burn sets it",
            describe_offset(drift)
        ));
    }
}
