//! [`Scheme`]: how tags of one upstream are read and ordered.

use super::VersionError;
use regex::{Regex, RegexBuilder};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Compiled-program size limit for user patterns (1 MiB).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Lazy-DFA cache limit for user patterns (1 MiB).
const REGEX_DFA_SIZE_LIMIT: usize = 1 << 20;

/// Numeric named groups, in part order.
pub(super) const NUMERIC_GROUPS: [&str; 4] = ["major", "minor", "patch", "build"];
/// The only other named group allowed.
const PRE_GROUP: &str = "pre";

/// A version scheme. Written `semver`, `calver` or `regex:<pattern>`
/// ([`FromStr`] and [`Display`](fmt::Display) round-trip; serde uses the
/// same string).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Lenient semver: optional prefix (`v`), 2 to 4 numeric parts,
    /// pre-release, build metadata, variant suffix.
    #[default]
    Semver,
    /// Calendar versions (`24.10.3`, `2025.01.07`): as `Semver`, but the
    /// first part must be a 2- or 4-digit year. Ordered numerically.
    Calver,
    /// A user pattern with named groups; see [`RegexScheme`].
    Regex(RegexScheme),
}

/// A user-supplied version pattern, compiled with size limits (in the
/// `regex` crate: linear time, no backtracking) and matched from the start
/// of the text: the whole text, or a start of it followed by a `-variant`
/// suffix (`1_2-alpine`). Write `$` to forbid the suffix.
///
/// Named groups: `major` (required, must match digits), `minor`, `patch`,
/// `build` (optional digits: a missing one counts as 0, and the number of
/// parts runs up to the last group that matched), `pre` (optional
/// pre-release, classified by [`PreKind`](super::PreKind) words; a `hotfix`
/// there marks a final hotfix release instead). Any other
/// named group is an error (likely a typo); use unnamed groups freely. The
/// tag's prefix is the text before the first of these groups, its variant
/// the text after the last one.
#[derive(Clone, Debug)]
pub struct RegexScheme {
    pattern: String,
    regex: Regex,
    /// Anchored at the start only: a variant suffix may follow the match.
    head: Regex,
}

impl RegexScheme {
    /// Compiles `pattern` (without the `regex:` marker).
    pub fn new(pattern: &str) -> Result<Self, VersionError> {
        let compile = |p: &str| {
            RegexBuilder::new(p)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
                .build()
                .map_err(|e| VersionError::InvalidRegex {
                    pattern: pattern.to_owned(),
                    message: e.to_string(),
                })
        };
        // Compile alone first: a valid pattern is balanced, so wrapping it
        // below cannot change its meaning (`a)|(b` would otherwise).
        let bare = compile(pattern)?;
        let groups_error = |reason: String| VersionError::RegexGroups {
            pattern: pattern.to_owned(),
            reason,
        };
        let mut has_major = false;
        for name in bare.capture_names().flatten() {
            if name == "major" {
                has_major = true;
            } else if name != PRE_GROUP && !NUMERIC_GROUPS.contains(&name) {
                return Err(groups_error(format!(
                    "unknown named group `{name}`: expected major, minor, patch, build or pre"
                )));
            }
        }
        if !has_major {
            return Err(groups_error(
                "no named group `major`; write it as (?P<major>\\d+)".to_owned(),
            ));
        }
        let regex = compile(&format!("^(?:{pattern})$"))?;
        let head = compile(&format!("^(?:{pattern})"))?;
        Ok(RegexScheme {
            pattern: pattern.to_owned(),
            regex,
            head,
        })
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The anchored, compiled pattern.
    pub(super) fn regex(&self) -> &Regex {
        &self.regex
    }

    /// The pattern anchored at the start only.
    pub(super) fn head(&self) -> &Regex {
        &self.head
    }
}

impl PartialEq for RegexScheme {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for RegexScheme {}

impl Hash for RegexScheme {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.pattern.hash(state);
    }
}

impl FromStr for Scheme {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "semver" => Ok(Scheme::Semver),
            "calver" => Ok(Scheme::Calver),
            _ => match s.strip_prefix("regex:") {
                Some(pattern) => RegexScheme::new(pattern).map(Scheme::Regex),
                None => Err(VersionError::UnknownScheme(s.to_owned())),
            },
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheme::Semver => f.write_str("semver"),
            Scheme::Calver => f.write_str("calver"),
            Scheme::Regex(r) => write!(f, "regex:{}", r.pattern),
        }
    }
}

impl Serialize for Scheme {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scheme {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Scheme {
    fn schema_name() -> Cow<'static, str> {
        "VersionScheme".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^(semver|calver|regex:.+)$",
            "description": "How release tags are read and ordered: \"semver\" (lenient: optional v prefix, 2 to 4 numeric parts; date stamps such as v2022.09.01 are not versions), \"calver\" (first part a 2- or 4-digit year), or \"regex:<pattern>\" with named groups major (required), minor, patch, build and pre, matched from the start of the version (a -variant may follow unless the pattern ends in $).",
            "examples": ["semver", "calver", "regex:(?P<major>\\d+)\\.(?P<minor>\\d+)"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_str_display_round_trip() {
        for s in [
            "semver",
            "calver",
            r"regex:(?P<major>\d+)\.(?P<minor>\d+)(?:-(?P<pre>rc\d+))?",
        ] {
            let scheme: Scheme = s.parse().expect("valid");
            assert_eq!(scheme.to_string(), s);
        }
        assert_eq!(Scheme::default(), Scheme::Semver);
    }

    #[test]
    fn errors_are_clear() {
        let unknown = "SemVer".parse::<Scheme>().unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown version scheme \"SemVer\": expected \"semver\", \"calver\" or \"regex:<pattern>\""
        );
        let missing = r"regex:(?P<minor>\d+)".parse::<Scheme>().unwrap_err();
        assert!(
            missing.to_string().contains("no named group `major`"),
            "{missing}"
        );
        let typo = r"regex:(?P<major>\d+)\.(?P<minro>\d+)"
            .parse::<Scheme>()
            .unwrap_err();
        assert!(
            typo.to_string().contains("unknown named group `minro`"),
            "{typo}"
        );
        let empty = "regex:".parse::<Scheme>().unwrap_err();
        assert!(matches!(empty, VersionError::RegexGroups { .. }));
        let bad = "regex:(?P<major>[".parse::<Scheme>().unwrap_err();
        assert!(
            bad.to_string().starts_with("invalid version regex"),
            "{bad}"
        );
    }

    #[test]
    fn unbalanced_pattern_cannot_escape_anchors() {
        // Would compile once wrapped in `^(?:...)$`, but is invalid alone.
        let err = r"regex:x)|(?P<major>\d+)|(?:y"
            .parse::<Scheme>()
            .unwrap_err();
        assert!(matches!(err, VersionError::InvalidRegex { .. }));
    }

    #[test]
    fn size_limit_rejects_huge_patterns() {
        let err = r"regex:(?P<major>\d+)\w{1000}\w{1000}"
            .parse::<Scheme>()
            .unwrap_err();
        match err {
            VersionError::InvalidRegex { message, .. } => {
                assert!(message.contains("size limit"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let scheme: Scheme = serde_json::from_str("\"calver\"").expect("valid");
        assert_eq!(scheme, Scheme::Calver);
        assert_eq!(
            serde_json::to_string(&scheme).expect("serialises"),
            "\"calver\""
        );
        let regex: Scheme = serde_json::from_str(r#""regex:(?P<major>\\d+)""#).expect("valid");
        assert_eq!(
            serde_json::to_string(&regex).expect("serialises"),
            r#""regex:(?P<major>\\d+)""#
        );
        let err = serde_json::from_str::<Scheme>("\"semverish\"").unwrap_err();
        assert!(err.to_string().contains("unknown version scheme"), "{err}");
    }

    #[test]
    fn json_schema_is_a_string_with_pattern() {
        let schema = schemars::schema_for!(Scheme);
        let value = schema.as_value();
        assert_eq!(value["type"], "string");
        assert_eq!(value["pattern"], "^(semver|calver|regex:.+)$");
    }
}
