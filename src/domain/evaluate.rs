//! Evaluation: references × upstream releases × rules → findings.
//!
//! Pure: the scanned references, the catalog, the releases of each upstream,
//! what the registries said about target images ([`Existence`]), the rule
//! engine and `now` come in; findings come out, typed (codes, priority,
//! deadline), most urgent first. Gathering those inputs is
//! [`crate::app::check`]'s job.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::catalog::Catalog;
use crate::domain::manifest::Reference;
use crate::domain::release::Release;
use crate::domain::repo::RepoName;
use crate::domain::rollout::decide::{
    FindingRollout, PullRecord, RollbackRequest, RolloutAlert, UpstreamRollout,
};
use crate::domain::rollout::verify::Running;
use crate::domain::rules::{Code, Priority};
use crate::domain::settings::Repository;

/// One reference and what upkeep knows about its upstream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub repository: String,
    pub file: String,
    pub line: usize,
    pub image: String,
    pub current: String,
    pub upstream: String,
    /// The newest release offered to this reference (its git tag).
    pub latest: String,
    /// The image tag of `latest` in the reference's variant.
    pub target_tag: String,
    /// Releases newer than the current one (distinct image tags).
    pub behind: usize,
    pub environment: Option<String>,
    pub network: Option<String>,
    /// The environment's rollout wave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<u32>,
    /// Finding codes from the rule engine (`hard-fork`, `breaking-change`, …).
    pub codes: Vec<Code>,
    pub deadline: Option<Deadline>,
    /// Above `low` only: `None` is a routine upgrade.
    pub priority: Option<Priority>,
    /// When `latest` was published.
    #[serde(skip)]
    pub published_at: Option<DateTime<Utc>>,
    /// The digest of `target_tag` in its registry (the index digest of a
    /// multi-arch image), when the registry was asked.
    pub target_digest: Option<String>,
    /// No newer image is published yet, so nothing is offered: `latest` and
    /// `target_tag` name the release waited for.
    pub waiting_for_image: bool,
    /// While waiting: when that release was published on GitHub.
    pub since: Option<DateTime<Utc>>,
    /// The release tag of the deployed version, when it is a release.
    #[serde(skip)]
    pub current_release: Option<String>,
    /// The digest the reference is pinned to (`tag@sha256:…`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Breaking changes in the releases between current and target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breaking: Vec<String>,
    /// A security note for the releases between current and target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<String>,
    /// Where this finding's release stands in the repository's waves
    /// (references in an environment only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<FindingRollout>,
}

/// A fork deadline that applies to a reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub fork: String,
    pub network: String,
    pub at: DateTime<Utc>,
    /// The release (its tag as written) that brings the fork: the one
    /// whose notes schedule it, or the fork's minimum version. A later
    /// release (a hotfix) carries the fork; it does not bring it. `None`
    /// when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

impl Deadline {
    /// The release that brings the fork, when it is not `target`: an
    /// upgrade to `target` carries the fork of that earlier release.
    pub fn carried_from(&self, target: &str) -> Option<&str> {
        self.release.as_deref().filter(|r| *r != target)
    }

    /// `carries the Pectra release v7.0.0`, when an upgrade to `target`
    /// carries the fork of an earlier release.
    pub fn carries(&self, target: &str) -> Option<String> {
        self.carried_from(target)
            .map(|r| format!("carries the {} release {r}", self.fork))
    }
}

/// A reference upkeep cannot check, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unchecked {
    pub repository: String,
    pub file: String,
    pub line: usize,
    pub image: String,
    pub tag: Option<String>,
    /// `untracked` (no upstream known for the image), `channel-tag` (a
    /// moving tag such as `latest`), `upstream-failed`, or the scan's skip
    /// reason (`templated`, `variable`, `untagged`, `digest-only`).
    pub reason: String,
}

/// A repository or upstream that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub subject: String,
    pub error: String,
}

/// Everything `check` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckReport {
    /// Outdated references, most urgent first.
    pub findings: Vec<Finding>,
    /// References at the newest release offered to them.
    pub up_to_date: usize,
    pub unchecked: Vec<Unchecked>,
    pub failures: Vec<Failure>,
    /// Scan problems (unreadable files), as `file:line:column: message`.
    pub problems: Vec<String>,
    /// Registry problems (unreachable, refused): the check went on.
    pub warnings: Vec<String>,
    /// The releases polled, per upstream (for rendering, not output).
    #[serde(skip)]
    pub releases: ReleaseMap,
    /// The repositories scanned, as planned from: each settings entry with
    /// its `.github/upkeep.yml` merged in (not output).
    #[serde(skip)]
    pub repositories: Vec<Repository>,
    /// Invalid `.github/upkeep.yml` files: their repositories were skipped
    /// (and are in `failures`); `upkeep run` and `serve` report each on its
    /// commit (not output).
    #[serde(skip)]
    pub repo_files: Vec<RepoFileProblem>,
    /// The references of every repository scanned, with their environments
    /// (for the inventory and the rollout, not output).
    #[serde(skip)]
    pub scanned: Vec<ScannedRepo>,
    /// Every release in flight through a repository's waves.
    #[serde(skip)]
    pub rollouts: Vec<UpstreamRollout>,
    /// What the rollouts want a person to hear (deadline at risk, window
    /// overridden).
    #[serde(skip)]
    pub rollout_alerts: Vec<RolloutAlert>,
    /// Merged pull requests whose verification failed, to undo.
    #[serde(skip)]
    pub rollbacks: Vec<RollbackRequest>,
    /// upkeep's pull requests per repository, as read for the rollouts.
    #[serde(skip)]
    pub pulls: BTreeMap<String, Vec<PullRecord>>,
    /// The base each GitHub repository was read at: publishing builds on
    /// exactly what was checked, without fetching again.
    #[serde(skip)]
    pub bases: BTreeMap<String, BaseRef>,
    /// Per repository and environment with a `live` selector, the
    /// containers Prometheus showed running there, or why it could not
    /// answer (for the inventory, not output).
    #[serde(skip)]
    pub live: BTreeMap<String, BTreeMap<String, Result<Vec<Running>, String>>>,
    /// Findings whose target could not be verified: the registry could
    /// not be asked and `registries.require_published` holds them.
    #[serde(skip)]
    pub unverified: usize,
    /// The images whose registry could not be asked while
    /// `registries.require_published` holds their targets (not output).
    #[serde(skip)]
    pub unasked: BTreeSet<String>,
    /// What the rollout decisions read besides the pull requests, so a pass
    /// can decide again once its own writes changed them (not output):
    /// Prometheus's answers per repository and environment,
    #[serde(skip)]
    pub observed: BTreeMap<String, BTreeMap<String, crate::domain::rollout::decide::Observed>>,
    /// the fork readiness that couples upgrades,
    #[serde(skip)]
    pub rollout_readiness: Vec<crate::domain::readiness::Row>,
    /// and the rules that classify releases.
    #[serde(skip)]
    pub engine: Option<std::sync::Arc<crate::domain::rules::Engine>>,
}

impl CheckReport {
    /// What could not be checked, as `(count, why)`: references of
    /// upstreams that could not be read, and findings whose registry could
    /// not be asked. Empty when every reference was checked.
    pub fn not_checked(&self) -> Vec<(usize, &'static str)> {
        let upstream = self
            .unchecked
            .iter()
            .filter(|u| u.reason == "upstream-failed")
            .count();
        let mut out = Vec::new();
        if upstream > 0 {
            out.push((upstream, "upstream releases could not be read"));
        }
        if self.unverified > 0 {
            out.push((
                self.unverified,
                "registry could not be asked (registries.require_published)",
            ));
        }
        out
    }

    /// References actually checked (up to date, or outdated with a
    /// verified target).
    pub fn checked(&self) -> usize {
        self.up_to_date + self.findings.len().saturating_sub(self.unverified)
    }

    /// Whether the check is incomplete: a failure, or references that
    /// could not be checked. Such a check never reports "all good".
    pub fn incomplete(&self) -> bool {
        !self.failures.is_empty() || !self.not_checked().is_empty()
    }

    /// `N reference(s) could not be checked (why, ...)`, or `None`.
    pub fn not_checked_line(&self) -> Option<String> {
        let parts = self.not_checked();
        if parts.is_empty() && self.failures.is_empty() {
            return None;
        }
        let n: usize = parts.iter().map(|p| p.0).sum();
        let mut why: Vec<String> = parts.iter().map(|(n, w)| format!("{n}: {w}")).collect();
        if !self.failures.is_empty() {
            why.push(format!(
                "{} failed: {}",
                self.failures.len(),
                self.failures
                    .iter()
                    .map(|f| f.subject.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let head = match (self.checked(), n) {
            (0, 0) => "no reference could be checked".to_string(),
            (0, n) => format!("no reference could be checked ({n} not checked)"),
            (_, 0) => "the check is incomplete".to_string(),
            (_, n) => format!("{n} reference(s) could not be checked"),
        };
        Some(format!("{head}: {}", why.join("; ")))
    }
}

/// Where a GitHub repository's files were read from in a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseRef {
    /// The branch pull requests target.
    pub base_branch: String,
    /// The commit checked (its head when read).
    pub commit: String,
    pub clone_url: String,
}

/// An invalid `.github/upkeep.yml` on a repository's base branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFileProblem {
    pub repository: RepoName,
    /// The commit the file was read from (the base branch's head).
    pub commit: String,
    /// `.github/upkeep.yml:LINE:COL: message`, in file order.
    pub errors: Vec<String>,
}

/// The environment a reference belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub environment: String,
    pub network: Option<String>,
    pub wave: u32,
}

/// The references of one repository, with the environment of each.
#[derive(Clone, Debug)]
pub struct ScannedRepo {
    pub name: String,
    pub references: Vec<(Reference, Option<Placement>)>,
}

/// Releases per upstream (`owner/name`), newest first; `Err` for upstreams
/// that could not be polled.
pub type ReleaseMap = BTreeMap<String, Result<Vec<Release>, String>>;

/// The upstreams (`owner/name`) the references come from.
pub fn upstreams_of(repos: &[ScannedRepo], catalog: &Catalog) -> BTreeSet<String> {
    repos
        .iter()
        .flat_map(|r| &r.references)
        .filter(|(r, _)| r.skip.is_none())
        .filter_map(|(r, _)| catalog.lookup(&r.image).map(|m| m.upstream.repo()))
        .collect()
}

/// References × releases → findings, every target taken as published. Pure.
pub fn evaluate(repos: &[ScannedRepo], catalog: &Catalog, releases: &ReleaseMap) -> CheckReport {
    evaluate_gated(repos, catalog, releases, &|_, _| Existence::Trusted)
}

/// What the registry says about an image tag, as [`evaluate_gated`] is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Existence {
    /// Published, with its digest.
    Published { digest: String },
    /// Offered on GitHub's word (the registry could not answer and
    /// `registries.require_published` is false).
    Trusted,
    /// Not in the registry (yet): an older target may be offered instead.
    Missing,
    /// Not known: the target is held, the finding waits for its image.
    Unknown,
}

/// The newest candidate (newest first) that may be offered, with its
/// digest; `None` when nothing may be offered yet.
fn pick_published<T>(
    newer: &[(T, crate::domain::version::Version, String)],
    existence: impl Fn(&str) -> Existence,
) -> (Option<usize>, Option<String>) {
    for (i, (_, _, tag)) in newer.iter().enumerate() {
        match existence(tag) {
            Existence::Published { digest } => return (Some(i), Some(digest)),
            Existence::Trusted => return (Some(i), None),
            Existence::Missing => {}
            Existence::Unknown => break,
        }
    }
    (None, None)
}

/// References × releases → findings, offering each reference the newest
/// target whose image `existence(image as written, tag)` says may be
/// offered (see [`Existence`]). Pure.
pub fn evaluate_gated(
    repos: &[ScannedRepo],
    catalog: &Catalog,
    releases: &ReleaseMap,
    existence: &dyn Fn(&str, &str) -> Existence,
) -> CheckReport {
    let mut report = CheckReport::default();
    for repo in repos {
        for (r, env) in &repo.references {
            let unchecked = |reason: &str| Unchecked {
                repository: repo.name.clone(),
                file: r.file.clone(),
                line: r.line,
                image: r.image.clone(),
                tag: r.tag.clone(),
                reason: reason.to_string(),
            };
            if let Some(skip) = r.skip {
                report.unchecked.push(unchecked(skip.as_str()));
                continue;
            }
            let Some(tag) = &r.tag else { continue };
            let Some(m) = catalog.lookup(&r.image) else {
                report.unchecked.push(unchecked("untracked"));
                continue;
            };
            let Some(current) = m.version_of(tag) else {
                report.unchecked.push(unchecked("channel-tag"));
                continue;
            };
            let upstream = m.upstream.repo();
            let Some(Ok(list)) = releases.get(&upstream) else {
                report.unchecked.push(unchecked("upstream-failed"));
                continue;
            };
            // Newer releases offered (catalog policy: pre-releases, aliases,
            // hotfixes), newest first, each with the tag it gives.
            let newer: Vec<(&Release, crate::domain::version::Version, String)> = m
                .offers(tag, list)
                .unwrap_or_default()
                .into_iter()
                .map(|o| (o.release, o.version, o.tag))
                .collect();
            if newer.is_empty() {
                report.up_to_date += 1;
                continue;
            }
            let behind = newer.iter().map(|n| &n.2).collect::<BTreeSet<_>>().len();
            let (pick, target_digest) = pick_published(&newer, |t| existence(&r.image, t));
            let waiting = pick.is_none();
            let (latest, _, target) = &newer[pick.unwrap_or(0)];
            report.findings.push(Finding {
                repository: repo.name.clone(),
                file: r.file.clone(),
                line: r.line,
                image: r.image.clone(),
                current: tag.clone(),
                upstream,
                latest: latest.tag_name.clone(),
                target_tag: target.clone(),
                behind,
                environment: env.as_ref().map(|e| e.environment.clone()),
                network: env.as_ref().and_then(|e| e.network.clone()),
                wave: env.as_ref().map(|e| e.wave),
                codes: Vec::new(),
                deadline: None,
                priority: None,
                published_at: latest.published_at,
                target_digest,
                waiting_for_image: waiting,
                since: if waiting { latest.published_at } else { None },
                current_release: list
                    .iter()
                    .find(|rel| {
                        m.upstream.release_version(&rel.tag_name).is_some_and(|v| {
                            v.cmp_precedence(&current.version) == std::cmp::Ordering::Equal
                        })
                    })
                    .map(|rel| rel.tag_name.clone()),
                digest: r.digest.clone(),
                breaking: Vec::new(),
                security: None,
                rollout: None,
            });
        }
    }
    sort_by_urgency(&mut report.findings);
    report
}

/// Adds what the rule engine says to every finding: codes, breaking items,
/// security note, priority and the nearest deadline on the finding's
/// network, from the releases between the deployed version and the target
/// (their notes) and from the fork schedule (minimum versions), as of `now`.
/// Pure; classifications are computed once per release.
pub fn annotate(
    report: &mut CheckReport,
    catalog: &Catalog,
    engine: &crate::domain::rules::Engine,
    now: DateTime<Utc>,
) {
    let mut classified: BTreeMap<(String, String), crate::domain::rules::Classification> =
        BTreeMap::new();
    for f in &mut report.findings {
        let Some(m) = catalog.lookup(&f.image) else {
            continue;
        };
        let Some(current) = m.version_of(&f.current) else {
            continue;
        };
        let mut codes: BTreeSet<Code> = BTreeSet::new();
        let mut priority: Option<Priority> = None;
        let mut deadlines: Vec<Deadline> = Vec::new();
        let network = f.network.clone().unwrap_or_else(|| "mainnet".into());
        for rf in engine.reference_findings(&f.upstream, &current.version, Some(&network), now) {
            codes.extend(rf.codes.iter().copied());
            priority = priority.max(Some(rf.priority));
            // The minimum version's release, its tag as written.
            let minimum = m.upstream.release_version(&rf.minimum);
            let release = report
                .releases
                .get(&f.upstream)
                .and_then(|r| r.as_ref().ok())
                .into_iter()
                .flatten()
                .find(|rel| {
                    m.upstream
                        .release_version(&rel.tag_name)
                        .zip(minimum.as_ref())
                        .is_some_and(|(v, min)| v.cmp_precedence(min) == std::cmp::Ordering::Equal)
                })
                .map(|rel| rel.tag_name.clone());
            deadlines.push(Deadline {
                fork: rf.deadline.fork.clone(),
                network: rf.deadline.network.clone(),
                at: rf.deadline.at,
                release,
            });
        }
        let target = m.upstream.release_version(&f.latest);
        let in_between = report
            .releases
            .get(&f.upstream)
            .and_then(|r| r.as_ref().ok())
            .into_iter()
            .flatten()
            .filter(|rel| {
                m.upstream.release_version(&rel.tag_name).is_some_and(|v| {
                    v.cmp_precedence(&current.version) == std::cmp::Ordering::Greater
                        && target
                            .as_ref()
                            .is_some_and(|t| v.cmp_precedence(t) != std::cmp::Ordering::Greater)
                })
            });
        let mut scheduled: Vec<Deadline> = Vec::new();
        for rel in in_between {
            let c = classified
                .entry((f.upstream.clone(), rel.tag_name.clone()))
                .or_insert_with(|| engine.classify(&f.upstream, rel));
            // A fork the notes prepare for that has already activated on
            // this network says nothing now: the schedule's minimum versions
            // (above) tell whether this deployment missed it.
            let upcoming = c.deadline(&network).filter(|d| d.at > now);
            codes.extend(c.codes.iter().copied().filter(|code| {
                *code != Code::Overdue && (*code != Code::HardFork || upcoming.is_some())
            }));
            priority = priority.max(Some(c.priority));
            for b in &c.breaking {
                if !f.breaking.contains(b) {
                    f.breaking.push(b.clone());
                }
            }
            if c.security && f.security.is_none() {
                f.security = Some(format!("{} fixes a security issue", rel.tag_name));
            }
            if let Some(d) = upcoming {
                // The oldest release that schedules it brings it (the
                // releases come newest first: an older one replaces).
                scheduled.retain(|x| (&x.fork, &x.network) != (&d.fork, &d.network));
                scheduled.push(Deadline {
                    fork: d.fork,
                    network: d.network,
                    at: d.at,
                    release: Some(rel.tag_name.clone()),
                });
            }
        }
        deadlines.extend(scheduled);
        if deadlines.iter().any(|d| d.at <= now) {
            codes.insert(Code::Overdue);
        }
        f.codes = codes.into_iter().collect();
        f.priority = priority.filter(|p| *p > Priority::Low);
        f.deadline = deadlines.into_iter().min_by_key(|d| d.at);
    }
    sort_by_urgency(&mut report.findings);
}

/// Most urgent first: nearest deadline, then most releases behind, then by
/// place.
pub fn sort_by_urgency(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let deadline = |f: &Finding| f.deadline.as_ref().map(|d| d.at);
        match (deadline(a), deadline(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then(b.behind.cmp(&a.behind))
        .then_with(|| (&a.repository, &a.file, a.line).cmp(&(&b.repository, &b.file, b.line)))
    });
}
