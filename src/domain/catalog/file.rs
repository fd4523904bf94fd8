//! The catalog file format (`version: 1`, documented in
//! `rules/catalog/README.md`): raw serde types read from the positioned
//! YAML tree by [`yaml::from_node`], so an unknown key, a value of the wrong
//! type or an invalid name, template or pattern is reported at its line and
//! column; then a small check of what serde cannot say (every missing
//! required field of an entry). Each upstream is read on its own, so one
//! load reports a problem of every upstream.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::domain::manifest::image;
use crate::domain::version::{Scheme, TagTemplate};
use crate::domain::yaml::{self, Node};

use super::{
    CatalogError, ImageSpec, Location, Origin, Pattern, PrereleasePolicy, Role, UpstreamSpec,
    Variant, VersionFormat,
};

/// The only format version this build reads.
pub(super) const FORMAT_VERSION: &str = "1";

/// Parses one catalog file. `file` names it in errors and locations.
pub(super) fn parse(
    file: &str,
    text: &str,
    origin: Origin,
) -> Result<Vec<UpstreamSpec>, Vec<CatalogError>> {
    let root = yaml::parse_one(file, text).map_err(|e| vec![e])?;
    let Some(root) = root.filter(|d| !yaml::is_null(d)) else {
        return Err(vec![CatalogError::whole(
            file,
            "empty catalog file: expected `version: 1` and `upstreams:`",
        )]);
    };
    let _: RawCatalog = yaml::from_node(file, &root).map_err(|e| vec![e])?;
    let items = root
        .get("upstreams")
        .and_then(Node::seq)
        .unwrap_or_default();
    let mut upstreams = Vec::new();
    let mut errors = Vec::new();
    for item in items {
        match yaml::from_node::<RawUpstream>(file, item).map_err(|e| vec![e]) {
            Ok(raw) => match raw.check(file, item, origin) {
                Ok(u) => upstreams.push(u),
                Err(e) => errors.extend(e),
            },
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(upstreams)
    } else {
        Err(errors)
    }
}

/// The document: the format version, and the upstreams (read one by one
/// from the tree).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    #[allow(dead_code)]
    version: FormatVersion,
    #[allow(dead_code)]
    upstreams: Upstreams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    id: Option<Id>,
    github: Option<Repo>,
    moved_from: Option<Vec<Repo>>,
    versioning: Option<Scheme>,
    legacy_versioning: Option<Scheme>,
    release_tag: Option<ReleaseTag>,
    prereleases: Option<RawPrereleases>,
    ignore_tags: Option<Vec<RawPattern>>,
    channels: Option<Vec<RawPattern>>,
    role: Option<RawRole>,
    /// Read one by one, so that a problem of every image is reported.
    #[allow(dead_code)]
    images: Option<Images>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrereleases {
    offer: Option<bool>,
    github_flag: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    name: Option<ImageName>,
    tag: Option<TagTemplate>,
    variants: Option<Vec<RawVariant>>,
    minor_tags: Option<bool>,
    version_format: Option<RawVersionFormat>,
    superseded_by: Option<ImageName>,
    role: Option<RawRole>,
}

/// `role: execution|consensus|validator|signer|mev-boost`.
struct RawRole(Role);

impl<'de> Deserialize<'de> for RawRole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |s| {
            Role::parse(&s).map(RawRole).ok_or_else(|| {
                format!(
                    "unknown role `{s}`: expected execution, consensus, validator, signer or mev-boost"
                )
            })
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawVersionFormat {
    AsTagged,
    Pep440,
}

impl RawUpstream {
    /// Every missing required field, then the spec.
    fn check(
        self,
        file: &str,
        node: &Node,
        origin: Origin,
    ) -> Result<UpstreamSpec, Vec<CatalogError>> {
        let mut errors = Vec::new();
        let mut missing = |key: &str, expected: &str| {
            errors.push(CatalogError::at_node(
                file,
                node,
                format!("missing field `{key}`: expected {expected}"),
            ))
        };
        if self.id.is_none() {
            missing("id", "a short lowercase name such as `lighthouse`");
        }
        if self.github.is_none() {
            missing("github", "the GitHub repository, `owner/name`");
        }
        let mut images = Vec::new();
        for item in node.get("images").and_then(Node::seq).unwrap_or_default() {
            let value: RawImage = match yaml::from_node(file, item) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let Some(name) = value.name else {
                errors.push(CatalogError::at_node(
                    file,
                    item,
                    "missing field `name`: expected the image repository without a tag, e.g. `ghcr.io/paradigmxyz/reth`",
                ));
                continue;
            };
            let mut spec = ImageSpec::new(name.0, value.tag.unwrap_or_default());
            spec.variants = value
                .variants
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.0)
                .collect();
            spec.minor_tags = value.minor_tags.unwrap_or(false);
            spec.version_format = match value.version_format {
                None | Some(RawVersionFormat::AsTagged) => VersionFormat::AsTagged,
                Some(RawVersionFormat::Pep440) => VersionFormat::Pep440,
            };
            spec.superseded_by = value.superseded_by.map(|n| n.0);
            spec.role = value.role.map(|r| r.0);
            spec.defined_at = Some(Location {
                file: file.to_owned(),
                line: item.line,
                column: item.column,
            });
            images.push(spec);
        }
        let (Some(id), Some(github), true) = (self.id, self.github, errors.is_empty()) else {
            return Err(errors);
        };
        let defaults = PrereleasePolicy::default();
        let patterns = |p: Option<Vec<RawPattern>>| -> Vec<Pattern> {
            p.unwrap_or_default().into_iter().map(|p| p.0).collect()
        };
        Ok(UpstreamSpec {
            id: id.0,
            owner: github.0,
            name: github.1,
            moved_from: self
                .moved_from
                .unwrap_or_default()
                .into_iter()
                .map(|r| format!("{}/{}", r.0, r.1))
                .collect(),
            versioning: self.versioning.unwrap_or(Scheme::Semver),
            legacy_versioning: self.legacy_versioning,
            release_tag: self.release_tag.map(|t| t.0),
            prereleases: self.prereleases.map_or(defaults, |p| PrereleasePolicy {
                offer: p.offer.unwrap_or(defaults.offer),
                github_flag: p.github_flag.unwrap_or(defaults.github_flag),
            }),
            ignore_tags: patterns(self.ignore_tags),
            channels: patterns(self.channels),
            images,
            role: self.role.map(|r| r.0),
            origin,
            defined_at: Some(Location {
                file: file.to_owned(),
                line: node.line,
                column: node.column,
            }),
        })
    }
}

// ---- values checked as they are read ---------------------------------------

/// Reads a string and checks it; the error is located at the value.
fn checked<'de, D: Deserializer<'de>, T>(
    d: D,
    check: impl FnOnce(String) -> Result<T, String>,
) -> Result<T, D::Error> {
    let s = String::deserialize(d)?;
    check(s).map_err(de::Error::custom)
}

/// `version: 1`.
struct FormatVersion;

impl<'de> Deserialize<'de> for FormatVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |s| {
            if s == FORMAT_VERSION {
                Ok(FormatVersion)
            } else {
                Err(format!(
                    "unsupported catalog format version `{s}`: expected `version: {FORMAT_VERSION}`"
                ))
            }
        })
    }
}

/// A list whose items are read one by one from the tree (null: none).
macro_rules! items {
    ($name:ident, $expected:literal) => {
        struct $name;

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expected)
                    }
                    fn visit_unit<E: de::Error>(self) -> Result<$name, E> {
                        Ok($name)
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<$name, A::Error> {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        Ok($name)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

items!(Upstreams, "a list of upstreams");
items!(Images, "a list of images");

/// An id: `[a-z0-9][a-z0-9-]*`.
struct Id(String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |id| {
            let ok = id
                .as_bytes()
                .first()
                .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && id
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
            if ok {
                Ok(Id(id))
            } else {
                Err(format!(
                    "invalid id `{id}`: expected lowercase letters, digits and `-`, starting with a letter or digit"
                ))
            }
        })
    }
}

/// A GitHub repository, `owner/name`.
struct Repo(String, String);

impl<'de> Deserialize<'de> for Repo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |s| {
            let ok = s.split_once('/').filter(|(o, n)| {
                o.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
                    && o.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                    && !n.is_empty()
                    && n.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
            });
            match ok {
                Some((o, n)) => Ok(Repo(o.to_owned(), n.to_owned())),
                None => Err(format!(
                    "invalid GitHub repository `{s}`: expected `owner/name`"
                )),
            }
        })
    }
}

/// An image repository without a tag or digest.
struct ImageName(String);

impl<'de> Deserialize<'de> for ImageName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |s| {
            let plain = image::split(&s).is_some_and(|p| p.tag.is_none() && p.digest.is_none());
            if plain && image::is_valid_name(&s) {
                return Ok(ImageName(s));
            }
            let hint = if s.contains(['@', ':']) && !s.contains("://") {
                " (write the repository only, without a tag or digest)"
            } else {
                ""
            };
            Err(format!(
                "invalid image name `{s}`: expected `[registry/]repository`, lowercase{hint}"
            ))
        })
    }
}

/// A tag pattern (`*-exp`).
struct RawPattern(Pattern);

impl<'de> Deserialize<'de> for RawPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |s| Pattern::new(&s).map(RawPattern))
    }
}

/// A variant: a suffix (`-modern`) or a tag template (`amd64-v{version}`).
struct RawVariant(Variant);

impl<'de> Deserialize<'de> for RawVariant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |s| Variant::parse(&s).map(RawVariant))
    }
}

/// A release tag template (`v{version}`, `op-node/v{version}`).
struct ReleaseTag(TagTemplate);

impl<'de> Deserialize<'de> for ReleaseTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |s| {
            TagTemplate::parse_release(&s)
                .map(ReleaseTag)
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse("c.yml", text, Origin::File) {
            Ok(_) => panic!("expected errors for:\n{text}"),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    const GOOD: &str = "version: 1\nupstreams:\n  - id: acme\n    github: acme/node\n    images:\n      - name: ghcr.io/acme/node\n        tag: \"v{version}\"\n";

    #[test]
    fn minimal_file_parses_with_defaults() {
        let ups = parse("c.yml", GOOD, Origin::File).expect("parses");
        assert_eq!(ups.len(), 1);
        let u = &ups[0];
        assert_eq!((u.id.as_str(), u.repo().as_str()), ("acme", "acme/node"));
        assert_eq!(u.versioning, Scheme::Semver);
        assert_eq!(u.release_tag, None);
        assert_eq!(u.prereleases, PrereleasePolicy::default());
        assert_eq!(u.images[0].tag.to_string(), "v{version}");
        assert_eq!(u.images[0].version_format, VersionFormat::AsTagged);
        let at = u.defined_at.as_ref().expect("located");
        assert_eq!((at.line, at.column), (3, 5));
    }

    #[test]
    fn unknown_keys_are_positioned() {
        let text = GOOD.replace("        tag:", "        tga:");
        assert_eq!(
            errors(&text),
            [
                "c.yml:7:9: unknown field `tga`, expected one of `name`, `tag`, `variants`, `minor_tags`, `version_format`, `superseded_by`, `role`"
            ]
        );
        let text = format!("{GOOD}extra: 1\n");
        assert!(errors(&text)[0].starts_with("c.yml:8:1: unknown field `extra`"));
    }

    #[test]
    fn bad_values_are_positioned() {
        let text = GOOD.replace("\"v{version}\"", "\"v{verison}\"");
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("c.yml:7:14: invalid tag template"),
            "{e:?}"
        );

        let text = GOOD.replace(
            "github: acme/node\n",
            "github: acme/node\n    versioning: semverish\n",
        );
        assert!(errors(&text)[0].starts_with("c.yml:5:17: unknown version scheme"));

        let text = GOOD.replace(
            "github: acme/node\n",
            "github: acme/node\n    versioning: 'regex:(?P<minro>\\d+)'\n",
        );
        assert!(errors(&text)[0].contains("c.yml:5:17: invalid version regex"));

        let text = GOOD.replace("ghcr.io/acme/node\n", "ghcr.io/acme/node:v1\n");
        assert!(
            errors(&text)[0].contains("without a tag"),
            "{:?}",
            errors(&text)
        );
    }

    #[test]
    fn structure_errors() {
        assert!(errors("version: 2\nupstreams: []\n")[0].starts_with("c.yml:1:10: unsupported"));
        assert!(errors("upstreams: []\n")[0].contains("missing field `version`"));
        assert!(errors("")[0].contains("empty catalog file"));
        assert!(
            errors("version: 1\nupstreams: x\n")[0].starts_with(
                "c.yml:2:12: invalid type: string \"x\", expected a list of upstreams"
            )
        );
        assert!(errors("a: [\n")[0].starts_with("c.yml:"));
        assert!(errors("version: 1\n---\nversion: 1\n")[0].contains("one YAML document"));
        let missing = errors("version: 1\nupstreams:\n  - images: []\n");
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(missing[0].starts_with("c.yml:3:5: missing field `id`"));
        let dup = errors(&GOOD.replace("    images:", "    id: again\n    images:"));
        assert!(dup[0].contains("duplicate field `id` (first at line 3, column 5)"));
    }

    #[test]
    fn variants_and_options() {
        let text = GOOD.replace(
            "        tag: \"v{version}\"\n",
            "        tag: \"v{version}\"\n        variants: [-modern, \"amd64-v{version}\"]\n        minor_tags: true\n        version_format: pep440\n        superseded_by: acme/new\n",
        );
        let ups = parse("c.yml", &text, Origin::File).expect("parses");
        let img = &ups[0].images[0];
        assert_eq!(
            img.variants
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["-modern", "amd64-v{version}"]
        );
        assert!(img.minor_tags);
        assert_eq!(img.version_format, VersionFormat::Pep440);
        assert_eq!(img.superseded_by.as_deref(), Some("acme/new"));

        for (bad, want) in [
            ("[modern]", "invalid variant `modern`"),
            ("[\"-\"]", "invalid variant suffix"),
            ("[\"x-{version}x\"]", "invalid tag template"),
        ] {
            let text = GOOD.replace(
                "        tag: \"v{version}\"\n",
                &format!("        variants: {bad}\n"),
            );
            let e = errors(&text);
            assert!(e[0].starts_with("c.yml:7:") && e[0].contains(want), "{e:?}");
        }
        let text = GOOD.replace("        tag: \"v{version}\"\n", "        minor_tags: yes\n");
        assert!(
            errors(&text)[0]
                .contains("c.yml:7:21: invalid type: string \"yes\", expected a boolean")
        );
    }
}
