//! Errors of the application layer: what can stop one repository's pass.
//! Each becomes a line of the run report (`Failure`), never a crash.

use crate::app::publish::PublishError;
use crate::io::forge::ForgeError;
use crate::io::git::GitError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("{0}: not a directory")]
    NotADirectory(String),
    /// A background task died (a panic in blocking git work).
    #[error("{what} stopped unexpectedly: {cause}")]
    Task { what: String, cause: String },
    /// A panic while handling one repository, caught at its boundary
    /// ([`crate::app::isolate`]).
    #[error("{0}")]
    Panicked(String),
    /// The check did not read this repository's base branch.
    #[error("{0}: its base branch was not read in this pass")]
    NotChecked(String),
}
