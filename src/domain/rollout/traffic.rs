//! Calm pull-request traffic: at most `pull_requests.max_open` of upkeep's
//! pull requests open in a repository and at most
//! `pull_requests.max_per_hour` new ones an hour, the most urgent first
//! (overdue, then the nearest deadline, then security fixes, then the rest).
//! Pure: the planned pull requests, what is open and what was opened in the
//! last hour come in; which may be opened now comes out. Updating an open
//! pull request is never limited. Coupled pull requests (both layers of an
//! environment for a fork, [`super::couple`]) count as one: they open
//! together, or wait together.

use chrono::{DateTime, Utc};

use super::couple::{Couples, Waiting};
use crate::domain::plan::PlannedPr;
use crate::domain::rules::Code;

/// One planned pull request as the limits see it.
pub struct Candidate<'a> {
    pub pr: &'a PlannedPr,
    /// No pull request of upkeep is open for it yet.
    pub new: bool,
    /// The candidates it is coupled with, each with why it would wait for
    /// that one (`waiting for sigp/lighthouse (coupled for Glamsterdam in
    /// mainnet)`).
    pub partners: Vec<(usize, String)>,
}

/// For each planned pull request, the others it is coupled with (a finding
/// of each in one environment, their upstreams coupled there), with the
/// reason it waits for that one.
pub fn partners(prs: &[&PlannedPr], couples: &Couples) -> Vec<Vec<(usize, String)>> {
    prs.iter()
        .enumerate()
        .map(|(i, pr)| {
            let mut out: Vec<(usize, String)> = Vec::new();
            for f in &pr.findings {
                let Some(env) = &f.environment else { continue };
                for (partner, fork) in couples.partners(env, &f.upstream) {
                    let found = prs.iter().enumerate().find(|(j, other)| {
                        *j != i
                            && other.findings.iter().any(|g| {
                                g.environment.as_ref() == Some(env)
                                    && g.upstream.eq_ignore_ascii_case(&partner)
                            })
                    });
                    if let Some((j, _)) = found
                        && !out.iter().any(|(k, _)| *k == j)
                    {
                        out.push((j, Waiting::new(&partner, &fork, env).to_string()));
                    }
                }
            }
            out
        })
        .collect()
}

/// How urgent a planned pull request is: smaller is sooner.
fn urgency(pr: &PlannedPr, now: DateTime<Utc>) -> (u8, Option<DateTime<Utc>>) {
    let deadline = pr
        .findings
        .iter()
        .filter_map(|f| f.deadline.as_ref().map(|d| d.at))
        .min();
    let has = |c: Code| pr.findings.iter().any(|f| f.codes.contains(&c));
    let class = if has(Code::Overdue) || deadline.is_some_and(|d| d <= now) {
        0
    } else if deadline.is_some() {
        1
    } else if has(Code::SecurityFix) {
        2
    } else {
        3
    };
    (class, deadline)
}

/// For each candidate (in the given order), `None` when it may be opened or
/// updated now, or the reason it waits.
pub fn admit(
    candidates: &[Candidate<'_>],
    open_now: usize,
    opened_last_hour: usize,
    max_open: u32,
    max_per_hour: u32,
    now: DateTime<Utc>,
) -> Vec<Option<String>> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| {
        let (class, deadline) = urgency(candidates[i].pr, now);
        // `None` deadlines sort after every time.
        (class, deadline.is_none(), deadline, i)
    });
    let mut open = open_now;
    let mut opened = opened_last_hour;
    let mut out = vec![None; candidates.len()];
    let mut decided = vec![false; candidates.len()];
    for i in order {
        if !candidates[i].new || decided[i] {
            continue;
        }
        // It and its new partners: one unit.
        let unit: Vec<(usize, &str)> = candidates[i]
            .partners
            .iter()
            .filter(|(j, _)| candidates[*j].new && !decided[*j])
            .map(|(j, _)| (*j, why_for(&candidates[*j], i)))
            .collect();
        decided[i] = true;
        let held = if open >= max_open as usize {
            Some(format!(
                "pull_requests.max_open: {max_open} of upkeep's pull requests are open; more urgent ones went first"
            ))
        } else if opened >= max_per_hour as usize {
            Some(format!(
                "pull_requests.max_per_hour: {max_per_hour} opened in the last hour; it opens on a later run"
            ))
        } else {
            None
        };
        for (j, why) in &unit {
            decided[*j] = true;
            if held.is_some() {
                out[*j] = Some(why.to_string());
            }
        }
        match held {
            Some(why) => out[i] = Some(why),
            None => {
                // A couple counts as one against the limits: its partners
                // open with it.
                open += 1;
                opened += 1;
            }
        }
    }
    out
}

/// Why `c` waits for candidate `other`.
fn why_for<'c>(c: &'c Candidate<'_>, other: usize) -> &'c str {
    c.partners
        .iter()
        .find(|(k, _)| *k == other)
        .map_or("coupled", |(_, why)| why.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::evaluate::{Deadline, Finding};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
    }

    fn pr(codes: &[Code], deadline_hours: Option<i64>) -> PlannedPr {
        let finding = Finding {
            repository: "acme/deploy".into(),
            file: "a.yaml".into(),
            line: 1,
            image: "sigp/lighthouse".into(),
            current: "v1.0.0".into(),
            upstream: "sigp/lighthouse".into(),
            latest: "v2.0.0".into(),
            target_tag: "v2.0.0".into(),
            behind: 1,
            environment: None,
            network: None,
            wave: None,
            codes: codes.to_vec(),
            deadline: deadline_hours.map(|h| Deadline {
                fork: "Fusaka".into(),
                network: "mainnet".into(),
                at: now() + chrono::Duration::hours(h),
                release: None,
            }),
            priority: None,
            published_at: None,
            target_digest: None,
            waiting_for_image: false,
            since: None,
            current_release: None,
            digest: None,
            breaking: Vec::new(),
            security: None,
            rollout: None,
        };
        PlannedPr {
            repository: "acme/deploy".into(),
            name: None,
            upgrades: Vec::new(),
            group: None,
            edits: Vec::new(),
            findings: vec![finding],
            labels: Vec::new(),
        }
    }

    #[test]
    fn the_most_urgent_take_the_free_places() {
        let routine = pr(&[], None);
        let security = pr(&[Code::SecurityFix], None);
        let later = pr(&[], Some(72));
        let sooner = pr(&[], Some(24));
        let overdue = pr(&[Code::Overdue], None);
        let all = [&routine, &security, &later, &sooner, &overdue];
        let candidates: Vec<Candidate<'_>> = all
            .iter()
            .map(|pr| Candidate {
                pr,
                new: true,
                partners: Vec::new(),
            })
            .collect();
        let out = admit(&candidates, 7, 0, 10, 5, now());
        let admitted: Vec<usize> = (0..5).filter(|&i| out[i].is_none()).collect();
        // Three places: overdue, then the nearest deadline, then the next.
        assert_eq!(admitted, [2, 3, 4]);
        assert!(out[0].as_ref().unwrap().contains("max_open"));
        assert!(out[1].as_ref().unwrap().contains("max_open"));
    }

    #[test]
    fn updates_are_never_limited_and_the_hourly_budget_counts() {
        let a = pr(&[], None);
        let b = pr(&[], None);
        let c = pr(&[], None);
        let candidates = [
            Candidate {
                pr: &a,
                new: false,
                partners: Vec::new(),
            },
            Candidate {
                pr: &b,
                new: true,
                partners: Vec::new(),
            },
            Candidate {
                pr: &c,
                new: true,
                partners: Vec::new(),
            },
        ];
        let out = admit(&candidates, 10, 4, 10, 5, now());
        assert_eq!(out[0], None, "an update is not limited, even at max_open");
        assert!(out[1].as_ref().unwrap().contains("max_open"));
        let out = admit(&candidates, 0, 4, 10, 5, now());
        assert_eq!(out[1], None);
        assert!(out[2].as_ref().unwrap().contains("max_per_hour"));
    }

    #[test]
    fn coupled_candidates_open_together_or_wait_together() {
        let el = pr(&[], None);
        let cl = pr(&[], None);
        let routine = pr(&[], None);
        let coupled = |pr, other: usize, up: &str| Candidate {
            pr,
            new: true,
            partners: vec![(other, format!("waiting for {up} (coupled for Glamsterdam)"))],
        };
        let candidates = [
            coupled(&el, 1, "sigp/lighthouse"),
            coupled(&cl, 0, "ethereum/go-ethereum"),
            Candidate {
                pr: &routine,
                new: true,
                partners: Vec::new(),
            },
        ];
        // One place left: the couple takes it, together.
        let out = admit(&candidates, 9, 0, 10, 5, now());
        assert_eq!((&out[0], &out[1]), (&None, &None), "{out:?}");
        assert!(out[2].as_ref().unwrap().contains("max_open"));
        // No place: both wait, the partner saying for whom.
        let out = admit(&candidates, 10, 0, 10, 5, now());
        assert!(out[0].as_ref().unwrap().contains("max_open"));
        assert_eq!(
            out[1].as_deref(),
            Some("waiting for ethereum/go-ethereum (coupled for Glamsterdam)")
        );
    }
}
