//! GitHub webhooks: the `X-Hub-Signature-256` check (HMAC-SHA256 of the raw
//! body, compared in constant time, against each configured secret so that
//! secrets can be rotated) and the typed events upkeep acts on.
//!
//! [`parse`] turns a delivery into an [`Event`] or `None` for everything
//! upkeep ignores: other event types and actions, pushes to other branches
//! or touching no configuration or manifest, comments that are not commands
//! on upkeep's pull requests or come from users without write access.

use std::fmt;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::domain::repo::RepoName;

/// The webhook secrets; a delivery signed with any of them is accepted.
#[derive(Clone, Default)]
pub struct Secrets(Vec<Vec<u8>>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} configured)", self.0.len())
    }
}

/// Why a delivery's signature was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-Hub-Signature-256 header")]
    Missing,
    #[error("X-Hub-Signature-256 is not `sha256=<64 hex digits>`")]
    Malformed,
    #[error("X-Hub-Signature-256 matches no configured webhook secret")]
    Mismatch,
    #[error("no webhook secret is configured (UPKEEP_GITHUB_WEBHOOK_SECRET)")]
    NotConfigured,
}

impl Secrets {
    /// Comma-separated secrets, as in `UPKEEP_GITHUB_WEBHOOK_SECRET`;
    /// blanks around each are trimmed, empty ones dropped.
    pub fn parse(list: &str) -> Secrets {
        Secrets(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec())
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks `header` (the `X-Hub-Signature-256` value) against `body`.
    pub fn verify(&self, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
        if self.0.is_empty() {
            return Err(SignatureError::NotConfigured);
        }
        let header = header.ok_or(SignatureError::Missing)?;
        let hex = header
            .trim()
            .strip_prefix("sha256=")
            .ok_or(SignatureError::Malformed)?;
        let expected = decode_hex(hex).ok_or(SignatureError::Malformed)?;
        if expected.len() != 32 {
            return Err(SignatureError::Malformed);
        }
        // Every secret is tried, so the time taken does not say which matched.
        let mut ok = false;
        for secret in &self.0 {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(body);
            ok |= mac.verify_slice(&expected).is_ok();
        }
        if ok {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// The `X-Hub-Signature-256` value GitHub sends for `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A command in a comment on one of upkeep's pull requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// `@upkeep recheck`: plan the repository again now.
    Recheck,
    /// `@upkeep ignore`: close the pull request; its version is skipped.
    Ignore,
    /// `@upkeep rollback` (on a merged pull request): open a pull request
    /// that undoes it.
    Rollback,
}

/// What a webhook delivery asks upkeep to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The app was installed, or repositories were added to an
    /// installation: they get a first run.
    Installed {
        installation: u64,
        account: String,
        repositories: Vec<RepoName>,
    },
    /// A push to the default branch touched upkeep's configuration or a
    /// file that may hold image references: plan that repository again.
    Push {
        installation: Option<u64>,
        repo: RepoName,
        branch: String,
    },
    /// One of upkeep's pull requests was closed: merged, or not (then the
    /// publisher skips that version).
    PullClosed {
        installation: Option<u64>,
        repo: RepoName,
        number: u64,
        branch: String,
        merged: bool,
    },
    /// A person ticked a box on upkeep's dependency dashboard issue: plan
    /// the repository again now, acting on the ticked boxes.
    DashboardEdited {
        installation: Option<u64>,
        repo: RepoName,
        number: u64,
    },
    /// A command from a user with write access.
    Command {
        installation: Option<u64>,
        repo: RepoName,
        number: u64,
        command: Command,
        user: String,
    },
}

impl Event {
    /// The repository and installation an event is about.
    pub fn installation(&self) -> Option<u64> {
        match self {
            Event::Installed { installation, .. } => Some(*installation),
            Event::Push { installation, .. }
            | Event::PullClosed { installation, .. }
            | Event::DashboardEdited { installation, .. }
            | Event::Command { installation, .. } => *installation,
        }
    }
}

/// A delivery whose body is not the JSON its event type promises.
#[derive(Debug, thiserror::Error)]
#[error("{event} payload: {message}")]
pub struct PayloadError {
    pub event: String,
    pub message: String,
}

/// The path upkeep reads its per-repository configuration from.
pub const REPO_CONFIG: &str = ".github/upkeep.yml";

/// The typed event of a delivery of type `event` (`X-GitHub-Event`), or
/// `None` when upkeep has nothing to do with it.
pub fn parse(event: &str, body: &[u8]) -> Result<Option<Event>, PayloadError> {
    let fail = |e: serde_json::Error| PayloadError {
        event: event.to_string(),
        message: e.to_string(),
    };
    Ok(match event {
        "installation" => {
            let p: InstallationPayload = serde_json::from_slice(body).map_err(fail)?;
            match p.action.as_str() {
                "created" | "new_permissions_accepted" | "unsuspend" => Some(Event::Installed {
                    installation: p.installation.id,
                    account: p.installation.account.login,
                    repositories: names(&p.repositories.unwrap_or_default()),
                }),
                _ => None,
            }
        }
        "installation_repositories" => {
            let p: InstallationReposPayload = serde_json::from_slice(body).map_err(fail)?;
            let added = names(&p.repositories_added);
            (p.action == "added" && !added.is_empty()).then_some(Event::Installed {
                installation: p.installation.id,
                account: p.installation.account.login,
                repositories: added,
            })
        }
        "push" => {
            let p: PushPayload = serde_json::from_slice(body).map_err(fail)?;
            let branch = p.r#ref.strip_prefix("refs/heads/").unwrap_or_default();
            let default = p.repository.default_branch.as_deref().unwrap_or_default();
            let touched = p
                .commits
                .iter()
                .chain(p.head_commit.as_ref())
                .flat_map(|c| c.added.iter().chain(&c.modified).chain(&c.removed))
                .any(|path| relevant(path));
            let repo = p.repository.full_name.parse().ok();
            match repo {
                Some(repo) if !branch.is_empty() && branch == default && touched && !p.deleted => {
                    Some(Event::Push {
                        installation: p.installation.map(|i| i.id),
                        repo,
                        branch: branch.to_string(),
                    })
                }
                _ => None,
            }
        }
        "pull_request" => {
            let p: PullPayload = serde_json::from_slice(body).map_err(fail)?;
            let ours = p
                .pull_request
                .body
                .as_deref()
                .and_then(crate::domain::render::parse_fingerprint)
                .is_some();
            match (p.action.as_str(), ours, p.repository.full_name.parse()) {
                ("closed", true, Ok(repo)) => Some(Event::PullClosed {
                    installation: p.installation.map(|i| i.id),
                    repo,
                    number: p.pull_request.number,
                    branch: p.pull_request.head.r#ref,
                    merged: p.pull_request.merged.unwrap_or(false)
                        || p.pull_request.merged_at.is_some(),
                }),
                _ => None,
            }
        }
        // An edit of the dashboard by a person (not a bot) that leaves a
        // box ticked. upkeep's own edits never hold a ticked box, so they
        // start nothing.
        "issues" => {
            let p: IssuesPayload = serde_json::from_slice(body).map_err(fail)?;
            let body = p.issue.body.as_deref().unwrap_or_default();
            let person = p.sender.r#type.as_deref() != Some("Bot");
            match (p.action.as_str(), p.repository.full_name.parse()) {
                ("edited", Ok(repo))
                    if person
                        && p.issue.pull_request.is_none()
                        && crate::domain::dashboard::is_dashboard(body)
                        && !crate::domain::dashboard::ticked(body).is_empty() =>
                {
                    Some(Event::DashboardEdited {
                        installation: p.installation.map(|i| i.id),
                        repo,
                        number: p.issue.number,
                    })
                }
                _ => None,
            }
        }
        "issue_comment" => {
            let p: CommentPayload = serde_json::from_slice(body).map_err(fail)?;
            let ours = p.issue.pull_request.is_some()
                && p.issue
                    .body
                    .as_deref()
                    .and_then(crate::domain::render::parse_fingerprint)
                    .is_some();
            let writer = matches!(
                p.comment.author_association.as_str(),
                "OWNER" | "MEMBER" | "COLLABORATOR"
            ) && p.comment.user.r#type.as_deref() != Some("Bot");
            let command = command_in(p.comment.body.as_deref().unwrap_or_default());
            match (
                p.action.as_str(),
                ours && writer,
                command,
                p.repository.full_name.parse(),
            ) {
                ("created", true, Some(command), Ok(repo)) => Some(Event::Command {
                    installation: p.installation.map(|i| i.id),
                    repo,
                    number: p.issue.number,
                    command,
                    user: p.comment.user.login,
                }),
                _ => None,
            }
        }
        _ => None,
    })
}

/// Whether a changed path can change upkeep's plan: its configuration or a
/// file the scanner reads.
fn relevant(path: &str) -> bool {
    path == REPO_CONFIG
        || path == ".github/upkeep.yaml"
        || crate::domain::manifest::scan_text(path, "").is_some()
}

/// The first `@upkeep <command>` at the start of a line.
fn command_in(body: &str) -> Option<Command> {
    body.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if !words.next()?.eq_ignore_ascii_case("@upkeep") {
            return None;
        }
        match words.next()?.to_ascii_lowercase().as_str() {
            "recheck" => Some(Command::Recheck),
            "ignore" => Some(Command::Ignore),
            "rollback" => Some(Command::Rollback),
            _ => None,
        }
    })
}

fn names(repos: &[RepoRef]) -> Vec<RepoName> {
    repos
        .iter()
        .filter_map(|r| r.full_name.parse().ok())
        .collect()
}

#[derive(Deserialize)]
struct Account {
    login: String,
}

#[derive(Deserialize)]
struct InstallationRef {
    id: u64,
}

#[derive(Deserialize)]
struct InstallationFull {
    id: u64,
    account: Account,
}

#[derive(Deserialize)]
struct RepoRef {
    full_name: String,
}

#[derive(Deserialize)]
struct InstallationPayload {
    action: String,
    installation: InstallationFull,
    #[serde(default)]
    repositories: Option<Vec<RepoRef>>,
}

#[derive(Deserialize)]
struct InstallationReposPayload {
    action: String,
    installation: InstallationFull,
    #[serde(default)]
    repositories_added: Vec<RepoRef>,
}

#[derive(Deserialize)]
struct PushRepo {
    full_name: String,
    #[serde(default)]
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct PushCommit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

#[derive(Deserialize)]
struct PushPayload {
    r#ref: String,
    #[serde(default)]
    deleted: bool,
    repository: PushRepo,
    #[serde(default)]
    commits: Vec<PushCommit>,
    #[serde(default)]
    head_commit: Option<PushCommit>,
    #[serde(default)]
    installation: Option<InstallationRef>,
}

#[derive(Deserialize)]
struct HeadRef {
    r#ref: String,
}

#[derive(Deserialize)]
struct Pull {
    number: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    head: HeadRef,
}

#[derive(Deserialize)]
struct PullPayload {
    action: String,
    pull_request: Pull,
    repository: RepoRef,
    #[serde(default)]
    installation: Option<InstallationRef>,
}

#[derive(Deserialize)]
struct User {
    login: String,
    #[serde(default)]
    r#type: Option<String>,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Comment {
    #[serde(default)]
    body: Option<String>,
    user: User,
    author_association: String,
}

#[derive(Deserialize)]
struct IssuesPayload {
    action: String,
    issue: Issue,
    sender: User,
    repository: RepoRef,
    #[serde(default)]
    installation: Option<InstallationRef>,
}

#[derive(Deserialize)]
struct CommentPayload {
    action: String,
    issue: Issue,
    comment: Comment,
    repository: RepoRef,
    #[serde(default)]
    installation: Option<InstallationRef>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_and_rotate() {
        let body = b"{\"zen\":\"Keep it logically awesome.\"}";
        let secrets = Secrets::parse("new-secret, old-secret");
        assert_eq!(
            secrets.verify(Some(&sign("old-secret", body)), body),
            Ok(())
        );
        assert_eq!(
            secrets.verify(Some(&sign("new-secret", body)), body),
            Ok(())
        );
        assert_eq!(
            secrets.verify(Some(&sign("retired", body)), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(secrets.verify(None, body), Err(SignatureError::Missing));
        assert_eq!(
            secrets.verify(Some("sha1=abcd"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            Secrets::parse(" , ").verify(Some(&sign("x", body)), body),
            Err(SignatureError::NotConfigured)
        );
        assert!(!format!("{secrets:?}").contains("secret"));
    }

    #[test]
    fn github_documented_example() {
        // docs.github.com "Validating webhook deliveries": secret
        // "It's a Secret to Everybody", payload "Hello, World!".
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn commands() {
        assert_eq!(command_in("@upkeep recheck"), Some(Command::Recheck));
        assert_eq!(
            command_in("thanks!\n@UpKeep Ignore please"),
            Some(Command::Ignore)
        );
        assert_eq!(command_in("@upkeep rollback"), Some(Command::Rollback));
        assert_eq!(command_in("please @upkeep recheck"), None);
        assert_eq!(command_in("@upkeep merge"), None);
    }
}
