//! The settings file as written: serde and JSON Schema types.
//!
//! Every struct denies unknown fields and every key is optional where a
//! default makes sense; values stay close to their written form (durations,
//! cron expressions and versioning schemes are strings here) and are checked
//! by `validate`, which turns them into [`super::Settings`].

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, de};

/// Process settings for upkeep (`upkeep.yml`). Every section is optional;
/// every key can be overridden by an environment variable
/// `UPKEEP_<SECTION>__<KEY>`. Secrets (tokens, keys, webhook URLs) are read
/// only from the environment, never from this file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
#[schemars(title = "upkeep settings")]
pub struct RawSettings {
    /// Deployment repositories to keep up to date: a GitHub repository
    /// (`github: owner/name`) or a local checkout (`path: ./deploy`), each
    /// with its environments.
    pub repositories: Option<Vec<RawRepository>>,
    /// Upstreams to track in addition to the built-in catalog: a GitHub
    /// repository whose releases are watched, how its tags are versioned, and
    /// the container images it publishes.
    pub upstreams: Option<Vec<RawUpstream>>,
    /// How pull requests are opened: labels, reviewers, grouping, delay.
    pub pull_requests: Option<RawPullRequests>,
    /// Container registries: mirrors and whether a tag must be published
    /// before it is offered.
    pub registries: Option<RawRegistries>,
    /// Slack notifications (the webhook URL comes from
    /// `UPKEEP_SLACK_WEBHOOK_URL`).
    pub slack: Option<RawSlack>,
    /// When `upkeep serve` polls for releases.
    pub schedule: Option<RawSchedule>,
    /// More rule files, in addition to the shipped ones.
    pub rules: Option<RawRules>,
    /// How a release travels through the waves of a repository: soak times,
    /// deadline compression, expedited codes.
    pub rollout: Option<RawRollout>,
    /// The Prometheus server health gates and live versions are read from.
    pub prometheus: Option<RawPrometheus>,
    /// Per fork (any of its names, `Glamsterdam`, `Gloas`): facts that win
    /// over the fork schedule and release notes for `upkeep readiness`.
    pub forks: Option<BTreeMap<String, RawFork>>,
    /// Keep a "Dependency dashboard" issue in each repository (default
    /// true; `upkeep run` and `serve` write it, `plan` and `check` never).
    pub dashboard: Option<bool>,
}

/// What the settings say about one fork.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawFork {
    /// The oldest fork-ready version per upstream (`owner/name`): one
    /// version for every network (`sigp/lighthouse: v9.0.1`), or one per
    /// network (`ethereum/go-ethereum: {mainnet: v1.17.1, hoodi: v1.17.0}`).
    pub minimum: Option<BTreeMap<String, RawForkMinimum>>,
}

/// A minimum version: for every network, or per network.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawForkMinimum {
    /// The same version on every network.
    Everywhere(String),
    /// A version per network name.
    PerNetwork(BTreeMap<String, String>),
}

/// Progressive rollout through waves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawRollout {
    /// How long a wave runs a version before the next wave gets it
    /// (default `24h`). An environment's own `soak` overrides it for the
    /// wave after that environment's.
    #[serde(default)]
    #[schemars(schema_with = "duration_schema")]
    pub soak: Option<String>,
    /// The floor when a fork deadline or an expedited code shortens soaks
    /// (default `1h`).
    #[serde(default)]
    #[schemars(schema_with = "duration_schema")]
    pub minimum_soak: Option<String>,
    /// Every wave should run a fork release this long before the fork
    /// (default `48h`).
    #[serde(default)]
    #[schemars(schema_with = "duration_schema")]
    pub deadline_margin: Option<String>,
    /// Finding codes that cut soaks to `minimum_soak` (default
    /// `[security-fix]`). From the environment: comma-separated.
    pub expedite: Option<Vec<String>>,
    /// How long after a merge the running versions may take to match
    /// (default `1h`).
    #[serde(default)]
    #[schemars(schema_with = "duration_schema")]
    pub converge: Option<String>,
}

/// Rule packs beyond the shipped ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawRules {
    /// Directories of rule and schedule files (`*.yml`, see `rules/README.md`),
    /// relative to the settings file; loaded after the shipped rules.
    pub directories: Option<Vec<String>>,
    /// Where the fork schedule follows the networks' own configs: the owner
    /// of repositories named after the networks (`mainnet`, `sepolia`,
    /// `holesky`, `hoodi`) holding `metadata/config.yaml` and
    /// `metadata/genesis.json`, read through the GitHub API. Default
    /// `eth-clients`; a mirror's owner; `none` for the shipped schedule only.
    pub schedule_sources: Option<String>,
}

/// The top-level sections, in the order of [`RawSettings`].
pub(crate) const SECTIONS: &[&str] = &[
    "repositories",
    "upstreams",
    "pull_requests",
    "registries",
    "slack",
    "schedule",
    "rules",
    "rollout",
    "prometheus",
    "forks",
    "dashboard",
];

/// Keys whose environment override is a comma-separated list.
pub(crate) const ENV_LIST_KEYS: &[&[&str]] = &[
    &["pull_requests", "labels"],
    &["pull_requests", "reviewers"],
    &["slack", "alerts"],
    &["slack", "reminders"],
    &["rollout", "expedite"],
];

/// A deployment repository: exactly one of `github` or `path`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawRepository {
    /// The GitHub repository, `owner/name`. Exclusive with `path`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$"))]
    pub github: Option<String>,
    /// A local checkout, relative to the directory of this settings file.
    /// Exclusive with `github`.
    pub path: Option<String>,
    /// The branch pull requests target (default: the repository's default
    /// branch).
    pub branch: Option<String>,
    /// Named groups of paths in the repository, each with its network and
    /// rollout wave.
    pub environments: Option<Vec<RawEnvironment>>,
    /// Network names of this repository's devnets: an environment's
    /// `network` must be `mainnet`, `sepolia`, `holesky`, `hoodi` or one of
    /// these (so that a typo such as `mainet` is caught).
    pub devnets: Option<Vec<String>>,
    /// This repository's pull requests, over the global `pull_requests`:
    /// `labels` and `ignore` are added to the global ones, the other keys
    /// replace them.
    pub pull_requests: Option<RawRepoPullRequests>,
    /// This repository's rollout defaults: `soak` replaces `rollout.soak`,
    /// `windows` and `timezone` apply to its environments that set none.
    pub rollout: Option<RawRepoRollout>,
    /// Keep a "Dependency dashboard" issue in this repository (default: the
    /// top-level `dashboard`, itself true by default).
    pub dashboard: Option<bool>,
}

/// What a repository's owners decide about its pull requests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawRepoPullRequests {
    /// Labels added to this repository's pull requests, after the global
    /// `pull_requests.labels` (which keep `upkeep`).
    pub labels: Option<Vec<String>>,
    /// GitHub users (or `org/team`) asked for review; replaces the global
    /// reviewers (`[]`: nobody).
    pub reviewers: Option<Vec<String>>,
    /// GitHub users assigned; replaces the global assignees (`[]`: nobody).
    pub assignees: Option<Vec<String>>,
    /// Upgrades never proposed here, added to the global ignore rules.
    pub ignore: Option<Vec<RawIgnore>>,
    /// What one pull request covers; replaces the global `group`.
    pub group: Option<Group>,
    /// Upstreams bumped together; replaces the global `groups`.
    pub groups: Option<Vec<RawUpstreamGroup>>,
    /// Merge upkeep's pull requests once green, for environments that do
    /// not set `automerge` themselves (default false).
    pub automerge: Option<bool>,
}

/// What a repository's owners decide about its rollout.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawRepoRollout {
    /// How long a wave of this repository runs a version before the next
    /// wave gets it; replaces `rollout.soak` (an environment's own `soak`
    /// still wins).
    #[serde(default)]
    #[schemars(schema_with = "duration_schema")]
    pub soak: Option<String>,
    /// Maintenance windows of the environments that set no `windows`.
    pub windows: Option<Vec<String>>,
    /// The IANA time zone of `windows` (default `UTC`).
    pub timezone: Option<String>,
}

/// An environment: the files of one deployment, its network and rollout wave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawEnvironment {
    /// The environment's name, unique within its repository.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Glob patterns of the files that belong to this environment, relative
    /// to the repository root (`envs/hoodi/**`).
    #[schemars(length(min = 1))]
    pub paths: Vec<String>,
    /// The network this environment runs on: `mainnet`, `sepolia`,
    /// `holesky`, `hoodi`, or a devnet named in the repository's `devnets`.
    /// Fork deadlines are taken for this network.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]*$"))]
    pub network: Option<String>,
    /// Rollout wave, 1 first (default 1): a release reaches wave N+1 only
    /// after wave N has it.
    #[schemars(range(min = 1))]
    pub wave: Option<u32>,
    /// How long this environment runs a version before the next wave gets
    /// it (default `rollout.soak`).
    #[serde(default)]
    #[schemars(schema_with = "duration_schema")]
    pub soak: Option<String>,
    /// Maintenance windows: this environment's pull requests open (and are
    /// merged) only inside one, e.g. `Tue-Thu 09:00-17:00`, `Sat
    /// 02:00-04:00`, `daily 22:00-02:00` (default: any time). A fork
    /// deadline that would otherwise be missed overrides them.
    pub windows: Option<Vec<String>>,
    /// The IANA time zone of `windows` (default `UTC`), e.g. `Europe/Berlin`.
    pub timezone: Option<String>,
    /// Merge upkeep's pull request for this environment once every check on
    /// its head is green and GitHub says it is mergeable (default false).
    pub automerge: Option<bool>,
    /// Where this environment's running containers are seen: a label
    /// selector for kube-state-metrics' `kube_pod_container_info` in
    /// `prometheus.url` (e.g. `{namespace="hoodi"}`). With it, a wave is done
    /// only when every running container of the bumped images reports the
    /// new tag (or digest).
    pub live: Option<RawLive>,
    /// Prometheus queries that must hold on every check while this
    /// environment soaks; a failure blocks later waves and rolls back.
    pub health: Option<Vec<RawHealthGate>>,
}

/// Where an environment's running containers are seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawLive {
    /// A PromQL label selector, braces included: `{namespace="hoodi"}`.
    pub selector: String,
}

/// A health gate: a PromQL query whose value must stay above or below a
/// threshold.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawHealthGate {
    /// Shown in alerts and pull requests.
    pub name: String,
    /// An instant PromQL query returning one value.
    pub query: String,
    /// Healthy while the value is above this.
    pub above: Option<f64>,
    /// Healthy while the value is below this.
    pub below: Option<f64>,
    /// How long the gate must have held before a wave counts as healthy
    /// (e.g. `10m`; default: every check of the soak).
    #[serde(default, rename = "for")]
    #[schemars(schema_with = "duration_schema")]
    pub for_: Option<String>,
}

impl Eq for RawHealthGate {}

/// Where health gates and live versions are read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawPrometheus {
    /// The Prometheus server (`http://prometheus.monitoring:9090`);
    /// credentials come from `UPKEEP_PROMETHEUS_TOKEN` or
    /// `UPKEEP_PROMETHEUS_USERNAME`/`UPKEEP_PROMETHEUS_PASSWORD`.
    pub url: String,
}

/// An upstream project whose releases are tracked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawUpstream {
    /// The GitHub repository that publishes the releases, `owner/name`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$"))]
    pub github: String,
    /// How release tags parse and order: `semver` (default; a leading `v`
    /// is allowed; date stamps such as `v2022.09.01` are not versions),
    /// `calver` (`24.10.3`, `2025.1.0`) or `regex:<pattern>` with named
    /// groups `major` (required), `minor`, `patch`, `build`, `pre`, matched
    /// from the start of the version (a `-variant` may follow unless the
    /// pattern ends in `$`); the pattern may spell the text around the
    /// version too (`^release-(?<major>\d+)…$`).
    #[schemars(regex(pattern = r"^(semver|calver|regex:.+)$"))]
    pub versioning: Option<String>,
    /// The git tag of a release, with exactly one `{version}`: `v{version}`,
    /// a monorepo component `op-node/v{version}` or `tests@{version}`, a
    /// chart `mychart-{version}` (default: the version with an optional
    /// `v`). Tags that do not fit are not releases of this upstream.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._/@-]*\{version\}(-[A-Za-z0-9._-]*)?$"))]
    pub release_tag: Option<String>,
    /// Pre-releases: `true` or `false` (offer them or not; default false),
    /// or `{offer: BOOL, github_flag: BOOL}`.
    pub prereleases: Option<RawPrereleases>,
    /// Release tags that are never releases, as patterns matched against
    /// the whole tag, any case (`*` any run, `?` one character, `[...]` a
    /// class): `["*-exp", "v20??.*"]`.
    pub ignore_tags: Option<Vec<String>>,
    /// Moving image tags that are never versions, as patterns (`stable`,
    /// `latest-*`); `latest`, `main`, `nightly` and commit hashes are
    /// channels without being listed.
    pub channels: Option<Vec<String>>,
    /// The container images this upstream publishes.
    pub images: Option<Vec<RawImage>>,
}

/// Whether pre-releases are offered: a bool, or the full policy.
#[derive(Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(untagged)]
pub enum RawPrereleases {
    /// Offer pre-releases as upgrade targets (default false).
    Offer(bool),
    /// The full policy.
    Policy(RawPrereleasePolicy),
}

impl<'de> Deserialize<'de> for RawPrereleases {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RawPrereleases;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false or a mapping with `offer` and `github_flag`")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<RawPrereleases, E> {
                Ok(RawPrereleases::Offer(b))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RawPrereleases, A::Error> {
                RawPrereleasePolicy::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawPrereleases::Policy)
            }
        }
        d.deserialize_any(V)
    }
}

/// How an upstream marks pre-releases, and whether to offer them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawPrereleasePolicy {
    /// Offer pre-releases as upgrade targets (default false).
    pub offer: Option<bool>,
    /// GitHub's "pre-release" flag marks a pre-release (default true); set
    /// false where every release carries it. The tag's own marker
    /// (`-rc.1`, `-RC1`) always counts.
    pub github_flag: Option<bool>,
}

/// A container image published by an upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawImage {
    /// The image repository, registry host included when not Docker Hub
    /// (`ghcr.io/acme/custom-node`), without a tag.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The tag template (default `{version}`): exactly one `{version}`,
    /// surrounded by letters, digits, `.`, `-`, `_`; text after it starts
    /// with `-`. E.g. `v{version}`, `multiarch-v{version}`,
    /// `v{version}-alltools`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]*\{version\}(-[A-Za-z0-9._-]*)?$"))]
    pub tag: Option<String>,
    /// Known variants: suffixes after the templated tag (`-alpine`,
    /// `-modern`), or other spellings of the whole tag (`amd64-v{version}`).
    /// A reference keeps its variant when it moves.
    pub variants: Option<Vec<String>>,
    /// The image also carries a rolling `MAJOR.MINOR` tag per release: a
    /// reference written that way moves to the next `MAJOR.MINOR` (default
    /// false).
    pub minor_tags: Option<bool>,
}

/// How pull requests are opened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawPullRequests {
    /// Labels added to every pull request (default `[upkeep]`). From the
    /// environment: comma-separated.
    pub labels: Option<Vec<String>>,
    /// GitHub users (or `org/team`) asked for review (default none). From
    /// the environment: comma-separated.
    pub reviewers: Option<Vec<String>>,
    /// What one pull request covers (default `upstream`).
    pub group: Option<Group>,
    /// How old a release must be before it is offered, e.g. `90s`, `30m`,
    /// `2h`, `1d`, `1w`, `1h30m`, or `0` (default `0`: at once).
    #[serde(default)]
    #[schemars(schema_with = "duration_schema")]
    pub minimum_release_age: Option<String>,
    /// GitHub users assigned to every pull request (default none).
    pub assignees: Option<Vec<String>>,
    /// Who upkeep's commits are by (default `upkeep[bot]`).
    pub author: Option<RawAuthor>,
    /// Upgrades never proposed: an upstream (`owner/name`) or an image, and
    /// optionally only some versions (tag globs such as `v8.*`).
    pub ignore: Option<Vec<RawIgnore>>,
    /// Upstreams bumped together in one pull request (an execution and a
    /// consensus client for one fork): a name and the upstreams.
    pub groups: Option<Vec<RawUpstreamGroup>>,
    /// How commits are made: `git` (default: git2, pushed) or `api`
    /// (GitHub's Git Data API, so commits by an App show as verified).
    pub commit_mode: Option<CommitMode>,
    /// At most this many of upkeep's pull requests open at once in a
    /// repository (default 10); the most urgent are opened first.
    #[schemars(range(min = 1))]
    pub max_open: Option<u32>,
    /// At most this many new pull requests per repository and hour
    /// (default 5).
    #[schemars(range(min = 1))]
    pub max_per_hour: Option<u32>,
}

/// How upkeep's commits are made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommitMode {
    /// With git2 in the cache checkout, then pushed.
    #[default]
    Git,
    /// Through GitHub's Git Data API (blobs, tree, commit, ref).
    Api,
}

impl CommitMode {
    pub fn is_api(self) -> bool {
        self == CommitMode::Api
    }
}

/// Upstreams bumped together.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawUpstreamGroup {
    /// A name for the group, shown in fingerprints (`pectra-pair`).
    pub name: String,
    /// GitHub upstreams (`owner/name`), at least two.
    pub upstreams: Vec<String>,
}

/// The author of upkeep's commits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawAuthor {
    /// Display name.
    pub name: String,
    /// E-mail address (GitHub attributes commits by it).
    pub email: String,
}

/// One ignore rule: `upstream` or `image` (exactly one), and `versions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawIgnore {
    /// A GitHub upstream (`sigp/lighthouse`).
    pub upstream: Option<String>,
    /// An image as Docker names it (`sigp/lighthouse`, `ghcr.io/org/app`).
    pub image: Option<String>,
    /// Release tags (globs: `*`, `?`) not to propose; all when omitted.
    pub versions: Option<Vec<String>>,
}

/// Container registries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawRegistries {
    /// Reach a registry through another endpoint: registry host (`docker.io`)
    /// to an `http://` or `https://` URL.
    pub mirrors: Option<BTreeMap<String, String>>,
    /// Offer a tag only once its image exists in the registry (default true).
    pub require_published: Option<bool>,
    /// Pin references written as `repo:tag` to the digest of their new tag
    /// (`repo:tag@sha256:…`) when they are bumped (default false).
    /// References already pinned always get the new digest.
    pub pin_digests: Option<bool>,
}

/// Slack notifications.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawSlack {
    /// When `upkeep serve` posts the digest of pending upgrades: a cron
    /// expression, seconds first (`sec min hour day-of-month month
    /// day-of-week [year]`), e.g. `0 0 8 * * Mon-Fri`. Default: no scheduled
    /// digest.
    #[serde(default)]
    #[schemars(schema_with = "cron_schema")]
    pub digest: Option<String>,
    /// Finding codes that send an immediate alert, once per release and
    /// channel (default `[hard-fork, security-fix, mandatory]`; `[]`: no
    /// alerts). From the environment: comma-separated.
    pub alerts: Option<Vec<String>>,
    /// How long before a fork deadline a reminder is sent for references
    /// still behind, once per reference, deadline and threshold (default
    /// `[7d, 1d]`; `[]`: no reminders). From the environment:
    /// comma-separated.
    #[serde(default)]
    #[schemars(schema_with = "durations_schema")]
    pub reminders: Option<Vec<String>>,
    /// Channels per repository or environment. Each route names the
    /// environment variable that holds its webhook URL (never the URL: it is
    /// a secret). A finding goes to every route that matches it;
    /// `UPKEEP_SLACK_WEBHOOK_URL`, when set, gets the findings no route
    /// matches. Default: no routes (everything to `UPKEEP_SLACK_WEBHOOK_URL`).
    pub routes: Option<Vec<RawSlackRoute>>,
}

/// A Slack channel for some repositories or environments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawSlackRoute {
    /// The channel's name, unique, used in reports and to remember which
    /// alerts it already got (`eth-mainnet-ops`). `default` is taken: it
    /// names the channel of `UPKEEP_SLACK_WEBHOOK_URL`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._#-]*$"))]
    pub name: String,
    /// The environment variable holding this channel's incoming-webhook URL
    /// (`UPKEEP_SLACK_WEBHOOK_MAINNET`).
    #[schemars(regex(pattern = r"^[A-Z_][A-Z0-9_]*$"))]
    pub webhook_env: String,
    /// Repositories whose findings go here: `owner/name` of a GitHub
    /// repository (case ignored), or globs matched against `owner/name` or
    /// a local checkout's path resolved from this file's directory
    /// (`acme/*`, `**/deploy`). Default: every repository.
    pub repositories: Option<Vec<String>>,
    /// Environment names whose findings go here (`mainnet`). Default:
    /// every environment, and references outside any environment.
    pub environments: Option<Vec<String>>,
}

/// Schedules of `upkeep serve`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawSchedule {
    /// When to poll upstream releases: a cron expression, seconds first
    /// (default `0 */10 * * * *`, every ten minutes).
    #[serde(default)]
    #[schemars(schema_with = "cron_schema")]
    pub poll: Option<String>,
}

/// What one pull request covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// One pull request per upstream release, across all environments.
    #[default]
    Upstream,
    /// One pull request per environment.
    Environment,
    /// One pull request per rollout wave.
    Wave,
}

impl Group {
    /// The names as written in the settings file.
    pub const NAMES: &'static [&'static str] = &["upstream", "environment", "wave"];

    pub fn from_name(name: &str) -> Option<Group> {
        match name {
            "upstream" => Some(Group::Upstream),
            "environment" => Some(Group::Environment),
            "wave" => Some(Group::Wave),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Group::Upstream => "upstream",
            Group::Environment => "environment",
            Group::Wave => "wave",
        }
    }
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Read from a string, so that an unknown name gets serde's own wording
/// ("unknown variant `x`, expected one of ...") whatever the deserializer.
impl<'de> Deserialize<'de> for Group {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Group::from_name(&name).ok_or_else(|| de::Error::unknown_variant(&name, Group::NAMES))
    }
}

/// The pattern of a duration: `0`, or number-unit pairs (`1h30m`).
pub(crate) const DURATION_PATTERN: &str = r"^(0|([0-9]+[smhdw])+)$";

fn duration_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "anyOf": [
            {"type": "string", "pattern": DURATION_PATTERN},
            {"const": 0},
            {"type": "null"}
        ],
        "examples": ["2h", "1h30m", "1d", "0"]
    })
}

fn durations_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["array", "null"],
        "items": {"type": "string", "pattern": DURATION_PATTERN},
        "examples": [["7d", "1d"]]
    })
}

fn cron_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["string", "null"],
        "pattern": r"^\s*\S+(\s+\S+){5,6}\s*$",
        "examples": ["0 0 8 * * Mon-Fri", "0 */10 * * * *"]
    })
}

/// The JSON Schema of `upkeep.yml` (draft 2020-12), for editors and
/// `upkeep settings schema`.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(RawSettings).to_value()
}
