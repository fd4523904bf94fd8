//! Upstream releases as the pipeline sees them: the domain type the forge
//! produces and the rule engine, the planner and the renderers consume.
//!
//! Deserialises from GitHub's release JSON (unknown fields ignored) so that
//! `upkeep release classify --release FILE` takes what the API returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One GitHub release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The git tag (`v7.0.0`).
    pub tag_name: String,
    /// The release title; often the version, sometimes a code name.
    #[serde(default)]
    pub name: Option<String>,
    /// Release notes (markdown).
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub draft: bool,
    /// GitHub's pre-release flag (the tag's own grammar counts too).
    #[serde(default)]
    pub prerelease: bool,
    /// When the release was published; `None` for drafts.
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub html_url: Option<String>,
}

impl Release {
    /// The notes, or an empty string.
    pub fn notes(&self) -> &str {
        self.body.as_deref().unwrap_or_default()
    }
}
