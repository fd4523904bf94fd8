//! Raw settings -> validated [`Settings`], collecting every problem.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::duration::parse_duration;
use super::issue::{At, Issue, nearest};
use super::raw::{
    RawEnvironment, RawFork, RawForkMinimum, RawHealthGate, RawImage, RawPrereleases,
    RawRepository, RawRollout, RawSettings, RawSlackRoute, RawUpstream,
};
use super::types::{
    Cron, DEFAULT_CHANNEL, Environment, ForkMinimum, ImageMapping, Inherits, Network, Pattern,
    PullRequests, Registries, RepoOverrides, RepoSource, Repository, Rollout, Schedule,
    ScheduleSources, Scheme, Settings, Slack, SlackRoute, TagTemplate, Upstream, Variant, glob,
    route_glob,
};
use crate::domain::rollout::verify::{Gate, Threshold};
use crate::domain::rollout::window::{WindowError, Windows};
use crate::domain::version::VersionError;

/// GitHub's limit on label names.
const LABEL_MAX: usize = 50;

/// Variables holding other secrets: a route must not send messages there.
const NOT_WEBHOOKS: &[&str] = &[
    "UPKEEP_GITHUB_TOKEN",
    "GITHUB_TOKEN",
    "UPKEEP_GITHUB_APP_PRIVATE_KEY",
    "UPKEEP_GITHUB_WEBHOOK_SECRET",
    "UPKEEP_REGISTRY_AUTH",
];

/// Validates `raw`. `base` is the settings file's directory, against which
/// relative repository paths are resolved. The settings are only meaningful
/// when the returned issues are empty.
pub(crate) fn validate(raw: &RawSettings, base: Option<&Path>) -> (Settings, Vec<Issue>) {
    let mut v = Validator { issues: Vec::new() };
    let defaults = Settings::default();
    let settings = Settings {
        repositories: v.repositories(raw.repositories.as_deref().unwrap_or_default(), base),
        upstreams: v.upstreams(raw.upstreams.as_deref().unwrap_or_default()),
        pull_requests: match &raw.pull_requests {
            None => defaults.pull_requests,
            Some(pr) => {
                let at = At::root("pull_requests");
                let d = PullRequests::default();
                PullRequests {
                    labels: match &pr.labels {
                        None => d.labels,
                        Some(labels) => v.labels(labels, &at.key("labels")),
                    },
                    reviewers: match &pr.reviewers {
                        None => d.reviewers,
                        Some(reviewers) => v.reviewers(reviewers, &at.key("reviewers")),
                    },
                    group: pr.group.unwrap_or(d.group),
                    minimum_release_age: match &pr.minimum_release_age {
                        None => d.minimum_release_age,
                        Some(text) => v
                            .check(&at.key("minimum_release_age"), parse_duration(text))
                            .unwrap_or_default(),
                    },
                    assignees: match &pr.assignees {
                        None => d.assignees,
                        Some(users) => v.assignees(users, &at.key("assignees")),
                    },
                    author: pr.author.as_ref().map(|a| {
                        let at = at.key("author");
                        if a.name.trim().is_empty() {
                            v.error(&at.key("name"), "the author's name is empty");
                        }
                        if !a.email.contains('@') || a.email.contains(char::is_whitespace) {
                            v.error(
                                &at.key("email"),
                                format!("`{}` is not an e-mail address", a.email),
                            );
                        }
                        (a.name.trim().to_string(), a.email.trim().to_string())
                    }),
                    ignore: pr
                        .ignore
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                        .filter_map(|(i, rule)| v.ignore(rule, &at.key("ignore").index(i)))
                        .collect(),
                    groups: v.upstream_groups(
                        pr.groups.as_deref().unwrap_or_default(),
                        &at.key("groups"),
                    ),
                    commit_mode: pr.commit_mode.unwrap_or(d.commit_mode),
                    max_open: v.positive(pr.max_open, d.max_open, &at.key("max_open")),
                    max_per_hour: v.positive(
                        pr.max_per_hour,
                        d.max_per_hour,
                        &at.key("max_per_hour"),
                    ),
                }
            }
        },
        registries: match &raw.registries {
            None => defaults.registries,
            Some(r) => Registries {
                mirrors: v.mirrors(r.mirrors.as_ref().unwrap_or(&BTreeMap::new())),
                require_published: r
                    .require_published
                    .unwrap_or(Registries::default().require_published),
                pin_digests: r.pin_digests.unwrap_or_default(),
            },
        },
        slack: Slack {
            digest: raw
                .slack
                .as_ref()
                .and_then(|s| s.digest.as_deref())
                .and_then(|d| v.check(&At::root("slack").key("digest"), Cron::parse(d))),
            alerts: match raw.slack.as_ref().and_then(|s| s.alerts.as_deref()) {
                None => defaults.slack.alerts,
                Some(codes) => v.alert_codes(codes, &At::root("slack").key("alerts")),
            },
            reminders: match raw.slack.as_ref().and_then(|s| s.reminders.as_deref()) {
                None => defaults.slack.reminders,
                Some(list) => v.reminders(list, &At::root("slack").key("reminders")),
            },
            routes: v.slack_routes(
                raw.slack
                    .as_ref()
                    .and_then(|s| s.routes.as_deref())
                    .unwrap_or_default(),
                raw.repositories.as_deref().unwrap_or_default(),
            ),
        },
        schedule: match raw.schedule.as_ref().and_then(|s| s.poll.as_deref()) {
            None => defaults.schedule,
            Some(poll) => Schedule {
                poll: v
                    .check(&At::root("schedule").key("poll"), Cron::parse(poll))
                    .unwrap_or_else(|| Schedule::default().poll),
            },
        },
        rule_directories: raw
            .rules
            .as_ref()
            .and_then(|r| r.directories.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|d| match base {
                Some(base) if Path::new(d).is_relative() => base.join(d),
                _ => PathBuf::from(d),
            })
            .collect(),
        schedule_sources: match raw.rules.as_ref().and_then(|r| r.schedule_sources.as_deref()) {
            None => ScheduleSources::default(),
            Some(value) => v
                .check(
                    &At::root("rules").key("schedule_sources"),
                    ScheduleSources::parse(value),
                )
                .unwrap_or_default(),
        },
        rollout: match &raw.rollout {
            None => defaults.rollout,
            Some(r) => v.rollout(r),
        },
        prometheus: raw.prometheus.as_ref().and_then(|p| {
            let at = At::root("prometheus").key("url");
            match url::Url::parse(p.url.trim()) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    Some(p.url.trim().trim_end_matches('/').to_string())
                }
                _ => {
                    v.error(
                        &at,
                        format!("`{}` is not an http(s) URL: expected e.g. http://prometheus.monitoring:9090", p.url),
                    );
                    None
                }
            }
        }),
        fork_minimums: raw
            .forks
            .as_ref()
            .map(|f| v.fork_minimums(f))
            .unwrap_or_default(),
        dashboard: raw.dashboard,
    };
    if settings.prometheus.is_none() && raw.prometheus.is_none() {
        for (i, repo) in raw
            .repositories
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            for (j, env) in repo
                .environments
                .as_deref()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if env.live.is_some() || env.health.as_ref().is_some_and(|h| !h.is_empty()) {
                    v.error(
                        &At::root("repositories").index(i).key("environments").index(j).key(
                            if env.live.is_some() { "live" } else { "health" },
                        ),
                        "live verification and health gates read Prometheus: expected `prometheus.url` to be set",
                    );
                }
            }
        }
    }
    (settings, v.issues)
}

struct Validator {
    issues: Vec<Issue>,
}

impl Validator {
    fn check<T>(&mut self, at: &At, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.issues.push(Issue::value(at.path(), message));
                None
            }
        }
    }

    fn error(&mut self, at: &At, message: impl Into<String>) {
        self.issues.push(Issue::value(at.path(), message));
    }

    fn gates(&mut self, raw: &[RawHealthGate], at: &At) -> Vec<Gate> {
        let mut out = Vec::new();
        for (i, g) in raw.iter().enumerate() {
            let at = at.index(i);
            let threshold = match (g.above, g.below) {
                (Some(a), None) if a.is_finite() => Threshold::Above(a),
                (None, Some(b)) if b.is_finite() => Threshold::Below(b),
                (Some(_), Some(_)) => {
                    self.error(&at, "both `above` and `below`: expected exactly one");
                    continue;
                }
                (None, None) => {
                    self.error(
                        &at,
                        "no threshold: expected `above:` or `below:` with a number",
                    );
                    continue;
                }
                _ => {
                    self.error(&at, "the threshold is not a finite number");
                    continue;
                }
            };
            if g.name.trim().is_empty() || g.query.trim().is_empty() {
                self.error(&at, "a gate needs a `name` and a `query`");
                continue;
            }
            let for_ = g
                .for_
                .as_deref()
                .and_then(|t| self.check(&at.key("for"), parse_duration(t)));
            out.push(Gate {
                name: g.name.trim().to_string(),
                query: g.query.trim().to_string(),
                threshold,
                for_,
            });
        }
        out
    }

    /// A count that must be at least 1, or its default.
    fn positive(&mut self, raw: Option<u32>, default: u32, at: &At) -> u32 {
        match raw {
            None => default,
            Some(0) => {
                self.error(at, "invalid 0: expected an integer >= 1");
                default
            }
            Some(n) => n,
        }
    }

    /// A duration setting, or its default when absent or invalid.
    fn duration(&mut self, raw: Option<&str>, default: Duration, at: &At) -> Duration {
        raw.and_then(|text| self.check(at, parse_duration(text)))
            .unwrap_or(default)
    }

    /// `forks:`: fork names, `owner/name` upstreams, network names and
    /// versions that parse.
    fn fork_minimums(&mut self, raw: &BTreeMap<String, RawFork>) -> Vec<ForkMinimum> {
        let mut out = Vec::new();
        for (fork, f) in raw {
            let at = At::root("forks").key(fork);
            if fork.trim().is_empty() || fork.contains(char::is_whitespace) {
                self.error(
                    &at,
                    format!("`{fork}` is not a fork name: expected e.g. Glamsterdam"),
                );
                continue;
            }
            for (upstream, minimum) in f.minimum.iter().flatten() {
                let at = at.key("minimum").key(upstream);
                let Some((owner, name)) = self.check(&at, parse_github(upstream)) else {
                    continue;
                };
                let per_network: Vec<(Option<String>, &String, At)> = match minimum {
                    RawForkMinimum::Everywhere(v) => vec![(None, v, at.clone())],
                    RawForkMinimum::PerNetwork(m) => m
                        .iter()
                        .map(|(n, v)| (Some(n.clone()), v, at.key(n)))
                        .collect(),
                };
                for (network, version, at) in per_network {
                    if let Some(n) = &network
                        && (n.is_empty()
                            || !n
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
                    {
                        self.error(
                            &at,
                            format!("`{n}` is not a network name: expected lowercase letters, digits and `-` (mainnet, hoodi)"),
                        );
                        continue;
                    }
                    let text = version.trim();
                    if crate::domain::version::Tag::parse(&Scheme::Semver, text).is_none() {
                        self.error(
                            &at,
                            format!(
                                "`{version}` is not a version: expected e.g. v9.0.1 or 25.11.0"
                            ),
                        );
                        continue;
                    }
                    out.push(ForkMinimum {
                        fork: fork.clone(),
                        upstream: format!("{owner}/{name}"),
                        network,
                        version: text.to_string(),
                    });
                }
            }
        }
        out
    }

    fn rollout(&mut self, raw: &RawRollout) -> Rollout {
        let at = At::root("rollout");
        let d = Rollout::default();
        let rollout = Rollout {
            soak: self.duration(raw.soak.as_deref(), d.soak, &at.key("soak")),
            minimum_soak: self.duration(
                raw.minimum_soak.as_deref(),
                d.minimum_soak,
                &at.key("minimum_soak"),
            ),
            deadline_margin: self.duration(
                raw.deadline_margin.as_deref(),
                d.deadline_margin,
                &at.key("deadline_margin"),
            ),
            expedite: match raw.expedite.as_deref() {
                None => d.expedite,
                Some(codes) => self.alert_codes(codes, &at.key("expedite")),
            },
            converge: self.duration(raw.converge.as_deref(), d.converge, &at.key("converge")),
        };
        if rollout.minimum_soak > rollout.soak {
            self.error(
                &at.key("minimum_soak"),
                format!(
                    "minimum_soak ({}) is longer than soak ({}): expected at most the soak",
                    crate::domain::plan::human(rollout.minimum_soak),
                    crate::domain::plan::human(rollout.soak)
                ),
            );
        }
        rollout
    }

    fn repositories(&mut self, raw: &[RawRepository], base: Option<&Path>) -> Vec<Repository> {
        let mut seen: HashMap<String, At> = HashMap::new();
        let mut out = Vec::new();
        for (i, repo) in raw.iter().enumerate() {
            let at = At::root("repositories").index(i);
            let source = match (&repo.github, &repo.path) {
                (Some(_), Some(_)) => {
                    self.issues.push(Issue::key(
                        at.key("path").path(),
                        "a repository has either `github` or `path`, not both",
                    ));
                    None
                }
                (None, None) => {
                    self.error(
                        &at,
                        "a repository needs `github: OWNER/NAME` or `path: DIR`",
                    );
                    None
                }
                (Some(github), None) => self
                    .check(&at.key("github"), parse_github(github))
                    .map(|(owner, name)| (RepoSource::GitHub { owner, name }, at.key("github"))),
                (None, Some(path)) => {
                    if path.trim().is_empty() {
                        self.error(
                            &at.key("path"),
                            "empty `path`: expected the directory of a local checkout",
                        );
                        None
                    } else {
                        let p = Path::new(path);
                        let resolved = match base {
                            Some(base) if p.is_relative() => base.join(p),
                            _ => p.to_path_buf(),
                        };
                        // No `./` segments: `a/./b` is `a/b`, `./deploy`
                        // is `deploy` (a lone `.` stays).
                        let resolved: std::path::PathBuf = match resolved
                            .components()
                            .filter(|c| !matches!(c, std::path::Component::CurDir))
                            .collect::<std::path::PathBuf>()
                        {
                            p if p.as_os_str().is_empty() => resolved,
                            p => p,
                        };
                        Some((RepoSource::Path(resolved), at.key("path")))
                    }
                }
            };
            if let Some(branch) = &repo.branch
                && (branch.is_empty()
                    || branch.chars().any(|c| c.is_whitespace() || c.is_control()))
            {
                self.error(
                    &at.key("branch"),
                    format!("invalid branch `{branch}`: expected a branch name"),
                );
            }
            let devnets = repo
                .devnets
                .as_deref()
                .map(|d| self.devnets(d, &at.key("devnets")));
            let environments = self.environments(
                repo.environments.as_deref().unwrap_or_default(),
                &at,
                devnets.as_deref().unwrap_or_default(),
            );
            let overrides = self.overrides(repo, &at, devnets);
            if let Some((source, source_at)) = source {
                let id = source.to_string().to_ascii_lowercase();
                if let Some(first) = seen.get(&id) {
                    self.issues.push(
                        Issue::value(source_at.path(), format!("duplicate repository `{source}`"))
                            .with_first(first.path()),
                    );
                } else {
                    seen.insert(id, source_at);
                }
                let mut repository = Repository {
                    source,
                    branch: repo.branch.clone(),
                    environments,
                    overrides,
                    dashboard: repo.dashboard,
                };
                repository.inherit();
                out.push(repository);
            }
        }
        out
    }

    /// `devnets:` of a repository: network names that are not a known one.
    fn devnets(&mut self, raw: &[String], at: &At) -> Vec<String> {
        let mut out = Vec::new();
        for (i, name) in raw.iter().enumerate() {
            let n = name.trim();
            if !is_network_name(n) {
                self.error(
                    &at.index(i),
                    format!("invalid devnet `{name}`: expected a lowercase name of letters, digits, `-`, `_`, `.`"),
                );
            } else if Network::from_name(n).is_known() {
                self.error(
                    &at.index(i),
                    format!("`{n}` is a known network, not a devnet: remove it from `devnets`"),
                );
            } else if !out.iter().any(|o| o == n) {
                out.push(n.to_string());
            }
        }
        out
    }

    /// The repository-owner keys of a `repositories[]` entry.
    fn overrides(
        &mut self,
        repo: &RawRepository,
        at: &At,
        devnets: Option<Vec<String>>,
    ) -> RepoOverrides {
        let pr = repo.pull_requests.clone().unwrap_or_default();
        let pat = at.key("pull_requests");
        let ro = repo.rollout.clone().unwrap_or_default();
        let rat = at.key("rollout");
        RepoOverrides {
            labels: pr.labels.map(|l| self.labels(&l, &pat.key("labels"))),
            reviewers: pr
                .reviewers
                .map(|r| self.reviewers(&r, &pat.key("reviewers"))),
            assignees: pr
                .assignees
                .map(|a| self.assignees(&a, &pat.key("assignees"))),
            ignore: pr.ignore.map(|rules| {
                rules
                    .iter()
                    .enumerate()
                    .filter_map(|(i, rule)| self.ignore(rule, &pat.key("ignore").index(i)))
                    .collect()
            }),
            group: pr.group,
            groups: pr
                .groups
                .map(|g| self.upstream_groups(&g, &pat.key("groups"))),
            automerge: pr.automerge,
            soak: ro
                .soak
                .and_then(|t| self.check(&rat.key("soak"), parse_duration(&t))),
            windows: if ro.windows.is_none() && ro.timezone.is_none() {
                None
            } else {
                match Windows::new(
                    ro.windows.as_deref().unwrap_or_default(),
                    ro.timezone.as_deref(),
                ) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        let key = match e {
                            WindowError::Timezone { .. } => rat.key("timezone"),
                            _ => rat.key("windows"),
                        };
                        self.error(&key, e.to_string());
                        None
                    }
                }
            },
            devnets,
        }
    }

    fn environments(
        &mut self,
        raw: &[RawEnvironment],
        repo: &At,
        devnets: &[String],
    ) -> Vec<Environment> {
        let mut seen: HashMap<&str, At> = HashMap::new();
        let mut out = Vec::new();
        // the index in `raw` of each environment of `out`
        let mut written = Vec::new();
        for (j, env) in raw.iter().enumerate() {
            let at = repo.key("environments").index(j);
            let mut ok = true;
            let name = env.name.as_str();
            if name.trim().is_empty() {
                self.error(
                    &at.key("name"),
                    "empty environment `name`: expected a name unique in this repository",
                );
                ok = false;
            } else if let Some(first) = seen.get(name) {
                self.issues.push(
                    Issue::value(
                        at.key("name").path(),
                        format!("duplicate environment name `{name}`: names must be unique within a repository"),
                    )
                    .with_first(first.key("name").path()),
                );
                ok = false;
            } else {
                seen.insert(name, at.clone());
            }
            if env.paths.is_empty() {
                self.error(
                    &at.key("paths"),
                    "empty `paths`: expected at least one glob such as `envs/hoodi/**`",
                );
                ok = false;
            }
            let mut builder = globset::GlobSetBuilder::new();
            for (k, pattern) in env.paths.iter().enumerate() {
                if pattern.trim().is_empty() {
                    self.error(
                        &at.key("paths").index(k),
                        "empty glob: expected a pattern such as `envs/hoodi/**`",
                    );
                    ok = false;
                    continue;
                }
                match glob(pattern) {
                    Ok(g) => {
                        builder.add(g);
                    }
                    Err(e) => {
                        self.error(
                            &at.key("paths").index(k),
                            format!("invalid glob `{pattern}`: {}", e.kind()),
                        );
                        ok = false;
                    }
                }
            }
            let network = env.network.as_deref().and_then(|n| {
                let net = Network::from_name(n);
                if is_network_name(n) && (net.is_known() || devnets.iter().any(|d| d == n)) {
                    Some(net)
                } else if is_network_name(n) {
                    let known = ["mainnet", "sepolia", "holesky", "hoodi"];
                    let message = match nearest(n, &known) {
                        Some(near) => format!(
                            "unknown network `{n}`: did you mean `{near}`? (a devnet of that name must be declared in the repository's `devnets: [{n}]`)"
                        ),
                        None => format!(
                            "unknown network `{n}`: expected `mainnet`, `sepolia`, `holesky` or `hoodi`, or a devnet declared in the repository's `devnets: [{n}]`"
                        ),
                    };
                    self.error(&at.key("network"), message);
                    ok = false;
                    None
                } else {
                    self.error(
                        &at.key("network"),
                        format!(
                            "invalid network `{n}`: expected a lowercase name (`mainnet`, `sepolia`, `holesky`, `hoodi`, or a devnet's name of letters, digits, `-`, `_`, `.`)"
                        ),
                    );
                    ok = false;
                    None
                }
            });
            let wave = env.wave.unwrap_or(1);
            if wave == 0 {
                self.error(
                    &at.key("wave"),
                    "invalid wave 0: expected an integer >= 1 (1 rolls out first)",
                );
                ok = false;
            }
            let soak = env
                .soak
                .as_deref()
                .and_then(|text| self.check(&at.key("soak"), parse_duration(text)));
            let windows = match Windows::new(
                env.windows.as_deref().unwrap_or_default(),
                env.timezone.as_deref(),
            ) {
                Ok(w) => w,
                Err(e) => {
                    let key = match e {
                        WindowError::Timezone { .. } => at.key("timezone"),
                        _ => at.key("windows"),
                    };
                    self.error(&key, e.to_string());
                    ok = false;
                    Windows::always()
                }
            };
            let live = env.live.as_ref().and_then(|l| {
                let s = l.selector.trim();
                if s.starts_with('{') && s.ends_with('}') {
                    Some(s.to_string())
                } else {
                    self.error(
                        &at.key("live").key("selector"),
                        format!("`{s}` is not a label selector: expected braces, e.g. {{namespace=\"hoodi\"}}"),
                    );
                    None
                }
            });
            let health = self.gates(env.health.as_deref().unwrap_or_default(), &at.key("health"));
            if !ok {
                continue;
            }
            match builder.build() {
                Ok(matcher) => {
                    out.push(Environment {
                        name: name.to_string(),
                        paths: env.paths.clone(),
                        network,
                        wave,
                        soak,
                        windows,
                        automerge: env.automerge.unwrap_or(false),
                        live,
                        health,
                        matcher,
                        inherits: Inherits {
                            automerge: env.automerge.is_none(),
                            windows: env.windows.is_none() && env.timezone.is_none(),
                        },
                    });
                    written.push(j);
                }
                Err(e) => self.error(&at.key("paths"), format!("invalid globs: {e}")),
            }
        }
        self.wave_gaps(raw, repo);
        for (b, env) in out.iter().enumerate() {
            for first in &out[..b] {
                if let Some((file, pa, pb)) = overlap(first, env) {
                    self.error(
                        &repo.key("environments").index(written[b]).key("paths"),
                        format!(
                            "environments `{}` and `{}` overlap: `{file}` is matched by both (`{pa}` and `{pb}`), and a file belongs only to the first that matches (`{}`); make their paths disjoint",
                            first.name, env.name, first.name
                        ),
                    );
                    break;
                }
            }
        }
        out
    }

    /// Waves of a repository are 1, 2, 3, ... without gaps: the first
    /// missing wave is reported at the first environment after it.
    fn wave_gaps(&mut self, raw: &[RawEnvironment], repo: &At) {
        let waves: Vec<u32> = raw.iter().map(|e| e.wave.unwrap_or(1)).collect();
        let Some(&max) = waves.iter().max() else {
            return;
        };
        let Some(missing) = (1..max).find(|w| !waves.contains(w)) else {
            return;
        };
        let Some((j, next)) = waves
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > missing)
            .min_by_key(|(j, w)| (**w, *j))
        else {
            return;
        };
        self.error(
            &repo.key("environments").index(j).key("wave"),
            format!(
                "wave {next} has no wave {missing} before it: a repository's waves are numbered 1, 2, 3, ... without gaps (no environment has wave {missing})"
            ),
        );
    }

    fn upstreams(&mut self, raw: &[RawUpstream]) -> Vec<Upstream> {
        let mut seen: HashMap<String, At> = HashMap::new();
        let mut out = Vec::new();
        for (i, up) in raw.iter().enumerate() {
            let at = At::root("upstreams").index(i);
            let repo = self.check(&at.key("github"), parse_github(&up.github));
            if let Some((owner, name)) = &repo {
                let id = format!("{owner}/{name}").to_ascii_lowercase();
                if let Some(first) = seen.get(&id) {
                    self.issues.push(
                        Issue::value(
                            at.key("github").path(),
                            format!("duplicate upstream `{owner}/{name}`"),
                        )
                        .with_first(first.key("github").path()),
                    );
                } else {
                    seen.insert(id, at.clone());
                }
            }
            let versioning = match &up.versioning {
                None => Some(None),
                Some(text) => self
                    .check(&at.key("versioning"), parse_versioning(text))
                    .map(Some),
            };
            let release_tag = match &up.release_tag {
                None => Some(None),
                Some(t) => self
                    .check(&at.key("release_tag"), parse_release_tag(t))
                    .map(Some),
            };
            let ignore_tags = self.patterns(up.ignore_tags.as_deref(), &at.key("ignore_tags"));
            let channels = self.patterns(up.channels.as_deref(), &at.key("channels"));
            let (prereleases, github_prerelease_flag) = match &up.prereleases {
                None => (None, None),
                Some(RawPrereleases::Offer(b)) => (Some(*b), None),
                Some(RawPrereleases::Policy(p)) => (p.offer, p.github_flag),
            };
            let images: Vec<Option<ImageMapping>> = up
                .images
                .as_deref()
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(k, image)| self.image(image, &at.key("images").index(k)))
                .collect();
            if let (
                Some((owner, name)),
                Some(versioning),
                Some(release_tag),
                Some(ignore_tags),
                Some(channels),
                Some(images),
            ) = (
                repo,
                versioning,
                release_tag,
                ignore_tags,
                channels,
                images.into_iter().collect::<Option<Vec<_>>>(),
            ) {
                out.push(Upstream {
                    owner,
                    name,
                    versioning,
                    prereleases,
                    github_prerelease_flag,
                    release_tag,
                    ignore_tags,
                    channels,
                    images,
                });
            }
        }
        out
    }

    fn image(&mut self, raw: &RawImage, at: &At) -> Option<ImageMapping> {
        let name = self.check(&at.key("name"), parse_image_name(&raw.name));
        let tag = match &raw.tag {
            None => Some(TagTemplate::default()),
            Some(t) => self.check(&at.key("tag"), parse_tag_template(t)),
        };
        let mut variants = Some(Vec::new());
        for (i, v) in raw
            .variants
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            match self.check(&at.key("variants").index(i), Variant::parse(v.trim())) {
                Some(v) => variants.iter_mut().for_each(|all| all.push(v.clone())),
                None => variants = None,
            }
        }
        Some(ImageMapping {
            name: name?,
            tag: tag?,
            variants: variants?,
            minor_tags: raw.minor_tags,
        })
    }

    /// Tag patterns (`*-exp`); `None` when one is invalid (reported).
    fn patterns(&mut self, raw: Option<&[String]>, at: &At) -> Option<Vec<Pattern>> {
        let mut out = Some(Vec::new());
        for (i, p) in raw.unwrap_or_default().iter().enumerate() {
            match self.check(&at.index(i), Pattern::new(p.trim())) {
                Some(p) => out.iter_mut().for_each(|all| all.push(p.clone())),
                None => out = None,
            }
        }
        out
    }

    fn labels(&mut self, raw: &[String], at: &At) -> Vec<String> {
        let mut out = Vec::new();
        for (i, label) in raw.iter().enumerate() {
            let l = label.trim();
            if l.is_empty() || l.chars().count() > LABEL_MAX {
                self.error(
                    &at.index(i),
                    format!("invalid label `{label}`: expected a non-empty label of at most {LABEL_MAX} characters"),
                );
            } else if !out.iter().any(|o| o == l) {
                out.push(l.to_string());
            }
        }
        out
    }

    fn reviewers(&mut self, raw: &[String], at: &At) -> Vec<String> {
        self.logins(raw, at, true)
    }

    fn assignees(&mut self, raw: &[String], at: &At) -> Vec<String> {
        self.logins(raw, at, false)
    }

    /// GitHub logins (and, for reviewers, `org/team` slugs) that can exist.
    fn logins(&mut self, raw: &[String], at: &At, teams: bool) -> Vec<String> {
        let what = if teams { "reviewer" } else { "assignee" };
        let mut out = Vec::new();
        for (i, login) in raw.iter().enumerate() {
            match check_login(login.trim(), teams) {
                Ok(()) => {
                    let l = login.trim();
                    if !out.iter().any(|o| o == l) {
                        out.push(l.to_string());
                    }
                }
                Err(why) => self.error(&at.index(i), format!("invalid {what} `{login}`: {why}")),
            }
        }
        out
    }

    fn upstream_groups(
        &mut self,
        raw: &[super::raw::RawUpstreamGroup],
        at: &At,
    ) -> Vec<super::types::UpstreamGroup> {
        let mut out: Vec<super::types::UpstreamGroup> = Vec::new();
        for (i, g) in raw.iter().enumerate() {
            let at = at.index(i);
            if g.name.trim().is_empty() {
                self.error(&at.key("name"), "the group's name is empty");
            }
            if g.upstreams.len() < 2 {
                self.error(
                    &at.key("upstreams"),
                    "a group bumps at least two upstreams together",
                );
            }
            for (j, u) in g.upstreams.iter().enumerate() {
                if self
                    .check(&at.key("upstreams").index(j), parse_github(u))
                    .is_some()
                    && (out
                        .iter()
                        .any(|o| o.upstreams.iter().any(|x| x.eq_ignore_ascii_case(u)))
                        || g.upstreams[..j].iter().any(|x| x.eq_ignore_ascii_case(u)))
                {
                    self.error(
                        &at.key("upstreams").index(j),
                        format!("`{u}` is already in a group"),
                    );
                }
            }
            out.push(super::types::UpstreamGroup {
                name: g.name.trim().to_string(),
                upstreams: g.upstreams.clone(),
            });
        }
        out
    }

    fn ignore(&mut self, raw: &super::raw::RawIgnore, at: &At) -> Option<super::types::Ignore> {
        if raw.upstream.is_some() == raw.image.is_some() {
            self.error(
                at,
                "an ignore rule names exactly one of `upstream` and `image`",
            );
            return None;
        }
        if let Some(u) = &raw.upstream {
            self.check(&at.key("upstream"), parse_github(u))?;
        }
        let versions = raw.versions.clone().unwrap_or_default();
        let mut builder = globset::GlobSetBuilder::new();
        for (i, pattern) in versions.iter().enumerate() {
            match globset::Glob::new(pattern) {
                Ok(glob) => {
                    builder.add(glob);
                }
                Err(e) => self.error(
                    &at.key("versions").index(i),
                    format!("invalid version glob `{pattern}`: {e}"),
                ),
            }
        }
        let matcher = builder.build().ok()?;
        Some(super::types::Ignore {
            upstream: raw.upstream.clone(),
            image: raw.image.clone(),
            versions,
            matcher,
        })
    }

    fn alert_codes(&mut self, raw: &[String], at: &At) -> Vec<crate::domain::rules::Code> {
        let mut out = Vec::new();
        for (i, code) in raw.iter().enumerate() {
            let Some(c) = crate::domain::rules::Code::parse(code.trim()) else {
                let known: Vec<String> = crate::domain::rules::Code::ALL
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect();
                self.error(
                    &at.index(i),
                    format!(
                        "unknown finding code `{code}`: expected one of {}",
                        known.join(", ")
                    ),
                );
                continue;
            };
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    fn reminders(&mut self, raw: &[String], at: &At) -> Vec<Duration> {
        let mut out: Vec<Duration> = Vec::new();
        for (i, text) in raw.iter().enumerate() {
            match parse_duration(text) {
                Ok(d) if d.is_zero() => self.error(
                    &at.index(i),
                    format!("invalid reminder `{text}`: expected a time before the deadline such as `7d` or `12h`, not 0"),
                ),
                Ok(d) => {
                    if !out.contains(&d) {
                        out.push(d);
                    }
                }
                Err(message) => self.error(&at.index(i), message),
            }
        }
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    fn slack_routes(
        &mut self,
        raw: &[RawSlackRoute],
        repositories: &[RawRepository],
    ) -> Vec<SlackRoute> {
        let known_envs: Vec<&str> = repositories
            .iter()
            .flat_map(|r| r.environments.as_deref().unwrap_or_default())
            .map(|e| e.name.as_str())
            .collect();
        let mut seen: HashMap<&str, At> = HashMap::new();
        let mut out = Vec::new();
        for (i, route) in raw.iter().enumerate() {
            let at = At::root("slack").key("routes").index(i);
            let mut ok = true;
            let name = route.name.as_str();
            let name_ok = name.len() <= 80
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '#' | '-'));
            if !name_ok {
                self.error(
                    &at.key("name"),
                    format!("invalid route name `{name}`: expected letters, digits, `.`, `_`, `#`, `-` (at most 80), e.g. `eth-mainnet-ops`"),
                );
                ok = false;
            } else if name == DEFAULT_CHANNEL {
                self.error(
                    &at.key("name"),
                    format!("the route name `{DEFAULT_CHANNEL}` is taken by the channel of UPKEEP_SLACK_WEBHOOK_URL: choose another"),
                );
                ok = false;
            } else if let Some(first) = seen.get(name) {
                self.issues.push(
                    Issue::value(
                        at.key("name").path(),
                        format!("duplicate route name `{name}`: names must be unique"),
                    )
                    .with_first(first.key("name").path()),
                );
                ok = false;
            } else {
                seen.insert(name, at.clone());
            }
            let var = route.webhook_env.as_str();
            let var_ok = !var.is_empty()
                && var.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                && var
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !var_ok {
                let hint = if var.contains("://") {
                    "; the URL is a secret: put it in an environment variable and name the variable here"
                } else {
                    ""
                };
                self.error(
                    &at.key("webhook_env"),
                    format!("invalid `webhook_env`: expected the name of an environment variable such as `UPKEEP_SLACK_WEBHOOK_MAINNET` (capital letters, digits, `_`){hint}"),
                );
                ok = false;
            } else if NOT_WEBHOOKS.contains(&var) {
                self.error(
                    &at.key("webhook_env"),
                    format!("`{var}` holds another secret, not a Slack webhook URL"),
                );
                ok = false;
            }
            let repos = route.repositories.as_deref().unwrap_or_default();
            for (k, pattern) in repos.iter().enumerate() {
                if pattern.trim().is_empty() {
                    self.error(
                        &at.key("repositories").index(k),
                        "empty repository: expected `owner/name`, a path as written in `repositories`, or a glob such as `acme/*`",
                    );
                    ok = false;
                } else if let Err(e) = route_glob(pattern) {
                    self.error(
                        &at.key("repositories").index(k),
                        format!("invalid repository glob `{pattern}`: {}", e.kind()),
                    );
                    ok = false;
                }
            }
            let envs = route.environments.as_deref().unwrap_or_default();
            for (k, env) in envs.iter().enumerate() {
                if !known_envs.contains(&env.as_str()) {
                    let defined = if known_envs.is_empty() {
                        "none is defined".to_string()
                    } else {
                        let mut names: Vec<&str> = known_envs.clone();
                        names.sort_unstable();
                        names.dedup();
                        format!("defined: {}", names.join(", "))
                    };
                    self.error(
                        &at.key("environments").index(k),
                        format!("unknown environment `{env}`: no repository has it ({defined})"),
                    );
                    ok = false;
                }
            }
            if !ok {
                continue;
            }
            let repos: Vec<&str> = repos.iter().map(String::as_str).collect();
            let envs: Vec<&str> = envs.iter().map(String::as_str).collect();
            match SlackRoute::new(name, var, &repos, &envs) {
                Ok(r) => out.push(r),
                Err(e) => self.error(&at.key("repositories"), format!("invalid globs: {e}")),
            }
        }
        out
    }

    fn mirrors(&mut self, raw: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let at = At::root("registries").key("mirrors");
        let mut out = BTreeMap::new();
        for (host, url) in raw {
            let host_ok = !host.is_empty()
                && !host.contains("://")
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if !host_ok {
                self.issues.push(Issue::key(
                    at.key(host).path(),
                    format!("invalid registry host `{host}`: expected a host name such as `docker.io` or `ghcr.io`"),
                ));
                continue;
            }
            if let Some(url) = self.check(&at.key(host), parse_endpoint(url)) {
                out.insert(host.to_ascii_lowercase(), url);
            }
        }
        out
    }
}

/// `owner/name` of a GitHub repository.
pub(crate) fn parse_github(text: &str) -> Result<(String, String), String> {
    let err = || {
        format!("invalid GitHub repository `{text}`: expected `owner/name`, e.g. `acme/eth-infra`")
    };
    let (owner, name) = text.split_once('/').ok_or_else(err)?;
    let name_ok = !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if is_github_owner(owner) && name_ok {
        Ok((owner.to_string(), name.to_string()))
    } else {
        Err(err())
    }
}

/// A GitHub user or organisation name: alphanumerics and inner hyphens.
fn is_github_owner(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 39
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Why `login` cannot be a GitHub login (or, with `teams`, an `org/team`).
fn check_login(login: &str, teams: bool) -> Result<(), String> {
    let expected = if teams {
        "expected a GitHub user name or `org/team`"
    } else {
        "expected a GitHub user name (teams cannot be assigned)"
    };
    if let Some(bare) = login.strip_prefix('@') {
        return Err(format!("write it without the `@`: `{bare}`"));
    }
    if login.chars().any(char::is_whitespace) {
        return Err(format!("a GitHub name has no spaces; {expected}"));
    }
    match login.split_once('/') {
        Some((org, team)) if teams => {
            if !is_github_owner(org) {
                Err(format!("`{org}` is not an organisation name; {expected}"))
            } else if team.is_empty() {
                Err(format!("the team after `{org}/` is missing; {expected}"))
            } else if !is_team_slug(team) {
                Err(format!("`{team}` is not a team slug; {expected}"))
            } else {
                Ok(())
            }
        }
        Some(_) => Err(expected.to_string()),
        None if is_github_owner(login) => Ok(()),
        None => Err(format!(
            "a GitHub name is letters, digits and inner `-`, at most 39; {expected}"
        )),
    }
}

/// A network name as written: lowercase letters, digits, `-`, `_`, `.`.
fn is_network_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// A file both environments would match, with the pattern of each that
/// matches it; `None` when none is found. Conservative: only a path built
/// from the patterns' own words and verified against both is reported, so
/// disjoint globs never are.
fn overlap(a: &Environment, b: &Environment) -> Option<(String, String, String)> {
    let vocab: Vec<String> = a
        .paths
        .iter()
        .chain(&b.paths)
        .flat_map(|p| literal_words(p))
        .collect();
    for pa in &a.paths {
        for pb in &b.paths {
            let (Ok(ga), Ok(gb)) = (glob(pa), glob(pb)) else {
                continue;
            };
            let (ma, mb) = (ga.compile_matcher(), gb.compile_matcher());
            let found = witnesses(pa, &vocab)
                .into_iter()
                .chain(witnesses(pb, &vocab))
                .find(|p| ma.is_match(p) && mb.is_match(p));
            if let Some(file) = found {
                return Some((file, pa.clone(), pb.clone()));
            }
        }
    }
    None
}

/// The literal runs of a glob (and each of their path components), as
/// candidates for its wildcards and the other globs'.
fn literal_words(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    for run in pattern.split(['*', '?']) {
        let run = run.trim_matches('/');
        if run.is_empty() {
            continue;
        }
        out.push(run.to_string());
        out.extend(
            run.split('/')
                .filter(|s| !s.is_empty() && *s != run)
                .map(str::to_string),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// Paths a glob matches, its wildcards filled with `x` or with `vocab`
/// words (at most a few hundred). Globs with classes, alternations or
/// escapes give none.
fn witnesses(pattern: &str, vocab: &[String]) -> Vec<String> {
    let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
    if pattern.contains(['[', '{', '\\']) {
        return Vec::new();
    }
    let mut paths = vec![String::new()];
    let mut rest = pattern;
    while !rest.is_empty() {
        let (fills, len): (Vec<String>, usize) = if rest.starts_with("**") {
            let mut f = vec![String::new(), "x".to_string()];
            f.extend(vocab.iter().cloned());
            (f, 2)
        } else if rest.starts_with('*') {
            let mut f = vec!["x".to_string()];
            f.extend(vocab.iter().filter(|w| !w.contains('/')).cloned());
            (f, 1)
        } else if rest.starts_with('?') {
            (vec!["x".to_string()], 1)
        } else {
            let end = rest.find(['*', '?']).unwrap_or(rest.len());
            (vec![rest[..end].to_string()], end)
        };
        rest = &rest[len..];
        paths = paths
            .iter()
            .flat_map(|p| fills.iter().map(move |f| format!("{p}{f}")))
            .take(400)
            .collect();
    }
    paths
        .into_iter()
        .map(|p| {
            let mut p = p;
            while p.contains("//") {
                p = p.replace("//", "/");
            }
            p.trim_start_matches('/').to_string()
        })
        .filter(|p| !p.is_empty() && !p.ends_with('/'))
        .collect()
}

fn is_team_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// `semver`, `calver` or `regex:<pattern>`, read by [`Scheme`]'s `FromStr`
/// (so settings and the version stage agree), with one-line messages.
pub(crate) fn parse_versioning(text: &str) -> Result<Scheme, String> {
    text.trim().parse::<Scheme>().map_err(|e| match e {
        VersionError::UnknownScheme(_) => {
            format!("unknown versioning `{text}`, expected `semver`, `calver` or `regex:<pattern>`")
        }
        VersionError::InvalidRegex { pattern, message } => format!(
            "invalid `regex:` versioning pattern `{pattern}`: {}",
            regex_reason(&message)
        ),
        VersionError::RegexGroups { pattern, reason } => {
            format!("invalid `regex:` versioning pattern `{pattern}`: {reason}")
        }
        other => other.to_string(),
    })
}

/// A tag template, read by the version stage's [`TagTemplate`].
fn parse_release_tag(text: &str) -> Result<TagTemplate, String> {
    TagTemplate::parse_release(text.trim()).map_err(|e| match e {
        VersionError::InvalidTemplate { template, reason } => format!(
            "invalid release tag template `{template}`: {reason}; expected exactly one `{{version}}`, e.g. `v{{version}}` or `op-node/v{{version}}`"
        ),
        other => other.to_string(),
    })
}

fn parse_tag_template(text: &str) -> Result<TagTemplate, String> {
    TagTemplate::parse(text).map_err(|e| match e {
        VersionError::InvalidTemplate { template, reason } => format!(
            "invalid tag template `{template}`: {reason}; expected exactly one `{{version}}`, e.g. `v{{version}}`"
        ),
        other => other.to_string(),
    })
}

/// The one-line reason of a regex error (its syntax errors draw a caret
/// diagram over several lines).
fn regex_reason(text: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().last().unwrap_or_default().trim().to_string())
}

/// An image repository without a tag or digest.
fn parse_image_name(name: &str) -> Result<String, String> {
    let n = name.trim();
    if n.is_empty() || n.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "invalid image name `{name}`: expected an image repository such as `ghcr.io/acme/custom-node`"
        ));
    }
    let last = n.rsplit('/').next().unwrap_or(n);
    if n.contains('@') || last.contains(':') {
        return Err(format!(
            "invalid image name `{name}`: expected the repository without a tag or digest; the tag comes from `tag`"
        ));
    }
    Ok(n.to_string())
}

/// An `http://` or `https://` endpoint with a host.
fn parse_endpoint(url: &str) -> Result<String, String> {
    let u = url.trim();
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        Some(h) if !h.is_empty() && !u.chars().any(|c| c.is_whitespace() || c.is_control()) => {
            Ok(u.trim_end_matches('/').to_string())
        }
        _ => Err(format!(
            "invalid mirror URL `{url}`: expected an `http://` or `https://` URL such as `https://mirror.example.internal`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::settings::Group;

    fn load(text: &str) -> Result<Settings, Vec<String>> {
        crate::domain::settings::load_str(text, "s.yml", None, &Default::default())
            .map_err(|e| e.iter().map(|e| e.to_string()).collect())
    }

    fn errors(text: &str) -> Vec<String> {
        load(text).err().unwrap_or_default()
    }

    /// One repository with these environments (`name paths network wave`).
    fn repo(extra: &str, envs: &[(&str, &str, &str, u32)]) -> String {
        let mut s = format!("repositories:\n  - github: acme/infra\n{extra}    environments:\n");
        for (name, paths, network, wave) in envs {
            s.push_str(&format!(
                "      - name: {name}\n        paths: {paths}\n        network: {network}\n        wave: {wave}\n"
            ));
        }
        s
    }

    #[test]
    fn unknown_networks_are_typos_unless_declared_devnets() {
        assert_eq!(
            errors(&repo("", &[("a", "[a/**]", "mainet", 1)])),
            [
                "s.yml:6:18: unknown network `mainet`: did you mean `mainnet`? (a devnet of that name must be declared in the repository's `devnets: [mainet]`)"
            ]
        );
        assert_eq!(
            errors(&repo("", &[("a", "[a/**]", "devnet-7", 1)])),
            [
                "s.yml:6:18: unknown network `devnet-7`: expected `mainnet`, `sepolia`, `holesky` or `hoodi`, or a devnet declared in the repository's `devnets: [devnet-7]`"
            ]
        );
        let s = load(&repo(
            "    devnets: [devnet-7]\n",
            &[("a", "[a/**]", "devnet-7", 1)],
        ))
        .unwrap();
        assert_eq!(
            s.repositories[0].environments[0].network,
            Some(Network::Other("devnet-7".into()))
        );
        assert_eq!(
            errors(&repo(
                "    devnets: [hoodi]\n",
                &[("a", "[a/**]", "hoodi", 1)]
            )),
            ["s.yml:3:15: `hoodi` is a known network, not a devnet: remove it from `devnets`"]
        );
    }

    #[test]
    fn wave_gaps_name_the_missing_wave() {
        let e = errors(&repo(
            "",
            &[("a", "[a/**]", "hoodi", 1), ("b", "[b/**]", "mainnet", 3)],
        ));
        assert_eq!(
            e,
            [
                "s.yml:11:15: wave 3 has no wave 2 before it: a repository's waves are numbered 1, 2, 3, ... without gaps (no environment has wave 2)"
            ]
        );
        let e = errors(&repo("", &[("a", "[a/**]", "hoodi", 2)]));
        assert!(e[0].contains("wave 2 has no wave 1 before it"), "{e:?}");
        assert!(
            load(&repo(
                "",
                &[
                    ("a", "[a/**]", "hoodi", 2),
                    ("b", "[b/**]", "hoodi", 1),
                    ("c", "[c/**]", "mainnet", 2)
                ]
            ))
            .is_ok()
        );
    }

    #[test]
    fn reviewers_that_cannot_exist_are_refused() {
        let e = errors(
            "pull_requests:\n  reviewers: [\"@alice\", \"acme/\", \"bob smith\", acme/eth-ops, bob]\n  assignees: [acme/ops]\n",
        );
        assert_eq!(
            e,
            [
                "s.yml:2:15: invalid reviewer `@alice`: write it without the `@`: `alice`",
                "s.yml:2:25: invalid reviewer `acme/`: the team after `acme/` is missing; expected a GitHub user name or `org/team`",
                "s.yml:2:34: invalid reviewer `bob smith`: a GitHub name has no spaces; expected a GitHub user name or `org/team`",
                "s.yml:3:15: invalid assignee `acme/ops`: expected a GitHub user name (teams cannot be assigned)",
            ]
        );
        let s = load("pull_requests:\n  reviewers: [acme/eth-ops, bob]\n").unwrap();
        assert_eq!(s.pull_requests.reviewers, ["acme/eth-ops", "bob"]);
    }

    #[test]
    fn overlapping_environments_are_named() {
        let cases = [
            ("[\"envs/**\"]", "[\"envs/hoodi/**\"]"),
            ("[\"envs/*/values.yaml\"]", "[\"envs/hoodi/**\"]"),
            ("[\"**/*.yml\"]", "[\"envs/hoodi/**\"]"),
            ("[\"envs/hoodi/compose.yml\"]", "[\"envs/*/compose.yml\"]"),
            ("[\"**\"]", "[x.yml]"),
        ];
        for (a, b) in cases {
            let e = errors(&repo("", &[("a", a, "hoodi", 1), ("b", b, "mainnet", 2)]));
            assert_eq!(e.len(), 1, "{a} {b}: {e:?}");
            assert!(
                e[0].starts_with("s.yml:9:16: environments `a` and `b` overlap: `"),
                "{a} {b}: {e:?}"
            );
        }
        let disjoint = [
            ("[\"envs/hoodi/**\"]", "[\"envs/mainnet/**\"]"),
            ("[\"**/*.yml\"]", "[\"**/*.yaml\"]"),
            (
                "[\"charts/*/values-hoodi.yaml\"]",
                "[\"charts/*/values-mainnet.yaml\"]",
            ),
            ("[\"envs/hoodi-*/**\"]", "[\"envs/mainnet-*/**\"]"),
            ("[\"a/[cd]/**\"]", "[\"a/b/**\"]"),
        ];
        for (a, b) in disjoint {
            assert_eq!(
                errors(&repo("", &[("a", a, "hoodi", 1), ("b", b, "mainnet", 2)])),
                Vec::<String>::new(),
                "{a} {b}"
            );
        }
    }

    #[test]
    fn unknown_keys_get_the_nearest_known_one() {
        let e = errors("repositories:\n  - github: a/b\n    enviroments: []\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("s.yml:3:5: unknown field `enviroments`"),
            "{e:?}"
        );
        assert!(e[0].ends_with("; did you mean `environments`?"), "{e:?}");
        let e = errors("pull_requests:\n  reviwers: [a]\n");
        assert!(e[0].ends_with("; did you mean `reviewers`?"), "{e:?}");
        let e = errors("pull_request: {}\n");
        assert!(e[0].contains("did you mean `pull_requests`?"), "{e:?}");
    }

    #[test]
    fn repository_settings_merge_over_the_global_ones() {
        let s = load(
            "pull_requests:\n  labels: [upkeep, deps]\n  reviewers: [alice]\n  assignees: [carol]\n  ignore: [{upstream: a/b}]\n\
             rollout:\n  soak: 24h\n\
             repositories:\n  - github: acme/own\n    pull_requests:\n      labels: [eth, deps]\n      reviewers: [acme/ops]\n      assignees: []\n      ignore: [{image: x/y, versions: [\"v2.*\"]}]\n      group: environment\n      groups: [{name: pair, upstreams: [c/d, e/f]}]\n      automerge: true\n    rollout:\n      soak: 2h\n      windows: [\"Mon-Fri 09:00-17:00\"]\n    environments:\n      - {name: a, paths: [a/**], network: hoodi}\n      - {name: b, paths: [b/**], network: mainnet, wave: 2, automerge: false, windows: [\"Sat 02:00-04:00\"]}\n\
             \x20 - github: acme/plain\n",
        )
        .unwrap();
        let (own, plain) = (&s.repositories[0], &s.repositories[1]);
        let pr = own.pull_requests(&s.pull_requests);
        assert_eq!(pr.labels, ["upkeep", "deps", "eth"]);
        assert_eq!(pr.reviewers, ["acme/ops"]);
        assert!(pr.assignees.is_empty());
        assert_eq!(pr.ignore.len(), 2);
        assert_eq!(pr.group, Group::Environment);
        assert_eq!(pr.groups.len(), 1);
        assert_eq!(own.rollout(&s.rollout).soak, Duration::from_secs(7200));
        assert!(own.environments[0].automerge);
        assert!(!own.environments[1].automerge);
        assert!(!own.environments[0].windows.is_always());
        assert_eq!(plain.pull_requests(&s.pull_requests), s.pull_requests);
        assert_eq!(plain.rollout(&s.rollout), s.rollout);
    }

    #[test]
    fn github_names() {
        assert_eq!(
            parse_github("acme/eth-infra"),
            Ok(("acme".into(), "eth-infra".into()))
        );
        assert!(parse_github("sigp/lighthouse").is_ok());
        for bad in ["acme", "/x", "acme/", "a/b/c", "-a/b", "acme/..", "ac me/x"] {
            assert!(parse_github(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versioning() {
        assert_eq!(parse_versioning("semver"), Ok(Scheme::Semver));
        assert_eq!(parse_versioning("calver"), Ok(Scheme::Calver));
        assert!(matches!(
            parse_versioning(r"regex:^v(?<major>\d+)\.(?<minor>\d+)$"),
            Ok(Scheme::Regex(_))
        ));
        let e = parse_versioning("regex:(?<major>\\d+").unwrap_err();
        assert!(e.starts_with("invalid `regex:` versioning pattern"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(
            parse_versioning(r"regex:(?<maj>\d+)")
                .unwrap_err()
                .contains("unknown named group `maj`")
        );
        assert!(
            parse_versioning(r"regex:\d+")
                .unwrap_err()
                .contains("no named group `major`")
        );
        assert!(
            parse_versioning("sem-ver")
                .unwrap_err()
                .starts_with("unknown versioning")
        );
        // a pattern too big to compile is refused, not built
        assert!(parse_versioning(r"regex:(?<major>\d{1000}){1000}").is_err());
    }

    #[test]
    fn image_names_and_endpoints() {
        assert!(parse_image_name("ghcr.io/acme/node").is_ok());
        assert!(parse_image_name("localhost:5000/acme/node").is_ok());
        assert!(parse_image_name("acme/node:v1").is_err());
        assert!(parse_image_name("acme/node@sha256:abc").is_err());
        assert_eq!(
            parse_endpoint("https://m.example/"),
            Ok("https://m.example".into())
        );
        assert!(parse_endpoint("ftp://m.example").is_err());
        assert!(parse_endpoint("https://").is_err());
        assert!(parse_endpoint("mirror.example").is_err());
    }
}
