//! The git writer against a real smart-HTTP remote with basic auth: commits
//! built from a base tree, pushes, ownership of upkeep's branches, refusals.

use std::path::Path;
use std::process::Command;

use crate::support::git_http::GitServer;
use upkeep::io::git::{Author, GitError, Session};

const TOKEN: &str = "s3cr3t-git-token";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A commit by someone else on `branch` of the bare repository.
fn foreign_commit(server: &GitServer, name: &str, branch: &str) {
    let work = tempfile::tempdir().unwrap();
    let bare = server.bare_path(name);
    git(
        work.path(),
        &["clone", "-q", "-b", branch, bare.to_str().unwrap(), "."],
    );
    std::fs::write(work.path().join("NOTES.md"), "a human was here\n").unwrap();
    git(work.path(), &["add", "-A"]);
    git(
        work.path(),
        &[
            "-c",
            "user.name=Human",
            "-c",
            "user.email=human@example.invalid",
            "commit",
            "-q",
            "-m",
            "human",
        ],
    );
    git(work.path(), &["push", "-q", "origin", branch]);
}

const VALUES: &str = "# pinned\r\nimage:\r\n  repository: sigp/lighthouse\r\n  tag: v6.0.0\r\n";

#[test]
fn commits_a_change_and_pushes_a_new_branch() {
    let server = GitServer::start("x-access-token", TOKEN);
    let url = server.create_repo(
        "deploy",
        &[
            ("envs/mainnet/values.yaml", VALUES),
            ("run.sh", "#!/bin/sh\n"),
        ],
    );
    let cache = tempfile::tempdir().unwrap();
    let session = Session::open(cache.path(), &url, Some(TOKEN)).unwrap();
    let base = session.fetch("main", 1).unwrap().unwrap();
    let before = session
        .read(&base, "envs/mainnet/values.yaml")
        .unwrap()
        .unwrap();
    assert_eq!(before, VALUES.as_bytes());
    let after = VALUES.replace("v6.0.0", "v7.0.0");
    let author = Author::default();
    let commit = session
        .commit_files(
            &base,
            &[(
                "envs/mainnet/values.yaml".into(),
                after.clone().into_bytes(),
            )],
            "Bump lighthouse to v7.0.0",
            &author,
        )
        .unwrap();
    assert_eq!(
        session.parent_of(&commit).unwrap().as_deref(),
        Some(base.as_str())
    );
    session
        .push(&commit, "upkeep/lighthouse-v7.0.0", false)
        .unwrap();

    // what the remote now has, read with the git CLI
    let bare = server.bare_path("deploy");
    let bare = bare.to_str().unwrap();
    let shown = git(
        Path::new("."),
        &[
            "--git-dir",
            bare,
            "show",
            "upkeep/lighthouse-v7.0.0:envs/mainnet/values.yaml",
        ],
    );
    assert_eq!(shown, after.trim_end());
    let raw = git(
        Path::new("."),
        &[
            "--git-dir",
            bare,
            "cat-file",
            "-p",
            "upkeep/lighthouse-v7.0.0:envs/mainnet/values.yaml",
        ],
    );
    assert!(raw.contains("\r\n"), "CRLF kept byte for byte");
    let who = git(
        Path::new("."),
        &[
            "--git-dir",
            bare,
            "log",
            "-1",
            "--format=%an <%ae>|%s",
            "upkeep/lighthouse-v7.0.0",
        ],
    );
    assert_eq!(
        who,
        "upkeep[bot] <upkeep[bot]@users.noreply.github.com>|Bump lighthouse to v7.0.0"
    );
    let changed = git(
        Path::new("."),
        &[
            "--git-dir",
            bare,
            "diff",
            "--name-only",
            "main",
            "upkeep/lighthouse-v7.0.0",
        ],
    );
    assert_eq!(changed, "envs/mainnet/values.yaml");
    let mode = git(
        Path::new("."),
        &[
            "--git-dir",
            bare,
            "ls-tree",
            "upkeep/lighthouse-v7.0.0",
            "run.sh",
        ],
    );
    assert!(mode.starts_with("100644"), "{mode}");
}

#[test]
fn only_upkeeps_own_branches_may_be_rewritten() {
    let server = GitServer::start("x-access-token", TOKEN);
    let url = server.create_repo("deploy", &[("values.yaml", VALUES)]);
    let cache = tempfile::tempdir().unwrap();
    let session = Session::open(cache.path(), &url, Some(TOKEN)).unwrap();
    let author = Author::default();
    let base = session.fetch("main", 50).unwrap().unwrap();
    let commit = session
        .commit_files(
            &base,
            &[(
                "values.yaml".into(),
                VALUES.replace("v6.0.0", "v7.0.0").into_bytes(),
            )],
            "bump",
            &author,
        )
        .unwrap();
    session.push(&commit, "upkeep/x", false).unwrap();
    let tip = session.fetch("upkeep/x", 50).unwrap().unwrap();
    assert_eq!(tip, commit);
    assert!(session.owned_by(&tip, &base, &author).unwrap());

    foreign_commit(&server, "deploy", "upkeep/x");
    let tip = session.fetch("upkeep/x", 50).unwrap().unwrap();
    assert!(
        !session.owned_by(&tip, &base, &author).unwrap(),
        "a human commit on top"
    );

    // without force, the remote refuses a non-fast-forward update
    let again = session
        .commit_files(
            &base,
            &[(
                "values.yaml".into(),
                VALUES.replace("v6.0.0", "v7.0.1").into_bytes(),
            )],
            "bump",
            &author,
        )
        .unwrap();
    let err = session.push(&again, "upkeep/x", false).unwrap_err();
    assert!(matches!(err, GitError::Rejected { .. }), "{err}");
    assert!(!err.to_string().contains(TOKEN));
    // force (for branches upkeep owns) replaces it
    session.push(&again, "upkeep/x", true).unwrap();
    assert_eq!(session.fetch("upkeep/x", 1).unwrap().unwrap(), again);
}

#[test]
fn missing_branches_and_wrong_tokens() {
    let server = GitServer::start("x-access-token", TOKEN);
    let url = server.create_repo("deploy", &[("values.yaml", VALUES)]);
    let cache = tempfile::tempdir().unwrap();
    let session = Session::open(cache.path(), &url, Some(TOKEN)).unwrap();
    assert_eq!(session.fetch("no-such-branch", 1).unwrap(), None);

    let other = tempfile::tempdir().unwrap();
    let wrong = Session::open(other.path(), &url, Some("wrong-token-value")).unwrap();
    let err = wrong.fetch("main", 1).unwrap_err();
    assert!(matches!(err, GitError::Auth(_)), "{err}");
    assert!(!format!("{err:?}").contains("wrong-token-value"));
    assert!(
        err.to_string()
            .starts_with("authentication failed for http://127.0.0.1:"),
        "{err}"
    );
}
