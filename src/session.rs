//! The protocol steps over any [`Transport`]: read info, identify the model, pick the key,
//! authenticate once, write config, write seed.
//!
//! [`Session`] is the low level: each call is one transaction with whatever token is on the
//! transport. The workflow ([`crate::token`], [`crate::batch`]) adds what a user needs
//! around it: plans checked before anything is sent, confirmation with the serial pinned,
//! drift policy, verification on the token's clock.

use std::sync::Arc;

use safeid_proto::{
    self as proto, AccessKey, Command, Info, Model, ModelTable, ProtoError, StatusWord, TokenConfig,
};
use safeid_transport::{Resend, Transaction, Transport, TransportError};

use crate::clock::{self, Clock};
use crate::error::{Outcome, SessionError, Stage, WriteState};
use crate::plan::BurnPlan;
use crate::report::{BurnReport, ExpectedCodes, KeySource, TokenReport, TokenStatus};

/// A receiver of APDU trace lines (`> 80CE000010<redacted>`, `< 9000`). Bodies of
/// authenticate and write seed are always redacted.
pub type TraceSink = Box<dyn FnMut(&str) + Send>;

/// A provisioning session with the token on one transport.
pub struct Session<'t> {
    transport: &'t mut dyn Transport,
    models: ModelTable,
    user_key: Option<AccessKey>,
    clock: Arc<dyn Clock>,
    trace: Option<TraceSink>,
    apdus: usize,
    sync_clock: bool,
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

    /// Uses another host clock (tests inject a manual one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
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
        let now = self.clock.now();
        let models = self.models.clone();
        let mut link = Link::open(self.transport, self.trace.as_mut(), &mut self.apdus)?;
        let info = link.read_info()?;
        drop(link);
        Ok(status(&info, models.identify(&info.serial), now))
    }

    /// Burns `plan` into whatever token is on the transport. Prefer
    /// [`Session::burn_serial`] (or [`crate::token`]), which pins the serial the user saw.
    pub fn burn(&mut self, plan: &BurnPlan) -> Result<BurnReport, SessionError> {
        self.burn_serial(plan, None)
    }

    /// Burns `plan`: config first (clock from the host, unless clock sync is off), then the
    /// seed. With `expected`, a token whose serial is not that one is refused before any
    /// secure command: a seed chosen for one serial can never reach another token, even if
    /// the tokens were swapped between reading the serial and burning.
    ///
    /// The key is the user's if given, else the model's; an unknown model without a user
    /// key is refused before any secure command. Authentication is tried once, never
    /// again. If the link fails part-way, the error says exactly what was written.
    pub fn burn_serial(
        &mut self,
        plan: &BurnPlan,
        expected: Option<&str>,
    ) -> Result<BurnReport, SessionError> {
        let clock = Arc::clone(&self.clock);
        let host_now = clock::checked_now(clock.as_ref())?;
        let apdus_before = self.apdus;
        let sync = self.sync_clock;
        let mut auth = self.authenticated(expected)?;

        // The clock value is taken as late as possible, just before the config APDU.
        let set_time = clock::checked_now(clock.as_ref())?;
        let unix_time = if sync {
            clock::as_token_time(set_time)?
        } else {
            let elapsed = u32::try_from(set_time.saturating_sub(host_now)).unwrap_or(u32::MAX);
            auth.info.unix_time.saturating_add(elapsed)
        };
        let config = TokenConfig {
            display_timeout: plan.display_timeout(),
            unix_time,
            hmac: plan.hmac(),
            step: plan.step(),
        };
        auth.write_config(&config)?;
        let command = proto::write_seed(&auth.key, plan.seed())
            .map_err(|e| interrupted(Stage::WriteSeed, auth.written, e.into()))?;
        auth.write(Stage::WriteSeed, command, "write seed")?;
        let apdus = *auth.link.apdus - apdus_before;
        let Authenticated {
            info,
            model,
            key_source,
            ..
        } = auth;

        let token_offset = i64::from(unix_time) - i64::try_from(set_time).unwrap_or(i64::MAX);
        let elapsed = clock.now().saturating_sub(set_time);
        let display_time = u64::from(unix_time).saturating_add(elapsed);
        Ok(BurnReport {
            token: TokenReport::new(status(&info, model.as_ref(), host_now), key_source),
            clock_set_to: unix_time,
            clock_synced: sync,
            token_offset,
            hmac: plan.hmac(),
            step_seconds: plan.step().seconds(),
            display_timeout_seconds: plan.display_timeout().seconds(),
            seed_bytes: plan.seed().len(),
            label: plan.label().map(str::to_owned),
            conversions: plan.conversions().to_vec(),
            apdus,
            expected: ExpectedCodes::at(plan.totp(), display_time),
        })
    }

    /// Sets the token's clock (and with it algorithm, step and display timeout, which the
    /// token only takes all together) without touching the seed.
    ///
    /// On a restricted model a config write erases the seed (docs/protocol.md section 4):
    /// this is refused unless `erase_confirmed` is true. Prefer a burn, which writes the
    /// seed again in the same session.
    pub fn sync_clock(
        &mut self,
        settings: &ClockSettings,
        erase_confirmed: bool,
    ) -> Result<TokenStatus, SessionError> {
        let clock = Arc::clone(&self.clock);
        clock::checked_now(clock.as_ref())?;
        let models = self.models.clone();
        let mut auth = self.authenticated_if(None, |info| {
            let model = models.identify(&info.serial);
            if model.is_none_or(|m| m.restricted) && !erase_confirmed {
                return Err(SessionError::WouldEraseSeed {
                    model: model.map_or_else(|| "an unknown model".to_owned(), Model::display_name),
                });
            }
            Ok(())
        })?;
        let now = clock::checked_now(clock.as_ref())?;
        let config = TokenConfig {
            display_timeout: settings.display_timeout,
            unix_time: clock::as_token_time(now)?,
            hmac: settings.hmac,
            step: settings.step,
        };
        auth.write_config(&config)?;
        Ok(status(&auth.info, auth.model.as_ref(), now))
    }

    fn authenticated(&mut self, expected: Option<&str>) -> Result<Authenticated<'_>, SessionError> {
        self.authenticated_if(expected, |_| Ok(()))
    }

    /// One transaction up to a successful authenticate: read info, check the serial
    /// (`expected`) and the caller's precondition, choose the key, authenticate once.
    fn authenticated_if(
        &mut self,
        expected: Option<&str>,
        precondition: impl FnOnce(&Info) -> Result<(), SessionError>,
    ) -> Result<Authenticated<'_>, SessionError> {
        let nothing = WriteState::nothing(true);
        let mut link = Link::open(self.transport, self.trace.as_mut(), &mut self.apdus)
            .map_err(|e| interrupted(Stage::ReadInfo, nothing, e))?;
        let info = link
            .read_info()
            .map_err(|e| interrupted(Stage::ReadInfo, nothing, e))?;
        if let Some(want) = expected
            && want != info.serial
        {
            return Err(SessionError::SerialMismatch {
                expected: want.to_owned(),
                found: info.serial.clone(),
            });
        }
        precondition(&info)?;
        let model = self.models.identify(&info.serial).cloned();
        let written = WriteState::nothing(model.as_ref().is_none_or(|m| m.restricted));
        let (key, key_source) = choose_key(&info, model.as_ref(), self.user_key.clone())?;
        link.authenticate(&key)
            .map_err(|e| interrupted(Stage::Authenticate, written, e))?;
        Ok(Authenticated {
            link,
            info,
            model,
            key,
            key_source,
            written,
        })
    }
}

/// An open transaction with an authenticated token.
struct Authenticated<'a> {
    link: Link<'a>,
    info: Info,
    model: Option<Model>,
    key: AccessKey,
    key_source: KeySource,
    written: WriteState,
}

impl Authenticated<'_> {
    fn write_config(&mut self, config: &TokenConfig) -> Result<(), SessionError> {
        let command = proto::write_config(&self.key, config)
            .map_err(|e| interrupted(Stage::WriteConfig, self.written, e.into()))?;
        self.write(Stage::WriteConfig, command, "write config")
    }

    /// One secure write; on failure the error records what this and earlier writes did.
    fn write(
        &mut self,
        stage: Stage,
        command: Command,
        name: &'static str,
    ) -> Result<(), SessionError> {
        let result = self.link.secure(command, name);
        let outcome = match &result {
            Ok(()) => Outcome::Written,
            Err(e) => outcome_of(e),
        };
        match stage {
            Stage::WriteSeed => self.written.seed = outcome,
            _ => self.written.config = outcome,
        }
        result.map_err(|e| interrupted(stage, self.written, e))
    }
}

fn status(info: &Info, model: Option<&Model>, host_now: u64) -> TokenStatus {
    TokenStatus {
        serial: info.serial.clone(),
        model: model.map(|m| m.name.clone()),
        manufacturer: model.map(|m| m.manufacturer.clone()),
        restricted: model.is_none_or(|m| m.restricted),
        key_known: model.is_some_and(|m| m.key.is_some() || m.key_env.is_some()),
        token_time: info.unix_time,
        host_time: host_now,
        drift: i64::from(info.unix_time) - i64::try_from(host_now).unwrap_or(i64::MAX),
    }
}

/// The user's key if given, else the model's (from the table, or from the environment
/// variable a model file row names, resolved at load), else refused before anything
/// secret is sent.
fn choose_key(
    info: &Info,
    model: Option<&Model>,
    user_key: Option<AccessKey>,
) -> Result<(AccessKey, KeySource), SessionError> {
    if let Some(key) = user_key {
        return Ok((key, KeySource::User));
    }
    // A model file's `key_env` rows were resolved when the table was loaded.
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
            // ISO 7816-4 says a `6C` command was not run; a token that breaks the rule may
            // have run it.
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
        let response =
            match safeid_transport::transmit(self.tx.as_mut(), command.as_bytes(), resend) {
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
            }) => self.select_then_info(),
            other => Ok(other?),
        }
    }

    fn select_then_info(&mut self) -> Result<Info, SessionError> {
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
