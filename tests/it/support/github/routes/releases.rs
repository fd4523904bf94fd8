//! Releases: list (paginated, newest first, drafts only for callers with a
//! token), latest (newest published non-prerelease), by tag (published only).

use serde_json::Value;

use super::super::render;
use super::super::state::{Release, Repo, State};
use super::page::Page;
use super::{Call, Reply};

pub(in super::super) fn list(state: &mut State, call: &Call) -> Reply {
    let repo = match call.repo(state) {
        Ok(repo) => repo.clone(),
        Err(reply) => return reply,
    };
    let page = Page::of(call);
    let visible: Vec<&Release> = repo
        .releases_newest_first()
        .into_iter()
        .filter(|r| !r.draft || call.caller.authorized())
        .collect();
    let items: Vec<Value> = page
        .slice(&visible)
        .iter()
        .map(|r| render_release(state, &repo, r, call))
        .collect();
    page.reply(call, &repo, "releases", visible.len(), items)
}

pub(in super::super) fn latest(state: &mut State, call: &Call) -> Reply {
    let repo = match call.repo(state) {
        Ok(repo) => repo.clone(),
        Err(reply) => return reply,
    };
    let newest = repo
        .releases
        .iter()
        .filter(|r| !r.draft && !r.prerelease)
        .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    match newest {
        Some(release) => Reply::ok(render_release(state, &repo, release, call)),
        None => Reply::not_found(),
    }
}

pub(in super::super) fn by_tag(state: &mut State, call: &Call) -> Reply {
    let repo = match call.repo(state) {
        Ok(repo) => repo.clone(),
        Err(reply) => return reply,
    };
    let tag = call.params.get("tag").unwrap_or_default();
    match repo.releases.iter().find(|r| r.tag_name == tag && !r.draft) {
        Some(release) => Reply::ok(render_release(state, &repo, release, call)),
        None => Reply::not_found(),
    }
}

fn render_release(state: &mut State, repo: &Repo, release: &Release, call: &Call) -> Value {
    let author = state.user(&release.author);
    render::release(repo, release, &author, call.urls)
}
