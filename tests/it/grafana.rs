//! The shipped Grafana dashboard (`deploy/grafana/upkeep.json`), checked
//! offline: it is a dashboard Grafana imports (the required fields, one
//! `${DS_PROMETHEUS}` input every query uses), every PromQL expression of
//! its panels and variables parses (`promtool check rules`, each one a
//! recording rule once the template variables are substituted), and every
//! metric and label it reads is one `upkeep serve`'s `/metrics` exports, so
//! renaming a metric or a label breaks this test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use regex::Regex;
use serde_json::Value;

use upkeep::app::pipeline::RunReport;
use upkeep::app::serve::metrics::Metrics;
use upkeep::domain::evaluate::{Deadline, Finding};
use upkeep::domain::inventory::{self, Entry, Inventory, Live, LiveView, RunningTag, Status};
use upkeep::domain::readiness::{Row, State};
use upkeep::domain::rollout::decide::{UpstreamRollout, WaveState, WaveStatus};

fn dashboard() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/upkeep.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What `upkeep serve` answers on `/metrics` after a pass that saw every
/// kind of series: a rollout in flight, references with a fork deadline and
/// a live side, and a fork not everyone is ready for.
fn served_metrics() -> String {
    let at = |ts: i64| Utc.timestamp_opt(ts, 0).unwrap();
    let m = Metrics::new();
    m.error();
    m.postponed();
    m.webhook("push", "accepted");
    m.pull("created");
    m.slack_delivery("sent");
    m.set_github_answers("200", 12);
    m.set_rate_remaining("123", 4_000);
    let entry = Entry {
        repository: "acme/deploy".into(),
        file: "envs/mainnet/values.yaml".into(),
        line: 3,
        environment: Some("mainnet".into()),
        network: Some("mainnet".into()),
        image: "ethereum/client-go".into(),
        current: Some("v1.16.0".into()),
        upstream: Some("ethereum/go-ethereum".into()),
        latest: Some("v1.17.1".into()),
        target_tag: Some("v1.17.1".into()),
        behind: Some(2),
        days_behind: Some(12),
        deadline: Some(Deadline {
            fork: "Glamsterdam".into(),
            network: "mainnet".into(),
            at: at(4_102_444_800),
            release: None,
        }),
        status: Status::Outdated,
        reason: None,
        desired: None,
        live: Some(LiveView {
            running: vec![RunningTag {
                tag: Some("v1.15.0".into()),
                digest: None,
                containers: 2,
                version: "v1.15.0".into(),
            }],
            live: Live::Drift,
            live_reason: None,
        }),
    };
    m.set_inventory(inventory::to_prometheus(&Inventory {
        references: vec![entry],
        failures: Vec::new(),
    }));
    m.set_readiness(vec![Row {
        repository: "acme/deploy".into(),
        environment: "mainnet".into(),
        network: "mainnet".into(),
        fork: "Glamsterdam".into(),
        activates_at: at(4_102_444_800),
        seconds_left: 0,
        state: State::NotReady,
        blocking: Vec::new(),
        clients: Vec::new(),
    }]);
    let wave = |n: u32, state: WaveState| WaveStatus {
        wave: n,
        environments: vec![format!("env{n}")],
        state,
        merged_at: None,
        soak: std::time::Duration::from_secs(3600),
        opens_at: Some(at(4_102_444_800)),
        pull: None,
        pull_url: None,
        reason: String::new(),
        window: false,
    };
    m.set_rollouts(&[UpstreamRollout {
        repository: "acme/deploy".into(),
        upstream: "ethereum/go-ethereum".into(),
        version: "v1.17.1".into(),
        deadline: None,
        compressed: false,
        at_risk: false,
        expedited: false,
        waves: vec![wave(1, WaveState::Soaking), wave(2, WaveState::Pending)],
    }]);
    let mut report = RunReport::default();
    report.check.findings.push(Finding {
        repository: "acme/deploy".into(),
        file: "envs/mainnet/values.yaml".into(),
        line: 3,
        image: "ethereum/client-go".into(),
        current: "v1.16.0".into(),
        upstream: "ethereum/go-ethereum".into(),
        latest: "v1.17.1".into(),
        target_tag: "v1.17.1".into(),
        behind: 2,
        environment: Some("mainnet".into()),
        network: Some("mainnet".into()),
        wave: Some(1),
        codes: Vec::new(),
        deadline: Some(Deadline {
            fork: "Glamsterdam".into(),
            network: "mainnet".into(),
            at: at(4_102_444_800),
            release: None,
        }),
        priority: None,
        published_at: None,
        target_digest: None,
        waiting_for_image: false,
        since: None,
        current_release: None,
        digest: None,
        breaking: Vec::new(),
        security: None,
        rollout: None,
    });
    m.record_run(&report, &["acme/deploy".into()], at(4_000_000_000));
    let text = m.encode();
    crate::inventory::promtool_check(&text);
    text
}

/// Metric name (from the `# TYPE` lines) -> the label names of its series
/// in `text` (`None`: no sample to read them from).
fn exported(text: &str) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let mut out: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    let label = Regex::new(r#"([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*""#).unwrap();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap_or_default();
            out.entry(name.to_string()).or_default();
        } else if !line.starts_with('#') && !line.is_empty() {
            let name_end = line.find(['{', ' ']).unwrap_or(line.len());
            let labels = out
                .entry(line[..name_end].to_string())
                .or_default()
                .get_or_insert_with(BTreeSet::new);
            if let Some(set) = line[name_end..].strip_prefix('{') {
                let set = &set[..set.rfind('}').unwrap_or(set.len())];
                labels.extend(label.captures_iter(set).map(|c| c[1].to_string()));
            }
        }
    }
    out
}

/// Every query of the dashboard: (where, PromQL as Grafana sends it).
fn queries(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in panels(d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                format!("panel {:?} target {}", p["title"], t["refId"]),
                t["expr"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    // A query variable's `label_values(selector, label)`: the selector is
    // PromQL.
    let label_values = Regex::new(r"^label_values\((.*),\s*([a-zA-Z_]\w*)\)$").unwrap();
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        let q = v["definition"].as_str().unwrap_or_default();
        let c = label_values
            .captures(q)
            .unwrap_or_else(|| panic!("variable {}: not label_values(…): {q}", v["name"]));
        out.push((
            format!("variable {}", v["name"]),
            format!("{}{{{}=~\".+\"}}", &c[1], &c[2]).replace("}{", ","),
        ));
    }
    out
}

/// The panels, those inside collapsed rows included (rows themselves not).
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        if p["type"] == "row" {
            out.extend(p["panels"].as_array().into_iter().flatten());
        } else {
            out.push(p);
        }
    }
    out
}

/// Grafana's variables replaced by what it would send.
fn substitute(expr: &str) -> String {
    let mut s = expr.to_string();
    for (var, value) in [
        ("$__rate_interval", "5m"),
        ("$__interval", "1m"),
        ("$__range", "1h"),
        ("${repository}", ".*"),
        ("$repository", ".*"),
        ("${environment}", ".*"),
        ("$environment", ".*"),
        ("${job}", "upkeep"),
        ("$job", "upkeep"),
    ] {
        s = s.replace(var, value);
    }
    s
}

#[test]
fn the_dashboard_is_one_grafana_imports_with_a_prometheus_input() {
    let d = dashboard();
    assert_eq!(d["uid"], "upkeep");
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        d["schemaVersion"].as_u64().is_some_and(|v| v >= 39),
        "{}",
        d["schemaVersion"]
    );
    assert!(d["id"].is_null(), "an exported dashboard has no id");
    let inputs = d["__inputs"].as_array().unwrap();
    assert!(
        inputs.iter().any(|i| i["name"] == "DS_PROMETHEUS"
            && i["pluginId"] == "prometheus"
            && i["type"] == "datasource"),
        "{inputs:?}"
    );
    let names: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["repository", "environment", "job"]);

    let mut ids = BTreeSet::new();
    let nested = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["panels"].as_array().into_iter().flatten());
    for p in d["panels"].as_array().unwrap().iter().chain(nested) {
        assert!(
            p["id"].as_u64().is_some_and(|id| ids.insert(id)),
            "duplicate or missing id: {p}"
        );
        let g = &p["gridPos"];
        for k in ["h", "w", "x", "y"] {
            assert!(g[k].is_u64(), "{}: gridPos.{k}", p["title"]);
        }
        assert!(
            g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24,
            "{}: wider than the grid",
            p["title"]
        );
    }
    for p in panels(&d) {
        let title = &p["title"];
        assert!(
            p["description"].as_str().is_some_and(|s| !s.is_empty()),
            "{title}: no description"
        );
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: no query");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
            assert!(t["expr"].as_str().is_some_and(|e| !e.is_empty()), "{title}");
        }
    }
    for v in d["templating"]["list"].as_array().unwrap() {
        assert_eq!(v["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", v["name"]);
    }
}

#[test]
fn every_dashboard_query_parses_and_reads_only_metrics_upkeep_exports() {
    let d = dashboard();
    let queries = queries(&d);
    assert!(queries.len() >= 20, "{queries:?}");

    // Each query a recording rule: `promtool check rules` parses them all.
    let mut rules = String::from("groups:\n  - name: grafana-dashboard\n    rules:\n");
    for (i, (_, expr)) in queries.iter().enumerate() {
        let expr = substitute(expr);
        assert!(!expr.contains('$'), "a template variable left: {expr}");
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&expr).unwrap()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dashboard.rules.yml"), &rules).unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules", "dashboard.rules.yml"])
        .current_dir(dir.path())
        .output()
        .expect("`promtool` is not installed: apt-get install -y prometheus (.ci/run does this)");
    assert!(
        out.status.success(),
        "promtool check rules:\n{}{}\n{rules}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Every metric and every label matcher and grouping label is one of
    // `/metrics` (`job` and `instance` are Prometheus's; `up` is its).
    let exported = exported(&served_metrics());
    // The label check bites: the families filtered by repository and
    // environment have series.
    for name in [
        "upkeep_reference_info",
        "upkeep_releases_behind",
        "upkeep_deadline_timestamp_seconds",
        "upkeep_fork_ready",
        "upkeep_fork_seconds_left",
        "upkeep_rollout_wave_state",
        "upkeep_rollout_opens_at_timestamp_seconds",
        "upkeep_live_drift",
        "upkeep_running_containers",
        "upkeep_webhooks_total",
        "upkeep_github_rate_remaining",
        "upkeep_github_requests_total",
        "upkeep_pending_upgrades",
        "upkeep_deadline_seconds",
    ] {
        assert!(
            exported.get(name).is_some_and(Option::is_some),
            "{name}: no series in the fixture"
        );
    }
    let selector = Regex::new(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?").unwrap();
    let matcher = Regex::new(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)").unwrap();
    let grouping =
        Regex::new(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)").unwrap();
    let scraped = ["job", "instance"];
    let mut used = BTreeSet::new();
    for (at, expr) in &queries {
        for c in selector.captures_iter(expr) {
            let name = &c[1];
            if !name.starts_with("upkeep_") && name != "up" {
                continue;
            }
            used.insert(name.to_string());
            if name == "up" {
                continue;
            }
            let labels = exported.get(name).unwrap_or_else(|| {
                panic!("{at}: {name} is not exported by upkeep serve's /metrics: {expr}")
            });
            // Families the fixture cannot fill (GitHub's answers) have no
            // sample to read their labels from.
            let Some(labels) = labels else { continue };
            for m in c
                .get(2)
                .into_iter()
                .flat_map(|s| matcher.captures_iter(s.as_str()))
            {
                assert!(
                    labels.contains(&m[1]) || scraped.contains(&&m[1]),
                    "{at}: {name} has no label {} (it has {labels:?}): {expr}",
                    &m[1]
                );
            }
        }
        let names: BTreeSet<String> = used
            .iter()
            .filter(|n| expr.contains(n.as_str()) && *n != "up")
            .cloned()
            .collect();
        for g in grouping.captures_iter(expr) {
            for label in g[1].split(',').map(str::trim).filter(|l| !l.is_empty()) {
                assert!(
                    scraped.contains(&label)
                        || names
                            .iter()
                            .any(|n| exported[n].as_ref().is_none_or(|l| l.contains(label))),
                    "{at}: no metric of the query has the label {label}: {expr}"
                );
            }
        }
    }
    // The dashboard covers what the issue asks for.
    for name in [
        "upkeep_releases_behind",
        "upkeep_deadline_timestamp_seconds",
        "upkeep_fork_ready",
        "upkeep_fork_seconds_left",
        "upkeep_rollout_wave_state",
        "upkeep_live_drift",
        "upkeep_running_containers",
        "upkeep_github_rate_remaining",
        "upkeep_errors_total",
        "up",
    ] {
        assert!(used.contains(name), "no panel shows {name}");
    }
}
