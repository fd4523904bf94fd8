//! upkeep keeps infrastructure repositories up to date.
//!
//! The library holds every pipeline stage; the `upkeep` binary is a thin
//! shell around [`cli::main`]. Pure stages (`version`, `manifest`, `rollout`)
//! take data and return data: no network, no clock, no database.

pub mod catalog;
pub mod check;
pub mod cli;
pub mod env;
pub mod forge;
pub mod git;
pub mod inventory;
pub mod located;
pub mod manifest;
pub mod notify;
pub mod pipeline;
pub mod plan;
pub mod poll;
pub mod publish;
pub mod registry;
pub mod release;
pub mod render;
pub mod rollout;
pub mod rules;
pub mod serve;
pub mod settings;
pub mod store;
pub mod version;
pub mod yaml;
