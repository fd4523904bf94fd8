//! The dependency dashboard issue of a GitHub repository: found again by
//! its hidden marker among the open issues upkeep itself opened (never
//! duplicated, never someone else's), created once, and edited only when
//! its rendered title or body differ from what GitHub holds.
//!
//! The body is rendered by [`crate::domain::dashboard`]; this module only
//! talks to the forge. The boxes a person ticked are read back from the
//! issue at the start of a repository's pass ([`read`]), checked against
//! what upkeep offers, and acted on by the pipeline through the mechanisms
//! that exist (rollout decision, publish, rollback).

use crate::domain::dashboard::{self, Request};
use crate::domain::repo::RepoName;
use crate::io::forge::{Forge, ForgeError, Issue};

/// The dashboard issue as GitHub holds it, and the boxes ticked on it.
#[derive(Clone, Debug, Default)]
pub struct Board {
    pub issue: Option<Issue>,
    pub ticked: Vec<Request>,
}

/// What [`write`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Created(u64),
    Updated(u64),
    Unchanged(u64),
}

/// The dashboard of `repo`: the oldest open issue upkeep opened that
/// carries the marker (its login from [`Forge::login`]), with its ticked
/// boxes.
pub async fn read(forge: &Forge, repo: &RepoName) -> Result<Board, ForgeError> {
    let login = forge.login().await?;
    let mut issues = forge.open_issues_by(repo, &login).await?;
    issues.retain(|i| i.body.as_deref().is_some_and(dashboard::is_dashboard));
    issues.sort_by_key(|i| i.number);
    let issue = issues.into_iter().next();
    let ticked = issue
        .as_ref()
        .and_then(|i| i.body.as_deref())
        .map(dashboard::ticked)
        .unwrap_or_default();
    Ok(Board { issue, ticked })
}

/// Creates the dashboard, or edits `existing` when its title or body
/// differ from `body`; nothing is sent otherwise.
pub async fn write(
    forge: &Forge,
    repo: &RepoName,
    existing: Option<&Issue>,
    body: &str,
) -> Result<Written, ForgeError> {
    let title = dashboard::TITLE;
    match existing {
        None => {
            let made = forge.create_issue(repo, title, body).await?;
            Ok(Written::Created(made.number))
        }
        Some(issue) => {
            let new_title = (issue.title != title).then_some(title);
            let new_body = (issue.body.as_deref() != Some(body)).then_some(body);
            if new_title.is_none() && new_body.is_none() {
                return Ok(Written::Unchanged(issue.number));
            }
            forge
                .update_issue(repo, issue.number, new_title, new_body)
                .await?;
            Ok(Written::Updated(issue.number))
        }
    }
}
