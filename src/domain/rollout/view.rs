//! Rollouts in words: the rows of `upkeep rollout status`, its markdown
//! (for CI summaries and pull request bodies) and JSON. Pure.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::decide::{RolloutAlert, UpstreamRollout, WaveState, WaveStatus};
use crate::domain::plan::human;

/// `2026-12-08 09:00 UTC`, or `-`.
pub fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".into(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// One row per wave: repository, upstream, version, wave, environments,
/// state, merged at, soak, opens at, reason.
pub fn rows(rollouts: &[UpstreamRollout]) -> Vec<[String; 10]> {
    let mut out = Vec::new();
    for r in rollouts {
        for (i, w) in r.waves.iter().enumerate() {
            let first = i == 0;
            let keep = |s: &str| if first { s.to_string() } else { String::new() };
            out.push([
                keep(&r.repository),
                keep(&r.upstream),
                keep(&r.version),
                w.wave.to_string(),
                w.environments.join(", "),
                state_text(w),
                time(w.merged_at),
                soak_text(r, w),
                time(w.opens_at),
                w.reason.clone(),
            ]);
        }
    }
    out
}

/// The header of [`rows`].
pub const HEADER: [&str; 10] = [
    "REPOSITORY",
    "UPSTREAM",
    "VERSION",
    "WAVE",
    "ENVIRONMENTS",
    "STATE",
    "MERGED",
    "SOAK",
    "OPENS AT",
    "WHY",
];

fn state_text(w: &WaveStatus) -> String {
    match (w.state, w.pull) {
        (WaveState::Open | WaveState::Blocked, Some(n)) => format!("{} #{n}", w.state.as_str()),
        _ => w.state.as_str().to_string(),
    }
}

fn soak_text(r: &UpstreamRollout, w: &WaveStatus) -> String {
    let last = r.waves.last().is_some_and(|l| l.wave == w.wave);
    if last {
        return "-".into();
    }
    let mut s = human(w.soak);
    if r.at_risk {
        s.push_str(" (at risk)");
    } else if r.compressed {
        s.push_str(" (shortened)");
    }
    s
}

/// Markdown: one table per rollout, with the deadline above it.
pub fn to_markdown(rollouts: &[UpstreamRollout], alerts: &[RolloutAlert]) -> String {
    let mut out = String::new();
    if rollouts.is_empty() {
        out.push_str("No rollout in flight.\n");
    }
    for r in rollouts {
        out.push_str(&format!(
            "### `{}` {} in {}\n\n",
            esc(&r.upstream),
            esc(&r.version),
            esc(&r.repository)
        ));
        out.push_str(&wave_table(r));
        out.push('\n');
    }
    if !alerts.is_empty() {
        out.push_str("**Alerts**\n\n");
        for a in alerts {
            out.push_str(&format!("- {}\n", esc(&a.message)));
        }
    }
    out
}

/// The waves of one rollout as a markdown table (the PR body shows it too),
/// preceded by its deadline when it has one.
pub fn wave_table(r: &UpstreamRollout) -> String {
    let mut out = String::new();
    if let Some(d) = &r.deadline {
        out.push_str(&format!(
            "Deadline: {} on {} at {}{}\n\n",
            esc(&d.fork),
            esc(&d.network),
            time(Some(d.at)),
            if r.at_risk {
                " (**at risk**: the remaining waves open at once)"
            } else if r.compressed {
                " (soaks shortened to meet it)"
            } else {
                ""
            }
        ));
    }
    out.push_str("| wave | environments | state | merged | soak | opens at | why |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    for w in &r.waves {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            w.wave,
            esc(&w.environments.join(", ")),
            state_text(w),
            time(w.merged_at),
            soak_text(r, w),
            time(w.opens_at),
            esc(&w.reason),
        ));
    }
    out
}

/// Escapes what would break a table cell or start markup.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("@\u{200b}"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `rollout status --format json`.
#[derive(Serialize)]
pub struct StatusJson<'a> {
    pub rollouts: &'a [UpstreamRollout],
    pub alerts: &'a [RolloutAlert],
}
