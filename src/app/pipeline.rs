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
use crate::app::error::AppError;
use crate::app::publish::{self, Action, Outcome, Target};
use crate::domain::evaluate::BaseRef;
use crate::domain::evaluate::{CheckReport, Failure, Finding, ReleaseMap};
use crate::domain::manifest;
use crate::domain::plan::{self, PlannedPr};
use crate::domain::render::{self, Rendered, Templates};
use crate::domain::repo::RepoName;
use crate::domain::rollout::couple::Couples;
use crate::domain::rollout::decide::{PullRecord, PullState, UpstreamRollout};
use crate::domain::rollout::traffic;
use crate::domain::settings::{RepoSource, Repository};
use crate::io::forge::checks::{ChecksState, MergeMethod, MergeOutcome};
use crate::io::git::blocking;
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
    /// Who is asked to review it (`pull_requests.reviewers`) and who it is
    /// assigned to, as `run` requests them.
    pub reviewers: Vec<String>,
    pub assignees: Vec<String>,
    /// Unified diff against the base branch.
    pub diff: String,
    /// The body exactly as `run` sends it (with its fingerprint comment).
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
    /// Pull requests upkeep merged (automerge), or tried to.
    pub merges: Vec<Merge>,
    /// Rollback pull requests opened for waves that failed verification.
    pub rollbacks: Vec<crate::app::rollback::Opened>,
    pub failures: Vec<Failure>,
}

impl RunReport {
    /// What waits and why: the held upgrades, targets waiting for their
    /// image or registry, references whose upstream could not be read.
    pub fn waiting(&self) -> Vec<plan::Waiting> {
        plan::waiting(&self.check, &self.held)
    }
}

/// Applies `pull_requests.max_open` and `max_per_hour` to the rendered
/// pull requests: new ones beyond the limits are held (most urgent first
/// keep their place); updates of open ones always go ahead. Coupled pull
/// requests open together or wait together.
fn limit<'p>(
    ctx: &Context,
    rendered: Vec<(&'p PlannedPr, Rendered)>,
    history: &[PullRecord],
    couples: &Couples,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Vec<(&'p PlannedPr, Rendered)> {
    let open: Vec<&PullRecord> = history
        .iter()
        .filter(|p| p.state == PullState::Open)
        .collect();
    let hour_ago = now - chrono::Duration::hours(1);
    let opened_last_hour = history
        .iter()
        .filter(|p| p.created_at.is_some_and(|t| t > hour_ago && t <= now))
        .count();
    let prs: Vec<&PlannedPr> = rendered.iter().map(|(pr, _)| *pr).collect();
    let candidates: Vec<traffic::Candidate<'_>> = rendered
        .iter()
        .zip(traffic::partners(&prs, couples))
        .map(|((pr, words), partners)| traffic::Candidate {
            pr,
            new: !open.iter().any(|p| p.branch == words.branch),
            partners,
        })
        .collect();
    let settings = &ctx.settings.pull_requests;
    let verdicts = traffic::admit(
        &candidates,
        open.len(),
        opened_last_hour,
        settings.max_open,
        settings.max_per_hour,
        now,
    );
    let mut out = Vec::new();
    for ((pr, words), verdict) in rendered.into_iter().zip(verdicts) {
        match verdict {
            None => out.push((pr, words)),
            Some(reason) => report.held.extend(pr.findings.iter().map(|f| plan::Held {
                finding: f.clone(),
                reason: reason.clone(),
            })),
        }
    }
    out
}

/// An automerge attempt on one of upkeep's pull requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Merge {
    pub repository: String,
    pub number: u64,
    pub url: String,
    /// `merged`, or `waiting` / `refused` with the reason.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Merges upkeep's open pull requests whose environments all have
/// `automerge: true`, whose wave may move now (earlier waves done, inside
/// the windows) and whose head GitHub reports green (every check run and
/// commit status) and mergeable. Branch protection has the last word: a
/// refusal is reported, never forced. Merged at most once per pass, in
/// pull request order; the next pass reads the merge back from GitHub.
async fn automerge(
    ctx: &Context,
    repo: &RepoName,
    settings: &Repository,
    pulls: &[PullRecord],
    findings: &[Finding],
) -> Vec<Merge> {
    let mut out = Vec::new();
    let auto = |env: &String| {
        settings
            .environments
            .iter()
            .any(|e| &e.name == env && e.automerge)
    };
    for p in pulls.iter().filter(|p| p.state == PullState::Open) {
        if p.environments.is_empty() || !p.environments.iter().all(auto) {
            continue;
        }
        // Its findings must be free to move now (wave gate and windows).
        let mine: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.repository == settings.source.to_string())
            .filter(|f| p.upgrades.iter().any(|(u, _)| u == &f.upstream))
            .filter(|f| {
                f.environment
                    .as_ref()
                    .is_some_and(|e| p.environments.contains(e))
            })
            .collect();
        if mine.is_empty() || !mine.iter().all(|f| f.rollout.as_ref().is_none_or(|r| r.go)) {
            continue;
        }
        let merge = |result: &str, reason: Option<String>| Merge {
            repository: repo.to_string(),
            number: p.number,
            url: p.url.clone(),
            result: result.into(),
            reason,
        };
        let checks = match ctx.forge.head_checks(repo, &p.head_sha).await {
            Ok(c) => c,
            Err(e) => {
                out.push(merge("failed", Some(e.to_string())));
                continue;
            }
        };
        match checks.state {
            ChecksState::Success => {}
            ChecksState::Pending => {
                out.push(merge(
                    "waiting",
                    Some(format!("checks pending: {}", checks.pending.join(", "))),
                ));
                continue;
            }
            ChecksState::Failure => {
                out.push(merge(
                    "waiting",
                    Some(format!("checks failing: {}", checks.failing.join(", "))),
                ));
                continue;
            }
        }
        match ctx.forge.mergeability(repo, p.number).await {
            Ok(Some(true)) => {}
            Ok(Some(false)) => {
                out.push(merge(
                    "waiting",
                    Some("GitHub reports it not mergeable (a conflict?)".into()),
                ));
                continue;
            }
            Ok(None) => {
                out.push(merge(
                    "waiting",
                    Some("GitHub is still computing mergeability".into()),
                ));
                continue;
            }
            Err(e) => {
                out.push(merge("failed", Some(e.to_string())));
                continue;
            }
        }
        out.push(
            match ctx
                .forge
                .merge_pull(repo, p.number, &p.head_sha, MergeMethod::Merge)
                .await
            {
                Ok(MergeOutcome::Merged { .. }) => merge("merged", None),
                Ok(MergeOutcome::Refused { reason }) => merge("refused", Some(reason)),
                Ok(MergeOutcome::HeadMoved) => merge(
                    "waiting",
                    Some("its head moved; checked again on the next run".into()),
                ),
                Err(e) => merge("failed", Some(e.to_string())),
            },
        );
    }
    out
}

/// Only the repositories whose stable hash falls in shard `index` of
/// `count` (for Kubernetes Indexed Jobs).
pub fn in_shard(name: &str, index: u32, count: u32) -> bool {
    if count <= 1 {
        return true;
    }
    render::fnv1a64(name.as_bytes()) % u64::from(count) == u64::from(index)
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
    let readiness = {
        let inventory = crate::app::inventory::build(ctx, &check, now);
        crate::app::readiness::build(ctx, &inventory, &check, now)
    };
    let mut report = RunReport::default();
    if mode == Mode::Publish {
        let failed = check::report_repo_files(ctx, &check.repo_files, now).await;
        report.failures.extend(failed);
    }
    // As checked: with each repository's `.github/upkeep.yml` merged in.
    let total = check.repositories.len();
    for (done, repo) in check.repositories.clone().into_iter().enumerate() {
        let name = repo.source.to_string();
        progress(Progress::Publishing {
            name: name.clone(),
            done,
            total,
            planned: report.planned.len(),
        });
        let mut findings: Vec<Finding> = Vec::new();
        for f in check
            .findings
            .iter()
            .filter(|f| f.repository == name && !f.waiting_for_image)
        {
            match &f.rollout {
                Some(r) if !r.go => report.held.push(plan::Held {
                    finding: f.clone(),
                    reason: format!("rollout wave {}: {}", r.wave, r.reason),
                }),
                _ => findings.push(f.clone()),
            }
        }
        // The repository boundary: a panic below fails this repository only.
        let work = async {
            crate::app::isolate::failpoint("repository", &name);
            if mode == Mode::Publish
                && let RepoSource::GitHub { owner, name: n } = &repo.source
            {
                let pulls = check
                    .pulls
                    .get(&name)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let merged =
                    automerge(ctx, &RepoName::new(owner, n), &repo, pulls, &check.findings).await;
                report.merges.extend(merged);
            }
            if findings.is_empty() {
                return Ok(());
            }
            let planned = plan::plan(
                &findings,
                &ctx.settings.pull_requests,
                ctx.settings.registries.pin_digests,
                &Default::default(),
                now,
            );
            report.held.extend(planned.held);
            publish_repository(
                ctx,
                templates,
                &repo,
                &planned.pulls,
                (&check.releases, &check.rollouts, &readiness.rows),
                check
                    .pulls
                    .get(&name)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                check.bases.get(&name),
                mode,
                now,
                &mut report,
            )
            .await
        };
        let error = match crate::app::isolate::caught(&name, work).await {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => error.to_string(),
            Err(panicked) => panicked,
        };
        report.failures.push(Failure {
            subject: name,
            error,
        });
    }
    if mode == Mode::Publish {
        for req in &check.rollbacks {
            match crate::app::rollback::open(ctx, &check, req).await {
                Ok(opened) => report.rollbacks.push(opened),
                Err(e) => report.failures.push(Failure {
                    subject: format!("{} rollback of #{}", req.repository, req.pull),
                    error: e.to_string(),
                }),
            }
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
    (releases, rollouts, readiness): (
        &ReleaseMap,
        &[UpstreamRollout],
        &[crate::domain::readiness::Row],
    ),
    history: &[PullRecord],
    checked: Option<&BaseRef>,
    mode: Mode,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), AppError> {
    let author = match &ctx.settings.pull_requests.author {
        Some((name, email)) => Author {
            name: name.clone(),
            email: email.clone(),
        },
        None => Author::default(),
    };
    let mut rendered = Vec::new();
    for pr in pulls {
        let mut context = render::context_of(pr, releases, rollouts);
        let environments: Vec<String> = pr
            .edits
            .iter()
            .filter_map(|e| e.environment.clone())
            .collect();
        context.readiness =
            crate::domain::readiness::after(readiness, &pr.repository, &pr.upgrades, &environments);
        match templates.render(&context, now) {
            Ok(words) => rendered.push((pr, words)),
            Err(e) => report.failures.push(Failure {
                subject: format!("{} {}", pr.repository, pr.describe()),
                error: e.to_string(),
            }),
        }
    }
    let couples = Couples::from_rows(readiness, &repo.source.to_string());
    let rendered = limit(ctx, rendered, history, &couples, now, report);
    match &repo.source {
        RepoSource::Path(path) => {
            for (pr, words) in rendered {
                let diff = blocking(|| local_diff(path, pr))?;
                report.planned.push(view(ctx, pr, &words, diff, false));
                if mode == Mode::Publish {
                    let action = blocking(|| publish::commit_locally(path, pr, &words, &author))
                        .unwrap_or_else(|e| Action::Failed {
                            error: e.to_string(),
                        });
                    report.outcomes.push(outcome(pr, &words, action));
                }
            }
            Ok(())
        }
        RepoSource::GitHub { owner, name } => {
            // Built on exactly the base the check read (fetched once).
            let full = RepoName::new(owner, name);
            let checked = checked.ok_or_else(|| AppError::NotChecked(full.to_string()))?;
            let session = ctx.session(&full, &checked.clone_url).await?;
            let base = checked.commit.clone();
            let target = Target {
                forge: &ctx.forge,
                repo: full,
                base_branch: checked.base_branch.clone(),
                session,
                author,
                reviewers: &ctx.settings.pull_requests.reviewers,
                assignees: &ctx.settings.pull_requests.assignees,
                commit_via_api: ctx.settings.pull_requests.commit_mode.is_api(),
            };
            for (pr, words) in &rendered {
                let diff = blocking(|| remote_diff(&target.session, &base, pr))?;
                report.planned.push(view(ctx, pr, words, diff, true));
            }
            if mode == Mode::Plan {
                return Ok(());
            }
            let labels = rendered
                .iter()
                .flat_map(|(pr, _)| pr.labels.iter().cloned())
                .collect();
            target.ensure_labels(&labels).await?;
            let listing =
                publish::Listing::read(&ctx.forge, &target.repo, crate::app::check::PULL_PAGES)
                    .await?;
            let open = &listing.open;
            for (pr, words) in &rendered {
                let action = target
                    .publish(&base, pr, words, &listing)
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
                        .close_superseded(open, *number, &lineage, &words.branch, &|p| {
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

/// What a planned pull request will look like; `github`: opened on GitHub
/// (with reviewers and assignees), not committed to a local repository.
fn view(
    ctx: &Context,
    pr: &PlannedPr,
    words: &Rendered,
    diff: String,
    github: bool,
) -> PlannedView {
    let people = |list: &Vec<String>| if github { list.clone() } else { Vec::new() };
    PlannedView {
        reviewers: people(&ctx.settings.pull_requests.reviewers),
        assignees: people(&ctx.settings.pull_requests.assignees),
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
        let dir = path.parent().unwrap_or(root);
        let siblings: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .map(|n| match file.rsplit_once('/') {
                        Some((d, _)) => format!("{d}/{n}"),
                        None => n,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let project: Vec<(String, String)> = manifest::project_files(file, &before, &siblings)
            .into_iter()
            .filter_map(|f| Some((f.to_string(), std::fs::read_to_string(root.join(f)).ok()?)))
            .collect();
        let text = publish::apply_edits(file, &before, pr, &project)?;
        if text != before {
            out.push_str(&unified(file, &before, &text));
        }
    }
    Ok(out)
}
