//! The GitHub double itself (`support::github`), driven by the real octocrab
//! client the way upkeep's forge module drives GitHub: shapes, pagination,
//! conditional requests, rate limits, faults, Enterprise paths, strictness,
//! and the pull-request lifecycle (pulls, labels, assignees, reviewers,
//! comments, branches and the Git Data API over a real bare repository),
//! check runs, commit statuses and merging (with branch protection), and
//! upkeep's forge reading checks and merging against it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use octocrab::models::pulls::MergeableState;
use octocrab::models::{IssueState, StatusState};
use octocrab::params::repos::{Commitish, Reference};
use octocrab::params::{self, pulls::State as PullState};
use octocrab::{GitHubError, Octocrab};
use serde_json::{Value, json};

use crate::support::git_http::GitServer;
use crate::support::github::{
    Caller, Comment, DEFAULT_LOGIN, GitHubDouble, Label, NewPull, NewRelease, Problem, PullRequest,
    PullView, Release, Repo, validate_response,
};

const TOKEN: Caller<'static> = Caller::Token("ghp_test_token");

fn github_error(result: Result<impl std::fmt::Debug, octocrab::Error>) -> GitHubError {
    match result {
        Err(octocrab::Error::GitHub { source, .. }) => *source,
        other => panic!("expected an error answer from GitHub, got {other:?}"),
    }
}

/// GET `path` (relative to the API root) through octocrab without its error
/// mapping, to see status, headers and body as sent.
async fn raw_get(
    octo: &Octocrab,
    gh: &GitHubDouble,
    path: &str,
    if_none_match: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut headers = HeaderMap::new();
    if let Some(tag) = if_none_match {
        headers.insert("if-none-match", tag.parse().unwrap());
    }
    let response = octo
        ._get_with_headers(format!("{}{path}", gh.url()), Some(headers))
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (
        status,
        headers,
        octo.body_to_string(response).await.unwrap(),
    )
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

fn tags(releases: &[octocrab::models::repos::Release]) -> Vec<&str> {
    releases.iter().map(|r| r.tag_name.as_str()).collect()
}

#[tokio::test]
async fn serves_repositories_and_releases_in_githubs_shapes() {
    let gh = GitHubDouble::start();
    gh.add_repo(
        Repo::new("sigp/lighthouse")
            .default_branch("unstable")
            .clone_url("http://127.0.0.1:9/lh.git"),
    );
    gh.add_release("sigp/lighthouse", "v5.2.0");
    gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v5.3.0")
            .body("Fixes.")
            .author("dependabot[bot]"),
    );
    gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v6.0.0-rc.0").prerelease().name(None),
    );
    gh.add_release("sigp/lighthouse", NewRelease::new("v6.0.0").draft());
    let backport = NewRelease::new("v5.2.1")
        .created_at("2024-01-01T00:30:00Z")
        .published_at("2024-02-01T00:00:00Z")
        .html_url("https://example.invalid/v5.2.1");
    gh.add_release("sigp/lighthouse", backport);
    gh.add_repo(Repo::new("acme/secret").private());
    let anon = gh.client(Caller::Anonymous);
    let token = gh.client(TOKEN);

    let repo = anon.repos("SIGP", "Lighthouse").get().await.unwrap();
    assert_eq!(repo.full_name.as_deref(), Some("sigp/lighthouse"));
    assert_eq!(repo.default_branch.as_deref(), Some("unstable"));
    assert_eq!(
        repo.clone_url.unwrap().as_str(),
        "http://127.0.0.1:9/lh.git"
    );
    assert!(repo.url.as_str().starts_with(gh.url()));

    let lighthouse = anon.repos("sigp", "lighthouse");
    let releases = lighthouse.releases();
    let latest = releases.get_latest().await.unwrap();
    assert_eq!(
        latest.tag_name, "v5.3.0",
        "latest skips drafts and prereleases"
    );
    assert_eq!(latest.body.as_deref(), Some("Fixes."));
    assert_eq!(latest.author.unwrap().login, "dependabot[bot]");
    let rc = releases.get_by_tag("v6.0.0-rc.0").await.unwrap();
    assert!(rc.prerelease && rc.name.is_none());
    assert_eq!(
        github_error(releases.get_by_tag("v6.0.0").await).status_code,
        404,
        "drafts have no tag yet"
    );

    let listed = releases.list().send().await.unwrap().items;
    assert_eq!(
        tags(&listed),
        ["v6.0.0-rc.0", "v5.3.0", "v5.2.1", "v5.2.0"],
        "newest created_at first; anonymous callers see no drafts"
    );
    assert_eq!(
        listed[2].html_url.as_str(),
        "https://example.invalid/v5.2.1"
    );
    assert_eq!(
        listed[2].published_at.unwrap().to_rfc3339(),
        "2024-02-01T00:00:00+00:00"
    );
    let listed = token
        .repos("sigp", "lighthouse")
        .releases()
        .list()
        .send()
        .await
        .unwrap()
        .items;
    assert_eq!(
        tags(&listed),
        ["v6.0.0", "v6.0.0-rc.0", "v5.3.0", "v5.2.1", "v5.2.0"]
    );
    assert!(listed[0].draft && listed[0].published_at.is_none());
    let stored: Vec<Release> =
        gh.with_state(|s| s.repo("sigp/lighthouse").unwrap().releases.clone());
    assert_eq!(stored[3].id, listed[0].id.0);

    let missing = github_error(anon.repos("nobody", "nothing").get().await);
    assert_eq!(missing.status_code, 404);
    assert_eq!(missing.message, "Not Found");
    assert_eq!(
        missing.documentation_url.as_deref(),
        Some("https://docs.github.com/rest/repos/repos#get-a-repository")
    );
    assert_eq!(
        github_error(anon.repos("acme", "secret").get().await).status_code,
        404
    );
    assert!(
        token
            .repos("acme", "secret")
            .get()
            .await
            .unwrap()
            .private
            .unwrap()
    );
    gh.assert_no_unexpected();
}

#[tokio::test]
async fn paginates_past_100_releases_with_githubs_link_header() {
    let gh = GitHubDouble::start();
    gh.add_releases(
        "ethereum/go-ethereum",
        (0..250).map(|i| format!("v1.{i}.0")),
    );
    let id = gh.with_state(|s| s.repo("ethereum/go-ethereum").unwrap().id);
    let octo = gh.client(TOKEN);
    let geth = octo.repos("ethereum", "go-ethereum");
    let releases = geth.releases();

    let first = releases.list().per_page(100).send().await.unwrap();
    assert_eq!(first.items.len(), 100);
    assert_eq!(first.number_of_pages(), Some(3));
    let base = format!("{}/repositories/{id}/releases", gh.url());
    assert_eq!(
        first.next.as_ref().unwrap().to_string(),
        format!("{base}?per_page=100&page=2")
    );
    let all = octo.all_pages(first).await.unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(
        (all[0].tag_name.as_str(), all[249].tag_name.as_str()),
        ("v1.249.0", "v1.0.0")
    );

    let (status, headers, _) = raw_get(
        &octo,
        &gh,
        &format!("/repositories/{id}/releases?per_page=100&page=2"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let page = |n| format!("<{base}?per_page=100&page={n}>");
    assert_eq!(
        header(&headers, "link"),
        format!(
            "{}; rel=\"prev\", {}; rel=\"next\", {}; rel=\"last\", {}; rel=\"first\"",
            page(1),
            page(3),
            page(3),
            page(1)
        )
    );

    let default = releases.list().send().await.unwrap();
    assert_eq!(
        (default.items.len(), default.number_of_pages()),
        (30, Some(9)),
        "per_page defaults to 30"
    );
    let capped = releases.list().per_page(250u8).send().await.unwrap();
    assert_eq!(capped.items.len(), 100, "per_page is capped at 100");

    let stats = gh.stats();
    assert_eq!(stats.by_path["/repos/ethereum/go-ethereum/releases"], 3);
    assert_eq!(stats.by_path[&format!("/repositories/{id}/releases")], 3);
    assert_eq!(stats.by_operation["repos/list-releases"], 6);
}

#[tokio::test]
async fn conditional_requests_answer_304_and_cost_nothing_with_a_token() {
    let gh = GitHubDouble::start();
    gh.add_release("o/r", "v1.0.0");
    let octo = gh.client(TOKEN);

    let (status, headers, body) = raw_get(&octo, &gh, "/repos/o/r/releases", None).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"tag_name\":\"v1.0.0\""));
    let etag = header(&headers, "etag").to_owned();
    assert!(
        etag.starts_with("W/\""),
        "GitHub's list ETags are weak: {etag}"
    );
    assert_eq!(gh.rate_limit(TOKEN).remaining, 4999);

    let (status, headers, body) = raw_get(&octo, &gh, "/repos/o/r/releases", Some(&etag)).await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    assert_eq!(header(&headers, "x-ratelimit-remaining"), "4999");
    assert_eq!(header(&headers, "etag"), etag);
    assert_eq!(
        gh.rate_limit(TOKEN).remaining,
        4999,
        "a 304 with a token is free"
    );

    gh.add_release("o/r", "v1.1.0");
    let (status, headers, _) = raw_get(&octo, &gh, "/repos/o/r/releases", Some(&etag)).await;
    assert_eq!(status, 200, "a new release changes the ETag");
    assert_ne!(header(&headers, "etag"), etag);

    let stats = gh.stats();
    assert_eq!((stats.total, stats.charged, stats.not_modified), (3, 2, 1));
    assert_eq!(
        gh.requests()[1].if_none_match.as_deref(),
        Some(etag.as_str())
    );

    // GitHub: free only "while correctly authorized with an Authorization header".
    gh.clear_requests();
    let anon = gh.client(Caller::Anonymous);
    let (_, headers, _) = raw_get(&anon, &gh, "/repos/o/r/releases/latest", None).await;
    let etag = header(&headers, "etag").to_owned();
    let (status, _, _) = raw_get(&anon, &gh, "/repos/o/r/releases/latest", Some(&etag)).await;
    assert_eq!(status, 304);
    assert_eq!(
        gh.rate_limit(Caller::Anonymous).remaining,
        58,
        "anonymous 304s still cost"
    );
    assert_eq!((gh.stats().charged, gh.stats().not_modified), (2, 1));

    gh.use_strong_etags();
    let (_, headers, _) = raw_get(&octo, &gh, "/repos/o/r", None).await;
    let strong = header(&headers, "etag").to_owned();
    assert!(strong.starts_with('"'), "{strong}");
    let weak = format!("W/{strong}");
    let (status, _, _) = raw_get(
        &octo,
        &gh,
        "/repos/o/r",
        Some(&format!("\"other\", {weak}")),
    )
    .await;
    assert_eq!(
        status, 304,
        "If-None-Match compares weakly and takes a list"
    );
}

#[tokio::test]
async fn primary_rate_limit_is_60_anonymous_and_5000_per_token() {
    let gh = GitHubDouble::start();
    gh.add_release("o/r", "v1.0.0");
    let anon = gh.client(Caller::Anonymous);
    for _ in 0..60 {
        anon.repos("o", "r").get().await.unwrap();
    }
    let exhausted = github_error(anon.repos("o", "r").get().await);
    assert_eq!(exhausted.status_code, 403);
    assert!(
        exhausted
            .message
            .starts_with("API rate limit exceeded for 127.0.0.1."),
        "{}",
        exhausted.message
    );
    assert_eq!(
        header(exhausted.headers.as_ref().unwrap(), "x-ratelimit-remaining"),
        "0"
    );
    assert!(exhausted.rate_limit_reset.unwrap() > chrono::Utc::now().timestamp() as u64);

    let status = anon.ratelimit().get().await.unwrap();
    assert_eq!(
        (status.rate.limit, status.rate.remaining, status.rate.used),
        (60, 0, 60),
        "/rate_limit is free"
    );

    let token = gh.client(TOKEN);
    let (_, headers, _) = raw_get(&token, &gh, "/repos/o/r/releases", None).await;
    for (name, value) in [
        ("x-ratelimit-limit", "5000"),
        ("x-ratelimit-remaining", "4999"),
        ("x-ratelimit-used", "1"),
        ("x-ratelimit-resource", "core"),
    ] {
        assert_eq!(header(&headers, name), value, "{name}");
    }
    assert_eq!(
        gh.rate_limit(Caller::Token("another")).remaining,
        5000,
        "one bucket per token"
    );

    gh.set_rate_limit(TOKEN, 0, Duration::from_secs(30));
    let exhausted = github_error(token.repos("o", "r").get().await);
    assert_eq!(exhausted.status_code, 403);
    assert!(
        exhausted
            .message
            .starts_with("API rate limit exceeded for user ID"),
        "{}",
        exhausted.message
    );
    assert_eq!(gh.stats().charged, 61);
}

#[tokio::test]
async fn secondary_rate_limit_answers_with_retry_after() {
    let gh = GitHubDouble::start();
    gh.add_release("o/r", "v1.0.0");
    let octo = gh.client(TOKEN);

    gh.secondary_limit_next(1, 403, 7);
    let limited = github_error(octo.repos("o", "r").releases().get_latest().await);
    assert_eq!(limited.status_code, 403);
    assert!(
        limited
            .message
            .starts_with("You have exceeded a secondary rate limit"),
        "{}",
        limited.message
    );
    assert_eq!(
        header(limited.headers.as_ref().unwrap(), "retry-after"),
        "7"
    );

    gh.secondary_limit_next(1, 429, 3);
    let limited = github_error(octo.repos("o", "r").releases().get_latest().await);
    assert_eq!(limited.status_code, 429);
    assert_eq!(
        header(limited.headers.as_ref().unwrap(), "retry-after"),
        "3"
    );

    assert_eq!(
        octo.repos("o", "r")
            .releases()
            .get_latest()
            .await
            .unwrap()
            .tag_name,
        "v1.0.0"
    );
    assert_eq!(
        gh.rate_limit(TOKEN).remaining,
        4999,
        "only the answered request was charged"
    );
}

#[tokio::test]
async fn injected_server_errors_and_a_broken_repository() {
    let gh = GitHubDouble::start();
    gh.add_release("o/r", "v1.0.0");
    gh.add_release("o/broken", "v1.0.0");
    let octo = gh.client(TOKEN);

    gh.fail_next("/repos/o/r/releases", 2, 502);
    assert_eq!(
        octo.repos("o", "r")
            .releases()
            .get_latest()
            .await
            .unwrap()
            .tag_name,
        "v1.0.0",
        "other paths unaffected"
    );
    for _ in 0..2 {
        let failed = github_error(octo.repos("o", "r").releases().list().send().await);
        assert_eq!(
            (failed.status_code.as_u16(), failed.message.as_str()),
            (502, "Server Error")
        );
    }
    assert_eq!(
        octo.repos("o", "r")
            .releases()
            .list()
            .send()
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    gh.break_repo("O/Broken");
    for _ in 0..3 {
        assert_eq!(
            github_error(octo.repos("o", "broken").releases().list().send().await).status_code,
            502
        );
    }
    assert_eq!(
        github_error(octo.repos("o", "broken").get().await).status_code,
        502
    );
    assert!(octo.repos("o", "r").get().await.is_ok());
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let gh = GitHubDouble::start();
    gh.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    gh.client(TOKEN).ratelimit().get().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn enterprise_server_lives_under_api_v3() {
    let gh = GitHubDouble::start_enterprise();
    assert!(gh.url().ends_with("/api/v3"), "{}", gh.url());
    gh.add_releases("o/r", (0..150).map(|i| format!("v0.{i}.0")));
    let octo = gh.client(TOKEN);

    let repo = octo.repos("o", "r").get().await.unwrap();
    assert!(repo.url.as_str().starts_with(gh.url()));
    assert!(!repo.html_url.unwrap().as_str().contains("/api/v3"));
    let first = octo
        .repos("o", "r")
        .releases()
        .list()
        .per_page(100)
        .send()
        .await
        .unwrap();
    assert!(
        first
            .next
            .as_ref()
            .unwrap()
            .path()
            .starts_with("/api/v3/repositories/")
    );
    assert_eq!(octo.all_pages(first).await.unwrap().len(), 150);
    let (_, headers, _) = raw_get(&octo, &gh, "/rate_limit", None).await;
    assert_eq!(header(&headers, "x-github-enterprise-version"), "3.14.0");
    assert_eq!(gh.stats().by_path["/api/v3/repos/o/r/releases"], 1);

    let wrong_base = Octocrab::builder()
        .base_uri(gh.url().trim_end_matches("/api/v3"))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        github_error(wrong_base.repos("o", "r").get().await).status_code,
        404
    );
    let problems = gh.take_problems();
    assert!(
        matches!(&problems[..], [Problem::Unexpected(r)] if r.path == "/repos/o/r"),
        "{problems:?}"
    );
}

#[tokio::test]
async fn unexpected_requests_fail_the_test() {
    let gh = GitHubDouble::start();
    let octo = gh.client(TOKEN);
    let (status, _, body) = raw_get(&octo, &gh, "/user/repos?per_page=1", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
    );
    let wrong_method = octo
        ._post(format!("{}/rate_limit", gh.url()), None::<&()>)
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 404);
    assert_eq!(gh.stats().unexpected, 2);

    let asserted = catch_unwind(AssertUnwindSafe(|| gh.assert_no_unexpected())).unwrap_err();
    assert!(panic_message(asserted).contains("unexpected request: GET /user/repos?per_page=1"));
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(gh))).unwrap_err();
    assert!(panic_message(dropped).contains("unexpected request: POST /rate_limit"));
}

#[tokio::test]
async fn responses_are_checked_against_githubs_openapi_schema() {
    let gh = GitHubDouble::start();
    gh.add_release("o/r", "v1.0.0");
    let octo = gh.client(TOKEN);

    gh.corrupt_next_response(|body| body["tag_name"] = json!(42));
    let caught = github_error(octo.repos("o", "r").releases().get_latest().await);
    assert_eq!(caught.status_code, 500);
    assert!(
        caught
            .message
            .contains("does not match GitHub's OpenAPI schema"),
        "{}",
        caught.message
    );
    assert!(caught.message.contains("/tag_name"), "{}", caught.message);
    let problems = gh.take_problems();
    assert!(
        matches!(
            &problems[..],
            [Problem::InvalidResponse {
                operation: "repos/get-latest-release",
                status: 200,
                ..
            }]
        ),
        "{problems:?}"
    );

    gh.corrupt_next_response(|body| {
        body[0].as_object_mut().unwrap().remove("html_url");
    });
    assert_eq!(
        github_error(octo.repos("o", "r").releases().list().send().await).status_code,
        500
    );
    assert!(gh.take_problems()[0].to_string().contains("html_url"));

    let (_, _, body) = raw_get(&octo, &gh, "/repos/o/r/releases/latest", None).await;
    let mut release: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        validate_response("repos/get-latest-release", 200, &release),
        Ok(())
    );
    release["draft"] = json!("no");
    release["author"]["avatar_url"] = json!("not a uri");
    release.as_object_mut().unwrap().remove("url");
    let errors = validate_response("repos/get-latest-release", 200, &release).unwrap_err();
    for expected in [
        "\"url\" is a required property",
        "at /draft:",
        "at /author/avatar_url:",
    ] {
        assert!(errors.contains(expected), "{expected} in {errors}");
    }
    let bad_uri = json!({"message": "Not Found", "documentation_url": 7});
    assert!(validate_response("repos/get", 404, &bad_uri).is_err());

    gh.corrupt_next_response(|body| body["rate"]["remaining"] = json!("lots"));
    assert_eq!(github_error(octo.ratelimit().get().await).status_code, 500);
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(gh))).unwrap_err();
    assert!(panic_message(dropped).contains("rate-limit/get does not match"));
}

#[tokio::test]
async fn unknown_tokens_get_401_and_tokens_are_never_recorded() {
    let gh = GitHubDouble::start();
    gh.add_release("o/r", "v1.0.0");
    gh.accept_only_tokens(&["good-token"]);
    let bad = gh.client(Caller::Token("s3cret-bad-token"));
    let refused = github_error(bad.repos("o", "r").get().await);
    assert_eq!(
        (refused.status_code.as_u16(), refused.message.as_str()),
        (401, "Bad credentials")
    );
    gh.client(Caller::Token("good-token"))
        .repos("o", "r")
        .get()
        .await
        .unwrap();

    let recorded = gh.requests();
    assert!(
        recorded
            .iter()
            .all(|r| r.authorized && r.user_agent.as_deref() == Some("octocrab"))
    );
    let dump = format!("{recorded:?}{:?}", gh.problems());
    assert!(!dump.contains("s3cret") && !dump.contains("good-token"));
}

#[test]
fn serves_callers_without_a_runtime_like_a_subprocess() {
    let gh = GitHubDouble::start();
    gh.add_release("o/r", "v1.0.0");
    let host = gh.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&host).unwrap();
    write!(
        stream,
        "GET /repos/o/r/releases/latest HTTP/1.1\r\nHost: {host}\r\nUser-Agent: upkeep-test\r\nAccept: application/vnd.github+json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains("\"tag_name\":\"v1.0.0\""));

    let recorded = &gh.requests()[0];
    assert_eq!(recorded.operation, Some("repos/get-latest-release"));
    assert_eq!(recorded.user_agent.as_deref(), Some("upkeep-test"));
    assert_eq!(
        recorded.accept.as_deref(),
        Some("application/vnd.github+json")
    );
    assert!(!recorded.authorized && recorded.charged);
}

/// `method path` (relative to the API root) with a JSON body through octocrab
/// without its error mapping: status, headers and the parsed body.
async fn raw(
    octo: &Octocrab,
    gh: &GitHubDouble,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let url = format!("{}{path}", gh.url());
    let body = body.as_ref();
    let response = match method {
        Method::GET => octo._get(url).await,
        Method::POST => octo._post(url, body).await,
        Method::PATCH => octo._patch(url, body).await,
        Method::PUT => octo._put(url, body).await,
        Method::DELETE => octo._delete(url, body).await,
        other => panic!("raw: {other}"),
    }
    .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let text = octo.body_to_string(response).await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn validation_messages(error: &GitHubError) -> Vec<String> {
    error
        .errors
        .iter()
        .flatten()
        .map(|e| match e["message"].as_str() {
            Some(message) => message.to_owned(),
            None => format!("{} {} {}", e["resource"], e["field"], e["code"]).replace('"', ""),
        })
        .collect()
}

const WRITER: Caller<'static> = Caller::Token("ghs_app_installation_token");

/// A repository without a git dir: `main` (implicit) and two work branches.
fn plain_repo(gh: &GitHubDouble) {
    gh.add_repo(
        Repo::new("acme/deploy")
            .branch("upkeep/lighthouse-v7.0.0")
            .branch("upkeep/geth-v1.15.0"),
    );
}

#[tokio::test]
async fn pull_requests_are_created_fetched_updated_and_read_back() {
    let gh = GitHubDouble::start();
    plain_repo(&gh);
    gh.set_login(WRITER, "upkeep[bot]");
    let octo = gh.client(WRITER);
    let pulls = octo.pulls("acme", "deploy");

    let body = "| image | from | to |\n<!-- upkeep:fingerprint=abc -->";
    let created = pulls
        .create(
            "Bump lighthouse to v7.0.0",
            "upkeep/lighthouse-v7.0.0",
            "main",
        )
        .body(body)
        .maintainer_can_modify(false)
        .send()
        .await
        .unwrap();
    assert_eq!(created.number, 1);
    assert_eq!(created.head.ref_field, "upkeep/lighthouse-v7.0.0");
    assert_eq!(
        created.head.label.as_deref(),
        Some("acme:upkeep/lighthouse-v7.0.0")
    );
    assert_eq!(
        Some(created.head.sha.clone()),
        gh.branch_sha("acme/deploy", "upkeep/lighthouse-v7.0.0")
    );
    assert_eq!(
        Some(created.base.sha.clone()),
        gh.branch_sha("acme/deploy", "main")
    );
    assert_eq!(created.user.unwrap().login, "upkeep[bot]");
    assert_eq!(created.body.as_deref(), Some(body));
    assert_eq!(created.state, Some(IssueState::Open));
    assert_eq!(
        (created.merged, created.mergeable, created.draft),
        (Some(false), Some(true), Some(false))
    );
    assert_eq!(created.mergeable_state, Some(MergeableState::Clean));
    assert_eq!(created.maintainer_can_modify, Some(false));
    assert!(
        created
            .html_url
            .unwrap()
            .as_str()
            .ends_with("/acme/deploy/pull/1")
    );
    let location = gh.requests().last().unwrap().clone();
    assert_eq!(location.status, 201);
    assert_eq!(location.body.unwrap()["title"], "Bump lighthouse to v7.0.0");

    let draft = pulls
        .create("Bump geth to v1.15.0", "acme:upkeep/geth-v1.15.0", "main")
        .draft(true)
        .send()
        .await
        .unwrap();
    assert_eq!((draft.number, draft.draft), (2, Some(true)));
    assert_eq!(draft.mergeable_state, Some(MergeableState::Draft));

    let fetched = pulls.get(1).await.unwrap();
    assert_eq!(fetched.title.as_deref(), Some("Bump lighthouse to v7.0.0"));
    assert_eq!(github_error(pulls.get(99).await).status_code, 404);

    // The branch moves (a force-push): an open pull request follows it.
    let moved = gh.push_branch("acme/deploy", "upkeep/lighthouse-v7.0.0");
    assert_eq!(pulls.get(1).await.unwrap().head.sha, moved);

    let updated = pulls
        .update(1)
        .title("Bump lighthouse to v7.0.1")
        .body("new body")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.title.as_deref(), Some("Bump lighthouse to v7.0.1"));
    assert!(updated.updated_at >= fetched.updated_at);
    let closed = pulls
        .update(1)
        .state(PullState::Closed)
        .send()
        .await
        .unwrap();
    assert_eq!(closed.state, Some(IssueState::Closed));
    assert!(closed.closed_at.is_some() && closed.merged_at.is_none());
    assert_eq!(
        closed.mergeable, None,
        "not computed for closed pull requests"
    );
    // Frozen once closed.
    gh.push_branch("acme/deploy", "upkeep/lighthouse-v7.0.0");
    assert_eq!(pulls.get(1).await.unwrap().head.sha, moved);
    let reopened = pulls.update(1).state(PullState::Open).send().await.unwrap();
    assert_eq!(reopened.state, Some(IssueState::Open));
    assert_ne!(reopened.head.sha, moved, "open again: follows the branch");

    gh.with_state(|s| {
        let repo = s.repo_mut("acme/deploy").unwrap();
        repo.branches.insert("release".into(), "1".repeat(40));
    });
    let rebased = pulls.update(2).base("release").send().await.unwrap();
    assert_eq!(
        (rebased.base.ref_field.as_str(), rebased.base.sha.as_str()),
        ("release", "1111111111111111111111111111111111111111")
    );
    let bad_base = github_error(pulls.update(2).base("nope").send().await);
    assert_eq!(validation_messages(&bad_base), ["PullRequest base invalid"]);

    // The same pull request through the issues API.
    let issue = octo.issues("acme", "deploy").get(1).await.unwrap();
    assert_eq!(issue.title, "Bump lighthouse to v7.0.1");
    assert!(issue.pull_request.is_some());
    assert_eq!(
        github_error(octo.issues("acme", "deploy").get(3).await).status_code,
        404
    );

    let views = gh.pulls("acme/deploy");
    assert_eq!(
        views[0],
        PullView {
            number: 1,
            title: "Bump lighthouse to v7.0.1".into(),
            body: Some("new body".into()),
            head: "upkeep/lighthouse-v7.0.0".into(),
            base: "main".into(),
            head_sha: reopened.head.sha.clone(),
            base_sha: gh.branch_sha("acme/deploy", "main").unwrap(),
            state: "open",
            merged: false,
            draft: false,
            author: "upkeep[bot]".into(),
            labels: vec![],
            assignees: vec![],
            requested_reviewers: vec![],
            requested_teams: vec![],
            comments: vec![],
        }
    );
    assert_eq!((views[1].number, views[1].base.as_str()), (2, "release"));
    let stats = gh.stats();
    assert_eq!(stats.writes_by_operation["pulls/create"], 2);
    assert_eq!(stats.writes_by_operation["pulls/update"], 5);
}

#[tokio::test]
async fn refuses_a_second_pull_request_for_a_head_like_github() {
    let gh = GitHubDouble::start();
    plain_repo(&gh);
    let octo = gh.client(WRITER);
    let pulls = octo.pulls("acme", "deploy");
    let head = "upkeep/lighthouse-v7.0.0";
    pulls.create("first", head, "main").send().await.unwrap();

    let duplicate = github_error(pulls.create("again", head, "main").send().await);
    assert_eq!(duplicate.status_code, 422);
    assert_eq!(duplicate.message, "Validation Failed");
    assert_eq!(
        duplicate.errors.as_ref().unwrap()[0],
        json!({"resource": "PullRequest", "code": "custom",
               "message": "A pull request already exists for acme:upkeep/lighthouse-v7.0.0."})
    );
    assert_eq!(
        duplicate.documentation_url.as_deref(),
        Some("https://docs.github.com/rest/pulls/pulls#create-a-pull-request")
    );
    let duplicate = github_error(
        pulls
            .create("again", format!("ACME:{head}"), "main")
            .send()
            .await,
    );
    assert_eq!(duplicate.status_code, 422, "owner: prefix, any case");

    let missing = github_error(pulls.create("x", "upkeep/none", "main").send().await);
    assert_eq!(validation_messages(&missing), ["PullRequest head invalid"]);
    let missing = github_error(pulls.create("x", head, "nope").send().await);
    assert_eq!(validation_messages(&missing), ["PullRequest base invalid"]);
    let fork = github_error(
        pulls
            .create("x", format!("someone:{head}"), "main")
            .send()
            .await,
    );
    assert_eq!(validation_messages(&fork), ["PullRequest head invalid"]);

    let main = gh.branch_sha("acme/deploy", "main").unwrap();
    gh.with_state(|s| {
        let repo = s.repo_mut("acme/deploy").unwrap();
        repo.branches.insert("upkeep/empty".into(), main);
    });
    let empty = github_error(pulls.create("x", "upkeep/empty", "main").send().await);
    assert_eq!(
        validation_messages(&empty),
        ["No commits between main and upkeep/empty"]
    );

    let long = "x".repeat(65_537);
    let too_long = github_error(
        pulls
            .create("x", "upkeep/geth-v1.15.0", "main")
            .body(&long)
            .send()
            .await,
    );
    assert_eq!(
        validation_messages(&too_long),
        ["body is too long (maximum is 65536 characters)"]
    );
    let fits = pulls
        .create("x", "upkeep/geth-v1.15.0", "main")
        .body(&long[1..])
        .send()
        .await
        .unwrap();

    // Closed, the head is free again; the old one cannot be reopened then.
    pulls
        .update(1)
        .state(PullState::Closed)
        .send()
        .await
        .unwrap();
    let second = pulls.create("second", head, "main").send().await.unwrap();
    assert_eq!(second.number, fits.number + 1);
    let reopen = github_error(pulls.update(1).state(PullState::Open).send().await);
    assert_eq!(
        validation_messages(&reopen),
        ["A pull request already exists for acme:upkeep/lighthouse-v7.0.0."]
    );
    gh.merge_pr("acme/deploy", second.number);
    let merged = github_error(
        pulls
            .update(second.number)
            .state(PullState::Open)
            .send()
            .await,
    );
    assert_eq!(
        validation_messages(&merged),
        ["state cannot be changed. The pull request has already been merged."]
    );
    assert_eq!(
        gh.pulls("acme/deploy")
            .iter()
            .map(|p| (p.number, p.state, p.merged))
            .collect::<Vec<_>>(),
        [
            (1, "closed", false),
            (2, "open", false),
            (3, "closed", true)
        ]
    );
    assert!(gh.problems().is_empty());
}

#[tokio::test]
async fn lists_pull_requests_by_state_head_and_base_across_pages() {
    let gh = GitHubDouble::start();
    for i in 0..120 {
        let pull = NewPull::new(
            &format!("Bump x to 1.{i}.0"),
            &format!("upkeep/x-1.{i}.0"),
            "main",
        );
        gh.add_pull("acme/deploy", if i % 4 == 0 { pull.closed() } else { pull });
    }
    gh.add_pull(
        "acme/deploy",
        NewPull::new("Into release", "upkeep/y", "release"),
    );
    let id = gh.with_state(|s| s.repo("acme/deploy").unwrap().id);
    let octo = gh.client(TOKEN);
    let pulls = octo.pulls("acme", "deploy");

    let first = pulls.list().per_page(50).send().await.unwrap();
    assert_eq!(first.items.len(), 50);
    assert_eq!(first.number_of_pages(), Some(2), "91 open");
    assert_eq!(
        first.next.as_ref().unwrap().to_string(),
        format!("{}/repositories/{id}/pulls?per_page=50&page=2", gh.url())
    );
    let open = octo.all_pages(first).await.unwrap();
    let numbers: Vec<u64> = open.iter().map(|p| p.number).collect();
    assert_eq!(numbers.len(), 91);
    assert_eq!(&numbers[..3], [121, 120, 119], "newest first");
    assert!(!numbers.contains(&1) && !numbers.contains(&117));

    let all = pulls
        .list()
        .state(params::State::All)
        .per_page(100)
        .send()
        .await
        .unwrap();
    assert_eq!(octo.all_pages(all).await.unwrap().len(), 121);
    let closed = pulls
        .list()
        .state(params::State::Closed)
        .per_page(100)
        .send()
        .await
        .unwrap();
    assert_eq!(closed.items.len(), 30);
    let oldest = pulls
        .list()
        .state(params::State::All)
        .direction(params::Direction::Ascending)
        .per_page(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        oldest.items.iter().map(|p| p.number).collect::<Vec<_>>(),
        [1, 2]
    );

    let by_head = pulls
        .list()
        .state(params::State::All)
        .head("acme:upkeep/x-1.7.0")
        .send()
        .await
        .unwrap()
        .items;
    assert_eq!(by_head.len(), 1);
    assert_eq!(by_head[0].title.as_deref(), Some("Bump x to 1.7.0"));
    let closed_head = pulls
        .list()
        .head("acme:upkeep/x-1.8.0")
        .send()
        .await
        .unwrap();
    assert!(
        closed_head.items.is_empty(),
        "closed, and state defaults to open"
    );
    let ignored = pulls
        .list()
        .head("upkeep/x-1.7.0")
        .per_page(100)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ignored.items.len(),
        91,
        "GitHub ignores a head without owner:"
    );
    let other_owner = pulls
        .list()
        .head("someone:upkeep/x-1.7.0")
        .send()
        .await
        .unwrap();
    assert!(other_owner.items.is_empty());
    let by_base = pulls.list().base("release").send().await.unwrap().items;
    assert_eq!(by_base.iter().map(|p| p.number).collect::<Vec<_>>(), [121]);
    assert_eq!(gh.stats().writes, 0);
}

#[tokio::test]
async fn labels_are_created_added_replaced_and_removed() {
    let gh = GitHubDouble::start();
    plain_repo(&gh);
    gh.add_label(
        "acme/deploy",
        Label::new("upkeep")
            .color("0e8a16")
            .description("Opened by upkeep"),
    );
    let octo = gh.client(WRITER);
    let issues = octo.issues("acme", "deploy");

    let created = issues
        .create_label("priority: high", "B60205", "Ship first")
        .await
        .unwrap();
    assert_eq!(
        (
            created.name.as_str(),
            created.color.as_str(),
            created.description.as_deref()
        ),
        ("priority: high", "b60205", Some("Ship first"))
    );
    let duplicate = github_error(issues.create_label("UPKEEP", "ffffff", "").await);
    assert_eq!(
        duplicate.errors.unwrap()[0],
        json!({"resource": "Label", "field": "name", "code": "already_exists"})
    );
    let hash = github_error(issues.create_label("deadline", "#ff0000", "").await);
    assert_eq!(validation_messages(&hash), ["Label color invalid"]);
    let plain = issues
        .create_label("hard-fork", "d93f0b", "")
        .await
        .unwrap();
    assert_eq!(plain.description, None, "an empty description is none");
    assert_eq!(issues.get_label("HARD-FORK").await.unwrap().id, plain.id);
    // octocrab 0.54's `get_label` does not encode the name (a space is an
    // invalid URI there); an encoded path works.
    let (status, _, by_name) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/labels/Priority%3A%20High",
        None,
    )
    .await;
    assert_eq!(
        (status.as_u16(), &by_name["id"]),
        (200, &json!(created.id.0)),
        "names ignore case"
    );
    assert_eq!(
        github_error(issues.get_label("nope").await).status_code,
        404
    );

    for i in 0..40 {
        issues
            .create_label(format!("env-{i:02}"), "c5def5", "")
            .await
            .unwrap();
    }
    let page = issues
        .list_labels_for_repo()
        .per_page(20)
        .send()
        .await
        .unwrap();
    assert_eq!(page.number_of_pages(), Some(3));
    let all = octo.all_pages(page).await.unwrap();
    assert_eq!(all.len(), 43);
    assert_eq!(
        (all[0].name.as_str(), all[42].name.as_str()),
        ("env-00", "upkeep"),
        "by name"
    );

    let pr = octo
        .pulls("acme", "deploy")
        .create("Bump", "upkeep/lighthouse-v7.0.0", "main")
        .send()
        .await
        .unwrap()
        .number;
    let added = issues
        .add_labels(pr, &["Upkeep".into(), "security".into()])
        .await
        .unwrap();
    assert_eq!(
        added
            .iter()
            .map(|l| (l.name.as_str(), l.color.as_str()))
            .collect::<Vec<_>>(),
        [("security", "ededed"), ("upkeep", "0e8a16")],
        "existing labels match ignoring case; unknown ones are created grey"
    );
    issues
        .add_labels(pr, &["hard-fork".into(), "upkeep".into()])
        .await
        .unwrap();
    let on_pr = issues.list_labels_for_issue(pr).send().await.unwrap().items;
    assert_eq!(
        on_pr.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["hard-fork", "security", "upkeep"]
    );
    let listed = octo
        .pulls("acme", "deploy")
        .list()
        .send()
        .await
        .unwrap()
        .items;
    assert_eq!(listed[0].labels.as_ref().unwrap().len(), 3);

    let replaced = issues
        .replace_all_labels(pr, &["upkeep".into(), "priority: high".into()])
        .await
        .unwrap();
    assert_eq!(replaced.len(), 2);
    let left = issues.remove_label(pr, "priority: high").await.unwrap();
    assert_eq!(
        left.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["upkeep"]
    );
    let gone = github_error(issues.remove_label(pr, "security").await);
    assert_eq!(
        (gone.status_code.as_u16(), gone.message.as_str()),
        (404, "Label does not exist")
    );

    assert_eq!(gh.pull("acme/deploy", pr).labels, ["upkeep"]);
    let (status, _, cleared) = raw(
        &octo,
        &gh,
        Method::PUT,
        &format!("/repos/acme/deploy/issues/{pr}/labels"),
        Some(json!({"labels": []})),
    )
    .await;
    assert_eq!((status.as_u16(), cleared), (200, json!([])));
    assert!(gh.pull("acme/deploy", pr).labels.is_empty());
    let labels = gh.labels("acme/deploy");
    assert_eq!(labels.len(), 44);
    let upkeep = labels.iter().find(|l| l.name == "upkeep").unwrap();
    assert_eq!(upkeep.description.as_deref(), Some("Opened by upkeep"));
    assert_eq!(gh.stats().writes_by_operation["issues/create-label"], 44);
}

#[tokio::test]
async fn assignees_reviewers_and_comments() {
    let gh = GitHubDouble::start();
    plain_repo(&gh);
    gh.add_repo(Repo::new("acme/labelled").with_default_labels());
    assert_eq!(gh.labels("acme/labelled").len(), 9);
    let octo = gh.client(WRITER);
    let pulls = octo.pulls("acme", "deploy");
    let issues = octo.issues("acme", "deploy");
    let pr = pulls
        .create("Bump", "upkeep/lighthouse-v7.0.0", "main")
        .send()
        .await
        .unwrap()
        .number;

    let issue = issues.add_assignees(pr, &["alice", "bob"]).await.unwrap();
    assert_eq!(
        issue
            .assignees
            .iter()
            .map(|a| a.login.as_str())
            .collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    issues.add_assignees(pr, &["Alice"]).await.unwrap();

    // octocrab types the answer as a review; read GitHub's pull request raw.
    let (status, _, body) = raw(
        &octo,
        &gh,
        Method::POST,
        &format!("/repos/acme/deploy/pulls/{pr}/requested_reviewers"),
        Some(json!({"reviewers": ["carol"], "team_reviewers": ["core-devs"]})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["requested_reviewers"][0]["login"], "carol");
    assert_eq!(body["requested_teams"][0]["slug"], "core-devs");
    pulls
        .request_reviews(pr, ["dave".to_owned()], Vec::<String>::new())
        .await
        .unwrap();
    let own = github_error(
        pulls
            .request_reviews(pr, [DEFAULT_LOGIN.to_owned()], Vec::<String>::new())
            .await,
    );
    assert_eq!(
        validation_messages(&own),
        ["Review cannot be requested from pull request author."]
    );

    let comment = issues.create_comment(pr, "Superseded by #2").await.unwrap();
    assert_eq!(comment.user.login, DEFAULT_LOGIN);
    assert!(
        comment
            .html_url
            .as_str()
            .ends_with(&format!("/pull/{pr}#issuecomment-{}", comment.id))
    );
    for i in 0..3 {
        issues
            .create_comment(pr, format!("note {i}"))
            .await
            .unwrap();
    }
    let page = issues.list_comments(pr).per_page(2).send().await.unwrap();
    assert_eq!(page.number_of_pages(), Some(2));
    let comments = octo.all_pages(page).await.unwrap();
    assert_eq!(comments[0].body.as_deref(), Some("Superseded by #2"));
    assert_eq!(comments.len(), 4);

    let full = pulls.get(pr).await.unwrap();
    assert_eq!(full.comments, Some(4));
    let view = gh.pull("acme/deploy", pr);
    assert_eq!(view.assignees, ["alice", "bob"]);
    assert_eq!(view.requested_reviewers, ["carol", "dave"]);
    assert_eq!(view.requested_teams, ["core-devs"]);
    assert_eq!(
        view.comments,
        ["Superseded by #2", "note 0", "note 1", "note 2"]
    );
    assert_eq!(
        github_error(issues.create_comment(99, "x").await).status_code,
        404
    );
    let (stored, comments): (PullRequest, Vec<Comment>) = gh.with_state(|s| {
        let repo = s.repo("acme/deploy").unwrap();
        (repo.pull(pr).unwrap().clone(), repo.comments.clone())
    });
    assert_eq!((stored.author.as_str(), comments.len()), (DEFAULT_LOGIN, 4));
    assert_eq!(comments[0].author, DEFAULT_LOGIN);
}

#[tokio::test]
async fn writes_need_a_token_and_secondary_limits_hit_only_writes() {
    let gh = GitHubDouble::start();
    plain_repo(&gh);
    let anon = gh.client(Caller::Anonymous);
    let refused = github_error(
        anon.issues("acme", "deploy")
            .create_label("x", "ffffff", "")
            .await,
    );
    assert_eq!(
        (refused.status_code.as_u16(), refused.message.as_str()),
        (401, "Requires authentication")
    );

    let octo = gh.client(WRITER);
    let pulls = octo.pulls("acme", "deploy");
    gh.clear_requests();
    gh.secondary_limit_writes(2, 60);
    assert!(
        pulls.list().send().await.unwrap().items.is_empty(),
        "reads pass"
    );
    let limited = github_error(
        pulls
            .create("Bump", "upkeep/lighthouse-v7.0.0", "main")
            .send()
            .await,
    );
    assert_eq!(limited.status_code, 403);
    assert!(
        limited
            .message
            .starts_with("You have exceeded a secondary rate limit")
    );
    assert_eq!(
        header(limited.headers.as_ref().unwrap(), "retry-after"),
        "60"
    );
    let (status, headers, _) = raw(
        &octo,
        &gh,
        Method::PUT,
        "/repos/acme/deploy/issues/1/labels",
        Some(json!({"labels": ["upkeep"]})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), header(&headers, "retry-after")),
        (403, "60")
    );
    let pr = pulls
        .create("Bump", "upkeep/lighthouse-v7.0.0", "main")
        .send()
        .await
        .unwrap();
    assert_eq!(pr.number, 1, "the limited attempt created nothing");
    let stats = gh.stats();
    assert_eq!((stats.total, stats.writes), (4, 3));
    assert_eq!(stats.writes_by_operation["pulls/create"], 2);

    // GitHub's pace for content-creating requests, scaled down.
    gh.limit_writes_per_minute(3);
    let issues = octo.issues("acme", "deploy");
    for name in ["a", "b", "c"] {
        issues.create_label(name, "ffffff", "").await.unwrap();
    }
    let paced = github_error(issues.create_label("d", "ffffff", "").await);
    assert_eq!(paced.status_code, 403);
    let wait: u64 = header(paced.headers.as_ref().unwrap(), "retry-after")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    issues.get_label("a").await.unwrap();
    gh.limit_writes_per_minute(None);
    issues.create_label("d", "ffffff", "").await.unwrap();
    assert_eq!(gh.labels("acme/deploy").len(), 4);
}

#[tokio::test]
async fn branches_and_pull_requests_follow_a_real_bare_repository() {
    let git = GitServer::start("x-access-token", "tok123");
    git.create_repo(
        "deploy",
        &[
            ("values.yaml", "image: lighthouse:v6.0.0\n"),
            ("other.yaml", "a: 1\n"),
        ],
    );
    let bump = git.commit_on(
        "deploy",
        "upkeep/lighthouse-v7.0.0",
        &[("values.yaml", "image: lighthouse:v7.0.0\n")],
        "Bump lighthouse to v7.0.0",
    );
    let gh = GitHubDouble::start();
    gh.add_repo(Repo::new("acme/deploy").served_by(&git, "deploy"));
    let octo = gh.client(WRITER);
    let rev_parse = |rev: &str| {
        let out = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(git.bare_path("deploy"))
            .args(["rev-parse", rev])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let main = rev_parse("refs/heads/main");

    let (status, _, branch) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/branches/main",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(branch["commit"]["sha"], main.as_str());
    assert_eq!(branch["commit"]["commit"]["message"], "initial\n");
    let (_, _, branch) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/branches/upkeep/lighthouse-v7.0.0",
        None,
    )
    .await;
    assert_eq!(branch["commit"]["sha"], bump.as_str());
    assert_eq!(branch["commit"]["parents"][0]["sha"], main.as_str());
    let (_, _, encoded) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/branches/upkeep%2Flighthouse-v7.0.0",
        None,
    )
    .await;
    assert_eq!(encoded["name"], "upkeep/lighthouse-v7.0.0");
    let (status, _, missing) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/branches/nope",
        None,
    )
    .await;
    assert_eq!(
        (status.as_u16(), missing["message"].as_str()),
        (404, Some("Branch not found"))
    );

    let pulls = octo.pulls("acme", "deploy");
    let pr = pulls
        .create(
            "Bump lighthouse to v7.0.0",
            "upkeep/lighthouse-v7.0.0",
            "main",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        (pr.head.sha.as_str(), pr.base.sha.as_str()),
        (bump.as_str(), main.as_str())
    );
    assert_eq!(
        (pr.commits, pr.additions, pr.deletions, pr.changed_files),
        (Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(pr.mergeable, Some(true));

    // A branch with nothing beyond main cannot be proposed.
    std::process::Command::new("git")
        .arg("--git-dir")
        .arg(git.bare_path("deploy"))
        .args(["update-ref", "refs/heads/upkeep/stale", &main])
        .status()
        .unwrap();
    let stale = github_error(pulls.create("x", "upkeep/stale", "main").send().await);
    assert_eq!(
        validation_messages(&stale),
        ["No commits between main and upkeep/stale"]
    );

    // The branch moves, then main gets a conflicting edit.
    let second = git.commit_on(
        "deploy",
        "upkeep/lighthouse-v7.0.0",
        &[("values.yaml", "image: lighthouse:v7.0.1\n")],
        "Bump lighthouse to v7.0.1",
    );
    let moved = pulls.get(pr.number).await.unwrap();
    assert_eq!(
        (moved.head.sha.as_str(), moved.commits),
        (second.as_str(), Some(2))
    );
    let conflicting = git.commit_on(
        "deploy",
        "main",
        &[("values.yaml", "image: lighthouse:v6.1.0\n")],
        "Hotfix",
    );
    let dirty = pulls.get(pr.number).await.unwrap();
    assert_eq!(dirty.base.sha, conflicting);
    assert_eq!(
        (dirty.mergeable, dirty.mergeable_state),
        (Some(false), Some(MergeableState::Dirty))
    );

    // Rebased onto main and merged: main fast-forwards in the bare repository.
    let rebased = git.commit_on(
        "deploy",
        "main",
        &[("values.yaml", "image: lighthouse:v7.0.1\n")],
        "Take the bump",
    );
    let clean = pulls.get(pr.number).await.unwrap();
    assert_eq!(clean.mergeable, Some(true));
    let merge = gh.merge_pr("acme/deploy", pr.number);
    assert_eq!(rev_parse("refs/heads/main"), merge);
    assert_ne!(merge, rebased, "not a fast-forward: a merge commit");
    assert_eq!(rev_parse(&format!("{merge}^2")), second);
    let merged = pulls.get(pr.number).await.unwrap();
    assert_eq!(
        (
            merged.merged,
            merged.state,
            merged.merge_commit_sha.as_deref()
        ),
        (Some(true), Some(IssueState::Closed), Some(merge.as_str()))
    );
    assert!(merged.merged_at.is_some() && merged.merged_by.is_some());

    // A fast-forward merge.
    let ff = git.commit_on(
        "deploy",
        "upkeep/geth",
        &[("geth.yaml", "image: geth:v1.15.0\n")],
        "Bump geth",
    );
    let geth = pulls
        .create("Bump geth", "upkeep/geth", "main")
        .send()
        .await
        .unwrap();
    assert_eq!(gh.merge_pr("acme/deploy", geth.number), ff);
    assert_eq!(rev_parse("refs/heads/main"), ff);
    let view = gh.pull("acme/deploy", geth.number);
    assert_eq!(
        (view.state, view.merged, view.head_sha.as_str()),
        ("closed", true, ff.as_str())
    );
}

#[tokio::test]
async fn git_data_api_writes_a_verified_commit_into_the_bare_repository() {
    let git = GitServer::start("x-access-token", "tok123");
    git.create_repo(
        "deploy",
        &[
            ("envs/prod/values.yaml", "image: geth:v1.14.0\n"),
            ("README.md", "hi\n"),
        ],
    );
    let gh = GitHubDouble::start();
    gh.add_repo(Repo::new("acme/deploy").git_dir(git.bare_path("deploy")));
    gh.add_repo(Repo::new("acme/nogit"));
    gh.set_login(WRITER, "upkeep[bot]");
    let octo = gh.client(WRITER);
    let post = |path: &str, body: Value| {
        let (octo, gh, path) = (&octo, &gh, format!("/repos/acme/deploy/git/{path}"));
        async move { raw(octo, gh, Method::POST, &path, Some(body)).await }
    };
    let main = gh.branch_sha("acme/deploy", "main").unwrap();
    let (_, _, branch) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/branches/main",
        None,
    )
    .await;
    let base_tree = branch["commit"]["commit"]["tree"]["sha"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, headers, blob) = post(
        "blobs",
        json!({"content": "aW1hZ2U6IGdldGg6djEuMTUuMAo=", "encoding": "base64"}),
    )
    .await;
    assert_eq!(status, 201);
    let blob_sha = blob["sha"].as_str().unwrap().to_owned();
    assert!(header(&headers, "location").ends_with(&format!("/git/blobs/{blob_sha}")));
    let (status, _, tree) = post(
        "trees",
        json!({"base_tree": base_tree, "tree": [
            {"path": "envs/prod/values.yaml", "mode": "100644", "type": "blob", "sha": blob_sha},
            {"path": "envs/dev/values.yaml", "mode": "100644", "type": "blob", "content": "image: geth:v1.15.0\n"},
            {"path": "README.md", "mode": "100644", "type": "blob", "sha": null},
        ]}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        tree["tree"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["envs"],
        "top level only; README.md deleted"
    );
    let (status, _, commit) = post(
        "commits",
        json!({"message": "Bump geth to v1.15.0", "tree": tree["sha"], "parents": [main]}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(commit["verification"]["verified"], true);
    assert_eq!(commit["author"]["name"], "upkeep[bot]");
    assert_eq!(commit["parents"][0]["sha"], main.as_str());
    let commit_sha = commit["sha"].as_str().unwrap().to_owned();

    let (status, _, created) = post(
        "refs",
        json!({"ref": "refs/heads/upkeep/geth-v1.15.0", "sha": commit_sha}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(created["object"]["sha"], commit_sha.as_str());
    let (status, _, again) = post(
        "refs",
        json!({"ref": "refs/heads/upkeep/geth-v1.15.0", "sha": commit_sha}),
    )
    .await;
    assert_eq!(
        (status.as_u16(), again["message"].as_str()),
        (422, Some("Reference already exists"))
    );
    let (status, _, _) = post("refs", json!({"ref": "heads/x", "sha": commit_sha})).await;
    assert_eq!(status, 422);

    // The commit is real: the bare repository has it, with the edits.
    let show = |spec: &str| {
        let out = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(git.bare_path("deploy"))
            .args(["show", spec])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let branch_tip = "refs/heads/upkeep/geth-v1.15.0";
    assert_eq!(
        show(&format!("{branch_tip}:envs/prod/values.yaml")).1,
        "image: geth:v1.15.0\n"
    );
    assert_eq!(
        show(&format!("{branch_tip}:envs/dev/values.yaml")).1,
        "image: geth:v1.15.0\n"
    );
    assert!(!show(&format!("{branch_tip}:README.md")).0);
    let (_, _, branch) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/branches/upkeep/geth-v1.15.0",
        None,
    )
    .await;
    assert_eq!(branch["commit"]["commit"]["verification"]["verified"], true);

    // Refs move fast-forward only, unless forced.
    let (_, _, sibling) = post(
        "commits",
        json!({"message": "Other", "tree": base_tree, "parents": [main],
               "author": {"name": "A", "email": "a@example.invalid", "date": "2025-01-01T00:00:00Z"}}),
    )
    .await;
    assert_eq!(sibling["author"]["date"], "2025-01-01T00:00:00Z");
    let sibling = sibling["sha"].as_str().unwrap();
    let path = "/repos/acme/deploy/git/refs/heads/upkeep/geth-v1.15.0";
    let (status, _, refused) = raw(
        &octo,
        &gh,
        Method::PATCH,
        path,
        Some(json!({"sha": sibling})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), refused["message"].as_str()),
        (422, Some("Update is not a fast forward"))
    );
    let (status, _, forced) = raw(
        &octo,
        &gh,
        Method::PATCH,
        path,
        Some(json!({"sha": sibling, "force": true})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), forced["object"]["sha"].as_str()),
        (200, Some(sibling))
    );
    assert_eq!(
        gh.branch_sha("acme/deploy", "upkeep/geth-v1.15.0")
            .as_deref(),
        Some(sibling)
    );
    let (status, _, _) = raw(
        &octo,
        &gh,
        Method::PATCH,
        "/repos/acme/deploy/git/refs/heads/nope",
        Some(json!({"sha": sibling})),
    )
    .await;
    assert_eq!(status, 422);

    let (status, _, empty) = raw(
        &octo,
        &gh,
        Method::POST,
        "/repos/acme/nogit/git/blobs",
        Some(json!({"content": "x"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), empty["message"].as_str()),
        (409, Some("Git Repository is empty."))
    );
    assert_eq!(gh.stats().writes_by_operation["git/create-commit"], 2);
}

#[tokio::test]
async fn seeded_pull_requests_can_be_merged_or_closed_without_git() {
    let gh = GitHubDouble::start();
    gh.add_label("acme/deploy", Label::new("upkeep").color("0e8a16"));
    let old = gh.add_pull(
        "acme/deploy",
        NewPull::new("Bump x to 1.0", "upkeep/x-1.0", "main")
            .body("<!-- upkeep -->")
            .labels(&["upkeep", "skip-me"])
            .assignees(&["alice"])
            .reviewers(&["bob"])
            .author("upkeep[bot]")
            .closed(),
    );
    let merged = gh.add_pull(
        "acme/deploy",
        NewPull::new("Bump y", "upkeep/y", "main").merged(),
    );
    let open = gh.add_pull(
        "acme/deploy",
        NewPull::new("Bump z", "upkeep/z", "main").draft(),
    );
    let octo = gh.client(TOKEN);
    let pulls = octo.pulls("acme", "deploy");

    let seen = pulls.get(old).await.unwrap();
    assert_eq!(seen.state, Some(IssueState::Closed));
    assert_eq!(seen.merged, Some(false));
    assert_eq!(seen.user.unwrap().login, "upkeep[bot]");
    assert_eq!(seen.assignees.unwrap()[0].login, "alice");
    let labels: Vec<String> = seen.labels.unwrap().into_iter().map(|l| l.name).collect();
    assert_eq!(labels, ["skip-me", "upkeep"]);
    let seen = pulls.get(merged).await.unwrap();
    assert_eq!(
        (seen.merged, seen.state),
        (Some(true), Some(IssueState::Closed))
    );

    let main_before = gh.branch_sha("acme/deploy", "main").unwrap();
    let sha = gh.merge_pr("acme/deploy", open);
    assert_eq!(gh.branch_sha("acme/deploy", "main"), Some(sha.clone()));
    assert_ne!(sha, main_before);
    let view = gh.pull("acme/deploy", open);
    assert_eq!(
        (view.state, view.merged, view.draft),
        ("closed", true, true)
    );
    assert_eq!(pulls.get(open).await.unwrap().merge_commit_sha, Some(sha));

    let next = gh.add_pull("acme/deploy", NewPull::new("Bump w", "upkeep/w", "main"));
    let w = gh.branch_sha("acme/deploy", "upkeep/w").unwrap();
    gh.close_pr("acme/deploy", next);
    gh.delete_branch("acme/deploy", "upkeep/w");
    assert_eq!(gh.branch_sha("acme/deploy", "upkeep/w"), None);
    assert_eq!(
        gh.pull("acme/deploy", next).head_sha,
        w,
        "keeps its last SHA"
    );
    let reopen = github_error(pulls.update(next).state(PullState::Open).send().await);
    assert_eq!(
        validation_messages(&reopen),
        ["state cannot be changed. The upkeep/w branch has been deleted."]
    );
    let again = gh.add_pull("acme/deploy", NewPull::new("Bump v", "upkeep/v", "main"));
    gh.mark_pr_merged("acme/deploy", again);
    assert_eq!(
        gh.pulls("acme/deploy")
            .iter()
            .map(|p| (p.number, p.state, p.merged))
            .collect::<Vec<_>>(),
        [
            (1, "closed", false),
            (2, "closed", true),
            (3, "closed", true),
            (4, "closed", false),
            (5, "closed", true)
        ]
    );
    let open_now = pulls.list().send().await.unwrap();
    assert!(open_now.items.is_empty());
    assert_eq!(gh.stats().writes, 1, "the refused reopening");
}

#[tokio::test]
async fn check_runs_and_combined_status_of_a_sha_or_a_branch() {
    let gh = GitHubDouble::start();
    plain_repo(&gh);
    let branch = "upkeep/lighthouse-v7.0.0";
    let tip = gh.branch_sha("acme/deploy", branch).unwrap();
    let octo = gh.client(TOKEN);

    // Nothing reported yet: no runs; combined `pending` with no statuses.
    let none = octo
        .checks("acme", "deploy")
        .list_check_runs_for_git_ref(Commitish(tip.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!((none.total_count, none.check_runs.len()), (0, 0));
    let combined = octo
        .repos("acme", "deploy")
        .combined_status_for_ref(&Reference::Branch(branch.into()))
        .await
        .unwrap();
    assert_eq!(combined.state, StatusState::Pending);
    assert_eq!(
        (combined.total_count, combined.sha.as_str()),
        (0, tip.as_str())
    );

    let ci = gh.add_check_run("acme/deploy", branch, "ci", "in_progress", None);
    gh.add_check_run("acme/deploy", &tip, "lint", "completed", Some("failure"));
    gh.add_check_run("acme/deploy", &tip, "lint", "completed", Some("success")); // re-run
    gh.add_check_run("acme/deploy", &tip, "e2e", "queued", None);
    gh.add_check_run("acme/deploy", "main", "ci", "completed", Some("success")); // another commit
    let runs = octo
        .checks("acme", "deploy")
        .list_check_runs_for_git_ref(Commitish(branch.into()))
        .send()
        .await
        .unwrap();
    assert_eq!(runs.total_count, 3, "latest per name");
    let seen: Vec<(String, String)> = runs
        .check_runs
        .iter()
        .map(|r| (r.name.clone(), format!("{:?}", r.conclusion)))
        .collect();
    assert_eq!(
        seen,
        [
            ("ci".into(), "None".into()),
            ("lint".into(), "Some(\"success\")".into()),
            ("e2e".into(), "None".into())
        ]
    );
    assert!(runs.check_runs.iter().all(|r| r.head_sha == tip));

    // Raw: filters, `heads/`, %2F, pagination over `/repositories/{id}/…`.
    let path = |query: &str| format!("/repos/acme/deploy/commits/{tip}/check-runs?{query}");
    let (_, _, all) = raw(&octo, &gh, Method::GET, &path("filter=all"), None).await;
    assert_eq!(all["total_count"], 4);
    let (_, _, done) = raw(&octo, &gh, Method::GET, &path("status=completed"), None).await;
    assert_eq!(done["total_count"], 1);
    let (_, _, named) = raw(&octo, &gh, Method::GET, &path("check_name=e2e"), None).await;
    assert_eq!(named["check_runs"][0]["status"], "queued");
    let (status, headers, first) = raw(&octo, &gh, Method::GET, &path("per_page=2"), None).await;
    assert_eq!(
        (status.as_u16(), first["total_count"].as_u64()),
        (200, Some(3))
    );
    assert_eq!(first["check_runs"].as_array().unwrap().len(), 2);
    let link = header(&headers, "link").to_owned();
    let next = link.split(';').next().unwrap().trim_matches(['<', '>']);
    assert!(
        next.contains("/repositories/") && next.ends_with("per_page=2&page=2"),
        "{link}"
    );
    let response = octo._get(next).await.unwrap();
    let second: Value =
        serde_json::from_str(&octo.body_to_string(response).await.unwrap()).unwrap();
    assert_eq!(second["check_runs"][0]["name"], "e2e");
    for reference in [
        format!("heads/{branch}"),
        branch.replace('/', "%2F"),
        branch.to_owned(),
    ] {
        let (status, _, body) = raw(
            &octo,
            &gh,
            Method::GET,
            &format!("/repos/acme/deploy/commits/{reference}/check-runs"),
            None,
        )
        .await;
        assert_eq!(
            (status.as_u16(), body["total_count"].as_u64()),
            (200, Some(3))
        );
    }
    let (status, _, body) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/commits/no-such-branch/status",
        None,
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["message"].as_str()),
        (422, Some("No commit found for SHA: no-such-branch"))
    );

    // Finishing a run; open pull requests for the head are listed on it.
    let pr = gh.add_pull("acme/deploy", NewPull::new("Bump", branch, "main"));
    gh.set_check_run("acme/deploy", ci, "completed", Some("success"));
    let (_, _, named) = raw(&octo, &gh, Method::GET, &path("check_name=ci"), None).await;
    let run = &named["check_runs"][0];
    assert_eq!(
        (run["status"].as_str(), run["conclusion"].as_str()),
        (Some("completed"), Some("success"))
    );
    assert!(run["completed_at"].is_string());
    assert_eq!(run["pull_requests"][0]["number"], pr);

    // Statuses: the latest per context counts.
    gh.add_status("acme/deploy", branch, "deploy/preview", "pending");
    let combined = octo
        .repos("acme", "deploy")
        .combined_status_for_ref(&Reference::Branch(branch.into()))
        .await
        .unwrap();
    assert_eq!(
        (combined.state, combined.total_count),
        (StatusState::Pending, 1)
    );
    gh.add_status("acme/deploy", branch, "deploy/preview", "success");
    gh.add_status("acme/deploy", &tip, "license/cla", "success");
    let (_, _, body) = raw(
        &octo,
        &gh,
        Method::GET,
        &format!("/repos/acme/deploy/commits/{tip}/status"),
        None,
    )
    .await;
    assert_eq!(
        (body["state"].as_str(), body["total_count"].as_u64()),
        (Some("success"), Some(2))
    );
    assert_eq!(body["statuses"][0]["state"], "success");
    gh.add_status("acme/deploy", &tip, "license/cla", "error");
    let (_, _, body) = raw(
        &octo,
        &gh,
        Method::GET,
        &format!("/repos/acme/deploy/commits/{tip}/status?per_page=1"),
        None,
    )
    .await;
    assert_eq!(
        (body["state"].as_str(), body["total_count"].as_u64()),
        (Some("failure"), Some(2))
    );
    assert_eq!(body["statuses"].as_array().unwrap().len(), 1);
    assert_eq!(gh.stats().writes, 0);
}

#[tokio::test]
async fn merging_through_the_api_answers_like_github() {
    let gh = GitHubDouble::start();
    plain_repo(&gh);
    gh.set_login(WRITER, "upkeep[bot]");
    let octo = gh.client(WRITER);
    let pulls = octo.pulls("acme", "deploy");
    let branch = "upkeep/lighthouse-v7.0.0";
    let n = gh.add_pull(
        "acme/deploy",
        NewPull::new("Bump lighthouse", branch, "main").author("upkeep[bot]"),
    );
    let head = gh.pull("acme/deploy", n).head_sha;
    let merge_path = format!("/repos/acme/deploy/pulls/{n}/merge");

    assert_eq!(github_error(pulls.merge(99).send().await).status_code, 404);

    // Conflicts.
    gh.set_mergeable("acme/deploy", n, false);
    let got = pulls.get(n).await.unwrap();
    assert_eq!(
        (got.mergeable, got.mergeable_state),
        (Some(false), Some(MergeableState::Dirty))
    );
    let refused = github_error(pulls.merge(n).sha(head.clone()).send().await);
    assert_eq!(
        (refused.status_code.as_u16(), refused.message.as_str()),
        (405, "Pull Request is not mergeable")
    );
    gh.set_mergeable("acme/deploy", n, true);

    // Still computing: `null` for the next reads only.
    gh.mergeable_unknown_for("acme/deploy", n, 1);
    let got = pulls.get(n).await.unwrap();
    assert_eq!(
        (got.mergeable, got.mergeable_state),
        (None, Some(MergeableState::Unknown))
    );
    assert_eq!(pulls.get(n).await.unwrap().mergeable, Some(true));

    // Protection: required contexts, then approvals.
    gh.protect_branch("acme/deploy", "main", &["ci"], 1);
    let blocked = pulls.get(n).await.unwrap();
    assert_eq!(
        (blocked.mergeable, blocked.mergeable_state),
        (Some(true), Some(MergeableState::Blocked))
    );
    let (status, _, body) = raw(
        &octo,
        &gh,
        Method::PUT,
        &merge_path,
        Some(json!({"sha": head})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["message"].as_str()),
        (405, Some("Required status check \"ci\" is expected."))
    );
    assert_eq!(
        body["documentation_url"],
        "https://docs.github.com/articles/about-protected-branches"
    );
    let ci = gh.add_check_run("acme/deploy", &head, "ci", "in_progress", None);
    let (_, _, body) = raw(
        &octo,
        &gh,
        Method::PUT,
        &merge_path,
        Some(json!({"sha": head})),
    )
    .await;
    assert_eq!(
        body["message"],
        "Required status check \"ci\" is in progress."
    );
    gh.set_check_run("acme/deploy", ci, "completed", Some("failure"));
    let (_, _, body) = raw(
        &octo,
        &gh,
        Method::PUT,
        &merge_path,
        Some(json!({"sha": head})),
    )
    .await;
    assert_eq!(body["message"], "Required status check \"ci\" is failing.");
    gh.add_status("acme/deploy", &head, "ci", "success"); // a status of that context passes too
    let (status, _, body) = raw(
        &octo,
        &gh,
        Method::PUT,
        &merge_path,
        Some(json!({"sha": head})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["message"].as_str()),
        (
            405,
            Some("At least 1 approving review is required by reviewers with write access.")
        )
    );
    gh.approve("acme/deploy", n, "alice");
    // A failing check that is not required: unstable, still mergeable.
    gh.add_status("acme/deploy", &head, "coverage", "failure");
    assert_eq!(
        pulls.get(n).await.unwrap().mergeable_state,
        Some(MergeableState::Unstable)
    );

    // The head moved since it was checked.
    let moved = github_error(pulls.merge(n).sha("0".repeat(40)).send().await);
    assert_eq!(
        (moved.status_code.as_u16(), moved.message.as_str()),
        (
            409,
            "Head branch was modified. Review and try the merge again."
        )
    );

    // Merged: the base branch moves; the pull request is merged by the caller.
    let main_before = gh.branch_sha("acme/deploy", "main").unwrap();
    let merged = pulls
        .merge(n)
        .sha(head.clone())
        .method(params::pulls::MergeMethod::Squash)
        .send()
        .await
        .unwrap();
    assert!(merged.merged);
    assert_eq!(
        merged.message.as_deref(),
        Some("Pull Request successfully merged")
    );
    let sha = merged.sha.unwrap();
    assert_eq!(gh.branch_sha("acme/deploy", "main"), Some(sha.clone()));
    assert_ne!(sha, main_before);
    let after = pulls.get(n).await.unwrap();
    assert_eq!(
        (after.state, after.merged),
        (Some(IssueState::Closed), Some(true))
    );
    assert!(after.merged_at.is_some());
    assert_eq!(after.merge_commit_sha, Some(sha));
    assert_eq!(after.merged_by.unwrap().login, "upkeep[bot]");
    let again = github_error(pulls.merge(n).send().await);
    assert_eq!(
        (again.status_code.as_u16(), again.message.as_str()),
        (405, "Pull Request is not mergeable")
    );

    // Closed, draft.
    let closed = gh.add_pull(
        "acme/deploy",
        NewPull::new("Bump geth", "upkeep/geth-v1.15.0", "main").closed(),
    );
    assert_eq!(
        github_error(pulls.merge(closed).send().await).message,
        "Pull Request is not mergeable"
    );
    let draft = gh.add_pull(
        "acme/deploy",
        NewPull::new("Bump geth", "upkeep/geth-v1.15.0", "main").draft(),
    );
    assert_eq!(
        github_error(pulls.merge(draft).send().await).message,
        "Pull Request is still a draft"
    );

    // Every merge attempt was a recorded write, with its body.
    let merges = gh.requests_for("pulls/merge");
    assert_eq!(merges.len(), 11);
    assert!(merges.iter().all(|r| r.is_write()));
    let statuses: Vec<u16> = merges.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [404, 405, 405, 405, 405, 405, 409, 200, 405, 405, 405]
    );
    assert_eq!(merges[7].body.as_ref().unwrap()["merge_method"], "squash");
    assert_eq!(gh.stats().writes_by_operation["pulls/merge"], 11);
    assert_eq!(gh.pull("acme/deploy", n).state, "closed");
}

#[tokio::test]
async fn merges_are_writes_limited_like_any_other() {
    let gh = GitHubDouble::start();
    plain_repo(&gh);
    let octo = gh.client(WRITER);
    let n = gh.add_pull(
        "acme/deploy",
        NewPull::new("Bump", "upkeep/geth-v1.15.0", "main"),
    );
    let anon = gh.client(Caller::Anonymous);
    assert_eq!(
        github_error(anon.pulls("acme", "deploy").merge(n).send().await).status_code,
        401
    );
    gh.secondary_limit_writes(1, 30);
    let limited = github_error(octo.pulls("acme", "deploy").merge(n).send().await);
    assert_eq!(limited.status_code, 403);
    assert!(
        !gh.pull("acme/deploy", n).merged,
        "the limited attempt merged nothing"
    );
    gh.fail_next_method(
        "PUT",
        &format!("/repos/acme/deploy/pulls/{n}/merge"),
        1,
        502,
    );
    assert_eq!(
        github_error(octo.pulls("acme", "deploy").merge(n).send().await).status_code,
        502
    );
    assert!(
        octo.pulls("acme", "deploy")
            .merge(n)
            .send()
            .await
            .unwrap()
            .merged
    );
}

#[tokio::test]
async fn merging_into_a_real_bare_repository_makes_a_merge_commit() {
    let git = GitServer::start("x-access-token", "tok123");
    git.create_repo("deploy", &[("values.yaml", "image: lighthouse:v6.0.0\n")]);
    let gh = GitHubDouble::start();
    gh.add_repo(Repo::new("acme/deploy").served_by(&git, "deploy"));
    let head = git.commit_on(
        "deploy",
        "upkeep/lighthouse-v7.0.0",
        &[("values.yaml", "image: lighthouse:v7.0.0\n")],
        "Bump lighthouse",
    );
    let n = gh.add_pull(
        "acme/deploy",
        NewPull::new("Bump lighthouse", "upkeep/lighthouse-v7.0.0", "main"),
    );
    let base = gh.branch_sha("acme/deploy", "main").unwrap();
    gh.add_check_run(
        "acme/deploy",
        "upkeep/lighthouse-v7.0.0",
        "ci",
        "completed",
        Some("success"),
    );
    let octo = gh.client(WRITER);
    let (_, _, runs) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/commits/upkeep/lighthouse-v7.0.0/check-runs",
        None,
    )
    .await;
    assert_eq!(runs["check_runs"][0]["head_sha"], head.as_str());
    let (_, _, bad) = raw(
        &octo,
        &gh,
        Method::GET,
        &format!("/repos/acme/deploy/commits/{}/status", "ab".repeat(20)),
        None,
    )
    .await;
    assert_eq!(
        bad["message"],
        format!("No commit found for SHA: {}", "ab".repeat(20))
    );

    let merged = octo
        .pulls("acme", "deploy")
        .merge(n)
        .sha(head.clone())
        .send()
        .await
        .unwrap();
    let sha = merged.sha.unwrap();
    assert_eq!(gh.branch_sha("acme/deploy", "main"), Some(sha.clone()));
    assert_ne!(sha, head, "a merge commit, not a fast forward");
    let (_, _, commit) = raw(
        &octo,
        &gh,
        Method::GET,
        "/repos/acme/deploy/branches/main",
        None,
    )
    .await;
    let parents: Vec<&str> = commit["commit"]["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sha"].as_str().unwrap())
        .collect();
    assert_eq!(parents, [base.as_str(), head.as_str()]);
    assert!(
        commit["commit"]["commit"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "Merge pull request #{n} from acme/upkeep/lighthouse-v7.0.0"
            ))
    );
}

/// upkeep's forge against the double: what automerge reads and does.
mod forge_automerge {
    use super::*;
    use upkeep::domain::repo::RepoName;
    use upkeep::io::forge::checks::{ChecksState, HeadChecks, MergeMethod, MergeOutcome};
    use upkeep::io::forge::{Forge, ForgeError, RetryPolicy};

    fn forge(gh: &GitHubDouble) -> Forge {
        let retry = RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(1),
            max_wait: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        Forge::new(gh.url(), Some("ghs_app_installation_token"), retry).unwrap()
    }

    #[tokio::test]
    async fn head_checks_fold_every_page_of_runs_and_statuses() {
        let gh = GitHubDouble::start();
        plain_repo(&gh);
        let forge = forge(&gh);
        let repo = RepoName::new("acme", "deploy");
        let sha = gh
            .branch_sha("acme/deploy", "upkeep/lighthouse-v7.0.0")
            .unwrap();

        let none = forge.head_checks(&repo, &sha).await.unwrap();
        assert_eq!(
            none,
            HeadChecks {
                state: ChecksState::Success,
                failing: vec![],
                pending: vec![]
            },
            "no runs and no statuses (combined `pending`, total_count 0) do not block"
        );

        let ci = gh.add_check_run("acme/deploy", &sha, "ci", "in_progress", None);
        gh.add_status("acme/deploy", &sha, "deploy/preview", "pending");
        let waiting = forge.head_checks(&repo, &sha).await.unwrap();
        assert_eq!(waiting.state, ChecksState::Pending);
        assert_eq!(waiting.pending, ["ci", "deploy/preview"]);

        gh.set_check_run("acme/deploy", ci, "completed", Some("success"));
        gh.add_status("acme/deploy", &sha, "deploy/preview", "success");
        for i in 0..120 {
            let conclusion = if i % 2 == 0 { "neutral" } else { "skipped" };
            gh.add_check_run(
                "acme/deploy",
                &sha,
                &format!("matrix-{i}"),
                "completed",
                Some(conclusion),
            );
        }
        let green = forge.head_checks(&repo, &sha).await.unwrap();
        assert_eq!(green.state, ChecksState::Success);

        // The failure is on the second page of check runs.
        gh.add_check_run("acme/deploy", &sha, "lint", "completed", Some("timed_out"));
        gh.add_status("acme/deploy", &sha, "license/cla", "error");
        gh.clear_requests();
        let red = forge.head_checks(&repo, &sha).await.unwrap();
        assert_eq!(red.state, ChecksState::Failure);
        assert_eq!(red.failing, ["lint", "license/cla"]);
        assert!(red.pending.is_empty());
        let stats = gh.stats();
        assert_eq!(stats.by_operation["checks/list-for-ref"], 2, "two pages");
        assert_eq!(stats.by_operation["repos/get-combined-status-for-ref"], 1);
        assert_eq!(stats.writes, 0);
    }

    #[tokio::test]
    async fn mergeability_is_none_while_github_computes_it() {
        let gh = GitHubDouble::start();
        plain_repo(&gh);
        let forge = forge(&gh);
        let repo = RepoName::new("acme", "deploy");
        let n = gh.add_pull(
            "acme/deploy",
            NewPull::new("Bump", "upkeep/geth-v1.15.0", "main"),
        );
        gh.mergeable_unknown_for("acme/deploy", n, 1);
        assert_eq!(forge.mergeability(&repo, n).await.unwrap(), None);
        assert_eq!(forge.mergeability(&repo, n).await.unwrap(), Some(true));
        gh.set_mergeable("acme/deploy", n, false);
        assert_eq!(forge.mergeability(&repo, n).await.unwrap(), Some(false));
        assert!(matches!(
            forge.mergeability(&repo, 99).await,
            Err(ForgeError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn merge_pull_maps_githubs_answers() {
        let gh = GitHubDouble::start();
        plain_repo(&gh);
        let forge = forge(&gh);
        let repo = RepoName::new("acme", "deploy");
        let branch = "upkeep/lighthouse-v7.0.0";
        let n = gh.add_pull("acme/deploy", NewPull::new("Bump", branch, "main"));
        let head = gh.pull("acme/deploy", n).head_sha;

        gh.protect_branch("acme/deploy", "main", &["ci"], 0);
        assert_eq!(
            forge
                .merge_pull(&repo, n, &head, MergeMethod::Squash)
                .await
                .unwrap(),
            MergeOutcome::Refused {
                reason: "Required status check \"ci\" is expected.".into()
            }
        );
        gh.add_check_run("acme/deploy", &head, "ci", "completed", Some("success"));
        gh.set_mergeable("acme/deploy", n, false);
        assert_eq!(
            forge
                .merge_pull(&repo, n, &head, MergeMethod::Squash)
                .await
                .unwrap(),
            MergeOutcome::Refused {
                reason: "Pull Request is not mergeable".into()
            }
        );
        gh.set_mergeable("acme/deploy", n, true);

        // Pushed to after the checks were read: never merged.
        let moved = gh.push_branch("acme/deploy", branch);
        assert_eq!(
            forge
                .merge_pull(&repo, n, &head, MergeMethod::Squash)
                .await
                .unwrap(),
            MergeOutcome::HeadMoved
        );
        assert!(!gh.pull("acme/deploy", n).merged);

        gh.add_check_run("acme/deploy", &moved, "ci", "completed", Some("success"));
        let outcome = forge
            .merge_pull(&repo, n, &moved, MergeMethod::Rebase)
            .await
            .unwrap();
        let sha = gh.branch_sha("acme/deploy", "main").unwrap();
        assert_eq!(outcome, MergeOutcome::Merged { sha });
        assert!(gh.pull("acme/deploy", n).merged);

        assert!(matches!(
            forge
                .merge_pull(&repo, 99, &moved, MergeMethod::Merge)
                .await,
            Err(ForgeError::NotFound(_))
        ));
        let merges = gh.requests_for("pulls/merge");
        assert_eq!(
            merges.iter().map(|r| r.status).collect::<Vec<_>>(),
            [405, 405, 409, 200, 404]
        );
        assert_eq!(
            merges[3].body.clone().unwrap(),
            json!({ "sha": moved, "merge_method": "rebase" })
        );
        assert_eq!(
            forge
                .stats
                .writes
                .load(std::sync::atomic::Ordering::Relaxed),
            5
        );
    }
}
