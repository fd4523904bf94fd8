//! The one integration-test binary. Each module covers one command or stage;
//! `support` holds shared helpers.

mod architecture;
mod bump;
mod catalog;
mod check;
mod fuzz;
mod git;
mod github_double;
mod inventory;
mod notify;
mod prometheus;
mod readiness;
mod registry;
mod render;
mod repo_config;
mod rollout;
mod rules;
mod run;
mod scan;
mod serve;
mod settings;
mod support;
mod transport;
mod webhook;
