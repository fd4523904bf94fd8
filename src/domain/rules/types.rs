//! What the rule engine returns: finding [`Code`]s, [`Priority`], the
//! [`Classification`] of a release (serialised exactly as the contract's
//! `release classify --format json`), and [`Finding`]s for deployed
//! references with their [`Deadline`].
//!
//! Data only: no logic beyond ordering and small accessors.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A finding code: stable, kebab-case, documented in `rules/README.md`.
///
/// Ordered by urgency (the order codes are listed in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// The release enables, schedules or supports a fork on a named network,
    /// or a deployment must be upgraded before a scheduled fork.
    HardFork,
    /// A fork deadline has passed and the deployment is still below the
    /// fork's minimum version.
    Overdue,
    /// The notes say the upgrade is required (must, required, mandatory).
    Mandatory,
    /// The release fixes a stated vulnerability (CVE, GHSA, security fix).
    SecurityFix,
    /// The release removes or changes something users rely on.
    BreakingChange,
    /// The upgrade migrates on-disk data (often irreversible).
    DbMigration,
    /// The upgrade needs the node to sync again from scratch.
    ResyncRequired,
    /// Something is deprecated or announced for removal in a later release.
    Deprecation,
    /// The notes state an activation time for a fork on a network that the
    /// schedule (shipped or from the network's config) puts elsewhere.
    ScheduleMismatch,
}

impl Code {
    /// Every code, in order.
    pub const ALL: [Code; 9] = [
        Code::HardFork,
        Code::Overdue,
        Code::Mandatory,
        Code::SecurityFix,
        Code::BreakingChange,
        Code::DbMigration,
        Code::ResyncRequired,
        Code::Deprecation,
        Code::ScheduleMismatch,
    ];

    /// The kebab-case name (`hard-fork`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::HardFork => "hard-fork",
            Code::Overdue => "overdue",
            Code::Mandatory => "mandatory",
            Code::SecurityFix => "security-fix",
            Code::BreakingChange => "breaking-change",
            Code::DbMigration => "db-migration",
            Code::ResyncRequired => "resync-required",
            Code::Deprecation => "deprecation",
            Code::ScheduleMismatch => "schedule-mismatch",
        }
    }

    /// Parses a kebab-case name.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent an upgrade is.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    /// Parses `low`, `Medium`, `HIGH`, `critical`.
    pub fn parse(s: &str) -> Option<Priority> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Priority::Low),
            "medium" => Some(Priority::Medium),
            "high" => Some(Priority::High),
            "critical" => Some(Priority::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a priority comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PrioritySource {
    /// Derived from the codes (see `rules/README.md`).
    #[default]
    Derived,
    /// Stated by the notes (update-priority table, `high-urgency`).
    Stated,
    /// Raised by a rule's `priority`.
    Rule,
}

/// How an activation time was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// A date and time (to the second) or a unix timestamp in the notes.
    Text,
    /// An epoch or slot in the notes, converted with the network's genesis.
    TextEpoch,
    /// A time to the minute in the notes, matched to the fork schedule.
    TextMinute,
    /// Only a calendar date in the notes; the time is the schedule's.
    TextDateSchedule,
    /// Nothing in the notes: the fork schedule's activation.
    Schedule,
}

/// One network of a fork found in the notes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NetworkActivation {
    pub network: String,
    pub activation: Option<DateTime<Utc>>,
    pub epoch: Option<u64>,
    /// `None` when neither the notes nor the schedule give a time.
    pub basis: Option<Basis>,
    /// The date as written, when only a date was given.
    pub stated: Option<String>,
}

/// A fork the release enables, schedules or supports.
///
/// Serialised as the contract's `forks[]` entries: `activation` and `epoch`
/// are those of `networks[0]` as the notes state them (a date-only statement
/// is completed with the schedule's time); a time known only from the
/// schedule is not shown there but is in [`per_network`](Self::per_network).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForkActivation {
    /// Combined name (`Pectra`, `BPO1`), or the name as written for forks
    /// the schedule does not know.
    pub fork: String,
    /// Mainnet first, then public testnets, then other chains, each group in
    /// the order of the notes. `testnets` when none is named.
    pub networks: Vec<String>,
    pub activation: Option<DateTime<Utc>>,
    pub epoch: Option<u64>,
    /// Every network, schedule fallbacks included.
    #[serde(skip)]
    pub per_network: Vec<NetworkActivation>,
}

impl ForkActivation {
    /// The activation on `network`: stated by the notes or from the schedule.
    pub fn on(&self, network: &str) -> Option<&NetworkActivation> {
        self.per_network.iter().find(|n| n.network == network)
    }
}

/// Why a code was given: the rule and the sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The code given, or `None` for a stated priority.
    pub code: Option<Code>,
    /// Rule id (`fork-detector` for the built-in fork detector,
    /// `stated-priority` for priority statements).
    pub rule: String,
    /// The statement, shortened.
    pub text: String,
}

/// The rule engine's verdict on one release, serialised exactly as
/// `release classify --format json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub repo: String,
    pub tag: String,
    /// The version the tag carries, when it parses.
    pub version: Option<String>,
    /// GitHub's flag or a pre-release tag.
    pub prerelease: bool,
    /// Distinct codes, in [`Code`] order.
    pub codes: Vec<Code>,
    pub forks: Vec<ForkActivation>,
    /// The breaking changes, one line each.
    pub breaking: Vec<String>,
    pub security: bool,
    pub mandatory: bool,
    pub priority: Priority,
    #[serde(skip)]
    pub priority_source: PrioritySource,
    /// Labels given by matching rules.
    #[serde(skip)]
    pub labels: Vec<String>,
    /// The earliest deadline a rule's extractor found in the notes.
    #[serde(skip)]
    pub deadline: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub evidence: Vec<Evidence>,
    /// The notes were too long and only their start was read.
    #[serde(skip)]
    pub truncated: bool,
}

impl Classification {
    pub fn has(&self, code: Code) -> bool {
        self.codes.contains(&code)
    }

    /// The earliest fork activation on `network` among the release's forks
    /// (stated or from the schedule).
    pub fn deadline(&self, network: &str) -> Option<Deadline> {
        self.forks
            .iter()
            .filter_map(|f| {
                let n = f.on(network)?;
                Some(Deadline {
                    fork: f.fork.clone(),
                    network: network.to_string(),
                    at: n.activation?,
                })
            })
            .min_by_key(|d| d.at)
    }
}

/// When a fork activates on a network: the `deadline` of `check` findings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub fork: String,
    pub network: String,
    pub at: DateTime<Utc>,
}

/// What the schedule says about a deployed version on a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `hard-fork`, plus `overdue` once the deadline has passed.
    pub codes: Vec<Code>,
    pub deadline: Deadline,
    /// The minimum version that follows the fork (as written in the schedule).
    pub minimum: String,
    pub priority: Priority,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()));
            assert_eq!(Code::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert!(Priority::Low < Priority::Critical);
        assert_eq!(serde_json::to_value(Priority::High).unwrap(), "high");
        assert_eq!(Priority::parse(" Medium "), Some(Priority::Medium));
    }
}
