//! Catalog: the built-in upstreams, image lookup, tag mapping both ways,
//! extension from settings and from user catalog files.

use std::collections::HashMap;

use upkeep::domain::catalog::{Catalog, Origin};
use upkeep::domain::settings;

fn builtin() -> Catalog {
    Catalog::builtin().unwrap_or_else(|e| panic!("the built-in catalog must load:\n{e}"))
}

#[test]
fn the_builtin_catalog_loads() {
    let c = builtin();
    assert!(c.upstreams().len() >= 16);
    assert!(c.upstreams().iter().all(|u| u.origin == Origin::Builtin));
    assert!(c.upstreams().iter().all(|u| !u.images.is_empty()));
}

/// Every client and tool of `tag-schemes.md` that publishes an image, plus
/// the monitoring images: (id, GitHub repository, one official image).
const EXPECTED: &[(&str, &str, &str)] = &[
    ("geth", "ethereum/go-ethereum", "ethereum/client-go"),
    ("lighthouse", "sigp/lighthouse", "sigp/lighthouse"),
    (
        "prysm",
        "OffchainLabs/prysm",
        "gcr.io/offchainlabs/prysm/beacon-chain",
    ),
    ("teku", "Consensys/teku", "consensys/teku"),
    (
        "nethermind",
        "NethermindEth/nethermind",
        "nethermind/nethermind",
    ),
    ("besu", "besu-eth/besu", "hyperledger/besu"),
    ("nimbus", "status-im/nimbus-eth2", "statusim/nimbus-eth2"),
    ("erigon", "erigontech/erigon", "erigontech/erigon"),
    ("reth", "paradigmxyz/reth", "ghcr.io/paradigmxyz/reth"),
    ("lodestar", "ChainSafe/lodestar", "chainsafe/lodestar"),
    ("grandine", "grandinetech/grandine", "sifrai/grandine"),
    ("mev-boost", "flashbots/mev-boost", "flashbots/mev-boost"),
    ("web3signer", "Consensys/web3signer", "consensys/web3signer"),
    (
        "prometheus",
        "prometheus/prometheus",
        "quay.io/prometheus/prometheus",
    ),
    ("grafana", "grafana/grafana", "grafana/grafana"),
    (
        "node-exporter",
        "prometheus/node_exporter",
        "quay.io/prometheus/node-exporter",
    ),
];

#[test]
fn every_client_of_tag_schemes_is_present() {
    let c = builtin();
    for &(id, repo, image) in EXPECTED {
        let up = c.upstream(repo).unwrap_or_else(|| panic!("{repo} missing"));
        assert_eq!(up.id, id);
        assert_eq!(up.repo(), repo);
        let m = c.lookup(image).unwrap_or_else(|| panic!("{image} missing"));
        assert_eq!(m.upstream.id, id, "{image}");
    }
    // Former names still find the upstream.
    for (old, id) in [
        ("prysmaticlabs/prysm", "prysm"),
        ("hyperledger/besu", "besu"),
        ("ledgerwatch/erigon", "erigon"),
    ] {
        assert_eq!(c.upstream(old).map(|u| u.id.as_str()), Some(id), "{old}");
    }
    // Old and secondary registries.
    for (image, id) in [
        ("gcr.io/prysmaticlabs/prysm/validator", "prysm"),
        ("gcr.io/offchainlabs/prysm/cmd/prysmctl", "prysm"),
        ("gcr.io/prysmaticlabs/prysm/cmd/prysmctl", "prysm"),
        ("thorax/erigon", "erigon"),
        ("ghcr.io/paradigmxyz/op-reth", "reth"),
        ("statusim/nimbus-validator-client", "nimbus"),
        ("prom/prometheus", "prometheus"),
        ("prom/node-exporter", "node-exporter"),
    ] {
        assert_eq!(
            c.lookup(image).map(|m| m.upstream.id.as_str()),
            Some(id),
            "{image}"
        );
    }
    let old = c
        .lookup("gcr.io/prysmaticlabs/prysm/beacon-chain")
        .expect("old registry");
    assert_eq!(
        old.image.superseded_by.as_deref(),
        Some("gcr.io/offchainlabs/prysm/beacon-chain")
    );
}

#[test]
fn real_references_resolve_to_upstream_and_version() {
    let c = builtin();
    // (reference, upstream id, version, variant)
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        (
            "sigp/lighthouse:v5.3.0-modern",
            "lighthouse",
            "5.3.0",
            Some("-modern"),
        ),
        (
            "docker.io/sigp/lighthouse:v7.0.0",
            "lighthouse",
            "7.0.0",
            None,
        ),
        (
            "sigp/lighthouse:v5.3.0-amd64-modern",
            "lighthouse",
            "5.3.0",
            Some("-amd64-modern"),
        ),
        (
            "statusim/nimbus-eth2:multiarch-v25.4.1",
            "nimbus",
            "25.4.1",
            None,
        ),
        (
            "statusim/nimbus-eth2:amd64-v24.9.0",
            "nimbus",
            "24.9.0",
            Some("amd64-v{version}"),
        ),
        (
            "gcr.io/prysmaticlabs/prysm/beacon-chain:v5.0.4",
            "prysm",
            "5.0.4",
            None,
        ),
        (
            "gcr.io/offchainlabs/prysm/validator:v6.0.0",
            "prysm",
            "6.0.0",
            None,
        ),
        ("flashbots/mev-boost:1.8", "mev-boost", "1.8", None),
        ("flashbots/mev-boost:1.8.1", "mev-boost", "1.8.1", None),
        ("consensys/teku:25.1.0", "teku", "25.1.0", None),
        (
            "consensys/teku:24.10.3-jdk21",
            "teku",
            "24.10.3",
            Some("-jdk21"),
        ),
        ("hyperledger/besu:25.5.0", "besu", "25.5.0", None),
        ("hyperledger/besu:25.11.0-RC1", "besu", "25.11.0-RC1", None),
        (
            "nethermind/nethermind:1.31.10",
            "nethermind",
            "1.31.10",
            None,
        ),
        ("ghcr.io/paradigmxyz/reth:v1.3.12", "reth", "1.3.12", None),
        ("ghcr.io/paradigmxyz/op-reth:v1.9.3", "reth", "1.9.3", None),
        (
            "quay.io/prometheus/node-exporter:v1.8.2",
            "node-exporter",
            "1.8.2",
            None,
        ),
        (
            "quay.io/prometheus/prometheus:v3.14.0-distroless",
            "prometheus",
            "3.14.0",
            Some("-distroless"),
        ),
        (
            "grafana/grafana:11.5.2-ubuntu",
            "grafana",
            "11.5.2",
            Some("-ubuntu"),
        ),
        ("grafana/grafana:13.1.3", "grafana", "13.1.3", None),
        ("ethereum/client-go:v1.16.7", "geth", "1.16.7", None),
        ("erigontech/erigon:v3.3.1", "erigon", "3.3.1", None),
        ("thorax/erigon:v2.60.1", "erigon", "2.60.1", None),
        (
            "chainsafe/lodestar:v1.23.0-rc.0",
            "lodestar",
            "1.23.0-rc.0",
            None,
        ),
        ("sifrai/grandine:2.0.5", "grandine", "2.0.5", None),
        (
            "consensys/web3signer:26.4.1-distroless",
            "web3signer",
            "26.4.1",
            Some("-distroless"),
        ),
    ];
    for &(reference, id, version, variant) in cases {
        let r = c
            .resolve(reference)
            .unwrap_or_else(|| panic!("{reference}: not catalogued"));
        assert_eq!(r.matched.upstream.id, id, "{reference}");
        let t = r
            .version
            .unwrap_or_else(|| panic!("{reference}: no version"));
        assert_eq!(t.version.as_str(), version, "{reference}");
        assert_eq!(t.variant.as_deref(), variant, "{reference}");
    }
}

#[test]
fn channel_tags_have_no_version() {
    let c = builtin();
    for reference in [
        "sigp/lighthouse:latest",
        "sigp/lighthouse:latest-unstable",
        "statusim/nimbus-eth2:multiarch-latest",
        "ethereum/client-go:stable",
        "ethereum/client-go:release-1.16",
        "gcr.io/offchainlabs/prysm/beacon-chain:stable",
        "gcr.io/offchainlabs/prysm/beacon-chain:HEAD-abc123",
        "consensys/teku:develop",
        "chainsafe/lodestar:rc",
        "chainsafe/lodestar:next",
        "ghcr.io/paradigmxyz/reth:nightly",
        "sifrai/grandine:unstable-amd64",
        "flashbots/mev-boost:latest",
        "consensys/web3signer:latest-distroless",
        "grafana/grafana:main",
        "prom/node-exporter:master",
    ] {
        let r = c
            .resolve(reference)
            .unwrap_or_else(|| panic!("{reference}: not catalogued"));
        assert!(r.tag.is_some(), "{reference}");
        assert_eq!(r.version, None, "{reference}");
    }
    // No tag at all: catalogued, nothing to read.
    let bare = c.resolve("sigp/lighthouse").expect("catalogued");
    assert_eq!((bare.tag, bare.version), (None, None));
}

#[test]
fn release_tags_map_to_image_tags() {
    let c = builtin();
    // (image, release tag, image tag)
    let cases = [
        ("statusim/nimbus-eth2", "v25.4.1", "multiarch-v25.4.1"),
        (
            "statusim/nimbus-validator-client",
            "v24.9.0",
            "multiarch-v24.9.0",
        ),
        ("flashbots/mev-boost", "v1.9.0", "1.9.0"),
        ("flashbots/mev-boost", "v1.9", "1.9"),
        ("flashbots/mev-boost", "v1.9-alpha1", "1.9a1"),
        ("ethereum/client-go", "v1.16.7", "v1.16.7"),
        ("sigp/lighthouse", "v8.0.1", "v8.0.1"),
        ("gcr.io/offchainlabs/prysm/beacon-chain", "v7.0.0", "v7.0.0"),
        ("consensys/teku", "25.11.0", "25.11.0"),
        ("nethermind/nethermind", "1.39.0", "1.39.0"),
        ("hyperledger/besu", "25.11.0-RC1", "25.11.0-RC1"),
        ("erigontech/erigon", "v3.3.1", "v3.3.1"),
        ("ghcr.io/paradigmxyz/reth", "v1.9.3", "v1.9.3"),
        (
            "ghcr.io/paradigmxyz/op-reth",
            "v1.10.0-rc.1",
            "v1.10.0-rc.1",
        ),
        ("chainsafe/lodestar", "v1.22.0", "v1.22.0"),
        ("sifrai/grandine", "2.0.0", "2.0.0"),
        ("sifrai/grandine", "2.0.0.rc1", "2.0.0.rc1"),
        ("consensys/web3signer", "26.4.2", "26.4.2"),
        ("quay.io/prometheus/prometheus", "v3.13.2", "v3.13.2"),
        ("grafana/grafana", "v13.1.3", "13.1.3"),
        ("prom/node-exporter", "v1.12.1", "v1.12.1"),
    ];
    for (image, release_tag, want) in cases {
        let m = c.lookup(image).unwrap_or_else(|| panic!("{image}"));
        let version = m
            .upstream
            .release_version(release_tag)
            .unwrap_or_else(|| panic!("{image}: {release_tag} is a release"));
        assert_eq!(
            c.image_tag_for(&m, &version, None).as_deref(),
            Some(want),
            "{image} {release_tag}"
        );
        // And back: the image tag reads as the same release.
        let back = c
            .version_of_image_tag(&m, want)
            .unwrap_or_else(|| panic!("{image}: {want} reads back"));
        assert_eq!(
            back.version.cmp_precedence(&version),
            std::cmp::Ordering::Equal,
            "{image} {want}"
        );
        assert_eq!(back.variant, None, "{image} {want}");
    }

    // Keeping the current tag's variant and form.
    let lh = c.lookup("sigp/lighthouse").expect("catalogued");
    let v7 = lh.upstream.release_version("v7.0.0").expect("release");
    assert_eq!(
        lh.retag("v5.3.0-modern", &v7).as_deref(),
        Some("v7.0.0-modern")
    );
    let nimbus = c.lookup("statusim/nimbus-eth2").expect("catalogued");
    let v = nimbus.upstream.release_version("v25.4.1").expect("release");
    assert_eq!(
        nimbus.retag("arm64-v24.9.0", &v).as_deref(),
        Some("arm64-v25.4.1")
    );
    let mev = c.lookup("flashbots/mev-boost").expect("catalogued");
    let v = mev.upstream.release_version("v1.9.1").expect("release");
    assert_eq!(mev.retag("1.8", &v).as_deref(), Some("1.9"));
    assert_eq!(mev.retag("latest", &v), None);
}

#[test]
fn unknown_images_give_none() {
    let c = builtin();
    for image in [
        "nginx",
        "library/busybox:1.36",
        "ghcr.io/sigp/lighthouse:v5.3.0",
        "sigp/lighthouse-fork:v5.3.0",
        "quay.io/prometheus/alertmanager:v0.33.1",
        "gcr.io/prylabs-dev/prysm/beacon-chain:v4.1.0",
        "not an image",
    ] {
        assert!(c.lookup(image).is_none(), "{image}");
        assert!(c.resolve(image).is_none(), "{image}");
    }
}

#[test]
fn a_settings_upstream_adds_an_image() {
    let text = r#"
upstreams:
  - github: acme/custom-node
    versioning: semver
    prereleases: true
    images:
      - name: ghcr.io/acme/custom-node
        tag: "node-v{version}"
  - github: prysmaticlabs/prysm
    images:
      - name: registry.acme.internal/prysm/beacon-chain
        tag: "v{version}"
"#;
    let s = settings::load_str(text, "upkeep.yml", None, &HashMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let c = Catalog::with_settings(&s).unwrap_or_else(|e| panic!("{e}"));

    let r = c
        .resolve("ghcr.io/acme/custom-node:node-v2.1.0-rc.1")
        .expect("mapped by settings");
    assert_eq!(r.matched.upstream.repo(), "acme/custom-node");
    assert_eq!(r.matched.upstream.origin, Origin::Settings);
    assert!(r.matched.upstream.prereleases.offer);
    let t = r.version.expect("a version");
    assert_eq!(t.version.as_str(), "2.1.0-rc.1");
    let up = r.matched.upstream;
    let next = up.release_version("v2.2.0").expect("a release");
    assert_eq!(
        r.matched.tag_for(&next, None).as_deref(),
        Some("node-v2.2.0")
    );

    // An entry under a former name extends the catalogued upstream.
    let mirror = c
        .lookup("registry.acme.internal/prysm/beacon-chain")
        .expect("mapped");
    assert_eq!(mirror.upstream.id, "prysm");
    assert!(c.lookup("gcr.io/offchainlabs/prysm/beacon-chain").is_some());
}

#[test]
fn a_user_catalog_file_extends_and_malformed_entries_are_positioned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("acme.yml");
    std::fs::write(
        &good,
        "version: 1\nupstreams:\n  - id: acme\n    github: acme/node\n    versioning: calver\n    release_tag: \"{version}\"\n    channels: [edge-latest]\n    images:\n      - name: ghcr.io/acme/node\n        tag: \"{version}\"\n        variants: [-slim]\n",
    )
    .expect("write");
    let mut c = builtin();
    c.extend_from_path(dir.path())
        .unwrap_or_else(|e| panic!("{e}"));
    let r = c.resolve("ghcr.io/acme/node:2025.1.3-slim").expect("added");
    assert_eq!(r.matched.upstream.origin, Origin::File);
    let t = r.version.expect("a version");
    assert_eq!(
        (t.version.as_str(), t.variant.as_deref()),
        ("2025.1.3", Some("-slim"))
    );
    assert!(
        c.resolve("ghcr.io/acme/node:edge-latest")
            .expect("added")
            .version
            .is_none()
    );

    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "version: 1\nupstreams:\n  - id: broken\n    github: acme/broken\n    images:\n      - name: ghcr.io/acme/broken\n        tag: \"v{version}\"\n        varaints: [-slim]\n      - name: ghcr.io/acme/other\n        tag: \"v{verison}\"\n",
    )
    .expect("write");
    let mut c = builtin();
    let err = c.extend_from_path(&bad).expect_err("malformed");
    let shown = bad.display().to_string();
    let lines: Vec<String> = err.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(
        lines[0],
        format!(
            "{shown}:8:9: unknown field `varaints`, expected one of `name`, `tag`, `variants`, `minor_tags`, `version_format`, `superseded_by`, `role`"
        )
    );
    assert!(
        lines[1].starts_with(&format!(
            "{shown}:10:14: invalid tag template \"v{{verison}}\""
        )),
        "{}",
        lines[1]
    );
    // Nothing was added from a directory with a broken file.
    let mut c = builtin();
    assert!(c.extend_from_path(dir.path()).is_err());
    assert!(c.lookup("ghcr.io/acme/node").is_none());

    let missing = c
        .extend_from_path(&dir.path().join("nope.yml"))
        .expect_err("missing file");
    assert!(missing.to_string().contains("cannot read the catalog file"));
}

/// Tag histories as the upstreams publish them (odd, legacy and junk tags
/// included; newest scheme last), and the releases the catalog reads from
/// them, oldest first. Fixtures of our own, shaped like the real lists.
const HISTORIES: &[(&str, &[&str], &[&str])] = &[
    (
        "ethereum/go-ethereum",
        &[
            "v0.6.5-1",
            "v0.7.10-broken",
            "v1.0.1.1",
            "0.9.16",
            "1.2.1",
            "2",
            "PoC6",
            "poc5-rc1",
            "buildbot-testing-tag-3",
            "fusaka-devnet-2",
            "v1.10.8",
            "v1.16.7",
        ],
        &["v1.0.1.1", "v1.10.8", "v1.16.7"],
    ),
    (
        "sigp/lighthouse",
        &[
            "v2.1.0-rc.1",
            "v3.4.0-tree.1",
            "v4.2.990-exp",
            "v4.6.0-rc.0",
            "v4.6.111-exp",
            "eth2-ssz-v0.4.1",
            "c0.2.7",
            "quic-test",
            "v5.3.0",
            "v8.0.1",
        ],
        &["v2.1.0-rc.1", "v4.6.0-rc.0", "v5.3.0", "v8.0.1"],
    ),
    (
        "OffchainLabs/prysm",
        &[
            "0.0.0",
            "0.3.5",
            "v1.0.0-alpha.29",
            "v1.0.0.rc.1",
            "v1.0.0-beta.0.rc",
            "v1.2.1-rc",
            "v1.3.8-hotfix+6c0942",
            "audit1",
            "ethSpec-v0.10.1",
            "test",
            "v4.0.3",
            "v4.0.3-hotfix",
            "v4.1.1-hotfix",
            "v5.1.2-mekong",
            "v5.1.2-mekong-1",
            "v6.0.5-rc.0-fix",
            "v7.1.4-rc.3",
            "v7.1.6",
        ],
        &[
            "v1.0.0-alpha.29",
            "v1.2.1-rc",
            "v1.3.8-hotfix+6c0942",
            "v4.0.3",
            "v4.0.3-hotfix",
            "v4.1.1-hotfix",
            "v7.1.4-rc.3",
            "v7.1.6",
        ],
    ),
    (
        "Consensys/teku",
        &[
            "v.07.1.3",
            "v.7.1.x",
            "v0.1.x",
            "v0.4.2",
            "v0.5.1.2",
            "20.11.0-RC1",
            "22.9.1-RC1",
            "24.10.3",
            "25.11.0",
            "26.8.0",
        ],
        &["20.11.0-RC1", "22.9.1-RC1", "24.10.3", "25.11.0", "26.8.0"],
    ),
    (
        "besu-eth/besu",
        &[
            "1.4.0-beta1",
            "1626082128492",
            "canary",
            "dev",
            "develop",
            "GHA-TESTRUN-1",
            "GHA.TESTRUN.1",
            "22.12.8",
            "22.12.8.1",
            "22.12.8.4",
            "23.1.0-BETA",
            "23.10.3-hotfix",
            "24.3.0",
            "24.3.0-hotfix",
            "25.2.0-alpha1",
            "25.11.0-RC1",
            "25.11.0",
        ],
        &[
            "1.4.0-beta1",
            "22.12.8",
            "22.12.8.1",
            "22.12.8.4",
            "23.1.0-BETA",
            "23.10.3-hotfix",
            "24.3.0",
            "24.3.0-hotfix",
            "25.2.0-alpha1",
            "25.11.0-RC1",
            "25.11.0",
        ],
    ),
    (
        "status-im/nimbus-eth2",
        &[
            "201903-testnet0",
            "altair-beta",
            "altona_v1",
            "witti",
            "v0.0.5-RC1",
            "v1.0.0-test",
            "v1.0.11-RC1",
            "v1.7.0",
            "v23.2.0-rc",
            "v23.6.1-rc2",
            "v24.9.0",
            "latest",
            "nightly",
        ],
        &[
            "v0.0.5-RC1",
            "v1.0.11-RC1",
            "v1.7.0",
            "v23.2.0-rc",
            "v23.6.1-rc2",
            "v24.9.0",
        ],
    ),
    (
        "erigontech/erigon",
        &[
            "v2021.10.2",
            "v2022.09.01",
            "v2.60.1",
            "v3.0.0-alpha5",
            "v3.0.0-beta2",
            "v3.0.0-rc1",
            "v3.3.1",
        ],
        &[
            "v2.60.1",
            "v3.0.0-alpha5",
            "v3.0.0-beta2",
            "v3.0.0-rc1",
            "v3.3.1",
        ],
    ),
    (
        "ChainSafe/lodestar",
        &[
            "v0.34.0-beta.0",
            "1.17.11",
            "v1.21.0-rc.5",
            "v1.22.0",
            "v1.23.0-rc.0",
        ],
        &["v0.34.0-beta.0", "v1.21.0-rc.5", "v1.22.0", "v1.23.0-rc.0"],
    ),
    (
        "grandinetech/grandine",
        &[
            "0.4.0.rc7",
            "1.0.0.rc2",
            "1.0.0",
            "1.1.3.rc1",
            "2.0.0.rc0",
            "2.0.0.rc1",
            "2.0.0",
        ],
        &[
            "0.4.0.rc7",
            "1.0.0.rc2",
            "1.0.0",
            "1.1.3.rc1",
            "2.0.0.rc0",
            "2.0.0.rc1",
            "2.0.0",
        ],
    ),
    (
        "flashbots/mev-boost",
        &[
            "v1.6-alpha7",
            "1.6.1-alpha1",
            "v1.6.1-alpha1",
            "v1.6.4844-dev1",
            "v1.6.4844-dev5",
            "v1.7",
            "v1.7.0",
            "v1.8-rc1",
            "v1.8-rc4",
            "v1.8",
            "v1.8.0",
            "v1.8.1",
        ],
        &[
            "v1.6-alpha7",
            "v1.6.1-alpha1",
            "v1.7",
            "v1.7.0",
            "v1.8-rc1",
            "v1.8-rc4",
            "v1.8",
            "v1.8.0",
            "v1.8.1",
        ],
    ),
    (
        "Consensys/web3signer",
        &[
            "0.1.0",
            "0.2.0",
            "21.8.1-rc1",
            "24.2.0",
            "25.3.0-RC2",
            "26.4.1",
            "26.4.1-RC2",
            "26.4.2",
        ],
        &[
            "0.1.0",
            "0.2.0",
            "21.8.1-rc1",
            "24.2.0",
            "25.3.0-RC2",
            "26.4.1-RC2",
            "26.4.1",
            "26.4.2",
        ],
    ),
];

#[test]
fn tag_histories_read_as_releases_in_order() {
    let c = builtin();
    for &(repo, tags, want) in HISTORIES {
        let up = c.upstream(repo).unwrap_or_else(|| panic!("{repo}"));
        let mut got: Vec<(upkeep::domain::version::Version, &str)> = tags
            .iter()
            .filter_map(|t| up.release_version(t).map(|v| (v, *t)))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let got: Vec<&str> = got.iter().map(|(_, t)| *t).collect();
        assert_eq!(got, want, "{repo}");
    }
    // Hotfixes are finals, between their base and the next release.
    let besu = c.upstream("besu-eth/besu").unwrap();
    let hot = besu.release_version("24.3.0-hotfix").unwrap();
    assert!(hot.is_hotfix() && !besu.is_prerelease(&hot, false));
}
