//! Shared by the batch tests: a station that presents *existing* virtual tokens (so that a
//! resumed batch meets the very tokens an earlier run left behind), a transport that swaps
//! the token between the read and the burn, and the checks that compare a journal with
//! the virtual tokens' real state.
//!
//! The checks take their truth from the virtual token (`VirtualToken::state()`, which
//! decodes the protocol on its own) and from the journal file, never from the engine's
//! report about itself.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use safeid::batch::{BatchConfig, BatchSeeds};
use safeid::journal::{JournalOptions, JournalState};
use safeid::record::HmacAlgorithm;
use safeid::secret::SecretBytes;
use safeid::token::Provisioner;
use safeid::transport::{Station, Transaction, Transport, TransportError};
use safeid_sim::{Faults, ManualClock, SimTransport, TokenSpec, TokenState, VirtualToken};

/// 2027-01-15T08:00:05Z: after the build date, inside a 30 s step.
pub const T0: u64 = 1_800_000_005;

/// The protocol pads a seed to at least this many bytes (docs/protocol.md section 3,
/// write seed): the token stores a shorter seed zero-extended.
pub const MIN_FRAME: usize = 20;

/// A shared virtual token.
pub type Token = Arc<Mutex<VirtualToken>>;

/// A virtual token with this serial (Token2 key), its clock on `clock`.
pub fn token(serial: &str, clock: &ManualClock) -> Token {
    token_from(TokenSpec::token2(serial), clock)
}

/// A virtual token from `spec`.
pub fn token_from(spec: TokenSpec, clock: &ManualClock) -> Token {
    Arc::new(Mutex::new(VirtualToken::new(spec, Arc::new(clock.clone()))))
}

/// The token's state now.
pub fn state(token: &Token) -> TokenState {
    token.lock().unwrap_or_else(PoisonError::into_inner).state()
}

/// The instruction bytes the token processed, oldest first.
pub fn ins_log(token: &Token) -> Vec<u8> {
    state(token).apdu_log.iter().filter_map(|e| e.ins).collect()
}

/// A provisioner on the test clock.
pub fn provisioner(clock: &ManualClock) -> Provisioner {
    Provisioner::new().with_clock(Arc::new(clock.clone()))
}

/// A batch configuration on the test clock (journal fsync as given).
pub fn config(
    journal: &std::path::Path,
    seeds: BatchSeeds,
    clock: &ManualClock,
    fsync: bool,
) -> BatchConfig {
    let mut c = BatchConfig::new(journal, seeds);
    c.provisioner = provisioner(clock);
    c.journal_options = JournalOptions { fsync };
    c
}

/// Fresh 20-byte SHA-1 / 30 s seeds, the vendor tool's default.
pub fn random_seeds() -> BatchSeeds {
    BatchSeeds::Random {
        bytes: 20,
        hash: HmacAlgorithm::Sha1,
        period: 30,
    }
}

/// The seed as the token stores it: zero-extended to [`MIN_FRAME`] bytes, upper-case hex
/// (the format of `TokenState::seed_hex`).
pub fn stored_hex(secret: &[u8]) -> String {
    let mut b = secret.to_vec();
    if b.len() < MIN_FRAME {
        b.resize(MIN_FRAME, 0);
    }
    data_encoding::HEXUPPER.encode(&b)
}

/// [`stored_hex`] of a secret.
pub fn stored(secret: &SecretBytes) -> String {
    stored_hex(secret.expose())
}

/// The sim's name of a hash function, to compare a token's config with a record.
pub fn sim_hmac(h: HmacAlgorithm) -> safeid_sim::HmacAlgorithm {
    match h {
        HmacAlgorithm::Sha1 => safeid_sim::HmacAlgorithm::Sha1,
        HmacAlgorithm::Sha256 => safeid_sim::HmacAlgorithm::Sha256,
    }
}

/// One token placed on a [`PoolStation`]: the token, the faults of its transport, and
/// optionally another token that takes its place after the first transaction (the read)
/// - a token swapped between reading the serial and burning.
pub struct Presentation {
    /// The token placed.
    pub token: Token,
    /// Faults of this placement's transport.
    pub faults: Faults,
    /// The token on the reader from the second transaction on.
    pub swap_to: Option<Token>,
}

impl Presentation {
    /// The token, without faults.
    pub fn plain(token: &Token) -> Self {
        Self::with(token, Faults::default())
    }

    /// The token with faults.
    pub fn with(token: &Token, faults: Faults) -> Self {
        Self {
            token: Arc::clone(token),
            faults,
            swap_to: None,
        }
    }

    /// `token` is read, then `other` is burned.
    pub fn swapped(token: &Token, other: &Token) -> Self {
        Self {
            token: Arc::clone(token),
            faults: Faults::default(),
            swap_to: Some(Arc::clone(other)),
        }
    }
}

/// Called around every APDU a [`PoolStation`]'s transports carry: `false` before it is
/// handed to the token, `true` once the token has answered (or the transmit failed).
pub type ApduHook = Arc<dyn Fn(bool) + Send + Sync>;

/// A station that presents existing tokens in order (each leaves the reader, powering
/// off, when the next is asked for).
pub struct PoolStation {
    name: String,
    queue: VecDeque<Presentation>,
    current: Option<PoolTransport>,
    hook: Option<ApduHook>,
}

impl PoolStation {
    /// A station named `name` presenting `queue`.
    pub fn new(name: impl Into<String>, queue: Vec<Presentation>) -> Self {
        Self {
            name: name.into(),
            queue: queue.into(),
            current: None,
            hook: None,
        }
    }

    /// The same, calling `hook` around every APDU.
    pub fn with_hook(mut self, hook: ApduHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The same, boxed for [`safeid::batch::PreparedBatch::run`].
    pub fn boxed(name: impl Into<String>, queue: Vec<Presentation>) -> Box<dyn Station> {
        Box::new(Self::new(name, queue))
    }
}

impl Station for PoolStation {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn next_token(
        &mut self,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<&mut dyn Transport>, TransportError> {
        if let Some(previous) = self.current.take() {
            previous.power_off();
        }
        if stop() {
            return Ok(None);
        }
        let Some(p) = self.queue.pop_front() else {
            return Ok(None);
        };
        let transport = PoolTransport {
            first: SimTransport::with_faults(p.token, p.faults),
            swap_to: p.swap_to.map(SimTransport::new),
            transactions: 0,
            hook: self.hook.clone(),
        };
        Ok(Some(self.current.insert(transport)))
    }
}

/// The transport of one presentation: the first transaction goes to the placed token,
/// later ones to the swapped-in token if there is one.
pub struct PoolTransport {
    first: SimTransport,
    swap_to: Option<SimTransport>,
    transactions: usize,
    hook: Option<ApduHook>,
}

/// A transaction that calls the station's hook around every APDU.
struct HookedTransaction<'a> {
    inner: Box<dyn Transaction + 'a>,
    hook: ApduHook,
}

impl Transaction for HookedTransaction<'_> {
    fn transmit_raw(&mut self, command: &[u8]) -> Result<Vec<u8>, TransportError> {
        (self.hook)(false);
        let reply = self.inner.transmit_raw(command);
        (self.hook)(true);
        reply
    }
}

impl PoolTransport {
    fn power_off(&self) {
        for t in std::iter::once(&self.first).chain(self.swap_to.as_ref()) {
            t.token()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .power_off();
        }
    }

    fn active(&mut self) -> &mut SimTransport {
        match (&mut self.swap_to, self.transactions) {
            (Some(other), n) if n > 1 => other,
            _ => &mut self.first,
        }
    }
}

impl Transport for PoolTransport {
    fn name(&self) -> String {
        self.first.name()
    }

    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, TransportError> {
        self.transactions += 1;
        if self.transactions == 2 && self.swap_to.is_some() {
            // The first token leaves the field as the other one is put down.
            self.first
                .token()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .power_off();
        }
        let hook = self.hook.clone();
        let inner = self.active().begin()?;
        Ok(match hook {
            Some(hook) => Box::new(HookedTransaction { inner, hook }),
            None => inner,
        })
    }

    fn reset(&mut self) -> Result<(), TransportError> {
        self.active().reset()
    }
}

/// Every seed a token holds is one the journal gave to that token's serial (now or in
/// an earlier, superseded plan): no seed is lost and none is misattributed. Tokens the
/// journal does not know hold no seed.
pub fn assert_no_seed_lost(states: &[TokenState], journal: &JournalState, what: &str) {
    for s in states {
        let Some(seed) = &s.seed_hex else { continue };
        let entry = journal.get(&s.serial).unwrap_or_else(|| {
            panic!(
                "{what}: token {} holds a seed the journal does not know",
                s.serial
            )
        });
        let known = std::iter::once(&entry.seed)
            .chain(&entry.history)
            .any(|r| stored(&r.secret) == *seed);
        assert!(
            known,
            "{what}: token {} holds a seed the journal never gave it",
            s.serial
        );
    }
}

/// Every token the journal calls burned or verified holds exactly the journal's seed for
/// it, with the journal's hash function and time step.
pub fn assert_done_tokens_hold_their_seed(
    states: &[TokenState],
    journal: &JournalState,
    what: &str,
) {
    let by_serial: HashMap<&str, &TokenState> =
        states.iter().map(|s| (s.serial.as_str(), s)).collect();
    for entry in journal.iter().filter(|e| e.is_done()) {
        let serial = entry.seed.serial.as_str();
        let Some(token) = by_serial.get(serial) else {
            continue;
        };
        assert_eq!(
            token.seed_hex.as_deref(),
            Some(stored(&entry.seed.secret).as_str()),
            "{what}: token {serial} is done in the journal but holds another seed"
        );
        assert_eq!(
            token.config.hmac,
            sim_hmac(entry.seed.hash),
            "{what}: token {serial}'s hash function"
        );
        assert_eq!(
            token.config.step_s, entry.seed.period,
            "{what}: token {serial}'s time step"
        );
    }
}

/// No secret is in the journal under two serials (current or superseded plans).
pub fn assert_each_secret_has_one_serial(journal: &JournalState, what: &str) {
    let mut holder: HashMap<String, &str> = HashMap::new();
    for entry in journal.iter() {
        for r in std::iter::once(&entry.seed).chain(&entry.history) {
            let key = data_encoding::HEXUPPER.encode(r.secret.expose());
            let serial = entry.seed.serial.as_str();
            if let Some(other) = holder.insert(key, serial) {
                assert_eq!(
                    other, serial,
                    "{what}: one secret was given to {other} and to {serial}"
                );
            }
        }
    }
}

/// No two tokens hold the same seed.
pub fn assert_tokens_hold_distinct_seeds(states: &[TokenState], what: &str) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for s in states {
        if let Some(seed) = &s.seed_hex
            && let Some(other) = seen.insert(seed, &s.serial)
        {
            panic!("{what}: tokens {other} and {} hold the same seed", s.serial);
        }
    }
}

/// Reads back a vendor CSV export (base32, as the batch writes it by default).
pub fn read_vendor(path: &std::path::Path) -> Vec<safeid::record::TokenSeed> {
    let text = std::fs::read_to_string(path).unwrap();
    let options = safeid::sources::SeedFileOptions {
        encoding: Some(safeid::sources::SecretEncoding::Base32),
        ..Default::default()
    };
    safeid::export::read_vendor_csv(&text, &options).unwrap()
}

/// Reads back a PSKC export.
pub fn read_pskc(path: &std::path::Path) -> Vec<safeid::record::TokenSeed> {
    safeid::export::read_pskc(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Nothing is exported that a token may not hold: every exported record names a token
/// that holds exactly its seed (and, where the format says, its hash and step).
pub fn assert_exports_held(
    records: &[safeid::record::TokenSeed],
    states: &[TokenState],
    with_params: bool,
    what: &str,
) {
    let mut seen = std::collections::HashSet::new();
    for r in records {
        assert!(
            seen.insert(r.serial.clone()),
            "{what}: {} exported twice",
            r.serial
        );
        let token = states
            .iter()
            .find(|s| s.serial == r.serial)
            .unwrap_or_else(|| panic!("{what}: export names unknown serial {}", r.serial));
        assert_eq!(
            token.seed_hex.as_deref(),
            Some(stored(&r.secret).as_str()),
            "{what}: the export's seed for {} is not on the token",
            r.serial
        );
        if with_params {
            assert_eq!(token.config.hmac, sim_hmac(r.hash), "{what}: {}", r.serial);
            assert_eq!(token.config.step_s, r.period, "{what}: {}", r.serial);
        }
    }
}
