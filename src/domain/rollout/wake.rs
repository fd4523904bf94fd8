//! When the rollouts next move on their own: the earliest time a pending
//! wave may open (its maintenance window opens, or the wave before it has
//! soaked), so that `upkeep serve` runs a pass then, between its polls.
//! Pure: `now` is a parameter.

use chrono::{DateTime, Utc};

use super::decide::{UpstreamRollout, WaveState, WaveStatus};

/// The earliest `opens_at` later than `now` of a pending wave of any
/// rollout; `None` when no pending wave waits for a known time.
pub fn next_wake_up(rollouts: &[UpstreamRollout], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    rollouts
        .iter()
        .flat_map(|r| &r.waves)
        .filter(|w| w.state == WaveState::Pending)
        .filter_map(|w| w.opens_at)
        .filter(|t| *t > now)
        .min()
}

/// The pending waves that wait for their next maintenance window, which
/// opens after `now`: what operators announce before maintenance.
pub fn next_window(
    rollouts: &[UpstreamRollout],
    now: DateTime<Utc>,
) -> Vec<(&UpstreamRollout, &WaveStatus)> {
    let mut out: Vec<(&UpstreamRollout, &WaveStatus)> = rollouts
        .iter()
        .flat_map(|r| r.waves.iter().map(move |w| (r, w)))
        .filter(|(_, w)| w.state == WaveState::Pending && w.window)
        .filter(|(_, w)| w.opens_at.is_some_and(|t| t > now))
        .collect();
    out.sort_by(|a, b| {
        (a.1.opens_at, &a.0.repository, &a.0.upstream, a.1.wave).cmp(&(
            b.1.opens_at,
            &b.0.repository,
            &b.0.upstream,
            b.1.wave,
        ))
    });
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 12, 2, h, 0, 0).unwrap()
    }

    fn wave(
        wave: u32,
        state: WaveState,
        opens_at: Option<DateTime<Utc>>,
        window: bool,
    ) -> WaveStatus {
        WaveStatus {
            wave,
            environments: vec![format!("env{wave}")],
            state,
            merged_at: None,
            soak: Duration::from_secs(3600),
            opens_at,
            pull: None,
            pull_url: None,
            reason: String::new(),
            window,
        }
    }

    fn rollout(upstream: &str, waves: Vec<WaveStatus>) -> UpstreamRollout {
        UpstreamRollout {
            repository: "acme/deploy".into(),
            upstream: upstream.into(),
            version: "v1".into(),
            deadline: None,
            compressed: false,
            at_risk: false,
            expedited: false,
            waves,
        }
    }

    #[test]
    fn the_earliest_future_opening_of_a_pending_wave() {
        let now = t(8);
        let rollouts = [
            rollout(
                "a/a",
                vec![
                    // Soaking until 10: its opens_at is the soak's end, not
                    // a pending wave's.
                    wave(1, WaveState::Soaking, Some(t(10)), false),
                    wave(2, WaveState::Pending, Some(t(10)), false),
                ],
            ),
            rollout(
                "b/b",
                vec![
                    wave(1, WaveState::Done, None, false),
                    wave(2, WaveState::Pending, Some(t(9)), true),
                    wave(3, WaveState::Pending, None, false),
                ],
            ),
            // Already due (the pass that computed it opened it or will).
            rollout("c/c", vec![wave(1, WaveState::Pending, Some(t(7)), true)]),
        ];
        assert_eq!(next_wake_up(&rollouts, now), Some(t(9)));
        assert_eq!(next_wake_up(&rollouts, t(9)), Some(t(10)));
        assert_eq!(next_wake_up(&rollouts, t(10)), None);
        assert_eq!(next_wake_up(&[], now), None);
        let soaking_only = [rollout(
            "a/a",
            vec![wave(1, WaveState::Soaking, Some(t(10)), false)],
        )];
        assert_eq!(next_wake_up(&soaking_only, now), None);
    }

    #[test]
    fn next_window_lists_only_waves_held_by_a_window() {
        let rollouts = [rollout(
            "a/a",
            vec![
                wave(1, WaveState::Soaking, Some(t(10)), false),
                wave(2, WaveState::Pending, Some(t(10)), false),
                wave(3, WaveState::Pending, Some(t(9)), true),
            ],
        )];
        let list = next_window(&rollouts, t(8));
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].1.wave, 3);
        assert!(next_window(&rollouts, t(9)).is_empty());
    }
}
