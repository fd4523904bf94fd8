//! Settings errors: where (file and position, or environment variable) and
//! what, as [`crate::domain::located`] reports every problem in a user's file.
//!
//! Displayed as `upkeep.yml:3:5: unknown field ...` for a problem in the
//! file, `UPKEEP_PULL_REQUESTS__GROUP: unknown variant ...` for one in an
//! environment override, `upkeep.yml: ...` when there is no position.

pub use crate::domain::located::{Located as SettingsError, Problems as SettingsErrors};
