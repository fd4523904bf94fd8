//! The hidden fingerprint at the end of every pull request body upkeep
//! writes: which repository, upstream(s), version and group the PR is for,
//! and a hash of its planned edits, so a later run can find its PR again and
//! tell whether the PR's content is current.
//!
//! Written as `<!-- upkeep:fingerprint {json} -->` with `<`, `>` and `&`
//! escaped inside the JSON, so no value can end the comment early. Only the
//! last such comment of a body counts: quoted upstream text is sanitised so
//! that it contains no HTML comment at all, and the fingerprint is appended
//! after everything else.

use serde::{Deserialize, Serialize};

/// The comment's opening, up to the JSON.
pub const MARKER: &str = "<!-- upkeep:fingerprint ";
/// The fingerprint format written by this version.
pub const VERSION: u32 = 1;

/// What a pull request is for. For a PR that bumps several upstreams,
/// `upstream` and `version` list them in the same order separated by single
/// spaces (neither a GitHub repository name nor a git tag can contain one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Format version ([`VERSION`]).
    pub v: u32,
    /// The deployment repository (`acme/deploy`, or the path of a local one).
    pub repo: String,
    /// The upstream(s) (`sigp/lighthouse`).
    pub upstream: String,
    /// The target release tag(s) (`v7.0.0`).
    pub version: String,
    /// The planner's grouping of this PR (`upstream`, `environment:mainnet`, …).
    pub group: String,
    /// [`edits_key`] of the planned edits.
    pub key: String,
    /// The environments the edits are in (sorted): what the rollout reads
    /// back from merged pull requests to know when each environment got a
    /// version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
    /// A hash of the states of the waves of its upstreams' rollouts, which
    /// the body shows: when a wave moves on, the fingerprint changes and the
    /// body is rewritten (a body edit re-runs no CI; the branch is not
    /// touched for it). Absent without a rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<String>,
    /// A rollback pull request: the number of the pull request it undoes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<u64>,
}

impl Fingerprint {
    /// `(upstream, version)` pairs.
    pub fn targets(&self) -> Vec<(&str, &str)> {
        self.upstream
            .split(' ')
            .zip(self.version.split(' '))
            .collect()
    }

    /// The hidden comment (no trailing newline).
    pub fn to_comment(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let json = json
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        format!("{MARKER}{json} -->")
    }
}

/// One planned edit: in `file`, `image` goes from tag `from` to tag `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edit<'a> {
    pub file: &'a str,
    pub image: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

/// A stable hash of a set of edits (order and duplicates do not matter):
/// FNV-1a 64 over the sorted edits, every field length-prefixed, as 16
/// lower-case hex digits.
pub fn edits_key<'a>(edits: impl IntoIterator<Item = Edit<'a>>) -> String {
    let mut edits: Vec<Edit<'a>> = edits.into_iter().collect();
    edits.sort();
    edits.dedup();
    let mut h = Fnv1a::new();
    h.write(&(edits.len() as u64).to_le_bytes());
    for e in &edits {
        for field in [e.file, e.image, e.from, e.to] {
            h.write(&(field.len() as u64).to_le_bytes());
            h.write(field.as_bytes());
        }
    }
    format!("{:016x}", h.0)
}

/// 64-bit FNV-1a of `bytes`: stable across runs, platforms and Rust
/// versions (edit keys, shard assignment).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::new();
    h.write(bytes);
    h.0
}

/// A stable hash of a list of strings (order matters), as 16 lower-case
/// hex digits: FNV-1a 64, every string length-prefixed.
pub fn text_key(parts: &[String]) -> String {
    let mut h = Fnv1a::new();
    h.write(&(parts.len() as u64).to_le_bytes());
    for p in parts {
        h.write(&(p.len() as u64).to_le_bytes());
        h.write(p.as_bytes());
    }
    format!("{:016x}", h.0)
}

/// 64-bit FNV-1a.
struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Fnv1a(Self::OFFSET)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
}

/// The fingerprint of a pull request body: the last fingerprint comment, or
/// `None` if there is none, the last one is malformed, or it has another
/// format version. An earlier comment is never used instead of a broken
/// last one.
pub fn parse_fingerprint(body: &str) -> Option<Fingerprint> {
    let start = body.rfind(MARKER)? + MARKER.len();
    let rest = &body[start..];
    let end = rest.find("-->")?;
    let fp: Fingerprint = serde_json::from_str(rest[..end].trim()).ok()?;
    (fp.v == VERSION).then_some(fp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Fingerprint {
        Fingerprint {
            v: 1,
            repo: "acme/deploy".into(),
            upstream: "sigp/lighthouse".into(),
            version: "v7.0.0".into(),
            group: "upstream".into(),
            key: "0123456789abcdef".into(),
            environments: Vec::new(),
            rollback: None,
            rollout: None,
        }
    }

    #[test]
    fn fnv1a_known_vectors() {
        let mut h = Fnv1a::new();
        assert_eq!(h.0, 0xcbf29ce484222325);
        h.write(b"a");
        assert_eq!(h.0, 0xaf63dc4c8601ec8c);
        let mut h = Fnv1a::new();
        h.write(b"foobar");
        assert_eq!(h.0, 0x85944171f73967e8);
    }

    #[test]
    fn edits_key_is_order_free_and_field_exact() {
        let a = Edit {
            file: "a.yaml",
            image: "x",
            from: "v1",
            to: "v2",
        };
        let b = Edit {
            file: "b.yaml",
            image: "x",
            from: "v1",
            to: "v2",
        };
        assert_eq!(edits_key([a, b]), edits_key([b, a, b]));
        assert_ne!(edits_key([a]), edits_key([b]));
        // Moving bytes between fields changes the key.
        let c = Edit {
            file: "a.yamlx",
            image: "",
            from: "v1",
            to: "v2",
        };
        assert_ne!(edits_key([a]), edits_key([c]));
        assert_eq!(edits_key([a]).len(), 16);
        // Pinned: the key is part of PR bodies on GitHub and must not drift.
        assert_eq!(edits_key([]), "a8c7f832281a39c5");
    }

    #[test]
    fn round_trip() {
        let f = fp();
        let body = format!("text\n\n{}\n", f.to_comment());
        assert_eq!(
            f.to_comment(),
            r#"<!-- upkeep:fingerprint {"v":1,"repo":"acme/deploy","upstream":"sigp/lighthouse","version":"v7.0.0","group":"upstream","key":"0123456789abcdef"} -->"#
        );
        assert_eq!(parse_fingerprint(&body), Some(f));
    }

    #[test]
    fn hostile_values_cannot_end_the_comment() {
        let mut f = fp();
        f.version = "v1-->\n<script>&amp;".into();
        let c = f.to_comment();
        assert_eq!(c.matches("-->").count(), 1, "{c}");
        assert!(!c[4..].contains('<'));
        assert_eq!(parse_fingerprint(&c), Some(f));
    }

    #[test]
    fn only_the_last_comment_counts() {
        let mut forged = fp();
        forged.key = "forged".into();
        let body = format!("{}\n{}", forged.to_comment(), fp().to_comment());
        assert_eq!(parse_fingerprint(&body), Some(fp()));
        // A broken last comment is not replaced by an earlier one.
        let body = format!("{}\n{MARKER}{{not json}} -->", fp().to_comment());
        assert_eq!(parse_fingerprint(&body), None);
        let body = format!("{}\n{MARKER}", fp().to_comment());
        assert_eq!(parse_fingerprint(&body), None);
        // Other format versions are not understood.
        let mut v2 = fp();
        v2.v = 2;
        assert_eq!(parse_fingerprint(&v2.to_comment()), None);
        assert_eq!(parse_fingerprint("no comment"), None);
    }

    #[test]
    fn targets_of_a_group() {
        let mut f = fp();
        f.upstream = "ethereum/go-ethereum sigp/lighthouse".into();
        f.version = "v1.15.11 v7.0.0".into();
        assert_eq!(
            f.targets(),
            [
                ("ethereum/go-ethereum", "v1.15.11"),
                ("sigp/lighthouse", "v7.0.0")
            ]
        );
    }
}
