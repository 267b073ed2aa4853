//! The desk app driven headless by egui_kittest (AccessKit queries by label and role)
//! against virtual tokens: the whole single-token flow, the refusals, a batch with a token
//! removed mid-burn and resumed, and the layout at 100 % and 200 %.
#![allow(clippy::unwrap_used)]

mod batch;
mod common;
mod flow;
mod layout;
mod refusals;
