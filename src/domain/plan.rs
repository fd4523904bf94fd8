//! The planner: findings → the pull requests that should exist.
//!
//! Pure: findings, settings, the versions people skipped (closed PRs) and
//! `now` in; planned pull requests (and what is held back, and why) out. No
//! GitHub, no git, no clock. Rendering the words is the render stage's job.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::evaluate::Finding;
use crate::domain::rules::{Code, Priority};
use crate::domain::settings::{Group, PullRequests};

/// One tag to change in one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedEdit {
    /// The upstream whose release this edit moves to, and that release.
    pub upstream: String,
    pub to_version: String,
    pub file: String,
    pub line: usize,
    pub image: String,
    pub from: String,
    pub to: String,
    /// The digest the reference gets with `to` (pinned references only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub environment: Option<String>,
}

/// A pull request that should exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedPr {
    pub repository: String,
    /// The upstream group (`pull_requests.groups`) bumped together, if any.
    pub name: Option<String>,
    /// (upstream, release tag) of every upstream this PR moves, in order.
    pub upgrades: Vec<(String, String)>,
    /// The environment or wave this PR is for, when grouping by them.
    pub group: Option<String>,
    pub edits: Vec<PlannedEdit>,
    /// The findings behind the edits (codes, deadlines, priority).
    pub findings: Vec<Finding>,
    pub labels: Vec<String>,
}

impl PlannedPr {
    /// `lighthouse v7.0.0`, or `go-ethereum v1.15.0, lighthouse v7.0.0`.
    pub fn describe(&self) -> String {
        self.upgrades
            .iter()
            .map(|(u, v)| format!("{} {v}", short_name(u)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every finding code, once, in a stable order.
    pub fn codes(&self) -> Vec<Code> {
        let mut codes: Vec<Code> = self
            .findings
            .iter()
            .flat_map(|f| f.codes.iter().copied())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Alphabetical, as labels and templates have always listed them.
        codes.sort_by_key(|c| c.as_str());
        codes
    }
}

/// `lighthouse` for `sigp/lighthouse`.
pub fn short_name(upstream: &str) -> &str {
    upstream.rsplit('/').next().unwrap_or(upstream)
}

/// A finding with no pull request (yet), and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Held {
    pub finding: Finding,
    pub reason: String,
}

/// The plan for one repository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub pulls: Vec<PlannedPr>,
    pub held: Vec<Held>,
}

/// Colours and descriptions of the labels upkeep creates.
pub fn label_style(name: &str) -> (&'static str, &'static str) {
    match name {
        "upkeep" => ("0e8a16", "Upgrades proposed by upkeep"),
        "hard-fork" => ("b60205", "Required before a network upgrade (hard fork)"),
        "breaking-change" => ("d93f0b", "The upgrade changes behaviour, flags or formats"),
        "security" => ("ee0701", "The upgrade fixes a security issue"),
        "deadline" => ("fbca04", "Must be deployed before a deadline"),
        "deadline-at-risk" => (
            "b60205",
            "Opened before its soak ended: the fork deadline leaves no time",
        ),
        "rollback" => ("5319e7", "Restores the previous version"),
        "priority: high" => ("b60205", "Upstream asks to upgrade soon"),
        "priority: critical" => ("5c0000", "Upstream asks to upgrade immediately"),
        _ => ("c5def5", "Environment targeted by upkeep"),
    }
}

/// Why `f` gets no pull request whatever its rollout says: its version was
/// skipped (a closed pull request), an ignore rule, an unknown target
/// digest for a pinned reference, or the minimum release age. `None`: it
/// may be planned. The rollout's coupled upgrades ask this of a partner
/// before letting the other layer open alone.
pub fn held_reason(
    f: &Finding,
    settings: &PullRequests,
    skipped: &BTreeSet<(String, String)>,
    now: DateTime<Utc>,
) -> Option<String> {
    if skipped.contains(&(f.upstream.clone(), f.latest.clone())) {
        return Some(format!(
            "{} was skipped: its pull request was closed without merging",
            f.latest
        ));
    }
    if settings
        .ignore
        .iter()
        .any(|rule| rule.matches(&f.upstream, &f.image, &f.latest))
    {
        return Some(format!("{} is ignored (pull_requests.ignore)", f.latest));
    }
    if f.digest.is_some() && f.target_digest.is_none() {
        return Some("pinned by digest, and the digest of the target image is not known (registry not asked or unreachable)".into());
    }
    soak_left(f.published_at, settings.minimum_release_age, now)
        .map(|left| format!("minimum release age: {} left", human(left)))
}

/// Plans the pull requests of one repository.
///
/// `skipped` holds (upstream, release tag) pairs whose pull request was
/// closed without merging: those versions are not proposed again, but a
/// newer release is.
/// With `pin_digests`, edits of references written without a digest also
/// carry the target's digest.
pub fn plan(
    findings: &[Finding],
    settings: &PullRequests,
    pin_digests: bool,
    skipped: &BTreeSet<(String, String)>,
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan::default();
    let mut groups: BTreeMap<(String, String, String, Option<String>), PlannedPr> = BTreeMap::new();
    for f in findings {
        if let Some(reason) = held_reason(f, settings, skipped, now) {
            plan.held.push(Held {
                finding: f.clone(),
                reason,
            });
            continue;
        }
        // A pull request never mixes waves: an upstream rolled out in
        // several waves gets one per wave.
        let split = f.rollout.as_ref().is_some_and(|r| r.waves > 1);
        let group = match settings.group {
            Group::Upstream if split => Some(format!("wave-{}", f.wave.unwrap_or(1))),
            Group::Upstream => None,
            Group::Environment => Some(f.environment.clone().unwrap_or_else(|| "default".into())),
            Group::Wave => Some(format!("wave-{}", f.wave.unwrap_or(1))),
        };
        // Upstreams of a named group share one PR whatever their versions;
        // others get one PR per release.
        let named = settings
            .groups
            .iter()
            .find(|g| {
                g.upstreams
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(&f.upstream))
            })
            .map(|g| g.name.clone());
        let key = match &named {
            Some(name) => (
                f.repository.clone(),
                format!("group:{name}"),
                String::new(),
                group.clone(),
            ),
            None => (
                f.repository.clone(),
                f.upstream.clone(),
                f.latest.clone(),
                group.clone(),
            ),
        };
        let pr = groups.entry(key).or_insert_with(|| PlannedPr {
            repository: f.repository.clone(),
            name: named,
            upgrades: Vec::new(),
            group,
            edits: Vec::new(),
            findings: Vec::new(),
            labels: Vec::new(),
        });
        let upgrade = (f.upstream.clone(), f.latest.clone());
        if !pr.upgrades.contains(&upgrade) {
            pr.upgrades.push(upgrade);
            pr.upgrades.sort();
        }
        pr.edits.push(PlannedEdit {
            upstream: f.upstream.clone(),
            to_version: f.latest.clone(),
            file: f.file.clone(),
            line: f.line,
            image: f.image.clone(),
            from: f.current.clone(),
            to: f.target_tag.clone(),
            digest: if pin_digests || f.digest.is_some() {
                f.target_digest.clone()
            } else {
                None
            },
            environment: f.environment.clone(),
        });
        pr.findings.push(f.clone());
    }
    for mut pr in groups.into_values() {
        pr.labels = labels(&pr, settings);
        plan.pulls.push(pr);
    }
    plan
}

fn labels(pr: &PlannedPr, settings: &PullRequests) -> Vec<String> {
    let mut labels: Vec<String> = settings.labels.clone();
    let codes = pr.codes();
    let has = |c: Code| codes.contains(&c);
    if has(Code::HardFork) {
        labels.push("hard-fork".into());
    }
    if has(Code::BreakingChange) {
        labels.push("breaking-change".into());
    }
    if has(Code::SecurityFix) {
        labels.push("security".into());
    }
    if pr.findings.iter().any(|f| f.deadline.is_some()) {
        labels.push("deadline".into());
    }
    if pr
        .findings
        .iter()
        .any(|f| f.rollout.as_ref().is_some_and(|r| r.at_risk))
    {
        labels.push("deadline-at-risk".into());
    }
    for f in &pr.findings {
        match f.priority {
            Some(Priority::High) => labels.push("priority: high".into()),
            Some(Priority::Critical) => labels.push("priority: critical".into()),
            _ => {}
        }
    }
    labels.extend(pr.edits.iter().filter_map(|e| e.environment.clone()));
    let mut seen = BTreeSet::new();
    labels.retain(|l| seen.insert(l.clone()));
    labels
}

/// Time left before a release is old enough, if any.
fn soak_left(
    published: Option<DateTime<Utc>>,
    minimum: Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if minimum.is_zero() {
        return None;
    }
    // No publish time: GitHub always has one for published releases, so
    // this is a cache of an older format; be safe and hold it.
    let Some(published) = published else {
        return Some(minimum);
    };
    let age = (now - published).to_std().unwrap_or_default();
    minimum.checked_sub(age).filter(|left| !left.is_zero())
}

/// `1h 20m`, `2d 3h`, `45s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// A reference with a newer release that no pull request proposes yet,
/// and why: held by the planner or the rollout (soak, window, wave, limits,
/// coupled partner, ignored, skipped), its image not yet in the registry,
/// the registry or the upstream not reachable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Waiting {
    pub repository: String,
    pub file: String,
    pub line: usize,
    pub environment: Option<String>,
    pub image: String,
    pub current: String,
    /// The tag it waits to move to, when known.
    pub target: Option<String>,
    pub reason: String,
}

/// Everything that waits, in repository, file and line order: the held
/// upgrades, the findings waiting for their image (`unasked`: the images
/// whose registry could not be asked) and the references whose upstream
/// could not be read.
pub fn waiting(check: &crate::domain::evaluate::CheckReport, held: &[Held]) -> Vec<Waiting> {
    let of = |f: &Finding, reason: String| Waiting {
        repository: f.repository.clone(),
        file: f.file.clone(),
        line: f.line,
        environment: f.environment.clone(),
        image: f.image.clone(),
        current: f.current.clone(),
        target: Some(f.target_tag.clone()),
        reason,
    };
    let mut out: Vec<Waiting> = held
        .iter()
        .map(|h| of(&h.finding, h.reason.clone()))
        .collect();
    for f in check.findings.iter().filter(|f| f.waiting_for_image) {
        let reason = if check.unasked.contains(&f.image) {
            "the registry could not be asked whether the image exists (registries.require_published)".to_string()
        } else {
            match f.since {
                Some(t) => format!(
                    "image not yet in the registry (released on GitHub {})",
                    t.format("%Y-%m-%d %H:%M UTC")
                ),
                None => "image not yet in the registry".to_string(),
            }
        };
        out.push(of(f, reason));
    }
    for u in check
        .unchecked
        .iter()
        .filter(|u| u.reason == "upstream-failed")
    {
        out.push(Waiting {
            repository: u.repository.clone(),
            file: u.file.clone(),
            line: u.line,
            environment: None,
            image: u.image.clone(),
            current: u.tag.clone().unwrap_or_default(),
            target: None,
            reason: "its upstream's releases could not be read".into(),
        });
    }
    out.sort_by(|a, b| {
        (&a.repository, &a.file, a.line, &a.image).cmp(&(&b.repository, &b.file, b.line, &b.image))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn finding(
        file: &str,
        env: &str,
        upstream: &str,
        latest: &str,
        published_hours_ago: i64,
    ) -> Finding {
        let now = Utc.timestamp_opt(1_750_000_000, 0).unwrap();
        Finding {
            repository: "acme/deploy".into(),
            file: file.into(),
            line: 3,
            image: "sigp/lighthouse".into(),
            current: "v6.0.0".into(),
            upstream: upstream.into(),
            latest: latest.into(),
            target_tag: latest.into(),
            behind: 2,
            environment: Some(env.into()),
            network: Some(env.into()),
            wave: Some(if env == "mainnet" { 2 } else { 1 }),
            codes: vec![],
            deadline: None,
            priority: None,
            published_at: Some(now - chrono::Duration::hours(published_hours_ago)),
            target_digest: None,
            waiting_for_image: false,
            since: None,
            current_release: None,
            digest: None,
            breaking: Vec::new(),
            security: None,
            rollout: None,
        }
    }

    fn settings(group: Group, age_hours: u64) -> PullRequests {
        PullRequests {
            group,
            minimum_release_age: Duration::from_secs(age_hours * 3600),
            ..PullRequests::default()
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_750_000_000, 0).unwrap()
    }

    #[test]
    fn one_pull_request_per_upstream_release_by_default() {
        let f = [
            finding(
                "hoodi/values.yaml",
                "hoodi",
                "sigp/lighthouse",
                "v7.0.0",
                10,
            ),
            finding(
                "mainnet/values.yaml",
                "mainnet",
                "sigp/lighthouse",
                "v7.0.0",
                10,
            ),
            finding(
                "mainnet/geth.yaml",
                "mainnet",
                "ethereum/go-ethereum",
                "v1.15.0",
                10,
            ),
        ];
        let plan = plan(
            &f,
            &settings(Group::Upstream, 0),
            false,
            &BTreeSet::new(),
            now(),
        );
        assert_eq!(plan.pulls.len(), 2);
        let lh = plan
            .pulls
            .iter()
            .find(|p| p.upgrades[0].0 == "sigp/lighthouse")
            .unwrap();
        assert_eq!(lh.edits.len(), 2);
        assert_eq!(lh.labels, ["upkeep", "hoodi", "mainnet"]);
    }

    #[test]
    fn grouping_by_environment_or_wave() {
        let f = [
            finding(
                "hoodi/values.yaml",
                "hoodi",
                "sigp/lighthouse",
                "v7.0.0",
                10,
            ),
            finding(
                "mainnet/values.yaml",
                "mainnet",
                "sigp/lighthouse",
                "v7.0.0",
                10,
            ),
        ];
        let by_env = plan(
            &f,
            &settings(Group::Environment, 0),
            false,
            &BTreeSet::new(),
            now(),
        );
        let groups: Vec<_> = by_env
            .pulls
            .iter()
            .map(|p| p.group.clone().unwrap())
            .collect();
        assert_eq!(groups, ["hoodi", "mainnet"]);
        let by_wave = plan(
            &f,
            &settings(Group::Wave, 0),
            false,
            &BTreeSet::new(),
            now(),
        );
        let groups: Vec<_> = by_wave
            .pulls
            .iter()
            .map(|p| p.group.clone().unwrap())
            .collect();
        assert_eq!(groups, ["wave-1", "wave-2"]);
    }

    #[test]
    fn young_releases_and_skipped_versions_are_held() {
        let f = [finding("a.yaml", "hoodi", "sigp/lighthouse", "v7.0.0", 1)];
        let plan1 = plan(
            &f,
            &settings(Group::Upstream, 3),
            false,
            &BTreeSet::new(),
            now(),
        );
        assert!(plan1.pulls.is_empty());
        assert_eq!(plan1.held[0].reason, "minimum release age: 2h 0m left");
        let skipped = BTreeSet::from([("sigp/lighthouse".to_string(), "v7.0.0".to_string())]);
        let plan2 = plan(&f, &settings(Group::Upstream, 0), false, &skipped, now());
        assert!(plan2.pulls.is_empty());
        assert!(plan2.held[0].reason.contains("closed without merging"));
    }

    #[test]
    fn named_groups_bump_their_upstreams_together() {
        let f = [
            finding(
                "mainnet/cl.yaml",
                "mainnet",
                "sigp/lighthouse",
                "v7.0.0",
                10,
            ),
            finding(
                "mainnet/el.yaml",
                "mainnet",
                "ethereum/go-ethereum",
                "v1.15.0",
                10,
            ),
            finding(
                "mainnet/mev.yaml",
                "mainnet",
                "flashbots/mev-boost",
                "v1.9",
                10,
            ),
        ];
        let mut s = settings(Group::Upstream, 0);
        s.groups = vec![crate::domain::settings::UpstreamGroup {
            name: "pectra-pair".into(),
            upstreams: vec!["ethereum/go-ethereum".into(), "sigp/lighthouse".into()],
        }];
        let p = plan(&f, &s, false, &BTreeSet::new(), now());
        assert_eq!(p.pulls.len(), 2);
        let pair = p.pulls.iter().find(|p| p.name.is_some()).unwrap();
        assert_eq!(
            pair.upgrades,
            [
                ("ethereum/go-ethereum".to_string(), "v1.15.0".to_string()),
                ("sigp/lighthouse".to_string(), "v7.0.0".to_string())
            ]
        );
        assert_eq!(pair.edits.len(), 2);
        assert_eq!(pair.describe(), "go-ethereum v1.15.0, lighthouse v7.0.0");
    }

    #[test]
    fn codes_become_labels() {
        let mut f = finding("a.yaml", "mainnet", "sigp/lighthouse", "v7.0.0", 10);
        f.codes = vec![Code::HardFork, Code::SecurityFix];
        f.priority = Some(Priority::High);
        let p = plan(
            &[f],
            &settings(Group::Upstream, 0),
            false,
            &BTreeSet::new(),
            now(),
        );
        assert_eq!(
            p.pulls[0].labels,
            [
                "upkeep",
                "hard-fork",
                "security",
                "priority: high",
                "mainnet"
            ]
        );
    }
}
