//! The burn workflow over any [`Transport`]: read info, identify the model, pick the key,
//! authenticate once, write config, write seed, report the codes the token must show.

use std::sync::Arc;

use safeid_proto::{
    self as proto, AccessKey, Command, Info, Model, ModelTable, ProtoError, StatusWord, TokenConfig,
};
use safeid_transport::{Resend, Transaction, Transport, TransportError};
use serde::Serialize;

use crate::clock::{self, HostClock};
use crate::error::{Outcome, SessionError, Stage, WriteState};
use crate::plan::BurnPlan;
use crate::report::{BurnReport, ExpectedCodes, TokenReport};

/// Where the access key came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// The model table entry for the token's serial prefix.
    Model,
    /// Given by the user (`--key`); for an unknown model this is a guess.
    User,
}

/// A receiver of APDU trace lines (`> 80 CE 00 00 10 <redacted>`, `< 90 00`). Bodies of
/// authenticate and write seed are always redacted.
pub type TraceSink = Box<dyn FnMut(&str) + Send>;

/// A provisioning session with the token on one transport.
pub struct Session<'t> {
    transport: &'t mut dyn Transport,
    models: ModelTable,
    user_key: Option<AccessKey>,
    clock: Arc<dyn HostClock>,
    trace: Option<TraceSink>,
    apdus: usize,
    sync_clock: bool,
}

/// What `info` reads: serial, model and clock, with the drift against the host.
#[derive(Debug, Clone, Serialize)]
pub struct TokenStatus {
    /// The serial printed on the token.
    pub serial: String,
    /// The model, from the serial prefix, if known.
    pub model: Option<String>,
    /// The manufacturer, if the model is known.
    pub manufacturer: Option<String>,
    /// Whether a config write erases the seed (unknown models count as restricted).
    pub restricted: bool,
    /// Whether an access key is known for this model.
    pub key_known: bool,
    /// The token's clock (Unix seconds).
    pub token_time: u32,
    /// The host's clock when it was read.
    pub host_time: u64,
    /// `token_time - host_time`, seconds (positive: the token is ahead).
    pub drift: i64,
}

impl<'t> Session<'t> {
    /// A session on `transport` with the built-in model table and the system clock.
    pub fn new(transport: &'t mut dyn Transport) -> Self {
        Self {
            transport,
            models: ModelTable::builtin(),
            user_key: None,
            clock: Arc::new(clock::SystemClock),
            trace: None,
            apdus: 0,
            sync_clock: true,
        }
    }

    /// Uses this model table (built-in rows plus any the user loaded).
    pub fn with_models(mut self, models: ModelTable) -> Self {
        self.models = models;
        self
    }

    /// Uses a key the user gave explicitly, instead of the model table's.
    pub fn with_key(mut self, key: AccessKey) -> Self {
        self.user_key = Some(key);
        self
    }

    /// Uses another host clock (tests inject a fixed one).
    pub fn with_clock(mut self, clock: Arc<dyn HostClock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sends APDU trace lines (bodies of secure commands redacted) to `sink`.
    pub fn with_trace(mut self, sink: TraceSink) -> Self {
        self.trace = Some(sink);
        self
    }

    /// Whether a burn sets the token's clock from the host (the default). When `false`,
    /// the config write re-sends the token's own time (read at the start of the burn plus
    /// the seconds elapsed since), since the token takes its clock only with the config.
    pub fn with_clock_sync(mut self, sync: bool) -> Self {
        self.sync_clock = sync;
        self
    }

    /// APDUs exchanged so far (continuations included).
    pub fn apdu_count(&self) -> usize {
        self.apdus
    }

    /// Reads serial and clock. Needs no key and changes nothing on the token.
    pub fn info(&mut self) -> Result<TokenStatus, SessionError> {
        let clock = Arc::clone(&self.clock);
        let models = self.models.clone();
        let mut link = Link::open(self.transport, self.trace.as_mut(), &mut self.apdus)?;
        let info = link.read_info()?;
        drop(link);
        Ok(status(&info, models.identify(&info.serial), clock.now()))
    }

    /// Burns `plan` into the token: config first (clock from the host), then the seed.
    ///
    /// The key is the user's if given, else the model's; an unknown model without a user
    /// key is refused before any secure command. Authentication is tried once, never
    /// again. If the link fails part-way, the error says exactly what was written.
    pub fn burn(&mut self, plan: &BurnPlan) -> Result<BurnReport, SessionError> {
        self.burn_serial(plan, None)
    }

    /// Like [`Session::burn`], but refuses (before any secure command) a token whose serial
    /// is not `expected`: a seed chosen for one serial can never reach another token, even
    /// if the tokens were swapped between reading the serial and burning.
    pub fn burn_serial(
        &mut self,
        plan: &BurnPlan,
        expected: Option<&str>,
    ) -> Result<BurnReport, SessionError> {
        let clock = Arc::clone(&self.clock);
        let host_now = clock::checked_now(clock.as_ref())?;
        let models = self.models.clone();
        let user_key = self.user_key.clone();
        let apdus_before = self.apdus;
        let mut link = Link::open(self.transport, self.trace.as_mut(), &mut self.apdus)
            .map_err(|e| interrupted(Stage::ReadInfo, WriteState::nothing(true), e))?;

        let info = link
            .read_info()
            .map_err(|e| interrupted(Stage::ReadInfo, WriteState::nothing(true), e))?;
        if let Some(want) = expected
            && want != info.serial
        {
            return Err(SessionError::SerialMismatch {
                expected: want.to_owned(),
                found: info.serial.clone(),
            });
        }
        let model = models.identify(&info.serial);
        let restricted = model.is_none_or(|m| m.restricted);
        let mut written = WriteState::nothing(restricted);
        let (key, key_source) = choose_key(&info, model, user_key)?;

        link.authenticate(&key)
            .map_err(|e| interrupted(Stage::Authenticate, written, e))?;

        // The clock value is taken as late as possible, just before the config APDU.
        let set_time = clock::checked_now(clock.as_ref())?;
        let token_time = if self.sync_clock {
            clock::as_token_time(set_time)?
        } else {
            let elapsed = u32::try_from(set_time.saturating_sub(host_now)).unwrap_or(u32::MAX);
            info.unix_time.saturating_add(elapsed)
        };
        let config = TokenConfig {
            display_timeout: plan.display_timeout(),
            unix_time: token_time,
            hmac: plan.hmac(),
            step: plan.step(),
        };
        let command = proto::write_config(&key, &config)
            .map_err(|e| interrupted(Stage::WriteConfig, written, e.into()))?;
        link.secure(command, "write config").map_err(|e| {
            written.config = outcome_of(&e);
            interrupted(Stage::WriteConfig, written, e)
        })?;
        written.config = Outcome::Written;

        let command = proto::write_seed(&key, plan.seed())
            .map_err(|e| interrupted(Stage::WriteSeed, written, e.into()))?;
        link.secure(command, "write seed").map_err(|e| {
            written.seed = outcome_of(&e);
            interrupted(Stage::WriteSeed, written, e)
        })?;
        drop(link);

        // The codes the display shows follow the token's clock, which is the host's
        // unless the user kept the token's own.
        let elapsed = clock.now().saturating_sub(set_time);
        let display_time = u64::from(config.unix_time).saturating_add(elapsed);
        Ok(BurnReport {
            token: TokenReport::new(status(&info, model, host_now), key_source),
            clock_set_to: config.unix_time,
            hmac: plan.hmac(),
            step_seconds: plan.step().seconds(),
            display_timeout_seconds: plan.display_timeout().seconds(),
            seed_bytes: plan.seed().len(),
            label: plan.label().map(str::to_owned),
            conversions: plan.conversions().to_vec(),
            apdus: self.apdus - apdus_before,
            expected: ExpectedCodes::at(&plan.totp(), display_time),
        })
    }

    /// Sets the token's clock (and with it algorithm, step and display timeout, which the
    /// token only takes all together) without touching the seed.
    ///
    /// On a restricted model a config write erases the seed (docs/protocol.md section 4): this
    /// is refused unless `erase_confirmed` is true. Prefer [`Session::burn`], which
    /// re-burns the seed in the same session.
    pub fn sync_clock(
        &mut self,
        settings: &ClockSettings,
        erase_confirmed: bool,
    ) -> Result<TokenStatus, SessionError> {
        let clock = Arc::clone(&self.clock);
        clock::checked_now(clock.as_ref())?;
        let models = self.models.clone();
        let user_key = self.user_key.clone();
        let mut link = Link::open(self.transport, self.trace.as_mut(), &mut self.apdus)?;
        let info = link.read_info()?;
        let model = models.identify(&info.serial);
        let restricted = model.is_none_or(|m| m.restricted);
        if restricted && !erase_confirmed {
            return Err(SessionError::WouldEraseSeed {
                model: model.map_or_else(|| "an unknown model".to_owned(), |m| m.name.clone()),
            });
        }
        let (key, _) = choose_key(&info, model, user_key)?;
        let mut written = WriteState::nothing(restricted);
        link.authenticate(&key)
            .map_err(|e| interrupted(Stage::Authenticate, written, e))?;
        let now = clock::checked_now(clock.as_ref())?;
        let config = TokenConfig {
            display_timeout: settings.display_timeout,
            unix_time: clock::as_token_time(now)?,
            hmac: settings.hmac,
            step: settings.step,
        };
        let command = proto::write_config(&key, &config)
            .map_err(|e| interrupted(Stage::WriteConfig, written, e.into()))?;
        link.secure(command, "write config").map_err(|e| {
            written.config = outcome_of(&e);
            interrupted(Stage::WriteConfig, written, e)
        })?;
        Ok(status(&info, model, now))
    }
}

/// The values a clock sync writes along with the time.
#[derive(Debug, Clone, Copy)]
pub struct ClockSettings {
    /// HMAC algorithm to configure.
    pub hmac: proto::HmacAlgorithm,
    /// Time step to configure.
    pub step: proto::TimeStep,
    /// Display timeout to configure.
    pub display_timeout: proto::DisplayTimeout,
}

fn status(info: &Info, model: Option<&Model>, host_now: u64) -> TokenStatus {
    TokenStatus {
        serial: info.serial.clone(),
        model: model.map(|m| m.name.clone()),
        manufacturer: model.map(|m| m.manufacturer.clone()),
        restricted: model.is_none_or(|m| m.restricted),
        key_known: model.is_some_and(|m| m.key.is_some()),
        token_time: info.unix_time,
        host_time: host_now,
        drift: i64::from(info.unix_time) - i64::try_from(host_now).unwrap_or(i64::MAX),
    }
}

fn choose_key(
    info: &Info,
    model: Option<&Model>,
    user_key: Option<AccessKey>,
) -> Result<(AccessKey, KeySource), SessionError> {
    if let Some(key) = user_key {
        return Ok((key, KeySource::User));
    }
    match model.and_then(|m| m.key.clone()) {
        Some(key) => Ok((key, KeySource::Model)),
        None => Err(SessionError::UnknownModel {
            serial: info.serial.clone(),
        }),
    }
}

/// A lost reply means the command may have run; a refusal or a failure to send means not.
fn outcome_of(err: &SessionError) -> Outcome {
    match err {
        SessionError::Transport(
            TransportError::EmptyReply
            | TransportError::ShortReply { .. }
            | TransportError::Timeout { .. }
            | TransportError::CardReset
            | TransportError::Backend(_)
            | TransportError::Continuation(_)
            | TransportError::NotResent { .. },
        ) => Outcome::Uncertain,
        SessionError::Protocol(ProtoError::MalformedReply { .. }) => Outcome::Uncertain,
        _ => Outcome::NotWritten,
    }
}

fn interrupted(stage: Stage, written: WriteState, cause: SessionError) -> SessionError {
    match cause {
        // These already say that nothing was written, or are not about the link.
        e @ (SessionError::KeyRefused
        | SessionError::UnknownModel { .. }
        | SessionError::SerialMismatch { .. }) => e,
        e => SessionError::Interrupted {
            stage,
            written,
            cause: Box::new(e),
        },
    }
}

/// One open transaction, with tracing and APDU counting.
struct Link<'a> {
    tx: Box<dyn Transaction + 'a>,
    trace: Option<&'a mut TraceSink>,
    apdus: &'a mut usize,
}

impl<'a> Link<'a> {
    fn open(
        transport: &'a mut dyn Transport,
        trace: Option<&'a mut TraceSink>,
        apdus: &'a mut usize,
    ) -> Result<Self, SessionError> {
        let tx = transport.begin()?;
        Ok(Self { tx, trace, apdus })
    }

    fn exchange(&mut self, command: &Command) -> Result<Vec<u8>, SessionError> {
        if let Some(sink) = self.trace.as_mut() {
            sink(&format!("> {}", command.redacted()));
        }
        *self.apdus += 1;
        let resend = if command.may_resend() {
            Resend::Allowed
        } else {
            Resend::Never {
                command: command.name(),
            }
        };
        let result = safeid_transport::transmit(self.tx.as_mut(), command.as_bytes(), resend);
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                if let Some(sink) = self.trace.as_mut() {
                    sink(&format!("! {e}"));
                }
                return Err(e.into());
            }
        };
        let bytes = response.into_bytes();
        if let Some(sink) = self.trace.as_mut() {
            sink(&format!("< {}", data_encoding::HEXUPPER.encode(&bytes)));
        }
        Ok(bytes)
    }

    /// Get info, with the SELECT fallback when the command set is not answered
    /// (docs/protocol.md section 1: a fallback, never a default).
    fn read_info(&mut self) -> Result<Info, SessionError> {
        let reply = self.exchange(&proto::get_info())?;
        match proto::parse_info(&reply) {
            Err(ProtoError::Status {
                sw: StatusWord::InsNotSupported | StatusWord::ClaNotSupported,
                ..
            }) => {
                let sel = self.exchange(&proto::select_fallback())?;
                if let Err(ProtoError::Status { sw, .. }) = proto::parse_status("select", &sel) {
                    return Err(SessionError::NotThisToken { sw });
                }
                let reply = self.exchange(&proto::get_info())?;
                proto::parse_info(&reply).map_err(|e| match e {
                    ProtoError::Status {
                        sw: sw @ (StatusWord::InsNotSupported | StatusWord::ClaNotSupported),
                        ..
                    } => SessionError::NotThisToken { sw },
                    e => e.into(),
                })
            }
            other => Ok(other?),
        }
    }

    /// Challenge then authenticate, exactly once.
    fn authenticate(&mut self, key: &AccessKey) -> Result<(), SessionError> {
        let reply = self.exchange(&proto::get_challenge())?;
        let challenge = proto::parse_challenge(&reply)?;
        let reply = self.exchange(&proto::authenticate(key, &challenge)?)?;
        match proto::parse_status("authenticate", &reply) {
            Err(ProtoError::Status {
                sw: StatusWord::SecurityStatusNotSatisfied,
                ..
            }) => Err(SessionError::KeyRefused),
            other => Ok(other?),
        }
    }

    fn secure(&mut self, command: Command, name: &'static str) -> Result<(), SessionError> {
        let reply = self.exchange(&command)?;
        Ok(proto::parse_status(name, &reply)?)
    }
}
