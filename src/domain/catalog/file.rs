//! The catalog file format (`version: 1`, documented in
//! `rules/catalog/README.md`): reads the positioned YAML tree of one file
//! into [`UpstreamSpec`]s, reporting every problem it finds with the file,
//! line and column of the key or value at fault.

use crate::domain::manifest::image;
use crate::domain::version::{Scheme, TagTemplate};
use crate::domain::yaml::{self, Node, Style, Value};

use super::{
    CatalogError, ImageSpec, Location, Origin, Pattern, PrereleasePolicy, UpstreamSpec, Variant,
    VersionFormat,
};

/// The only format version this build reads.
pub(super) const FORMAT_VERSION: &str = "1";

const TOP_KEYS: &[&str] = &["version", "upstreams"];
const UPSTREAM_KEYS: &[&str] = &[
    "id",
    "github",
    "moved_from",
    "versioning",
    "release_tag",
    "prereleases",
    "ignore_tags",
    "channels",
    "images",
];
const PRERELEASE_KEYS: &[&str] = &["offer", "github_flag"];
const IMAGE_KEYS: &[&str] = &[
    "name",
    "tag",
    "variants",
    "minor_tags",
    "version_format",
    "superseded_by",
];

/// Parses one catalog file. `file` names it in errors and locations.
pub(super) fn parse(
    file: &str,
    text: &str,
    origin: Origin,
) -> Result<Vec<UpstreamSpec>, Vec<CatalogError>> {
    let (body, offset) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, '\u{feff}'.len_utf8()),
        None => (text, 0),
    };
    let docs = yaml::parse(body, offset).map_err(|e| {
        vec![CatalogError::at(
            file,
            e.line,
            e.column,
            format!("invalid YAML: {}", e.message),
        )]
    })?;
    let mut cx = Cx {
        file,
        origin,
        errors: Vec::new(),
    };
    if let Some(second) = docs.get(1) {
        cx.error(
            second,
            format!("expected one YAML document, found {}", docs.len()),
        );
        return Err(cx.errors);
    }
    let Some(root) = docs.first().filter(|d| !is_null(d)) else {
        return Err(vec![CatalogError::whole(
            file,
            "empty catalog file: expected `version: 1` and `upstreams:`",
        )]);
    };
    let upstreams = cx.document(root);
    if cx.errors.is_empty() {
        Ok(upstreams)
    } else {
        Err(cx.errors)
    }
}

/// Parsing context: the file and the errors found so far.
struct Cx<'f> {
    file: &'f str,
    origin: Origin,
    errors: Vec<CatalogError>,
}

/// The known entries of a mapping, by key.
struct Fields<'n> {
    node: &'n Node,
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }
}

impl Cx<'_> {
    fn error(&mut self, node: &Node, message: impl Into<String>) {
        self.errors
            .push(CatalogError::at(self.file, node.line, node.column, message));
    }

    fn location(&self, node: &Node) -> Location {
        Location {
            file: self.file.to_owned(),
            line: node.line,
            column: node.column,
        }
    }

    fn document(&mut self, root: &Node) -> Vec<UpstreamSpec> {
        let Some(top) = self.fields(root, TOP_KEYS, "the catalog file") else {
            return Vec::new();
        };
        match top.get("version") {
            None => self.error(
                root,
                format!("missing field `version`: expected `version: {FORMAT_VERSION}`"),
            ),
            Some(v) => match v.scalar() {
                Some(s) if s.style == Style::Plain && s.value == FORMAT_VERSION => {}
                _ => self.error(
                    v,
                    format!(
                        "unsupported catalog format version {}: expected `version: {FORMAT_VERSION}`",
                        describe(v)
                    ),
                ),
            },
        }
        let Some(list) = top.get("upstreams") else {
            self.error(
                root,
                "missing field `upstreams`: expected a list of upstreams",
            );
            return Vec::new();
        };
        let Some(items) = self.list(list, "a list of upstreams") else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| self.upstream(item))
            .collect()
    }

    fn upstream(&mut self, node: &Node) -> Option<UpstreamSpec> {
        let f = self.fields(node, UPSTREAM_KEYS, "an upstream")?;
        let errors_before = self.errors.len();

        let id = self.required(&f, "id", "a short lowercase name such as `lighthouse`");
        if let Some((n, id)) = id
            && !valid_id(id)
        {
            self.error(
                n,
                format!("invalid id `{id}`: expected lowercase letters, digits and `-`, starting with a letter or digit"),
            );
        }
        let github = self
            .required(&f, "github", "the GitHub repository, `owner/name`")
            .and_then(|(n, s)| self.repo(n, s));
        let mut moved_from = Vec::new();
        if let Some(list) = f.get("moved_from") {
            for item in self.list(list, "a list of `owner/name`").unwrap_or(&[]) {
                if let Some(s) = self.string(item, "`owner/name`")
                    && let Some((o, n)) = self.repo(item, s)
                {
                    moved_from.push(format!("{o}/{n}"));
                }
            }
        }
        let versioning = match f.get("versioning") {
            None => Some(Scheme::Semver),
            Some(n) => self
                .string(n, "`semver`, `calver` or `regex:<pattern>`")
                .and_then(|s| match s.parse::<Scheme>() {
                    Ok(scheme) => Some(scheme),
                    Err(e) => {
                        self.error(n, e.to_string());
                        None
                    }
                }),
        };
        let release_tag = f.get("release_tag").and_then(|n| self.template(n));
        let prereleases = match f.get("prereleases") {
            None => Some(PrereleasePolicy::default()),
            Some(n) => self.prereleases(n),
        };
        let ignore_tags = self.patterns(f.get("ignore_tags"));
        let channels = self.patterns(f.get("channels"));
        let mut images = Vec::new();
        if let Some(list) = f.get("images") {
            for item in self.list(list, "a list of images").unwrap_or(&[]) {
                if let Some(image) = self.image(item) {
                    images.push(image);
                }
            }
        }

        if self.errors.len() > errors_before {
            return None;
        }
        let ((_, id), (owner, name)) = (id?, github?);
        Some(UpstreamSpec {
            id: id.to_owned(),
            owner,
            name,
            moved_from,
            versioning: versioning?,
            release_tag,
            prereleases: prereleases?,
            ignore_tags,
            channels,
            images,
            origin: self.origin,
            defined_at: Some(self.location(node)),
        })
    }

    fn prereleases(&mut self, node: &Node) -> Option<PrereleasePolicy> {
        let f = self.fields(node, PRERELEASE_KEYS, "the pre-release conventions")?;
        let mut policy = PrereleasePolicy::default();
        if let Some(n) = f.get("offer") {
            policy.offer = self.boolean(n)?;
        }
        if let Some(n) = f.get("github_flag") {
            policy.github_flag = self.boolean(n)?;
        }
        Some(policy)
    }

    fn image(&mut self, node: &Node) -> Option<ImageSpec> {
        let f = self.fields(node, IMAGE_KEYS, "an image")?;
        let errors_before = self.errors.len();
        let name = self
            .required(
                &f,
                "name",
                "the image repository without a tag, e.g. `ghcr.io/paradigmxyz/reth`",
            )
            .and_then(|(n, s)| self.image_name(n, s));
        let tag = match f.get("tag") {
            None => Some(TagTemplate::default()),
            Some(n) => self.template(n),
        };
        let mut variants = Vec::new();
        if let Some(list) = f.get("variants") {
            for item in self.list(list, "a list of variants").unwrap_or(&[]) {
                if let Some(v) = self.variant(item) {
                    variants.push(v);
                }
            }
        }
        let minor_tags = match f.get("minor_tags") {
            None => Some(false),
            Some(n) => self.boolean(n),
        };
        let version_format = match f.get("version_format") {
            None => Some(VersionFormat::AsTagged),
            Some(n) => match self.string(n, "`as-tagged` or `pep440`") {
                Some("as-tagged") => Some(VersionFormat::AsTagged),
                Some("pep440") => Some(VersionFormat::Pep440),
                Some(other) => {
                    self.error(
                        n,
                        format!(
                            "unknown version_format `{other}`: expected `as-tagged` or `pep440`"
                        ),
                    );
                    None
                }
                None => None,
            },
        };
        let superseded_by = match f.get("superseded_by") {
            None => Some(None),
            Some(n) => self
                .string(n, "an image name")
                .and_then(|s| self.image_name(n, s))
                .map(Some),
        };
        if self.errors.len() > errors_before {
            return None;
        }
        let mut spec = ImageSpec::new(name?, tag?);
        spec.variants = variants;
        spec.minor_tags = minor_tags?;
        spec.version_format = version_format?;
        spec.superseded_by = superseded_by?;
        spec.defined_at = Some(self.location(node));
        Some(spec)
    }

    fn variant(&mut self, node: &Node) -> Option<Variant> {
        let s = self.string(node, "a variant")?;
        if let Some(body) = s.strip_prefix('-') {
            let b = body.as_bytes();
            let ok = matches!((b.first(), b.last()), (Some(f), Some(l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric())
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
                && b.iter().any(u8::is_ascii_alphabetic);
            if ok {
                return Some(Variant::Suffix(s.to_owned()));
            }
            self.error(
                node,
                format!("invalid variant suffix `{s}`: expected `-` then letters, digits, `.`, `-`, `_`, with at least one letter, ending in a letter or digit (`-modern`)"),
            );
            return None;
        }
        if s.contains("{version}") {
            return match TagTemplate::parse(s) {
                Ok(t) => Some(Variant::Template(t)),
                Err(e) => {
                    self.error(node, e.to_string());
                    None
                }
            };
        }
        self.error(
            node,
            format!("invalid variant `{s}`: expected a suffix starting with `-` (`-modern`) or a tag template with `{{version}}` (`amd64-v{{version}}`)"),
        );
        None
    }

    /// A tag template; `None` after reporting an error.
    fn template(&mut self, node: &Node) -> Option<TagTemplate> {
        let s = self.string(node, "a tag template such as `v{version}`")?;
        match TagTemplate::parse(s) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(node, e.to_string());
                None
            }
        }
    }

    fn patterns(&mut self, node: Option<&Node>) -> Vec<Pattern> {
        let Some(node) = node else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in self.list(node, "a list of tag patterns").unwrap_or(&[]) {
            let Some(s) = self.string(item, "a tag pattern") else {
                continue;
            };
            match Pattern::new(s) {
                Ok(p) => out.push(p),
                Err(message) => self.error(item, message),
            }
        }
        out
    }

    fn image_name(&mut self, node: &Node, s: &str) -> Option<String> {
        let plain = image::split(s).is_some_and(|p| p.tag.is_none() && p.digest.is_none());
        if plain && image::is_valid_name(s) {
            return Some(s.to_owned());
        }
        let hint = if s.contains(['@', ':']) && !s.contains("://") {
            " (write the repository only, without a tag or digest)"
        } else {
            ""
        };
        self.error(
            node,
            format!("invalid image name `{s}`: expected `[registry/]repository`, lowercase{hint}"),
        );
        None
    }

    fn repo(&mut self, node: &Node, s: &str) -> Option<(String, String)> {
        let ok = s.split_once('/').filter(|(o, n)| {
            o.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
                && o.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !n.is_empty()
                && n.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        });
        match ok {
            Some((o, n)) => Some((o.to_owned(), n.to_owned())),
            None => {
                self.error(
                    node,
                    format!("invalid GitHub repository `{s}`: expected `owner/name`"),
                );
                None
            }
        }
    }

    /// The known entries of a mapping; unknown and repeated keys are errors.
    fn fields<'n>(&mut self, node: &'n Node, allowed: &[&str], what: &str) -> Option<Fields<'n>> {
        let Some(map) = node.map() else {
            self.error(
                node,
                format!("expected {what} (a mapping), found {}", describe(node)),
            );
            return None;
        };
        let mut entries: Vec<(&str, &Node, &Node)> = Vec::with_capacity(map.len());
        for (k, v) in map {
            let Some(key) = k.str() else {
                self.error(k, "expected a plain string key");
                continue;
            };
            if let Some((_, first, _)) = entries.iter().find(|(e, _, _)| *e == key) {
                let (line, column) = (first.line, first.column);
                self.error(
                    k,
                    format!("duplicate field `{key}` (first at line {line}, column {column})"),
                );
                continue;
            }
            if !allowed.contains(&key) {
                self.error(
                    k,
                    format!(
                        "unknown field `{key}` in {what}, expected one of {}",
                        allowed
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                continue;
            }
            entries.push((key, k, v));
        }
        Some(Fields { node, entries })
    }

    fn required<'n>(
        &mut self,
        f: &Fields<'n>,
        key: &str,
        expected: &str,
    ) -> Option<(&'n Node, &'n str)> {
        match f.get(key) {
            Some(n) => self.string(n, expected).map(|s| (n, s)),
            None => {
                self.error(
                    f.node,
                    format!("missing field `{key}`: expected {expected}"),
                );
                None
            }
        }
    }

    fn string<'n>(&mut self, node: &'n Node, expected: &str) -> Option<&'n str> {
        match node.scalar() {
            Some(s) if s.style != Style::Block && !(s.style == Style::Plain && is_null(node)) => {
                Some(s.value.as_str())
            }
            _ => {
                self.error(
                    node,
                    format!("expected {expected}, found {}", describe(node)),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node) -> Option<bool> {
        match node.scalar() {
            Some(s) if s.style == Style::Plain && s.value == "true" => Some(true),
            Some(s) if s.style == Style::Plain && s.value == "false" => Some(false),
            _ => {
                self.error(
                    node,
                    format!("expected `true` or `false`, found {}", describe(node)),
                );
                None
            }
        }
    }

    fn list<'n>(&mut self, node: &'n Node, expected: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ if is_null(node) => Some(&[]),
            _ => {
                self.error(
                    node,
                    format!("expected {expected}, found {}", describe(node)),
                );
                None
            }
        }
    }
}

/// An id: `[a-z0-9][a-z0-9-]*`.
fn valid_id(id: &str) -> bool {
    id.as_bytes()
        .first()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// A plain `~`, `null` or empty scalar.
fn is_null(node: &Node) -> bool {
    node.scalar().is_some_and(|s| {
        s.style == Style::Plain && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
    })
}

/// What a node is, for error messages.
fn describe(node: &Node) -> String {
    match &node.value {
        Value::Map(_) => "a mapping".to_owned(),
        Value::Seq(_) => "a list".to_owned(),
        Value::Scalar(_) if is_null(node) => "nothing (null)".to_owned(),
        Value::Scalar(s) if s.style == Style::Block => "a block scalar".to_owned(),
        Value::Scalar(s) => format!("`{}`", s.value),
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
                "c.yml:7:9: unknown field `tga` in an image, expected one of `name`, `tag`, `variants`, `minor_tags`, `version_format`, `superseded_by`"
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
        assert!(errors("version: 1\nupstreams: x\n")[0].starts_with("c.yml:2:12: expected a list"));
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
        assert!(errors(&text)[0].contains("expected `true` or `false`"));
    }
}
