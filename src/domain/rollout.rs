//! Rollout decisions: pure. No clock, no I/O: `now` comes in as a parameter.
//!
//! - [`decide`]: where each release stands in a repository's waves, and
//!   which findings may become pull requests now.
//! - [`traffic`]: `max_open` and `max_per_hour`, the most urgent first.
//! - [`view`]: rollouts as table rows, markdown and JSON.
//! - [`window`]: maintenance windows (`Tue-Thu 09:00-17:00` in an IANA time
//!   zone): is a window open at an instant, when does the next one open, when
//!   does the current one close.
//! - [`couple`]: upgrades that must travel together: both layers of an
//!   environment for a fork.
//! - [`compress`]: deadline-aware soak compression: how long each remaining
//!   wave of a release soaks so that every wave is reached before a fork
//!   activation.
//! - [`wake`]: when a pending wave next may open (for `serve`), and
//!   which waves wait for their next maintenance window.
//! - [`verify`]: after a merge, does the cluster run what was merged
//!   (convergence, drift) and are the health gates green.

pub mod compress;
pub mod couple;
pub mod decide;
pub mod traffic;
pub mod verify;
pub mod view;
pub mod wake;
pub mod window;
