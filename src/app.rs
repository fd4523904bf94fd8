//! The application: turns settings and the environment into a
//! [`context::Context`] (one place, for CLI, job and App mode) and
//! orchestrates the pipeline stages over the I/O adapters.

pub mod check;
pub mod cli;
pub mod context;
pub mod dashboard;
pub mod error;
pub mod inventory;
pub mod isolate;
pub mod notify;
pub mod onboard;
pub mod pipeline;
pub mod publish;
pub mod readiness;
pub mod rollback;
pub mod schedule;
pub mod serve;
