//! GitHub's pagination: `per_page` (default 30, at most 100) and `page`, and
//! a `Link` header of `/repositories/{id}/…` URLs (as GitHub sends them).

use serde_json::Value;

use super::super::state::Repo;
use super::{Call, Reply};

/// The page a list request asks for.
pub(in super::super) struct Page {
    pub number: usize,
    pub per_page: usize,
}

impl Page {
    pub fn of(call: &Call) -> Page {
        let per_page = match call.query("per_page").and_then(|v| v.parse::<usize>().ok()) {
            Some(0) | None => 30,
            Some(n) => n.min(100),
        };
        let number = call
            .query("page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        Page { number, per_page }
    }

    /// This page's share of `all`.
    pub fn slice<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let start = ((self.number - 1) * self.per_page).min(all.len());
        let end = (start + self.per_page).min(all.len());
        &all[start..end]
    }

    /// A 200 with `items` (this page's, rendered) and the `Link` header for
    /// `total` items at `/repositories/{id}/{suffix}`.
    pub fn reply(
        &self,
        call: &Call,
        repo: &Repo,
        suffix: &str,
        total: usize,
        items: Vec<Value>,
    ) -> Reply {
        self.reply_with(call, repo, suffix, total, Value::Array(items))
    }

    /// Like [`Page::reply`], for lists GitHub wraps in an object (`{"total_count", "check_runs"}`).
    pub fn reply_with(
        &self,
        call: &Call,
        repo: &Repo,
        suffix: &str,
        total: usize,
        body: Value,
    ) -> Reply {
        let reply = Reply::ok(body);
        match link_header(
            call,
            repo,
            suffix,
            self.number,
            total.div_ceil(self.per_page),
        ) {
            Some(link) => reply.header("link", link),
            None => reply,
        }
    }
}

/// GitHub's `Link`: `/repositories/{id}/{suffix}` URLs keeping the request's
/// query with `page` replaced (or appended), in the order prev, next, last,
/// first; absent when everything fits on one page.
fn link_header(call: &Call, repo: &Repo, suffix: &str, page: usize, last: usize) -> Option<String> {
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
            "<{}/repositories/{}/{suffix}?{}>",
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
