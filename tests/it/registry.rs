//! Registry awareness against a real registry (Debian `docker-registry`,
//! started per test by `support::registry`): the OCI client on its own
//! (digests, multi-arch, names, mirrors, token and basic auth, caching,
//! a registry that is down), then `upkeep check` end to end with the GitHub
//! double: targets wait for their image, then are offered with its digest.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use upkeep::domain::settings::Registries;
use upkeep::io::registry::{CredentialSet, Credentials, Registry, RegistryError, RegistryOptions};
use upkeep::io::store::Store;

use crate::support::github::{GitHubDouble, NewRelease};
use crate::support::registry::{RegistryServer, closed_port};
use crate::support::{stderr, stdout, upkeep_env};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn options() -> RegistryOptions {
    RegistryOptions {
        min_interval: Duration::from_millis(1),
        base_delay: Duration::from_millis(10),
        ..RegistryOptions::default()
    }
}

fn client_with(
    mirrors: &[(&str, &str)],
    credentials: CredentialSet,
    store: Option<Arc<Store>>,
    options: RegistryOptions,
) -> Registry {
    let settings = Registries {
        mirrors: mirrors
            .iter()
            .map(|(h, u)| (h.to_string(), u.to_string()))
            .collect(),
        require_published: true,
        pin_digests: false,
    };
    Registry::new(&settings, credentials, store, options).unwrap()
}

/// A client that reaches `docker.io` through `reg`.
fn client(reg: &RegistryServer) -> Registry {
    client_with(
        &[("docker.io", &reg.url())],
        CredentialSet::default(),
        None,
        options(),
    )
}

fn credentials(host: &str, user: &str, password: &str) -> CredentialSet {
    let mut set = CredentialSet::default();
    set.insert(host, Credentials::new(user, password));
    set
}

#[tokio::test]
async fn a_pushed_tag_is_found_with_the_digest_pushed_and_only_head_is_used() {
    let reg = RegistryServer::start();
    let pushed = reg.push("ethereum/client-go", "v1.14.12");
    let c = client(&reg);
    let m = c
        .manifest("ethereum/client-go", "v1.14.12")
        .await
        .unwrap()
        .expect("the tag exists");
    assert_eq!(m.digest, pushed);
    assert_eq!(m.media_type, OCI_MANIFEST);
    assert_eq!(
        c.manifest("ethereum/client-go", "v9.9.9").await.unwrap(),
        None
    );
    assert_eq!(
        c.manifest("ethereum/never-pushed", "v1.0.0").await.unwrap(),
        None,
        "an unknown repository is missing too"
    );
    let requests = reg.upkeep_requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|(method, path, _)| method == "HEAD" && path.contains("/manifests/")),
        "HEAD only, never GET: {requests:?}"
    );
}

#[tokio::test]
async fn official_images_get_the_library_prefix() {
    let reg = RegistryServer::start();
    let pushed = reg.push("library/busybox", "1.36");
    let c = client(&reg);
    for name in [
        "busybox",
        "library/busybox",
        "docker.io/library/busybox",
        "index.docker.io/busybox",
    ] {
        let m = c.manifest(name, "1.36").await.unwrap();
        assert_eq!(m.map(|m| m.digest), Some(pushed.clone()), "{name}");
    }
    assert!(
        reg.upkeep_requests()
            .iter()
            .all(|(_, path, _)| path == "/v2/library/busybox/manifests/1.36")
    );
}

#[tokio::test]
async fn a_multi_arch_tag_resolves_to_its_index_digest() {
    let reg = RegistryServer::start();
    let index = reg.push_multiarch("sigp/lighthouse", "v7.1.0", &["amd64", "arm64"]);
    let m = client(&reg)
        .manifest("sigp/lighthouse", "v7.1.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.digest, index, "the index digest, not a platform's");
    assert_eq!(m.media_type, OCI_INDEX);
}

#[tokio::test]
async fn mirrors_point_docker_hub_ghcr_and_gcr_at_one_registry() {
    let reg = RegistryServer::start();
    let hub = reg.push("sigp/lighthouse", "v7.0.0");
    let ghcr = reg.push("acme/node", "v2.0.0");
    let gcr = reg.push("my-project/app", "1.0.0");
    let url = reg.url();
    let c = client_with(
        &[
            ("docker.io", &url),
            ("ghcr.io", &url),
            ("gcr.io", &format!("{url}/")),
        ],
        CredentialSet::default(),
        None,
        options(),
    );
    let digest = |image: &'static str, tag: &'static str| {
        let c = &c;
        async move { c.manifest(image, tag).await.unwrap().map(|m| m.digest) }
    };
    assert_eq!(digest("sigp/lighthouse", "v7.0.0").await, Some(hub));
    assert_eq!(digest("ghcr.io/acme/node", "v2.0.0").await, Some(ghcr));
    assert_eq!(digest("gcr.io/my-project/app", "1.0.0").await, Some(gcr));
    assert_eq!(digest("gcr.io/my-project/app", "2.0.0").await, None);
}

/// Answers every request with a 307 to the same path on `target`, without
/// following (as registry.k8s.io does); returns its URL.
fn redirector(target: String) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let path = first.split(' ').nth(1).unwrap_or("/").to_string();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    url
}

#[tokio::test]
async fn manifest_redirects_are_followed() {
    let reg = RegistryServer::start();
    let pushed = reg.push("kube-proxy", "v1.33.0");
    let hop = redirector(reg.url());
    let c = client_with(
        &[("registry.k8s.io", &hop)],
        credentials(
            hop.trim_start_matches("http://"),
            "ci",
            "not-for-the-target",
        ),
        None,
        options(),
    );
    let m = c
        .manifest("registry.k8s.io/kube-proxy", "v1.33.0")
        .await
        .unwrap();
    assert_eq!(m.map(|m| m.digest), Some(pushed));
    assert_eq!(
        c.manifest("registry.k8s.io/kube-proxy", "v9.0.0")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn the_token_flow_gets_one_token_per_repository_and_reuses_it() {
    let reg = RegistryServer::start_token(None);
    let pushed = reg.push("ethereum/client-go", "v1.15.0");
    reg.push("sigp/lighthouse", "v7.0.0");
    let c = client(&reg);
    let m = c.manifest("ethereum/client-go", "v1.15.0").await.unwrap();
    assert_eq!(m.map(|m| m.digest), Some(pushed));
    assert_eq!(
        c.manifest("ethereum/client-go", "v1.16.0").await.unwrap(),
        None
    );
    assert!(
        c.manifest("sigp/lighthouse", "v7.0.0")
            .await
            .unwrap()
            .is_some()
    );
    let tokens: Vec<String> = reg
        .token_log()
        .into_iter()
        .filter(|l| l.contains("ua=upkeep/"))
        .collect();
    assert_eq!(tokens.len(), 2, "one token per repository: {tokens:?}");
    assert!(tokens[0].contains("service=test-registry"), "{tokens:?}");
    assert!(
        tokens[0].contains("scope=repository%3Aethereum%2Fclient-go%3Apull"),
        "{tokens:?}"
    );
    assert!(tokens.iter().all(|t| t.contains("auth=none")), "anonymous");
    let statuses: Vec<u16> = reg.upkeep_requests().iter().map(|r| r.2).collect();
    assert_eq!(
        statuses,
        [401, 200, 404, 401, 200],
        "challenge, then the token is reused"
    );
}

#[tokio::test]
async fn the_token_flow_sends_configured_credentials_and_wrong_ones_are_named_not_shown() {
    let reg = RegistryServer::start_token(Some(("ci", "s3cret-pass")));
    let pushed = reg.push("acme/node", "v2.0.0");
    let mirrors = [("ghcr.io", reg.url())];
    let mirrors: Vec<(&str, &str)> = mirrors.iter().map(|(h, u)| (*h, u.as_str())).collect();

    let good = client_with(
        &mirrors,
        credentials(&reg.host(), "ci", "s3cret-pass"),
        None,
        options(),
    );
    let m = good.manifest("ghcr.io/acme/node", "v2.0.0").await.unwrap();
    assert_eq!(m.map(|m| m.digest), Some(pushed));
    assert!(
        reg.token_log()
            .iter()
            .any(|l| l.contains("ua=upkeep/") && l.contains("auth=basic"))
    );

    let wrong = client_with(
        &mirrors,
        credentials(&reg.host(), "ci", "wrong-pass"),
        None,
        options(),
    );
    let e = wrong
        .manifest("ghcr.io/acme/node", "v2.0.0")
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::BadCredentials { .. }), "{e:?}");
    let message = e.to_string();
    assert!(
        message.starts_with(&format!(
            "registry ghcr.io (mirror {}) rejected the credentials configured for {}",
            reg.url(),
            reg.host()
        )),
        "{message}"
    );
    assert!(!message.contains("wrong-pass") && !format!("{e:?}").contains("wrong-pass"));

    let none = client_with(&mirrors, CredentialSet::default(), None, options());
    let e = none
        .manifest("ghcr.io/acme/node", "v2.0.0")
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::NeedsCredentials { .. }), "{e:?}");
}

#[tokio::test]
async fn basic_auth_registries_get_the_configured_credentials() {
    let reg = RegistryServer::start_basic("ci", "s3cret-pass");
    let pushed = reg.push("acme/private", "1.0.0");
    let image = format!("{}/acme/private", reg.host());
    // a loopback registry named in the image itself: no mirror needed
    let good = client_with(
        &[],
        credentials(&reg.host(), "ci", "s3cret-pass"),
        None,
        options(),
    );
    let m = good.manifest(&image, "1.0.0").await.unwrap();
    assert_eq!(m.map(|m| m.digest), Some(pushed));
    assert_eq!(good.manifest(&image, "2.0.0").await.unwrap(), None);
    let statuses: Vec<u16> = reg.upkeep_requests().iter().map(|r| r.2).collect();
    assert_eq!(
        statuses,
        [401, 200, 404],
        "basic auth is sent up front once asked for"
    );

    let wrong = client_with(
        &[],
        credentials(&reg.host(), "ci", "wrong-pass"),
        None,
        options(),
    );
    let e = wrong.manifest(&image, "1.0.0").await.unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, RegistryError::BadCredentials { .. }), "{e:?}");
    assert!(message.contains(&reg.host()), "{message}");
    assert!(!message.contains("wrong-pass"), "{message}");

    let none = client_with(&[], CredentialSet::default(), None, options());
    let e = none.manifest(&image, "1.0.0").await.unwrap_err();
    assert!(
        e.to_string().contains("requires credentials")
            && e.to_string().contains("UPKEEP_REGISTRY_AUTH"),
        "{e}"
    );
}

#[tokio::test]
async fn an_unreachable_registry_is_a_clear_error_and_costs_one_attempt_per_run() {
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let c = client_with(
        &[("docker.io", &dead)],
        CredentialSet::default(),
        None,
        options(),
    );
    let e = c.manifest("sigp/lighthouse", "v7.0.0").await.unwrap_err();
    assert!(e.is_unreachable(), "{e:?}");
    let message = e.to_string();
    let host = dead.trim_start_matches("http://");
    assert!(
        message.starts_with(&format!(
            "registry docker.io (mirror {dead}) is unreachable: {host} could not be reached: "
        )),
        "{message}"
    );
    let sent = c.stats.requests.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(sent, 2, "a refused connection is retried once");
    let e = c
        .manifest("ethereum/client-go", "v1.15.0")
        .await
        .unwrap_err();
    assert!(e.is_unreachable());
    assert_eq!(
        c.stats.requests.load(std::sync::atomic::Ordering::Relaxed),
        sent,
        "the registry is known to be down for the rest of the run"
    );
}

#[tokio::test]
async fn answers_are_cached_in_the_state_store_missing_ones_briefly() {
    let reg = RegistryServer::start();
    let store = Arc::new(Store::in_memory().unwrap());
    let url = reg.url();
    let with_ttl = |missing_ttl: u64| {
        client_with(
            &[("docker.io", &url)],
            CredentialSet::default(),
            Some(store.clone()),
            RegistryOptions {
                missing_ttl: Duration::from_secs(missing_ttl),
                ..options()
            },
        )
    };
    assert_eq!(
        with_ttl(60)
            .manifest("sigp/lighthouse", "v7.0.0")
            .await
            .unwrap(),
        None
    );
    let pushed = reg.push("sigp/lighthouse", "v7.0.0");
    // a run within the missing TTL still trusts the cached "missing"
    let run = with_ttl(60);
    assert_eq!(
        run.manifest("sigp/lighthouse", "v7.0.0").await.unwrap(),
        None
    );
    assert_eq!(
        run.stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // once it has expired the tag is seen
    let run = with_ttl(0);
    let m = run.manifest("sigp/lighthouse", "v7.0.0").await.unwrap();
    assert_eq!(m.map(|m| m.digest), Some(pushed.clone()));
    // "exists" answers last longer: the registry is not asked again
    reg.delete("sigp/lighthouse", &pushed);
    let run = with_ttl(0);
    let m = run.manifest("sigp/lighthouse", "v7.0.0").await.unwrap();
    assert_eq!(m.map(|m| m.digest), Some(pushed));
    assert_eq!(
        run.stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(
        run.stats
            .cache_hits
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

// ---- `upkeep check` end to end ---------------------------------------------

/// A deployment tree, a settings file, a state file, the GitHub double and a
/// registry.
struct Scenario {
    dir: tempfile::TempDir,
    gh: GitHubDouble,
    env: Vec<(String, String)>,
}

impl Scenario {
    /// `settings` is the `registries:` section (and anything else) appended
    /// to a settings file that checks `./deploy`.
    fn new(settings: &str) -> Scenario {
        let s = Scenario {
            dir: tempfile::tempdir().unwrap(),
            gh: GitHubDouble::start(),
            env: vec![("UPKEEP_REGISTRY_MISSING_TTL".into(), "0".into())],
        };
        s.write(
            "upkeep.yml",
            &format!("repositories:\n  - path: ./deploy\n{settings}"),
        );
        s
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(rel)).unwrap()
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let state = self.dir.path().join("state.sqlite3");
        let cache = self.dir.path().join("cache");
        let mut env: Vec<(&str, &str)> = vec![
            ("UPKEEP_GITHUB_API_URL", self.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", "ghp_registry_tests"),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ];
        env.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        upkeep_env(self.dir.path(), args, &env)
    }

    /// `upkeep check --format json`: (report, stderr, exit code).
    fn check(&self) -> (Value, String, i32) {
        let out = self.run(&["check", "--format", "json"]);
        let err = stderr(&out);
        let json = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{e}: {}\n{err}", stdout(&out)));
        (json, err, out.status.code().unwrap())
    }
}

fn finding<'a>(report: &'a Value, image: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["image"] == image)
        .unwrap_or_else(|| panic!("no finding for {image} in {report:#}"))
}

fn hours_ago(h: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(h))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[test]
fn check_holds_a_target_until_its_image_is_pushed_then_offers_it_with_its_digest() {
    let reg = RegistryServer::start();
    let s = Scenario::new(&format!(
        "registries:\n  mirrors:\n    docker.io: {}\n",
        reg.url()
    ));
    s.gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v6.0.0").published_at(&hours_ago(200)),
    );
    let published = hours_ago(3);
    s.gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v7.0.0").published_at(&published),
    );
    reg.push("sigp/lighthouse", "v6.0.0");
    s.write("deploy/values.yaml", "image: sigp/lighthouse:v6.0.0\n");

    let (report, err, code) = s.check();
    assert_eq!(code, 0, "{err}");
    let lh = finding(&report, "sigp/lighthouse");
    assert_eq!(lh["waiting_for_image"], true, "{lh:#}");
    assert_eq!(lh["target_tag"], "v7.0.0");
    assert_eq!(lh["target_digest"], Value::Null);
    let since: chrono::DateTime<chrono::Utc> = serde_json::from_value(lh["since"].clone()).unwrap();
    assert_eq!(
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        published
    );
    assert!(
        !err.contains("warning"),
        "a missing tag is no registry problem: {err}"
    );

    let table = stdout(&s.run(&["check"]));
    assert!(
        table.contains("waiting for image (published 3h ago)"),
        "{table}"
    );

    let index = reg.push_multiarch("sigp/lighthouse", "v7.0.0", &["amd64", "arm64"]);
    let (report, err, code) = s.check();
    assert_eq!(code, 0, "{err}");
    let lh = finding(&report, "sigp/lighthouse");
    assert_eq!(lh["waiting_for_image"], false, "{lh:#}");
    assert_eq!(lh["target_tag"], "v7.0.0");
    assert_eq!(lh["target_digest"], index.as_str(), "the index digest");
    assert_eq!(lh["since"], Value::Null);
    let table = stdout(&s.run(&["check"]));
    assert!(!table.contains("waiting for image"), "{table}");
}

#[test]
fn the_newest_published_release_is_offered_while_a_newer_one_waits() {
    let reg = RegistryServer::start();
    let s = Scenario::new(&format!(
        "registries:\n  mirrors:\n    docker.io: {}\n",
        reg.url()
    ));
    s.gh.add_releases("ethereum/go-ethereum", ["v1.14.11", "v1.14.12", "v1.15.0"]);
    let published = reg.push("ethereum/client-go", "v1.14.12");
    s.write(
        "deploy/compose.yml",
        "services:\n  el:\n    image: ethereum/client-go:v1.14.11\n",
    );
    let (report, err, code) = s.check();
    assert_eq!(code, 0, "{err}");
    let geth = finding(&report, "ethereum/client-go");
    assert_eq!(geth["target_tag"], "v1.14.12", "{geth:#}");
    assert_eq!(geth["latest"], "v1.14.12");
    assert_eq!(geth["target_digest"], published.as_str());
    assert_eq!(geth["waiting_for_image"], false);
    assert_eq!(geth["behind"], 2, "behind still counts the waiting release");
    let heads: Vec<String> = reg.upkeep_requests().into_iter().map(|r| r.1).collect();
    assert_eq!(
        heads,
        [
            "/v2/ethereum/client-go/manifests/v1.15.0",
            "/v2/ethereum/client-go/manifests/v1.14.12"
        ],
        "newest first, stop at the first published"
    );
}

#[test]
fn a_digest_pinned_reference_is_bumped_with_the_resolved_digest_byte_exactly() {
    let reg = RegistryServer::start();
    let s = Scenario::new(&format!(
        "registries:\n  mirrors:\n    docker.io: {}\n",
        reg.url()
    ));
    s.gh.add_releases("ethereum/go-ethereum", ["v1.14.12", "v1.15.0"]);
    let old = reg.push("ethereum/client-go", "v1.14.12");
    let new = reg.push_multiarch("ethereum/client-go", "v1.15.0", &["amd64", "arm64"]);
    let before = format!(
        "# execution client\r\nservices:\n  el:\n    image: \"ethereum/client-go:v1.14.12@{old}\"  # pinned\n"
    );
    s.write("deploy/compose.yml", &before);
    let (report, err, code) = s.check();
    assert_eq!(code, 0, "{err}");
    let geth = finding(&report, "ethereum/client-go");
    let digest = geth["target_digest"]
        .as_str()
        .expect("a digest")
        .to_string();
    assert_eq!(digest, new);
    let out = s.run(&[
        "bump",
        "deploy",
        "--image",
        "ethereum/client-go",
        "--to",
        geth["target_tag"].as_str().unwrap(),
        "--digest",
        &digest,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        s.read("deploy/compose.yml"),
        format!(
            "# execution client\r\nservices:\n  el:\n    image: \"ethereum/client-go:v1.15.0@{new}\"  # pinned\n"
        )
    );
}

#[test]
fn a_registry_that_is_down_is_a_warning_and_the_check_goes_on() {
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let s = Scenario::new(&format!("registries:\n  mirrors:\n    docker.io: {dead}\n"));
    s.gh.add_releases("sigp/lighthouse", ["v6.0.0", "v7.0.0"]);
    s.gh.add_releases("ethereum/go-ethereum", ["v1.14.12", "v1.15.0"]);
    s.write(
        "deploy/values.yaml",
        "cl:\n  image: sigp/lighthouse:v6.0.0\nel:\n  image: ethereum/client-go:v1.14.12\n",
    );
    let (report, err, code) = s.check();
    // held targets could not be verified: an incomplete check, never "all
    // good" (exit 4: nothing could be checked, with a summary of what was
    // not)
    assert_eq!(code, 4, "incomplete: {err}");
    assert!(
        err.contains(
            "no reference could be checked (2 not checked): 2: registry could not be asked"
        ),
        "{err}"
    );
    let warning = format!(
        "warning: registry docker.io (mirror {dead}) is unreachable: {} could not be reached: ",
        dead.trim_start_matches("http://")
    );
    assert_eq!(
        err.matches(&warning).count(),
        1,
        "one warning per registry: {err}"
    );
    assert!(
        err.contains("its targets wait for the image (registries.require_published)"),
        "{err}"
    );
    for image in ["sigp/lighthouse", "ethereum/client-go"] {
        let f = finding(&report, image);
        assert_eq!(f["waiting_for_image"], true, "held by default: {f:#}");
    }
    assert_eq!(report["warnings"].as_array().unwrap().len(), 1);

    // registries.require_published: false trusts GitHub instead
    s.write(
        "upkeep.yml",
        &format!("repositories:\n  - path: ./deploy\nregistries:\n  require_published: false\n  mirrors:\n    docker.io: {dead}\n"),
    );
    let (report, err, code) = s.check();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is unreachable"), "{err}");
    assert!(err.contains("offered on GitHub's word"), "{err}");
    let lh = finding(&report, "sigp/lighthouse");
    assert_eq!(lh["waiting_for_image"], false, "{lh:#}");
    assert_eq!(lh["target_tag"], "v7.0.0");
    assert_eq!(lh["target_digest"], Value::Null);
}

#[test]
fn wrong_registry_credentials_are_a_clear_warning_without_the_secret() {
    let reg = RegistryServer::start_basic("ci", "s3cret-pass");
    reg.push("sigp/lighthouse", "v7.0.0");
    let mut s = Scenario::new(&format!(
        "registries:\n  mirrors:\n    docker.io: {}\n",
        reg.url()
    ));
    s.gh.add_releases("sigp/lighthouse", ["v6.0.0", "v7.0.0"]);
    s.write("deploy/values.yaml", "image: sigp/lighthouse:v6.0.0\n");
    let auth = format!(
        r#"{{"auths": {{"{}": {{"username": "ci", "password": "wr0ng-Secret"}}}}}}"#,
        reg.host()
    );
    s.env.push(("UPKEEP_REGISTRY_AUTH".into(), auth));
    let out = s.run(&["check", "--format", "json", "-vv"]);
    let (all_out, err) = (stdout(&out), stderr(&out));
    // the held target could not be verified, and it is the only one:
    // nothing could be checked (exit 4)
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&format!(
            "warning: registry docker.io (mirror {}) rejected the credentials configured for {}",
            reg.url(),
            reg.host()
        )),
        "{err}"
    );
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("ci:wr0ng-Secret");
    for text in [&all_out, &err] {
        assert!(
            !text.contains("wr0ng-Secret") && !text.contains(&encoded),
            "{text}"
        );
    }

    // the right ones work (and are sent to the mirror's host only)
    s.env.pop();
    s.env.push((
        "UPKEEP_REGISTRY_AUTH".into(),
        format!(
            r#"{{"auths": {{"{}": {{"username": "ci", "password": "s3cret-pass"}}}}}}"#,
            reg.host()
        ),
    ));
    let (report, err, code) = s.check();
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    assert!(finding(&report, "sigp/lighthouse")["target_digest"].is_string());
}

#[test]
fn check_through_the_token_flow_with_docker_hub_and_ghcr_mirrored() {
    let reg = RegistryServer::start_token(None);
    let url = reg.url();
    let s = Scenario::new(&format!(
        "upstreams:\n  - github: acme/node\n    images:\n      - name: ghcr.io/acme/node\n        tag: \"v{{version}}\"\nregistries:\n  mirrors:\n    docker.io: {url}\n    ghcr.io: {url}\n"
    ));
    s.gh.add_releases("sigp/lighthouse", ["v6.0.0", "v7.0.0"]);
    s.gh.add_releases("acme/node", ["v1.0.0", "v2.0.0"]);
    let lh = reg.push("sigp/lighthouse", "v7.0.0");
    let node = reg.push_multiarch("acme/node", "v2.0.0", &["amd64", "arm64"]);
    s.write(
        "deploy/values.yaml",
        "cl:\n  image: sigp/lighthouse:v6.0.0\nnode:\n  image: ghcr.io/acme/node:v1.0.0\n",
    );
    let (report, err, code) = s.check();
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(
        finding(&report, "sigp/lighthouse")["target_digest"],
        lh.as_str()
    );
    assert_eq!(
        finding(&report, "ghcr.io/acme/node")["target_digest"],
        node.as_str()
    );
    let tokens = reg
        .token_log()
        .into_iter()
        .filter(|l| l.contains("ua=upkeep/"))
        .count();
    assert_eq!(tokens, 2, "one token per repository");
}
