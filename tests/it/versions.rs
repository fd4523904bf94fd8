//! Version normalisation end to end: `upkeep check` against the GitHub
//! double with real-shaped tag histories (hotfixes, 4-part and 2-part
//! versions, moving aliases, pre-releases, junk tags) and with upstreams
//! declared in the settings (the `regex:` example of `upkeep.example.yml`,
//! a monorepo component's release tags).

use std::path::Path;

use serde_json::Value;

use crate::support::github::{GitHubDouble, NewRelease};
use crate::support::{stderr, stdout, upkeep_env};

const TOKEN: &str = "ghp_test_token_0123456789";
const SETTINGS: &str = "repositories:\n  - path: ./deploy\n    environments:\n      - name: hoodi\n        paths: [\"**\"]\n        network: hoodi\nregistries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n    ghcr.io: http://127.0.0.1:9\n    gcr.io: http://127.0.0.1:9\n    us-docker.pkg.dev: http://127.0.0.1:9\n";

/// Writes `files` (and `upkeep.yml`: [`SETTINGS`] plus `extra`), runs
/// `upkeep check --format json` against `gh`, returns (report, stderr, exit).
fn check(gh: &GitHubDouble, extra: &str, files: &[(&str, &str)]) -> (Value, String, i32) {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("upkeep.yml", &format!("{SETTINGS}{extra}"));
    for (rel, text) in files {
        write(&format!("deploy/{rel}"), text);
    }
    let state = dir.path().join("state.sqlite3");
    let cache = dir.path().join("cache");
    let out = upkeep_env(
        dir.path(),
        &["check", "--format", "json"],
        &[
            ("UPKEEP_GITHUB_API_URL", gh.url()),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
        ],
    );
    let err = stderr(&out);
    let json = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{err}", stdout(&out)));
    (json, err, out.status.code().unwrap())
}

/// (image, current, target tag, release) of every finding, sorted.
fn moves(report: &Value) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("image"), s("current"), s("target_tag"), s("latest"))
        })
        .collect();
    out.sort();
    out
}

fn mv(image: &str, current: &str, target: &str, release: &str) -> (String, String, String, String) {
    (image.into(), current.into(), target.into(), release.into())
}

#[test]
fn tag_histories_of_the_clients_give_the_right_targets() {
    let gh = GitHubDouble::start();
    // prysm: hotfixes (with build metadata), a dotted rc, a devnet tag.
    gh.add_releases(
        "OffchainLabs/prysm",
        [
            "v4.0.2",
            "v4.0.3",
            "v4.0.3-hotfix",
            "v1.3.8-hotfix+6c0942",
            "v1.0.0.rc.1",
            "v5.1.2-mekong",
        ],
    );
    gh.add_release(
        "OffchainLabs/prysm",
        NewRelease::new("v4.1.0-rc.0").prerelease(),
    );
    gh.add_release("OffchainLabs/prysm", "v4.1.0");
    // besu: four-part versions and hotfixes, a numeric tag, a CI tag.
    gh.add_releases(
        "besu-eth/besu",
        [
            "22.12.8",
            "22.12.8.1",
            "22.12.8.2",
            "1626082128492",
            "GHA.TESTRUN.1",
            "23.1.0",
            "23.10.3-Hotfix",
        ],
    );
    // mev-boost: a 2-part alias beside each 3-part release.
    gh.add_releases(
        "flashbots/mev-boost",
        [
            "v1.7",
            "v1.7.0",
            "v1.8",
            "v1.8.0",
            "v1.8.1",
            "v1.9",
            "v1.6.4844-dev3",
        ],
    );
    // lighthouse: a deployment on an RC; experimental tags.
    gh.add_releases("sigp/lighthouse", ["v7.0.0", "v5.1.222-exp"]);
    gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v7.1.0-rc.0").prerelease(),
    );
    gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v7.1.0-rc.1").prerelease(),
    );
    gh.add_release("sigp/lighthouse", "v7.1.0");
    gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v7.2.0-rc.0").prerelease(),
    );
    // erigon: CalVer snapshots of 2022 and date stamps sort above v3 if read.
    gh.add_releases(
        "erigontech/erigon",
        [
            "v3.0.0",
            "v2022.09.01",
            "20240101",
            "fusaka-devnet-2",
            "v3.0.1",
        ],
    );
    // nimbus: semver before CalVer.
    gh.add_releases("status-im/nimbus-eth2", ["v1.7.0", "v22.1.0", "v24.9.0"]);
    let compose = "services:\n  a:\n    image: gcr.io/offchainlabs/prysm/beacon-chain:v4.0.3-hotfix\n  b:\n    image: hyperledger/besu:22.12.8.1\n  c:\n    image: flashbots/mev-boost:1.7.0\n  d:\n    image: flashbots/mev-boost:1.7\n  e:\n    image: sigp/lighthouse:v7.1.0-rc.0\n  f:\n    image: erigontech/erigon:v3.0.0\n  g:\n    image: statusim/nimbus-eth2:multiarch-v1.7.0\n  h:\n    image: gcr.io/offchainlabs/prysm/validator:v4.0.3\n  i:\n    image: sigp/lighthouse:v7.2.0-rc.0\n";
    let (report, err, code) = check(&gh, "", &[("docker-compose.yml", compose)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        moves(&report),
        [
            mv("erigontech/erigon", "v3.0.0", "v3.0.1", "v3.0.1"),
            mv("flashbots/mev-boost", "1.7", "1.8", "v1.8.1"),
            mv("flashbots/mev-boost", "1.7.0", "1.8.1", "v1.8.1"),
            mv(
                "gcr.io/offchainlabs/prysm/beacon-chain",
                "v4.0.3-hotfix",
                "v4.1.0",
                "v4.1.0"
            ),
            mv(
                "gcr.io/offchainlabs/prysm/validator",
                "v4.0.3",
                "v4.1.0",
                "v4.1.0"
            ),
            mv(
                "hyperledger/besu",
                "22.12.8.1",
                "23.10.3-Hotfix",
                "23.10.3-Hotfix"
            ),
            mv("sigp/lighthouse", "v7.1.0-rc.0", "v7.1.0", "v7.1.0"),
            mv(
                "statusim/nimbus-eth2",
                "multiarch-v1.7.0",
                "multiarch-v24.9.0",
                "v24.9.0"
            ),
        ],
        "{report:#}"
    );
    // The lighthouse on the newest RC has nothing newer offered: up to date.
    assert_eq!(report["up_to_date"], 1, "{report:#}");
    let behind = |image: &str, current: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["image"] == image && f["current"] == current)
            .map(|f| f["behind"].clone())
            .unwrap()
    };
    // prysm validator: v4.0.3-hotfix and v4.1.0 (not the RC).
    assert_eq!(behind("gcr.io/offchainlabs/prysm/validator", "v4.0.3"), 2);
    // besu: 22.12.8.2, 23.1.0, 23.10.3-Hotfix.
    assert_eq!(behind("hyperledger/besu", "22.12.8.1"), 3);
    // mev-boost: v1.8.0 and v1.8.1, never the aliases v1.8 or v1.9.
    assert_eq!(behind("flashbots/mev-boost", "1.7.0"), 2);
}

/// The `upstreams:` section of `upkeep.example.yml`, as shipped.
fn example_upstreams() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("upkeep.example.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("\nupstreams:\n").expect("an upstreams section") + 1;
    let end = start + text[start..].find("\n\n").expect("a blank line after it");
    text[start..end].to_string() + "\n"
}

#[test]
fn the_regex_upstream_of_the_example_settings_works_end_to_end() {
    let upstreams = example_upstreams();
    assert!(upstreams.contains("regex:"), "{upstreams}");
    let gh = GitHubDouble::start();
    gh.add_releases("acme/odd-tags", ["release-1.2", "release-1.3", "latest"]);
    gh.add_release(
        "acme/odd-tags",
        NewRelease::new("release-1.4-rc1").prerelease(),
    );
    gh.add_releases("acme/custom-node", ["v1.0.0", "v1.1.0", "v1.1.0-hotfix"]);
    let compose = "services:\n  odd:\n    image: acme/odd:release-1.2-alpine\n  rc:\n    image: acme/odd:release-1.3-rc2-alpine\n  node:\n    image: ghcr.io/acme/custom-node:v1.0.0\n";
    let (report, err, code) = check(&gh, &upstreams, &[("docker-compose.yml", compose)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        moves(&report),
        [
            mv(
                "acme/odd",
                "release-1.2-alpine",
                "release-1.3-alpine",
                "release-1.3"
            ),
            mv(
                "acme/odd",
                "release-1.3-rc2-alpine",
                "release-1.3-alpine",
                "release-1.3"
            ),
            mv(
                "ghcr.io/acme/custom-node",
                "v1.0.0",
                "v1.1.0-hotfix",
                "v1.1.0-hotfix"
            ),
        ],
        "{report:#}"
    );
    assert!(
        report["unchecked"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
}

#[test]
fn a_monorepo_component_declared_in_the_settings() {
    let gh = GitHubDouble::start();
    gh.add_releases(
        "ethereum-optimism/optimism",
        [
            "op-node/v1.9.3",
            "op-batcher/v1.10.1",
            "op-node/v1.9.4",
            "op-node/v1.9.5-rehearsal.1",
            "v1.0.0",
        ],
    );
    gh.add_release(
        "ethereum-optimism/optimism",
        NewRelease::new("op-node/v1.10.0-rc.1").prerelease(),
    );
    let upstreams = "upstreams:\n  - github: ethereum-optimism/optimism\n    release_tag: \"op-node/v{version}\"\n    ignore_tags: [\"*-rehearsal*\"]\n    channels: [\"develop-*\"]\n    prereleases: {offer: false, github_flag: true}\n    images:\n      - name: us-docker.pkg.dev/oplabs-tools-artifacts/images/op-node\n        tag: \"v{version}\"\n        variants: [\"-alpine\"]\n";
    let compose = "services:\n  node:\n    image: us-docker.pkg.dev/oplabs-tools-artifacts/images/op-node:v1.9.3-alpine\n  dev:\n    image: us-docker.pkg.dev/oplabs-tools-artifacts/images/op-node:develop-6c0942f\n";
    let (report, err, code) = check(&gh, upstreams, &[("docker-compose.yml", compose)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        moves(&report),
        [mv(
            "us-docker.pkg.dev/oplabs-tools-artifacts/images/op-node",
            "v1.9.3-alpine",
            "v1.9.4-alpine",
            "op-node/v1.9.4"
        )],
        "{report:#}"
    );
    let reasons: Vec<&str> = report["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["channel-tag"], "{report:#}");
}

/// `upkeep settings validate` of [`SETTINGS`] plus `extra`: (output, exit).
fn validate(extra: &str) -> (String, i32) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("upkeep.yml"), format!("{SETTINGS}{extra}")).unwrap();
    let out = upkeep_env(dir.path(), &["settings", "validate", "upkeep.yml"], &[]);
    (
        format!("{}{}", stdout(&out), stderr(&out)),
        out.status.code().unwrap(),
    )
}

#[test]
fn settings_upstreams_are_validated_with_positions() {
    let bad = "upstreams:\n  - github: acme/x\n    release_tag: \"op node/{version}\"\n    ignore_tags: [\"[\"]\n    images:\n      - name: acme/x\n        variants: [modern]\n";
    let (all, code) = validate(bad);
    assert_eq!(code, 2, "{all}");
    for want in [
        "upkeep.yml:16:18: invalid release tag template",
        "upkeep.yml:17:19: invalid tag pattern",
        "upkeep.yml:20:20: invalid variant `modern`",
    ] {
        assert!(all.contains(want), "{want}\n{all}");
    }
    let bad = "upstreams:\n  - github: acme/y\n    prereleases: maybe\n  - github: acme/z\n    prereleases: {offer: true, flag: false}\n";
    let (all, code) = validate(bad);
    assert_eq!(code, 2, "{all}");
    for want in [
        "upkeep.yml:16:18: invalid type: string \"maybe\", expected true, false or a mapping",
        "upkeep.yml:18:32: unknown field `flag`, expected `offer` or `github_flag`",
    ] {
        assert!(all.contains(want), "{want}\n{all}");
    }
}
