//! The fork schedule from its source: reads each network's consensus
//! `config.yaml` and execution `genesis.json` from the networks' own
//! repositories (`rules.schedule_sources`, default `eth-clients/<network>`)
//! through the forge's contents API, revalidated with the reply the forge's
//! memory kept (an unchanged file answers 304), and merges them into the
//! engine's schedule ([`crate::domain::rules::Engine::with_sources`]).
//!
//! Never fatal: a file that cannot be fetched falls back to the copy the
//! forge kept from its last read, else to the shipped schedule, and every
//! such case is a problem for the report. Writes nothing.

use std::sync::Arc;

use crate::domain::repo::RepoName;
use crate::domain::rules::Engine;
use crate::domain::rules::source::{NetworkConfig, SourceText};
use crate::domain::settings::ScheduleSources;
use crate::io::forge::Forge;

/// The networks whose configs are published (repositories of that name).
pub const NETWORKS: &[&str] = &["mainnet", "sepolia", "holesky", "hoodi"];
/// The consensus config in each repository.
pub const CONSENSUS_PATH: &str = "metadata/config.yaml";
/// The execution genesis in each repository.
pub const EXECUTION_PATH: &str = "metadata/genesis.json";

/// The engine with the sources merged in, and what went wrong reading them.
pub struct Refreshed {
    pub engine: Arc<Engine>,
    pub problems: Vec<String>,
}

/// Reads the configs of `networks` (names or aliases; those without a
/// published config are skipped) and merges them into `engine`'s schedule.
/// With sources off, or no network to read, `engine` is returned as is.
pub async fn refresh(
    forge: &Forge,
    engine: &Arc<Engine>,
    sources: &ScheduleSources,
    networks: &[String],
) -> Refreshed {
    let ScheduleSources::Owner(owner) = sources else {
        return Refreshed {
            engine: engine.clone(),
            problems: Vec::new(),
        };
    };
    let mut wanted: Vec<&str> = Vec::new();
    for n in networks {
        if let Some(net) = engine.schedule().network(n)
            && let Some(known) = NETWORKS.iter().find(|x| **x == net.name)
            && !wanted.contains(known)
        {
            wanted.push(known);
        }
    }
    wanted.sort_by_key(|n| NETWORKS.iter().position(|x| x == n));
    if wanted.is_empty() {
        return Refreshed {
            engine: engine.clone(),
            problems: Vec::new(),
        };
    }
    let mut problems = Vec::new();
    let mut configs = Vec::new();
    for network in wanted {
        let repo = RepoName::new(owner, network);
        let consensus = fetch(forge, &repo, CONSENSUS_PATH, &mut problems).await;
        let execution = fetch(forge, &repo, EXECUTION_PATH, &mut problems).await;
        configs.push(NetworkConfig {
            network: network.to_string(),
            consensus,
            execution,
        });
    }
    let (merged, located) = engine.with_sources(&configs);
    problems.extend(located.into_iter().map(|p| {
        format!("schedule source {p} (the shipped schedule is used where this file would apply)")
    }));
    Refreshed {
        engine: Arc::new(merged),
        problems,
    }
}

/// One file: as GitHub has it now (a 304 answers the kept copy), or the
/// kept copy after a failure (with a problem); `None` when nothing can be
/// had.
async fn fetch(
    forge: &Forge,
    repo: &RepoName,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<SourceText> {
    let origin = format!("{repo}:{path}");
    let text = match forge.contents(repo, path).await {
        Ok(text) => text,
        Err(e) => match forge.kept_contents(repo, path) {
            Some(text) => {
                problems.push(format!(
                    "schedule source: {e}; using the copy of {origin} kept from the last read"
                ));
                text
            }
            None => {
                problems.push(format!(
                    "schedule source: {e}; the shipped schedule is used"
                ));
                return None;
            }
        },
    };
    Some(SourceText { origin, text })
}
