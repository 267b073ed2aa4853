#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use safeid_otpauth as otpauth;
pub use safeid_proto as proto;
pub use safeid_qr as qr;
pub use safeid_secret as secret;
pub use safeid_totp as totp;
pub use safeid_transport as transport;

pub mod batch;
pub mod clock;
pub mod content;
pub mod enroll;
pub mod error;
pub mod export;
pub mod journal;
pub mod keys;
pub mod plan;
pub mod probe;
pub mod record;
pub mod report;
pub mod session;
pub mod sources;
pub mod token;

pub use error::{Hint, Outcome, SessionError, Stage, WriteState};
pub use plan::{Acceptance, BurnPlan, Conversion, PlanError, PlanOptions, Risk};
pub use report::{BurnReport, ExpectedCodes, KeySource, TokenStatus};
pub use session::{ClockSettings, Session};
pub use token::{BurnOptions, Burned, PendingBurn, Provisioner, Verdict, Verification};
