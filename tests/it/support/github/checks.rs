//! What CI says about commits, and what guards a merge: check runs (the
//! Checks API, as GitHub Actions reports), commit statuses (the older Status
//! API), branch protection (required contexts, required approving reviews)
//! and approvals. Tests seed them through `GitHubDouble::add_check_run`,
//! `add_status`, `protect_branch`, `approve`; `routes/checks.rs` serves the
//! reads and `routes/pulls.rs` the merge.
//!
//! GitHub's rules modelled here:
//! - the combined status keeps the latest status per context; its `state` is
//!   `failure` if any is `error` or `failure`, else `pending` if any is
//!   `pending` or there is none at all, else `success`;
//! - check runs are listed latest per name unless `filter=all`;
//! - a required context is met by a `success` status or a completed check
//!   run of that name concluding `success`, `neutral` or `skipped`;
//! - `mergeable_state` is `dirty` (conflicts), `blocked` (protection not
//!   met), `unstable` (some other check failing or pending) or `clean`.

use chrono::{DateTime, Utc};

use super::pulls::{PullRequest, fake_sha, now};
use super::state::{Repo, State};

/// Check run `status` values GitHub lists (the last three are reserved for
/// GitHub Actions).
pub const CHECK_STATUSES: &[&str] = &[
    "queued",
    "in_progress",
    "completed",
    "waiting",
    "requested",
    "pending",
];

/// Check run `conclusion` values (set once `completed`).
pub const CHECK_CONCLUSIONS: &[&str] = &[
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
];

/// Commit status `state` values.
pub const STATUS_STATES: &[&str] = &["error", "failure", "pending", "success"];

/// A check run on a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRun {
    pub id: u64,
    pub check_suite_id: u64,
    pub name: String,
    pub head_sha: String,
    /// One of [`CHECK_STATUSES`].
    pub status: String,
    /// One of [`CHECK_CONCLUSIONS`] once `completed`, else `None`.
    pub conclusion: Option<String>,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// One commit status (statuses are never edited: a new one for the same
/// context supersedes the old).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitStatus {
    pub id: u64,
    pub sha: String,
    pub context: String,
    /// One of [`STATUS_STATES`].
    pub state: String,
    pub created_at: DateTime<Utc>,
}

/// A branch protection rule (`GitHubDouble::protect_branch`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Protection {
    /// Status check contexts (or check run names) that must pass.
    pub required_contexts: Vec<String>,
    /// Approving reviews needed (by others than the author).
    pub required_approvals: u32,
}

/// How a pull request stands against its checks, besides conflicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gate {
    Clean,
    /// Branch protection not met: merging is refused.
    Blocked,
    /// A check that is not required fails or is pending: merging is allowed.
    Unstable,
}

/// Where GitHub's protected-branch refusals point.
pub(super) const PROTECTION_DOCS: &str =
    "https://docs.github.com/articles/about-protected-branches";

pub(super) fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Repo {
    /// The commit `reference` names: a branch (`heads/` optional), else a
    /// full SHA (with a git dir: one it has). Tags and abbreviated SHAs are
    /// not modelled.
    pub fn resolve_ref(&self, reference: &str) -> Option<String> {
        if let Some(sha) = self.branch_sha(reference.strip_prefix("heads/").unwrap_or(reference)) {
            return Some(sha);
        }
        if !is_sha(reference) {
            return None;
        }
        let sha = reference.to_ascii_lowercase();
        match self.git() {
            Some(git) if !git.has_commit(&sha) => None,
            _ => Some(sha),
        }
    }

    /// The check runs on `sha`, oldest first; `latest`: only the newest of
    /// each name.
    pub fn check_runs_on(&self, sha: &str, latest: bool) -> Vec<&CheckRun> {
        let all: Vec<&CheckRun> = self
            .check_runs
            .iter()
            .filter(|r| r.head_sha == sha)
            .collect();
        if !latest {
            return all;
        }
        all.iter()
            .copied()
            .filter(|r| !all.iter().any(|o| o.name == r.name && o.id > r.id))
            .collect()
    }

    /// The latest status of each context on `sha` (in the order the
    /// contexts first reported) and the combined state.
    pub fn combined_status(&self, sha: &str) -> (&'static str, Vec<&CommitStatus>) {
        let mut latest: Vec<&CommitStatus> = Vec::new();
        for s in self.statuses.iter().filter(|s| s.sha == sha) {
            match latest.iter_mut().find(|l| l.context == s.context) {
                Some(slot) => *slot = s,
                None => latest.push(s),
            }
        }
        let state = if latest
            .iter()
            .any(|s| s.state == "error" || s.state == "failure")
        {
            "failure"
        } else if latest.is_empty() || latest.iter().any(|s| s.state == "pending") {
            "pending"
        } else {
            "success"
        };
        (state, latest)
    }

    /// Whether `pull` merges without conflicts: the test's word
    /// (`set_mergeable`), else a real merge in the git dir, else yes.
    pub(super) fn mergeable_now(&self, pull: &PullRequest) -> bool {
        if let Some(flag) = pull.mergeable_override {
            return flag;
        }
        match self.git() {
            Some(git) => git.mergeable(&pull.base_sha, &pull.head_sha),
            None => true,
        }
    }

    /// Context name -> `Some(true)` passed, `Some(false)` failed, `None`
    /// pending, for every status context and check run name on `sha`.
    fn check_results(&self, sha: &str) -> Vec<(String, Option<bool>)> {
        let mut out: Vec<(String, Option<bool>)> = Vec::new();
        let (_, statuses) = self.combined_status(sha);
        for s in statuses {
            let result = match s.state.as_str() {
                "success" => Some(true),
                "pending" => None,
                _ => Some(false),
            };
            out.push((s.context.clone(), result));
        }
        for r in self.check_runs_on(sha, true) {
            let result = match r.conclusion.as_deref() {
                Some("success" | "neutral" | "skipped") => Some(true),
                Some(_) => Some(false),
                None => None,
            };
            out.push((r.name.clone(), result));
        }
        out
    }

    /// GitHub's 405 message when the base branch's protection is not met
    /// by `pull`, else `None`.
    pub(super) fn protection_unmet(&self, pull: &PullRequest) -> Option<String> {
        let rule = self.protections.get(&pull.base)?;
        let results = self.check_results(&pull.head_sha);
        // `None`: never reported; `Some(None)`: pending. A context reported
        // both as a status and as a check run passes if either passed.
        let result_of = |context: &str| -> Option<Option<bool>> {
            let mine: Vec<Option<bool>> = results
                .iter()
                .filter(|(name, _)| name == context)
                .map(|(_, r)| *r)
                .collect();
            if mine.is_empty() {
                None
            } else if mine.contains(&Some(true)) {
                Some(Some(true))
            } else if mine.contains(&None) {
                Some(None)
            } else {
                Some(Some(false))
            }
        };
        let required = &rule.required_contexts;
        let failing: Vec<&String> = required
            .iter()
            .filter(|c| result_of(c) == Some(Some(false)))
            .collect();
        let pending: Vec<&String> = required
            .iter()
            .filter(|c| result_of(c) == Some(None))
            .collect();
        let missing: Vec<&String> = required.iter().filter(|c| result_of(c).is_none()).collect();
        if let Some(first) = failing.first() {
            return Some(format!("Required status check \"{first}\" is failing."));
        }
        if let Some(first) = pending.first() {
            return Some(format!("Required status check \"{first}\" is in progress."));
        }
        match missing.len() {
            0 => {}
            1 => {
                return Some(format!(
                    "Required status check \"{}\" is expected.",
                    missing[0]
                ));
            }
            n => {
                return Some(format!(
                    "{n} of {} required status checks are expected.",
                    required.len()
                ));
            }
        }
        let approvals = pull.approvals.len() as u32;
        if approvals < rule.required_approvals {
            let n = rule.required_approvals;
            return Some(if n == 1 {
                "At least 1 approving review is required by reviewers with write access.".into()
            } else {
                format!(
                    "At least {n} approving reviews are required by reviewers with write access."
                )
            });
        }
        None
    }

    /// Blocked by protection, unstable (some check failing or pending),
    /// or clean.
    pub(super) fn gate(&self, pull: &PullRequest) -> Gate {
        if self.protection_unmet(pull).is_some() {
            return Gate::Blocked;
        }
        let results = self.check_results(&pull.head_sha);
        let (state, statuses) = self.combined_status(&pull.head_sha);
        let statuses_ok = statuses.is_empty() || state == "success";
        if !statuses_ok || results.iter().any(|(_, r)| *r != Some(true)) {
            Gate::Unstable
        } else {
            Gate::Clean
        }
    }

    /// A made-up SHA for a merge into a repository without a git dir.
    pub(super) fn fake_merge_sha(&self, number: u64, salt: u64) -> String {
        fake_sha(&[
            &self.full_name(),
            &number.to_string(),
            &salt.to_string(),
            "merge",
        ])
    }
}

impl State {
    /// The commit a test helper means: a branch's tip, else a full SHA.
    fn commit_for_test(&mut self, full_name: &str, sha_or_branch: &str) -> String {
        let repo = self.expect_repo(full_name);
        repo.branch_sha(sha_or_branch).unwrap_or_else(|| {
            assert!(
                is_sha(sha_or_branch),
                "GitHub double: {sha_or_branch:?} is neither a branch of {full_name} nor a full SHA"
            );
            sha_or_branch.to_ascii_lowercase()
        })
    }

    pub(super) fn add_check_run(
        &mut self,
        full_name: &str,
        sha_or_branch: &str,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> u64 {
        check_run_state(status, conclusion);
        let head_sha = self.commit_for_test(full_name, sha_or_branch);
        let (id, check_suite_id) = (self.next_id(), self.next_id());
        let at = self.now();
        self.expect_repo(full_name).check_runs.push(CheckRun {
            id,
            check_suite_id,
            name: name.to_owned(),
            head_sha,
            status: status.to_owned(),
            conclusion: conclusion.map(str::to_owned),
            started_at: at,
            completed_at: (status == "completed").then_some(at),
        });
        id
    }

    pub(super) fn set_check_run(
        &mut self,
        full_name: &str,
        id: u64,
        status: &str,
        conclusion: Option<&str>,
    ) {
        check_run_state(status, conclusion);
        let run = self
            .expect_repo(full_name)
            .check_runs
            .iter_mut()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("GitHub double: no check run {id} in {full_name}"));
        run.status = status.to_owned();
        run.conclusion = conclusion.map(str::to_owned);
        run.completed_at = (status == "completed").then(now);
    }

    pub(super) fn add_status(
        &mut self,
        full_name: &str,
        sha_or_branch: &str,
        context: &str,
        state: &str,
    ) -> u64 {
        assert!(
            STATUS_STATES.contains(&state),
            "GitHub double: a commit status is one of {STATUS_STATES:?}, not {state:?}"
        );
        let sha = self.commit_for_test(full_name, sha_or_branch);
        let id = self.next_id();
        let created_at = self.now();
        self.expect_repo(full_name).statuses.push(CommitStatus {
            id,
            sha,
            context: context.to_owned(),
            state: state.to_owned(),
            created_at,
        });
        id
    }

    /// Pull request `number` of `full_name`, for a test helper to change.
    pub(super) fn pull_for_test(&mut self, full_name: &str, number: u64) -> &mut PullRequest {
        self.expect_repo(full_name)
            .pull_mut(number)
            .unwrap_or_else(|| panic!("GitHub double: no pull request #{number} in {full_name}"))
    }

    pub(super) fn approve(&mut self, full_name: &str, number: u64, login: &str) {
        self.user(login);
        let pull = self.pull_for_test(full_name, number);
        assert!(
            !pull.author.eq_ignore_ascii_case(login),
            "GitHub double: {login} cannot approve their own pull request"
        );
        if !pull.approvals.iter().any(|a| a.eq_ignore_ascii_case(login)) {
            pull.approvals.push(login.to_owned());
        }
    }
}

/// Panics unless `status` and `conclusion` go together as on GitHub.
fn check_run_state(status: &str, conclusion: Option<&str>) {
    assert!(
        CHECK_STATUSES.contains(&status),
        "GitHub double: a check run status is one of {CHECK_STATUSES:?}, not {status:?}"
    );
    match conclusion {
        Some(c) => assert!(
            status == "completed" && CHECK_CONCLUSIONS.contains(&c),
            "GitHub double: a conclusion ({c:?}) needs status completed and one of {CHECK_CONCLUSIONS:?}"
        ),
        None => assert!(
            status != "completed",
            "GitHub double: a completed check run needs a conclusion"
        ),
    }
}
