//! `notify`: the Slack digest, alerts and reminders as I/O. The messages
//! are composed by the pure [`crate::domain::notify`]; this module lists
//! upkeep's pull requests they mention (open, merged, closed: skipped), remembers in the store what was
//! sent, and delivers through [`crate::io::slack`].

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::app::context::Context;
use crate::app::publish::Listing;
use crate::domain::evaluate::CheckReport;
use crate::domain::notify::{
    Channel, Inputs, Kind, Message, Pull, PullState, SlackTemplates, TemplateError, WEBHOOK_VAR,
    What, compose, held_reasons, unrouted,
};
use crate::domain::render::parse_fingerprint;
use crate::domain::repo::RepoName;
use crate::domain::settings::RepoSource;
use crate::io::forge::Forge;
use crate::io::slack::{DeliveryError, Sender};
use crate::io::store::Store;

/// One message's fate.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub channel: String,
    pub kind: Kind,
    pub subject: String,
    /// The webhook's host, when the channel has a usable webhook.
    pub host: Option<String>,
    /// HTTP attempts made (0 when none could be made).
    pub attempts: u32,
    pub error: Option<DeliveryError>,
}

/// What [`run`] did.
#[derive(Clone, Debug, Default)]
pub struct NotifyReport {
    pub messages: Vec<Message>,
    /// Empty on a dry run.
    pub deliveries: Vec<Delivery>,
    /// Problems that did not stop anything (pull requests not listed, the
    /// state store unreadable, findings no channel takes).
    pub warnings: Vec<String>,
}

impl NotifyReport {
    /// Messages that did not reach their channel.
    pub fn failed(&self) -> usize {
        self.deliveries.iter().filter(|d| d.error.is_some()).count()
    }
}

/// upkeep's pull requests (open, merged and closed, with fingerprints) of
/// the GitHub repositories among `repositories`, read as `upkeep run` reads
/// them ([`Listing`]: every open one and the newest in any state); a
/// repository whose list fails becomes a warning.
pub async fn known_pulls(
    forge: &Forge,
    repositories: &BTreeSet<String>,
) -> (Vec<Pull>, Vec<String>) {
    let mut pulls = Vec::new();
    let mut warnings = Vec::new();
    for name in repositories {
        let Ok(repo) = name.parse::<RepoName>() else {
            continue;
        };
        let listing = match Listing::read(forge, &repo, crate::app::check::PULL_PAGES).await {
            Ok(l) => l,
            Err(e) => {
                warnings.push(format!("{e}; the digest links no pull request of {name}"));
                continue;
            }
        };
        let mut seen = BTreeSet::new();
        for p in listing.open.into_iter().chain(listing.recent) {
            if !seen.insert(p.number) {
                continue;
            }
            let Some(fingerprint) = p.body.as_deref().and_then(parse_fingerprint) else {
                continue;
            };
            // Its branch must live in this repository: a fork's pull
            // request with a copied fingerprint is not upkeep's.
            let same_repo = p
                .head
                .repo
                .as_ref()
                .is_some_and(|r| r.full_name.eq_ignore_ascii_case(name));
            if !fingerprint.repo.eq_ignore_ascii_case(name) || !same_repo {
                continue;
            }
            let state = match (p.merged_at.is_some(), p.is_open()) {
                (true, _) => PullState::Merged,
                (false, true) => PullState::Open,
                (false, false) => PullState::Closed,
            };
            pulls.push(Pull {
                number: p.number,
                url: p.html_url,
                state,
                fingerprint,
            });
        }
    }
    (pulls, warnings)
}

/// One notification pass over a check report: compose, then (with a
/// sender) send and record. Without a sender (a dry run) nothing is sent
/// or recorded.
pub async fn run(
    ctx: &Context,
    report: &CheckReport,
    channels: &[Channel],
    templates: &SlackTemplates,
    sender: Option<&Sender>,
    what: What,
    now: DateTime<Utc>,
) -> Result<NotifyReport, TemplateError> {
    let mut github = BTreeSet::new();
    let mut local = BTreeSet::new();
    for r in crate::app::check::configured_repositories(&ctx.settings) {
        match &r.source {
            RepoSource::GitHub { .. } => github.insert(r.source.to_string()),
            RepoSource::Path(_) => local.insert(r.source.to_string()),
        };
    }
    github.retain(|g| report.findings.iter().any(|f| &f.repository == g));
    let (pulls, mut warnings) = known_pulls(&ctx.forge, &github).await;
    let held = held_reasons(report, &ctx.settings, now);
    let inventory = crate::app::inventory::build(ctx, report, now);
    let readiness = crate::app::readiness::build(ctx, &inventory, report, now);
    let inputs = Inputs {
        report,
        slack: &ctx.settings.slack,
        pulls: &pulls,
        ignore: &ctx.settings.pull_requests.ignore,
        held: &held,
        local: &local,
        readiness: &readiness.rows,
        now,
    };
    let store_warning = std::sync::Mutex::new(None::<String>);
    let sent = |channel: &str, keys: &[String]| match ctx.store.slack_sent(channel, keys) {
        Ok(s) => s,
        Err(e) => {
            *store_warning.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(format!("{e}; alerts and reminders may repeat"));
            BTreeSet::new()
        }
    };
    let messages = compose(&inputs, channels, templates, what, &sent)?;
    warnings.extend(
        store_warning
            .into_inner()
            .unwrap_or_else(|p| p.into_inner()),
    );
    let lost = unrouted(report, channels);
    if lost > 0 {
        warnings.push(format!(
            "{lost} pending upgrade(s) match no slack route and {WEBHOOK_VAR} is not set: no message lists them"
        ));
    }
    let mut out = NotifyReport {
        messages,
        deliveries: Vec::new(),
        warnings,
    };
    if let Some(sender) = sender {
        let (deliveries, more) =
            deliver(&out.messages, channels, sender, Some(&ctx.store), now).await;
        out.deliveries = deliveries;
        out.warnings.extend(more);
    }
    Ok(out)
}

/// Sends every message to its channel, one after the other, and records
/// the keys of those that arrived in `store`. Returns one [`Delivery`] per
/// message and warnings (the store could not record).
pub async fn deliver(
    messages: &[Message],
    channels: &[Channel],
    sender: &Sender,
    store: Option<&Store>,
    now: DateTime<Utc>,
) -> (Vec<Delivery>, Vec<String>) {
    let mut deliveries = Vec::new();
    let mut warnings = Vec::new();
    for m in messages {
        let Some(channel) = channels.iter().find(|c| c.name == m.channel) else {
            continue;
        };
        let mut d = Delivery {
            channel: m.channel.clone(),
            kind: m.kind,
            subject: m.subject.clone(),
            host: channel.host().map(str::to_string),
            attempts: 0,
            error: None,
        };
        // A store shared by replicas: claim the keys first, so that only
        // one replica sends (and give them back if the message is lost).
        let shared =
            store.filter(|s| s.is_shared() && !m.keys.is_empty() && channel.webhook.is_ok());
        let mut claimed = Vec::new();
        if let Some(store) = shared {
            match store.claim_slack(&m.channel, &m.keys, now) {
                Ok(keys) if keys.is_empty() => {
                    tracing::info!(channel = %m.channel, kind = m.kind.as_str(), subject = %m.subject, "already sent (another replica)");
                    continue;
                }
                Ok(keys) => claimed = keys.into_iter().collect(),
                Err(e) => warnings.push(format!("{e}; this {} may be sent twice", m.kind.as_str())),
            }
        }
        match &channel.webhook {
            Err(e) => d.error = Some(e.clone()),
            Ok(webhook) => match sender.send(webhook, &m.payload).await {
                Ok(attempts) => {
                    d.attempts = attempts;
                    if let (Some(store), false, None) = (store, m.keys.is_empty(), shared)
                        && let Err(e) = store.record_slack_sent(&m.channel, &m.keys, now)
                    {
                        warnings.push(format!("{e}; this {} may be sent again", m.kind.as_str()));
                    }
                }
                Err(e) => {
                    d.attempts = match &e {
                        DeliveryError::RateLimited { attempts, .. }
                        | DeliveryError::Server { attempts, .. }
                        | DeliveryError::Unreachable { attempts, .. } => *attempts,
                        _ => 1,
                    };
                    tracing::warn!(channel = %m.channel, kind = m.kind.as_str(), error = %e, "Slack message not delivered");
                    if let (Some(store), false) = (shared, claimed.is_empty())
                        && let Err(e) = store.unclaim_slack(&m.channel, &claimed, now)
                    {
                        warnings.push(format!("{e}; this {} will not be retried", m.kind.as_str()));
                    }
                    d.error = Some(e);
                }
            },
        }
        deliveries.push(d);
    }
    (deliveries, warnings)
}
