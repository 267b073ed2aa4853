//! Where every serial of a journal stands, and the rules entries must follow.

use std::collections::HashMap;

use safeid_secret::SecretBytes;

use super::JournalError;
use super::line::Entry;
use crate::error::WriteState;
use crate::record::TokenSeed;

/// Where a serial stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Planned, not (yet) marked.
    Planned,
    /// Written to the token.
    Burned,
    /// Written and confirmed by a code, `offset` time steps from the expected one.
    Verified {
        /// Clock offset in time steps.
        offset: i64,
    },
    /// The latest attempt failed.
    Failed {
        /// Why (as the caller said).
        reason: String,
        /// What that attempt had written.
        written: WriteState,
    },
}

impl Status {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Burned => "burned",
            Self::Verified { .. } => "verified",
            Self::Failed { .. } => "failed",
        }
    }
}

/// One serial's seed and status.
#[derive(Clone, Debug)]
pub struct SerialState {
    /// The seed of the latest plan: the seed this serial was given.
    pub seed: TokenSeed,
    /// Where it stands.
    pub status: Status,
    /// Seeds of earlier, superseded plans for this serial, oldest first.
    pub history: Vec<TokenSeed>,
    /// The token may hold `seed` without the journal knowing (see [`SerialState::is_uncertain`]).
    uncertain: bool,
    /// Whether it was uncertain before its latest plan (a failure that writes nothing does
    /// not make an earlier uncertainty go away).
    uncertain_before_plan: bool,
    /// The enrollment targets that hold [`SerialState::seed`] (`enrolled` entries since the
    /// seed was last changed).
    enrolled: Vec<String>,
    /// The latest enrollment failure for the current seed, if no enrollment followed it.
    enroll_failure: Option<String>,
}

impl SerialState {
    /// True when the token may or may not hold [`SerialState::seed`]: a plan without an
    /// outcome, a failure after which the seed may be on the token, or any later failure
    /// that proved nothing either way. Only a successful burn, or a config write that
    /// blanked a restricted token, ends it.
    pub fn is_uncertain(&self) -> bool {
        self.uncertain
    }

    /// True when the seed was written (burned or verified).
    pub fn is_done(&self) -> bool {
        matches!(self.status, Status::Burned | Status::Verified { .. })
    }

    /// True when the token may hold [`SerialState::seed`] (done or uncertain): exports of
    /// "what the tokens may hold" take these.
    pub fn may_hold_seed(&self) -> bool {
        self.is_done() || self.uncertain
    }

    /// True when an `enrolled` entry for `target` follows the latest change of this
    /// serial's seed: that server holds [`SerialState::seed`].
    pub fn is_enrolled_in(&self, target: &str) -> bool {
        self.enrolled.iter().any(|t| t == target)
    }

    /// Every target that holds [`SerialState::seed`], in the order enrolled.
    pub fn enrolled_in(&self) -> &[String] {
        &self.enrolled
    }

    /// Why the latest enrollment of the current seed failed, when none succeeded since.
    pub fn enroll_failure(&self) -> Option<&str> {
        self.enroll_failure.as_deref()
    }

    /// True when `secret` was given to this serial, now or in an earlier plan.
    pub fn was_given(&self, secret: &SecretBytes) -> bool {
        self.seed.secret == *secret || self.history.iter().any(|s| s.secret == *secret)
    }
}

/// Every serial in the journal, in the order first planned.
#[derive(Clone, Debug, Default)]
pub struct JournalState {
    serials: Vec<SerialState>,
    index: HashMap<String, usize>,
}

impl JournalState {
    /// The state of one serial.
    pub fn get(&self, serial: &str) -> Option<&SerialState> {
        self.index.get(serial).map(|&i| &self.serials[i])
    }

    /// Every serial, in the order first planned.
    pub fn iter(&self) -> impl Iterator<Item = &SerialState> {
        self.serials.iter()
    }

    /// The number of serials.
    pub fn len(&self) -> usize {
        self.serials.len()
    }

    /// True when nothing was planned yet.
    pub fn is_empty(&self) -> bool {
        self.serials.is_empty()
    }

    /// Serials already burned or verified (resuming skips them).
    pub fn done_serials(&self) -> impl Iterator<Item = &str> {
        self.serials
            .iter()
            .filter(|s| s.is_done())
            .map(|s| s.seed.serial.as_str())
    }

    /// Serials whose state is uncertain, for the resume report.
    pub fn uncertain(&self) -> impl Iterator<Item = &SerialState> {
        self.serials.iter().filter(|s| s.is_uncertain())
    }

    /// The seed to burn again when this serial's token is presented on resume: the kept seed
    /// of an uncertain serial (re-burning it is always safe), `None` otherwise.
    pub fn resume_seed(&self, serial: &str) -> Option<&TokenSeed> {
        self.get(serial)
            .filter(|s| s.is_uncertain())
            .map(|s| &s.seed)
    }

    /// The serial `secret` was given to, if any (current or superseded plans): a seed
    /// given to one serial is never handed to another.
    pub fn holder_of(&self, secret: &SecretBytes) -> Option<&str> {
        self.serials
            .iter()
            .find(|s| s.was_given(secret))
            .map(|s| s.seed.serial.as_str())
    }

    /// Serials burned or verified whose seed `target` does not hold yet (a resumed
    /// enrolling batch enrolls these first), in plan order.
    pub fn not_enrolled<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a SerialState> {
        self.serials
            .iter()
            .filter(move |s| s.is_done() && !s.is_enrolled_in(target))
    }

    /// Records of the tokens burned or verified, in plan order (for exports).
    pub fn records(&self) -> Vec<TokenSeed> {
        self.serials
            .iter()
            .filter(|s| s.is_done())
            .map(|s| s.seed.clone())
            .collect()
    }

    /// Records of every token that may hold its seed (done or uncertain), in plan order.
    pub fn records_with_uncertain(&self) -> Vec<TokenSeed> {
        self.serials
            .iter()
            .filter(|s| s.may_hold_seed())
            .map(|s| s.seed.clone())
            .collect()
    }

    pub(super) fn state_name(&self, serial: &str) -> &'static str {
        self.get(serial).map_or("unknown", |s| s.status.name())
    }

    /// Checks an entry against the rules; `Err` says why it cannot apply.
    pub(super) fn check(&self, entry: &Entry) -> Result<(), JournalError> {
        let serial = entry.serial();
        let current = self.get(serial);
        let wrong = || JournalError::WrongState {
            serial: serial.to_owned(),
            wanted: entry.name(),
            state: self.state_name(serial),
        };
        match (entry, current) {
            // An uncertain token may hold its recorded seed: it is only ever planned again
            // with that seed, until proven either way.
            (Entry::Planned(seed), Some(s)) if s.is_uncertain() && !s.seed.same_seed(seed) => {
                Err(JournalError::Conflict(serial.to_owned()))
            }
            (Entry::Planned(_), _) => Ok(()),
            (Entry::Burned(_), Some(s)) if s.status == Status::Planned => Ok(()),
            (Entry::Verified(..), Some(s)) if s.is_done() => Ok(()),
            (Entry::Failed(..), Some(_)) => Ok(()),
            // Only a token that holds its seed is enrolled.
            (Entry::Enrolled(..) | Entry::EnrollFailed(..), Some(s)) if s.is_done() => Ok(()),
            _ => Err(wrong()),
        }
    }

    /// Applies a checked entry (or, on replay, a conflicting plan: both seeds are kept).
    pub(super) fn apply(&mut self, entry: Entry) {
        match entry {
            Entry::Planned(seed) => self.apply_plan(seed),
            Entry::Burned(serial) => self.set(&serial, Status::Burned),
            Entry::Verified(serial, offset) => self.set(&serial, Status::Verified { offset }),
            Entry::Failed(serial, reason, written) => {
                self.set(&serial, Status::Failed { reason, written })
            }
            Entry::Enrolled(serial, target) => {
                if let Some(&i) = self.index.get(&serial) {
                    let s = &mut self.serials[i];
                    if !s.is_enrolled_in(&target) {
                        s.enrolled.push(target);
                    }
                    s.enroll_failure = None;
                }
            }
            Entry::EnrollFailed(serial, reason) => {
                if let Some(&i) = self.index.get(&serial) {
                    self.serials[i].enroll_failure = Some(reason);
                }
            }
        }
    }

    fn apply_plan(&mut self, seed: TokenSeed) {
        let Some(&i) = self.index.get(&seed.serial) else {
            self.index.insert(seed.serial.clone(), self.serials.len());
            self.serials.push(SerialState {
                seed,
                status: Status::Planned,
                history: Vec::new(),
                uncertain: true,
                uncertain_before_plan: false,
                enrolled: Vec::new(),
                enroll_failure: None,
            });
            return;
        };
        let s = &mut self.serials[i];
        if s.seed.same_seed(&seed) {
            s.seed = seed;
        } else {
            let old = std::mem::replace(&mut s.seed, seed);
            s.history.push(old);
            // The servers hold the old seed, not this one.
            s.enrolled.clear();
            s.enroll_failure = None;
        }
        s.uncertain_before_plan = s.uncertain;
        s.uncertain = true;
        s.status = Status::Planned;
    }

    fn set(&mut self, serial: &str, status: Status) {
        let Some(&i) = self.index.get(serial) else {
            return;
        };
        let s = &mut self.serials[i];
        s.uncertain = match &status {
            Status::Burned | Status::Verified { .. } => false,
            Status::Failed { written, .. } => {
                !written.proves_blank() && (s.uncertain_before_plan || written.may_hold_seed())
            }
            Status::Planned => true,
        };
        if !s.uncertain {
            s.uncertain_before_plan = false;
        }
        s.status = status;
    }
}
