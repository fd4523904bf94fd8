//! Adapters to the outside world. Each client keeps only what is specific
//! to its API; timeouts, retries and transport rules are shared: they live
//! in [`http`], the one HTTP layer (the forge keeps octocrab as its
//! transport but takes backoff, `Retry-After` and the loopback rule from
//! it).

pub mod forge;
pub mod git;
pub mod http;
pub mod poll;
pub mod prometheus;
pub mod registry;
pub mod slack;
pub mod store;
