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
    with_suggestion(format!("{base}{}", secret_hint(field)))
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

/// The candidate nearest to `word` by edit distance (case ignored), when
/// it is close enough to be a typo of it: at most 2 edits, and fewer than
/// half of the longer word's letters.
pub(crate) fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&w, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d > 0 && *d <= 2 && d * 2 < w.chars().count().max(c.chars().count()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance by characters, a swap of two neighbours counting as one
/// edit (`tga` is one from `tag`).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Appends "; did you mean `x`?" to serde's "unknown field `y`, expected
/// ..." (or "unknown variant") message when one of the names it lists is
/// close to the unknown one.
pub(crate) fn with_suggestion(message: String) -> String {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"));
    let Some(rest) = rest else {
        return message;
    };
    let Some((word, expected)) = rest.split_once('`') else {
        return message;
    };
    // the names listed after "expected": every other backticked run
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match nearest(word, &names) {
        Some(near) if !message.contains("did you mean") => {
            // before any hint appended after the list
            let cut = message.find("; ").unwrap_or(message.len());
            format!(
                "{}; did you mean `{near}`?{}",
                &message[..cut],
                &message[cut..]
            )
        }
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_the_nearest_name() {
        let nets = ["mainnet", "sepolia", "holesky", "hoodi"];
        assert_eq!(nearest("mainet", &nets), Some("mainnet"));
        assert_eq!(nearest("Sepolai", &nets), Some("sepolia"));
        assert_eq!(nearest("hodi", &nets), Some("hoodi"));
        assert_eq!(nearest("devnet-7", &nets), None);
        assert_eq!(nearest("mainnet", &nets), None);
        assert_eq!(nearest("ab", &["cd"]), None);
        assert_eq!(nearest("tga", &["name", "tag"]), Some("tag"));
        assert_eq!(
            with_suggestion(
                "unknown field `enviroments`, expected one of `github`, `environments`".into()
            ),
            "unknown field `enviroments`, expected one of `github`, `environments`; did you mean `environments`?"
        );
        assert_eq!(
            with_suggestion("unknown field `zzz`, expected `a` or `b`".into()),
            "unknown field `zzz`, expected `a` or `b`"
        );
        assert_eq!(with_suggestion("invalid type".into()), "invalid type");
    }
}
