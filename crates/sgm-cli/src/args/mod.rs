//! Argument groups shared by several commands: which data set to read ([`DataArgs`]) and how hub weights are
//! found ([`HubArgs`]). Each command's own arguments live beside it in `commands/`.

mod data;
mod hub;

pub use data::{DataArgs, SYNTH};
pub use hub::{resolve_init, resolve_weights, HubArgs};
