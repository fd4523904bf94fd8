//! Fork readiness: for every environment with a network and every fork
//! scheduled (or announced) there and not yet active, is every client role
//! deployed there (execution, consensus beacon node, validator client,
//! signer, MEV-Boost) at or above the fork's minimum version, and how long
//! is left?
//!
//! Minimum versions ([`Minimums`]) come from, best first: the settings
//! (`forks: {<fork>: {minimum: {<owner/name>: <version>}}}`), then the
//! higher of the fork schedule (`rules/ethereum/forks.yml`) and the release
//! notes (the first release whose notes enable the fork on that network; a
//! later release whose notes say it is required for the fork raises it).
//! Each minimum says where it came from ([`Source`]).
//!
//! A client is `ready` when the version its files ask for, and every
//! version seen running (when the environment is verified live), is at or
//! above the minimum; `not-ready` (with the version needed) otherwise;
//! `unknown` when nothing says which version follows the fork yet or its
//! tag is not a version. An environment is ready only when every client is.
//!
//! Pure: the inventory, the catalog, the fork schedule, the releases polled
//! (classified here with the rule engine), upkeep's pull requests, the
//! settings' minimums and `now` in; rows and their renderings out. It reads
//! no clock and writes nothing. It does not restructure the schedule types
//! of [`crate::domain::rules`]: it only reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::catalog::{Catalog, Role};
use crate::domain::evaluate::ReleaseMap;
use crate::domain::inventory::{Entry, Inventory, Live};
use crate::domain::rollout::decide::{PullRecord, PullState};
use crate::domain::rules::{Basis, Engine, NetworkKind, Schedule};
use crate::domain::settings::ForkMinimum;
use crate::domain::version::{Scheme, Tag, Version};

/// Whether a client, or an environment, follows a fork.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Below the minimum: it will not follow the fork.
    NotReady,
    /// Nothing says yet which version follows the fork, or the version is
    /// not known.
    Unknown,
    Ready,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::NotReady => "not-ready",
            State::Unknown => "unknown",
        }
    }
}

/// Where a minimum version comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// `forks:` in the settings.
    Settings,
    /// The fork schedule (`rules/ethereum/forks.yml` or a user schedule).
    Schedule {
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The release notes of `release`: the first to enable the fork there,
    /// or a later one saying it is required; `required` when its notes say
    /// so.
    ReleaseNotes { release: String, required: bool },
}

impl Source {
    /// `settings`, `fork schedule`, `release notes of v9.0.0`.
    pub fn describe(&self) -> String {
        match self {
            Source::Settings => "settings".into(),
            Source::Schedule { .. } => "fork schedule".into(),
            Source::ReleaseNotes {
                release,
                required: false,
            } => format!("release notes of {release}"),
            Source::ReleaseNotes {
                release,
                required: true,
            } => format!("release notes of {release}, required"),
        }
    }
}

/// The oldest version of an upstream that follows a fork on a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Minimum {
    /// `owner/name`.
    pub upstream: String,
    pub fork: String,
    pub network: String,
    /// As written (`v9.0.0`).
    pub version: String,
    #[serde(skip)]
    pub parsed: Version,
    pub source: Source,
}

/// One release of an upstream, read for the forks its notes enable.
#[derive(Clone, Debug)]
struct NotesFact {
    fork: String,
    network: String,
    release: String,
    version: Version,
    required: bool,
}

/// Every minimum known, by (fork, upstream lower-case, network).
#[derive(Clone, Debug, Default)]
pub struct Minimums {
    schedule: BTreeMap<(String, String, String), Minimum>,
    notes: BTreeMap<(String, String, String), Minimum>,
    /// Network `None`: every network.
    settings: BTreeMap<(String, String, Option<String>), Minimum>,
}

fn parse_version(text: &str) -> Option<Version> {
    Tag::parse(&Scheme::Semver, text.trim()).map(|t| t.version().clone())
}

impl Minimums {
    /// The schedule's minimums, the settings' overrides (fork names
    /// resolved through the schedule), and none from notes yet.
    pub fn new(schedule: &Schedule, overrides: &[ForkMinimum]) -> Minimums {
        let mut m = Minimums::default();
        for fork in schedule.forks() {
            for v in &fork.minimum_versions {
                m.schedule.insert(
                    (fork.name.clone(), v.repo.to_lowercase(), v.network.clone()),
                    Minimum {
                        upstream: v.repo.clone(),
                        fork: fork.name.clone(),
                        network: v.network.clone(),
                        version: v.text.clone(),
                        parsed: v.version.clone(),
                        source: Source::Schedule {
                            note: v.source.clone(),
                        },
                    },
                );
            }
        }
        for o in overrides {
            let Some(parsed) = parse_version(&o.version) else {
                continue;
            };
            let fork = schedule
                .fork(&o.fork)
                .map_or_else(|| o.fork.clone(), |f| f.name.clone());
            m.settings.insert(
                (fork.clone(), o.upstream.to_lowercase(), o.network.clone()),
                Minimum {
                    upstream: o.upstream.clone(),
                    fork,
                    network: o.network.clone().unwrap_or_default(),
                    version: o.version.clone(),
                    parsed,
                    source: Source::Settings,
                },
            );
        }
        m
    }

    /// Adds what the release notes of `upstream` say, `releases` in any
    /// order (pre-releases are skipped): per fork and network, the oldest
    /// release that enables it, raised by any newer release whose notes say
    /// it is required for that fork there.
    fn add_notes(&mut self, upstream: &str, facts: Vec<NotesFact>) {
        let mut facts = facts;
        facts.sort_by(|a, b| a.version.cmp_precedence(&b.version));
        for f in facts {
            let key = (f.fork.clone(), upstream.to_lowercase(), f.network.clone());
            let make = |f: &NotesFact, required: bool| Minimum {
                upstream: upstream.to_string(),
                fork: f.fork.clone(),
                network: f.network.clone(),
                version: f.release.clone(),
                parsed: f.version.clone(),
                source: Source::ReleaseNotes {
                    release: f.release.clone(),
                    required,
                },
            };
            match self.notes.get(&key) {
                None => {
                    self.notes.insert(key, make(&f, f.required));
                }
                Some(old)
                    if f.required
                        && f.version.cmp_precedence(&old.parsed) == std::cmp::Ordering::Greater =>
                {
                    self.notes.insert(key, make(&f, true));
                }
                Some(_) => {}
            }
        }
    }

    /// The minimum of `upstream` (any of `names`, `owner/name`) for `fork`
    /// on `network`: the settings' (for that network, else for every
    /// network), else the higher of the schedule's and the notes'.
    pub fn get(&self, fork: &str, names: &[String], network: &str) -> Option<Minimum> {
        for n in names {
            let n = n.to_lowercase();
            for net in [Some(network.to_string()), None] {
                if let Some(m) = self.settings.get(&(fork.to_string(), n.clone(), net)) {
                    let mut m = m.clone();
                    m.network = network.to_string();
                    return Some(m);
                }
            }
        }
        let find = |map: &BTreeMap<(String, String, String), Minimum>| {
            names.iter().find_map(|n| {
                map.get(&(fork.to_string(), n.to_lowercase(), network.to_string()))
                    .cloned()
            })
        };
        match (find(&self.schedule), find(&self.notes)) {
            (Some(s), Some(n)) => {
                if n.parsed.cmp_precedence(&s.parsed) == std::cmp::Ordering::Greater {
                    Some(n)
                } else {
                    Some(s)
                }
            }
            (s, n) => s.or(n),
        }
    }
}

/// A fork not yet active on a network, and when it activates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Upcoming {
    pub fork: String,
    pub network: String,
    pub at: DateTime<Utc>,
    /// `schedule`, or `release notes of <tag>` for an announcement.
    pub from: String,
}

/// What runs of a client, as seen live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunningVersion {
    pub version: String,
    pub containers: u32,
}

/// One client reference of an environment against a fork.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Client {
    pub role: Role,
    /// The catalog's short name (`lighthouse`).
    pub client: String,
    pub upstream: String,
    pub image: String,
    /// `file:line`.
    pub file: String,
    /// The tag its files ask for.
    pub desired: Option<String>,
    /// What runs of it, when the environment is verified live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<Vec<RunningVersion>>,
    pub minimum: Option<Minimum>,
    pub state: State,
    /// For `not-ready`: the version to upgrade to.
    pub needed: Option<String>,
    /// Why, in a few words.
    pub why: String,
}

/// An upkeep pull request that moves an upstream in an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PullRef {
    pub number: u64,
    pub url: String,
    /// The release it brings.
    pub release: String,
}

/// An upstream that keeps an environment from being ready.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub client: String,
    pub upstream: String,
    pub roles: Vec<Role>,
    pub state: State,
    /// The version needed (`not-ready`), else `None`.
    pub needed: Option<String>,
    /// Open upkeep pull requests that bring it.
    pub pulls: Vec<PullRef>,
}

/// One environment × fork.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub repository: String,
    pub environment: String,
    pub network: String,
    pub fork: String,
    pub activates_at: DateTime<Utc>,
    pub seconds_left: i64,
    pub state: State,
    pub blocking: Vec<Blocker>,
    pub clients: Vec<Client>,
}

/// The matrix: every environment × upcoming fork, nearest fork first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub now: Option<DateTime<Utc>>,
    pub rows: Vec<Row>,
}

impl Readiness {
    /// Whether some environment is not ready (the `--fail-on not-ready`
    /// finding).
    pub fn any_not_ready(&self) -> bool {
        self.rows.iter().any(|r| r.state == State::NotReady)
    }

    /// Only the rows of `fork` (any of its names).
    pub fn only_fork(mut self, schedule: &Schedule, fork: &str) -> Readiness {
        let name = schedule
            .fork(fork)
            .map_or_else(|| fork.to_string(), |f| f.name.clone());
        self.rows.retain(|r| r.fork.eq_ignore_ascii_case(&name));
        self
    }
}

/// Everything [`build`] reads.
pub struct Inputs<'a> {
    pub inventory: &'a Inventory,
    pub catalog: &'a Catalog,
    pub engine: &'a Engine,
    pub releases: &'a ReleaseMap,
    /// upkeep's pull requests per repository.
    pub pulls: &'a BTreeMap<String, Vec<PullRecord>>,
    pub overrides: &'a [ForkMinimum],
    pub now: DateTime<Utc>,
}

/// The role of an inventory entry, from the catalog (the image's role, else
/// its upstream's); a consensus client whose file says `validator` or `vc`
/// is a validator client.
pub fn role_of(catalog: &Catalog, e: &Entry) -> Option<Role> {
    let m = catalog.lookup(&e.image)?;
    let role = m.image.role.or(m.upstream.role)?;
    if role == Role::Consensus && looks_like_validator(&e.file) {
        return Some(Role::Validator);
    }
    Some(role)
}

fn looks_like_validator(file: &str) -> bool {
    let lower = file.to_lowercase();
    lower.contains("validator")
        || lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "vc")
}

/// The facts the notes of one upstream's releases state: per release (not
/// a pre-release), each fork it enables on each network (`testnets`
/// standing for every testnet of the schedule).
fn notes_facts(
    engine: &Engine,
    catalog: &Catalog,
    upstream: &str,
    releases: &[crate::domain::release::Release],
    announced: &mut BTreeMap<(String, String), (DateTime<Utc>, Version, String)>,
) -> Vec<NotesFact> {
    let schedule = engine.schedule();
    let spec = catalog.upstreams().iter().find(|u| u.is_repo(upstream));
    let mut out = Vec::new();
    for r in releases {
        if r.draft {
            continue;
        }
        let version = match spec {
            Some(s) => s.release_version(&r.tag_name),
            None => parse_version(&r.tag_name),
        };
        let Some(version) = version else { continue };
        if version.is_prerelease() || r.prerelease {
            continue;
        }
        let c = engine.classify(upstream, r);
        for f in &c.forks {
            let fork = schedule
                .fork(&f.fork)
                .map_or_else(|| f.fork.clone(), |x| x.name.clone());
            let mut networks: BTreeSet<String> = BTreeSet::new();
            for n in f
                .networks
                .iter()
                .chain(f.per_network.iter().map(|p| &p.network))
            {
                if n == crate::domain::rules::fork::TESTNETS {
                    networks.extend(
                        schedule
                            .networks()
                            .iter()
                            .filter(|x| x.kind == NetworkKind::Testnet)
                            .map(|x| x.name.clone()),
                    );
                } else {
                    networks.insert(n.clone());
                }
            }
            for p in &f.per_network {
                if let (Some(at), Some(basis)) = (p.activation, p.basis)
                    && basis != Basis::Schedule
                {
                    let key = (fork.clone(), p.network.clone());
                    let newer = announced
                        .get(&key)
                        .is_none_or(|(_, v, _)| version.cmp_precedence(v).is_gt());
                    if newer {
                        announced.insert(
                            key,
                            (
                                at,
                                version.clone(),
                                format!("release notes of {}", r.tag_name),
                            ),
                        );
                    }
                }
            }
            for network in networks {
                out.push(NotesFact {
                    fork: fork.clone(),
                    network,
                    release: r.tag_name.clone(),
                    version: version.clone(),
                    required: c.mandatory,
                });
            }
        }
    }
    out
}

/// The forks not yet active on `network` at `now`: the schedule's, and
/// those only release notes announce.
fn upcoming(
    schedule: &Schedule,
    announced: &BTreeMap<(String, String), (DateTime<Utc>, Version, String)>,
    network: &str,
    now: DateTime<Utc>,
) -> Vec<Upcoming> {
    let mut out: Vec<Upcoming> = Vec::new();
    for fork in schedule.forks() {
        if let Some(a) = fork.activation(network)
            && a.time > now
        {
            out.push(Upcoming {
                fork: fork.name.clone(),
                network: network.to_string(),
                at: a.time,
                from: "schedule".into(),
            });
        }
    }
    for ((fork, net), (at, _, from)) in announced {
        if net == network && *at > now && !out.iter().any(|u| &u.fork == fork) {
            let scheduled = schedule
                .fork(fork)
                .is_some_and(|f| f.activation(network).is_some());
            if !scheduled {
                out.push(Upcoming {
                    fork: fork.clone(),
                    network: network.to_string(),
                    at: *at,
                    from: from.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then(a.fork.cmp(&b.fork)));
    out
}

/// An environment's network and its client references with their roles.
type EnvClients<'a> = (String, Vec<(&'a Entry, Role)>);

/// The readiness matrix. Pure.
pub fn build(inputs: &Inputs<'_>) -> Readiness {
    let Inputs {
        inventory,
        catalog,
        engine,
        releases,
        pulls,
        overrides,
        now,
    } = *inputs;
    let schedule = engine.schedule();
    // Environments with a network, and their client references.
    let mut envs: BTreeMap<(String, String), EnvClients<'_>> = BTreeMap::new();
    for e in &inventory.references {
        let (Some(env), Some(net)) = (&e.environment, &e.network) else {
            continue;
        };
        let Some(role) = role_of(catalog, e) else {
            continue;
        };
        let network = schedule
            .network(net)
            .map_or_else(|| net.to_lowercase(), |n| n.name.clone());
        envs.entry((e.repository.clone(), env.clone()))
            .or_insert_with(|| (network, Vec::new()))
            .1
            .push((e, role));
    }
    // Release notes of the upstreams deployed there.
    let upstreams: BTreeSet<String> = envs
        .values()
        .flat_map(|(_, v)| v.iter())
        .filter_map(|(e, _)| catalog.lookup(&e.image).map(|m| m.upstream.repo()))
        .collect();
    let mut minimums = Minimums::new(schedule, overrides);
    let mut announced = BTreeMap::new();
    for u in &upstreams {
        if let Some(Ok(list)) = releases.get(u) {
            let facts = notes_facts(engine, catalog, u, list, &mut announced);
            minimums.add_notes(u, facts);
        }
    }
    let mut rows = Vec::new();
    for ((repository, environment), (network, clients)) in &envs {
        for up in upcoming(schedule, &announced, network, now) {
            let mut row_clients: Vec<Client> = clients
                .iter()
                .map(|(e, role)| client(catalog, &minimums, e, *role, &up.fork, network))
                .collect();
            row_clients
                .sort_by(|a, b| (a.role, &a.client, &a.file).cmp(&(b.role, &b.client, &b.file)));
            let state = row_clients
                .iter()
                .map(|c| c.state)
                .min()
                .unwrap_or(State::Unknown);
            let blocking = blockers(&row_clients, pulls.get(repository), environment);
            rows.push(Row {
                repository: repository.clone(),
                environment: environment.clone(),
                network: network.clone(),
                fork: up.fork.clone(),
                activates_at: up.at,
                seconds_left: (up.at - now).num_seconds(),
                state,
                blocking,
                clients: row_clients,
            });
        }
    }
    rows.sort_by(|a, b| {
        (a.activates_at, &a.repository, &a.environment, &a.fork).cmp(&(
            b.activates_at,
            &b.repository,
            &b.environment,
            &b.fork,
        ))
    });
    Readiness {
        now: Some(now),
        rows,
    }
}

fn client(
    catalog: &Catalog,
    minimums: &Minimums,
    e: &Entry,
    role: Role,
    fork: &str,
    network: &str,
) -> Client {
    let m = catalog.lookup(&e.image);
    let (client_name, upstream, names) = match m {
        Some(m) => {
            let mut names = vec![m.upstream.repo()];
            names.extend(m.upstream.moved_from.iter().cloned());
            (m.upstream.id.clone(), m.upstream.repo(), names)
        }
        None => (e.image.clone(), e.image.clone(), vec![e.image.clone()]),
    };
    let minimum = minimums.get(fork, &names, network);
    let version_of = |tag: &str| -> Option<Version> {
        let m = m?;
        catalog.version_of_image_tag(&m, tag).map(|t| t.version)
    };
    let running: Option<Vec<RunningVersion>> = e.live.as_ref().and_then(|l| {
        (l.live != Live::Unknown).then(|| {
            l.running
                .iter()
                .map(|r| RunningVersion {
                    version: r.version.clone(),
                    containers: r.containers,
                })
                .collect()
        })
    });
    let mut c = Client {
        role,
        client: client_name.clone(),
        upstream: upstream.clone(),
        image: e.image.clone(),
        file: format!("{}:{}", e.file, e.line),
        desired: e.current.clone(),
        running: running.clone(),
        minimum: minimum.clone(),
        state: State::Unknown,
        needed: None,
        why: String::new(),
    };
    let Some(min) = minimum else {
        c.why = format!("nothing says yet which {client_name} version follows {fork} on {network}");
        return c;
    };
    let Some(desired) = e.current.as_deref().and_then(version_of) else {
        c.why = format!(
            "its tag {} is not a version",
            e.current.as_deref().unwrap_or("(none)")
        );
        return c;
    };
    if desired.cmp_precedence(&min.parsed).is_lt() {
        c.state = State::NotReady;
        c.needed = Some(min.version.clone());
        c.why = format!(
            "{} < {} ({})",
            e.current.as_deref().unwrap_or_default(),
            min.version,
            min.source.describe()
        );
        return c;
    }
    if let Some(running) = &running {
        let old: Vec<String> = running
            .iter()
            .filter(|r| {
                version_of(&r.version).is_none_or(|v| v.cmp_precedence(&min.parsed).is_lt())
            })
            .map(|r| format!("{} × {}", r.containers, r.version))
            .collect();
        if !old.is_empty() {
            c.state = State::NotReady;
            c.needed = Some(min.version.clone());
            c.why = format!("still running {}", old.join(", "));
            return c;
        }
    }
    c.state = State::Ready;
    c.why = format!(">= {} ({})", min.version, min.source.describe());
    c
}

/// Per upstream, the clients that are not ready (then unknown), with the
/// open upkeep pull requests that bring it to that environment.
fn blockers(
    clients: &[Client],
    pulls: Option<&Vec<PullRecord>>,
    environment: &str,
) -> Vec<Blocker> {
    let mut out: Vec<Blocker> = Vec::new();
    for c in clients.iter().filter(|c| c.state != State::Ready) {
        match out.iter_mut().find(|b| b.upstream == c.upstream) {
            Some(b) => {
                if !b.roles.contains(&c.role) {
                    b.roles.push(c.role);
                }
                if c.state < b.state {
                    b.state = c.state;
                    b.needed = c.needed.clone();
                }
            }
            None => out.push(Blocker {
                client: c.client.clone(),
                upstream: c.upstream.clone(),
                roles: vec![c.role],
                state: c.state,
                needed: c.needed.clone(),
                pulls: Vec::new(),
            }),
        }
    }
    for b in &mut out {
        for p in pulls.into_iter().flatten() {
            if p.state != PullState::Open || !p.environments.iter().any(|e| e == environment) {
                continue;
            }
            if let Some((_, release)) = p
                .upgrades
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(&b.upstream))
            {
                b.pulls.push(PullRef {
                    number: p.number,
                    url: p.url.clone(),
                    release: release.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| (a.state, &a.client).cmp(&(b.state, &b.client)));
    out
}

/// An environment's readiness for a fork once a pull request is merged
/// (and running): for its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct After {
    pub environment: String,
    pub network: String,
    pub fork: String,
    pub activates_at: DateTime<Utc>,
    /// Before the pull request.
    pub before: State,
    /// Once it is merged and running.
    pub state: State,
    /// What is still needed then.
    pub still_needed: Vec<Needed>,
}

/// One client upgrade still needed, and the pull requests that bring it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Needed {
    /// `lighthouse v9.0.0 needed`, `geth: no fork-ready version known`.
    pub text: String,
    pub pulls: Vec<u64>,
}

/// For a pull request of `repository` moving `upgrades` ((upstream,
/// release tag)) in `environments`: the readiness of each of those
/// environments for each upcoming fork whose clients it touches, once it is
/// merged. Pure.
pub fn after(
    rows: &[Row],
    repository: &str,
    upgrades: &[(String, String)],
    environments: &[String],
) -> Vec<After> {
    let mut out = Vec::new();
    for row in rows
        .iter()
        .filter(|r| r.repository == repository && environments.contains(&r.environment))
    {
        let touched = |c: &Client| {
            upgrades
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(&c.upstream))
                .map(|(_, tag)| tag.as_str())
        };
        if !row.clients.iter().any(|c| touched(c).is_some()) {
            continue;
        }
        let clients: Vec<Client> = row
            .clients
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if let (Some(tag), Some(min)) = (touched(&c), &c.minimum)
                    && let Some(v) = parse_version(tag)
                {
                    if v.cmp_precedence(&min.parsed).is_lt() {
                        c.state = State::NotReady;
                        c.needed = Some(min.version.clone());
                    } else {
                        c.state = State::Ready;
                        c.needed = None;
                    }
                }
                c
            })
            .collect();
        let state = clients
            .iter()
            .map(|c| c.state)
            .min()
            .unwrap_or(State::Unknown);
        // The blockers this pull request fixes are gone; the others keep
        // the pull requests known for them.
        let still: Vec<Needed> = blockers(&clients, None, &row.environment)
            .into_iter()
            .map(|b| Needed {
                text: blocker_text(&b),
                pulls: row
                    .blocking
                    .iter()
                    .find(|x| x.upstream == b.upstream)
                    .map(|known| known.pulls.iter().map(|p| p.number).collect())
                    .unwrap_or_default(),
            })
            .collect();
        out.push(After {
            environment: row.environment.clone(),
            network: row.network.clone(),
            fork: row.fork.clone(),
            activates_at: row.activates_at,
            before: row.state,
            state,
            still_needed: still,
        });
    }
    out
}

/// `5 days`, `1 day`, `7 hours`, `12 minutes`, `overdue`.
pub fn time_left(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    match seconds {
        s if s <= 0 => "overdue".into(),
        s if s >= 86_400 => plural(s / 86_400, "day"),
        s if s >= 3_600 => plural(s / 3_600, "hour"),
        s => plural((s / 60).max(1), "minute"),
    }
}

/// What a blocker needs, in words: `lighthouse v9.0.0 needed` or
/// `lighthouse: no fork-ready version known`.
pub fn blocker_text(b: &Blocker) -> String {
    let mut s = match (&b.state, &b.needed) {
        (State::NotReady, Some(v)) => format!("{} {v} needed", b.client),
        _ => format!("{}: no fork-ready version known", b.client),
    };
    if !b.pulls.is_empty() {
        let prs: Vec<String> = b.pulls.iter().map(|p| format!("#{}", p.number)).collect();
        let _ = write!(s, " ({})", prs.join(", "));
    }
    s
}

/// One line per row, as Slack and the digest lead with it:
/// `mainnet: not ready for Glamsterdam, 5 days left: lighthouse v9.0.0 needed`.
pub fn headline(r: &Row) -> String {
    let left = match time_left(r.seconds_left).as_str() {
        "overdue" => "overdue".to_string(),
        t => format!("{t} left"),
    };
    match r.state {
        State::Ready => format!("{}: ready for {}, {left}", r.environment, r.fork),
        State::NotReady | State::Unknown => {
            let what = if r.state == State::NotReady {
                "not ready"
            } else {
                "readiness unknown"
            };
            let needs: Vec<String> = r.blocking.iter().map(blocker_text).collect();
            format!(
                "{}: {what} for {}, {left}: {}",
                r.environment,
                r.fork,
                needs.join(", ")
            )
        }
    }
}

/// `2027-01-10 12:00 UTC`.
fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The JSON output: `{"now": ..., "rows": [...]}`.
pub fn to_json(r: &Readiness) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// Table rows: repository, environment, network, fork, activation, left,
/// state, blocking.
pub fn table_rows(r: &Readiness) -> Vec<[String; 8]> {
    r.rows
        .iter()
        .map(|row| {
            let blocking: Vec<String> = row.blocking.iter().map(blocker_text).collect();
            [
                row.repository.clone(),
                row.environment.clone(),
                row.network.clone(),
                row.fork.clone(),
                when(row.activates_at),
                time_left(row.seconds_left),
                row.state.as_str().to_string(),
                if blocking.is_empty() {
                    "-".into()
                } else {
                    blocking.join(", ")
                },
            ]
        })
        .collect()
}

/// `2 environment × fork pairs: 1 ready, 1 not ready, 0 unknown`.
pub fn summary(r: &Readiness) -> String {
    let count = |s: State| r.rows.iter().filter(|x| x.state == s).count();
    format!(
        "{} environment × fork pair(s): {} ready, {} not ready, {} unknown",
        r.rows.len(),
        count(State::Ready),
        count(State::NotReady),
        count(State::Unknown)
    )
}

/// Markdown: the matrix, then per row the clients.
pub fn to_markdown(r: &Readiness) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = String::from("## Fork readiness\n\n");
    if r.rows.is_empty() {
        out.push_str("No fork is scheduled on the networks of the configured environments.\n");
        return out;
    }
    out.push_str(
        "| repository | environment | network | fork | activates | left | state | blocking |\n",
    );
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for row in table_rows(r) {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    for row in &r.rows {
        let _ = write!(
            out,
            "\n### {} / {}: {} ({})\n\n| role | client | file | desired | running | minimum | source | state |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
            cell(&row.repository),
            cell(&row.environment),
            row.fork,
            row.state.as_str()
        );
        for c in &row.clients {
            let running = c.running.as_ref().map_or_else(
                || "-".to_string(),
                |r| {
                    if r.is_empty() {
                        "none".into()
                    } else {
                        r.iter()
                            .map(|x| format!("{} × {}", x.containers, x.version))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                },
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                c.role.as_str(),
                cell(&c.client),
                cell(&c.file),
                cell(c.desired.as_deref().unwrap_or("-")),
                cell(&running),
                c.minimum.as_ref().map_or("-", |m| m.version.as_str()),
                c.minimum
                    .as_ref()
                    .map_or_else(|| "-".into(), |m| cell(&m.source.describe())),
                c.state.as_str()
            );
        }
    }
    let _ = writeln!(out, "\n{}", summary(r));
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The gauges `upkeep_fork_ready{repository,environment,fork}` (1 ready,
/// 0 not ready or unknown) and `upkeep_fork_seconds_left{...}` (negative
/// never: rows are for forks not yet active), Prometheus text format.
/// Empty when there is no row.
pub fn to_prometheus(r: &Readiness) -> String {
    if r.rows.is_empty() {
        return String::new();
    }
    let labels = |row: &Row| {
        format!(
            "repository=\"{}\",environment=\"{}\",network=\"{}\",fork=\"{}\"",
            escape(&row.repository),
            escape(&row.environment),
            escape(&row.network),
            escape(&row.fork)
        )
    };
    let mut out = String::new();
    out.push_str("# HELP upkeep_fork_ready 1 when every client of the environment follows the fork (0: not ready or unknown).\n# TYPE upkeep_fork_ready gauge\n");
    for row in &r.rows {
        let _ = writeln!(
            out,
            "upkeep_fork_ready{{{}}} {}",
            labels(row),
            u8::from(row.state == State::Ready)
        );
    }
    out.push_str("# HELP upkeep_fork_seconds_left Seconds until the fork activates on the environment's network.\n# TYPE upkeep_fork_seconds_left gauge\n");
    for row in &r.rows {
        let _ = writeln!(
            out,
            "upkeep_fork_seconds_left{{{}}} {}",
            labels(row),
            row.seconds_left
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_like_a_person() {
        assert_eq!(time_left(5 * 86_400 + 3_600), "5 days");
        assert_eq!(time_left(86_400), "1 day");
        assert_eq!(time_left(7_200), "2 hours");
        assert_eq!(time_left(30), "1 minute");
        assert_eq!(time_left(0), "overdue");
    }

    #[test]
    fn validators_are_recognised_by_their_file() {
        assert!(looks_like_validator("envs/mainnet/validator.yaml"));
        assert!(looks_like_validator("envs/mainnet/vc/values.yaml"));
        assert!(!looks_like_validator("envs/mainnet/beacon.yaml"));
        assert!(!looks_like_validator("envs/mainnet/svc.yaml"));
    }

    fn v(s: &str) -> Version {
        parse_version(s).unwrap()
    }

    fn fact(fork: &str, release: &str, required: bool) -> NotesFact {
        NotesFact {
            fork: fork.into(),
            network: "mainnet".into(),
            release: release.into(),
            version: v(release),
            required,
        }
    }

    #[test]
    fn notes_give_the_first_enabling_release_raised_by_a_required_one() {
        let mut m = Minimums::default();
        m.add_notes(
            "sigp/lighthouse",
            vec![
                fact("Glamsterdam", "v9.1.0", false),
                fact("Glamsterdam", "v9.0.0", false),
                fact("Glamsterdam", "v8.9.0", true),
            ],
        );
        let names = vec!["SIGP/lighthouse".to_string()];
        let got = m.get("Glamsterdam", &names, "mainnet").unwrap();
        assert_eq!(got.version, "v8.9.0");
        m.add_notes("sigp/lighthouse", vec![fact("Glamsterdam", "v9.2.0", true)]);
        let got = m.get("Glamsterdam", &names, "mainnet").unwrap();
        assert_eq!(got.version, "v9.2.0");
        assert_eq!(
            got.source,
            Source::ReleaseNotes {
                release: "v9.2.0".into(),
                required: true
            }
        );
        assert!(m.get("Glamsterdam", &names, "hoodi").is_none());
    }

    #[test]
    fn settings_win_and_the_schedule_and_notes_take_the_higher() {
        let engine = Engine::builtin().unwrap();
        let overrides = [ForkMinimum {
            fork: "gloas".into(),
            upstream: "sigp/lighthouse".into(),
            network: None,
            version: "v9.9.0".into(),
        }];
        let mut m = Minimums::new(engine.schedule(), &overrides);
        let names = vec!["sigp/lighthouse".to_string()];
        let got = m.get("Glamsterdam", &names, "hoodi").unwrap();
        assert_eq!(
            (got.version.as_str(), &got.source),
            ("v9.9.0", &Source::Settings)
        );
        assert_eq!(got.network, "hoodi");
        // schedule v8.0.0 for Fusaka on mainnet; notes saying v7.9.0 lose,
        // notes saying v8.0.1 win.
        m.add_notes("sigp/lighthouse", vec![fact("Fusaka", "v7.9.0", false)]);
        assert_eq!(
            m.get("Fusaka", &names, "mainnet").unwrap().version,
            "v8.0.0"
        );
        m.add_notes("sigp/lighthouse", vec![fact("Fusaka", "v8.0.1", true)]);
        assert_eq!(
            m.get("Fusaka", &names, "mainnet").unwrap().version,
            "v8.0.1"
        );
    }

    fn client_row(upstream: &str, role: Role, desired: &str, min: &str) -> Client {
        let d = v(desired);
        let m = v(min);
        let ready = d.cmp_precedence(&m).is_ge();
        Client {
            role,
            client: upstream.rsplit('/').next().unwrap_or_default().into(),
            upstream: upstream.into(),
            image: upstream.into(),
            file: "values.yaml:1".into(),
            desired: Some(desired.into()),
            running: None,
            minimum: Some(Minimum {
                upstream: upstream.into(),
                fork: "Glamsterdam".into(),
                network: "mainnet".into(),
                version: min.into(),
                parsed: m,
                source: Source::Settings,
            }),
            state: if ready { State::Ready } else { State::NotReady },
            needed: (!ready).then(|| min.to_string()),
            why: String::new(),
        }
    }

    #[test]
    fn after_a_pull_request_what_is_still_needed() {
        let clients = vec![
            client_row(
                "ethereum/go-ethereum",
                Role::Execution,
                "v1.16.0",
                "v1.17.0",
            ),
            client_row("sigp/lighthouse", Role::Consensus, "v8.0.0", "v9.0.0"),
        ];
        let row = Row {
            repository: "acme/eth".into(),
            environment: "mainnet".into(),
            network: "mainnet".into(),
            fork: "Glamsterdam".into(),
            activates_at: "2027-03-08T00:00:00Z".parse().unwrap(),
            seconds_left: 1,
            state: State::NotReady,
            blocking: blockers(&clients, None, "mainnet"),
            clients,
        };
        let rows = [row];
        let envs = ["mainnet".to_string()];
        let geth = [("ethereum/go-ethereum".to_string(), "v1.17.0".to_string())];
        let a = after(&rows, "acme/eth", &geth, &envs);
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].before, a[0].state),
            (State::NotReady, State::NotReady)
        );
        assert_eq!(
            a[0].still_needed,
            [Needed {
                text: "lighthouse v9.0.0 needed".into(),
                pulls: Vec::new()
            }]
        );
        let both = [
            geth[0].clone(),
            ("sigp/lighthouse".to_string(), "v9.0.1".to_string()),
        ];
        let a = after(&rows, "acme/eth", &both, &envs);
        assert_eq!(a[0].state, State::Ready);
        assert!(a[0].still_needed.is_empty());
        // another environment, another repository, an untouched client
        assert!(after(&rows, "acme/eth", &geth, &["hoodi".to_string()]).is_empty());
        assert!(after(&rows, "acme/other", &geth, &envs).is_empty());
        let other = [("flashbots/mev-boost".to_string(), "1.9".to_string())];
        assert!(after(&rows, "acme/eth", &other, &envs).is_empty());
    }
}
