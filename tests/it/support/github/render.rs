//! GitHub's JSON shapes for the double's objects (repository, release, user,
//! rate limit), with the URL fields GitHub fills in. The spec check in
//! `spec.rs` keeps these honest; add a field here when a schema requires it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::state::{Bucket, Release, Repo, User};

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
