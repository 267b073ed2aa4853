//! Host time sources for the virtual token: the workspace's one clock trait, from
//! `safeid-transport`. The token keeps its own clock on top of one of these (see
//! [`crate::VirtualToken::clock`]), so tests can move time by hand.

pub use safeid_transport::clock::{Clock, ManualClock, SystemClock};
