//! `upkeep scan`: references found in every kind of file, positions, the
//! tree walk, and the JSON contract.

use std::path::Path;

use crate::support::{fixture, listing, stderr, stdout, upkeep};
use upkeep::domain::manifest;

fn scan_listing(rel: &str) -> String {
    let report = manifest::scan(&fixture(rel));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_spans_read_their_values(&fixture(rel), &report.references);
    listing(&report.references)
}

/// Every span points at exactly the bytes of the tag (and digest) it names.
fn assert_spans_read_their_values(root: &Path, refs: &[manifest::Reference]) {
    for r in refs {
        let path = if root.is_file() {
            root.to_path_buf()
        } else {
            root.join(&r.file)
        };
        let text = std::fs::read_to_string(path).unwrap();
        if let (Some(span), Some(tag)) = (r.tag_span, &r.tag) {
            assert_eq!(&text[span.start..span.end], tag, "{}:{}", r.file, r.line);
            let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
            assert_eq!(text[..span.start].matches('\n').count() + 1, r.line);
            let prefix = text[line_start..span.start].trim_start_matches('\u{feff}');
            assert_eq!(
                prefix.chars().count() + 1,
                r.column,
                "{}:{}",
                r.file,
                r.line
            );
        }
        if let (Some(span), Some(digest)) = (r.digest_span, &r.digest) {
            assert_eq!(&text[span.start..span.end], digest);
        }
    }
}

#[test]
fn helm_values() {
    insta::assert_snapshot!(scan_listing("helm"));
}

#[test]
fn kubernetes_manifests() {
    insta::assert_snapshot!(scan_listing("kubernetes"));
}

#[test]
fn kustomize_images() {
    insta::assert_snapshot!(scan_listing("kustomize"));
}

#[test]
fn compose_services() {
    insta::assert_snapshot!(scan_listing("compose"));
}

#[test]
fn argocd_application() {
    insta::assert_snapshot!(scan_listing("argocd"));
}

#[test]
fn dotenv_files() {
    insta::assert_snapshot!(scan_listing("dotenv"));
}

#[test]
fn dockerfiles() {
    insta::assert_snapshot!(scan_listing("dockerfile"));
}

#[test]
fn json_output_follows_the_contract() {
    let out = upkeep(
        &fixture("helm"),
        &["scan", "split.yaml", "--format", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "references": [{"file": "split.yaml", "line": 5, "column": 8, "kind": "helm-values",
                "image": "sigp/lighthouse", "tag": "v5.3.0", "digest": null, "skip": null}],
            "problems": []
        })
    );
}

#[test]
fn table_output_is_aligned() {
    let out = upkeep(&fixture("kubernetes"), &["scan", "."]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("LOCATION"));
    let kind_col = lines[0].find("KIND").unwrap();
    for l in &lines[1..] {
        assert_eq!(l.find(" kubernetes").map(|i| i + 1), Some(kind_col), "{l}");
    }
    let report = manifest::scan(&fixture("kubernetes"));
    assert_eq!(lines.len(), report.references.len() + 1);
    assert_eq!(
        text.lines().count(),
        lines.len(),
        "stdout is the table: {text}"
    );
    let files: std::collections::BTreeSet<&str> =
        report.references.iter().map(|r| r.file.as_str()).collect();
    let summary = format!(
        "{} references in {} files ({} files read)",
        report.references.len(),
        files.len(),
        report.files_scanned
    );
    assert_eq!(
        stderr(&out).trim_end().lines().last(),
        Some(summary.as_str()),
        "{}",
        stderr(&out)
    );
}

#[test]
fn walk_honours_gitignore_skips_git_binary_and_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let outside = dir.path().join("outside");
    for d in ["envs/mainnet", "ignored", ".git", "node_modules"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        root.join("envs/mainnet/values.yaml"),
        "image: sigp/lighthouse:v5.3.0\n",
    )
    .unwrap();
    std::fs::write(
        root.join("ignored/values.yaml"),
        "image: sigp/lighthouse:v1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        root.join(".git/values.yaml"),
        "image: sigp/lighthouse:v1.0.0\n",
    )
    .unwrap();
    std::fs::write(root.join(".gitignore"), "ignored/\n").unwrap();
    std::fs::write(root.join("binary.yaml"), b"image: x:1.0\n\0\0\0").unwrap();
    std::fs::write(outside.join("secret.yaml"), "image: evil/image:v6.6.6\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, root.join("link-dir")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.yaml"), root.join("link.yaml")).unwrap();
    }
    let report = manifest::scan(&root);
    assert_eq!(
        listing(&report.references),
        "envs/mainnet/values.yaml:1:24 helm-values sigp/lighthouse v5.3.0\n"
    );
    // Skipped manifests are reported, not skipped silently; a symlinked
    // directory (not a manifest) is just not entered.
    let mut problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    problems.sort();
    let mut want = vec!["binary.yaml: skipped: binary file (NUL byte at offset 13)".to_string()];
    if cfg!(unix) {
        want.push("link.yaml: skipped: is a symlink, not followed".into());
    }
    assert_eq!(problems, want);
}

/// Builds, under `dir`, a tree with a normal manifest (`good.yaml`, and
/// `sub/values.yaml` below a FIFO `.gitignore`) beside every kind of file a
/// scan must not read: returns the root and, for each hostile file, its
/// path and a word of the expected reason. Every manifest names `nginx:1.27`.
#[cfg(unix)]
pub(crate) fn hostile_tree(dir: &Path) -> (std::path::PathBuf, Vec<(&'static str, &'static str)>) {
    use std::os::unix::fs::symlink;
    let root = dir.join("repo");
    let outside = dir.join("outside");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let line = "image: nginx:1.27\n";
    std::fs::write(root.join("good.yaml"), line).unwrap();
    std::fs::write(root.join("sub/values.yaml"), line).unwrap();
    std::fs::write(outside.join("secret.yaml"), line).unwrap();
    symlink("/dev/zero", root.join(".gitignore")).unwrap();
    symlink("/dev/zero", root.join("sub/.ignore")).unwrap();
    mkfifo(&root.join("sub/.gitignore"));
    mkfifo(&root.join("pipe.yaml"));
    symlink(outside.join("secret.yaml"), root.join("link.yaml")).unwrap();
    let mut big = line.to_string();
    big.push_str(&"# padding padding padding padding padding padding\n".repeat(400_000));
    assert!(big.len() > 20_000_000);
    std::fs::write(root.join("big.yaml"), big).unwrap();
    std::fs::write(
        root.join("binary.yaml"),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR image: nginx:1.27\n",
    )
    .unwrap();
    std::fs::write(root.join("latin1.yaml"), b"image: nginx:1.27 # caf\xe9\n").unwrap();
    let mut nul = line.to_string();
    nul.push_str(&"# comment\n".repeat(1000));
    nul.push_str("# \0\n");
    std::fs::write(root.join("nul.yaml"), nul).unwrap();
    let hostile = vec![
        (".gitignore", "symlink"),
        ("sub/.ignore", "symlink"),
        ("sub/.gitignore", "FIFO"),
        ("pipe.yaml", "FIFO"),
        ("link.yaml", "symlink"),
        ("big.yaml", "larger than"),
        ("binary.yaml", "binary file"),
        ("latin1.yaml", "not valid UTF-8"),
        ("nul.yaml", "NUL byte"),
    ];
    (root, hostile)
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success());
}

/// Runs the `upkeep` binary in `dir`, killing it (and failing the test) if
/// it has not finished after 30 seconds. Returns (exit code, stdout, stderr).
#[cfg(unix)]
pub(crate) fn upkeep_with_watchdog(dir: &Path, args: &[&str]) -> (i32, String, String) {
    use std::time::{Duration, Instant};
    let out = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (out.path().join("out"), out.path().join("err"));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_upkeep"));
    for (k, _) in std::env::vars() {
        if k.starts_with("UPKEEP_") || k == "GITHUB_TOKEN" || k.starts_with("XDG_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("run upkeep");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("upkeep {args:?} still running after 30 s: killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        status.code().expect("exit code"),
        std::fs::read_to_string(out_path).unwrap(),
        std::fs::read_to_string(err_path).unwrap(),
    )
}

#[cfg(unix)]
#[test]
fn hostile_files_are_problems_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (root, hostile) = hostile_tree(dir.path());
    let (code, out, err) = upkeep_with_watchdog(&root, &["scan", ".", "--format", "json"]);
    assert_eq!(code, 3, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let refs: Vec<String> = json["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{} {}:{}", r["file"], r["image"], r["tag"]))
        .collect();
    assert_eq!(
        refs,
        [
            "\"good.yaml\" \"nginx\":\"1.27\"",
            "\"sub/values.yaml\" \"nginx\":\"1.27\""
        ]
    );
    let problems = json["problems"].as_array().unwrap();
    for (file, reason) in &hostile {
        let p = problems
            .iter()
            .find(|p| p["file"] == *file)
            .unwrap_or_else(|| panic!("no problem for {file}: {problems:?}"));
        let message = p["message"].as_str().unwrap();
        assert!(message.contains(reason), "{file}: {message}");
        assert!(err.contains(&format!("warning: {file}: ")), "{err}");
    }
    assert_eq!(problems.len(), hostile.len(), "{problems:?}");
}

#[test]
fn ignore_files_apply_from_the_innermost_directory_out() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::create_dir_all(root.join("skipped")).unwrap();
    for f in [
        "x.yaml",
        "a/x.yaml",
        "a/keep.yaml",
        "a/b/x.yaml",
        "skipped/y.yaml",
        "z.yaml",
    ] {
        std::fs::write(root.join(f), "image: nginx:1.27\n").unwrap();
    }
    std::fs::write(root.join(".gitignore"), "\u{feff}x.yaml\r\n/z.yaml\n").unwrap();
    std::fs::write(root.join("a/.gitignore"), "!x.yaml\n").unwrap();
    std::fs::write(root.join("a/b/.gitignore"), "# nothing\n").unwrap();
    std::fs::write(root.join(".ignore"), "skipped/\n").unwrap();
    let report = manifest::scan(root);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let files: Vec<&str> = report.references.iter().map(|r| r.file.as_str()).collect();
    // `!x.yaml` in a/ whitelists a/x.yaml and a/b/x.yaml; `/z.yaml` is anchored.
    assert_eq!(files, ["a/b/x.yaml", "a/keep.yaml", "a/x.yaml"]);
}

#[test]
fn malformed_yaml_names_file_line_and_column_and_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yaml"), "image: nginx:1.27\n").unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "a: b\nimage: [nginx:1.27\n").unwrap();
    let out = upkeep(dir.path(), &["scan", "."]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("bad.yaml:3:1: invalid YAML"), "{err}");
    assert!(stdout(&out).contains("good.yaml:1:14"), "{}", stdout(&out));
}

#[test]
fn malformed_yaml_that_cannot_hold_a_reference_is_not_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    // alerting configuration broken by a Go template, no image anywhere
    std::fs::write(
        dir.path().join("alerts.yaml"),
        "route:\n  receiver: x\nslack_configs:\n- channel: '#a'\n  send_resolved: true\n   title: '{{ template }}'\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("deep.yaml"), "[".repeat(300)).unwrap();
    // nor is a part of a file that cannot hold one: the image is found
    std::fs::write(
        dir.path().join("values.yaml"),
        "image: nginx:1.27\nslack_configs:\n- channel: '#a'\n  send_resolved: true\n   title: '{{ template }}'\n",
    )
    .unwrap();
    // the same breakage in the part with the image is still reported
    std::fs::write(
        dir.path().join("app.yaml"),
        "app:\n  image: nginx:1.27\n  send_resolved: true\n   title: '{{ template }}'\n",
    )
    .unwrap();
    let report = manifest::scan(dir.path());
    let found: Vec<(&str, &str)> = report
        .references
        .iter()
        .map(|r| (r.file.as_str(), r.image.as_str()))
        .collect();
    assert_eq!(found, [("values.yaml", "nginx")]);
    let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("app.yaml:4:"), "{problems:?}");
    assert_eq!(report.files_scanned, 4);
}

#[test]
fn missing_path_is_a_usage_error() {
    let out = upkeep(&fixture("helm"), &["scan", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/dir"));
}

/// Hostile YAML, generated here: thousands of levels of nesting written
/// three ways, and a billion-laughs alias bomb of 9 levels of 9 aliases each.
fn hostile_files(root: &Path) {
    let levels = 10_000;
    let flow = format!("{}x{}\n", "[".repeat(levels), "]".repeat(levels));
    // `- - - x`: 2 bytes a level, a 20 kB file
    let seqs = format!("{}x\n", "- ".repeat(levels));
    // block mappings need indentation: 2,000 levels, one space each (2 MB,
    // under the 4 MB a scanned file may have)
    let maps: String = (0..2_000)
        .map(|i| format!("{}a:\n", " ".repeat(i)))
        .collect();
    let mut bomb = "a0: &a0 [{image: \"nginx:1.0\"}]\n".to_string();
    for l in 1..=9 {
        let items = vec![format!("*a{}", l - 1); 9].join(", ");
        bomb.push_str(&format!("a{l}: &a{l} [{items}]\n"));
    }
    assert!(bomb.len() < 1_000);
    // A comment naming an image after each nesting: a file that cannot
    // hold a reference is not parsed at all (see the test below).
    for (name, text) in [
        ("deep_flow.yaml", flow + "# image\n"),
        ("deep_seq.yaml", seqs + "# image\n"),
        ("deep_map.yaml", maps + "# image\n"),
        ("bomb.yaml", bomb),
    ] {
        std::fs::write(root.join(name), text).unwrap();
    }
    std::fs::write(root.join("good.yaml"), "image: nginx:1.27\n").unwrap();
}

#[test]
fn deep_nesting_and_alias_bombs_are_problems_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    hostile_files(dir.path());
    let out = upkeep(dir.path(), &["scan", "."]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "deep_flow.yaml:1:256: invalid YAML: flow collections nested deeper than 255 levels",
        "deep_seq.yaml:1:513: invalid YAML: nested deeper than 256 levels",
        "deep_map.yaml:257:258: invalid YAML: nested deeper than 256 levels",
        "bomb.yaml:6:20: invalid YAML: aliases expand to more than 100000 nodes",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
    assert!(stdout(&out).contains("good.yaml:1:14"), "{}", stdout(&out));
    // the library says the same, one problem per hostile file
    let report = manifest::scan(dir.path());
    let mut files: Vec<_> = report.problems.iter().map(|p| p.file.as_str()).collect();
    files.sort();
    assert_eq!(
        files,
        [
            "bomb.yaml",
            "deep_flow.yaml",
            "deep_map.yaml",
            "deep_seq.yaml"
        ]
    );
    assert!(report.problems.iter().all(|p| p.line.is_some()));
    assert_eq!(report.references.len(), 1);
}

#[test]
fn compose_tags_written_in_the_projects_env_are_reported_there_once() {
    insta::assert_snapshot!(scan_listing("compose-env"));
    let report = manifest::scan(&fixture("compose-env"));
    // `LH_TAG` is read by two compose files and paired with `LH_REPO` by
    // naming convention: one place, one reference
    let at_lh: Vec<_> = report
        .references
        .iter()
        .filter(|r| r.file == "node/.env" && r.line == 1)
        .collect();
    assert_eq!(at_lh.len(), 1, "{at_lh:?}");
    assert_eq!(at_lh[0].kind, manifest::Kind::Compose);
    // the same compose file alone has nothing to look the variable up in
    let text = std::fs::read_to_string(fixture("compose-env/node/docker-compose.yml")).unwrap();
    let alone = manifest::scan_text("node/docker-compose.yml", &text)
        .unwrap()
        .unwrap();
    assert_eq!(alone[0].skip, Some(manifest::Skip::Variable));
}

#[test]
fn dockerfile_copy_and_mount_sources_are_references_but_stages_are_not() {
    let text = std::fs::read_to_string(fixture("dockerfile/copy-from.Dockerfile")).unwrap();
    let refs = manifest::scan_text("copy-from.Dockerfile", &text)
        .unwrap()
        .unwrap();
    assert_spans_read_their_values(&fixture("dockerfile/copy-from.Dockerfile"), &refs);
    insta::assert_snapshot!(listing(&refs));
}

#[test]
fn only_files_named_like_dockerfiles_are_dockerfiles() {
    insta::assert_snapshot!(scan_listing("dockerfile-names"));
}

#[test]
fn local_builds_and_moving_tags_are_skips() {
    insta::assert_snapshot!(scan_listing("local-build"));
    let out = upkeep(&fixture("local-build"), &["scan", ".", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let skips: Vec<&str> = json["references"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["skip"].as_str())
        .collect();
    assert!(
        skips.contains(&"local-build") && skips.contains(&"moving-tag"),
        "{skips:?}"
    );
}

#[test]
fn yaml_that_go_reads_is_read_with_exact_spans() {
    insta::assert_snapshot!(scan_listing("go-yaml"));
}

#[test]
fn a_single_line_json_manifest_has_exact_spans() {
    let dir = tempfile::tempdir().unwrap();
    // a minified manifest: every reference on line 1, columns far apart
    let containers: Vec<String> = (0..2000)
        .map(|i| {
            format!(
                r#"{{"name":"c{i}","image":"ghcr.io/acme/app-{i}:v1.{i}.0","args":["--x","é{i}"]}}"#
            )
        })
        .collect();
    let text = format!(
        r#"{{"apiVersion":"apps/v1","kind":"Deployment","spec":{{"template":{{"spec":{{"containers":[{}]}}}}}}}}"#,
        containers.join(",")
    );
    std::fs::write(dir.path().join("deploy.json"), &text).unwrap();
    let report = manifest::scan(dir.path());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.references.len(), 2000);
    assert_spans_read_their_values(dir.path(), &report.references);
    let last = report.references.last().unwrap();
    assert_eq!((last.line, last.tag.as_deref()), (1, Some("v1.1999.0")));
}

#[test]
fn jsonl_streams_the_same_references_as_json() {
    let json = upkeep(&fixture("compose-env"), &["scan", ".", "--format", "json"]);
    let jsonl = upkeep(&fixture("compose-env"), &["scan", ".", "--format", "jsonl"]);
    assert!(jsonl.status.success(), "{}", stderr(&jsonl));
    let json: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let lines: Vec<serde_json::Value> = stdout(&jsonl)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json["references"].as_array().unwrap(), &lines);
}
