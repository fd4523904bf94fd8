//! upkeep keeps infrastructure repositories up to date.
//!
//! The library is three layers, and the folders say which is which:
//!
//! - [`domain`]: the pure core. Data in, data out: version schemes,
//!   manifests, catalog, rules, evaluation, planning, rendering, rollout
//!   decisions, notification composition. It imports no tokio, octocrab,
//!   git2, rusqlite, hyper or axum and never reads the clock (`now` is a
//!   parameter); `tests/it/architecture.rs` fails when it does.
//! - [`io`]: the adapters to the outside world: one HTTP layer and the
//!   clients on it (GitHub, OCI registries, Slack), git, the state store.
//! - [`app`]: the application that wires them: the context built once for
//!   CLI, job and App, and the orchestration of check, run, serve, notify
//!   and inventory.
//!
//! The `upkeep` binary is a thin shell around [`app::cli::main`].

pub mod app;
pub mod domain;
pub mod env;
pub mod io;
