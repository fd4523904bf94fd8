//! Per-repository settings: `.github/upkeep.yml` on a GitHub repository's
//! base branch.
//!
//! The file holds the keys of one `repositories[]` entry of the settings
//! (`branch`, `environments`, ...), at its top level, checked with the same
//! rules and reported with the same positioned messages
//! (`.github/upkeep.yml:LINE:COL: message`). The repository is the one the
//! file is in, so `path:` is refused and `github:` is optional: when given
//! it must name this repository (case ignored), so that an entry copied from
//! the settings verbatim is accepted.
//!
//! Merging is key by key: a key the file sets replaces the settings entry's
//! (`environments` as a whole list, `pull_requests.labels` as a whole
//! list, ...), a key it leaves out keeps the entry's value (the org-wide
//! default). How the result combines with the global `pull_requests` and
//! `rollout` is [`Repository::pull_requests`]'s and
//! [`Repository::rollout`]'s business.
//!
//! The file holds only what the repository's owners decide. Operator
//! settings (other repositories, upstreams, registries, Slack, Prometheus,
//! the store, schedules, rule files, commit author and traffic limits) and
//! anything that looks like a secret are refused with a message saying
//! why: whoever can push to the repository must not be able to redirect
//! upkeep's credentials or other repositories. Nothing here reads files or
//! the network.

use super::error::{SettingsError, SettingsErrors};
use super::issue::{Issue, Seg, Target, with_suggestion};
use super::load::find;
use super::raw::{RawRepository, RawSettings};
use super::types::Repository;
use super::validate::validate;
use crate::domain::yaml::{self, Node};

/// Where the per-repository file is, relative to the repository root.
pub const REPO_FILE: &str = ".github/upkeep.yml";

/// Reads the per-repository file `text` (named `file` in errors) of the
/// GitHub repository `owner/name`, and merges it over `base`, that
/// repository's entry in the settings (or the defaults). Every problem in
/// the file is reported, each with its line and column.
pub fn load_repo_file(
    text: &str,
    file: &str,
    owner: &str,
    name: &str,
    base: &Repository,
) -> Result<Repository, SettingsErrors> {
    let doc = yaml::parse_one(file, text)?;
    let root = match &doc {
        None => return Ok(base.clone()),
        Some(node) if yaml::is_null(node) => return Ok(base.clone()),
        Some(node) if node.map().is_none() => {
            return Err(SettingsError::at_node(
                file,
                node,
                "expected a mapping with the keys of a `repositories[]` entry (`branch`, `environments`)",
            )
            .into());
        }
        Some(node) => node,
    };
    let this = format!("{owner}/{name}");
    let refused = refused_keys(root, &this);
    if !refused.is_empty() {
        return Err(located(file, root, &refused));
    }
    let mut raw: RawRepository = yaml::from_node(file, root).map_err(|mut e| {
        e.message = with_suggestion(std::mem::take(&mut e.message));
        SettingsErrors::from(e)
    })?;
    let mut issues = Vec::new();
    if raw.path.is_some() {
        issues.push(Issue::key(
            vec![Seg::Key("path".into())],
            format!(
                "`path` is not allowed in {REPO_FILE}: this file configures the repository it is in ({this})"
            ),
        ));
    }
    if let Some(github) = &raw.github
        && !github.eq_ignore_ascii_case(&this)
    {
        issues.push(Issue::value(
            vec![Seg::Key("github".into())],
            format!(
                "`github: {github}` names another repository: {REPO_FILE} configures the repository it is in ({this}); remove the key"
            ),
        ));
    }
    raw.github = Some(this);
    raw.path = None;
    // the entry's devnets count for the file's environments
    let mut checked = raw.clone();
    if checked.devnets.is_none() {
        checked.devnets = base.overrides.devnets.clone();
    }
    let settings = RawSettings {
        repositories: Some(vec![checked]),
        ..RawSettings::default()
    };
    let (validated, found) = validate(&settings, None);
    // Paths of the validated entry start with `repositories[0]`.
    let strip = |path: &[Seg]| path.get(2..).unwrap_or_default().to_vec();
    issues.extend(found.into_iter().map(|i| Issue {
        path: strip(&i.path),
        first: i.first.as_deref().map(strip),
        ..i
    }));
    if !issues.is_empty() {
        return Err(located(file, root, &issues));
    }
    let Some(own) = validated.repositories.into_iter().next() else {
        return Err(SettingsError::whole(file, "no repository entry").into());
    };
    let mut merged = Repository {
        branch: if raw.branch.is_some() {
            own.branch
        } else {
            base.branch.clone()
        },
        environments: if raw.environments.is_some() {
            own.environments
        } else {
            base.environments.clone()
        },
        overrides: base.overrides.over(&own.overrides),
        dashboard: raw.dashboard.or(base.dashboard),
        ..base.clone()
    };
    merged.inherit();
    Ok(merged)
}

/// Operator-only sections: what they hold, for the message.
const OPERATOR_SECTIONS: &[(&str, &str)] = &[
    ("upstreams", "the upstreams every repository tracks"),
    ("registries", "registry mirrors and credentials"),
    ("slack", "Slack webhooks and routes"),
    ("schedule", "when upkeep polls"),
    ("rules", "rule files on upkeep's host"),
    ("prometheus", "the Prometheus server and its credentials"),
    ("forks", "fork facts for every repository"),
    ("store", "upkeep's state store"),
];

/// Operator-only keys of `pull_requests` and `rollout`.
const OPERATOR_KEYS: &[(&str, &str)] = &[
    ("pull_requests", "author"),
    ("pull_requests", "commit_mode"),
    ("pull_requests", "max_open"),
    ("pull_requests", "max_per_hour"),
    ("pull_requests", "minimum_release_age"),
    ("rollout", "minimum_soak"),
    ("rollout", "deadline_margin"),
    ("rollout", "expedite"),
    ("rollout", "converge"),
];

/// Keys of the file that only upkeep's operator may set, each with why.
fn refused_keys(root: &Node, this: &str) -> Vec<Issue> {
    let mut out = Vec::new();
    let Some(entries) = root.map() else {
        return out;
    };
    for (key, value) in entries {
        let Some(k) = key.str() else { continue };
        let at = vec![Seg::Key(k.to_string())];
        if looks_secret(k) {
            out.push(Issue::key(at, secret_message(k)));
        } else if k == "repositories" {
            out.push(Issue::key(
                at,
                format!("`repositories` is not allowed in {REPO_FILE}: this file configures only the repository it is in ({this}); other repositories are configured in upkeep's own settings"),
            ));
        } else if let Some((_, what)) = OPERATOR_SECTIONS.iter().find(|(s, _)| *s == k) {
            out.push(Issue::key(
                at,
                format!("`{k}` is not allowed in {REPO_FILE}: it sets {what}, which only upkeep's operator configures (in upkeep.yml and upkeep's environment), never a repository"),
            ));
        } else if let Some(inner) = value.map() {
            for (sub, _) in inner {
                let Some(s) = sub.str() else { continue };
                let at = vec![Seg::Key(k.to_string()), Seg::Key(s.to_string())];
                if looks_secret(s) {
                    out.push(Issue::key(at, secret_message(s)));
                } else if OPERATOR_KEYS.contains(&(k, s)) {
                    out.push(Issue::key(
                        at,
                        format!("`{k}.{s}` is not allowed in {REPO_FILE}: it is an operator setting, the same for every repository (set it in upkeep.yml)"),
                    ));
                }
            }
        }
    }
    out
}

fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "private_key",
        "webhook",
        "credential",
        "api_key",
    ]
    .iter()
    .any(|s| k.contains(s))
}

fn secret_message(key: &str) -> String {
    format!(
        "`{key}` looks like a secret, and secrets are never read from {REPO_FILE}: anyone who can push to the repository could read or change it; upkeep reads secrets only from its operator's environment"
    )
}

/// The issues with their positions in the file, in file order.
fn located(file: &str, root: &Node, issues: &[Issue]) -> SettingsErrors {
    let mut errors: Vec<SettingsError> = issues
        .iter()
        .map(|issue| {
            let node = find(root, &issue.path, issue.target);
            let mut message = issue.message.clone();
            if let Some(first) = &issue.first {
                let f = find(root, first, Target::Value);
                message.push_str(&format!(" (first at line {}, column {})", f.line, f.column));
            }
            SettingsError::at_node(file, node, message)
        })
        .collect();
    errors.sort_by_key(|e| (e.line, e.column));
    errors.dedup();
    SettingsErrors(errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::settings::{Environment, PullRequests, RepoOverrides, RepoSource};

    fn base() -> Repository {
        Repository {
            source: RepoSource::GitHub {
                owner: "acme".into(),
                name: "infra".into(),
            },
            branch: Some("deploy".into()),
            environments: vec![Environment::new("all", &["**"], None, 1).unwrap()],
            overrides: RepoOverrides {
                labels: Some(vec!["org".into()]),
                reviewers: Some(vec!["acme/ops".into()]),
                devnets: Some(vec!["devnet-7".into()]),
                ..RepoOverrides::default()
            },
            dashboard: None,
        }
    }

    fn load(text: &str) -> Result<Repository, Vec<String>> {
        load_repo_file(text, REPO_FILE, "acme", "infra", &base())
            .map_err(|e| e.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn keys_override_the_settings_entry() {
        let r = load("environments:\n  - name: hoodi\n    paths: [envs/hoodi/**]\n    network: hoodi\n    wave: 2\n  - name: d\n    paths: [envs/d/**]\n    network: devnet-7\n").unwrap();
        assert_eq!(r.branch.as_deref(), Some("deploy"));
        assert_eq!(r.environments.len(), 2);
        assert_eq!(r.environments[0].name, "hoodi");
        assert_eq!(r.environments[0].wave, 2);
        assert_eq!(r.source, base().source);
        let r = load("branch: main\n").unwrap();
        assert_eq!(r.branch.as_deref(), Some("main"));
        assert_eq!(r.environments[0].name, "all");
        for empty in ["", "~\n", "# nothing\n"] {
            assert_eq!(load(empty).unwrap().environments[0].name, "all");
        }
        // an entry copied from the settings is accepted
        assert!(load("github: ACME/infra\nbranch: main\n").is_ok());
    }

    #[test]
    fn problems_are_positioned() {
        let cases = [
            (
                "branch: main\nlabels: [x]\n",
                "2:1: unknown field `labels`, expected one of `github`, `path`, `branch`, `environments`, `devnets`, `pull_requests`, `rollout`, `dashboard`",
            ),
            (
                "environments:\n  - name: a\n    paths: [\"envs/[a\"]\n",
                "3:13: invalid glob `envs/[a`: unclosed character class; missing ']'",
            ),
            ("path: .\n", "1:1: `path` is not allowed"),
            (
                "github: other/repo\n",
                "1:9: `github: other/repo` names another repository",
            ),
            (
                "environments:\n  - name: a\n    paths: [x]\n  - name: a\n    paths: [y]\n",
                "4:11: duplicate environment name `a`",
            ),
            ("[1]\n", "1:1: expected a mapping"),
            (
                "pull_requests:\n  lables: [x]\n",
                "2:3: unknown field `lables`, expected one of `labels`, `reviewers`, `assignees`, `ignore`, `group`, `groups`, `automerge`; did you mean `labels`?",
            ),
            (
                "environments:\n  - name: a\n    paths: [x]\n    network: sepolai\n",
                "4:14: unknown network `sepolai`: did you mean `sepolia`?",
            ),
            ("a: [\n", "2:1: invalid YAML"),
        ];
        for (text, want) in cases {
            let e = load(text).unwrap_err();
            assert_eq!(e.len(), 1, "{e:?}");
            assert!(
                e[0].starts_with(&format!("{REPO_FILE}:{want}")),
                "{text:?}: {e:?}"
            );
        }
    }

    #[test]
    fn operator_settings_and_secrets_are_refused_with_why() {
        let e = load(
            "branch: main\nslack:\n  routes: []\nrepositories: []\ngithub_token: x\npull_requests:\n  max_open: 50\n  labels: [x]\nrollout:\n  expedite: []\nstore: x\n",
        )
        .unwrap_err();
        let want = [
            "2:1: `slack` is not allowed in .github/upkeep.yml: it sets Slack webhooks and routes, which only upkeep's operator configures",
            "4:1: `repositories` is not allowed in .github/upkeep.yml: this file configures only the repository it is in (acme/infra)",
            "5:1: `github_token` looks like a secret, and secrets are never read from .github/upkeep.yml",
            "7:3: `pull_requests.max_open` is not allowed in .github/upkeep.yml: it is an operator setting",
            "10:3: `rollout.expedite` is not allowed in .github/upkeep.yml: it is an operator setting",
            "11:1: `store` is not allowed in .github/upkeep.yml: it sets upkeep's state store",
        ];
        assert_eq!(e.len(), want.len(), "{e:?}");
        for (got, want) in e.iter().zip(want) {
            assert!(got.starts_with(&format!("{REPO_FILE}:{want}")), "{got}");
        }
    }

    #[test]
    fn owner_keys_merge_over_the_entry_key_by_key() {
        let global = PullRequests::default();
        // the file's labels replace the entry's, then add to the global ones;
        // the entry's reviewers stay; the entry's devnets count
        let r = load(
            "pull_requests:\n  labels: [eth]\n  automerge: true\nrollout:\n  soak: 2h\nenvironments:\n  - {name: d, paths: [d/**], network: devnet-7}\n",
        )
        .unwrap();
        let pr = r.pull_requests(&global);
        assert_eq!(pr.labels, ["upkeep", "eth"]);
        assert_eq!(pr.reviewers, ["acme/ops"]);
        assert!(r.environments[0].automerge);
        assert_eq!(
            r.rollout(&Default::default()).soak,
            std::time::Duration::from_secs(7200)
        );
        // a default set in the file reaches the entry's environments
        let r = load("pull_requests:\n  automerge: true\n").unwrap();
        assert!(r.environments[0].automerge);
        assert_eq!(r.pull_requests(&global).labels, ["upkeep", "org"]);
        let r = load("pull_requests:\n  reviewers: []\n").unwrap();
        assert!(r.pull_requests(&global).reviewers.is_empty());
    }
}
