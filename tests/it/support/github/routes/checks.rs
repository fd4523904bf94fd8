//! CI results on a commit: check runs (`checks/list-for-ref`: filters
//! `check_name`, `status`, `filter=latest|all`; paginated) and the combined
//! status (`repos/get-combined-status-for-ref`: latest status per context,
//! paginated). `{ref}` is a branch (`heads/` optional) or a full SHA; 422
//! "No commit found for SHA: …" otherwise. The model is `checks.rs`.

use serde_json::{Value, json};

use super::super::render;
use super::super::state::State;
use super::page::Page;
use super::{Call, Reply};

/// The commit `{ref}` names, or GitHub's 422.
fn commit(state: &State, call: &Call) -> Result<String, Reply> {
    let repo = call.repo(state)?;
    let reference = call.params.get("ref").unwrap_or_default();
    repo.resolve_ref(reference)
        .ok_or_else(|| Reply::error(422, &format!("No commit found for SHA: {reference}")))
}

/// The `Link` suffix for `/repositories/{id}/commits/{ref}/{what}`.
fn suffix(call: &Call, what: &str) -> String {
    let reference = call.params.get("ref").unwrap_or_default();
    let encoded: Vec<String> = reference.split('/').map(render::segment).collect();
    format!("commits/{}/{what}", encoded.join("/"))
}

pub(in super::super) fn list_for_ref(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let sha = match commit(state, call) {
        Ok(sha) => sha,
        Err(reply) => return reply,
    };
    let latest = match call.query("filter").unwrap_or("latest") {
        "latest" => true,
        "all" => false,
        _ => return Reply::invalid("CheckRun", "filter", "invalid"),
    };
    let wanted_status = call.query("status");
    if wanted_status.is_some_and(|s| !matches!(s, "queued" | "in_progress" | "completed")) {
        return Reply::invalid("CheckRun", "status", "invalid");
    }
    let name = call.query("check_name").map(super::percent_decode);
    let repo = &state.repos[&key];
    let runs: Vec<_> = repo
        .check_runs_on(&sha, latest)
        .into_iter()
        .filter(|r| wanted_status.is_none_or(|s| r.status == s))
        .filter(|r| name.as_ref().is_none_or(|n| *n == r.name))
        .collect();
    let page = Page::of(call);
    let items: Vec<Value> = page
        .slice(&runs)
        .iter()
        .map(|r| render::check_run(repo, r, call.urls))
        .collect();
    let body = json!({ "total_count": runs.len(), "check_runs": items });
    page.reply_with(call, repo, &suffix(call, "check-runs"), runs.len(), body)
}

pub(in super::super) fn combined_status(state: &mut State, call: &Call) -> Reply {
    let key = match call.repo_key_checked(state) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let sha = match commit(state, call) {
        Ok(sha) => sha,
        Err(reply) => return reply,
    };
    let owner_login = state.repos[&key].owner.clone();
    let owner = state.user(&owner_login);
    let repo = &state.repos[&key];
    let (combined, statuses) = repo.combined_status(&sha);
    let page = Page::of(call);
    let items: Vec<Value> = page
        .slice(&statuses)
        .iter()
        .map(|s| render::commit_status(repo, s, call.urls))
        .collect();
    let repository = render::repo(repo, &owner, call.urls, call.caller.authorized());
    let body = render::combined_status(
        repo,
        &sha,
        combined,
        items,
        statuses.len(),
        repository,
        call.urls,
    );
    page.reply_with(call, repo, &suffix(call, "status"), statuses.len(), body)
}
