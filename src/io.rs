//! Adapters to the outside world. Each client keeps only what is specific
//! to its API; timeouts, retries and transport rules are shared.

pub mod forge;
pub mod git;
pub mod poll;
pub mod registry;
pub mod slack;
pub mod store;
