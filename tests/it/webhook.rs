//! `POST /webhook` of `upkeep serve`, called through the router with real
//! payloads (`tests/fixtures/webhooks/`, from `@octokit/webhooks-examples`)
//! signed as GitHub signs them: what is accepted, refused or ignored, and
//! which job lands on the worker's queue.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower::ServiceExt as _;
use upkeep::app::serve::{self, AppState, Job, Metrics, Secrets, webhook};
use upkeep::domain::repo::RepoName;
use upkeep::io::store::Store;

use crate::support::fixture;

const SECRET: &str = "current-secret";
const OLD_SECRET: &str = "previous-secret";

/// A body as upkeep's pull requests have: text, then the fingerprint.
fn upkeep_body() -> String {
    let fp = upkeep::domain::render::Fingerprint {
        v: 1,
        repo: "Codertocat/Hello-World".into(),
        upstream: "sigp/lighthouse".into(),
        version: "v7.0.0".into(),
        group: "upstream".into(),
        key: "0123456789abcdef".into(),
        environments: Vec::new(),
        rollback: None,
        rollout: None,
    };
    format!("Bumps lighthouse.\n\n{}", fp.to_comment())
}

struct Harness {
    router: axum::Router,
    jobs: mpsc::Receiver<Job>,
    metrics: Arc<Metrics>,
}

fn harness(max_body: usize) -> Harness {
    let (tx, jobs) = mpsc::channel(16);
    let metrics = Arc::new(Metrics::new());
    let store = Arc::new(Store::in_memory().unwrap());
    let state = AppState::new(
        Secrets::parse(&format!("{SECRET},{OLD_SECRET}")),
        store,
        tx,
        metrics.clone(),
    );
    Harness {
        router: serve::router(state, max_body),
        jobs,
        metrics,
    }
}

fn payload(name: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("webhooks/{name}.json"))).unwrap(),
    )
    .unwrap()
}

impl Harness {
    async fn send(
        &self,
        event: &str,
        delivery: &str,
        body: &[u8],
        signature: Option<String>,
    ) -> (StatusCode, String) {
        let mut req = Request::post("/webhook")
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("user-agent", "GitHub-Hookshot/abc123");
        if let Some(sig) = signature {
            req = req.header("x-hub-signature-256", sig);
        }
        let res = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_vec())).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let text = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&text).into_owned())
    }

    /// Signed with the current secret.
    async fn signed(&self, event: &str, delivery: &str, payload: &Value) -> StatusCode {
        let body = serde_json::to_vec(payload).unwrap();
        self.send(event, delivery, &body, Some(webhook::sign(SECRET, &body)))
            .await
            .0
    }

    fn queued(&mut self) -> Vec<Job> {
        std::iter::from_fn(|| self.jobs.try_recv().ok()).collect()
    }
}

#[tokio::test]
async fn signed_installation_is_queued_and_bad_signatures_are_refused() {
    let mut h = harness(serve::DEFAULT_MAX_BODY);
    let p = payload("installation.created");
    let body = serde_json::to_vec(&p).unwrap();

    // Missing, wrong and stale (retired secret) signatures: 401, nothing queued.
    for (delivery, sig) in [
        ("d-1", None),
        ("d-2", Some(webhook::sign("wrong", &body))),
        ("d-3", Some(webhook::sign("retired-secret", &body))),
        ("d-4", Some("sha256=zz".to_string())),
        ("d-5", Some(webhook::sign(SECRET, b"another body"))),
    ] {
        let (status, text) = h.send("installation", delivery, &body, sig).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{delivery}: {text}");
        assert!(!text.contains(SECRET));
    }
    assert!(h.queued().is_empty());

    // The current secret and the previous one (rotation) are both accepted.
    let (status, _) = h
        .send(
            "installation",
            "d-6",
            &body,
            Some(webhook::sign(SECRET, &body)),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = h
        .send(
            "installation",
            "d-7",
            &body,
            Some(webhook::sign(OLD_SECRET, &body)),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Both accepted; the second is absorbed by the pass the first queued.
    let jobs = h.queued();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0],
        Job::Repos {
            repos: vec![RepoName::new("Codertocat", "Hello-World")],
            reason: "installation".into()
        }
    );
    let metrics = h.metrics.encode();
    assert!(
        metrics.contains("upkeep_webhooks_total{event=\"unverified\",outcome=\"rejected\"} 5"),
        "{metrics}"
    );
}

#[tokio::test]
async fn replayed_deliveries_are_ignored() {
    let mut h = harness(serve::DEFAULT_MAX_BODY);
    let p = payload("installation_repositories.added");
    assert_eq!(
        h.signed("installation_repositories", "same-id", &p).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        h.signed("installation_repositories", "same-id", &p).await,
        StatusCode::OK
    );
    // A redelivery under a fresh id is accepted (GitHub's semantics) and
    // absorbed by the pass already queued for the same repositories.
    assert_eq!(
        h.signed("installation_repositories", "other-id", &p).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(h.queued().len(), 1);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let mut h = harness(16 * 1024);
    let mut p = payload("push");
    p["padding"] = json!("x".repeat(20 * 1024));
    let body = serde_json::to_vec(&p).unwrap();
    let (status, _) = h
        .send("push", "big", &body, Some(webhook::sign(SECRET, &body)))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(h.queued().is_empty());
}

#[tokio::test]
async fn unknown_and_uninteresting_events_do_no_work() {
    let mut h = harness(serve::DEFAULT_MAX_BODY);
    assert_eq!(
        h.signed("star", "s-1", &payload("star.created")).await,
        StatusCode::NO_CONTENT
    );
    // A push to the default branch touching no manifest or configuration.
    assert_eq!(
        h.signed("push", "p-1", &payload("push")).await,
        StatusCode::NO_CONTENT
    );
    // A pull request that is not upkeep's.
    assert_eq!(
        h.signed("pull_request", "pr-1", &payload("pull_request.closed"))
            .await,
        StatusCode::NO_CONTENT
    );
    // A comment that is no command.
    assert_eq!(
        h.signed("issue_comment", "c-1", &payload("issue_comment.created"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert!(h.queued().is_empty());
}

#[tokio::test]
async fn push_touching_manifests_replans_the_repository() {
    let mut h = harness(serve::DEFAULT_MAX_BODY);
    let mut p = payload("push");
    p["commits"][0]["modified"] = json!(["envs/mainnet/values.yaml"]);
    assert_eq!(h.signed("push", "p-2", &p).await, StatusCode::ACCEPTED);
    let mut config = payload("push");
    config["commits"][0]["added"] = json!([".github/upkeep.yml"]);
    assert_eq!(h.signed("push", "p-3", &config).await, StatusCode::ACCEPTED);
    // The same change on another branch is not upkeep's business.
    p["ref"] = json!("refs/heads/feature");
    assert_eq!(h.signed("push", "p-4", &p).await, StatusCode::NO_CONTENT);
    // The second push is absorbed by the pass the first one queued.
    let jobs = h.queued();
    assert_eq!(jobs.len(), 1);
    assert!(
        matches!(&jobs[0], Job::Repos { repos, reason } if repos[0] == RepoName::new("Codertocat", "Hello-World") && reason == "push")
    );
}

/// The comment payload on one of upkeep's pull requests.
fn command(body: &str, association: &str) -> Value {
    let mut p = payload("issue_comment.created");
    p["comment"]["body"] = json!(body);
    p["comment"]["author_association"] = json!(association);
    p["issue"]["body"] = json!(upkeep_body());
    let url = p["issue"]["url"]
        .as_str()
        .unwrap()
        .replace("/issues/", "/pulls/");
    p["issue"]["pull_request"] =
        json!({"url": url, "html_url": "", "diff_url": "", "patch_url": ""});
    p
}

#[tokio::test]
async fn commands_from_writers_on_upkeep_pull_requests() {
    let mut h = harness(serve::DEFAULT_MAX_BODY);
    assert_eq!(
        h.signed("issue_comment", "c-2", &command("@upkeep recheck", "OWNER"))
            .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        h.signed("issue_comment", "c-3", &command("@upkeep ignore", "MEMBER"))
            .await,
        StatusCode::ACCEPTED
    );
    // No write access: ignored.
    assert_eq!(
        h.signed(
            "issue_comment",
            "c-4",
            &command("@upkeep ignore", "CONTRIBUTOR")
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.signed("issue_comment", "c-5", &command("@upkeep ignore", "NONE"))
            .await,
        StatusCode::NO_CONTENT
    );
    let jobs = h.queued();
    assert_eq!(jobs.len(), 2);
    assert!(matches!(&jobs[0], Job::Repos { reason, .. } if reason == "recheck"));
    assert!(matches!(&jobs[1], Job::Ignore { number: 1, user, .. } if user == "Codertocat"));
}

#[tokio::test]
async fn merged_upkeep_pull_requests_are_recorded() {
    let mut h = harness(serve::DEFAULT_MAX_BODY);
    let mut p = payload("pull_request.closed");
    p["pull_request"]["body"] = json!(upkeep_body());
    // Closed without merging: nothing to do (the publisher skips the version).
    assert_eq!(
        h.signed("pull_request", "m-1", &p).await,
        StatusCode::NO_CONTENT
    );
    p["pull_request"]["merged"] = json!(true);
    p["pull_request"]["merged_at"] = json!("2019-05-15T15:20:40Z");
    assert_eq!(
        h.signed("pull_request", "m-2", &p).await,
        StatusCode::ACCEPTED
    );
    let jobs = h.queued();
    assert!(
        matches!(&jobs[..], [Job::Merged { number: 2, .. }]),
        "{jobs:?}"
    );
}

#[tokio::test]
async fn invalid_json_is_a_bad_request() {
    let mut h = harness(serve::DEFAULT_MAX_BODY);
    let body = b"{\"action\": \"created\"";
    let (status, _) = h
        .send(
            "installation",
            "bad",
            body,
            Some(webhook::sign(SECRET, body)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(h.queued().is_empty());
}

/// A burst of pushes to one repository queues one pass, not one per push
/// (GitHub's redeliveries under fresh ids included).
#[tokio::test]
async fn a_burst_of_pushes_is_coalesced_into_one_pass() {
    let mut h = harness(serve::DEFAULT_MAX_BODY);
    let mut p = payload("push");
    p["commits"][0]["modified"] = json!(["envs/mainnet/values.yaml"]);
    for i in 0..50 {
        assert_eq!(
            h.signed("push", &format!("burst-{i}"), &p).await,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(h.queued().len(), 1);
    let metrics = h.metrics.encode();
    assert!(
        metrics.contains("upkeep_webhooks_total{event=\"push\",outcome=\"coalesced\"} 49"),
        "{metrics}"
    );
}
