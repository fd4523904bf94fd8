//! A planned pull request and the releases it moves across → the
//! [`PullRequestContext`] the templates render.

use std::collections::BTreeMap;

use super::{Bump, PullRequestContext, Upgrade};
use crate::domain::evaluate::{Deadline, ReleaseMap};
use crate::domain::plan::{PlannedPr, short_name};
use crate::domain::rollout::decide::UpstreamRollout;

/// The render context of a planned pull request. `rollouts` are those of
/// the check (any repository): the PR shows the ones of its repository and
/// upstreams.
pub fn context_of(
    pr: &PlannedPr,
    releases: &ReleaseMap,
    rollouts: &[UpstreamRollout],
) -> PullRequestContext {
    let upgrades = pr
        .upgrades
        .iter()
        .map(|(upstream, version)| upgrade(pr, upstream, version, releases))
        .collect();
    let mut deadlines: Vec<Deadline> = pr
        .findings
        .iter()
        .filter_map(|f| f.deadline.clone())
        .collect();
    deadlines.sort_by(|a, b| (&a.network, a.at).cmp(&(&b.network, b.at)));
    deadlines.dedup();
    let priority = pr.findings.iter().filter_map(|f| f.priority).max();
    let mut breaking: Vec<String> = Vec::new();
    for b in pr.findings.iter().flat_map(|f| &f.breaking) {
        if !breaking.contains(b) {
            breaking.push(b.clone());
        }
    }
    let group = match (&pr.name, &pr.group) {
        (Some(name), Some(scope)) => format!("group:{name}:{scope}"),
        (Some(name), None) => format!("group:{name}"),
        (None, Some(scope)) => scope.clone(),
        (None, None) => "upstream".into(),
    };
    PullRequestContext {
        readiness: Vec::new(),
        commands: super::Commands::default(),
        repository: pr.repository.clone(),
        group,
        scope: pr.group.clone(),
        upgrades,
        deadlines,
        breaking,
        security: pr.findings.iter().find_map(|f| f.security.clone()),
        codes: pr.codes(),
        priority,
        rollouts: pr
            .upgrades
            .iter()
            .filter_map(|(upstream, _)| {
                rollouts
                    .iter()
                    .find(|r| r.repository == pr.repository && &r.upstream == upstream)
            })
            .cloned()
            .collect(),
    }
}

/// One upstream's part of a pull request: its bumps and the releases
/// between the oldest deployed one and the target, newest first.
fn upgrade(pr: &PlannedPr, upstream: &str, version: &str, releases: &ReleaseMap) -> Upgrade {
    let mut bumps: BTreeMap<(String, String, String), Bump> = BTreeMap::new();
    for e in pr
        .edits
        .iter()
        .filter(|e| e.upstream == upstream && e.to_version == version)
    {
        let b = bumps
            .entry((e.image.clone(), e.from.clone(), e.to.clone()))
            .or_insert_with(|| Bump {
                image: e.image.clone(),
                from: e.from.clone(),
                to: e.to.clone(),
                files: Vec::new(),
                environments: Vec::new(),
            });
        if !b.files.contains(&e.file) {
            b.files.push(e.file.clone());
        }
        if let Some(env) = &e.environment
            && !b.environments.contains(env)
        {
            b.environments.push(env.clone());
        }
    }
    let list = match releases.get(upstream) {
        Some(Ok(list)) => list.as_slice(),
        _ => &[],
    };
    let upto = list.iter().position(|r| r.tag_name == version).unwrap_or(0);
    // The oldest deployed release is the one furthest down the list.
    let oldest = pr
        .findings
        .iter()
        .filter(|f| f.upstream == upstream)
        .filter_map(|f| f.current_release.as_ref())
        .filter_map(|tag| {
            list.iter()
                .position(|r| &r.tag_name == tag)
                .map(|i| (i, tag))
        })
        .max();
    let from = oldest.map_or(list.len().min(upto + 10), |(i, _)| i);
    Upgrade {
        upstream: upstream.to_string(),
        name: short_name(upstream).to_string(),
        from: oldest.map(|(_, tag)| tag.clone()),
        version: version.to_string(),
        bumps: bumps.into_values().collect(),
        releases: list
            .get(upto..from)
            .unwrap_or_default()
            .iter()
            .filter(|r| !r.draft)
            .cloned()
            .collect(),
    }
}
