//! Credentials never travel in cleartext: every client refuses a plain
//! `http://` endpoint that is not a loopback address before it sends
//! anything (the hosts used here are under `.invalid`, which never
//! resolves, so a regression could not reach a real host either).

use crate::support::{stderr, stdout, upkeep_env};

const TOKEN: &str = "ghp_transport_token_0123456789";

#[test]
fn a_token_is_never_sent_to_a_plain_http_github() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("upkeep.yml"), "repositories: []\n").unwrap();
    let state = dir.path().join("state.sqlite3");
    let out = upkeep_env(
        dir.path(),
        &["check"],
        &[
            ("UPKEEP_GITHUB_API_URL", "http://github.invalid/api/v3"),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
        ],
    );
    let (o, e) = (stdout(&out), stderr(&out));
    assert_ne!(out.status.code(), Some(0), "{o}\n{e}");
    assert!(
        e.contains("plain http") && e.contains("github.invalid"),
        "the refusal names the host: {e}"
    );
    assert!(!o.contains(TOKEN) && !e.contains(TOKEN), "token leaked");
}

#[test]
fn prometheus_credentials_are_never_sent_over_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("upkeep.yml"),
        "repositories: []\nprometheus:\n  url: http://prometheus.invalid:9090\n",
    )
    .unwrap();
    let state = dir.path().join("state.sqlite3");
    let out = upkeep_env(
        dir.path(),
        &["check"],
        &[
            ("UPKEEP_GITHUB_API_URL", "http://127.0.0.1:9"),
            ("UPKEEP_PROMETHEUS_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
        ],
    );
    let (o, e) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(2), "{o}\n{e}");
    assert!(e.contains("prometheus.invalid"), "{e}");
    assert!(!o.contains(TOKEN) && !e.contains(TOKEN), "token leaked");
}
