//! The dependency dashboard: one issue per repository that says, leading
//! with the repository's fork readiness, what is due (overdue and nearest
//! deadlines first), what is in rollout (each wave's state, when the next
//! opens and why), what waits (soak, window, image not yet published,
//! limits), what is skipped and why, and what went wrong (files that did not
//! parse, upstreams or pull requests that failed).
//!
//! A person steers upkeep with checkboxes on it: open a wave now (skip its
//! soak and window), rebase a pull request, retry a failed item, roll a
//! merged upgrade back. Each box carries a hidden id
//! (`<!-- upkeep:box ACTION ARGS -->`) so [`ticked`] reads the requests
//! back without trusting the visible words; the issue itself is found again
//! by [`MARKER`].
//!
//! Pure: typed inputs in ([`Inputs`]), markdown out; no clock (times are
//! rendered against the `now` passed in), no I/O, no `crate::io`/`crate::app`.
//! Repository text (paths, image names, tags, reasons) goes through
//! [`crate::domain::render::sanitize`], so it can neither ping anyone nor
//! forge a box or the marker.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::domain::evaluate::{Failure, Finding, Unchecked};
use crate::domain::plan::Held;
use crate::domain::readiness::{self, Row};
use crate::domain::render::sanitize::{code_span, sanitize_text};
use crate::domain::rollout::decide::{PullRecord, PullState, UpstreamRollout, WaveState};

/// The hidden marker that identifies upkeep's dashboard issue.
pub const MARKER: &str = "<!-- upkeep:dashboard -->";

/// The title.
pub const TITLE: &str = "Dependency dashboard";

const BOX: &str = "<!-- upkeep:box ";

/// What a ticked checkbox asks for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Request {
    /// Open this wave of this release now: its soak and maintenance window
    /// are skipped (nothing else is).
    OpenNow {
        upstream: String,
        version: String,
        wave: u32,
    },
    /// Rebuild this open pull request on the current base.
    Rebase { pull: u64 },
    /// Attempt this failed item again (its failure's subject).
    Retry { subject: String },
    /// Open a rollback pull request for this merged one.
    Rollback { pull: u64 },
}

impl Request {
    /// The hidden id of its box.
    pub fn id(&self) -> String {
        match self {
            Request::OpenNow {
                upstream,
                version,
                wave,
            } => format!("open-now {} {} {wave}", encode(upstream), encode(version)),
            Request::Rebase { pull } => format!("rebase {pull}"),
            Request::Retry { subject } => format!("retry {}", encode(subject)),
            Request::Rollback { pull } => format!("rollback {pull}"),
        }
    }

    /// Reads an id back; `None` for anything that is not one.
    pub fn parse(id: &str) -> Option<Request> {
        let words: Vec<&str> = id.split(' ').collect();
        match words.as_slice() {
            ["open-now", upstream, version, wave] => Some(Request::OpenNow {
                upstream: decode(upstream)?,
                version: decode(version)?,
                wave: wave.parse().ok()?,
            }),
            ["rebase", pull] => Some(Request::Rebase {
                pull: pull.parse().ok()?,
            }),
            ["retry", subject] => Some(Request::Retry {
                subject: decode(subject)?,
            }),
            ["rollback", pull] => Some(Request::Rollback {
                pull: pull.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// In words, for the results section and logs.
    pub fn describe(&self) -> String {
        match self {
            Request::OpenNow {
                upstream,
                version,
                wave,
            } => format!("open wave {wave} of {upstream} {version} now"),
            Request::Rebase { pull } => format!("rebase #{pull}"),
            Request::Retry { subject } => format!("retry {subject}"),
            Request::Rollback { pull } => format!("roll back #{pull}"),
        }
    }
}

/// Percent-encoding of everything but `[A-Za-z0-9._/+@:-]`, so an id is one
/// word and can never hold `-->`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"._/+@:".contains(&b) || (b == b'-') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    // `--` could start `-->`: the second dash of a pair is encoded.
    out.replace("--", "-%2D")
}

fn decode(word: &str) -> Option<String> {
    let bytes = word.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = word.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.is_empty()).then_some(text)
}

/// The requests of the boxes ticked in `body`: lines `- [x] … <!-- upkeep:box
/// ID -->` (`*` or `+` bullets, `X` too), each request once, in body order.
/// Boxes whose id does not parse are ignored.
pub fn ticked(body: &str) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    for line in body.lines() {
        let line = line.trim_start();
        let Some(rest) = ["- ", "* ", "+ "]
            .iter()
            .find_map(|bullet| line.strip_prefix(bullet))
        else {
            continue;
        };
        if !(rest.starts_with("[x]") || rest.starts_with("[X]")) {
            continue;
        }
        let Some(start) = rest.rfind(BOX) else {
            continue;
        };
        let Some(id) = rest[start + BOX.len()..].strip_suffix("-->") else {
            continue;
        };
        if let Some(request) = Request::parse(id.trim())
            && !out.contains(&request)
        {
            out.push(request);
        }
    }
    out
}

/// Whether an issue body is upkeep's dashboard.
pub fn is_dashboard(body: &str) -> bool {
    body.lines().any(|l| l.trim() == MARKER)
}

/// What was done for a ticked box, shown on the next rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub request: Request,
    /// What came of it, in words (`pull request opened`, what went wrong).
    pub result: String,
    /// The pull request it opened or touched, linked after the words.
    pub pull: Option<u64>,
}

impl Outcome {
    /// One line: `roll back #12: rollback pull request opened (#14)`.
    pub fn describe(&self) -> String {
        match self.pull {
            Some(n) => format!("{}: {} (#{n})", self.request.describe(), self.result),
            None => format!("{}: {}", self.request.describe(), self.result),
        }
    }
}

/// A request in markdown: names in code spans, pull requests linked.
fn request_words(request: &Request) -> String {
    match request {
        Request::OpenNow {
            upstream,
            version,
            wave,
        } => format!(
            "open wave {wave} of {} {} now",
            code_span(upstream, false),
            code_span(version, false)
        ),
        Request::Rebase { pull } => format!("rebase #{pull}"),
        Request::Retry { subject } => format!("retry {}", code_span(subject, false)),
        Request::Rollback { pull } => format!("roll back #{pull}"),
    }
}

/// Everything the dashboard of one repository shows.
#[derive(Clone, Debug, Default)]
pub struct Inputs<'a> {
    pub repository: &'a str,
    /// The repository's fork readiness rows (nearest fork first).
    pub readiness: Vec<&'a Row>,
    /// The repository's findings (waiting for an image included).
    pub findings: Vec<&'a Finding>,
    /// Findings held back, with why (rollout waves, limits).
    pub held: Vec<&'a Held>,
    /// Its rollouts.
    pub rollouts: Vec<&'a UpstreamRollout>,
    /// upkeep's pull requests there.
    pub pulls: Vec<&'a PullRecord>,
    /// References not checked, with why.
    pub skipped: Vec<&'a Unchecked>,
    /// Files that did not parse (`file:line:column: message`).
    pub problems: Vec<&'a str>,
    /// What failed (upstreams, pull requests).
    pub failures: Vec<&'a Failure>,
    /// What this pass did for ticked boxes.
    pub outcomes: Vec<Outcome>,
}

/// `2027-01-10 12:00 UTC`.
fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A box for `request`, unless this pass just acted on it (its result is
/// under "Done from this dashboard"; the box is offered again next pass if
/// it still applies).
fn checkbox(out: &mut String, inputs: &Inputs<'_>, indent: &str, words: &str, request: &Request) {
    if inputs.outcomes.iter().any(|o| &o.request == request) {
        return;
    }
    let _ = writeln!(out, "{indent}- [ ] {words} {BOX}{} -->", request.id());
}

/// The pull request of upkeep that moves `upstream` to `version`.
fn pull_of<'p>(
    pulls: &[&'p PullRecord],
    upstream: &str,
    version: &str,
    environment: Option<&str>,
    open: bool,
) -> Option<&'p PullRecord> {
    pulls.iter().copied().find(|p| {
        p.rollback_of.is_none()
            && (p.state == PullState::Open) == open
            && p.upgrades
                .iter()
                .any(|(u, v)| u.eq_ignore_ascii_case(upstream) && v == version)
            && environment.is_none_or(|e| p.environments.iter().any(|x| x == e))
    })
}

/// The dashboard's body at `now`.
pub fn render(inputs: &Inputs<'_>, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(
        out,
        "upkeep's view of {}. Tick a box to act; upkeep unticks it and says what it did.\n",
        code_span(inputs.repository, false)
    );

    // Readiness leads.
    out.push_str("## Fork readiness\n\n");
    if inputs.readiness.is_empty() {
        out.push_str("No fork is scheduled on these environments' networks.\n");
    }
    for row in &inputs.readiness {
        let line = sanitize_text(&readiness::headline(row));
        let at = when(row.activates_at);
        if row.state == readiness::State::Ready {
            let _ = writeln!(out, "- {line} ({at})");
        } else {
            let _ = writeln!(out, "- **{line}** ({at})");
        }
    }

    if !inputs.outcomes.is_empty() {
        out.push_str("\n## Done from this dashboard\n\n");
        for o in &inputs.outcomes {
            let _ = write!(
                out,
                "- {}: {}",
                request_words(&o.request),
                sanitize_text(&o.result)
            );
            if let Some(n) = o.pull {
                let _ = write!(out, " (#{n})");
            }
            out.push('\n');
        }
    }

    due(&mut out, inputs, now);
    rollouts(&mut out, inputs);
    waiting(&mut out, inputs);
    skipped(&mut out, inputs);
    problems(&mut out, inputs);
    out
}

fn due(out: &mut String, inputs: &Inputs<'_>, now: DateTime<Utc>) {
    out.push_str("\n## Due\n\n");
    let mut due: Vec<&Finding> = inputs
        .findings
        .iter()
        .copied()
        .filter(|f| !f.waiting_for_image)
        .collect();
    due.sort_by(|a, b| {
        let at = |f: &Finding| f.deadline.as_ref().map(|d| d.at);
        (
            at(a).is_none(),
            at(a),
            std::cmp::Reverse(a.priority),
            &a.upstream,
        )
            .cmp(&(
                at(b).is_none(),
                at(b),
                std::cmp::Reverse(b.priority),
                &b.upstream,
            ))
            .then_with(|| (&a.file, a.line).cmp(&(&b.file, b.line)))
    });
    if due.is_empty() {
        out.push_str("Nothing is due.\n");
    }
    for f in &due {
        let mut line = format!(
            "- {} {} → {}",
            code_span(&f.upstream, false),
            code_span(&f.current, false),
            code_span(&f.target_tag, false)
        );
        if let Some(env) = &f.environment {
            let _ = write!(line, " in {}", code_span(env, false));
        }
        let _ = write!(line, " ({}:{})", code_span(&f.file, false), f.line);
        if let Some(d) = &f.deadline {
            let left = readiness::time_left((d.at - now).num_seconds());
            let left = if left == "overdue" {
                "**overdue**".to_string()
            } else {
                format!("{left} left")
            };
            let _ = write!(
                line,
                ": {} on {} at {} ({left})",
                sanitize_text(&d.fork),
                sanitize_text(&d.network),
                when(d.at)
            );
        }
        if let Some(p) = f.priority {
            let _ = write!(line, ", {} priority", p.as_str());
        }
        if let Some(r) = f.rollout.as_ref().filter(|r| !r.go) {
            let _ = write!(line, ", wave {} {}", r.wave, r.state.as_str());
        }
        if let Some(p) = pull_of(
            &inputs.pulls,
            &f.upstream,
            &f.latest,
            f.environment.as_deref(),
            true,
        ) {
            let _ = write!(line, ", #{}", p.number);
        }
        out.push_str(&line);
        out.push('\n');
    }
    let mut open: Vec<&PullRecord> = inputs
        .pulls
        .iter()
        .copied()
        .filter(|p| p.state == PullState::Open)
        .collect();
    open.sort_by_key(|p| p.number);
    if !open.is_empty() {
        out.push_str("\nOpen pull requests:\n\n");
    }
    for p in open {
        let what: Vec<String> = p
            .upgrades
            .iter()
            .map(|(u, v)| format!("{} {}", code_span(u, false), code_span(v, false)))
            .collect();
        checkbox(
            out,
            inputs,
            "",
            &format!("rebase #{} ({})", p.number, what.join(", ")),
            &Request::Rebase { pull: p.number },
        );
    }
}

fn rollouts(out: &mut String, inputs: &Inputs<'_>) {
    let flying: Vec<&UpstreamRollout> = inputs
        .rollouts
        .iter()
        .copied()
        .filter(|r| r.in_flight())
        .collect();
    if flying.is_empty() {
        return;
    }
    out.push_str("\n## In rollout\n");
    for r in flying {
        let mut head = format!(
            "\n### {} {}",
            code_span(&r.upstream, false),
            code_span(&r.version, false)
        );
        if let Some(d) = &r.deadline {
            let _ = write!(
                head,
                " ({} on {} at {})",
                sanitize_text(&d.fork),
                sanitize_text(&d.network),
                when(d.at)
            );
        }
        out.push_str(&head);
        out.push_str("\n\n");
        let mut notes = Vec::new();
        if r.at_risk {
            notes.push("the deadline leaves no time for soaks: every remaining wave opens now");
        } else if r.compressed {
            notes.push("soaks shortened for the deadline");
        }
        if r.expedited {
            notes.push("expedited");
        }
        if !notes.is_empty() {
            let _ = writeln!(out, "{}.\n", notes.join("; "));
        }
        for w in &r.waves {
            let envs: Vec<String> = w.environments.iter().map(|e| code_span(e, false)).collect();
            let mut line = format!(
                "- wave {} ({}): {}",
                w.wave,
                envs.join(", "),
                w.state.as_str()
            );
            if let Some(at) = w.opens_at {
                let verb = if w.state == WaveState::Soaking {
                    "next wave opens"
                } else {
                    "opens"
                };
                let _ = write!(line, ", {verb} {}", when(at));
            }
            if !w.reason.is_empty() {
                let _ = write!(line, ": {}", sanitize_text(&w.reason));
            }
            if let Some(p) = w.pull {
                let _ = write!(line, " (#{p})");
            }
            out.push_str(&line);
            out.push('\n');
            if w.state == WaveState::Pending && w.opens_at.is_some() {
                checkbox(
                    out,
                    inputs,
                    "  ",
                    &format!("open wave {} now (skip its soak and window)", w.wave),
                    &Request::OpenNow {
                        upstream: r.upstream.clone(),
                        version: r.version.clone(),
                        wave: w.wave,
                    },
                );
            }
            if matches!(w.state, WaveState::Soaking | WaveState::Blocked) {
                for env in &w.environments {
                    if let Some(p) =
                        pull_of(&inputs.pulls, &r.upstream, &r.version, Some(env), false)
                            .filter(|p| matches!(p.state, PullState::Merged { .. }))
                    {
                        checkbox(
                            out,
                            inputs,
                            "  ",
                            &format!("roll back #{} ({})", p.number, code_span(env, false)),
                            &Request::Rollback { pull: p.number },
                        );
                        break;
                    }
                }
            }
        }
    }
}

fn waiting(out: &mut String, inputs: &Inputs<'_>) {
    let images: Vec<&Finding> = inputs
        .findings
        .iter()
        .copied()
        .filter(|f| f.waiting_for_image)
        .collect();
    if inputs.held.is_empty() && images.is_empty() {
        return;
    }
    out.push_str("\n## Waiting\n\n");
    let mut lines: Vec<String> = Vec::new();
    let env_of = |f: &Finding| {
        f.environment
            .as_deref()
            .map(|e| format!(" in {}", code_span(e, false)))
            .unwrap_or_default()
    };
    for h in &inputs.held {
        let f = &h.finding;
        let env = env_of(f);
        lines.push(format!(
            "- {} {}{env}: {}",
            code_span(&f.upstream, false),
            code_span(&f.target_tag, false),
            sanitize_text(&h.reason)
        ));
    }
    for f in images {
        let env = env_of(f);
        lines.push(format!(
            "- {} {}{env}: image {} not published yet",
            code_span(&f.upstream, false),
            code_span(&f.latest, false),
            code_span(&format!("{}:{}", f.image, f.target_tag), false)
        ));
    }
    lines.dedup();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
}

fn skipped(out: &mut String, inputs: &Inputs<'_>) {
    if inputs.skipped.is_empty() {
        return;
    }
    out.push_str("\n## Ignored or skipped\n\n");
    for u in &inputs.skipped {
        let image = match &u.tag {
            Some(t) => format!("{}:{t}", u.image),
            None => u.image.clone(),
        };
        let _ = writeln!(
            out,
            "- {} ({}:{}): {}",
            code_span(&image, false),
            code_span(&u.file, false),
            u.line,
            sanitize_text(&u.reason)
        );
    }
}

fn problems(out: &mut String, inputs: &Inputs<'_>) {
    if inputs.problems.is_empty() && inputs.failures.is_empty() {
        return;
    }
    out.push_str("\n## Problems\n\n");
    for p in &inputs.problems {
        let _ = writeln!(out, "- {}", code_span(p, false));
    }
    for f in &inputs.failures {
        checkbox(
            out,
            inputs,
            "",
            &format!(
                "retry {}: {}",
                code_span(&f.subject, false),
                sanitize_text(&f.error)
            ),
            &Request::Retry {
                subject: f.subject.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_never_close_the_comment() {
        for r in [
            Request::OpenNow {
                upstream: "sigp/lighthouse".into(),
                version: "v9.0.0-->x y".into(),
                wave: 2,
            },
            Request::Rebase { pull: 12 },
            Request::Retry {
                subject: "upstream ethereum/go-ethereum".into(),
            },
            Request::Rollback { pull: 7 },
        ] {
            let id = r.id();
            assert!(!id.contains("-->"), "{id}");
            assert!(!id.contains('\n'));
            assert_eq!(Request::parse(&id), Some(r));
        }
    }

    #[test]
    fn ticked_boxes_are_read_back_once_and_unticked_ones_ignored() {
        let body = format!(
            "{MARKER}\n- [x] rebase #3 {BOX}rebase 3 -->\n- [ ] rebase #4 {BOX}rebase 4 -->\n  * [X] open {BOX}open-now lighthouse v9.0.0 2 -->\n- [x] again {BOX}rebase 3 -->\n- [x] forged {BOX}delete everything -->\n- [x] no id\n"
        );
        assert_eq!(
            ticked(&body),
            vec![
                Request::Rebase { pull: 3 },
                Request::OpenNow {
                    upstream: "lighthouse".into(),
                    version: "v9.0.0".into(),
                    wave: 2
                }
            ]
        );
        assert!(is_dashboard(&body));
        assert!(!is_dashboard("a pull request body"));
    }

    #[test]
    fn rendered_boxes_are_unticked_and_repository_text_cannot_forge_one() {
        let failure = Failure {
            subject: "x <!-- upkeep:box rebase 9 -->".into(),
            error: "- [x] <!-- upkeep:box rollback 1 --> @team".into(),
        };
        let inputs = Inputs {
            repository: "acme/deploy",
            failures: vec![&failure],
            ..Default::default()
        };
        let body = render(&inputs, DateTime::<Utc>::UNIX_EPOCH);
        assert!(ticked(&body).is_empty(), "{body}");
        let ticked_all = body.replace("- [ ]", "- [x]");
        assert_eq!(
            ticked(&ticked_all),
            vec![Request::Retry {
                subject: failure.subject.clone()
            }]
        );
        assert!(!body.contains("@team"), "{body}");
    }
}
