//! `GET /repos/{owner}/{repo}/contents/{path}`: one file of the default
//! branch (`ref` is accepted and ignored), as GitHub's `content-file` object
//! with the text base64-encoded in lines of 60 characters. Files come from
//! [`State::files`]: the networks' config repositories
//! (`eth-clients/{mainnet,sepolia,holesky,hoodi}`, public on GitHub) are
//! there from the start, with `metadata/config.yaml` and
//! `metadata/genesis.json` holding the shipped fork schedule's values
//! (`tests/fixtures/network-configs/`); `GitHubDouble::set_file` changes
//! them. A path with no file answers 404, as GitHub does.

use base64::Engine as _;
use serde_json::json;

use super::super::state::State;
use super::{Call, Reply};

pub(in super::super) fn get(state: &mut State, call: &Call) -> Reply {
    let (Some(owner), Some(name), Some(path)) = (
        call.params.get("owner"),
        call.params.get("repo"),
        call.params.get("path"),
    ) else {
        return Reply::not_found();
    };
    let key = format!("{owner}/{name}").to_ascii_lowercase();
    let Some(text) = state.files.get(&key).and_then(|f| f.get(path)) else {
        return Reply::not_found();
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let content: String = encoded
        .as_bytes()
        .chunks(60)
        .map(|c| String::from_utf8_lossy(c).into_owned() + "\n")
        .collect();
    let sha = blob_sha(text.as_bytes());
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let api = format!("{}/repos/{owner}/{name}/contents/{path}", call.urls.api);
    let git = format!("{}/repos/{owner}/{name}/git/blobs/{sha}", call.urls.api);
    let html = format!("{}/{owner}/{name}/blob/main/{path}", call.urls.web);
    let raw = format!("{}/{owner}/{name}/raw/main/{path}", call.urls.web);
    Reply::ok(json!({
        "type": "file",
        "encoding": "base64",
        "size": text.len(),
        "name": file_name,
        "path": path,
        "content": content,
        "sha": sha,
        "url": api,
        "git_url": git,
        "html_url": html,
        "download_url": raw,
        "_links": {"self": api, "git": git, "html": html},
    }))
}

/// A stand-in blob SHA (40 hex digits, changes with the content).
fn blob_sha(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut out = String::new();
    for salt in 0u64..3 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        bytes.hash(&mut h);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(40);
    out
}
