//! The pull-request side of the model: branches, labels, pull requests (which
//! are issues: one number sequence per repository), comments, and what tests
//! read back ([`PullView`]). Routes live in `routes/pulls.rs`,
//! `routes/issues.rs`, `routes/labels.rs`, `routes/branches.rs`.
//!
//! Branches come from the repository's git dir when it has one
//! (`Repo::git_dir`, read live with git2), else from `Repo::branches`, where
//! the default branch always exists (at a made-up SHA unless set).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use chrono::{DateTime, SubsecRound, Utc};

use super::git::Git;
use super::state::{CallerKey, Repo, State};

/// Who writes when a test does not say: the login behind every token.
pub const DEFAULT_LOGIN: &str = "upkeep-test";

/// A label, of the repository (`GitHubDouble::add_label`) or as created
/// through the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Assigned by the double.
    pub id: u64,
    pub name: String,
    /// Six hex digits, no `#`.
    pub color: String,
    pub description: Option<String>,
    /// One of GitHub's defaults for new repositories.
    pub default: bool,
}

impl Label {
    /// Grey (`ededed`, GitHub's colour for labels created by adding them
    /// to an issue), no description.
    pub fn new(name: &str) -> Self {
        Label {
            id: 0,
            name: name.to_owned(),
            color: "ededed".to_owned(),
            description: None,
            default: false,
        }
    }

    pub fn color(mut self, color: &str) -> Self {
        self.color = color.to_owned();
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        self.description = Some(description.to_owned());
        self
    }
}

/// GitHub's labels of a new repository (`Repo::with_default_labels`).
pub(super) const DEFAULT_LABELS: &[(&str, &str, &str)] = &[
    ("bug", "d73a4a", "Something isn't working"),
    (
        "documentation",
        "0075ca",
        "Improvements or additions to documentation",
    ),
    (
        "duplicate",
        "cfd3d7",
        "This issue or pull request already exists",
    ),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
];

/// A pull request as the double stores it.
#[derive(Clone, Debug)]
pub struct PullRequest {
    pub id: u64,
    /// Its id as an issue (GitHub gives the two objects different ids).
    pub issue_id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    /// Branch names in this repository.
    pub head: String,
    pub base: String,
    /// Tips of head and base: followed live while open, frozen on close.
    pub head_sha: String,
    pub base_sha: String,
    pub open: bool,
    pub draft: bool,
    pub maintainer_can_modify: bool,
    /// Login of the author.
    pub author: String,
    /// Label ids, in the order added.
    pub labels: Vec<u64>,
    pub assignees: Vec<String>,
    pub requested_reviewers: Vec<String>,
    /// Team slugs.
    pub requested_teams: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub merged_at: Option<DateTime<Utc>>,
    pub merged_by: Option<String>,
    pub merge_commit_sha: Option<String>,
    /// Logins that approved it (`GitHubDouble::approve`).
    pub approvals: Vec<String>,
    /// The test's word on conflicts (`GitHubDouble::set_mergeable`);
    /// `None`: computed (a real merge attempt in the git dir, else clean).
    pub mergeable_override: Option<bool>,
    /// The next this many reads of it answer `mergeable: null`, as GitHub
    /// does while it computes mergeability in the background.
    pub mergeable_unknown_reads: usize,
}

impl PullRequest {
    pub fn merged(&self) -> bool {
        self.merged_at.is_some()
    }

    pub fn state(&self) -> &'static str {
        if self.open { "open" } else { "closed" }
    }
}

/// A comment on an issue or pull request.
#[derive(Clone, Debug)]
pub struct Comment {
    pub id: u64,
    /// The issue or pull request it is on.
    pub number: u64,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A pull request to seed with `GitHubDouble::add_pull`, as if opened
/// earlier: `NewPull::new("Bump x", "upkeep/x-1.2", "main").closed()`.
#[derive(Clone, Debug)]
pub struct NewPull {
    title: String,
    head: String,
    base: String,
    body: Option<String>,
    draft: bool,
    author: String,
    labels: Vec<String>,
    assignees: Vec<String>,
    reviewers: Vec<String>,
    closed: bool,
    merged: bool,
}

impl NewPull {
    pub fn new(title: &str, head: &str, base: &str) -> Self {
        NewPull {
            title: title.to_owned(),
            head: head.to_owned(),
            base: base.to_owned(),
            body: None,
            draft: false,
            author: DEFAULT_LOGIN.to_owned(),
            labels: Vec::new(),
            assignees: Vec::new(),
            reviewers: Vec::new(),
            closed: false,
            merged: false,
        }
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    pub fn draft(mut self) -> Self {
        self.draft = true;
        self
    }

    pub fn author(mut self, login: &str) -> Self {
        self.author = login.to_owned();
        self
    }

    /// Missing labels are created grey, as GitHub does when adding them.
    pub fn labels(mut self, names: &[&str]) -> Self {
        self.labels = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    pub fn assignees(mut self, logins: &[&str]) -> Self {
        self.assignees = logins.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    pub fn reviewers(mut self, logins: &[&str]) -> Self {
        self.reviewers = logins.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// Closed without merging.
    pub fn closed(mut self) -> Self {
        self.closed = true;
        self
    }

    /// Merged (and closed); the git dir, if any, is left alone.
    pub fn merged(mut self) -> Self {
        self.merged = true;
        self
    }
}

/// A pull request as a test reads it back (`GitHubDouble::pulls`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullView {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub head: String,
    pub base: String,
    pub head_sha: String,
    pub base_sha: String,
    /// `open` or `closed`.
    pub state: &'static str,
    pub merged: bool,
    pub draft: bool,
    pub author: String,
    /// Label names, sorted as GitHub lists them.
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub requested_reviewers: Vec<String>,
    pub requested_teams: Vec<String>,
    /// Comment bodies, oldest first.
    pub comments: Vec<String>,
}

/// A made-up 40-hex-digit SHA, stable for the same inputs.
pub(super) fn fake_sha(parts: &[&str]) -> String {
    let mut out = String::with_capacity(40);
    for salt in 0u8..3 {
        let mut h = DefaultHasher::new();
        (salt, parts).hash(&mut h);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(40);
    out
}

pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

impl Repo {
    /// Links the repository to a git repository on disk (normally the bare
    /// repository a `GitServer` serves): branches, pull request heads and
    /// bases, merges and the Git Data API then use its real refs and objects.
    pub fn git_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.git_dir = Some(path.into());
        self
    }

    /// Clones from and is backed by the repository `name` that `git`
    /// serves: [`Repo::clone_url`] and [`Repo::git_dir`] in one.
    pub fn served_by(self, git: &crate::support::git_http::GitServer, name: &str) -> Self {
        self.clone_url(&git.url(name)).git_dir(git.bare_path(name))
    }

    /// Adds a branch at a made-up SHA (repositories without a git dir).
    pub fn branch(mut self, name: &str) -> Self {
        let sha = fake_sha(&[&self.full_name(), name, "seed"]);
        self.branches.insert(name.to_owned(), sha);
        self
    }

    /// Starts with GitHub's nine default labels (`bug`, `documentation`…).
    pub fn with_default_labels(mut self) -> Self {
        self.seed_default_labels = true;
        self
    }

    pub(super) fn git(&self) -> Option<Git> {
        self.git_dir.as_deref().map(Git::open)
    }

    /// The tip of `branch`, if it exists.
    pub fn branch_sha(&self, branch: &str) -> Option<String> {
        match self.git() {
            Some(git) => git.branch(branch),
            None => self.branches.get(branch).cloned().or_else(|| {
                (branch == self.default_branch)
                    .then(|| fake_sha(&[&self.full_name(), branch, "default"]))
            }),
        }
    }

    /// The label called `name`, ignoring case as GitHub does.
    pub fn label(&self, name: &str) -> Option<&Label> {
        self.labels
            .iter()
            .find(|l| l.name.to_lowercase() == name.to_lowercase())
    }

    pub fn pull(&self, number: u64) -> Option<&PullRequest> {
        self.pulls.iter().find(|p| p.number == number)
    }

    pub fn pull_mut(&mut self, number: u64) -> Option<&mut PullRequest> {
        self.pulls.iter_mut().find(|p| p.number == number)
    }

    /// Labels sorted as GitHub lists them (by name, ignoring case).
    pub fn labels_sorted(&self) -> Vec<&Label> {
        let mut all: Vec<&Label> = self.labels.iter().collect();
        all.sort_by_key(|l| (l.name.to_lowercase(), l.id));
        all
    }

    /// The labels of pull request `number`, sorted by name.
    pub fn labels_of(&self, number: u64) -> Vec<&Label> {
        let Some(pull) = self.pull(number) else {
            return Vec::new();
        };
        let mut all: Vec<&Label> = self
            .labels
            .iter()
            .filter(|l| pull.labels.contains(&l.id))
            .collect();
        all.sort_by_key(|l| (l.name.to_lowercase(), l.id));
        all
    }

    pub fn comments_on(&self, number: u64) -> Vec<&Comment> {
        self.comments
            .iter()
            .filter(|c| c.number == number)
            .collect()
    }

    /// Follows the branches of open pull requests: their head and base SHAs
    /// are the branch tips now (a deleted branch keeps its last SHA).
    pub(super) fn sync_pulls(&mut self) {
        if self.pulls.iter().all(|p| !p.open) {
            return;
        }
        let git = self.git();
        let tips: Vec<(Option<String>, Option<String>)> = self
            .pulls
            .iter()
            .map(|p| {
                if !p.open {
                    return (None, None);
                }
                match &git {
                    Some(git) => (git.branch(&p.head), git.branch(&p.base)),
                    None => (self.branch_sha(&p.head), self.branch_sha(&p.base)),
                }
            })
            .collect();
        for (pull, (head, base)) in self.pulls.iter_mut().zip(tips) {
            if let Some(head) = head {
                pull.head_sha = head;
            }
            if let Some(base) = base {
                pull.base_sha = base;
            }
        }
    }

    pub(super) fn view(&self, pull: &PullRequest) -> PullView {
        PullView {
            number: pull.number,
            title: pull.title.clone(),
            body: pull.body.clone(),
            head: pull.head.clone(),
            base: pull.base.clone(),
            head_sha: pull.head_sha.clone(),
            base_sha: pull.base_sha.clone(),
            state: pull.state(),
            merged: pull.merged(),
            draft: pull.draft,
            author: pull.author.clone(),
            labels: self
                .labels_of(pull.number)
                .iter()
                .map(|l| l.name.clone())
                .collect(),
            assignees: pull.assignees.clone(),
            requested_reviewers: pull.requested_reviewers.clone(),
            requested_teams: pull.requested_teams.clone(),
            comments: self
                .comments_on(pull.number)
                .iter()
                .map(|c| c.body.clone())
                .collect(),
        }
    }
}

impl State {
    /// The login a caller writes as: set per token with
    /// `GitHubDouble::set_login`, else [`DEFAULT_LOGIN`].
    pub(super) fn login_of(&self, caller: CallerKey) -> String {
        self.logins
            .get(&caller)
            .cloned()
            .unwrap_or_else(|| DEFAULT_LOGIN.to_owned())
    }

    /// The repository called `full_name`, or a panic naming it (test helpers).
    pub(super) fn expect_repo(&mut self, full_name: &str) -> &mut Repo {
        self.repo_mut(full_name)
            .unwrap_or_else(|| panic!("GitHub double: no repository {full_name}"))
    }

    /// Adds a label to the repository; returns its id. Panics on a
    /// duplicate name (ignoring case).
    pub(super) fn add_label(&mut self, full_name: &str, mut label: Label) -> u64 {
        if self.repo(full_name).is_none() {
            self.upsert_repo(Repo::new(full_name));
        }
        label.id = self.next_id();
        let id = label.id;
        let repo = self.expect_repo(full_name);
        assert!(
            repo.label(&label.name).is_none(),
            "GitHub double: {full_name} already has a label {:?}",
            label.name
        );
        repo.labels.push(label);
        id
    }

    /// The id of the label called `name` in the repository keyed `key`,
    /// created grey first if missing (what adding labels to an issue does).
    pub(super) fn ensure_label(&mut self, key: &str, name: &str) -> u64 {
        if let Some(label) = self.repos[key].label(name) {
            return label.id;
        }
        let id = self.next_id();
        let repo = self.repos.get_mut(key).expect("repository");
        repo.labels.push(Label {
            id,
            ..Label::new(name)
        });
        id
    }

    /// Opens a pull request in the repository keyed `key` (no validation:
    /// routes validate first); returns its number.
    pub(super) fn open_pull(
        &mut self,
        key: &str,
        title: &str,
        head: &str,
        base: &str,
        author: &str,
    ) -> u64 {
        self.user(author);
        let (id, issue_id) = (self.next_id(), self.next_id());
        let now = self.now();
        let repo = self.repos.get_mut(key).expect("repository");
        let number = repo.next_number;
        repo.next_number += 1;
        let head_sha = repo
            .branch_sha(head)
            .unwrap_or_else(|| fake_sha(&[key, head, "missing"]));
        let base_sha = repo
            .branch_sha(base)
            .unwrap_or_else(|| fake_sha(&[key, base, "missing"]));
        repo.pulls.push(PullRequest {
            id,
            issue_id,
            number,
            title: title.to_owned(),
            body: None,
            head: head.to_owned(),
            base: base.to_owned(),
            head_sha,
            base_sha,
            open: true,
            draft: false,
            maintainer_can_modify: true,
            author: author.to_owned(),
            labels: Vec::new(),
            assignees: Vec::new(),
            requested_reviewers: Vec::new(),
            requested_teams: Vec::new(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            merged_at: None,
            merged_by: None,
            merge_commit_sha: None,
            approvals: Vec::new(),
            mergeable_override: None,
            mergeable_unknown_reads: 0,
        });
        number
    }

    pub(super) fn add_pull(&mut self, full_name: &str, new: NewPull) -> u64 {
        if self.repo(full_name).is_none() {
            self.upsert_repo(Repo::new(full_name));
        }
        let key = full_name.to_ascii_lowercase();
        {
            let repo = self.expect_repo(full_name);
            if repo.git_dir.is_none() {
                for branch in [&new.head, &new.base] {
                    if repo.branch_sha(branch).is_none() {
                        let sha = fake_sha(&[full_name, branch, "seed"]);
                        repo.branches.insert(branch.clone(), sha);
                    }
                }
            }
        }
        let number = self.open_pull(&key, &new.title, &new.head, &new.base, &new.author);
        let labels: Vec<u64> = new
            .labels
            .iter()
            .map(|name| self.ensure_label(&key, name))
            .collect();
        for login in new.assignees.iter().chain(&new.reviewers) {
            self.user(login);
        }
        let pull = self.repos.get_mut(&key).unwrap().pull_mut(number).unwrap();
        pull.body = new.body;
        pull.draft = new.draft;
        pull.labels = labels;
        pull.assignees = new.assignees;
        pull.requested_reviewers = new.reviewers;
        if new.merged {
            self.mark_merged(&key, number, None);
        } else if new.closed {
            self.close_pull(full_name, number);
        }
        number
    }

    /// Closes pull request `number` without merging it.
    pub(super) fn close_pull(&mut self, full_name: &str, number: u64) {
        let now = self.now();
        let repo = self.expect_repo(full_name);
        repo.sync_pulls();
        let pull = repo
            .pull_mut(number)
            .unwrap_or_else(|| panic!("GitHub double: no pull request #{number} in {full_name}"));
        pull.open = false;
        pull.closed_at = Some(now);
        pull.updated_at = now;
    }

    /// Marks pull request `number` merged and closed, by the repository
    /// owner, with `merge_sha` (or a made-up one).
    pub(super) fn mark_merged(&mut self, key: &str, number: u64, merge_sha: Option<String>) {
        let now = self.now();
        let repo = self.repos.get_mut(key).expect("repository");
        let owner = repo.owner.clone();
        let pull = repo
            .pull_mut(number)
            .unwrap_or_else(|| panic!("GitHub double: no pull request #{number} in {key}"));
        assert!(
            !pull.merged(),
            "GitHub double: pull request #{number} in {key} is already merged"
        );
        pull.open = false;
        pull.closed_at = Some(now);
        pull.merged_at = Some(now);
        pull.updated_at = now;
        pull.merged_by = Some(owner.clone());
        pull.merge_commit_sha =
            Some(merge_sha.unwrap_or_else(|| fake_sha(&[key, &number.to_string(), "merge"])));
        self.user(&owner);
    }

    /// Merges pull request `number`: with a git dir, its base branch is
    /// fast-forwarded to the head (or gets a merge commit) first.
    pub(super) fn merge_pull(&mut self, full_name: &str, number: u64) -> String {
        let key = full_name.to_ascii_lowercase();
        let repo = self.expect_repo(full_name);
        repo.sync_pulls();
        let owner = repo.owner.clone();
        let pull = repo
            .pull(number)
            .unwrap_or_else(|| panic!("GitHub double: no pull request #{number} in {full_name}"))
            .clone();
        assert!(
            pull.open,
            "GitHub double: pull request #{number} in {full_name} is not open"
        );
        let sha = match repo.git() {
            Some(git) => {
                let message = format!(
                    "Merge pull request #{number} from {}/{}\n\n{}",
                    repo.owner, pull.head, pull.title
                );
                git.merge_into(&pull.base, &pull.head_sha, &message, &owner)
            }
            None => {
                let sha = fake_sha(&[&key, &number.to_string(), "merge"]);
                repo.branches.insert(pull.base.clone(), sha.clone());
                sha
            }
        };
        self.mark_merged(&key, number, Some(sha.clone()));
        sha
    }
}
