//! Validated settings: the typed form the rest of upkeep reads.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use globset::GlobSet;

use crate::domain::rollout::verify::Gate;
use crate::domain::rollout::window::Windows;
use crate::domain::rules::Code;

pub use super::raw::Group;
pub use crate::domain::catalog::{Pattern, Variant};
pub use crate::domain::version::{Scheme, TagTemplate};

/// The default poll schedule: every ten minutes.
pub const DEFAULT_POLL: &str = "0 */10 * * * *";
/// The default pull request label.
pub const DEFAULT_LABEL: &str = "upkeep";

/// Validated settings. [`Settings::default`] is what an empty file gives.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub repositories: Vec<Repository>,
    pub upstreams: Vec<Upstream>,
    pub pull_requests: PullRequests,
    pub registries: Registries,
    pub slack: Slack,
    pub schedule: Schedule,
    /// Directories of extra rule files, resolved against the settings file.
    pub rule_directories: Vec<PathBuf>,
    /// Where the fork schedule's network configs are read (`rules.schedule_sources`).
    pub schedule_sources: ScheduleSources,
    pub rollout: Rollout,
    /// Where health gates and live versions are read (`prometheus.url`).
    pub prometheus: Option<String>,
    /// Minimum fork-ready versions set by the operator (`forks:`), in the
    /// order written.
    pub fork_minimums: Vec<ForkMinimum>,
    /// `dashboard:` at the top level; `None` when not written (true).
    pub dashboard: Option<bool>,
}

/// `forks: {<fork>: {minimum: {<owner/name>: <version>}}}`: one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkMinimum {
    /// The fork as written (any of its names).
    pub fork: String,
    /// `owner/name`.
    pub upstream: String,
    /// `None`: every network.
    pub network: Option<String>,
    /// The version as written.
    pub version: String,
}

/// Where the fork schedule follows the networks' own configs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleSources {
    /// The shipped schedule only.
    Off,
    /// `OWNER/<network>` repositories (`eth-clients`, or a mirror's owner),
    /// through the GitHub API.
    Owner(String),
}

impl ScheduleSources {
    /// The networks' own config repositories on GitHub.
    pub const DEFAULT_OWNER: &'static str = "eth-clients";

    /// Reads the setting: `none`/`off`/`false`, `true`/`default`, or an owner.
    pub fn parse(value: &str) -> Result<ScheduleSources, String> {
        let v = value.trim();
        match v.to_ascii_lowercase().as_str() {
            "none" | "off" | "false" | "no" => Ok(ScheduleSources::Off),
            "" | "true" | "on" | "yes" | "default" => Ok(ScheduleSources::default()),
            _ if v.len() <= 39
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !v.starts_with('-') =>
            {
                Ok(ScheduleSources::Owner(v.to_string()))
            }
            _ => Err(format!(
                "{v:?} is not a GitHub owner: expected `eth-clients` (the default), a mirror's owner, or `none`"
            )),
        }
    }
}

impl Default for ScheduleSources {
    fn default() -> Self {
        ScheduleSources::Owner(Self::DEFAULT_OWNER.to_string())
    }
}

/// How a release travels through a repository's waves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    /// How long a wave runs a version before the next wave gets it.
    pub soak: Duration,
    /// The floor when a deadline or an expedited code shortens soaks.
    pub minimum_soak: Duration,
    /// Every wave should run a fork release this long before the fork.
    pub deadline_margin: Duration,
    /// Codes that cut soaks to `minimum_soak`.
    pub expedite: Vec<Code>,
    /// Time after a merge for running versions to match.
    pub converge: Duration,
}

impl Default for Rollout {
    fn default() -> Self {
        Rollout {
            soak: Duration::from_secs(24 * 3600),
            minimum_soak: Duration::from_secs(3600),
            deadline_margin: Duration::from_secs(48 * 3600),
            expedite: vec![Code::SecurityFix],
            converge: Duration::from_secs(3600),
        }
    }
}

/// A deployment repository.
#[derive(Clone, Debug)]
pub struct Repository {
    pub source: RepoSource,
    /// The branch pull requests target; `None`: the default branch.
    pub branch: Option<String>,
    pub environments: Vec<Environment>,
    /// What the repository's owners set over the global settings (its
    /// `repositories[]` entry, then its `.github/upkeep.yml`).
    pub overrides: RepoOverrides,
    /// `dashboard:` of its entry (or `.github/upkeep.yml`); `None`: the
    /// top-level setting.
    pub dashboard: Option<bool>,
}

/// The repository-owner keys of a `repositories[]` entry (or
/// `.github/upkeep.yml`); `None`: not set, the global value applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepoOverrides {
    /// Added after the global labels.
    pub labels: Option<Vec<String>>,
    /// Replace the global reviewers.
    pub reviewers: Option<Vec<String>>,
    /// Replace the global assignees.
    pub assignees: Option<Vec<String>>,
    /// Added after the global ignore rules.
    pub ignore: Option<Vec<Ignore>>,
    /// Replaces the global `group`.
    pub group: Option<Group>,
    /// Replace the global upstream groups.
    pub groups: Option<Vec<UpstreamGroup>>,
    /// Automerge of the environments that do not set it.
    pub automerge: Option<bool>,
    /// Replaces `rollout.soak`.
    pub soak: Option<Duration>,
    /// Windows of the environments that set none.
    pub windows: Option<Windows>,
    /// Network names declared as this repository's devnets.
    pub devnets: Option<Vec<String>>,
}

impl RepoOverrides {
    /// `other`'s keys where set, else these (a `.github/upkeep.yml` over
    /// a `repositories[]` entry).
    pub fn over(&self, other: &RepoOverrides) -> RepoOverrides {
        fn pick<T: Clone>(over: &Option<T>, base: &Option<T>) -> Option<T> {
            over.clone().or_else(|| base.clone())
        }
        RepoOverrides {
            labels: pick(&other.labels, &self.labels),
            reviewers: pick(&other.reviewers, &self.reviewers),
            assignees: pick(&other.assignees, &self.assignees),
            ignore: pick(&other.ignore, &self.ignore),
            group: pick(&other.group, &self.group),
            groups: pick(&other.groups, &self.groups),
            automerge: pick(&other.automerge, &self.automerge),
            soak: pick(&other.soak, &self.soak),
            windows: pick(&other.windows, &self.windows),
            devnets: pick(&other.devnets, &self.devnets),
        }
    }
}

impl Repository {
    /// A repository with no environments and no overrides.
    pub fn new(source: RepoSource) -> Repository {
        Repository {
            source,
            branch: None,
            environments: Vec::new(),
            overrides: RepoOverrides::default(),
            dashboard: None,
        }
    }

    /// Whether upkeep keeps a dependency dashboard issue here.
    pub fn dashboard(&self, settings: &Settings) -> bool {
        self.dashboard.or(settings.dashboard).unwrap_or(true)
    }

    /// The first environment (in the order written) whose globs match
    /// `path`, a path relative to the repository root with `/` separators.
    pub fn environment_for(&self, path: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.matches(path))
    }

    /// This repository's pull-request settings: the global ones with the
    /// repository's labels and ignore rules added, and its reviewers,
    /// assignees, group and groups instead of the global ones where set.
    /// Every consumer of pull-request settings reads them through here.
    pub fn pull_requests(&self, global: &PullRequests) -> PullRequests {
        let o = &self.overrides;
        let mut out = global.clone();
        for label in o.labels.iter().flatten() {
            if !out.labels.contains(label) {
                out.labels.push(label.clone());
            }
        }
        if let Some(r) = &o.reviewers {
            out.reviewers = r.clone();
        }
        if let Some(a) = &o.assignees {
            out.assignees = a.clone();
        }
        out.ignore.extend(o.ignore.iter().flatten().cloned());
        if let Some(g) = o.group {
            out.group = g;
        }
        if let Some(g) = &o.groups {
            out.groups = g.clone();
        }
        out
    }

    /// This repository's rollout settings: `rollout.soak` replaced by its
    /// own when set.
    pub fn rollout(&self, global: &Rollout) -> Rollout {
        let mut out = global.clone();
        if let Some(soak) = self.overrides.soak {
            out.soak = soak;
        }
        out
    }

    /// Gives the environments that set no `automerge` or `windows` of
    /// their own the repository's defaults (or the built-in ones).
    pub(crate) fn inherit(&mut self) {
        for env in &mut self.environments {
            if env.inherits.automerge {
                env.automerge = self.overrides.automerge.unwrap_or(false);
            }
            if env.inherits.windows {
                env.windows = self
                    .overrides
                    .windows
                    .clone()
                    .unwrap_or_else(Windows::always);
            }
        }
    }
}

/// Where a deployment repository is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepoSource {
    GitHub {
        owner: String,
        name: String,
    },
    /// A local checkout, resolved against the settings file's directory.
    Path(PathBuf),
}

impl fmt::Display for RepoSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepoSource::GitHub { owner, name } => write!(f, "{owner}/{name}"),
            RepoSource::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A named group of paths in a deployment repository.
#[derive(Clone, Debug)]
pub struct Environment {
    pub name: String,
    /// The glob patterns as written.
    pub paths: Vec<String>,
    pub network: Option<Network>,
    /// Rollout wave, 1 first.
    pub wave: u32,
    /// Soak before the next wave; `None`: `rollout.soak`.
    pub soak: Option<Duration>,
    /// When its pull requests may open and merge.
    pub windows: Windows,
    /// Merge upkeep's pull requests once their checks are green.
    pub automerge: bool,
    /// PromQL label selector of its containers in kube-state-metrics
    /// (`{namespace="hoodi"}`): live verification after a merge.
    pub live: Option<String>,
    /// Health gates that must hold while it soaks.
    pub health: Vec<Gate>,
    pub(crate) matcher: GlobSet,
    /// Which values come from the repository's defaults.
    pub(crate) inherits: Inherits,
}

/// Environment keys not written, so taken from the repository's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Inherits {
    pub automerge: bool,
    pub windows: bool,
}

impl Default for Inherits {
    fn default() -> Self {
        Inherits {
            automerge: true,
            windows: true,
        }
    }
}

impl Environment {
    /// Whether a merge here is verified against Prometheus.
    pub fn verified(&self) -> bool {
        self.live.is_some() || !self.health.is_empty()
    }
}

impl Environment {
    /// Builds an environment, compiling its globs (`*` stays within one
    /// path component, `**` crosses them).
    pub fn new(
        name: &str,
        paths: &[&str],
        network: Option<Network>,
        wave: u32,
    ) -> Result<Self, globset::Error> {
        let mut builder = globset::GlobSetBuilder::new();
        for p in paths {
            builder.add(glob(p)?);
        }
        Ok(Environment {
            name: name.to_string(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            network,
            wave,
            soak: None,
            windows: Windows::always(),
            automerge: false,
            live: None,
            health: Vec::new(),
            matcher: builder.build()?,
            inherits: Inherits::default(),
        })
    }

    /// Whether `path` (relative to the repository root, `/` separators, an
    /// optional leading `./`) belongs to this environment.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.strip_prefix("./").unwrap_or(path);
        self.matcher.is_match(path)
    }
}

/// Compiles one environment glob the way settings mean it.
pub(crate) fn glob(pattern: &str) -> Result<globset::Glob, globset::Error> {
    let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

/// The network an environment runs on.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Network {
    Mainnet,
    Sepolia,
    Holesky,
    Hoodi,
    /// Any other network (an ephemeral devnet): no known fork schedule.
    Other(String),
}

impl Network {
    pub fn from_name(name: &str) -> Network {
        match name {
            "mainnet" => Network::Mainnet,
            "sepolia" => Network::Sepolia,
            "holesky" => Network::Holesky,
            "hoodi" => Network::Hoodi,
            other => Network::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Sepolia => "sepolia",
            Network::Holesky => "holesky",
            Network::Hoodi => "hoodi",
            Network::Other(name) => name,
        }
    }

    /// One of the networks whose fork schedule upkeep knows.
    pub fn is_known(&self) -> bool {
        !matches!(self, Network::Other(_))
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An upstream tracked in addition to the built-in catalog.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upstream {
    pub owner: String,
    pub name: String,
    /// How its tags parse and order, when written (for a new upstream the
    /// default is `semver`; a catalogued upstream keeps its own scheme).
    pub versioning: Option<Scheme>,
    /// Whether pre-releases are offered, when written (default: no, or the
    /// catalog's policy for a catalogued upstream).
    pub prereleases: Option<bool>,
    /// Whether GitHub's pre-release flag marks a pre-release, when written.
    pub github_prerelease_flag: Option<bool>,
    /// The git tag template of a release, when written.
    pub release_tag: Option<TagTemplate>,
    /// Release tags that are never releases.
    pub ignore_tags: Vec<Pattern>,
    /// Moving image tags that are never versions.
    pub channels: Vec<Pattern>,
    pub images: Vec<ImageMapping>,
}

impl Upstream {
    /// `owner/name`.
    pub fn repo(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// An image an upstream publishes and how its tags are written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageMapping {
    pub name: String,
    pub tag: TagTemplate,
    /// Known variants (suffixes or alternative templates).
    pub variants: Vec<Variant>,
    /// Rolling `MAJOR.MINOR` tags, when written.
    pub minor_tags: Option<bool>,
}

/// How pull requests are opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequests {
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub group: Group,
    /// A release younger than this is not offered yet.
    pub minimum_release_age: Duration,
    pub assignees: Vec<String>,
    /// Commit author: (name, e-mail).
    pub author: Option<(String, String)>,
    pub ignore: Vec<Ignore>,
    /// git2 and a push (default), or GitHub's Git Data API.
    pub commit_mode: super::raw::CommitMode,
    /// Upstreams bumped together in one pull request.
    pub groups: Vec<UpstreamGroup>,
    /// Upkeep's open pull requests per repository, at most.
    pub max_open: u32,
    /// New pull requests per repository and hour, at most.
    pub max_per_hour: u32,
}

/// Upstreams bumped together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamGroup {
    pub name: String,
    /// `owner/name` of each member.
    pub upstreams: Vec<String>,
}

/// Upgrades never proposed.
#[derive(Clone, Debug)]
pub struct Ignore {
    pub upstream: Option<String>,
    pub image: Option<String>,
    /// The globs as written; empty: every version.
    pub versions: Vec<String>,
    pub(crate) matcher: GlobSet,
}

impl Ignore {
    /// True when this rule ignores `version` (a release tag) of `upstream`
    /// for `image`.
    pub fn matches(&self, upstream: &str, image: &str, version: &str) -> bool {
        let subject = match (&self.upstream, &self.image) {
            (Some(u), _) => u.eq_ignore_ascii_case(upstream),
            (None, Some(i)) => crate::domain::manifest::image::same_image(i, image),
            (None, None) => false,
        };
        subject && (self.versions.is_empty() || self.matcher.is_match(version))
    }
}

impl PartialEq for Ignore {
    fn eq(&self, other: &Self) -> bool {
        (&self.upstream, &self.image, &self.versions)
            == (&other.upstream, &other.image, &other.versions)
    }
}

impl Eq for Ignore {}

impl Default for PullRequests {
    fn default() -> Self {
        PullRequests {
            labels: vec![DEFAULT_LABEL.to_string()],
            reviewers: Vec::new(),
            group: Group::Upstream,
            minimum_release_age: Duration::ZERO,
            assignees: Vec::new(),
            author: None,
            ignore: Vec::new(),
            groups: Vec::new(),
            commit_mode: super::raw::CommitMode::Git,
            max_open: 10,
            max_per_hour: 5,
        }
    }
}

/// Container registries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registries {
    /// Registry host (`docker.io`) to the `http(s)://` endpoint to use.
    pub mirrors: BTreeMap<String, String>,
    /// Offer a tag only once its image is published.
    pub require_published: bool,
    /// Add the target's digest to bumped `repo:tag` references.
    pub pin_digests: bool,
}

impl Default for Registries {
    fn default() -> Self {
        Registries {
            mirrors: BTreeMap::new(),
            require_published: true,
            pin_digests: false,
        }
    }
}

/// The Slack channel of `UPKEEP_SLACK_WEBHOOK_URL`; no route may take
/// this name.
pub const DEFAULT_CHANNEL: &str = "default";
/// The finding codes that alert at once by default.
pub const DEFAULT_ALERTS: [Code; 3] = [Code::HardFork, Code::SecurityFix, Code::Mandatory];
/// Reminders before a deadline by default: 7 days and 1 day.
pub const DEFAULT_REMINDERS: [Duration; 2] =
    [Duration::from_secs(7 * 86_400), Duration::from_secs(86_400)];

/// Slack notifications.
#[derive(Clone, Debug)]
pub struct Slack {
    /// When `serve` posts the digest; `None`: never on a schedule.
    pub digest: Option<Cron>,
    /// Finding codes that send an immediate alert.
    pub alerts: Vec<Code>,
    /// Reminder thresholds before a deadline, longest first, distinct.
    pub reminders: Vec<Duration>,
    /// Channels per repository or environment, in the order written.
    pub routes: Vec<SlackRoute>,
}

impl Default for Slack {
    fn default() -> Self {
        Slack {
            digest: None,
            alerts: DEFAULT_ALERTS.to_vec(),
            reminders: DEFAULT_REMINDERS.to_vec(),
            routes: Vec::new(),
        }
    }
}

/// A Slack channel for some repositories or environments. Its webhook URL
/// is read from the environment variable `webhook_env` when a message is
/// sent; settings never hold it.
#[derive(Clone, Debug)]
pub struct SlackRoute {
    pub name: String,
    /// The environment variable holding the webhook URL.
    pub webhook_env: String,
    /// Repository names or globs as written; empty: every repository.
    pub repositories: Vec<String>,
    /// Environment names; empty: every environment (and none).
    pub environments: Vec<String>,
    pub(crate) matcher: Option<GlobSet>,
}

impl SlackRoute {
    /// A route; `Err` when a repository glob does not compile.
    pub fn new(
        name: &str,
        webhook_env: &str,
        repositories: &[&str],
        environments: &[&str],
    ) -> Result<Self, globset::Error> {
        let matcher = if repositories.is_empty() {
            None
        } else {
            let mut builder = globset::GlobSetBuilder::new();
            for r in repositories {
                builder.add(route_glob(r)?);
            }
            Some(builder.build()?)
        };
        Ok(SlackRoute {
            name: name.to_string(),
            webhook_env: webhook_env.to_string(),
            repositories: repositories.iter().map(|r| r.to_string()).collect(),
            environments: environments.iter().map(|e| e.to_string()).collect(),
            matcher,
        })
    }

    /// Whether a finding of `repository` (as `check` names it) in
    /// `environment` goes to this route.
    pub fn matches(&self, repository: &str, environment: Option<&str>) -> bool {
        let repo_ok = match &self.matcher {
            None => true,
            Some(m) => {
                m.is_match(repository)
                    || self
                        .repositories
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case(repository))
            }
        };
        let env_ok = self.environments.is_empty()
            || environment.is_some_and(|e| self.environments.iter().any(|x| x == e));
        repo_ok && env_ok
    }
}

/// Compiles one route repository pattern: `*` matches `/` too, so `acme/*`
/// and `*/deploy` both work, and case is ignored as GitHub does.
pub(crate) fn route_glob(pattern: &str) -> Result<globset::Glob, globset::Error> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .case_insensitive(true)
        .backslash_escape(true)
        .build()
}

/// Schedules of `upkeep serve`.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub poll: Cron,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            poll: Cron::parse(DEFAULT_POLL)
                .unwrap_or_else(|_| unreachable!("the default poll schedule parses")),
        }
    }
}

/// A cron expression, seconds first, as written and parsed.
#[derive(Clone, Debug)]
pub struct Cron {
    expression: String,
    schedule: cron::Schedule,
}

impl Cron {
    /// Parses a cron expression of 6 or 7 fields, seconds first.
    pub fn parse(expression: &str) -> Result<Self, String> {
        let text = expression.trim();
        let fields = text.split_whitespace().count();
        let expected = "a cron expression with seconds first (`sec min hour day-of-month month day-of-week [year]`, e.g. `0 0 8 * * Mon-Fri`)";
        if fields == 5 {
            return Err(format!(
                "invalid cron expression `{expression}`: 5 fields, expected {expected}; add the seconds field first, e.g. `0 {text}`"
            ));
        }
        if !(6..=7).contains(&fields) {
            return Err(format!(
                "invalid cron expression `{expression}`: {fields} fields, expected {expected}"
            ));
        }
        // The crate's message draws a caret under the expression over
        // several lines; its last line says what is wrong.
        let schedule = text.parse::<cron::Schedule>().map_err(|e| {
            let e = e.to_string();
            let reason = e
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .trim();
            format!("invalid cron expression `{expression}`: {reason}; expected {expected}")
        })?;
        Ok(Cron {
            expression: text.to_string(),
            schedule,
        })
    }

    /// The expression as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.expression
    }

    pub fn schedule(&self) -> &cron::Schedule {
        &self.schedule
    }
}

impl PartialEq for Cron {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression
    }
}

impl Eq for Cron {}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}
