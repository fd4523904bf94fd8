//! The double's routing table: method + path pattern -> OpenAPI operation ->
//! handler. A request no entry matches is unexpected (404, recorded).
//!
//! Handlers are plain functions over the locked [`State`]; everything
//! HTTP-ish around them (recording, auth, faults, rate limit, ETag/304,
//! schema checks, write limits) lives in `server.rs`, so a new endpoint is
//! one line in [`ROUTES`] plus a function in a module here. Every operation
//! named here must be in the OpenAPI subset (`tests/support/fetch-openapi.sh`);
//! `start` checks. List endpoints paginate with `page.rs`.

mod branches;
mod checks;
mod commits;
mod contents;
mod gitdata;
mod issues;
mod labels;
mod meta;
mod page;
mod pulls;
mod releases;
mod repos;

use axum::http::Method;
use serde_json::{Value, json};

use super::render::Urls;
use super::state::{CallerKey, Repo, State};

pub(super) type Handler = fn(&mut State, &Call) -> Reply;

pub(super) struct Route {
    pub method: Method,
    /// `{name}` matches one path segment, one `{*name}` one segment or
    /// more (at the end, or before fixed segments); both percent-decoded.
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

const fn post(pattern: &'static str, operation: &'static str, handler: Handler) -> Route {
    Route {
        method: Method::POST,
        pattern,
        operation,
        handler,
    }
}

const fn patch(pattern: &'static str, operation: &'static str, handler: Handler) -> Route {
    Route {
        method: Method::PATCH,
        pattern,
        operation,
        handler,
    }
}

const fn put(pattern: &'static str, operation: &'static str, handler: Handler) -> Route {
    Route {
        method: Method::PUT,
        pattern,
        operation,
        handler,
    }
}

const fn delete(pattern: &'static str, operation: &'static str, handler: Handler) -> Route {
    Route {
        method: Method::DELETE,
        pattern,
        operation,
        handler,
    }
}

pub(super) const ROUTES: &[Route] = &[
    get("/rate_limit", "rate-limit/get", meta::rate_limit),
    get("/user", "users/get-authenticated", meta::authenticated_user),
    get("/app", "apps/get-authenticated", meta::authenticated_app),
    // GitHub Apps (`apps.rs`): JWT routes and the installation's repositories.
    get(
        "/app/installations",
        "apps/list-installations",
        super::apps::list_installations,
    ),
    post(
        "/app/installations/{installation_id}/access_tokens",
        "apps/create-installation-access-token",
        super::apps::create_token,
    ),
    get(
        "/repos/{owner}/{repo}/installation",
        "apps/get-repo-installation",
        super::apps::repo_installation,
    ),
    get(
        "/installation/repositories",
        "apps/list-repos-accessible-to-installation",
        super::apps::installation_repos,
    ),
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
    // Files of a repository (the networks' configs of the fork schedule).
    get(
        "/repos/{owner}/{repo}/contents/{*path}",
        "repos/get-content",
        contents::get,
    ),
    // Branches (names may hold `/`, sent as is or as %2F).
    get(
        "/repos/{owner}/{repo}/branches/{*branch}",
        "repos/get-branch",
        branches::get,
    ),
    // Pull requests.
    get("/repos/{owner}/{repo}/pulls", "pulls/list", pulls::list),
    get(
        "/repositories/{repository_id}/pulls",
        "pulls/list",
        pulls::list,
    ),
    post("/repos/{owner}/{repo}/pulls", "pulls/create", pulls::create),
    get(
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        "pulls/get",
        pulls::get,
    ),
    patch(
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        "pulls/update",
        pulls::update,
    ),
    put(
        "/repos/{owner}/{repo}/pulls/{pull_number}/merge",
        "pulls/merge",
        pulls::merge,
    ),
    post(
        "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
        "pulls/request-reviewers",
        pulls::request_reviewers,
    ),
    // Issues (plain ones, and pull requests as issues): list, create,
    // update, get; labels, assignees, comments.
    get(
        "/repos/{owner}/{repo}/issues",
        "issues/list-for-repo",
        issues::list,
    ),
    get(
        "/repositories/{repository_id}/issues",
        "issues/list-for-repo",
        issues::list,
    ),
    post(
        "/repos/{owner}/{repo}/issues",
        "issues/create",
        issues::create,
    ),
    patch(
        "/repos/{owner}/{repo}/issues/{issue_number}",
        "issues/update",
        issues::update,
    ),
    get(
        "/repos/{owner}/{repo}/issues/{issue_number}",
        "issues/get",
        issues::get_any,
    ),
    get(
        "/repos/{owner}/{repo}/issues/{issue_number}/labels",
        "issues/list-labels-on-issue",
        issues::list_labels,
    ),
    get(
        "/repositories/{repository_id}/issues/{issue_number}/labels",
        "issues/list-labels-on-issue",
        issues::list_labels,
    ),
    post(
        "/repos/{owner}/{repo}/issues/{issue_number}/labels",
        "issues/add-labels",
        issues::add_labels,
    ),
    put(
        "/repos/{owner}/{repo}/issues/{issue_number}/labels",
        "issues/set-labels",
        issues::set_labels,
    ),
    delete(
        "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
        "issues/remove-label",
        issues::remove_label,
    ),
    post(
        "/repos/{owner}/{repo}/issues/{issue_number}/assignees",
        "issues/add-assignees",
        issues::add_assignees,
    ),
    get(
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        "issues/list-comments",
        issues::list_comments,
    ),
    get(
        "/repositories/{repository_id}/issues/{issue_number}/comments",
        "issues/list-comments",
        issues::list_comments,
    ),
    post(
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        "issues/create-comment",
        issues::create_comment,
    ),
    // CI results on a commit (`{ref}`: a SHA or a branch, `heads/` optional).
    get(
        "/repos/{owner}/{repo}/commits/{*ref}/check-runs",
        "checks/list-for-ref",
        checks::list_for_ref,
    ),
    get(
        "/repositories/{repository_id}/commits/{*ref}/check-runs",
        "checks/list-for-ref",
        checks::list_for_ref,
    ),
    get(
        "/repos/{owner}/{repo}/commits/{*ref}/status",
        "repos/get-combined-status-for-ref",
        checks::combined_status,
    ),
    get(
        "/repositories/{repository_id}/commits/{*ref}/status",
        "repos/get-combined-status-for-ref",
        checks::combined_status,
    ),
    // Comments on commits.
    post(
        "/repos/{owner}/{repo}/commits/{commit_sha}/comments",
        "repos/create-commit-comment",
        commits::create_comment,
    ),
    // Repository labels.
    get(
        "/repos/{owner}/{repo}/labels",
        "issues/list-labels-for-repo",
        labels::list,
    ),
    get(
        "/repositories/{repository_id}/labels",
        "issues/list-labels-for-repo",
        labels::list,
    ),
    post(
        "/repos/{owner}/{repo}/labels",
        "issues/create-label",
        labels::create,
    ),
    get(
        "/repos/{owner}/{repo}/labels/{name}",
        "issues/get-label",
        labels::get,
    ),
    // Git Data API (repositories with a git dir).
    post(
        "/repos/{owner}/{repo}/git/blobs",
        "git/create-blob",
        gitdata::create_blob,
    ),
    post(
        "/repos/{owner}/{repo}/git/trees",
        "git/create-tree",
        gitdata::create_tree,
    ),
    post(
        "/repos/{owner}/{repo}/git/commits",
        "git/create-commit",
        gitdata::create_commit,
    ),
    post(
        "/repos/{owner}/{repo}/git/refs",
        "git/create-ref",
        gitdata::create_ref,
    ),
    patch(
        "/repos/{owner}/{repo}/git/refs/{*ref}",
        "git/update-ref",
        gitdata::update_ref,
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
            let params = match_pattern(&pattern, &segments)?;
            Some((route, params))
        })
}

/// `{name}` takes one segment; one `{*name}` (anywhere: last, or followed
/// by fixed segments as in `commits/{*ref}/status`) takes one or more.
fn match_pattern(pattern: &[&'static str], segments: &[&str]) -> Option<Params> {
    let rest_at = pattern.iter().position(|p| p.starts_with("{*"));
    let (head, rest, tail) = match rest_at {
        Some(i) if segments.len() >= pattern.len() => {
            let tail_len = pattern.len() - i - 1;
            let rest_end = segments.len() - tail_len;
            (
                pattern[..i].iter().zip(&segments[..i]),
                Some((pattern[i], &segments[i..rest_end])),
                pattern[i + 1..].iter().zip(&segments[rest_end..]),
            )
        }
        Some(_) => return None,
        None if segments.len() == pattern.len() => (
            pattern.iter().zip(segments),
            None,
            pattern[..0].iter().zip(&segments[..0]),
        ),
        None => return None,
    };
    fn one(p: &'static str, s: &str, params: &mut Params) -> Option<()> {
        match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !s.is_empty() => params.0.push((name, percent_decode(s))),
            Some(_) => return None,
            None if p == s => {}
            None => return None,
        }
        Some(())
    }
    let mut params = Params(Vec::new());
    for (p, s) in head {
        one(p, s, &mut params)?;
    }
    if let Some((p, parts)) = rest {
        if parts.iter().any(|s| s.is_empty()) {
            return None;
        }
        let name = p.strip_prefix("{*")?.strip_suffix('}')?;
        params.0.push((name, percent_decode(&parts.join("/"))));
    }
    for (p, s) in tail {
        one(p, s, &mut params)?;
    }
    Some(params)
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
    pub body: Option<Value>,
    /// The GitHub App installation whose token authenticated the call.
    pub installation: Option<u64>,
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

    /// Like [`Call::repo`], for handlers that change it: its key, with open
    /// pull requests synced to their branches first.
    pub fn repo_key_checked(&self, state: &mut State) -> Result<String, Reply> {
        self.repo(state)?;
        let key = self.repo_key(state).expect("repository found");
        state.repos.get_mut(&key).expect("repository").sync_pulls();
        Ok(key)
    }

    /// A numeric path parameter (`pull_number`, `issue_number`).
    pub fn number(&self, name: &str) -> Option<u64> {
        self.params.get(name)?.parse().ok()
    }

    /// A string field of the JSON body.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.body.as_ref()?.get(field)?.as_str()
    }

    /// A boolean field of the JSON body.
    pub fn flag(&self, field: &str) -> Option<bool> {
        self.body.as_ref()?.get(field)?.as_bool()
    }

    /// A list field of the JSON body: strings, or objects' `name`s.
    pub fn names(&self, field: &str) -> Vec<String> {
        self.body
            .as_ref()
            .and_then(|b| b.get(field))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().or_else(|| v.get("name")?.as_str()))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
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

    /// 201 with a `Location` header.
    pub fn created(body: Value, location: String) -> Reply {
        Reply {
            status: 201,
            body,
            headers: vec![("location", location)],
        }
    }

    /// GitHub's 422: `{"message": "Validation Failed", "errors": [...]}`.
    pub fn validation(errors: Vec<Value>) -> Reply {
        Reply {
            status: 422,
            body: json!({ "message": "Validation Failed", "errors": errors }),
            headers: Vec::new(),
        }
    }

    /// One validation error: `{"resource", "field", "code"}`.
    pub fn invalid(resource: &str, field: &str, code: &str) -> Reply {
        Reply::validation(vec![
            json!({ "resource": resource, "field": field, "code": code }),
        ])
    }

    /// One `custom` validation error with GitHub's `message`.
    pub fn custom(resource: &str, field: Option<&str>, message: &str) -> Reply {
        let mut error = json!({ "resource": resource, "code": "custom", "message": message });
        if let Some(field) = field {
            error["field"] = json!(field);
        }
        Reply::validation(vec![error])
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
