//! The pipeline as one async function: check → plan → render → publish.
//! `upkeep plan` and `upkeep run` (and later the server's webhooks and
//! schedules) all call [`run`]; a test can await it.
//!
//! In [`Mode::Plan`] nothing is written anywhere: the planned pull requests
//! come back with their exact diffs. In [`Mode::Publish`] branches are pushed
//! and pull requests opened, updated or closed (local repositories get
//! local branches instead).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::check::{self, Progress};
use crate::app::context::Context;
use crate::app::publish::{self, Action, Outcome, Target};
use crate::domain::evaluate::{CheckReport, Failure, Finding, ReleaseMap};
use crate::domain::plan::{self, PlannedPr};
use crate::domain::render::{self, Rendered, Templates};
use crate::domain::settings::{RepoSource, Repository};
use crate::io::git::{Author, Session};

/// What [`run`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Compute the pull requests and their diffs; write nothing.
    Plan,
    /// Push branches and open, update or close pull requests.
    Publish,
}

/// A planned pull request with its words and its diff.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedView {
    pub repository: String,
    pub upstream: String,
    pub version: String,
    pub branch: String,
    pub title: String,
    pub labels: Vec<String>,
    pub edits: Vec<plan::PlannedEdit>,
    /// Unified diff against the base branch.
    pub diff: String,
    #[serde(skip)]
    pub body: String,
}

/// Everything one pass did or would do.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunReport {
    pub check: CheckReport,
    pub planned: Vec<PlannedView>,
    pub held: Vec<plan::Held>,
    pub outcomes: Vec<Outcome>,
    pub closed: Vec<publish::Closed>,
    pub failures: Vec<Failure>,
}

/// Only the repositories whose stable hash falls in shard `index` of
/// `count` (for Kubernetes Indexed Jobs).
pub fn in_shard(name: &str, index: u32, count: u32) -> bool {
    if count <= 1 {
        return true;
    }
    // FNV-1a: stable across runs, platforms and Rust versions.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % u64::from(count) == u64::from(index)
}

/// One pass over every configured repository.
pub async fn run(
    ctx: &Context,
    templates: &Templates,
    mode: Mode,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> RunReport {
    let check = check::run(ctx, now, progress).await;
    let mut report = RunReport::default();
    if mode == Mode::Publish {
        let failed = check::report_repo_files(ctx, &check.repo_files, now).await;
        report.failures.extend(failed);
    }
    // As checked: with each repository's `.github/upkeep.yml` merged in.
    for repo in check.repositories.clone() {
        let name = repo.source.to_string();
        let findings: Vec<Finding> = check
            .findings
            .iter()
            .filter(|f| f.repository == name && !f.waiting_for_image)
            .cloned()
            .collect();
        if findings.is_empty() {
            continue;
        }
        let planned = plan::plan(
            &findings,
            &ctx.settings.pull_requests,
            ctx.settings.registries.pin_digests,
            &Default::default(),
            now,
        );
        report.held.extend(planned.held);
        if let Err(error) = publish_repository(
            ctx,
            templates,
            &repo,
            &planned.pulls,
            &check.releases,
            mode,
            now,
            &mut report,
        )
        .await
        {
            report.failures.push(Failure {
                subject: name,
                error,
            });
        }
    }
    report.check = check;
    report
}

#[allow(clippy::too_many_arguments)]
async fn publish_repository(
    ctx: &Context,
    templates: &Templates,
    repo: &Repository,
    pulls: &[PlannedPr],
    releases: &ReleaseMap,
    mode: Mode,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), String> {
    let author = match &ctx.settings.pull_requests.author {
        Some((name, email)) => Author {
            name: name.clone(),
            email: email.clone(),
        },
        None => Author::default(),
    };
    let mut rendered = Vec::new();
    for pr in pulls {
        match templates.render(&render::context_of(pr, releases), now) {
            Ok(words) => rendered.push((pr, words)),
            Err(e) => report.failures.push(Failure {
                subject: format!("{} {}", pr.repository, pr.describe()),
                error: e.to_string(),
            }),
        }
    }
    match &repo.source {
        RepoSource::Path(path) => {
            for (pr, words) in rendered {
                let diff = local_diff(path, pr).map_err(|e| e.to_string())?;
                report.planned.push(view(pr, &words, diff));
                if mode == Mode::Publish {
                    let action =
                        publish::commit_locally(path, pr, &words, &author).unwrap_or_else(|e| {
                            Action::Failed {
                                error: e.to_string(),
                            }
                        });
                    report.outcomes.push(outcome(pr, &words, action));
                }
            }
            Ok(())
        }
        RepoSource::GitHub { owner, name } => {
            let remote = ctx.remote(owner, name, repo.branch.as_deref()).await?;
            let base = remote
                .session
                .fetch(&remote.base_branch, 50)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("branch {} not found", remote.base_branch))?;
            let target = Target {
                forge: &ctx.forge,
                repo: remote.name,
                base_branch: remote.base_branch,
                session: remote.session,
                author,
                reviewers: &ctx.settings.pull_requests.reviewers,
                assignees: &ctx.settings.pull_requests.assignees,
                commit_via_api: ctx.settings.pull_requests.commit_mode.is_api(),
            };
            for (pr, words) in &rendered {
                let diff = remote_diff(&target.session, &base, pr).map_err(|e| e.to_string())?;
                report.planned.push(view(pr, words, diff));
            }
            if mode == Mode::Plan {
                return Ok(());
            }
            let labels = rendered
                .iter()
                .flat_map(|(pr, _)| pr.labels.iter().cloned())
                .collect();
            target
                .ensure_labels(&labels)
                .await
                .map_err(|e| e.to_string())?;
            let open = ctx
                .forge
                .open_pulls(&target.repo)
                .await
                .map_err(|e| e.to_string())?;
            for (pr, words) in &rendered {
                let action =
                    target
                        .publish(&base, pr, words)
                        .await
                        .unwrap_or_else(|e| Action::Failed {
                            error: e.to_string(),
                        });
                if let Action::Created { number, .. }
                | Action::Updated { number, .. }
                | Action::Unchanged { number, .. } = &action
                {
                    let lineage = lineage_of(&words.fingerprint);
                    match target
                        .close_superseded(&open, *number, &lineage, &words.branch, &|p| {
                            p.body
                                .as_deref()
                                .and_then(render::parse_fingerprint)
                                .map(|f| lineage_of(&f))
                        })
                        .await
                    {
                        Ok(closed) => {
                            report
                                .closed
                                .extend(closed.into_iter().map(|n| publish::Closed {
                                    repository: pr.repository.clone(),
                                    number: n,
                                    superseded_by: *number,
                                }))
                        }
                        Err(e) => report.failures.push(Failure {
                            subject: pr.repository.clone(),
                            error: e.to_string(),
                        }),
                    }
                }
                report.outcomes.push(outcome(pr, words, action));
            }
            Ok(())
        }
    }
}

/// The lineage of a fingerprint: the same repository, upstreams and group,
/// whatever the version.
fn lineage_of(f: &render::Fingerprint) -> String {
    format!("{}|{}|{}", f.repo, f.upstream, f.group)
}

/// The upstreams of a PR, comma-separated (one, unless grouped).
fn upstreams(pr: &PlannedPr) -> String {
    pr.upgrades
        .iter()
        .map(|(u, _)| u.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Their target release tags, in the same order.
fn versions(pr: &PlannedPr) -> String {
    pr.upgrades
        .iter()
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn view(pr: &PlannedPr, words: &Rendered, diff: String) -> PlannedView {
    PlannedView {
        repository: pr.repository.clone(),
        upstream: upstreams(pr),
        version: versions(pr),
        branch: words.branch.clone(),
        title: words.title.clone(),
        labels: pr.labels.clone(),
        edits: pr.edits.clone(),
        diff,
        body: words.body.clone(),
    }
}

fn outcome(pr: &PlannedPr, words: &Rendered, action: Action) -> Outcome {
    Outcome {
        repository: pr.repository.clone(),
        upstream: upstreams(pr),
        version: versions(pr),
        branch: words.branch.clone(),
        title: words.title.clone(),
        action,
    }
}

fn unified(file: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{file}"), &format!("b/{file}"))
        .to_string()
}

fn remote_diff(
    session: &Session,
    base: &str,
    pr: &PlannedPr,
) -> Result<String, publish::PublishError> {
    let mut out = String::new();
    for (file, after) in publish::edited_files(session, base, pr)? {
        let before = session.read(base, &file)?.unwrap_or_default();
        out.push_str(&unified(
            &file,
            &String::from_utf8_lossy(&before),
            &String::from_utf8_lossy(&after),
        ));
    }
    Ok(out)
}

/// The diff of a planned PR against the files on disk of a local repository.
fn local_diff(root: &Path, pr: &PlannedPr) -> Result<String, publish::PublishError> {
    let mut out = String::new();
    let mut files: Vec<&str> = pr.edits.iter().map(|e| e.file.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    for file in files {
        let path: PathBuf = root.join(file);
        let Ok(before) = std::fs::read_to_string(&path) else {
            continue;
        };
        let text = publish::apply_edits(file, &before, pr)?;
        if text != before {
            out.push_str(&unified(file, &before, &text));
        }
    }
    Ok(out)
}
