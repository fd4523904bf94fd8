//! The one integration-test binary. Each module covers one command or stage;
//! `support` holds shared helpers.

mod architecture;
mod bump;
mod catalog;
mod check;
mod fuzz;
mod git;
mod github_double;
mod github_limits;
mod inventory;
mod notify;
mod prometheus;
mod registry;
mod render;
mod replicas;
mod repo_config;
mod rollout;
mod rules;
mod run;
mod scan;
mod serve;
mod settings;
mod store;
mod support;
mod transport;
mod versions;
mod webhook;
