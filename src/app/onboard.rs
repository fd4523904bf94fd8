//! Onboarding under `upkeep serve`: a repository the App is installed on
//! that is neither listed in the settings nor has `.github/upkeep.yml` on
//! its base branch gets one pull request adding that file (guessed from
//! its tree by [`crate::domain::onboard`]) with a preview of the pull
//! requests upkeep would open; nothing else happens there until the file
//! is on the base branch.
//!
//! The onboarding pull request is found again by its branch
//! ([`BRANCH`]): whatever its state, a second one is never opened. One
//! closed without merging is left closed: upkeep stays out of that
//! repository until someone adds the file (or lists the repository in the
//! settings). Reads and writes through [`crate::io`]; no decisions of its
//! own beyond "configured or not".

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::app::context::Context;
use crate::app::error::AppError;
use crate::app::pipeline::{self, Mode, PlannedView};
use crate::domain::manifest;
use crate::domain::onboard::{self, Guess};
use crate::domain::printable::printable;
use crate::domain::render::Templates;
use crate::domain::repo::RepoName;
use crate::domain::settings::{REPO_FILE, RepoSource, Repository, load_repo_file};
use crate::io::forge::NewPull;
use crate::io::git::{Author, GitError, blocking};

/// The branch of the onboarding pull request.
pub const BRANCH: &str = "upkeep/onboarding";
/// The hidden marker in its body.
pub const MARKER: &str = "<!-- upkeep:onboarding -->";
/// Its title.
pub const TITLE: &str = "Configure upkeep";

/// Where a repository stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// `.github/upkeep.yml` is on the base branch: upkeep works on it.
    Configured,
    /// Not configured; the onboarding pull request (or why there is none
    /// yet): nothing else happens there.
    Waiting(String),
    /// The onboarding pull request was opened now.
    Opened { number: u64, url: String },
}

/// Whether `repo` (installed, not in the settings) is configured; when
/// not and `open` is set, opens its onboarding pull request unless one
/// exists in any state. `ctx.settings.repositories` is `[repo]` with
/// defaults.
pub async fn onboard(
    ctx: &Context,
    templates: &Templates,
    repo: &RepoName,
    open: bool,
    now: DateTime<Utc>,
) -> Result<Status, AppError> {
    let base = ctx.locate(&repo.owner, &repo.name, None).await?;
    let session = ctx.session(repo, &base.clone_url).await?;
    let branch = base.base_branch.clone();
    let fetched = blocking(|| {
        let Some(commit) = session.fetch(&branch, 50)? else {
            return Ok::<_, GitError>(None);
        };
        let file = session.read(&commit, REPO_FILE)?;
        Ok(Some((commit, file.is_some())))
    })?;
    let commit = match fetched {
        None => return Ok(Status::Waiting(format!("no branch {branch} yet"))),
        Some((_, true)) => return Ok(Status::Configured),
        Some((commit, false)) => commit,
    };
    let existing = ctx.forge.pulls_by_head(repo, BRANCH).await?;
    if let Some(pr) = existing.first() {
        let state = if pr.is_merged() {
            "merged (but the file is not on the base branch)"
        } else if pr.is_open() {
            "open"
        } else {
            "closed without merging"
        };
        return Ok(Status::Waiting(format!(
            "onboarding pull request #{} is {state}",
            pr.number
        )));
    }
    if !open {
        return Ok(Status::Waiting("no onboarding pull request yet".into()));
    }
    blocking(|| session.checkout(&commit))?;
    let root = session.workdir();
    let scan = blocking(move || manifest::scan(&root));
    let files: Vec<&str> = scan.references.iter().map(|r| r.file.as_str()).collect();
    let guess = onboard::guess(&files);
    let text = onboard::render_repo_file(&guess);
    let default = default_repository(repo);
    let guessed =
        load_repo_file(&text, REPO_FILE, &repo.owner, &repo.name, &default).map_err(|e| {
            AppError::Task {
                what: "the guessed .github/upkeep.yml".into(),
                cause: e.to_string(),
            }
        })?;
    // The preview: what a pass would do with the guessed file.
    let mut settings = ctx.settings.clone();
    settings.repositories = vec![guessed];
    let preview_ctx = Context {
        settings,
        catalog: ctx.catalog.clone(),
        forge: ctx.forge.clone(),
        store: ctx.store.clone(),
        git_token: ctx.git_token.clone(),
        cache_dir: ctx.cache_dir.clone(),
        concurrency: ctx.concurrency,
        registry: ctx.registry.clone(),
        prometheus: ctx.prometheus.clone(),
        engine: ctx.engine.clone(),
        commands: ctx.commands,
    };
    let planned = pipeline::run(&preview_ctx, templates, Mode::Plan, now, &|_| {}).await;
    let body = body(&guess, &text, &planned.planned, planned.held.len());
    let author = match &ctx.settings.pull_requests.author {
        Some((name, email)) => Author {
            name: name.clone(),
            email: email.clone(),
        },
        None => Author::default(),
    };
    let files = vec![(REPO_FILE.to_string(), text.into_bytes())];
    blocking(|| {
        let made = session.commit_files(
            &commit,
            &files,
            "upkeep: add .github/upkeep.yml (onboarding)",
            &author,
        )?;
        session.push(&made, BRANCH, true)
    })?;
    let labels: BTreeSet<String> = ctx.settings.pull_requests.labels.iter().cloned().collect();
    crate::app::publish::ensure_labels(&ctx.forge, repo, &labels).await?;
    let created = ctx
        .forge
        .create_pull(
            repo,
            &NewPull {
                title: TITLE,
                head: BRANCH,
                base: &base.base_branch,
                body: &body,
            },
        )
        .await?;
    if !labels.is_empty() {
        let labels: Vec<String> = labels.into_iter().collect();
        ctx.forge.add_labels(repo, created.number, &labels).await?;
    }
    Ok(Status::Opened {
        number: created.number,
        url: created.html_url,
    })
}

/// The repository with defaults (no environments).
pub fn default_repository(repo: &RepoName) -> Repository {
    Repository::new(RepoSource::GitHub {
        owner: repo.owner.clone(),
        name: repo.name.clone(),
    })
}

/// Markdown text from the repository in a table cell or list item: no
/// control characters, no markup that changes the line.
fn code(text: &str) -> String {
    let clean = printable(text).replace('`', "'");
    format!("`{clean}`")
}

/// One line per planned pull request: its title, then each file with
/// from → to. A simple list (a full plan renderer may replace it).
pub fn preview(planned: &[PlannedView]) -> Vec<String> {
    let mut out = Vec::new();
    for pr in planned {
        out.push(format!(
            "- **{}**",
            printable(&pr.title).replace('*', "\\*")
        ));
        for e in &pr.edits {
            out.push(format!(
                "  - {}: {} {} → {}",
                code(&e.file),
                code(&e.image),
                code(&e.from),
                code(&e.to)
            ));
        }
    }
    out
}

/// The onboarding pull request's body.
pub fn body(guess: &Guess, file: &str, planned: &[PlannedView], held: usize) -> String {
    let mut out = String::new();
    out.push_str(MARKER);
    out.push_str("\n## Welcome to upkeep\n\n");
    out.push_str(
        "upkeep keeps the container images of this repository up to date: it watches the \
         releases of the software deployed here and opens labelled pull requests that bump \
         image tags, environment by environment, in waves (testnets before mainnet).\n\n\
         This pull request adds `.github/upkeep.yml`, guessed from the paths of this \
         repository. **Nothing else happens here until it is merged** (edit the file in \
         this branch first if the guess is wrong). Close it to keep upkeep out: it will not \
         be opened again.\n\n",
    );
    out.push_str(&format!(
        "### Environments guessed\n\n{} files with image references.\n\n",
        guess.files
    ));
    if guess.environments.is_empty() {
        out.push_str("No environment recognised: every reference is upgraded at once.\n\n");
    }
    for e in &guess.environments {
        let network = e.network.as_deref().map_or_else(
            || "no network".to_string(),
            |n| format!("network {}", code(n)),
        );
        let paths: Vec<String> = e.paths.iter().map(|p| code(p)).collect();
        out.push_str(&format!(
            "- {} (wave {}, {network}): {}\n",
            code(&e.name),
            e.wave,
            paths.join(", ")
        ));
    }
    out.push_str("\n### Pull requests upkeep would open\n\n");
    if planned.is_empty() {
        out.push_str("None: everything is up to date.\n");
    } else {
        for line in preview(planned) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if held > 0 {
        out.push_str(&format!(
            "\n{held} more upgrades wait for their rollout wave or the pull request limits.\n"
        ));
    }
    out.push_str("\n<details><summary>.github/upkeep.yml</summary>\n\n```yaml\n");
    out.push_str(&file.replace("```", "'''"));
    out.push_str("```\n\n</details>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::PlannedEdit;

    #[test]
    fn the_body_lists_each_planned_pull_request_with_its_files() {
        let guess = onboard::guess(&["envs/hoodi/values.yaml"]);
        let view = PlannedView {
            repository: "acme/deploy".into(),
            upstream: "sigp/lighthouse".into(),
            version: "v6.1.0".into(),
            branch: "upkeep/lighthouse".into(),
            title: "Bump lighthouse to v6.1.0".into(),
            labels: vec![],
            reviewers: vec![],
            assignees: vec![],
            edits: vec![PlannedEdit {
                upstream: "sigp/lighthouse".into(),
                to_version: "v6.1.0".into(),
                file: "envs/hoodi/values.yaml".into(),
                line: 3,
                image: "sigp/lighthouse".into(),
                from: "v6.0.0".into(),
                to: "v6.1.0".into(),
                digest: None,
                environment: Some("hoodi".into()),
            }],
            diff: String::new(),
            body: String::new(),
        };
        let text = body(&guess, "environments: []\n", &[view], 0);
        assert!(text.starts_with(MARKER));
        assert!(text.contains("- **Bump lighthouse to v6.1.0**\n  - `envs/hoodi/values.yaml`: `sigp/lighthouse` `v6.0.0` → `v6.1.0`"), "{text}");
        assert!(
            text.contains("- `hoodi` (wave 1, network `hoodi`): `envs/hoodi/**`"),
            "{text}"
        );
    }
}
