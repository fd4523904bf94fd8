//! Deadline-aware soak compression: how long each remaining wave soaks.
//!
//! A release moves through the waves 1..n of a repository. Before wave k+1
//! may open, wave k must have run the release for its soak. When a fork
//! activation is coming, every wave must run the release before it, so the
//! configured soaks may have to shrink. [`compress`] decides the soaks; it is
//! pure: no tokio, no clock (the anchor and the deadline are parameters; this
//! module never calls `Utc::now()`), no I/O.
//!
//! # Rules
//!
//! `configured[i]` is the soak before the i-th wave still to open; `anchor` is
//! when the first of those soaks starts (its predecessor's merge, or now).
//!
//! 1. With [`Policy::expedite`], every soak is first cut to
//!    `min(configured_i, minimum)`.
//! 2. Without a deadline, the soaks stay as they are after rule 1.
//! 3. With a deadline: `left = deadline - margin - anchor` and
//!    `share = left / m` for `m` remaining waves.
//!    - `m == 0`: an empty plan, not at risk.
//!    - `left <= 0` or `share < minimum`: infeasible. The plan is *at risk*
//!      and every soak is zero: open all remaining waves at once.
//!    - otherwise `soak_i = min(current_i, max(share, minimum))` with
//!      `current_i` the soak after rule 1. Since `share >= minimum` here,
//!      each soak is at most `share` and the soaks add up to at most `left`:
//!      every wave opens by `deadline - margin` if each merges the moment it
//!      opens.
//! 4. `compressed` is true when any soak is shorter than configured
//!    (expedite counts).
//!
//! Durations that do not fit chrono's range saturate; a deadline minus
//! margin before the representable range counts as already passed.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// How long each remaining wave soaks, in wave order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoakPlan {
    /// The soak before each remaining wave opens, same order and length as
    /// the configured soaks.
    pub soaks: Vec<Duration>,
    /// Whether any soak is shorter than configured.
    pub compressed: bool,
    /// Whether the deadline cannot be met with soaks of at least the
    /// minimum: every soak is then zero.
    pub at_risk: bool,
}

/// The limits within which soaks may be compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The shortest soak a deadline may compress a wave to.
    pub minimum: Duration,
    /// How long before the deadline every wave must have opened.
    pub margin: Duration,
    /// Cut every soak to `minimum` whatever the deadline (an urgent release).
    pub expedite: bool,
}

/// Decides the soaks of the remaining waves; see the [module docs](self)
/// for the rules.
///
/// `configured[i]`: the soak to wait before the i-th wave still to open
/// (after its predecessor merged), in wave order. `anchor`: when the soak
/// clock of the first of them starts (the predecessor's merge time, or now).
/// `deadline`: the fork activation that the release must reach every
/// remaining wave before (minus `policy.margin`), if any.
pub fn compress(
    configured: &[Duration],
    anchor: DateTime<Utc>,
    deadline: Option<DateTime<Utc>>,
    policy: &Policy,
) -> SoakPlan {
    let current: Vec<Duration> = configured
        .iter()
        .map(|c| {
            if policy.expedite {
                (*c).min(policy.minimum)
            } else {
                *c
            }
        })
        .collect();
    let (soaks, at_risk) = match deadline {
        None => (current, false),
        Some(_) if configured.is_empty() => (current, false),
        Some(deadline) => match share(configured.len(), anchor, deadline, policy.margin) {
            Some(share) if share >= policy.minimum => {
                (current.iter().map(|c| (*c).min(share)).collect(), false)
            }
            _ => (vec![Duration::ZERO; configured.len()], true),
        },
    };
    let compressed = soaks.iter().zip(configured).any(|(s, c)| s < c);
    SoakPlan {
        soaks,
        compressed,
        at_risk,
    }
}

/// `(deadline - margin - anchor) / waves`, or `None` when that time left is
/// zero or negative (or the deadline minus margin is out of range).
fn share(
    waves: usize,
    anchor: DateTime<Utc>,
    deadline: DateTime<Utc>,
    margin: Duration,
) -> Option<Duration> {
    let margin = TimeDelta::from_std(margin).ok()?;
    let cutoff = deadline.checked_sub_signed(margin)?;
    let left = (cutoff - anchor).to_std().ok().filter(|l| !l.is_zero())?;
    // Division truncates, so `share * waves <= left`.
    Some(left / u32::try_from(waves).unwrap_or(u32::MAX))
}

impl SoakPlan {
    /// When each wave opens, assuming each merges the moment it opens:
    /// `anchor + soak_0`, `anchor + soak_0 + soak_1`, ... (saturating at the
    /// end of representable time).
    pub fn opens_at(&self, anchor: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut at = anchor;
        self.soaks
            .iter()
            .map(|soak| {
                at = TimeDelta::from_std(*soak)
                    .ok()
                    .and_then(|d| at.checked_add_signed(d))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                at
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn anchor() -> DateTime<Utc> {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    fn after(d: Duration) -> DateTime<Utc> {
        anchor() + TimeDelta::from_std(d).unwrap()
    }

    fn policy(minimum: Duration, margin: Duration) -> Policy {
        Policy {
            minimum,
            margin,
            expedite: false,
        }
    }

    #[test]
    fn no_deadline_keeps_configured_soaks() {
        let plan = compress(&[DAY, 2 * DAY], anchor(), None, &policy(HOUR, DAY));
        assert_eq!(
            plan,
            SoakPlan {
                soaks: vec![DAY, 2 * DAY],
                compressed: false,
                at_risk: false
            }
        );
        assert_eq!(plan.opens_at(anchor()), vec![after(DAY), after(3 * DAY)]);
    }

    #[test]
    fn far_deadline_keeps_configured_soaks() {
        let plan = compress(
            &[DAY; 3],
            anchor(),
            Some(after(30 * DAY)),
            &policy(HOUR, 2 * DAY),
        );
        assert_eq!(plan.soaks, vec![DAY; 3]);
        assert!(!plan.compressed && !plan.at_risk);
    }

    #[test]
    fn near_deadline_shares_the_time_left() {
        // left = 3 days - 48h = 24h; share = 8h >= 1h.
        let plan = compress(
            &[DAY; 3],
            anchor(),
            Some(after(3 * DAY)),
            &policy(HOUR, 2 * DAY),
        );
        assert_eq!(plan.soaks, vec![8 * HOUR; 3]);
        assert!(plan.compressed);
        assert!(!plan.at_risk);
        assert_eq!(
            plan.opens_at(anchor()),
            vec![after(8 * HOUR), after(16 * HOUR), after(DAY)]
        );
    }

    #[test]
    fn short_soaks_stay_short_while_long_ones_shrink_to_the_share() {
        // left = 24h, share = 8h: 2h stays, 24h and 3 days become 8h.
        let plan = compress(
            &[2 * HOUR, DAY, 3 * DAY],
            anchor(),
            Some(after(3 * DAY)),
            &policy(HOUR, 2 * DAY),
        );
        assert_eq!(plan.soaks, vec![2 * HOUR, 8 * HOUR, 8 * HOUR]);
        assert!(plan.compressed && !plan.at_risk);
    }

    #[test]
    fn share_below_minimum_is_at_risk() {
        let plan = compress(
            &[DAY; 3],
            anchor(),
            Some(after(3 * DAY)),
            &policy(12 * HOUR, 2 * DAY),
        );
        assert_eq!(plan.soaks, vec![Duration::ZERO; 3]);
        assert!(plan.at_risk && plan.compressed);
        assert_eq!(plan.opens_at(anchor()), vec![anchor(); 3]);
    }

    #[test]
    fn passed_deadline_is_at_risk() {
        let deadline = anchor() - TimeDelta::hours(1);
        let plan = compress(
            &[DAY; 2],
            anchor(),
            Some(deadline),
            &policy(Duration::ZERO, Duration::ZERO),
        );
        assert_eq!(plan.soaks, vec![Duration::ZERO; 2]);
        assert!(plan.at_risk);
        // Exactly at the deadline minus margin: no time left either.
        let plan = compress(
            &[DAY],
            anchor(),
            Some(after(DAY)),
            &policy(Duration::ZERO, DAY),
        );
        assert!(plan.at_risk);
    }

    #[test]
    fn expedite_cuts_to_the_minimum() {
        let p = Policy {
            expedite: true,
            ..policy(2 * HOUR, DAY)
        };
        let plan = compress(&[DAY, HOUR, 2 * HOUR], anchor(), None, &p);
        assert_eq!(plan.soaks, vec![2 * HOUR, HOUR, 2 * HOUR]);
        assert!(plan.compressed && !plan.at_risk);
        let plan = compress(&[HOUR], anchor(), None, &p);
        assert!(!plan.compressed);
    }

    #[test]
    fn no_waves_left_is_an_empty_plan() {
        for deadline in [None, Some(after(DAY)), Some(anchor() - TimeDelta::days(1))] {
            let plan = compress(&[], anchor(), deadline, &policy(HOUR, HOUR));
            assert_eq!(
                plan,
                SoakPlan {
                    soaks: vec![],
                    compressed: false,
                    at_risk: false
                }
            );
            assert!(plan.opens_at(anchor()).is_empty());
        }
    }

    #[test]
    fn extreme_values_saturate() {
        let huge = Duration::from_secs(u64::MAX);
        let plan = compress(&[huge, huge], anchor(), None, &policy(HOUR, HOUR));
        assert_eq!(plan.opens_at(anchor()), vec![DateTime::<Utc>::MAX_UTC; 2]);
        let plan = compress(&[DAY], anchor(), Some(after(2 * DAY)), &policy(HOUR, huge));
        assert!(plan.at_risk);
        let plan = compress(
            &[DAY],
            anchor(),
            Some(DateTime::<Utc>::MIN_UTC),
            &policy(HOUR, DAY),
        );
        assert!(plan.at_risk);
    }

    fn soak() -> impl Strategy<Value = Duration> {
        // Up to 30 days, at one-second resolution.
        (0u64..=30 * 24 * 3600).prop_map(Duration::from_secs)
    }

    fn inputs() -> impl Strategy<Value = (Vec<Duration>, Option<DateTime<Utc>>, Policy)> {
        let deadline = prop::option::of(-60 * 24 * 3600i64..=60 * 24 * 3600)
            .prop_map(|offset| offset.map(|s| anchor() + TimeDelta::seconds(s)));
        let policy = (0u64..=3 * 24 * 3600, 0u64..=7 * 24 * 3600, any::<bool>()).prop_map(
            |(minimum, margin, expedite)| Policy {
                minimum: Duration::from_secs(minimum),
                margin: Duration::from_secs(margin),
                expedite,
            },
        );
        (prop::collection::vec(soak(), 0..=6), deadline, policy)
    }

    proptest! {
        #[test]
        fn plans_keep_their_promises((configured, deadline, policy) in inputs()) {
            let plan = compress(&configured, anchor(), deadline, &policy);
            prop_assert_eq!(plan.soaks.len(), configured.len());
            for (soak, configured) in plan.soaks.iter().zip(&configured) {
                prop_assert!(soak <= configured);
            }
            prop_assert_eq!(
                plan.compressed,
                plan.soaks.iter().zip(&configured).any(|(s, c)| s < c)
            );
            if deadline.is_none() {
                prop_assert!(!plan.at_risk);
            }
            if plan.at_risk {
                prop_assert!(plan.soaks.iter().all(|s| s.is_zero()));
            } else {
                for (soak, configured) in plan.soaks.iter().zip(&configured) {
                    prop_assert!(*soak >= (*configured).min(policy.minimum));
                }
                if let Some(deadline) = deadline {
                    let cutoff = deadline - TimeDelta::from_std(policy.margin).unwrap();
                    let total: Duration = plan.soaks.iter().sum();
                    prop_assert!(configured.is_empty() || anchor() + TimeDelta::from_std(total).unwrap() <= cutoff);
                    if let Some(last) = plan.opens_at(anchor()).last() {
                        prop_assert!(*last <= cutoff);
                    }
                }
            }
            let opens = plan.opens_at(anchor());
            prop_assert_eq!(opens.len(), configured.len());
            prop_assert!(opens.windows(2).all(|w| w[0] <= w[1]));
            prop_assert!(opens.first().is_none_or(|first| *first >= anchor()));
        }

        #[test]
        fn expedite_never_lengthens_a_soak((configured, deadline, policy) in inputs()) {
            let normal = compress(&configured, anchor(), deadline, &Policy { expedite: false, ..policy });
            let expedited = compress(&configured, anchor(), deadline, &Policy { expedite: true, ..policy });
            prop_assert_eq!(normal.at_risk, expedited.at_risk);
            for (e, n) in expedited.soaks.iter().zip(&normal.soaks) {
                prop_assert!(e <= n);
            }
        }
    }
}
