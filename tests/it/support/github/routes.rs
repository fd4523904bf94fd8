//! The double's routing table: method + path pattern -> OpenAPI operation ->
//! handler. A request no entry matches is unexpected (404, recorded).
//!
//! Handlers are plain functions over the locked [`State`]; everything
//! HTTP-ish around them (recording, auth, faults, rate limit, ETag/304,
//! schema checks) lives in `server.rs`, so a new endpoint is one line in
//! [`ROUTES`] plus a function in a module here (`routes/pulls.rs`,
//! `routes/labels.rs`… as they come). Every operation named here must be in
//! the OpenAPI subset (`tests/support/fetch-openapi.sh`); `start` checks.

mod meta;
mod releases;
mod repos;

use axum::http::Method;
use serde_json::{Value, json};

use super::render::Urls;
use super::state::{CallerKey, Repo, State};

pub(super) type Handler = fn(&mut State, &Call) -> Reply;

pub(super) struct Route {
    pub method: Method,
    /// `{name}` matches one path segment (percent-decoded).
    pub pattern: &'static str,
    /// OpenAPI `operationId`: picks the schema the answer is checked against.
    pub operation: &'static str,
    pub handler: Handler,
}

const fn get(pattern: &'static str, operation: &'static str, handler: Handler) -> Route {
    Route {
        method: Method::GET,
        pattern,
        operation,
        handler,
    }
}

pub(super) const ROUTES: &[Route] = &[
    get("/rate_limit", "rate-limit/get", meta::rate_limit),
    get("/repos/{owner}/{repo}", "repos/get", repos::get),
    get("/repositories/{repository_id}", "repos/get", repos::get),
    get(
        "/repos/{owner}/{repo}/releases",
        "repos/list-releases",
        releases::list,
    ),
    // GitHub's `Link` headers point here.
    get(
        "/repositories/{repository_id}/releases",
        "repos/list-releases",
        releases::list,
    ),
    get(
        "/repos/{owner}/{repo}/releases/latest",
        "repos/get-latest-release",
        releases::latest,
    ),
    get(
        "/repos/{owner}/{repo}/releases/tags/{tag}",
        "repos/get-release-by-tag",
        releases::by_tag,
    ),
];

/// The route for `method path` (path relative to the API root) and its
/// captured parameters.
pub(super) fn find(method: &Method, path: &str) -> Option<(&'static Route, Params)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    ROUTES
        .iter()
        .filter(|r| r.method == *method)
        .find_map(|route| {
            let pattern: Vec<&str> = route.pattern.trim_start_matches('/').split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut params = Params(Vec::new());
            for (p, s) in pattern.iter().zip(&segments) {
                match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if !s.is_empty() => params.0.push((name, percent_decode(s))),
                    Some(_) => return None,
                    None if p == s => {}
                    None => return None,
                }
            }
            Some((route, params))
        })
}

/// Path parameters captured by a route pattern.
#[derive(Debug)]
pub(super) struct Params(Vec<(&'static str, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One routed request, as a handler sees it.
pub(super) struct Call<'a> {
    pub params: Params,
    /// Raw (still encoded) `key=value` pairs, in the order sent.
    pub query: Vec<(String, String)>,
    pub caller: CallerKey,
    pub urls: &'a Urls,
    /// The JSON request body, already checked against the operation's schema.
    #[allow(dead_code)] // no write endpoint yet; pulls and labels will read it
    pub body: Option<Value>,
}

impl Call<'_> {
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The lowercased `owner/name` key of the repository this call is about,
    /// whichever form its path takes.
    pub fn repo_key(&self, state: &State) -> Option<String> {
        if let (Some(owner), Some(name)) = (self.params.get("owner"), self.params.get("repo")) {
            return Some(format!("{owner}/{name}").to_ascii_lowercase());
        }
        let id: u64 = self.params.get("repository_id")?.parse().ok()?;
        state
            .repo_by_id(id)
            .map(|r| r.full_name().to_ascii_lowercase())
    }

    /// The repository this call is about, or GitHub's 404 (also for private
    /// repositories asked for without a token).
    pub fn repo<'s>(&self, state: &'s State) -> Result<&'s Repo, Reply> {
        self.repo_key(state)
            .and_then(|key| state.repos.get(&key))
            .filter(|repo| !repo.private || self.caller.authorized())
            .ok_or_else(Reply::not_found)
    }
}

/// A handler's answer. Error bodies get GitHub's `documentation_url` and
/// `status` fields filled in by the pipeline.
#[derive(Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    pub fn error(status: u16, message: &str) -> Reply {
        Reply {
            status,
            body: json!({ "message": message }),
            headers: Vec::new(),
        }
    }

    pub fn not_found() -> Reply {
        Reply::error(404, "Not Found")
    }

    pub fn header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
