//! Puts the detectors together into a [`Classification`]: forks from the
//! fork detector, codes, labels, breaking items and deadlines from the rules,
//! the stated priority, and the derived priority when none is stated.
//!
//! Derived priority: `critical` for a security fix the notes call mandatory;
//! `high` for a mandatory release, a security fix, or a fork on mainnet;
//! `medium` for any other fork, a breaking change, a database migration or a
//! resync; `low` otherwise. A stated priority wins over the derived one; a
//! rule's `priority` raises the result to at least its level.
//!
//! Pure.

use crate::domain::release::Release;
use crate::domain::version::{Scheme, Tag};

use super::Engine;
use super::matcher::{self, first_deadline};
use super::notes::Notes;
use super::types::{Classification, Code, Evidence, ForkActivation, Priority, PrioritySource};

/// The rule id given to evidence of the fork detector.
pub const FORK_DETECTOR: &str = "fork-detector";
/// The rule id given to evidence of stated priorities.
pub const STATED_PRIORITY: &str = "stated-priority";

pub(crate) fn classify(engine: &Engine, repo: &str, release: &Release) -> Classification {
    let tag = release.tag_name.trim();
    let version = Tag::parse(&Scheme::Semver, tag).map(|t| t.version().clone());
    let prerelease = release.prerelease || version.as_ref().is_some_and(|v| v.is_prerelease());
    let notes = Notes::parse(release.notes());

    let mut codes: Vec<Code> = Vec::new();
    let mut evidence: Vec<Evidence> = Vec::new();
    let detected = engine.forks.detect(&engine.schedule, &notes);
    let forks: Vec<ForkActivation> = detected.iter().map(|d| d.fork.clone()).collect();
    if let Some(d) = detected.first() {
        codes.push(Code::HardFork);
        evidence.push(Evidence {
            code: Some(Code::HardFork),
            rule: FORK_DETECTOR.to_string(),
            text: matcher::tidy(&d.evidence),
        });
    }
    // a time the notes state that the schedule puts elsewhere: reported,
    // never silently picked
    for f in &forks {
        for n in &f.per_network {
            let stated = n.basis.is_some_and(|b| b != super::Basis::Schedule);
            let (Some(at), Some(scheduled)) = (
                n.activation,
                engine.schedule.activation(&f.fork, &n.network),
            ) else {
                continue;
            };
            if stated && at != scheduled.time {
                if !codes.contains(&Code::ScheduleMismatch) {
                    codes.push(Code::ScheduleMismatch);
                }
                evidence.push(Evidence {
                    code: Some(Code::ScheduleMismatch),
                    rule: FORK_DETECTOR.to_string(),
                    text: format!(
                        "{} on {}: the notes say {}, the schedule ({}) says {}",
                        f.fork,
                        n.network,
                        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        scheduled.source,
                        scheduled
                            .time
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                });
            }
        }
    }

    let mut labels: Vec<String> = Vec::new();
    let mut breaking: Vec<String> = Vec::new();
    let mut rule_priority: Option<Priority> = None;
    let mut deadline = None;
    // blocks listed whole as breaking items: their nested items are part of them
    let mut listed_blocks: Vec<usize> = Vec::new();
    for m in matcher::apply(
        &engine.rules,
        &notes,
        repo,
        version.as_ref(),
        prerelease,
        &engine.cues,
    ) {
        for c in &m.rule.codes {
            if !codes.contains(c) {
                codes.push(*c);
            }
            if !evidence
                .iter()
                .any(|e| e.code == Some(*c) && e.rule == m.rule.id)
            {
                evidence.push(Evidence {
                    code: Some(*c),
                    rule: m.rule.id.clone(),
                    text: m.text.clone(),
                });
            }
        }
        for l in &m.rule.labels {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        rule_priority = rule_priority.max(m.rule.priority);
        let (block, _) = m.position;
        let nested_in_listed = item_ancestors(&notes, block).any(|a| listed_blocks.contains(&a));
        if m.rule.breaking_item && !m.text.is_empty() && !nested_in_listed {
            if m.rule.scope == super::rule::Scope::Block {
                listed_blocks.push(block);
            }
            let key = fold(&m.text);
            if !breaking.iter().any(|b| {
                let b = fold(b);
                b.contains(&key) || key.contains(&b)
            }) {
                breaking.push(m.text.clone());
            }
        }
        if m.rule.deadline
            && let Some(d) = first_deadline(&m.plain)
        {
            deadline = Some(deadline.map_or(d, |x: chrono::DateTime<chrono::Utc>| x.min(d)));
        }
    }
    codes.sort();
    evidence.sort_by_key(|e| e.code);

    let security = codes.contains(&Code::SecurityFix);
    let mandatory = codes.contains(&Code::Mandatory);
    let (mut priority, mut source) = match engine.priority.detect(&notes, &engine.cues) {
        Some((p, why)) => {
            evidence.push(Evidence {
                code: None,
                rule: STATED_PRIORITY.to_string(),
                text: matcher::tidy(&why),
            });
            (p, PrioritySource::Stated)
        }
        None => (derived(&codes, &forks), PrioritySource::Derived),
    };
    if let Some(r) = rule_priority
        && r > priority
    {
        priority = r;
        source = PrioritySource::Rule;
    }
    Classification {
        repo: repo.to_string(),
        tag: tag.to_string(),
        version: version.map(|v| v.as_str().to_string()),
        prerelease,
        codes,
        forks,
        breaking,
        security,
        mandatory,
        priority,
        priority_source: source,
        labels,
        deadline,
        evidence,
        truncated: notes.truncated,
    }
}

/// The list items enclosing block `i` (not lead-in paragraphs).
fn item_ancestors(notes: &Notes, i: usize) -> impl Iterator<Item = usize> + '_ {
    let mut current = notes.blocks.get(i).and_then(|b| b.parent);
    std::iter::from_fn(move || {
        let p = current?;
        let block = notes.blocks.get(p)?;
        if p >= i || block.kind != super::notes::BlockKind::Item {
            return None;
        }
        current = block.parent;
        Some(p)
    })
}

/// Letters and digits only, lower case, single spaces: for comparing a
/// block's text with one of its sentences.
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The priority the codes call for (see the module docs).
fn derived(codes: &[Code], forks: &[ForkActivation]) -> Priority {
    let has = |c| codes.contains(&c);
    let on_mainnet = forks
        .iter()
        .any(|f| f.networks.iter().any(|n| n == "mainnet"));
    if has(Code::SecurityFix) && has(Code::Mandatory) {
        Priority::Critical
    } else if has(Code::Mandatory) || has(Code::SecurityFix) || on_mainnet {
        Priority::High
    } else if has(Code::HardFork)
        || has(Code::BreakingChange)
        || has(Code::DbMigration)
        || has(Code::ResyncRequired)
    {
        Priority::Medium
    } else {
        Priority::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/release-notes")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn release(body: &str) -> Release {
        Release {
            tag_name: "v2.0.0".into(),
            name: None,
            body: Some(body.into()),
            draft: false,
            prerelease: false,
            published_at: None,
            html_url: None,
        }
    }

    fn classify(body: &str) -> Classification {
        let engine = Engine::builtin().unwrap();
        engine.classify("acme/node", &release(body))
    }

    /// Each list item of a fixture, classified on its own.
    fn per_item(name: &str) -> Vec<(String, Classification)> {
        fixture(name)
            .lines()
            .filter_map(|l| l.strip_prefix("- "))
            .map(|l| (l.to_string(), classify(l)))
            .collect()
    }

    #[test]
    fn breaking_sections_and_upcoming_notices() {
        let c = classify(&fixture("breaking-section.md"));
        assert_eq!(
            c.breaking,
            [
                "`--metrics-port-old` has been removed. Use `--metrics-port` instead",
                "The default sync mode is now SNAP"
            ]
        );
        assert!(c.has(Code::BreakingChange) && c.has(Code::Deprecation));
        assert_eq!(c.priority, Priority::Medium);
    }

    #[test]
    fn removed_sections_keep_user_facing_entries() {
        let c = classify(&fixture("breaking-removed-section.md"));
        assert_eq!(
            c.breaking,
            [
                "Remove the deprecated `--enable-foo` flag",
                "Removed Beacon API endpoints that were deprecated at the Deneb fork"
            ]
        );
    }

    #[test]
    fn breaking_prose_removals_and_deprecations() {
        let c = classify(&fixture("breaking-prose.md"));
        assert_eq!(
            c.breaking,
            [
                "Client v2.0.0 is a potentially breaking release, hence the major version bump",
                "The v2 family drops support for proof-of-work",
                "This is a breaking change",
                "We also removed the --unlock command-line parameter",
                "The legacy personal RPC namespace has been removed as well"
            ]
        );
        assert!(c.has(Code::Deprecation));
    }

    #[test]
    fn no_breaking_change_in_templates_empty_sections_and_negations() {
        let c = classify(&fixture("breaking-none.md"));
        assert!(c.breaking.is_empty(), "{:?}", c.breaking);
        assert!(!c.has(Code::BreakingChange));
    }

    #[test]
    fn security_fixes() {
        let c = classify(&fixture("security-positive.md"));
        assert!(c.security);
        let rules: Vec<&str> = c.evidence.iter().map(|e| e.rule.as_str()).collect();
        for r in ["advisory-id", "vulnerability-wording", "security-section"] {
            assert!(rules.contains(&r), "{r}: {rules:?}");
        }
        assert_eq!(c.labels, ["security"]);
        assert_eq!(c.priority, Priority::High);
        for name in ["security-negative.md", "security-fork-heading.md"] {
            let c = classify(&fixture(name));
            assert!(!c.security, "{name}: {:?}", c.evidence);
        }
    }

    #[test]
    fn mandatory_wording() {
        for (line, c) in per_item("mandatory-positive.md") {
            assert!(c.mandatory, "{line}");
        }
        for (line, c) in per_item("mandatory-negative.md") {
            assert!(!c.mandatory, "{line}: {:?}", c.evidence);
        }
    }

    #[test]
    fn migrations_and_resyncs() {
        let c = classify(&fixture("migration-resync.md"));
        assert!(c.has(Code::DbMigration), "{:?}", c.codes);
        assert!(c.has(Code::ResyncRequired), "{:?}", c.codes);
        let c = classify("Downgrading to v1.14 requires re-syncing the chain.");
        assert_eq!(c.codes, [Code::DbMigration]);
    }

    #[test]
    fn priority_is_stated_or_derived() {
        let c = classify(&fixture("fork-epoch.md"));
        assert_eq!(
            (c.priority, c.priority_source),
            (Priority::Medium, PrioritySource::Stated)
        );
        assert!(c.mandatory && c.has(Code::HardFork));
        let c = classify(&fixture("fork-no-date.md"));
        assert_eq!(
            (c.priority, c.priority_source),
            (Priority::High, PrioritySource::Derived)
        );
        let c =
            classify("This is a security release fixing CVE-2025-1. This release is mandatory.");
        assert_eq!(c.priority, Priority::Critical);
        assert_eq!(classify("Small fixes.").priority, Priority::Low);
    }

    #[test]
    fn tag_version_and_prerelease() {
        let engine = Engine::builtin().unwrap();
        let mut r = release("");
        r.tag_name = "v25.10.0-RC1".into();
        let c = engine.classify("hyperledger/besu", &r);
        assert_eq!(c.version.as_deref(), Some("25.10.0-RC1"));
        assert!(c.prerelease);
        r.tag_name = "latest".into();
        let c = engine.classify("hyperledger/besu", &r);
        assert_eq!((c.version, c.prerelease), (None, false));
    }

    #[test]
    fn contract_json_shape() {
        let c = classify(&fixture("fork-epoch.md"));
        let text = serde_json::to_string(&c).unwrap();
        let order = [
            "repo",
            "tag",
            "version",
            "prerelease",
            "codes",
            "forks",
            "breaking",
            "security",
            "mandatory",
            "priority",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap_or(usize::MAX))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.as_object().unwrap().len(), order.len(), "{text}");
        assert_eq!(
            v["forks"][0],
            serde_json::json!({"fork": "Fusaka", "networks": ["mainnet"],
                "activation": "2025-12-03T21:49:11Z", "epoch": 411392})
        );
    }
}
