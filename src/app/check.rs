//! `check`, the pipeline's first half as I/O: open or fetch each
//! deployment repository, scan it, poll the upstreams its images come
//! from, ask the images' registries which targets are published, and hand
//! it all to the pure evaluator ([`crate::domain::evaluate`]). One failing
//! repository or upstream becomes an entry in the report and the others go
//! on. Nothing here writes to a deployment repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::app::context::Context;
use crate::app::error::AppError;
use crate::domain::evaluate::{BaseRef, Finding};
use crate::domain::evaluate::{
    CheckReport, Existence, Failure, Placement, ReleaseMap, RepoFileProblem, ScannedRepo, annotate,
    evaluate_gated, upstreams_of,
};
use crate::domain::live::QueryResult;
use crate::domain::manifest;
use crate::domain::render::parse_fingerprint;
use crate::domain::repo::RepoName;
use crate::domain::rollout::couple::Couples;
use crate::domain::rollout::decide::{
    self as rollout, FindingRollout, Observed, PullRecord, PullState, WaveState,
};
use crate::domain::rollout::verify::{Expected, Running};
use crate::domain::rules::Code;
use crate::domain::settings::{RepoSource, Repository, Settings};
use crate::io::forge::PullRequest;
use crate::io::git::{GitError, blocking};
use crate::io::poll;

/// Progress events for a progress indicator (a status line on a
/// terminal, periodic log lines otherwise).
pub enum Progress {
    /// Reading repository `done + 1` of `total`.
    Repository {
        name: String,
        done: usize,
        total: usize,
    },
    Polled {
        done: usize,
        total: usize,
    },
    /// Planning (and publishing) repository `done + 1` of `total`;
    /// `planned` pull requests so far.
    Publishing {
        name: String,
        done: usize,
        total: usize,
        planned: usize,
    },
}

/// One check: repositories → references → releases → registries →
/// findings. Without a registry client every target is offered on GitHub's
/// word.
pub async fn run(
    ctx: &Context,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> CheckReport {
    run_with_registry(ctx, ctx.registry.clone(), now, progress).await
}

async fn run_with_registry(
    ctx: &Context,
    registry: Option<Arc<crate::io::registry::Registry>>,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> CheckReport {
    let mut repos = Vec::new();
    let mut failures = Vec::new();
    let mut problems = Vec::new();
    let mut opened = Vec::new();
    let mut repo_files = Vec::new();
    let mut bases = BTreeMap::new();
    let configured_all = configured_repositories(&ctx.settings);
    for (done, configured) in configured_all.iter().enumerate() {
        let name = configured.source.to_string();
        progress(Progress::Repository {
            name: name.clone(),
            done,
            total: configured_all.len(),
        });
        // The repository boundary: a panic while opening it fails it only.
        let opening = crate::app::isolate::caught(&name, async {
            crate::app::isolate::failpoint("check", &name);
            open_repository(ctx, configured).await
        })
        .await
        .unwrap_or_else(|panicked| Err(Skipped::Failed(AppError::Panicked(panicked))));
        match opening {
            Ok((root, repo, base)) => {
                opened.push(repo.clone());
                if let Some(base) = base {
                    bases.insert(name.clone(), base);
                }
                let repo = &repo;
                let scan = tokio::task::spawn_blocking(move || manifest::scan(&root)).await;
                let scan = match scan {
                    Ok(scan) => scan,
                    Err(e) => {
                        let error = if e.is_panic() {
                            crate::app::isolate::message(e.into_panic().as_ref())
                        } else {
                            "scan failed".into()
                        };
                        failures.push(Failure {
                            subject: name,
                            error,
                        });
                        continue;
                    }
                };
                problems.extend(scan.problems.iter().map(|p| {
                    crate::domain::printable::printable(&format!("{name}: {p}")).into_owned()
                }));
                let references = scan
                    .references
                    .into_iter()
                    .map(|r| {
                        let env = repo.environment_for(&r.file).map(|e| Placement {
                            environment: e.name.clone(),
                            network: e.network.as_ref().map(|n| n.as_str().to_string()),
                            wave: e.wave,
                        });
                        (r, env)
                    })
                    .collect();
                repos.push(ScannedRepo { name, references });
            }
            Err(Skipped::Failed(error)) => failures.push(Failure {
                subject: name,
                error: error.to_string(),
            }),
            Err(Skipped::RepoFile(problem)) => {
                failures.push(Failure {
                    subject: name,
                    error: problem.errors.join("\n"),
                });
                repo_files.push(problem);
            }
        }
    }
    let upstreams: Vec<RepoName> = upstreams_of(&repos, &ctx.catalog)
        .iter()
        .filter_map(|u| u.parse().ok())
        .collect();
    let polled = poll::poll(
        ctx.forge.clone(),
        ctx.store.clone(),
        &upstreams,
        ctx.concurrency,
        now,
        &|done, total| progress(Progress::Polled { done, total }),
    )
    .await;
    let mut releases = ReleaseMap::new();
    for (repo, result) in polled {
        let entry = match result {
            Ok(p) => Ok(p.releases),
            Err(e) => {
                failures.push(Failure {
                    subject: repo.to_string(),
                    error: e.to_string(),
                });
                Err(e.to_string())
            }
        };
        releases.insert(repo.to_string(), entry);
    }
    let mut report = gate(ctx, registry.as_ref(), &repos, &releases).await;
    report.failures.extend(failures);
    report.problems = problems;
    report.releases = releases;
    report.repositories = opened;
    report.repo_files = repo_files;
    report.scanned = repos;
    report.bases = bases;
    let engine = match &ctx.engine {
        Some(engine) => {
            let refreshed = crate::app::schedule::refresh(
                &ctx.forge,
                engine,
                &ctx.settings.schedule_sources,
                &networks_of(&report.scanned),
            )
            .await;
            report.warnings.extend(refreshed.problems);
            annotate(&mut report, &ctx.catalog, &refreshed.engine, now);
            Some(refreshed.engine)
        }
        None => None,
    };
    roll_out(ctx, engine, &mut report, now).await;
    report
}

/// The networks the references are deployed on (mainnet for those in no
/// environment or with no network): whose fork schedule matters.
fn networks_of(repos: &[ScannedRepo]) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for r in repos {
        for (_, placement) in &r.references {
            out.insert(
                placement
                    .as_ref()
                    .and_then(|p| p.network.clone())
                    .unwrap_or_else(|| "mainnet".into()),
            );
        }
    }
    out.into_iter().collect()
}

/// Pages of recent pull requests read per repository for the rollout.
pub(crate) const PULL_PAGES: usize = 3;

/// Reads upkeep's pull requests of every GitHub repository checked and
/// decides where each release stands in its waves ([`decide_repository`]),
/// annotating the findings. A repository whose pull requests cannot be
/// read has its environments' findings held (their merge times are
/// unknown).
async fn roll_out(
    ctx: &Context,
    engine: Option<Arc<crate::domain::rules::Engine>>,
    report: &mut CheckReport,
    now: DateTime<Utc>,
) {
    // Fork readiness from the files as checked (the live side is read
    // below): which upgrades travel together.
    report.rollout_readiness = {
        let inventory = crate::app::inventory::build(ctx, report, now);
        crate::app::readiness::build(ctx, &inventory, report, now).rows
    };
    report.engine = engine;
    for repo in report.repositories.clone() {
        let name = repo.source.to_string();
        let Observations { observed, live } = observe(ctx, &repo).await;
        if !live.is_empty() {
            report.live.insert(name.clone(), live);
        }
        report.observed.insert(name.clone(), observed);
        let pulls = match &repo.source {
            RepoSource::Path(_) => Ok(Vec::new()),
            RepoSource::GitHub { owner, name: n } => ctx
                .forge
                .recent_pulls(&RepoName::new(owner, n), PULL_PAGES)
                .await
                .map(|list| pull_records(&name, list)),
        };
        let pulls = match pulls {
            Ok(p) => p,
            Err(e) => {
                let why = format!("its pull requests could not be read: {e}");
                for f in report.findings.iter_mut().filter(|f| f.repository == name) {
                    if let Some(wave) = f.wave {
                        f.rollout = Some(FindingRollout {
                            wave,
                            state: WaveState::Pending,
                            opens_at: None,
                            reason: why.clone(),
                            go: false,
                            at_risk: false,
                            waves: 0,
                        });
                    }
                }
                report.failures.push(Failure {
                    subject: name,
                    error: why,
                });
                continue;
            }
        };
        let (findings, decision) = decide_repository(ctx, report, &repo, &pulls, now);
        let mut decided = findings.into_iter();
        for f in report.findings.iter_mut().filter(|f| f.repository == name) {
            if let Some(d) = decided.next() {
                *f = d;
            }
        }
        report.rollouts.extend(decision.rollouts);
        report.rollout_alerts.extend(decision.alerts);
        report.rollbacks.extend(decision.rollbacks);
        report.pulls.insert(name, pulls);
    }
}

/// The pure rollout decision for one repository given its pull requests
/// `pulls` (the rest as the check read it: findings, releases, Prometheus's
/// answers, fork readiness): its findings (in report order) with where each
/// stands in its waves, and the decision. The check decides with the pull
/// requests read at its start; a pass that changed them decides again with
/// those read after its writes (for the dependency dashboard).
pub(crate) fn decide_repository(
    ctx: &Context,
    report: &CheckReport,
    repo: &Repository,
    pulls: &[PullRecord],
    now: DateTime<Utc>,
) -> (Vec<Finding>, rollout::Decision) {
    let name = repo.source.to_string();
    // A layer upkeep already moved stays coupled while the other is
    // still needed there.
    let couples = Couples::from_rows_moved(&report.rollout_readiness, &name, |env, upstream| {
        pulls.iter().any(|p| {
            p.rollback_of.is_none()
                && matches!(p.state, PullState::Merged { .. })
                && p.environments.iter().any(|e| e == env)
                && p.upgrades
                    .iter()
                    .any(|(u, _)| u.eq_ignore_ascii_case(upstream))
        })
    });
    // this repository's soak (its own over `rollout.soak`)
    let rollout_settings = repo.rollout(&ctx.settings.rollout);
    let referenced = referenced(report, &name, &ctx.catalog);
    let deployed = deployed(report, &name, &ctx.catalog);
    let releases = &report.releases;
    let engine = report.engine.as_deref();
    let codes_of = |upstream: &str, tag: &str| -> Vec<(Code, String)> {
        let (Some(engine), Some(Ok(list))) = (engine, releases.get(upstream)) else {
            return Vec::new();
        };
        let Some(c) = list
            .iter()
            .find(|r| r.tag_name == tag)
            .map(|r| engine.classify(upstream, r))
        else {
            return Vec::new();
        };
        c.codes
            .iter()
            .map(|code| {
                let quote = c
                    .evidence
                    .iter()
                    .find(|e| e.code == Some(*code))
                    .map(|e| e.text.clone())
                    .unwrap_or_default();
                (*code, quote)
            })
            .collect()
    };
    // What the planner will hold whatever the wave says: a coupled
    // partner waits for it.
    // (this repository's ignore rules and release age, over the global ones)
    let pull_requests = repo.pull_requests(&ctx.settings.pull_requests);
    let held =
        |f: &Finding| crate::domain::plan::held_reason(f, &pull_requests, &Default::default(), now);
    let none = BTreeMap::new();
    let inputs = rollout::Inputs {
        repository: &name,
        environments: &repo.environments,
        referenced: &referenced,
        releases: &report.releases,
        pulls,
        settings: &rollout_settings,
        now,
        observed: report.observed.get(&name).unwrap_or(&none),
        deployed: &deployed,
        codes_of: &codes_of,
        couples: &couples,
        held: &held,
    };
    // Decided afresh: a finding's earlier decision is not an input.
    let mut findings: Vec<Finding> = report
        .findings
        .iter()
        .filter(|f| f.repository == name)
        .cloned()
        .map(|mut f| {
            f.rollout = None;
            f
        })
        .collect();
    let decision = rollout::decide(&inputs, &mut findings);
    (findings, decision)
}

/// For each upstream and environment of `repository`, the references on
/// its base branch now: what a merged pull request should be running.
fn deployed(
    report: &CheckReport,
    repository: &str,
    catalog: &crate::domain::catalog::Catalog,
) -> BTreeMap<String, BTreeMap<String, Vec<Expected>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<Expected>>> = BTreeMap::new();
    for repo in report.scanned.iter().filter(|r| r.name == repository) {
        for (r, place) in &repo.references {
            let (Some(place), None, Some(tag)) = (place, r.skip, &r.tag) else {
                continue;
            };
            if let Some(m) = catalog.lookup(&r.image) {
                out.entry(m.upstream.repo())
                    .or_default()
                    .entry(place.environment.clone())
                    .or_default()
                    .push(Expected {
                        image: r.image.clone(),
                        tag: tag.clone(),
                        digest: r.digest.clone(),
                    });
            }
        }
    }
    out
}

/// What Prometheus showed for a repository's verified environments.
#[derive(Default)]
struct Observations {
    /// Per environment, for the rollout.
    observed: BTreeMap<String, Observed>,
    /// Per environment with a `live` selector, its running containers or
    /// why Prometheus could not answer (for the inventory).
    live: BTreeMap<String, Result<Vec<Running>, String>>,
}

/// What Prometheus shows for each verified environment of `repo`: its
/// running containers ([`running_in`]) and each health gate's value. A
/// query that fails is recorded as a problem (the rollout waits; it never
/// rolls back because Prometheus could not answer).
async fn observe(ctx: &Context, repo: &Repository) -> Observations {
    let mut out = Observations::default();
    let Some(prometheus) = &ctx.prometheus else {
        return out;
    };
    for env in repo.environments.iter().filter(|e| e.verified()) {
        let mut observed = Observed::default();
        if let Some(selector) = &env.live {
            let result = running_in(prometheus, selector)
                .await
                .map_err(|e| e.to_string());
            match &result {
                Ok(running) => observed.running = Some(running.clone()),
                Err(e) => observed.problems.push(e.clone()),
            }
            out.live.insert(env.name.clone(), result);
        }
        for gate in &env.health {
            match prometheus.query(&gate.effective_query()).await {
                Ok(result) => observed.gates.push((gate.clone(), result.single_value())),
                Err(e) => observed.problems.push(format!("gate {}: {e}", gate.name)),
            }
        }
        out.observed.insert(env.name.clone(), observed);
    }
    out
}

/// The containers running where `selector` points: kube-state-metrics'
/// `kube_pod_container_info{selector}`, aggregated by image ([`running`]).
pub async fn running_in(
    prometheus: &crate::io::prometheus::Prometheus,
    selector: &str,
) -> Result<Vec<Running>, crate::io::prometheus::PrometheusError> {
    let query = format!("kube_pod_container_info{selector}");
    Ok(running(&prometheus.query(&query).await?))
}

/// `kube_pod_container_info` samples aggregated by (image, image_id).
fn running(result: &QueryResult) -> Vec<Running> {
    let mut counts: BTreeMap<(String, Option<String>), u32> = BTreeMap::new();
    if let QueryResult::Vector(samples) = result {
        for s in samples.iter().filter(|s| s.value > 0.0) {
            let Some(image) = s.labels.get("image") else {
                continue;
            };
            let id = s.labels.get("image_id").filter(|i| !i.is_empty()).cloned();
            *counts.entry((image.clone(), id)).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|((image, image_id), containers)| Running {
            image,
            image_id,
            containers,
        })
        .collect()
}

/// For each upstream, the environments of `repository` whose files
/// reference it.
fn referenced(
    report: &CheckReport,
    repository: &str,
    catalog: &crate::domain::catalog::Catalog,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for repo in report.scanned.iter().filter(|r| r.name == repository) {
        for (r, place) in &repo.references {
            let (Some(place), None) = (place, r.skip) else {
                continue;
            };
            if let Some(m) = catalog.lookup(&r.image) {
                out.entry(m.upstream.repo())
                    .or_default()
                    .insert(place.environment.clone());
            }
        }
    }
    out
}

/// upkeep's own pull requests of `repository` (those carrying its
/// fingerprint for this repository), as the rollout reads them.
pub fn pull_records(repository: &str, pulls: Vec<PullRequest>) -> Vec<PullRecord> {
    pulls
        .into_iter()
        .filter_map(|p| {
            let fp = p.body.as_deref().and_then(parse_fingerprint)?;
            // Its branch must live in this repository: a fork's pull
            // request with a copied fingerprint is not upkeep's.
            let same_repo = p
                .head
                .repo
                .as_ref()
                .is_some_and(|r| r.full_name.eq_ignore_ascii_case(repository));
            if fp.repo != repository || !same_repo {
                return None;
            }
            let state = match (p.merged_at, p.is_open()) {
                (Some(at), _) => PullState::Merged { at },
                (None, true) => PullState::Open,
                (None, false) => PullState::Closed,
            };
            Some(PullRecord {
                number: p.number,
                url: p.html_url,
                branch: p.head.branch,
                head_sha: p.head.sha,
                state,
                created_at: p.created_at,
                upgrades: fp
                    .targets()
                    .into_iter()
                    .map(|(u, v)| (u.to_string(), v.to_string()))
                    .collect(),
                environments: fp.environments.clone(),
                group: format!("{}|{}|{}", fp.repo, fp.upstream, fp.group),
                rollback_of: fp.rollback,
            })
        })
        .collect()
}

/// The repositories of the settings; none configured means the current
/// directory.
pub fn configured_repositories(settings: &Settings) -> Vec<Repository> {
    if settings.repositories.is_empty() {
        vec![Repository::new(RepoSource::Path(PathBuf::from(".")))]
    } else {
        settings.repositories.clone()
    }
}

/// How many missing targets one reference walks back past.
const MAX_FALLBACK: usize = 5;

/// The existence step between polling and evaluation: asks the registry
/// about each reference's newest target, then, where that image is missing,
/// about the next newest (up to [`MAX_FALLBACK`] rounds), and evaluates with
/// the answers. Registry errors become warnings; `require_published` decides
/// whether their targets are held or offered on GitHub's word.
async fn gate(
    ctx: &Context,
    registry: Option<&Arc<crate::io::registry::Registry>>,
    repos: &[ScannedRepo],
    releases: &ReleaseMap,
) -> CheckReport {
    let require = ctx.settings.registries.require_published;
    let on_error = if require {
        Existence::Unknown
    } else {
        Existence::Trusted
    };
    let mut known: std::collections::HashMap<(String, String), Existence> =
        std::collections::HashMap::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut unasked: BTreeSet<String> = BTreeSet::new();
    for _ in 0..MAX_FALLBACK {
        let asked = std::cell::RefCell::new(BTreeSet::new());
        evaluate_gated(repos, &ctx.catalog, releases, &|image, tag| {
            let key = (image.to_string(), tag.to_string());
            known.get(&key).cloned().unwrap_or_else(|| {
                asked.borrow_mut().insert(key);
                Existence::Unknown
            })
        });
        let asked: Vec<(String, String)> = asked.into_inner().into_iter().collect();
        if asked.is_empty() {
            break;
        }
        let Some(registry) = registry else {
            known.extend(asked.into_iter().map(|k| (k, on_error.clone())));
            continue;
        };
        for (key, answer) in registry.manifests(asked, ctx.concurrency).await {
            let existence = match answer {
                Ok(Some(m)) => Existence::Published { digest: m.digest },
                Ok(None) => Existence::Missing,
                Err(e) => {
                    let warning = format!(
                        "{e}; {}",
                        if require {
                            "its targets wait for the image (registries.require_published)"
                        } else {
                            "its targets are offered on GitHub's word (registries.require_published: false)"
                        }
                    );
                    if !warnings.contains(&warning) {
                        warnings.push(warning);
                    }
                    if require {
                        unasked.insert(key.0.clone());
                    }
                    on_error.clone()
                }
            };
            known.insert(key, existence);
        }
    }
    let mut report = evaluate_gated(repos, &ctx.catalog, releases, &|image, tag| {
        known
            .get(&(image.to_string(), tag.to_string()))
            .cloned()
            .unwrap_or(Existence::Unknown)
    });
    report.warnings = warnings;
    report.unverified = report
        .findings
        .iter()
        .filter(|f| f.waiting_for_image && unasked.contains(&f.image))
        .count();
    report.unasked = unasked;
    report
}

/// Why a repository was not scanned.
enum Skipped {
    Failed(AppError),
    /// Its `.github/upkeep.yml` is invalid.
    RepoFile(RepoFileProblem),
}

impl<E: Into<AppError>> From<E> for Skipped {
    fn from(e: E) -> Self {
        Skipped::Failed(e.into())
    }
}

/// History fetched with a base branch: enough for publishing to tell
/// upkeep's own branches apart (see `Session::owned_by`).
const BASE_DEPTH: i32 = 50;

/// The local tree of a repository (its path, or a fresh shallow fetch of
/// its base branch), the repository as configured and, for GitHub, the
/// base that was read. For GitHub, the settings entry has the
/// `.github/upkeep.yml` of the fetched commit merged in; when that file
/// sets another `branch`, that branch is fetched and scanned instead.
async fn open_repository(
    ctx: &Context,
    repo: &Repository,
) -> Result<(PathBuf, Repository, Option<BaseRef>), Skipped> {
    let (owner, name) = match &repo.source {
        RepoSource::Path(p) if p.is_dir() => return Ok((p.clone(), repo.clone(), None)),
        RepoSource::Path(p) => {
            return Err(AppError::NotADirectory(p.display().to_string()).into());
        }
        RepoSource::GitHub { owner, name } => (owner, name),
    };
    let full = RepoName::new(owner, name);
    tracing::info!(repository = %full, "locating the repository and its base branch");
    let mut base = ctx.locate(owner, name, repo.branch.as_deref()).await?;
    tracing::info!(
        repository = %full,
        branch = %crate::domain::printable::printable(&base.base_branch),
        "fetching the base branch"
    );
    let session = ctx.session(&full, &base.clone_url).await?;
    let fetch = |branch: &str| {
        session
            .fetch(branch, BASE_DEPTH)?
            .ok_or_else(|| GitError::NoBranch {
                url: full.to_string(),
                branch: branch.to_string(),
            })
    };
    let (commit, file) = blocking(|| {
        let commit = fetch(&base.base_branch)?;
        let file = session.read(&commit, crate::domain::settings::REPO_FILE)?;
        Ok::<_, GitError>((commit, file))
    })?;
    let merged = match file {
        None => repo.clone(),
        Some(bytes) => {
            let label = crate::domain::settings::REPO_FILE;
            let loaded = match String::from_utf8(bytes) {
                Ok(text) => {
                    crate::domain::settings::load_repo_file(&text, label, owner, name, repo)
                        .map_err(|e| e.iter().map(ToString::to_string).collect())
                }
                Err(_) => Err(vec![format!(
                    "{label}: not UTF-8 text: expected a YAML file"
                )]),
            };
            match loaded {
                Ok(merged) => merged,
                Err(errors) => {
                    return Err(Skipped::RepoFile(RepoFileProblem {
                        repository: full,
                        commit,
                        errors,
                    }));
                }
            }
        }
    };
    let commit = match merged.branch.clone().filter(|b| *b != base.base_branch) {
        None => commit,
        Some(branch) => {
            let commit = blocking(|| fetch(&branch))?;
            base.base_branch = branch;
            commit
        }
    };
    blocking(|| session.checkout(&commit))?;
    base.commit = commit;
    Ok((session.workdir(), merged, Some(base)))
}

/// Where an invalid `.github/upkeep.yml` is reported: a comment on the
/// commit it was read from (the base branch's head, which for a `push`
/// event is the push's head), once per repository and commit. What was
/// posted is remembered in the state store (in the `slack_sent` table under
/// the channel [`REPO_FILE_NOTICES`], which de-duplicates any keyed notice),
/// so runs and restarts do not repeat it. Failures to post are returned.
pub async fn report_repo_files(
    ctx: &Context,
    problems: &[RepoFileProblem],
    now: DateTime<Utc>,
) -> Vec<Failure> {
    let mut failures = Vec::new();
    for p in problems {
        let key = format!("{}@{}", p.repository, p.commit);
        let keys = [key];
        match ctx.store.slack_sent(REPO_FILE_NOTICES, &keys) {
            Ok(sent) if !sent.is_empty() => continue,
            Ok(_) => {}
            Err(e) => {
                failures.push(Failure {
                    subject: p.repository.to_string(),
                    error: e.to_string(),
                });
                continue;
            }
        }
        let body = repo_file_comment(p);
        let posted = ctx
            .forge
            .comment_on_commit(&p.repository, &p.commit, &body)
            .await
            .map_err(|e| e.to_string())
            .and_then(|()| {
                ctx.store
                    .record_slack_sent(REPO_FILE_NOTICES, &keys, now)
                    .map_err(|e| e.to_string())
            });
        if let Err(error) = posted {
            failures.push(Failure {
                subject: p.repository.to_string(),
                error,
            });
        }
    }
    failures
}

/// The store's channel for "invalid `.github/upkeep.yml` reported" notices.
pub const REPO_FILE_NOTICES: &str = "github:repo-file-comment";

/// The comment on a commit whose `.github/upkeep.yml` is invalid.
pub fn repo_file_comment(p: &RepoFileProblem) -> String {
    let mut out = format!(
        "**upkeep**: `{}` is invalid, so upkeep skips this repository until it is fixed:\n\n```\n",
        crate::domain::settings::REPO_FILE
    );
    for e in &p.errors {
        out.push_str(e);
        out.push('\n');
    }
    out.push_str("```\n");
    out
}
