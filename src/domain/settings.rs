//! Settings (`upkeep.yml`): loading, validation, error positions, schema.
//!
//! The file is read with the `config` crate and merged with environment
//! overrides `UPKEEP_<SECTION>__<KEY>` (only variables with a `__` after the
//! prefix: `UPKEEP_GITHUB_TOKEN`, `UPKEEP_STATE` and friends are not settings
//! and are ignored here). The merged tree is deserialized into [`RawSettings`]
//! (serde, unknown keys refused) through `serde_path_to_error`, then checked
//! into the typed [`Settings`] (durations, cron schedules, globs, versioning
//! schemes, tag templates). Every problem becomes a [`SettingsError`] naming
//! the file, line and column, or the environment variable that set the
//! value: a section that fails to read is read again from the positioned
//! tree by [`crate::domain::yaml::from_node`]'s deserializer (the one rule and
//! catalog files are read with), and problems found by the checks are placed
//! by [`crate::domain::yaml::locate`]. One load reports all the problems it
//! can find as [`SettingsErrors`].
//!
//! This module only reads the settings file it is given (or `./upkeep.yml`)
//! and the environment map passed in: no network, no other files, no process
//! environment of its own, no secrets (those stay in the environment and are
//! read by the modules that need them). It never panics on bad input.

mod duration;
mod error;
mod issue;
mod load;
mod raw;
mod repo_file;
mod types;
mod validate;

pub use duration::{format_duration, parse_duration};
pub use error::{SettingsError, SettingsErrors};
pub use load::{DEFAULT_FILE, ENV_PREFIX, ENV_SEPARATOR, load, load_str};
pub use raw::{
    RawEnvironment, RawImage, RawPullRequests, RawRegistries, RawRepoPullRequests, RawRepoRollout,
    RawRepository, RawRollout, RawSchedule, RawSettings, RawSlack, RawSlackRoute, RawUpstream,
    schema,
};
pub use repo_file::{REPO_FILE, load_repo_file};
pub use types::{
    Cron, DEFAULT_ALERTS, DEFAULT_CHANNEL, DEFAULT_LABEL, DEFAULT_POLL, DEFAULT_REMINDERS,
    Environment, ForkMinimum, Group, Ignore, ImageMapping, Network, PullRequests, Registries,
    RepoOverrides, RepoSource, Repository, Rollout, Schedule, ScheduleSources, Scheme, Settings,
    Slack, SlackRoute, TagTemplate, Upstream, UpstreamGroup,
};
