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
//! (`environments` as a whole list), a key it leaves out keeps the entry's
//! value (the org-wide default). Nothing here reads files or the network.

use super::error::{SettingsError, SettingsErrors};
use super::issue::{Issue, Seg, Target};
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
    let mut raw: RawRepository = yaml::from_node(file, root)?;
    let mut issues = Vec::new();
    let this = format!("{owner}/{name}");
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
    let settings = RawSettings {
        repositories: Some(vec![raw.clone()]),
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
    Ok(Repository {
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
        dashboard: raw.dashboard.or(base.dashboard),
        ..base.clone()
    })
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
    use crate::domain::settings::{Environment, RepoSource};

    fn base() -> Repository {
        Repository {
            source: RepoSource::GitHub {
                owner: "acme".into(),
                name: "infra".into(),
            },
            branch: Some("deploy".into()),
            environments: vec![Environment::new("all", &["**"], None, 1).unwrap()],
            dashboard: None,
        }
    }

    fn load(text: &str) -> Result<Repository, Vec<String>> {
        load_repo_file(text, REPO_FILE, "acme", "infra", &base())
            .map_err(|e| e.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn keys_override_the_settings_entry() {
        let r = load("environments:\n  - name: hoodi\n    paths: [envs/hoodi/**]\n    network: hoodi\n    wave: 2\n").unwrap();
        assert_eq!(r.branch.as_deref(), Some("deploy"));
        assert_eq!(r.environments.len(), 1);
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
                "2:1: unknown field `labels`, expected one of `github`, `path`, `branch`, `environments`, `dashboard`",
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
}
