//! `check`: references × upstream releases → what is outdated.
//!
//! [`evaluate`] is pure (references, catalog, releases and `now` in; findings
//! out). [`run`] is the pipeline around it: fetch or open each deployment
//! repository, scan it, poll the upstreams its images come from, ask the
//! images' registries which targets are published ([`Existence`]), evaluate.
//! One failing repository or upstream becomes an entry in the report and
//! the others go on. Nothing here writes to a deployment repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::forge::{Forge, RepoName};
use crate::manifest::{self, Reference};
use crate::poll;
use crate::release::Release;
use crate::settings::{RepoSource, Repository, Settings};
use crate::store::Store;

/// One reference and what upkeep knows about its upstream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub repository: String,
    pub file: String,
    pub line: usize,
    pub image: String,
    pub current: String,
    pub upstream: String,
    /// The newest release offered to this reference (its git tag).
    pub latest: String,
    /// The image tag of `latest` in the reference's variant.
    pub target_tag: String,
    /// Releases newer than the current one (distinct image tags).
    pub behind: usize,
    pub environment: Option<String>,
    pub network: Option<String>,
    /// The environment's rollout wave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<u32>,
    /// Finding codes from the rule engine (`hard-fork`, `breaking-change`, …).
    pub codes: Vec<String>,
    pub deadline: Option<Deadline>,
    pub priority: Option<String>,
    /// When `latest` was published.
    #[serde(skip)]
    pub published_at: Option<DateTime<Utc>>,
    /// The digest of `target_tag` in its registry (the index digest of a
    /// multi-arch image), when the registry was asked.
    pub target_digest: Option<String>,
    /// No newer image is published yet, so nothing is offered: `latest` and
    /// `target_tag` name the release waited for.
    pub waiting_for_image: bool,
    /// While waiting: when that release was published on GitHub.
    pub since: Option<DateTime<Utc>>,
    /// The release tag of the deployed version, when it is a release.
    #[serde(skip)]
    pub current_release: Option<String>,
    /// The digest the reference is pinned to (`tag@sha256:…`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Breaking changes in the releases between current and target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breaking: Vec<String>,
    /// A security note for the releases between current and target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<String>,
}

/// A fork deadline that applies to a reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub fork: String,
    pub network: String,
    pub at: DateTime<Utc>,
}

/// A reference upkeep cannot check, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unchecked {
    pub repository: String,
    pub file: String,
    pub line: usize,
    pub image: String,
    pub tag: Option<String>,
    /// `untracked` (no upstream known for the image), `channel-tag` (a
    /// moving tag such as `latest`), `upstream-failed`, or the scan's skip
    /// reason (`templated`, `variable`, `untagged`, `digest-only`).
    pub reason: String,
}

/// A repository or upstream that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub subject: String,
    pub error: String,
}

/// Everything `check` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckReport {
    /// Outdated references, most urgent first.
    pub findings: Vec<Finding>,
    /// References at the newest release offered to them.
    pub up_to_date: usize,
    pub unchecked: Vec<Unchecked>,
    pub failures: Vec<Failure>,
    /// Scan problems (unreadable files), as `file:line:column: message`.
    pub problems: Vec<String>,
    /// Registry problems (unreachable, refused): the check went on.
    pub warnings: Vec<String>,
    /// The releases polled, per upstream (for rendering, not output).
    #[serde(skip)]
    pub releases: ReleaseMap,
    /// The repositories scanned, as planned from: each settings entry with
    /// its `.github/upkeep.yml` merged in (not output).
    #[serde(skip)]
    pub repositories: Vec<Repository>,
    /// Invalid `.github/upkeep.yml` files: their repositories were skipped
    /// (and are in `failures`); `upkeep run` and `serve` report each on its
    /// commit (not output).
    #[serde(skip)]
    pub repo_files: Vec<RepoFileProblem>,
}

/// An invalid `.github/upkeep.yml` on a repository's base branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFileProblem {
    pub repository: RepoName,
    /// The commit the file was read from (the base branch's head).
    pub commit: String,
    /// `.github/upkeep.yml:LINE:COL: message`, in file order.
    pub errors: Vec<String>,
}

/// The environment a reference belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub environment: String,
    pub network: Option<String>,
    pub wave: u32,
}

/// The references of one repository, with the environment of each.
#[derive(Clone, Debug)]
pub struct ScannedRepo {
    pub name: String,
    pub references: Vec<(Reference, Option<Placement>)>,
}

/// Releases per upstream (`owner/name`), newest first; `Err` for upstreams
/// that could not be polled.
pub type ReleaseMap = BTreeMap<String, Result<Vec<Release>, String>>;

/// The upstreams (`owner/name`) the references come from.
pub fn upstreams_of(repos: &[ScannedRepo], catalog: &Catalog) -> BTreeSet<String> {
    repos
        .iter()
        .flat_map(|r| &r.references)
        .filter(|(r, _)| r.skip.is_none())
        .filter_map(|(r, _)| catalog.lookup(&r.image).map(|m| m.upstream.repo()))
        .collect()
}

/// References × releases → findings, every target taken as published. Pure.
pub fn evaluate(repos: &[ScannedRepo], catalog: &Catalog, releases: &ReleaseMap) -> CheckReport {
    evaluate_gated(repos, catalog, releases, &|_, _| Existence::Trusted)
}

/// What the registry says about an image tag, as [`evaluate_gated`] is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Existence {
    /// Published, with its digest.
    Published { digest: String },
    /// Offered on GitHub's word (the registry could not answer and
    /// `registries.require_published` is false).
    Trusted,
    /// Not in the registry (yet): an older target may be offered instead.
    Missing,
    /// Not known: the target is held, the finding waits for its image.
    Unknown,
}

/// The newest candidate (newest first) that may be offered, with its
/// digest; `None` when nothing may be offered yet.
fn pick_published<T>(
    newer: &[(T, crate::version::Version, String)],
    existence: impl Fn(&str) -> Existence,
) -> (Option<usize>, Option<String>) {
    for (i, (_, _, tag)) in newer.iter().enumerate() {
        match existence(tag) {
            Existence::Published { digest } => return (Some(i), Some(digest)),
            Existence::Trusted => return (Some(i), None),
            Existence::Missing => {}
            Existence::Unknown => break,
        }
    }
    (None, None)
}

/// References × releases → findings, offering each reference the newest
/// target whose image `existence(image as written, tag)` says may be
/// offered (see [`Existence`]). Pure.
pub fn evaluate_gated(
    repos: &[ScannedRepo],
    catalog: &Catalog,
    releases: &ReleaseMap,
    existence: &dyn Fn(&str, &str) -> Existence,
) -> CheckReport {
    let mut report = CheckReport::default();
    for repo in repos {
        for (r, env) in &repo.references {
            let unchecked = |reason: &str| Unchecked {
                repository: repo.name.clone(),
                file: r.file.clone(),
                line: r.line,
                image: r.image.clone(),
                tag: r.tag.clone(),
                reason: reason.to_string(),
            };
            if let Some(skip) = r.skip {
                report.unchecked.push(unchecked(skip.as_str()));
                continue;
            }
            let Some(tag) = &r.tag else { continue };
            let Some(m) = catalog.lookup(&r.image) else {
                report.unchecked.push(unchecked("untracked"));
                continue;
            };
            let Some(current) = m.version_of(tag) else {
                report.unchecked.push(unchecked("channel-tag"));
                continue;
            };
            let upstream = m.upstream.repo();
            let Some(Ok(list)) = releases.get(&upstream) else {
                report.unchecked.push(unchecked("upstream-failed"));
                continue;
            };
            let allow_pre = current.version.is_prerelease();
            // Newer releases, each with the tag it gives this reference.
            let mut newer: Vec<(&Release, crate::version::Version, String)> = list
                .iter()
                .filter(|rel| !rel.draft)
                .filter_map(|rel| {
                    let v = m.upstream.release_version(&rel.tag_name)?;
                    if !(m.upstream.offers(&v, rel.prerelease) || allow_pre) {
                        return None;
                    }
                    if v.cmp_precedence(&current.version) != std::cmp::Ordering::Greater {
                        return None;
                    }
                    let target = m.retag(tag, &v)?;
                    (target != *tag).then_some((rel, v, target))
                })
                .collect();
            if newer.is_empty() {
                report.up_to_date += 1;
                continue;
            }
            newer.sort_by(|a, b| b.1.cmp_precedence(&a.1));
            let behind = newer.iter().map(|n| &n.2).collect::<BTreeSet<_>>().len();
            let (pick, target_digest) = pick_published(&newer, |t| existence(&r.image, t));
            let waiting = pick.is_none();
            let (latest, _, target) = &newer[pick.unwrap_or(0)];
            report.findings.push(Finding {
                repository: repo.name.clone(),
                file: r.file.clone(),
                line: r.line,
                image: r.image.clone(),
                current: tag.clone(),
                upstream,
                latest: latest.tag_name.clone(),
                target_tag: target.clone(),
                behind,
                environment: env.as_ref().map(|e| e.environment.clone()),
                network: env.as_ref().and_then(|e| e.network.clone()),
                wave: env.as_ref().map(|e| e.wave),
                codes: Vec::new(),
                deadline: None,
                priority: None,
                published_at: latest.published_at,
                target_digest,
                waiting_for_image: waiting,
                since: if waiting { latest.published_at } else { None },
                current_release: list
                    .iter()
                    .find(|rel| {
                        m.upstream.release_version(&rel.tag_name).is_some_and(|v| {
                            v.cmp_precedence(&current.version) == std::cmp::Ordering::Equal
                        })
                    })
                    .map(|rel| rel.tag_name.clone()),
                digest: r.digest.clone(),
                breaking: Vec::new(),
                security: None,
            });
        }
    }
    sort_by_urgency(&mut report.findings);
    report
}

/// Adds what the rule engine says to every finding: codes, breaking items,
/// security note, priority and the nearest deadline on the finding's
/// network, from the releases between the deployed version and the target
/// (their notes) and from the fork schedule (minimum versions), as of `now`.
/// Pure; classifications are computed once per release.
pub fn annotate(
    report: &mut CheckReport,
    catalog: &Catalog,
    engine: &crate::rules::Engine,
    now: DateTime<Utc>,
) {
    use crate::rules::{Code, Priority};
    let mut classified: BTreeMap<(String, String), crate::rules::Classification> = BTreeMap::new();
    for f in &mut report.findings {
        let Some(m) = catalog.lookup(&f.image) else {
            continue;
        };
        let Some(current) = m.version_of(&f.current) else {
            continue;
        };
        let mut codes: BTreeSet<Code> = BTreeSet::new();
        let mut priority: Option<Priority> = None;
        let mut deadlines: Vec<Deadline> = Vec::new();
        let network = f.network.clone().unwrap_or_else(|| "mainnet".into());
        for rf in engine.reference_findings(&f.upstream, &current.version, Some(&network), now) {
            codes.extend(rf.codes.iter().copied());
            priority = priority.max(Some(rf.priority));
            deadlines.push(Deadline {
                fork: rf.deadline.fork.clone(),
                network: rf.deadline.network.clone(),
                at: rf.deadline.at,
            });
        }
        let target = m.upstream.release_version(&f.latest);
        let in_between = report
            .releases
            .get(&f.upstream)
            .and_then(|r| r.as_ref().ok())
            .into_iter()
            .flatten()
            .filter(|rel| {
                m.upstream.release_version(&rel.tag_name).is_some_and(|v| {
                    v.cmp_precedence(&current.version) == std::cmp::Ordering::Greater
                        && target
                            .as_ref()
                            .is_some_and(|t| v.cmp_precedence(t) != std::cmp::Ordering::Greater)
                })
            });
        for rel in in_between {
            let c = classified
                .entry((f.upstream.clone(), rel.tag_name.clone()))
                .or_insert_with(|| engine.classify(&f.upstream, rel));
            // A fork the notes prepare for that has already activated on
            // this network says nothing now: the schedule's minimum versions
            // (above) tell whether this deployment missed it.
            let upcoming = c.deadline(&network).filter(|d| d.at > now);
            codes.extend(c.codes.iter().copied().filter(|code| {
                *code != Code::Overdue && (*code != Code::HardFork || upcoming.is_some())
            }));
            priority = priority.max(Some(c.priority));
            for b in &c.breaking {
                if !f.breaking.contains(b) {
                    f.breaking.push(b.clone());
                }
            }
            if c.security && f.security.is_none() {
                f.security = Some(format!("{} fixes a security issue", rel.tag_name));
            }
            if let Some(d) = upcoming {
                deadlines.push(Deadline {
                    fork: d.fork,
                    network: d.network,
                    at: d.at,
                });
            }
        }
        if deadlines.iter().any(|d| d.at <= now) {
            codes.insert(Code::Overdue);
        }
        f.codes = codes.iter().map(|c| c.as_str().to_string()).collect();
        f.priority = priority
            .filter(|p| *p > Priority::Low)
            .map(|p| p.as_str().to_string());
        f.deadline = deadlines.into_iter().min_by_key(|d| d.at);
    }
    sort_by_urgency(&mut report.findings);
}

/// Most urgent first: nearest deadline, then most releases behind, then by
/// place.
pub fn sort_by_urgency(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let deadline = |f: &Finding| f.deadline.as_ref().map(|d| d.at);
        match (deadline(a), deadline(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then(b.behind.cmp(&a.behind))
        .then_with(|| (&a.repository, &a.file, a.line).cmp(&(&b.repository, &b.file, b.line)))
    });
}

/// What [`run`] needs.
pub struct Context {
    pub settings: Settings,
    pub catalog: Catalog,
    pub forge: Arc<Forge>,
    pub store: Arc<Store>,
    /// Token for git fetches of GitHub repositories (never logged).
    pub git_token: Option<String>,
    pub cache_dir: PathBuf,
    /// Upstreams polled at once.
    pub concurrency: usize,
    /// Asks registries whether target images are published.
    pub registry: Option<Arc<crate::registry::Registry>>,
    /// Classifies releases and knows the fork schedule.
    pub engine: Option<Arc<crate::rules::Engine>>,
}

/// A deployment repository on GitHub, opened in the cache directory.
pub struct Remote {
    pub name: RepoName,
    /// The branch pull requests target.
    pub base_branch: String,
    pub session: crate::git::Session,
}

impl Context {
    /// Opens `owner/name` for git work: its default branch (unless `branch`
    /// says otherwise), clone URL and token, in its cache directory.
    pub async fn remote(
        &self,
        owner: &str,
        name: &str,
        branch: Option<&str>,
    ) -> Result<Remote, String> {
        let repo = RepoName::new(owner, name);
        let info = self
            .forge
            .repository(&repo)
            .await
            .map_err(|e| e.to_string())?;
        let token = self.git_token_for(&repo).await?;
        let dir = self.cache_dir.join("repos").join(owner).join(name);
        let session = crate::git::Session::open(&dir, &info.clone_url, token.as_deref())
            .map_err(|e| e.to_string())?;
        Ok(Remote {
            name: repo,
            base_branch: branch.map_or(info.default_branch, str::to_string),
            session,
        })
    }

    /// The token git uses for `repo`: the App's installation token in App
    /// mode, else the configured token.
    pub async fn git_token_for(&self, repo: &RepoName) -> Result<Option<String>, String> {
        if self.forge.is_app() {
            return self.forge.git_token(repo).await.map_err(|e| e.to_string());
        }
        Ok(self.git_token.clone())
    }
}

/// Progress events for a terminal indicator.
pub enum Progress {
    Repository(String),
    Polled { done: usize, total: usize },
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
    registry: Option<Arc<crate::registry::Registry>>,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> CheckReport {
    let mut repos = Vec::new();
    let mut failures = Vec::new();
    let mut problems = Vec::new();
    let mut opened = Vec::new();
    let mut repo_files = Vec::new();
    for configured in &configured_repositories(&ctx.settings) {
        let name = configured.source.to_string();
        progress(Progress::Repository(name.clone()));
        match open_repository(ctx, configured).await {
            Ok((root, repo)) => {
                opened.push(repo.clone());
                let repo = &repo;
                let scan = tokio::task::spawn_blocking(move || manifest::scan(&root)).await;
                let Ok(scan) = scan else {
                    failures.push(Failure {
                        subject: name,
                        error: "scan failed".into(),
                    });
                    continue;
                };
                problems.extend(scan.problems.iter().map(|p| format!("{name}: {p}")));
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
                error,
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
    if let Some(engine) = &ctx.engine {
        annotate(&mut report, &ctx.catalog, engine, now);
    }
    report
}

/// The repositories of the settings; none configured means the current
/// directory.
pub fn configured_repositories(settings: &Settings) -> Vec<Repository> {
    if settings.repositories.is_empty() {
        vec![Repository {
            source: RepoSource::Path(PathBuf::from(".")),
            branch: None,
            environments: Vec::new(),
        }]
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
    registry: Option<&Arc<crate::registry::Registry>>,
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
    report
}

/// Why a repository was not scanned.
enum Skipped {
    Failed(String),
    /// Its `.github/upkeep.yml` is invalid.
    RepoFile(RepoFileProblem),
}

impl From<String> for Skipped {
    fn from(e: String) -> Self {
        Skipped::Failed(e)
    }
}

/// The local tree of a repository (its path, or a fresh shallow fetch of
/// its base branch) and the repository as configured: for GitHub, the
/// settings entry with the `.github/upkeep.yml` of the fetched commit
/// merged in; when that file sets another `branch`, that branch is fetched
/// and scanned instead.
async fn open_repository(
    ctx: &Context,
    repo: &Repository,
) -> Result<(PathBuf, Repository), Skipped> {
    match &repo.source {
        RepoSource::Path(p) => {
            if p.is_dir() {
                Ok((p.clone(), repo.clone()))
            } else {
                Err(Skipped::Failed(format!("{}: not a directory", p.display())))
            }
        }
        RepoSource::GitHub { owner, name } => {
            let remote = ctx.remote(owner, name, repo.branch.as_deref()).await?;
            let (remote, commit, file) = tokio::task::spawn_blocking(move || {
                let commit = remote
                    .session
                    .fetch(&remote.base_branch, 1)?
                    .ok_or_else(|| crate::git::GitError::NoBranch {
                        url: remote.name.to_string(),
                        branch: remote.base_branch.clone(),
                    })?;
                let file = remote.session.read(&commit, crate::settings::REPO_FILE)?;
                Ok::<_, crate::git::GitError>((remote, commit, file))
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            let merged = match file {
                None => repo.clone(),
                Some(bytes) => {
                    let label = crate::settings::REPO_FILE;
                    let loaded = match String::from_utf8(bytes) {
                        Ok(text) => {
                            crate::settings::load_repo_file(&text, label, owner, name, repo)
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
                                repository: remote.name.clone(),
                                commit,
                                errors,
                            }));
                        }
                    }
                }
            };
            let other_branch = merged.branch.clone().filter(|b| *b != remote.base_branch);
            let path = tokio::task::spawn_blocking(move || {
                let commit = match &other_branch {
                    None => commit,
                    Some(branch) => remote.session.fetch(branch, 1)?.ok_or_else(|| {
                        crate::git::GitError::NoBranch {
                            url: remote.name.to_string(),
                            branch: branch.clone(),
                        }
                    })?,
                };
                remote.session.checkout(&commit)?;
                Ok::<_, crate::git::GitError>(remote.session.workdir())
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            Ok((path, merged))
        }
    }
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
        crate::settings::REPO_FILE
    );
    for e in &p.errors {
        out.push_str(e);
        out.push('\n');
    }
    out.push_str("```\n");
    out
}
