//! The fork detector: which forks a release enables, schedules or supports,
//! on which networks, and when they activate.
//!
//! Per sentence of every block (code blocks and sections about upcoming,
//! deprecated or known-issue items excluded), it finds fork mentions (every
//! name of the schedule's forks, `BPO<n>`, generic `BPO` upgrades, unknown
//! names such as `Jovian activates` or `Glamsterdam hard fork`, and generic
//! references such as `the fork`, resolved to the fork in context), network
//! mentions (names and aliases of the schedule's networks, `testnets`), and
//! time expressions ([`super::time`]). A mention becomes an event when its
//! clause is not negated (`not required for the Fusaka fork`), it carries
//! evidence (a verb such as enable/schedule/support/activate, a requirement,
//! or a time expression), and a network can be attached to it: from its
//! clause, its sentence, its block, the enclosing item or lead-in, or, when
//! none is named, from a stated time that matches the schedule. List items
//! that name a network and a time but no fork inherit the fork of their
//! parent item or lead-in paragraph (`The fork is set to activate at:`).
//!
//! Events are merged per fork. Each network's activation comes from what the
//! notes state, best first: a time to the second or a unix timestamp, an
//! epoch or slot (converted with the network's genesis), a time to the
//! minute matching the schedule, a calendar date within a day of the
//! schedule's activation; otherwise the schedule's time is kept as a
//! fallback that [`ForkActivation`] serialises as `null`.
//!
//! Pure: notes and schedule in, activations out. Regexes are built once per
//! engine with size limits; matching is linear.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use regex::{Regex, RegexBuilder};

use super::notes::{Block, BlockKind, Notes, clauses, sentences};
use super::schedule::{ForkKind, Schedule};
use super::time::{self, TimeExpr, TimeKind};
use super::types::{Basis, ForkActivation, NetworkActivation};

/// The pseudo-network of notes that say "testnets" without naming one.
pub const TESTNETS: &str = "testnets";

const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Sections whose content is about the future or about problems, not about
/// what the release does.
const EXCLUDED_SECTIONS: &str =
    r"(?i)\b(upcoming|deprecat\w*|known\s+issues?|future|planned|sunset\w*)\b";
/// Words that make a mention an event.
const EVIDENCE: &str = r"(?i)\b(enabl(e|es|ed|ing)|schedul\w*|support\w*|activat\w*|configur\w*|config|ready|compatib\w*|suitable|required|mandatory|must|recommended|in\s+time\s+for|prior\s+to|before|follow(s|ed|ing)?|hot-?fix\w*|transitioned|timestamps?|fork\s+times?|fork\s+numbers?|fork\s+epoch|set\s+(for|to)|go(es)?\s+live|occur\w*|executed|happen\w*|upgrades?\s+(on|at)|will\s+upgrade|includes?\s+.{0,40}(configuration|support)|switch(es|ed)?\s+on|turn(s|ed)?\s+on|brings?|bringing)\b";
/// A clause with one of these is negated.
const NEGATION: &str =
    r"(?i)\b(not|never|no\s+need|isn't|aren't|wasn't|doesn't|don't|won't|cannot|can't|without)\b";
/// Generic fork references (resolved to the fork in context).
const GENERIC: &str = r"(?i)\b(hard[\s-]?forks?|forks?|network\s+upgrades?|the\s+upgrade)\b";
/// What follows `fork` when it is not a network upgrade.
const NOT_AN_UPGRADE: &str = r"(?i)^[\s-]*(choice|digest|id|ids|version|versions|boundar\w*|schedule|data|compatibility|of)\b";
/// Numbered blob-parameter-only forks.
const BPO_NUMBERED: &str = r"(?i)\bBPO[\s-]?(\d{1,2})\b";
/// Blob-parameter-only forks without a number.
const BPO_GENERIC: &str = r"(?i)\b(BPOs?|blob[\s-]parameter[\s-]only)\b";
/// Capitalised unknown names followed by a fork word.
const UNKNOWN_NAMED: &str =
    r"\b([A-Z][a-zA-Z]{3,})(?:[\s-]+)(?:hard[\s-]?fork|network\s+upgrade|upgrade|fork)s?\b";
/// Unknown names followed by an activation verb (`jovian activates`).
const UNKNOWN_ACTIVATES: &str = r"(?i)\b([a-z]{4,})\s+(?:activates|activation|goes\s+live)\b";
/// Development work: tests, devnets and presets are not network upgrades.
const DEV_WORK: &str = r"(?i)\b(tests|test\s+(cases?|suites?|vectors?|coverage)|spec[\s-]?tests?|spectests?|e2e|benchmarks?|devnets?(-\d+)?|minimal\s+(config\w*|presets?))\b";
const TESTNET_WORDS: &str = r"(?i)\b(test[\s-]?nets?|test\s+networks?)\b";

/// Words never taken for unknown fork names.
const STOPWORDS: &[&str] = &[
    "this",
    "that",
    "these",
    "those",
    "next",
    "upcoming",
    "network",
    "mainnet",
    "testnet",
    "testnets",
    "hard",
    "major",
    "minor",
    "client",
    "clients",
    "protocol",
    "chain",
    "software",
    "node",
    "nodes",
    "release",
    "fork",
    "forks",
    "previous",
    "future",
    "recent",
    "latest",
    "same",
    "each",
    "every",
    "first",
    "second",
    "scheduled",
    "following",
    "ethereum",
    "their",
    "your",
    "with",
    "from",
    "after",
    "before",
    "during",
    "since",
    "when",
    "where",
    "there",
    "then",
    "what",
    "which",
    "upgrade",
    "update",
    "version",
    "full",
    "complete",
    "mandatory",
    "required",
    "recommended",
    "optional",
    "regular",
    "planned",
    "last",
    "final",
    "initial",
    "important",
    "critical",
    "point",
    "patch",
    "hotfix",
    "security",
    "maintenance",
    "feature",
    "breaking",
    "beacon",
    "execution",
    "consensus",
    "layer",
    "validator",
    "validators",
    "blob",
    "blobs",
    "parameter",
    "only",
    "slot",
    "epoch",
    "time",
    "date",
    "activation",
    "support",
    "prysm",
    "geth",
    "nimbus",
    "teku",
    "besu",
    "erigon",
    "reth",
    "lighthouse",
    "lodestar",
    "grandine",
    "nethermind",
    "please",
    "note",
    "also",
    "will",
    "have",
    "been",
    "into",
    "onto",
    "over",
    "dependency",
    "library",
    "libraries",
    "database",
    "state",
    "sync",
    "merge",
    "docker",
];

/// A fork a mention refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ForkKey {
    /// Index into the schedule's forks.
    Known(usize),
    /// A name the schedule does not know, as written.
    Unknown(String),
    /// `BPO` without a number: resolved by its time.
    GenericBpo,
}

#[derive(Clone, Debug)]
struct Mention {
    start: usize,
    end: usize,
    key: Option<ForkKey>,
}

#[derive(Clone, Debug)]
struct NetMention {
    start: usize,
    end: usize,
    name: String,
}

/// A fork event found in one sentence.
#[derive(Clone, Debug)]
struct Event {
    key: ForkKey,
    order: usize,
    networks: Vec<(String, usize)>,
    /// (network the time belongs to, expression, text as written)
    times: Vec<(Option<String>, TimeExpr, String)>,
    sentence: String,
}

/// A fork found by the detector, with the sentence that says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    pub fork: ForkActivation,
    pub evidence: String,
}

/// The compiled detector for one schedule.
#[derive(Clone, Debug)]
pub struct ForkDetector {
    names: Option<Regex>,
    name_map: HashMap<String, usize>,
    networks: Option<Regex>,
    net_map: HashMap<String, String>,
    testnets: Regex,
    bpo_numbered: Regex,
    bpo_generic: Regex,
    unknown_named: Regex,
    unknown_activates: Regex,
    generic: Regex,
    not_an_upgrade: Regex,
    evidence: Regex,
    negation: Regex,
    dev_work: Regex,
    excluded_sections: Regex,
}

fn build(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// `a|b c` alternation of literal names, longest first, spaces flexible.
fn alternation(names: &[String]) -> String {
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    sorted.dedup();
    sorted
        .iter()
        .map(|n| {
            regex::escape(n)
                .split(' ')
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(r"[\s-]+")
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn key(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('-', " ")
        .to_lowercase()
}

impl ForkDetector {
    /// Compiles the detector for `schedule`.
    pub fn new(schedule: &Schedule) -> Result<ForkDetector, regex::Error> {
        let mut name_map = HashMap::new();
        let mut names = Vec::new();
        for (i, f) in schedule.forks().iter().enumerate() {
            for n in f.names() {
                name_map.insert(key(n), i);
                names.push(n.to_string());
            }
        }
        let mut net_map = HashMap::new();
        let mut nets = Vec::new();
        for n in schedule.networks() {
            for a in std::iter::once(&n.name).chain(n.aliases.iter()) {
                net_map.insert(key(a), n.name.clone());
                nets.push(a.clone());
            }
        }
        let names = if names.is_empty() {
            None
        } else {
            Some(build(&format!(r"(?i)\b(?:{})\b", alternation(&names)))?)
        };
        let networks = if nets.is_empty() {
            None
        } else {
            Some(build(&format!(r"(?i)\b(?:{})\b", alternation(&nets)))?)
        };
        Ok(ForkDetector {
            names,
            name_map,
            networks,
            net_map,
            testnets: build(TESTNET_WORDS)?,
            bpo_numbered: build(BPO_NUMBERED)?,
            bpo_generic: build(BPO_GENERIC)?,
            unknown_named: build(UNKNOWN_NAMED)?,
            unknown_activates: build(UNKNOWN_ACTIVATES)?,
            generic: build(GENERIC)?,
            not_an_upgrade: build(NOT_AN_UPGRADE)?,
            evidence: build(EVIDENCE)?,
            negation: build(NEGATION)?,
            dev_work: build(DEV_WORK)?,
            excluded_sections: build(EXCLUDED_SECTIONS)?,
        })
    }

    /// Named fork mentions (known, numbered BPO, unknown), without generic
    /// references.
    fn named(&self, schedule: &Schedule, s: &str) -> Vec<Mention> {
        let mut out: Vec<Mention> = Vec::new();
        if let Some(re) = &self.names {
            for m in re.find_iter(s) {
                if let Some(i) = self.name_map.get(&key(m.as_str())) {
                    out.push(Mention {
                        start: m.start(),
                        end: m.end(),
                        key: Some(ForkKey::Known(*i)),
                    });
                }
            }
        }
        for c in self.bpo_numbered.captures_iter(s) {
            let (Some(all), Some(n)) = (c.get(0), c.get(1)) else {
                continue;
            };
            let name = format!("BPO{}", n.as_str().trim_start_matches('0'));
            let k = match schedule
                .forks()
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(&name))
            {
                Some(i) => ForkKey::Known(i),
                None => ForkKey::Unknown(name),
            };
            out.push(Mention {
                start: all.start(),
                end: all.end(),
                key: Some(k),
            });
        }
        for m in self.bpo_generic.find_iter(s) {
            out.push(Mention {
                start: m.start(),
                end: m.end(),
                key: Some(ForkKey::GenericBpo),
            });
        }
        for re in [&self.unknown_named, &self.unknown_activates] {
            for c in re.captures_iter(s) {
                let Some(name) = c.get(1) else { continue };
                let lower = name.as_str().to_lowercase();
                if STOPWORDS.contains(&lower.as_str())
                    || self.name_map.contains_key(&lower)
                    || self.net_map.contains_key(&lower)
                    || time::is_calendar_word(&lower)
                {
                    continue;
                }
                let mut written: Vec<char> = name.as_str().chars().collect();
                if let Some(first) = written.first_mut() {
                    *first = first.to_ascii_uppercase();
                }
                out.push(Mention {
                    start: name.start(),
                    end: name.end(),
                    key: Some(ForkKey::Unknown(written.into_iter().collect())),
                });
            }
        }
        // Earlier and longer mentions win over overlapping ones.
        out.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut kept: Vec<Mention> = Vec::new();
        for m in out {
            if kept.last().is_some_and(|k| m.start < k.end) {
                continue;
            }
            kept.push(m);
        }
        kept
    }

    /// Generic references (`the fork`) not attached to a named mention.
    fn generic(&self, s: &str, named: &[Mention]) -> Vec<Mention> {
        let mut out = Vec::new();
        for m in self.generic.find_iter(s) {
            if named.iter().any(|n| m.start() < n.end && n.start < m.end()) {
                continue;
            }
            // `Fusaka fork`, `Shanghai (Shapella) fork`: part of the name.
            let attached = named.iter().any(|n| {
                n.end <= m.start()
                    && s[n.end..m.start()]
                        .chars()
                        .all(|c| c.is_whitespace() || matches!(c, ')' | '(' | '-' | '/'))
            });
            if attached || self.not_an_upgrade.is_match(&s[m.end()..]) {
                continue;
            }
            out.push(Mention {
                start: m.start(),
                end: m.end(),
                key: None,
            });
        }
        out
    }

    fn network_mentions(&self, s: &str) -> Vec<NetMention> {
        let mut out = Vec::new();
        if let Some(re) = &self.networks {
            for m in re.find_iter(s) {
                if let Some(name) = self.net_map.get(&key(m.as_str())) {
                    out.push(NetMention {
                        start: m.start(),
                        end: m.end(),
                        name: name.clone(),
                    });
                }
            }
        }
        for m in self.testnets.find_iter(s) {
            out.push(NetMention {
                start: m.start(),
                end: m.end(),
                name: TESTNETS.to_string(),
            });
        }
        out.sort_by_key(|n| n.start);
        // Drop mentions inside a parenthesis that follows a network
        // (`Chiado (Gnosis Chain testnet)`).
        let all = out.clone();
        out.retain(|n| {
            let before = &s[..n.start];
            let Some(open) = before.rfind('(') else {
                return true;
            };
            if before[open..].contains(')') {
                return true;
            }
            let head = before[..open].trim_end();
            !all.iter().any(|o| o.end == head.len())
        });
        out
    }

    /// Every fork the notes enable, schedule or support, with evidence.
    pub fn detect(&self, schedule: &Schedule, notes: &Notes) -> Vec<Detected> {
        let mut events: Vec<Event> = Vec::new();
        // The most recent named fork, for generic references.
        let mut last_named: Option<ForkKey> = None;
        // Named forks of each block (for children and generic references).
        let mut block_forks: Vec<Option<ForkKey>> = Vec::with_capacity(notes.blocks.len());
        let mut order = 0usize;
        // the header row of the table being read
        let mut table_header: Option<usize> = None;
        for (bi, block) in notes.blocks.iter().enumerate() {
            let section = notes.section(block);
            let excluded = block.kind == BlockKind::Code
                || section
                    .headings
                    .iter()
                    .any(|h| self.excluded_sections.is_match(h));
            // `FULU_FORK_EPOCH`: names joined by `_` are words here; a table
            // row reads as the sentence its header makes of it
            table_header = match block.kind {
                BlockKind::TableRow if block.header => Some(bi),
                BlockKind::TableRow => table_header,
                _ => None,
            };
            let sentence = table_header
                .filter(|h| *h != bi)
                .and_then(|h| notes.blocks.get(h))
                .and_then(|header| self.table_sentence(schedule, header, block));
            let text = &sentence.unwrap_or_else(|| block.plain.replace('_', " "));
            let spans = sentences(text);
            let mut first_named: Option<ForkKey> = None;
            let mut first_resolved: Option<ForkKey> = None;
            // Networks of the whole block, for sentences naming none.
            let block_nets: Vec<NetMention> = if excluded {
                Vec::new()
            } else {
                self.network_mentions(text)
            };
            for (ss, se) in spans {
                let s = &text[ss..se];
                let named = self.named(schedule, s);
                for m in &named {
                    if let Some(k @ (ForkKey::Known(_) | ForkKey::Unknown(_))) = &m.key
                        && first_named.is_none()
                    {
                        first_named = Some(k.clone());
                    }
                }
                if excluded {
                    if let Some(k) = named.iter().rev().find_map(|m| match &m.key {
                        Some(k @ (ForkKey::Known(_) | ForkKey::Unknown(_))) => Some(k.clone()),
                        _ => None,
                    }) {
                        last_named = Some(k);
                    }
                    continue;
                }
                let context = self.context(
                    notes,
                    bi,
                    &block_forks,
                    first_named.as_ref(),
                    last_named.as_ref(),
                );
                let mut mentions = named.clone();
                mentions.extend(self.generic(s, &named));
                mentions.sort_by_key(|m| m.start);
                let nets = self.network_mentions(s);
                let times = time::find(s);
                // A sentence with a time but no fork belongs to the fork of
                // its item's parent (an item naming a network), or to the
                // fork named earlier in its block (with evidence:
                // `Please upgrade before the 12th of April`).
                if mentions.is_empty() && !times.is_empty() {
                    let from_parent = (block.kind == BlockKind::Item
                        && nets.iter().any(|n| n.name != TESTNETS))
                    .then(|| self.parent_fork(notes, bi, &block_forks))
                    .flatten();
                    let from_block = first_named.clone().filter(|_| self.evidence.is_match(s));
                    if let Some(k) = from_parent.or(from_block) {
                        mentions.push(Mention {
                            start: 0,
                            end: 0,
                            key: Some(k),
                        });
                    }
                }
                let cl = clauses(s);
                // development work (tests, devnets), network names aside
                let dev_work = {
                    let mut masked = s.to_string();
                    for n in &nets {
                        masked.replace_range(n.start..n.end, &" ".repeat(n.end - n.start));
                    }
                    self.dev_work.is_match(&masked)
                };
                let mut sentence_events: Vec<Event> = Vec::new();
                for (mi, m) in mentions.iter().enumerate() {
                    let key = match &m.key {
                        Some(k) => k.clone(),
                        None => match &context {
                            Some(k) => k.clone(),
                            None => continue,
                        },
                    };
                    if first_resolved.is_none() && key != ForkKey::GenericBpo {
                        first_resolved = Some(key.clone());
                    }
                    let (cs, ce) = cl
                        .iter()
                        .copied()
                        .find(|(a, b)| m.start >= *a && m.start < (*b).max(*a + 1))
                        .unwrap_or((0, s.len()));
                    let clause = &s[cs..ce];
                    if dev_work || self.negation.is_match(clause) {
                        continue;
                    }
                    if !self.evidence.is_match(clause) && times.is_empty() {
                        continue;
                    }
                    // networks: clause, sentence, block, parents
                    let in_clause: Vec<&NetMention> = nets
                        .iter()
                        .filter(|n| n.start >= cs && n.end <= ce)
                        .collect();
                    let chosen: Vec<(String, usize)> = if !in_clause.is_empty() {
                        in_clause
                            .iter()
                            .map(|n| (n.name.clone(), order + n.start))
                            .collect()
                    } else if !nets.is_empty() {
                        nets.iter()
                            .map(|n| (n.name.clone(), order + n.start))
                            .collect()
                    } else if !block_nets.is_empty() {
                        block_nets
                            .iter()
                            .map(|n| (n.name.clone(), order + n.start))
                            .collect()
                    } else {
                        self.parent_networks(notes, bi)
                            .into_iter()
                            .map(|n| (n, order))
                            .collect()
                    };
                    // times: each belongs to the last mention before it (or
                    // the first mention, when it comes before them all)
                    let my_times: Vec<(Option<String>, TimeExpr, String)> = times
                        .iter()
                        .filter(|t| {
                            mentions
                                .iter()
                                .rposition(|x| x.start <= t.start)
                                .unwrap_or(0)
                                == mi
                        })
                        .map(|t| {
                            let net = nets
                                .iter()
                                .rev()
                                .find(|n| n.end <= t.start && n.name != TESTNETS)
                                .or_else(|| {
                                    nets.iter().find(|n| n.start >= t.end && n.name != TESTNETS)
                                })
                                .map(|n| n.name.clone());
                            (net, t.clone(), s[t.start..t.end].to_string())
                        })
                        .collect();
                    match sentence_events.iter_mut().find(|e| e.key == key) {
                        Some(e) => {
                            for n in chosen {
                                if !e.networks.iter().any(|(x, _)| *x == n.0) {
                                    e.networks.push(n);
                                }
                            }
                            for t in my_times {
                                if !e.times.iter().any(|x| x.1 == t.1) {
                                    e.times.push(t);
                                }
                            }
                        }
                        None => sentence_events.push(Event {
                            key,
                            order: order + m.start,
                            networks: chosen,
                            times: my_times,
                            sentence: s.to_string(),
                        }),
                    }
                }
                events.extend(sentence_events);
                if let Some(k) = named.iter().rev().find_map(|m| match &m.key {
                    Some(k @ (ForkKey::Known(_) | ForkKey::Unknown(_))) => Some(k.clone()),
                    _ => None,
                }) {
                    last_named = Some(k);
                }
                order += s.len() + 1;
            }
            block_forks.push(first_named.or(first_resolved));
            order += 1;
        }
        self.merge(schedule, events)
    }

    /// A body row of a table as a sentence, its header naming what each
    /// cell is: `| Network | Fork | Epoch | Timestamp |` over
    /// `| Mainnet | Fusaka | 411392 | 1764798551 |` reads `Mainnet: Fusaka
    /// activates at epoch 411392, at timestamp 1764798551.`; a header naming
    /// forks (`| Network | Fusaka | BPO1 |`) or networks (`| Fork | Mainnet
    /// | Sepolia |`) makes each cell that fork's (or network's) time. `None`
    /// for other blocks, header rows and rows without a number or a date.
    /// `header` is the header row of the row's table.
    fn table_sentence(&self, schedule: &Schedule, header: &Block, block: &Block) -> Option<String> {
        if block.kind != BlockKind::TableRow || block.header || !header.header {
            return None;
        }
        let clean = |c: &str| {
            c.replace(['`', '*', '_'], " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let heads: Vec<String> = header.cells.iter().map(|c| clean(c)).collect();
        let cells: Vec<String> = block.cells.iter().map(|c| clean(c)).collect();
        if !cells
            .iter()
            .any(|c| c.chars().any(|ch| ch.is_ascii_digit()))
        {
            return None;
        }
        let is_fork = |c: &str| {
            !self.named(schedule, c).is_empty()
                || self.bpo_numbered.is_match(c)
                || (c.split_whitespace().count() == 1
                    && c.chars().next().is_some_and(char::is_uppercase)
                    && c.len() >= 4
                    && self.network_mentions(c).is_empty()
                    && !STOPWORDS.contains(&c.to_lowercase().as_str())
                    && !time::is_calendar_word(&c.to_lowercase()))
        };
        let is_net = |c: &str| !self.network_mentions(c).is_empty();
        // what a value in a column is, from its header
        let unit = |head: &str| {
            let h = head.to_lowercase();
            if h.contains("epoch") {
                "epoch"
            } else if h.contains("slot") {
                "slot"
            } else if h.contains("timestamp") || h.contains("unix") || h.contains("time") {
                "timestamp"
            } else {
                ""
            }
        };
        let value = |head: &str, cell: &str| -> String {
            let bare = cell.replace([',', '_'], "");
            if !bare.is_empty() && bare.chars().all(|c| c.is_ascii_digit()) {
                match unit(head) {
                    "" if bare.len() == 10 => format!("timestamp {bare}"),
                    "" => format!("epoch {bare}"),
                    u => format!("{u} {bare}"),
                }
            } else {
                cell.to_string()
            }
        };
        let role = |head: &str| {
            let h = head.to_lowercase();
            if h.contains("network") || h.contains("chain") || h.contains("testnet") {
                Some("network")
            } else if h.contains("fork") || h.contains("upgrade") || h.contains("hardfork") {
                Some("fork")
            } else {
                None
            }
        };
        let mut lead: Vec<String> = Vec::new();
        let mut row_fork: Option<String> = None;
        let mut parts: Vec<String> = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            let head = heads.get(i).map_or("", String::as_str);
            if cell.is_empty() || cell == "-" {
                continue;
            }
            match role(head) {
                Some("network") => lead.push(cell.clone()),
                Some(_) => row_fork = Some(cell.clone()),
                None if i == 0 && is_net(cell) => lead.push(cell.clone()),
                None if i == 0 && is_fork(cell) => row_fork = Some(cell.clone()),
                None if is_fork(head) && !is_net(head) => {
                    parts.push(format!("{head} activates at {}", value(head, cell)));
                }
                None if is_net(head) => {
                    parts.push(format!("on {head} at {}", value(head, cell)));
                }
                None => parts.push(format!("at {}", value(head, cell))),
            }
        }
        if parts.is_empty() {
            return None;
        }
        let body = parts.join(", ");
        Some(match row_fork {
            Some(f) if lead.is_empty() => format!("{f} activates {body}."),
            Some(f) => format!("{}: {f} activates {body}.", lead.join(", ")),
            None if lead.is_empty() => format!("{body}."),
            None => format!("{}: {body}.", lead.join(", ")),
        })
    }

    /// The fork a generic reference in block `bi` means: the block's own
    /// first named fork, its parents', its section headings', or the last
    /// one named before.
    fn context(
        &self,
        notes: &Notes,
        bi: usize,
        block_forks: &[Option<ForkKey>],
        own: Option<&ForkKey>,
        last: Option<&ForkKey>,
    ) -> Option<ForkKey> {
        own.cloned()
            .or_else(|| self.parent_fork(notes, bi, block_forks))
            .or_else(|| last.cloned())
    }

    /// The named fork of the nearest parent (item or lead-in) that has one,
    /// or of the innermost heading.
    fn parent_fork(
        &self,
        notes: &Notes,
        bi: usize,
        block_forks: &[Option<ForkKey>],
    ) -> Option<ForkKey> {
        let mut p = notes.blocks.get(bi).and_then(|b| b.parent);
        let mut guard = 0;
        while let Some(i) = p {
            if let Some(Some(k)) = block_forks.get(i) {
                return Some(k.clone());
            }
            p = notes.blocks.get(i).and_then(|b| b.parent);
            guard += 1;
            if guard > 64 || i >= bi {
                break;
            }
        }
        // the heading of the section: its first block (blocks are in
        // section order)
        let block = notes.blocks.get(bi)?;
        let first = notes.blocks.partition_point(|b| b.section < block.section);
        notes
            .blocks
            .get(first)
            .filter(|b| matches!(b.kind, BlockKind::Heading(_)) && first < bi)?;
        block_forks.get(first).cloned().flatten()
    }

    /// Networks named by the nearest parent that names any.
    fn parent_networks(&self, notes: &Notes, bi: usize) -> Vec<String> {
        let mut p = notes.blocks.get(bi).and_then(|b| b.parent);
        let mut guard = 0;
        while let Some(i) = p {
            if i >= bi || guard > 64 {
                break;
            }
            if let Some(b) = notes.blocks.get(i) {
                let nets = self.network_mentions(&b.plain);
                if !nets.is_empty() {
                    return nets.into_iter().map(|n| n.name).collect();
                }
                p = b.parent;
            } else {
                break;
            }
            guard += 1;
        }
        Vec::new()
    }

    fn merge(&self, schedule: &Schedule, events: Vec<Event>) -> Vec<Detected> {
        // Generic BPO events become numbered ones by their times.
        let mut resolved: Vec<Event> = Vec::new();
        let primary: Vec<String> = events
            .iter()
            .filter(|e| matches!(&e.key, ForkKey::Known(i) if schedule.forks().get(*i).is_some_and(|f| f.kind == ForkKind::Upgrade)))
            .flat_map(|e| e.networks.iter().map(|(n, _)| n.clone()))
            .filter(|n| n != TESTNETS)
            .collect();
        for e in events {
            if e.key != ForkKey::GenericBpo {
                resolved.push(e);
                continue;
            }
            for (net, t, written) in &e.times {
                let candidates: Vec<String> = match net {
                    Some(n) => vec![n.clone()],
                    None if !e.networks.is_empty() => {
                        e.networks.iter().map(|(n, _)| n.clone()).collect()
                    }
                    None => primary.clone(),
                };
                for (i, f) in schedule.forks().iter().enumerate() {
                    if f.kind != ForkKind::Bpo {
                        continue;
                    }
                    for c in &candidates {
                        if let Some(a) = f.activation(c)
                            && matches_schedule(t, a.time, schedule, c)
                        {
                            resolved.push(Event {
                                key: ForkKey::Known(i),
                                order: e.order + t.start,
                                networks: vec![(c.clone(), e.order)],
                                times: vec![(Some(c.clone()), t.clone(), written.clone())],
                                sentence: e.sentence.clone(),
                            });
                        }
                    }
                }
            }
        }
        // Group per fork.
        let mut groups: Vec<(ForkKey, Vec<Event>)> = Vec::new();
        for e in resolved {
            let k = match &e.key {
                ForkKey::Unknown(n) => ForkKey::Unknown(n.to_lowercase()),
                k => k.clone(),
            };
            match groups.iter_mut().find(|(g, _)| *g == k) {
                Some((_, v)) => v.push(e),
                None => groups.push((k, vec![e])),
            }
        }
        let mut out: Vec<(u8, usize, Detected)> = Vec::new();
        for (k, evs) in groups {
            let (name, fork) = match &k {
                ForkKey::Known(i) => match schedule.forks().get(*i) {
                    Some(f) => (f.name.clone(), Some(f)),
                    None => continue,
                },
                ForkKey::Unknown(_) => (
                    match evs.first().map(|e| &e.key) {
                        Some(ForkKey::Unknown(n)) => n.clone(),
                        _ => continue,
                    },
                    None,
                ),
                ForkKey::GenericBpo => continue,
            };
            let mut networks: Vec<(String, usize)> = Vec::new();
            let mut times: Vec<(Option<String>, TimeExpr, String)> = Vec::new();
            for e in &evs {
                for (n, o) in &e.networks {
                    if !networks.iter().any(|(x, _)| x == n) {
                        networks.push((n.clone(), *o));
                    }
                }
                for t in &e.times {
                    // a time without a network belongs to the event's only network
                    let t = match (&t.0, e.networks.as_slice()) {
                        (None, [(only, _)]) => (Some(only.clone()), t.1.clone(), t.2.clone()),
                        _ => t.clone(),
                    };
                    times.push(t);
                }
            }
            // No network named: a stated time matching the schedule names it.
            if networks.is_empty()
                && let Some(f) = fork
            {
                for (_, t, _) in &times {
                    for a in &f.activations {
                        if matches_schedule(t, a.time, schedule, &a.network)
                            && !networks.iter().any(|(n, _)| *n == a.network)
                        {
                            networks.push((a.network.clone(), 0));
                        }
                    }
                }
                if f.kind == ForkKind::Bpo && networks.is_empty() {
                    for n in &primary {
                        if !networks.iter().any(|(x, _)| x == n) {
                            networks.push((n.clone(), usize::MAX));
                        }
                    }
                }
            }
            if networks.is_empty() {
                continue;
            }
            if networks
                .iter()
                .any(|(n, _)| n != TESTNETS && schedule.rank(n) == 1)
            {
                networks.retain(|(n, _)| n != TESTNETS);
            }
            // times still without a network: the network whose schedule matches
            let times: Vec<(Option<String>, TimeExpr, String)> = times
                .into_iter()
                .map(|(n, t, w)| match n {
                    Some(n) => (Some(n), t, w),
                    None => {
                        let n = fork.and_then(|f| {
                            networks.iter().find_map(|(net, _)| {
                                f.activation(net)
                                    .filter(|a| matches_schedule(&t, a.time, schedule, net))
                                    .map(|_| net.clone())
                            })
                        });
                        (n, t, w)
                    }
                })
                .collect();
            networks.sort_by_key(|(n, o)| (schedule.rank(n), *o));
            let per_network: Vec<NetworkActivation> = networks
                .iter()
                .map(|(n, _)| {
                    let mine: Vec<&(Option<String>, TimeExpr, String)> = times
                        .iter()
                        .filter(|(x, _, _)| x.as_deref() == Some(n.as_str()))
                        .collect();
                    resolve(schedule, fork.map(|f| f.name.as_str()), n, &mine)
                })
                .collect();
            let first = per_network.first();
            let shown = first.filter(|p| p.basis.is_some_and(|b| b != Basis::Schedule));
            let activation = ForkActivation {
                fork: name,
                networks: networks.iter().map(|(n, _)| n.clone()).collect(),
                activation: shown.and_then(|p| p.activation),
                epoch: first.and_then(|p| p.epoch),
                per_network,
            };
            let kind_rank = match fork.map(|f| f.kind) {
                Some(ForkKind::Bpo) => 1,
                _ => 0,
            };
            let order = evs.iter().map(|e| e.order).min().unwrap_or(usize::MAX);
            out.push((
                kind_rank,
                order,
                Detected {
                    fork: activation,
                    evidence: evs.first().map(|e| e.sentence.clone()).unwrap_or_default(),
                },
            ));
        }
        out.sort_by_key(|(k, o, _)| (*k, *o));
        link_layer_names(schedule, out.into_iter().map(|(_, _, d)| d).collect())
    }
}

/// Two names no schedule knows that activate on the same networks at the
/// same times are the execution and consensus names of one upgrade: kept
/// both, linked as one fork (`Heze/Bogota`, in the order of the notes).
fn link_layer_names(schedule: &Schedule, detected: Vec<Detected>) -> Vec<Detected> {
    let unknown = |d: &Detected| {
        schedule.fork(&d.fork.fork).is_none()
            && !d.fork.fork.to_ascii_uppercase().starts_with("BPO")
            && !d.fork.per_network.is_empty()
            && d.fork.per_network.iter().all(|n| n.activation.is_some())
    };
    let same = |a: &Detected, b: &Detected| {
        a.fork.per_network.len() == b.fork.per_network.len()
            && a.fork.per_network.iter().all(|n| {
                b.fork
                    .on(&n.network)
                    .is_some_and(|m| m.activation == n.activation)
            })
    };
    let mut out: Vec<Detected> = Vec::with_capacity(detected.len());
    for d in detected {
        if unknown(&d)
            && let Some(first) = out
                .iter_mut()
                .find(|x| unknown(x) && !x.fork.fork.contains('/') && same(x, &d))
        {
            first.fork.fork = format!("{}/{}", first.fork.fork, d.fork.fork);
            if first.fork.epoch.is_none() {
                first.fork.epoch = d.fork.epoch;
                for n in &mut first.fork.per_network {
                    if n.epoch.is_none() {
                        n.epoch = d.fork.on(&n.network).and_then(|m| m.epoch);
                    }
                }
            }
            continue;
        }
        out.push(d);
    }
    out
}

/// Whether a stated time designates the schedule's activation `at` on
/// `network`: the same instant, the same minute, or (for a date) within a
/// day of it, the year taken from `at` when not written.
fn matches_schedule(t: &TimeExpr, at: DateTime<Utc>, schedule: &Schedule, network: &str) -> bool {
    match t.kind {
        TimeKind::Unix(_) => t.exact() == Some(at),
        TimeKind::Epoch(e) => schedule
            .network(network)
            .and_then(|n| n.epoch_time(e))
            .is_some_and(|x| x == at),
        TimeKind::Slot(s) => schedule
            .network(network)
            .and_then(|n| n.slot_time(s))
            .is_some_and(|x| x == at),
        TimeKind::Calendar { date, time } => {
            let year = date.year.unwrap_or(at.year());
            let Some(d) = NaiveDate::from_ymd_opt(year, date.month, date.day) else {
                return false;
            };
            match time {
                Some(tod) => {
                    d == at.date_naive()
                        && tod.hour == at.hour()
                        && tod.minute == at.minute()
                        && tod.second.is_none_or(|s| s == at.second())
                }
                None => (d - at.date_naive()).num_days().abs() <= 1,
            }
        }
    }
}

/// The best activation for one network from what the notes state.
fn resolve(
    schedule: &Schedule,
    fork: Option<&str>,
    network: &str,
    times: &[&(Option<String>, TimeExpr, String)],
) -> NetworkActivation {
    let net = schedule.network(network);
    let scheduled = fork.and_then(|f| schedule.activation(f, network));
    let mut best: Option<(Basis, DateTime<Utc>)> = None;
    let mut epoch: Option<u64> = None;
    let mut stated: Option<String> = None;
    let mut consider = |basis: Basis, at: DateTime<Utc>| {
        if best.is_none_or(|(b, _)| basis < b) {
            best = Some((basis, at));
        }
    };
    for (_, t, written) in times {
        match t.kind {
            TimeKind::Unix(_) => {
                if let Some(at) = t.exact() {
                    consider(Basis::Text, at);
                }
            }
            TimeKind::Epoch(e) => {
                epoch = epoch.or(Some(e));
                if let Some(at) = net.and_then(|n| n.epoch_time(e)) {
                    consider(Basis::TextEpoch, at);
                }
            }
            TimeKind::Slot(s) => {
                if let Some(n) = net {
                    epoch = epoch.or(n.slot_epoch(s));
                    if let Some(at) = n.slot_time(s) {
                        consider(Basis::TextEpoch, at);
                    }
                }
            }
            TimeKind::Calendar { date, time } => {
                if let Some(at) = t.exact() {
                    consider(Basis::Text, at);
                    continue;
                }
                match (scheduled, time) {
                    (Some(a), Some(_)) if matches_schedule(t, a.time, schedule, network) => {
                        consider(
                            if date.year.is_some() {
                                Basis::TextMinute
                            } else {
                                Basis::Text
                            },
                            a.time,
                        );
                    }
                    (Some(a), None) if matches_schedule(t, a.time, schedule, network) => {
                        consider(Basis::TextDateSchedule, a.time);
                    }
                    (_, Some(tod)) => {
                        // a stated time the schedule does not know
                        if let Some(y) = date.year
                            && let Some(at) = NaiveDate::from_ymd_opt(y, date.month, date.day)
                                .and_then(|d| {
                                    d.and_hms_opt(tod.hour, tod.minute, tod.second.unwrap_or(0))
                                })
                        {
                            consider(Basis::TextMinute, at.and_utc());
                        }
                    }
                    _ => {
                        stated.get_or_insert_with(|| written.clone());
                    }
                }
            }
        }
    }
    let (basis, activation) = match best {
        Some((b, at)) => (Some(b), Some(at)),
        None => match scheduled {
            Some(a) => (Some(Basis::Schedule), Some(a.time)),
            None => (None, None),
        },
    };
    NetworkActivation {
        network: network.to_string(),
        activation,
        epoch,
        basis,
        stated: if best.is_some() { None } else { stated },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::Engine;

    fn detect(md: &str) -> Vec<ForkActivation> {
        let engine = Engine::builtin().unwrap();
        engine
            .fork_detector()
            .detect(engine.schedule(), &Notes::parse(md))
            .into_iter()
            .map(|d| d.fork)
            .collect()
    }

    fn summary(md: &str) -> Vec<String> {
        detect(md)
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f.fork,
                    f.networks.join(","),
                    f.activation.map_or("-".into(), |a| a
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    f.epoch.map_or("-".into(), |e| e.to_string())
                )
            })
            .collect()
    }

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/release-notes")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn utc_date_time_and_bpo_dates() {
        assert_eq!(
            summary(&fixture("fork-utc-datetime.md")),
            [
                "Fusaka mainnet 2025-12-03T21:49:11Z -",
                "BPO1 mainnet 2025-12-09T14:21:11Z -",
                "BPO2 mainnet 2026-01-07T01:01:11Z -",
            ]
        );
    }

    #[test]
    fn unix_timestamps() {
        assert_eq!(
            summary(&fixture("fork-unix-timestamp.md")),
            ["Pectra mainnet 2025-05-07T10:05:11Z -"]
        );
    }

    #[test]
    fn epochs_with_thousands_separators() {
        assert_eq!(
            summary(&fixture("fork-epoch.md")),
            ["Fusaka mainnet 2025-12-03T21:49:11Z 411392"]
        );
    }

    #[test]
    fn slots_per_network_list() {
        assert_eq!(
            summary(&fixture("fork-slot-list.md")),
            ["Pectra holesky,sepolia 2025-02-24T21:55:12Z 115968"]
        );
        let f = &detect(&fixture("fork-slot-list.md"))[0];
        assert_eq!(
            f.on("sepolia").unwrap().activation.unwrap().to_rfc3339(),
            "2025-03-05T07:29:36+00:00"
        );
    }

    #[test]
    fn prose_dates_resolved_with_the_schedule() {
        assert_eq!(
            summary(&fixture("fork-prose-dates.md")),
            ["Dencun sepolia,holesky,chiado 2024-01-30T22:51:12Z -"]
        );
        let f = &detect(&fixture("fork-prose-dates.md"))[0];
        let chiado = f.on("chiado").unwrap();
        assert_eq!(chiado.activation, None);
        assert_eq!(chiado.stated.as_deref(), Some("31 Jan"));
        assert_eq!(
            f.on("holesky").unwrap().basis,
            Some(Basis::TextDateSchedule)
        );
    }

    #[test]
    fn per_network_list_under_a_lead_in() {
        assert_eq!(
            summary(&fixture("fork-testnet-list.md")),
            ["Fusaka holesky,sepolia,hoodi 2025-10-01T08:48:00Z -"]
        );
    }

    #[test]
    fn known_fork_without_date_uses_the_schedule_as_fallback() {
        let forks = detect(&fixture("fork-no-date.md"));
        assert_eq!(forks.len(), 1);
        assert_eq!(forks[0].fork, "Pectra");
        assert_eq!(forks[0].networks, ["holesky", "sepolia"]);
        assert_eq!(forks[0].activation, None);
        let h = forks[0].on("holesky").unwrap();
        assert_eq!(h.basis, Some(Basis::Schedule));
        assert_eq!(
            h.activation.unwrap().to_rfc3339(),
            "2025-02-24T21:55:12+00:00"
        );
    }

    #[test]
    fn unknown_fork_names() {
        assert_eq!(
            summary(&fixture("fork-unknown-name.md")),
            [
                "Jovian op-sepolia 2025-11-19T16:00:01Z -",
                "Glamsterdam mainnet 2026-06-01T12:00:00Z -",
                "Heka hoodi - -",
            ]
        );
    }

    #[test]
    fn negations_and_non_events() {
        for name in [
            "fork-negated.md",
            "fork-devnet-only.md",
            "fork-upcoming-section.md",
        ] {
            assert_eq!(summary(&fixture(name)), Vec::<String>::new(), "{name}");
        }
    }

    #[test]
    fn generic_bpo_resolved_by_time_and_time_names_network() {
        assert_eq!(
            summary(&fixture("fork-bpo-times.md")),
            [
                "Fusaka mainnet 2025-12-03T21:49:11Z 411392",
                "BPO1 mainnet 2025-12-09T14:21:11Z -",
                "BPO2 mainnet 2026-01-07T01:01:11Z -",
            ]
        );
        // a stated time alone names the network
        assert_eq!(
            summary(
                "Geth enables the Shanghai upgrade on Wednesday, April 12, 2023 10:27:35 PM UTC."
            ),
            ["Shapella mainnet 2023-04-12T22:27:35Z -"]
        );
    }

    #[test]
    fn layer_names_and_combined_spellings() {
        assert_eq!(
            summary(
                "- Schedule Shanghai (Shapella) fork for Mainnet\n- Adds timestamp to enable Cancun upgrade on mainnet\n"
            ),
            ["Shapella mainnet - -", "Dencun mainnet - -"]
        );
        assert_eq!(
            summary(
                "Full support for the upcoming Cancun-Deneb hard-fork on the networks Sepolia, Chiado (Gnosis Chain testnet) and Holešky."
            ),
            ["Dencun sepolia,holesky,chiado - -"]
        );
        assert_eq!(
            summary(
                "Added mainnet configuration for CAPELLA network fork due epoch 194048, April 12, 2023; 10:27:35pm UTC"
            ),
            ["Shapella mainnet 2023-04-12T22:27:35Z 194048"]
        );
    }

    #[test]
    fn clauses_keep_networks_apart() {
        assert_eq!(
            summary(
                "This is an optional release for mainnet Ethereum and it includes the updated network configuration for the Sepolia, Holesky and Chiado Deneb forks."
            ),
            ["Dencun sepolia,holesky,chiado - -"]
        );
        assert_eq!(
            summary(
                "This release has support for Fusaka testnets as well as many mainnet improvements."
            ),
            ["Fusaka testnets - -"]
        );
    }
}
