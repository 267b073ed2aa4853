//! Waiting for a token to arrive on or leave a reader, with SCardGetStatusChange and a
//! timeout (never an infinite wait).

use std::ffi::CStr;
use std::fmt;
use std::time::{Duration, Instant};

use pcsc::{Context, Error, ReaderState, State};
use safeid_transport::TransportError;

use crate::error::map_error;

/// What [`WaitPolicy::on_wait`] is told when the reader is empty.
pub const WAIT_MESSAGE: &str = "switch the token on and place it face down on the reader";

/// A callback that shows a message to the user.
pub type Prompt = Box<dyn FnMut(&str)>;

/// How [`PcscTransport::open`](crate::PcscTransport::open) waits for a token that is not
/// on the reader yet.
pub struct WaitPolicy {
    /// How long to wait for a token; `Duration::ZERO` does not wait at all.
    pub timeout: Duration,
    /// Called once, with [`WAIT_MESSAGE`], when the wait begins (to prompt the user).
    pub on_wait: Option<Prompt>,
}

impl WaitPolicy {
    /// Waits up to `timeout`, silently.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            on_wait: None,
        }
    }

    /// Does not wait: a missing token is [`TransportError::NoCard`] at once.
    pub fn no_wait() -> Self {
        Self::new(Duration::ZERO)
    }

    /// Sets the callback that prompts the user.
    pub fn on_wait(mut self, prompt: impl FnMut(&str) + 'static) -> Self {
        self.on_wait = Some(Box::new(prompt));
        self
    }
}

impl fmt::Debug for WaitPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitPolicy")
            .field("timeout", &self.timeout)
            .field("on_wait", &self.on_wait.as_ref().map(|_| "<callback>"))
            .finish()
    }
}

/// Waits until `done(state)` holds for `reader`, at most `timeout`. Returns whether it
/// did; `before_wait` runs once if the first look was not enough.
pub(crate) fn wait_for_state(
    context: &Context,
    reader: &CStr,
    timeout: Duration,
    done: impl Fn(State) -> bool,
    mut before_wait: impl FnMut(),
) -> Result<bool, TransportError> {
    let start = Instant::now();
    let mut states = [ReaderState::new(reader.to_owned(), State::UNAWARE)];
    // With UNAWARE as the known state, this returns the current state at once.
    match context.get_status_change(Duration::ZERO, &mut states) {
        Ok(()) | Err(Error::Timeout) => {}
        Err(e) => return Err(map_error(e)),
    }
    let mut waited = false;
    loop {
        let state = states[0].event_state();
        if state.intersects(State::UNKNOWN | State::UNAVAILABLE) {
            return Err(TransportError::ReaderUnavailable);
        }
        if done(state) {
            return Ok(true);
        }
        let remaining = timeout.saturating_sub(start.elapsed());
        if remaining.is_zero() {
            return Ok(false);
        }
        if !waited {
            before_wait();
            waited = true;
        }
        states[0].sync_current_state();
        match context.get_status_change(remaining, &mut states) {
            Ok(()) => {}
            Err(Error::Timeout) => return Ok(false),
            Err(e) => return Err(map_error(e)),
        }
    }
}

/// A token that answers: present and not mute.
pub(crate) fn card_ready(state: State) -> bool {
    state.contains(State::PRESENT) && !state.contains(State::MUTE)
}

/// The reader is empty.
pub(crate) fn card_gone(state: State) -> bool {
    state.contains(State::EMPTY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_predicates() {
        assert!(card_ready(State::PRESENT | State::INUSE));
        assert!(!card_ready(State::PRESENT | State::MUTE));
        assert!(!card_ready(State::EMPTY));
        assert!(card_gone(State::EMPTY));
        assert!(!card_gone(State::PRESENT | State::INUSE));
        assert!(
            !card_gone(State::empty()),
            "no information is not a removal"
        );
    }

    #[test]
    fn policy_debug_hides_the_closure() {
        let policy = WaitPolicy::new(Duration::from_secs(3)).on_wait(|_| {});
        assert_eq!(
            format!("{policy:?}"),
            r#"WaitPolicy { timeout: 3s, on_wait: Some("<callback>") }"#
        );
        assert_eq!(WaitPolicy::no_wait().timeout, Duration::ZERO);
    }
}
