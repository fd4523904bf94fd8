//! Rule files (`rules/common/*.yml` and user rule directories): their
//! format, validation and compilation into [`Rule`]s.
//!
//! A rule matches statements of the release notes (sentences, or blocks:
//! paragraphs, top-level list items with their nested items, table rows),
//! optionally only for some upstreams, version ranges, pre-releases and
//! sections, and yields codes, labels, a priority, breaking-change items and
//! deadlines. The format is documented key by key in `rules/README.md`.
//!
//! Every problem is reported with file, line and column: unknown keys, wrong
//! types, unknown codes, invalid regexes (compiled by the linear-time `regex`
//! crate with size limits), invalid version ranges, duplicate rule ids.
//! Pure: text in, rules out.

use std::cmp::Ordering;
use std::collections::HashMap;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::domain::version::{Scheme, Tag, Version};
use crate::domain::yaml::Node;

use super::error::{Located, Seg, locate};
use super::types::{Code, Priority};

/// Compiled-program size limit of a rule regex (256 KiB).
pub const RULE_REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Lazy-DFA cache limit of a rule regex (1 MiB).
pub const RULE_REGEX_DFA_LIMIT: usize = 1 << 20;
/// Longest pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 4096;

/// What a rule looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Each sentence of each paragraph, list item and table row.
    #[default]
    Sentence,
    /// Each paragraph, table row and top-level list item (with the text of
    /// its nested items).
    Block,
}

/// A compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub description: Option<String>,
    /// The file the rule comes from, and its line.
    pub file: String,
    pub line: usize,
    pub(crate) upstreams: Vec<Regex>,
    pub(crate) versions: Option<VersionReq>,
    pub(crate) prerelease: Option<bool>,
    pub(crate) include: Vec<Regex>,
    pub(crate) exclude: Vec<Regex>,
    pub scope: Scope,
    pub(crate) any: Vec<Regex>,
    pub(crate) all: Vec<Regex>,
    pub(crate) unless: Vec<Regex>,
    pub(crate) negation: bool,
    pub codes: Vec<Code>,
    pub labels: Vec<String>,
    pub priority: Option<Priority>,
    pub breaking_item: bool,
    pub deadline: bool,
}

impl Rule {
    /// Whether the rule applies to this release at all.
    pub(crate) fn applies(&self, repo: &str, version: Option<&Version>, prerelease: bool) -> bool {
        (self.upstreams.is_empty() || self.upstreams.iter().any(|g| g.is_match(repo)))
            && self.prerelease.is_none_or(|p| p == prerelease)
            && match &self.versions {
                None => true,
                Some(req) => version.is_some_and(|v| req.matches(v)),
            }
    }

    /// Whether a section (heading path) is in the rule's scope: the
    /// innermost heading matches an `include` (when any), and no heading
    /// matches an `exclude`.
    pub(crate) fn in_section(&self, headings: &[String]) -> bool {
        (self.include.is_empty()
            || headings
                .last()
                .is_some_and(|h| self.include.iter().any(|r| r.is_match(h))))
            && !headings
                .iter()
                .any(|h| self.exclude.iter().any(|r| r.is_match(h)))
    }
}

/// A version range: comparators separated by commas (`>=7.0.0, <8`).
#[derive(Clone, Debug)]
pub struct VersionReq {
    bounds: Vec<(Op, Version)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl VersionReq {
    /// Parses `>=7.0.0, <8`; versions may carry a `v`.
    pub fn parse(text: &str) -> Result<VersionReq, String> {
        let mut bounds = Vec::new();
        for part in text.split(',') {
            let p = part.trim();
            let (op, rest) = [
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("==", Op::Eq),
                (">", Op::Gt),
                ("<", Op::Lt),
                ("=", Op::Eq),
            ]
            .iter()
            .find_map(|(s, op)| p.strip_prefix(s).map(|r| (*op, r)))
            .unwrap_or((Op::Eq, p));
            let v = rest.trim();
            let tag = Tag::parse(&Scheme::Semver, v)
                .or_else(|| Tag::parse(&Scheme::Semver, &format!("{v}.0")))
                .ok_or_else(|| format!("{v:?} is not a version"))?;
            bounds.push((op, tag.version().clone()));
        }
        if bounds.is_empty() {
            return Err("empty version range".into());
        }
        Ok(VersionReq { bounds })
    }

    pub fn matches(&self, v: &Version) -> bool {
        self.bounds.iter().all(|(op, b)| {
            let o = v.cmp_precedence(b);
            match op {
                Op::Ge => o != Ordering::Less,
                Op::Gt => o == Ordering::Greater,
                Op::Le => o != Ordering::Greater,
                Op::Lt => o == Ordering::Less,
                Op::Eq => o == Ordering::Equal,
            }
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleFile {
    version: u32,
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    upstreams: Vec<String>,
    #[serde(default)]
    versions: Option<String>,
    #[serde(default)]
    prerelease: Option<bool>,
    #[serde(default)]
    sections: Option<RawSections>,
    #[serde(default)]
    scope: Scope,
    #[serde(default)]
    any: Vec<RawPattern>,
    #[serde(default)]
    all: Vec<RawPattern>,
    #[serde(default)]
    unless: Vec<RawPattern>,
    #[serde(default = "yes")]
    negation: bool,
    #[serde(default)]
    codes: Vec<Code>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    breaking_item: bool,
    #[serde(default)]
    deadline: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSections {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    #[serde(default)]
    phrase: Option<String>,
    #[serde(default)]
    regex: Option<String>,
}

/// Compiles a user regex: case-insensitive unless it says otherwise, with
/// size limits.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("pattern longer than {MAX_PATTERN_LEN} bytes"));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(RULE_REGEX_SIZE_LIMIT)
        .dfa_size_limit(RULE_REGEX_DFA_LIMIT)
        .nest_limit(64)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            let last = text.lines().last().unwrap_or_default().trim();
            format!(
                "invalid regex: {}",
                last.strip_prefix("error: ").unwrap_or(last)
            )
        })
}

/// A phrase: words matched case-insensitively, any whitespace or `-`
/// between them, whole words at its ends.
fn phrase(text: &str) -> Result<Regex, String> {
    let words: Vec<String> = text.split_whitespace().map(regex::escape).collect();
    if words.is_empty() {
        return Err("empty phrase".into());
    }
    let body = words.join(r"[\s-]+");
    let starts_word = text.trim_start().starts_with(|c: char| c.is_alphanumeric());
    let ends_word = text.trim_end().ends_with(|c: char| c.is_alphanumeric());
    compile(&format!(
        "{}{body}{}",
        if starts_word { r"\b" } else { "" },
        if ends_word { r"\b" } else { "" }
    ))
}

/// `owner/name` with `*` wildcards, case-insensitive.
fn glob(text: &str) -> Result<Regex, String> {
    let t = text.trim();
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '*'))
    {
        return Err(format!(
            "invalid upstream pattern {text:?}: expected `owner/name` with `*` wildcards"
        ));
    }
    let body = t
        .split('*')
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(".*");
    compile(&format!("^{body}$"))
}

/// Loads the rules of one file (`root` is its document), checking ids
/// against `seen` (id -> "file:line:column").
pub(crate) fn load(
    file: &str,
    root: &Node,
    seen: &mut HashMap<String, String>,
) -> Result<Vec<Rule>, Vec<Located>> {
    let raw: RawRuleFile = crate::domain::yaml::from_node(file, root).map_err(|e| vec![e])?;
    if raw.version != 1 {
        return Err(vec![Located::at_node(
            file,
            locate(root, &[Seg::Key("version")]),
            format!("unsupported version {}: expected 1", raw.version),
        )]);
    }
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in raw.rules.into_iter().enumerate() {
        let base = [Seg::Key("rules"), Seg::Index(i)];
        let at = |rest: &[Seg<'_>]| -> &Node {
            let mut p = base.to_vec();
            p.extend_from_slice(rest);
            locate(root, &p)
        };
        let mut err = |node: &Node, msg: String| errors.push(Located::at_node(file, node, msg));
        let id_node = at(&[Seg::Key("id")]);
        if r.id.is_empty()
            || !r
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            err(
                id_node,
                format!(
                    "invalid rule id {:?}: expected lower-case letters, digits and `-`",
                    r.id
                ),
            );
            continue;
        }
        let here = format!("{file}:{}:{}", id_node.line, id_node.column);
        if let Some(first) = seen.get(&r.id) {
            err(
                id_node,
                format!("duplicate rule id `{}` (first defined at {first})", r.id),
            );
            continue;
        }
        seen.insert(r.id.clone(), here);
        if r.codes.is_empty() && r.labels.is_empty() && r.priority.is_none() {
            err(
                at(&[]),
                "the rule yields nothing: expected at least one of `codes`, `labels`, `priority`"
                    .into(),
            );
            continue;
        }
        if r.breaking_item && !r.codes.contains(&Code::BreakingChange) {
            err(
                at(&[Seg::Key("breaking_item")]),
                "`breaking_item` needs `breaking-change` among the rule's `codes`".into(),
            );
        }
        let patterns = |key: &'static str,
                        list: &[RawPattern],
                        errs: &mut Vec<Located>|
         -> Vec<Regex> {
            let mut out = Vec::new();
            for (j, p) in list.iter().enumerate() {
                let node = at(&[Seg::Key(key), Seg::Index(j)]);
                let compiled = match (&p.phrase, &p.regex) {
                    (Some(ph), None) => phrase(ph)
                        .map_err(|e| (at(&[Seg::Key(key), Seg::Index(j), Seg::Key("phrase")]), e)),
                    (None, Some(re)) => compile(re)
                        .map_err(|e| (at(&[Seg::Key(key), Seg::Index(j), Seg::Key("regex")]), e)),
                    _ => Err((
                        node,
                        "expected exactly one of `phrase` and `regex`".to_string(),
                    )),
                };
                match compiled {
                    Ok(r) => out.push(r),
                    Err((n, e)) => errs.push(Located::at_node(file, n, e)),
                }
            }
            out
        };
        let mut errs = Vec::new();
        let any = patterns("any", &r.any, &mut errs);
        let all = patterns("all", &r.all, &mut errs);
        let unless = patterns("unless", &r.unless, &mut errs);
        let section_list =
            |key: &'static str, list: &[String], errs: &mut Vec<Located>| -> Vec<Regex> {
                let mut out = Vec::new();
                for (j, s) in list.iter().enumerate() {
                    match compile(s) {
                        Ok(re) => out.push(re),
                        Err(e) => errs.push(Located::at_node(
                            file,
                            at(&[Seg::Key("sections"), Seg::Key(key), Seg::Index(j)]),
                            e,
                        )),
                    }
                }
                out
            };
        let (include, exclude) = match &r.sections {
            Some(s) => (
                section_list("include", &s.include, &mut errs),
                section_list("exclude", &s.exclude, &mut errs),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let mut upstreams = Vec::new();
        for (j, u) in r.upstreams.iter().enumerate() {
            match glob(u) {
                Ok(g) => upstreams.push(g),
                Err(e) => errs.push(Located::at_node(
                    file,
                    at(&[Seg::Key("upstreams"), Seg::Index(j)]),
                    e,
                )),
            }
        }
        let versions = match r.versions.as_deref().map(VersionReq::parse) {
            None => None,
            Some(Ok(v)) => Some(v),
            Some(Err(e)) => {
                errs.push(Located::at_node(
                    file,
                    at(&[Seg::Key("versions")]),
                    format!("invalid version range: {e} (expected e.g. `>=7.0.0, <8`)"),
                ));
                None
            }
        };
        for l in &r.labels {
            if l.trim().is_empty() {
                errs.push(Located::at_node(
                    file,
                    at(&[Seg::Key("labels")]),
                    "empty label",
                ));
            }
        }
        if !errs.is_empty() {
            errors.extend(errs);
            continue;
        }
        let mut codes = r.codes.clone();
        codes.sort();
        codes.dedup();
        rules.push(Rule {
            id: r.id,
            description: r.description,
            file: file.to_string(),
            line: id_node.line,
            upstreams,
            versions,
            prerelease: r.prerelease,
            include,
            exclude,
            scope: r.scope,
            any,
            all,
            unless,
            negation: r.negation,
            codes,
            labels: r.labels,
            priority: r.priority,
            breaking_item: r.breaking_item,
            deadline: r.deadline,
        });
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Vec<Rule>, Vec<String>> {
        let docs = crate::domain::yaml::parse(text, 0).map_err(|e| vec![e.to_string()])?;
        load("r.yml", &docs[0], &mut HashMap::new())
            .map_err(|e| e.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_rule_compiles() {
        let rules = load_str(
            "version: 1\nrules:\n  - id: cve\n    upstreams: [\"sigp/*\"]\n    versions: \">=7.0.0, <8\"\n    any: [{regex: 'CVE-\\d{4}-\\d+'}, {phrase: security fix}]\n    codes: [security-fix]\n",
        )
        .unwrap();
        let r = &rules[0];
        let v = |s: &str| Tag::parse(&Scheme::Semver, s).unwrap().version().clone();
        assert!(r.applies("sigp/lighthouse", Some(&v("v7.1.0")), false));
        assert!(!r.applies("sigp/lighthouse", Some(&v("v8.0.0")), false));
        assert!(!r.applies("ethereum/go-ethereum", Some(&v("v7.1.0")), false));
        assert!(!r.applies("sigp/lighthouse", None, false));
        assert!(r.any[1].is_match("a Security  Fix here"));
        assert!(!r.any[1].is_match("securityfix"));
    }

    #[test]
    fn errors_name_positions() {
        let e = load_str(
            "version: 1\nrules:\n  - id: x\n    codes: [hard-fork]\n    any: [{regex: 'a(b'}]\n",
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0], "r.yml:5:19: invalid regex: unclosed group");
        let e = load_str("version: 1\nrules:\n  - id: x\n    codes: [hard-forks]\n").unwrap_err();
        assert!(
            e[0].starts_with("r.yml:4:13: unknown variant `hard-forks`"),
            "{e:?}"
        );
        let e = load_str("version: 1\nrules:\n  - id: x\n    codes: [mandatory]\n    anyy: []\n")
            .unwrap_err();
        assert!(e[0].starts_with("r.yml:5:5: unknown field `anyy`"), "{e:?}");
        let e = load_str("version: 1\nrules:\n  - id: x\n    codes: [mandatory]\n  - id: x\n    codes: [mandatory]\n").unwrap_err();
        assert_eq!(
            e,
            ["r.yml:5:9: duplicate rule id `x` (first defined at r.yml:3:9)"]
        );
        let e = load_str(
            "version: 1\nrules:\n  - id: x\n    versions: '>=banana'\n    codes: [mandatory]\n",
        )
        .unwrap_err();
        assert!(
            e[0].starts_with("r.yml:4:15: invalid version range"),
            "{e:?}"
        );
        let e = load_str("version: 1\nrules:\n  - id: x\n").unwrap_err();
        assert!(e[0].contains("yields nothing"), "{e:?}");
        let e = load_str("version: 1\nrules:\n  - id: x\n    codes: [mandatory]\n    any: [{phrase: a, regex: b}]\n").unwrap_err();
        assert!(
            e[0].starts_with("r.yml:5:11: expected exactly one"),
            "{e:?}"
        );
        let huge = "version: 1\nrules:\n  - id: x\n    codes: [mandatory]\n    any: [{regex: '(a{1000}){1000}'}]\n";
        let e = load_str(huge).unwrap_err();
        assert!(e[0].contains("invalid regex"), "{e:?}");
    }

    #[test]
    fn version_ranges() {
        let v = |s: &str| Tag::parse(&Scheme::Semver, s).unwrap().version().clone();
        let r = VersionReq::parse(">= v1.15, < 1.16.0").unwrap();
        assert!(r.matches(&v("1.15.0")));
        assert!(r.matches(&v("1.15.11")));
        assert!(!r.matches(&v("1.16.0")));
        assert!(
            r.matches(&v("1.16.0-rc.1")),
            "a pre-release of 1.16.0 precedes it"
        );
        assert!(
            VersionReq::parse("=25.11.0")
                .unwrap()
                .matches(&v("25.11.0"))
        );
        assert!(VersionReq::parse("x").is_err());
    }
}
