//! `check`: references × upstream releases → what is outdated.
//!
//! [`evaluate`] is pure (references, catalog, releases and `now` in; findings
//! out). [`run`] is the pipeline around it: fetch or open each deployment
//! repository, scan it, poll the upstreams its images come from, evaluate.
//! One failing repository or upstream becomes an entry in the report and
//! the others go on. Nothing here writes to a deployment repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::forge::{Forge, RepoName};
use crate::manifest::{self, Reference};
use crate::poll;
use crate::release::Release;
use crate::settings::{RepoSource, Repository, Settings};
use crate::store::Store;

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
    /// Finding codes from the rule engine (`hard-fork`, `breaking-change`, …).
    pub codes: Vec<String>,
    pub deadline: Option<Deadline>,
    pub priority: Option<String>,
    /// When `latest` was published.
    #[serde(skip)]
    pub published_at: Option<DateTime<Utc>>,
}

/// A fork deadline that applies to a reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub fork: String,
    pub network: String,
    pub at: DateTime<Utc>,
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
}

/// The environment a reference belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub environment: String,
    pub network: Option<String>,
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

/// References × releases → findings. Pure.
pub fn evaluate(repos: &[ScannedRepo], catalog: &Catalog, releases: &ReleaseMap) -> CheckReport {
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
            let allow_pre = current.version.is_prerelease();
            // Newer releases, each with the tag it gives this reference.
            let mut newer: Vec<(&Release, crate::version::Version, String)> = list
                .iter()
                .filter(|rel| !rel.draft)
                .filter_map(|rel| {
                    let v = m.upstream.release_version(&rel.tag_name)?;
                    if !(m.upstream.offers(&v, rel.prerelease) || allow_pre) {
                        return None;
                    }
                    if v.cmp_precedence(&current.version) != std::cmp::Ordering::Greater {
                        return None;
                    }
                    let target = m.retag(tag, &v)?;
                    (target != *tag).then_some((rel, v, target))
                })
                .collect();
            if newer.is_empty() {
                report.up_to_date += 1;
                continue;
            }
            newer.sort_by(|a, b| b.1.cmp_precedence(&a.1));
            let behind = newer.iter().map(|n| &n.2).collect::<BTreeSet<_>>().len();
            let (latest, _, target) = &newer[0];
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
                codes: Vec::new(),
                deadline: None,
                priority: None,
                published_at: latest.published_at,
            });
        }
    }
    sort_by_urgency(&mut report.findings);
    report
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

/// What [`run`] needs.
pub struct Context {
    pub settings: Settings,
    pub catalog: Catalog,
    pub forge: Arc<Forge>,
    pub store: Arc<Store>,
    /// Token for git fetches of GitHub repositories (never logged).
    pub git_token: Option<String>,
    pub cache_dir: PathBuf,
    /// Upstreams polled at once.
    pub concurrency: usize,
}

/// Progress events for a terminal indicator.
pub enum Progress {
    Repository(String),
    Polled { done: usize, total: usize },
}

/// One check: repositories → references → releases → findings.
pub async fn run(
    ctx: &Context,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> CheckReport {
    let mut repos = Vec::new();
    let mut failures = Vec::new();
    let mut problems = Vec::new();
    let default_repo;
    let configured: &[Repository] = if ctx.settings.repositories.is_empty() {
        default_repo = [Repository {
            source: RepoSource::Path(PathBuf::from(".")),
            branch: None,
            environments: Vec::new(),
        }];
        &default_repo
    } else {
        &ctx.settings.repositories
    };
    for repo in configured {
        let name = repo.source.to_string();
        progress(Progress::Repository(name.clone()));
        match open_repository(ctx, repo).await {
            Ok(root) => {
                let scan = tokio::task::spawn_blocking(move || manifest::scan(&root)).await;
                let Ok(scan) = scan else {
                    failures.push(Failure {
                        subject: name,
                        error: "scan failed".into(),
                    });
                    continue;
                };
                problems.extend(scan.problems.iter().map(|p| format!("{name}: {p}")));
                let references = scan
                    .references
                    .into_iter()
                    .map(|r| {
                        let env = repo.environment_for(&r.file).map(|e| Placement {
                            environment: e.name.clone(),
                            network: e.network.as_ref().map(|n| n.as_str().to_string()),
                        });
                        (r, env)
                    })
                    .collect();
                repos.push(ScannedRepo { name, references });
            }
            Err(error) => failures.push(Failure {
                subject: name,
                error,
            }),
        }
    }
    let upstreams: Vec<RepoName> = upstreams_of(&repos, &ctx.catalog)
        .iter()
        .filter_map(|u| u.parse().ok())
        .collect();
    let polled = poll::poll(
        ctx.forge.clone(),
        ctx.store.clone(),
        &upstreams,
        ctx.concurrency,
        now,
        &|done, total| progress(Progress::Polled { done, total }),
    )
    .await;
    let mut releases = ReleaseMap::new();
    for (repo, result) in polled {
        let entry = match result {
            Ok(p) => Ok(p.releases),
            Err(e) => {
                failures.push(Failure {
                    subject: repo.to_string(),
                    error: e.to_string(),
                });
                Err(e.to_string())
            }
        };
        releases.insert(repo.to_string(), entry);
    }
    let mut report = evaluate(&repos, &ctx.catalog, &releases);
    report.failures.extend(failures);
    report.problems = problems;
    report
}

/// The local tree of a repository: its path, or a fresh shallow fetch.
async fn open_repository(ctx: &Context, repo: &Repository) -> Result<PathBuf, String> {
    match &repo.source {
        RepoSource::Path(p) => {
            if p.is_dir() {
                Ok(p.clone())
            } else {
                Err(format!("{}: not a directory", p.display()))
            }
        }
        RepoSource::GitHub { owner, name } => {
            let repo_name = RepoName::new(owner, name);
            let info = ctx
                .forge
                .repository(&repo_name)
                .await
                .map_err(|e| e.to_string())?;
            let branch = repo.branch.clone().unwrap_or(info.default_branch);
            let dir = ctx.cache_dir.join("repos").join(owner).join(name);
            let token = ctx.git_token.clone();
            let url = info.clone_url;
            let checkout = tokio::task::spawn_blocking(move || {
                crate::git::fetch_shallow(&dir, &url, &branch, token.as_deref())
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            Ok(checkout.path)
        }
    }
}
