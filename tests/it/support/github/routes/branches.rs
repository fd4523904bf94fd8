//! `GET /repos/{owner}/{repo}/branches/{branch}`: the tip commit from the
//! git dir when the repository has one, else a made-up commit at the
//! branch's SHA. 404 "Branch not found" otherwise.

use super::super::git::{CommitInfo, Person};
use super::super::render;
use super::super::state::State;
use super::{Call, Reply};

pub(in super::super) fn get(state: &mut State, call: &Call) -> Reply {
    let repo = match call.repo(state) {
        Ok(repo) => repo,
        Err(reply) => return reply,
    };
    let name = call.params.get("branch").unwrap_or_default();
    let Some(sha) = repo.branch_sha(name) else {
        return Reply::error(404, "Branch not found");
    };
    let commit = match repo.git() {
        Some(git) => git.commit(&sha).expect("branch tip is a commit"),
        None => {
            let person = Person {
                name: repo.owner.clone(),
                email: format!("{}@users.noreply.github.com", repo.owner),
                date: repo.created_at,
            };
            CommitInfo {
                sha: sha.clone(),
                message: format!("Tip of {name}"),
                author: person.clone(),
                committer: person,
                tree: super::super::pulls::fake_sha(&[&sha, "tree"]),
                parents: Vec::new(),
            }
        }
    };
    let verified = repo.api_commits.contains(&sha);
    Reply::ok(render::branch(repo, name, &commit, verified, call.urls))
}
