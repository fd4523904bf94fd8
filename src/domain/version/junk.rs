//! [`is_junk`]: floating and commit tags that are never versions.

/// Floating channel names, compared case-insensitively.
const FLOATING: &[&str] = &[
    "latest",
    "stable",
    "nightly",
    "edge",
    "main",
    "master",
    "develop",
    "development",
    "devel",
    "dev",
    "unstable",
    "testing",
    "canary",
    "next",
    "head",
    "trunk",
    "snapshot",
    "release",
    "current",
    "mainline",
    "experimental",
    "preview",
    "alpha",
    "beta",
    "rc",
    "lts",
];

/// True for tags that are never versions, whatever the scheme:
/// - empty text, or text containing whitespace or control characters;
/// - a floating channel name (`latest`, `stable`, `nightly`, `edge`, `main`,
///   `master`, `develop`, `unstable`, ...), alone or followed by `-`/`_` and a
///   rest without a dotted number (`latest-alpine`, `main-8d9c1b2`,
///   `nightly-20240101` are junk; `release-1.2.3`, `release-1_2` are not);
/// - digests and commit tags: `sha256:...`, `sha256-...` (signatures,
///   attestations), `sha-<hex>`, and any `-`/`_`/`.`-separated piece before
///   a `+` that looks like a commit hash: 7 to 64 hex characters with at
///   least one digit and one letter (`8d9c1b2`, `a94a8fe5...`), optionally
///   after a `g` as in `git describe` output (`v1.2.3-4-g8d9c1b2`).
///
/// - bare integers of 6 digits or more: date stamps (`20240101`,
///   `240101`), timestamps and CI build numbers (`1626082128492`);
/// - devnet, CI and experimental builds: a `-`/`_`/`.`-separated piece
///   that is `exp`, `experimental`, `testrun`, `buildbot`, `gha`, holds
///   `devnet` or `testnet` (`fusaka-devnet-2`, `v1.2.0-pectra-devnet-4`),
///   or is `dev` glued to a number (`v1.6.4844-dev3`; `-dev` and `-dev.1`
///   stay pre-releases).
///
/// Short integers such as `16` are not junk by this rule (a `regex:` scheme
/// may read a major-only version); under `semver` and `calver` they are
/// still not versions, having a single part.
pub fn is_junk(tag: &str) -> bool {
    if tag.is_empty() || tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return true;
    }
    if tag.len() >= 6 && tag.bytes().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let lower = tag.to_ascii_lowercase();
    if FLOATING.contains(&lower.as_str()) {
        return true;
    }
    if let Some((head, rest)) = lower.split_once(['-', '_'])
        && FLOATING.contains(&head)
        && !has_dotted_number(rest)
    {
        return true;
    }
    if lower.starts_with("sha256:") || lower.starts_with("sha256-") {
        return true;
    }
    if let Some(rest) = lower.strip_prefix("sha-")
        && (7..=64).contains(&rest.len())
        && rest.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return true;
    }
    let before_build = lower.split('+').next().unwrap_or("");
    before_build.split(['-', '_', '.']).any(|piece| {
        looks_like_hash(piece)
            || piece.strip_prefix('g').is_some_and(looks_like_hash)
            || is_build_marker(piece)
    })
}

/// A piece naming a devnet, CI or experimental build (lowercase).
fn is_build_marker(piece: &str) -> bool {
    matches!(
        piece,
        "exp" | "experimental" | "testrun" | "buildbot" | "gha"
    ) || piece.contains("devnet")
        || piece.contains("testnet")
        || piece
            .strip_prefix("dev")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
}

/// True when `s` holds a digit, `.` or `_`, digit sequence (`1.2`, `1_2`).
fn has_dotted_number(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && matches!(w[1], b'.' | b'_') && w[2].is_ascii_digit())
}

/// 7 to 64 hex characters with at least one digit and one letter.
fn looks_like_hash(piece: &str) -> bool {
    (7..=64).contains(&piece.len())
        && piece.bytes().all(|c| c.is_ascii_hexdigit())
        && piece.bytes().any(|c| c.is_ascii_digit())
        && piece.bytes().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junk() {
        for s in [
            "",
            " ",
            "latest",
            "Latest",
            "stable",
            "nightly",
            "edge",
            "main",
            "master",
            "develop",
            "unstable",
            "latest-alpine",
            "stable_slim",
            "main-8d9c1b2",
            "nightly-20240101",
            "sha-8d9c1b2",
            "sha-1234567",
            "8d9c1b2",
            "8D9C1B2",
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
            "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
            "sha256-2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae.sig",
            "v1.2.3-4-g8d9c1b2",
            "1.2.3-8d9c1b2",
            "pr-123-a1b2c3d",
            "v1.2.3\n",
            "20240101",
            "240101",
            "1626082128492",
            "v4.6.111-exp",
            "v5.1.222-EXP",
            "1.2.3-experimental",
            "fusaka-devnet-2",
            "v1.2.0-pectra-devnet-4",
            "201903-testnet0",
            "v1.6.4844-dev3",
            "1.9.dev3",
            "GHA-TESTRUN-1",
            "GHA.TESTRUN.1",
            "buildbot-testing-tag-3",
        ] {
            assert!(is_junk(s), "{s:?}");
        }
    }

    #[test]
    fn not_junk() {
        for s in [
            "v1.14.12",
            "1.27.3-alpine3.20",
            "release-1.2.3",
            "release-1_2_3-rc4-alpine",
            "16",
            "12345",
            "v5.3.0-modern",
            "v5.3.0-dev",
            "1.0.0-dev.1",
            "v4.0.3-hotfix",
            "v1.3.8-hotfix+6c0942",
            "25.2.0-alpha1",
            "v1.2.3-devel",
            "1.0.0+sha.5114f85",
            "1.0.0+8d9c1b2",
            "multiarch-v25.4.1",
            "v3.0.0-beta2",
            "deadbeef",
            "1.2.3-amd64",
        ] {
            assert!(!is_junk(s), "{s:?}");
        }
        // Seven hex characters mixing digits and letters is a short hash.
        assert!(is_junk("abc1234"));
    }
}
