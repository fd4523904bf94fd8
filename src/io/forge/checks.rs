//! What automerge asks GitHub: how the checks on a pull request's head
//! stand (check runs and commit statuses together), whether GitHub can merge
//! it, and the merge itself, guarded by the head SHA so a pull request that
//! moved since its checks were read is never merged. Nothing here forces
//! anything: a refusal is an answer ([`MergeOutcome`]), not a retry.

use http::Method;

use super::{Forge, ForgeError, RepoName, decode, next_link};

/// The verdict over every check on a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksState {
    /// Something is still queued, running or reported pending.
    Pending,
    /// Everything that reported passed (or nothing reported at all).
    Success,
    /// At least one check failed (whatever else is still pending).
    Failure,
}

/// The checks on a commit: check runs (latest per name) and commit statuses
/// (latest per context), folded into one [`ChecksState`].
///
/// A check run concluding `failure`, `cancelled`, `timed_out`,
/// `action_required` (or anything GitHub adds later, `stale` included) or a
/// status in `error` or `failure` fails; a run not yet `completed` or a
/// `pending` status is pending; `success`, `neutral` and `skipped` pass. A
/// commit with no check runs and no statuses is [`ChecksState::Success`]:
/// GitHub's combined `pending` for zero statuses means "nothing reported",
/// not "wait".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeadChecks {
    pub state: ChecksState,
    /// Names of the failed check runs and status contexts.
    pub failing: Vec<String>,
    /// Names of the check runs and status contexts still pending.
    pub pending: Vec<String>,
}

/// How GitHub merges a pull request (`merge_method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MergeMethod {
    /// A merge commit.
    #[default]
    Merge,
    /// One commit with all the changes.
    Squash,
    /// The commits replayed onto the base.
    Rebase,
}

impl MergeMethod {
    /// GitHub's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }
}

/// What came of asking GitHub to merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeOutcome {
    /// Merged: `sha` is the commit now on the base branch.
    Merged { sha: String },
    /// GitHub refused (405): conflicts, a draft, already closed or merged,
    /// or branch protection not met; `reason` is GitHub's message.
    Refused { reason: String },
    /// The head is no longer the SHA upkeep checked (409): read it again.
    HeadMoved,
}

impl HeadChecks {
    /// Folds the check runs (`(name, status, conclusion)`) and the latest
    /// statuses (`(context, state)`).
    fn fold<'a>(
        runs: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
        statuses: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> HeadChecks {
        let (mut failing, mut pending) = (Vec::new(), Vec::new());
        for (name, status, conclusion) in runs {
            match (status, conclusion) {
                ("completed", Some("success" | "neutral" | "skipped")) => {}
                ("completed", _) => failing.push(name.to_owned()),
                _ => pending.push(name.to_owned()),
            }
        }
        for (context, state) in statuses {
            match state {
                "success" => {}
                "pending" => pending.push(context.to_owned()),
                _ => failing.push(context.to_owned()),
            }
        }
        let state = if !failing.is_empty() {
            ChecksState::Failure
        } else if !pending.is_empty() {
            ChecksState::Pending
        } else {
            ChecksState::Success
        };
        HeadChecks {
            state,
            failing,
            pending,
        }
    }
}

impl Forge {
    /// The checks on commit `sha` of `repo`: every page of its check runs
    /// (`GET …/commits/{sha}/check-runs`, latest per name) and of its
    /// combined status (`GET …/commits/{sha}/status`).
    pub async fn head_checks(&self, repo: &RepoName, sha: &str) -> Result<HeadChecks, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Run {
            name: String,
            status: String,
            conclusion: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Runs {
            check_runs: Vec<Run>,
        }
        #[derive(serde::Deserialize)]
        struct Status {
            context: String,
            state: String,
        }
        #[derive(serde::Deserialize)]
        struct Combined {
            statuses: Vec<Status>,
        }
        let runs: Vec<Run> = self
            .object_pages::<Runs>(
                &format!("/repos/{repo}/commits/{sha}/check-runs?per_page=100"),
                &format!("check runs on {sha} of {repo}"),
            )
            .await?
            .into_iter()
            .flat_map(|page| page.check_runs)
            .collect();
        let statuses: Vec<Status> = self
            .object_pages::<Combined>(
                &format!("/repos/{repo}/commits/{sha}/status?per_page=100"),
                &format!("combined status of {sha} of {repo}"),
            )
            .await?
            .into_iter()
            .flat_map(|page| page.statuses)
            .collect();
        Ok(HeadChecks::fold(
            runs.iter()
                .map(|r| (r.name.as_str(), r.status.as_str(), r.conclusion.as_deref())),
            statuses
                .iter()
                .map(|s| (s.context.as_str(), s.state.as_str())),
        ))
    }

    /// Every page of a list GitHub wraps in an object, with the credentials
    /// of the first URL (the `Link`s point at `/repositories/{id}/…`).
    async fn object_pages<T: serde::de::DeserializeOwned>(
        &self,
        first: &str,
        what: &str,
    ) -> Result<Vec<T>, ForgeError> {
        let auth = self.authorization(first).await?;
        let mut url = first.to_string();
        let mut pages = Vec::new();
        for _ in 0..50 {
            let reply = self.get_cached(&url, what, &auth).await?;
            pages.push(decode::<T>(&reply.body, what)?);
            match next_link(&reply.headers) {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(pages)
    }

    /// Whether GitHub can merge pull request `number` (`mergeable` of
    /// `GET …/pulls/{number}`): `None` while GitHub is still computing it
    /// (it does so lazily, after a push to head or base); ask again later.
    pub async fn mergeability(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> Result<Option<bool>, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Pull {
            mergeable: Option<bool>,
        }
        let what = format!("pull request {repo}#{number}");
        let reply = self
            .get(&format!("/repos/{repo}/pulls/{number}"), None, &what)
            .await?;
        Ok(decode::<Pull>(&reply.body, &what)?.mergeable)
    }

    /// Merges pull request `number` if its head is still `head_sha`
    /// (`PUT …/pulls/{number}/merge`, a paced write). GitHub's refusals are
    /// outcomes, not errors: 405 is [`MergeOutcome::Refused`] with its
    /// message, 409 [`MergeOutcome::HeadMoved`]; anything else that fails is
    /// an error.
    pub async fn merge_pull(
        &self,
        repo: &RepoName,
        number: u64,
        head_sha: &str,
        method: MergeMethod,
    ) -> Result<MergeOutcome, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Merged {
            sha: String,
        }
        let what = format!("merge of {repo}#{number}");
        let body = serde_json::json!({ "sha": head_sha, "merge_method": method.as_str() });
        match self
            .write(
                Method::PUT,
                &format!("/repos/{repo}/pulls/{number}/merge"),
                Some(&body),
                &what,
            )
            .await
        {
            Ok(reply) => Ok(MergeOutcome::Merged {
                sha: decode::<Merged>(&reply.body, &what)?.sha,
            }),
            Err(ForgeError::Status {
                status: 405,
                message,
                ..
            }) => Ok(MergeOutcome::Refused { reason: message }),
            Err(ForgeError::Status { status: 409, .. }) => Ok(MergeOutcome::HeadMoved),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_runs_and_statuses() {
        let none = HeadChecks::fold([], []);
        assert_eq!(none.state, ChecksState::Success, "nothing reported");
        let green = HeadChecks::fold(
            [
                ("ci", "completed", Some("success")),
                ("lint", "completed", Some("neutral")),
                ("docs", "completed", Some("skipped")),
            ],
            [("deploy", "success")],
        );
        assert_eq!(green.state, ChecksState::Success);
        let waiting = HeadChecks::fold(
            [("ci", "in_progress", None), ("e2e", "queued", None)],
            [("deploy", "pending")],
        );
        assert_eq!(waiting.state, ChecksState::Pending);
        assert_eq!(waiting.pending, ["ci", "e2e", "deploy"]);
        let red = HeadChecks::fold(
            [
                ("ci", "in_progress", None),
                ("a", "completed", Some("cancelled")),
                ("b", "completed", Some("timed_out")),
                ("c", "completed", Some("action_required")),
                ("d", "completed", Some("stale")),
            ],
            [("x", "error"), ("y", "failure")],
        );
        assert_eq!(red.state, ChecksState::Failure);
        assert_eq!(red.failing, ["a", "b", "c", "d", "x", "y"]);
        assert_eq!(red.pending, ["ci"]);
    }
}
