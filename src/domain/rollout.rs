//! Rollout decisions: pure. No clock, no I/O: `now` comes in as a parameter.
//!
//! - [`window`]: maintenance windows (`Tue-Thu 09:00-17:00` in an IANA time
//!   zone): is a window open at an instant, when does the next one open, when
//!   does the current one close.
//! - [`compress`]: deadline-aware soak compression: how long each remaining
//!   wave of a release soaks so that every wave is reached before a fork
//!   activation.
//! - [`verify`]: after a merge, does the cluster run what was merged
//!   (convergence, drift) and are the health gates green.

pub mod compress;
pub mod decide;
pub mod traffic;
pub mod verify;
pub mod view;
pub mod window;
