//! Slack notifications: the digest of pending upgrades, immediate alerts
//! for releases that carry alerting codes (`hard-fork`, `security-fix`,
//! `mandatory` by default), and reminders as a fork deadline approaches.
//!
//! - [`channels`] turns `slack.routes` and `UPKEEP_SLACK_WEBHOOK_URL` into
//!   the channels to post to; [`route`] says which channels a finding goes
//!   to (every matching route; the default channel gets what no route
//!   takes).
//! - [`compose`] is pure: a check report, the open pull requests, the
//!   planner's reasons for holding upgrades back and `now` in; Block Kit
//!   messages out, worded by `templates/slack/*.j2` ([`text`]) and kept
//!   within Slack's limits ([`blocks`]). Alerts and reminders already sent
//!   (a lookup passed in) are left out.
//! - [`run`] does the I/O around it: finds open pull requests through the
//!   forge, asks the state store what each channel already got, sends each
//!   message ([`deliver`]) and records what was sent. A failing webhook is
//!   one failed [`Delivery`] in the report; the other channels and messages
//!   go on.
//!
//! Must not: log or report a webhook URL (only its host), send anything in
//! [`compose`], write to GitHub, git or deployment files.

pub mod blocks;
pub mod text;
pub mod webhook;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::advisory::{Advisories, Advisory};
use crate::domain::evaluate::{CheckReport, Deadline, Finding};
use crate::domain::render::{Fingerprint, time_left};
use crate::domain::rollout::decide::{AlertKind, RolloutAlert, UpstreamRollout, WaveState};
use crate::domain::rollout::wake;
use crate::domain::rules::Code;
use crate::domain::settings::{DEFAULT_CHANNEL, Settings, Slack, SlackRoute};

pub use blocks::{Block, Payload, Text};
pub use text::{SlackTemplates, TemplateError};
pub use webhook::{DeliveryError, Webhook};

/// The variable holding the default channel's webhook URL.
pub const WEBHOOK_VAR: &str = crate::env::SLACK_WEBHOOK_URL;
/// Upgrades listed in one digest at most (the rest are counted).
pub const MAX_ITEMS: usize = 100;
/// References listed in one alert or reminder at most.
pub const MAX_ALERT_ITEMS: usize = 40;
/// The command the "and N more" line points to.
const FULL_LIST: &str = "upkeep inventory";

/// A channel to post to.
#[derive(Clone, Debug)]
pub struct Channel {
    /// The route's name, or `default` for `UPKEEP_SLACK_WEBHOOK_URL`.
    pub name: String,
    /// The variable its webhook URL is read from.
    pub var: String,
    pub webhook: Result<Webhook, DeliveryError>,
    /// `None` for the default channel.
    pub route: Option<SlackRoute>,
}

impl Channel {
    /// The webhook's host, when it has a usable webhook.
    pub fn host(&self) -> Option<&str> {
        self.webhook.as_ref().ok().map(Webhook::host)
    }
}

/// The channels of the settings: one per route (in order), then the
/// default channel when `UPKEEP_SLACK_WEBHOOK_URL` is set or there are no
/// routes (a channel whose variable is unset is kept, with the reason, so
/// that a dry run shows its messages and a real run reports it).
pub fn channels(slack: &Slack, env: &HashMap<String, String>) -> Vec<Channel> {
    let webhook = |var: &str| match env.get(var).map(|v| v.trim()) {
        Some(value) if !value.is_empty() => Webhook::parse(var, value),
        _ => Err(DeliveryError::NotConfigured {
            var: var.to_string(),
        }),
    };
    let mut out: Vec<Channel> = slack
        .routes
        .iter()
        .map(|r| Channel {
            name: r.name.clone(),
            var: r.webhook_env.clone(),
            webhook: webhook(&r.webhook_env),
            route: Some(r.clone()),
        })
        .collect();
    let default_set = env.get(WEBHOOK_VAR).is_some_and(|v| !v.trim().is_empty());
    if default_set || out.is_empty() {
        out.push(Channel {
            name: DEFAULT_CHANNEL.to_string(),
            var: WEBHOOK_VAR.to_string(),
            webhook: webhook(WEBHOOK_VAR),
            route: None,
        });
    }
    out
}

/// The channels a finding of `repository` in `environment` goes to: every
/// route that matches, or else the default channel.
pub fn route<'a>(
    channels: &'a [Channel],
    repository: &str,
    environment: Option<&str>,
) -> Vec<&'a Channel> {
    let routed: Vec<&Channel> = channels
        .iter()
        .filter(|c| {
            c.route
                .as_ref()
                .is_some_and(|r| r.matches(repository, environment))
        })
        .collect();
    if routed.is_empty() {
        channels.iter().filter(|c| c.route.is_none()).collect()
    } else {
        routed
    }
}

/// How urgent a pending upgrade is: the digest's sections, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    /// A fork deadline has passed.
    Overdue,
    /// A fork deadline applies (or the release is a hard fork or mandatory).
    HardFork,
    Security,
    Breaking,
    Routine,
}

impl Urgency {
    pub const ALL: [Urgency; 5] = [
        Urgency::Overdue,
        Urgency::HardFork,
        Urgency::Security,
        Urgency::Breaking,
        Urgency::Routine,
    ];

    /// The key templates see (`hard_fork`).
    pub fn key(self) -> &'static str {
        match self {
            Urgency::Overdue => "overdue",
            Urgency::HardFork => "hard_fork",
            Urgency::Security => "security",
            Urgency::Breaking => "breaking",
            Urgency::Routine => "routine",
        }
    }

    /// A short label (`hard-fork`).
    pub fn label(self) -> &'static str {
        match self {
            Urgency::Overdue => "overdue",
            Urgency::HardFork => "hard-fork",
            Urgency::Security => "security",
            Urgency::Breaking => "breaking",
            Urgency::Routine => "routine",
        }
    }

    /// The most urgent section a finding belongs to as of `now`.
    pub fn of(f: &Finding, now: DateTime<Utc>) -> Urgency {
        let has = |c: Code| f.codes.contains(&c);
        if has(Code::Overdue) || f.deadline.as_ref().is_some_and(|d| d.at <= now) {
            Urgency::Overdue
        } else if f.deadline.is_some() || has(Code::HardFork) || has(Code::Mandatory) {
            Urgency::HardFork
        } else if has(Code::SecurityFix) || f.security.is_some() {
            Urgency::Security
        } else if has(Code::BreakingChange) || !f.breaking.is_empty() {
            Urgency::Breaking
        } else {
            Urgency::Routine
        }
    }
}

/// What became of one of upkeep's pull requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullState {
    /// Closed without merging: its version is skipped (`@upkeep ignore`
    /// closes it too).
    Closed,
    Merged,
    Open,
}

impl PullState {
    pub fn as_str(self) -> &'static str {
        match self {
            PullState::Open => "open",
            PullState::Merged => "merged",
            PullState::Closed => "closed",
        }
    }
}

/// One of upkeep's pull requests (open, merged or closed), with the
/// hidden fingerprint of its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pull {
    pub number: u64,
    pub url: String,
    pub state: PullState,
    pub fingerprint: Fingerprint,
}

/// The pull request to show for a finding: an open or merged one whose
/// fingerprint names the finding's repository and upstream and whose group
/// covers the finding (`upstream`, a named group, or its environment or
/// wave); an open one first, then one for the finding's release.
pub fn pull_for<'a>(pulls: &'a [Pull], f: &Finding) -> Option<&'a Pull> {
    pulls
        .iter()
        .filter(|p| p.state != PullState::Closed)
        .filter_map(|p| {
            let (version, group) = covers(p, f)?;
            Some((
                (
                    p.state == PullState::Open,
                    version == f.latest,
                    group,
                    p.number,
                ),
                p,
            ))
        })
        .max_by_key(|(score, _)| *score)
        .map(|(_, p)| p)
}

/// Whether the finding's release was skipped: a pull request for it was
/// closed without merging and none for it is open or merged.
pub fn skipped(pulls: &[Pull], f: &Finding) -> bool {
    let for_release = |p: &&Pull| covers(p, f).is_some_and(|(v, _)| v == f.latest);
    let mut of_release = pulls.iter().filter(for_release).peekable();
    of_release.peek().is_some() && of_release.all(|p| p.state == PullState::Closed)
}

/// Whether a finding is left out of every message: its upgrade is ignored
/// (`pull_requests.ignore`) or its release was skipped.
pub fn dismissed(inputs: &Inputs<'_>, f: &Finding) -> bool {
    // the repository's own ignore rules are added to the global ones
    let own = inputs
        .report
        .repositories
        .iter()
        .find(|r| r.source.to_string() == f.repository)
        .and_then(|r| r.overrides.ignore.as_deref())
        .unwrap_or_default();
    inputs
        .ignore
        .iter()
        .chain(own)
        .any(|rule| rule.matches(&f.upstream, &f.image, &f.latest))
        || skipped(inputs.pulls, f)
}

/// The version a pull request moves the finding's upstream to, and how
/// closely its group matches, when it covers the finding.
fn covers<'a>(p: &'a Pull, f: &Finding) -> Option<(&'a str, u8)> {
    if !p.fingerprint.repo.eq_ignore_ascii_case(&f.repository) {
        return None;
    }
    let targets = p.fingerprint.targets();
    let version = targets.iter().find(|(u, _)| *u == f.upstream)?.1;
    Some((version, group_score(&p.fingerprint.group, f)?))
}

fn group_score(group: &str, f: &Finding) -> Option<u8> {
    // `upstream`, `group:NAME` (the whole repository), or a scope:
    // `mainnet`, `wave-2`, `group:NAME:mainnet`.
    let scope = match group.strip_prefix("group:") {
        Some(named) => named.split_once(':').map(|(_, scope)| scope),
        None if group == "upstream" => None,
        None => Some(group),
    };
    let Some(scope) = scope else {
        return Some(1);
    };
    let mut forms: Vec<String> = Vec::new();
    match &f.environment {
        Some(env) => forms.extend([env.clone(), format!("environment:{env}")]),
        None => forms.push("default".into()),
    }
    if let Some(wave) = f.wave {
        forms.extend([format!("wave-{wave}"), format!("wave:{wave}")]);
    }
    forms.iter().any(|g| g == scope).then_some(2)
}

/// Why there is no pull request (yet) for each held finding, by
/// `(repository, file, line)`: the rollout's (a wave, a soak, a window) and
/// the planner's (minimum release age, a skipped version). Pure.
pub fn held_reasons(
    report: &CheckReport,
    settings: &Settings,
    now: DateTime<Utc>,
) -> BTreeMap<(String, String, usize), String> {
    let mut by_repo: BTreeMap<&str, Vec<Finding>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for f in report.findings.iter().filter(|f| !f.waiting_for_image) {
        match &f.rollout {
            // Held by its rollout: a wave, a soak or a window.
            Some(r) if !r.go => {
                out.insert(
                    (f.repository.clone(), f.file.clone(), f.line),
                    format!("rollout wave {}: {}", r.wave, r.reason),
                );
            }
            _ => by_repo.entry(&f.repository).or_default().push(f.clone()),
        }
    }
    for (name, findings) in &by_repo {
        // the repository's own pull-request settings (ignore rules, groups)
        let pull_requests = report
            .repositories
            .iter()
            .find(|r| r.source.to_string() == **name)
            .map(|r| r.pull_requests(&settings.pull_requests))
            .unwrap_or_else(|| settings.pull_requests.clone());
        let plan = crate::domain::plan::plan(
            findings,
            &pull_requests,
            settings.registries.pin_digests,
            &BTreeSet::new(),
            now,
        );
        for h in plan.held {
            out.insert(
                (
                    h.finding.repository.clone(),
                    h.finding.file.clone(),
                    h.finding.line,
                ),
                h.reason,
            );
        }
    }
    out
}

/// What [`compose`] works from.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    pub report: &'a CheckReport,
    pub slack: &'a Slack,
    /// upkeep's pull requests of the repositories (open, merged, closed).
    pub pulls: &'a [Pull],
    /// `pull_requests.ignore`: upgrades never proposed (left out).
    pub ignore: &'a [crate::domain::settings::Ignore],
    /// From [`held_reasons`].
    pub held: &'a BTreeMap<(String, String, usize), String>,
    /// Repositories that are local checkouts (no pull requests).
    pub local: &'a BTreeSet<String>,
    /// Fork readiness of every environment (the digest and reminders lead
    /// with it).
    pub readiness: &'a [crate::domain::readiness::Row],
    pub now: DateTime<Utc>,
}

/// Which messages to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct What {
    pub digest: bool,
    /// Alerts and reminders.
    pub alerts: bool,
}

impl Default for What {
    fn default() -> Self {
        What {
            digest: true,
            alerts: true,
        }
    }
}

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Alert,
    Reminder,
    Digest,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Alert => "alert",
            Kind::Reminder => "reminder",
            Kind::Digest => "digest",
        }
    }
}

/// One message for one channel.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    pub channel: String,
    pub kind: Kind,
    /// What it is about, for reports (`sigp/lighthouse v7.0.0`).
    pub subject: String,
    pub payload: Payload,
    /// De-duplication keys recorded for the channel once it is sent.
    #[serde(skip)]
    pub keys: Vec<String>,
}

/// The de-duplication key of an alert: one per release.
pub fn alert_key(upstream: &str, tag: &str) -> String {
    format!("alert|{upstream}|{tag}")
}

/// The de-duplication key of a rollout alert: one per repository,
/// upstream, release and kind.
pub fn rollout_alert_key(a: &RolloutAlert) -> String {
    format!(
        "rollout|{}|{}|{}|{}",
        a.repository,
        a.upstream,
        a.version,
        alert_kind(a.kind)
    )
}

fn alert_kind(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::DeadlineAtRisk => "deadline-at-risk",
        AlertKind::WindowOverridden => "window-overridden",
        AlertKind::VerificationFailed => "verification-failed",
        AlertKind::Irreversible => "irreversible",
    }
}

/// Whether `channel` gets news of `repository` in any of `environments`
/// (none: of the repository as a whole).
fn routed_to(channels: &[Channel], channel: &str, repository: &str, environments: &[&str]) -> bool {
    let to = |env: Option<&str>| {
        route(channels, repository, env)
            .iter()
            .any(|c| c.name == channel)
    };
    if environments.is_empty() {
        to(None)
    } else {
        environments.iter().any(|e| to(Some(e)))
    }
}

/// The rollouts in flight a channel hears of: those with a wave in an
/// environment routed to it.
fn channel_rollouts(
    inputs: &Inputs<'_>,
    channels: &[Channel],
    channel: &str,
) -> Vec<UpstreamRollout> {
    inputs
        .report
        .rollouts
        .iter()
        .filter(|r| r.in_flight())
        .filter(|r| {
            let envs: Vec<&str> = r
                .waves
                .iter()
                .flat_map(|w| w.environments.iter().map(String::as_str))
                .collect();
            routed_to(channels, channel, &r.repository, &envs)
        })
        .cloned()
        .collect()
}

/// `Tue 09:00 UTC` within six days of `now`, else `Tue 16 Dec 09:00 UTC`.
fn slack_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if (t - now).num_days().abs() < 6 {
        t.format("%a %H:%M UTC").to_string()
    } else {
        t.format("%a %-d %b %H:%M UTC").to_string()
    }
}

fn rollout_view(inputs: &Inputs<'_>, r: &UpstreamRollout) -> text::RolloutView {
    let e = blocks::escape;
    text::RolloutView {
        repository: e(&r.repository),
        upstream: e(&r.upstream),
        name: e(r.upstream.rsplit('/').next().unwrap_or(&r.upstream)),
        version: e(&r.version),
        release_link: release_link(inputs, &r.upstream, &r.version),
        at_risk: r.at_risk,
        compressed: r.compressed,
        expedited: r.expedited,
        deadline: r
            .deadline
            .as_ref()
            .map(|d| deadline_view(d, inputs.now, None)),
        waves: r
            .waves
            .iter()
            .map(|w| text::WaveView {
                wave: w.wave,
                environments: e(&w.environments.join(", ")),
                state: w.state.as_str(),
                at: match w.state {
                    WaveState::Soaking | WaveState::Pending => {
                        w.opens_at.map(|t| slack_time(t, inputs.now))
                    }
                    _ => None,
                },
                pr: w.pull.map(|n| match &w.pull_url {
                    Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
                        blocks::link(u, &format!("#{n}"))
                    }
                    _ => format!("#{n}"),
                }),
            })
            .collect(),
    }
}

/// The readiness rows a channel hears of (those of environments routed to
/// it), only those of `fork` on `network` when given.
fn channel_readiness<'a>(
    inputs: &Inputs<'a>,
    channel: &str,
    only: Option<(&str, &str)>,
) -> Vec<&'a crate::domain::readiness::Row> {
    let channels_of = |r: &crate::domain::readiness::Row| {
        inputs.slack.routes.is_empty()
            || channels_for(inputs.slack, &r.repository, &r.environment)
                .iter()
                .any(|c| c == channel)
    };
    inputs
        .readiness
        .iter()
        .filter(|r| only.is_none_or(|(f, n)| r.fork.eq_ignore_ascii_case(f) && r.network == n))
        .filter(|r| channels_of(r))
        .collect()
}

/// The names of the channels news of `environment` goes to, from the
/// routes alone (the default channel when none takes it).
fn channels_for(slack: &Slack, repository: &str, environment: &str) -> Vec<String> {
    let taken: Vec<String> = slack
        .routes
        .iter()
        .filter(|r| r.matches(repository, Some(environment)))
        .map(|r| r.name.clone())
        .collect();
    if taken.is_empty() {
        vec![DEFAULT_CHANNEL.to_string()]
    } else {
        taken
    }
}

fn readiness_view(r: &crate::domain::readiness::Row) -> text::ReadinessView {
    let e = blocks::escape;
    text::ReadinessView {
        repository: e(&r.repository),
        environment: e(&r.environment),
        network: e(&r.network),
        fork: e(&r.fork),
        state: r.state.as_str(),
        left: crate::domain::readiness::time_left(r.seconds_left),
        at: r.activates_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        needs: r
            .blocking
            .iter()
            .map(|b| e(&crate::domain::readiness::blocker_text(b)))
            .collect(),
    }
}

/// The de-duplication key of a reminder: one per reference, deadline and
/// threshold.
pub fn reminder_key(f: &Finding, d: &Deadline, threshold: Duration) -> String {
    format!(
        "reminder|{}|{}|{}|{}|{}|{}|{}",
        f.repository,
        f.file,
        f.image,
        d.fork,
        d.network,
        d.at.timestamp(),
        threshold.as_secs()
    )
}

/// The messages for every channel: per channel its alerts, reminders and
/// digest, in that order. `sent(channel, keys)` says which keys the
/// channel already got (alerts and reminders among them are left out).
pub fn compose(
    inputs: &Inputs<'_>,
    channels: &[Channel],
    templates: &SlackTemplates,
    what: What,
    sent: &dyn Fn(&str, &[String]) -> BTreeSet<String>,
) -> Result<Vec<Message>, TemplateError> {
    let mut per_channel: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in inputs
        .report
        .findings
        .iter()
        .filter(|f| !dismissed(inputs, f))
    {
        for c in route(channels, &f.repository, f.environment.as_deref()) {
            per_channel.entry(c.name.as_str()).or_default().push(f);
        }
    }
    let only_default = channels.len() == 1 && channels[0].route.is_none();
    let mut out = Vec::new();
    for channel in channels {
        let findings = per_channel
            .remove(channel.name.as_str())
            .unwrap_or_default();
        let rollouts = channel_rollouts(inputs, channels, &channel.name);
        if what.alerts {
            out.extend(alerts(inputs, &channel.name, &findings, templates, sent)?);
            out.extend(rollout_alerts(
                inputs,
                channels,
                &channel.name,
                templates,
                sent,
            )?);
            out.extend(reminders(
                inputs,
                &channel.name,
                &findings,
                templates,
                sent,
            )?);
        }
        if what.digest {
            out.push(digest(
                inputs,
                &channel.name,
                &findings,
                &rollouts,
                only_default,
                templates,
            )?);
        }
    }
    Ok(out)
}

/// Findings that would reach no channel (routes only, no default webhook).
pub fn unrouted(report: &CheckReport, channels: &[Channel]) -> usize {
    report
        .findings
        .iter()
        .filter(|f| route(channels, &f.repository, f.environment.as_deref()).is_empty())
        .count()
}

/// Lines of one message being built within Slack's limits.
struct Writer {
    blocks: Vec<Block>,
    current: String,
    chars: usize,
    items: usize,
    max_items: usize,
}

impl Writer {
    fn new(blocks: Vec<Block>, max_items: usize) -> Writer {
        let chars = blocks
            .iter()
            .flat_map(Block::texts)
            .map(|t| t.chars().count())
            .sum();
        Writer {
            blocks,
            current: String::new(),
            chars,
            items: 0,
            max_items,
        }
    }

    /// Adds one item line, in a new section block when `title` is given
    /// (the title goes first in that block); `false` when it does not fit
    /// (nothing is added then, and nothing more should be).
    fn add(&mut self, title: Option<&str>, line: &str) -> bool {
        if self.items >= self.max_items {
            return false;
        }
        let line = blocks::cut(line, blocks::MAX_LINE);
        let len = line.chars().count();
        // One block and a thousand characters stay free for the "more" line.
        let block_room = blocks::MAX_BLOCKS - 1;
        let char_room = blocks::MAX_MESSAGE_TEXT - 1000;
        let fits_current = title.is_none()
            && !self.current.is_empty()
            && self.current.chars().count() + 1 + len <= blocks::MAX_TEXT;
        let text = match (fits_current, title) {
            (true, _) => format!("\n{line}"),
            (false, Some(t)) => format!("{t}\n{line}"),
            (false, None) => line.clone(),
        };
        let added = text.chars().count();
        if self.chars + added > char_room {
            return false;
        }
        if !fits_current {
            let pending = usize::from(!self.current.is_empty());
            if self.blocks.len() + pending + 1 > block_room {
                return false;
            }
            self.flush();
        }
        self.current.push_str(&text);
        self.chars += added;
        self.items += 1;
        true
    }

    fn flush(&mut self) {
        if !self.current.is_empty() {
            let text = std::mem::take(&mut self.current);
            self.blocks.push(Block::section(&text));
        }
    }

    fn finish(mut self, more: Option<String>) -> Vec<Block> {
        self.flush();
        if let Some(m) = more {
            self.blocks.push(Block::context(&m));
        }
        self.blocks
    }
}

/// Findings that show as the same line (same place, image and move).
fn grouped<'f>(findings: &[&'f Finding]) -> Vec<(&'f Finding, usize)> {
    let mut out: Vec<(&Finding, usize)> = Vec::new();
    let mut index: HashMap<(&str, Option<&str>, &str, &str, &str), usize> = HashMap::new();
    for f in findings {
        let key = (
            f.repository.as_str(),
            f.environment.as_deref(),
            f.image.as_str(),
            f.current.as_str(),
            f.target_tag.as_str(),
        );
        match index.get(&key) {
            Some(&i) => out[i].1 += 1,
            None => {
                index.insert(key, out.len());
                out.push((f, 1));
            }
        }
    }
    out
}

fn digest(
    inputs: &Inputs<'_>,
    channel: &str,
    findings: &[&Finding],
    rollouts: &[UpstreamRollout],
    everything: bool,
    templates: &SlackTemplates,
) -> Result<Message, TemplateError> {
    let opening = wake::next_window(rollouts, inputs.now);
    let mut sections: BTreeMap<Urgency, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        sections
            .entry(Urgency::of(f, inputs.now))
            .or_default()
            .push(f);
    }
    let sections: Vec<(Urgency, Vec<(&Finding, usize)>)> = sections
        .into_iter()
        .map(|(u, list)| (u, grouped(&list)))
        .collect();
    let count = |u: Urgency| {
        sections
            .iter()
            .find(|(x, _)| *x == u)
            .map_or(0, |(_, items)| items.len())
    };
    let report = inputs.report;
    let view = text::DigestView {
        channel: blocks::escape(channel),
        total: sections.iter().map(|(_, items)| items.len()).sum(),
        overdue: count(Urgency::Overdue),
        hard_fork: count(Urgency::HardFork),
        security: count(Urgency::Security),
        breaking: count(Urgency::Breaking),
        routine: count(Urgency::Routine),
        up_to_date: if everything { report.up_to_date } else { 0 },
        unchecked: if everything {
            report.unchecked.len()
        } else {
            0
        },
        failed: report.failures.len(),
        rollouts: rollouts.len(),
        opening: opening.len(),
    };
    let (header, summary) = templates.headed("digest.j2", &view)?;
    let mut head = vec![Block::header(&blocks::unescape(&header))];
    if !summary.is_empty() {
        head.push(Block::context(&summary));
    }
    if !report.failures.is_empty() {
        let problems = text::ProblemsView {
            count: report.failures.len(),
            failures: report
                .failures
                .iter()
                .take(10)
                .map(|f| text::FailureView {
                    subject: blocks::escape(&f.subject),
                    error: blocks::cut(&blocks::escape(&f.error), 300),
                })
                .collect(),
        };
        head.push(Block::context(&templates.line("problems.j2", &problems)?));
    }
    let mut writer = Writer::new(head, MAX_ITEMS);
    let mut omitted: BTreeMap<Urgency, usize> = BTreeMap::new();
    let mut full = false;
    // The rollouts first: what opens in the next window, then every
    // rollout in flight, a line each.
    let mut stages: Vec<(&'static str, &'static str, Vec<String>)> = Vec::new();
    let mut lines = Vec::new();
    for row in channel_readiness(inputs, channel, None) {
        lines.push(templates.line("readiness.j2", &readiness_view(row))?);
    }
    stages.push(("readiness", "fork readiness", lines));
    let mut lines = Vec::new();
    for (r, w) in &opening {
        let Some(at) = w.opens_at else { continue };
        let e = blocks::escape;
        let view = text::WindowView {
            repository: e(&r.repository),
            upstream: e(&r.upstream),
            name: e(r.upstream.rsplit('/').next().unwrap_or(&r.upstream)),
            version: e(&r.version),
            release_link: release_link(inputs, &r.upstream, &r.version),
            wave: w.wave,
            environments: e(&w.environments.join(", ")),
            at: slack_time(at, inputs.now),
            when: format!("in {}", time_left(inputs.now, at)),
        };
        lines.push(templates.line("window.j2", &view)?);
    }
    stages.push(("next_window", "next window", lines));
    let mut lines = Vec::new();
    for r in rollouts {
        lines.push(templates.line("rollout.j2", &rollout_view(inputs, r))?);
    }
    stages.push(("rollouts", "rollout", lines));
    let mut omitted_stages: Vec<text::SectionView> = Vec::new();
    for (key, label, lines) in stages {
        if lines.is_empty() {
            continue;
        }
        let title = templates.line(
            "section.j2",
            &text::SectionView {
                key,
                label,
                count: lines.len(),
            },
        )?;
        let mut left = 0;
        for (i, line) in lines.iter().enumerate() {
            if !full {
                full = !writer.add((i == 0).then_some(title.as_str()), line);
            }
            if full {
                left += 1;
            }
        }
        if left > 0 {
            omitted_stages.push(text::SectionView {
                key,
                label,
                count: left,
            });
        }
    }
    for (urgency, items) in &sections {
        let title = templates.line(
            "section.j2",
            &text::SectionView {
                key: urgency.key(),
                label: urgency.label(),
                count: items.len(),
            },
        )?;
        for (i, (f, files)) in items.iter().enumerate() {
            if !full {
                let line = templates.line("item.j2", &item(inputs, f, *files))?;
                full = !writer.add((i == 0).then_some(title.as_str()), &line);
            }
            if full {
                *omitted.entry(*urgency).or_default() += 1;
            }
        }
    }
    let left: usize =
        omitted.values().sum::<usize>() + omitted_stages.iter().map(|s| s.count).sum::<usize>();
    omitted_stages.extend(omitted.iter().map(|(u, n)| text::SectionView {
        key: u.key(),
        label: u.label(),
        count: *n,
    }));
    let more = more_line(templates, left, omitted_stages)?;
    // The notification text is mrkdwn: the escaped header.
    let payload = Payload::new(&header, writer.finish(more));
    Ok(Message {
        channel: channel.to_string(),
        kind: Kind::Digest,
        subject: format!("{} pending", view.total),
        payload,
        keys: Vec::new(),
    })
}

/// The "and N more" line for `count` items left out (by section, when
/// `omitted` says).
fn more_line(
    templates: &SlackTemplates,
    count: usize,
    sections: Vec<text::SectionView>,
) -> Result<Option<String>, TemplateError> {
    if count == 0 {
        return Ok(None);
    }
    let view = text::MoreView {
        count,
        sections,
        command: FULL_LIST,
    };
    Ok(Some(templates.line("more.j2", &view)?))
}

/// The view of one line.
fn item(inputs: &Inputs<'_>, f: &Finding, files: usize) -> text::ItemView {
    let e = blocks::escape;
    let pr = pull_for(inputs.pulls, f).map(|p| {
        let url = blocks::link_url(&p.url);
        let version = p
            .fingerprint
            .targets()
            .into_iter()
            .find(|(u, _)| *u == f.upstream)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        text::PrView {
            number: p.number,
            link: blocks::link(&p.url, &format!("PR #{}", p.number)),
            url,
            current: version == f.latest,
            version: e(&version),
            state: p.state.as_str(),
        }
    });
    let advisories = advisories_of(inputs, f);
    let (no_pr, no_pr_code) = if pr.is_some() {
        (None, None)
    } else if f.waiting_for_image {
        let since = f
            .since
            .map(|t| format!(" (released {})", ago(inputs.now, t)))
            .unwrap_or_default();
        (
            Some(format!("waiting for image{since}")),
            Some("waiting-for-image"),
        )
    } else if let Some(reason) = inputs
        .held
        .get(&(f.repository.clone(), f.file.clone(), f.line))
    {
        (Some(e(reason)), Some("held"))
    } else if inputs.local.contains(&f.repository) {
        (
            Some("local checkout (`upkeep run` commits a branch)".to_string()),
            Some("local"),
        )
    } else {
        (Some("not opened yet".to_string()), Some("not-opened"))
    };
    text::ItemView {
        repository: e(&f.repository),
        environment: f.environment.as_deref().map(e),
        network: f.network.as_deref().map(e),
        image: e(&f.image),
        current: e(&f.current),
        target: e(&f.target_tag),
        release: e(&f.latest),
        release_link: release_link(inputs, &f.upstream, &f.latest),
        behind: f.behind,
        files,
        codes: f.codes.iter().map(|c| c.as_str().to_string()).collect(),
        waiting_for_image: f.waiting_for_image,
        deadline: f
            .deadline
            .as_ref()
            .map(|d| deadline_view(d, inputs.now, Some(&f.latest))),
        pr,
        no_pr,
        no_pr_code,
        advisories: advisories.ids.iter().map(advisory_link).collect(),
        more_advisories: advisories.more,
    }
}

/// The advisory ids named by a finding's security note and the notes of
/// the releases it moves across (its current release, when known, not
/// included; else at most ten releases).
fn advisories_of(inputs: &Inputs<'_>, f: &Finding) -> Advisories {
    let list = match inputs.report.releases.get(&f.upstream) {
        Some(Ok(list)) => list.as_slice(),
        _ => &[],
    };
    let notes: &[crate::domain::release::Release] =
        match list.iter().position(|r| r.tag_name == f.latest) {
            Some(upto) => {
                let from = f
                    .current_release
                    .as_ref()
                    .and_then(|c| list.iter().position(|r| &r.tag_name == c))
                    .filter(|&i| i >= upto)
                    .unwrap_or_else(|| list.len().min(upto + 10));
                &list[upto..from]
            }
            None => &[],
        };
    let mut out = Advisories::of(f.security.as_deref());
    for r in notes {
        out.scan(r.notes());
    }
    out
}

/// `<url|CVE-2025-1234>`: ids and their URLs hold only safe characters.
fn advisory_link(a: &Advisory) -> String {
    blocks::link(&a.url, &a.id)
}

fn release_link(inputs: &Inputs<'_>, upstream: &str, tag: &str) -> String {
    let url = match inputs.report.releases.get(upstream) {
        Some(Ok(list)) => list
            .iter()
            .find(|r| r.tag_name == tag)
            .and_then(|r| r.html_url.clone()),
        _ => None,
    };
    match url {
        Some(u) if u.starts_with("https://") || u.starts_with("http://") => {
            blocks::link(&u, &blocks::escape(tag))
        }
        _ => blocks::escape(tag),
    }
}

/// `target`: the release of the upgrade the deadline is shown for.
fn deadline_view(d: &Deadline, now: DateTime<Utc>, target: Option<&str>) -> text::DeadlineView {
    let left = time_left(now, d.at);
    text::DeadlineView {
        carries: target
            .and_then(|t| d.carries(t))
            .map(|c| blocks::escape(&c)),
        fork: blocks::escape(&d.fork),
        network: blocks::escape(&d.network),
        at: d.at.format("%Y-%m-%d %H:%M UTC").to_string(),
        when: if d.at > now {
            format!("in {left}")
        } else {
            left.clone()
        },
        left,
        overdue: d.at <= now,
    }
}

/// `45m ago`, `3h ago`, `2d ago`.
fn ago(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let minutes = (now - then).num_minutes().max(0);
    match minutes {
        0 => "just now".into(),
        m if m < 60 => format!("{m}m ago"),
        m if m < 48 * 60 => format!("{}h ago", m / 60),
        m => format!("{}d ago", m / (24 * 60)),
    }
}

/// Releases with alerting codes, each with the findings still behind it.
fn alerts(
    inputs: &Inputs<'_>,
    channel: &str,
    findings: &[&Finding],
    templates: &SlackTemplates,
    sent: &dyn Fn(&str, &[String]) -> BTreeSet<String>,
) -> Result<Vec<Message>, TemplateError> {
    let alerting = &inputs.slack.alerts;
    let mut releases: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        if f.codes.iter().any(|c| alerting.contains(c)) {
            releases
                .entry((&f.upstream, &f.latest))
                .or_default()
                .push(f);
        }
    }
    let keys: Vec<String> = releases.keys().map(|(u, t)| alert_key(u, t)).collect();
    let already = if keys.is_empty() {
        BTreeSet::new()
    } else {
        sent(channel, &keys)
    };
    let mut out = Vec::new();
    for ((upstream, tag), list) in releases {
        let key = alert_key(upstream, tag);
        if already.contains(&key) {
            continue;
        }
        let codes: Vec<String> = alerting
            .iter()
            .filter(|c| list.iter().any(|f| f.codes.contains(c)))
            .map(|c| c.as_str().to_string())
            .collect();
        let deadline = list
            .iter()
            .filter_map(|f| f.deadline.as_ref())
            .min_by_key(|d| d.at);
        let items = grouped(&list);
        let mut advisories = Advisories::default();
        for f in &list {
            for id in advisories_of(inputs, f).ids {
                advisories.scan(&id.id);
            }
        }
        let view = text::AlertView {
            advisories: advisories.ids.iter().map(advisory_link).collect(),
            more_advisories: advisories.more,
            channel: blocks::escape(channel),
            upstream: blocks::escape(upstream),
            name: blocks::escape(upstream.rsplit('/').next().unwrap_or(upstream)),
            release: blocks::escape(tag),
            release_link: release_link(inputs, upstream, tag),
            hard_fork: codes.iter().any(|c| c == "hard-fork"),
            security_fix: codes.iter().any(|c| c == "security-fix"),
            mandatory: codes.iter().any(|c| c == "mandatory"),
            codes: codes.iter().map(|c| blocks::escape(c)).collect(),
            deadline: deadline.map(|d| deadline_view(d, inputs.now, Some(tag))),
            count: items.len(),
        };
        let (header, intro) = templates.headed("alert.j2", &view)?;
        let payload = listed(inputs, templates, &header, &intro, &items)?;
        out.push(Message {
            channel: channel.to_string(),
            kind: Kind::Alert,
            subject: format!("{upstream} {tag}"),
            payload,
            keys: vec![key],
        });
    }
    Ok(out)
}

/// The rollouts' alerts (a deadline at risk, a window overridden) a
/// channel has not had yet: one message per repository, upstream, release
/// and kind, with the rollout's waves under it.
fn rollout_alerts(
    inputs: &Inputs<'_>,
    channels: &[Channel],
    channel: &str,
    templates: &SlackTemplates,
    sent: &dyn Fn(&str, &[String]) -> BTreeSet<String>,
) -> Result<Vec<Message>, TemplateError> {
    let rollout_of = |a: &RolloutAlert| {
        inputs.report.rollouts.iter().find(|r| {
            r.repository == a.repository && r.upstream == a.upstream && r.version == a.version
        })
    };
    let mut grouped: BTreeMap<String, Vec<&RolloutAlert>> = BTreeMap::new();
    for a in &inputs.report.rollout_alerts {
        let envs: Vec<&str> = rollout_of(a)
            .map(|r| {
                r.waves
                    .iter()
                    .flat_map(|w| w.environments.iter().map(String::as_str))
                    .collect()
            })
            .unwrap_or_default();
        if routed_to(channels, channel, &a.repository, &envs) {
            grouped.entry(rollout_alert_key(a)).or_default().push(a);
        }
    }
    let keys: Vec<String> = grouped.keys().cloned().collect();
    let already = if keys.is_empty() {
        BTreeSet::new()
    } else {
        sent(channel, &keys)
    };
    let mut out = Vec::new();
    for (key, list) in grouped {
        if already.contains(&key) {
            continue;
        }
        let a = list[0];
        let e = blocks::escape;
        let mut messages: Vec<String> = Vec::new();
        for m in list
            .iter()
            .map(|a| blocks::cut(&e(&a.message), blocks::MAX_LINE))
        {
            if !messages.contains(&m) {
                messages.push(m);
            }
        }
        let view = text::RolloutAlertView {
            channel: e(channel),
            kind: alert_kind(a.kind),
            repository: e(&a.repository),
            upstream: e(&a.upstream),
            name: e(a.upstream.rsplit('/').next().unwrap_or(&a.upstream)),
            version: e(&a.version),
            release_link: release_link(inputs, &a.upstream, &a.version),
            messages,
        };
        let (header, intro) = templates.headed("rollout_alert.j2", &view)?;
        let mut head = vec![Block::header(&blocks::unescape(&header))];
        if !intro.is_empty() {
            head.push(Block::section(&blocks::cut(&intro, blocks::MAX_TEXT)));
        }
        let mut writer = Writer::new(head, MAX_ALERT_ITEMS);
        if let Some(r) = rollout_of(a) {
            writer.add(
                None,
                &templates.line("rollout.j2", &rollout_view(inputs, r))?,
            );
        }
        out.push(Message {
            channel: channel.to_string(),
            kind: Kind::Alert,
            subject: format!(
                "{} {} {} {}",
                a.repository,
                a.upstream,
                a.version,
                alert_kind(a.kind)
            ),
            payload: Payload::new(&header, writer.finish(None)),
            keys: vec![key],
        });
    }
    Ok(out)
}

/// A message of a header, an intro and item lines (alerts, reminders).
fn listed(
    inputs: &Inputs<'_>,
    templates: &SlackTemplates,
    header: &str,
    intro: &str,
    items: &[(&Finding, usize)],
) -> Result<Payload, TemplateError> {
    let mut head = vec![Block::header(&blocks::unescape(header))];
    if !intro.is_empty() {
        head.push(Block::section(intro));
    }
    let mut writer = Writer::new(head, MAX_ALERT_ITEMS);
    let mut omitted = 0;
    for (f, files) in items {
        if omitted > 0 || !writer.add(None, &templates.line("item.j2", &item(inputs, f, *files))?) {
            omitted += 1;
        }
    }
    let more = more_line(templates, omitted, Vec::new())?;
    Ok(Payload::new(header, writer.finish(more)))
}

/// Reminders due now: for each finding with a deadline still ahead, the
/// smallest threshold already reached, unless that reminder was sent.
fn reminders(
    inputs: &Inputs<'_>,
    channel: &str,
    findings: &[&Finding],
    templates: &SlackTemplates,
    sent: &dyn Fn(&str, &[String]) -> BTreeSet<String>,
) -> Result<Vec<Message>, TemplateError> {
    let now = inputs.now;
    // (deadline, threshold) -> findings, and the keys to record for them
    type Due<'f> = (Vec<&'f Finding>, Vec<String>);
    let mut due: BTreeMap<(DateTime<Utc>, String, String, Duration), Due<'_>> = BTreeMap::new();
    let mut candidates: Vec<(&Finding, &Deadline, Duration, Vec<String>)> = Vec::new();
    for f in findings {
        let Some(d) = f.deadline.as_ref().filter(|d| d.at > now) else {
            continue;
        };
        let crossed: Vec<Duration> = inputs
            .slack
            .reminders
            .iter()
            .copied()
            .filter(|t| {
                chrono::Duration::from_std(*t)
                    .is_ok_and(|t| d.at.checked_sub_signed(t).is_some_and(|at| at <= now))
            })
            .collect();
        let Some(smallest) = crossed.iter().min().copied() else {
            continue;
        };
        let keys = crossed.iter().map(|t| reminder_key(f, d, *t)).collect();
        candidates.push((f, d, smallest, keys));
    }
    let asked: Vec<String> = candidates
        .iter()
        .map(|(f, d, t, _)| reminder_key(f, d, *t))
        .collect();
    let already = if asked.is_empty() {
        BTreeSet::new()
    } else {
        sent(channel, &asked)
    };
    for (f, d, t, keys) in candidates {
        if already.contains(&reminder_key(f, d, t)) {
            continue;
        }
        let entry = due
            .entry((d.at, d.fork.clone(), d.network.clone(), t))
            .or_default();
        entry.0.push(f);
        entry.1.extend(keys);
    }
    let mut out = Vec::new();
    for ((at, fork, network, threshold), (list, keys)) in due {
        let deadline = Deadline {
            fork: fork.clone(),
            network: network.clone(),
            at,
            release: None,
        };
        let dv = deadline_view(&deadline, now, None);
        let items = grouped(&list);
        let view = text::ReminderView {
            channel: blocks::escape(channel),
            fork: dv.fork.clone(),
            network: dv.network.clone(),
            at: dv.at.clone(),
            left: dv.left.clone(),
            threshold: time_left(
                now,
                now + chrono::Duration::from_std(threshold).unwrap_or_default(),
            ),
            count: items.len(),
        };
        let (header, intro) = templates.headed("reminder.j2", &view)?;
        let mut lead = Vec::new();
        for row in channel_readiness(inputs, channel, Some((&fork, &network))) {
            lead.push(templates.line("readiness.j2", &readiness_view(row))?);
        }
        let intro = if lead.is_empty() {
            intro
        } else {
            format!("{}\n{intro}", lead.join("\n"))
        };
        let payload = listed(inputs, templates, &header, &intro, &items)?;
        out.push(Message {
            channel: channel.to_string(),
            kind: Kind::Reminder,
            subject: format!("{fork} on {network}"),
            payload,
            keys,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_764_000_000, 0).unwrap()
    }

    fn finding(env: &str, latest: &str) -> Finding {
        Finding {
            repository: "acme/deploy".into(),
            file: "values.yaml".into(),
            line: 3,
            image: "sigp/lighthouse".into(),
            current: "v7.0.0".into(),
            upstream: "sigp/lighthouse".into(),
            latest: latest.into(),
            target_tag: latest.into(),
            behind: 1,
            environment: Some(env.into()),
            network: Some(env.into()),
            wave: Some(2),
            codes: Vec::new(),
            deadline: None,
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
        }
    }

    fn pull(number: u64, version: &str, group: &str) -> Pull {
        Pull {
            state: PullState::Open,
            number,
            url: format!("https://github.com/acme/deploy/pull/{number}"),
            fingerprint: Fingerprint {
                v: 1,
                repo: "acme/deploy".into(),
                upstream: "ethereum/go-ethereum sigp/lighthouse".into(),
                version: format!("v1.16.7 {version}"),
                group: group.into(),
                key: String::new(),
                environments: Vec::new(),
                rollback: None,
                rollout: None,
            },
        }
    }

    #[test]
    fn urgency_takes_the_most_urgent_section() {
        let mut f = finding("mainnet", "v8.0.0");
        assert_eq!(Urgency::of(&f, now()), Urgency::Routine);
        f.breaking = vec!["flag removed".into()];
        assert_eq!(Urgency::of(&f, now()), Urgency::Breaking);
        f.codes = vec![Code::SecurityFix];
        assert_eq!(Urgency::of(&f, now()), Urgency::Security);
        f.codes.push(Code::Mandatory);
        assert_eq!(Urgency::of(&f, now()), Urgency::HardFork);
        f.deadline = Some(Deadline {
            fork: "Fusaka".into(),
            network: "mainnet".into(),
            at: now(),
            release: None,
        });
        assert_eq!(
            Urgency::of(&f, now()),
            Urgency::Overdue,
            "due now is overdue"
        );
        assert_eq!(
            Urgency::of(&f, now() - chrono::Duration::hours(1)),
            Urgency::HardFork
        );
    }

    #[test]
    fn pull_requests_match_by_fingerprint_release_first_and_group() {
        let f = finding("mainnet", "v8.0.0");
        let pulls = [
            pull(1, "v7.1.0", "upstream"),
            pull(2, "v8.0.0", "hoodi"),
            pull(3, "v8.0.0", "wave-2"),
        ];
        assert_eq!(pull_for(&pulls, &f).map(|p| p.number), Some(3));
        assert_eq!(pull_for(&pulls[..2], &f).map(|p| p.number), Some(1));
        assert_eq!(pull_for(&pulls[1..2], &f), None, "another environment's");
        let mut other = f.clone();
        other.repository = "acme/other".into();
        assert_eq!(pull_for(&pulls, &other), None);
    }

    #[test]
    fn named_groups_and_the_default_environment_match_their_pull_requests() {
        let f = finding("mainnet", "v8.0.0");
        // `pull_requests.groups` writes `group:NAME` or `group:NAME:SCOPE`
        let named = [pull(4, "v8.0.0", "group:clients")];
        assert_eq!(pull_for(&named, &f).map(|p| p.number), Some(4));
        let scoped = [pull(5, "v8.0.0", "group:clients:mainnet")];
        assert_eq!(pull_for(&scoped, &f).map(|p| p.number), Some(5));
        let elsewhere = [pull(6, "v8.0.0", "group:clients:hoodi")];
        assert_eq!(pull_for(&elsewhere, &f), None);
        // grouping by environment without one: `default`
        let mut bare = f.clone();
        bare.environment = None;
        bare.wave = None;
        let default = [pull(7, "v8.0.0", "default")];
        assert_eq!(pull_for(&default, &bare).map(|p| p.number), Some(7));
    }

    #[test]
    fn open_pull_requests_come_first_and_closed_ones_skip_their_release() {
        let f = finding("mainnet", "v8.0.0");
        let mut closed = pull(8, "v8.0.0", "upstream");
        closed.state = PullState::Closed;
        let mut merged = pull(2, "v7.1.0", "upstream");
        merged.state = PullState::Merged;
        let open = pull(1, "v7.1.0", "upstream");
        assert_eq!(pull_for(std::slice::from_ref(&closed), &f), None);
        assert!(skipped(std::slice::from_ref(&closed), &f));
        let all = [closed.clone(), merged.clone(), open.clone()];
        assert_eq!(pull_for(&all, &f).map(|p| p.number), Some(1), "open first");
        assert!(
            skipped(&all, &f),
            "v8.0.0 was closed; older PRs do not count"
        );
        let mut reopened = pull(9, "v8.0.0", "upstream");
        reopened.state = PullState::Open;
        assert!(!skipped(&[closed, reopened], &f));
        assert!(!skipped(&[merged, open], &f), "nothing closed");
    }

    #[test]
    fn a_digest_never_breaks_the_limits_and_counts_what_it_leaves_out() {
        let templates = SlackTemplates::builtin().unwrap();
        let findings: Vec<Finding> = (0..300)
            .map(|i| {
                let mut f = finding(&"e".repeat(400), "v8.0.0");
                f.file = format!("f{i}.yaml");
                f.image = format!("img{i}/{}", "&<>".repeat(100));
                f
            })
            .collect();
        let report = CheckReport {
            findings,
            ..CheckReport::default()
        };
        let slack = Slack::default();
        let (held, local) = (BTreeMap::new(), BTreeSet::new());
        let inputs = Inputs {
            report: &report,
            slack: &slack,
            pulls: &[],
            ignore: &[],
            held: &held,
            local: &local,
            readiness: &[],
            now: now(),
        };
        let channels = channels(&slack, &HashMap::new());
        let what = What {
            digest: true,
            alerts: false,
        };
        let m = compose(&inputs, &channels, &templates, what, &|_, _| {
            BTreeSet::new()
        })
        .unwrap();
        let p = &m[0].payload;
        assert!(p.check_limits().is_ok(), "{:?}", p.check_limits());
        let shown = p
            .blocks
            .iter()
            .flat_map(Block::texts)
            .map(|t| t.matches("• ").count())
            .sum::<usize>();
        let last = p.blocks.last().unwrap().texts()[0].to_string();
        assert!(
            last.contains(&format!("…and {} more not shown (", 300 - shown)),
            "{last}"
        );
    }

    #[test]
    fn reminders_pick_the_smallest_threshold_reached_and_record_all() {
        let templates = SlackTemplates::builtin().unwrap();
        let mut f = finding("mainnet", "v8.0.0");
        let at = now() + chrono::Duration::hours(20);
        f.deadline = Some(Deadline {
            fork: "Fusaka".into(),
            network: "mainnet".into(),
            at,
            release: None,
        });
        let report = CheckReport {
            findings: vec![f.clone()],
            ..CheckReport::default()
        };
        let slack = Slack::default();
        let (held, local) = (BTreeMap::new(), BTreeSet::new());
        let inputs = Inputs {
            report: &report,
            slack: &slack,
            pulls: &[],
            ignore: &[],
            held: &held,
            local: &local,
            readiness: &[],
            now: now(),
        };
        let channels = channels(&slack, &HashMap::new());
        let what = What {
            digest: false,
            alerts: true,
        };
        let m = compose(&inputs, &channels, &templates, what, &|_, _| {
            BTreeSet::new()
        })
        .unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].kind, Kind::Reminder);
        let d = f.deadline.clone().unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(
            m[0].keys,
            [reminder_key(&f, &d, 7 * day), reminder_key(&f, &d, day)]
        );
        // the 1-day reminder was sent: nothing more for this deadline
        let sent = reminder_key(&f, &d, day);
        let again = compose(&inputs, &channels, &templates, what, &|_, keys| {
            keys.iter().filter(|k| **k == sent).cloned().collect()
        })
        .unwrap();
        assert!(again.is_empty());
    }
}
