//! Live verification after a merge: does the cluster run what the merged
//! pull request says, and are the wave's health gates green?
//!
//! Pure: what kube-state-metrics reports (`kube_pod_container_info`,
//! aggregated into [`Running`]) and what the metrics queries answered come
//! in as data, and `now` as a parameter.
//!
//! - [`converge`]: every container of every image the pull request bumped
//!   must run the new tag (or the pinned digest) within the converge window
//!   after the merge. After the window a container still on another version
//!   is drift ("1 of 8 containers of sigp/lighthouse still run v6.0.0").
//! - [`judge`] and [`health`]: threshold gates on metric values, and a
//!   wave's verdict from all of them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::manifest::image;
use crate::domain::plan::human;

/// Containers running one image, as kube-state-metrics reports them
/// (`kube_pod_container_info{image, image_id}`), summed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// As kube reports it: `docker.io/sigp/lighthouse:v7.0.0`,
    /// `sigp/lighthouse:v7.0.0`, `sigp/lighthouse@sha256:…`.
    pub image: String,
    /// The image id, e.g. `docker-pullable://sigp/lighthouse@sha256:…` or
    /// `docker.io/sigp/lighthouse@sha256:…`: the digest after `@` is what
    /// the node pulled.
    pub image_id: Option<String>,
    pub containers: u32,
}

/// What a merged pull request bumped an image to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// The repository as written in the deployment repository.
    pub image: String,
    pub tag: String,
    /// The digest it pinned, if any.
    pub digest: Option<String>,
}

/// Whether the cluster runs what was merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Convergence {
    /// Every container of every expected image runs the expected version.
    Converged { containers: u32 },
    /// Within the converge window: some containers still run another
    /// version, or none has been seen yet.
    Waiting { reason: String },
    /// After the window, some container of an expected image runs another
    /// version.
    Drift { reason: String },
    /// After the window, no container of some expected image is seen at all.
    NoData { reason: String },
}

/// A container image string taken apart: normalised repository, tag and
/// the digests known for it (written in the image string, or pulled).
#[derive(Debug)]
struct Seen {
    repository: String,
    tag: Option<String>,
    /// The digest written in the image string (`repo:tag@sha256:…`).
    pinned: Option<String>,
    /// The digest the node pulled (from the image id).
    pulled: Option<String>,
    containers: u32,
}

impl Seen {
    fn parse(r: &Running) -> Option<Seen> {
        let text = r.image.trim();
        let text = text.strip_prefix("docker-pullable://").unwrap_or(text);
        let parts = image::split(text)?;
        let pulled = r.image_id.as_deref().and_then(|id| {
            let (_, d) = id.rsplit_once('@')?;
            image::is_valid_digest(d).then(|| d.to_string())
        });
        Some(Seen {
            repository: image::normalize(&text[parts.name]),
            tag: parts.tag.map(|t| text[t].to_string()),
            pinned: parts.digest.map(|d| text[d].to_string()),
            pulled,
            containers: r.containers,
        })
    }

    /// True when it runs `e`: its digest (pinned or pulled) is the expected
    /// one, or, unless it is pinned to another digest, its tag is the
    /// expected tag (an untagged image string means `latest`).
    fn runs(&self, e: &Expected) -> bool {
        if let Some(d) = &e.digest
            && [&self.pinned, &self.pulled]
                .into_iter()
                .flatten()
                .any(|x| x == d)
        {
            return true;
        }
        if let (Some(d), Some(p)) = (&e.digest, &self.pinned)
            && d != p
        {
            return false;
        }
        match &self.tag {
            Some(t) => *t == e.tag,
            None => self.pinned.is_none() && e.tag == "latest",
        }
    }

    /// The version it runs, in words: its tag, else its digest.
    fn version(&self) -> String {
        match (&self.tag, &self.pinned) {
            (Some(t), _) => t.clone(),
            (None, Some(d)) => short_digest(d),
            (None, None) => "latest".into(),
        }
    }
}

fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((algo, hex)) if hex.len() > 12 => format!("@{algo}:{}", &hex[..12]),
        _ => format!("@{d}"),
    }
}

/// One expected image and what runs of it.
struct Tally<'a> {
    /// The repository as written (first expectation of it).
    image: &'a str,
    /// Its expected versions, in words.
    expected: Vec<String>,
    matched: u32,
    /// Containers on another version, by version.
    others: BTreeMap<String, u32>,
}

impl Tally<'_> {
    fn total(&self) -> u32 {
        self.matched + self.others.values().sum::<u32>()
    }

    fn behind(&self) -> u32 {
        self.others.values().sum()
    }

    /// `1 of 8 containers of sigp/lighthouse still run v6.0.0 (7 run v7.0.0)`.
    fn describe_behind(&self) -> String {
        let behind = self.behind();
        let total = self.total();
        let noun = if total == 1 {
            "container"
        } else {
            "containers"
        };
        let mut s = format!("{behind} of {total} {noun} of {} still run ", self.image);
        if self.others.len() == 1 {
            s.push_str(self.others.keys().next().map_or("", |v| v.as_str()));
        } else {
            let mut by_count: Vec<(&String, &u32)> = self.others.iter().collect();
            by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = by_count.iter().map(|(v, n)| format!("{v} ({n})")).collect();
            let _ = write!(s, "other versions: {}", list.join(", "));
        }
        let _ = write!(s, " ({} run {})", self.matched, self.expected.join(" or "));
        s
    }
}

/// Whether the containers of every expected image run the expected version.
///
/// Images are compared as Docker resolves names ([`image::same_image`]);
/// running images not expected are ignored, and so are image strings that
/// do not parse. Several expectations for one image (the same repository
/// bumped in two places) are alternatives: a container matches if it runs
/// any of them. Before `merged_at + converge` anything short of convergence
/// is [`Convergence::Waiting`]; after it, a container of an expected image
/// on another version is [`Convergence::Drift`] and an expected image with
/// no container at all is [`Convergence::NoData`] (drift wins). With
/// nothing expected, there is nothing to wait for: converged, 0 containers.
///
/// A container whose pulled digest differs from the expected one while its
/// tag matches still counts as converged: the id kube reports may be an
/// index's or a platform manifest's digest, so only a digest written in
/// the running image string can contradict the tag.
pub fn converge(
    expected: &[Expected],
    running: &[Running],
    merged_at: DateTime<Utc>,
    converge: Duration,
    now: DateTime<Utc>,
) -> Convergence {
    let seen: Vec<Seen> = running
        .iter()
        .filter(|r| r.containers > 0)
        .filter_map(Seen::parse)
        .collect();
    // Expectations grouped by normalised repository, in input order.
    let mut groups: Vec<(String, Vec<&Expected>)> = Vec::new();
    for e in expected {
        let repo = image::normalize(&e.image);
        match groups.iter_mut().find(|(r, _)| *r == repo) {
            Some((_, es)) => es.push(e),
            None => groups.push((repo, vec![e])),
        }
    }
    let tallies: Vec<Tally> = groups
        .iter()
        .map(|(repo, es)| {
            let mut expected_versions: Vec<String> = Vec::new();
            for e in es {
                if !expected_versions.contains(&e.tag) {
                    expected_versions.push(e.tag.clone());
                }
            }
            let mut t = Tally {
                image: &es[0].image,
                expected: expected_versions,
                matched: 0,
                others: BTreeMap::new(),
            };
            for s in seen.iter().filter(|s| s.repository == *repo) {
                if es.iter().any(|e| s.runs(e)) {
                    t.matched += s.containers;
                } else {
                    *t.others.entry(s.version()).or_default() += s.containers;
                }
            }
            t
        })
        .collect();

    let behind: Vec<&Tally> = tallies.iter().filter(|t| t.behind() > 0).collect();
    let unseen: Vec<&Tally> = tallies.iter().filter(|t| t.total() == 0).collect();
    if behind.is_empty() && unseen.is_empty() {
        return Convergence::Converged {
            containers: tallies.iter().map(|t| t.matched).sum(),
        };
    }
    let deadline = chrono::Duration::from_std(converge)
        .ok()
        .and_then(|d| merged_at.checked_add_signed(d));
    let elapsed = human((now - merged_at).to_std().unwrap_or_default());
    let mut parts: Vec<String> = behind.iter().map(|t| t.describe_behind()).collect();
    let no_data: Vec<String> = unseen
        .iter()
        .map(|t| format!("no container of {} is seen", t.image))
        .collect();
    if let Some(left) = deadline.map_or(Some(Duration::MAX), |d| (d - now).to_std().ok())
        && !left.is_zero()
    {
        parts.extend(no_data);
        let left = human(left);
        return Convergence::Waiting {
            reason: format!(
                "{}; {left} left of the {} converge window",
                parts.join("; "),
                human(converge)
            ),
        };
    }
    if !parts.is_empty() {
        return Convergence::Drift {
            reason: format!("{} {elapsed} after the merge", parts.join("; ")),
        };
    }
    Convergence::NoData {
        reason: format!("{} {elapsed} after the merge", no_data.join("; ")),
    }
}

/// One version of an image seen running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningVersion {
    /// The tag in the running image string (`None`: untagged).
    pub tag: Option<String>,
    /// The digest written in the image string, else the one the node
    /// pulled (from the image id).
    pub digest: Option<String>,
    /// In words: its tag, else its short digest (`@sha256:1111…`), else
    /// `latest`.
    pub version: String,
    pub containers: u32,
    /// It runs one of the expected versions (matched as [`converge`] does).
    pub expected: bool,
}

/// The containers of `image` among `running` (compared as Docker resolves
/// names; zero-container rows and unparsable image strings ignored),
/// grouped by tag and digest, most containers first; each marked as
/// expected when it runs any of `expected` (alternatives, as in
/// [`converge`]). Nothing of `image` running: empty.
pub fn versions_of(image: &str, expected: &[Expected], running: &[Running]) -> Vec<RunningVersion> {
    let repository = image::normalize(image);
    let mut groups: BTreeMap<(Option<String>, Option<String>), RunningVersion> = BTreeMap::new();
    for s in running
        .iter()
        .filter(|r| r.containers > 0)
        .filter_map(Seen::parse)
        .filter(|s| s.repository == repository)
    {
        let digest = s.pinned.clone().or_else(|| s.pulled.clone());
        let expected = expected.iter().any(|e| s.runs(e));
        groups
            .entry((s.tag.clone(), digest.clone()))
            .and_modify(|v| {
                v.containers += s.containers;
                v.expected &= expected;
            })
            .or_insert_with(|| RunningVersion {
                tag: s.tag.clone(),
                digest,
                version: s.version(),
                containers: s.containers,
                expected,
            });
    }
    let mut out: Vec<RunningVersion> = groups.into_values().collect();
    out.sort_by(|a, b| {
        b.containers
            .cmp(&a.containers)
            .then_with(|| a.version.cmp(&b.version))
            .then_with(|| a.digest.cmp(&b.digest))
    });
    out
}

/// When a gate passes: its value strictly above, or strictly below, a bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// Passes when the value is greater than this (e.g. peers, success rate).
    Above(f64),
    /// Passes when the value is less than this (e.g. error rate, restarts).
    Below(f64),
}

impl Threshold {
    fn passes(self, value: f64) -> bool {
        match self {
            Threshold::Above(t) => value > t,
            Threshold::Below(t) => value < t,
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threshold::Above(t) => write!(f, "> {t}"),
            Threshold::Below(t) => write!(f, "< {t}"),
        }
    }
}

/// A health gate: a metrics query whose value must stay on the right side
/// of a threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    pub name: String,
    /// A PromQL expression returning one number.
    pub query: String,
    pub threshold: Threshold,
    /// How long the condition must hold: see [`Gate::effective_query`].
    pub for_: Option<Duration>,
}

impl Gate {
    /// The query to run: with `for_`, its worst value over that range (a
    /// subquery: `min_over_time((q)[300s:])` for [`Threshold::Above`],
    /// `max_over_time` for [`Threshold::Below`]), so one value judges the
    /// whole range.
    pub fn effective_query(&self) -> String {
        match self.for_ {
            Some(d) if d.as_secs() > 0 => {
                let f = match self.threshold {
                    Threshold::Above(_) => "min_over_time",
                    Threshold::Below(_) => "max_over_time",
                };
                format!("{f}(({})[{}s:])", self.query, d.as_secs())
            }
            _ => self.query.clone(),
        }
    }
}

/// One gate's verdict.
#[derive(Clone, Debug, PartialEq)]
pub enum GateResult {
    Pass {
        value: f64,
    },
    Fail {
        value: f64,
        reason: String,
    },
    /// The query returned nothing.
    NoData,
}

/// Judges one gate on its query's value (`None`: no data). NaN fails.
pub fn judge(gate: &Gate, value: Option<f64>) -> GateResult {
    let Some(value) = value else {
        return GateResult::NoData;
    };
    if !value.is_nan() && gate.threshold.passes(value) {
        return GateResult::Pass { value };
    }
    GateResult::Fail {
        value,
        reason: format!(
            "gate {} failed: `{}` is {value}, must be {}",
            gate.name,
            gate.effective_query(),
            gate.threshold
        ),
    }
}

/// A wave's health from all its gates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// Why, one line per gate.
    Unhealthy {
        failures: Vec<String>,
    },
    /// Some gate has no data yet and the converge deadline has not passed.
    Waiting {
        reason: String,
    },
}

/// Combines a wave's gate results: any failure is unhealthy at once; a
/// gate without data is waited for until `deadline` (the end of the
/// converge window), then counts as a failure ("no data for gate X").
/// No gates: healthy.
pub fn health(
    results: &[(&Gate, GateResult)],
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Health {
    let mut failures: Vec<String> = results
        .iter()
        .filter_map(|(_, r)| match r {
            GateResult::Fail { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    let missing: Vec<&Gate> = results
        .iter()
        .filter(|(_, r)| *r == GateResult::NoData)
        .map(|(g, _)| *g)
        .collect();
    if missing.is_empty() && failures.is_empty() {
        return Health::Healthy;
    }
    if now < deadline && failures.is_empty() {
        let names: Vec<&str> = missing.iter().map(|g| g.name.as_str()).collect();
        let left = human((deadline - now).to_std().unwrap_or_default());
        return Health::Waiting {
            reason: format!("no data yet for gate {}; {left} left", names.join(", ")),
        };
    }
    if now >= deadline {
        failures.extend(
            missing
                .iter()
                .map(|g| format!("no data for gate {}: `{}`", g.name, g.effective_query())),
        );
    }
    Health::Unhealthy { failures }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        t0() + chrono::Duration::minutes(minutes)
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn run(image: &str, n: u32) -> Running {
        Running {
            image: image.into(),
            image_id: None,
            containers: n,
        }
    }

    fn run_id(image: &str, id: &str, n: u32) -> Running {
        Running {
            image: image.into(),
            image_id: Some(id.into()),
            containers: n,
        }
    }

    fn exp(image: &str, tag: &str) -> Expected {
        Expected {
            image: image.into(),
            tag: tag.into(),
            digest: None,
        }
    }

    #[test]
    fn all_containers_on_the_new_tag_converge() {
        let e = [exp("sigp/lighthouse", "v7.0.0")];
        let r = [
            run("docker.io/sigp/lighthouse:v7.0.0", 5),
            run("sigp/lighthouse:v7.0.0", 3),
            run("ethereum/client-go:v1.14.0", 2),
        ];
        assert_eq!(
            converge(&e, &r, t0(), HOUR, at(5)),
            Convergence::Converged { containers: 8 }
        );
        assert_eq!(
            converge(&e, &r, t0(), HOUR, at(500)),
            Convergence::Converged { containers: 8 }
        );
    }

    #[test]
    fn stragglers_wait_inside_the_window_and_drift_after_it() {
        let e = [exp("sigp/lighthouse", "v7.0.0")];
        let r = [
            run("docker.io/sigp/lighthouse:v7.0.0", 7),
            run("index.docker.io/sigp/lighthouse:v6.0.0", 1),
        ];
        match converge(&e, &r, t0(), HOUR, at(20)) {
            Convergence::Waiting { reason } => {
                assert_eq!(
                    reason,
                    "1 of 8 containers of sigp/lighthouse still run v6.0.0 (7 run v7.0.0); \
                     40m left of the 1h 0m converge window"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            converge(&e, &r, t0(), HOUR, at(60)),
            Convergence::Drift {
                reason: "1 of 8 containers of sigp/lighthouse still run v6.0.0 (7 run v7.0.0) \
                         1h 0m after the merge"
                    .into()
            }
        );
    }

    #[test]
    fn several_other_versions_are_listed_by_count() {
        let e = [exp("sigp/lighthouse", "v7.0.0")];
        let r = [
            run("sigp/lighthouse:v7.0.0", 5),
            run("sigp/lighthouse:v6.0.0", 1),
            run("sigp/lighthouse:v5.3.0", 2),
        ];
        let Convergence::Drift { reason } = converge(&e, &r, t0(), HOUR, at(90)) else {
            panic!()
        };
        assert_eq!(
            reason,
            "3 of 8 containers of sigp/lighthouse still run other versions: v5.3.0 (2), \
             v6.0.0 (1) (5 run v7.0.0) 1h 30m after the merge"
        );
    }

    #[test]
    fn no_container_seen_waits_then_is_no_data() {
        let e = [exp("sigp/lighthouse", "v7.0.0")];
        let r = [run("ghcr.io/sigp/lighthouse:v6.0.0", 3)]; // another registry: another image
        assert!(matches!(
            converge(&e, &r, t0(), HOUR, at(1)),
            Convergence::Waiting { reason } if reason.starts_with("no container of sigp/lighthouse is seen")
        ));
        assert_eq!(
            converge(&e, &[], t0(), HOUR, at(61)),
            Convergence::NoData {
                reason: "no container of sigp/lighthouse is seen 1h 1m after the merge".into()
            }
        );
        // Zero-container rows are no data either.
        assert!(matches!(
            converge(&e, &[run("sigp/lighthouse:v7.0.0", 0)], t0(), HOUR, at(61)),
            Convergence::NoData { .. }
        ));
    }

    #[test]
    fn drift_wins_over_no_data_and_every_image_must_converge() {
        let e = [
            exp("sigp/lighthouse", "v7.0.0"),
            exp("ethereum/client-go", "v1.15.0"),
        ];
        let r = [run("sigp/lighthouse:v7.0.0", 2)];
        assert!(matches!(
            converge(&e, &r, t0(), HOUR, at(10)),
            Convergence::Waiting { .. }
        ));
        assert!(matches!(
            converge(&e, &r, t0(), HOUR, at(70)),
            Convergence::NoData { reason } if reason.contains("ethereum/client-go")
        ));
        let r2 = [
            run("sigp/lighthouse:v7.0.0", 2),
            run("ethereum/client-go:v1.14.0", 1),
        ];
        assert!(matches!(
            converge(&e, &r2, t0(), HOUR, at(70)),
            Convergence::Drift { reason } if reason.starts_with("1 of 1 container of ethereum/client-go still run v1.14.0 (0 run v1.15.0)")
        ));
    }

    #[test]
    fn library_images_match_by_docker_normalisation() {
        let e = [exp("busybox", "1.37")];
        let r = [run("docker.io/library/busybox:1.37", 1)];
        assert_eq!(
            converge(&e, &r, t0(), HOUR, at(1)),
            Convergence::Converged { containers: 1 }
        );
    }

    #[test]
    fn the_pinned_digest_counts_whatever_the_tag() {
        let e = [Expected {
            image: "sigp/lighthouse".into(),
            tag: "v7.0.0".into(),
            digest: Some(D1.into()),
        }];
        // Deployed by digest only: no tag, but the pulled digest matches.
        let r = [
            run_id(
                &format!("sigp/lighthouse@{D1}"),
                &format!("docker-pullable://sigp/lighthouse@{D1}"),
                2,
            ),
            run_id(
                "sigp/lighthouse:latest",
                &format!("docker.io/sigp/lighthouse@{D1}"),
                1,
            ),
            run("sigp/lighthouse:v7.0.0", 1),
        ];
        assert_eq!(
            converge(&e, &r, t0(), HOUR, at(70)),
            Convergence::Converged { containers: 4 }
        );
        // Pinned to another digest: drift, named by its digest.
        let r = [run(&format!("sigp/lighthouse@{D2}"), 1)];
        assert!(matches!(
            converge(&e, &r, t0(), HOUR, at(70)),
            Convergence::Drift { reason } if reason.contains("still run @sha256:222222222222 (0 run v7.0.0)")
        ));
        // The right tag written with another digest: drift too.
        let r = [run(&format!("sigp/lighthouse:v7.0.0@{D2}"), 1)];
        assert!(matches!(
            converge(&e, &r, t0(), HOUR, at(70)),
            Convergence::Drift { .. }
        ));
        // The right tag, pulled digest different (index vs manifest): converged.
        let r = [run_id(
            "sigp/lighthouse:v7.0.0",
            &format!("docker-pullable://sigp/lighthouse@{D2}"),
            1,
        )];
        assert_eq!(
            converge(&e, &r, t0(), HOUR, at(70)),
            Convergence::Converged { containers: 1 }
        );
    }

    #[test]
    fn without_an_expected_digest_the_pulled_one_is_ignored() {
        let e = [exp("sigp/lighthouse", "v7.0.0")];
        let r = [run_id(
            "sigp/lighthouse:v6.0.0",
            &format!("docker-pullable://sigp/lighthouse@{D1}"),
            1,
        )];
        assert!(matches!(
            converge(&e, &r, t0(), HOUR, at(70)),
            Convergence::Drift { .. }
        ));
    }

    #[test]
    fn expectations_of_one_image_are_alternatives() {
        let e = [
            exp("ethereum/client-go", "v1.15.0"),
            exp("docker.io/ethereum/client-go", "alltools-v1.15.0"),
            exp("ethereum/client-go", "v1.15.0"),
        ];
        let r = [
            run("ethereum/client-go:v1.15.0", 2),
            run("ethereum/client-go:alltools-v1.15.0", 1),
        ];
        assert_eq!(
            converge(&e, &r, t0(), HOUR, at(70)),
            Convergence::Converged { containers: 3 }
        );
        let r = [run("ethereum/client-go:v1.14.0", 1)];
        let Convergence::Drift { reason } = converge(&e, &r, t0(), HOUR, at(70)) else {
            panic!()
        };
        assert!(
            reason.contains("(0 run v1.15.0 or alltools-v1.15.0)"),
            "{reason}"
        );
    }

    #[test]
    fn unparsable_and_untagged_images() {
        let e = [exp("nginx", "1.27")];
        let r = [run("Not An Image", 4), run("nginx", 1)];
        let Convergence::Drift { reason } = converge(&e, &r, t0(), HOUR, at(70)) else {
            panic!()
        };
        assert!(reason.starts_with("1 of 1 container of nginx still run latest"));
        assert_eq!(
            converge(&[], &r, t0(), HOUR, at(70)),
            Convergence::Converged { containers: 0 }
        );
    }

    #[test]
    fn versions_of_one_image_are_grouped_and_marked() {
        let e = [exp("sigp/lighthouse", "v7.0.0")];
        let r = [
            run_id(
                "docker.io/sigp/lighthouse:v7.0.0",
                &format!("docker-pullable://sigp/lighthouse@{D1}"),
                4,
            ),
            run_id(
                "sigp/lighthouse:v7.0.0",
                &format!("docker-pullable://sigp/lighthouse@{D1}"),
                3,
            ),
            run("sigp/lighthouse:v6.0.0", 1),
            run("sigp/lighthouse:v5.0.0", 0),
            run("ethereum/client-go:v1.14.0", 2),
            run(&format!("sigp/lighthouse@{D2}"), 1),
        ];
        let v = versions_of("docker.io/sigp/lighthouse", &e, &r);
        assert_eq!(
            v,
            [
                RunningVersion {
                    tag: Some("v7.0.0".into()),
                    digest: Some(D1.into()),
                    version: "v7.0.0".into(),
                    containers: 7,
                    expected: true,
                },
                RunningVersion {
                    tag: None,
                    digest: Some(D2.into()),
                    version: "@sha256:222222222222".into(),
                    containers: 1,
                    expected: false,
                },
                RunningVersion {
                    tag: Some("v6.0.0".into()),
                    digest: None,
                    version: "v6.0.0".into(),
                    containers: 1,
                    expected: false,
                },
            ]
        );
        assert!(versions_of("nginx", &e, &r).is_empty());
    }

    fn gate(threshold: Threshold) -> Gate {
        Gate {
            name: "peers".into(),
            query: "min(libp2p_peers)".into(),
            threshold,
            for_: None,
        }
    }

    #[test]
    fn gates_pass_strictly_on_their_side() {
        let above = gate(Threshold::Above(10.0));
        assert_eq!(judge(&above, Some(50.0)), GateResult::Pass { value: 50.0 });
        assert_eq!(
            judge(&above, Some(10.0)),
            GateResult::Fail {
                value: 10.0,
                reason: "gate peers failed: `min(libp2p_peers)` is 10, must be > 10".into()
            }
        );
        let below = gate(Threshold::Below(0.01));
        assert_eq!(judge(&below, Some(0.0)), GateResult::Pass { value: 0.0 });
        assert!(matches!(judge(&below, Some(0.5)), GateResult::Fail { .. }));
        assert_eq!(judge(&below, None), GateResult::NoData);
        assert!(matches!(
            judge(&below, Some(f64::INFINITY)),
            GateResult::Fail { .. }
        ));
        assert!(matches!(
            judge(&above, Some(f64::INFINITY)),
            GateResult::Pass { .. }
        ));
    }

    #[test]
    fn nan_fails_both_ways() {
        for t in [Threshold::Above(0.0), Threshold::Below(1.0)] {
            match judge(&gate(t), Some(f64::NAN)) {
                GateResult::Fail { value, reason } => {
                    assert!(value.is_nan());
                    assert!(reason.contains("is NaN"), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn for_wraps_the_query_in_its_worst_value() {
        let mut g = gate(Threshold::Above(10.0));
        assert_eq!(g.effective_query(), "min(libp2p_peers)");
        g.for_ = Some(Duration::from_secs(300));
        assert_eq!(
            g.effective_query(),
            "min_over_time((min(libp2p_peers))[300s:])"
        );
        g.threshold = Threshold::Below(3.0);
        assert_eq!(
            g.effective_query(),
            "max_over_time((min(libp2p_peers))[300s:])"
        );
        let GateResult::Fail { reason, .. } = judge(&g, Some(4.0)) else {
            panic!()
        };
        assert!(reason.contains("max_over_time"), "{reason}");
    }

    #[test]
    fn wave_health_combines_gates() {
        let peers = gate(Threshold::Above(10.0));
        let errors = Gate {
            name: "errors".into(),
            query: "sum(rate(errors_total[5m]))".into(),
            threshold: Threshold::Below(1.0),
            for_: None,
        };
        let deadline = at(60);
        assert_eq!(health(&[], deadline, at(0)), Health::Healthy);
        let ok = [
            (&peers, judge(&peers, Some(40.0))),
            (&errors, judge(&errors, Some(0.0))),
        ];
        assert_eq!(health(&ok, deadline, at(1)), Health::Healthy);
        let missing = [
            (&peers, judge(&peers, Some(40.0))),
            (&errors, judge(&errors, None)),
        ];
        assert_eq!(
            health(&missing, deadline, at(10)),
            Health::Waiting {
                reason: "no data yet for gate errors; 50m left".into()
            }
        );
        assert_eq!(
            health(&missing, deadline, at(60)),
            Health::Unhealthy {
                failures: vec!["no data for gate errors: `sum(rate(errors_total[5m]))`".into()]
            }
        );
        let failing = [
            (&peers, judge(&peers, Some(2.0))),
            (&errors, judge(&errors, None)),
        ];
        // A failure is unhealthy at once; before the deadline missing data is not yet one.
        assert_eq!(
            health(&failing, deadline, at(10)),
            Health::Unhealthy {
                failures: vec!["gate peers failed: `min(libp2p_peers)` is 2, must be > 10".into()]
            }
        );
        let Health::Unhealthy { failures } = health(&failing, deadline, at(61)) else {
            panic!()
        };
        assert_eq!(failures.len(), 2);
    }

    const TAGS: [&str; 3] = ["v1", "v2", "v3"];
    const IMAGES: [&str; 2] = ["sigp/lighthouse", "ethereum/client-go"];

    fn running_strategy() -> impl Strategy<Value = Vec<(usize, usize, bool, u32)>> {
        // (image, tag, written with docker.io prefix, containers)
        prop::collection::vec((0..2usize, 0..3usize, any::<bool>(), 0..5u32), 0..8)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn converged_only_when_every_container_matches_and_drift_only_after_the_window(
            expected in prop::collection::vec((0..2usize, 0..3usize), 1..3),
            rows in running_strategy(),
            window_min in 1..180i64,
            now_min in 0..360i64,
        ) {
            let e: Vec<Expected> = expected
                .iter()
                .map(|&(i, t)| exp(IMAGES[i], TAGS[t]))
                .collect();
            let r: Vec<Running> = rows
                .iter()
                .map(|&(i, t, prefixed, n)| {
                    let prefix = if prefixed { "docker.io/" } else { "" };
                    run(&format!("{prefix}{}:{}", IMAGES[i], TAGS[t]), n)
                })
                .collect();
            let window = Duration::from_secs(window_min as u64 * 60);
            let now = at(now_min);
            let result = converge(&e, &r, t0(), window, now);

            let expects = |i: usize, t: usize| expected.contains(&(i, t));
            let expected_image = |i: usize| expected.iter().any(|&(j, _)| j == i);
            let every_container_matches = rows
                .iter()
                .filter(|&&(i, _, _, n)| n > 0 && expected_image(i))
                .all(|&(i, t, _, _)| expects(i, t));
            let every_image_seen = expected
                .iter()
                .all(|&(i, _)| rows.iter().any(|&(j, _, _, n)| j == i && n > 0));
            let matching: u32 = rows
                .iter()
                .filter(|&&(i, t, _, _)| expects(i, t))
                .map(|&(_, _, _, n)| n)
                .sum();
            let after = now_min >= window_min;
            match result {
                Convergence::Converged { containers } => {
                    prop_assert!(every_container_matches && every_image_seen);
                    prop_assert_eq!(containers, matching);
                }
                Convergence::Drift { .. } => {
                    prop_assert!(after);
                    prop_assert!(!every_container_matches);
                }
                Convergence::Waiting { .. } => {
                    prop_assert!(!after);
                    prop_assert!(!(every_container_matches && every_image_seen));
                }
                Convergence::NoData { .. } => {
                    prop_assert!(after);
                    prop_assert!(every_container_matches && !every_image_seen);
                }
            }
        }
    }
}
