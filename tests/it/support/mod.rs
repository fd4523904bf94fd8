//! Shared helpers for the integration tests.
//!
//! `github` is a stateful GitHub double served over loopback HTTP; its module
//! doc is the guide to using it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use upkeep::domain::manifest::Reference;

pub mod git_http;
pub mod github;
pub mod postgres;
pub mod prometheus;
pub mod registry;
pub mod slack;
pub mod world;

/// `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Runs the `upkeep` binary with `args` in `dir`, with a clean `UPKEEP_*`
/// environment.
pub fn upkeep(dir: &Path, args: &[&str]) -> Output {
    upkeep_env(dir, args, &[])
}

/// Runs the `upkeep` binary with `args` in `dir` and exactly the `UPKEEP_*`
/// (and `GITHUB_TOKEN`) variables given in `env`.
pub fn upkeep_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_upkeep"));
    cmd.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("UPKEEP_") || k == "GITHUB_TOKEN" || k.starts_with("XDG_") {
            cmd.env_remove(k);
        }
    }
    // A home of its own per test directory (outside the scanned tree), so
    // that the default state store and cache are never the user's.
    let home = std::env::temp_dir().join(format!("upkeep-it-home-{}", stable_hash(dir)));
    cmd.env("HOME", &home);
    cmd.envs(env.iter().copied());
    cmd.output().expect("run upkeep")
}

/// FNV-1a of a path, stable across runs.
fn stable_hash(path: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Copies a directory tree (no symlinks in fixtures).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary copy of `tests/fixtures/<rel>` (a directory or one file).
pub fn temp_fixture(rel: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture(rel);
    let dst = dir.path().join(src.file_name().unwrap());
    if src.is_dir() {
        copy_tree(&src, &dst);
    } else {
        std::fs::copy(&src, &dst).unwrap();
    }
    (dir, dst)
}

/// One line per reference: `file:line:col kind image tag @digest [skip]`.
pub fn listing(refs: &[Reference]) -> String {
    refs.iter()
        .map(|r| {
            let mut s = format!("{}:{}:{} {} {}", r.file, r.line, r.column, r.kind, r.image);
            s.push(' ');
            s.push_str(r.tag.as_deref().unwrap_or("-"));
            if let Some(d) = &r.digest {
                s.push_str(&format!(" @{}", &d[..d.len().min(15)]));
            }
            if let Some(skip) = r.skip {
                s.push_str(&format!(" [{skip}]"));
            }
            s + "\n"
        })
        .collect()
}
