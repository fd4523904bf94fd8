//! Slack notifications: the digest, alerts and reminders composed from
//! findings built here (the rule engine's codes and deadlines), delivered
//! to a local webhook double (`support::slack`) that answers as Slack
//! does; and `upkeep notify` end to end on the fixture fleet of
//! `inventory.rs`. Every payload captured or composed is read back through
//! the typed Block Kit schema of `support::slack::blockkit`, which also
//! enforces Slack's limits and escaping.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use upkeep::domain::evaluate::{CheckReport, Deadline, Failure, Finding, Unchecked};
use upkeep::domain::notify::{
    self, Channel, DeliveryError, Inputs, Kind, Message, Pull, SlackTemplates, What,
};
use upkeep::domain::release::Release;
use upkeep::domain::render::Fingerprint;
use upkeep::domain::rollout::decide::{
    AlertKind, RolloutAlert, UpstreamRollout, WaveState, WaveStatus,
};
use upkeep::domain::rules::Code;
use upkeep::domain::settings::{self, Slack, SlackRoute};
use upkeep::io::slack::{SendOptions, Sender};
use upkeep::io::store::Store;

use crate::support::slack::{Answer, SlackDouble, blockkit};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 28, 12, 0, 0).unwrap()
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[allow(clippy::too_many_arguments)]
fn finding(
    repo: &str,
    file: &str,
    env: &str,
    image: &str,
    upstream: &str,
    current: &str,
    target: &str,
    behind: usize,
) -> Finding {
    Finding {
        repository: repo.into(),
        file: file.into(),
        line: 4,
        image: image.into(),
        current: current.into(),
        upstream: upstream.into(),
        latest: target.into(),
        target_tag: target.into(),
        behind,
        environment: Some(env.into()),
        network: Some(env.into()),
        wave: Some(1),
        codes: Vec::new(),
        deadline: None,
        priority: None,
        published_at: Some(now() - chrono::Duration::days(3)),
        target_digest: None,
        waiting_for_image: false,
        since: None,
        current_release: None,
        digest: None,
        breaking: Vec::new(),
        security: None,
        rollout: None,
    }
}

fn codes(mut f: Finding, codes: &[&str]) -> Finding {
    f.codes = codes.iter().map(|c| Code::parse(c).unwrap()).collect();
    f
}

fn deadline(mut f: Finding, fork: &str, network: &str, at: &str) -> Finding {
    f.deadline = Some(Deadline {
        fork: fork.into(),
        network: network.into(),
        at: time(at),
        release: None,
    });
    f
}

fn release(tag: &str, url: &str) -> Release {
    serde_json::from_value(serde_json::json!({"tag_name": tag, "html_url": url})).unwrap()
}

/// A report, its open pull requests, the planner's reasons for holding
/// upgrades back, and the local repositories.
type Fleet = (
    CheckReport,
    Vec<Pull>,
    BTreeMap<(String, String, usize), String>,
    BTreeSet<String>,
);

/// An Ethereum fleet as the rule engine would annotate it, one upgrade in
/// every section and every reason for a missing pull request.
fn fleet() -> Fleet {
    let infra = "acme/eth-infra";
    let lighthouse = deadline(
        codes(
            finding(
                infra,
                "envs/mainnet/beacon.yaml",
                "mainnet",
                "sigp/lighthouse",
                "sigp/lighthouse",
                "v7.0.0",
                "v8.0.1",
                3,
            ),
            &["hard-fork", "mandatory", "overdue"],
        ),
        "Pectra",
        "mainnet",
        "2025-05-07T10:05:11Z",
    );
    let teku = deadline(
        codes(
            finding(
                infra,
                "envs/hoodi/teku.yaml",
                "hoodi",
                "consensys/teku",
                "Consensys/teku",
                "25.9.0",
                "25.11.1",
                2,
            ),
            &["hard-fork", "mandatory"],
        ),
        "Fusaka",
        "hoodi",
        "2025-11-30T18:53:12Z",
    );
    let geth = deadline(
        codes(
            finding(
                infra,
                "envs/mainnet/geth.yaml",
                "mainnet",
                "ethereum/client-go",
                "ethereum/go-ethereum",
                "v1.16.1",
                "v1.16.7",
                6,
            ),
            &["hard-fork"],
        ),
        "Fusaka",
        "mainnet",
        "2025-12-03T21:49:11Z",
    );
    let mut nethermind = codes(
        finding(
            infra,
            "envs/mainnet/el.yaml",
            "mainnet",
            "nethermind/nethermind",
            "NethermindEth/nethermind",
            "1.31.0",
            "1.31.11",
            11,
        ),
        &["security-fix"],
    );
    nethermind.waiting_for_image = true;
    nethermind.since = Some(now() - chrono::Duration::hours(3));
    let mut lodestar = codes(
        finding(
            "./deploy",
            "compose.yml",
            "devnet",
            "chainsafe/lodestar",
            "ChainSafe/lodestar",
            "v1.20.0",
            "v1.36.0",
            12,
        ),
        &["breaking-change"],
    );
    lodestar.breaking = vec!["--eth1 flags removed".into()];
    let mev_a = finding(
        infra,
        "envs/hoodi/mev-a.yaml",
        "blue<!here>&green",
        "flashbots/mev-boost",
        "flashbots/mev-boost",
        "1.8",
        "1.9",
        1,
    );
    let mev_b = finding(
        infra,
        "envs/hoodi/mev-b.yaml",
        "blue<!here>&green",
        "flashbots/mev-boost",
        "flashbots/mev-boost",
        "1.8",
        "1.9",
        1,
    );
    let mut report = CheckReport {
        findings: vec![lighthouse, teku, geth, nethermind, lodestar, mev_a, mev_b],
        up_to_date: 7,
        ..CheckReport::default()
    };
    report.unchecked.push(Unchecked {
        repository: infra.into(),
        file: "envs/mainnet/x.yaml".into(),
        line: 1,
        image: "acme/tool".into(),
        tag: Some("v1".into()),
        reason: "untracked".into(),
    });
    report.failures.push(Failure {
        subject: "status-im/nimbus-eth2".into(),
        error: "GitHub answered 502 <html>Bad gateway</html>".into(),
    });
    report.releases.insert(
        "sigp/lighthouse".into(),
        Ok(vec![release(
            "v8.0.1",
            "https://github.com/sigp/lighthouse/releases/tag/v8.0.1",
        )]),
    );
    let fp = |upstream: &str, version: &str, group: &str| Fingerprint {
        v: 1,
        repo: infra.into(),
        upstream: upstream.into(),
        version: version.into(),
        group: group.into(),
        key: "0000000000000000".into(),
        environments: Vec::new(),
        rollback: None,
        rollout: None,
    };
    let pulls = vec![
        Pull {
            state: notify::PullState::Open,
            number: 41,
            url: "https://github.com/acme/eth-infra/pull/41".into(),
            fingerprint: fp("sigp/lighthouse", "v8.0.1", "upstream"),
        },
        Pull {
            state: notify::PullState::Open,
            number: 40,
            url: "https://github.com/acme/eth-infra/pull/40".into(),
            fingerprint: fp("ethereum/go-ethereum", "v1.16.5", "upstream"),
        },
        // another environment's pull request is not this upgrade's
        Pull {
            state: notify::PullState::Open,
            number: 39,
            url: "https://github.com/acme/eth-infra/pull/39".into(),
            fingerprint: fp("flashbots/mev-boost", "1.9", "mainnet"),
        },
    ];
    let held = BTreeMap::from([(
        (infra.to_string(), "envs/hoodi/teku.yaml".to_string(), 4),
        "minimum release age: 1h 0m left".to_string(),
    )]);
    let local = BTreeSet::from(["./deploy".to_string()]);
    (report, pulls, held, local)
}

fn default_channel(url: &str) -> Vec<Channel> {
    let env = HashMap::from([("UPKEEP_SLACK_WEBHOOK_URL".to_string(), url.to_string())]);
    notify::channels(&Slack::default(), &env)
}

fn never_sent(_: &str, _: &[String]) -> BTreeSet<String> {
    BTreeSet::new()
}

fn view(messages: &[Message]) -> Value {
    serde_json::to_value(messages).unwrap()
}

fn texts(m: &Message) -> String {
    blockkit::texts(&blockkit::check(&serde_json::to_value(&m.payload).unwrap()))
}

#[test]
fn digest_alerts_and_reminders_of_a_fleet() {
    let (report, pulls, held, local) = fleet();
    let slack = Slack::default();
    let inputs = Inputs {
        report: &report,
        slack: &slack,
        pulls: &pulls,
        ignore: &[],
        held: &held,
        local: &local,
        readiness: &[],
        now: now(),
    };
    let channels = default_channel("https://hooks.slack.com/services/T0/B0/secret");
    let templates = SlackTemplates::builtin().unwrap();
    let messages =
        notify::compose(&inputs, &channels, &templates, What::default(), &never_sent).unwrap();
    for m in &messages {
        blockkit::check(&serde_json::to_value(&m.payload).unwrap());
    }
    let kinds: Vec<(Kind, &str)> = messages
        .iter()
        .map(|m| (m.kind, m.subject.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (Kind::Alert, "Consensys/teku 25.11.1"),
            (Kind::Alert, "NethermindEth/nethermind 1.31.11"),
            (Kind::Alert, "ethereum/go-ethereum v1.16.7"),
            (Kind::Alert, "sigp/lighthouse v8.0.1"),
            (Kind::Reminder, "Fusaka on hoodi"),
            (Kind::Reminder, "Fusaka on mainnet"),
            (Kind::Digest, "6 pending"),
        ]
    );
    let digest = texts(&messages[6]);
    // sections in order of urgency
    let order: Vec<usize> = [
        "*Overdue*",
        "*Hard-fork deadlines*",
        "*Security fixes*",
        "*Breaking changes*",
        "*Routine upgrades*",
    ]
    .iter()
    .map(|s| digest.find(s).unwrap_or_else(|| panic!("{s} in {digest}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{digest}");
    assert!(
        digest.contains("<https://github.com/acme/eth-infra/pull/41|PR #41>"),
        "{digest}"
    );
    assert!(
        digest.contains("<https://github.com/acme/eth-infra/pull/40|PR #40> (for v1.16.5)"),
        "{digest}"
    );
    assert!(
        digest.contains("no PR yet: minimum release age: 1h 0m left"),
        "{digest}"
    );
    assert!(
        digest.contains("no PR yet: waiting for image (released 3h ago)"),
        "{digest}"
    );
    assert!(digest.contains("blue&lt;!here&gt;&amp;green"), "{digest}");
    assert!(
        digest.contains("(1 release behind, 2 files) · no PR yet: not opened yet"),
        "{digest}"
    );
    assert!(
        digest.contains("Fusaka on mainnet at 2025-12-03 21:49 UTC (in 5 days 9 hours)"),
        "{digest}"
    );
    assert!(!digest.contains("PR #39"), "{digest}");
    assert_eq!(messages[0].keys, ["alert|Consensys/teku|25.11.1"]);
    insta::assert_json_snapshot!("fleet_messages", view(&messages));
}

#[test]
fn routes_split_findings_and_the_default_channel_gets_the_rest() {
    let (report, pulls, held, local) = fleet();
    let slack = Slack {
        routes: vec![
            SlackRoute::new(
                "mainnet-ops",
                "UPKEEP_SLACK_WEBHOOK_MAINNET",
                &[],
                &["mainnet"],
            )
            .unwrap(),
            SlackRoute::new("acme-all", "UPKEEP_SLACK_WEBHOOK_ACME", &["ACME/*"], &[]).unwrap(),
        ],
        ..Slack::default()
    };
    let env = HashMap::from([
        (
            "UPKEEP_SLACK_WEBHOOK_MAINNET".to_string(),
            "https://hooks.slack.com/services/a".to_string(),
        ),
        (
            "UPKEEP_SLACK_WEBHOOK_URL".to_string(),
            "https://hooks.slack.com/services/b".to_string(),
        ),
    ]);
    let channels = notify::channels(&slack, &env);
    let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["mainnet-ops", "acme-all", "default"]);
    assert!(
        matches!(&channels[1].webhook, Err(DeliveryError::NotConfigured { var }) if var == "UPKEEP_SLACK_WEBHOOK_ACME")
    );
    let to = |repo: &str, env: Option<&str>| -> Vec<String> {
        notify::route(&channels, repo, env)
            .iter()
            .map(|c| c.name.clone())
            .collect()
    };
    assert_eq!(
        to("acme/eth-infra", Some("mainnet")),
        ["mainnet-ops", "acme-all"]
    );
    assert_eq!(to("acme/eth-infra", Some("hoodi")), ["acme-all"]);
    assert_eq!(to("./deploy", Some("mainnet")), ["mainnet-ops"]);
    assert_eq!(to("./deploy", None), ["default"]);
    let inputs = Inputs {
        report: &report,
        slack: &slack,
        pulls: &pulls,
        ignore: &[],
        held: &held,
        local: &local,
        readiness: &[],
        now: now(),
    };
    let templates = SlackTemplates::builtin().unwrap();
    let what = What {
        digest: true,
        alerts: false,
    };
    let messages = notify::compose(&inputs, &channels, &templates, what, &never_sent).unwrap();
    let subjects: Vec<(&str, &str)> = messages
        .iter()
        .map(|m| (m.channel.as_str(), m.subject.as_str()))
        .collect();
    assert_eq!(
        subjects,
        [
            ("mainnet-ops", "3 pending"),
            ("acme-all", "5 pending"),
            ("default", "1 pending")
        ]
    );
    // a route's digest does not claim the whole fleet's up-to-date count
    assert!(
        !texts(&messages[0]).contains("up to date"),
        "{}",
        texts(&messages[0])
    );
    assert_eq!(notify::unrouted(&report, &channels[..2]), 1);
}

/// `n` pending upgrades spread over the five sections.
fn many(n: usize, name_len: usize) -> CheckReport {
    let findings = (0..n)
        .map(|i| {
            let image = format!("acme/image-{i:03}-{}", "x".repeat(name_len));
            let f = finding(
                "acme/eth-infra",
                &format!("envs/{i:03}.yaml"),
                "mainnet",
                &image,
                "acme/up",
                "v1.0.0",
                "v2.0.0",
                1 + i % 7,
            );
            match i % 5 {
                0 => deadline(
                    codes(f, &["overdue"]),
                    "Pectra",
                    "mainnet",
                    "2025-05-07T10:05:11Z",
                ),
                1 => deadline(
                    codes(f, &["hard-fork"]),
                    "Fusaka",
                    "mainnet",
                    "2025-12-03T21:49:11Z",
                ),
                2 => codes(f, &["security-fix"]),
                3 => codes(f, &["breaking-change"]),
                _ => f,
            }
        })
        .collect();
    CheckReport {
        findings,
        ..CheckReport::default()
    }
}

fn fast() -> SendOptions {
    SendOptions {
        attempts: 3,
        base_delay: Duration::from_millis(20),
        max_wait: Duration::from_secs(3),
        ..SendOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_pending_upgrades_stay_within_slack_limits() {
    let slack = SlackDouble::start();
    let report = many(200, 8);
    let settings = Slack::default();
    let (pulls, held, local) = (Vec::new(), BTreeMap::new(), BTreeSet::new());
    let inputs = Inputs {
        report: &report,
        slack: &settings,
        pulls: &pulls,
        ignore: &[],
        held: &held,
        local: &local,
        readiness: &[],
        now: now(),
    };
    let channels = default_channel(&slack.webhook("default"));
    let templates = SlackTemplates::builtin().unwrap();
    let digest = What {
        digest: true,
        alerts: false,
    };
    let messages = notify::compose(&inputs, &channels, &templates, digest, &never_sent).unwrap();
    assert_eq!(messages.len(), 1);
    let sender = Sender::new(fast()).unwrap();
    let (deliveries, warnings) =
        upkeep::app::notify::deliver(&messages, &channels, &sender, None, now()).await;
    assert!(
        warnings.is_empty() && deliveries[0].error.is_none(),
        "{deliveries:?}"
    );
    let payloads = slack.payloads("default");
    let m = blockkit::check(&payloads[0]);
    let text = blockkit::texts(&m);
    assert_eq!(text.matches("\n• ").count(), notify::MAX_ITEMS, "{text}");
    assert!(text.contains("upkeep: 200 pending upgrades"), "{text}");
    assert!(
        text.contains("_…and 100 more not shown (20 security, 40 breaking, 40 routine). `upkeep inventory` lists them all._"),
        "{text}"
    );

    // very long lines: the character budget cuts first, still valid
    let report = many(150, 700);
    let inputs = Inputs {
        report: &report,
        ..inputs
    };
    let messages =
        notify::compose(&inputs, &channels, &templates, What::default(), &never_sent).unwrap();
    for msg in &messages {
        let value = serde_json::to_value(&msg.payload).unwrap();
        let m = blockkit::check(&value);
        let text = blockkit::texts(&m);
        if msg.kind != Kind::Reminder {
            assert!(text.contains("more not shown"), "{}: {text}", msg.subject);
        }
    }
    slack.clear();
    let (deliveries, _) =
        upkeep::app::notify::deliver(&messages, &channels, &sender, None, now()).await;
    assert!(
        deliveries.iter().all(|d| d.error.is_none()),
        "{deliveries:?}"
    );
    for p in slack.payloads("default") {
        blockkit::check(&p);
    }
}

/// One notification pass with a fresh store handle (a new process).
async fn pass(
    state: &std::path::Path,
    report: &CheckReport,
    slack: &Slack,
    channels: &[Channel],
    now: DateTime<Utc>,
) -> Vec<(String, Kind, String, bool)> {
    let store = Store::open(state).unwrap();
    let (pulls, held, local) = (Vec::new(), BTreeMap::new(), BTreeSet::new());
    let inputs = Inputs {
        report,
        slack,
        pulls: &pulls,
        ignore: &[],
        held: &held,
        local: &local,
        readiness: &[],
        now,
    };
    let sent = |channel: &str, keys: &[String]| store.slack_sent(channel, keys).unwrap();
    let templates = SlackTemplates::builtin().unwrap();
    let messages = notify::compose(&inputs, channels, &templates, What::default(), &sent).unwrap();
    let sender = Sender::new(fast()).unwrap();
    let (deliveries, warnings) =
        upkeep::app::notify::deliver(&messages, channels, &sender, Some(&store), now).await;
    assert!(warnings.is_empty(), "{warnings:?}");
    deliveries
        .into_iter()
        .map(|d| (d.channel, d.kind, d.subject, d.error.is_none()))
        .collect()
}

fn delivered(list: &[(String, Kind, String, bool)]) -> Vec<String> {
    list.iter()
        .map(|(c, k, s, ok)| format!("{c} {} {s}{}", k.as_str(), if *ok { "" } else { " FAILED" }))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_and_reminders_are_sent_once_per_channel_across_runs() {
    let slack = SlackDouble::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.sqlite3");
    let lighthouse = deadline(
        codes(
            finding(
                "acme/eth-infra",
                "envs/mainnet/cl.yaml",
                "mainnet",
                "sigp/lighthouse",
                "sigp/lighthouse",
                "v7.0.0",
                "v8.0.1",
                2,
            ),
            &["hard-fork"],
        ),
        "Fusaka",
        "mainnet",
        "2025-12-03T12:00:00Z",
    );
    let geth = codes(
        finding(
            "acme/eth-infra",
            "envs/hoodi/el.yaml",
            "hoodi",
            "ethereum/client-go",
            "ethereum/go-ethereum",
            "v1.16.1",
            "v1.16.7",
            1,
        ),
        &["security-fix"],
    );
    let report = CheckReport {
        findings: vec![lighthouse.clone(), geth],
        ..CheckReport::default()
    };
    let settings = Slack {
        routes: vec![
            SlackRoute::new("ops", "UPKEEP_SLACK_WEBHOOK_OPS", &[], &["mainnet"]).unwrap(),
        ],
        ..Slack::default()
    };
    let env = HashMap::from([
        ("UPKEEP_SLACK_WEBHOOK_OPS".to_string(), slack.webhook("ops")),
        (
            "UPKEEP_SLACK_WEBHOOK_URL".to_string(),
            slack.webhook("default"),
        ),
    ]);
    let channels = notify::channels(&settings, &env);

    let first = pass(&state, &report, &settings, &channels, now()).await;
    assert_eq!(
        delivered(&first),
        [
            "ops alert sigp/lighthouse v8.0.1",
            "ops reminder Fusaka on mainnet",
            "ops digest 1 pending",
            "default alert ethereum/go-ethereum v1.16.7",
            "default digest 1 pending",
        ]
    );
    let reminder = blockkit::texts(&blockkit::check(&slack.payloads("ops")[1]));
    assert!(
        reminder.starts_with("Reminder: Fusaka on mainnet in 5 days"),
        "{reminder}"
    );

    // the same state file, later the same day: only the digests again
    let second = pass(
        &state,
        &report,
        &settings,
        &channels,
        now() + chrono::Duration::hours(2),
    )
    .await;
    assert_eq!(
        delivered(&second),
        ["ops digest 1 pending", "default digest 1 pending"]
    );

    // within a day of the deadline: the 1d reminder, once
    let close = time("2025-12-03T00:00:00Z");
    let third = pass(&state, &report, &settings, &channels, close).await;
    assert_eq!(
        delivered(&third),
        [
            "ops reminder Fusaka on mainnet",
            "ops digest 1 pending",
            "default digest 1 pending"
        ]
    );
    let fourth = pass(&state, &report, &settings, &channels, close).await;
    assert_eq!(
        delivered(&fourth),
        ["ops digest 1 pending", "default digest 1 pending"]
    );

    // a new release while the channel fails: not recorded, so sent next time
    let mut newer = lighthouse;
    newer.latest = "v8.0.2".into();
    newer.target_tag = "v8.0.2".into();
    let report = CheckReport {
        findings: vec![newer],
        ..CheckReport::default()
    };
    slack.answer_always("ops", Answer::Status(500, "internal_error"));
    let failing = pass(&state, &report, &settings, &channels, close).await;
    assert_eq!(
        delivered(&failing),
        [
            "ops alert sigp/lighthouse v8.0.2 FAILED",
            "ops digest 1 pending FAILED",
            "default digest 0 pending"
        ]
    );
    slack.answer_always("ops", Answer::Ok);
    let recovered = pass(&state, &report, &settings, &channels, close).await;
    assert_eq!(
        delivered(&recovered),
        [
            "ops alert sigp/lighthouse v8.0.2",
            "ops digest 1 pending",
            "default digest 0 pending"
        ]
    );
    for name in ["ops", "default"] {
        for p in slack.payloads(name) {
            blockkit::check(&p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_answers_rejections_rate_limits_and_outages() {
    let slack = SlackDouble::start();
    let hook = |name: &str| notify::Webhook::parse("V", &slack.webhook(name)).unwrap();
    let payload = notify::Payload::new("hi", vec![notify::Block::section("hello")]);
    let sender = Sender::new(fast()).unwrap();

    // 400 invalid_payload: refused at once, Slack's reason reported
    slack.answer_next("bad", [Answer::Status(400, "invalid_payload")]);
    let e = sender.send(&hook("bad"), &payload).await.unwrap_err();
    assert_eq!(
        e,
        DeliveryError::Rejected {
            host: slack.host(),
            status: 400,
            reason: "invalid_payload".into()
        }
    );
    assert_eq!(slack.requests("bad").len(), 1);

    // 429 with Retry-After: waited out
    slack.answer_next("busy", [Answer::RateLimited { retry_after: 1 }]);
    assert_eq!(sender.send(&hook("busy"), &payload).await, Ok(2));
    let reqs = slack.requests("busy");
    assert!(
        reqs[1].at - reqs[0].at >= Duration::from_millis(950),
        "{:?}",
        reqs[1].at - reqs[0].at
    );
    assert_eq!(reqs[1].content_type.as_deref(), Some("application/json"));

    // a Retry-After longer than upkeep waits fails at once, and says so
    slack.answer_next("slow", [Answer::RateLimited { retry_after: 3600 }]);
    let e = sender.send(&hook("slow"), &payload).await.unwrap_err();
    assert!(e.to_string().contains("asked to wait 3600 s"), "{e}");
    assert_eq!(slack.requests("slow").len(), 1);

    // 500: retried, then reported
    slack.answer_always("down", Answer::Status(500, "internal_error"));
    let e = sender.send(&hook("down"), &payload).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{} answered 500 after 3 attempt(s)", slack.host())
    );
    assert_eq!(slack.requests("down").len(), 3);

    // 500 then ok: one retry
    slack.answer_next("flaky", [Answer::Status(503, "busy")]);
    assert_eq!(sender.send(&hook("flaky"), &payload).await, Ok(2));

    // nobody listening: unreachable, and no part of the URL in the error
    let closed = notify::Webhook::parse("V", "http://127.0.0.1:9/services/T0/x/secret-x").unwrap();
    let e = sender
        .send(&closed, &payload)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("127.0.0.1:9 could not be reached after 3 attempt(s)"),
        "{e}"
    );
    assert!(!e.contains("secret") && !e.contains("services"), "{e}");
}

fn load(text: &str, vars: &[(&str, &str)]) -> Result<settings::Settings, String> {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    settings::load_str(text, "upkeep.yml", None, &env).map_err(|e| e.to_string())
}

#[test]
fn slack_settings_routes_alerts_and_reminders() {
    let s = load("", &[]).unwrap();
    assert_eq!(
        s.slack.alerts,
        [Code::HardFork, Code::SecurityFix, Code::Mandatory]
    );
    assert_eq!(
        s.slack.reminders,
        [Duration::from_secs(7 * 86_400), Duration::from_secs(86_400)]
    );
    assert!(s.slack.routes.is_empty());
    let text = "\
repositories:
  - github: acme/eth-infra
    environments:
      - name: mainnet
        paths: [\"envs/mainnet/**\"]
slack:
  alerts: [hard-fork]
  reminders: [1d, 3d, 1d]
  routes:
    - name: mainnet-ops
      webhook_env: UPKEEP_SLACK_WEBHOOK_MAINNET
      environments: [mainnet]
    - name: acme
      webhook_env: UPKEEP_SLACK_WEBHOOK_ACME
      repositories: [\"acme/*\"]
";
    let s = load(text, &[]).unwrap();
    assert_eq!(s.slack.alerts, [Code::HardFork]);
    assert_eq!(
        s.slack.reminders,
        [Duration::from_secs(3 * 86_400), Duration::from_secs(86_400)]
    );
    assert_eq!(s.slack.routes.len(), 2);
    assert!(s.slack.routes[1].matches("acme/eth-infra", None));
    assert!(!s.slack.routes[1].matches("other/x", None));
    // lists from the environment
    let s = load(
        text,
        &[
            ("UPKEEP_SLACK__ALERTS", "security-fix, mandatory"),
            ("UPKEEP_SLACK__REMINDERS", "2d,6h"),
        ],
    )
    .unwrap();
    assert_eq!(s.slack.alerts, [Code::SecurityFix, Code::Mandatory]);
    assert_eq!(
        s.slack.reminders,
        [
            Duration::from_secs(2 * 86_400),
            Duration::from_secs(6 * 3600)
        ]
    );
    let none = load("slack:\n  alerts: []\n  reminders: []\n", &[]).unwrap();
    assert!(none.slack.alerts.is_empty() && none.slack.reminders.is_empty());
}

#[test]
fn slack_settings_errors_are_positioned_and_keep_secrets_out() {
    let text = "\
repositories:
  - github: acme/eth-infra
    environments:
      - name: mainnet
        paths: [\"envs/mainnet/**\"]
slack:
  alerts: [hard-fork, hardfork]
  reminders: [7d, 0, soon]
  routes:
    - name: ops
      webhook_env: https://hooks.slack.com/services/T0/B0/XYZ
    - name: ops
      webhook_env: UPKEEP_GITHUB_TOKEN
      environments: [mainnet, staging]
    - name: default
      webhook_env: UPKEEP_SLACK_WEBHOOK_X
      repositories: [\"acme/[\"]
";
    let e = load(text, &[]).unwrap_err();
    let lines: Vec<&str> = e.lines().collect();
    let expect = [
        "upkeep.yml:7:23: unknown finding code `hardfork`: expected one of `hard-fork`, `overdue`, `mandatory`, `security-fix`, `breaking-change`, `db-migration`, `resync-required`, `deprecation`",
        "upkeep.yml:8:19: invalid reminder `0`",
        "upkeep.yml:8:22: invalid duration `soon`",
        "upkeep.yml:11:20: invalid `webhook_env`: expected the name of an environment variable",
        "upkeep.yml:12:13: duplicate route name `ops`",
        "upkeep.yml:13:20: `UPKEEP_GITHUB_TOKEN` holds another secret, not a Slack webhook URL",
        "upkeep.yml:14:31: unknown environment `staging`: no repository has it (defined: mainnet)",
        "upkeep.yml:15:13: the route name `default` is taken",
        "upkeep.yml:17:22: invalid repository glob `acme/[`",
    ];
    for (want, got) in expect.iter().zip(&lines) {
        assert!(got.starts_with(want), "want {want}\n got {got}\nall:\n{e}");
    }
    assert_eq!(lines.len(), expect.len(), "{e}");
    assert!(e.contains("the URL is a secret"), "{e}");
    assert!(
        !e.contains("XYZ"),
        "a webhook URL in the file is not repeated: {e}"
    );
    let e = load(
        "slack:\n  routes:\n    - name: x\n      webhook_env: X\n      webhook_url: https://hooks.slack.com/services/T0/B0/XYZ\n",
        &[],
    )
    .unwrap_err();
    assert!(e.starts_with("upkeep.yml:5:7: unknown field `webhook_url`, expected one of `name`, `webhook_env`, `repositories`, `environments`; secrets are read only from environment variables"), "{e}");
}

/// Replaces the loopback ports of the doubles in `text`.
fn redact_ports(text: &str) -> String {
    regex::Regex::new(r"127\.0\.0\.1:\d+")
        .unwrap()
        .replace_all(text, "127.0.0.1:[port]")
        .into_owned()
}

#[test]
fn notify_dry_run_prints_the_digest_with_links_to_open_pull_requests() {
    let f = crate::inventory::Fleet::new();
    let (out, err, code) = f.upkeep(&["run"], &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    f.gh.clear_requests();
    let (json, err, code) = f.upkeep(&["notify", "--dry-run"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: slack channel default: UPKEEP_SLACK_WEBHOOK_URL is not set"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    let messages = v["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        1,
        "no codes from the rules for this fleet: a digest only"
    );
    let m = blockkit::check(&messages[0]["payload"]);
    let text = blockkit::texts(&m);
    assert!(text.contains("|PR #1>"), "{text}");
    assert!(text.contains("|PR #2>"), "{text}");
    let redacted: Value = serde_json::from_str(&redact_ports(&json)).unwrap();
    insta::assert_json_snapshot!("fleet_dry_run", redacted);
    assert_eq!(f.gh.stats().writes, 0, "notify writes nothing to GitHub");
}

#[test]
fn notify_posts_and_waits_out_a_rate_limit() {
    let f = crate::inventory::Fleet::new();
    let slack = SlackDouble::start();
    slack.answer_next("default", [Answer::RateLimited { retry_after: 1 }]);
    let url = slack.webhook("default");
    let (out, err, code) = f.upkeep(&["notify"], &[("UPKEEP_SLACK_WEBHOOK_URL", &url)]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.starts_with(&format!(
            "sent    digest    default ({})  3 pending\n",
            slack.host()
        )),
        "{out}"
    );
    assert!(out.ends_with("\n1 sent, 0 failed\n"), "{out}");
    assert!(
        !out.contains("secret") && !err.contains("secret"),
        "{out}\n{err}"
    );
    let reqs = slack.requests("default");
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].path.as_str()),
        ("POST", "/services/T0/default/secret-default")
    );
    assert!(reqs[1].at - reqs[0].at >= Duration::from_millis(950));
    let sent: Value = serde_json::from_str(&reqs[1].body).unwrap();
    blockkit::check(&sent);
    // what a dry run prints is what is sent
    let (json, _, _) = f.upkeep(
        &["notify", "--dry-run"],
        &[("UPKEEP_SLACK_WEBHOOK_URL", &url)],
    );
    let dry: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(dry["messages"][0]["payload"], sent);
    assert_eq!(
        slack.requests("default").len(),
        2,
        "a dry run sends nothing"
    );
}

#[test]
fn a_failing_channel_is_retried_reported_and_does_not_stop_the_others() {
    let f = crate::inventory::Fleet::new();
    f.settings("slack:\n  routes:\n    - name: mainnet-ops\n      webhook_env: UPKEEP_SLACK_WEBHOOK_OPS\n      environments: [mainnet]\n");
    let slack = SlackDouble::start();
    slack.answer_always("ops", Answer::Status(500, "internal_error"));
    let (ops, default) = (slack.webhook("ops"), slack.webhook("default"));
    let env = [
        ("UPKEEP_SLACK_WEBHOOK_OPS", ops.as_str()),
        ("UPKEEP_SLACK_WEBHOOK_URL", default.as_str()),
    ];
    let started = std::time::Instant::now();
    let (out, err, code) = f.upkeep(&["notify"], &env);
    assert_eq!(code, 3, "{out}\n{err}");
    let host = slack.host();
    assert!(
        out.contains(&format!(
            "failed  digest    mainnet-ops ({host})  2 pending\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("sent    digest    default ({host})  1 pending\n")),
        "{out}"
    );
    assert!(
        err.contains(&format!("error: slack channel mainnet-ops: digest 2 pending: {host} answered 500 after 3 attempt(s)")),
        "{err}"
    );
    assert!(
        !out.contains("secret") && !err.contains("secret"),
        "{out}\n{err}"
    );
    assert_eq!(slack.requests("ops").len(), 3, "retried");
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "with backoff"
    );
    let digest = blockkit::texts(&blockkit::check(&slack.payloads("default")[0]));
    assert!(digest.contains("acme/deploy* / hoodi"), "{digest}");
    assert!(!digest.contains("/ mainnet"), "{digest}");
}

#[test]
fn notify_without_a_webhook_says_what_to_set() {
    let f = crate::inventory::Fleet::new();
    let (out, err, code) = f.upkeep(&["notify"], &[]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("UPKEEP_SLACK_WEBHOOK_URL is not set"), "{err}");
    assert!(err.contains("--dry-run"), "{err}");
    let (_, err, code) = f.upkeep(
        &["notify"],
        &[(
            "UPKEEP_SLACK_WEBHOOK_URL",
            "http://hooks.slack.com/services/T0/B0/secret",
        )],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("plain http is allowed only to loopback hosts"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
}

fn wave(n: u32, env: &str, state: WaveState, opens_at: Option<&str>, window: bool) -> WaveStatus {
    WaveStatus {
        wave: n,
        environments: vec![env.to_string()],
        state,
        merged_at: None,
        soak: Duration::from_secs(86_400),
        opens_at: opens_at.map(time),
        pull: None,
        pull_url: None,
        reason: String::new(),
        window,
    }
}

/// Two rollouts in flight (one soaking, one waiting for mainnet's window),
/// one done, and their alerts.
fn rollout_report() -> CheckReport {
    let soaking = UpstreamRollout {
        repository: "acme/deploy".into(),
        upstream: "sigp/lighthouse".into(),
        version: "v8.0.1".into(),
        deadline: None,
        compressed: false,
        at_risk: false,
        expedited: false,
        waves: vec![
            wave(
                1,
                "hoodi",
                WaveState::Soaking,
                Some("2025-12-02T09:00:00Z"),
                false,
            ),
            wave(
                2,
                "mainnet",
                WaveState::Pending,
                Some("2025-12-02T09:00:00Z"),
                false,
            ),
        ],
    };
    let mut windowed = UpstreamRollout {
        repository: "acme/deploy".into(),
        upstream: "ethereum/go-ethereum".into(),
        version: "v1.16.7".into(),
        deadline: Some(Deadline {
            fork: "Fusaka".into(),
            network: "mainnet".into(),
            at: time("2025-12-03T21:49:11Z"),
            release: None,
        }),
        compressed: true,
        at_risk: true,
        expedited: false,
        waves: vec![
            wave(1, "hoodi", WaveState::Done, None, false),
            wave(
                2,
                "mainnet<@U1>",
                WaveState::Pending,
                Some("2025-11-28T14:00:00Z"),
                true,
            ),
        ],
    };
    windowed.waves[0].pull = Some(7);
    windowed.waves[0].pull_url = Some("https://github.com/acme/deploy/pull/7".into());
    let mut done = soaking.clone();
    done.upstream = "prysm/prysm".into();
    done.waves
        .iter_mut()
        .for_each(|w| (w.state, w.opens_at) = (WaveState::Done, None));
    let alert = |kind, message: &str| RolloutAlert {
        repository: "acme/deploy".into(),
        upstream: "ethereum/go-ethereum".into(),
        version: "v1.16.7".into(),
        kind,
        message: message.into(),
    };
    CheckReport {
        rollouts: vec![soaking, windowed, done],
        rollout_alerts: vec![
            alert(
                AlertKind::DeadlineAtRisk,
                "ethereum/go-ethereum v1.16.7 cannot soak in every wave before Fusaka on mainnet <!channel>",
            ),
            alert(
                AlertKind::WindowOverridden,
                "wave 2 opens outside its window",
            ),
            alert(
                AlertKind::WindowOverridden,
                "wave 3 opens outside its window",
            ),
        ],
        ..CheckReport::default()
    }
}

#[test]
fn the_digest_lists_rollouts_in_flight_and_what_opens_in_the_next_window() {
    let report = rollout_report();
    let slack = Slack::default();
    let (held, local) = (BTreeMap::new(), BTreeSet::new());
    let inputs = Inputs {
        report: &report,
        slack: &slack,
        pulls: &[],
        ignore: &[],
        held: &held,
        local: &local,
        readiness: &[],
        now: now(),
    };
    let channels = default_channel("https://hooks.slack.com/services/T0/B0/secret");
    let templates = SlackTemplates::builtin().unwrap();
    let digest_only = What {
        digest: true,
        alerts: false,
    };
    let messages =
        notify::compose(&inputs, &channels, &templates, digest_only, &never_sent).unwrap();
    assert_eq!(messages.len(), 1);
    let text = texts(&messages[0]);
    assert!(
        text.contains("2 rollouts in flight · 1 opening in the next window"),
        "{text}"
    );
    assert!(
        text.contains(":clock9: *Opens in the next maintenance window* (1)\n• *acme/deploy*: go-ethereum v1.16.7 to wave 2 (mainnet&lt;@U1&gt;) at Fri 14:00 UTC (in 2 hours)"),
        "{text}"
    );
    assert!(
        text.contains("• *acme/deploy*: lighthouse v8.0.1: wave 1 hoodi: soaking until Tue 09:00 UTC · wave 2 mainnet: pending, opens Tue 09:00 UTC"),
        "{text}"
    );
    assert!(
        text.contains("• *acme/deploy*: go-ethereum v1.16.7 :warning: _deadline at risk_: wave 1 hoodi: done <https://github.com/acme/deploy/pull/7|#7> · wave 2 mainnet&lt;@U1&gt;: pending, opens Fri 14:00 UTC"),
        "{text}"
    );
    assert!(
        !text.contains("prysm"),
        "a finished rollout is not in flight: {text}"
    );
    // Rollouts come before the upgrades; their sections are in order.
    let window = text.find("Opens in the next").unwrap();
    let flight = text.find("Rollouts in flight").unwrap();
    assert!(window < flight);

    // Routed: a channel for another repository hears of none of them.
    let env = HashMap::from([(
        "HOOK".to_string(),
        "https://hooks.slack.com/services/T0/B1/x".to_string(),
    )]);
    let slack_other = Slack {
        routes: vec![SlackRoute::new("other", "HOOK", &["acme/other"], &[]).unwrap()],
        ..Slack::default()
    };
    let routed = notify::channels(&slack_other, &env);
    let inputs_other = Inputs {
        slack: &slack_other,
        ..inputs
    };
    let messages = notify::compose(
        &inputs_other,
        &routed,
        &templates,
        What::default(),
        &never_sent,
    )
    .unwrap();
    assert!(
        messages
            .iter()
            .all(|m| !texts(m).contains("Rollouts in flight"))
    );
    assert!(messages.iter().all(|m| m.kind == Kind::Digest));
}

#[test]
fn rollout_alerts_are_sent_once_per_release_and_kind() {
    let report = rollout_report();
    let slack = Slack::default();
    let (held, local) = (BTreeMap::new(), BTreeSet::new());
    let inputs = Inputs {
        report: &report,
        slack: &slack,
        pulls: &[],
        ignore: &[],
        held: &held,
        local: &local,
        readiness: &[],
        now: now(),
    };
    let channels = default_channel("https://hooks.slack.com/services/T0/B0/secret");
    let templates = SlackTemplates::builtin().unwrap();
    let alerts_only = What {
        digest: false,
        alerts: true,
    };
    let messages =
        notify::compose(&inputs, &channels, &templates, alerts_only, &never_sent).unwrap();
    assert_eq!(messages.len(), 2, "{:#?}", view(&messages));
    let keys: Vec<&str> = messages.iter().map(|m| m.keys[0].as_str()).collect();
    assert_eq!(
        keys,
        [
            "rollout|acme/deploy|ethereum/go-ethereum|v1.16.7|deadline-at-risk",
            "rollout|acme/deploy|ethereum/go-ethereum|v1.16.7|window-overridden",
        ]
    );
    assert!(messages.iter().all(|m| m.kind == Kind::Alert));
    let risk = texts(&messages[0]);
    assert!(
        risk.starts_with("Deadline at risk: go-ethereum v1.16.7 in acme/deploy\n"),
        "{risk}"
    );
    assert!(risk.contains("mainnet &lt;!channel&gt;"), "escaped: {risk}");
    assert!(
        risk.contains("wave 2 mainnet&lt;@U1&gt;: pending, opens Fri 14:00 UTC"),
        "{risk}"
    );
    let window = texts(&messages[1]);
    assert!(
        window.starts_with("Outside the maintenance window: go-ethereum v1.16.7 in acme/deploy\n"),
        "{window}"
    );
    assert!(
        window.contains("wave 2 opens outside its window\nwave 3 opens outside its window"),
        "{window}"
    );

    // Sent once: the store's answer leaves them out next time.
    let sent = |_: &str, asked: &[String]| -> BTreeSet<String> {
        asked
            .iter()
            .filter(|k| k.ends_with("|v1.16.7|deadline-at-risk"))
            .cloned()
            .collect()
    };
    let again = notify::compose(&inputs, &channels, &templates, alerts_only, &sent).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].keys,
        ["rollout|acme/deploy|ethereum/go-ethereum|v1.16.7|window-overridden"]
    );
    // A newer release alerts again.
    let mut newer = rollout_report();
    for a in &mut newer.rollout_alerts {
        a.version = "v1.16.8".into();
    }
    let inputs = Inputs {
        report: &newer,
        ..inputs
    };
    let fresh = notify::compose(&inputs, &channels, &templates, alerts_only, &sent).unwrap();
    assert_eq!(fresh.len(), 2);
}

#[test]
fn many_rollouts_stay_within_slack_limits() {
    let base = rollout_report();
    let mut report = CheckReport::default();
    for i in 0..400 {
        let mut r = base.rollouts[1].clone();
        r.repository = format!("acme/deploy-{i}-{}", "&<>".repeat(60));
        report.rollouts.push(r);
    }
    let slack = Slack::default();
    let (held, local) = (BTreeMap::new(), BTreeSet::new());
    let inputs = Inputs {
        report: &report,
        slack: &slack,
        pulls: &[],
        ignore: &[],
        held: &held,
        local: &local,
        readiness: &[],
        now: now(),
    };
    let channels = default_channel("https://hooks.slack.com/services/T0/B0/secret");
    let templates = SlackTemplates::builtin().unwrap();
    let what = What {
        digest: true,
        alerts: false,
    };
    let m = notify::compose(&inputs, &channels, &templates, what, &never_sent).unwrap();
    let payload = serde_json::to_value(&m[0].payload).unwrap();
    blockkit::check(&payload);
    assert!(m[0].payload.check_limits().is_ok());
    let text = texts(&m[0]);
    assert!(text.contains("more not shown ("), "{text}");
    assert!(
        text.contains(" next window, ") && text.contains(" rollout)"),
        "{text}"
    );
}

/// The digest's text of a dry run of `notify --only digest` on the fleet.
fn fleet_digest(f: &crate::inventory::Fleet) -> String {
    let (json, err, code) = f.upkeep(&["notify", "--dry-run", "--only", "digest"], &[]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    blockkit::texts(&blockkit::check(&v["messages"][0]["payload"]))
}

#[test]
fn the_digest_shows_open_and_merged_pull_requests_and_leaves_out_skipped_and_ignored_upgrades() {
    const REPO: &str = crate::inventory::REPO;
    let f = crate::inventory::Fleet::new();
    let (out, err, code) = f.upkeep(&["run"], &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let pulls = f.gh.pulls(REPO);
    let number = |upstream: &str| {
        pulls
            .iter()
            .find(|p| p.body.as_deref().unwrap_or_default().contains(upstream))
            .unwrap_or_else(|| panic!("no pull request for {upstream}: {pulls:?}"))
            .number
    };
    let (beacon, exec) = (number("acme/beacon"), number("acme/exec"));
    let text = fleet_digest(&f);
    assert!(text.starts_with("upkeep: 3 pending upgrades"), "{text}");
    let beacon_line = format!(
        "`ghcr.io/acme/beacon` v1.2.0 → v2.0.0 (2 releases behind, 2 files) · <{}/{REPO}/pull/{beacon}|PR #{beacon}>\n",
        f.gh.url()
    );
    assert!(text.contains(&beacon_line), "{text}");
    let hoodi_exec = "/ hoodi: `acme/exec` 24.10.1 → 25.1.0";
    assert!(
        text.contains(&format!(
            "{hoodi_exec} (1 release behind) · <{}/{REPO}/pull/{exec}|PR #{exec}>\n",
            f.gh.url()
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "/ mainnet: `acme/exec` 24.10.1 → 25.1.0 (1 release behind) · no PR yet: rollout wave 2"
        ),
        "{text}"
    );

    // closed without merging (what `@upkeep ignore` does): that release is
    // skipped there, so it is no longer pending
    f.gh.close_pr(REPO, exec);
    let text = fleet_digest(&f);
    assert!(text.starts_with("upkeep: 2 pending upgrades\n"), "{text}");
    assert!(!text.contains(hoodi_exec), "the skipped release: {text}");
    assert!(!text.contains(&format!("PR #{exec}>")), "{text}");
    assert!(text.contains(&beacon_line), "{text}");

    // merged, while the check still reads the old version: said so
    f.gh.mark_pr_merged(REPO, beacon);
    let text = fleet_digest(&f);
    assert!(text.contains(&format!("|PR #{beacon}> merged\n")), "{text}");

    // ignored upstreams are not pending
    f.settings("pull_requests:\n  ignore:\n    - upstream: acme/beacon\n");
    let text = fleet_digest(&f);
    assert!(text.starts_with("upkeep: 1 pending upgrade\n"), "{text}");
    assert!(!text.contains("`ghcr.io/acme/beacon`"), "{text}");
    f.settings("pull_requests:\n  ignore:\n    - upstream: acme/beacon\n    - image: acme/exec\n");
    let text = fleet_digest(&f);
    assert!(text.starts_with("upkeep: nothing pending"), "{text}");
}

#[test]
fn the_digest_finds_the_pull_requests_of_named_groups() {
    let f = crate::inventory::Fleet::new();
    f.settings("pull_requests:\n  groups:\n    - name: clients\n      upstreams: [acme/beacon, acme/exec]\n");
    let (out, err, code) = f.upkeep(&["run"], &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let pulls = f.gh.pulls(crate::inventory::REPO);
    let of = |group: &str| {
        pulls
            .iter()
            .find(|p| p.body.as_deref().unwrap_or_default().contains(group))
            .unwrap_or_else(|| panic!("no pull request of {group}: {pulls:?}"))
            .number
    };
    let (wave1, wave2) = (
        of("\"group:clients:wave-1\""),
        of("\"group:clients:wave-2\""),
    );
    let text = fleet_digest(&f);
    let url = format!("{}/{}/pull", f.gh.url(), crate::inventory::REPO);
    assert!(
        text.contains(&format!("/ hoodi: `acme/exec` 24.10.1 → 25.1.0 (1 release behind) · <{url}/{wave1}|PR #{wave1}>\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("`ghcr.io/acme/beacon` v1.2.0 → v2.0.0 (2 releases behind, 2 files) · <{url}/{wave2}|PR #{wave2}>\n")),
        "{text}"
    );
    assert!(!text.contains("not opened yet"), "{text}");
}

#[test]
fn a_hotfix_carries_its_fork_and_advisory_ids_are_linked_in_slack() {
    let mut f = finding(
        "acme/deploy",
        "values.yaml",
        "mainnet",
        "sigp/lighthouse",
        "sigp/lighthouse",
        "v6.0.0",
        "v7.0.1",
        2,
    );
    f = codes(f, &["hard-fork", "security-fix"]);
    f = deadline(f, "Pectra", "mainnet", "2025-05-07T10:05:00Z");
    if let Some(d) = f.deadline.as_mut() {
        d.release = Some("v7.0.0".into());
    }
    f.current_release = Some("v6.0.0".into());
    let notes = |tag: &str, body: &str| -> Release {
        serde_json::from_value(serde_json::json!({"tag_name": tag, "body": body})).unwrap()
    };
    let mut report = CheckReport {
        findings: vec![f],
        ..CheckReport::default()
    };
    report.releases.insert(
        "sigp/lighthouse".into(),
        Ok(vec![
            notes(
                "v7.0.1",
                "Fixes <b>CVE-2025-1111</b> and GHSA-4f8r-qqr9-fq8j.",
            ),
            notes("v7.0.0", "Schedules Pectra. Fixes CVE-2025-1111 again."),
            notes("v6.0.0", "CVE-2020-9999 is old news: deployed already."),
        ]),
    );
    let slack = Slack::default();
    let inputs = Inputs {
        report: &report,
        slack: &slack,
        pulls: &[],
        ignore: &[],
        held: &BTreeMap::new(),
        local: &BTreeSet::new(),
        readiness: &[],
        now: now(),
    };
    let channels = default_channel("https://hooks.slack.com/services/T0/B0/secret");
    let templates = SlackTemplates::builtin().unwrap();
    let messages =
        notify::compose(&inputs, &channels, &templates, What::default(), &never_sent).unwrap();
    let alert = texts(&messages[0]);
    assert!(
        alert.starts_with("Hard fork: lighthouse v7.0.1 (carries the Pectra release v7.0.0)"),
        "{alert}"
    );
    let links = "<https://nvd.nist.gov/vuln/detail/CVE-2025-1111|CVE-2025-1111>, \
                 <https://github.com/advisories/GHSA-4f8r-qqr9-fq8j|GHSA-4f8r-qqr9-fq8j>";
    assert!(alert.contains(&format!("Advisories: {links}.")), "{alert}");
    let digest = texts(messages.last().unwrap());
    assert!(
        digest.contains("v6.0.0 → v7.0.1 (carries the Pectra release v7.0.0)"),
        "{digest}"
    );
    assert!(digest.contains(&format!(" · {links} · ")), "{digest}");
    assert!(
        !digest.contains("CVE-2020-9999"),
        "the deployed release's: {digest}"
    );
}
