//! The fork schedule (`rules/ethereum/forks.yml` and schedule files in user
//! rule directories): networks with their beacon-chain timing, forks with
//! their execution- and consensus-layer names, activation epoch and time per
//! network, and the minimum client version each fork needs on each network.
//!
//! Loading checks everything it can: unknown keys, unknown network names,
//! activation times that disagree with `genesis + epoch x slot x slots`,
//! versions that do not parse, names used twice. Later files extend earlier
//! ones: a fork defined again gains its activations and minimum versions (a
//! later activation or minimum version for the same network replaces the
//! earlier one); a network defined twice is an error.
//!
//! Pure: text in, [`Schedule`] out; no clock, no I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::version::{Scheme, Tag, Version};
use crate::domain::yaml::Node;

use super::error::{Located, Seg, locate, locate_key};
use super::time::Instant;

/// What kind of chain a network is; decides the order networks are listed
/// in (mainnet first, then public testnets, then other chains).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkKind {
    Mainnet,
    Testnet,
    Other,
}

/// What kind of fork.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForkKind {
    /// A named network upgrade (execution + consensus).
    #[default]
    Upgrade,
    /// A blob-parameter-only fork that follows an upgrade.
    Bpo,
}

/// A network and its beacon-chain clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// Canonical lower-case name (`mainnet`, `hoodi`, `op-sepolia`).
    pub name: String,
    pub kind: NetworkKind,
    /// Other spellings found in release notes (lower case).
    pub aliases: Vec<String>,
    /// Beacon genesis (unix seconds), when this network's epochs can be
    /// converted to times.
    pub genesis_time: Option<i64>,
    pub seconds_per_slot: Option<u64>,
    pub slots_per_epoch: Option<u64>,
}

impl Network {
    /// The start of `epoch`, when the clock is known and no overflow occurs.
    pub fn epoch_time(&self, epoch: u64) -> Option<DateTime<Utc>> {
        let per_epoch = self.seconds_per_slot?.checked_mul(self.slots_per_epoch?)?;
        let offset = i64::try_from(epoch.checked_mul(per_epoch)?).ok()?;
        DateTime::from_timestamp(self.genesis_time?.checked_add(offset)?, 0)
    }

    /// The start of `slot`.
    pub fn slot_time(&self, slot: u64) -> Option<DateTime<Utc>> {
        let offset = i64::try_from(slot.checked_mul(self.seconds_per_slot?)?).ok()?;
        DateTime::from_timestamp(self.genesis_time?.checked_add(offset)?, 0)
    }

    /// The epoch `slot` belongs to.
    pub fn slot_epoch(&self, slot: u64) -> Option<u64> {
        slot.checked_div(self.slots_per_epoch?)
    }
}

/// When a fork activates on one network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activation {
    pub network: String,
    pub epoch: Option<u64>,
    pub time: DateTime<Utc>,
    /// Where the time comes from: the schedule file that states it
    /// (`rules/ethereum/forks.yml`), or the network's own config
    /// (`eth-clients/mainnet:metadata/config.yaml`, see [`super::source`]).
    pub source: String,
}

/// The oldest version of one upstream that follows a fork on one network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinimumVersion {
    /// `owner/name` as written in the schedule.
    pub repo: String,
    pub network: String,
    /// The version as written (`v8.0.0`, `25.11.0`).
    pub text: String,
    pub version: Version,
    /// Where the fact comes from.
    pub source: Option<String>,
}

/// A fork.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fork {
    /// Combined name (`Pectra`); BPO forks are `BPO1`, `BPO2`...
    pub name: String,
    pub kind: ForkKind,
    /// Execution-layer name (`Prague`).
    pub execution: Option<String>,
    /// Consensus-layer name (`Electra`).
    pub consensus: Option<String>,
    /// For BPO forks: the upgrade they follow.
    pub after: Option<String>,
    /// Other spellings.
    pub aliases: Vec<String>,
    /// Activations, in the order written.
    pub activations: Vec<Activation>,
    pub minimum_versions: Vec<MinimumVersion>,
}

impl Fork {
    /// Every name the fork goes by: its name, layer names and aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str())
            .chain(self.execution.as_deref())
            .chain(self.consensus.as_deref())
            .chain(self.aliases.iter().map(String::as_str))
    }

    /// The activation on `network`.
    pub fn activation(&self, network: &str) -> Option<&Activation> {
        self.activations.iter().find(|a| a.network == network)
    }
}

/// Networks and forks, merged from every schedule file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    pub(super) networks: Vec<Network>,
    pub(super) forks: Vec<Fork>,
}

impl Schedule {
    pub fn networks(&self) -> &[Network] {
        &self.networks
    }

    pub fn forks(&self) -> &[Fork] {
        &self.forks
    }

    /// A network by canonical name or alias (case-insensitive).
    pub fn network(&self, name: &str) -> Option<&Network> {
        let n = name.to_lowercase();
        self.networks
            .iter()
            .find(|net| net.name == n || net.aliases.contains(&n))
    }

    /// A fork by any of its names (case-insensitive).
    pub fn fork(&self, name: &str) -> Option<&Fork> {
        self.forks
            .iter()
            .find(|f| f.names().any(|x| x.eq_ignore_ascii_case(name)))
    }

    /// When `fork` activates on `network`.
    pub fn activation(&self, fork: &str, network: &str) -> Option<&Activation> {
        self.fork(fork)?.activation(network)
    }

    /// The minimum version of `repo` (`owner/name`, case-insensitive) for
    /// `fork` on `network`.
    pub fn minimum_version(
        &self,
        fork: &str,
        repo: &str,
        network: &str,
    ) -> Option<&MinimumVersion> {
        self.fork(fork)?
            .minimum_versions
            .iter()
            .find(|m| m.network == network && m.repo.eq_ignore_ascii_case(repo))
    }

    /// The rank of a network in listings: mainnet, testnets, other chains,
    /// unknown names last.
    pub fn rank(&self, network: &str) -> u8 {
        match self.network(network).map(|n| n.kind) {
            Some(NetworkKind::Mainnet) => 0,
            Some(NetworkKind::Testnet) => 1,
            None if network == super::fork::TESTNETS => 1,
            Some(NetworkKind::Other) => 2,
            None => 3,
        }
    }

    /// Merges one schedule file (`root` is its document, `file` its name).
    pub(crate) fn merge(&mut self, file: &str, root: &Node) -> Result<(), Vec<Located>> {
        let raw: RawSchedule = crate::domain::yaml::from_node(file, root).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        if raw.version != 1 {
            errors.push(Located::at_node(
                file,
                locate(root, &[Seg::Key("version")]),
                format!("unsupported version {}: expected 1", raw.version),
            ));
            return Err(errors);
        }
        for (i, n) in raw.networks.into_iter().enumerate() {
            let at =
                |key: &str| locate(root, &[Seg::Key("networks"), Seg::Index(i), Seg::Key(key)]);
            let name = n.name.trim().to_lowercase();
            if !valid_name(&name) {
                errors.push(Located::at_node(
                    file,
                    at("name"),
                    format!(
                        "invalid network name {:?}: expected lower-case letters, digits and `-`",
                        n.name
                    ),
                ));
                continue;
            }
            if self.network(&name).is_some() {
                errors.push(Located::at_node(
                    file,
                    at("name"),
                    format!("network `{name}` is already defined"),
                ));
                continue;
            }
            let clock = [
                n.genesis_time.is_some(),
                n.seconds_per_slot.is_some(),
                n.slots_per_epoch.is_some(),
            ];
            if clock.iter().any(|b| *b) && !clock.iter().all(|b| *b) {
                errors.push(Located::at_node(
                    file,
                    at("name"),
                    "expected all of `genesis_time`, `seconds_per_slot` and `slots_per_epoch`, or none",
                ));
                continue;
            }
            if n.seconds_per_slot == Some(0) || n.slots_per_epoch == Some(0) {
                errors.push(Located::at_node(
                    file,
                    at("name"),
                    "slot and epoch lengths must be positive",
                ));
                continue;
            }
            let mut aliases = Vec::new();
            for (j, a) in n.aliases.iter().enumerate() {
                let a = a.trim().to_lowercase();
                if a.is_empty() || self.network(&a).is_some() || a == name {
                    errors.push(Located::at_node(
                        file,
                        locate(
                            root,
                            &[
                                Seg::Key("networks"),
                                Seg::Index(i),
                                Seg::Key("aliases"),
                                Seg::Index(j),
                            ],
                        ),
                        format!("alias {a:?} is empty or names another network"),
                    ));
                    continue;
                }
                aliases.push(a);
            }
            self.networks.push(Network {
                name,
                kind: n.kind,
                aliases,
                genesis_time: n.genesis_time,
                seconds_per_slot: n.seconds_per_slot,
                slots_per_epoch: n.slots_per_epoch,
            });
        }
        for (i, f) in raw.forks.into_iter().enumerate() {
            if let Err(e) = self.merge_fork(file, root, i, f) {
                errors.extend(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn merge_fork(
        &mut self,
        file: &str,
        root: &Node,
        index: usize,
        f: RawFork,
    ) -> Result<(), Vec<Located>> {
        fn path<'a>(index: usize, rest: &[Seg<'a>]) -> Vec<Seg<'a>> {
            let mut p = vec![Seg::Key("forks"), Seg::Index(index)];
            p.extend_from_slice(rest);
            p
        }
        let mut errors = Vec::new();
        let name = f.name.trim().to_string();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err(vec![Located::at_node(
                file,
                locate(root, &path(index, &[Seg::Key("name")])),
                format!(
                    "invalid fork name {:?}: expected letters, digits and `-`",
                    f.name
                ),
            )]);
        }
        // Names must not collide with another fork's.
        let names: Vec<String> = std::iter::once(name.clone())
            .chain(f.execution.clone())
            .chain(f.consensus.clone())
            .chain(f.aliases.iter().map(|a| a.trim().to_string()))
            .collect();
        for n in &names {
            if let Some(other) = self.fork(n)
                && !other.name.eq_ignore_ascii_case(&name)
            {
                errors.push(Located::at_node(
                    file,
                    locate(root, &path(index, &[Seg::Key("name")])),
                    format!("the name `{n}` already names the fork `{}`", other.name),
                ));
            }
        }
        if let Some(after) = &f.after
            && self.fork(after).is_none()
        {
            errors.push(Located::at_node(
                file,
                locate(root, &path(index, &[Seg::Key("after")])),
                format!(
                    "unknown fork `{after}` (forks must be defined before they are referred to)"
                ),
            ));
        }
        let mut activations = Vec::new();
        for (network, a) in &f.activations {
            let at = path(index, &[Seg::Key("activations"), Seg::Key(network)]);
            let Some(net) = self.network(network).cloned() else {
                errors.push(Located::at_node(
                    file,
                    locate_key(root, &at),
                    format!("unknown network `{network}`: define it under `networks` first"),
                ));
                continue;
            };
            let from_epoch = a.epoch.and_then(|e| net.epoch_time(e));
            let time = match (a.time.map(|t| t.0), from_epoch) {
                (Some(t), Some(e)) if t != e => {
                    errors.push(Located::at_node(
                        file,
                        locate(root, &at),
                        format!(
                            "time {} disagrees with epoch {}, which starts at {}",
                            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            a.epoch.unwrap_or_default(),
                            e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        ),
                    ));
                    continue;
                }
                (Some(t), _) => t,
                (None, Some(e)) => e,
                (None, None) => {
                    errors.push(Located::at_node(
                        file,
                        locate(root, &at),
                        format!(
                            "expected `time`{}",
                            if a.epoch.is_some() {
                                format!(
                                    " (network `{}` has no genesis time to convert the epoch)",
                                    net.name
                                )
                            } else {
                                " or `epoch`".into()
                            }
                        ),
                    ));
                    continue;
                }
            };
            activations.push(Activation {
                network: net.name.clone(),
                epoch: a.epoch,
                time,
                source: file.to_string(),
            });
        }
        let mut minimum_versions = Vec::new();
        for (repo, by_network) in &f.minimum_versions {
            let repo_at = path(index, &[Seg::Key("minimum_versions"), Seg::Key(repo)]);
            if !valid_repo(repo) {
                errors.push(Located::at_node(
                    file,
                    locate_key(root, &repo_at),
                    format!("invalid repository {repo:?}: expected `owner/name`"),
                ));
                continue;
            }
            for (network, m) in by_network {
                let mut at = repo_at.clone();
                at.push(Seg::Key(network));
                let Some(net) = self.network(network) else {
                    errors.push(Located::at_node(
                        file,
                        locate_key(root, &at),
                        format!("unknown network `{network}`"),
                    ));
                    continue;
                };
                let Some(tag) = Tag::parse(&Scheme::Semver, m.version.trim()) else {
                    at.push(Seg::Key("version"));
                    errors.push(Located::at_node(
                        file,
                        locate(root, &at),
                        format!(
                            "{:?} is not a version (expected e.g. `v8.0.0` or `25.11.0`)",
                            m.version
                        ),
                    ));
                    continue;
                };
                minimum_versions.push(MinimumVersion {
                    repo: repo.clone(),
                    network: net.name.clone(),
                    text: m.version.trim().to_string(),
                    version: tag.version().clone(),
                    source: m.source.clone(),
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let aliases: Vec<String> = f.aliases.iter().map(|a| a.trim().to_string()).collect();
        match self
            .forks
            .iter_mut()
            .find(|x| x.name.eq_ignore_ascii_case(&name))
        {
            Some(existing) => {
                for a in activations {
                    existing.activations.retain(|x| x.network != a.network);
                    existing.activations.push(a);
                }
                for m in minimum_versions {
                    existing.minimum_versions.retain(|x| {
                        !(x.network == m.network && x.repo.eq_ignore_ascii_case(&m.repo))
                    });
                    existing.minimum_versions.push(m);
                }
                for a in aliases {
                    if !existing.aliases.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
                        existing.aliases.push(a);
                    }
                }
            }
            None => self.forks.push(Fork {
                name,
                kind: f.kind.unwrap_or_default(),
                execution: f.execution,
                consensus: f.consensus,
                after: f.after,
                aliases,
                activations,
                minimum_versions,
            }),
        }
        Ok(())
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_repo(repo: &str) -> bool {
    let mut parts = repo.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// A schedule file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    version: u32,
    #[serde(default)]
    networks: Vec<RawNetwork>,
    #[serde(default)]
    forks: Vec<RawFork>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    name: String,
    kind: NetworkKind,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    genesis_time: Option<i64>,
    #[serde(default)]
    seconds_per_slot: Option<u64>,
    #[serde(default)]
    slots_per_epoch: Option<u64>,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFork {
    name: String,
    #[serde(default)]
    kind: Option<ForkKind>,
    #[serde(default)]
    execution: Option<String>,
    #[serde(default)]
    consensus: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    activations: BTreeMap<String, RawActivation>,
    #[serde(default)]
    minimum_versions: BTreeMap<String, BTreeMap<String, RawMinimum>>,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActivation {
    #[serde(default)]
    epoch: Option<u64>,
    #[serde(default)]
    time: Option<Instant>,
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMinimum {
    version: String,
    #[serde(default)]
    source: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Schedule, Vec<String>> {
        let docs = crate::domain::yaml::parse(text, 0).map_err(|e| vec![e.to_string()])?;
        let mut s = Schedule::default();
        s.merge("f.yml", &docs[0])
            .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>())?;
        Ok(s)
    }

    const NET: &str = "version: 1\nnetworks:\n  - {name: mainnet, kind: mainnet, genesis_time: 1606824023, seconds_per_slot: 12, slots_per_epoch: 32}\n";

    #[test]
    fn epochs_convert_with_the_network_clock() {
        let s = load(&format!(
            "{NET}forks:\n  - name: Pectra\n    execution: Prague\n    consensus: Electra\n    activations:\n      mainnet: {{epoch: 364032}}\n    minimum_versions:\n      OffchainLabs/prysm:\n        mainnet: {{version: v6.0.0}}\n"
        ))
        .unwrap();
        let a = s.activation("electra", "mainnet").unwrap();
        assert_eq!(a.time.to_rfc3339(), "2025-05-07T10:05:11+00:00");
        assert_eq!(
            s.minimum_version("PRAGUE", "offchainlabs/prysm", "mainnet")
                .unwrap()
                .text,
            "v6.0.0"
        );
        let net = s.network("Mainnet").unwrap();
        assert_eq!(net.slot_epoch(3710976), Some(115968));
        assert_eq!(net.epoch_time(u64::MAX), None);
    }

    #[test]
    fn problems_are_positioned() {
        let e = load(&format!(
            "{NET}forks:\n  - name: X\n    activations:\n      mainnet: {{epoch: 1, time: 2020-01-01T00:00:00Z}}\n      moon: {{epoch: 1}}\n    minimum_versions:\n      a/b: {{mainnet: {{version: latest}}}}\n"
        ))
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:#?}");
        assert!(
            e[0].starts_with("f.yml:7:16: time 2020-01-01T00:00:00Z disagrees with epoch 1"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("f.yml:8:7: unknown network `moon`"),
            "{e:?}"
        );
        assert!(
            e[2].starts_with("f.yml:10:32: \"latest\" is not a version"),
            "{e:?}"
        );
        let e = load("version: 1\nnetworks:\n  - {name: a, kind: other, genesis_time: 1}\n")
            .unwrap_err();
        assert!(e[0].starts_with("f.yml:3:12: expected all of"), "{e:?}");
        let e = load("version: 2\n").unwrap_err();
        assert_eq!(e, ["f.yml:1:10: unsupported version 2: expected 1"]);
        let e = load("version: 1\nforks: [{name: A, colour: red}]\n").unwrap_err();
        assert!(
            e[0].starts_with("f.yml:2:19: unknown field `colour`"),
            "{e:?}"
        );
    }

    #[test]
    fn later_files_extend_forks() {
        let mut s = load(&format!(
            "{NET}forks:\n  - {{name: Glamsterdam, execution: Amsterdam}}\n"
        ))
        .unwrap();
        let docs = crate::domain::yaml::parse(
            "version: 1\nforks:\n  - name: glamsterdam\n    activations: {mainnet: {epoch: 500000}}\n",
            0,
        )
        .unwrap();
        s.merge("g.yml", &docs[0]).unwrap();
        assert!(s.activation("Amsterdam", "mainnet").is_some());
        assert_eq!(s.forks().len(), 1);
        let dup = crate::domain::yaml::parse(
            "version: 1\nnetworks: [{name: mainnet, kind: mainnet}]\n",
            0,
        )
        .unwrap();
        let e = s.merge("h.yml", &dup[0]).unwrap_err();
        assert!(e[0].to_string().contains("already defined"));
    }
}
