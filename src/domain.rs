//! The pure core: every pipeline decision, as functions from data to data.
//!
//! Nothing here talks to the network, a database or git, and nothing reads
//! the clock: `now` comes in as a parameter, and whatever the world holds
//! (releases, files, pull requests, registry answers) comes in as data
//! gathered by [`crate::app`] through [`crate::io`]. Reading a deployment
//! tree from the file system (`manifest`) and rule files (`rules`) are the
//! only reads.

pub mod advisory;
pub mod catalog;
pub mod dashboard;
pub mod evaluate;
pub mod inventory;
pub mod live;
pub mod located;
pub mod manifest;
pub mod notify;
pub mod onboard;
pub mod plan;
pub mod printable;
pub mod readiness;
pub mod release;
pub mod render;
pub mod repo;
pub mod rollback;
pub mod rollout;
pub mod rules;
pub mod settings;
pub mod version;
pub mod yaml;
