//! Releases: list (paginated, newest first, drafts only for callers with a
//! token), latest (newest published non-prerelease), by tag (published only).

use serde_json::Value;

use super::super::render;
use super::super::state::{Release, Repo, State};
use super::{Call, Reply};

pub(in super::super) fn list(state: &mut State, call: &Call) -> Reply {
    let repo = match call.repo(state) {
        Ok(repo) => repo.clone(),
        Err(reply) => return reply,
    };
    let per_page = match call.query("per_page").and_then(|v| v.parse::<usize>().ok()) {
        Some(0) | None => 30,
        Some(n) => n.min(100),
    };
    let page = call
        .query("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let visible: Vec<&Release> = repo
        .releases_newest_first()
        .into_iter()
        .filter(|r| !r.draft || call.caller.authorized())
        .collect();
    let items: Vec<Value> = visible
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|r| render_release(state, &repo, r, call))
        .collect();
    let reply = Reply::ok(Value::Array(items));
    match link_header(call, &repo, page, visible.len().div_ceil(per_page)) {
        Some(link) => reply.header("link", link),
        None => reply,
    }
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

/// GitHub's `Link`: `/repositories/{id}/…` URLs keeping the request's query
/// with `page` replaced (or appended), in the order prev, next, last, first;
/// absent when everything fits on one page.
fn link_header(call: &Call, repo: &Repo, page: usize, last: usize) -> Option<String> {
    if last <= 1 && page <= 1 {
        return None;
    }
    let url = |n: usize| {
        let mut pairs: Vec<String> = Vec::new();
        let mut replaced = false;
        for (k, v) in &call.query {
            if k == "page" {
                if !replaced {
                    pairs.push(format!("page={n}"));
                    replaced = true;
                }
            } else {
                pairs.push(format!("{k}={v}"));
            }
        }
        if !replaced {
            pairs.push(format!("page={n}"));
        }
        format!(
            "<{}/repositories/{}/releases?{}>",
            call.urls.api,
            repo.id,
            pairs.join("&")
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
        links.push(format!("{}; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", url(1)));
    }
    Some(links.join(", "))
}
