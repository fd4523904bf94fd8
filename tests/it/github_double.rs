//! The GitHub double itself (`support::github`), driven by the real octocrab
//! client the way upkeep's forge module drives GitHub: shapes, pagination,
//! conditional requests, rate limits, faults, Enterprise paths, strictness.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use octocrab::{GitHubError, Octocrab};
use serde_json::json;

use crate::support::github::{
    Caller, GitHubDouble, NewRelease, Problem, Release, Repo, validate_response,
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
    let (status, _, body) = raw_get(&octo, &gh, "/user?per_page=1", None).await;
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
    assert!(panic_message(asserted).contains("unexpected request: GET /user?per_page=1"));
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
