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
use crate::app::dashboard::Written;
use crate::app::error::AppError;
use crate::app::publish::{self, Action, Outcome, Target};
use crate::domain::dashboard::{Inputs as DashboardInputs, Outcome as DashboardOutcome, Request};
use crate::domain::evaluate::BaseRef;
use crate::domain::evaluate::{CheckReport, Failure, Finding, ReleaseMap};
use crate::domain::manifest;
use crate::domain::plan::{self, PlannedPr};
use crate::domain::render::{self, Rendered, Templates};
use crate::domain::repo::RepoName;
use crate::domain::rollout::couple::Couples;
use crate::domain::rollout::decide::{PullRecord, PullState, UpstreamRollout, WaveState};
use crate::domain::rollout::traffic;
use crate::domain::settings::{PullRequests, RepoSource, Repository};
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
    /// Dependency dashboard issues written (created, updated, unchanged).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dashboards: Vec<DashboardWritten>,
    pub failures: Vec<Failure>,
}

/// One repository's dependency dashboard after a pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DashboardWritten {
    pub repository: String,
    pub number: u64,
    /// `created`, `updated` or `unchanged`.
    pub action: String,
    /// The boxes acted on, with what came of each.
    pub acted: Vec<String>,
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
    settings: &PullRequests,
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
        let held_from = report.held.len();
        let failed_from = report.failures.len();
        let outcomes_from = report.outcomes.len();
        // The dashboard's ticked boxes are read at the start of the pass.
        let board = match &repo.source {
            RepoSource::GitHub { owner, name: n }
                if mode == Mode::Publish && repo.dashboard(&ctx.settings) =>
            {
                let full = RepoName::new(owner, n);
                match crate::app::dashboard::read(&ctx.forge, &full).await {
                    Ok(board) => Some((full, board)),
                    Err(e) => {
                        report.failures.push(Failure {
                            subject: format!("{name} dashboard"),
                            error: e.to_string(),
                        });
                        None
                    }
                }
            }
            _ => None,
        };
        let requests: Vec<Request> = board
            .as_ref()
            .map(|(_, b)| b.ticked.clone())
            .unwrap_or_default();
        let (acted, rebase) = act_on_boxes(ctx, &check, &name, &requests, now, &mut report).await;
        let (findings, held) = partition(&check.findings, &name, &acted);
        report.held.extend(held);
        let rollout_held_to = report.held.len();
        let merges_from = report.merges.len();
        let closed_from = report.closed.len();
        let rollbacks_from = report.rollbacks.len();
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
                &repo.pull_requests(&ctx.settings.pull_requests),
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
                &rebase,
                mode,
                now,
                &mut report,
            )
            .await
        };
        let error = match crate::app::isolate::caught(&name, work).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error.to_string()),
            Err(panicked) => Some(panicked),
        };
        if let Some(error) = error {
            report.failures.push(Failure {
                subject: name.clone(),
                error,
            });
        }
        if mode == Mode::Publish {
            for req in check.rollbacks.iter().filter(|r| r.repository == name) {
                match crate::app::rollback::open(ctx, &check, req).await {
                    Ok(opened) => report.rollbacks.push(opened),
                    Err(e) => report.failures.push(Failure {
                        subject: format!("{} rollback of #{}", req.repository, req.pull),
                        error: e.to_string(),
                    }),
                }
            }
        }
        if let Some((full, board)) = board {
            let marks = Marks {
                held_from,
                failed_from,
                outcomes_from,
            };
            let outcomes = results(&acted, &report, &check, &marks);
            // What this pass changed among the pull requests.
            let changed = report.outcomes[outcomes_from..]
                .iter()
                .any(|o| matches!(o.action, Action::Created { .. } | Action::Updated { .. }))
                || report.merges[merges_from..]
                    .iter()
                    .any(|m| m.result == "merged")
                || report.closed.len() > closed_from
                || report.rollbacks.len() > rollbacks_from;
            let after = if changed {
                match after_pass(ctx, &check, &repo, &full, &acted, now).await {
                    Ok(after) => Some(after),
                    Err(e) => {
                        report.failures.push(Failure {
                            subject: format!("{name} dashboard"),
                            error: format!(
                                "its pull requests could not be read again after the pass: {e}"
                            ),
                        });
                        None
                    }
                }
            } else {
                None
            };
            // Held by this pass's limits (not by a rollout wave).
            let limited = &report.held[rollout_held_to.min(report.held.len())..];
            let body = match &after {
                Some((state, rollout_held)) => {
                    let rows = {
                        let inventory = crate::app::inventory::build(ctx, state, now);
                        crate::app::readiness::build(ctx, &inventory, state, now).rows
                    };
                    dashboard_body(
                        state,
                        &rows,
                        rollout_held.iter().chain(limited).collect(),
                        &report,
                        &marks,
                        &name,
                        outcomes.clone(),
                        now,
                    )
                }
                None => dashboard_body(
                    &check,
                    &readiness.rows,
                    report.held[held_from.min(report.held.len())..]
                        .iter()
                        .collect(),
                    &report,
                    &marks,
                    &name,
                    outcomes.clone(),
                    now,
                ),
            };
            match crate::app::dashboard::write(&ctx.forge, &full, board.issue.as_ref(), &body).await
            {
                Ok(written) => {
                    let (number, action) = match written {
                        Written::Created(n) => (n, "created"),
                        Written::Updated(n) => (n, "updated"),
                        Written::Unchanged(n) => (n, "unchanged"),
                    };
                    report.dashboards.push(DashboardWritten {
                        repository: name.clone(),
                        number,
                        action: action.into(),
                        acted: outcomes.iter().map(DashboardOutcome::describe).collect(),
                    });
                }
                Err(e) => report.failures.push(Failure {
                    subject: format!("{name} dashboard"),
                    error: e.to_string(),
                }),
            }
        }
    }
    report.check = check;
    report
}

/// Acts on the boxes ticked on repository `name`'s dashboard before its
/// pass: rollbacks are opened here; "rebase" names branches to rebuild;
/// "open now" is applied by [`partition`]. Each request comes back with
/// what already came of it (`None`: decided by the pass).
async fn act_on_boxes(
    ctx: &Context,
    check: &CheckReport,
    name: &str,
    requests: &[Request],
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> (
    Vec<(Request, Option<Acted>)>,
    std::collections::BTreeSet<String>,
) {
    let pulls_here: &[PullRecord] = check.pulls.get(name).map(Vec::as_slice).unwrap_or_default();
    let mut acted: Vec<(Request, Option<Acted>)> = Vec::new();
    let mut rebase = std::collections::BTreeSet::new();
    for request in requests {
        let result = match request {
            Request::OpenNow { .. } => {
                let offered = check.rollouts.iter().any(|r| {
                    r.repository == name
                        && open_now_matches(request, &r.upstream, &r.version, None)
                        && r.waves.iter().any(|w| {
                            open_now_matches(request, &r.upstream, &r.version, Some(w.wave))
                                && w.state == WaveState::Pending
                        })
                });
                (!offered).then(|| {
                    (
                        "that wave is not waiting any more: nothing done".into(),
                        None,
                    )
                })
            }
            Request::Rebase { pull } => {
                match pulls_here
                    .iter()
                    .find(|p| p.number == *pull && p.state == PullState::Open)
                {
                    Some(p) => {
                        rebase.insert(p.branch.clone());
                        None
                    }
                    None => Some((
                        "not an open pull request of upkeep's: nothing done".into(),
                        None,
                    )),
                }
            }
            Request::Retry { .. } => None,
            Request::Rollback { pull } => {
                let evidence = format!(
                    "requested on the dependency dashboard at {}",
                    now.format("%Y-%m-%d %H:%M UTC")
                );
                Some(
                    match crate::app::rollback::of_pull(check, name, *pull, &evidence) {
                        None => (
                            "not a merged pull request of upkeep's: nothing done".into(),
                            None,
                        ),
                        Some(req) => match crate::app::rollback::open(ctx, check, &req).await {
                            Ok(opened) => {
                                let number = opened.number;
                                report.rollbacks.push(opened);
                                ("rollback pull request opened".into(), Some(number))
                            }
                            Err(e) => (format!("failed: {e}"), None),
                        },
                    },
                )
            }
        };
        acted.push((request.clone(), result));
    }
    (acted, rebase)
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
    rebase: &std::collections::BTreeSet<String>,
    mode: Mode,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), AppError> {
    // this repository's pull-request settings (its own over the global ones)
    let settings = repo.pull_requests(&ctx.settings.pull_requests);
    let author = match &settings.author {
        Some((name, email)) => Author {
            name: name.clone(),
            email: email.clone(),
        },
        None => Author::default(),
    };
    let mut rendered = Vec::new();
    for pr in pulls {
        let mut context = render::context_of(pr, releases, rollouts);
        context.commands = ctx.commands;
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
    let rendered = limit(&settings, rendered, history, &couples, now, report);
    match &repo.source {
        RepoSource::Path(path) => {
            for (pr, words) in rendered {
                let diff = blocking(|| local_diff(path, pr))?;
                report
                    .planned
                    .push(view(&settings, pr, &words, diff, false));
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
                reviewers: &settings.reviewers,
                assignees: &settings.assignees,
                commit_via_api: settings.commit_mode.is_api(),
                rebase: rebase.clone(),
            };
            for (pr, words) in &rendered {
                let diff = blocking(|| remote_diff(&target.session, &base, pr))?;
                report.planned.push(view(&settings, pr, words, diff, true));
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

/// `name`'s findings split into those planned now and those their rollout
/// wave holds, with why. A ticked "open now" box lets its pending wave go
/// (its soak and window are skipped; limits and everything else still
/// apply). Findings waiting for their image are in neither.
fn partition(
    findings: &[Finding],
    name: &str,
    acted: &[(Request, Option<Acted>)],
) -> (Vec<Finding>, Vec<plan::Held>) {
    let mut go: Vec<Finding> = Vec::new();
    let mut held: Vec<plan::Held> = Vec::new();
    for f in findings
        .iter()
        .filter(|f| f.repository == name && !f.waiting_for_image)
    {
        match &f.rollout {
            Some(r)
                if !r.go
                    && r.state == WaveState::Pending
                    && acted.iter().any(|(q, done)| {
                        done.is_none() && open_now_matches(q, &f.upstream, &f.latest, Some(r.wave))
                    }) =>
            {
                let mut f = f.clone();
                if let Some(r) = f.rollout.as_mut() {
                    r.go = true;
                    r.reason = "opened now from the dependency dashboard".into();
                }
                go.push(f);
            }
            Some(r) if !r.go => held.push(plan::Held {
                finding: f.clone(),
                reason: format!("rollout wave {}: {}", r.wave, r.reason),
            }),
            _ => go.push(f.clone()),
        }
    }
    (go, held)
}

/// The state after this pass changed `repo`'s pull requests: the check as
/// it was, with the pull requests read again and the rollout decided again
/// from them ([`check::decide_repository`], the check's own decision), and
/// the findings their waves now hold. The dashboard is rendered from it, so
/// it shows what this pass opened, merged or closed at once.
async fn after_pass(
    ctx: &Context,
    check: &CheckReport,
    repo: &Repository,
    full: &RepoName,
    acted: &[(Request, Option<Acted>)],
    now: DateTime<Utc>,
) -> Result<(CheckReport, Vec<plan::Held>), crate::io::forge::ForgeError> {
    let name = repo.source.to_string();
    let list = ctx.forge.recent_pulls(full, check::PULL_PAGES).await?;
    let pulls = check::pull_records(&name, list);
    let (findings, decision) = check::decide_repository(ctx, check, repo, &pulls, now);
    let mut state = check.clone();
    let mut decided = findings.into_iter();
    for f in state.findings.iter_mut().filter(|f| f.repository == name) {
        if let Some(d) = decided.next() {
            *f = d;
        }
    }
    state.rollouts.retain(|r| r.repository != name);
    state.rollouts.extend(decision.rollouts);
    state.pulls.insert(name.clone(), pulls);
    let (_, held) = partition(&state.findings, &name, acted);
    Ok((state, held))
}

/// Whether `request` is "open now" for `upstream` at `version` (and `wave`,
/// when given).
fn open_now_matches(request: &Request, upstream: &str, version: &str, wave: Option<u32>) -> bool {
    matches!(request, Request::OpenNow { upstream: u, version: v, wave: w }
        if u.eq_ignore_ascii_case(upstream) && v == version && wave.is_none_or(|x| x == *w))
}

/// What came of a ticked box: words, and the pull request concerned.
type Acted = (String, Option<u64>);

/// Where this repository's entries start in the report's lists.
struct Marks {
    held_from: usize,
    failed_from: usize,
    outcomes_from: usize,
}

/// What came of each ticked box, once the pass is over.
fn results(
    acted: &[(Request, Option<Acted>)],
    report: &RunReport,
    check: &CheckReport,
    marks: &Marks,
) -> Vec<DashboardOutcome> {
    let outcomes = &report.outcomes[marks.outcomes_from.min(report.outcomes.len())..];
    let describe = |o: &Outcome| -> Acted {
        match &o.action {
            Action::Created { number, .. } => ("pull request opened".into(), Some(*number)),
            Action::Updated {
                number, changed, ..
            } => (format!("updated ({})", changed.join(", ")), Some(*number)),
            Action::Unchanged { number, .. } => ("open and up to date".into(), Some(*number)),
            Action::Committed { branch, .. } => (format!("committed on {branch}"), None),
            Action::Skipped { reason } => (format!("skipped: {reason}"), None),
            Action::Failed { error } => (format!("failed: {error}"), None),
        }
    };
    let number_of = |o: &Outcome| match &o.action {
        Action::Created { number, .. }
        | Action::Updated { number, .. }
        | Action::Unchanged { number, .. } => Some(*number),
        _ => None,
    };
    acted
        .iter()
        .map(|(request, done)| {
            let (result, pull) = done.clone().unwrap_or_else(|| match request {
                Request::OpenNow {
                    upstream, version, ..
                } => outcomes
                    .iter()
                    .find(|o| {
                        o.upstream
                            .split(", ")
                            .any(|u| u.eq_ignore_ascii_case(upstream))
                            && o.version.split(", ").any(|v| v == version)
                    })
                    .map(describe)
                    .or_else(|| {
                        report.held[marks.held_from.min(report.held.len())..]
                            .iter()
                            .find(|h| h.finding.upstream.eq_ignore_ascii_case(upstream))
                            .map(|h| (format!("still held: {}", h.reason), None))
                    })
                    .unwrap_or_else(|| ("nothing to open".into(), None)),
                Request::Rebase { pull } => outcomes
                    .iter()
                    .find(|o| number_of(o) == Some(*pull))
                    .map(|o| match &o.action {
                        Action::Updated { changed, .. }
                            if changed.iter().any(|c| c == "commits") =>
                        {
                            ("rebuilt on the current base".to_string(), None)
                        }
                        Action::Unchanged { .. } => ("already on the current base".into(), None),
                        _ => describe(o),
                    })
                    .unwrap_or_else(|| ("not planned in this pass: not rebased".into(), None)),
                Request::Retry { subject } => {
                    let still = check
                        .failures
                        .iter()
                        .chain(&report.failures[marks.failed_from.min(report.failures.len())..])
                        .find(|f| &f.subject == subject);
                    match still {
                        Some(f) => (format!("retried: still failing: {}", f.error), None),
                        None => ("retried: it did not fail this time".into(), None),
                    }
                }
                Request::Rollback { .. } => ("done".into(), None),
            });
            DashboardOutcome {
                request: request.clone(),
                result,
                pull,
            }
        })
        .collect()
}

/// The dashboard of repository `name` after its pass.
#[allow(clippy::too_many_arguments)]
fn dashboard_body(
    check: &CheckReport,
    readiness: &[crate::domain::readiness::Row],
    held: Vec<&plan::Held>,
    report: &RunReport,
    marks: &Marks,
    name: &str,
    outcomes: Vec<DashboardOutcome>,
    now: DateTime<Utc>,
) -> String {
    let repositories: Vec<String> = check
        .repositories
        .iter()
        .map(|r| r.source.to_string())
        .collect();
    let prefix = format!("{name}: ");
    let inputs = DashboardInputs {
        repository: name,
        readiness: readiness.iter().filter(|r| r.repository == name).collect(),
        findings: check
            .findings
            .iter()
            .filter(|f| f.repository == name)
            .collect(),
        held,
        rollouts: check
            .rollouts
            .iter()
            .filter(|r| r.repository == name)
            .collect(),
        pulls: check
            .pulls
            .get(name)
            .map(|p| p.iter().collect())
            .unwrap_or_default(),
        skipped: check
            .unchecked
            .iter()
            .filter(|u| u.repository == name)
            .collect(),
        problems: check
            .problems
            .iter()
            .filter_map(|p| p.strip_prefix(&prefix))
            .collect(),
        // Its own failures, and those of upstreams (no repository's).
        failures: check
            .failures
            .iter()
            .filter(|f| {
                f.subject == name
                    || f.subject.starts_with(&format!("{name} "))
                    || !repositories.contains(&f.subject)
            })
            .chain(&report.failures[marks.failed_from.min(report.failures.len())..])
            .filter(|f| f.subject != format!("{name} dashboard"))
            .collect(),
        outcomes,
    };
    crate::domain::dashboard::render(&inputs, now)
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
    settings: &PullRequests,
    pr: &PlannedPr,
    words: &Rendered,
    diff: String,
    github: bool,
) -> PlannedView {
    let people = |list: &Vec<String>| if github { list.clone() } else { Vec::new() };
    PlannedView {
        reviewers: people(&settings.reviewers),
        assignees: people(&settings.assignees),
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
