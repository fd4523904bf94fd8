//! Coupled upgrades: when an environment needs both layers (execution and
//! consensus: beacon node or validator client) for a fork, their upgrades
//! travel through the rollout as one unit.
//!
//! A [`Couple`] is an environment, a fork and the upstreams that must move
//! together there. It comes from the readiness rows
//! ([`crate::domain::readiness`]): for each fork, the upstreams not ready
//! (their files ask for a version below the minimum) in some environment
//! of the repository; in each environment of that fork's rows, those of
//! them deployed there, when they span both layers. An upstream already
//! brought to the minimum in one environment thus stays coupled there
//! while a later wave still needs it, so the wave's soak starts only when
//! both layers are merged.
//!
//! Pure: rows in, couples out. Reads no clock, no I/O; it does not decide
//! anything itself ([`super::decide`] does).

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::catalog::Role;
use crate::domain::readiness::{Row, State};

/// Upstreams that must move together in one environment for one fork.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Couple {
    pub environment: String,
    pub fork: String,
    /// At least one execution and one consensus-layer upstream.
    pub upstreams: BTreeSet<String>,
    /// Those of them ready there only through a pull request upkeep
    /// merged, no longer needed anywhere: they wait for the others, no one
    /// waits for them.
    pub moved: BTreeSet<String>,
}

/// Why an upgrade waits for its coupled partner in one environment, as
/// rollout reasons print it: `waiting for sigp/lighthouse (coupled for
/// Glamsterdam in mainnet)`, then `: ` and the partner's own cause when it
/// gets no pull request for a reason of its own (its image is not
/// published yet, an ignore rule, the minimum release age).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub partner: String,
    pub fork: String,
    pub environment: String,
    pub cause: Option<String>,
}

impl std::fmt::Display for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "waiting for {} (coupled for {} in {})",
            self.partner, self.fork, self.environment
        )?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl Waiting {
    pub fn new(partner: &str, fork: &str, environment: &str) -> Waiting {
        Waiting {
            partner: partner.to_string(),
            fork: fork.to_string(),
            environment: environment.to_string(),
            cause: None,
        }
    }
}

/// The couples of one repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Couples {
    list: Vec<Couple>,
}

/// The layer of a role: execution or consensus (beacon node and validator
/// client); signers and MEV-Boost are in neither.
fn layer(role: Role) -> Option<bool> {
    match role {
        Role::Execution => Some(true),
        Role::Consensus | Role::Validator => Some(false),
        Role::Signer | Role::MevBoost => None,
    }
}

impl Couples {
    pub fn new(list: Vec<Couple>) -> Couples {
        Couples { list }
    }

    /// The couples of `repository` from its readiness rows.
    pub fn from_rows(rows: &[Row], repository: &str) -> Couples {
        Couples::from_rows_moved(rows, repository, |_, _| false)
    }

    /// The couples of `repository` from its readiness rows, where
    /// `moved(environment, upstream)` says upkeep merged a pull request
    /// moving that upstream there: a layer made ready that way stays
    /// coupled with the other layer still needed in that environment, so
    /// their wave (the last one too) is done only when both are merged. A
    /// layer ready without upkeep's help is no partner.
    pub fn from_rows_moved(
        rows: &[Row],
        repository: &str,
        moved: impl Fn(&str, &str) -> bool,
    ) -> Couples {
        let rows: Vec<&Row> = rows.iter().filter(|r| r.repository == repository).collect();
        // Per fork, the upstreams some environment still needs to move.
        let mut needing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for r in &rows {
            for c in &r.clients {
                if c.state == State::NotReady && c.needed.is_some() && layer(c.role).is_some() {
                    needing
                        .entry(r.fork.as_str())
                        .or_default()
                        .insert(c.upstream.to_lowercase());
                }
            }
        }
        let mut list = Vec::new();
        for r in &rows {
            let Some(needed) = needing.get(r.fork.as_str()) else {
                continue;
            };
            let mut only_moved = BTreeSet::new();
            let members: Vec<(String, bool)> = r
                .clients
                .iter()
                .filter(|c| {
                    let u = c.upstream.to_lowercase();
                    if needed.contains(&u) {
                        return true;
                    }
                    let m = c.state == State::Ready && moved(&r.environment, &c.upstream);
                    if m {
                        only_moved.insert(u);
                    }
                    m
                })
                .filter_map(|c| layer(c.role).map(|l| (c.upstream.to_lowercase(), l)))
                .collect();
            let both = members.iter().any(|(_, l)| *l) && members.iter().any(|(_, l)| !*l);
            if both {
                list.push(Couple {
                    environment: r.environment.clone(),
                    fork: r.fork.clone(),
                    upstreams: members.into_iter().map(|(u, _)| u).collect(),
                    moved: only_moved,
                });
            }
        }
        Couples { list }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The upstreams `upstream` is coupled with in `environment`, each with
    /// the fork that couples them (the nearest first when several do).
    pub fn partners(&self, environment: &str, upstream: &str) -> Vec<(String, String)> {
        let upstream = upstream.to_lowercase();
        let mut out: Vec<(String, String)> = Vec::new();
        for c in self
            .list
            .iter()
            .filter(|c| c.environment == environment && c.upstreams.contains(&upstream))
        {
            for u in c
                .upstreams
                .iter()
                .filter(|u| **u != upstream && !c.moved.contains(*u))
            {
                if !out.iter().any(|(p, _)| p == u) {
                    out.push((u.clone(), c.fork.clone()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::readiness::Client;
    use chrono::{TimeZone, Utc};

    fn client(role: Role, upstream: &str, state: State) -> Client {
        Client {
            role,
            client: upstream.rsplit('/').next().unwrap().into(),
            upstream: upstream.into(),
            image: upstream.into(),
            file: "values.yaml:1".into(),
            desired: Some("v1".into()),
            running: None,
            minimum: None,
            state,
            needed: (state == State::NotReady).then(|| "v2".into()),
            why: String::new(),
        }
    }

    fn row(env: &str, clients: Vec<Client>) -> Row {
        let at = Utc.with_ymd_and_hms(2027, 3, 8, 0, 0, 0).unwrap();
        Row {
            repository: "acme/eth".into(),
            environment: env.into(),
            network: env.into(),
            fork: "Glamsterdam".into(),
            activates_at: at,
            seconds_left: 1,
            state: State::NotReady,
            blocking: Vec::new(),
            clients,
        }
    }

    const EL: &str = "ethereum/go-ethereum";
    const CL: &str = "sigp/lighthouse";

    #[test]
    fn both_layers_not_ready_are_coupled() {
        let rows = [row(
            "mainnet",
            vec![
                client(Role::Execution, EL, State::NotReady),
                client(Role::Consensus, CL, State::NotReady),
                client(Role::Validator, CL, State::NotReady),
            ],
        )];
        let c = Couples::from_rows(&rows, "acme/eth");
        assert_eq!(
            c.partners("mainnet", EL),
            [(CL.into(), "Glamsterdam".into())]
        );
        assert_eq!(
            c.partners("mainnet", CL),
            [(EL.into(), "Glamsterdam".into())]
        );
        assert!(c.partners("hoodi", EL).is_empty());
        assert!(Couples::from_rows(&rows, "acme/other").is_empty());
    }

    #[test]
    fn one_layer_alone_is_no_couple() {
        let rows = [row(
            "mainnet",
            vec![
                client(Role::Execution, EL, State::NotReady),
                client(Role::Consensus, CL, State::Ready),
            ],
        )];
        assert!(Couples::from_rows(&rows, "acme/eth").is_empty());
    }

    #[test]
    fn a_layer_moved_in_an_earlier_wave_stays_coupled_there() {
        // hoodi got geth already; mainnet still needs both: hoodi's
        // lighthouse upgrade and its geth stay one unit.
        let rows = [
            row(
                "hoodi",
                vec![
                    client(Role::Execution, EL, State::Ready),
                    client(Role::Consensus, CL, State::NotReady),
                ],
            ),
            row(
                "mainnet",
                vec![
                    client(Role::Execution, EL, State::NotReady),
                    client(Role::Consensus, CL, State::NotReady),
                ],
            ),
        ];
        let c = Couples::from_rows(&rows, "acme/eth");
        assert_eq!(c.partners("hoodi", CL), [(EL.into(), "Glamsterdam".into())]);
    }

    #[test]
    fn a_layer_upkeep_moved_stays_coupled_while_the_other_is_needed() {
        // geth was merged in mainnet (the last wave); lighthouse is not yet.
        let rows = [row(
            "mainnet",
            vec![
                client(Role::Execution, EL, State::Ready),
                client(Role::Consensus, CL, State::NotReady),
            ],
        )];
        assert!(Couples::from_rows(&rows, "acme/eth").is_empty());
        let c = Couples::from_rows_moved(&rows, "acme/eth", |env, up| env == "mainnet" && up == EL);
        assert_eq!(
            c.partners("mainnet", EL),
            [(CL.into(), "Glamsterdam".into())]
        );
        // Nobody waits for the layer already moved.
        assert!(c.partners("mainnet", CL).is_empty());
        // Ready without upkeep: no partner.
        let c = Couples::from_rows_moved(&rows, "acme/eth", |_, up| up == CL);
        assert!(c.is_empty());
    }
}
