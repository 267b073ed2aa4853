//! A stream of virtual tokens for batch tests: a [`Station`] that "places" a new virtual
//! token for every serial it is given, and keeps every token it placed for inspection.

use std::sync::{Arc, Mutex, PoisonError};

use safeid_transport::{Station, Transport, TransportError};

use crate::{Clock, Faults, SimTransport, TokenSpec, VirtualToken};

/// Serials shared by several stations (each serial is handed out once).
pub type SerialQueue = Arc<Mutex<Box<dyn Iterator<Item = String> + Send>>>;

/// Makes a queue of `count` serials `prefix` + zero-padded number, starting at `first`.
pub fn serial_queue(prefix: &str, first: u64, count: u64, width: usize) -> SerialQueue {
    let prefix = prefix.to_owned();
    let iter = (first..first.saturating_add(count)).map(move |n| format!("{prefix}{n:0width$}"));
    Arc::new(Mutex::new(Box::new(iter)))
}

/// How a station builds each token: its spec and the faults of its transport.
pub type TokenFactory = Arc<dyn Fn(&str) -> (TokenSpec, Faults) + Send + Sync>;

/// Every virtual token placed so far, in order.
pub type Placed = Arc<Mutex<Vec<Arc<Mutex<VirtualToken>>>>>;

/// A virtual reader at which a new virtual token appears for every serial in the queue.
pub struct SimStation {
    name: String,
    serials: SerialQueue,
    factory: TokenFactory,
    clock: Arc<dyn Clock>,
    current: Option<SimTransport>,
    placed: Placed,
}

impl SimStation {
    /// A station named `name` that takes serials from `serials` and builds Token2-keyed
    /// tokens (restrictedness from the prefix), without faults.
    pub fn new(name: impl Into<String>, serials: SerialQueue, clock: Arc<dyn Clock>) -> Self {
        let factory: TokenFactory =
            Arc::new(|serial: &str| (TokenSpec::token2(serial), Faults::default()));
        Self::with_factory(name, serials, clock, factory)
    }

    /// A station whose tokens (and their transports' faults) come from `factory`.
    pub fn with_factory(
        name: impl Into<String>,
        serials: SerialQueue,
        clock: Arc<dyn Clock>,
        factory: TokenFactory,
    ) -> Self {
        Self {
            name: name.into(),
            serials,
            factory,
            clock,
            current: None,
            placed: Arc::default(),
        }
    }

    /// Shares the list of placed tokens with another station (or keeps it for a test).
    pub fn with_placed(mut self, placed: Placed) -> Self {
        self.placed = placed;
        self
    }

    /// Every token this station (and those sharing its list) placed.
    pub fn placed(&self) -> Placed {
        Arc::clone(&self.placed)
    }
}

impl Station for SimStation {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn next_token(
        &mut self,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<&mut dyn Transport>, TransportError> {
        if let Some(previous) = self.current.take() {
            // Taken off the reader: the token powers off.
            previous
                .token()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .power_off();
        }
        if stop() {
            return Ok(None);
        }
        let serial = self
            .serials
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next();
        let Some(serial) = serial else {
            return Ok(None);
        };
        let (spec, faults) = (self.factory)(&serial);
        let token = Arc::new(Mutex::new(VirtualToken::new(spec, Arc::clone(&self.clock))));
        self.placed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&token));
        let transport = self
            .current
            .insert(SimTransport::with_faults(token, faults));
        Ok(Some(transport))
    }
}
