//! Publishing a plan: branches, commits and pull requests.
//!
//! For a GitHub repository: commits built on the current default branch
//! with the manifest stage's verified byte-exact bumps, pushed to upkeep's
//! branches (force only on branches upkeep owns), and pull requests found by
//! head branch, created or updated, labelled, and superseded ones closed.
//! GitHub is the source of truth: a re-run finds what exists and changes
//! only what differs, so nothing is opened twice, even after a crash. The
//! pull requests are read once per repository ([`Listing`], conditional
//! requests: free when nothing changed), not once per branch. While a
//! secondary rate limit pauses GitHub writes, nothing is pushed. For a
//! local repository: local branches and commits, no pull requests.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::domain::manifest::{self, BumpRequest, DigestAction};
use crate::domain::plan::{PlannedPr, label_style};
use crate::domain::render::Rendered;
use crate::domain::repo::RepoName;
use crate::io::forge::{Forge, ForgeError, NewPull, PullRequest};
use crate::io::git::{Author, GitError, Session, blocking};

/// What happened to one planned pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    Created {
        number: u64,
        url: String,
    },
    Updated {
        number: u64,
        url: String,
        changed: Vec<String>,
    },
    Unchanged {
        number: u64,
        url: String,
    },
    /// A local repository: a branch with a commit.
    Committed {
        branch: String,
        commit: String,
    },
    Skipped {
        reason: String,
    },
    Failed {
        error: String,
    },
}

/// One planned pull request's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub repository: String,
    pub upstream: String,
    pub version: String,
    pub branch: String,
    pub title: String,
    #[serde(flatten)]
    pub action: Action,
}

/// A superseded pull request that was closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Closed {
    pub repository: String,
    pub number: u64,
    pub superseded_by: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("{0}")]
    Edit(String),
}

/// A planned pull request's git side, ready to publish.
enum Prepared {
    Skip(String),
    Ready {
        files: Vec<(String, Vec<u8>)>,
        commit: String,
        branch: Branch,
    },
}

/// What the pull request's branch holds compared with the plan.
enum Branch {
    /// Its content is what the plan says: left alone.
    Current,
    /// upkeep's, but out of date: replaced.
    Stale,
    /// Not there yet.
    Missing,
}

/// A repository's pull requests, read once for a publish: every open one
/// and the newest in any state.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub open: Vec<PullRequest>,
    pub recent: Vec<PullRequest>,
    /// `recent` holds every pull request of the repository (it was not cut
    /// at `pages`): a branch not in it has none.
    pub complete: bool,
}

impl Listing {
    /// Reads the open pull requests of `repo` and the newest `pages` pages
    /// of all of them.
    pub async fn read(forge: &Forge, repo: &RepoName, pages: usize) -> Result<Listing, ForgeError> {
        let open = forge.open_pulls(repo).await?;
        let recent = forge.recent_pulls(repo, pages).await?;
        let complete = recent.len() < pages.max(1) * 100;
        Ok(Listing {
            open,
            recent,
            complete,
        })
    }

    /// The pull requests from `branch` of `repo` itself, newest first;
    /// `None` when the listing cannot tell (a long history).
    fn of_branch(&self, repo: &RepoName, branch: &str) -> Option<Vec<PullRequest>> {
        let mut found: Vec<PullRequest> = self
            .open
            .iter()
            .chain(&self.recent)
            .filter(|p| {
                p.head.branch == branch
                    && p.head
                        .repo
                        .as_ref()
                        .is_some_and(|r| r.full_name.eq_ignore_ascii_case(&repo.to_string()))
            })
            .cloned()
            .collect();
        found.sort_by_key(|p| std::cmp::Reverse(p.number));
        found.dedup_by_key(|p| p.number);
        (!found.is_empty() || self.complete).then_some(found)
    }
}

/// What a GitHub repository publish needs.
pub struct Target<'a> {
    pub forge: &'a Forge,
    pub repo: RepoName,
    /// The base branch (settings, else the default branch).
    pub base_branch: String,
    pub session: Session,
    pub author: Author,
    pub reviewers: &'a [String],
    pub assignees: &'a [String],
    /// `commit_mode: api`: the commit is made and the branch moved through
    /// GitHub's Git Data API (verified when an App makes it) instead of
    /// git2 and a push. The same content either way: the git2 commit is
    /// still built locally, for the comparison with the branch and as the
    /// check that GitHub built the same tree.
    pub commit_via_api: bool,
    /// Branches to rebuild on the base even when their content is still
    /// right on an older one (the dashboard's "rebase" box).
    pub rebase: BTreeSet<String>,
}

/// New contents of the files a planned PR touches, computed on `base`:
/// (path, bytes). Files already at the target on `base` are left out.
pub fn edited_files(
    session: &Session,
    base: &str,
    pr: &PlannedPr,
) -> Result<Vec<(String, Vec<u8>)>, PublishError> {
    let files: BTreeSet<&str> = pr.edits.iter().map(|e| e.file.as_str()).collect();
    let mut out = Vec::new();
    for file in files {
        let Some(bytes) = session.read(base, file)? else {
            continue; // deleted on the base branch since the scan
        };
        let original = String::from_utf8(bytes)
            .map_err(|_| PublishError::Edit(format!("{file}: not UTF-8 on the base branch")))?;
        let project = project_at(session, base, file, &original)?;
        let text = apply_edits(file, &original, pr, &project)?;
        if text != original {
            out.push((file.to_string(), text.into_bytes()));
        }
    }
    Ok(out)
}

/// The texts, in commit `rev`, of the compose project files that the scan
/// of `file` (whose text there is `text`) reads ([`manifest::project_files`]):
/// a `.env`'s compose files, a compose file's `.env`. Files that are not
/// UTF-8 are left out. What `run` bumps and `rollback` undoes read the
/// project through this one function.
pub fn project_at(
    session: &Session,
    rev: &str,
    file: &str,
    text: &str,
) -> Result<Vec<(String, String)>, PublishError> {
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    let siblings = session.list_dir(rev, dir)?;
    let mut project = Vec::new();
    for f in manifest::project_files(file, text, &siblings) {
        if let Some(text) = session
            .read(rev, f)?
            .and_then(|b| String::from_utf8(b).ok())
        {
            project.push((f.to_string(), text));
        }
    }
    Ok(project)
}

/// Applies a planned PR's edits of `file` to its text with the manifest
/// stage's verified byte-exact bumps (new digests for pinned references).
/// `project`: the texts of the compose project files the file's scan reads
/// ([`manifest::project_files`]), so that a tag a compose file takes from
/// its `.env` is found in the `.env`.
pub fn apply_edits(
    file: &str,
    text: &str,
    pr: &PlannedPr,
    project: &[(String, String)],
) -> Result<String, PublishError> {
    let project = manifest::Project::of(file, project);
    let mut text = text.to_string();
    for e in pr.edits.iter().filter(|e| e.file == file) {
        let req = BumpRequest {
            image: e.image.clone(),
            to: e.to.clone(),
            from: Some(e.from.clone()),
            digest: e
                .digest
                .clone()
                .map_or(DigestAction::Keep, DigestAction::Pin),
        };
        let (_, after) = manifest::bump_text_in(file, &text, &req, &project)
            .map_err(|err| PublishError::Edit(err.to_string()))?;
        if let Some(after) = after {
            text = after;
        }
    }
    Ok(text)
}

/// Makes sure every label exists on `repo` (created with upkeep's colours
/// and descriptions), comparing names as GitHub does, case-insensitively.
pub async fn ensure_labels(
    forge: &Forge,
    repo: &RepoName,
    labels: &BTreeSet<String>,
) -> Result<(), PublishError> {
    if labels.is_empty() {
        return Ok(());
    }
    let existing: BTreeSet<String> = forge
        .label_names(repo)
        .await?
        .into_iter()
        .map(|l| l.to_lowercase())
        .collect();
    for label in labels
        .iter()
        .filter(|l| !existing.contains(&l.to_lowercase()))
    {
        let (color, description) = label_style(label);
        forge.create_label(repo, label, color, description).await?;
    }
    Ok(())
}

impl Target<'_> {
    /// Makes sure every label exists on the repository.
    pub async fn ensure_labels(&self, labels: &BTreeSet<String>) -> Result<(), PublishError> {
        ensure_labels(self.forge, &self.repo, labels).await
    }

    /// Publishes one planned pull request on top of `base` (a commit id),
    /// finding its existing pull requests in `listing` (asking GitHub only
    /// when the listing cannot tell).
    pub async fn publish(
        &self,
        base: &str,
        pr: &PlannedPr,
        words: &Rendered,
        listing: &Listing,
    ) -> Result<Action, PublishError> {
        let existing = match listing.of_branch(&self.repo, &words.branch) {
            Some(found) => found,
            None => self.forge.pulls_by_head(&self.repo, &words.branch).await?,
        };
        if let Some(merged) = existing.iter().find(|p| p.is_merged()) {
            return Ok(Action::Skipped {
                reason: format!("already merged in #{}", merged.number),
            });
        }
        let open = existing.iter().find(|p| p.is_open());
        if open.is_none()
            && let Some(closed) = existing.first()
        {
            return Ok(Action::Skipped {
                reason: format!(
                    "#{} was closed without merging: {} is skipped",
                    closed.number,
                    pr.describe()
                ),
            });
        }
        let (files, commit, branch) = match blocking(|| self.prepare(base, pr, words))? {
            Prepared::Skip(reason) => return Ok(Action::Skipped { reason }),
            Prepared::Ready {
                files,
                commit,
                branch,
            } => (files, commit, branch),
        };
        if (open.is_none() || !matches!(branch, Branch::Current))
            && let Some(until) = self.forge.writes_paused(&self.repo).await?
        {
            return Ok(Action::Failed {
                error: format!(
                    "not published: GitHub writes are paused after a secondary rate limit; they resume at {}",
                    until.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            });
        }
        let mut changed = Vec::new();
        match branch {
            Branch::Current => {}
            Branch::Stale => {
                self.put(base, &commit, &files, words, true).await?;
                changed.push("commits".to_string());
            }
            Branch::Missing => self.put(base, &commit, &files, words, false).await?,
        }
        match open {
            Some(pr_now) => self.update(pr_now, pr, words, changed).await,
            None => self.create(pr, words).await,
        }
    }

    /// The git side of publishing (blocking): the new file contents on
    /// `base`, the commit, and what the pull request's branch holds now.
    fn prepare(
        &self,
        base: &str,
        pr: &PlannedPr,
        words: &Rendered,
    ) -> Result<Prepared, PublishError> {
        let files = edited_files(&self.session, base, pr)?;
        if files.is_empty() {
            return Ok(Prepared::Skip(format!(
                "the {} branch already has these changes",
                self.base_branch
            )));
        }
        let commit =
            self.session
                .commit_files(base, &files, &words.commit_message, &self.author)?;
        let branch = match self.session.fetch(&words.branch, 50)? {
            Some(tip) if !self.session.owned_by(&tip, base, &self.author)? => {
                return Ok(Prepared::Skip(format!(
                    "branch {} has commits by others: left alone",
                    words.branch
                )));
            }
            Some(tip)
                if self.session.parent_of(&tip)?.as_deref() == Some(base)
                    && self.session.tree_of(&tip)? == self.session.tree_of(&commit)? =>
            {
                Branch::Current
            }
            // Built on an older base, but its own content is still right:
            // the files it touches did not change on the base since, and
            // it changes exactly those files to what this plan says. Left
            // alone, so another pull request's merge does not re-run its
            // checks or dismiss its approvals.
            Some(tip)
                if !self.rebase.contains(&words.branch)
                    && self.still_current(&tip, base, &files)? =>
            {
                Branch::Current
            }
            Some(_) => Branch::Stale,
            None => Branch::Missing,
        };
        Ok(Prepared::Ready {
            files,
            commit,
            branch,
        })
    }

    /// True when the branch `tip` (one commit of upkeep's on some parent)
    /// makes exactly the changes `files` (computed on `base`) and none of
    /// those files differ between its parent and `base`.
    fn still_current(
        &self,
        tip: &str,
        base: &str,
        files: &[(String, Vec<u8>)],
    ) -> Result<bool, PublishError> {
        let Some(parent) = self.session.parent_of(tip)? else {
            return Ok(false);
        };
        let mine: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
        let mut sorted = mine.clone();
        sorted.sort_unstable();
        if self.session.changed_files(&parent, tip)? != sorted {
            return Ok(false);
        }
        for (file, content) in files {
            if self.session.read(tip, file)?.as_deref() != Some(content.as_slice())
                || self.session.read(&parent, file)? != self.session.read(base, file)?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Puts the branch at `commit` (built locally on `base` from `files`):
    /// pushed with git2, or in API mode the same commit made by GitHub and
    /// the branch created, or force-moved when `replace` (upkeep's own).
    async fn put(
        &self,
        base: &str,
        commit: &str,
        files: &[(String, Vec<u8>)],
        words: &Rendered,
        replace: bool,
    ) -> Result<(), PublishError> {
        tracing::info!(repository = %self.repo, branch = %words.branch, "pushing branch");
        if !self.commit_via_api {
            return Ok(blocking(|| {
                self.session.push(commit, &words.branch, replace)
            })?);
        }
        let base_tree = blocking(|| self.session.tree_of(base))?;
        let made = self
            .forge
            .commit_via_api(
                &self.repo,
                base,
                &base_tree,
                files,
                &words.commit_message,
                Some((&self.author.name, &self.author.email)),
            )
            .await?;
        let tree = blocking(|| self.session.tree_of(commit))?;
        if made.tree != tree {
            return Err(PublishError::Edit(format!(
                "GitHub built tree {} for {}, git built {tree} (an executable file?): branch not moved",
                made.tree, words.branch
            )));
        }
        if replace {
            self.forge
                .update_branch(&self.repo, &words.branch, &made.sha, true)
                .await?;
        } else {
            self.forge
                .create_branch(&self.repo, &words.branch, &made.sha)
                .await?;
        }
        Ok(())
    }

    async fn create(&self, pr: &PlannedPr, words: &Rendered) -> Result<Action, PublishError> {
        let new = NewPull {
            title: &words.title,
            head: &words.branch,
            base: &self.base_branch,
            body: &words.body,
        };
        tracing::info!(repository = %self.repo, branch = %words.branch, "opening pull request");
        let created = match self.forge.create_pull(&self.repo, &new).await {
            Ok(p) => p,
            // Opened meanwhile (another run): find it instead of failing.
            Err(ForgeError::Status { status: 422, .. }) => {
                let found = self.forge.pulls_by_head(&self.repo, &words.branch).await?;
                match found.into_iter().find(PullRequest::is_open) {
                    Some(p) => return self.update(&p, pr, words, Vec::new()).await,
                    None => {
                        return Ok(Action::Failed {
                            error: "GitHub refused the pull request (422) and none is open".into(),
                        });
                    }
                }
            }
            Err(e) => return Err(e.into()),
        };
        if !pr.labels.is_empty() {
            self.forge
                .add_labels(&self.repo, created.number, &pr.labels)
                .await?;
        }
        if !self.reviewers.is_empty() {
            self.forge
                .request_reviewers(&self.repo, created.number, self.reviewers)
                .await?;
        }
        if !self.assignees.is_empty() {
            self.forge
                .add_assignees(&self.repo, created.number, self.assignees)
                .await?;
        }
        Ok(Action::Created {
            number: created.number,
            url: created.html_url,
        })
    }

    async fn update(
        &self,
        current: &PullRequest,
        pr: &PlannedPr,
        words: &Rendered,
        mut changed: Vec<String>,
    ) -> Result<Action, PublishError> {
        let title = (current.title != words.title).then_some(words.title.as_str());
        // The body holds times ("12 days left"): it is rewritten only when
        // what it stands for changed, i.e. its fingerprint, so a second run
        // with nothing new makes no request.
        let fingerprint = current
            .body
            .as_deref()
            .and_then(crate::domain::render::parse_fingerprint);
        let body =
            (fingerprint.as_ref() != Some(&words.fingerprint)).then_some(words.body.as_str());
        if title.is_some() {
            changed.push("title".into());
        }
        if body.is_some() {
            changed.push("body".into());
        }
        if title.is_some() || body.is_some() {
            self.forge
                .update_pull(&self.repo, current.number, title, body, None)
                .await?;
        }
        let have: BTreeSet<&str> = current.labels.iter().map(|l| l.name.as_str()).collect();
        let missing: Vec<String> = pr
            .labels
            .iter()
            .filter(|l| !have.contains(l.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.forge
                .add_labels(&self.repo, current.number, &missing)
                .await?;
            changed.push("labels".into());
        }
        Ok(if changed.is_empty() {
            Action::Unchanged {
                number: current.number,
                url: current.html_url.clone(),
            }
        } else {
            Action::Updated {
                number: current.number,
                url: current.html_url.clone(),
                changed,
            }
        })
    }

    /// Closes open pull requests of the same lineage as a newer one, with a
    /// comment linking the successor.
    pub async fn close_superseded(
        &self,
        open: &[PullRequest],
        successor: u64,
        lineage: &str,
        branch: &str,
        lineage_of: &dyn Fn(&PullRequest) -> Option<String>,
    ) -> Result<Vec<u64>, PublishError> {
        let mut closed = Vec::new();
        for p in open {
            if p.number == successor
                || p.head.branch == branch
                || !p.head_like(&self.repo, branch)
                || lineage_of(p).as_deref() != Some(lineage)
            {
                continue;
            }
            self.forge
                .comment(
                    &self.repo,
                    p.number,
                    &format!("Superseded by #{successor}."),
                )
                .await?;
            self.forge
                .update_pull(&self.repo, p.number, None, None, Some("closed"))
                .await?;
            closed.push(p.number);
        }
        Ok(closed)
    }
}

/// A local repository: commit the edits on a local branch (not checked
/// out). Re-running with nothing new leaves the branch as it is.
pub fn commit_locally(
    path: &Path,
    pr: &PlannedPr,
    words: &Rendered,
    author: &Author,
) -> Result<Action, PublishError> {
    let session = Session::local(path)?;
    let base = session.head()?;
    let files = edited_files(&session, &base, pr)?;
    if files.is_empty() {
        return Ok(Action::Skipped {
            reason: "HEAD already has these changes".into(),
        });
    }
    let commit = session.commit_files(&base, &files, &words.commit_message, author)?;
    if let Some(tip) = session.local_branch(&words.branch)? {
        if !session.owned_by(&tip, &base, author)? {
            return Ok(Action::Skipped {
                reason: format!("branch {} has commits by others: left alone", words.branch),
            });
        }
        if session.parent_of(&tip)?.as_deref() == Some(base.as_str())
            && session.tree_of(&tip)? == session.tree_of(&commit)?
        {
            return Ok(Action::Committed {
                branch: words.branch.clone(),
                commit: tip,
            });
        }
    }
    session.set_local_branch(&words.branch, &commit)?;
    Ok(Action::Committed {
        branch: words.branch.clone(),
        commit,
    })
}
