#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod apdu;
mod config;
pub mod crypto;
mod error;
mod keys;
pub mod model;
mod reply;
mod status;

pub use apdu::{
    Command, MIN_SEED_FRAME, authenticate, frame_seed, get_challenge, get_info, select_fallback,
    write_config, write_seed,
};
pub use config::{DisplayTimeout, HmacAlgorithm, TimeStep, TokenConfig};
pub use error::{ModelTableError, ProtoError};
pub use keys::{AccessKey, Challenge, MAX_SEED_BYTES, Seed, TOKEN2_KEY};
pub use model::{MAX_MODEL_TABLE_BYTES, Model, ModelFormat, ModelTable};
pub use reply::{Info, parse_challenge, parse_info, parse_status};
pub use status::{StatusWord, split_reply};
