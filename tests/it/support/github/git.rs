//! The double's window on a real bare git repository (`Repo::git_dir`), via
//! git2: branch tips, ancestry and mergeability for pull requests, merging
//! a pull request's head into its base (`GitHubDouble::merge_pr`), and the
//! objects of the Git Data API (blobs, trees, commits, refs).
//!
//! The repository is opened afresh for every call, so pushes made meanwhile
//! through `git http-backend` (or the git CLI) are always seen.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use git2::build::TreeUpdateBuilder;
use git2::{FileMode, ObjectType, Oid, Repository, Signature, Time};

/// A bare (or not) repository on disk.
pub(super) struct Git(Repository);

/// Who wrote or committed, as the Git Data API shows it.
#[derive(Clone, Debug)]
pub(super) struct Person {
    pub name: String,
    pub email: String,
    pub date: DateTime<Utc>,
}

/// A commit as `repos/get-branch` and `git/create-commit` show it.
#[derive(Clone, Debug)]
pub(super) struct CommitInfo {
    pub sha: String,
    pub message: String,
    pub author: Person,
    pub committer: Person,
    pub tree: String,
    pub parents: Vec<String>,
}

/// One top-level entry of a tree.
#[derive(Clone, Debug)]
pub(super) struct TreeEntry {
    pub path: String,
    pub mode: String,
    pub kind: &'static str,
    pub sha: String,
    pub size: Option<usize>,
}

/// One edit of `git/create-tree`: `sha: None` deletes the path.
pub(super) struct TreeEdit {
    pub path: String,
    pub mode: String,
    pub sha: Option<String>,
}

/// What a pull request changes: commits on head not on base, and the diff
/// from their merge base.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct DiffStats {
    pub commits: usize,
    pub additions: usize,
    pub deletions: usize,
    pub changed_files: usize,
}

fn oid(sha: &str) -> Result<Oid, String> {
    Oid::from_str(sha).map_err(|_| format!("not a SHA: {sha:?}"))
}

impl Git {
    pub fn open(dir: &Path) -> Git {
        Git(Repository::open(dir).unwrap_or_else(|e| {
            panic!("GitHub double: cannot open git dir {}: {e}", dir.display())
        }))
    }

    /// The commit `refs/heads/<branch>` points at.
    pub fn branch(&self, branch: &str) -> Option<String> {
        self.commit_of_ref(&format!("refs/heads/{branch}"))
    }

    /// The commit a fully qualified ref points at.
    pub fn commit_of_ref(&self, name: &str) -> Option<String> {
        let reference = self.0.find_reference(name).ok()?;
        Some(reference.peel_to_commit().ok()?.id().to_string())
    }

    /// Whether `sha` names a commit in this repository.
    pub fn has_commit(&self, sha: &str) -> bool {
        oid(sha).is_ok_and(|id| self.0.find_commit(id).is_ok())
    }

    /// `ancestor` is `of` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &str, of: &str) -> bool {
        match (oid(ancestor), oid(of)) {
            (Ok(a), Ok(b)) => a == b || self.0.graph_descendant_of(b, a).unwrap_or(false),
            _ => false,
        }
    }

    /// Whether merging `head` into `base` has no conflicts.
    pub fn mergeable(&self, base: &str, head: &str) -> bool {
        let commits = oid(base)
            .and_then(|b| Ok((b, oid(head)?)))
            .ok()
            .and_then(|(b, h)| Some((self.0.find_commit(b).ok()?, self.0.find_commit(h).ok()?)));
        match commits {
            Some((b, h)) => self
                .0
                .merge_commits(&b, &h, None)
                .is_ok_and(|index| !index.has_conflicts()),
            None => false,
        }
    }

    pub fn diff_stats(&self, base: &str, head: &str) -> DiffStats {
        self.try_diff_stats(base, head).unwrap_or_default()
    }

    fn try_diff_stats(&self, base: &str, head: &str) -> Result<DiffStats, git2::Error> {
        let (base, head) = (Oid::from_str(base)?, Oid::from_str(head)?);
        let mut walk = self.0.revwalk()?;
        walk.push(head)?;
        walk.hide(base)?;
        let commits = walk.count();
        let merge_base = self.0.merge_base(base, head)?;
        let old = self.0.find_commit(merge_base)?.tree()?;
        let new = self.0.find_commit(head)?.tree()?;
        let stats = self
            .0
            .diff_tree_to_tree(Some(&old), Some(&new), None)?
            .stats()?;
        Ok(DiffStats {
            commits,
            additions: stats.insertions(),
            deletions: stats.deletions(),
            changed_files: stats.files_changed(),
        })
    }

    pub fn commit(&self, sha: &str) -> Option<CommitInfo> {
        let commit = self.0.find_commit(oid(sha).ok()?).ok()?;
        let person = |s: Signature<'_>| Person {
            name: s.name().unwrap_or_default().to_owned(),
            email: s.email().unwrap_or_default().to_owned(),
            date: Utc
                .timestamp_opt(s.when().seconds(), 0)
                .single()
                .unwrap_or_default(),
        };
        Some(CommitInfo {
            sha: sha.to_owned(),
            message: commit.message().unwrap_or_default().to_owned(),
            author: person(commit.author()),
            committer: person(commit.committer()),
            tree: commit.tree_id().to_string(),
            parents: commit.parent_ids().map(|p| p.to_string()).collect(),
        })
    }

    /// Moves `refs/heads/<base>` to include `head`: a fast-forward when
    /// possible, else a merge commit by `who`. Panics on conflicts.
    pub fn merge_into(&self, base: &str, head: &str, message: &str, who: &str) -> String {
        let base_ref = format!("refs/heads/{base}");
        let base_sha = self
            .branch(base)
            .unwrap_or_else(|| panic!("GitHub double: no base branch {base} to merge into"));
        let merged = if self.is_ancestor(&base_sha, head) {
            head.to_owned()
        } else {
            let (b, h) = (
                self.0.find_commit(oid(&base_sha).unwrap()).unwrap(),
                self.0
                    .find_commit(oid(head).expect("head SHA"))
                    .expect("head commit"),
            );
            let mut index = self.0.merge_commits(&b, &h, None).expect("merge");
            assert!(
                !index.has_conflicts(),
                "GitHub double: merging {head} into {base} conflicts"
            );
            let tree = self
                .0
                .find_tree(index.write_tree_to(&self.0).expect("merged tree"))
                .unwrap();
            let sig = Signature::now(who, &format!("{who}@users.noreply.github.com")).unwrap();
            self.0
                .commit(None, &sig, &sig, message, &tree, &[&b, &h])
                .expect("merge commit")
                .to_string()
        };
        self.0
            .reference(
                &base_ref,
                oid(&merged).unwrap(),
                true,
                "merged by the GitHub double",
            )
            .expect("update base branch");
        merged
    }

    /// Merges `head` into `refs/heads/<base>` as the merge button does:
    /// always a new commit by `who` on the base tip (never a fast forward),
    /// with the merged tree; parents base and head, or base alone when
    /// `squash` (squash and rebase merges). `None` on conflicts.
    pub fn merge_button(
        &self,
        base: &str,
        head: &str,
        message: &str,
        who: &str,
        squash: bool,
    ) -> Option<String> {
        let base_sha = self.branch(base)?;
        let b = self.0.find_commit(oid(&base_sha).ok()?).ok()?;
        let h = self.0.find_commit(oid(head).ok()?).ok()?;
        let tree = if self.is_ancestor(&base_sha, head) {
            h.tree().ok()?
        } else {
            let mut index = self.0.merge_commits(&b, &h, None).ok()?;
            if index.has_conflicts() {
                return None;
            }
            self.0.find_tree(index.write_tree_to(&self.0).ok()?).ok()?
        };
        let sig = Signature::now(who, &format!("{who}@users.noreply.github.com")).ok()?;
        let parents: Vec<&git2::Commit<'_>> = if squash { vec![&b] } else { vec![&b, &h] };
        let merged = self
            .0
            .commit(None, &sig, &sig, message, &tree, &parents)
            .ok()?;
        self.0
            .reference(
                &format!("refs/heads/{base}"),
                merged,
                true,
                "merged through the GitHub double's API",
            )
            .ok()?;
        Some(merged.to_string())
    }

    pub fn write_blob(&self, content: &[u8]) -> String {
        self.0.blob(content).expect("write blob").to_string()
    }

    pub fn blob_size(&self, sha: &str) -> Option<usize> {
        Some(self.0.find_blob(oid(sha).ok()?).ok()?.size())
    }

    /// `base` (or an empty tree) with `edits` applied; the new tree's SHA.
    pub fn write_tree(&self, base: Option<&str>, edits: &[TreeEdit]) -> Result<String, String> {
        let baseline = match base {
            Some(sha) => self
                .0
                .find_tree(oid(sha)?)
                .map_err(|_| format!("base_tree {sha} is not a tree"))?,
            None => {
                let empty = self.0.treebuilder(None).and_then(|b| b.write());
                self.0
                    .find_tree(empty.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?
            }
        };
        let mut update = TreeUpdateBuilder::new();
        for edit in edits {
            match &edit.sha {
                None => {
                    update.remove(edit.path.as_str());
                }
                Some(sha) => {
                    let mode = match edit.mode.as_str() {
                        "100644" => FileMode::Blob,
                        "100755" => FileMode::BlobExecutable,
                        "120000" => FileMode::Link,
                        "040000" => FileMode::Tree,
                        "160000" => FileMode::Commit,
                        other => return Err(format!("invalid mode {other:?}")),
                    };
                    let id = oid(sha)?;
                    if mode != FileMode::Commit && self.0.find_object(id, None).is_err() {
                        return Err(format!("tree.sha {sha} is not a valid object"));
                    }
                    update.upsert(edit.path.as_str(), id, mode);
                }
            }
        }
        update
            .create_updated(&self.0, &baseline)
            .map(|id| id.to_string())
            .map_err(|e| e.message().to_owned())
    }

    pub fn tree_entries(&self, sha: &str) -> Vec<TreeEntry> {
        let Some(tree) = oid(sha).ok().and_then(|id| self.0.find_tree(id).ok()) else {
            return Vec::new();
        };
        tree.iter()
            .map(|e| {
                let kind = match e.kind() {
                    Some(ObjectType::Tree) => "tree",
                    Some(ObjectType::Commit) => "commit",
                    _ => "blob",
                };
                TreeEntry {
                    path: e.name().unwrap_or_default().to_owned(),
                    mode: format!("{:06o}", e.filemode()),
                    kind,
                    sha: e.id().to_string(),
                    size: (kind == "blob")
                        .then(|| self.blob_size(&e.id().to_string()))
                        .flatten(),
                }
            })
            .collect()
    }

    pub fn write_commit(
        &self,
        message: &str,
        tree: &str,
        parents: &[String],
        author: &Person,
        committer: &Person,
    ) -> Result<String, String> {
        let tree = self
            .0
            .find_tree(oid(tree)?)
            .map_err(|_| format!("Tree SHA does not exist: {tree}"))?;
        let parents = parents
            .iter()
            .map(|p| {
                self.0.find_commit(oid(p)?).map_err(|_| {
                    format!("Parent SHA does not exist or is not a commit object: {p}")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sig = |p: &Person| {
            Signature::new(&p.name, &p.email, &Time::new(p.date.timestamp(), 0))
                .map_err(|e| e.message().to_owned())
        };
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        self.0
            .commit(
                None,
                &sig(author)?,
                &sig(committer)?,
                message,
                &tree,
                &parents,
            )
            .map(|id| id.to_string())
            .map_err(|e| e.message().to_owned())
    }

    /// Points `name` (fully qualified) at `sha`.
    pub fn set_ref(&self, name: &str, sha: &str) -> Result<(), String> {
        self.0
            .reference(name, oid(sha)?, true, "set by the GitHub double")
            .map(drop)
            .map_err(|e| e.message().to_owned())
    }
}
