//! Loading: file text + environment overrides -> config -> raw -> settings,
//! and giving every problem its file position or variable name.
//!
//! The `config` crate layers the file and the `UPKEEP_<SECTION>__<KEY>`
//! overrides; the merged tree is what is read. A section (or list item) that
//! fails to read is read again from the positioned tree by the same
//! deserializer as rule and catalog files ([`yaml::de`]), which gives the
//! error its line and column; a problem that comes from an override names the
//! variable. Problems found by `validate` are paths, placed by
//! [`yaml::locate`].

use std::collections::HashMap;
use std::path::Path;

use config::{Config, ConfigError, Environment, File, FileFormat, Source, Value, ValueKind};
use serde::de::DeserializeOwned;

use super::error::{SettingsError, SettingsErrors};
use super::issue::{Dotted, Issue, Seg, Target, secret_hint, unknown_field, with_suggestion};
use super::raw::{ENV_LIST_KEYS, RawSettings, SECTIONS};
use super::types::Settings;
use super::validate::validate;
use crate::domain::yaml::{self, Node};

/// The settings file read when none is named.
pub const DEFAULT_FILE: &str = "upkeep.yml";
/// Environment overrides are `UPKEEP_<SECTION>__<KEY>`.
pub const ENV_PREFIX: &str = "UPKEEP_";
/// Separates the levels of an override's key.
pub const ENV_SEPARATOR: &str = "__";

/// Loads the settings: the file at `path` (or `./upkeep.yml` when `None`, and
/// the defaults when that does not exist), then the `UPKEEP_<SECTION>__<KEY>`
/// overrides found in `env`. A named file that cannot be read is an error.
pub fn load(
    path: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Settings, SettingsErrors> {
    match path {
        Some(p) => {
            let text = read(p)?;
            load_str(&text, &p.display().to_string(), p.parent(), env)
        }
        None => {
            let p = Path::new(DEFAULT_FILE);
            match std::fs::metadata(p) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    load_str("", DEFAULT_FILE, None, env)
                }
                _ => {
                    let text = read(p)?;
                    load_str(&text, DEFAULT_FILE, p.parent(), env)
                }
            }
        }
    }
}

fn read(path: &Path) -> Result<String, SettingsErrors> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| SettingsError::whole(&file, format!("cannot read the settings file: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        SettingsError::whole(
            &file,
            format!(
                "not UTF-8 text (invalid byte at offset {}): expected a YAML file",
                e.utf8_error().valid_up_to()
            ),
        )
        .into()
    })
}

/// Loads settings from text. `file` names it in errors; relative repository
/// `path:`s are resolved against `base_dir` when given. `env` is the whole
/// environment: only `UPKEEP_<SECTION>__<KEY>` variables are read.
pub fn load_str(
    text: &str,
    file: &str,
    base_dir: Option<&Path>,
    env: &HashMap<String, String>,
) -> Result<Settings, SettingsErrors> {
    let mut errors = Vec::new();
    let overrides = overrides(env, &mut errors);

    // Our own positioned tree first: syntax errors and the shape of the
    // document, with positions the config crate does not keep.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = yaml::parse_one(file, text)?;
    let root = match &doc {
        Some(node) if yaml::is_null(node) => None,
        Some(node) if node.map().is_none() => {
            let found = if node.seq().is_some() {
                "a sequence"
            } else {
                "a scalar"
            };
            return Err(SettingsError::at(
                file,
                node.line,
                node.column,
                format!(
                    "expected a mapping of sections ({}), found {found}",
                    backticked(SECTIONS)
                ),
            )
            .into());
        }
        other => other.as_ref(),
    };

    let mut builder = Config::builder().add_source(File::from_str(
        if root.is_some() { body } else { "" },
        FileFormat::Yaml,
    ));
    let mut scalars = config::Map::new();
    for o in &overrides {
        let key = o.path.join(".");
        if ENV_LIST_KEYS.iter().any(|k| k.iter().eq(o.path.iter())) {
            let items: Vec<String> = o
                .value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            builder = match builder.set_override(&key, items) {
                Ok(b) => b,
                Err(e) => return Err(SettingsError::whole(&o.var, e.to_string()).into()),
            };
        } else {
            scalars.insert(o.var[ENV_PREFIX.len()..].to_string(), o.value.clone());
        }
    }
    builder = builder.add_source(
        Environment::default()
            .separator(ENV_SEPARATOR)
            .source(Some(scalars)),
    );
    let merged = builder
        .build()
        .and_then(|c| c.collect())
        .map_err(|e| SettingsError::whole(file, e.to_string()))?;

    // Sections (or list sections with an item) that failed to deserialize
    // are left out of validation: the others are still checked, so one
    // report covers the whole file.
    let mut reader = Reader {
        file,
        root,
        overrides: &overrides,
        errors: Vec::new(),
        issues: Vec::new(),
    };
    let raw = reader.sections(merged);
    let (settings, found) = validate(&raw, base_dir);
    let Reader {
        errors: read_errors,
        mut issues,
        ..
    } = reader;
    errors.extend(read_errors);
    if issues.is_empty() && found.is_empty() && errors.is_empty() {
        return Ok(settings);
    }
    issues.extend(found);
    errors.extend(issues.iter().map(|i| locate(i, file, root, &overrides)));
    errors.sort_by_key(|e| (e.file != file, e.line.unwrap_or(0), e.column.unwrap_or(0)));
    errors.dedup();
    Err(SettingsErrors(errors))
}

/// A `UPKEEP_<SECTION>__<KEY>` variable.
#[derive(Debug)]
struct Override {
    var: String,
    /// Lowercased key path, as the config crate reads it.
    path: Vec<String>,
    value: String,
}

/// The settings overrides among the environment: `UPKEEP_` followed by a key
/// with at least one `__`. Others sharing the prefix (`UPKEEP_GITHUB_TOKEN`,
/// `UPKEEP_STATE`, ...) are not settings and are ignored.
fn overrides(env: &HashMap<String, String>, errors: &mut Vec<SettingsError>) -> Vec<Override> {
    let mut out = Vec::new();
    for (var, value) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if !rest.contains(ENV_SEPARATOR) {
            continue;
        }
        let path: Vec<String> = rest
            .split(ENV_SEPARATOR)
            .map(str::to_ascii_lowercase)
            .collect();
        let valid = path.iter().all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        if !valid {
            errors.push(SettingsError::whole(
                var,
                "not a settings override: expected `UPKEEP_<SECTION>__<KEY>` with letters, digits and `_`",
            ));
            continue;
        }
        out.push(Override {
            var: var.clone(),
            path,
            value: value.clone(),
        });
    }
    out.sort_by(|a, b| a.var.cmp(&b.var));
    out
}

/// Reads the merged tree section by section, and each item of a list
/// section on its own, so that one report holds a problem of every section.
struct Reader<'a> {
    file: &'a str,
    root: Option<&'a Node>,
    overrides: &'a [Override],
    /// Problems located by the positioned tree's deserializer.
    errors: Vec<SettingsError>,
    /// Problems still to be located (overrides, or not found in the tree).
    issues: Vec<Issue>,
}

impl Reader<'_> {
    fn sections(&mut self, merged: config::Map<String, Value>) -> RawSettings {
        let mut raw = RawSettings::default();
        let mut entries: Vec<(String, Value)> = merged.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, value) in entries {
            let at = vec![Seg::Key(name.clone())];
            match name.as_str() {
                "repositories" => raw.repositories = self.list(value, &at),
                "upstreams" => raw.upstreams = self.list(value, &at),
                "pull_requests" => raw.pull_requests = self.one(value, &at).flatten(),
                "registries" => raw.registries = self.one(value, &at).flatten(),
                "slack" => raw.slack = self.one(value, &at).flatten(),
                "schedule" => raw.schedule = self.one(value, &at).flatten(),
                "rules" => raw.rules = self.one(value, &at).flatten(),
                "rollout" => raw.rollout = self.one(value, &at).flatten(),
                "prometheus" => raw.prometheus = self.one(value, &at).flatten(),
                "forks" => raw.forks = self.one(value, &at).flatten(),
                "dashboard" => raw.dashboard = self.one(value, &at).flatten(),
                _ => self
                    .issues
                    .push(Issue::key(at, unknown_field(&name, SECTIONS))),
            }
        }
        raw
    }

    /// Reads one value of the merged tree at `at`. When it fails and no
    /// override is involved, the file's node at `at` is read again by the
    /// positioned deserializer, for the error's line and column.
    fn one<T: DeserializeOwned>(&mut self, value: Value, at: &[Seg]) -> Option<T> {
        let e = match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        let issue = issue(at, e.path(), config_message(e.inner()));
        if !self.overridden(&issue.path)
            && let Some(located) = self.read_tree::<T>(at)
        {
            self.errors.push(located);
        } else {
            self.issues.push(issue);
        }
        None
    }

    /// A list section, item by item (a problem in each item is reported);
    /// `None` when absent, null, or when an item failed.
    fn list<T: DeserializeOwned>(&mut self, value: Value, at: &[Seg]) -> Option<Vec<T>> {
        match value.kind {
            ValueKind::Nil => None,
            ValueKind::Array(items) => {
                let items: Vec<Option<T>> = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let mut path = at.to_vec();
                        path.push(Seg::Index(i));
                        self.one(item, &path)
                    })
                    .collect();
                items.into_iter().collect()
            }
            _ => self.one::<Vec<T>>(value, at),
        }
    }

    /// The error of reading the file's node at `at` as `T`, unless it reads
    /// (the merged value failed for another reason) or the error is about a
    /// value an override replaced.
    fn read_tree<T: DeserializeOwned>(&self, at: &[Seg]) -> Option<SettingsError> {
        let mut node = self.root?;
        for seg in at {
            node = match seg {
                Seg::Key(k) => &node.entry(k)?.1,
                Seg::Index(i) => node.seq()?.get(*i)?,
            };
        }
        let e =
            serde_path_to_error::deserialize::<_, T>(yaml::de::Deserializer::new(node)).err()?;
        let issue = issue(at, e.path(), e.inner().message.clone());
        if self.overridden(&issue.path) {
            return None;
        }
        let mut located = e.into_inner().at(node).located(self.file);
        located.message = issue.message;
        Some(located)
    }

    fn overridden(&self, path: &[Seg]) -> bool {
        self.overrides.iter().any(|o| related(&o.path, path))
    }
}

/// The issue of a serde error at `path` under `at`: an unknown field is
/// about its key (with a hint when it looks like a secret).
fn issue(at: &[Seg], path: &serde_path_to_error::Path, message: String) -> Issue {
    let mut full = at.to_vec();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => full.push(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => full.push(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    let unknown = message.starts_with("unknown field `");
    let mut message = with_suggestion(message);
    if !unknown {
        return Issue::value(full, message);
    }
    if let Some(Seg::Key(field)) = full.last() {
        message.push_str(secret_hint(field));
    }
    Issue::key(full, message)
}

/// The config crate's error without its own "for key ... in ..." suffixes
/// (we give the position ourselves), in serde's wording where it has one.
fn config_message(e: &ConfigError) -> String {
    match e {
        ConfigError::At { error, .. } => config_message(error),
        ConfigError::Type {
            unexpected,
            expected,
            ..
        } => {
            let found = match unexpected.to_string().as_str() {
                "unit value" => "null (an empty value)".to_string(),
                other => other.to_string(),
            };
            let expected = match *expected {
                "an unsigned 64 bit or less integer" => "a non-negative integer",
                other => other,
            };
            format!("invalid type: {found}, expected {expected}")
        }
        ConfigError::NotFound(key) => {
            let field = key.rsplit(['.', ']']).next().unwrap_or(key);
            format!("missing field `{field}`")
        }
        ConfigError::Message(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Gives an issue its place: the environment variable that set the value,
/// or the file position of the key (unknown fields) or value.
fn locate(issue: &Issue, file: &str, root: Option<&Node>, overrides: &[Override]) -> SettingsError {
    if let Some(o) = overrides.iter().find(|o| related(&o.path, &issue.path)) {
        return SettingsError::whole(&o.var, issue.message.clone());
    }
    let Some(root) = root else {
        return SettingsError::whole(file, format!("{}: {}", Dotted(&issue.path), issue.message));
    };
    let node = find(root, &issue.path, issue.target);
    let mut message = issue.message.clone();
    if let Some(first) = &issue.first {
        let f = find(root, first, Target::Value);
        message.push_str(&format!(" (first at line {}, column {})", f.line, f.column));
    }
    SettingsError::at(file, node.line, node.column, message)
}

/// Whether an override's key path and an issue's path are on one branch:
/// the override set the value the issue is about (or a part of it), or the
/// issue is about a key the override introduced.
fn related(var_path: &[String], issue_path: &[Seg]) -> bool {
    var_path
        .iter()
        .zip(issue_path)
        .all(|(v, s)| matches!(s, Seg::Key(k) if k == v))
}

/// The node at `path` ([`yaml::locate`]: an empty value is pointed at by its
/// key).
pub(super) fn find<'a>(root: &'a Node, path: &[Seg], target: Target) -> &'a Node {
    let path: Vec<yaml::Seg<'_>> = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => yaml::Seg::Key(k),
            Seg::Index(i) => yaml::Seg::Index(*i),
        })
        .collect();
    yaml::locate(root, &path, target)
}

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::settings::raw::RawPullRequests;

    fn errors(text: &str, env: &[(&str, &str)]) -> Vec<String> {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match load_str(text, "s.yml", None, &env) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// What the design relies on: config 0.15 keeps the case of file keys
    /// (environment keys are lowercased), and serde_path_to_error puts the
    /// unknown key itself at the end of the path of a deny_unknown_fields
    /// error.
    #[test]
    fn config_and_serde_path_to_error_behave_as_relied_on() {
        let merged = Config::builder()
            .add_source(File::from_str(
                "Pull_Requests:\n  Colour: red\n",
                FileFormat::Yaml,
            ))
            .build()
            .unwrap()
            .collect()
            .unwrap();
        assert!(merged.contains_key("Pull_Requests"));
        let value = merged.get("Pull_Requests").unwrap().clone();
        let err = serde_path_to_error::deserialize::<_, RawPullRequests>(value).unwrap_err();
        assert_eq!(err.path().to_string(), "Colour");
        assert!(config_message(err.inner()).starts_with("unknown field `Colour`, expected one of"));
        assert_eq!(
            errors("Pull_Requests: {}\n", &[]),
            [
                "s.yml:1:1: unknown field `Pull_Requests`, expected one of `repositories`, `upstreams`, `pull_requests`, `registries`, `slack`, `schedule`, `rules`, `rollout`, `prometheus`, `forks`, `dashboard`"
            ]
        );
    }

    #[test]
    fn sections_match_the_raw_struct_and_schema() {
        let schema = crate::domain::settings::schema();
        let mut props: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sections = SECTIONS.to_vec();
        props.sort_unstable();
        sections.sort_unstable();
        assert_eq!(props, sections);
        // every section is read by `sections`: an empty one of each loads
        let all: String = SECTIONS.iter().map(|s| format!("{s}:\n")).collect();
        assert_eq!(errors(&all, &[]), Vec::<String>::new());
    }

    #[test]
    fn an_override_is_related_to_its_branch_only() {
        let var = vec!["pull_requests".to_string(), "group".to_string()];
        let key = |k: &str| Seg::Key(k.to_string());
        assert!(related(&var, &[key("pull_requests"), key("group")]));
        assert!(related(&var, &[key("pull_requests")]));
        assert!(!related(&var, &[key("pull_requests"), key("labels")]));
        assert!(!related(&var, &[key("repositories"), Seg::Index(0)]));
    }

    #[test]
    fn empty_values_are_pointed_at_by_their_key() {
        assert_eq!(
            errors("registries:\n  mirrors:\n    docker.io:\n", &[]),
            ["s.yml:3:5: invalid type: null (an empty value), expected a string"]
        );
        assert_eq!(
            errors(
                "repositories:\n  - github: a/b\n    environments:\n      - name: a\n        paths: [x]\n        wave: -1\n",
                &[]
            ),
            ["s.yml:6:15: invalid value: integer `-1`, expected a non-negative integer"]
        );
    }

    #[test]
    fn cron_errors_are_one_line() {
        let e = errors("schedule:\n  poll: \"0 0 25 * * *\"\n", &[]);
        assert_eq!(e.len(), 1);
        assert!(!e[0].contains('\n'), "{e:?}");
        assert!(
            e[0].starts_with("s.yml:2:9: invalid cron expression `0 0 25 * * *`: Hours"),
            "{e:?}"
        );
    }

    #[test]
    fn defaults_equal_an_empty_file() {
        let loaded = load_str("", "s.yml", None, &HashMap::new()).unwrap();
        let d = Settings::default();
        assert_eq!(loaded.pull_requests, d.pull_requests);
        assert_eq!(loaded.registries, d.registries);
        assert_eq!(loaded.schedule.poll, d.schedule.poll);
        assert_eq!(
            d.schedule.poll.as_str(),
            crate::domain::settings::DEFAULT_POLL
        );
    }

    #[test]
    fn no_panic_on_odd_input() {
        for text in [
            "repositories: [[]]\n",
            "repositories:\n  - environments: [{}]\n",
            "? [a]\n: b\n",
            "a: &x [*x]\n",
            "registries:\n  mirrors: [1]\n",
            "pull_requests:\n  labels: [\"\", \"ok\"]\n  reviewers: [\"@bad user\"]\n",
            "upstreams:\n  - github: a/b\n    images: [{name: \"x:1\"}]\n",
            "<<: {slack: {}}\n",
            "\u{feff}",
            "\t\n",
        ] {
            let _ = errors(
                text,
                &[("UPKEEP_REPOSITORIES__0__BRANCH", "x"), ("UPKEEP___", "y")],
            );
        }
    }
}
