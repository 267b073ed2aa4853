#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use safeid_otpauth as otpauth;
pub use safeid_proto as proto;
pub use safeid_qr as qr;
pub use safeid_secret as secret;
pub use safeid_sim as sim;
pub use safeid_totp as totp;
pub use safeid_transport as transport;

pub mod batch;
pub mod enroll;
pub mod export;
pub mod journal;
pub mod record;
pub mod sources;

pub mod clock;
pub mod content;
pub mod error;
pub mod keys;
pub mod plan;
pub mod report;
pub mod session;

pub use error::{Outcome, SessionError, Stage, WriteState};
pub use plan::{BurnPlan, Conversion, PlanError, PlanOptions};
pub use report::{BurnReport, ExpectedCodes};
pub use session::{ClockSettings, KeySource, Session, TokenStatus};
