//! [`TagTemplate`]: maps a release version to an image tag and back.

use super::{Scheme, Tag, Version, VersionError};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

const PLACEHOLDER: &str = "{version}";

/// An image tag template with exactly one `{version}` placeholder:
/// `v{version}`, `{version}`, `multiarch-v{version}`, `v{version}-alltools`.
///
/// The text around the placeholder may only use the docker tag alphabet
/// (letters, digits, `.`, `-`, `_`); text after it must start with `-`,
/// since it sits where a variant suffix would. An image tag written through
/// the template is `before` + version + `after` + optional variant, so
/// `render(&m.version) + m.variant` gives back the tag that produced `m`.
///
/// The default template is `{version}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TagTemplate {
    before: String,
    after: String,
}

/// What [`TagTemplate::match_tag`] found in an image tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateMatch {
    /// The version (`5.3.0` in `v5.3.0-modern` through `v{version}`).
    pub version: Version,
    /// The trailing variant (`-modern`), if any, after the template's own
    /// suffix.
    pub variant: Option<String>,
}

impl TagTemplate {
    /// Parses an image tag template; errors name the template and the
    /// problem.
    pub fn parse(template: &str) -> Result<Self, VersionError> {
        Self::parse_with(template, false)
    }

    /// Parses a release (git) tag template: as [`parse`](Self::parse), and
    /// the text before `{version}` may also hold `/` and `@`, as component
    /// tags of a monorepo do (`op-node/v{version}`, `tests@{version}`).
    pub fn parse_release(template: &str) -> Result<Self, VersionError> {
        Self::parse_with(template, true)
    }

    fn parse_with(template: &str, release: bool) -> Result<Self, VersionError> {
        let invalid = |reason| VersionError::InvalidTemplate {
            template: template.to_owned(),
            reason,
        };
        let Some((before, after)) = template.split_once(PLACEHOLDER) else {
            return Err(invalid("it has no {version} placeholder"));
        };
        if after.contains(PLACEHOLDER) {
            return Err(invalid("it has more than one {version} placeholder"));
        }
        for (literal, lax) in [(before, release), (after, false)] {
            if literal.contains(['{', '}']) {
                return Err(invalid(
                    "braces are only allowed in the {version} placeholder",
                ));
            }
            let ok = |c: u8| {
                c.is_ascii_alphanumeric()
                    || matches!(c, b'.' | b'-' | b'_')
                    || (lax && matches!(c, b'/' | b'@'))
            };
            if !literal.bytes().all(ok) {
                return Err(invalid(if release {
                    "only letters, digits, '.', '-', '_' (and before {version} '/' and '@') may surround {version}"
                } else {
                    "only letters, digits, '.', '-' and '_' may surround {version}"
                }));
            }
        }
        if release && (before.contains("//") || before.starts_with('/') || before.contains("@{")) {
            return Err(invalid("not a valid git tag name"));
        }
        if !after.is_empty() && !after.starts_with('-') {
            return Err(invalid("text after {version} must start with '-'"));
        }
        Ok(TagTemplate {
            before: before.to_owned(),
            after: after.to_owned(),
        })
    }

    /// The image tag for `version`, without any variant.
    pub fn render(&self, version: &Version) -> String {
        format!("{}{}{}", self.before, version, self.after)
    }

    /// Reads the version out of an image `tag` written through this template,
    /// under `scheme` (which parses the text between the template's prefix
    /// and suffix). `None` when the tag does not fit the template or holds no
    /// version.
    ///
    /// A `regex:` pattern may also spell the template's literal text itself
    /// (`^release-(?<major>\d+)…$` with `release-{version}-alpine`): when
    /// the text between fails, the whole tag without the template's suffix
    /// is read, and its prefix must be the template's.
    pub fn match_tag(&self, scheme: &Scheme, tag: &str) -> Option<TemplateMatch> {
        match (self.match_inside(scheme, tag), scheme) {
            (Some(m), _) => Some(m),
            (None, Scheme::Regex(_)) => self.match_spelled(scheme, tag),
            (None, _) => None,
        }
    }

    /// [`match_tag`](Self::match_tag) for a pattern that holds the
    /// template's prefix.
    fn match_spelled(&self, scheme: &Scheme, tag: &str) -> Option<TemplateMatch> {
        let body = tag.strip_suffix(self.after.as_str())?;
        let parsed = Tag::parse(scheme, body)?;
        if parsed.prefix != self.before || (!self.after.is_empty() && parsed.variant.is_some()) {
            return None;
        }
        Some(TemplateMatch {
            version: parsed.version,
            variant: parsed.variant,
        })
    }

    fn match_inside(&self, scheme: &Scheme, tag: &str) -> Option<TemplateMatch> {
        let rest = tag.strip_prefix(self.before.as_str())?;
        let parsed = Tag::parse(scheme, rest)?;
        if !parsed.prefix.is_empty() {
            return None;
        }
        let variant = if self.after.is_empty() {
            parsed.variant
        } else {
            let extra = parsed
                .variant
                .as_deref()?
                .strip_prefix(self.after.as_str())?;
            match extra {
                "" => None,
                _ if extra.starts_with('-') => Some(extra.to_owned()),
                _ => return None,
            }
        };
        Some(TemplateMatch {
            version: parsed.version,
            variant,
        })
    }
}

impl fmt::Display for TagTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{PLACEHOLDER}{}", self.before, self.after)
    }
}

impl FromStr for TagTemplate {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TagTemplate::parse(s)
    }
}

impl Serialize for TagTemplate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TagTemplate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(deserializer)?;
        TagTemplate::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for TagTemplate {
    fn schema_name() -> Cow<'static, str> {
        "TagTemplate".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[A-Za-z0-9._-]*\\{version\\}(-[A-Za-z0-9._-]*)?$",
            "description": "Image tag template with exactly one {version} placeholder, e.g. \"v{version}\", \"{version}\" or \"multiarch-v{version}\".",
            "examples": ["v{version}", "{version}", "multiarch-v{version}"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(s: &str) -> TagTemplate {
        TagTemplate::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn version(s: &str) -> Version {
        Version::parse(&Scheme::Semver, s).unwrap_or_else(|| panic!("{s:?} should parse"))
    }

    #[test]
    fn parse_errors() {
        for (s, reason) in [
            ("v", "no {version}"),
            ("", "no {version}"),
            ("{version}{version}", "more than one"),
            ("v{version}-{version}", "more than one"),
            ("v{verison}", "no {version}"),
            ("{v}{version}", "braces"),
            ("{version}}", "braces"),
            ("repo:{version}", "only letters"),
            ("v {version}", "only letters"),
            ("{version}x", "must start with '-'"),
        ] {
            let err = TagTemplate::parse(s).unwrap_err();
            assert!(err.to_string().contains(reason), "{s:?}: {err}");
            assert!(err.to_string().contains(&format!("{s:?}")), "{s:?}: {err}");
        }
    }

    #[test]
    fn render_and_display() {
        let t = template("v{version}");
        assert_eq!(t.render(&version("1.14.12")), "v1.14.12");
        assert_eq!(t.to_string(), "v{version}");
        assert_eq!(template("{version}").render(&version("25.1.0")), "25.1.0");
        assert_eq!(
            template("{version}-alltools").render(&version("1.14.12")),
            "1.14.12-alltools"
        );
        assert_eq!(
            template("v{version}").render(&version("7.0.0-beta.0")),
            "v7.0.0-beta.0"
        );
    }

    #[test]
    fn match_tag_cases() {
        let s = Scheme::Semver;
        let v = template("v{version}");
        assert!(v.match_tag(&s, "1.2.3").is_none());
        assert!(v.match_tag(&s, "vv1.2.3").is_none());
        assert!(v.match_tag(&s, "latest").is_none());
        assert!(template("{version}").match_tag(&s, "v1.2.3").is_none());
        let m = v.match_tag(&s, "v1.2.3-rc.1-alpine").expect("matches");
        assert_eq!(m.version.as_str(), "1.2.3-rc.1");
        assert_eq!(m.variant.as_deref(), Some("-alpine"));

        let all = template("{version}-alltools");
        let m = all.match_tag(&s, "1.14.12-alltools").expect("matches");
        assert_eq!((m.version.as_str(), m.variant), ("1.14.12", None));
        let m = all
            .match_tag(&s, "1.14.12-alltools-arm64")
            .expect("matches");
        assert_eq!(m.variant.as_deref(), Some("-arm64"));
        assert!(all.match_tag(&s, "1.14.12").is_none());
        assert!(all.match_tag(&s, "1.14.12-alltoolsx").is_none());

        let calver = Scheme::Calver;
        let m = template("{version}")
            .match_tag(&calver, "2025.01.07")
            .expect("matches");
        assert_eq!(template("{version}").render(&m.version), "2025.01.07");
    }

    #[test]
    fn regex_scheme_through_template() {
        let scheme: Scheme = r"regex:(?P<major>\d+)_(?P<minor>\d+)(?:-.+)?"
            .parse()
            .expect("valid");
        let t = template("release-{version}");
        let m = t.match_tag(&scheme, "release-1_2-slim").expect("matches");
        assert_eq!(m.version.parts(), &[1, 2]);
        assert_eq!(m.variant.as_deref(), Some("-slim"));
        assert_eq!(t.render(&m.version) + "-slim", "release-1_2-slim");
    }

    #[test]
    fn release_templates_of_monorepos() {
        let s = Scheme::Semver;
        for (t, tag, version) in [
            ("op-node/v{version}", "op-node/v1.9.4", "1.9.4"),
            ("tests@{version}", "tests@2.1.0-rc.1", "2.1.0-rc.1"),
            ("mychart-{version}", "mychart-0.4.2", "0.4.2"),
        ] {
            let tmpl = TagTemplate::parse_release(t).unwrap_or_else(|e| panic!("{e}"));
            let m = tmpl.match_tag(&s, tag).expect("matches");
            assert_eq!((m.version.as_str(), m.variant), (version, None));
            assert_eq!(tmpl.render(&m.version), tag);
            assert_eq!(tmpl.to_string(), t);
        }
        let op = TagTemplate::parse_release("op-node/v{version}").expect("valid");
        assert!(op.match_tag(&s, "op-batcher/v1.9.4").is_none());
        assert!(op.match_tag(&s, "v1.9.4").is_none());
        // Image tags hold no `/` or `@`.
        assert!(TagTemplate::parse("op-node/v{version}").is_err());
        for bad in [
            "/v{version}",
            "a//v{version}",
            "{version}/x",
            "a@{{version}",
        ] {
            assert!(TagTemplate::parse_release(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_regex_may_spell_the_template_prefix() {
        let scheme: Scheme = r"regex:^release-(?<major>\d+)\.(?<minor>\d+)(?:-(?<pre>rc\d+))?$"
            .parse()
            .expect("valid");
        let t = template("release-{version}-alpine");
        let m = t.match_tag(&scheme, "release-1.4-alpine").expect("matches");
        assert_eq!((m.version.as_str(), m.variant), ("1.4", None));
        assert_eq!(t.render(&m.version), "release-1.4-alpine");
        let m = t
            .match_tag(&scheme, "release-1.5-rc2-alpine")
            .expect("matches");
        assert!(m.version.is_prerelease());
        assert!(t.match_tag(&scheme, "release-1.4").is_none());
        assert!(t.match_tag(&scheme, "other-1.4-alpine").is_none());
        let release = TagTemplate::parse_release("release-{version}").expect("valid");
        let m = release.match_tag(&scheme, "release-1.4").expect("matches");
        assert_eq!(m.version.as_str(), "1.4");
    }

    #[test]
    fn serde_and_schema() {
        let t: TagTemplate = serde_json::from_str("\"multiarch-v{version}\"").expect("valid");
        assert_eq!(
            serde_json::to_string(&t).expect("ok"),
            "\"multiarch-v{version}\""
        );
        assert!(serde_json::from_str::<TagTemplate>("\"v\"").is_err());
        assert_eq!(
            "v{version}".parse::<TagTemplate>(),
            Ok(template("v{version}"))
        );
        let schema = schemars::schema_for!(TagTemplate);
        assert_eq!(schema.as_value()["type"], "string");
    }
}
