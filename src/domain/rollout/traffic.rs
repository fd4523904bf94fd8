//! Calm pull-request traffic: at most `pull_requests.max_open` of upkeep's
//! pull requests open in a repository and at most
//! `pull_requests.max_per_hour` new ones an hour, the most urgent first
//! (overdue, then the nearest deadline, then security fixes, then the rest).
//! Pure: the planned pull requests, what is open and what was opened in the
//! last hour come in; which may be opened now comes out. Updating an open
//! pull request is never limited.

use chrono::{DateTime, Utc};

use crate::domain::plan::PlannedPr;
use crate::domain::rules::Code;

/// One planned pull request as the limits see it.
pub struct Candidate<'a> {
    pub pr: &'a PlannedPr,
    /// No pull request of upkeep is open for it yet.
    pub new: bool,
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
    for i in order {
        if !candidates[i].new {
            continue;
        }
        if open >= max_open as usize {
            out[i] = Some(format!(
                "pull_requests.max_open: {max_open} of upkeep's pull requests are open; more urgent ones went first"
            ));
        } else if opened >= max_per_hour as usize {
            out[i] = Some(format!(
                "pull_requests.max_per_hour: {max_per_hour} opened in the last hour; it opens on a later run"
            ));
        } else {
            open += 1;
            opened += 1;
        }
    }
    out
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
        let candidates: Vec<Candidate<'_>> =
            all.iter().map(|pr| Candidate { pr, new: true }).collect();
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
            Candidate { pr: &a, new: false },
            Candidate { pr: &b, new: true },
            Candidate { pr: &c, new: true },
        ];
        let out = admit(&candidates, 10, 4, 10, 5, now());
        assert_eq!(out[0], None, "an update is not limited, even at max_open");
        assert!(out[1].as_ref().unwrap().contains("max_open"));
        let out = admit(&candidates, 0, 4, 10, 5, now());
        assert_eq!(out[1], None);
        assert!(out[2].as_ref().unwrap().contains("max_per_hour"));
    }
}
