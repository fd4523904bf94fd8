//! Pull requests: list (filters `state`, `head` = `owner:branch`, `base`;
//! `sort`/`direction`; paginated), create (GitHub's 422s for a missing head
//! or base, an already open pull request for the head, no commits between
//! them, a body over 65,536 characters), get, update (title, body, state,
//! base, maintainer_can_modify), request reviewers and merge.

use serde_json::{Value, json};

use super::super::checks::PROTECTION_DOCS;
use super::super::render::{self, PullContext};
use super::super::state::State;
use super::page::Page;
use super::{Call, Reply};

/// GitHub's limits on issue and pull request text, in characters.
pub(super) const MAX_BODY: usize = 65_536;
const MAX_TITLE: usize = 256;

/// Everything `render::pull`/`render::issue` need besides the pull request.
/// `full`: also mergeability and diff statistics (git work when linked).
pub(super) fn context(
    state: &mut State,
    key: &str,
    number: u64,
    call: &Call,
    full: bool,
) -> PullContext {
    let repo = &state.repos[key];
    let pull = repo.pull(number).expect("pull request");
    let owner = repo.owner.clone();
    let author = pull.author.clone();
    let assignees = pull.assignees.clone();
    let reviewers = pull.requested_reviewers.clone();
    let teams = pull.requested_teams.clone();
    let merged_by = pull.merged_by.clone();
    let labels = repo.labels_of(number).into_iter().cloned().collect();
    let comments = repo.comments_on(number).len();
    let (mergeable, stats) = match (full && pull.open, repo.git()) {
        (false, _) => (None, Default::default()),
        (true, Some(git)) => (
            Some(repo.mergeable_now(pull)),
            git.diff_stats(&pull.base_sha, &pull.head_sha),
        ),
        (true, None) => (
            Some(repo.mergeable_now(pull)),
            super::super::git::DiffStats {
                commits: 1,
                ..Default::default()
            },
        ),
    };
    let mergeable = mergeable.filter(|_| pull.mergeable_unknown_reads == 0);
    let gate = repo.gate(pull);
    PullContext {
        owner: state.user(&owner),
        author: state.user(&author),
        assignees: assignees.iter().map(|l| state.user(l)).collect(),
        reviewers: reviewers.iter().map(|l| state.user(l)).collect(),
        teams: teams
            .iter()
            .map(|t| (state.team(&owner, t), t.clone()))
            .collect(),
        labels,
        merged_by: merged_by.map(|l| state.user(&l)),
        comments,
        mergeable,
        gate,
        stats,
        authorized: call.caller.authorized(),
    }
}

/// The pull request's JSON (`full`: `pull-request`, else `-simple`).
pub(super) fn render_pull(
    state: &mut State,
    key: &str,
    number: u64,
    call: &Call,
    full: bool,
) -> Value {
    let ctx = context(state, key, number, call, full);
    let repo = &state.repos[key];
    render::pull(
        repo,
        repo.pull(number).expect("pull request"),
        &ctx,
        call.urls,
        full,
    )
}

/// The pull request named by the path, or 404.
fn pull_number(state: &State, key: &str, call: &Call, param: &str) -> Result<u64, Reply> {
    call.number(param)
        .filter(|n| state.repos[key].pull(*n).is_some())
        .ok_or_else(Reply::not_found)
}

/// A 422 for a title or body over GitHub's limits.
pub(super) fn too_long(call: &Call) -> Option<Reply> {
    for (field, max) in [("title", MAX_TITLE), ("body", MAX_BODY)] {
        if call.text(field).is_some_and(|t| t.chars().count() > max) {
            return Some(Reply::custom(
                "Issue",
                Some(field),
                &format!("{field} is too long (maximum is {max} characters)"),
            ));
        }
    }
    None
}

pub(in super::super) fn list(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let repo = &state.repos[&key];
    let wanted_state = call.query("state").unwrap_or("open");
    if !matches!(wanted_state, "open" | "closed" | "all") {
        return Reply::invalid("PullRequest", "state", "invalid");
    }
    // GitHub ignores a `head` without `owner:` (a well-known trap).
    let head = call
        .query("head")
        .map(super::percent_decode)
        .and_then(|h| h.split_once(':').map(|(o, b)| (o.to_owned(), b.to_owned())));
    let base = call.query("base").map(super::percent_decode);
    let mut numbers: Vec<(u64, chrono::DateTime<chrono::Utc>)> = repo
        .pulls
        .iter()
        .filter(|p| wanted_state == "all" || p.state() == wanted_state)
        .filter(|p| {
            head.as_ref().is_none_or(|(owner, branch)| {
                owner.eq_ignore_ascii_case(&repo.owner) && *branch == p.head
            })
        })
        .filter(|p| base.as_ref().is_none_or(|b| *b == p.base))
        .map(|p| {
            let at = match call.query("sort") {
                Some("updated") => p.updated_at,
                _ => p.created_at,
            };
            (p.number, at)
        })
        .collect();
    let sort = call.query("sort").unwrap_or("created");
    let ascending = match call.query("direction") {
        Some(d) => d == "asc",
        None => sort != "created",
    };
    numbers.sort_by_key(|&(n, at)| (at, n));
    if !ascending {
        numbers.reverse();
    }
    let page = Page::of(call);
    let items: Vec<Value> = page
        .slice(&numbers)
        .to_vec()
        .into_iter()
        .map(|(n, _)| render_pull(state, &key, n, call, false))
        .collect();
    let repo = &state.repos[&key];
    page.reply(call, repo, "pulls", numbers.len(), items)
}

pub(in super::super) fn create(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    if let Some(reply) = too_long(call) {
        return reply;
    }
    let Some(title) = call.text("title").filter(|t| !t.trim().is_empty()) else {
        return Reply::invalid("PullRequest", "title", "missing_field");
    };
    let repo = &state.repos[&key];
    let (head_arg, base) = (
        call.text("head").unwrap_or_default(),
        call.text("base").unwrap_or_default(),
    );
    // Only branches of this repository: `branch` or `owner:branch`.
    let head = match head_arg.split_once(':') {
        Some((owner, branch)) if owner.eq_ignore_ascii_case(&repo.owner) => Some(branch),
        Some(_) => None,
        None => Some(head_arg),
    };
    let head_sha = head.and_then(|h| repo.branch_sha(h));
    let base_sha = repo.branch_sha(base);
    let mut errors = Vec::new();
    if base_sha.is_none() {
        errors.push(
            serde_json::json!({"resource": "PullRequest", "field": "base", "code": "invalid"}),
        );
    }
    if head_sha.is_none() {
        errors.push(
            serde_json::json!({"resource": "PullRequest", "field": "head", "code": "invalid"}),
        );
    }
    let (Some(head), Some(head_sha), Some(base_sha)) = (head, head_sha, base_sha) else {
        return Reply::validation(errors);
    };
    if repo
        .pulls
        .iter()
        .any(|p| p.open && p.head == head && p.base == base)
    {
        return Reply::custom(
            "PullRequest",
            None,
            &format!("A pull request already exists for {}:{head}.", repo.owner),
        );
    }
    let no_commits = match repo.git() {
        Some(git) => git.is_ancestor(&head_sha, &base_sha),
        None => head_sha == base_sha,
    };
    if no_commits {
        return Reply::custom(
            "PullRequest",
            None,
            &format!("No commits between {base} and {head}"),
        );
    }
    let (head, base, title) = (head.to_owned(), base.to_owned(), title.to_owned());
    let author = state.login_of(call.caller);
    let number = state.open_pull(&key, &title, &head, &base, &author);
    let pull = state.repos.get_mut(&key).unwrap().pull_mut(number).unwrap();
    pull.body = call.text("body").map(str::to_owned);
    pull.draft = call.flag("draft").unwrap_or(false);
    pull.maintainer_can_modify = call.flag("maintainer_can_modify").unwrap_or(true);
    let body = render_pull(state, &key, number, call, true);
    let location = body["url"].as_str().unwrap_or_default().to_owned();
    Reply::created(body, location)
}

pub(in super::super) fn get(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    match pull_number(state, &key, call, "pull_number") {
        Ok(n) => {
            let body = render_pull(state, &key, n, call, true);
            let pull = state.repos.get_mut(&key).unwrap().pull_mut(n).unwrap();
            pull.mergeable_unknown_reads = pull.mergeable_unknown_reads.saturating_sub(1);
            Reply::ok(body)
        }
        Err(reply) => reply,
    }
}

pub(in super::super) fn update(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let number = match pull_number(state, &key, call, "pull_number") {
        Ok(n) => n,
        Err(reply) => return reply,
    };
    if let Some(reply) = too_long(call) {
        return reply;
    }
    let repo = &state.repos[&key];
    let pull = repo.pull(number).expect("pull request").clone();
    if let Some(base) = call.text("base") {
        if !pull.open {
            return Reply::custom(
                "PullRequest",
                Some("base"),
                "Cannot change the base branch of a closed pull request.",
            );
        }
        if repo.branch_sha(base).is_none() {
            return Reply::invalid("PullRequest", "base", "invalid");
        }
    }
    let base = call.text("base").unwrap_or(&pull.base).to_owned();
    match call.text("state") {
        Some("open") if !pull.open => {
            if pull.merged() {
                return Reply::custom(
                    "PullRequest",
                    Some("state"),
                    "state cannot be changed. The pull request has already been merged.",
                );
            }
            if repo.branch_sha(&pull.head).is_none() {
                return Reply::custom(
                    "PullRequest",
                    Some("state"),
                    &format!(
                        "state cannot be changed. The {} branch has been deleted.",
                        pull.head
                    ),
                );
            }
            if repo
                .pulls
                .iter()
                .any(|p| p.open && p.head == pull.head && p.base == base)
            {
                return Reply::custom(
                    "PullRequest",
                    None,
                    &format!(
                        "A pull request already exists for {}:{}.",
                        repo.owner, pull.head
                    ),
                );
            }
        }
        _ => {}
    }
    let new_base_sha = repo.branch_sha(&base);
    let now = state.now();
    let pull = state.repos.get_mut(&key).unwrap().pull_mut(number).unwrap();
    let before = (
        pull.title.clone(),
        pull.body.clone(),
        pull.open,
        pull.base.clone(),
    );
    if let Some(title) = call.text("title") {
        pull.title = title.to_owned();
    }
    if let Some(body) = call.body.as_ref().and_then(|b| b.get("body")) {
        pull.body = body.as_str().map(str::to_owned);
    }
    if let Some(flag) = call.flag("maintainer_can_modify") {
        pull.maintainer_can_modify = flag;
    }
    if pull.base != base {
        pull.base = base;
        if let Some(sha) = new_base_sha {
            pull.base_sha = sha;
        }
    }
    match call.text("state") {
        Some("closed") if pull.open => {
            pull.open = false;
            pull.closed_at = Some(now);
        }
        Some("open") if !pull.open => {
            pull.open = true;
            pull.closed_at = None;
        }
        _ => {}
    }
    if before
        != (
            pull.title.clone(),
            pull.body.clone(),
            pull.open,
            pull.base.clone(),
        )
    {
        pull.updated_at = now;
    }
    state.repos.get_mut(&key).unwrap().sync_pulls();
    Reply::ok(render_pull(state, &key, number, call, true))
}

pub(in super::super) fn request_reviewers(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let number = match pull_number(state, &key, call, "pull_number") {
        Ok(n) => n,
        Err(reply) => return reply,
    };
    let (reviewers, teams) = (call.names("reviewers"), call.names("team_reviewers"));
    let pull = state.repos[&key].pull(number).expect("pull request");
    if reviewers
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&pull.author))
    {
        return Reply::custom(
            "PullRequest",
            None,
            "Review cannot be requested from pull request author.",
        );
    }
    // A name no GitHub user can have (a team written as `org/team` in
    // `reviewers`, an `@`, a space) is not a collaborator.
    let impossible =
        |l: &String| l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if reviewers.iter().any(impossible) || teams.iter().any(|t| t.contains('/')) {
        return Reply::error(
            422,
            &format!(
                "Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the {key} repository."
            ),
        );
    }
    for login in &reviewers {
        state.user(login);
    }
    let pull = state.repos.get_mut(&key).unwrap().pull_mut(number).unwrap();
    for login in reviewers {
        if !pull
            .requested_reviewers
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&login))
        {
            pull.requested_reviewers.push(login);
        }
    }
    for slug in teams {
        if !pull
            .requested_teams
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&slug))
        {
            pull.requested_teams.push(slug);
        }
    }
    let body = render_pull(state, &key, number, call, false);
    Reply {
        status: 201,
        body,
        headers: Vec::new(),
    }
}

/// `PUT …/pulls/{n}/merge`: GitHub's 405s (closed or merged, draft,
/// conflicts, branch protection not met), 409 when `sha` is not the head,
/// else the base branch moves (a merge commit; one commit for `squash` and
/// `rebase`) and the pull request is merged by the caller.
pub(in super::super) fn merge(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let number = match pull_number(state, &key, call, "pull_number") {
        Ok(n) => n,
        Err(reply) => return reply,
    };
    let repo = &state.repos[&key];
    let pull = repo.pull(number).expect("pull request").clone();
    let not_mergeable = || Reply::error(405, "Pull Request is not mergeable");
    if !pull.open {
        return not_mergeable();
    }
    if let Some(sha) = call.text("sha")
        && !sha.eq_ignore_ascii_case(&pull.head_sha)
    {
        return Reply::error(
            409,
            "Head branch was modified. Review and try the merge again.",
        );
    }
    if pull.draft {
        return Reply::error(405, "Pull Request is still a draft");
    }
    if !repo.mergeable_now(&pull) {
        return not_mergeable();
    }
    if let Some(message) = repo.protection_unmet(&pull) {
        let mut reply = Reply::error(405, &message);
        reply.body["documentation_url"] = json!(PROTECTION_DOCS);
        return reply;
    }
    let method = call.text("merge_method").unwrap_or("merge");
    let (title, detail) = match method {
        "merge" => (
            format!(
                "Merge pull request #{number} from {}/{}",
                repo.owner, pull.head
            ),
            pull.title.clone(),
        ),
        _ => (format!("{} (#{number})", pull.title), String::new()),
    };
    let title = call.text("commit_title").map_or(title, str::to_owned);
    let detail = call.text("commit_message").map_or(detail, str::to_owned);
    let message = if detail.is_empty() {
        title
    } else {
        format!("{title}\n\n{detail}")
    };
    let login = state.login_of(call.caller);
    let salt = state.next_id();
    let repo = state.repos.get_mut(&key).expect("repository");
    let sha = match repo.git() {
        Some(git) => {
            match git.merge_button(
                &pull.base,
                &pull.head_sha,
                &message,
                &login,
                method != "merge",
            ) {
                Some(sha) => sha,
                None => return not_mergeable(),
            }
        }
        None => {
            let sha = repo.fake_merge_sha(number, salt);
            repo.branches.insert(pull.base.clone(), sha.clone());
            sha
        }
    };
    state.mark_merged(&key, number, Some(sha.clone()));
    state.user(&login);
    let repo = state.repos.get_mut(&key).expect("repository");
    repo.pull_mut(number).expect("pull request").merged_by = Some(login);
    repo.sync_pulls();
    Reply::ok(json!({
        "sha": sha,
        "merged": true,
        "message": "Pull Request successfully merged",
    }))
}
