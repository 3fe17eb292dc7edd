//! Argument groups shared by several commands: which data set to read ([`DataArgs`]) and how hub weights are
//! found ([`HubArgs`]). Each command's own arguments live beside it in `commands/`.

mod data;
mod hub;

pub use data::{DataArgs, LoadFlags, SYNTH};
pub use hub::{resolve_init, resolve_weights, HubArgs};

/// A data set's load error for the command line: a missing data set as it is (its message says where to get it),
/// any other error with the data set's name as context.
pub fn loading(e: sgm_data::DataError, name: &str) -> anyhow::Error {
    match e {
        e @ sgm_data::DataError::DatasetNotFound { .. } => e.into(),
        e => anyhow::Error::new(e).context(format!("loading {name}")),
    }
}
