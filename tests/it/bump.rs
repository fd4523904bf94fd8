//! `upkeep bump`: exact bytes after a bump, variant classes, digests,
//! quoting, and the span invariant over every fixture.

use std::path::Path;

use crate::support::{fixture, stderr, stdout, temp_fixture, upkeep};
use upkeep::domain::manifest::{self, BumpRequest, DigestAction};

const D_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const D_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const D_C: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

/// Bumps a copy of fixture `rel` and returns (before, after, stderr, exit).
fn bump(rel: &str, args: &[&str]) -> (String, String, String, i32) {
    let (dir, path) = temp_fixture(rel);
    let before = std::fs::read_to_string(&path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    let mut all = vec!["bump", name.as_str()];
    all.extend_from_slice(args);
    let out = upkeep(dir.path(), &all);
    let after = std::fs::read_to_string(&path).unwrap();
    (before, after, stderr(&out), out.status.code().unwrap())
}

#[test]
fn helm_split_tag_changes_only_the_tag_bytes() {
    let (before, after, err, code) = bump(
        "helm/split.yaml",
        &["--image", "sigp/lighthouse", "--to", "v7.0.0"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(after, before.replace("tag: v5.3.0", "tag: v7.0.0"));
    assert!(
        err.contains("split.yaml:5:8  sigp/lighthouse  v5.3.0 -> v7.0.0"),
        "{err}"
    );
}

#[test]
fn crlf_and_bom_survive() {
    let (before, after, err, code) = bump(
        "helm/crlf-bom.yaml",
        &["--image", "consensys/teku", "--to", "25.1.0"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(after.starts_with('\u{feff}'));
    assert_eq!(after, before.replace("tag: 24.10.3\r\n", "tag: 25.1.0\r\n"));
    // the commented-out tag is text
    assert!(after.contains("# tag: 24.1.0 (old)\r\n"));
}

#[test]
fn anchored_tag_is_edited_once_at_the_anchor() {
    let (before, after, err, code) = bump(
        "helm/anchors.yaml",
        &["--image", "sigp/lighthouse", "--to", "v7.0.0"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(after, before.replace("&lh v5.3.0", "&lh v7.0.0"));
}

#[test]
fn a_tag_yaml_would_read_as_a_number_is_quoted_in_the_file_style() {
    let (before, after, err, code) = bump(
        "helm/numeric-tag.yaml",
        &["--image", "grafana/grafana", "--to", "12.0"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(after, before.replace("tag: 11.5", "tag: \"12.0\""));
    // an already quoted tag keeps its quotes and only its bytes change
    let (before, after, err, code) = bump(
        "helm/numeric-tag.yaml",
        &["--image", "consensys/teku", "--to", "25.10"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(after, before.replace("tag: \"24.10\"", "tag: \"25.10\""));
}

#[test]
fn only_references_in_the_target_variant_class_move() {
    let (before, after, err, code) = bump(
        "helm/subchart.yaml",
        &["--image", "sigp/lighthouse", "--to", "v7.0.0"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(after, before, "v5.3.0-modern must not move to v7.0.0");
    assert!(
        err.contains("left alone: tag is not in the target's variant class"),
        "{err}"
    );
    let (before, after, _, _) = bump(
        "helm/subchart.yaml",
        &["--image", "sigp/lighthouse", "--to", "v7.0.0-modern"],
    );
    assert_eq!(after, before.replace("v5.3.0-modern", "v7.0.0-modern"));
    // --from names the exact current tag and crosses classes
    let (before, after, _, _) = bump(
        "helm/subchart.yaml",
        &[
            "--image",
            "sigp/lighthouse",
            "--to",
            "v7.0.0",
            "--from",
            "v5.3.0-modern",
        ],
    );
    assert_eq!(after, before.replace("v5.3.0-modern", "v7.0.0"));
}

#[test]
fn images_match_as_docker_resolves_names() {
    let (before, after, _, code) = bump(
        "helm/subchart.yaml",
        &["--image", "docker.io/library/busybox", "--to", "1.37"],
    );
    assert_eq!(code, 0);
    assert_eq!(after, before.replace("busybox:1.36", "busybox:1.37"));
    let (before, after, err, code) =
        bump("helm/subchart.yaml", &["--image", "alpine", "--to", "3.21"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(after, before.replace("alpine:3.20", "alpine:3.21"));
    // a mirror is another image
    let (before, after, err, code) = bump(
        "helm/subchart.yaml",
        &["--image", "mirror.local/library/busybox", "--to", "1.37"],
    );
    assert_eq!((code, after), (1, before));
    assert!(
        err.contains("no reference to image `mirror.local/library/busybox`"),
        "{err}"
    );
}

#[test]
fn digest_pinned_references_need_an_explicit_choice() {
    let (before, after, err, code) = bump(
        "kubernetes/multi-doc.yaml",
        &["--image", "ghcr.io/acme/app", "--to", "v2.2.0"],
    );
    assert_eq!((code, &after), (0, &before));
    assert!(
        err.contains("pinned by digest: pass --digest or --drop-digest"),
        "{err}"
    );

    let (before, after, err, code) = bump(
        "kubernetes/multi-doc.yaml",
        &[
            "--image",
            "ghcr.io/acme/app",
            "--to",
            "v2.2.0",
            "--digest",
            D_C,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        after,
        before.replace(&format!("app:v2.1.0@{D_A}"), &format!("app:v2.2.0@{D_C}"))
    );

    let (before, after, _, _) = bump(
        "kubernetes/multi-doc.yaml",
        &[
            "--image",
            "ghcr.io/acme/app",
            "--to",
            "v2.2.0",
            "--drop-digest",
        ],
    );
    assert_eq!(
        after,
        before.replace(&format!("app:v2.1.0@{D_A}"), "app:v2.2.0")
    );

    // a digest-only reference is never given a tag
    let (before, after, err, _) = bump(
        "kubernetes/multi-doc.yaml",
        &["--image", "busybox", "--to", "1.37"],
    );
    assert_eq!(after, before);
    assert!(err.contains("skipped (digest-only)"), "{err}");
}

#[test]
fn kustomize_separate_digest_key() {
    let (before, after, err, code) = bump(
        "kustomize/kustomization.yaml",
        &["--image", "busybox", "--to", "1.37.0", "--digest", D_A],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        after,
        before
            .replace(
                "newTag: 1.36.1\n    digest: sha256:bbbb",
                "newTag: 1.37.0\n    digest: sha256:aaaa"
            )
            .replace(&D_B[11..], &D_A[11..])
    );
    // newName is the image that is deployed
    let (before, after, _, _) = bump(
        "kustomize/kustomization.yaml",
        &[
            "--image",
            "registry.internal/mirror/client-go",
            "--to",
            "v1.15.0",
        ],
    );
    assert_eq!(after, before.replace("\"v1.14.12\"", "\"v1.15.0\""));
}

#[test]
fn compose_defaults_are_bumped_and_bare_variables_are_not() {
    let (before, after, err, code) = bump(
        "compose/docker-compose.yml",
        &["--image", "ethereum/client-go", "--to", "v1.15.0"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        after,
        before.replace("${GETH_TAG:-v1.14.12}", "${GETH_TAG:-v1.15.0}")
    );
    // untagged `redis` is never given a tag
    let (before, after, err, _) = bump(
        "compose/docker-compose.yml",
        &["--image", "redis", "--to", "7.4"],
    );
    assert_eq!(after, before);
    assert!(err.contains("skipped (untagged)"), "{err}");
}

#[test]
fn argocd_parameter_value_is_bumped() {
    let (before, after, err, code) = bump(
        "argocd/application.yaml",
        &["--image", "sigp/lighthouse", "--to", "v7.0.0"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(after, before.replace("value: v5.3.0", "value: v7.0.0"));
}

#[test]
fn templated_values_are_never_bumped() {
    let (before, after, err, _) = bump(
        "helm/templated.yaml",
        &["--image", "sigp/lighthouse", "--to", "v7.0.0"],
    );
    assert_eq!(after, before);
    assert!(err.contains("skipped (templated)"), "{err}");
}

#[test]
fn already_current_is_byte_identical_and_succeeds() {
    let (before, after, err, code) = bump(
        "helm/split.yaml",
        &["--image", "sigp/lighthouse", "--to", "v5.3.0"],
    );
    assert_eq!((code, after), (0, before));
    assert!(err.contains("already at the target"), "{err}");
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let (dir, path) = temp_fixture("helm/split.yaml");
    let before = std::fs::read(&path).unwrap();
    let out = upkeep(
        dir.path(),
        &[
            "bump",
            ".",
            "--image",
            "sigp/lighthouse",
            "--to",
            "v7.0.0",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let diff = stdout(&out);
    assert!(
        diff.contains("--- a/split.yaml\n+++ b/split.yaml\n"),
        "{diff}"
    );
    assert!(
        diff.contains("\n-  tag: v5.3.0\n+  tag: v7.0.0\n"),
        "{diff}"
    );
}

#[test]
fn invalid_tag_and_digest_are_usage_errors() {
    let (_, _, err, code) = bump(
        "helm/split.yaml",
        &["--image", "sigp/lighthouse", "--to", "v7 0"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("invalid tag `v7 0`"), "{err}");
    let (_, _, err, code) = bump(
        "helm/split.yaml",
        &[
            "--image",
            "sigp/lighthouse",
            "--to",
            "v7.0.0",
            "--digest",
            "sha256:12",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("invalid digest"), "{err}");
    let (_, _, _, code) = bump(
        "helm/split.yaml",
        &[
            "--image",
            "x",
            "--to",
            "1.0",
            "--digest",
            D_A,
            "--drop-digest",
        ],
    );
    assert_eq!(code, 2, "--digest and --drop-digest conflict");
}

#[cfg(unix)]
#[test]
fn permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = temp_fixture("helm/split.yaml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = upkeep(
        dir.path(),
        &["bump", ".", "--image", "sigp/lighthouse", "--to", "v7.0.0"],
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

/// For every reference in every fixture: bumping it (with `--from` its own
/// tag) changes the file only inside the spans of the references that share
/// that image and tag.
#[test]
fn every_fixture_reference_bumps_only_inside_its_span() {
    let mut checked = 0;
    for kind in [
        "helm",
        "kubernetes",
        "kustomize",
        "compose",
        "argocd",
        "dotenv",
        "dockerfile",
    ] {
        for entry in std::fs::read_dir(fixture(kind)).unwrap() {
            let path = entry.unwrap().path();
            checked += check_span_invariant(&path);
        }
    }
    assert!(checked >= 40, "only {checked} references checked");
}

fn check_span_invariant(path: &Path) -> usize {
    let name = path.file_name().unwrap().to_str().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let refs = manifest::scan_text(name, &text).unwrap().unwrap();
    let mut checked = 0;
    for r in refs.iter().filter(|r| r.skip.is_none()) {
        let (Some(tag), Some(_)) = (&r.tag, r.tag_span) else {
            continue;
        };
        let new = format!("{tag}-upkeep");
        let req = BumpRequest {
            image: r.image.clone(),
            to: new.clone(),
            from: Some(tag.clone()),
            digest: if r.digest.is_some() {
                DigestAction::Set(D_C.into())
            } else {
                DigestAction::Keep
            },
        };
        let after = manifest::bump_text(name, &text, &req)
            .unwrap()
            .1
            .expect("a change");
        // expected: the same edits done independently on the spans
        let mut spans: Vec<(usize, usize, String)> = Vec::new();
        for o in refs.iter().filter(|o| {
            o.skip.is_none()
                && o.tag.as_ref() == Some(tag)
                && manifest::image::same_image(&o.image, &r.image)
        }) {
            let s = o.tag_span.unwrap();
            spans.push((s.start, s.end, new.clone()));
            if let Some(d) = o.digest_span
                && o.digest.as_deref() != Some(D_C)
            {
                spans.push((d.start, d.end, D_C.into()));
            }
        }
        spans.sort();
        spans.dedup();
        let mut expected = String::new();
        let mut last = 0;
        for (s, e, t) in &spans {
            expected.push_str(&text[last..*s]);
            expected.push_str(t);
            last = *e;
        }
        expected.push_str(&text[last..]);
        assert_eq!(after, expected, "{}:{}", r.file, r.line);
        checked += 1;
    }
    checked
}

#[test]
fn a_digest_inside_the_helm_tag_value_is_replaced_in_place() {
    let (before, after, err, code) = bump(
        "helm/tag-with-digest.yaml",
        &[
            "--image",
            "ghcr.io/atuinsh/atuin",
            "--to",
            "18.20.0",
            "--digest",
            D_A,
        ],
    );
    assert_eq!(code, 0, "{err}");
    let old = "18.19.0@sha256:4d0ccca1d151f860b3f469c60df78bf1ab798f15e88dc1912d31d6741653eb99";
    assert_eq!(after, before.replace(old, &format!("18.20.0@{D_A}")));
    let (before, after, _, _) = bump(
        "helm/tag-with-digest.yaml",
        &[
            "--image",
            "ghcr.io/atuinsh/atuin",
            "--to",
            "18.20.0",
            "--drop-digest",
        ],
    );
    assert_eq!(after, before.replace(old, "18.20.0"));
}

/// `DigestAction::Pin` (the `pin_digests` setting) adds a digest after the
/// tag of a plain image string, replaces an existing one, and leaves
/// references with no place for a digest at their new tag only.
#[test]
fn pinning_adds_digests_only_where_an_image_string_can_hold_one() {
    let req = |image: &str, to: &str| BumpRequest {
        image: image.into(),
        to: to.into(),
        from: None,
        digest: DigestAction::Pin(D_C.into()),
    };
    let k8s = std::fs::read_to_string(fixture("kubernetes/deployment.yaml")).unwrap();
    let (_, after) = manifest::bump_text(
        "deployment.yaml",
        &k8s,
        &req("ethereum/client-go", "v1.15.0"),
    )
    .unwrap();
    assert_eq!(
        after.unwrap(),
        k8s.replace("client-go:v1.14.12", &format!("client-go:v1.15.0@{D_C}"))
    );
    let helm = std::fs::read_to_string(fixture("helm/split.yaml")).unwrap();
    let (outcomes, after) =
        manifest::bump_text("split.yaml", &helm, &req("sigp/lighthouse", "v7.0.0")).unwrap();
    assert_eq!(after.unwrap(), helm.replace("tag: v5.3.0", "tag: v7.0.0"));
    assert_eq!(
        outcomes[0].result.as_ref().unwrap().1,
        None,
        "no digest key to write"
    );
    let compose = std::fs::read_to_string(fixture("compose/docker-compose.yml")).unwrap();
    let (_, after) = manifest::bump_text(
        "docker-compose.yml",
        &compose,
        &req("ethereum/client-go", "v1.15.0"),
    )
    .unwrap();
    assert_eq!(
        after.unwrap(),
        compose.replace("${GETH_TAG:-v1.14.12}", "${GETH_TAG:-v1.15.0}"),
        "a tag inside a variable default gets no digest"
    );
}

#[cfg(unix)]
#[test]
fn hostile_files_are_left_untouched_and_reported() {
    use std::os::unix::fs::FileTypeExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (root, hostile) = crate::scan::hostile_tree(dir.path());
    let snapshot = |path: &Path| {
        let meta = std::fs::symlink_metadata(path).unwrap();
        if meta.file_type().is_symlink() {
            format!("link -> {}", std::fs::read_link(path).unwrap().display())
        } else if meta.file_type().is_fifo() {
            "fifo".to_string()
        } else {
            format!("{:?}", std::fs::read(path).unwrap())
        }
    };
    let before: Vec<String> = hostile
        .iter()
        .map(|(f, _)| snapshot(&root.join(f)))
        .collect();
    let secret = dir.path().join("outside/secret.yaml");
    let secret_before = std::fs::read(&secret).unwrap();
    let (code, _, err) = crate::scan::upkeep_with_watchdog(
        &root,
        &["bump", ".", "--image", "nginx", "--to", "1.28"],
    );
    assert_eq!(code, 3, "{err}");
    let after: Vec<String> = hostile
        .iter()
        .map(|(f, _)| snapshot(&root.join(f)))
        .collect();
    assert_eq!(before, after);
    assert_eq!(std::fs::read(&secret).unwrap(), secret_before);
    for f in ["good.yaml", "sub/values.yaml"] {
        assert_eq!(
            std::fs::read_to_string(root.join(f)).unwrap(),
            "image: nginx:1.28\n"
        );
    }
    assert!(
        err.contains("bumped 2 of 2 references to nginx in 2 files"),
        "{err}"
    );
    for (file, reason) in &hostile {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("warning: {file}: ")) && l.contains(reason)),
            "{file}: {err}"
        );
    }
}

#[test]
fn a_file_changed_before_the_write_is_not_reported_as_bumped() {
    // A plan whose file changes on disk before the write: the write is
    // refused and the reference is left alone, not "bumped".
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), "image: nginx:1.27\n").unwrap();
    std::fs::write(dir.path().join("b.yaml"), "image: nginx:1.27\n").unwrap();
    let req = BumpRequest {
        image: "nginx".into(),
        to: "1.28".into(),
        from: None,
        digest: DigestAction::Keep,
    };
    let plan = manifest::plan_bump(dir.path(), &req).unwrap();
    assert_eq!(plan.files.len(), 2);
    std::fs::write(dir.path().join("a.yaml"), "image: nginx:1.26\n").unwrap();
    let results = manifest::write_bump(&plan);
    assert!(matches!(
        results[0],
        Err(manifest::BumpError::Concurrent { .. })
    ));
    assert!(results[1].is_ok());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.yaml")).unwrap(),
        "image: nginx:1.26\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("b.yaml")).unwrap(),
        "image: nginx:1.28\n"
    );
}

#[test]
fn a_compose_tag_written_in_env_is_bumped_there_byte_exactly() {
    let (_dir, root) = temp_fixture("compose-env");
    let env = root.join("node/.env");
    let compose = root.join("node/docker-compose.yml");
    let (env_before, compose_before) = (
        std::fs::read_to_string(&env).unwrap(),
        std::fs::read_to_string(&compose).unwrap(),
    );
    let out = upkeep(
        &root,
        &["bump", ".", "--image", "sigp/lighthouse", "--to", "v5.3.1"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // the BOM, `export`, the quotes, the comment and CRLF survive; the
    // whole-image `VC_IMAGE` moves too (same image)
    let want = env_before
        .replace("LH_TAG=\"v5.3.0\"", "LH_TAG=\"v5.3.1\"")
        .replace(
            "VC_IMAGE=sigp/lighthouse:v5.3.0",
            "VC_IMAGE=sigp/lighthouse:v5.3.1",
        );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), want);
    assert_eq!(std::fs::read_to_string(&compose).unwrap(), compose_before);
    assert!(
        err.contains("node/.env:1:16  sigp/lighthouse  v5.3.0 -> v5.3.1"),
        "{err}"
    );
    // the single-quoted, spaced value with a comment
    let out = upkeep(
        &root,
        &[
            "bump",
            ".",
            "--image",
            "ethereum/client-go",
            "--to",
            "v1.14.13",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        want.replace("'v1.14.12'", "'v1.14.13'")
    );
}

#[test]
fn moving_tags_and_local_builds_are_never_bumped() {
    let (_dir, root) = temp_fixture("local-build");
    let path = root.join("docker-compose.yml");
    let before = std::fs::read_to_string(&path).unwrap();
    for (image, to) in [
        ("redis", "7.4"),
        ("acme/api", "1.5.0"),
        ("acme/tool", "2.1.0"),
    ] {
        let out = upkeep(&root, &["bump", ".", "--image", image, "--to", to]);
        assert!(
            stderr(&out).contains("left alone: skipped"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}
