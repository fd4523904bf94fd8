//! `.env` files (`KEY=value` lines, as read by docker compose): finds the
//! variables that hold an image tag and ties each to its repository.
//!
//! A variable is bound to an image by, in order of precedence:
//! 1. an annotation comment on the line directly above it,
//!    `# upkeep: image=<repository>` (its value is then that repository's tag,
//!    or a whole `repo:tag` image string);
//! 2. an `_IMAGE` variable whose value is a whole image string
//!    (`FOO_IMAGE=repo:tag@sha256:...`);
//! 3. naming conventions pairing a tag variable (`_TAG`, `_VERSION`,
//!    `_IMAGE_TAG`) with a repository variable of the same stem (`_REPO`,
//!    `_REPOSITORY`, `_IMAGE`, `_IMAGE_NAME`, `_IMAGE_REPO`), in either order.
//!
//! A tag variable with no repository partner is not a reference: we cannot
//! know its image. Repository values that are not image names (URLs) are
//! ignored.
//!
//! Pure: takes a [`Source`], returns references. No I/O, and it never touches
//! the other manifest kinds or the bump logic.

use std::collections::HashMap;

use super::image;
use super::{Kind, Reference, Site, Skip, Source, Span};

/// Tag-variable suffixes; the stem is what precedes the suffix.
const TAG_SUFFIXES: [&str; 3] = ["_IMAGE_TAG", "_TAG", "_VERSION"];
/// Repository-variable suffixes.
const REPO_SUFFIXES: [&str; 5] = [
    "_IMAGE_REPO",
    "_IMAGE_NAME",
    "_REPOSITORY",
    "_REPO",
    "_IMAGE",
];

/// One `KEY=value` assignment.
struct Var<'a> {
    key: &'a str,
    /// The value as written (inside the quotes when quoted).
    value: &'a str,
    /// Offset in the file's text (BOM included) of the value's first byte.
    start: usize,
    /// Single-quoted: the value is literal, no `${VAR}` interpolation.
    literal: bool,
    /// Double-quoted with a backslash: the value is not written as it reads.
    escaped: bool,
    /// Repository named by a valid `# upkeep: image=` comment directly above.
    annotation: Option<&'a str>,
}

/// References to images in a `.env` file, sorted by position.
pub(super) fn scan(src: &Source<'_>) -> Vec<Reference> {
    let vars = parse(src.body(), src.bom);
    let mut refs = Vec::new();
    // Variables that cannot be a repository partner: annotated ones and
    // `_IMAGE` variables holding a whole image string.
    let mut claimed = vec![false; vars.len()];
    for (i, var) in vars.iter().enumerate() {
        if let Some(repo) = var.annotation {
            claimed[i] = true;
            if var.literal && var.value.contains('$') {
                continue;
            }
            if is_image_string(var.value) {
                refs.extend(src.image_string(Kind::Dotenv, var.value, Some(var.start), var.start));
            } else {
                refs.extend(tag_reference(src, (repo.to_string(), None), var));
            }
        } else if has_suffix(var.key, "_IMAGE") && is_image_string(var.value) {
            claimed[i] = true;
            if !(var.literal && var.value.contains('$')) {
                refs.extend(src.image_string(Kind::Dotenv, var.value, Some(var.start), var.start));
            }
        }
    }
    // The image of each repository variable by (upper-cased) stem; the last
    // usable assignment wins, as in dotenv itself.
    let mut repos: HashMap<String, (String, Option<Skip>)> = HashMap::new();
    for (j, var) in vars.iter().enumerate() {
        let var_stems = stems(var.key, &REPO_SUFFIXES);
        if claimed[j] || var_stems.is_empty() {
            continue;
        }
        if let Some(name) = repo_name(var) {
            for stem in var_stems {
                repos.insert(stem.to_ascii_uppercase(), name.clone());
            }
        }
    }
    for (i, var) in vars.iter().enumerate() {
        if claimed[i] {
            continue;
        }
        // Longest stem first: `X_IMAGE_TAG` pairs with `X_IMAGE_REPO` (stem
        // `X_IMAGE`) before `X_IMAGE` (stem `X`).
        let partner = stems(var.key, &TAG_SUFFIXES)
            .iter()
            .find_map(|stem| repos.get(&stem.to_ascii_uppercase()).cloned());
        if let Some(repo) = partner {
            refs.extend(tag_reference(src, repo, var));
        }
    }
    refs.sort_by_key(|r| (r.line, r.column));
    refs
}

/// Every assignment of a `.env` as docker compose reads it for
/// interpolation, the last one of a name winning: (name, value, offset of
/// the value's first byte when it is written as it reads).
pub(super) fn variables<'a>(src: &Source<'a>) -> Vec<(&'a str, &'a str, Option<usize>)> {
    parse(src.body(), src.bom)
        .into_iter()
        .map(|v| {
            let plain = !v.escaped && (v.literal || !v.value.contains('$'));
            (v.key, v.value, plain.then_some(v.start))
        })
        .collect()
}

/// The stems of `key` for every suffix it ends with, longest first.
fn stems<'k>(key: &'k str, suffixes: &[&str]) -> Vec<&'k str> {
    let mut out: Vec<&str> = suffixes
        .iter()
        .filter(|s| has_suffix(key, s) && key.len() > s.len())
        .filter_map(|s| key.get(..key.len() - s.len()))
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// ASCII-case-insensitive `ends_with`.
fn has_suffix(key: &str, suffix: &str) -> bool {
    key.len() >= suffix.len()
        && key
            .get(key.len() - suffix.len()..)
            .is_some_and(|s| s.eq_ignore_ascii_case(suffix))
}

/// True when the value is written as a whole image string: it has a `:tag`
/// or `@digest` outside any `${...}` / `$VAR` expression (so `${TAG:-1.0}`
/// alone is a tag, `nginx:$TAG` an image string).
fn is_image_string(value: &str) -> bool {
    let bare = strip_variables(value);
    let last_slash = bare.rfind('/').map_or(0, |i| i + 1);
    bare.contains('@') || bare.get(last_slash..).is_some_and(|s| s.contains(':'))
}

/// The value with `${...}` and `$NAME` expressions removed.
fn strip_variables(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some(&(_, '{')) => {
                let mut depth = 0usize;
                for (_, d) in chars.by_ref() {
                    match d {
                        '{' => depth += 1,
                        '}' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            Some(&(_, d)) if d.is_ascii_alphanumeric() || d == '_' => {
                while chars
                    .next_if(|&(_, d)| d.is_ascii_alphanumeric() || d == '_')
                    .is_some()
                {}
            }
            Some(&(_, '$')) => {
                chars.next();
                out.push('$');
            }
            _ => out.push_str(value.get(i..i + 1).unwrap_or("$")),
        }
    }
    out
}

/// The image named by a repository variable, with the reason it cannot be
/// bumped when it is a variable or template. `None` when the value is not a
/// bare repository name (empty, a URL, or carrying a tag).
fn repo_name(var: &Var<'_>) -> Option<(String, Option<Skip>)> {
    let value = var.value;
    if value.is_empty() || (var.literal && value.contains('$')) {
        return None;
    }
    if image::is_templated(value) {
        return Some((value.to_string(), Some(Skip::Templated)));
    }
    match image::interpolate(value) {
        Err(skip) => Some((value.to_string(), Some(skip))),
        Ok(resolved) => {
            let parts = image::split(&resolved.text)?;
            if parts.tag.is_some() || parts.digest.is_some() {
                return None;
            }
            Some((resolved.text, None))
        }
    }
}

/// The reference for a variable holding the tag (`tag` or `tag@digest`) of
/// `repo`. `None` when the value is not a tag.
fn tag_reference(
    src: &Source<'_>,
    repo: (String, Option<Skip>),
    var: &Var<'_>,
) -> Option<Reference> {
    let (image, repo_skip) = repo;
    let skipped =
        |skip: Skip| Some(src.reference(Kind::Dotenv, var.start, &image, None, None, Some(skip)));
    if let Some(skip) = repo_skip {
        return skipped(skip);
    }
    let value = var.value;
    if image::is_templated(value) {
        return skipped(Skip::Templated);
    }
    let resolved = match image::interpolate(value) {
        Ok(r) => r,
        Err(skip) => return skipped(skip),
    };
    let text = resolved.text.as_str();
    if text.is_empty() {
        // `FOO_TAG=`: the repository is used untagged.
        return Some(src.reference(Kind::Dotenv, var.start, &image, None, None, None));
    }
    let (tag_range, digest_range) = match text.find('@') {
        Some(at) => (0..at, Some(at + 1..text.len())),
        None => (0..text.len(), None),
    };
    let tag = text.get(tag_range.clone())?;
    if !image::is_valid_tag(tag) {
        return None;
    }
    let locate = |r: std::ops::Range<usize>| {
        resolved
            .source_range(r)
            .map(|s| Span::new(var.start + s.start, var.start + s.end))
    };
    let Some(tag_span) = locate(tag_range) else {
        return skipped(Skip::Variable);
    };
    let digest = match digest_range {
        None => None,
        Some(r) => {
            let d = text.get(r.clone())?;
            if !image::is_valid_digest(d) {
                return None;
            }
            let Some(span) = locate(r) else {
                return skipped(Skip::Variable);
            };
            Some((d, span, true))
        }
    };
    Some(src.reference(
        Kind::Dotenv,
        var.start,
        &image,
        Some((tag, tag_span, Site::Text)),
        digest,
        None,
    ))
}

/// The assignments of a `.env` body; offsets are shifted by `base` (the BOM).
fn parse(body: &str, base: usize) -> Vec<Var<'_>> {
    let mut vars = Vec::new();
    let mut annotation: Option<&str> = None;
    let mut pos = 0;
    while pos < body.len() {
        let (line_end, next) = match body.get(pos..).and_then(|r| r.find('\n')) {
            Some(i) => (pos + i, pos + i + 1),
            None => (body.len(), body.len()),
        };
        let raw = body.get(pos..line_end).unwrap_or("");
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let eol = pos + line.len();
        let trimmed = line.trim_start();
        let at = eol - trimmed.len();
        if trimmed.is_empty() {
            annotation = None;
            pos = next;
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            annotation = parse_annotation(comment);
            pos = next;
            continue;
        }
        let above = annotation.take();
        match assignment(body, at, eol) {
            Some(a) => {
                vars.push(Var {
                    key: a.key,
                    value: body.get(a.value.clone()).unwrap_or(""),
                    start: base + a.value.start,
                    literal: a.quote == Some(b'\''),
                    escaped: a.quote == Some(b'"')
                        && body.get(a.value.clone()).is_some_and(|v| v.contains('\\')),
                    annotation: above,
                });
                // Always past this line: a quoted value may span several.
                pos = a.resume.max(next);
            }
            None => pos = next,
        }
    }
    vars
}

/// A parsed `KEY=value` line.
struct Assignment<'a> {
    key: &'a str,
    /// The value's byte range in the body (inside the quotes when quoted).
    value: std::ops::Range<usize>,
    /// The quote byte the value was written in.
    quote: Option<u8>,
    /// Where parsing resumes: the start of the line after the value.
    resume: usize,
}

/// Parses `[export ]KEY = value` starting at `at` (line content ends at
/// `eol`).
fn assignment(body: &str, at: usize, eol: usize) -> Option<Assignment<'_>> {
    let b = body.as_bytes();
    let is_key_start = |c: u8| c.is_ascii_alphabetic() || c == b'_';
    let is_key_byte = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-');
    let skip_ws = |mut i: usize| {
        while i < eol && matches!(b.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        i
    };
    let mut i = at;
    if body.get(i..i + 6) == Some("export")
        && matches!(b.get(i + 6), Some(b' ' | b'\t'))
        && i + 6 < eol
    {
        let j = skip_ws(i + 6);
        if j < eol && b.get(j).copied().is_some_and(is_key_start) {
            i = j;
        }
    }
    let key_start = i;
    if !(i < eol && b.get(i).copied().is_some_and(is_key_start)) {
        return None;
    }
    while i < eol && b.get(i).copied().is_some_and(is_key_byte) {
        i += 1;
    }
    let key = body.get(key_start..i)?;
    i = skip_ws(i);
    if i >= eol || b.get(i) != Some(&b'=') {
        return None;
    }
    i = skip_ws(i + 1);
    let next_line = |from: usize| {
        body.get(from..)
            .and_then(|r| r.find('\n'))
            .map_or(body.len(), |k| from + k + 1)
    };
    match b.get(i) {
        Some(&q @ (b'"' | b'\'')) if i < eol => {
            let open = i + 1;
            let mut j = open;
            while j < b.len() && b[j] != q {
                j += if q == b'"' && b[j] == b'\\' { 2 } else { 1 };
            }
            if j >= b.len() {
                return None; // unterminated quote: not an assignment
            }
            Some(Assignment {
                key,
                value: open..j,
                quote: Some(q),
                resume: next_line(j),
            })
        }
        _ => {
            let mut k = i;
            while k < eol
                && !(b.get(k) == Some(&b'#') && k > 0 && matches!(b.get(k - 1), Some(b' ' | b'\t')))
            {
                k += 1;
            }
            let value = body.get(i..k)?.trim_end();
            Some(Assignment {
                key,
                value: i..i + value.len(),
                quote: None,
                resume: next_line(eol),
            })
        }
    }
}

/// The repository of an `upkeep: image=<repository>` comment (the text
/// after `#`), if it names a valid untagged repository.
fn parse_annotation(comment: &str) -> Option<&str> {
    let rest = strip_prefix_ci(comment.trim_start(), "upkeep")?;
    let rest = rest.trim_start().strip_prefix(':')?;
    let rest = strip_prefix_ci(rest.trim_start(), "image")?;
    let repo = rest
        .trim_start()
        .strip_prefix('=')?
        .split_whitespace()
        .next()?;
    let parts = image::split(repo)?;
    (parts.tag.is_none() && parts.digest.is_none()).then_some(repo)
}

fn strip_prefix_ci<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    s.get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .and_then(|_| s.get(prefix.len()..))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::manifest::test_support::{self, Row, row};
    use proptest::prelude::*;

    const SHAPE: &str = "\u{feff}?((export )?[A-Z]{1,3}(_IMAGE|_DOCKER)?(_TAG|_REPO|_IMAGE|_VERSION|_IMAGE_NAME) ?= ?[\"']?[a-z0-9:./@${}_# -]{0,24}[\"']?\r?\n|# upkeep: image=[a-z/]{0,8}\r?\n|[^\n]{0,8}\r?\n){0,10}";

    fn scan_text(text: &str) -> Vec<Reference> {
        scan(&Source::new("default.env", text))
    }

    fn summary(text: &str) -> Vec<Row> {
        let refs = scan_text(text);
        assert!(refs.iter().all(|r| r.tag_site == Site::Text));
        test_support::summary(text, Kind::Dotenv, refs)
    }

    #[test]
    fn pairs_tag_and_repo_variables_by_stem() {
        let text = "\
# Lighthouse
LH_SRC_BUILD_TARGET='$(git describe --tags $(git rev-list --tags --max-count=1))'
LH_SRC_REPO=https://github.com/sigp/lighthouse
LH_DOCKER_TAG=latest
LH_DOCKER_REPO=sigp/lighthouse
# Nimbus
NIM_DOCKER_TAG=multiarch-latest
NIM_DOCKER_REPO=statusim/nimbus-eth2
PRYSM_DOCKER_VC_TAG=stable
PRYSM_DOCKER_TAG=stable
PRYSM_DOCKER_REPO=offchainlabs/prysm-beacon-chain
MEV_SRC_REPO=https://github.com/flashbots/mev-boost
LIDO_DV_EXIT_TAG=latest
PRYSM_DOCKER_VC_REPO=offchainlabs/prysm-validator
SSV_NODE_REPO=ssvlabs/ssv-node
SSV_NODE_TAG=latest
";
        assert_eq!(
            summary(text),
            vec![
                row("sigp/lighthouse", "latest", 4, 15),
                row("statusim/nimbus-eth2", "multiarch-latest", 7, 16),
                row("offchainlabs/prysm-validator", "stable", 9, 21),
                row("offchainlabs/prysm-beacon-chain", "stable", 10, 18),
                row("ssvlabs/ssv-node", "latest", 16, 14),
            ]
        );
    }

    #[test]
    fn other_suffixes_pair_and_the_longest_stem_wins() {
        let text = "\
APP_IMAGE_TAG=1.2.3
APP_IMAGE_REPO=ghcr.io/acme/app
APP_IMAGE=ghcr.io/acme/other
DB_VERSION=16.4
DB_IMAGE_NAME=postgres
CACHE_TAG=7.4
CACHE_REPOSITORY=registry.local:5000/redis
WEB_TAG=1.27
WEB_IMAGE=nginx
";
        assert_eq!(
            summary(text),
            vec![
                row("ghcr.io/acme/app", "1.2.3", 1, 15),
                row("postgres", "16.4", 4, 12),
                row("registry.local:5000/redis", "7.4", 6, 11),
                row("nginx", "1.27", 8, 9),
            ]
        );
    }

    #[test]
    fn url_repositories_and_unpaired_tags_are_not_references() {
        let text = "MEV_SRC_REPO=https://github.com/flashbots/mev-boost\nMEV_SRC_TAG=v1.8\nLIDO_DV_EXIT_TAG=latest\nX_REPO=sigp/lighthouse\n";
        assert!(scan_text(text).is_empty());
    }

    #[test]
    fn empty_tag_with_a_partner_is_untagged() {
        let text = "ETH_DOCKER_REPO=sigp/lighthouse\nETH_DOCKER_TAG=\nQ_TAG=\"\"\nQ_REPO=nginx\n";
        let refs = scan_text(text);
        assert_eq!(refs.len(), 2);
        assert_eq!(
            (refs[0].image.as_str(), refs[0].tag.as_deref()),
            ("sigp/lighthouse", None)
        );
        assert_eq!(
            (refs[0].line, refs[0].column, refs[0].skip),
            (2, 16, Some(Skip::Untagged))
        );
        assert_eq!(refs[0].tag_span, None);
        assert_eq!(
            (refs[1].image.as_str(), refs[1].line, refs[1].column),
            ("nginx", 3, 8)
        );
        assert_eq!(refs[1].skip, Some(Skip::Untagged));
    }

    #[test]
    fn quotes_export_spacing_and_comments() {
        let text = "\
export A_TAG=\"v1.0.0\"
 B_TAG = 'v2.0.0' # single quoted
C_TAG=v3.0.0 # trailing comment
A_REPO=a/a
B_REPO = \"b/b\"
export   C_REPO=c/c
#D_TAG=v4
";
        assert_eq!(
            summary(text),
            vec![
                row("a/a", "v1.0.0", 1, 15),
                row("b/b", "v2.0.0", 2, 11),
                row("c/c", "v3.0.0", 3, 7)
            ]
        );
        assert!(
            // `#` not preceded by a space belongs to the value (then no tag).
            scan_text("X_TAG=v1#no-comment\nX_REPO=x\n").is_empty()
        );
    }

    #[test]
    fn annotation_binds_a_tag_and_wins_over_conventions() {
        let text = "\
# upkeep: image=ghcr.io/acme/api
API_TAG=v1.2.3
API_REPO=ignored/repo
#upkeep:image = redis
CACHE=7.4.1
  #   UPKEEP :  image=  postgres   trailing words
DB=\"16\"
# upkeep: image=nginx

NOT_ANNOTATED=1.27
# upkeep: image=anything
FULL=quay.io/prometheus/prometheus:v3.0.1
";
        assert_eq!(
            summary(text),
            vec![
                row("ghcr.io/acme/api", "v1.2.3", 2, 9),
                row("redis", "7.4.1", 5, 7),
                row("postgres", "16", 7, 5),
                row("quay.io/prometheus/prometheus", "v3.0.1", 12, 36),
            ]
        );
    }

    #[test]
    fn image_variable_holding_a_full_image_string() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let text = format!(
            "GETH_IMAGE=ethereum/client-go:v1.14.12@{digest}\nGETH_TAG=v9\nPIN_IMAGE=busybox@{digest}\n"
        );
        let refs = scan_text(&text);
        assert_eq!(
            refs.len(),
            2,
            "GETH_IMAGE is not a partner for GETH_TAG: {refs:?}"
        );
        let r = &refs[0];
        assert_eq!(
            (r.image.as_str(), r.tag.as_deref()),
            ("ethereum/client-go", Some("v1.14.12"))
        );
        assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
        let (t, d) = (r.tag_span.unwrap(), r.digest_span.unwrap());
        assert_eq!(
            (&text[t.start..t.end], &text[d.start..d.end]),
            ("v1.14.12", digest.as_str())
        );
        assert!(r.digest_inline);
        assert_eq!((r.line, r.column), (1, 31));
        assert_eq!(
            (refs[1].image.as_str(), refs[1].skip),
            ("busybox", Some(Skip::DigestOnly))
        );
        assert_eq!((refs[1].line, refs[1].column), (3, 11));
    }

    #[test]
    fn tag_with_an_inline_digest() {
        let digest = format!("sha256:{}", "0f".repeat(32));
        let text = format!("LH_TAG=v5.3.0@{digest}\nLH_REPO=sigp/lighthouse\n");
        let r = &scan_text(&text)[0];
        assert_eq!(r.tag.as_deref(), Some("v5.3.0"));
        let d = r.digest_span.unwrap();
        assert_eq!(&text[d.start..d.end], digest);
        assert!(r.digest_inline);
    }

    #[test]
    fn variables_and_templates_are_skipped() {
        let text = "\
A_TAG=${UPSTREAM_TAG}
A_REPO=a/a
B_TAG=$OTHER
B_REPO=b/b
C_TAG={{ .Values.tag }}
C_REPO=c/c
D_TAG=${D_OVERRIDE:-v1.4.0}
D_REPO=d/d
E_TAG=v1
E_REPO=${REGISTRY}/e
F_IMAGE=nginx:${NGINX_TAG}
";
        let refs = scan_text(text);
        let skips: Vec<_> = refs.iter().map(|r| (r.image.as_str(), r.skip)).collect();
        assert_eq!(
            skips,
            vec![
                ("a/a", Some(Skip::Variable)),
                ("b/b", Some(Skip::Variable)),
                ("c/c", Some(Skip::Templated)),
                ("d/d", None),
                ("${REGISTRY}/e", Some(Skip::Variable)),
                ("nginx:${NGINX_TAG}", Some(Skip::Variable)),
            ]
        );
        let d = refs[3].tag_span.unwrap();
        assert_eq!(&text[d.start..d.end], "v1.4.0");
        assert_eq!((refs[3].line, refs[3].column), (7, 21));
        assert_eq!((refs[0].line, refs[0].column), (1, 7));
    }

    #[test]
    fn crlf_line_endings_stay_out_of_spans() {
        let text = "# upkeep: image=redis\r\nCACHE=7.4\r\nLH_DOCKER_TAG=latest\r\nLH_DOCKER_REPO=sigp/lighthouse\r\nEMPTY_TAG=\r\nEMPTY_REPO=x/y\r\n";
        assert_eq!(
            summary(text),
            vec![
                row("redis", "7.4", 2, 7),
                row("sigp/lighthouse", "latest", 3, 15),
                ("x/y".to_string(), None, 5, 11),
            ]
        );
        for r in scan_text(text) {
            if let Some(s) = r.tag_span {
                assert!(!text[s.start..s.end].contains('\r'));
            }
        }
    }

    #[test]
    fn bom_shifts_spans_but_not_columns() {
        let text = "\u{feff}LH_TAG=v1\nLH_REPO=sigp/lighthouse\n";
        let r = &scan_text(text)[0];
        assert_eq!((r.line, r.column), (1, 8));
        assert_eq!(r.tag_span, Some(Span::new(10, 12)));
        assert_eq!(&text[10..12], "v1");
    }

    #[test]
    fn multiline_quoted_values_are_skipped_whole() {
        let text = "CERT=\"-----BEGIN\nA_TAG=v1\n-----END\"\nA_REPO=a/a\nB_TAG=v2\nB_REPO=b/b\n";
        assert_eq!(summary(text), vec![row("b/b", "v2", 5, 7)]);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "",
            "=",
            "\n\n",
            "A",
            "A=",
            "A=\"",
            "A='",
            "A=\"\\",
            "export",
            "export ",
            "export A",
            "#",
            "# upkeep:",
            "# upkeep: image=",
            "é_TAG=1\né_REPO=x",
            "A_TAG=é\nA_REPO=x",
            "A_TAG=${\nA_REPO=x",
            "A_TAG=$\nA_REPO=x",
            "A_TAG=${é:-é}\nA_REPO=x",
            "X_IMAGE=${é",
            "_TAG=1\n_REPO=x",
            "A_TAG=1\r",
            "\u{feff}",
            "\u{feff}\r\n",
            "A_TAG=1 #\u{fffd}\nA_REPO=\u{fffd}",
            "A_TAG=\"1\"\u{fffd}\nA_REPO='x'",
        ];
        for input in inputs {
            let _ = scan_text(input);
        }
        let bytes: Vec<u8> = (0u8..=255).cycle().take(2048).collect();
        let _ = scan_text(&String::from_utf8_lossy(&bytes));
    }

    /// Every span points at exactly the text it claims, inside char boundaries.
    fn check_spans(text: &str, refs: &[Reference]) -> Result<(), TestCaseError> {
        for r in refs {
            if let (Some(tag), Some(s)) = (&r.tag, r.tag_span) {
                prop_assert_eq!(text.get(s.start..s.end), Some(tag.as_str()));
            }
            if let (Some(d), Some(s)) = (&r.digest, r.digest_span) {
                prop_assert_eq!(text.get(s.start..s.end), Some(d.as_str()));
            }
            prop_assert!(r.line >= 1 && r.column >= 1);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn spans_hold_what_they_claim(text in SHAPE) {
            check_spans(&text, &scan_text(&text))?;
        }

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = scan_text(&text);
        }
    }
}
