//! Rollback pull requests: undo one merged upkeep pull request in the
//! environments of one wave, byte-exact. The previous tags and digests come
//! from the pull request's own commit (its parent and its head), the edits
//! are the manifest stage's verified bumps ([`crate::domain::rollback`]),
//! and only references that pull request changed move. The pull request is
//! labelled `rollback`, quotes the evidence, links the pull request it
//! undoes, and carries a fingerprint naming it, so the rollout reads the
//! version as skipped there until a newer release.
//!
//! Opened by `run`/`serve` when a wave fails verification, by `upkeep
//! rollback`, and by an `@upkeep rollback` comment.

use serde::Serialize;

use crate::app::context::Context;
use crate::app::error::AppError;
use crate::app::publish::{PublishError, ensure_labels, project_at};
use crate::domain::evaluate::CheckReport;
use crate::domain::plan::short_name;
use crate::domain::render::sanitize::{code_span, sanitize_text};
use crate::domain::render::{Fingerprint, check_branch_name, edits_key, slug};
use crate::domain::repo::RepoName;
use crate::domain::rollback::{FileChange, apply_rollback};
use crate::domain::rollout::decide::{PullRecord, PullState, RollbackRequest};
use crate::domain::settings::Repository;
use crate::io::forge::NewPull;
use crate::io::git::{Author, GitError, blocking};

/// An opened (or already open) rollback pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Opened {
    pub repository: String,
    pub number: u64,
    pub url: String,
    /// The pull request undone.
    pub undoes: u64,
    pub branch: String,
}

/// The rollback request for `environment` of `repository` by hand: the
/// newest merged upkeep pull request (not itself a rollback) that touched
/// it (and moved `upstream`, when given).
pub fn by_hand(
    report: &CheckReport,
    repository: &str,
    environment: &str,
    upstream: Option<&str>,
    evidence: &str,
) -> Option<RollbackRequest> {
    let pulls = report.pulls.get(repository)?;
    let (pr, _) = pulls
        .iter()
        .filter(|p| p.rollback_of.is_none())
        .filter(|p| p.environments.iter().any(|e| e == environment))
        .filter(|p| {
            upstream.is_none_or(|u| p.upgrades.iter().any(|(x, _)| x.eq_ignore_ascii_case(u)))
        })
        .filter_map(|p| match p.state {
            PullState::Merged { at } => Some((p, at)),
            _ => None,
        })
        .max_by_key(|(_, at)| *at)?;
    let (up, version) = pr.upgrades.first()?.clone();
    Some(request_for(
        repository,
        pr,
        &up,
        &version,
        vec![environment.to_string()],
        evidence,
    ))
}

/// The rollback request undoing `pr` (a merged upkeep pull request) in
/// every environment it touched.
pub fn of_pull(
    report: &CheckReport,
    repository: &str,
    number: u64,
    evidence: &str,
) -> Option<RollbackRequest> {
    let pr = report
        .pulls
        .get(repository)?
        .iter()
        .find(|p| p.number == number && p.rollback_of.is_none())?;
    if !matches!(pr.state, PullState::Merged { .. }) {
        return None;
    }
    let (up, version) = pr.upgrades.first()?.clone();
    Some(request_for(
        repository,
        pr,
        &up,
        &version,
        pr.environments.clone(),
        evidence,
    ))
}

fn request_for(
    repository: &str,
    pr: &PullRecord,
    upstream: &str,
    version: &str,
    environments: Vec<String>,
    evidence: &str,
) -> RollbackRequest {
    RollbackRequest {
        repository: repository.to_string(),
        upstream: upstream.to_string(),
        version: version.to_string(),
        wave: 0,
        environments,
        pull: pr.number,
        pull_url: pr.url.clone(),
        head_sha: pr.head_sha.clone(),
        evidence: evidence.to_string(),
    }
}

/// Opens the rollback pull request for `req` on the base the check read.
/// An open rollback of the same pull request is reported, not duplicated.
pub async fn open(
    ctx: &Context,
    report: &CheckReport,
    req: &RollbackRequest,
) -> Result<Opened, AppError> {
    let repo: RepoName = req
        .repository
        .parse()
        .map_err(|_| AppError::NotChecked(req.repository.clone()))?;
    if let Some(existing) = report.pulls.get(&req.repository).and_then(|pulls| {
        pulls.iter().find(|p| {
            p.rollback_of == Some(req.pull)
                && p.state == PullState::Open
                && (p.environments.iter().any(|e| req.environments.contains(e))
                    || (req.environments.is_empty() && p.environments.is_empty()))
        })
    }) {
        return Ok(Opened {
            repository: req.repository.clone(),
            number: existing.number,
            url: existing.url.clone(),
            undoes: req.pull,
            branch: existing.branch.clone(),
        });
    }
    let base = report
        .bases
        .get(&req.repository)
        .ok_or_else(|| AppError::NotChecked(req.repository.clone()))?;
    let settings: &Repository = report
        .repositories
        .iter()
        .find(|r| r.source.to_string() == req.repository)
        .ok_or_else(|| AppError::NotChecked(req.repository.clone()))?;
    let session = ctx.session(&repo, &base.clone_url).await?;
    let pull_requests = settings.pull_requests(&ctx.settings.pull_requests);
    let author = match &pull_requests.author {
        Some((name, email)) => Author {
            name: name.clone(),
            email: email.clone(),
        },
        None => Author::default(),
    };
    let pull_branch = report
        .pulls
        .get(&req.repository)
        .and_then(|p| p.iter().find(|p| p.number == req.pull))
        .map(|p| p.branch.clone())
        .unwrap_or_default();
    // A repository without environments: everything the pull request
    // changed moves back.
    let whole = req.environments.is_empty();
    let envs = scope(req);
    let mut branch = format!(
        "upkeep/rollback-{}-{}",
        slug(short_name(&req.upstream)),
        slug(&req.version)
    );
    if !whole {
        branch.push('-');
        branch.push_str(&slug(&req.environments.join("-")));
    }
    check_branch_name(&branch).map_err(|e| PublishError::Edit(e.to_string()))?;
    let title = format!(
        "Roll back {} {} in {envs}",
        short_name(&req.upstream),
        req.version
    );
    let message = format!(
        "{title}\n\nUndoes #{} in {envs}: {}\n",
        req.pull,
        one_line(&req.evidence)
    );
    // The git side, off the async workers: the pull request's own commit
    // says what it changed; only its files in these environments move back.
    let (commit, changed, replace) = blocking(|| {
        let head = match session.tree_of(&req.head_sha) {
            Ok(_) => req.head_sha.clone(),
            Err(_) => session
                .fetch(&pull_branch, 2)?
                .filter(|_| !pull_branch.is_empty())
                .ok_or_else(|| GitError::NoBranch {
                    url: req.repository.clone(),
                    branch: format!("commit {} of #{}", req.head_sha, req.pull),
                })?,
        };
        let parent = session.parent_of(&head)?.ok_or_else(|| GitError::Git {
            context: req.repository.clone(),
            message: format!("#{}'s commit has no parent", req.pull),
        })?;
        let mut files = Vec::new();
        let mut current = Vec::new();
        for path in session.changed_files(&parent, &head)? {
            let in_env = whole
                || settings
                    .environment_for(&path)
                    .is_some_and(|e| req.environments.contains(&e.name));
            if !in_env {
                continue;
            }
            let read = |rev: &str| -> Result<String, PublishError> {
                let bytes = session.read(rev, &path)?.unwrap_or_default();
                String::from_utf8(bytes)
                    .map_err(|_| PublishError::Edit(format!("{path}: not UTF-8 text")))
            };
            // Each text with its compose project at that commit, read as
            // `run` read it when it bumped the file.
            let texts = [read(&parent)?, read(&head)?, read(&base.commit)?];
            let mut projects: [Vec<(String, String)>; 3] = Default::default();
            for ((project, rev), text) in projects
                .iter_mut()
                .zip([&parent, &head, &base.commit])
                .zip(&texts)
            {
                *project = project_at(&session, rev, &path, text)?;
            }
            let [before, after, now] = texts;
            files.push(FileChange {
                path: path.clone(),
                before,
                after,
                projects,
            });
            current.push((path.clone(), now));
        }
        let restored =
            apply_rollback(&files, &current).map_err(|e| PublishError::Edit(e.to_string()))?;
        if restored.is_empty() {
            return Err(PublishError::Edit(format!(
                "#{} changed nothing that is still there in {envs}: nothing to roll back",
                req.pull
            )));
        }
        let bytes: Vec<(String, Vec<u8>)> = restored
            .into_iter()
            .map(|(p, t)| (p, t.into_bytes()))
            .collect();
        let commit = session.commit_files(&base.commit, &bytes, &message, &author)?;
        let replace = match session.fetch(&branch, 50)? {
            Some(tip) if !session.owned_by(&tip, &base.commit, &author)? => {
                return Err(PublishError::Edit(format!(
                    "branch {branch} has commits by others: left alone"
                )));
            }
            Some(_) => true,
            None => false,
        };
        session.push(&commit, &branch, replace)?;
        Ok::<_, PublishError>((commit, bytes, replace))
    })?;
    let _ = (commit, replace);
    let files: Vec<String> = changed.iter().map(|(p, _)| p.clone()).collect();
    let fingerprint = Fingerprint {
        v: 1,
        repo: req.repository.clone(),
        upstream: req.upstream.clone(),
        version: req.version.clone(),
        group: format!("rollback:{}", req.environments.join(",")),
        key: edits_key(std::iter::empty()),
        environments: req.environments.clone(),
        rollout: None,
        rollback: Some(req.pull),
    };
    let body = body(req, &files, &fingerprint);
    let created = ctx
        .forge
        .create_pull(
            &repo,
            &NewPull {
                title: &title,
                head: &branch,
                base: &base.base_branch,
                body: &body,
            },
        )
        .await?;
    let mut labels: Vec<String> = pull_requests.labels.clone();
    labels.push("rollback".into());
    labels.extend(req.environments.iter().cloned());
    ensure_labels(&ctx.forge, &repo, &labels.iter().cloned().collect()).await?;
    ctx.forge.add_labels(&repo, created.number, &labels).await?;
    if !pull_requests.reviewers.is_empty() {
        ctx.forge
            .request_reviewers(&repo, created.number, &pull_requests.reviewers)
            .await?;
    }
    Ok(Opened {
        repository: req.repository.clone(),
        number: created.number,
        url: created.html_url,
        undoes: req.pull,
        branch,
    })
}

/// Where a rollback applies, for titles and commit messages: its
/// environments, or the repository when it has none.
fn scope(req: &RollbackRequest) -> String {
    if req.environments.is_empty() {
        "the repository".to_string()
    } else {
        req.environments.join(", ")
    }
}

/// The body: why, what is undone, which files, and the fingerprint.
fn body(req: &RollbackRequest, files: &[String], fingerprint: &Fingerprint) -> String {
    let scope = if req.environments.is_empty() {
        "the repository".to_string()
    } else {
        req.environments
            .iter()
            .map(|e| code_span(e, false))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!(
        "Rolls back **{} {}** in {scope}: restores the tags and digests that #{} changed there, and nothing else.\n\n",
        sanitize_text(&req.upstream),
        sanitize_text(&req.version),
        req.pull
    );
    out.push_str("### Why\n\n");
    for line in req.evidence.split("; ") {
        out.push_str(&format!("- {}\n", sanitize_text(line)));
    }
    out.push_str(&format!(
        "\nUndoes: {} (#{})\n\n### Files\n\n",
        req.pull_url, req.pull
    ));
    for f in files {
        out.push_str(&format!("- {}\n", code_span(f, false)));
    }
    out.push_str(&format!(
        "\nWhile this is open or merged, upkeep offers {} {} to {} no more; a newer release starts again.\n\n",
        sanitize_text(short_name(&req.upstream)),
        sanitize_text(&req.version),
        if req.environments.is_empty() {
            "this repository"
        } else {
            "these environments"
        }
    ));
    out.push_str(&fingerprint.to_comment());
    out.push('\n');
    out
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
