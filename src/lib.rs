//! upkeep keeps infrastructure repositories up to date.
//!
//! The library holds every pipeline stage; the `upkeep` binary is a thin
//! shell around [`cli::main`]. Pure stages (`version`, `manifest`) take data and
//! return data: no network, no clock, no database.

pub mod catalog;
pub mod check;
pub mod cli;
pub mod env;
pub mod forge;
pub mod git;
pub mod manifest;
pub mod poll;
pub mod release;
pub mod settings;
pub mod store;
pub mod version;
pub mod yaml;
