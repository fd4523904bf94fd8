//! Settings: `upkeep.yml` loading, environment overrides, error positions.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use upkeep::domain::settings::{self, Group, Network, RepoSource, Scheme, Settings, SettingsError};

fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(text: &str, vars: &[(&str, &str)]) -> Result<Settings, Vec<SettingsError>> {
    settings::load_str(text, "upkeep.yml", None, &env(vars)).map_err(|e| e.0)
}

/// The errors of a file that must not load, one display line each.
fn errors(text: &str, vars: &[(&str, &str)]) -> Vec<String> {
    match load(text, vars) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

fn one_error(text: &str) -> String {
    let errors = errors(text, &[]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn the_example_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("upkeep.example.yml");
    let s = settings::load(Some(&path), &HashMap::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.repositories.len(), 2);
    let infra = &s.repositories[0];
    assert_eq!(
        infra.source,
        RepoSource::GitHub {
            owner: "acme".into(),
            name: "eth-infra".into()
        }
    );
    assert_eq!(infra.branch.as_deref(), Some("main"));
    let names: Vec<_> = infra
        .environments
        .iter()
        .map(|e| (e.name.as_str(), e.wave))
        .collect();
    assert_eq!(names, [("hoodi", 1), ("mainnet", 2)]);
    assert_eq!(infra.environments[1].network, Some(Network::Mainnet));
    assert_eq!(
        infra
            .environment_for("envs/hoodi/values.yaml")
            .unwrap()
            .name,
        "hoodi"
    );
    assert_eq!(
        infra
            .environment_for("charts/geth/values-mainnet.yaml")
            .unwrap()
            .name,
        "mainnet"
    );
    assert!(
        infra
            .environment_for("charts/geth/sub/values-mainnet.yaml")
            .is_none()
    );
    assert!(infra.environment_for("README.md").is_none());
    // a relative path is resolved against the settings file's directory
    assert_eq!(
        s.repositories[1].source,
        RepoSource::Path(Path::new(env!("CARGO_MANIFEST_DIR")).join("./deploy"))
    );
    // and shown without `./` segments
    assert_eq!(
        s.repositories[1].source.to_string(),
        format!("{}/deploy", env!("CARGO_MANIFEST_DIR"))
    );
    assert_eq!(
        s.repositories[1].environments[0].network,
        Some(Network::Other("devnet-7".into()))
    );
    assert_eq!(s.upstreams.len(), 3);
    assert_eq!(s.upstreams[0].repo(), "acme/custom-node");
    assert_eq!(s.upstreams[0].versioning, Some(Scheme::Semver));
    assert_eq!(s.upstreams[0].images[0].name, "ghcr.io/acme/custom-node");
    assert_eq!(s.upstreams[0].images[0].tag.to_string(), "v{version}");
    assert!(matches!(s.upstreams[1].versioning, Some(Scheme::Regex(_))));
    assert_eq!(
        s.upstreams[1].images[0].tag.to_string(),
        "release-{version}-alpine"
    );
    let op = &s.upstreams[2];
    assert_eq!(
        op.release_tag.as_ref().map(ToString::to_string).as_deref(),
        Some("op-node/v{version}")
    );
    assert_eq!(
        (op.prereleases, op.github_prerelease_flag),
        (Some(false), Some(true))
    );
    assert_eq!(op.ignore_tags[0].as_str(), "*-rehearsal*");
    assert_eq!(op.images[0].variants.len(), 1);
    assert_eq!(s.pull_requests.labels, ["upkeep"]);
    assert_eq!(s.pull_requests.group, Group::Upstream);
    assert_eq!(
        s.pull_requests.minimum_release_age,
        Duration::from_secs(7200)
    );
    assert_eq!(
        s.registries.mirrors["docker.io"],
        "https://mirror.example.internal"
    );
    assert!(s.registries.require_published);
    assert_eq!(
        s.slack.digest.as_ref().unwrap().as_str(),
        "0 0 8 * * Mon-Fri"
    );
    assert_eq!(s.schedule.poll.as_str(), "0 */10 * * * *");
}

#[test]
fn empty_and_comment_only_files_mean_defaults() {
    for text in ["", "\n", "# nothing yet\n", "---\n", "~\n"] {
        let s = load(text, &[]).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        assert!(s.repositories.is_empty() && s.upstreams.is_empty());
        assert_eq!(s.pull_requests.labels, ["upkeep"]);
        assert_eq!(s.pull_requests.group, Group::Upstream);
        assert_eq!(s.pull_requests.minimum_release_age, Duration::ZERO);
        assert!(s.registries.require_published);
        assert!(s.slack.digest.is_none());
        assert_eq!(s.schedule.poll.as_str(), settings::DEFAULT_POLL);
    }
    // empty sections too
    let s = load("repositories:\npull_requests:\nslack: {}\n", &[]).unwrap();
    assert!(s.repositories.is_empty());
}

#[test]
fn missing_default_file_means_defaults_but_a_named_missing_file_is_an_error() {
    if !Path::new(settings::DEFAULT_FILE).exists() {
        let s = settings::load(None, &HashMap::new()).unwrap();
        assert!(s.repositories.is_empty());
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yml");
    let err = settings::load(Some(&missing), &HashMap::new()).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err.0[0].file, missing.display().to_string());
    assert_eq!(err.0[0].line, None);
    assert!(
        err.0[0]
            .message
            .starts_with("cannot read the settings file"),
        "{err}"
    );
}

#[test]
fn unknown_top_level_key_points_at_the_key() {
    assert_eq!(
        one_error("pull_requests:\n  group: wave\ncolour: red\n"),
        "upkeep.yml:3:1: unknown field `colour`, expected one of `repositories`, `upstreams`, `pull_requests`, `registries`, `slack`, `schedule`, `rules`, `rollout`, `prometheus`, `forks`, `dashboard`"
    );
}

#[test]
fn unknown_key_in_the_second_environment() {
    let text = "\
repositories:
  - github: acme/eth-infra
    environments:
      - name: hoodi
        paths: [\"envs/hoodi/**\"]
      - name: mainnet
        paths: [\"envs/mainnet/**\"]
        netwrk: mainnet
";
    assert_eq!(
        one_error(text),
        "upkeep.yml:8:9: unknown field `netwrk`, expected one of `name`, `paths`, `network`, `wave`, `soak`, `windows`, `timezone`, `automerge`, `live`, `health`; did you mean `network`?"
    );
}

#[test]
fn unknown_key_in_an_upstream_image() {
    let text = "\
upstreams:
  - github: acme/custom-node
    images:
      - name: ghcr.io/acme/custom-node
        tga: \"v{version}\"
";
    assert_eq!(
        one_error(text),
        "upkeep.yml:5:9: unknown field `tga`, expected one of `name`, `tag`, `variants`, `minor_tags`; did you mean `tag`?"
    );
}

#[test]
fn a_secret_in_the_file_is_refused_with_a_hint() {
    let e = one_error("slack:\n  webhook_url: https://hooks.slack.com/x\n");
    assert!(e.starts_with("upkeep.yml:2:3: unknown field `webhook_url`, expected one of `digest`, `alerts`, `reminders`, `routes`; secrets are read only from environment variables"), "{e}");
    assert!(e.contains("UPKEEP_SLACK_WEBHOOK_URL"), "{e}");
}

#[test]
fn wrong_type_points_at_the_value() {
    let text = "\
repositories:
  - github: acme/eth-infra
    environments:
      - name: hoodi
        paths: [\"envs/hoodi/**\"]
        wave: many
";
    assert_eq!(
        one_error(text),
        "upkeep.yml:6:15: invalid type: string \"many\", expected a non-negative integer"
    );
    assert_eq!(
        one_error("registries:\n  require_published: maybe\n"),
        "upkeep.yml:2:22: invalid type: string \"maybe\", expected a boolean"
    );
    assert_eq!(
        one_error("pull_requests:\n  labels: upkeep\n"),
        "upkeep.yml:2:11: invalid type: string \"upkeep\", expected a sequence"
    );
}

#[test]
fn missing_required_field_points_at_the_item() {
    let text = "\
upstreams:
  - versioning: semver
";
    assert_eq!(one_error(text), "upkeep.yml:2:5: missing field `github`");
}

#[test]
fn invalid_group_uses_serde_wording() {
    assert_eq!(
        one_error("pull_requests:\n  group: team\n"),
        "upkeep.yml:2:10: unknown variant `team`, expected one of `upstream`, `environment`, `wave`"
    );
}

#[test]
fn invalid_duration() {
    assert_eq!(
        one_error("pull_requests:\n  minimum_release_age: 2x\n"),
        "upkeep.yml:2:24: invalid duration `2x`, expected a duration such as `90s`, `30m`, `2h`, `1d`, `1w`, `1h30m` or `0`"
    );
}

#[test]
fn durations_in_their_written_forms() {
    for (text, secs) in [
        ("90s", 90),
        ("1h30m", 5400),
        ("1w", 604_800),
        ("0", 0),
        ("\"0\"", 0),
    ] {
        let s = load(
            &format!("pull_requests:\n  minimum_release_age: {text}\n"),
            &[],
        )
        .unwrap();
        assert_eq!(
            s.pull_requests.minimum_release_age,
            Duration::from_secs(secs),
            "{text}"
        );
    }
}

#[test]
fn invalid_cron() {
    let e = one_error("slack:\n  digest: \"0 8 * * Mon-Fri\"\n");
    assert!(
        e.starts_with("upkeep.yml:2:11: invalid cron expression `0 8 * * Mon-Fri`: 5 fields, expected a cron expression with seconds first"),
        "{e}"
    );
    assert!(
        e.ends_with("add the seconds field first, e.g. `0 0 8 * * Mon-Fri`"),
        "{e}"
    );
    let e = one_error("schedule:\n  poll: \"0 0 25 * * *\"\n");
    assert!(
        e.starts_with("upkeep.yml:2:9: invalid cron expression `0 0 25 * * *`: "),
        "{e}"
    );
}

#[test]
fn invalid_glob() {
    let text = "\
repositories:
  - github: acme/eth-infra
    environments:
      - name: hoodi
        paths:
          - \"envs/hoodi/**\"
          - \"envs/[hoodi/**\"
";
    assert_eq!(
        one_error(text),
        "upkeep.yml:7:13: invalid glob `envs/[hoodi/**`: unclosed character class; missing ']'"
    );
}

#[test]
fn invalid_regex_versioning() {
    let text = "\
upstreams:
  - github: acme/custom-node
    versioning: 'regex:^v(?<major>\\d+'
";
    let e = one_error(text);
    assert!(
        e.starts_with("upkeep.yml:3:17: invalid `regex:` versioning pattern `^v(?<major>\\d+`: "),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    assert_eq!(
        one_error("upstreams:\n  - github: acme/n\n    versioning: semvr\n"),
        "upkeep.yml:3:17: unknown versioning `semvr`, expected `semver`, `calver` or `regex:<pattern>`"
    );
}

#[test]
fn tag_template_without_version() {
    let text = "\
upstreams:
  - github: acme/custom-node
    images:
      - name: ghcr.io/acme/custom-node
        tag: \"v1\"
";
    assert_eq!(
        one_error(text),
        "upkeep.yml:5:14: invalid tag template `v1`: it has no {version} placeholder; expected exactly one `{version}`, e.g. `v{version}`"
    );
}

#[test]
fn duplicate_environment_names() {
    let text = "\
repositories:
  - github: acme/eth-infra
    environments:
      - name: hoodi
        paths: [\"envs/a/**\"]
      - name: hoodi
        paths: [\"envs/b/**\"]
";
    assert_eq!(
        one_error(text),
        "upkeep.yml:6:15: duplicate environment name `hoodi`: names must be unique within a repository (first at line 4, column 15)"
    );
}

#[test]
fn github_and_path_together() {
    let text = "\
repositories:
  - github: acme/eth-infra
    path: ./deploy
";
    assert_eq!(
        one_error(text),
        "upkeep.yml:3:5: a repository has either `github` or `path`, not both"
    );
    assert_eq!(
        one_error("repositories:\n  - branch: main\n"),
        "upkeep.yml:2:5: a repository needs `github: OWNER/NAME` or `path: DIR`"
    );
}

#[test]
fn every_validation_error_is_reported_in_file_order() {
    let text = "\
repositories:
  - github: not-a-repo
    environments:
      - name: x
        paths: [\"a/**\"]
        wave: 0
pull_requests:
  minimum_release_age: soon
schedule:
  poll: \"every minute\"
";
    let errors = errors(text, &[]);
    let positions: Vec<&str> = errors
        .iter()
        .map(|e| e.split(": ").next().unwrap())
        .collect();
    assert_eq!(
        positions,
        [
            "upkeep.yml:2:13",
            "upkeep.yml:6:15",
            "upkeep.yml:8:24",
            "upkeep.yml:10:9"
        ],
        "{errors:#?}"
    );
}

#[test]
fn serde_errors_of_different_sections_are_all_reported() {
    let text = "\
repositories:
  - github: acme/a
    brnch: main
  - github: acme/b
    environments: 5
pull_requests:
  group: all
";
    let errors = errors(text, &[]);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].starts_with("upkeep.yml:3:5: unknown field `brnch`"),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with("upkeep.yml:5:19: invalid type: "),
        "{errors:#?}"
    );
    assert!(
        errors[2].starts_with("upkeep.yml:7:10: unknown variant `all`"),
        "{errors:#?}"
    );
}

#[test]
fn environment_overrides() {
    let s = load(
        "pull_requests:\n  group: upstream\n  minimum_release_age: 2h\n",
        &[
            ("UPKEEP_PULL_REQUESTS__GROUP", "wave"),
            ("UPKEEP_PULL_REQUESTS__MINIMUM_RELEASE_AGE", "4h"),
            ("UPKEEP_PULL_REQUESTS__LABELS", "upkeep, dependencies"),
            ("UPKEEP_REGISTRIES__REQUIRE_PUBLISHED", "false"),
            ("UPKEEP_SCHEDULE__POLL", "0 0 * * * *"),
        ],
    )
    .unwrap();
    assert_eq!(s.pull_requests.group, Group::Wave);
    assert_eq!(
        s.pull_requests.minimum_release_age,
        Duration::from_secs(4 * 3600)
    );
    assert_eq!(s.pull_requests.labels, ["upkeep", "dependencies"]);
    assert!(!s.registries.require_published);
    assert_eq!(s.schedule.poll.as_str(), "0 0 * * * *");
    // an empty list override clears the list
    let s = load("", &[("UPKEEP_PULL_REQUESTS__REVIEWERS", "")]).unwrap();
    assert!(s.pull_requests.reviewers.is_empty());
}

#[test]
fn non_settings_variables_are_ignored() {
    let s = load(
        "",
        &[
            ("UPKEEP_GITHUB_TOKEN", "ghp_secret"),
            ("UPKEEP_GITHUB_API_URL", "http://127.0.0.1:1"),
            ("UPKEEP_GITHUB_APP_ID", "1"),
            (
                "UPKEEP_GITHUB_APP_PRIVATE_KEY",
                "-----BEGIN KEY-----\n__x__\n",
            ),
            ("UPKEEP_GITHUB_WEBHOOK_SECRET", "s"),
            ("UPKEEP_SLACK_WEBHOOK_URL", "https://hooks.slack.com/x"),
            ("UPKEEP_STATE", "postgres://u@h/db"),
            ("UPKEEP_LOG", "debug"),
            ("GITHUB_TOKEN", "ghp_other"),
            ("PATH", "/usr/bin"),
        ],
    )
    .unwrap();
    assert!(s.repositories.is_empty());
}

#[test]
fn unknown_environment_override_names_the_variable() {
    assert_eq!(
        errors("", &[("UPKEEP_PULL_REQUESTS__COLOUR", "x")]),
        [
            "UPKEEP_PULL_REQUESTS__COLOUR: unknown field `colour`, expected one of `labels`, `reviewers`, `group`, `minimum_release_age`, `assignees`, `author`, `ignore`, `groups`, `commit_mode`, `max_open`, `max_per_hour`"
        ]
    );
    assert_eq!(
        errors(
            "pull_requests:\n  group: wave\n",
            &[("UPKEEP_PULL_REQUESTS__GROUP", "colour")]
        ),
        [
            "UPKEEP_PULL_REQUESTS__GROUP: unknown variant `colour`, expected one of `upstream`, `environment`, `wave`"
        ]
    );
    assert_eq!(
        errors("", &[("UPKEEP_PULL_REQUESTS__MINIMUM_RELEASE_AGE", "soon")]),
        [
            "UPKEEP_PULL_REQUESTS__MINIMUM_RELEASE_AGE: invalid duration `soon`, expected a duration such as `90s`, `30m`, `2h`, `1d`, `1w`, `1h30m` or `0`"
        ]
    );
    assert_eq!(
        errors("", &[("UPKEEP_REGISTRIES__REQUIRE_PUBLISHED", "maybe")]),
        [
            "UPKEEP_REGISTRIES__REQUIRE_PUBLISHED: invalid type: string \"maybe\", expected a boolean"
        ]
    );
    // a mirror host cannot be written in a variable name (no dots)
    assert_eq!(
        errors(
            "",
            &[("UPKEEP_REGISTRIES__MIRRORS__GHCR_IO", "https://m.internal")]
        ),
        [
            "UPKEEP_REGISTRIES__MIRRORS__GHCR_IO: invalid registry host `ghcr_io`: expected a host name such as `docker.io` or `ghcr.io`"
        ]
    );
    let e = errors("", &[("UPKEEP_GITHUB__TOKEN", "x")]);
    assert!(
        e[0].starts_with("UPKEEP_GITHUB__TOKEN: unknown field `github`, expected one of"),
        "{e:?}"
    );
    assert_eq!(
        errors("", &[("UPKEEP_SLACK__DIGEST.X", "x")]),
        [
            "UPKEEP_SLACK__DIGEST.X: not a settings override: expected `UPKEEP_<SECTION>__<KEY>` with letters, digits and `_`"
        ]
    );
}

#[test]
fn file_and_environment_errors_are_reported_together() {
    let errors = errors(
        "pull_requests:\n  colour: red\n",
        &[("UPKEEP_SLACK__DIGEST", "daily")],
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("upkeep.yml:2:3: unknown field `colour`"),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with("UPKEEP_SLACK__DIGEST: "),
        "{errors:#?}"
    );
}

#[test]
fn yaml_syntax_error_names_line_and_column() {
    let e = one_error("pull_requests:\n  labels: [upkeep\n  group: wave\n");
    assert!(e.starts_with("upkeep.yml:3:"), "{e}");
    assert!(e.contains("invalid YAML: "), "{e}");
    assert_eq!(
        one_error("pull_requests:\n  group: wave\n bad: indent\n"),
        "upkeep.yml:3:5: invalid YAML: while parsing a block mapping, did not find expected key"
    );
    assert_eq!(
        one_error("slack:\n  digest: \"0 0 8 * * *\n"),
        "upkeep.yml:2:11: invalid YAML: while scanning a quoted scalar, found unexpected end of stream"
    );
}

#[test]
fn a_document_that_is_not_a_mapping() {
    assert_eq!(
        one_error("- repositories\n"),
        "upkeep.yml:1:1: expected a mapping of sections (`repositories`, `upstreams`, `pull_requests`, `registries`, `slack`, `schedule`, `rules`, `rollout`, `prometheus`, `forks`, `dashboard`), found a sequence"
    );
    assert_eq!(
        one_error("slack: {}\n---\nschedule: {}\n"),
        "upkeep.yml:3:1: expected one YAML document, found 2"
    );
}

#[test]
fn crlf_and_bom_files_load_with_true_positions() {
    let crlf = "pull_requests:\r\n  group: wave\r\n  minimum_release_age: 1h30m\r\n";
    let s = load(crlf, &[]).unwrap();
    assert_eq!(s.pull_requests.group, Group::Wave);
    assert_eq!(
        s.pull_requests.minimum_release_age,
        Duration::from_secs(5400)
    );
    let bom = "\u{feff}slack:\n  digest: \"0 0 8 * * Mon-Fri\"\n";
    assert!(load(bom, &[]).unwrap().slack.digest.is_some());
    assert_eq!(
        one_error("\u{feff}colour: red\r\n"),
        "upkeep.yml:1:1: unknown field `colour`, expected one of `repositories`, `upstreams`, `pull_requests`, `registries`, `slack`, `schedule`, `rules`, `rollout`, `prometheus`, `forks`, `dashboard`"
    );
    assert_eq!(
        one_error("\u{feff}pull_requests:\r\n  group: wave\r\n  minimum_release_age: 2x\r\n"),
        "upkeep.yml:3:24: invalid duration `2x`, expected a duration such as `90s`, `30m`, `2h`, `1d`, `1w`, `1h30m` or `0`"
    );
}

#[test]
fn files_on_disk_resolve_paths_and_name_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("conf");
    std::fs::create_dir(&sub).unwrap();
    let file = sub.join("upkeep.yml");
    std::fs::write(
        &file,
        "repositories:\n  - path: ../deploy\n  - path: /srv/infra\n",
    )
    .unwrap();
    let s = settings::load(Some(&file), &HashMap::new()).unwrap();
    assert_eq!(
        s.repositories[0].source,
        RepoSource::Path(sub.join("../deploy"))
    );
    assert_eq!(
        s.repositories[1].source,
        RepoSource::Path("/srv/infra".into())
    );

    std::fs::write(&file, "repositories:\n  - path: ./x\n    branchh: main\n").unwrap();
    let err = settings::load(Some(&file), &HashMap::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:5: unknown field `branchh`, expected one of `github`, `path`, `branch`, `environments`, `devnets`, `pull_requests`, `rollout`, `dashboard`; did you mean `branch`?",
            file.display()
        )
    );

    std::fs::write(&file, b"slack:\n  digest: \"\xff\"\n").unwrap();
    let err = settings::load(Some(&file), &HashMap::new()).unwrap_err();
    assert!(err.0[0].message.starts_with("not UTF-8 text"), "{err}");
}

#[test]
fn schema_describes_every_key_and_refuses_unknown_ones() {
    let schema = settings::schema();
    assert_eq!(schema["additionalProperties"], false);
    let top: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for section in [
        "repositories",
        "upstreams",
        "pull_requests",
        "registries",
        "slack",
        "schedule",
    ] {
        assert!(top.contains(&section), "{section}");
    }
    let defs = schema["$defs"].as_object().unwrap();
    for (name, def) in defs {
        if let Some(props) = def.get("properties").and_then(|p| p.as_object()) {
            assert_eq!(def["additionalProperties"], false, "{name}");
            for (key, prop) in props {
                assert!(
                    prop.get("description").is_some(),
                    "{name}.{key} has no description"
                );
            }
        }
    }
    // keys with a default are not required
    for name in [
        "RawPullRequests",
        "RawSlack",
        "RawSchedule",
        "RawRegistries",
        "RawRepository",
    ] {
        assert!(
            defs[name].get("required").is_none(),
            "{name}: {}",
            defs[name]
        );
    }
    assert_eq!(
        defs["RawEnvironment"]["required"],
        serde_json::json!(["name", "paths"])
    );
    let age = &defs["RawPullRequests"]["properties"]["minimum_release_age"];
    assert!(age.to_string().contains("pattern"), "{age}");
    let digest = &defs["RawSlack"]["properties"]["digest"];
    assert!(
        digest["description"]
            .as_str()
            .unwrap()
            .contains("seconds first"),
        "{digest}"
    );
}

#[test]
fn pull_request_ignores_authors_and_assignees_are_validated() {
    assert_eq!(
        one_error(
            "pull_requests:\n  ignore:\n    - upstream: sigp/lighthouse\n      image: sigp/lighthouse\n"
        ),
        "upkeep.yml:3:7: an ignore rule names exactly one of `upstream` and `image`"
    );
    assert!(
        one_error("pull_requests:\n  ignore:\n    - image: nginx\n      versions: [\"v[1\"]\n")
            .starts_with("upkeep.yml:4:18: invalid version glob `v[1`"),
    );
    assert_eq!(
        one_error("pull_requests:\n  author: {name: Bot, email: not-an-address}\n"),
        "upkeep.yml:2:30: `not-an-address` is not an e-mail address"
    );
    let s = load(
        "pull_requests:\n  assignees: [bob]\n  ignore:\n    - image: sigp/lighthouse\n      versions: [\"v8.*\"]\n",
        &[],
    )
    .unwrap();
    assert_eq!(s.pull_requests.assignees, ["bob"]);
    let rule = &s.pull_requests.ignore[0];
    assert!(rule.matches("sigp/lighthouse", "docker.io/sigp/lighthouse", "v8.0.1"));
    assert!(!rule.matches("sigp/lighthouse", "sigp/lighthouse", "v7.0.0"));
}
