//! The software inventory: every image reference across the configured
//! repositories and environments, with its current tag, the latest
//! release, how many releases and days it is behind, and the fork deadline
//! that applies; rendered as JSON, markdown or Prometheus gauges
//! (`upkeep_reference_info`, `upkeep_releases_behind`,
//! `upkeep_deadline_timestamp_seconds`) so `serve` can expose the same on
//! `/metrics`.
//!
//! [`build`] and the renderers are pure (references, a check report, the
//! catalog and `now` in). [`collect`] runs a check and reads the
//! repositories' trees as the check left them (a local path, or the
//! checkout in the cache directory): it fetches nothing itself. Nothing
//! here writes anywhere.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::catalog::Catalog;
use crate::domain::evaluate::{CheckReport, Deadline, Failure, Finding, ScannedRepo, Unchecked};

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
}

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

/// The publish time of the oldest offered release newer than `tag`.
fn first_newer(
    catalog: &Catalog,
    report: &CheckReport,
    image: &str,
    tag: Option<&str>,
) -> Option<DateTime<Utc>> {
    let m = catalog.lookup(image)?;
    let current = m.version_of(tag?)?;
    let Some(Ok(list)) = report.releases.get(&m.upstream.repo()) else {
        return None;
    };
    let allow_pre = current.version.is_prerelease();
    list.iter()
        .filter(|r| !r.draft)
        .filter_map(|r| {
            let v = m.upstream.release_version(&r.tag_name)?;
            let offered = m.upstream.offers(&v, r.prerelease) || allow_pre;
            (offered && v.cmp_precedence(&current.version) == std::cmp::Ordering::Greater)
                .then_some((v, r.published_at))
        })
        .min_by(|a, b| a.0.cmp_precedence(&b.0))
        .and_then(|(_, at)| at)
}

/// The newest offered release tag of the image's upstream, at least as
/// new as `tag` (for references that are up to date).
fn newest(catalog: &Catalog, report: &CheckReport, image: &str, tag: &str) -> Option<String> {
    let m = catalog.lookup(image)?;
    let current = m.version_of(tag)?;
    let Some(Ok(list)) = report.releases.get(&m.upstream.repo()) else {
        return None;
    };
    let allow_pre = current.version.is_prerelease();
    list.iter()
        .filter(|r| !r.draft)
        .filter_map(|r| {
            let v = m.upstream.release_version(&r.tag_name)?;
            (m.upstream.offers(&v, r.prerelease) || allow_pre).then_some((v, &r.tag_name))
        })
        .max_by(|a, b| a.0.cmp_precedence(&b.0))
        .map(|(_, t)| t.clone())
}

/// The inventory as pretty JSON (ends with a newline).
pub fn to_json(inventory: &Inventory) -> String {
    serde_json::to_string_pretty(inventory).unwrap_or_default() + "\n"
}

/// A markdown table.
pub fn to_markdown(inventory: &Inventory) -> String {
    let mut out = String::from(
        "| Repository | File | Environment | Network | Image | Current | Latest | Behind | Days behind | Deadline | Status |\n",
    );
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | --- | --- |\n");
    let cell = |s: &str| s.replace('|', "\\|").replace(['\n', '\r'], " ");
    let code = |s: &str| {
        if s.is_empty() {
            String::from("-")
        } else {
            crate::domain::render::sanitize::code_span(s, true)
        }
    };
    for e in &inventory.references {
        let _ = writeln!(
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
pub fn to_prometheus(inventory: &Inventory) -> String {
    let mut info: BTreeMap<String, ()> = BTreeMap::new();
    let mut behind: BTreeMap<String, usize> = BTreeMap::new();
    let mut deadline: BTreeMap<String, i64> = BTreeMap::new();
    for e in &inventory.references {
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

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(
            labels(&[("a", "x\"y"), ("b", "c:\\d\ne")]),
            r#"a="x\"y",b="c:\\d\ne""#
        );
    }
}
