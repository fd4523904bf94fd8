//! upkeep keeps infrastructure repositories up to date.
//!
//! The library holds every pipeline stage; the `upkeep` binary is a thin
//! shell around [`cli::main`]. Pure stages (`version`, `manifest`) take data and
//! return data: no network, no clock, no database.

pub mod cli;
pub mod manifest;
pub mod release;
pub mod settings;
pub mod version;
pub mod yaml;
