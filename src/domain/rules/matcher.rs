//! Applies rules to parsed notes: which statements (sentences or blocks)
//! each rule matches, with negation handling.
//!
//! A statement matches a rule when no `unless` pattern matches it, every
//! `all` pattern matches it, and at least one `any` pattern matches it at a
//! place that is not negated (when `negation` is on: none of `not`, `no`,
//! `never`, `without`, `none`, `nor`, `cannot`, `n't` among the five words
//! before the match in the same clause). A rule without `any` matches every
//! statement that passes the other tests (section rules).
//!
//! Pure: notes and rules in, matches out.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use regex::Regex;

use crate::domain::version::Version;

use super::notes::{BlockKind, Notes, clauses, sentences};
use super::rule::{Rule, Scope};
use super::time::{self, TimeKind};

/// Negation cues before a match.
pub(crate) const NEGATION_CUES: &str = r"(?i)(\b(not|no|never|without|none|nor|cannot)\b|n't\b)";

/// One statement a rule matched.
#[derive(Clone, Debug)]
pub(crate) struct RuleMatch<'a> {
    pub rule: &'a Rule,
    /// Display text of the statement (a block's text, or the sentence).
    pub text: String,
    /// Its matching text.
    pub plain: String,
    /// Where it is: block index, then byte offset in the block's plain text.
    pub position: (usize, usize),
}

/// Every match of every applicable rule.
pub(crate) fn apply<'a>(
    rules: &'a [Rule],
    notes: &Notes,
    repo: &str,
    version: Option<&Version>,
    prerelease: bool,
    cues: &Regex,
) -> Vec<RuleMatch<'a>> {
    let mut out = Vec::new();
    for rule in rules {
        if !rule.applies(repo, version, prerelease) {
            continue;
        }
        for (i, block) in notes.blocks.iter().enumerate() {
            let analysable = match block.kind {
                BlockKind::Paragraph => true,
                BlockKind::TableRow => !block.header,
                BlockKind::Item => rule.scope == Scope::Sentence || block.depth == 0,
                BlockKind::Heading(_) | BlockKind::Code => false,
            };
            if !analysable || !rule.in_section(&notes.section(block).headings) {
                continue;
            }
            match rule.scope {
                Scope::Block => {
                    let plain = notes.plain_with_children(i);
                    if statement_matches(rule, &plain, cues) {
                        out.push(RuleMatch {
                            rule,
                            text: tidy(&block.text),
                            plain,
                            position: (i, 0),
                        });
                    }
                }
                Scope::Sentence => {
                    for (a, b) in sentences(&block.plain) {
                        let s = &block.plain[a..b];
                        if statement_matches(rule, s, cues) {
                            out.push(RuleMatch {
                                rule,
                                text: tidy(s),
                                plain: s.to_string(),
                                position: (i, a),
                            });
                        }
                    }
                }
            }
        }
    }
    // document order (stable: rule order within one statement)
    out.sort_by_key(|m| m.position);
    out
}

fn statement_matches(rule: &Rule, text: &str, cues: &Regex) -> bool {
    if rule.unless.iter().any(|r| r.is_match(text)) {
        return false;
    }
    if !rule.all.iter().all(|r| r.is_match(text)) {
        return false;
    }
    if rule.any.is_empty() {
        return true;
    }
    rule.any.iter().any(|r| {
        r.find_iter(text)
            .any(|m| !rule.negation || !negated(text, m.start(), cues))
    })
}

/// Whether a negation cue is among the five words before `at`, in the same
/// clause.
pub(crate) fn negated(text: &str, at: usize, cues: &Regex) -> bool {
    let start = clauses(text)
        .into_iter()
        .filter(|(a, _)| *a <= at)
        .map(|(a, _)| a)
        .max()
        .unwrap_or(0);
    let before = text.get(start..at).unwrap_or_default();
    let words: Vec<&str> = before.split_whitespace().collect();
    let window = words[words.len().saturating_sub(5)..].join(" ");
    cues.is_match(&window)
}

/// Trailing references dropped from displayed statements.
static TRAILING: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"\[\[PR\]\]$",
        r"\[PR\]$",
        r"\(\s*(#\d+[,\s]*)+\)$",
        r"\[#\d+\]$",
        r"#\d+$",
        r"\(\s*\)$",
        r"\bby @[\w-]+( (and|&) @[\w-]+)*( in)?$",
        r"\bin$",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

/// A statement shortened for display: links, trailing PR and author
/// references dropped, at most 240 characters.
pub(crate) fn tidy(text: &str) -> String {
    let mut t = super::notes::normalise(text);
    // trailing references: `[#123]`, `(#123)`, `#123`, `[PR]`, `by @x in`
    loop {
        let trimmed = t.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';'));
        let cut = TRAILING
            .iter()
            .find_map(|re| re.find(trimmed).map(|m| m.start()));
        match cut {
            Some(at) if at > 0 => t = trimmed[..at].to_string(),
            _ => {
                t = trimmed.to_string();
                break;
            }
        }
    }
    let t = t.trim_end_matches(['.', ':', ' ']).trim().to_string();
    if t.chars().count() > 240 {
        let mut s: String = t.chars().take(239).collect();
        s.push('…');
        s
    } else {
        t
    }
}

/// The first date with a year in `text`, as an instant (midnight UTC when no
/// time is given).
pub(crate) fn first_deadline(text: &str) -> Option<DateTime<Utc>> {
    time::find(text).into_iter().find_map(|t| match t.kind {
        TimeKind::Unix(_) => t.exact(),
        TimeKind::Calendar { date, time } => {
            let d = NaiveDate::from_ymd_opt(date.year?, date.month, date.day)?;
            let (h, m, s) = time.map_or((0, 0, 0), |t| (t.hour, t.minute, t.second.unwrap_or(0)));
            d.and_hms_opt(h, m, s).map(|x| x.and_utc())
        }
        TimeKind::Epoch(_) | TimeKind::Slot(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_drops_references() {
        assert_eq!(
            tidy("Remove PoW CLI options: `--miner-enabled`, `--miner-coinbase` #9486"),
            "Remove PoW CLI options: `--miner-enabled`, `--miner-coinbase`"
        );
        assert_eq!(
            tidy("Remove `disable-committee-aware-packing` flag. [PR]"),
            "Remove `disable-committee-aware-packing` flag"
        );
        assert_eq!(
            tidy("Schedule Fusaka on mainnet in #17736 by @yperbasis"),
            "Schedule Fusaka on mainnet"
        );
        assert_eq!(
            tidy("Holesky network support removed (#17685)"),
            "Holesky network support removed"
        );
        assert!(tidy(&"x".repeat(500)).chars().count() <= 240);
    }

    #[test]
    fn negation_window() {
        let cues = Regex::new(NEGATION_CUES).unwrap();
        let s = "upgrading is not strictly required";
        assert!(negated(s, s.find("required").unwrap(), &cues));
        let s = "There is no problem here, this release is required";
        assert!(!negated(s, s.find("required").unwrap(), &cues));
        let s = "Nimbus no longer supports the prefix";
        assert!(!negated(s, s.find("no longer").unwrap(), &cues));
    }

    #[test]
    fn deadlines() {
        assert_eq!(
            first_deadline("support ends on March 1, 2026").map(|d| d.to_rfc3339()),
            Some("2026-03-01T00:00:00+00:00".into())
        );
        assert_eq!(first_deadline("support ends on March 1"), None);
    }
}
