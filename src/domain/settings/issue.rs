//! A problem found in the merged settings, before it is given a position.

use std::fmt;

/// One step of a path into the settings tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// What a position should point at: the key (unknown fields) or its value.
pub(crate) use crate::domain::yaml::Target;

/// A problem at a path of the merged settings (file plus overrides).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issue {
    pub path: Vec<Seg>,
    pub target: Target,
    pub message: String,
    /// For duplicates: where the first one is.
    pub first: Option<Vec<Seg>>,
}

impl Issue {
    pub fn value(path: Vec<Seg>, message: impl Into<String>) -> Self {
        Issue {
            path,
            target: Target::Value,
            message: message.into(),
            first: None,
        }
    }

    pub fn key(path: Vec<Seg>, message: impl Into<String>) -> Self {
        Issue {
            path,
            target: Target::Key,
            message: message.into(),
            first: None,
        }
    }

    pub fn with_first(mut self, first: Vec<Seg>) -> Self {
        self.first = Some(first);
        self
    }
}

/// Builds paths: `At::root("repositories").index(0).key("name").path()`.
#[derive(Clone, Debug, Default)]
pub(crate) struct At(pub Vec<Seg>);

impl At {
    pub fn root(key: &str) -> Self {
        At(vec![Seg::Key(key.to_string())])
    }

    pub fn key(&self, key: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Key(key.to_string()));
        At(v)
    }

    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        At(v)
    }

    pub fn path(&self) -> Vec<Seg> {
        self.0.clone()
    }
}

/// `repositories[0].environments[1].name`, as serde_path_to_error writes it.
pub(crate) struct Dotted<'a>(pub &'a [Seg]);

impl fmt::Display for Dotted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// serde's wording for an unknown field, plus a hint when it looks like a
/// secret (secrets are never read from the file).
pub(crate) fn unknown_field(field: &str, expected: &'static [&'static str]) -> String {
    let base =
        <serde::de::value::Error as serde::de::Error>::unknown_field(field, expected).to_string();
    format!("{base}{}", secret_hint(field))
}

/// A hint appended to "unknown field" messages for secret-looking names.
pub(crate) fn secret_hint(field: &str) -> &'static str {
    let f = field.to_ascii_lowercase();
    if [
        "token",
        "secret",
        "private_key",
        "password",
        "webhook_url",
        "webhook",
    ]
    .iter()
    .any(|s| f.contains(s))
    {
        "; secrets are read only from environment variables (`UPKEEP_GITHUB_TOKEN`, `UPKEEP_GITHUB_APP_PRIVATE_KEY`, `UPKEEP_GITHUB_WEBHOOK_SECRET`, `UPKEEP_SLACK_WEBHOOK_URL`), never from the settings file"
    } else {
        ""
    }
}
