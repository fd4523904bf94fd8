//! Priority as the release notes state it: update-priority tables
//! (Lighthouse, Reth: the highest cell of a table in a section whose heading
//! mentions priority), urgency levels (Nimbus `low-urgency`,
//! `medium-urgency`, `high-urgency`), and `priority: high` statements.
//! Negated statements (`not high-urgency`) do not count.
//!
//! Pure: notes in, priority out.

use regex::Regex;

use super::matcher::negated;
use super::notes::{BlockKind, Notes};
use super::types::Priority;

/// The compiled priority detector.
#[derive(Clone, Debug)]
pub struct PriorityDetector {
    urgency: Regex,
    statement: Regex,
    heading: Regex,
}

impl PriorityDetector {
    pub fn new() -> Result<Self, regex::Error> {
        Ok(PriorityDetector {
            urgency: Regex::new(r"(?i)\b(low|medium|high|critical)[\s-]urgency\b")?,
            statement: Regex::new(
                r"(?i)\b(?:update\s+)?priority\s*(?:is|:|=|-)\s*(low|medium|high|critical)\b",
            )?,
            heading: Regex::new(r"(?i)\bpriorit(y|ies)\b")?,
        })
    }

    /// The highest priority the notes state, with the statement.
    pub fn detect(&self, notes: &Notes, cues: &Regex) -> Option<(Priority, String)> {
        let mut best: Option<(Priority, String)> = None;
        let mut offer = |p: Priority, why: &str| {
            if best.as_ref().is_none_or(|(b, _)| p > *b) {
                best = Some((p, why.to_string()));
            }
        };
        for block in &notes.blocks {
            match block.kind {
                BlockKind::TableRow if !block.header => {
                    let section = notes.section(block);
                    if !section.headings.iter().any(|h| self.heading.is_match(h)) {
                        continue;
                    }
                    // the first cell names the class of user
                    for cell in block.cells.iter().skip(1) {
                        if let Some(p) =
                            Priority::parse(cell.trim_matches(|c: char| !c.is_alphanumeric()))
                        {
                            offer(p, &block.text);
                        }
                    }
                }
                BlockKind::Paragraph | BlockKind::Item | BlockKind::Heading(_) => {
                    for re in [&self.urgency, &self.statement] {
                        for c in re.captures_iter(&block.plain) {
                            let (Some(all), Some(level)) = (c.get(0), c.get(1)) else {
                                continue;
                            };
                            if negated(&block.plain, all.start(), cues) {
                                continue;
                            }
                            if let Some(p) = Priority::parse(level.as_str()) {
                                offer(p, &block.plain);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::matcher::NEGATION_CUES;

    fn detect(md: &str) -> Option<Priority> {
        let cues = Regex::new(NEGATION_CUES).unwrap();
        PriorityDetector::new()
            .unwrap()
            .detect(&Notes::parse(md), &cues)
            .map(|(p, _)| p)
    }

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/release-notes")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn tables_urgency_and_statements() {
        assert_eq!(
            detect(&fixture("priority-lighthouse-table.md")),
            Some(Priority::Medium)
        );
        assert_eq!(
            detect(&fixture("priority-reth-table.md")),
            Some(Priority::Low)
        );
        assert_eq!(
            detect(&fixture("priority-nimbus-urgency.md")),
            Some(Priority::High)
        );
        assert_eq!(
            detect("Update priority: critical for all stakers."),
            Some(Priority::Critical)
        );
        assert_eq!(detect("This is not a high-urgency release."), None);
        // a table outside a priority section is not a priority table
        assert_eq!(detect("| a | b |\n|---|---|\n| x | High |\n"), None);
        assert_eq!(detect("Adds a priority fee option."), None);
    }
}
