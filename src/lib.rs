#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use safeid_otpauth as otpauth;
pub use safeid_proto as proto;
pub use safeid_secret as secret;
pub use safeid_sim as sim;
pub use safeid_totp as totp;
pub use safeid_transport as transport;

pub mod export;
pub mod journal;
pub mod record;
pub mod sources;
