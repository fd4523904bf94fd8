//! Pull requests seen as issues: get, labels (list, add, set, remove; adding
//! an unknown label creates it grey, as GitHub does), assignees (add) and
//! comments (list, create). Numbers that are no pull request answer 404:
//! the double has no plain issues.

use serde_json::Value;

use super::super::pulls::Comment;
use super::super::render;
use super::super::state::State;
use super::page::Page;
use super::pulls::{MAX_BODY, context};
use super::{Call, Reply};

/// The repository key and the pull request number of an issue route.
fn target(state: &mut State, call: &Call) -> Result<(String, u64), Reply> {
    let key = call.repo_key_checked(state)?;
    call.number("issue_number")
        .filter(|n| state.repos[&key].pull(*n).is_some())
        .map(|n| (key, n))
        .ok_or_else(Reply::not_found)
}

fn labels_json(state: &State, key: &str, number: u64, call: &Call) -> Vec<Value> {
    let repo = &state.repos[key];
    repo.labels_of(number)
        .into_iter()
        .map(|l| render::label(repo, l, call.urls, false))
        .collect()
}

fn touch(state: &mut State, key: &str, number: u64) {
    let now = state.now();
    let pull = state.repos.get_mut(key).unwrap().pull_mut(number).unwrap();
    pull.updated_at = now;
}

pub(in super::super) fn get(state: &mut State, call: &Call) -> Reply {
    let (key, number) = match target(state, call) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let ctx = context(state, &key, number, call, false);
    let repo = &state.repos[&key];
    Reply::ok(render::issue(
        repo,
        repo.pull(number).unwrap(),
        &ctx,
        call.urls,
    ))
}

pub(in super::super) fn list_labels(state: &mut State, call: &Call) -> Reply {
    let (key, number) = match target(state, call) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let all = labels_json(state, &key, number, call);
    let page = Page::of(call);
    let items = page.slice(&all).to_vec();
    page.reply(
        call,
        &state.repos[&key],
        &format!("issues/{number}/labels"),
        all.len(),
        items,
    )
}

fn set(state: &mut State, call: &Call, replace: bool) -> Reply {
    let (key, number) = match target(state, call) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let ids: Vec<u64> = call
        .names("labels")
        .iter()
        .map(|name| state.ensure_label(&key, name))
        .collect();
    let pull = state.repos.get_mut(&key).unwrap().pull_mut(number).unwrap();
    if replace {
        pull.labels.clear();
    }
    for id in ids {
        if !pull.labels.contains(&id) {
            pull.labels.push(id);
        }
    }
    touch(state, &key, number);
    Reply::ok(Value::Array(labels_json(state, &key, number, call)))
}

pub(in super::super) fn add_labels(state: &mut State, call: &Call) -> Reply {
    set(state, call, false)
}

pub(in super::super) fn set_labels(state: &mut State, call: &Call) -> Reply {
    set(state, call, true)
}

pub(in super::super) fn remove_label(state: &mut State, call: &Call) -> Reply {
    let (key, number) = match target(state, call) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let name = call.params.get("name").unwrap_or_default();
    let id = state.repos[&key].label(name).map(|l| l.id);
    let pull = state.repos.get_mut(&key).unwrap().pull_mut(number).unwrap();
    match id.and_then(|id| pull.labels.iter().position(|l| *l == id)) {
        Some(at) => {
            pull.labels.remove(at);
            touch(state, &key, number);
            Reply::ok(Value::Array(labels_json(state, &key, number, call)))
        }
        None => Reply::error(404, "Label does not exist"),
    }
}

pub(in super::super) fn add_assignees(state: &mut State, call: &Call) -> Reply {
    let (key, number) = match target(state, call) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let logins = call.names("assignees");
    for login in &logins {
        state.user(login);
    }
    let pull = state.repos.get_mut(&key).unwrap().pull_mut(number).unwrap();
    for login in logins {
        if pull.assignees.len() < 10
            && !pull
                .assignees
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&login))
        {
            pull.assignees.push(login);
        }
    }
    touch(state, &key, number);
    let ctx = context(state, &key, number, call, false);
    let repo = &state.repos[&key];
    let body = render::issue(repo, repo.pull(number).unwrap(), &ctx, call.urls);
    Reply {
        status: 201,
        body,
        headers: Vec::new(),
    }
}

pub(in super::super) fn list_comments(state: &mut State, call: &Call) -> Reply {
    let (key, number) = match target(state, call) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let comments: Vec<Comment> = state.repos[&key]
        .comments_on(number)
        .into_iter()
        .cloned()
        .collect();
    let page = Page::of(call);
    let items: Vec<Value> = page
        .slice(&comments)
        .iter()
        .map(|c| {
            let author = state.user(&c.author);
            render::comment(&state.repos[&key], c, &author, call.urls)
        })
        .collect();
    page.reply(
        call,
        &state.repos[&key],
        &format!("issues/{number}/comments"),
        comments.len(),
        items,
    )
}

pub(in super::super) fn create_comment(state: &mut State, call: &Call) -> Reply {
    let (key, number) = match target(state, call) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let body = call.text("body").unwrap_or_default();
    if body.trim().is_empty() {
        return Reply::invalid("IssueComment", "body", "missing_field");
    }
    if body.chars().count() > MAX_BODY {
        return Reply::custom(
            "IssueComment",
            Some("body"),
            &format!("body is too long (maximum is {MAX_BODY} characters)"),
        );
    }
    let login = state.login_of(call.caller);
    let author = state.user(&login);
    let comment = Comment {
        id: state.next_id(),
        number,
        author: login,
        body: body.to_owned(),
        created_at: state.now(),
    };
    let repo = state.repos.get_mut(&key).unwrap();
    repo.comments.push(comment.clone());
    touch(state, &key, number);
    let json = render::comment(&state.repos[&key], &comment, &author, call.urls);
    let location = json["url"].as_str().unwrap_or_default().to_owned();
    Reply::created(json, location)
}
