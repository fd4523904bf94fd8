//! `GET /metrics`: Prometheus text format, through `prometheus-client`.
//!
//! Counters: polls, webhooks by event and outcome, GitHub requests by
//! status, installation tokens, pull requests by action, errors. Gauges:
//! the GitHub rate-limit budget left, and per repository the pending
//! upgrades and the seconds to its nearest deadline (negative once passed).
//! Slack deliveries by outcome (`sent`, `failed`). Per wave of every
//! rollout in flight: `upkeep_rollout_wave_state` (1, labelled with its
//! current state) and, for pending and soaking waves with a known time,
//! `upkeep_rollout_opens_at_timestamp_seconds`; the label values come from
//! the rollouts only (repositories, upstreams, releases, wave numbers and
//! the five states), replaced whole after each pass. After them, the
//! inventory gauges ([`crate::domain::inventory::to_prometheus`]) of the latest
//! pass over each repository, and its fork readiness
//! ([`crate::domain::readiness::to_prometheus`]: `upkeep_fork_ready`,
//! `upkeep_fork_seconds_left`, counted down at each scrape).

use std::sync::Mutex;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::app::pipeline::RunReport;
use crate::app::publish::Action;
use crate::domain::rollout::decide::{UpstreamRollout, WaveState};
use crate::io::forge::{Forge, Scope};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Status {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Webhook {
    event: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PullAction {
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

/// Whose rate budget: an App installation's id, or `token`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Installation {
    installation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Repository {
    repository: Escaped,
}

impl Metrics {
    /// The readiness gauges at `now`: seconds left counted again, forks
    /// active by now dropped.
    fn readiness_text(&self, now: DateTime<Utc>) -> String {
        let mut rows = self
            .readiness
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for r in &mut rows {
            r.seconds_left = (r.activates_at - now).num_seconds();
        }
        rows.retain(|r| r.seconds_left > 0);
        crate::domain::readiness::to_prometheus(&crate::domain::readiness::Readiness {
            now: Some(now),
            rows,
        })
    }
}

/// A label value escaped as the text format asks (`\\`, `\"`, `\n`):
/// `prometheus-client` 0.24 writes label values as they are, and
/// repository names of local checkouts, upstreams and versions are not
/// ours to choose.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Escaped(String);

impl From<&str> for Escaped {
    fn from(s: &str) -> Self {
        Escaped(s.to_string())
    }
}

impl EncodeLabelValue for Escaped {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RolloutWave {
    repository: Escaped,
    upstream: Escaped,
    version: Escaped,
    wave: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RolloutWaveAt {
    repository: Escaped,
    upstream: Escaped,
    version: Escaped,
    wave: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    polls: Counter,
    webhooks: Family<Webhook, Counter>,
    github_requests: Family<Status, Counter>,
    rate_remaining: Gauge,
    installation_rate: Family<Installation, Gauge>,
    postponed: Counter,
    tokens: Counter,
    pulls: Family<PullAction, Counter>,
    errors: Counter,
    pending: Family<Repository, Gauge>,
    deadline: Family<Repository, Gauge>,
    slack: Family<Outcome, Counter>,
    wave_state: Family<RolloutWave, Gauge>,
    opens_at: Family<RolloutWaveAt, Gauge>,
    /// Prometheus text of the inventory families, appended to the registry's.
    inventory: Mutex<String>,
    /// The fork readiness rows of the latest pass over each repository.
    readiness: Mutex<Vec<crate::domain::readiness::Row>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("upkeep");
        let m = Metrics {
            polls: Counter::default(),
            webhooks: Family::default(),
            github_requests: Family::default(),
            rate_remaining: Gauge::default(),
            installation_rate: Family::default(),
            postponed: Counter::default(),
            tokens: Counter::default(),
            pulls: Family::default(),
            errors: Counter::default(),
            pending: Family::default(),
            deadline: Family::default(),
            slack: Family::default(),
            wave_state: Family::default(),
            opens_at: Family::default(),
            inventory: Mutex::new(String::new()),
            readiness: Mutex::new(Vec::new()),
            registry: Registry::default(),
        };
        registry.register(
            "polls",
            "Pipeline passes over the repositories",
            m.polls.clone(),
        );
        registry.register(
            "webhooks",
            "Webhook deliveries by event and outcome (accepted, ignored, duplicate, rejected, invalid)",
            m.webhooks.clone(),
        );
        registry.register(
            "github_requests",
            "GitHub API answers by HTTP status",
            m.github_requests.clone(),
        );
        registry.register(
            "github_rate_limit_remaining",
            "GitHub API requests left in the current rate-limit window",
            m.rate_remaining.clone(),
        );
        registry.register(
            "github_rate_remaining",
            "GitHub API requests left in the current rate-limit window, per installation (`token` in token mode)",
            m.installation_rate.clone(),
        );
        registry.register(
            "github_passes_postponed",
            "Passes over an installation's repositories postponed because its rate budget was below the reserve",
            m.postponed.clone(),
        );
        registry.register(
            "github_installation_tokens",
            "GitHub App installation tokens fetched",
            m.tokens.clone(),
        );
        registry.register(
            "pull_requests",
            "Pull requests by action (created, updated, closed, merged, ignored)",
            m.pulls.clone(),
        );
        registry.register(
            "errors",
            "Failed repositories, upstreams, pull requests and jobs",
            m.errors.clone(),
        );
        registry.register(
            "pending_upgrades",
            "Outdated image references per repository",
            m.pending.clone(),
        );
        registry.register(
            "deadline_seconds",
            "Seconds to the nearest fork deadline per repository (negative once passed)",
            m.deadline.clone(),
        );
        registry.register(
            "slack_deliveries",
            "Slack messages (digests, alerts, reminders) by outcome (sent, failed)",
            m.slack.clone(),
        );
        registry.register(
            "rollout_wave_state",
            "Waves of the rollouts in flight: 1, labelled with the wave's state (pending, open, soaking, done, blocked)",
            m.wave_state.clone(),
        );
        registry.register(
            "rollout_opens_at_timestamp_seconds",
            "When a pending wave may open, or a soaking wave's soak ends (Unix time)",
            m.opens_at.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Replaces the rollout gauges with the waves of `rollouts` (those in
    /// flight).
    pub fn set_rollouts(&self, rollouts: &[UpstreamRollout]) {
        self.wave_state.clear();
        self.opens_at.clear();
        for r in rollouts.iter().filter(|r| r.in_flight()) {
            for w in &r.waves {
                self.wave_state
                    .get_or_create(&RolloutWave {
                        repository: r.repository.as_str().into(),
                        upstream: r.upstream.as_str().into(),
                        version: r.version.as_str().into(),
                        wave: w.wave.to_string(),
                        state: w.state.as_str().to_string(),
                    })
                    .set(1);
                if let (WaveState::Pending | WaveState::Soaking, Some(at)) = (w.state, w.opens_at) {
                    self.opens_at
                        .get_or_create(&RolloutWaveAt {
                            repository: r.repository.as_str().into(),
                            upstream: r.upstream.as_str().into(),
                            version: r.version.as_str().into(),
                            wave: w.wave.to_string(),
                        })
                        .set(at.timestamp());
                }
            }
        }
    }

    pub fn webhook(&self, event: &str, outcome: &str) {
        self.webhooks
            .get_or_create(&Webhook {
                event: event.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn pull(&self, action: &str) {
        self.pulls
            .get_or_create(&PullAction {
                action: action.to_string(),
            })
            .inc();
    }

    pub fn error(&self) {
        self.errors.inc();
    }

    /// One Slack message `sent` or `failed`.
    pub fn slack_delivery(&self, outcome: &str) {
        self.slack
            .get_or_create(&Outcome {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Replaces the inventory families (Prometheus text with its own HELP
    /// and TYPE lines, from [`crate::domain::inventory::to_prometheus`]).
    pub fn set_inventory(&self, text: String) {
        *self.inventory.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }

    /// Replaces the fork readiness rows (`upkeep_fork_ready`,
    /// `upkeep_fork_seconds_left`, the latter counted at each scrape).
    pub fn set_readiness(&self, rows: Vec<crate::domain::readiness::Row>) {
        *self.readiness.lock().unwrap_or_else(|e| e.into_inner()) = rows;
    }

    /// After one pipeline pass: PR actions, errors, and the per-repository
    /// gauges of the repositories it looked at.
    pub fn record_run(&self, report: &RunReport, repositories: &[String], now: DateTime<Utc>) {
        self.polls.inc();
        for o in &report.outcomes {
            match &o.action {
                Action::Created { .. } => self.pull("created"),
                Action::Updated { .. } => self.pull("updated"),
                Action::Failed { .. } => self.error(),
                _ => {}
            }
        }
        for _ in &report.closed {
            self.pull("closed");
        }
        for _ in report.check.failures.iter().chain(&report.failures) {
            self.error();
        }
        for repo in repositories {
            let findings = report
                .check
                .findings
                .iter()
                .filter(|f| &f.repository == repo);
            let label = Repository {
                repository: repo.as_str().into(),
            };
            self.pending
                .get_or_create(&label)
                .set(i64::try_from(findings.clone().count()).unwrap_or(i64::MAX));
            match findings
                .filter_map(|f| f.deadline.as_ref())
                .map(|d| d.at)
                .min()
            {
                Some(at) => {
                    self.deadline
                        .get_or_create(&label)
                        .set((at - now).num_seconds());
                }
                None => {
                    self.deadline.remove(&label);
                }
            }
        }
    }

    /// Copies the forge's counters (requests by status, tokens, rate limit).
    pub fn sync_forge(&self, forge: &Forge) {
        let by_status = forge
            .stats
            .by_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (status, n) in by_status {
            self.set_github_answers(&status.to_string(), n);
        }
        self.tokens.inner().store(
            forge.stats.tokens_issued.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        if let Some(remaining) = forge.rate_limit().remaining {
            self.rate_remaining
                .set(i64::try_from(remaining).unwrap_or(i64::MAX));
        }
        for (scope, rate) in forge.rate_limits() {
            let installation = match scope {
                Scope::Installation(id) => id.to_string(),
                Scope::Token => "token".into(),
                Scope::App => continue,
            };
            if let Some(remaining) = rate.remaining {
                self.set_rate_remaining(&installation, remaining);
            }
        }
    }

    /// GitHub's answers with `status` so far (the forge's count).
    pub fn set_github_answers(&self, status: &str, n: u64) {
        self.github_requests
            .get_or_create(&Status {
                status: status.to_string(),
            })
            .inner()
            .store(n, Ordering::Relaxed);
    }

    /// The rate budget left to `installation` (its id, or `token`).
    pub fn set_rate_remaining(&self, installation: &str, remaining: u64) {
        self.installation_rate
            .get_or_create(&Installation {
                installation: installation.to_string(),
            })
            .set(i64::try_from(remaining).unwrap_or(i64::MAX));
    }

    /// A pass postponed for want of rate budget.
    pub fn postponed(&self) {
        self.postponed.inc();
    }

    /// The Prometheus text exposition (format 0.0.4, what `/metrics`
    /// announces): the registry's families, then the inventory's.
    pub fn encode(&self) -> String {
        let mut open_metrics = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut open_metrics, &self.registry);
        let mut out = to_text_format(&open_metrics);
        out.push_str(&self.inventory.lock().unwrap_or_else(|e| e.into_inner()));
        out.push_str(&self.readiness_text(crate::app::context::clock()));
        out
    }
}

/// OpenMetrics text (what `prometheus-client` writes) as the Prometheus
/// text format: a counter's HELP and TYPE lines name its `_total` series,
/// and there is no `# EOF`.
fn to_text_format(open_metrics: &str) -> String {
    let counters: Vec<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len() + 16 * counters.len());
    for line in open_metrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        match meta {
            Some((prefix, rest))
                if rest
                    .split_once(' ')
                    .is_some_and(|(name, _)| counters.contains(&name)) =>
            {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(&format!("{prefix}{name}_total {tail}\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_by_their_series_and_the_inventory_follows() {
        let m = Metrics::new();
        m.error();
        m.slack_delivery("sent");
        m.set_inventory("# HELP upkeep_x X.\n# TYPE upkeep_x gauge\nupkeep_x 1\n".into());
        let text = m.encode();
        assert!(
            text.contains("# TYPE upkeep_errors_total counter\nupkeep_errors_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("upkeep_slack_deliveries_total{outcome=\"sent\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("# HELP upkeep_errors_total Failed"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
        assert!(text.ends_with("upkeep_x 1\n"), "{text}");
    }

    #[test]
    fn readiness_counts_down_at_each_scrape_and_drops_active_forks() {
        use crate::domain::readiness::{Row, State};
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let row = |env: &str, fork: &str, when: &str, state: State| Row {
            repository: "acme/eth".into(),
            environment: env.into(),
            network: "mainnet".into(),
            fork: fork.into(),
            activates_at: at(when),
            seconds_left: 0,
            state,
            blocking: Vec::new(),
            clients: Vec::new(),
        };
        let m = Metrics::new();
        m.set_readiness(vec![
            row(
                "mainnet",
                "Glamsterdam",
                "2027-03-08T00:00:00Z",
                State::NotReady,
            ),
            row("hoodi", "Fusaka", "2027-03-01T12:00:00Z", State::Ready),
        ]);
        let text = m.readiness_text(at("2027-03-01T00:00:00Z"));
        assert!(text.contains("upkeep_fork_ready{repository=\"acme/eth\",environment=\"mainnet\",network=\"mainnet\",fork=\"Glamsterdam\"} 0\n"), "{text}");
        assert!(text.contains("upkeep_fork_seconds_left{repository=\"acme/eth\",environment=\"hoodi\",network=\"mainnet\",fork=\"Fusaka\"} 43200\n"), "{text}");
        let later = m.readiness_text(at("2027-03-02T00:00:00Z"));
        assert!(!later.contains("Fusaka"), "{later}");
        assert!(later.contains("fork=\"Glamsterdam\"} 518400\n"), "{later}");
        assert!(m.readiness_text(at("2027-04-01T00:00:00Z")).is_empty());
    }
}
