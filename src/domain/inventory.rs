//! The software inventory: every image reference across the configured
//! repositories and environments, with its current tag, the latest
//! release, how many releases and days it is behind, and the fork deadline
//! that applies; rendered as JSON, markdown or Prometheus gauges
//! (`upkeep_reference_info`, `upkeep_releases_behind`,
//! `upkeep_deadline_timestamp_seconds`) so `serve` can expose the same on
//! `/metrics`.
//!
//! The live side ([`with_live`]): for the environments verified by a
//! `live` selector, what kube-state-metrics shows running of each
//! referenced image (tags and container counts) and whether that is the
//! desired version ([`Live`]), with the gauges `upkeep_running_containers`
//! and `upkeep_live_drift`.
//!
//! [`build`], [`with_live`] and the renderers are pure (references, a
//! check report, the catalog, what Prometheus answered and `now` in).
//! `app::inventory` runs the check and the queries. Nothing here writes
//! anywhere.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::catalog::Catalog;
use crate::domain::evaluate::{CheckReport, Deadline, Failure, Finding, ScannedRepo, Unchecked};
use crate::domain::manifest::{Skip, image};
use crate::domain::rollout::verify::{self, Expected, Running};

/// Where a reference stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    UpToDate,
    Outdated,
    /// A newer release exists but its image is not published yet.
    WaitingForImage,
    /// Not checked: see `reason`.
    Unchecked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::UpToDate => "up-to-date",
            Status::Outdated => "outdated",
            Status::WaitingForImage => "waiting-for-image",
            Status::Unchecked => "unchecked",
        }
    }
}

/// One reference in the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub repository: String,
    pub file: String,
    pub line: usize,
    pub environment: Option<String>,
    pub network: Option<String>,
    pub image: String,
    /// The tag as written (`None`: untagged or digest-only).
    pub current: Option<String>,
    pub upstream: Option<String>,
    /// The newest release offered (its git tag).
    pub latest: Option<String>,
    /// The image tag a bump would write.
    pub target_tag: Option<String>,
    /// Releases newer than the current one (0 when up to date).
    pub behind: Option<usize>,
    /// Whole days since the first release after the current one was
    /// published (0 when up to date).
    pub days_behind: Option<i64>,
    pub deadline: Option<Deadline>,
    pub status: Status,
    /// Why an unchecked reference was not checked (`untracked`,
    /// `channel-tag`, `templated`, …).
    pub reason: Option<String>,
    /// What the reference asks the cluster to run: its tag (`latest` when
    /// untagged, none when digest-only) and digest. `None` when its tag is
    /// a template or a variable. Not output.
    #[serde(skip)]
    pub desired: Option<Expected>,
    /// What runs of it, where its environment is verified live
    /// ([`with_live`]); output as `running`, `live` and `live_reason`, and
    /// omitted when no environment has a `live` selector.
    #[serde(flatten)]
    pub live: Option<LiveView>,
}

/// Whether an environment runs what its files say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Live {
    /// Every running container of the image is on the desired tag (or
    /// digest).
    InSync,
    /// Some container runs another version.
    Drift,
    /// No container of the image is seen.
    NotRunning,
    /// Not known: no `live` selector, no Prometheus, or it could not
    /// answer (see `live_reason`).
    Unknown,
}

impl Live {
    pub fn as_str(self) -> &'static str {
        match self {
            Live::InSync => "in-sync",
            Live::Drift => "drift",
            Live::NotRunning => "not-running",
            Live::Unknown => "unknown",
        }
    }
}

/// Containers of one version of an image, as seen running.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunningTag {
    /// The tag in the running image string (`null`: untagged).
    pub tag: Option<String>,
    /// The digest written in the image string, else the one pulled.
    pub digest: Option<String>,
    pub containers: u32,
    /// Its tag, else its short digest, else `latest` (the `tag` label of
    /// `upkeep_running_containers`).
    #[serde(skip)]
    pub version: String,
}

/// The live side of one reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveView {
    /// What runs of the image in its environment, most containers first.
    pub running: Vec<RunningTag>,
    pub live: Live,
    /// For `drift`, the counts (`7 × v7.0.0, 1 × v6.0.0`); for `unknown`,
    /// why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_reason: Option<String>,
}

/// Per (repository, environment): the containers Prometheus shows
/// running there (`kube_pod_container_info` narrowed by the environment's
/// `live` selector), or why that is not known.
pub type Observations = BTreeMap<(String, String), Result<Vec<Running>, String>>;

/// Every reference, and what could not be read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Inventory {
    pub references: Vec<Entry>,
    pub failures: Vec<Failure>,
}

/// References × the check report → the inventory. `repos` are the
/// scanned repositories the report was made from. Pure.
pub fn build(
    repos: &[ScannedRepo],
    report: &CheckReport,
    catalog: &Catalog,
    now: DateTime<Utc>,
) -> Inventory {
    type Key<'a> = (&'a str, &'a str, usize, &'a str);
    let findings: HashMap<Key<'_>, &Finding> = report
        .findings
        .iter()
        .map(|f| {
            (
                (
                    f.repository.as_str(),
                    f.file.as_str(),
                    f.line,
                    f.image.as_str(),
                ),
                f,
            )
        })
        .collect();
    let unchecked: HashMap<Key<'_>, &Unchecked> = report
        .unchecked
        .iter()
        .map(|u| {
            (
                (
                    u.repository.as_str(),
                    u.file.as_str(),
                    u.line,
                    u.image.as_str(),
                ),
                u,
            )
        })
        .collect();
    let mut references = Vec::new();
    for repo in repos {
        for (r, place) in &repo.references {
            let key = (
                repo.name.as_str(),
                r.file.as_str(),
                r.line,
                r.image.as_str(),
            );
            let mut e = Entry {
                repository: repo.name.clone(),
                file: r.file.clone(),
                line: r.line,
                environment: place.as_ref().map(|p| p.environment.clone()),
                network: place.as_ref().and_then(|p| p.network.clone()),
                image: r.image.clone(),
                current: r.tag.clone(),
                upstream: None,
                latest: None,
                target_tag: None,
                behind: None,
                days_behind: None,
                deadline: None,
                status: Status::Unchecked,
                reason: None,
                desired: desired(r),
                live: None,
            };
            if let Some(f) = findings.get(&key) {
                e.upstream = Some(f.upstream.clone());
                e.latest = Some(f.latest.clone());
                e.target_tag = Some(f.target_tag.clone());
                e.behind = Some(f.behind);
                e.deadline = f.deadline.clone();
                e.status = if f.waiting_for_image {
                    Status::WaitingForImage
                } else {
                    Status::Outdated
                };
                e.days_behind = first_newer(catalog, report, &r.image, r.tag.as_deref())
                    .map(|t| (now - t).num_days().max(0));
            } else if let Some(u) = unchecked.get(&key) {
                e.reason = Some(u.reason.clone());
            } else if let Some(tag) = &r.tag
                && r.skip.is_none()
                && let Some(m) = catalog.lookup(&r.image)
            {
                // Up to date: checked, nothing newer offered.
                e.upstream = Some(m.upstream.repo());
                e.latest = newest(catalog, report, &r.image, tag);
                e.target_tag = Some(tag.clone());
                e.behind = Some(0);
                e.days_behind = Some(0);
                e.status = Status::UpToDate;
            } else {
                e.reason = Some(r.skip.map_or("untagged", |s| s.as_str()).to_string());
            }
            references.push(e);
        }
    }
    references.sort_by(|a, b| {
        (&a.repository, &a.file, a.line, &a.image).cmp(&(&b.repository, &b.file, b.line, &b.image))
    });
    Inventory {
        references,
        failures: report.failures.clone(),
    }
}

/// What a reference asks to run (see [`Entry::desired`]).
fn desired(r: &crate::domain::manifest::Reference) -> Option<Expected> {
    let tag = match (r.skip, &r.tag) {
        (Some(Skip::Templated | Skip::Variable), _) => return None,
        (_, Some(tag)) => tag.clone(),
        // Digest-only: no tag matches, only the digest does.
        (_, None) if r.digest.is_some() => String::new(),
        (_, None) => "latest".into(),
    };
    Some(Expected {
        image: r.image.clone(),
        tag,
        digest: r.digest.clone(),
    })
}

/// Adds the live side to the references in the environments of
/// `observations` (the others keep none). A reference's desired versions
/// are its own and those of the other references to the same image in the
/// same environment (two services may run one image at two versions):
/// a container on any of them is in sync. Pure.
pub fn with_live(inventory: &mut Inventory, observations: &Observations) {
    let views: Vec<Option<LiveView>> = inventory
        .references
        .iter()
        .map(|e| live_view(e, &inventory.references, observations))
        .collect();
    for (e, v) in inventory.references.iter_mut().zip(views) {
        e.live = v;
    }
}

/// The live side of `e` (see [`with_live`]).
pub fn live_view(e: &Entry, all: &[Entry], observations: &Observations) -> Option<LiveView> {
    let environment = e.environment.as_ref()?;
    let observed = observations.get(&(e.repository.clone(), environment.clone()))?;
    let unknown = |why: String| LiveView {
        running: Vec::new(),
        live: Live::Unknown,
        live_reason: Some(why),
    };
    let running = match observed {
        Ok(running) => running,
        Err(why) => return Some(unknown(why.clone())),
    };
    let Some(own) = &e.desired else {
        return Some(unknown("its tag is not known (templated)".into()));
    };
    let repository = image::normalize(&e.image);
    let expected: Vec<Expected> = std::iter::once(own.clone())
        .chain(
            all.iter()
                .filter(|o| {
                    o.repository == e.repository
                        && o.environment.as_ref() == Some(environment)
                        && image::normalize(&o.image) == repository
                })
                .filter_map(|o| o.desired.clone()),
        )
        .collect();
    let versions = verify::versions_of(&e.image, &expected, running);
    let live = if versions.is_empty() {
        Live::NotRunning
    } else if versions.iter().all(|v| v.expected) {
        Live::InSync
    } else {
        Live::Drift
    };
    let running: Vec<RunningTag> = versions
        .into_iter()
        .map(|v| RunningTag {
            tag: v.tag,
            digest: v.digest,
            containers: v.containers,
            version: v.version,
        })
        .collect();
    Some(LiveView {
        live_reason: (live == Live::Drift).then(|| counts(&running)),
        running,
        live,
    })
}

/// Containers by version, most first: `7 × v7.0.0, 1 × v6.0.0`.
fn counts(running: &[RunningTag]) -> String {
    let mut by_version: Vec<(&str, u32)> = Vec::new();
    for r in running {
        match by_version.iter_mut().find(|(n, _)| *n == r.version) {
            Some((_, c)) => *c += r.containers,
            None => by_version.push((&r.version, r.containers)),
        }
    }
    by_version.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    by_version
        .iter()
        .map(|(v, n)| format!("{n} × {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True when some reference has a live side (the table, markdown and
/// Prometheus text then show it).
pub fn has_live(inventory: &Inventory) -> bool {
    inventory.references.iter().any(|e| e.live.is_some())
}

/// `7 × v7.0.0, 1 × v6.0.0` (most containers first), or `-`.
pub fn running_text(e: &Entry) -> String {
    match &e.live {
        Some(v) if !v.running.is_empty() => counts(&v.running),
        _ => "-".into(),
    }
}

/// `in-sync`, `drift`, `unknown (Prometheus: …)`, or `-`.
pub fn live_text(e: &Entry) -> String {
    match &e.live {
        None => "-".into(),
        Some(v) if v.live == Live::Unknown => match &v.live_reason {
            Some(why) => format!("unknown ({why})"),
            None => "unknown".into(),
        },
        Some(v) => v.live.as_str().to_string(),
    }
}

/// The publish time of the oldest offered release newer than `tag`.
fn first_newer(
    catalog: &Catalog,
    report: &CheckReport,
    image: &str,
    tag: Option<&str>,
) -> Option<DateTime<Utc>> {
    let m = catalog.lookup(image)?;
    let Some(Ok(list)) = report.releases.get(&m.upstream.repo()) else {
        return None;
    };
    m.offers(tag?, list)?
        .last()
        .and_then(|o| o.release.published_at)
}

/// The newest offered release tag of the image's upstream, at least as
/// new as `tag` (for references that are up to date).
fn newest(catalog: &Catalog, report: &CheckReport, image: &str, tag: &str) -> Option<String> {
    let m = catalog.lookup(image)?;
    let current = m.version_of(tag)?;
    let Some(Ok(list)) = report.releases.get(&m.upstream.repo()) else {
        return None;
    };
    if let Some(newest) = m.offers(tag, list)?.first() {
        return Some(newest.release.tag_name.clone());
    }
    // Up to date: the release it runs (or the newest below it).
    list.iter()
        .filter(|r| !r.draft)
        .filter_map(|r| {
            let v = m.upstream.release_version(&r.tag_name)?;
            (v.cmp_precedence(&current.version) != std::cmp::Ordering::Greater)
                .then_some((v, &r.tag_name))
        })
        .max_by(|a, b| a.0.cmp_precedence(&b.0))
        .map(|(_, t)| t.clone())
}

/// The inventory as pretty JSON (ends with a newline).
pub fn to_json(inventory: &Inventory) -> String {
    serde_json::to_string_pretty(inventory).unwrap_or_default() + "\n"
}

/// A markdown table (with Running and Live columns when some reference
/// has a live side).
pub fn to_markdown(inventory: &Inventory) -> String {
    let live = has_live(inventory);
    let mut out = String::from(
        "| Repository | File | Environment | Network | Image | Current | Latest | Behind | Days behind | Deadline | Status |",
    );
    out.push_str(if live { " Running | Live |\n" } else { "\n" });
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | --- | --- |");
    out.push_str(if live { " --- | --- |\n" } else { "\n" });
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let code = |s: &str| {
        if s.is_empty() {
            String::from("-")
        } else {
            crate::domain::render::sanitize::code_span(s, true)
        }
    };
    for e in &inventory.references {
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            code(&e.repository),
            code(&format!("{}:{}", e.file, e.line)),
            cell(e.environment.as_deref().unwrap_or("-")),
            cell(e.network.as_deref().unwrap_or("-")),
            code(&e.image),
            code(e.current.as_deref().unwrap_or_default()),
            code(e.latest.as_deref().unwrap_or_default()),
            e.behind.map_or_else(|| "-".into(), |b| b.to_string()),
            e.days_behind.map_or_else(|| "-".into(), |d| d.to_string()),
            cell(&deadline_text(e.deadline.as_ref())),
            cell(&status_text(e)),
        );
        if live {
            let _ = write!(
                out,
                " {} | {} |",
                cell(&running_text(e)),
                cell(&live_text(e))
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\n{}", summary(inventory));
    out
}

/// `Pectra on mainnet 2025-05-07 10:05 UTC`, or `-`.
pub fn deadline_text(d: Option<&Deadline>) -> String {
    d.map_or_else(
        || "-".into(),
        |d| {
            format!(
                "{} on {} {}",
                d.fork,
                d.network,
                d.at.format("%Y-%m-%d %H:%M UTC")
            )
        },
    )
}

/// `outdated`, `unchecked (untracked)`, ….
pub fn status_text(e: &Entry) -> String {
    match &e.reason {
        Some(r) => format!("{} ({r})", e.status.as_str()),
        None => e.status.as_str().to_string(),
    }
}

/// `12 references: 5 outdated, 6 up to date, 1 unchecked`.
pub fn summary(inventory: &Inventory) -> String {
    let mut counts: BTreeMap<Status, usize> = BTreeMap::new();
    for e in &inventory.references {
        *counts.entry(e.status).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str().replace('-', " ")))
        .collect();
    let mut s = format!("{} references", inventory.references.len());
    if !parts.is_empty() {
        let _ = write!(s, ": {}", parts.join(", "));
    }
    if !inventory.failures.is_empty() {
        let _ = write!(s, "; {} failed", inventory.failures.len());
    }
    s
}

/// The gauges in the Prometheus text exposition format (0.0.4):
///
/// - `upkeep_reference_info{repository,file,environment,network,image,current,latest} 1`
/// - `upkeep_releases_behind{repository,file,environment,network,image}`
///   for checked references
/// - `upkeep_deadline_timestamp_seconds{repository,file,environment,network,image,fork}`
///   where a fork deadline applies
///
/// References with the same labels (one image twice in a file) are one
/// series: the most releases behind and the earliest deadline count.
///
/// When some reference has a live side ([`with_live`]), also:
///
/// - `upkeep_running_containers{repository,environment,image,tag}`: the
///   containers seen running each version (`tag`: the tag, else the short
///   digest) of a referenced image
/// - `upkeep_live_drift{repository,environment,image}`: 1 when some
///   container runs another version than the desired one, 0 when all run
///   it; absent when none runs or it is not known
pub fn to_prometheus(inventory: &Inventory) -> String {
    let mut info: BTreeMap<String, ()> = BTreeMap::new();
    let mut behind: BTreeMap<String, usize> = BTreeMap::new();
    let mut deadline: BTreeMap<String, i64> = BTreeMap::new();
    let mut running: BTreeMap<String, u32> = BTreeMap::new();
    let mut drift: BTreeMap<String, u8> = BTreeMap::new();
    for e in &inventory.references {
        if let (Some(v), Some(env)) = (&e.live, &e.environment) {
            let base = [
                ("repository", e.repository.as_str()),
                ("environment", env.as_str()),
                ("image", e.image.as_str()),
            ];
            let mut by_tag: BTreeMap<&str, u32> = BTreeMap::new();
            for r in &v.running {
                *by_tag.entry(&r.version).or_default() += r.containers;
            }
            for (tag, n) in by_tag {
                let mut with_tag = base.to_vec();
                with_tag.push(("tag", tag));
                // The same containers, whichever reference saw them.
                running.insert(labels(&with_tag), n);
            }
            let flag = match v.live {
                Live::InSync => Some(0),
                Live::Drift => Some(1),
                Live::NotRunning | Live::Unknown => None,
            };
            if let Some(flag) = flag {
                let slot = drift.entry(labels(&base)).or_default();
                *slot = (*slot).max(flag);
            }
        }
        let base = [
            ("repository", e.repository.as_str()),
            ("file", e.file.as_str()),
            ("environment", e.environment.as_deref().unwrap_or_default()),
            ("network", e.network.as_deref().unwrap_or_default()),
            ("image", e.image.as_str()),
        ];
        let mut with_versions = base.to_vec();
        with_versions.push(("current", e.current.as_deref().unwrap_or_default()));
        with_versions.push(("latest", e.latest.as_deref().unwrap_or_default()));
        info.insert(labels(&with_versions), ());
        if let Some(b) = e.behind {
            let slot = behind.entry(labels(&base)).or_default();
            *slot = (*slot).max(b);
        }
        if let Some(d) = &e.deadline {
            let mut with_fork = base.to_vec();
            with_fork.push(("fork", d.fork.as_str()));
            let at = d.at.timestamp();
            deadline
                .entry(labels(&with_fork))
                .and_modify(|t| *t = (*t).min(at))
                .or_insert(at);
        }
    }
    let mut out = String::new();
    let mut family = |name: &str, help: &str, series: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (labels, value) in series {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    family(
        "upkeep_reference_info",
        "A container image reference in a deployment repository, with its current tag and the latest release (always 1).",
        info.into_keys().map(|l| (l, "1".to_string())).collect(),
    );
    family(
        "upkeep_releases_behind",
        "Releases newer than the deployed one (0: up to date).",
        behind
            .into_iter()
            .map(|(l, v)| (l, v.to_string()))
            .collect(),
    );
    family(
        "upkeep_deadline_timestamp_seconds",
        "When the fork that requires an upgrade of this reference activates (Unix time).",
        deadline
            .into_iter()
            .map(|(l, v)| (l, v.to_string()))
            .collect(),
    );
    if has_live(inventory) {
        family(
            "upkeep_running_containers",
            "Containers seen running a version (tag, else short digest) of a referenced image in a live-verified environment.",
            running
                .into_iter()
                .map(|(l, v)| (l, v.to_string()))
                .collect(),
        );
        family(
            "upkeep_live_drift",
            "1 when some container of a referenced image runs another version than the repository says, 0 when all run it.",
            drift.into_iter().map(|(l, v)| (l, v.to_string())).collect(),
        );
    }
    out
}

/// `a="x",b="y"` with values escaped as the text format asks (`\\`, `\"`,
/// `\n`).
fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(env: &str, image: &str, tag: &str) -> Entry {
        Entry {
            repository: "acme/deploy".into(),
            file: format!("envs/{env}/values.yaml"),
            line: 3,
            environment: Some(env.into()),
            network: None,
            image: image.into(),
            current: Some(tag.into()),
            upstream: None,
            latest: None,
            target_tag: None,
            behind: None,
            days_behind: None,
            deadline: None,
            status: Status::Unchecked,
            reason: Some("untracked".into()),
            desired: Some(Expected {
                image: image.into(),
                tag: tag.into(),
                digest: None,
            }),
            live: None,
        }
    }

    fn run(image: &str, id: Option<&str>, containers: u32) -> Running {
        Running {
            image: image.into(),
            image_id: id.map(Into::into),
            containers,
        }
    }

    fn key(env: &str) -> (String, String) {
        ("acme/deploy".into(), env.into())
    }

    const D7: &str = "sha256:7777777777777777777777777777777777777777777777777777777777777777";

    #[test]
    fn the_live_view_is_in_sync_drift_not_running_or_unknown() {
        let mut inv = Inventory {
            references: vec![
                entry("hoodi", "sigp/lighthouse", "v7.0.0"),
                entry("hoodi", "ethereum/client-go", "v1.15.0"),
                entry("hoodi", "acme/absent", "v1"),
                entry("mainnet", "sigp/lighthouse", "v6.0.0"),
                entry("sepolia", "sigp/lighthouse", "v7.0.0"),
                entry("holesky", "sigp/lighthouse", "v7.0.0"),
            ],
            failures: Vec::new(),
        };
        let mut templated = entry("hoodi", "acme/templated", "{{ .Values.tag }}");
        templated.desired = None;
        inv.references.push(templated);
        let mut hoodi = vec![run(
            "ethereum/client-go:v1.15.0",
            Some(&format!("docker-pullable://ethereum/client-go@{D7}")),
            3,
        )];
        for i in 0..8 {
            let tag = if i < 7 { "v7.0.0" } else { "v6.0.0" };
            hoodi.push(run(&format!("docker.io/sigp/lighthouse:{tag}"), None, 1));
        }
        let observations: Observations = [
            (key("hoodi"), Ok(hoodi)),
            (
                key("mainnet"),
                Ok(vec![run("sigp/lighthouse:v6.0.0", None, 4)]),
            ),
            (
                key("sepolia"),
                Err("Prometheus: connection refused".to_string()),
            ),
        ]
        .into_iter()
        .collect();
        with_live(&mut inv, &observations);
        let view = |i: usize| inv.references[i].live.clone();

        let lighthouse = view(0).unwrap();
        assert_eq!(lighthouse.live, Live::Drift);
        assert_eq!(
            lighthouse.live_reason.as_deref(),
            Some("7 × v7.0.0, 1 × v6.0.0")
        );
        assert_eq!(
            lighthouse.running,
            [
                RunningTag {
                    tag: Some("v7.0.0".into()),
                    digest: None,
                    containers: 7,
                    version: "v7.0.0".into(),
                },
                RunningTag {
                    tag: Some("v6.0.0".into()),
                    digest: None,
                    containers: 1,
                    version: "v6.0.0".into(),
                },
            ]
        );
        assert_eq!(running_text(&inv.references[0]), "7 × v7.0.0, 1 × v6.0.0");

        let geth = view(1).unwrap();
        assert_eq!(geth.live, Live::InSync);
        assert_eq!(geth.live_reason, None);
        assert_eq!(geth.running[0].digest.as_deref(), Some(D7));
        assert_eq!(geth.running[0].containers, 3);

        assert_eq!(view(2).unwrap().live, Live::NotRunning);
        assert_eq!(running_text(&inv.references[2]), "-");
        assert_eq!(view(3).unwrap().live, Live::InSync);
        let unknown = view(4).unwrap();
        assert_eq!(unknown.live, Live::Unknown);
        assert_eq!(
            live_text(&inv.references[4]),
            "unknown (Prometheus: connection refused)"
        );
        // No observation of holesky: no live side.
        assert_eq!(view(5), None);
        assert_eq!(live_text(&inv.references[5]), "-");
        assert_eq!(view(6).unwrap().live, Live::Unknown);

        let json: serde_json::Value = serde_json::from_str(&to_json(&inv)).unwrap();
        let r = &json["references"][0];
        assert_eq!(r["live"], "drift");
        assert_eq!(r["live_reason"], "7 × v7.0.0, 1 × v6.0.0");
        assert_eq!(
            r["running"][1],
            serde_json::json!({"tag": "v6.0.0", "digest": null, "containers": 1})
        );
        assert!(json["references"][5].get("live").is_none());
        assert!(json["references"][5].get("running").is_none());

        let text = to_prometheus(&inv);
        assert!(text.contains(
            "upkeep_running_containers{repository=\"acme/deploy\",environment=\"hoodi\",image=\"sigp/lighthouse\",tag=\"v6.0.0\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "upkeep_live_drift{repository=\"acme/deploy\",environment=\"hoodi\",image=\"sigp/lighthouse\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "upkeep_live_drift{repository=\"acme/deploy\",environment=\"hoodi\",image=\"ethereum/client-go\"} 0\n"
        ), "{text}");
        assert!(!text.contains("image=\"acme/absent\"}"), "{text}");

        let md = to_markdown(&inv);
        assert!(
            md.lines()
                .next()
                .unwrap()
                .ends_with("| Status | Running | Live |")
        );
        assert!(
            md.lines()
                .nth(2)
                .unwrap()
                .ends_with("| 7 × v7.0.0, 1 × v6.0.0 | drift |"),
            "{md}"
        );
    }

    #[test]
    fn references_to_one_image_in_an_environment_are_alternatives() {
        let mut inv = Inventory {
            references: vec![
                entry("hoodi", "sigp/lighthouse", "v7.0.0"),
                entry("hoodi", "docker.io/sigp/lighthouse", "v7.1.0"),
            ],
            failures: Vec::new(),
        };
        let observations: Observations = [(
            key("hoodi"),
            Ok(vec![
                run("sigp/lighthouse:v7.0.0", None, 2),
                run("sigp/lighthouse:v7.1.0", None, 2),
            ]),
        )]
        .into_iter()
        .collect();
        with_live(&mut inv, &observations);
        for e in &inv.references {
            assert_eq!(e.live.as_ref().unwrap().live, Live::InSync);
        }
    }

    #[test]
    fn without_live_data_the_outputs_have_no_live_columns() {
        let mut inv = Inventory {
            references: vec![entry("hoodi", "sigp/lighthouse", "v7.0.0")],
            failures: Vec::new(),
        };
        let before = (to_json(&inv), to_markdown(&inv), to_prometheus(&inv));
        with_live(&mut inv, &Observations::new());
        assert_eq!(
            before,
            (to_json(&inv), to_markdown(&inv), to_prometheus(&inv))
        );
        assert!(!before.2.contains("upkeep_live_drift"));
        assert!(!before.0.contains("\"live\""));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            labels(&[("a", "x\"y"), ("b", "c:\\d\ne")]),
            r#"a="x\"y",b="c:\\d\ne""#
        );
    }
}
