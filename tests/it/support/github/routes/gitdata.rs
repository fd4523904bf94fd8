//! The Git Data API, for repositories with a git dir (others answer 409
//! "Git Repository is empty."): blobs, trees (with `base_tree`, nested
//! paths, `content` or `sha`, `sha: null` deletes), commits (shown as
//! verified, as GitHub signs commits made through the API), refs (create;
//! update, fast-forward only unless `force`). Everything is written to the
//! real repository, so a clone sees it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use super::super::git::{Git, Person, TreeEdit};
use super::super::render;
use super::super::state::State;
use super::{Call, Reply};

/// The repository key and its git dir, or the answer.
fn git(state: &mut State, call: &Call) -> Result<(String, Git), Reply> {
    let key = call.repo_key_checked(state)?;
    match state.repos[&key].git() {
        Some(git) => Ok((key, git)),
        None => Err(Reply::error(409, "Git Repository is empty.")),
    }
}

pub(in super::super) fn create_blob(state: &mut State, call: &Call) -> Reply {
    let (key, git) = match git(state, call) {
        Ok(g) => g,
        Err(reply) => return reply,
    };
    let content = call.text("content").unwrap_or_default();
    let bytes = match call.text("encoding").unwrap_or("utf-8") {
        "utf-8" | "utf8" => content.as_bytes().to_vec(),
        "base64" => match BASE64.decode(content.replace(['\n', '\r'], "")) {
            Ok(bytes) => bytes,
            Err(_) => return Reply::invalid("Blob", "content", "invalid"),
        },
        _ => return Reply::invalid("Blob", "encoding", "invalid"),
    };
    let sha = git.write_blob(&bytes);
    let body = render::blob(&state.repos[&key], &sha, call.urls);
    let location = body["url"].as_str().unwrap_or_default().to_owned();
    Reply::created(body, location)
}

pub(in super::super) fn create_tree(state: &mut State, call: &Call) -> Reply {
    let (key, git) = match git(state, call) {
        Ok(g) => g,
        Err(reply) => return reply,
    };
    let entries = call
        .body
        .as_ref()
        .and_then(|b| b["tree"].as_array())
        .cloned()
        .unwrap_or_default();
    let mut edits = Vec::new();
    for entry in &entries {
        let path = entry["path"].as_str().unwrap_or_default().to_owned();
        let mode = entry["mode"].as_str().unwrap_or("100644").to_owned();
        let sha = match (entry.get("sha"), entry["content"].as_str()) {
            (Some(Value::String(_)), Some(_)) => {
                return Reply::custom(
                    "Tree",
                    Some("tree"),
                    "Must supply either tree.sha or tree.content, not both",
                );
            }
            (Some(Value::String(sha)), None) => Some(sha.clone()),
            (_, Some(content)) => Some(git.write_blob(content.as_bytes())),
            (Some(Value::Null), None) => None,
            _ => {
                return Reply::custom(
                    "Tree",
                    Some("tree"),
                    "Must supply either tree.sha or tree.content",
                );
            }
        };
        edits.push(TreeEdit { path, mode, sha });
    }
    match git.write_tree(call.text("base_tree"), &edits) {
        Ok(sha) => {
            let body = render::tree(&state.repos[&key], &sha, &git.tree_entries(&sha), call.urls);
            let location = body["url"].as_str().unwrap_or_default().to_owned();
            Reply::created(body, location)
        }
        Err(message) => Reply::custom("Tree", Some("tree"), &message),
    }
}

pub(in super::super) fn create_commit(state: &mut State, call: &Call) -> Reply {
    let (key, git) = match git(state, call) {
        Ok(g) => g,
        Err(reply) => return reply,
    };
    let login = state.login_of(call.caller);
    let person = |field: &str, fallback: &Person| -> Person {
        let given = call
            .body
            .as_ref()
            .map(|b| &b[field])
            .filter(|v| v.is_object());
        match given {
            Some(v) => Person {
                name: v["name"].as_str().unwrap_or(&fallback.name).to_owned(),
                email: v["email"].as_str().unwrap_or(&fallback.email).to_owned(),
                date: v["date"]
                    .as_str()
                    .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                    .map(|d| d.with_timezone(&chrono::Utc))
                    .unwrap_or(fallback.date),
            },
            None => fallback.clone(),
        }
    };
    let me = Person {
        name: login.clone(),
        email: format!("{login}@users.noreply.github.com"),
        date: state.now(),
    };
    let author = person("author", &me);
    let committer = person("committer", &author);
    let parents = call.names("parents");
    let message = call.text("message").unwrap_or_default();
    let tree = call.text("tree").unwrap_or_default();
    match git.write_commit(message, tree, &parents, &author, &committer) {
        Ok(sha) => {
            let repo = state.repos.get_mut(&key).unwrap();
            repo.api_commits.insert(sha.clone());
            let info = git.commit(&sha).expect("commit just written");
            let body = render::git_commit(repo, &info, true, call.urls);
            let location = body["url"].as_str().unwrap_or_default().to_owned();
            Reply::created(body, location)
        }
        Err(message) => Reply::error(422, &message),
    }
}

pub(in super::super) fn create_ref(state: &mut State, call: &Call) -> Reply {
    let (key, git) = match git(state, call) {
        Ok(g) => g,
        Err(reply) => return reply,
    };
    let name = call.text("ref").unwrap_or_default();
    let sha = call.text("sha").unwrap_or_default();
    if !name.starts_with("refs/") || name.matches('/').count() < 2 {
        return Reply::error(
            422,
            "Reference name must start with 'refs/' and have at least two slashes.",
        );
    }
    if git.commit_of_ref(name).is_some() {
        return Reply::error(422, "Reference already exists");
    }
    if !git.has_commit(sha) {
        return Reply::error(422, "Object does not exist");
    }
    if let Err(message) = git.set_ref(name, sha) {
        return Reply::error(422, &message);
    }
    state.repos.get_mut(&key).unwrap().sync_pulls();
    let body = render::git_ref(&state.repos[&key], name, sha, call.urls);
    let location = body["url"].as_str().unwrap_or_default().to_owned();
    Reply::created(body, location)
}

pub(in super::super) fn update_ref(state: &mut State, call: &Call) -> Reply {
    let (key, git) = match git(state, call) {
        Ok(g) => g,
        Err(reply) => return reply,
    };
    let name = format!("refs/{}", call.params.get("ref").unwrap_or_default());
    let sha = call.text("sha").unwrap_or_default();
    let Some(old) = git.commit_of_ref(&name) else {
        return Reply::error(422, "Reference does not exist");
    };
    if !git.has_commit(sha) {
        return Reply::error(422, "Object does not exist");
    }
    if !call.flag("force").unwrap_or(false) && !git.is_ancestor(&old, sha) {
        return Reply::error(422, "Update is not a fast forward");
    }
    if let Err(message) = git.set_ref(&name, sha) {
        return Reply::error(422, &message);
    }
    state.repos.get_mut(&key).unwrap().sync_pulls();
    Reply::ok(render::git_ref(&state.repos[&key], &name, sha, call.urls))
}
