//! The one serial worker of `upkeep serve`: it takes [`Job`]s from the
//! queue one at a time (so no two passes race on a branch or a pull
//! request) and feeds them to [`pipeline::run`], the function `upkeep run`
//! calls.
//!
//! In App mode the repositories are those of the settings plus every
//! repository of every installation (discovered at start and learnt from
//! `installation` webhooks); each pass runs per owner, with that owner's
//! installation token as the git password. An installed repository the
//! settings do not list is worked on only once `.github/upkeep.yml` is on
//! its base branch; until then it gets its one onboarding pull request
//! ([`crate::app::onboard`]) and nothing else.
//!
//! Slack: after each scheduled poll the worker sends the alerts and
//! reminders due (what `upkeep notify --only alerts` sends, de-duplicated
//! through the state store); a [`Job::Digest`] (on `slack.digest`) sends
//! what `upkeep notify` sends, from the latest poll's check (or a fresh
//! check when that one is older than [`Worker::digest_max_age`]). A Slack
//! failure is logged and counted, never more. After each pass the
//! inventory and rollout gauges of `/metrics` are refreshed from its check,
//! and [`Worker::wake`] is told when a pending wave of a rollout next may
//! open (a window opens, a soak ends), so that `serve` runs a pass then,
//! between its polls.

use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::metrics::Metrics;
use crate::app::context::Context;
use crate::app::notify;
use crate::app::onboard;
use crate::app::pipeline::{self, Mode};
use crate::domain::catalog::Catalog;
use crate::domain::evaluate::CheckReport;
use crate::domain::inventory::{self, Entry, Inventory};
use crate::domain::notify::{Channel, SlackTemplates, What};
use crate::domain::render::Templates;
use crate::domain::repo::RepoName;
use crate::domain::rollout::decide::UpstreamRollout;
use crate::domain::rollout::wake::next_wake_up;
use crate::domain::settings::{RepoSource, Repository, Settings};
use crate::io::forge::Forge;
use crate::io::slack::{SendOptions, Sender};
use crate::io::store::Store;

/// Work for the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// Learn the app's installations and their repositories (App mode).
    Discover,
    /// A scheduled pass over every known repository.
    Poll,
    /// The scheduled Slack digest (with alerts and reminders due).
    Digest,
    /// Plan and publish these repositories now (`installation`, `push`,
    /// `@upkeep recheck`).
    Repos {
        repos: Vec<RepoName>,
        reason: String,
    },
    /// One of upkeep's pull requests was merged.
    Merged {
        repo: RepoName,
        number: u64,
        branch: String,
    },
    /// `@upkeep ignore`: close the pull request, so its version is skipped.
    Ignore {
        repo: RepoName,
        number: u64,
        user: String,
    },
    /// `@upkeep rollback`: open a pull request undoing this merged one.
    Rollback {
        repo: RepoName,
        number: u64,
        user: String,
    },
    /// Shared store: run the passes requested (by any replica) that no
    /// replica runs, one repository at a time.
    Claim,
}

/// A per-repository job of a webhook as kept in the shared store until
/// done (`repo_task`): what another replica needs to redo it when the one
/// running it dies. Each is safe to redo: a merged pull request is
/// recorded by its number, a rollback pull request is found again by the
/// pull request it undoes, closing a closed pull request changes nothing.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Durable {
    Merged {
        number: u64,
        branch: String,
    },
    Ignore {
        number: u64,
        user: String,
    },
    Rollback {
        number: u64,
        user: String,
    },
    /// The repository came with an installation: learn it, run a pass.
    Installed {
        installation: Option<u64>,
    },
}

impl Durable {
    /// The jobs of `job` to keep, per repository: `(repository, key,
    /// payload)`; empty for jobs that are not per repository (or passes,
    /// which `repo_job` keeps).
    pub fn of(job: &Job, installation: Option<u64>) -> Vec<(String, String, String)> {
        let (repos, durable): (Vec<&RepoName>, Durable) = match job {
            Job::Merged {
                repo,
                number,
                branch,
            } => (
                vec![repo],
                Durable::Merged {
                    number: *number,
                    branch: branch.clone(),
                },
            ),
            Job::Ignore { repo, number, user } => (
                vec![repo],
                Durable::Ignore {
                    number: *number,
                    user: user.clone(),
                },
            ),
            Job::Rollback { repo, number, user } => (
                vec![repo],
                Durable::Rollback {
                    number: *number,
                    user: user.clone(),
                },
            ),
            Job::Repos { repos, reason } if reason == "installation" => {
                (repos.iter().collect(), Durable::Installed { installation })
            }
            _ => return Vec::new(),
        };
        let payload = serde_json::to_string(&durable).unwrap_or_default();
        repos
            .into_iter()
            .map(|r| (r.to_string(), durable.key(), payload.clone()))
            .collect()
    }

    /// Names the job within its repository: asking again while it is
    /// pending coalesces.
    fn key(&self) -> String {
        match self {
            Durable::Merged { number, .. } => format!("merged#{number}"),
            Durable::Ignore { number, .. } => format!("ignore#{number}"),
            Durable::Rollback { number, .. } => format!("rollback#{number}"),
            Durable::Installed { .. } => "installed".into(),
        }
    }
}

/// The worker's world: the pipeline context's parts, and what it learnt.
pub struct Worker {
    pub settings: Settings,
    pub catalog: Catalog,
    pub forge: Arc<Forge>,
    pub store: Arc<Store>,
    pub git_token: Option<String>,
    pub cache_dir: PathBuf,
    pub registry: Option<Arc<crate::io::registry::Registry>>,
    pub prometheus: Option<Arc<crate::io::prometheus::Prometheus>>,
    pub engine: Option<Arc<crate::domain::rules::Engine>>,
    pub templates: Templates,
    pub metrics: Arc<Metrics>,
    /// Set once the app's installations are known (at once in token mode).
    pub ready: Arc<AtomicBool>,
    /// Cleared when a scheduled poll starts, so that ticks do not pile up.
    pub poll_queued: Arc<AtomicBool>,
    /// Cleared when a scheduled digest starts.
    pub digest_queued: Arc<AtomicBool>,
    /// Repositories with a pass queued and not started: a trigger for one
    /// of them is absorbed by the queued pass (500 pushes run one pass).
    pub queued_repos: Arc<std::sync::Mutex<BTreeSet<RepoName>>>,
    /// A digest older than this runs a check of its own.
    pub digest_max_age: Duration,
    /// Repositories of the app's installations.
    known: BTreeSet<RepoName>,
    /// Where messages go; `None` when no channel has a usable webhook.
    slack: Option<Slack>,
    /// The check of the latest pass over every repository, and when.
    latest: Option<(DateTime<Utc>, CheckReport)>,
    /// The inventory per repository, from its latest pass.
    inventory: BTreeMap<String, Vec<Entry>>,
    /// The fork readiness rows per repository, from its latest pass.
    readiness: BTreeMap<String, Vec<crate::domain::readiness::Row>>,
    /// The rollouts in flight per repository, from its latest pass.
    rollouts: BTreeMap<String, Vec<UpstreamRollout>>,
    /// When a pending wave next may open (`None`: no such time known);
    /// `serve` queues a pass then.
    pub wake: watch::Sender<Option<DateTime<Utc>>>,
    /// Set when the store is shared with other replicas: passes then run
    /// under a lease on each repository ([`super::replicas`]).
    pub shared: Option<Arc<super::replicas::Shared>>,
}

struct Slack {
    channels: Vec<Channel>,
    templates: SlackTemplates,
    sender: Sender,
}

impl Slack {
    /// The channels of the settings and environment, when one is usable.
    fn from_env(settings: &Settings) -> Option<Slack> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let channels = crate::domain::notify::channels(&settings.slack, &env);
        let usable = channels.iter().any(|c| c.webhook.is_ok());
        if !usable {
            if settings.slack.digest.is_some() {
                tracing::warn!(
                    "slack.digest is set but no Slack webhook is usable (set {}): no digest will be sent",
                    crate::domain::notify::WEBHOOK_VAR
                );
            }
            return None;
        }
        for c in channels.iter().filter(|c| c.webhook.is_err()) {
            if let Err(e) = &c.webhook {
                tracing::warn!(channel = %c.name, error = %e, "slack channel unusable");
            }
        }
        let templates = match SlackTemplates::builtin() {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "slack templates unusable: no Slack messages");
                return None;
            }
        };
        let sender = match Sender::new(SendOptions::default()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "no Slack client: no Slack messages");
                return None;
            }
        };
        Some(Slack {
            channels,
            templates,
            sender,
        })
    }
}

/// Reports of disjoint sets of repositories as one.
fn merge(into: &mut CheckReport, other: CheckReport) {
    into.findings.extend(other.findings);
    into.up_to_date += other.up_to_date;
    into.unchecked.extend(other.unchecked);
    for f in other.failures {
        if !into.failures.contains(&f) {
            into.failures.push(f);
        }
    }
    into.problems.extend(other.problems);
    for w in other.warnings {
        if !into.warnings.contains(&w) {
            into.warnings.push(w);
        }
    }
    into.releases.extend(other.releases);
    into.rollouts.extend(other.rollouts);
    into.rollout_alerts.extend(other.rollout_alerts);
    into.pulls.extend(other.pulls);
    into.live.extend(other.live);
}

impl Worker {
    pub fn new(ctx: Context, templates: Templates, metrics: Arc<Metrics>) -> Worker {
        let ready = Arc::new(AtomicBool::new(!ctx.forge.is_app()));
        let slack = Slack::from_env(&ctx.settings);
        Worker {
            settings: ctx.settings,
            catalog: ctx.catalog,
            forge: ctx.forge,
            store: ctx.store,
            git_token: ctx.git_token,
            cache_dir: ctx.cache_dir,
            registry: ctx.registry,
            prometheus: ctx.prometheus,
            engine: ctx.engine,
            templates,
            metrics,
            ready,
            poll_queued: Arc::new(AtomicBool::new(false)),
            digest_queued: Arc::new(AtomicBool::new(false)),
            queued_repos: Arc::default(),
            digest_max_age: Duration::from_secs(15 * 60),
            known: BTreeSet::new(),
            slack,
            latest: None,
            inventory: BTreeMap::new(),
            readiness: BTreeMap::new(),
            rollouts: BTreeMap::new(),
            wake: watch::Sender::new(None),
            shared: None,
        }
    }

    /// Does one job to the end. Failures are logged and counted; the worker
    /// goes on with the next job.
    pub async fn handle(&mut self, job: Job, now: DateTime<Utc>) {
        if job == Job::Claim {
            tracing::debug!(?job, "job started");
        } else {
            tracing::info!(?job, "job started");
        }
        match job {
            Job::Discover => self.discover().await,
            Job::Poll => {
                self.poll_queued.store(false, Ordering::SeqCst);
                let all = self.all_repositories();
                let report = self.run_repositories(all, Pass::Publish, now).await;
                if let Some(report) = report {
                    let what = What {
                        digest: false,
                        alerts: true,
                    };
                    self.notify(&report, what, now).await;
                    self.latest = Some((now, report));
                }
            }
            Job::Digest => {
                self.digest_queued.store(false, Ordering::SeqCst);
                self.digest(now).await;
            }
            Job::Repos { repos, reason } => {
                tracing::info!(%reason, count = repos.len(), "planning repositories");
                // From now on a new trigger needs a new pass.
                {
                    let mut queued = self.queued_repos.lock().unwrap_or_else(|e| e.into_inner());
                    for r in &repos {
                        queued.remove(r);
                    }
                }
                let mut chosen = Vec::new();
                for repo in repos {
                    if self.forge.is_app() {
                        self.known.insert(repo.clone());
                    }
                    if let Some(r) = self.repository(&repo) {
                        chosen.push(r);
                    } else {
                        tracing::info!(%repo, "not a configured repository; ignored");
                    }
                }
                self.run_repositories(chosen, Pass::Publish, now).await;
            }
            Job::Merged {
                repo,
                number,
                branch,
            } => self.merged(&repo, number, &branch, now),
            Job::Rollback { repo, number, user } => self.rollback(repo, number, user, now).await,
            Job::Claim => self.claim_passes(now).await,
            Job::Ignore { repo, number, user } => self.ignore(&repo, number, &user).await,
        }
        self.metrics.sync_forge(&self.forge);
    }

    /// Records that upkeep's pull request `number` was merged.
    fn merged(&self, repo: &RepoName, number: u64, branch: &str, now: DateTime<Utc>) {
        match self
            .store
            .record_merged(&repo.to_string(), number, branch, now)
        {
            Ok(()) => self.metrics.pull("merged"),
            Err(e) => {
                self.metrics.error();
                tracing::warn!(%repo, number, error = %e, "cannot record a merged pull request");
            }
        }
    }

    /// `@upkeep ignore`: says why, and closes the pull request.
    async fn ignore(&self, repo: &RepoName, number: u64, user: &str) {
        let text = format!(
            "Closed at @{user}'s request (`@upkeep ignore`): upkeep will not propose this version again."
        );
        let closed = async {
            self.forge.comment(repo, number, &text).await?;
            self.forge
                .update_pull(repo, number, None, None, Some("closed"))
                .await
        }
        .await;
        match closed {
            Ok(_) => self.metrics.pull("ignored"),
            Err(e) => {
                self.metrics.error();
                tracing::warn!(%repo, number, error = %e, "cannot close an ignored pull request");
            }
        }
    }

    /// Runs one job kept in the shared store; whether it asks for a pass
    /// (an installed repository).
    async fn durable(&mut self, repo: &RepoName, job: Durable, now: DateTime<Utc>) -> bool {
        tracing::info!(%repo, ?job, "job started");
        match job {
            Durable::Merged { number, branch } => self.merged(repo, number, &branch, now),
            Durable::Ignore { number, user } => self.ignore(repo, number, &user).await,
            Durable::Rollback { number, user } => {
                self.rollback(repo.clone(), number, user, now).await
            }
            Durable::Installed { installation } => {
                if self.forge.is_app() {
                    if let Some(id) = installation {
                        self.forge.remember_installation(&repo.owner, id);
                    }
                    self.known.insert(repo.clone());
                }
                return true;
            }
        }
        tracing::info!(%repo, "job done");
        false
    }

    /// Runs the passes requested through the shared store that no replica
    /// runs, until none is left.
    async fn claim_passes(&mut self, now: DateTime<Utc>) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        shared.claim_queued.store(false, Ordering::SeqCst);
        // The leases taken here live while this replica does.
        let _heartbeat = shared.heartbeat();
        loop {
            let lease = match shared.claim().await {
                Ok(Some(lease)) => lease,
                Ok(None) => break,
                Err(e) => {
                    self.metrics.error();
                    tracing::warn!(error = %e, "cannot claim a pass");
                    break;
                }
            };
            if lease.pass {
                tracing::info!(repository = %lease.repository, reason = ?lease.reason, "pass claimed");
            } else {
                tracing::info!(repository = %lease.repository, "jobs claimed");
            }
            let repo = lease
                .repository
                .split_once('/')
                .map(|(owner, name)| RepoName::new(owner, name));
            let mut pass = lease.pass;
            // The webhooks' other jobs first, each marked done once done.
            let tasks = match shared.tasks(lease.repository.clone()).await {
                Ok(t) => t,
                Err(e) => {
                    self.metrics.error();
                    tracing::warn!(repository = %lease.repository, error = %e, "cannot read the jobs pending");
                    Vec::new()
                }
            };
            for task in tasks {
                match (&repo, serde_json::from_str::<Durable>(&task.payload)) {
                    (Some(r), Ok(job)) => pass |= self.durable(r, job, now).await,
                    (_, Err(e)) => {
                        self.metrics.error();
                        tracing::warn!(repository = %task.repository, key = %task.key, error = %e, "unreadable job; dropped");
                    }
                    (None, _) => {}
                }
                shared.task_done(task).await;
            }
            if !pass {
                shared.release(vec![lease]).await;
                continue;
            }
            match repo.as_ref().and_then(|r| self.repository(r)) {
                Some(chosen) => {
                    if let (Some(r), true) = (&repo, self.forge.is_app()) {
                        self.known.insert(r.clone());
                    }
                    self.run_repositories(vec![chosen], Pass::Publish, now)
                        .await;
                }
                None => {
                    tracing::info!(repository = %lease.repository, "not a configured repository; ignored")
                }
            }
            shared.release(vec![lease]).await;
        }
    }

    /// `@upkeep rollback` on pull request `number`: a check of its
    /// repository, then the rollback pull request, and a comment that links
    /// it (or says why there is none).
    async fn rollback(&mut self, repo: RepoName, number: u64, user: String, now: DateTime<Utc>) {
        let Some(settings) = self.repository(&repo) else {
            tracing::info!(%repo, "not a configured repository; rollback ignored");
            return;
        };
        let git_token = if self.forge.is_app() {
            self.forge.git_token(&repo).await.ok().flatten()
        } else {
            self.git_token.clone()
        };
        let ctx = self.context(vec![settings], git_token);
        let report = crate::app::check::run(&ctx, now, &|_| {}).await;
        let evidence = format!(
            "requested by @{user} with `@upkeep rollback` at {}",
            now.format("%Y-%m-%d %H:%M UTC")
        );
        let text =
            match crate::app::rollback::of_pull(&report, &repo.to_string(), number, &evidence) {
                None => {
                    "`@upkeep rollback`: only a merged pull request of upkeep's can be rolled back."
                        .to_string()
                }
                Some(req) => match crate::app::rollback::open(&ctx, &report, &req).await {
                    Ok(opened) => {
                        self.metrics.pull("rolled-back");
                        format!("Rollback opened at @{user}'s request: #{}.", opened.number)
                    }
                    Err(e) => {
                        self.metrics.error();
                        tracing::warn!(%repo, number, error = %e, "rollback failed");
                        format!("`@upkeep rollback` failed: {e}")
                    }
                },
            };
        if let Err(e) = self.forge.comment(&repo, number, &text).await {
            tracing::warn!(%repo, number, error = %e, "cannot comment on a rollback request");
        }
    }

    /// The digest, alerts and reminders due, from the latest poll's check
    /// when it is recent enough, else from a check made now.
    async fn digest(&mut self, now: DateTime<Utc>) {
        if self.slack.is_none() {
            tracing::info!("no usable Slack webhook: digest skipped");
            return;
        }
        let max_age = self.digest_max_age;
        let recent = self.latest.take().filter(|(at, _)| {
            now.signed_duration_since(*at)
                .to_std()
                .map_or(true, |age| age <= max_age)
        });
        let report = match recent {
            Some(latest) => Some(latest),
            None => {
                let all = self.all_repositories();
                self.run_repositories(all, Pass::Check, now)
                    .await
                    .map(|r| (now, r))
            }
        };
        if let Some((at, report)) = report {
            self.notify(&report, What::default(), now).await;
            self.latest = Some((at, report));
        }
    }

    /// App mode: every installation and its repositories.
    async fn discover(&mut self) {
        if !self.forge.is_app() {
            self.ready.store(true, Ordering::SeqCst);
            return;
        }
        let installations = match self.forge.installations().await {
            Ok(i) => i,
            Err(e) => {
                self.metrics.error();
                tracing::warn!(error = %e, "cannot list the app's installations");
                return;
            }
        };
        let mut known = BTreeSet::new();
        for installation in &installations {
            match self.forge.installation_repositories(installation.id).await {
                Ok(repos) => known.extend(repos),
                Err(e) => {
                    self.metrics.error();
                    tracing::warn!(installation = installation.id, error = %e, "cannot list an installation's repositories");
                }
            }
        }
        tracing::info!(
            installations = installations.len(),
            repositories = known.len(),
            "installations discovered"
        );
        self.known.extend(known);
        self.ready.store(true, Ordering::SeqCst);
    }

    /// The settings' repositories, then the installations' others.
    fn all_repositories(&self) -> Vec<Repository> {
        let mut out = self.settings.repositories.clone();
        for repo in &self.known {
            if self.configured(repo).is_none() {
                out.push(crate::app::onboard::default_repository(repo));
            }
        }
        out
    }

    fn configured(&self, repo: &RepoName) -> Option<&Repository> {
        self.settings.repositories.iter().find(|r| match &r.source {
            RepoSource::GitHub { owner, name } => {
                owner.eq_ignore_ascii_case(&repo.owner) && name.eq_ignore_ascii_case(&repo.name)
            }
            RepoSource::Path(_) => false,
        })
    }

    /// The repository as configured, or with defaults when the app is
    /// installed on it; `None` for a repository upkeep does not manage.
    fn repository(&self, repo: &RepoName) -> Option<Repository> {
        self.configured(repo).cloned().or_else(|| {
            self.known
                .contains(repo)
                .then(|| crate::app::onboard::default_repository(repo))
        })
    }

    /// One pass per owner (one installation token each): the pipeline
    /// (plan and publish) or only a check. Refreshes the inventory of the
    /// repositories looked at; returns the check of them all (`None` when
    /// there was nothing to look at).
    async fn run_repositories(
        &mut self,
        repos: Vec<Repository>,
        pass: Pass,
        now: DateTime<Utc>,
    ) -> Option<CheckReport> {
        if repos.is_empty() {
            return None;
        }
        // Shared store: only repositories no other replica is running a
        // pass of, leased (and the leases renewed) until done.
        let shared = self.shared.clone();
        let (repos, leases, _heartbeat) = match &shared {
            None => (repos, Vec::new(), None),
            Some(shared) => {
                let names = repos.iter().map(|r| r.source.to_string()).collect();
                let (leases, busy) = shared.lock(names).await;
                for name in &busy {
                    tracing::info!(repository = %name, "another replica is running a pass of it; skipped");
                }
                let repos: Vec<Repository> = repos
                    .into_iter()
                    .filter(|r| {
                        let name = r.source.to_string();
                        leases.iter().any(|l| l.repository == name)
                    })
                    .collect();
                (repos, leases, Some(shared.heartbeat()))
            }
        };
        let all = self.run_groups(repos, pass, now).await;
        if let Some(shared) = &shared {
            shared.release(leases).await;
        }
        all
    }

    /// Repositories the App is installed on that the settings do not list
    /// go on only once `.github/upkeep.yml` is on their base branch; until
    /// then a publishing pass opens their one onboarding pull request
    /// ([`crate::app::onboard`]) and nothing else happens there.
    async fn onboarding_gate(
        &mut self,
        repos: Vec<Repository>,
        pass: Pass,
        now: DateTime<Utc>,
    ) -> Vec<Repository> {
        let mut out = Vec::new();
        for r in repos {
            let full = match &r.source {
                RepoSource::GitHub { owner, name } => RepoName::new(owner, name),
                RepoSource::Path(_) => {
                    out.push(r);
                    continue;
                }
            };
            if !self.forge.is_app() || self.configured(&full).is_some() {
                out.push(r);
                continue;
            }
            let git_token = match self.forge.git_token(&full).await {
                Ok(t) => t,
                Err(e) => {
                    self.metrics.error();
                    tracing::warn!(repository = %full, error = %e, "no installation token");
                    continue;
                }
            };
            let ctx = self.context(vec![r.clone()], git_token);
            let open = pass == Pass::Publish;
            match onboard::onboard(&ctx, &self.templates, &full, open, now).await {
                Ok(onboard::Status::Configured) => out.push(r),
                Ok(onboard::Status::Waiting(why)) => {
                    tracing::info!(repository = %full, %why, "not configured yet: nothing done until .github/upkeep.yml is merged");
                }
                Ok(onboard::Status::Opened { number, url }) => {
                    self.metrics.pull("onboarding");
                    tracing::info!(repository = %full, number, %url, "onboarding pull request opened");
                }
                Err(e) => {
                    self.metrics.error();
                    tracing::warn!(repository = %full, error = %e, "onboarding failed");
                }
            }
        }
        out
    }

    /// [`Worker::run_repositories`] once the repositories are chosen.
    async fn run_groups(
        &mut self,
        repos: Vec<Repository>,
        pass: Pass,
        now: DateTime<Utc>,
    ) -> Option<CheckReport> {
        if repos.is_empty() {
            return None;
        }
        let mut groups: BTreeMap<String, Vec<Repository>> = BTreeMap::new();
        for r in repos {
            let owner = match &r.source {
                RepoSource::GitHub { owner, .. } if self.forge.is_app() => {
                    owner.to_ascii_lowercase()
                }
                _ => String::new(),
            };
            groups.entry(owner).or_default().push(r);
        }
        let mut all: Option<CheckReport> = None;
        for (_, group) in groups {
            if let Some((scope, remaining, reset)) = self.short_of_budget(&group[0]).await {
                self.metrics.postponed();
                tracing::warn!(
                    %scope,
                    remaining,
                    reserve = rate_reserve(),
                    resets_at = %reset.format("%Y-%m-%d %H:%M:%S UTC"),
                    repositories = group.len(),
                    "GitHub rate budget below the reserve: pass postponed until the reset"
                );
                continue;
            }
            let group = self.onboarding_gate(group, pass, now).await;
            if group.is_empty() {
                continue;
            }
            let git_token = match (&group[0].source, self.forge.is_app()) {
                (RepoSource::GitHub { owner, name }, true) => {
                    match self.forge.git_token(&RepoName::new(owner, name)).await {
                        Ok(t) => t,
                        Err(e) => {
                            self.metrics.error();
                            tracing::warn!(repository = %group[0].source, error = %e, "no installation token");
                            continue;
                        }
                    }
                }
                _ => self.git_token.clone(),
            };
            let names: Vec<String> = group.iter().map(|r| r.source.to_string()).collect();
            tracing::info!(repositories = ?names, at_ms = Utc::now().timestamp_millis(), "pass started");
            let ctx = self.context(group, git_token);
            let check = match pass {
                Pass::Publish => {
                    let report =
                        pipeline::run(&ctx, &self.templates, Mode::Publish, now, &|_| {}).await;
                    for f in report.check.failures.iter().chain(&report.failures) {
                        tracing::warn!(subject = %f.subject, error = %f.error, "failed");
                    }
                    tracing::info!(
                        repositories = ?names,
                        outcomes = report.outcomes.len(),
                        closed = report.closed.len(),
                        at_ms = Utc::now().timestamp_millis(),
                        "pass done"
                    );
                    self.metrics.record_run(&report, &names, now);
                    report.check
                }
                Pass::Check => {
                    let report = crate::app::check::run(&ctx, now, &|_| {}).await;
                    for f in &report.failures {
                        tracing::warn!(subject = %f.subject, error = %f.error, "failed");
                    }
                    tracing::info!(repositories = ?names, findings = report.findings.len(), at_ms = Utc::now().timestamp_millis(), "check done");
                    report
                }
            };
            self.refresh_inventory(&ctx, &check, &names, now).await;
            self.refresh_rollouts(&check, &names, now);
            match &mut all {
                Some(all) => merge(all, check),
                None => all = Some(check),
            }
        }
        all
    }

    /// The scope of `repo` (its installation in App mode, else the token)
    /// with the budget GitHub last reported, when that is below the reserve
    /// (`UPKEEP_GITHUB_RATE_RESERVE`) and not reset yet: a pass would eat
    /// into what webhooks and commands need, or run dry halfway.
    async fn short_of_budget(
        &self,
        repo: &Repository,
    ) -> Option<(crate::io::forge::Scope, u64, DateTime<Utc>)> {
        let RepoSource::GitHub { owner, name } = &repo.source else {
            return None;
        };
        let scope = self
            .forge
            .scope_of(&RepoName::new(owner, name))
            .await
            .ok()?;
        let rate = self.forge.rate_limits().get(&scope).copied()?;
        let (remaining, reset) = (rate.remaining?, rate.reset?);
        // GitHub's reset is wall-clock time, not a decision time: the real clock.
        (remaining < rate_reserve() && reset > chrono::Utc::now())
            .then_some((scope, remaining, reset))
    }

    /// The pipeline context for `repositories`.
    fn context(&self, repositories: Vec<Repository>, git_token: Option<String>) -> Context {
        let mut settings = self.settings.clone();
        settings.repositories = repositories;
        Context {
            settings,
            catalog: self.catalog.clone(),
            forge: self.forge.clone(),
            store: self.store.clone(),
            git_token,
            cache_dir: self.cache_dir.clone(),
            concurrency: 8,
            registry: self.registry.clone(),
            prometheus: self.prometheus.clone(),
            engine: self.engine.clone(),
            commands: crate::domain::render::Commands::Answered,
        }
    }

    /// Replaces the inventory of `names` with what `check` found in their
    /// trees, and hands the whole inventory to `/metrics`.
    async fn refresh_inventory(
        &mut self,
        ctx: &Context,
        check: &CheckReport,
        names: &[String],
        now: DateTime<Utc>,
    ) {
        let built = crate::app::inventory::build(ctx, check, now);
        let readiness = crate::app::readiness::build(ctx, &built, check, now);
        for name in names {
            self.inventory.remove(name);
            self.readiness.remove(name);
        }
        for row in readiness.rows {
            self.readiness
                .entry(row.repository.clone())
                .or_default()
                .push(row);
        }
        self.metrics
            .set_readiness(self.readiness.values().flatten().cloned().collect());
        for e in built.references {
            self.inventory
                .entry(e.repository.clone())
                .or_default()
                .push(e);
        }
        let all = Inventory {
            references: self.inventory.values().flatten().cloned().collect(),
            failures: Vec::new(),
        };
        self.metrics.set_inventory(inventory::to_prometheus(&all));
    }

    /// Replaces the rollouts of `names` with those `check` found, hands
    /// them all to `/metrics`, and says when the next pending wave may open.
    fn refresh_rollouts(&mut self, check: &CheckReport, names: &[String], now: DateTime<Utc>) {
        for name in names {
            self.rollouts.remove(name);
        }
        for r in check.rollouts.iter().filter(|r| r.in_flight()) {
            self.rollouts
                .entry(r.repository.clone())
                .or_default()
                .push(r.clone());
        }
        let all: Vec<UpstreamRollout> = self.rollouts.values().flatten().cloned().collect();
        self.metrics.set_rollouts(&all);
        let next = next_wake_up(&all, now);
        if next.is_some() {
            tracing::info!(at = ?next, "a rollout wave may open then: a pass is scheduled");
        }
        self.wake.send_replace(next);
    }

    /// Sends `what` from `report` to the Slack channels, as `upkeep notify`
    /// does; failures are logged and counted, never returned.
    async fn notify(&self, report: &CheckReport, what: What, now: DateTime<Utc>) {
        let Some(slack) = &self.slack else {
            return;
        };
        let ctx = self.context(self.all_repositories(), self.git_token.clone());
        let result = notify::run(
            &ctx,
            report,
            &slack.channels,
            &slack.templates,
            Some(&slack.sender),
            what,
            now,
        )
        .await;
        let notified = match result {
            Ok(n) => n,
            Err(e) => {
                self.metrics.error();
                tracing::warn!(error = %e, "cannot compose the Slack messages");
                return;
            }
        };
        for w in &notified.warnings {
            tracing::warn!("slack: {w}");
        }
        for d in &notified.deliveries {
            let host = d.host.as_deref().unwrap_or("-");
            match &d.error {
                None => {
                    self.metrics.slack_delivery("sent");
                    tracing::info!(channel = %d.channel, %host, kind = d.kind.as_str(), subject = %d.subject, "slack message sent");
                }
                Some(e) => {
                    self.metrics.slack_delivery("failed");
                    tracing::warn!(channel = %d.channel, %host, kind = d.kind.as_str(), subject = %d.subject, error = %e, "slack message not delivered");
                }
            }
        }
    }
}

/// What [`Worker::run_repositories`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    /// The pipeline: check, plan, publish.
    Publish,
    /// Only a check (for a digest).
    Check,
}

/// Requests of an installation's (or the token's) budget kept for
/// webhooks and commands: a pass starts only with more left
/// (`UPKEEP_GITHUB_RATE_RESERVE`, default 200).
fn rate_reserve() -> u64 {
    std::env::var(crate::env::GITHUB_RATE_RESERVE)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_jobs_round_trip_per_repository() {
        let repo = RepoName::new("acme", "deploy");
        let job = Job::Rollback {
            repo: repo.clone(),
            number: 7,
            user: "alice".into(),
        };
        let kept = Durable::of(&job, None);
        assert_eq!(kept.len(), 1);
        let (repository, key, payload) = &kept[0];
        assert_eq!(
            (repository.as_str(), key.as_str()),
            ("acme/deploy", "rollback#7")
        );
        assert_eq!(
            serde_json::from_str::<Durable>(payload).unwrap(),
            Durable::Rollback {
                number: 7,
                user: "alice".into()
            }
        );
        // An installation: one job per repository, with its installation.
        let installed = Job::Repos {
            repos: vec![repo, RepoName::new("acme", "infra")],
            reason: "installation".into(),
        };
        let kept = Durable::of(&installed, Some(42));
        let repos: Vec<&str> = kept.iter().map(|(r, _, _)| r.as_str()).collect();
        assert_eq!(repos, ["acme/deploy", "acme/infra"]);
        assert_eq!(
            serde_json::from_str::<Durable>(&kept[1].2).unwrap(),
            Durable::Installed {
                installation: Some(42)
            }
        );
        // Passes are kept in `repo_job`, not here.
        let push = Job::Repos {
            repos: vec![RepoName::new("acme", "deploy")],
            reason: "push".into(),
        };
        assert!(Durable::of(&push, None).is_empty());
        assert!(Durable::of(&Job::Poll, None).is_empty());
    }
}
