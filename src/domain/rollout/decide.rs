//! Where each release stands in a repository's waves, and which findings
//! may become pull requests now.
//!
//! Decide, then act: [`decide`] takes what the world holds as data (the
//! findings of one repository, i.e. what its base branch runs; upkeep's
//! pull requests read back from GitHub; the releases of each upstream; the
//! settings) and `now`, and returns per upstream the state of every wave,
//! plus for every finding whether it may be planned now and why not. The
//! state is derived from that data alone on every run: nothing here
//! remembers, so a lost state file or a crash loses nothing.
//!
//! Rules (see the README's "Rollouts"):
//! - An environment is *at* the target release when none of its references
//!   to the upstream is behind (it has no finding). It got there at the
//!   earliest merge of an upkeep pull request for that upstream, at that
//!   release or a newer one, that touched the environment; an environment
//!   updated outside upkeep has no known merge time and counts as soaked.
//! - A wave is `done` when every environment of it that references the
//!   upstream is at the target and its soak has passed since the last of
//!   those merges; `soaking` before that. Wave N+1 may get the target only
//!   once every earlier wave is `done`: a later wave never receives a
//!   version no earlier wave has run for its soak.
//! - A pull request closed without merging blocks its wave and every later
//!   one for that release (a newer release starts again).
//! - A fork deadline on a later wave's network shrinks the remaining soaks
//!   ([`super::compress`]); when even the minimum soak cannot fit, every
//!   remaining wave opens at once, marked at risk. Codes in
//!   `rollout.expedite` cut soaks to the minimum.
//! - An environment's pull requests open only inside its maintenance
//!   windows ([`super::window`]), unless waiting for the next window would
//!   miss the deadline.
//! - References outside any environment are not part of a rollout.
//! - Coupled upgrades ([`super::couple`]): where an environment needs both
//!   layers for a fork, an upstream's wave there counts as merged only when
//!   its partners are merged too (its soak starts at the last of those
//!   merges), and a finding may go only when its partners' findings there
//!   may go as well and get a pull request of their own (their image is
//!   published, no ignore rule, old enough: [`Inputs::held`]); otherwise
//!   both wait, saying for whom ([`Waiting`]). Once one layer is merged,
//!   its wave stays open until the other is merged too, the last wave
//!   included. When the deadline is at risk (the remaining waves open at
//!   once), waiting is worse than going alone: what can open opens, with a
//!   `deadline-at-risk` alert naming the partner left behind.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::compress::{self, Policy};
use super::couple::{Couples, Waiting};
use super::verify::{self, Convergence, Expected, Gate, Health, Running};
use crate::domain::evaluate::{Deadline, Finding, ReleaseMap};
use crate::domain::rules::Code;
use crate::domain::settings::{Environment, Rollout as RolloutSettings};

/// One of upkeep's pull requests as GitHub reports it, read back through
/// its fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRecord {
    pub number: u64,
    pub url: String,
    /// Head branch.
    pub branch: String,
    /// The head commit.
    pub head_sha: String,
    pub state: PullState,
    pub created_at: Option<DateTime<Utc>>,
    /// (upstream, release tag) pairs the pull request moves.
    pub upgrades: Vec<(String, String)>,
    /// The environments its edits are in.
    pub environments: Vec<String>,
    /// Its lineage (repository, upstreams, group): a newer pull request of
    /// the same lineage supersedes it.
    pub group: String,
    /// A rollback: the pull request it undoes.
    pub rollback_of: Option<u64>,
}

/// What became of a pull request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullState {
    Open,
    Merged {
        at: DateTime<Utc>,
    },
    /// Closed without merging: that version is skipped there.
    Closed,
}

impl PullRecord {
    fn moves(&self, upstream: &str) -> Option<&str> {
        self.upgrades
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(upstream))
            .map(|(_, v)| v.as_str())
    }

    fn touches(&self, envs: &[String]) -> bool {
        self.environments.iter().any(|e| envs.contains(e))
    }
}

/// A wave's state for one release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaveState {
    /// Waiting: for an earlier wave, its soak, a window or a limit.
    Pending,
    /// Its pull request is open.
    Open,
    /// Merged; running the release until its soak has passed.
    Soaking,
    /// Ran the release for its soak (or got it outside upkeep).
    Done,
    /// Stopped: its pull request was closed without merging, its live
    /// verification or a health gate failed, or an earlier wave's did.
    Blocked,
    /// The release was rolled back here (a rollback pull request exists):
    /// skipped until a newer release.
    RolledBack,
}

impl WaveState {
    pub fn as_str(self) -> &'static str {
        match self {
            WaveState::Pending => "pending",
            WaveState::Open => "open",
            WaveState::Soaking => "soaking",
            WaveState::Done => "done",
            WaveState::Blocked => "blocked",
            WaveState::RolledBack => "rolled-back",
        }
    }
}

/// One wave of one rollout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WaveStatus {
    pub wave: u32,
    /// Its environments that reference the upstream.
    pub environments: Vec<String>,
    pub state: WaveState,
    /// When its last environment got the release (merge of upkeep's PR).
    pub merged_at: Option<DateTime<Utc>>,
    /// Its soak before the next wave (after compression), in seconds.
    #[serde(serialize_with = "as_secs")]
    pub soak: Duration,
    /// Pending: when it may open (`None`: after an earlier wave merges).
    /// Soaking: when the soak ends and the next wave may open.
    pub opens_at: Option<DateTime<Utc>>,
    /// Its open (or closing) pull request.
    pub pull: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_url: Option<String>,
    /// Why it is in this state, in words.
    pub reason: String,
    /// Pending because its maintenance windows are closed: `opens_at` is
    /// when the next one opens (not output).
    #[serde(skip)]
    pub window: bool,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// One upstream release travelling through a repository's waves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamRollout {
    pub repository: String,
    pub upstream: String,
    /// The release being rolled out (the newest offered).
    pub version: String,
    /// The nearest fork deadline of its later waves.
    pub deadline: Option<Deadline>,
    /// Soaks were shortened (deadline or expedited code).
    pub compressed: bool,
    /// The deadline cannot be met with the minimum soak: every remaining
    /// wave opens at once.
    pub at_risk: bool,
    /// A code in `rollout.expedite` cut soaks to the minimum.
    pub expedited: bool,
    pub waves: Vec<WaveStatus>,
}

impl UpstreamRollout {
    /// Still travelling: some wave is not done.
    pub fn in_flight(&self) -> bool {
        self.waves.iter().any(|w| w.state != WaveState::Done)
    }

    /// The wave that moves next and what it waits for, in one line.
    pub fn next_step(&self) -> String {
        match self.waves.iter().find(|w| w.state != WaveState::Done) {
            None => "done".into(),
            Some(w) => format!("wave {}: {}", w.wave, w.reason),
        }
    }
}

/// Where one finding stands in its rollout (in `check --format json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingRollout {
    pub wave: u32,
    pub state: WaveState,
    pub opens_at: Option<DateTime<Utc>>,
    pub reason: String,
    /// May be planned (opened or updated) now.
    #[serde(skip)]
    pub go: bool,
    /// Opened ahead of its soak because a deadline leaves no time.
    #[serde(skip)]
    pub at_risk: bool,
    /// How many waves this upstream's rollout has in the repository: with
    /// more than one, its pull requests are split by wave.
    #[serde(skip)]
    pub waves: usize,
}

/// Something a person should hear about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RolloutAlert {
    pub repository: String,
    pub upstream: String,
    pub version: String,
    #[serde(rename = "kind")]
    pub kind: AlertKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// The minimum soak does not fit before the deadline: the remaining
    /// waves open at once.
    DeadlineAtRisk,
    /// A deadline overrode a maintenance window.
    WindowOverridden,
    /// Live verification or a health gate failed after a merge: later waves
    /// are blocked and a rollback pull request opens.
    VerificationFailed,
    /// Verification failed, but the release cannot be undone (a database
    /// migration, a resync): no automatic rollback.
    Irreversible,
}

/// The rollouts of one repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub rollouts: Vec<UpstreamRollout>,
    pub alerts: Vec<RolloutAlert>,
    /// Merged pull requests to undo (no rollback exists for them yet).
    pub rollbacks: Vec<RollbackRequest>,
}

/// A merged upkeep pull request that must be rolled back, with the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RollbackRequest {
    pub repository: String,
    pub upstream: String,
    pub version: String,
    pub wave: u32,
    pub environments: Vec<String>,
    /// The pull request to undo.
    pub pull: u64,
    pub pull_url: String,
    pub head_sha: String,
    /// What failed: the query, its value and when, or the drift.
    pub evidence: String,
}

/// What Prometheus showed for one environment on this run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// Its running containers (`live`), aggregated by image.
    pub running: Option<Vec<Running>>,
    /// Each health gate with its value (`None`: no data).
    pub gates: Vec<(Gate, Option<f64>)>,
    /// Queries that could not be answered (treated as no data).
    pub problems: Vec<String>,
}

/// The finding codes of a release (`upstream`, tag), each with the
/// statement of its notes that gave it.
pub type CodesOf<'a> = dyn Fn(&str, &str) -> Vec<(Code, String)> + 'a;

/// Why a finding gets no pull request for a cause of its own, outside its
/// rollout (`None`: it may be planned).
pub type HeldBy<'a> = dyn Fn(&Finding) -> Option<String> + 'a;

/// What [`decide`] reads.
pub struct Inputs<'a> {
    pub repository: &'a str,
    pub environments: &'a [Environment],
    /// For each upstream, the environments whose files reference it
    /// (outdated or not).
    pub referenced: &'a BTreeMap<String, BTreeSet<String>>,
    pub releases: &'a ReleaseMap,
    /// upkeep's pull requests in this repository, any state.
    pub pulls: &'a [PullRecord],
    pub settings: &'a RolloutSettings,
    pub now: DateTime<Utc>,
    /// Per environment, what Prometheus showed (verified environments only).
    pub observed: &'a BTreeMap<String, Observed>,
    /// Per upstream and environment, its references on the base branch now
    /// (what a merged pull request should be running).
    pub deployed: &'a BTreeMap<String, BTreeMap<String, Vec<Expected>>>,
    /// The finding codes of a release (`upstream`, tag), each with the
    /// statement of its notes that gave it (empty when none).
    pub codes_of: &'a CodesOf<'a>,
    /// Upgrades that travel together (both layers for a fork).
    pub couples: &'a Couples,
    /// Why a finding gets no pull request whatever its wave says (an ignore
    /// rule, the minimum release age: [`crate::domain::plan::held_reason`]);
    /// its coupled partners wait for it. A finding waiting for its image
    /// counts as held without it.
    pub held: &'a HeldBy<'a>,
}

/// Decides the rollouts of one repository and annotates its findings
/// (`finding.rollout`) with their wave's state and whether they may be
/// planned now. Findings outside environments are left alone (`None`).
pub fn decide(inputs: &Inputs<'_>, findings: &mut [Finding]) -> Decision {
    let mut decision = Decision::default();
    let upstreams: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.environment.is_some())
        .map(|f| f.upstream.clone())
        .collect();
    for upstream in upstreams {
        let (rollout, alerts, rollbacks) = one(inputs, &upstream, findings);
        if let Some(rollout) = rollout {
            decision.rollouts.push(rollout);
        }
        decision.alerts.extend(alerts);
        decision.rollbacks.extend(rollbacks);
    }
    hold_coupled(inputs, findings, &mut decision);
    // Rollouts that have reached every wave but whose last merges are
    // still soaking are in flight too (a person asks "is it done yet?").
    for (upstream, envs) in inputs.referenced {
        if decision.rollouts.iter().any(|r| &r.upstream == upstream) {
            continue;
        }
        if let Some(r) = settled(inputs, findings, upstream, envs) {
            decision.rollouts.push(r);
        }
    }
    decision
        .rollouts
        .sort_by(|a, b| a.upstream.cmp(&b.upstream));
    decision
}

/// A finding may go only when its partners' findings in its environment
/// may go too and get a pull request of their own: while one is held, its
/// partners are held with it, saying for whom. Only waves about to open
/// are held (an open pull request is still updated). An upstream whose
/// deadline is at risk is not held: it opens alone, with an alert.
fn hold_coupled(inputs: &Inputs<'_>, findings: &mut [Finding], decision: &mut Decision) {
    if inputs.couples.is_empty() {
        return;
    }
    let at_risk: BTreeSet<String> = decision
        .rollouts
        .iter()
        .filter(|r| r.at_risk)
        .map(|r| r.upstream.clone())
        .collect();
    // Each round holds one more wave: it ends.
    while let Some((i, why, opens_at)) = next_coupled_hold(inputs, findings, &at_risk) {
        let (upstream, wave) = (
            findings[i].upstream.clone(),
            findings[i].rollout.as_ref().map(|r| r.wave),
        );
        let why = why.to_string();
        for f in findings
            .iter_mut()
            .filter(|f| f.upstream == upstream && f.rollout.as_ref().map(|r| r.wave) == wave)
        {
            if let Some(r) = f.rollout.as_mut() {
                r.go = false;
                r.reason = why.clone();
                r.opens_at = opens_at;
            }
        }
        if let Some(s) = decision
            .rollouts
            .iter_mut()
            .filter(|r| r.upstream == upstream)
            .flat_map(|r| r.waves.iter_mut())
            .find(|w| Some(w.wave) == wave && w.state == WaveState::Pending)
        {
            s.reason = why;
            s.opens_at = opens_at;
        }
    }
    // The deadline leaves no time to wait: it opens without its partner.
    let mut told: BTreeSet<(String, String)> = BTreeSet::new();
    for i in 0..findings.len() {
        let f = &findings[i];
        let (Some(env), Some(r)) = (&f.environment, &f.rollout) else {
            continue;
        };
        if !r.go || r.state != WaveState::Pending || !at_risk.contains(&f.upstream) {
            continue;
        }
        let Some((why, _)) = inputs
            .couples
            .partners(env, &f.upstream)
            .iter()
            .find_map(|(p, fork)| partner_hold(inputs, findings, env, p, fork))
        else {
            continue;
        };
        let (upstream, env) = (f.upstream.clone(), env.clone());
        if let Some(r) = findings[i].rollout.as_mut() {
            r.reason.push_str(&format!(
                "; opens alone: the deadline leaves no time for {why}"
            ));
        }
        if !told.insert((upstream.clone(), env.clone())) {
            continue;
        }
        let version = decision
            .rollouts
            .iter()
            .find(|r| r.upstream == upstream)
            .map(|r| r.version.clone())
            .unwrap_or_default();
        decision.alerts.push(RolloutAlert {
            repository: inputs.repository.to_string(),
            upstream: upstream.clone(),
            version: version.clone(),
            kind: AlertKind::DeadlineAtRisk,
            message: format!(
                "{upstream} {version} opens in {env} without its coupled partner: the deadline leaves no time for {why}"
            ),
        });
    }
}

/// A finding that would open while a partner's finding in its environment
/// is held: its index, why it waits and when the partner may open.
fn next_coupled_hold(
    inputs: &Inputs<'_>,
    findings: &[Finding],
    at_risk: &BTreeSet<String>,
) -> Option<(usize, Waiting, Option<DateTime<Utc>>)> {
    for (i, f) in findings.iter().enumerate() {
        let (Some(env), Some(r)) = (&f.environment, &f.rollout) else {
            continue;
        };
        if !r.go || r.state != WaveState::Pending || at_risk.contains(&f.upstream) {
            continue;
        }
        // Held for a cause of its own: it is the one waited for.
        if f.waiting_for_image || (inputs.held)(f).is_some() {
            continue;
        }
        for (partner, fork) in inputs.couples.partners(env, &f.upstream) {
            if let Some((why, opens_at)) = partner_hold(inputs, findings, env, &partner, &fork) {
                return Some((i, why, opens_at));
            }
        }
    }
    None
}

/// Whether `partner`'s upgrade in `env` is held: by its rollout (with when
/// it may open), or for a cause of its own (its image is not published
/// yet, [`Inputs::held`]).
fn partner_hold(
    inputs: &Inputs<'_>,
    findings: &[Finding],
    env: &str,
    partner: &str,
    fork: &str,
) -> Option<(Waiting, Option<DateTime<Utc>>)> {
    let mut why = Waiting::new(partner, fork, env);
    for g in findings
        .iter()
        .filter(|g| g.upstream.eq_ignore_ascii_case(partner))
        .filter(|g| g.environment.as_deref() == Some(env))
    {
        if let Some(r) = g.rollout.as_ref().filter(|r| !r.go) {
            return Some((why, r.opens_at));
        }
        let cause = if g.waiting_for_image {
            Some(format!(
                "{} {} is not published in its registry yet",
                g.image, g.target_tag
            ))
        } else {
            (inputs.held)(g)
        };
        if cause.is_some() {
            why.cause = cause;
            return Some((why, None));
        }
    }
    None
}

/// Why a wave of `upstream` waits for its couple: a partner still behind
/// in one of `envs`.
fn partner_behind(
    inputs: &Inputs<'_>,
    findings: &[Finding],
    upstream: &str,
    envs: &[String],
) -> Option<String> {
    envs.iter().find_map(|env| {
        inputs
            .couples
            .partners(env, upstream)
            .into_iter()
            .find(|(p, _)| {
                findings.iter().any(|f| {
                    f.upstream.eq_ignore_ascii_case(p) && f.environment.as_ref() == Some(env)
                })
            })
            .map(|(p, fork)| Waiting::new(&p, &fork, env).to_string())
    })
}

/// When the last of `upstream`'s partners got to `env` through upkeep.
fn partners_merged_at(inputs: &Inputs<'_>, upstream: &str, env: &str) -> Option<DateTime<Utc>> {
    let envs = [env.to_string()];
    inputs
        .couples
        .partners(env, upstream)
        .iter()
        .filter_map(|(p, _)| {
            inputs
                .pulls
                .iter()
                .filter(|r| r.rollback_of.is_none() && r.touches(&envs) && r.moves(p).is_some())
                .filter_map(|r| match r.state {
                    PullState::Merged { at } => Some(at),
                    _ => None,
                })
                .max()
        })
        .max()
}

/// Position of a release tag in its upstream's list (0 is the newest).
fn position(releases: &ReleaseMap, upstream: &str, tag: &str) -> Option<usize> {
    releases
        .get(upstream)
        .and_then(|r| r.as_ref().ok())
        .and_then(|list| list.iter().position(|r| r.tag_name == tag))
}

/// The environments of `names` grouped by wave, in wave order.
fn waves_of<'e>(
    environments: &'e [Environment],
    names: &BTreeSet<String>,
) -> BTreeMap<u32, Vec<&'e Environment>> {
    let mut waves: BTreeMap<u32, Vec<&Environment>> = BTreeMap::new();
    for e in environments.iter().filter(|e| names.contains(&e.name)) {
        waves.entry(e.wave).or_default().push(e);
    }
    waves
}

/// The soak after a wave: the longest of its environments'.
fn configured_soak(envs: &[&Environment], settings: &RolloutSettings) -> Duration {
    envs.iter()
        .map(|e| e.soak.unwrap_or(settings.soak))
        .max()
        .unwrap_or(settings.soak)
}

/// upkeep's merged upgrades (not rollbacks) of `upstream` to `target` or
/// a newer release that touched one of `envs`, with their merge times.
fn merges<'p>(
    inputs: &'p Inputs<'_>,
    upstream: &'p str,
    target: usize,
    envs: &'p [String],
) -> impl Iterator<Item = (&'p PullRecord, DateTime<Utc>)> + 'p {
    inputs
        .pulls
        .iter()
        .filter(move |p| p.rollback_of.is_none() && p.touches(envs))
        .filter(move |p| {
            p.moves(upstream)
                .and_then(|tag| position(inputs.releases, upstream, tag))
                .is_some_and(|pos| pos <= target)
        })
        .filter_map(|p| match p.state {
            PullState::Merged { at } => Some((p, at)),
            _ => None,
        })
}

/// When `env` first ran `upstream` at `target` or newer, through upkeep.
fn merged_at(
    inputs: &Inputs<'_>,
    upstream: &str,
    target: usize,
    env: &str,
) -> Option<DateTime<Utc>> {
    let envs = [env.to_string()];
    merges(inputs, upstream, target, &envs)
        .map(|(_, at)| at)
        .min()
}

/// A rollout with nothing left to offer: shown while its last merges soak,
/// or while a coupled partner is still behind in one of its waves (that
/// wave stays open until both are merged, the last one included).
fn settled(
    inputs: &Inputs<'_>,
    findings: &[Finding],
    upstream: &str,
    envs: &BTreeSet<String>,
) -> Option<UpstreamRollout> {
    let waves = waves_of(inputs.environments, envs);
    if waves.len() < 2 {
        return None;
    }
    // The newest release any upkeep PR brought here.
    let (version, target) = inputs
        .pulls
        .iter()
        .filter(|p| matches!(p.state, PullState::Merged { .. }))
        .filter_map(|p| p.moves(upstream))
        .filter_map(|tag| position(inputs.releases, upstream, tag).map(|pos| (tag, pos)))
        .min_by_key(|(_, pos)| *pos)?;
    let mut statuses = Vec::new();
    let last = *waves.keys().last()?;
    for (wave, envs) in &waves {
        let names: Vec<String> = envs.iter().map(|e| e.name.clone()).collect();
        let coupled = partner_behind(inputs, findings, upstream, &names);
        // With its couple, the wave got there at the last of their merges.
        let merged = names
            .iter()
            .flat_map(|e| {
                [
                    merged_at(inputs, upstream, target, e),
                    partners_merged_at(inputs, upstream, e),
                ]
            })
            .flatten()
            .max();
        let soak = if *wave == last {
            Duration::ZERO
        } else {
            configured_soak(envs, inputs.settings)
        };
        let until = merged.map(|m| m + chrono::Duration::from_std(soak).unwrap_or_default());
        let soaking = until.is_some_and(|u| u > inputs.now);
        let (state, reason) = match &coupled {
            Some(why) => (WaveState::Open, coupled_reason(why, *wave == last)),
            None if soaking => (WaveState::Soaking, format!("soaking until {}", at(until))),
            None => (WaveState::Done, "done".into()),
        };
        statuses.push(WaveStatus {
            wave: *wave,
            environments: names,
            state,
            merged_at: if coupled.is_some() { None } else { merged },
            soak,
            opens_at: if state == WaveState::Soaking {
                until
            } else {
                None
            },
            pull: None,
            pull_url: None,
            window: false,
            reason,
        });
    }
    let rollout = UpstreamRollout {
        repository: inputs.repository.to_string(),
        upstream: upstream.to_string(),
        version: version.to_string(),
        deadline: None,
        compressed: false,
        at_risk: false,
        expedited: false,
        waves: statuses,
    };
    rollout.in_flight().then_some(rollout)
}

/// A wave merged here while its coupled partner is not: `why` the partner.
fn coupled_reason(why: &str, last: bool) -> String {
    if last {
        format!("merged; {why}: done when both are merged")
    } else {
        format!("merged; {why}: its soak starts when both are merged")
    }
}

fn at(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "unknown".into(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// One upstream's rollout in this repository.
fn one(
    inputs: &Inputs<'_>,
    upstream: &str,
    findings: &mut [Finding],
) -> (
    Option<UpstreamRollout>,
    Vec<RolloutAlert>,
    Vec<RollbackRequest>,
) {
    let now = inputs.now;
    let mine = |f: &Finding| f.upstream == upstream && f.environment.is_some();
    // The release rolled out: the newest offered to any environment.
    let Some((version, target)) = findings
        .iter()
        .filter(|f| mine(f))
        .filter_map(|f| {
            position(inputs.releases, upstream, &f.latest).map(|p| (f.latest.clone(), p))
        })
        .min_by_key(|(_, p)| *p)
    else {
        return (None, Vec::new(), Vec::new());
    };
    let mut envs: BTreeSet<String> = inputs.referenced.get(upstream).cloned().unwrap_or_default();
    envs.extend(
        findings
            .iter()
            .filter(|f| mine(f))
            .filter_map(|f| f.environment.clone()),
    );
    let waves = waves_of(inputs.environments, &envs);
    if waves.is_empty() {
        return (None, Vec::new(), Vec::new());
    }
    let behind: BTreeSet<&str> = findings
        .iter()
        .filter(|f| mine(f))
        .filter_map(|f| f.environment.as_deref())
        .collect();
    let expedited = findings
        .iter()
        .filter(|f| mine(f))
        .any(|f| f.codes.iter().any(|c| inputs.settings.expedite.contains(c)));

    // First pass: what GitHub and the files say of each wave.
    struct Raw<'e> {
        wave: u32,
        envs: Vec<&'e Environment>,
        names: Vec<String>,
        /// Every environment runs the target: when the last one got it
        /// (`Some(None)`: outside upkeep).
        merged: Option<Option<DateTime<Utc>>>,
        /// Every environment runs the target, but a coupled upstream is
        /// still behind in one: why the wave waits.
        coupled: Option<String>,
        open: Option<&'e PullRecord>,
        closed: Option<&'e PullRecord>,
        rolled_back: Option<&'e PullRecord>,
    }
    let mut raw: Vec<Raw<'_>> = Vec::new();
    for (wave, list) in &waves {
        let names: Vec<String> = list.iter().map(|e| e.name.clone()).collect();
        let all_there = names.iter().all(|n| !behind.contains(n.as_str()));
        let coupled = all_there
            .then(|| partner_behind(inputs, findings, upstream, &names))
            .flatten();
        // With its couple, the wave got there at the last of their merges.
        let merged = (all_there && coupled.is_none()).then(|| {
            let times: Vec<Option<DateTime<Utc>>> = names
                .iter()
                .flat_map(|n| {
                    [
                        merged_at(inputs, upstream, target, n),
                        partners_merged_at(inputs, upstream, n),
                    ]
                })
                .collect();
            times.iter().flatten().max().copied()
        });
        let open = inputs
            .pulls
            .iter()
            .filter(|p| p.rollback_of.is_none())
            .filter(|p| p.state == PullState::Open && p.moves(upstream).is_some())
            .find(|p| p.touches(&names));
        let closed = inputs
            .pulls
            .iter()
            .filter(|p| p.rollback_of.is_none())
            .filter(|p| p.state == PullState::Closed && p.moves(upstream) == Some(version.as_str()))
            .find(|p| p.touches(&names));
        // A rollback of this release here (open or merged) skips it.
        let rolled_back = inputs
            .pulls
            .iter()
            .filter(|p| p.rollback_of.is_some() && p.state != PullState::Closed)
            .filter(|p| p.moves(upstream) == Some(version.as_str()))
            .find(|p| p.touches(&names));
        raw.push(Raw {
            wave: *wave,
            envs: list.clone(),
            names,
            merged,
            coupled,
            open,
            closed,
            rolled_back,
        });
    }

    // The first wave not done decides how much soak is left to compress.
    let soaked = |r: &Raw<'_>, soak: Duration| match r.merged {
        Some(Some(t)) => t + chrono::Duration::from_std(soak).unwrap_or_default() <= now,
        Some(None) => true,
        None => false,
    };
    let configured: Vec<Duration> = raw
        .iter()
        .map(|r| configured_soak(&r.envs, inputs.settings))
        .collect();
    let first_open = raw
        .iter()
        .zip(&configured)
        .position(|(r, soak)| !soaked(r, *soak))
        .unwrap_or(raw.len());
    let deadline = findings
        .iter()
        .filter(|f| mine(f))
        .filter(|f| {
            waves
                .iter()
                .position(|(_, list)| list.iter().any(|e| Some(&e.name) == f.environment.as_ref()))
                .is_some_and(|i| i > first_open)
        })
        .filter_map(|f| f.deadline.clone())
        .min_by_key(|d| d.at);
    // Gaps still to pass: after each wave from the first not done up to
    // the one before the last.
    let gaps = raw.len().saturating_sub(1).saturating_sub(first_open);
    let anchor = raw
        .get(first_open)
        .and_then(|r| r.merged.flatten())
        .unwrap_or(now);
    let plan = compress::compress(
        &configured[first_open.min(configured.len())..first_open + gaps],
        anchor,
        deadline.as_ref().map(|d| d.at),
        &Policy {
            minimum: inputs.settings.minimum_soak,
            margin: inputs.settings.deadline_margin,
            expedite: expedited,
        },
    );
    let mut soaks = configured.clone();
    for (i, s) in plan.soaks.iter().enumerate() {
        soaks[first_open + i] = *s;
    }
    if let Some(last) = soaks.last_mut() {
        *last = Duration::ZERO;
    }

    // Second pass: states, in wave order.
    let mut alerts = Vec::new();
    let mut statuses: Vec<WaveStatus> = Vec::new();
    let mut gate: Result<(), String> = Ok(()); // why later waves wait
    let mut blocked: Option<String> = None;
    let mut rollbacks = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let soak = soaks[i];
        let until = r
            .merged
            .flatten()
            .map(|m| m + chrono::Duration::from_std(soak).unwrap_or_default());
        let mut status = WaveStatus {
            wave: r.wave,
            environments: r.names.clone(),
            state: WaveState::Pending,
            merged_at: r.merged.flatten(),
            soak,
            opens_at: None,
            pull: None,
            pull_url: None,
            reason: String::new(),
            window: false,
        };
        let may_open = plan.at_risk || gate.is_ok();
        let verdict = r.merged.flatten().and_then(|m| {
            verify_wave(inputs, upstream, &r.envs, m, configured[i])
                .or_else(|| couple_verdict(inputs, upstream, &r.envs, m, configured[i]))
        });
        if let Some(why) = &blocked {
            status.state = WaveState::Blocked;
            status.reason = why.clone();
        } else if let Some(p) = r.rolled_back {
            let why = format!(
                "{version} was rolled back here (#{}): skipped until a newer release",
                p.number
            );
            status.state = WaveState::RolledBack;
            status.pull = Some(p.number);
            status.pull_url = Some(p.url.clone());
            status.reason = why.clone();
            blocked = Some(format!("wave {}: {why}", r.wave));
        } else if let Some(Verdict::Failed(evidence)) = &verdict {
            let codes = (inputs.codes_of)(upstream, &version);
            let irreversible: Vec<String> = codes
                .iter()
                .filter(|(c, _)| matches!(c, Code::DbMigration | Code::ResyncRequired))
                .map(|(c, quote)| match quote.trim() {
                    "" => c.as_str().to_string(),
                    q => format!("{}: \"{q}\"", c.as_str()),
                })
                .collect();
            let undo = brought_by(inputs, upstream, target, &r.names);
            status.state = WaveState::Blocked;
            status.pull = undo.map(|p| p.number);
            status.pull_url = undo.map(|p| p.url.clone());
            let (kind, reason) = if irreversible.is_empty() {
                (
                    AlertKind::VerificationFailed,
                    format!(
                        "{evidence}; rolling back{}",
                        undo.map_or_else(String::new, |p| format!(" #{}", p.number))
                    ),
                )
            } else {
                (
                    AlertKind::Irreversible,
                    format!(
                        "{evidence}; no automatic rollback: {version} is irreversible ({})",
                        irreversible.join(", ")
                    ),
                )
            };
            status.reason = reason.clone();
            blocked = Some(format!("wave {} failed verification", r.wave));
            alerts.push(RolloutAlert {
                repository: inputs.repository.to_string(),
                upstream: upstream.to_string(),
                version: version.clone(),
                kind,
                message: format!(
                    "{upstream} {version} in wave {} ({}): {reason}",
                    r.wave,
                    r.names.join(", ")
                ),
            });
            if let (true, Some(p)) = (irreversible.is_empty(), undo) {
                rollbacks.push(RollbackRequest {
                    repository: inputs.repository.to_string(),
                    upstream: upstream.to_string(),
                    version: version.clone(),
                    wave: r.wave,
                    environments: r.names.clone(),
                    pull: p.number,
                    pull_url: p.url.clone(),
                    head_sha: p.head_sha.clone(),
                    evidence: evidence.clone(),
                });
            }
        } else if let Some(Verdict::Waiting(why)) = &verdict {
            status.state = WaveState::Soaking;
            status.opens_at = until.filter(|u| *u > now);
            status.reason = format!("verifying: {why}");
            if gate.is_ok() {
                gate = Err(format!(
                    "waits for wave {} ({}) to verify: {why}",
                    r.wave,
                    r.names.join(", ")
                ));
            }
        } else if r.merged.is_some() {
            if until.is_some_and(|u| u > now) {
                status.state = WaveState::Soaking;
                status.opens_at = until;
                status.reason = format!("soaking until {}", at(until));
                if gate.is_ok() {
                    gate = Err(format!(
                        "waits for wave {} ({}) to soak until {}",
                        r.wave,
                        r.names.join(", "),
                        at(until)
                    ));
                }
            } else {
                status.state = WaveState::Done;
                status.reason = match r.merged {
                    Some(None) => "runs it (updated outside upkeep: soak not tracked)".into(),
                    _ => "done".into(),
                };
            }
        } else if let Some(why) = &r.coupled {
            // Merged here, but not its partner: not soaking yet.
            status.state = WaveState::Open;
            status.reason = coupled_reason(why, i + 1 == raw.len());
            if gate.is_ok() {
                gate = Err(format!(
                    "waits for wave {} ({}): {why}",
                    r.wave,
                    r.names.join(", ")
                ));
            }
        } else if let Some(p) = r.closed.filter(|_| r.open.is_none()) {
            let why = format!(
                "#{} for {version} was closed without merging: {version} is skipped in wave {}",
                p.number, r.wave
            );
            status.state = WaveState::Blocked;
            status.pull = Some(p.number);
            status.pull_url = Some(p.url.clone());
            status.reason = why.clone();
            blocked = Some(format!("wave {} is blocked: {why}", r.wave));
        } else {
            let own_deadline = findings
                .iter()
                .filter(|f| mine(f) && f.environment.as_ref().is_some_and(|e| r.names.contains(e)))
                .filter_map(|f| f.deadline.clone())
                .min_by_key(|d| d.at);
            let window = window_gate(&r.envs, own_deadline.as_ref(), inputs.settings, now);
            if let Some(p) = r.open {
                status.state = WaveState::Open;
                status.pull = Some(p.number);
                status.pull_url = Some(p.url.clone());
                status.reason = match (&gate, p.moves(upstream)) {
                    (Err(why), Some(v)) if v != version && !plan.at_risk => {
                        format!("#{} is open for {v}; {version} {why}", p.number)
                    }
                    _ => format!("#{} is open", p.number),
                };
            } else if !may_open {
                status.reason = gate.clone().err().unwrap_or_default();
                status.opens_at = statuses.last().and_then(|s| {
                    (s.state == WaveState::Soaking)
                        .then_some(s.opens_at)
                        .flatten()
                });
            } else {
                match &window {
                    Window::Open => status.reason = "opens now".into(),
                    Window::Overridden(why) => {
                        status.reason = format!("opens now: {why}");
                        alerts.push(RolloutAlert {
                            repository: inputs.repository.to_string(),
                            upstream: upstream.to_string(),
                            version: version.clone(),
                            kind: AlertKind::WindowOverridden,
                            message: format!(
                                "{upstream} {version} opens in wave {} ({}) outside its maintenance window: {why}",
                                r.wave,
                                r.names.join(", ")
                            ),
                        });
                    }
                    Window::Closed(next) => {
                        status.opens_at = Some(*next);
                        status.window = true;
                        status.reason =
                            format!("opens in the next maintenance window, {}", at(Some(*next)));
                    }
                }
                if plan.at_risk {
                    status
                        .reason
                        .push_str(" (deadline at risk: every remaining wave opens at once)");
                }
            }
            if gate.is_ok() {
                gate = Err(match status.state {
                    WaveState::Open => format!(
                        "waits for wave {} (#{}) to merge",
                        r.wave,
                        status.pull.unwrap_or_default()
                    ),
                    _ => format!(
                        "waits for wave {} ({}) to get {version} first",
                        r.wave,
                        r.names.join(", ")
                    ),
                });
            }
            // Findings of this wave: may they be planned now?
            let go = may_open && !matches!(window, Window::Closed(_));
            for f in findings.iter_mut().filter(|f| mine(f)) {
                if f.environment.as_ref().is_some_and(|e| r.names.contains(e)) {
                    f.rollout = Some(FindingRollout {
                        wave: r.wave,
                        state: status.state,
                        opens_at: status.opens_at,
                        reason: status.reason.clone(),
                        go,
                        at_risk: plan.at_risk && i > first_open,
                        waves: raw.len(),
                    });
                }
            }
        }
        statuses.push(status);
    }
    // Findings of waves that are blocked or already there keep their
    // state too (never planned).
    for f in findings
        .iter_mut()
        .filter(|f| mine(f) && f.rollout.is_none())
    {
        if let Some(s) = statuses.iter().find(|s| {
            f.environment
                .as_ref()
                .is_some_and(|e| s.environments.contains(e))
        }) {
            f.rollout = Some(FindingRollout {
                wave: s.wave,
                state: s.state,
                opens_at: s.opens_at,
                reason: s.reason.clone(),
                go: false,
                at_risk: false,
                waves: statuses.len(),
            });
        }
    }
    if plan.at_risk && gaps > 0 {
        alerts.push(RolloutAlert {
            repository: inputs.repository.to_string(),
            upstream: upstream.to_string(),
            version: version.clone(),
            kind: AlertKind::DeadlineAtRisk,
            message: format!(
                "{upstream} {version} cannot soak in every wave before {}: the remaining waves open at once",
                deadline
                    .as_ref()
                    .map_or_else(String::new, |d| format!("{} on {} ({})", d.fork, d.network, at(Some(d.at))))
            ),
        });
    }
    let rollout = UpstreamRollout {
        repository: inputs.repository.to_string(),
        upstream: upstream.to_string(),
        version,
        deadline,
        compressed: plan.compressed,
        at_risk: plan.at_risk && gaps > 0,
        expedited,
        waves: statuses,
    };
    (Some(rollout), alerts, rollbacks)
}

/// What Prometheus says of a merged wave.
enum Verdict {
    /// Still converging, or gate data still missing within the window.
    Waiting(String),
    /// Drift, no data after the window, or a failing gate: the evidence.
    Failed(String),
}

/// Verifies a merged wave's verified environments while it is observed:
/// from the merge until its soak (and the converge window) has passed.
/// `None`: nothing to verify (no `live`/`health`, or past the window), or
/// everything holds.
fn verify_wave(
    inputs: &Inputs<'_>,
    upstream: &str,
    envs: &[&Environment],
    merged: DateTime<Utc>,
    soak: Duration,
) -> Option<Verdict> {
    let now = inputs.now;
    let converge = inputs.settings.converge;
    let window = soak.max(converge);
    if now >= merged + chrono::Duration::from_std(window).unwrap_or_default() {
        return None;
    }
    let deadline = merged + chrono::Duration::from_std(converge).unwrap_or_default();
    let mut failed = Vec::new();
    let mut waiting = Vec::new();
    for env in envs.iter().filter(|e| e.verified()) {
        let Some(observed) = inputs.observed.get(&env.name) else {
            waiting.push(format!("{}: not observed yet", env.name));
            continue;
        };
        if !observed.problems.is_empty() {
            // Prometheus could not answer: wait, never roll back for that.
            waiting.push(format!("{}: {}", env.name, observed.problems.join("; ")));
            continue;
        }
        if env.live.is_some() {
            let expected = inputs
                .deployed
                .get(upstream)
                .and_then(|m| m.get(&env.name))
                .cloned()
                .unwrap_or_default();
            let running = observed.running.clone().unwrap_or_default();
            match verify::converge(&expected, &running, merged, converge, now) {
                Convergence::Converged { .. } => {}
                Convergence::Waiting { reason } => waiting.push(format!("{}: {reason}", env.name)),
                Convergence::Drift { reason } | Convergence::NoData { reason } => {
                    failed.push(format!("{}: {reason}", env.name))
                }
            }
        }
        let results: Vec<(&Gate, verify::GateResult)> = observed
            .gates
            .iter()
            .map(|(g, v)| (g, verify::judge(g, *v)))
            .collect();
        match verify::health(&results, deadline, now) {
            Health::Healthy => {}
            Health::Waiting { reason } => waiting.push(format!("{}: {reason}", env.name)),
            Health::Unhealthy { failures } => failed.push(format!(
                "{}: {} (at {})",
                env.name,
                failures.join("; "),
                at(Some(now))
            )),
        }
    }
    if !failed.is_empty() {
        Some(Verdict::Failed(failed.join("; ")))
    } else if !waiting.is_empty() {
        Some(Verdict::Waiting(waiting.join("; ")))
    } else {
        None
    }
}

/// A merged wave's couple partners are verified with it: until they run
/// what was merged (and their gates hold) the wave waits for them. Their
/// failure is theirs to roll back: here it only waits.
fn couple_verdict(
    inputs: &Inputs<'_>,
    upstream: &str,
    envs: &[&Environment],
    merged: DateTime<Utc>,
    soak: Duration,
) -> Option<Verdict> {
    let mut partners: BTreeMap<String, (String, Vec<&Environment>)> = BTreeMap::new();
    for e in envs {
        for (p, fork) in inputs.couples.partners(&e.name, upstream) {
            partners.entry(p).or_insert((fork, Vec::new())).1.push(*e);
        }
    }
    partners.iter().find_map(|(p, (fork, envs))| {
        verify_wave(inputs, p, envs, merged, soak).map(|v| match v {
            Verdict::Waiting(why) | Verdict::Failed(why) => {
                Verdict::Waiting(format!("{p} (coupled for {fork}): {why}"))
            }
        })
    })
}

/// The merged pull request that brought `target` (or newer) to any of
/// `envs`: the one to undo.
fn brought_by<'p>(
    inputs: &'p Inputs<'_>,
    upstream: &'p str,
    target: usize,
    envs: &'p [String],
) -> Option<&'p PullRecord> {
    merges(inputs, upstream, target, envs)
        .max_by_key(|(_, at)| *at)
        .map(|(p, _)| p)
}

/// Whether a wave's maintenance windows let it open now.
enum Window {
    Open,
    /// Closed, but the deadline cannot wait for the next window.
    Overridden(String),
    /// Closed until then.
    Closed(DateTime<Utc>),
}

fn window_gate(
    envs: &[&Environment],
    deadline: Option<&Deadline>,
    settings: &RolloutSettings,
    now: DateTime<Utc>,
) -> Window {
    // The wave opens when every environment's window is open: the latest
    // of their next openings.
    let next = envs
        .iter()
        .filter_map(|e| e.windows.next_open(now))
        .max()
        .unwrap_or(now);
    if next <= now {
        return Window::Open;
    }
    let latest = deadline
        .map(|d| d.at - chrono::Duration::from_std(settings.deadline_margin).unwrap_or_default());
    match (deadline, latest) {
        (Some(d), Some(latest)) if next > latest => Window::Overridden(format!(
            "the next window ({}) is too late for {} on {} at {}",
            at(Some(next)),
            d.fork,
            d.network,
            at(Some(d.at))
        )),
        _ => Window::Closed(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::release::Release;
    use crate::domain::rollout::couple::Couple;
    use crate::domain::rollout::window::Windows;
    use crate::domain::rules::Code;
    use crate::domain::settings::Network;
    use chrono::TimeZone;

    const UP: &str = "sigp/lighthouse";
    const EL: &str = "ethereum/go-ethereum";

    /// Monday 2027-01-04 10:00 UTC.
    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 4, 10, 0, 0).unwrap()
    }

    fn h(n: i64) -> chrono::Duration {
        chrono::Duration::hours(n)
    }

    fn env(name: &str, wave: u32) -> Environment {
        Environment::new(
            name,
            &[&format!("envs/{name}/**")],
            Some(Network::Other(name.into())),
            wave,
        )
        .unwrap()
    }

    fn releases() -> ReleaseMap {
        let rel = |tag: &str| Release {
            tag_name: tag.into(),
            name: None,
            body: None,
            draft: false,
            prerelease: false,
            published_at: Some(t0() - h(100)),
            html_url: None,
        };
        [
            (UP.to_string(), Ok(vec![rel("v7.0.0"), rel("v6.0.0")])),
            (EL.to_string(), Ok(vec![rel("v7.0.0"), rel("v6.0.0")])),
        ]
        .into()
    }

    fn finding(env: &str, wave: u32) -> Finding {
        Finding {
            repository: "acme/deploy".into(),
            file: format!("envs/{env}/values.yaml"),
            line: 3,
            image: UP.into(),
            current: "v6.0.0".into(),
            upstream: UP.into(),
            latest: "v7.0.0".into(),
            target_tag: "v7.0.0".into(),
            behind: 1,
            environment: Some(env.into()),
            network: Some(env.into()),
            wave: Some(wave),
            codes: Vec::new(),
            deadline: None,
            priority: None,
            published_at: None,
            target_digest: None,
            waiting_for_image: false,
            since: None,
            current_release: Some("v6.0.0".into()),
            digest: None,
            breaking: Vec::new(),
            security: None,
            rollout: None,
        }
    }

    fn merged(number: u64, env: &str, at: DateTime<Utc>) -> PullRecord {
        PullRecord {
            number,
            url: format!("https://github.com/acme/deploy/pull/{number}"),
            branch: format!("upkeep/lighthouse-v7.0.0-{env}"),
            head_sha: "0".repeat(40),
            state: PullState::Merged { at },
            created_at: Some(at - h(1)),
            upgrades: vec![(UP.into(), "v7.0.0".into())],
            environments: vec![env.into()],
            group: String::new(),
            rollback_of: None,
        }
    }

    struct Case {
        envs: Vec<Environment>,
        findings: Vec<Finding>,
        pulls: Vec<PullRecord>,
        settings: RolloutSettings,
        now: DateTime<Utc>,
        couples: Couples,
        observed: BTreeMap<String, Observed>,
        deployed: BTreeMap<String, BTreeMap<String, Vec<Expected>>>,
        /// What the planner holds whatever the wave says.
        held: fn(&Finding) -> Option<String>,
    }

    impl Case {
        fn new() -> Case {
            Case {
                envs: vec![env("hoodi", 1), env("mainnet", 2)],
                findings: vec![finding("hoodi", 1), finding("mainnet", 2)],
                pulls: Vec::new(),
                settings: RolloutSettings::default(),
                now: t0(),
                couples: Couples::default(),
                observed: BTreeMap::new(),
                deployed: BTreeMap::new(),
                held: |_| None,
            }
        }

        fn decide(&mut self) -> Decision {
            let referenced: BTreeMap<String, BTreeSet<String>> = [UP, EL]
                .iter()
                .map(|u| (u.to_string(), ["hoodi".into(), "mainnet".into()].into()))
                .collect();
            let releases = releases();
            let inputs = Inputs {
                repository: "acme/deploy",
                environments: &self.envs,
                referenced: &referenced,
                releases: &releases,
                pulls: &self.pulls,
                settings: &self.settings,
                now: self.now,
                observed: &self.observed,
                deployed: &self.deployed,
                codes_of: &|_, _| Vec::new(),
                couples: &self.couples,
                held: &|f| (self.held)(f),
            };
            decide(&inputs, &mut self.findings)
        }

        fn go(&self, env: &str) -> bool {
            self.go_of(UP, env)
        }

        fn go_of(&self, upstream: &str, env: &str) -> bool {
            self.rollout_of(upstream, env).is_some_and(|r| r.go)
        }

        fn rollout_of(&self, upstream: &str, env: &str) -> Option<&FindingRollout> {
            self.findings
                .iter()
                .find(|f| f.upstream == upstream && f.environment.as_deref() == Some(env))
                .and_then(|f| f.rollout.as_ref())
        }

        /// geth and lighthouse both behind in hoodi (wave 1) and mainnet
        /// (wave 2), coupled for Glamsterdam in both.
        fn coupled() -> Case {
            let mut c = Case::new();
            c.findings
                .extend([("hoodi", 1), ("mainnet", 2)].map(|(env, wave)| Finding {
                    upstream: EL.into(),
                    image: EL.into(),
                    file: format!("envs/{env}/el.yaml"),
                    ..finding(env, wave)
                }));
            c.couples = Couples::new(
                ["hoodi", "mainnet"]
                    .map(|env| Couple {
                        environment: env.into(),
                        fork: "Glamsterdam".into(),
                        upstreams: [UP.to_string(), EL.to_string()].into(),
                        moved: BTreeSet::new(),
                    })
                    .to_vec(),
            );
            c
        }

        fn merge(&mut self, number: u64, upstream: &str, env: &str, at: DateTime<Utc>) {
            self.findings
                .retain(|f| !(f.upstream == upstream && f.environment.as_deref() == Some(env)));
            self.pulls.push(PullRecord {
                upgrades: vec![(upstream.into(), "v7.0.0".into())],
                ..merged(number, env, at)
            });
            for f in &mut self.findings {
                f.rollout = None;
            }
        }

        fn wave(d: &Decision, upstream: &str, wave: usize) -> WaveStatus {
            d.rollouts
                .iter()
                .find(|r| r.upstream == upstream)
                .map(|r| r.waves[wave].clone())
                .unwrap_or_else(|| panic!("no rollout of {upstream}: {d:#?}"))
        }
    }

    #[test]
    fn only_the_first_wave_goes_until_it_has_soaked() {
        let mut c = Case::new();
        let d = c.decide();
        assert!(c.go("hoodi"));
        assert!(!c.go("mainnet"));
        assert_eq!(d.rollouts[0].waves[1].state, WaveState::Pending);
        // Hoodi merged at t0+1h; mainnet still behind.
        c.findings
            .retain(|f| f.environment.as_deref() != Some("hoodi"));
        c.pulls.push(merged(1, "hoodi", t0() + h(1)));
        c.now = t0() + h(24);
        let d = c.decide();
        assert_eq!(d.rollouts[0].waves[0].state, WaveState::Soaking);
        assert_eq!(d.rollouts[0].waves[1].opens_at, Some(t0() + h(25)));
        assert!(!c.go("mainnet"));
        c.now = t0() + h(25);
        c.findings[0].rollout = None;
        let d = c.decide();
        assert_eq!(d.rollouts[0].waves[0].state, WaveState::Done);
        assert!(c.go("mainnet"));
    }

    #[test]
    fn a_deadline_overrides_a_closed_window_with_an_alert() {
        let mut c = Case::new();
        // Mainnet opens only on Saturdays; its fork is on Wednesday.
        c.envs[1].windows = Windows::new(&["Sat 02:00-04:00".into()], None).unwrap();
        c.findings[1].deadline = Some(Deadline {
            fork: "Glamsterdam".into(),
            network: "mainnet".into(),
            at: t0() + h(48),
            release: None,
        });
        c.findings
            .retain(|f| f.environment.as_deref() != Some("hoodi"));
        c.pulls.push(merged(1, "hoodi", t0() - h(30)));
        let d = c.decide();
        assert!(c.go("mainnet"), "{d:#?}");
        assert_eq!(d.alerts.len(), 1, "{:?}", d.alerts);
        assert_eq!(d.alerts[0].kind, AlertKind::WindowOverridden);
        assert!(
            d.alerts[0]
                .message
                .contains("outside its maintenance window")
        );
    }

    #[test]
    fn a_closed_window_holds_a_wave_without_a_deadline() {
        let mut c = Case::new();
        c.envs[1].windows = Windows::new(&["Sat 02:00-04:00".into()], None).unwrap();
        c.findings
            .retain(|f| f.environment.as_deref() != Some("hoodi"));
        c.pulls.push(merged(1, "hoodi", t0() - h(30)));
        let d = c.decide();
        assert!(!c.go("mainnet"));
        let saturday = Utc.with_ymd_and_hms(2027, 1, 9, 2, 0, 0).unwrap();
        assert_eq!(d.rollouts[0].waves[1].opens_at, Some(saturday));
        assert!(d.alerts.is_empty());
    }

    #[test]
    fn an_expedited_code_cuts_the_soak_to_the_minimum() {
        let mut c = Case::new();
        for f in &mut c.findings {
            f.codes = vec![Code::SecurityFix];
        }
        c.findings
            .retain(|f| f.environment.as_deref() != Some("hoodi"));
        c.pulls.push(merged(1, "hoodi", t0()));
        c.now = t0() + h(1);
        let d = c.decide();
        assert!(d.rollouts[0].expedited);
        assert_eq!(d.rollouts[0].waves[0].soak, Duration::from_secs(3600));
        assert!(c.go("mainnet"), "{d:#?}");
    }

    #[test]
    fn an_environment_updated_outside_upkeep_counts_as_soaked() {
        let mut c = Case::new();
        c.findings
            .retain(|f| f.environment.as_deref() != Some("hoodi"));
        let d = c.decide();
        assert_eq!(d.rollouts[0].waves[0].state, WaveState::Done);
        assert!(d.rollouts[0].waves[0].reason.contains("outside upkeep"));
        assert!(c.go("mainnet"));
    }

    #[test]
    fn a_later_wave_waits_while_an_earlier_one_is_blocked() {
        let mut c = Case::new();
        c.pulls.push(PullRecord {
            state: PullState::Closed,
            ..merged(1, "hoodi", t0())
        });
        c.now = t0() + h(200);
        let d = c.decide();
        assert_eq!(d.rollouts[0].waves[0].state, WaveState::Blocked);
        assert_eq!(d.rollouts[0].waves[1].state, WaveState::Blocked);
        assert!(!c.go("hoodi") && !c.go("mainnet"));
    }

    #[test]
    fn one_layer_held_holds_its_partner() {
        let mut c = Case::coupled();
        // lighthouse v7.0.0 was closed without merging in hoodi: geth's
        // pull request would open alone.
        c.pulls.push(PullRecord {
            state: PullState::Closed,
            ..merged(1, "hoodi", t0() - h(2))
        });
        let d = c.decide();
        assert!(!c.go_of(UP, "hoodi"));
        assert!(!c.go_of(EL, "hoodi"), "{d:#?}");
        let r = c.rollout_of(EL, "hoodi").unwrap();
        assert_eq!(
            r.reason,
            "waiting for sigp/lighthouse (coupled for Glamsterdam in hoodi)"
        );
        assert_eq!(
            Case::wave(&d, EL, 0).reason,
            "waiting for sigp/lighthouse (coupled for Glamsterdam in hoodi)"
        );
    }

    #[test]
    fn coupled_upgrades_open_together() {
        let mut c = Case::coupled();
        c.decide();
        assert!(c.go_of(UP, "hoodi") && c.go_of(EL, "hoodi"));
        assert!(!c.go_of(UP, "mainnet") && !c.go_of(EL, "mainnet"));
    }

    #[test]
    fn a_coupled_wave_is_not_done_until_both_merge() {
        let mut c = Case::coupled();
        // geth merged in hoodi at t0; lighthouse still open.
        c.merge(1, EL, "hoodi", t0());
        c.now = t0() + h(30);
        let d = c.decide();
        let w = Case::wave(&d, EL, 0);
        assert_eq!(w.state, WaveState::Open, "{w:#?}");
        assert!(
            w.reason
                .contains("waiting for sigp/lighthouse (coupled for Glamsterdam in hoodi)")
        );
        assert!(!c.go_of(EL, "mainnet"));
        assert!(
            c.rollout_of(EL, "mainnet")
                .unwrap()
                .reason
                .contains("waits for wave 1 (hoodi): waiting for sigp/lighthouse"),
            "{:?}",
            c.rollout_of(EL, "mainnet")
        );
        // lighthouse merges at t0+30h: the soak starts then, for both.
        c.merge(2, UP, "hoodi", t0() + h(30));
        c.now = t0() + h(40);
        let d = c.decide();
        assert_eq!(Case::wave(&d, EL, 0).state, WaveState::Soaking);
        assert_eq!(Case::wave(&d, EL, 0).merged_at, Some(t0() + h(30)));
        assert!(!c.go_of(EL, "mainnet") && !c.go_of(UP, "mainnet"));
        c.now = t0() + h(54);
        c.decide();
        assert!(c.go_of(EL, "mainnet") && c.go_of(UP, "mainnet"));
    }

    #[test]
    fn an_expedited_layer_waits_for_its_partner() {
        // geth's release is a security fix: its soaks are cut to the
        // minimum, lighthouse's are not. Both merged in hoodi at t0.
        let mut c = Case::coupled();
        for f in c.findings.iter_mut().filter(|f| f.upstream == EL) {
            f.codes = vec![Code::SecurityFix];
        }
        c.merge(1, EL, "hoodi", t0());
        c.merge(2, UP, "hoodi", t0());
        c.now = t0() + h(2);
        let d = c.decide();
        assert!(!c.go_of(UP, "mainnet"));
        assert!(!c.go_of(EL, "mainnet"), "{d:#?}");
        assert_eq!(
            Case::wave(&d, EL, 1).reason,
            "waiting for sigp/lighthouse (coupled for Glamsterdam in mainnet)"
        );
        assert_eq!(Case::wave(&d, EL, 1).opens_at, Some(t0() + h(24)));
    }

    #[test]
    fn a_coupled_wave_waits_for_its_partner_to_converge() {
        let mut c = Case::coupled();
        c.envs[0].live = Some("{namespace=\"hoodi\"}".into());
        c.settings.converge = Duration::from_secs(2 * 3600);
        c.merge(1, EL, "hoodi", t0());
        c.merge(2, UP, "hoodi", t0());
        for up in [UP, EL] {
            c.deployed.insert(
                up.into(),
                [(
                    "hoodi".to_string(),
                    vec![Expected {
                        image: up.into(),
                        tag: "v7.0.0".into(),
                        digest: None,
                    }],
                )]
                .into(),
            );
        }
        // lighthouse runs v7.0.0; geth still v6.0.0.
        let running = |up: &str, tag: &str| Running {
            image: format!("{up}:{tag}"),
            image_id: None,
            containers: 1,
        };
        c.observed.insert(
            "hoodi".into(),
            Observed {
                running: Some(vec![running(UP, "v7.0.0"), running(EL, "v6.0.0")]),
                ..Observed::default()
            },
        );
        c.now = t0() + h(1);
        let d = c.decide();
        let w = Case::wave(&d, UP, 0);
        assert_eq!(w.state, WaveState::Soaking);
        assert!(
            w.reason
                .starts_with("verifying: ethereum/go-ethereum (coupled for Glamsterdam): hoodi:"),
            "{w:#?}"
        );
        assert!(d.rollbacks.is_empty());
    }

    #[test]
    fn a_partner_whose_image_is_not_published_holds_its_layer() {
        let mut c = Case::coupled();
        for f in c.findings.iter_mut().filter(|f| f.upstream == UP) {
            f.waiting_for_image = true;
        }
        let d = c.decide();
        assert!(!c.go_of(EL, "hoodi"), "{d:#?}");
        let why = "waiting for sigp/lighthouse (coupled for Glamsterdam in hoodi): sigp/lighthouse v7.0.0 is not published in its registry yet";
        assert_eq!(c.rollout_of(EL, "hoodi").unwrap().reason, why);
        assert_eq!(Case::wave(&d, EL, 0).reason, why);
        assert_eq!(Case::wave(&d, EL, 0).state, WaveState::Pending);
        assert!(d.alerts.is_empty(), "{:?}", d.alerts);
    }

    #[test]
    fn a_partner_the_planner_holds_holds_its_layer() {
        let mut c = Case::coupled();
        c.held = |f| (f.upstream == UP).then(|| "v7.0.0 is ignored (pull_requests.ignore)".into());
        c.decide();
        assert!(!c.go_of(EL, "hoodi"));
        assert_eq!(
            c.rollout_of(EL, "hoodi").unwrap().reason,
            "waiting for sigp/lighthouse (coupled for Glamsterdam in hoodi): v7.0.0 is ignored (pull_requests.ignore)"
        );
        // Without a couple nothing waits for it.
        let mut c = Case::coupled();
        c.couples = Couples::default();
        c.held = |f| (f.upstream == UP).then(|| "ignored".into());
        c.decide();
        assert!(c.go_of(EL, "hoodi"));
    }

    #[test]
    fn a_deadline_at_risk_opens_a_layer_alone_with_an_alert() {
        // Glamsterdam on mainnet in 3 hours: no soak fits, every wave
        // opens at once, and lighthouse's image is not there yet.
        let mut c = Case::coupled();
        for f in &mut c.findings {
            f.deadline = Some(Deadline {
                fork: "Glamsterdam".into(),
                network: "mainnet".into(),
                at: t0() + h(3),
                release: None,
            });
            f.waiting_for_image = f.upstream == UP;
        }
        let d = c.decide();
        assert!(c.go_of(EL, "hoodi") && c.go_of(EL, "mainnet"), "{d:#?}");
        let alone: Vec<&RolloutAlert> = d
            .alerts
            .iter()
            .filter(|a| a.message.contains("without its coupled partner"))
            .collect();
        assert_eq!(alone.len(), 2, "{:?}", d.alerts);
        assert_eq!(alone[0].kind, AlertKind::DeadlineAtRisk);
        assert_eq!(
            alone[0].message,
            "ethereum/go-ethereum v7.0.0 opens in hoodi without its coupled partner: the deadline leaves no time for waiting for sigp/lighthouse (coupled for Glamsterdam in hoodi): sigp/lighthouse v7.0.0 is not published in its registry yet"
        );
        assert!(
            c.rollout_of(EL, "mainnet").unwrap().reason.contains(
                "; opens alone: the deadline leaves no time for waiting for sigp/lighthouse"
            ),
            "{:?}",
            c.rollout_of(EL, "mainnet")
        );
    }

    #[test]
    fn the_last_wave_stays_open_until_both_layers_are_merged() {
        // Both merged in hoodi and soaked; in mainnet geth merged at
        // t0+26h, lighthouse's pull request is still open.
        let mut c = Case::coupled();
        c.merge(1, EL, "hoodi", t0());
        c.merge(2, UP, "hoodi", t0());
        c.merge(3, EL, "mainnet", t0() + h(26));
        c.pulls.push(PullRecord {
            state: PullState::Open,
            ..merged(4, "mainnet", t0() + h(26))
        });
        c.now = t0() + h(27);
        let d = c.decide();
        let last = Case::wave(&d, EL, 1);
        assert_eq!(last.state, WaveState::Open, "{d:#?}");
        assert_eq!(
            last.reason,
            "merged; waiting for sigp/lighthouse (coupled for Glamsterdam in mainnet): done when both are merged"
        );
        assert_eq!(last.merged_at, None);
        assert_eq!(Case::wave(&d, EL, 0).state, WaveState::Done);
        let lh = Case::wave(&d, UP, 1);
        assert_eq!((lh.state, lh.pull), (WaveState::Open, Some(4)));
        // Lighthouse merges: geth's rollout is done with it.
        c.pulls.retain(|p| p.number != 4);
        c.merge(4, UP, "mainnet", t0() + h(28));
        c.now = t0() + h(29);
        let d = c.decide();
        assert!(
            d.rollouts
                .iter()
                .all(|r| r.waves.iter().all(|w| w.state == WaveState::Done)),
            "{d:#?}"
        );
    }
}
