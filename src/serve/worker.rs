//! The one serial worker of `upkeep serve`: it takes [`Job`]s from the
//! queue one at a time (so no two passes race on a branch or a pull
//! request) and feeds them to [`pipeline::run`], the function `upkeep run`
//! calls.
//!
//! In App mode the repositories are those of the settings plus every
//! repository of every installation (discovered at start and learnt from
//! `installation` webhooks); each pass runs per owner, with that owner's
//! installation token as the git password.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};

use super::metrics::Metrics;
use crate::catalog::Catalog;
use crate::check::Context;
use crate::forge::{Forge, RepoName};
use crate::pipeline::{self, Mode};
use crate::render::Templates;
use crate::settings::{RepoSource, Repository, Settings};
use crate::store::Store;

/// Work for the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// Learn the app's installations and their repositories (App mode).
    Discover,
    /// A scheduled pass over every known repository.
    Poll,
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
}

/// The worker's world: the pipeline context's parts, and what it learnt.
pub struct Worker {
    pub settings: Settings,
    pub catalog: Catalog,
    pub forge: Arc<Forge>,
    pub store: Arc<Store>,
    pub git_token: Option<String>,
    pub cache_dir: PathBuf,
    pub registry: Option<Arc<crate::registry::Registry>>,
    pub templates: Templates,
    pub metrics: Arc<Metrics>,
    /// Set once the app's installations are known (at once in token mode).
    pub ready: Arc<AtomicBool>,
    /// Cleared when a scheduled poll starts, so that ticks do not pile up.
    pub poll_queued: Arc<AtomicBool>,
    /// Repositories of the app's installations.
    known: BTreeSet<RepoName>,
}

impl Worker {
    pub fn new(ctx: Context, templates: Templates, metrics: Arc<Metrics>) -> Worker {
        let ready = Arc::new(AtomicBool::new(!ctx.forge.is_app()));
        Worker {
            settings: ctx.settings,
            catalog: ctx.catalog,
            forge: ctx.forge,
            store: ctx.store,
            git_token: ctx.git_token,
            cache_dir: ctx.cache_dir,
            registry: ctx.registry,
            templates,
            metrics,
            ready,
            poll_queued: Arc::new(AtomicBool::new(false)),
            known: BTreeSet::new(),
        }
    }

    /// Does one job to the end. Failures are logged and counted; the worker
    /// goes on with the next job.
    pub async fn handle(&mut self, job: Job, now: DateTime<Utc>) {
        tracing::info!(?job, "job started");
        match job {
            Job::Discover => self.discover().await,
            Job::Poll => {
                self.poll_queued.store(false, Ordering::SeqCst);
                let all = self.all_repositories();
                self.run_repositories(all, now).await;
            }
            Job::Repos { repos, reason } => {
                tracing::info!(%reason, count = repos.len(), "planning repositories");
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
                self.run_repositories(chosen, now).await;
            }
            Job::Merged {
                repo,
                number,
                branch,
            } => {
                match self
                    .store
                    .record_merged(&repo.to_string(), number, &branch, now)
                {
                    Ok(()) => self.metrics.pull("merged"),
                    Err(e) => {
                        self.metrics.error();
                        tracing::warn!(%repo, number, error = %e, "cannot record a merged pull request");
                    }
                }
            }
            Job::Ignore { repo, number, user } => {
                let text = format!(
                    "Closed at @{user}'s request (`@upkeep ignore`): upkeep will not propose this version again."
                );
                let closed = async {
                    self.forge.comment(&repo, number, &text).await?;
                    self.forge
                        .update_pull(&repo, number, None, None, Some("closed"))
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
        }
        self.metrics.sync_forge(&self.forge);
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
                out.push(default_repository(repo));
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
        self.configured(repo)
            .cloned()
            .or_else(|| self.known.contains(repo).then(|| default_repository(repo)))
    }

    /// One pipeline pass per owner (one installation token each).
    async fn run_repositories(&self, repos: Vec<Repository>, now: DateTime<Utc>) {
        if repos.is_empty() {
            return;
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
        for (_, group) in groups {
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
            let mut settings = self.settings.clone();
            settings.repositories = group;
            let ctx = Context {
                settings,
                catalog: self.catalog.clone(),
                forge: self.forge.clone(),
                store: self.store.clone(),
                git_token,
                cache_dir: self.cache_dir.clone(),
                concurrency: 8,
                registry: self.registry.clone(),
                engine: crate::rules::Engine::builtin()
                    .ok()
                    .map(std::sync::Arc::new),
            };
            let report = pipeline::run(&ctx, &self.templates, Mode::Publish, now, &|_| {}).await;
            for f in report.check.failures.iter().chain(&report.failures) {
                tracing::warn!(subject = %f.subject, error = %f.error, "failed");
            }
            tracing::info!(
                repositories = ?names,
                outcomes = report.outcomes.len(),
                closed = report.closed.len(),
                "pass done"
            );
            self.metrics.record_run(&report, &names, now);
        }
    }
}

fn default_repository(repo: &RepoName) -> Repository {
    Repository {
        source: RepoSource::GitHub {
            owner: repo.owner.clone(),
            name: repo.name.clone(),
        },
        branch: None,
        environments: Vec::new(),
    }
}
