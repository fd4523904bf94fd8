//! GitHub's JSON shapes for the double's objects (repository, release, user,
//! rate limit, pull request, issue, label, comment, team, branch, git
//! objects), with the URL fields GitHub fills in. The spec check in
//! `spec.rs` keeps these honest; add a field here when a schema requires it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::checks::{CheckRun, CommitStatus, Gate};
use super::git::{CommitInfo, DiffStats, Person, TreeEntry};
use super::pulls::{Comment, Label, PullRequest};
use super::state::{Bucket, Issue, Release, Repo, User};

/// Where the double lives: `api` is the REST root (`…/api/v3` in Enterprise
/// mode), `web` the host's root (html and clone URLs).
#[derive(Clone, Debug)]
pub(super) struct Urls {
    pub api: String,
    pub web: String,
}

pub(super) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Percent-encodes one path segment (e.g. `dependabot[bot]`).
pub(super) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn user(user: &User, urls: &Urls) -> Value {
    let api = format!("{}/users/{}", urls.api, segment(&user.login));
    json!({
        "login": user.login,
        "id": user.id,
        "node_id": format!("U_kgDO{:08}", user.id),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", user.id),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{}/{}", urls.web, segment(&user.login)),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": user.kind,
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// `full-repository` (GET /repos/{owner}/{repo}). `permissions` only for
/// callers with a token, as GitHub does.
pub(super) fn repo(repo: &Repo, owner: &User, urls: &Urls, authorized: bool) -> Value {
    let full = format!("{}/{}", segment(&repo.owner), segment(&repo.name));
    let api = format!("{}/repos/{full}", urls.api);
    let html = format!("{}/{full}", urls.web);
    let host = urls.web.split("://").nth(1).unwrap_or(&urls.web);
    let clone_url = repo
        .clone_url
        .clone()
        .unwrap_or_else(|| format!("{html}.git"));
    let created = time(repo.created_at);
    // URL templates as GitHub fills them in (split out of `json!` for its recursion limit).
    let templates = [
        ("forks_url", format!("{api}/forks")),
        ("keys_url", format!("{api}/keys{{/key_id}}")),
        (
            "collaborators_url",
            format!("{api}/collaborators{{/collaborator}}"),
        ),
        ("teams_url", format!("{api}/teams")),
        ("hooks_url", format!("{api}/hooks")),
        (
            "issue_events_url",
            format!("{api}/issues/events{{/number}}"),
        ),
        ("events_url", format!("{api}/events")),
        ("assignees_url", format!("{api}/assignees{{/user}}")),
        ("branches_url", format!("{api}/branches{{/branch}}")),
        ("tags_url", format!("{api}/tags")),
        ("blobs_url", format!("{api}/git/blobs{{/sha}}")),
        ("git_tags_url", format!("{api}/git/tags{{/sha}}")),
        ("git_refs_url", format!("{api}/git/refs{{/sha}}")),
        ("trees_url", format!("{api}/git/trees{{/sha}}")),
        ("statuses_url", format!("{api}/statuses/{{sha}}")),
        ("languages_url", format!("{api}/languages")),
        ("stargazers_url", format!("{api}/stargazers")),
        ("contributors_url", format!("{api}/contributors")),
        ("subscribers_url", format!("{api}/subscribers")),
        ("subscription_url", format!("{api}/subscription")),
        ("commits_url", format!("{api}/commits{{/sha}}")),
        ("git_commits_url", format!("{api}/git/commits{{/sha}}")),
        ("comments_url", format!("{api}/comments{{/number}}")),
        (
            "issue_comment_url",
            format!("{api}/issues/comments{{/number}}"),
        ),
        ("contents_url", format!("{api}/contents/{{+path}}")),
        ("compare_url", format!("{api}/compare/{{base}}...{{head}}")),
        ("merges_url", format!("{api}/merges")),
        ("archive_url", format!("{api}/{{archive_format}}{{/ref}}")),
        ("downloads_url", format!("{api}/downloads")),
        ("issues_url", format!("{api}/issues{{/number}}")),
        ("pulls_url", format!("{api}/pulls{{/number}}")),
        ("milestones_url", format!("{api}/milestones{{/number}}")),
        (
            "notifications_url",
            format!("{api}/notifications{{?since,all,participating}}"),
        ),
        ("labels_url", format!("{api}/labels{{/name}}")),
        ("releases_url", format!("{api}/releases{{/id}}")),
        ("deployments_url", format!("{api}/deployments")),
    ];
    let mut body = json!({
        "id": repo.id,
        "node_id": format!("R_kgDO{:08}", repo.id),
        "name": repo.name,
        "full_name": repo.full_name(),
        "private": repo.private,
        "owner": user(owner, urls),
        "html_url": html,
        "description": repo.description,
        "fork": false,
        "url": api,
        "created_at": created,
        "updated_at": created,
        "pushed_at": created,
        "git_url": format!("git://{host}/{full}.git"),
        "ssh_url": format!("git@{host}:{full}.git"),
        "clone_url": clone_url,
        "svn_url": html,
        "visibility": if repo.private { "private" } else { "public" },
        "default_branch": repo.default_branch,
        "network_count": 0,
        "subscribers_count": 0,
    });
    // What the double does not model: GitHub's values for a fresh repository.
    let fresh = json!({
        "homepage": null,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": null,
        "has_issues": true,
        "has_projects": true,
        "has_downloads": true,
        "has_wiki": true,
        "has_pages": false,
        "has_discussions": false,
        "forks_count": 0,
        "mirror_url": null,
        "archived": false,
        "disabled": false,
        "open_issues_count": 0,
        "license": null,
        "allow_forking": true,
        "is_template": false,
        "web_commit_signoff_required": false,
        "topics": [],
                "forks": 0,
        "open_issues": 0,
        "watchers": 0,
    });
    let fields = body.as_object_mut().expect("object");
    fields.extend(fresh.as_object().expect("object").clone());
    for (name, url) in templates {
        fields.insert(name.to_owned(), Value::String(url));
    }
    if authorized {
        body["permissions"] = json!({
            "admin": false, "maintain": false, "push": true, "triage": true, "pull": true
        });
    }
    body
}

/// `release`.
pub(super) fn release(repo: &Repo, release: &Release, author: &User, urls: &Urls) -> Value {
    let full = format!("{}/{}", segment(&repo.owner), segment(&repo.name));
    let api = format!("{}/repos/{full}", urls.api);
    let tag = segment(&release.tag_name);
    let html_url = release.html_url.clone().unwrap_or_else(|| {
        if release.draft {
            format!(
                "{}/{full}/releases/tag/untagged-{:020x}",
                urls.web, release.id
            )
        } else {
            format!("{}/{full}/releases/tag/{tag}", urls.web)
        }
    });
    let (tarball, zipball) = if release.draft {
        (Value::Null, Value::Null)
    } else {
        (
            json!(format!("{api}/tarball/{tag}")),
            json!(format!("{api}/zipball/{tag}")),
        )
    };
    let target = release
        .target_commitish
        .as_deref()
        .unwrap_or(&repo.default_branch);
    json!({
        "url": format!("{api}/releases/{}", release.id),
        "assets_url": format!("{api}/releases/{}/assets", release.id),
        "upload_url": format!("{}/api/uploads/repos/{full}/releases/{}/assets{{?name,label}}", urls.web, release.id),
        "html_url": html_url,
        "id": release.id,
        "author": user(author, urls),
        "node_id": format!("RE_kwDO{:08}", release.id),
        "tag_name": release.tag_name,
        "target_commitish": target,
        "name": release.name,
        "draft": release.draft,
        "immutable": false,
        "prerelease": release.prerelease,
        "created_at": time(release.created_at),
        "updated_at": time(release.published_at.unwrap_or(release.created_at)),
        "published_at": release.published_at.map(time),
        "assets": [],
        "tarball_url": tarball,
        "zipball_url": zipball,
        "body": release.body,
    })
}

/// One `rate-limit` entry.
pub(super) fn bucket(b: &Bucket, resource: &str) -> Value {
    json!({
        "limit": b.limit,
        "used": b.used(),
        "remaining": b.remaining,
        "reset": b.reset,
        "resource": resource,
    })
}

/// `{api}/repos/{owner}/{name}` and `{web}/{owner}/{name}`.
fn repo_urls(repo: &Repo, urls: &Urls) -> (String, String) {
    let full = format!("{}/{}", segment(&repo.owner), segment(&repo.name));
    (
        format!("{}/repos/{full}", urls.api),
        format!("{}/{full}", urls.web),
    )
}

/// `label`. `description_required`: `pull-request-simple` wants a string
/// where the other schemas allow null, so a missing description is `""` there.
pub(super) fn label(repo: &Repo, label: &Label, urls: &Urls, description_required: bool) -> Value {
    let (api, _) = repo_urls(repo, urls);
    let description = match (&label.description, description_required) {
        (Some(d), _) => json!(d),
        (None, true) => json!(""),
        (None, false) => Value::Null,
    };
    json!({
        "id": label.id,
        "node_id": format!("LA_kwDO{:08}", label.id),
        "url": format!("{api}/labels/{}", segment(&label.name)),
        "name": label.name,
        "color": label.color,
        "default": label.default,
        "description": description,
    })
}

/// `team` (also good for `team-simple`).
pub(super) fn team(org: &User, id: u64, slug: &str, urls: &Urls) -> Value {
    let api = format!("{}/organizations/{}/team/{id}", urls.api, org.id);
    json!({
        "id": id,
        "node_id": format!("T_kwDO{id:08}"),
        "url": api,
        "html_url": format!("{}/orgs/{}/teams/{}", urls.web, segment(&org.login), segment(slug)),
        "name": slug,
        "slug": slug,
        "description": null,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": format!("{api}/members{{/member}}"),
        "repositories_url": format!("{api}/repos"),
        "type": "organization",
        "organization_id": org.id,
        "parent": null,
    })
}

/// Everything a pull request's JSON needs besides the stored object.
pub(super) struct PullContext {
    pub owner: User,
    pub author: User,
    pub assignees: Vec<User>,
    pub reviewers: Vec<User>,
    /// (id, slug).
    pub teams: Vec<(u64, String)>,
    pub labels: Vec<Label>,
    pub merged_by: Option<User>,
    pub comments: usize,
    /// `None`: not known (closed pull requests, or still being computed).
    pub mergeable: Option<bool>,
    /// Checks and protection, for `mergeable_state`.
    pub gate: Gate,
    pub stats: DiffStats,
    pub authorized: bool,
}

fn author_association(repo: &Repo, login: &str) -> &'static str {
    if login.eq_ignore_ascii_case(&repo.owner) {
        "OWNER"
    } else {
        "CONTRIBUTOR"
    }
}

/// `pull-request` (`full`: get, create, update) or `pull-request-simple`
/// (list, request reviewers).
pub(super) fn pull(
    repo: &Repo,
    pull: &PullRequest,
    ctx: &PullContext,
    urls: &Urls,
    full: bool,
) -> Value {
    let (api, html) = repo_urls(repo, urls);
    let n = pull.number;
    let pull_api = format!("{api}/pulls/{n}");
    let pull_html = format!("{html}/pull/{n}");
    let issue_api = format!("{api}/issues/{n}");
    let repo_json = repo_json(repo, &ctx.owner, urls, ctx.authorized);
    let side = |branch: &str, sha: &str| {
        json!({
            "label": format!("{}:{branch}", repo.owner),
            "ref": branch,
            "sha": sha,
            "user": user(&ctx.owner, urls),
            "repo": repo_json,
        })
    };
    let link = |href: String| json!({ "href": href });
    let mut body = json!({
        "url": pull_api,
        "id": pull.id,
        "node_id": format!("PR_kwDO{:08}", pull.id),
        "html_url": pull_html,
        "diff_url": format!("{pull_html}.diff"),
        "patch_url": format!("{pull_html}.patch"),
        "issue_url": issue_api,
        "commits_url": format!("{pull_api}/commits"),
        "review_comments_url": format!("{pull_api}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{issue_api}/comments"),
        "statuses_url": format!("{api}/statuses/{}", pull.head_sha),
        "number": n,
        "state": pull.state(),
        "locked": false,
        "title": pull.title,
        "user": user(&ctx.author, urls),
        "body": pull.body,
        "labels": ctx.labels.iter().map(|l| label(repo, l, urls, !full)).collect::<Vec<_>>(),
        "milestone": null,
        "active_lock_reason": null,
        "created_at": time(pull.created_at),
        "updated_at": time(pull.updated_at),
        "closed_at": pull.closed_at.map(time),
        "merged_at": pull.merged_at.map(time),
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": ctx.assignees.first().map(|u| user(u, urls)),
        "assignees": ctx.assignees.iter().map(|u| user(u, urls)).collect::<Vec<_>>(),
        "requested_reviewers": ctx.reviewers.iter().map(|u| user(u, urls)).collect::<Vec<_>>(),
        "requested_teams": ctx.teams.iter().map(|(id, slug)| team(&ctx.owner, *id, slug, urls)).collect::<Vec<_>>(),
        "author_association": author_association(repo, &pull.author),
        "auto_merge": null,
        "draft": pull.draft,
    });
    // Split out of `json!` for its recursion limit.
    let links = json!({
        "self": link(pull_api.clone()),
        "html": link(pull_html.clone()),
        "issue": link(issue_api.clone()),
        "comments": link(format!("{issue_api}/comments")),
        "review_comments": link(format!("{pull_api}/comments")),
        "review_comment": link(format!("{api}/pulls/comments{{/number}}")),
        "commits": link(format!("{pull_api}/commits")),
        "statuses": link(format!("{api}/statuses/{}", pull.head_sha)),
    });
    body["head"] = side(&pull.head, &pull.head_sha);
    body["base"] = side(&pull.base, &pull.base_sha);
    body["_links"] = links;
    if full {
        let (mergeable, state) = match ctx.mergeable {
            Some(true) if pull.draft => (json!(true), "draft"),
            Some(true) => match ctx.gate {
                Gate::Blocked => (json!(true), "blocked"),
                Gate::Unstable => (json!(true), "unstable"),
                Gate::Clean => (json!(true), "clean"),
            },
            Some(false) => (json!(false), "dirty"),
            None => (Value::Null, "unknown"),
        };
        let extra = json!({
            "merged": pull.merged(),
            "mergeable": mergeable,
            "rebaseable": mergeable,
            "mergeable_state": state,
            "merged_by": ctx.merged_by.as_ref().map(|u| user(u, urls)),
            "comments": ctx.comments,
            "review_comments": 0,
            "maintainer_can_modify": pull.maintainer_can_modify,
            "commits": ctx.stats.commits,
            "additions": ctx.stats.additions,
            "deletions": ctx.stats.deletions,
            "changed_files": ctx.stats.changed_files,
        });
        let fields = body.as_object_mut().expect("object");
        fields.extend(extra.as_object().expect("object").clone());
    }
    body
}

/// `repository` for a pull request's head and base (the full shape).
fn repo_json(r: &Repo, owner: &User, urls: &Urls, authorized: bool) -> Value {
    repo(r, owner, urls, authorized)
}

/// `issue`: a pull request seen through the issues API.
pub(super) fn issue(repo: &Repo, pull: &PullRequest, ctx: &PullContext, urls: &Urls) -> Value {
    let (api, html) = repo_urls(repo, urls);
    let n = pull.number;
    let issue_api = format!("{api}/issues/{n}");
    let pull_html = format!("{html}/pull/{n}");
    json!({
        "id": pull.issue_id,
        "node_id": format!("PR_kwDO{:08}", pull.issue_id),
        "url": issue_api,
        "repository_url": api,
        "labels_url": format!("{issue_api}/labels{{/name}}"),
        "comments_url": format!("{issue_api}/comments"),
        "events_url": format!("{issue_api}/events"),
        "timeline_url": format!("{issue_api}/timeline"),
        "html_url": pull_html,
        "number": n,
        "state": pull.state(),
        "state_reason": null,
        "title": pull.title,
        "body": pull.body,
        "user": user(&ctx.author, urls),
        "labels": ctx.labels.iter().map(|l| label(repo, l, urls, false)).collect::<Vec<_>>(),
        "assignee": ctx.assignees.first().map(|u| user(u, urls)),
        "assignees": ctx.assignees.iter().map(|u| user(u, urls)).collect::<Vec<_>>(),
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": ctx.comments,
        "pull_request": {
            "url": format!("{api}/pulls/{n}"),
            "html_url": pull_html,
            "diff_url": format!("{pull_html}.diff"),
            "patch_url": format!("{pull_html}.patch"),
            "merged_at": pull.merged_at.map(time),
        },
        "closed_at": pull.closed_at.map(time),
        "created_at": time(pull.created_at),
        "updated_at": time(pull.updated_at),
        "draft": pull.draft,
        "author_association": author_association(repo, &pull.author),
        "reactions": reactions(&format!("{issue_api}/reactions")),
    })
}

/// `issue` for a plain issue (no `pull_request` key).
pub(super) fn plain_issue(
    repo: &Repo,
    issue: &Issue,
    author: &User,
    labels: Vec<Value>,
    comments: usize,
    urls: &Urls,
) -> Value {
    let (api, html) = repo_urls(repo, urls);
    let n = issue.number;
    let issue_api = format!("{api}/issues/{n}");
    json!({
        "id": issue.id,
        "node_id": format!("I_kwDO{:08}", issue.id),
        "url": issue_api,
        "repository_url": api,
        "labels_url": format!("{issue_api}/labels{{/name}}"),
        "comments_url": format!("{issue_api}/comments"),
        "events_url": format!("{issue_api}/events"),
        "timeline_url": format!("{issue_api}/timeline"),
        "html_url": format!("{html}/issues/{n}"),
        "number": n,
        "state": if issue.open { "open" } else { "closed" },
        "state_reason": if issue.open { Value::Null } else { json!("completed") },
        "title": issue.title,
        "body": issue.body,
        "user": user(author, urls),
        "labels": labels,
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": comments,
        "closed_at": issue.closed_at.map(time),
        "created_at": time(issue.created_at),
        "updated_at": time(issue.updated_at),
        "author_association": author_association(repo, &issue.author),
        "reactions": reactions(&format!("{issue_api}/reactions")),
    })
}

fn reactions(url: &str) -> Value {
    json!({
        "url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
        "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
    })
}

/// `issue-comment`.
pub(super) fn comment(repo: &Repo, comment: &Comment, author: &User, urls: &Urls) -> Value {
    let (api, html) = repo_urls(repo, urls);
    let url = format!("{api}/issues/comments/{}", comment.id);
    json!({
        "id": comment.id,
        "node_id": format!("IC_kwDO{:08}", comment.id),
        "url": url,
        "html_url": format!("{html}/pull/{}#issuecomment-{}", comment.number, comment.id),
        "issue_url": format!("{api}/issues/{}", comment.number),
        "body": comment.body,
        "user": user(author, urls),
        "created_at": time(comment.created_at),
        "updated_at": time(comment.created_at),
        "author_association": author_association(repo, &author.login),
        "performed_via_github_app": null,
        "reactions": reactions(&format!("{url}/reactions")),
    })
}

fn git_person(p: &Person) -> Value {
    json!({ "name": p.name, "email": p.email, "date": time(p.date) })
}

fn verification(verified: bool) -> Value {
    if verified {
        json!({
            "verified": true, "reason": "valid", "signature": "-----BEGIN PGP SIGNATURE-----\n\n(made up by the GitHub double)\n-----END PGP SIGNATURE-----\n",
            "payload": "", "verified_at": time(chrono::Utc::now()),
        })
    } else {
        json!({ "verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null })
    }
}

/// `branch-with-protection`; `commit` as `repos/get-branch` shows it.
pub(super) fn branch(
    repo: &Repo,
    name: &str,
    commit: &CommitInfo,
    verified: bool,
    urls: &Urls,
) -> Value {
    let (api, html) = repo_urls(repo, urls);
    let sha = &commit.sha;
    let parents: Vec<Value> = commit
        .parents
        .iter()
        .map(|p| json!({ "sha": p, "url": format!("{api}/commits/{p}"), "html_url": format!("{html}/commit/{p}") }))
        .collect();
    let branch_api = format!("{api}/branches/{name}");
    json!({
        "name": name,
        "commit": {
            "sha": sha,
            "node_id": format!("C_kwDO{}", &sha[..12]),
            "url": format!("{api}/commits/{sha}"),
            "html_url": format!("{html}/commit/{sha}"),
            "comments_url": format!("{api}/commits/{sha}/comments"),
            "commit": {
                "author": git_person(&commit.author),
                "committer": git_person(&commit.committer),
                "message": commit.message,
                "tree": { "sha": commit.tree, "url": format!("{api}/git/trees/{}", commit.tree) },
                "url": format!("{api}/git/commits/{sha}"),
                "comment_count": 0,
                "verification": verification(verified),
            },
            "author": null,
            "committer": null,
            "parents": parents,
        },
        "_links": { "self": branch_api, "html": format!("{html}/tree/{name}") },
        "protected": false,
        "protection": {
            "enabled": false,
            "required_status_checks": { "enforcement_level": "off", "contexts": [], "checks": [] },
        },
        "protection_url": format!("{branch_api}/protection"),
    })
}

/// `short-blob`.
pub(super) fn blob(repo: &Repo, sha: &str, urls: &Urls) -> Value {
    let (api, _) = repo_urls(repo, urls);
    json!({ "sha": sha, "url": format!("{api}/git/blobs/{sha}") })
}

/// `git-tree` (top-level entries).
pub(super) fn tree(repo: &Repo, sha: &str, entries: &[TreeEntry], urls: &Urls) -> Value {
    let (api, _) = repo_urls(repo, urls);
    let entries: Vec<Value> = entries
        .iter()
        .map(|e| {
            let kind = if e.kind == "tree" { "trees" } else { "blobs" };
            let mut v = json!({
                "path": e.path, "mode": e.mode, "type": e.kind, "sha": e.sha,
                "url": format!("{api}/git/{kind}/{}", e.sha),
            });
            if let Some(size) = e.size {
                v["size"] = json!(size);
            }
            v
        })
        .collect();
    json!({ "sha": sha, "url": format!("{api}/git/trees/{sha}"), "tree": entries, "truncated": false })
}

/// `git-commit`.
pub(super) fn git_commit(repo: &Repo, commit: &CommitInfo, verified: bool, urls: &Urls) -> Value {
    let (api, html) = repo_urls(repo, urls);
    let sha = &commit.sha;
    let parents: Vec<Value> = commit
        .parents
        .iter()
        .map(|p| json!({ "sha": p, "url": format!("{api}/git/commits/{p}"), "html_url": format!("{html}/commit/{p}") }))
        .collect();
    json!({
        "sha": sha,
        "node_id": format!("C_kwDO{}", &sha[..12]),
        "url": format!("{api}/git/commits/{sha}"),
        "html_url": format!("{html}/commit/{sha}"),
        "author": git_person(&commit.author),
        "committer": git_person(&commit.committer),
        "tree": { "sha": commit.tree, "url": format!("{api}/git/trees/{}", commit.tree) },
        "message": commit.message,
        "parents": parents,
        "verification": verification(verified),
    })
}

/// `git-ref`.
pub(super) fn git_ref(repo: &Repo, name: &str, sha: &str, urls: &Urls) -> Value {
    let (api, _) = repo_urls(repo, urls);
    json!({
        "ref": name,
        "node_id": format!("REF_kwDO{}", &sha[..12]),
        "url": format!("{api}/git/{name}"),
        "object": { "type": "commit", "sha": sha, "url": format!("{api}/git/commits/{sha}") },
    })
}

/// The GitHub Actions app, as check runs name it (`integration`).
fn actions_app(urls: &Urls) -> Value {
    let github = User {
        id: 9919,
        login: "github".to_owned(),
        kind: "Organization",
    };
    json!({
        "id": 15368,
        "slug": "github-actions",
        "node_id": "MDM6QXBwMTUzNjg=",
        "owner": user(&github, urls),
        "name": "GitHub Actions",
        "description": "Automate your workflow from idea to production",
        "external_url": "https://help.github.com/en/actions",
        "html_url": format!("{}/apps/github-actions", urls.web),
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-04-10T20:33:16Z",
        "permissions": {
            "actions": "write", "checks": "write", "contents": "write",
            "metadata": "read", "pull_requests": "write", "statuses": "write",
        },
        "events": ["check_run", "check_suite", "pull_request", "push", "workflow_dispatch"],
    })
}

/// `pull-request-minimal`, as check runs list the open pull requests whose
/// head is the checked commit.
fn pull_minimal(repo: &Repo, pull: &PullRequest, urls: &Urls) -> Value {
    let (api, _) = repo_urls(repo, urls);
    let side = |branch: &str, sha: &str| {
        json!({
            "ref": branch,
            "sha": sha,
            "repo": { "id": repo.id, "url": api, "name": repo.name },
        })
    };
    json!({
        "id": pull.id,
        "number": pull.number,
        "url": format!("{api}/pulls/{}", pull.number),
        "head": side(&pull.head, &pull.head_sha),
        "base": side(&pull.base, &pull.base_sha),
    })
}

/// `check-run`.
pub(super) fn check_run(repo: &Repo, run: &CheckRun, urls: &Urls) -> Value {
    let (api, html) = repo_urls(repo, urls);
    let url = format!("{api}/check-runs/{}", run.id);
    let pulls: Vec<Value> = repo
        .pulls
        .iter()
        .filter(|p| p.open && p.head_sha == run.head_sha)
        .map(|p| pull_minimal(repo, p, urls))
        .collect();
    json!({
        "id": run.id,
        "node_id": format!("CR_kwDO{:08}", run.id),
        "head_sha": run.head_sha,
        "external_id": "",
        "url": url,
        "html_url": format!("{html}/runs/{}", run.id),
        "details_url": format!("{html}/actions/runs/{}/job/{}", run.check_suite_id, run.id),
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": time(run.started_at),
        "completed_at": run.completed_at.map(time),
        "output": {
            "title": null,
            "summary": null,
            "text": null,
            "annotations_count": 0,
            "annotations_url": format!("{url}/annotations"),
        },
        "name": run.name,
        "check_suite": { "id": run.check_suite_id },
        "app": actions_app(urls),
        "pull_requests": pulls,
    })
}

/// `simple-commit-status`.
pub(super) fn commit_status(repo: &Repo, status: &CommitStatus, urls: &Urls) -> Value {
    let (api, _) = repo_urls(repo, urls);
    json!({
        "id": status.id,
        "node_id": format!("SC_kwDO{:08}", status.id),
        "state": status.state,
        "description": null,
        "target_url": null,
        "context": status.context,
        "avatar_url": format!("{}/avatars/u/{}", urls.web, repo.id),
        "url": format!("{api}/statuses/{}", status.sha),
        "created_at": time(status.created_at),
        "updated_at": time(status.created_at),
    })
}

/// `combined-commit-status`: `statuses` is this page's, `total_count`
/// counts every context; `repository` is the repository's JSON.
pub(super) fn combined_status(
    repo: &Repo,
    sha: &str,
    state: &str,
    statuses: Vec<Value>,
    total: usize,
    repository: Value,
    urls: &Urls,
) -> Value {
    let (api, _) = repo_urls(repo, urls);
    json!({
        "state": state,
        "statuses": statuses,
        "sha": sha,
        "total_count": total,
        "repository": repository,
        "commit_url": format!("{api}/commits/{sha}"),
        "url": format!("{api}/commits/{sha}/status"),
    })
}
