//! Comments on commits: create (`repos/create-commit-comment`; 422 for an
//! empty or too long body, 404 for a SHA that is not 7 to 40 hex digits).
//! Kept in [`Repo::commit_comments`](super::super::state::Repo) for tests
//! to read.

use serde_json::json;

use super::super::render;
use super::super::state::{CommitComment, State};
use super::pulls::MAX_BODY;
use super::{Call, Reply};

pub(in super::super) fn create_comment(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let sha = call.params.get("commit_sha").unwrap_or_default().to_owned();
    if !(7..=40).contains(&sha.len()) || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Reply::not_found();
    }
    let body = call.text("body").unwrap_or_default();
    if body.trim().is_empty() {
        return Reply::invalid("CommitComment", "body", "missing_field");
    }
    if body.chars().count() > MAX_BODY {
        return Reply::custom(
            "CommitComment",
            Some("body"),
            &format!("body is too long (maximum is {MAX_BODY} characters)"),
        );
    }
    let login = state.login_of(call.caller);
    let author = state.user(&login);
    let comment = CommitComment {
        id: state.next_id(),
        commit_id: sha,
        author: login,
        body: body.to_owned(),
        created_at: state.now(),
    };
    let repo = state.repos.get_mut(&key).unwrap();
    repo.commit_comments.push(comment.clone());
    let full = format!("{}/{}", repo.owner, repo.name);
    let url = format!("{}/repos/{full}/comments/{}", call.urls.api, comment.id);
    let json = json!({
        "id": comment.id,
        "node_id": format!("CC_kwDO{:08}", comment.id),
        "url": url,
        "html_url": format!("{}/{full}/commit/{}#commitcomment-{}", call.urls.web, comment.commit_id, comment.id),
        "body": comment.body,
        "path": null,
        "position": null,
        "line": null,
        "commit_id": comment.commit_id,
        "user": render::user(&author, call.urls),
        "created_at": render::time(comment.created_at),
        "updated_at": render::time(comment.created_at),
        "author_association": "OWNER",
        "reactions": {
            "url": format!("{url}/reactions"), "total_count": 0, "+1": 0, "-1": 0,
            "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
        },
    });
    Reply::created(json, url)
}
