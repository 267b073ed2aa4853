//! The one-token workflow, the same for every front end: read the token, prepare a burn
//! (every check that needs no secure command), confirm with the serial pinned, burn, show
//! the codes the token must display, and verify a typed code on the token's own clock.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use safeid::clock::Clock;
//! use safeid::otpauth::Credential;
//! use safeid::token::{BurnOptions, Provisioner, Verdict};
//! use safeid::{BurnPlan, PlanOptions};
//! use safeid_sim::{ManualClock, SimTransport, TokenSpec, VirtualToken};
//!
//! let clock = ManualClock::new(1_800_000_000);
//! let token = Arc::new(Mutex::new(VirtualToken::new(
//!     TokenSpec::token2("8659622000001"),
//!     Arc::new(clock.clone()),
//! )));
//! let mut reader = SimTransport::new(Arc::clone(&token));
//! let provisioner = Provisioner::new().with_clock(Arc::new(clock.clone()));
//!
//! let cred = Credential::parse("otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP")?;
//! let plan = BurnPlan::from_credential(&cred, &PlanOptions::default())?;
//! let status = provisioner.read(&mut reader)?;                 // 1. read
//! let pending = provisioner.prepare(status, plan, &BurnOptions::default())?; // 2. check
//! println!("{}", pending.question());                           // 3. confirm
//! let burned = pending.burn(&provisioner, &mut reader)?;        // 4. burn (pinned serial)
//! let shown = token.lock().unwrap().display_code().unwrap();    // 5. the display
//! let check = burned.verify(&shown, clock.now());
//! assert!(matches!(check.verdict, Verdict::Verified { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;

use safeid_proto::{AccessKey, ModelTable};
use safeid_transport::Transport;
use serde::Serialize;
use thiserror::Error;

use crate::clock::{Clock, SystemClock};
use crate::error::{Hint, SessionError};
use crate::plan::{Acceptance, BurnPlan, PlanWarning, Risk};
use crate::report::{BurnReport, ExpectedCodes, TokenStatus, describe_offset};
use crate::session::{ClockSettings, Session};

/// Without clock sync, a token whose clock is off by more than this many seconds is
/// refused unless the user accepts [`Risk::ClockDrift`]: ten minutes is far outside any
/// service's window, so every code the token shows would be refused.
pub const DEFAULT_DRIFT_LIMIT: u64 = 600;

/// A shared receiver of APDU trace lines (bodies of secure commands are redacted).
pub type Trace = Arc<dyn Fn(&str) + Send + Sync>;

/// Everything a burn needs besides the token and the seed: the model table, a key the user
/// gave, the host clock, the drift limit and an optional trace. Cheap to clone; one value
/// serves a single burn or a whole batch.
#[derive(Clone)]
pub struct Provisioner {
    models: ModelTable,
    key: Option<AccessKey>,
    clock: Arc<dyn Clock>,
    drift_limit: u64,
    trace: Option<Trace>,
}

impl Default for Provisioner {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Provisioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provisioner")
            .field("models", &self.models.len())
            .field("key", &self.key)
            .field("drift_limit", &self.drift_limit)
            .finish_non_exhaustive()
    }
}

impl Provisioner {
    /// The built-in model table, no user key, the system clock, [`DEFAULT_DRIFT_LIMIT`].
    pub fn new() -> Self {
        Self {
            models: ModelTable::builtin(),
            key: None,
            clock: Arc::new(SystemClock),
            drift_limit: DEFAULT_DRIFT_LIMIT,
            trace: None,
        }
    }

    /// Uses this model table (built-in rows plus any the user loaded).
    pub fn with_models(mut self, models: ModelTable) -> Self {
        self.models = models;
        self
    }

    /// Uses a key the user gave explicitly (never another one, never retried).
    pub fn with_key(mut self, key: Option<AccessKey>) -> Self {
        self.key = key;
        self
    }

    /// Uses another host clock (tests pass a [`crate::clock::ManualClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Changes the drift limit (seconds).
    pub fn with_drift_limit(mut self, seconds: u64) -> Self {
        self.drift_limit = seconds;
        self
    }

    /// Sends APDU trace lines to `trace`.
    pub fn with_trace(mut self, trace: Option<Trace>) -> Self {
        self.trace = trace;
        self
    }

    /// The model table.
    pub fn models(&self) -> &ModelTable {
        &self.models
    }

    /// The host clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The host time now.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// A low-level session on `transport` with these settings.
    pub fn session<'t>(&self, transport: &'t mut dyn Transport) -> Session<'t> {
        let mut s = Session::new(transport)
            .with_models(self.models.clone())
            .with_clock(Arc::clone(&self.clock));
        if let Some(key) = &self.key {
            s = s.with_key(key.clone());
        }
        if let Some(trace) = &self.trace {
            let trace = Arc::clone(trace);
            s = s.with_trace(Box::new(move |line: &str| trace(line)));
        }
        s
    }

    /// Step 1: reads serial, model and clock. Needs no key, changes nothing.
    pub fn read(&self, transport: &mut dyn Transport) -> Result<TokenStatus, SessionError> {
        self.session(transport).info()
    }

    /// The checks of [`Provisioner::prepare`] that need no plan, for a token just placed:
    /// an unknown model with no key given is refused, and so is a clock off by more than
    /// the drift limit when it will not be synced (unless accepted). `period` is the TOTP
    /// step the token will use (30 when not known yet). Returns what the user must be told.
    pub fn check_token(
        &self,
        token: &TokenStatus,
        period: u64,
        options: &BurnOptions,
    ) -> Result<Vec<BurnWarning>, PrepareError> {
        if !token.key_known && self.key.is_none() {
            return Err(PrepareError::UnknownModel {
                serial: token.serial.clone(),
            });
        }
        let mut warnings = Vec::new();
        if token.model.is_none() {
            warnings.push(BurnWarning::KeyGuessed);
        }
        let off = token.drift.unsigned_abs();
        if !options.sync_clock && off > period {
            if off > self.drift_limit && !options.accept_clock_drift {
                return Err(PrepareError::ClockTooFar {
                    drift: token.drift,
                    limit: self.drift_limit,
                });
            }
            warnings.push(BurnWarning::ClockOff {
                drift: token.drift,
                period,
            });
        }
        Ok(warnings)
    }

    /// Step 2: every check that can be made without a secure command, for this token and
    /// plan ([`Provisioner::check_token`] and the plan's own warnings), collecting what the
    /// user must be told before confirming.
    pub fn prepare(
        &self,
        token: TokenStatus,
        plan: BurnPlan,
        options: &BurnOptions,
    ) -> Result<PendingBurn, PrepareError> {
        let period = u64::from(plan.step().seconds());
        let mut warnings: Vec<BurnWarning> = plan
            .warnings()
            .iter()
            .copied()
            .map(BurnWarning::Plan)
            .collect();
        warnings.extend(self.check_token(&token, period, options)?);
        Ok(PendingBurn {
            token,
            plan,
            sync_clock: options.sync_clock,
            warnings,
        })
    }

    /// Sets the token's clock without a burn; see [`Session::sync_clock`] (a restricted
    /// model's seed is erased, so `erase_confirmed` must be true there).
    pub fn sync_clock(
        &self,
        transport: &mut dyn Transport,
        settings: &ClockSettings,
        erase_confirmed: bool,
    ) -> Result<TokenStatus, SessionError> {
        self.session(transport)
            .sync_clock(settings, erase_confirmed)
    }
}

/// What the user chose for a burn beyond the plan.
#[derive(Debug, Clone, Copy)]
pub struct BurnOptions {
    /// Set the token's clock from the host (default). Off: the token keeps its clock.
    pub sync_clock: bool,
    /// Burn without syncing even when the clock is off by more than the drift limit.
    pub accept_clock_drift: bool,
}

impl Default for BurnOptions {
    fn default() -> Self {
        Self {
            sync_clock: true,
            accept_clock_drift: false,
        }
    }
}

/// A burn refused before any secure command.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrepareError {
    /// No key is known for the model and none was given.
    #[error(
        "unknown token model (serial {serial}): no access key is known for it, so nothing will be sent that needs one. If you know the key, give it explicitly (the tool cannot tell whether it is right, and some tokens lock after failed attempts), or add the model to a model file; a read-only probe shows what the token reports"
    )]
    UnknownModel {
        /// The serial read.
        serial: String,
    },
    /// The clock is far off and would not be synced.
    #[error(
        "the token's clock is {} the host's and would not be set: the service would refuse every code it shows. Sync the clock during the burn, or accept the clock-drift risk to burn anyway",
        describe_offset(*drift)
    )]
    ClockTooFar {
        /// Token minus host, seconds.
        drift: i64,
        /// The limit, seconds.
        limit: u64,
    },
}

impl PrepareError {
    /// A stable name for the kind of error.
    pub fn kind(&self) -> &'static str {
        match self {
            PrepareError::UnknownModel { .. } => "unknown_model",
            PrepareError::ClockTooFar { .. } => "clock_too_far",
        }
    }

    /// What the user can do.
    pub fn hint(&self) -> Option<Hint> {
        Some(match self {
            PrepareError::UnknownModel { .. } => Hint::GiveKey,
            PrepareError::ClockTooFar { .. } => Hint::Accept(Acceptance::Risk(Risk::ClockDrift)),
        })
    }
}

/// Something the user must be told before confirming a burn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum BurnWarning {
    /// From the plan (a short secret).
    Plan(PlanWarning),
    /// The model is unknown: the key is the user's guess.
    KeyGuessed,
    /// The clock is off by more than one step and will not be synced.
    ClockOff {
        /// Token minus host, seconds.
        drift: i64,
        /// The TOTP step, seconds.
        period: u64,
    },
}

impl fmt::Display for BurnWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BurnWarning::Plan(w) => w.fmt(f),
            BurnWarning::KeyGuessed => f.write_str(
                "the model is unknown: the key given is a guess; a wrong key is refused once and never retried",
            ),
            BurnWarning::ClockOff { drift, period } => write!(
                f,
                "the token's clock is {} the host's and will not be set: a service allows about {period} s, so it will refuse the token's codes until the clock is synced",
                describe_offset(*drift)
            ),
        }
    }
}

/// A burn checked and ready, waiting for the user's confirmation. Burning consumes it, so
/// a confirmed burn is sent once.
#[derive(Debug)]
pub struct PendingBurn {
    token: TokenStatus,
    plan: BurnPlan,
    sync_clock: bool,
    warnings: Vec<BurnWarning>,
}

impl PendingBurn {
    /// The serial that will be burned (and only that one).
    pub fn serial(&self) -> &str {
        &self.token.serial
    }

    /// The token as read.
    pub fn token(&self) -> &TokenStatus {
        &self.token
    }

    /// The plan.
    pub fn plan(&self) -> &BurnPlan {
        &self.plan
    }

    /// What the user must be told before confirming.
    pub fn warnings(&self) -> &[BurnWarning] {
        &self.warnings
    }

    /// The confirmation question, naming the serial.
    pub fn question(&self) -> String {
        let model = self
            .token
            .model_name()
            .unwrap_or_else(|| "unknown model".to_owned());
        format!(
            "Burn token {} ({model})? Its current seed will be replaced",
            self.token.serial
        )
    }

    /// Step 4: burns the plan into the token on `transport`, config first, then the seed.
    /// A token with another serial is refused before any secure command.
    pub fn burn(
        self,
        provisioner: &Provisioner,
        transport: &mut dyn Transport,
    ) -> Result<Burned, SessionError> {
        let report = provisioner
            .session(transport)
            .with_clock_sync(self.sync_clock)
            .burn_serial(&self.plan, Some(&self.token.serial))?;
        Ok(Burned {
            report,
            plan: self.plan,
            clock: Arc::clone(&provisioner.clock),
        })
    }
}

/// A token burned: the report, and what is needed to show its codes and verify one.
/// Holds the seed (inside the plan) until dropped: drop it once the user has checked.
pub struct Burned {
    report: BurnReport,
    plan: BurnPlan,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Burned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Burned")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl Burned {
    /// What was burned.
    pub fn report(&self) -> &BurnReport {
        &self.report
    }

    /// The seed's plan (algorithm, step...).
    pub fn plan(&self) -> &BurnPlan {
        &self.plan
    }

    /// The export record of this token: its serial, the seed as written (after any
    /// conversion), the algorithm and step it was configured with, its model names, and the
    /// credential's label as display name. Holds the seed: drop it once exported.
    pub fn record(&self) -> crate::record::TokenSeed {
        let r = &self.report;
        let mut record = crate::record::TokenSeed::new(
            r.token.status.serial.clone(),
            safeid_secret::SecretBytes::from_slice(self.plan.seed().expose()),
        );
        record.hash = r.hmac;
        record.period = r.step_seconds;
        record.manufacturer = r.token.status.manufacturer.clone();
        record.model = r.token.status.model.clone();
        record.display_name = r.label.clone();
        record
    }

    /// The time on the token's clock when the host reads `host_now`.
    pub fn token_time(&self, host_now: u64) -> u64 {
        host_now.saturating_add_signed(self.report.token_offset)
    }

    /// Previous, current and next code the display shows when the host reads `host_now`.
    pub fn expected_at(&self, host_now: u64) -> ExpectedCodes {
        ExpectedCodes::at(self.plan.totp(), self.token_time(host_now))
    }

    /// [`Burned::expected_at`] now.
    pub fn expected_now(&self) -> ExpectedCodes {
        self.expected_at(self.clock.now())
    }

    /// Step 5: judges a code the user read off the display, on the token's own clock
    /// (one step either side), and explains the result.
    pub fn verify(&self, code: &str, host_now: u64) -> Verification {
        let code = code.trim();
        let period = u64::from(self.plan.step().seconds());
        let offset = self.report.token_offset;
        let found = self.plan.totp().verify(code, self.token_time(host_now), 1);
        let verdict = match found {
            Some(step_offset) if offset.unsigned_abs() > period => Verdict::VerifiedClockOff {
                step_offset,
                token_offset: offset,
            },
            Some(step_offset) => Verdict::Verified { step_offset },
            None => Verdict::NotVerified,
        };
        Verification {
            code: code.to_owned(),
            verdict,
            period,
        }
    }

    /// [`Burned::verify`] now.
    pub fn verify_now(&self, code: &str) -> Verification {
        self.verify(code, self.clock.now())
    }

    /// Registers the burned token with a server ([`Enroller::enroll`]: a token the server
    /// holds with this seed already is not sent again). A token whose displayed code did
    /// not verify is not enrolled (`Ok(None)`): the server would get a seed the token may
    /// not hold; burn it again first.
    ///
    /// [`Enroller::enroll`]: crate::enroll::Enroller::enroll
    pub fn enroll(
        &self,
        enroller: &mut dyn crate::enroll::Enroller,
        verification: Option<&Verification>,
    ) -> Result<Option<crate::enroll::EnrollOutcome>, crate::enroll::EnrollError> {
        if verification.is_some_and(|v| !v.holds_seed()) {
            return Ok(None);
        }
        enroller.enroll(&self.record()).map(Some)
    }
}

/// The judgement of a displayed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The token shows this seed's code and its clock is in step with the host.
    Verified {
        /// Steps between the code and the expected one (0, or 1 either side).
        step_offset: i64,
    },
    /// The token holds the seed, but its clock is off the host's, so the service will
    /// refuse its codes until the clock is set.
    VerifiedClockOff {
        /// Steps between the code and the expected one on the token's clock.
        step_offset: i64,
        /// Token minus host, seconds.
        token_offset: i64,
    },
    /// Not this seed's code around the token's time.
    NotVerified,
}

/// A code checked against a burned token, with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// The code as typed (trimmed).
    pub code: String,
    /// The judgement.
    #[serde(flatten)]
    pub verdict: Verdict,
    #[serde(skip)]
    period: u64,
}

impl Verification {
    /// True when the token holds the seed (whatever its clock).
    pub fn holds_seed(&self) -> bool {
        !matches!(self.verdict, Verdict::NotVerified)
    }

    /// True when the service will accept the token's codes.
    pub fn is_good(&self) -> bool {
        matches!(self.verdict, Verdict::Verified { .. })
    }

    /// What the result means and what to do.
    pub fn explanation(&self) -> String {
        let code = &self.code;
        match self.verdict {
            Verdict::Verified { step_offset: 0 } => {
                format!("{code} matches: the token is burned and its clock is in step")
            }
            Verdict::Verified { step_offset } => format!(
                "{code} matches {step_offset:+} step from now: the token is burned; its display and the host differ by about {} s, inside what services allow",
                step_offset.unsigned_abs() * self.period
            ),
            Verdict::VerifiedClockOff { token_offset, .. } => format!(
                "{code} matches on the token's own clock, which is {} the host's: the seed is burned correctly, but the service will refuse these codes until the clock is set. Burn again with clock sync on (no need for a new seed)",
                describe_offset(token_offset)
            ),
            Verdict::NotVerified => format!(
                "{code} is not a code of this seed around the token's time: switch the token off and on, read the code again, and check that it is the token just burned; if it still differs, burn it again"
            ),
        }
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explanation())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Mutex;

    use safeid_otpauth::Credential;
    use safeid_sim::{ManualClock, SimTransport, TokenSpec, VirtualToken};

    use super::*;
    use crate::plan::PlanOptions;

    fn status(serial: &str, drift: i64, known: bool) -> TokenStatus {
        TokenStatus {
            serial: serial.into(),
            model: known.then(|| "OTPC-P2-i".into()),
            manufacturer: known.then(|| "Token2".into()),
            restricted: true,
            key_known: known,
            token_time: 1_800_000_000,
            host_time: 1_800_000_000,
            drift,
        }
    }

    #[test]
    fn check_token_refuses_what_needs_no_plan_to_refuse() {
        let p = Provisioner::new();
        let keep = BurnOptions {
            sync_clock: false,
            accept_clock_drift: false,
        };
        let unknown = p.check_token(&status("44", 0, false), 30, &BurnOptions::default());
        assert!(matches!(unknown, Err(PrepareError::UnknownModel { .. })));
        let guessed = p
            .clone()
            .with_key(Some(safeid_proto::AccessKey::token2()))
            .check_token(&status("44", 0, false), 30, &BurnOptions::default())
            .unwrap();
        assert_eq!(guessed, vec![BurnWarning::KeyGuessed]);
        let far = p.check_token(&status("8659622000001", 601, true), 30, &keep);
        assert!(matches!(
            far,
            Err(PrepareError::ClockTooFar { drift: 601, .. })
        ));
        let near = p
            .check_token(&status("8659622000001", 200, true), 30, &keep)
            .unwrap();
        assert_eq!(
            near,
            vec![BurnWarning::ClockOff {
                drift: 200,
                period: 30
            }]
        );
        // Synced, the drift does not matter; within one step it is not worth a word.
        let synced = p.check_token(
            &status("8659622000001", 100_000, true),
            30,
            &BurnOptions::default(),
        );
        assert_eq!(synced.unwrap(), Vec::new());
        assert_eq!(
            p.check_token(&status("8659622000001", 30, true), 30, &keep)
                .unwrap(),
            vec![]
        );
    }

    #[test]
    fn the_record_of_a_burn_is_what_the_token_holds() {
        let clock = ManualClock::new(1_800_000_000);
        let token = Arc::new(Mutex::new(VirtualToken::new(
            TokenSpec::token2("8659612000007"),
            Arc::new(clock.clone()),
        )));
        let mut reader = SimTransport::new(Arc::clone(&token));
        let p = Provisioner::new().with_clock(Arc::new(clock));
        let cred = Credential::parse(
            "otpauth://totp/Acme:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA256&period=60",
        )
        .unwrap();
        let plan = BurnPlan::from_credential(&cred, &PlanOptions::default()).unwrap();
        let status = p.read(&mut reader).unwrap();
        let burned = p
            .prepare(status, plan, &BurnOptions::default())
            .unwrap()
            .burn(&p, &mut reader)
            .unwrap();
        let record = burned.record();
        let state = token.lock().unwrap().state();
        assert_eq!(record.serial, "8659612000007");
        // "12345678901234567890" as the token stores it (20 bytes, no extension needed).
        assert_eq!(
            state.seed_hex.as_deref(),
            Some("3132333435363738393031323334353637383930")
        );
        assert_eq!(record.secret.expose(), b"12345678901234567890");
        assert_eq!(
            (record.hash, record.period),
            (safeid_proto::HmacAlgorithm::Sha256, 60)
        );
        assert_eq!(state.config.step_s, 60);
        assert_eq!(record.model.as_deref(), Some("OTPC-P1-i"));
        assert_eq!(record.display_name.as_deref(), Some("Acme:bob"));
    }
}
