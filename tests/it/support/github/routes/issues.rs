//! Pull requests seen as issues: get, labels (list, add, set, remove; adding
//! an unknown label creates it grey, as GitHub does), assignees (add) and
//! comments (list, create); labels, assignees and comments on a number that
//! is no pull request answer 404. Plain issues (upkeep's dashboard): list
//! (with pull requests, as GitHub lists them), create, update, get.

use serde_json::Value;

use super::super::pulls::Comment;
use super::super::render;
use super::super::state::{Issue, State};
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

// Plain issues: list (pull requests included, as GitHub does), create,
// update, get.

fn plain_json(state: &mut State, key: &str, number: u64, call: &Call) -> Value {
    let issue = state.repos[key].issue(number).cloned().expect("issue");
    let author = state.user(&issue.author);
    let repo = &state.repos[key];
    let labels: Vec<Value> = issue
        .labels
        .iter()
        .filter_map(|id| repo.labels.iter().find(|l| l.id == *id))
        .map(|l| render::label(repo, l, call.urls, false))
        .collect();
    let comments = repo.comments_on(number).len();
    render::plain_issue(repo, &issue, &author, labels, comments, call.urls)
}

/// `issues/list-for-repo`: `state` (open, closed, all; default open),
/// `creator`, `labels` (comma-separated, all must be on it), `sort`
/// (created, updated), `direction`, pagination. Pull requests are listed
/// too (with a `pull_request` key).
pub(in super::super) fn list(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let wanted = call.query("state").unwrap_or("open");
    if !matches!(wanted, "open" | "closed" | "all") {
        return Reply::invalid("Issue", "state", "invalid");
    }
    let creator = call.query("creator").map(super::percent_decode);
    let labels: Vec<String> = call
        .query("labels")
        .map(super::percent_decode)
        .map(|l| {
            l.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let repo = &state.repos[&key];
    let label_ids: Option<Vec<u64>> = labels
        .iter()
        .map(|name| repo.label(name).map(|l| l.id))
        .collect();
    let Some(label_ids) = label_ids else {
        // A label that does not exist matches nothing.
        return Page::of(call).reply(call, repo, "issues", 0, Vec::new());
    };
    let by_updated = call.query("sort") == Some("updated");
    // (number, is_pull, sort key)
    let mut rows: Vec<(u64, bool, chrono::DateTime<chrono::Utc>)> = Vec::new();
    for p in &repo.pulls {
        let open = p.state() == "open";
        if (wanted == "all" || (wanted == "open") == open)
            && creator
                .as_ref()
                .is_none_or(|c| c.eq_ignore_ascii_case(&p.author))
            && label_ids.iter().all(|id| p.labels.contains(id))
        {
            let at = if by_updated {
                p.updated_at
            } else {
                p.created_at
            };
            rows.push((p.number, true, at));
        }
    }
    for i in &repo.issues {
        if (wanted == "all" || (wanted == "open") == i.open)
            && creator
                .as_ref()
                .is_none_or(|c| c.eq_ignore_ascii_case(&i.author))
            && label_ids.iter().all(|id| i.labels.contains(id))
        {
            let at = if by_updated {
                i.updated_at
            } else {
                i.created_at
            };
            rows.push((i.number, false, at));
        }
    }
    rows.sort_by_key(|&(n, _, at)| (at, n));
    if call.query("direction") != Some("asc") {
        rows.reverse();
    }
    let page = Page::of(call);
    let mut items = Vec::new();
    for (number, is_pull, _) in page.slice(&rows).to_vec() {
        if is_pull {
            let ctx = context(state, &key, number, call, false);
            let repo = &state.repos[&key];
            items.push(render::issue(
                repo,
                repo.pull(number).unwrap(),
                &ctx,
                call.urls,
            ));
        } else {
            items.push(plain_json(state, &key, number, call));
        }
    }
    page.reply(call, &state.repos[&key], "issues", rows.len(), items)
}

fn check_text(title: Option<&str>, body: Option<&str>) -> Result<(), Reply> {
    if let Some(t) = title
        && t.trim().is_empty()
    {
        return Err(Reply::invalid("Issue", "title", "missing_field"));
    }
    if body.is_some_and(|b| b.chars().count() > MAX_BODY) {
        return Err(Reply::custom(
            "Issue",
            Some("body"),
            &format!("body is too long (maximum is {MAX_BODY} characters)"),
        ));
    }
    Ok(())
}

/// `issues/create`: `title` (required), `body`, `labels` (created grey when
/// unknown).
pub(in super::super) fn create(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let title = call.text("title").unwrap_or_default().to_owned();
    let body = call.text("body").map(str::to_owned);
    if let Err(reply) = check_text(Some(&title), body.as_deref()) {
        return reply;
    }
    let labels: Vec<u64> = call
        .names("labels")
        .iter()
        .map(|name| state.ensure_label(&key, name))
        .collect();
    let login = state.login_of(call.caller);
    state.user(&login);
    let id = state.next_id();
    let now = state.now();
    let repo = state.repos.get_mut(&key).unwrap();
    let number = repo.next_number;
    repo.next_number += 1;
    repo.issues.push(Issue {
        id,
        number,
        title,
        body,
        author: login,
        open: true,
        labels,
        created_at: now,
        updated_at: now,
        closed_at: None,
    });
    let json = plain_json(state, &key, number, call);
    let location = json["url"].as_str().unwrap_or_default().to_owned();
    Reply::created(json, location)
}

/// `issues/update` of a plain issue: `title`, `body`, `state` (open,
/// closed).
pub(in super::super) fn update(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let Some(number) = call
        .number("issue_number")
        .filter(|n| state.repos[&key].issue(*n).is_some())
    else {
        return Reply::not_found();
    };
    let title = call.text("title");
    let body = call.text("body");
    if let Err(reply) = check_text(title, body) {
        return reply;
    }
    let wanted = call.text("state");
    if wanted.is_some_and(|s| !matches!(s, "open" | "closed")) {
        return Reply::invalid("Issue", "state", "invalid");
    }
    let now = state.now();
    let issue = state
        .repos
        .get_mut(&key)
        .unwrap()
        .issues
        .iter_mut()
        .find(|i| i.number == number)
        .unwrap();
    if let Some(t) = title {
        issue.title = t.to_owned();
    }
    if let Some(b) = body {
        issue.body = Some(b.to_owned());
    }
    match wanted {
        Some("closed") if issue.open => {
            issue.open = false;
            issue.closed_at = Some(now);
        }
        Some("open") if !issue.open => {
            issue.open = true;
            issue.closed_at = None;
        }
        _ => {}
    }
    issue.updated_at = now;
    Reply::ok(plain_json(state, &key, number, call))
}

/// `issues/get` of a plain issue, else of a pull request.
pub(in super::super) fn get_any(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    match call
        .number("issue_number")
        .filter(|n| state.repos[&key].issue(*n).is_some())
    {
        Some(number) => Reply::ok(plain_json(state, &key, number, call)),
        None => get(state, call),
    }
}
