//! The fork schedule from its source: the networks' own configs as they
//! publish them in git (`eth-clients/{mainnet,sepolia,holesky,hoodi}`):
//! the consensus `config.yaml` (`<FORK>_FORK_EPOCH: N`, `BLOB_SCHEDULE`
//! entries for the blob-parameter-only forks; `18446744073709551615` means
//! not scheduled) and the execution `genesis.json` (`config.<fork>Time`).
//!
//! [`parse_consensus`] and [`parse_execution`] read the texts (a problem
//! names `origin:line:column`); [`Schedule::with_sources`] merges what they
//! say into a shipped schedule: the source wins for activation times, the
//! shipped schedule keeps names, aliases, networks' clocks and minimum
//! versions. A fork name the schedule does not know becomes a new fork when
//! it activates after every fork the schedule knows on that network; the
//! execution and consensus names of one upgrade (same activation time) are
//! one fork. A config that cannot be read is reported and leaves that
//! network's shipped activations as they are.
//!
//! Pure: texts in, schedule and problems out; no I/O, no clock.

use chrono::{DateTime, Utc};

use super::error::Located;
use super::schedule::{Activation, Fork, ForkKind, Schedule};

/// `2**64 - 1`: a fork that is not scheduled.
pub const FAR_FUTURE_EPOCH: u64 = u64::MAX;

/// One fetched file: where it comes from (`owner/repo:path`) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceText {
    pub origin: String,
    pub text: String,
}

/// What was fetched for one network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The network's canonical name in the schedule (`mainnet`).
    pub network: String,
    pub consensus: Option<SourceText>,
    pub execution: Option<SourceText>,
}

/// A fork epoch read from a consensus config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusFork {
    /// The name as the key spells it, capitalised (`Fulu` for `FULU_FORK_EPOCH`).
    pub name: String,
    /// `None` when unscheduled (`18446744073709551615`).
    pub epoch: Option<u64>,
}

/// What a consensus `config.yaml` says about forks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsensusConfig {
    pub forks: Vec<ConsensusFork>,
    /// `BLOB_SCHEDULE` epochs, in the order written.
    pub blob_schedule: Vec<u64>,
}

/// Reads the fork epochs and the blob schedule of a consensus `config.yaml`
/// (a flat `KEY: value` file; comments and other keys ignored).
pub fn parse_consensus(origin: &str, text: &str) -> Result<ConsensusConfig, Located> {
    let mut out = ConsensusConfig::default();
    let mut in_blobs = false;
    let mut seen_any_key = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let indented = line.starts_with([' ', '\t', '-']);
        if !indented {
            in_blobs = false;
            let Some((key, value)) = line.split_once(':') else {
                return Err(Located::at(
                    origin,
                    line_no,
                    1,
                    format!(
                        "expected `KEY: value`, found {:?}",
                        line.chars().take(40).collect::<String>()
                    ),
                ));
            };
            let key = key.trim();
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(Located::at(
                    origin,
                    line_no,
                    1,
                    format!("{key:?} is not a config key"),
                ));
            }
            seen_any_key = true;
            let value = value.trim().trim_matches(['\'', '"']);
            if key == "BLOB_SCHEDULE" {
                in_blobs = value.is_empty();
                continue;
            }
            if let Some(fork) = key.strip_suffix("_FORK_EPOCH") {
                let column = value_column(raw);
                let epoch: u64 = value.parse().map_err(|_| {
                    Located::at(
                        origin,
                        line_no,
                        column,
                        format!("`{key}` is {value:?}: expected an epoch number"),
                    )
                })?;
                out.forks.push(ConsensusFork {
                    name: capitalise(fork),
                    epoch: (epoch != FAR_FUTURE_EPOCH).then_some(epoch),
                });
            }
            continue;
        }
        if in_blobs {
            let item = line.trim().trim_start_matches('-').trim();
            if let Some((k, v)) = item.split_once(':')
                && k.trim() == "EPOCH"
            {
                let v = v.trim().trim_matches(['\'', '"']);
                let epoch: u64 = v.parse().map_err(|_| {
                    Located::at(
                        origin,
                        line_no,
                        value_column(raw),
                        format!("`BLOB_SCHEDULE` epoch is {v:?}: expected a number"),
                    )
                })?;
                if epoch != FAR_FUTURE_EPOCH {
                    out.blob_schedule.push(epoch);
                }
            }
        }
    }
    if !seen_any_key || out.forks.is_empty() {
        return Err(Located::whole(
            origin,
            "no `<FORK>_FORK_EPOCH` key: not a consensus network config",
        ));
    }
    Ok(out)
}

/// Reads `config.<fork>Time` of an execution `genesis.json`: (lower-case
/// fork name, unix seconds), earliest first.
pub fn parse_execution(origin: &str, text: &str) -> Result<Vec<(String, i64)>, Located> {
    #[derive(serde::Deserialize)]
    struct Genesis {
        config: serde_json::Map<String, serde_json::Value>,
    }
    let genesis: Genesis = serde_json::from_str(text).map_err(|e| {
        Located::at(
            origin,
            e.line().max(1),
            e.column().max(1),
            format!("not an execution genesis file: {e}"),
        )
    })?;
    let mut out = Vec::new();
    for (key, value) in &genesis.config {
        let Some(name) = key.strip_suffix("Time") else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let Some(t) = value.as_i64() else {
            return Err(Located::whole(
                origin,
                format!("`config.{key}` is {value}: expected unix seconds"),
            ));
        };
        out.push((name.to_ascii_lowercase(), t));
    }
    out.sort_by_key(|(_, t)| *t);
    Ok(out)
}

/// The 1-based column (in characters) of the value after the first `:`.
fn value_column(line: &str) -> usize {
    let Some(colon) = line.find(':') else {
        return 1;
    };
    let after = &line[colon + 1..];
    let skipped = after.len() - after.trim_start().len();
    line[..colon + 1 + skipped].chars().count() + 1
}

/// `FULU` -> `Fulu`, `bpo1` -> `BPO1`.
fn capitalise(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix("bpo")
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit())
    {
        return format!("BPO{n}");
    }
    let mut c = lower.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// One activation a source states.
#[derive(Clone, Debug)]
struct Stated {
    /// The name as the source spells it (capitalised).
    name: String,
    consensus: bool,
    epoch: Option<u64>,
    time: DateTime<Utc>,
    origin: String,
}

impl Schedule {
    /// This schedule with what the networks' configs say: the source wins
    /// for times; unknown upcoming forks are added. Returns the problems
    /// (each names `origin:line:column`); a network whose config cannot be
    /// read keeps its shipped activations.
    pub fn with_sources(&self, configs: &[NetworkConfig]) -> (Schedule, Vec<Located>) {
        let mut out = self.clone();
        let mut problems = Vec::new();
        for config in configs {
            let Some(net) = self.network(&config.network).cloned() else {
                problems.push(Located::whole(
                    config
                        .consensus
                        .as_ref()
                        .or(config.execution.as_ref())
                        .map_or(config.network.as_str(), |s| s.origin.as_str()),
                    format!("network `{}` is not in the schedule", config.network),
                ));
                continue;
            };
            let genesis = net
                .genesis_time
                .and_then(|g| DateTime::from_timestamp(g, 0));
            let mut stated: Vec<Stated> = Vec::new();
            if let Some(src) = &config.consensus {
                match parse_consensus(&src.origin, &src.text) {
                    Err(e) => problems.push(e),
                    Ok(cl) => {
                        let named: Vec<u64> = cl.forks.iter().filter_map(|f| f.epoch).collect();
                        for f in &cl.forks {
                            let Some(epoch) = f.epoch else { continue };
                            let Some(time) = net.epoch_time(epoch) else {
                                continue;
                            };
                            stated.push(Stated {
                                name: f.name.clone(),
                                consensus: true,
                                epoch: Some(epoch),
                                time,
                                origin: src.origin.clone(),
                            });
                        }
                        let mut bpos: Vec<u64> = cl
                            .blob_schedule
                            .iter()
                            .copied()
                            .filter(|e| !named.contains(e))
                            .collect();
                        bpos.sort_unstable();
                        bpos.dedup();
                        for (i, epoch) in bpos.into_iter().enumerate() {
                            let Some(time) = net.epoch_time(epoch) else {
                                continue;
                            };
                            stated.push(Stated {
                                name: format!("BPO{}", i + 1),
                                consensus: true,
                                epoch: Some(epoch),
                                time,
                                origin: src.origin.clone(),
                            });
                        }
                    }
                }
            }
            if let Some(src) = &config.execution {
                match parse_execution(&src.origin, &src.text) {
                    Err(e) => problems.push(e),
                    Ok(el) => {
                        for (name, t) in el {
                            let Some(time) = DateTime::from_timestamp(t, 0) else {
                                continue;
                            };
                            // active before the beacon chain's genesis: from genesis
                            if genesis.is_some_and(|g| time <= g) {
                                continue;
                            }
                            let epoch = net.genesis_time.and_then(|g| {
                                let per = net.seconds_per_slot? * net.slots_per_epoch?;
                                let since = u64::try_from(t.checked_sub(g)?).ok()?;
                                (since % per == 0).then_some(since / per)
                            });
                            stated.push(Stated {
                                name: capitalise(&name),
                                consensus: false,
                                epoch,
                                time,
                                origin: src.origin.clone(),
                            });
                        }
                    }
                }
            }
            out.apply(&net.name, stated, &mut problems);
        }
        (out, problems)
    }

    /// Applies one network's stated activations.
    fn apply(&mut self, network: &str, stated: Vec<Stated>, problems: &mut Vec<Located>) {
        // the latest activation the shipped schedule knows on this network
        let latest_known = self
            .forks
            .iter()
            .filter_map(|f| f.activation(network))
            .map(|a| a.time)
            .max();
        // known forks first; EL and CL statements of one fork must agree
        let mut unknown: Vec<Stated> = Vec::new();
        let mut applied: Vec<(usize, Stated)> = Vec::new();
        for s in stated {
            let index = self
                .forks
                .iter()
                .position(|f| f.names().any(|n| n.eq_ignore_ascii_case(&s.name)));
            match index {
                Some(i) => {
                    if let Some((_, other)) = applied.iter().find(|(j, _)| *j == i)
                        && other.time != s.time
                    {
                        problems.push(Located::whole(
                            s.origin.clone(),
                            format!(
                                "{} on {network} at {} disagrees with {} ({}): {} kept",
                                s.name,
                                rfc3339(s.time),
                                other.origin,
                                rfc3339(other.time),
                                other.origin
                            ),
                        ));
                        continue;
                    }
                    applied.push((i, s));
                }
                None => {
                    if latest_known.is_none_or(|t| s.time > t) {
                        unknown.push(s);
                    }
                }
            }
        }
        for (i, s) in applied {
            let fork = &mut self.forks[i];
            let source = s.origin.clone();
            match fork.activations.iter_mut().find(|a| a.network == network) {
                Some(a) => {
                    if a.time != s.time || a.epoch.is_none() {
                        a.time = s.time;
                        a.epoch = s.epoch.or(a.epoch);
                    }
                    if a.source.contains(':') {
                        // already from a source (EL and CL agree): keep the first
                    } else {
                        a.source = source;
                    }
                }
                None => fork.activations.push(Activation {
                    network: network.to_string(),
                    epoch: s.epoch,
                    time: s.time,
                    source,
                }),
            }
        }
        // unknown names: execution and consensus names at the same time are one fork
        let mut added: Vec<(String, Option<String>, Option<String>, Stated)> = Vec::new();
        for s in unknown {
            if let Some(entry) = added.iter_mut().find(|(_, _, _, x)| x.time == s.time) {
                if s.consensus {
                    entry.2.get_or_insert(s.name.clone());
                } else {
                    entry.1.get_or_insert(s.name.clone());
                }
                continue;
            }
            let (el, cl) = if s.consensus {
                (None, Some(s.name.clone()))
            } else {
                (Some(s.name.clone()), None)
            };
            added.push((s.name.clone(), el, cl, s));
        }
        for (name, execution, consensus, s) in added {
            let existing = self.forks.iter().position(|f| {
                f.names().any(|n| {
                    n.eq_ignore_ascii_case(&name)
                        || execution
                            .as_deref()
                            .is_some_and(|e| n.eq_ignore_ascii_case(e))
                        || consensus
                            .as_deref()
                            .is_some_and(|c| n.eq_ignore_ascii_case(c))
                })
            });
            let activation = Activation {
                network: network.to_string(),
                epoch: s.epoch,
                time: s.time,
                source: s.origin.clone(),
            };
            match existing {
                Some(i) => {
                    let f = &mut self.forks[i];
                    f.activations.retain(|a| a.network != network);
                    f.activations.push(activation);
                    if f.execution.is_none() {
                        f.execution = execution;
                    }
                    if f.consensus.is_none() {
                        f.consensus = consensus;
                    }
                }
                None => {
                    let bpo = name.starts_with("BPO");
                    // a CL name is the fork's name; its EL name links to it
                    let name = consensus.clone().unwrap_or(name);
                    self.forks.push(Fork {
                        name,
                        kind: if bpo {
                            ForkKind::Bpo
                        } else {
                            ForkKind::Upgrade
                        },
                        execution: execution.filter(|e| consensus.as_ref().is_none_or(|c| c != e)),
                        consensus: consensus.filter(|_| !bpo),
                        after: None,
                        aliases: Vec::new(),
                        activations: vec![activation],
                        minimum_versions: Vec::new(),
                    });
                }
            }
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::Engine;

    const MAINNET_CL: &str = "# Mainnet config\nPRESET_BASE: 'mainnet'\nCONFIG_NAME: 'mainnet'\nTERMINAL_BLOCK_HASH_ACTIVATION_EPOCH: 18446744073709551615\nMIN_GENESIS_TIME: 1606824000\nALTAIR_FORK_EPOCH: 74240  # Oct 27, 2021\nCAPELLA_FORK_EPOCH: 194048\nDENEB_FORK_EPOCH: 269568\nELECTRA_FORK_EPOCH: 364032\nFULU_FORK_EPOCH: 411392\nGLOAS_FORK_VERSION: 0x07000000\nGLOAS_FORK_EPOCH: 18446744073709551615\nBLOB_SCHEDULE:\n  - EPOCH: 412672 # BPO1\n    MAX_BLOBS_PER_BLOCK: 15\n  - EPOCH: 419072\n    MAX_BLOBS_PER_BLOCK: 21\nSECONDS_PER_SLOT: 12\n";

    fn cfg(cl: Option<&str>, el: Option<&str>) -> Vec<NetworkConfig> {
        vec![NetworkConfig {
            network: "mainnet".into(),
            consensus: cl.map(|t| SourceText {
                origin: "eth-clients/mainnet:metadata/config.yaml".into(),
                text: t.into(),
            }),
            execution: el.map(|t| SourceText {
                origin: "eth-clients/mainnet:metadata/genesis.json".into(),
                text: t.into(),
            }),
        }]
    }

    #[test]
    fn consensus_config_is_read() {
        let c = parse_consensus("c.yaml", MAINNET_CL).unwrap();
        let names: Vec<String> = c
            .forks
            .iter()
            .map(|f| format!("{}={:?}", f.name, f.epoch))
            .collect();
        assert_eq!(
            names,
            [
                "Altair=Some(74240)",
                "Capella=Some(194048)",
                "Deneb=Some(269568)",
                "Electra=Some(364032)",
                "Fulu=Some(411392)",
                "Gloas=None"
            ]
        );
        assert_eq!(c.blob_schedule, [412672, 419072]);
        let e = parse_consensus("c.yaml", "FULU_FORK_EPOCH: soon\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.yaml:1:18: `FULU_FORK_EPOCH` is \"soon\": expected an epoch number"
        );
        let e = parse_consensus("c.yaml", "<html>\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("c.yaml:1:1: expected `KEY: value`"),
            "{e}"
        );
        let e = parse_consensus("c.yaml", "A: 1\n").unwrap_err();
        assert!(e.to_string().contains("no `<FORK>_FORK_EPOCH` key"), "{e}");
    }

    #[test]
    fn execution_genesis_is_read() {
        let el = parse_execution(
            "g.json",
            r#"{"config": {"chainId": 1, "londonBlock": 5, "shanghaiTime": 1681338455, "osakaTime": 1764798551, "bpo1Time": 1765978199}, "alloc": {}}"#,
        )
        .unwrap();
        assert_eq!(
            el,
            [
                ("shanghai".to_string(), 1681338455),
                ("osaka".to_string(), 1764798551),
                ("bpo1".to_string(), 1765978199)
            ]
        );
        let e = parse_execution("g.json", "{\n  \"config\": [}").unwrap_err();
        assert!(e.to_string().starts_with("g.json:2:"), "{e}");
    }

    #[test]
    fn sources_win_for_times_and_add_upcoming_forks() {
        let shipped = Engine::builtin().unwrap().schedule().clone();
        // the same values as shipped: nothing moves but the source
        let (s, problems) = shipped.with_sources(&cfg(Some(MAINNET_CL), None));
        assert!(problems.is_empty(), "{problems:?}");
        let a = s.activation("Fusaka", "mainnet").unwrap();
        assert_eq!(rfc3339(a.time), "2025-12-03T21:49:11Z");
        assert_eq!(a.source, "eth-clients/mainnet:metadata/config.yaml");
        assert_eq!(
            rfc3339(s.activation("BPO2", "mainnet").unwrap().time),
            "2026-01-07T01:01:11Z"
        );
        assert!(s.activation("Glamsterdam", "mainnet").is_none());
        assert!(s.fork("Altair").is_none(), "past forks are not added");
        // Gloas scheduled upstream, EL agrees; an unknown next fork is linked
        let cl = MAINNET_CL.replace(
            "GLOAS_FORK_EPOCH: 18446744073709551615",
            "GLOAS_FORK_EPOCH: 500000\nHEZE_FORK_EPOCH: 600000",
        );
        let el = r#"{"config": {"amsterdamTime": 1798824023, "bogotaTime": 1837224023}}"#;
        let (s, problems) = shipped.with_sources(&cfg(Some(&cl), Some(el)));
        assert!(problems.is_empty(), "{problems:?}");
        let g = s.activation("Amsterdam", "mainnet").unwrap();
        assert_eq!(g.epoch, Some(500000));
        assert_eq!(rfc3339(g.time), "2027-01-01T17:20:23Z");
        let heze = s.fork("Bogota").unwrap();
        assert_eq!(heze.name, "Heze");
        assert_eq!(heze.execution.as_deref(), Some("Bogota"));
        assert_eq!(
            heze.activation("mainnet").unwrap().source,
            "eth-clients/mainnet:metadata/config.yaml"
        );
        // disagreement between EL and CL: reported, CL kept
        let el = r#"{"config": {"amsterdamTime": 1798824000}}"#;
        let (s, problems) = shipped.with_sources(&cfg(Some(&cl), Some(el)));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].to_string().contains("disagrees"),
            "{problems:?}"
        );
        assert_eq!(
            s.activation("Gloas", "mainnet").unwrap().epoch,
            Some(500000)
        );
    }

    #[test]
    fn unreadable_config_keeps_the_shipped_schedule() {
        let shipped = Engine::builtin().unwrap().schedule().clone();
        let (s, problems) = shipped.with_sources(&cfg(Some("FULU_FORK_EPOCH: [1]\n"), None));
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .to_string()
                .starts_with("eth-clients/mainnet:metadata/config.yaml:1:18:"),
            "{problems:?}"
        );
        assert_eq!(s, shipped);
    }
}
