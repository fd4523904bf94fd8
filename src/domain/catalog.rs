//! The catalog: which upstream publishes a container image, how that
//! upstream's release tags read, and how a release becomes an image tag.
//!
//! The built-in catalog lives in `rules/catalog/*.yml` (format documented in
//! `rules/catalog/README.md`) and is compiled into the binary with
//! `include_str!`. It can be extended by catalog files of the same format
//! ([`Catalog::extend_from_path`]) and by the `upstreams:` of the settings
//! ([`Catalog::merge_settings`]). Every problem in a catalog file is a
//! [`CatalogError`] with its file, line and column; one load reports all the
//! problems it finds.
//!
//! Questions it answers:
//! - [`Catalog::lookup`]: the upstream and image spec of an image name
//!   (compared the way Docker resolves names: `sigp/lighthouse` is
//!   `docker.io/sigp/lighthouse`);
//! - [`UpstreamSpec::release_version`]: the [`Version`] of a release tag
//!   (`None` for tags that are not releases of that upstream);
//! - [`ImageMatch::version_of`]: the version and variant of an image tag
//!   (`None` for channel and junk tags such as `latest`, `stable`,
//!   `multiarch-latest`);
//! - [`ImageMatch::tag_for`] / [`ImageMatch::retag`]: the image tag of a
//!   release in a given variant, or in the same form as a current tag;
//! - [`ImageMatch::offers`]: which releases of a history a reference may
//!   move to (aliases, hotfixes, pre-release policy), newest first.
//!
//! Pure: no network, no clock, no global state; the only file reads are the
//! catalog files a caller names. It never panics on input. Whether a target
//! is published, and which findings it carries, is `check`'s job.

mod file;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::domain::manifest::image;
use crate::domain::release::Release;
use crate::domain::settings;
use crate::domain::version::{PreKind, Scheme, Tag, TagTemplate, Version, is_junk};

/// The built-in catalog files, as shipped in the binary.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "rules/catalog/ethereum-execution.yml",
        include_str!("../../rules/catalog/ethereum-execution.yml"),
    ),
    (
        "rules/catalog/ethereum-consensus.yml",
        include_str!("../../rules/catalog/ethereum-consensus.yml"),
    ),
    (
        "rules/catalog/ethereum-tools.yml",
        include_str!("../../rules/catalog/ethereum-tools.yml"),
    ),
    (
        "rules/catalog/monitoring.yml",
        include_str!("../../rules/catalog/monitoring.yml"),
    ),
];

/// Longest image tag Docker accepts.
const MAX_TAG_LEN: usize = 128;

// ---- errors ---------------------------------------------------------------

pub use crate::domain::located::{Located as CatalogError, Problems as CatalogErrors};

// ---- the data -------------------------------------------------------------

/// Where an entry was defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Which layer an upstream comes from (the last one to change it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `rules/catalog/` in the binary.
    Builtin,
    /// A catalog file named by the user.
    File,
    /// The `upstreams:` of the settings.
    Settings,
}

/// How an upstream marks pre-releases, and whether to offer them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrereleasePolicy {
    /// Offer pre-releases as upgrade targets (default false).
    pub offer: bool,
    /// GitHub's "pre-release" flag means a pre-release (default true). The
    /// tag's own grammar (`-rc.1`, `-RC1`, `.rc1`) always counts.
    pub github_flag: bool,
}

impl Default for PrereleasePolicy {
    fn default() -> Self {
        PrereleasePolicy {
            offer: false,
            github_flag: true,
        }
    }
}

/// A tag pattern: `*` is any run of characters, `?` one character, `[...]`
/// a class; matched case-insensitively against the whole tag.
#[derive(Clone, Debug)]
pub struct Pattern {
    text: String,
    matcher: globset::GlobMatcher,
}

impl Pattern {
    /// Compiles a pattern; the error says why it is invalid.
    pub fn new(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("empty tag pattern".to_owned());
        }
        let glob = globset::GlobBuilder::new(text)
            .case_insensitive(true)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("invalid tag pattern `{text}`: {}", e.kind()))?;
        Ok(Pattern {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    /// Whether `tag` matches.
    pub fn matches(&self, tag: &str) -> bool {
        self.matcher.is_match(tag)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A known variant of an image's tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Variant {
    /// A suffix after the templated tag: `-modern` in `v5.3.0-modern`.
    Suffix(String),
    /// Another spelling of the whole tag: `amd64-v{version}` next to
    /// nimbus's default `multiarch-v{version}`.
    Template(TagTemplate),
}

impl Variant {
    /// Reads a variant as written in a catalog or settings file: a suffix
    /// starting with `-` (`-modern`) or a tag template (`amd64-v{version}`).
    /// The error says why it is neither.
    pub fn parse(s: &str) -> Result<Variant, String> {
        if let Some(body) = s.strip_prefix('-') {
            let b = body.as_bytes();
            let ok = matches!((b.first(), b.last()), (Some(f), Some(l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric())
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
                && b.iter().any(u8::is_ascii_alphabetic);
            if ok {
                return Ok(Variant::Suffix(s.to_owned()));
            }
            return Err(format!(
                "invalid variant suffix `{s}`: expected `-` then letters, digits, `.`, `-`, `_`, with at least one letter, ending in a letter or digit (`-modern`)"
            ));
        }
        if s.contains("{version}") {
            return TagTemplate::parse(s)
                .map(Variant::Template)
                .map_err(|e| e.to_string());
        }
        Err(format!(
            "invalid variant `{s}`: expected a suffix starting with `-` (`-modern`) or a tag template with `{{version}}` (`amd64-v{{version}}`)"
        ))
    }
}

impl fmt::Display for Variant {
    /// The variant key: the suffix, or the template text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Variant::Suffix(s) => f.write_str(s),
            Variant::Template(t) => write!(f, "{t}"),
        }
    }
}

/// What a client does in an Ethereum node: the layers a fork readiness
/// check needs ([`crate::domain::readiness`]). Written `role:` on a catalog
/// upstream (its images' default) or image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// An execution client (geth, nethermind, besu, erigon, reth).
    Execution,
    /// A consensus client: a beacon node, or its validator client when the
    /// image or the reference says so.
    Consensus,
    /// A validator client image (prysm's `validator`, lodestar run as `vc`).
    Validator,
    /// A remote signer (web3signer).
    Signer,
    /// MEV-Boost.
    MevBoost,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Execution => "execution",
            Role::Consensus => "consensus",
            Role::Validator => "validator",
            Role::Signer => "signer",
            Role::MevBoost => "mev-boost",
        }
    }

    /// The role written in a catalog file.
    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Execution,
            Role::Consensus,
            Role::Validator,
            Role::Signer,
            Role::MevBoost,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// How a release's version is written inside image tags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VersionFormat {
    /// As in the release tag (`1.2.3-rc.1`).
    #[default]
    AsTagged,
    /// PEP 440 normal form, as docker/metadata-action's `type=pep440`
    /// writes it: `1.9-alpha1` becomes `1.9a1`, `1.9.0-rc2` `1.9.0rc2`.
    Pep440,
}

/// An image an upstream publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSpec {
    /// The repository as written (`sigp/lighthouse`, `ghcr.io/paradigmxyz/reth`).
    pub name: String,
    /// The tag template of a release (`v{version}`).
    pub tag: TagTemplate,
    /// Known variants: suffixes and alternative templates.
    pub variants: Vec<Variant>,
    /// The image also carries a rolling `MAJOR.MINOR` tag per release
    /// (teku `25.11`, mev-boost `1.8`).
    pub minor_tags: bool,
    pub version_format: VersionFormat,
    /// This image gets no new releases; they go to this one instead.
    pub superseded_by: Option<String>,
    /// What the image runs, when it differs from its upstream's role.
    pub role: Option<Role>,
    pub defined_at: Option<Location>,
    /// Normalised, lowercased name: the lookup key.
    key: String,
}

impl ImageSpec {
    /// An image with defaults: no variants, no minor tags, as-tagged.
    pub fn new(name: impl Into<String>, tag: TagTemplate) -> Self {
        let name = name.into();
        ImageSpec {
            key: image_key(&name),
            name,
            tag,
            variants: Vec::new(),
            minor_tags: false,
            version_format: VersionFormat::AsTagged,
            superseded_by: None,
            role: None,
            defined_at: None,
        }
    }

    /// Docker's canonical form of the name (`docker.io/sigp/lighthouse`).
    pub fn canonical_name(&self) -> &str {
        &self.key
    }
}

/// An upstream: a GitHub repository whose releases are tracked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamSpec {
    /// Short name (`lighthouse`); for settings entries, the repository name.
    pub id: String,
    pub owner: String,
    pub name: String,
    /// Former `owner/name`s (GitHub redirects them).
    pub moved_from: Vec<String>,
    pub versioning: Scheme,
    /// The scheme of tags from before the project changed its scheme
    /// (nimbus's `v1.7.0` before `v22.x` CalVer): tags that `versioning`
    /// cannot read are read with it. Such a project's old versions must
    /// sort below its new ones (as CalVer years do above small majors).
    pub legacy_versioning: Option<Scheme>,
    /// How release tags are written (`v{version}`); `None`: an optional `v`
    /// (or, for a `regex:` scheme, what the pattern spells).
    pub release_tag: Option<TagTemplate>,
    pub prereleases: PrereleasePolicy,
    /// Release tags that are never releases (`*-exp`).
    pub ignore_tags: Vec<Pattern>,
    /// Moving image tags that are never versions (`latest`, `stable`).
    pub channels: Vec<Pattern>,
    pub images: Vec<ImageSpec>,
    /// What the upstream's clients do in a node (`role:`), when known.
    pub role: Option<Role>,
    pub origin: Origin,
    pub defined_at: Option<Location>,
}

impl UpstreamSpec {
    /// `owner/name`.
    pub fn repo(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// Whether `repo` (`owner/name`, any case) is this upstream, under its
    /// current or a former name.
    pub fn is_repo(&self, repo: &str) -> bool {
        let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
        (owner.eq_ignore_ascii_case(&self.owner) && name.eq_ignore_ascii_case(&self.name))
            || self.moved_from.iter().any(|m| m.eq_ignore_ascii_case(repo))
    }

    /// Whether `tag` is one of this upstream's channel tags (or junk such as
    /// `latest`, `main`, a commit hash).
    pub fn is_channel(&self, tag: &str) -> bool {
        is_junk(tag) || self.channels.iter().any(|p| p.matches(tag))
    }

    /// The version of a release tag: `v25.4.1` gives `25.4.1` for nimbus.
    /// `None` for tags that are not releases: junk, ignored patterns, tags
    /// that do not fit the release template or carry a variant suffix
    /// (`v4.6.111-exp`, `eth2-ssz-v0.4.1`).
    pub fn release_version(&self, tag: &str) -> Option<Version> {
        if tag.len() > MAX_TAG_LEN
            || is_junk(tag)
            || self.ignore_tags.iter().any(|p| p.matches(tag))
        {
            return None;
        }
        self.schemes().find_map(|scheme| match &self.release_tag {
            Some(t) => {
                let m = t.match_tag(scheme, tag)?;
                m.variant.is_none().then_some(m.version)
            }
            None => {
                let t = Tag::parse(scheme, tag)?;
                let prefix_ok =
                    matches!(scheme, Scheme::Regex(_)) || matches!(t.prefix(), "" | "v" | "V");
                (prefix_ok && t.variant().is_none()).then(|| t.version().clone())
            }
        })
    }

    /// The scheme, then the legacy scheme if any.
    fn schemes(&self) -> impl Iterator<Item = &Scheme> {
        std::iter::once(&self.versioning).chain(self.legacy_versioning.as_ref())
    }

    /// Whether a release is a pre-release: its version says so (`-rc.1`), or
    /// GitHub's flag is set and this upstream's flag is meaningful.
    pub fn is_prerelease(&self, version: &Version, github_flag: bool) -> bool {
        version.is_prerelease() || (self.prereleases.github_flag && github_flag)
    }

    /// Whether a release may be offered as an upgrade target under the
    /// pre-release policy.
    pub fn offers(&self, version: &Version, github_flag: bool) -> bool {
        self.prereleases.offer || !self.is_prerelease(version, github_flag)
    }
}

/// A release offered to a reference ([`ImageMatch::offers`]).
#[derive(Clone, Debug)]
pub struct Offer<'r> {
    pub release: &'r Release,
    pub version: Version,
    /// The image tag of the release in the reference's form.
    pub tag: String,
}

/// The version and variant read from an image tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageTag {
    pub version: Version,
    /// The variant key: `None` for the default form, a suffix (`-modern`,
    /// `-amd64-dev`), or an alternative template with any suffix folded in
    /// (`amd64-v{version}`). Give it back to [`ImageMatch::tag_for`] to
    /// write another version in the same form.
    pub variant: Option<String>,
}

/// An image found in the catalog.
#[derive(Clone, Copy, Debug)]
pub struct ImageMatch<'a> {
    pub upstream: &'a UpstreamSpec,
    pub image: &'a ImageSpec,
}

impl ImageMatch<'_> {
    /// Reads an image tag: the version and variant of `v5.3.0-modern`,
    /// `multiarch-v25.4.1`, `amd64-v25.4.1`, `1.8`. `None` for channel and
    /// junk tags (`latest`, `stable`, `multiarch-latest`) and for tags that
    /// do not fit the image's templates.
    ///
    /// Known suffix variants are taken off before the version is read, so a
    /// suffix that looks like a pre-release (lighthouse's `-dev` build) stays
    /// a variant. Unknown suffixes are kept as variants too.
    pub fn version_of(&self, tag: &str) -> Option<ImageTag> {
        if tag.len() > MAX_TAG_LEN || self.upstream.is_channel(tag) {
            return None;
        }
        self.upstream
            .schemes()
            .find_map(|scheme| self.version_under(scheme, tag))
    }

    fn version_under(&self, scheme: &Scheme, tag: &str) -> Option<ImageTag> {
        let image = self.image;
        let mut suffixes: Vec<&str> = image
            .variants
            .iter()
            .filter_map(|v| match v {
                Variant::Suffix(s) => Some(s.as_str()),
                Variant::Template(_) => None,
            })
            .collect();
        suffixes.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for suffix in suffixes {
            if let Some(rest) = tag.strip_suffix(suffix)
                && let Some(m) = image.tag.match_tag(scheme, rest)
            {
                let variant = format!("{}{suffix}", m.variant.as_deref().unwrap_or(""));
                return Some(ImageTag {
                    version: m.version,
                    variant: Some(variant),
                });
            }
        }
        if let Some(m) = image.tag.match_tag(scheme, tag) {
            return Some(ImageTag {
                version: m.version,
                variant: m.variant,
            });
        }
        image.variants.iter().find_map(|v| match v {
            Variant::Template(t) => t.match_tag(scheme, tag).map(|m| ImageTag {
                version: m.version,
                variant: Some(format!("{t}{}", m.variant.as_deref().unwrap_or(""))),
            }),
            Variant::Suffix(_) => None,
        })
    }

    /// The image tag of `release` in `variant` (a key from
    /// [`ImageTag::variant`], or `None` for the default form): nimbus
    /// `25.4.1` → `multiarch-v25.4.1`, mev-boost `1.9.0` → `1.9.0`,
    /// lighthouse `7.0.0` with `-modern` → `v7.0.0-modern`.
    ///
    /// Build metadata is written with `-` (Docker tags cannot hold `+`).
    /// `None` when the version cannot be written in the image's version
    /// format or the result is not a valid Docker tag.
    pub fn tag_for(&self, release: &Version, variant: Option<&str>) -> Option<String> {
        let text = match self.image.version_format {
            VersionFormat::AsTagged => release.as_str().replace('+', "-"),
            VersionFormat::Pep440 => pep440(release)?,
        };
        self.render(&text, variant)
    }

    /// The tag of `release` written like `current` (same variant and, for
    /// images with rolling `MAJOR.MINOR` tags, the same precision): `current`
    /// `v5.3.0-modern` and release `7.0.0` give `v7.0.0-modern`; teku `25.1`
    /// and `25.4.1` give `25.4`. `None` when `current` is not a version of
    /// this image or `release` cannot be written in its form (a different
    /// number of version parts).
    pub fn retag(&self, current: &str, release: &Version) -> Option<String> {
        let cur = self.version_of(current)?;
        let want = cur.version.parts().len();
        let have = release.parts().len();
        if self.image.minor_tags && want == 2 && have > 2 {
            if release.is_prerelease() || release.build().is_some() {
                return None;
            }
            let parts = release.parts();
            let text = format!("{}.{}", parts[0], parts[1]);
            return self.render(&text, cur.variant.as_deref());
        }
        // The release's own number of parts: `22.12.8.1` moves to `23.1.0`
        // and `v3.1` to `v3.2.0` (aliases are left out by `offers`).
        self.tag_for(release, cur.variant.as_deref())
    }

    /// The releases offered to a reference whose tag is `current`, newest
    /// first, each with the image tag it gives; `None` when `current` is no
    /// version of this image (a channel or junk tag).
    ///
    /// The policy:
    /// - drafts, junk and tags that are no release of the upstream are
    ///   never offered; a hotfix (`v4.0.3-hotfix`) is a final release;
    /// - a release whose tag is a shorter alias of another release (`v2.4`
    ///   beside `v2.4.0`) is not offered, the longer tag is; and once the
    ///   history shows the upstream publishing such aliases, no final tag
    ///   of that length is offered (its longer twin may come later);
    /// - a reference on a final release is offered final releases, and
    ///   pre-releases too where the upstream's `prereleases.offer` is set;
    /// - a reference on a pre-release is offered the final releases newer
    ///   than it (at or above its base version) when there is one, else
    ///   newer pre-releases where `prereleases.offer` is set, else nothing;
    /// - the target keeps the reference's variant (and, for rolling
    ///   `MAJOR.MINOR` tags, that precision); a release whose image tag
    ///   cannot be written, or is the current tag, is left out.
    pub fn offers<'r>(&self, current: &str, releases: &'r [Release]) -> Option<Vec<Offer<'r>>> {
        let cur = self.version_of(current)?;
        let up = self.upstream;
        let history: Vec<(&Release, Version, bool)> = releases
            .iter()
            .filter(|r| !r.draft)
            .filter_map(|r| {
                let v = up.release_version(&r.tag_name)?;
                let pre = up.is_prerelease(&v, r.prerelease);
                Some((r, v, pre))
            })
            .collect();
        // Lengths of final tags that are shorter twins of another final tag
        // of the same version (`v1.8` beside `v1.8.0`).
        let mut finals: Vec<&Version> = history
            .iter()
            .filter(|(_, _, pre)| !pre)
            .map(|(_, v, _)| v)
            .collect();
        finals.sort_by(|a, b| a.cmp_precedence(b));
        let mut alias_lengths: Vec<usize> = Vec::new();
        for twins in finals.chunk_by(|a, b| a.cmp_precedence(b) == std::cmp::Ordering::Equal) {
            let longest = twins.iter().map(|v| v.parts().len()).max().unwrap_or(0);
            alias_lengths.extend(
                twins
                    .iter()
                    .map(|v| v.parts().len())
                    .filter(|&n| n < longest),
            );
        }
        let newer: Vec<(&Release, Version, bool)> = history
            .into_iter()
            .filter(|(_, v, pre)| *pre || !alias_lengths.contains(&v.parts().len()))
            .filter(|(_, v, _)| v.cmp_precedence(&cur.version) == std::cmp::Ordering::Greater)
            .collect();
        let final_newer = newer.iter().any(|(_, _, pre)| !pre);
        let take_pre = up.prereleases.offer && !(cur.version.is_prerelease() && final_newer);
        let mut out: Vec<Offer<'r>> = newer
            .into_iter()
            .filter(|(_, _, pre)| !pre || take_pre)
            .filter_map(|(release, version, _)| {
                let tag = self.retag(current, &version)?;
                (tag != current).then_some(Offer {
                    release,
                    version,
                    tag,
                })
            })
            .collect();
        out.sort_by(|a, b| b.version.cmp_precedence(&a.version));
        Some(out)
    }

    fn render(&self, version_text: &str, variant: Option<&str>) -> Option<String> {
        let fill = |t: &TagTemplate| t.to_string().replacen("{version}", version_text, 1);
        let tag = match variant {
            None => fill(&self.image.tag),
            Some(v) if v.starts_with('-') => fill(&self.image.tag) + v,
            Some(v) => fill(&TagTemplate::parse(v).ok()?),
        };
        image::is_valid_tag(&tag).then_some(tag)
    }
}

/// PEP 440 normal form of a version: `1.9-alpha1` → `1.9a1`,
/// `1.9.0-rc.2` → `1.9.0rc2`, `1.9-dev1` → `1.9.dev1`. `None` for other
/// pre-release kinds and for build metadata.
fn pep440(v: &Version) -> Option<String> {
    if v.build().is_some() || v.is_hotfix() {
        return None;
    }
    let mut out = v
        .parts()
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".");
    if let Some(pre) = v.pre() {
        let word = match pre.kind() {
            PreKind::Alpha => "a",
            PreKind::Beta => "b",
            PreKind::Rc => "rc",
            PreKind::Dev => ".dev",
            _ => return None,
        };
        out.push_str(word);
        out.push_str(&pre.number().unwrap_or(0).to_string());
    }
    Some(out)
}

/// An image reference resolved through the catalog.
#[derive(Clone, Debug)]
pub struct Resolved<'a> {
    pub matched: ImageMatch<'a>,
    /// The tag written in the reference, if any.
    pub tag: Option<String>,
    /// What the tag means; `None` without a tag, or for channel tags.
    pub version: Option<ImageTag>,
}

/// The lookup key of an image name: Docker's canonical form, lowercased.
fn image_key(name: &str) -> String {
    image::normalize(name).to_ascii_lowercase()
}

// ---- the catalog ----------------------------------------------------------

/// Upstreams and the images they publish, with a lookup by image name.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    upstreams: Vec<UpstreamSpec>,
    /// Image key → (upstream index, image index).
    index: HashMap<String, (usize, usize)>,
}

impl Catalog {
    /// The built-in catalog (`rules/catalog/*.yml`).
    pub fn builtin() -> Result<Catalog, CatalogErrors> {
        Catalog::from_sources(BUILTIN_FILES, Origin::Builtin)
    }

    /// The built-in catalog with the settings' `upstreams:` merged in.
    pub fn with_settings(settings: &settings::Settings) -> Result<Catalog, CatalogErrors> {
        let mut catalog = Catalog::builtin()?;
        catalog.merge_settings(&settings.upstreams);
        Ok(catalog)
    }

    /// A catalog of the given files (`(name, text)`), which must not define
    /// an id, repository or image twice.
    pub fn from_sources(files: &[(&str, &str)], origin: Origin) -> Result<Catalog, CatalogErrors> {
        let upstreams = parse_all(files, origin)?;
        let mut catalog = Catalog {
            upstreams,
            index: HashMap::new(),
        };
        catalog.reindex();
        Ok(catalog)
    }

    /// Adds the upstreams of a catalog file. An upstream whose repository
    /// (or former name) is already known replaces it whole; an image claimed
    /// by another upstream moves to the new one.
    pub fn extend_from_str(&mut self, file: &str, text: &str) -> Result<(), CatalogErrors> {
        let added = parse_all(&[(file, text)], Origin::File)?;
        for up in added {
            self.install(up);
        }
        self.reindex();
        Ok(())
    }

    /// Adds a catalog file, or every `*.yml`/`*.yaml` file of a directory
    /// (in name order), as [`extend_from_str`](Catalog::extend_from_str)
    /// does. Files are checked together: nothing is added unless all load.
    pub fn extend_from_path(&mut self, path: &Path) -> Result<(), CatalogErrors> {
        let shown = path.display().to_string();
        let mut files = Vec::new();
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| {
                CatalogErrors(vec![CatalogError::whole(
                    &shown,
                    format!("cannot read the catalog directory: {e}"),
                )])
            })?;
            let mut paths: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
                .collect();
            paths.sort();
            files.extend(paths);
        } else {
            files.push(path.to_path_buf());
        }
        let mut texts = Vec::new();
        let mut errors = Vec::new();
        for p in &files {
            let name = p.display().to_string();
            match std::fs::read(p) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => texts.push((name, text)),
                    Err(e) => errors.push(CatalogError::whole(
                        name,
                        format!(
                            "not UTF-8 text (invalid byte at offset {}): expected a YAML file",
                            e.utf8_error().valid_up_to()
                        ),
                    )),
                },
                Err(e) => errors.push(CatalogError::whole(
                    name,
                    format!("cannot read the catalog file: {e}"),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(CatalogErrors(errors));
        }
        let borrowed: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let added = parse_all(&borrowed, Origin::File)?;
        for up in added {
            self.install(up);
        }
        self.reindex();
        Ok(())
    }

    /// Merges the settings' `upstreams:`. For a known repository (or former
    /// name) the versioning, release tag template and pre-release policy an
    /// entry writes replace the catalogued ones (what it leaves out stays),
    /// its tag patterns are added; its images replace the tag template (and
    /// the variants and minor tags they write) of a known image or are
    /// added. Other
    /// entries are new upstreams. An image mapped here leaves any other
    /// upstream that claimed it.
    pub fn merge_settings(&mut self, upstreams: &[settings::Upstream]) {
        for u in upstreams {
            let repo = u.repo();
            let at = match self.upstreams.iter().position(|x| x.is_repo(&repo)) {
                Some(i) => {
                    let up = &mut self.upstreams[i];
                    if let Some(versioning) = &u.versioning {
                        up.versioning = versioning.clone();
                    }
                    if let Some(offer) = u.prereleases {
                        up.prereleases.offer = offer;
                    }
                    if let Some(flag) = u.github_prerelease_flag {
                        up.prereleases.github_flag = flag;
                    }
                    if let Some(t) = &u.release_tag {
                        up.release_tag = Some(t.clone());
                    }
                    up.ignore_tags.extend(u.ignore_tags.iter().cloned());
                    up.channels.extend(u.channels.iter().cloned());
                    up.origin = Origin::Settings;
                    i
                }
                None => {
                    let mut id = u.name.to_ascii_lowercase();
                    if self.upstreams.iter().any(|x| x.id == id) {
                        id = format!("{}-{id}", u.owner.to_ascii_lowercase());
                    }
                    self.upstreams.push(UpstreamSpec {
                        id,
                        owner: u.owner.clone(),
                        name: u.name.clone(),
                        moved_from: Vec::new(),
                        versioning: u.versioning.clone().unwrap_or_default(),
                        legacy_versioning: None,
                        release_tag: u.release_tag.clone(),
                        prereleases: PrereleasePolicy {
                            offer: u.prereleases.unwrap_or(false),
                            github_flag: u.github_prerelease_flag.unwrap_or(true),
                        },
                        ignore_tags: u.ignore_tags.clone(),
                        channels: u.channels.clone(),
                        images: Vec::new(),
                        role: None,
                        origin: Origin::Settings,
                        defined_at: None,
                    });
                    self.upstreams.len() - 1
                }
            };
            for mapping in &u.images {
                let key = image_key(&mapping.name);
                for (j, other) in self.upstreams.iter_mut().enumerate() {
                    if j != at {
                        other.images.retain(|i| i.key != key);
                    }
                }
                let up = &mut self.upstreams[at];
                let spec = match up.images.iter_mut().position(|i| i.key == key) {
                    Some(j) => {
                        up.images[j].tag = mapping.tag.clone();
                        &mut up.images[j]
                    }
                    None => {
                        up.images
                            .push(ImageSpec::new(mapping.name.clone(), mapping.tag.clone()));
                        let last = up.images.len() - 1;
                        &mut up.images[last]
                    }
                };
                if !mapping.variants.is_empty() {
                    spec.variants = mapping.variants.clone();
                }
                if let Some(minor) = mapping.minor_tags {
                    spec.minor_tags = minor;
                }
            }
        }
        self.reindex();
    }

    /// Every upstream, built-in ones first, in file order.
    pub fn upstreams(&self) -> &[UpstreamSpec] {
        &self.upstreams
    }

    /// The upstream of a repository (`owner/name`, any case, current or
    /// former name).
    pub fn upstream(&self, repo: &str) -> Option<&UpstreamSpec> {
        self.upstreams.iter().find(|u| u.is_repo(repo))
    }

    /// The upstream and image spec of an image name, compared as Docker
    /// resolves names (`sigp/lighthouse` = `docker.io/sigp/lighthouse` =
    /// `index.docker.io/sigp/lighthouse`). A tag or digest in `image` is
    /// ignored. `None`: the image is not catalogued.
    pub fn lookup(&self, image: &str) -> Option<ImageMatch<'_>> {
        let name = match image::split(image) {
            Some(parts) => image.get(parts.name)?,
            None => image,
        };
        let &(u, i) = self.index.get(&image_key(name))?;
        let upstream = self.upstreams.get(u)?;
        Some(ImageMatch {
            upstream,
            image: upstream.images.get(i)?,
        })
    }

    /// Looks up a whole reference (`sigp/lighthouse:v5.3.0-modern`) and reads
    /// its tag.
    pub fn resolve(&self, reference: &str) -> Option<Resolved<'_>> {
        let parts = image::split(reference)?;
        let matched = self.lookup(reference.get(parts.name)?)?;
        let tag = parts.tag.and_then(|r| reference.get(r)).map(str::to_owned);
        let version = tag.as_deref().and_then(|t| matched.version_of(t));
        Some(Resolved {
            matched,
            tag,
            version,
        })
    }

    /// [`ImageMatch::tag_for`]: the image tag of a release in a variant.
    pub fn image_tag_for(
        &self,
        spec: &ImageMatch<'_>,
        release: &Version,
        variant: Option<&str>,
    ) -> Option<String> {
        spec.tag_for(release, variant)
    }

    /// [`ImageMatch::version_of`]: the version and variant of an image tag.
    pub fn version_of_image_tag(&self, spec: &ImageMatch<'_>, tag: &str) -> Option<ImageTag> {
        spec.version_of(tag)
    }

    /// Puts `up` in place of the upstream with the same repository, or adds
    /// it; images it lists leave other upstreams.
    fn install(&mut self, up: UpstreamSpec) {
        let keys: Vec<&str> = up.images.iter().map(|i| i.key.as_str()).collect();
        let same =
            |x: &UpstreamSpec| x.is_repo(&up.repo()) || up.moved_from.iter().any(|m| x.is_repo(m));
        let at = self.upstreams.iter().position(same);
        for (j, other) in self.upstreams.iter_mut().enumerate() {
            if Some(j) != at {
                other.images.retain(|i| !keys.contains(&i.key.as_str()));
            }
        }
        match at {
            Some(i) => self.upstreams[i] = up,
            None => self.upstreams.push(up),
        }
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (u, up) in self.upstreams.iter().enumerate() {
            for (i, img) in up.images.iter().enumerate() {
                self.index.entry(img.key.clone()).or_insert((u, i));
            }
        }
    }
}

/// Parses files and checks that no id, repository or image is defined twice.
fn parse_all(files: &[(&str, &str)], origin: Origin) -> Result<Vec<UpstreamSpec>, CatalogErrors> {
    let mut errors = Vec::new();
    let mut all = Vec::new();
    for (name, text) in files {
        match file::parse(name, text, origin) {
            Ok(ups) => all.extend(ups),
            Err(e) => errors.extend(e),
        }
    }
    let mut ids: HashMap<String, Location> = HashMap::new();
    let mut repos: HashMap<String, Location> = HashMap::new();
    let mut images: HashMap<String, Location> = HashMap::new();
    let mut dup =
        |seen: &mut HashMap<String, Location>, key: String, at: &Option<Location>, what: String| {
            let Some(at) = at else { return };
            match seen.get(&key) {
                Some(first) => errors.push(CatalogError::at(
                    &at.file,
                    at.line,
                    at.column,
                    format!("{what} is already defined at {first}"),
                )),
                None => {
                    seen.insert(key, at.clone());
                }
            }
        };
    for up in &all {
        dup(
            &mut ids,
            up.id.clone(),
            &up.defined_at,
            format!("upstream id `{}`", up.id),
        );
        for repo in std::iter::once(up.repo()).chain(up.moved_from.iter().cloned()) {
            dup(
                &mut repos,
                repo.to_ascii_lowercase(),
                &up.defined_at,
                format!("repository `{repo}`"),
            );
        }
        for img in &up.images {
            dup(
                &mut images,
                img.key.clone(),
                &img.defined_at,
                format!("image `{}`", img.name),
            );
        }
    }
    if errors.is_empty() {
        Ok(all)
    } else {
        Err(CatalogErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::builtin().unwrap_or_else(|e| panic!("{e}"))
    }

    fn v(scheme: &Scheme, s: &str) -> Version {
        Version::parse(scheme, s).unwrap_or_else(|| panic!("{s:?} should parse"))
    }

    #[test]
    fn builtin_files_are_all_shipped() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/catalog");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .expect("rules/catalog exists")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
            .map(|n| format!("rules/catalog/{n}"))
            .collect();
        on_disk.sort();
        let mut shipped: Vec<String> = BUILTIN_FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        shipped.sort();
        assert_eq!(on_disk, shipped);
    }

    #[test]
    fn lookup_normalises_names() {
        let c = catalog();
        for name in [
            "sigp/lighthouse",
            "docker.io/sigp/lighthouse",
            "index.docker.io/sigp/lighthouse",
            "sigp/lighthouse:v5.3.0",
            "DOCKER.IO/sigp/lighthouse",
        ] {
            let m = c.lookup(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(m.upstream.id, "lighthouse", "{name}");
        }
        assert!(c.lookup("ghcr.io/sigp/lighthouse").is_none());
        assert!(c.lookup("library/nginx").is_none());
        assert!(c.lookup("").is_none());
    }

    #[test]
    fn known_suffix_that_looks_like_a_prerelease_stays_a_variant() {
        let c = catalog();
        let m = c.lookup("sigp/lighthouse").expect("catalogued");
        let t = m.version_of("v5.3.0-dev").expect("a version");
        assert_eq!(t.version.as_str(), "5.3.0");
        assert_eq!(t.variant.as_deref(), Some("-dev"));
        let t = m.version_of("v5.3.0-rc.1-amd64-modern").expect("a version");
        assert_eq!(t.version.as_str(), "5.3.0-rc.1");
        assert_eq!(t.variant.as_deref(), Some("-amd64-modern"));
        let t = m
            .version_of("v5.3.0-arm64-modern")
            .expect("unknown combination");
        assert_eq!(t.variant.as_deref(), Some("-arm64-modern"));
        for junk in ["latest", "latest-modern", "latest-unstable", "8d9c1b2", ""] {
            assert!(m.version_of(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn template_variants_round_trip() {
        let c = catalog();
        let m = c.lookup("statusim/nimbus-eth2").expect("catalogued");
        let t = m.version_of("amd64-v25.4.1").expect("a version");
        assert_eq!(t.variant.as_deref(), Some("amd64-v{version}"));
        let next = v(&Scheme::Calver, "25.5.0");
        assert_eq!(
            m.tag_for(&next, t.variant.as_deref()).as_deref(),
            Some("amd64-v25.5.0")
        );
        assert_eq!(
            m.retag("arm-v24.9.0", &next).as_deref(),
            Some("arm-v25.5.0")
        );
        for channel in ["multiarch-latest", "amd64-latest", "latest", "nightly"] {
            assert!(m.version_of(channel).is_none(), "{channel}");
        }
        let geth = c.lookup("ethereum/client-go").expect("catalogued");
        let t = geth.version_of("alltools-v1.16.7").expect("a version");
        assert_eq!(t.variant.as_deref(), Some("alltools-v{version}"));
        for channel in [
            "stable",
            "release-1.16",
            "alltools-stable",
            "alltools-release-1.16",
        ] {
            assert!(geth.version_of(channel).is_none(), "{channel}");
        }
    }

    #[test]
    fn pep440_and_minor_tags() {
        let c = catalog();
        let m = c.lookup("flashbots/mev-boost").expect("catalogued");
        let s = &Scheme::Semver;
        assert_eq!(m.tag_for(&v(s, "1.9.0"), None).as_deref(), Some("1.9.0"));
        assert_eq!(
            m.tag_for(&v(s, "1.9-alpha1"), None).as_deref(),
            Some("1.9a1")
        );
        assert_eq!(
            m.tag_for(&v(s, "1.9.0-rc.2"), None).as_deref(),
            Some("1.9.0rc2")
        );
        assert_eq!(
            m.tag_for(&v(s, "1.9-dev.3"), None).as_deref(),
            Some("1.9.dev3")
        );
        assert_eq!(m.tag_for(&v(s, "1.9-preview"), None), None);
        let a1 = m.version_of("1.9a1").expect("pep440 pre-release");
        assert!(a1.version.is_prerelease());
        assert_eq!(
            a1.version.cmp_precedence(&v(s, "1.9-alpha1")),
            std::cmp::Ordering::Equal
        );
        assert_eq!(m.retag("1.8", &v(s, "1.9.1")).as_deref(), Some("1.9"));
        assert_eq!(m.retag("1.8", &v(s, "1.9")).as_deref(), Some("1.9"));
        assert_eq!(m.retag("1.8", &v(s, "1.9.0-rc.1")), None);
        assert_eq!(m.retag("1.8.1", &v(s, "1.9.1")).as_deref(), Some("1.9.1"));

        let teku = c.lookup("consensys/teku").expect("catalogued");
        let cal = &Scheme::Calver;
        assert_eq!(
            teku.retag("25.1", &v(cal, "25.4.1")).as_deref(),
            Some("25.4")
        );
        assert_eq!(
            teku.retag("25.1.0-jdk21", &v(cal, "25.4.1")).as_deref(),
            Some("25.4.1-jdk21")
        );
        // No rolling minor tags for lighthouse: a 2-part tag is a version
        // and moves to the release as tagged.
        let lh = c.lookup("sigp/lighthouse").expect("catalogued");
        assert_eq!(lh.retag("v5.3", &v(s, "7.0.0")).as_deref(), Some("v7.0.0"));
    }

    #[test]
    fn build_metadata_is_written_with_a_dash() {
        let c = catalog();
        let m = c.lookup("grafana/grafana").expect("catalogued");
        let up = m.upstream;
        let version = up
            .release_version("v11.2.2+security-01")
            .expect("a release");
        assert_eq!(
            m.tag_for(&version, None).as_deref(),
            Some("11.2.2-security-01")
        );
    }

    #[test]
    fn release_versions_and_prereleases() {
        let c = catalog();
        let lh = c.upstream("sigp/lighthouse").expect("catalogued");
        assert_eq!(
            lh.release_version("v8.0.1")
                .map(|v| v.to_string())
                .as_deref(),
            Some("8.0.1")
        );
        for not_release in [
            "v4.6.111-exp",
            "v3.4.0-tree.1",
            "eth2-ssz-v0.4.1",
            "c0.2.7",
            "quic-test",
            "8.0.1",
        ] {
            assert!(lh.release_version(not_release).is_none(), "{not_release}");
        }
        let rc = lh.release_version("v4.6.0-rc.0").expect("an rc");
        assert!(lh.is_prerelease(&rc, false));
        assert!(!lh.offers(&rc, false));

        let grandine = c.upstream("grandinetech/grandine").expect("catalogued");
        let final_ = grandine.release_version("2.0.0").expect("release");
        let rc = grandine.release_version("2.0.0.rc1").expect("pre-release");
        assert!(rc.is_prerelease() && rc < final_);
        // Grandine flags every GitHub release as a pre-release: ignored.
        assert!(!grandine.is_prerelease(&final_, true));

        let erigon = c.upstream("erigontech/erigon").expect("catalogued");
        assert!(erigon.release_version("v2022.09.01").is_none());
        assert!(erigon.release_version("v3.0.0-beta2").is_some());

        let besu = c
            .upstream("hyperledger/besu")
            .expect("found by its former name");
        assert_eq!(besu.repo(), "besu-eth/besu");
        let rc = besu.release_version("25.11.0-RC1").expect("rc");
        assert!(rc.is_prerelease());
        assert!(besu.release_version("canary").is_none());
        assert!(besu.release_version("22.12.8.1").is_some());

        let nm = c
            .upstream("nethermindeth/nethermind")
            .expect("case-insensitive");
        let plain = nm.release_version("1.39.0").expect("release");
        assert!(nm.is_prerelease(&plain, true));
    }

    #[test]
    fn settings_merge() {
        let mut c = catalog();
        let tmpl = |s: &str| TagTemplate::parse(s).expect("valid");
        c.merge_settings(&[
            settings::Upstream {
                owner: "acme".into(),
                name: "custom-node".into(),
                versioning: None,
                prereleases: None,
                images: vec![settings::ImageMapping {
                    name: "ghcr.io/acme/custom-node".into(),
                    tag: tmpl("v{version}"),
                    ..Default::default()
                }],
                ..Default::default()
            },
            settings::Upstream {
                owner: "consensys".into(),
                name: "teku".into(),
                versioning: None,
                prereleases: Some(true),
                images: vec![settings::ImageMapping {
                    name: "registry.acme.internal/mirror/teku".into(),
                    tag: tmpl("{version}"),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ]);
        let m = c.lookup("ghcr.io/acme/custom-node:v1.0.0").expect("added");
        assert_eq!(m.upstream.repo(), "acme/custom-node");
        assert_eq!(m.upstream.origin, Origin::Settings);
        let teku = c
            .lookup("registry.acme.internal/mirror/teku")
            .expect("added");
        assert_eq!(teku.upstream.id, "teku");
        // The catalogued scheme survives an entry that names none.
        assert_eq!(teku.upstream.versioning, Scheme::Calver);
        assert!(teku.upstream.prereleases.offer);
        assert!(c.lookup("consensys/teku").is_some());
        // An explicit `versioning: semver` does replace it.
        c.merge_settings(&[settings::Upstream {
            owner: "consensys".into(),
            name: "teku".into(),
            versioning: Some(Scheme::Semver),
            prereleases: None,
            images: Vec::new(),
            ..Default::default()
        }]);
        let teku = c.lookup("consensys/teku").expect("known");
        assert_eq!(teku.upstream.versioning, Scheme::Semver);
        assert!(teku.upstream.prereleases.offer, "left out, so kept");
        c.merge_settings(&[settings::Upstream {
            owner: "acme".into(),
            name: "reth".into(),
            versioning: Some(Scheme::Semver),
            prereleases: Some(false),
            images: Vec::new(),
            ..Default::default()
        }]);
        assert_eq!(
            c.upstream("acme/reth").map(|u| u.id.as_str()),
            Some("acme-reth")
        );
        assert_eq!(c.upstreams().iter().filter(|u| u.id == "teku").count(), 1);
    }

    #[test]
    fn a_user_file_replaces_an_upstream_and_claims_its_images() {
        let mut c = catalog();
        let text = "version: 1\nupstreams:\n  - id: my-lighthouse\n    github: sigp/lighthouse\n    release_tag: \"v{version}\"\n    images:\n      - name: sigp/lighthouse\n        tag: \"v{version}\"\n  - id: fork\n    github: acme/reth-fork\n    images:\n      - name: ghcr.io/paradigmxyz/op-reth\n        tag: \"v{version}\"\n";
        c.extend_from_str("mine.yml", text)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.lookup("sigp/lighthouse").expect("kept").upstream.id,
            "my-lighthouse"
        );
        assert_eq!(
            c.lookup("ghcr.io/paradigmxyz/op-reth")
                .expect("moved")
                .upstream
                .id,
            "fork"
        );
        assert_eq!(
            c.lookup("ghcr.io/paradigmxyz/reth")
                .expect("kept")
                .upstream
                .id,
            "reth"
        );

        let dup = "version: 1\nupstreams:\n  - id: a\n    github: acme/a\n    images: [{name: acme/x}]\n  - id: b\n    github: acme/b\n    images: [{name: docker.io/acme/x}]\n";
        let err = c.extend_from_str("dup.yml", dup).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dup.yml:8:14: image `docker.io/acme/x` is already defined at dup.yml:5:14"
        );
    }

    /// Releases as GitHub lists them; `!` marks GitHub's pre-release flag.
    fn history(tags: &[&str]) -> Vec<Release> {
        tags.iter()
            .map(|t| Release {
                tag_name: t.trim_end_matches('!').to_owned(),
                name: None,
                body: None,
                draft: false,
                prerelease: t.ends_with('!'),
                published_at: None,
                html_url: None,
            })
            .collect()
    }

    /// The image tags offered to `current`, newest first.
    fn offered(c: &Catalog, image: &str, current: &str, tags: &[&str]) -> Vec<String> {
        let m = c.lookup(image).expect("catalogued");
        let releases = history(tags);
        m.offers(current, &releases)
            .unwrap_or_else(|| panic!("{current} is a version of {image}"))
            .into_iter()
            .map(|o| o.tag)
            .collect()
    }

    #[test]
    fn hotfixes_are_offered_and_left_for_the_next_regular_release() {
        let c = catalog();
        let prysm = "gcr.io/offchainlabs/prysm/beacon-chain";
        let tags = [
            "v4.0.2",
            "v4.0.3",
            "v4.0.3-hotfix",
            "v4.1.0-rc.0!",
            "v4.1.0",
            "v4.1.1-hotfix",
        ];
        assert_eq!(
            offered(&c, prysm, "v4.0.3", &tags),
            ["v4.1.1-hotfix", "v4.1.0", "v4.0.3-hotfix"]
        );
        // On a hotfix: the next releases, never an invented `-hotfix` tag.
        assert_eq!(
            offered(&c, prysm, "v4.0.3-hotfix", &["v4.0.3-hotfix", "v4.1.0"]),
            ["v4.1.0"]
        );
        assert!(offered(&c, prysm, "v4.0.3-hotfix", &["v4.0.3", "v4.0.3-hotfix"]).is_empty());
        // Build metadata and case: besu `23.10.3-Hotfix`, prysm `+6c0942`.
        let besu = c.upstream("besu-eth/besu").expect("catalogued");
        let h = besu
            .release_version("23.10.3-Hotfix")
            .expect("a final release");
        assert!(h.is_hotfix() && !besu.is_prerelease(&h, false));
        let p = c.upstream("OffchainLabs/prysm").expect("catalogued");
        assert!(p.release_version("v1.3.8-hotfix+6c0942").is_some());
        assert_eq!(
            offered(&c, "hyperledger/besu", "23.10.2", &["23.10.3-hotfix"]),
            ["23.10.3-hotfix"]
        );
        assert_eq!(
            offered(
                &c,
                "hyperledger/besu",
                "23.10.3-hotfix-amd64",
                &["23.10.3-hotfix", "24.1.0"]
            ),
            ["24.1.0-amd64"]
        );
    }

    #[test]
    fn versions_move_across_numbers_of_parts() {
        let c = catalog();
        let besu = "hyperledger/besu";
        let tags = ["22.12.8", "22.12.8.1", "22.12.8.2", "23.1.0"];
        assert_eq!(
            offered(&c, besu, "22.12.8.1", &tags),
            ["23.1.0", "22.12.8.2"]
        );
        assert_eq!(
            offered(&c, besu, "22.12.8", &tags),
            ["23.1.0", "22.12.8.2", "22.12.8.1"]
        );
        // ... and back to four parts.
        assert_eq!(
            offered(&c, besu, "23.1.0", &["23.1.0", "23.1.0.1"]),
            ["23.1.0.1"]
        );
        // A genuine 2-part version moves, to 3 parts and from them.
        let lh = "sigp/lighthouse";
        assert_eq!(
            offered(&c, lh, "v3.1", &["v3.1", "v3.2", "v3.3.0"]),
            ["v3.3.0", "v3.2"]
        );
        assert_eq!(offered(&c, lh, "v3.2.0", &["v3.2.0", "v3.3"]), ["v3.3"]);
    }

    #[test]
    fn aliases_published_beside_releases_are_not_offered() {
        let c = catalog();
        // mev-boost tags v1.8 and v1.8.0 for one release (and alphas v1.9-alpha1).
        let tags = [
            "v1.7",
            "v1.7.0",
            "v1.8",
            "v1.8.0",
            "v1.8.1",
            "v1.9-alpha1!",
            "v1.9",
        ];
        let m = c.lookup("flashbots/mev-boost").expect("catalogued");
        let releases = history(&tags);
        let offers = m.offers("1.7.0", &releases).expect("a version");
        let got: Vec<&str> = offers.iter().map(|o| o.release.tag_name.as_str()).collect();
        // `v1.9` has no 3-part twin yet, but the history shows it an alias.
        assert_eq!(got, ["v1.8.1", "v1.8.0"]);
        // The rolling `1.8` image tag keeps its precision.
        assert_eq!(
            offered(&c, "flashbots/mev-boost", "1.7", &tags),
            ["1.8", "1.8"]
        );
        // No alias in the history: 2-part tags are versions.
        let lh = "sigp/lighthouse";
        assert_eq!(
            offered(&c, lh, "v2.4.0", &["v2.4", "v2.4.0", "v2.5", "v2.5.0"]),
            ["v2.5.0"]
        );
    }

    #[test]
    fn prerelease_policy() {
        let c = catalog();
        let lh = "sigp/lighthouse";
        let tags = [
            "v7.0.0",
            "v7.1.0-rc.0!",
            "v7.1.0-rc.1!",
            "v7.1.0",
            "v7.2.0-rc.0!",
        ];
        // A final deployment: finals only (lighthouse does not offer pre-releases).
        assert_eq!(offered(&c, lh, "v7.0.0", &tags), ["v7.1.0"]);
        // On a pre-release: the newest final at or above its base...
        assert_eq!(offered(&c, lh, "v7.1.0-rc.0", &tags), ["v7.1.0"]);
        // ... and no newer pre-release where pre-releases are not offered.
        assert!(offered(&c, lh, "v7.2.0-rc.0", &tags).is_empty());
        assert!(offered(&c, lh, "v7.1.0-rc.0", &tags[..3]).is_empty());
        // Where they are offered: a newer pre-release only when no final is newer.
        let mut c = c;
        c.merge_settings(&[settings::Upstream {
            owner: "sigp".into(),
            name: "lighthouse".into(),
            prereleases: Some(true),
            ..Default::default()
        }]);
        assert_eq!(offered(&c, lh, "v7.1.0-rc.0", &tags), ["v7.1.0"]);
        assert_eq!(offered(&c, lh, "v7.1.0-rc.0", &tags[..3]), ["v7.1.0-rc.1"]);
        assert_eq!(
            offered(&c, lh, "v7.0.0", &tags),
            ["v7.2.0-rc.0", "v7.1.0", "v7.1.0-rc.1", "v7.1.0-rc.0"]
        );
    }

    #[test]
    fn junk_in_a_history_is_never_offered() {
        let c = catalog();
        let tags = [
            "v3.0.0",
            "v2022.09.01",
            "v2021.10.2",
            "20240101",
            "1626082128492",
            "v3.1.0-exp",
            "v3.1.0-dev3",
            "pectra-devnet-4",
            "v3.1.0-fusaka-devnet-2",
            "v3.0.1",
        ];
        assert_eq!(
            offered(&c, "erigontech/erigon", "v3.0.0", &tags),
            ["v3.0.1"]
        );
        let m = c.lookup("sigp/lighthouse").expect("catalogued");
        for junk in [
            "v4.6.111-exp",
            "v1.6.4844-dev3",
            "v5.1.2-mekong-devnet",
            "20240101",
        ] {
            assert!(m.version_of(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn legacy_schemes_still_read() {
        let c = catalog();
        let nimbus = c.lookup("statusim/nimbus-eth2").expect("catalogued");
        let old = nimbus
            .version_of("multiarch-v1.7.0")
            .expect("pre-CalVer tag");
        assert_eq!(old.version.as_str(), "1.7.0");
        assert_eq!(
            offered(
                &c,
                "statusim/nimbus-eth2",
                "multiarch-v1.7.0",
                &["v1.7.0", "v22.1.0", "v24.9.0"]
            ),
            ["multiarch-v24.9.0", "multiarch-v22.1.0"]
        );
    }

    #[test]
    fn settings_upstreams_are_as_expressive_as_the_catalog() {
        let mut c = catalog();
        let pattern = |p: &str| Pattern::new(p).expect("valid");
        c.merge_settings(&[settings::Upstream {
            owner: "ethereum-optimism".into(),
            name: "optimism".into(),
            release_tag: Some(TagTemplate::parse_release("op-node/v{version}").expect("valid")),
            ignore_tags: vec![pattern("*-rehearsal*")],
            channels: vec![pattern("develop-*")],
            github_prerelease_flag: Some(false),
            images: vec![settings::ImageMapping {
                name: "us-docker.pkg.dev/oplabs-tools-artifacts/images/op-node".into(),
                tag: TagTemplate::parse("v{version}").expect("valid"),
                variants: vec![Variant::parse("-alpine").expect("valid")],
                minor_tags: None,
            }],
            ..Default::default()
        }]);
        let image = "us-docker.pkg.dev/oplabs-tools-artifacts/images/op-node";
        let m = c.lookup(image).expect("added");
        let up = m.upstream;
        assert_eq!(
            up.release_version("op-node/v1.9.4")
                .map(|v| v.to_string())
                .as_deref(),
            Some("1.9.4")
        );
        for not_ours in ["op-batcher/v1.9.5", "v1.9.5", "op-node/v1.9.5-rehearsal.1"] {
            assert!(up.release_version(not_ours).is_none(), "{not_ours}");
        }
        assert!(m.version_of("develop-8").is_none());
        let tags = [
            "op-node/v1.9.4",
            "op-batcher/v1.9.5",
            "op-node/v1.10.0!",
            "op-node/v1.9.5-rehearsal.1",
        ];
        assert_eq!(
            offered(&c, image, "v1.9.3-alpine", &tags),
            ["v1.10.0-alpine", "v1.9.4-alpine"]
        );
    }

    mod policy_properties {
        use super::*;
        use proptest::prelude::*;

        /// A lighthouse-shaped release tag: `vX.Y.Z`, an RC, a hotfix, or a
        /// 2-part tag.
        fn release_tag() -> impl Strategy<Value = String> {
            (0u64..3, 0u64..4, 0u64..3, 0usize..6).prop_map(|(a, b, c, kind)| match kind {
                0 => format!("v{a}.{b}.{c}-rc.{b}"),
                1 => format!("v{a}.{b}.{c}-hotfix"),
                2 => format!("v{a}.{b}"),
                _ => format!("v{a}.{b}.{c}"),
            })
        }

        proptest! {
            #[test]
            fn offers_are_newer_in_the_same_variant_and_newest_first(
                tags in prop::collection::vec((release_tag(), any::<bool>()), 0..24),
                current in release_tag(),
                modern in any::<bool>(),
                offer_pre in any::<bool>(),
            ) {
                static BUILTIN: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
                let mut c = BUILTIN.get_or_init(catalog).clone();
                if offer_pre {
                    c.merge_settings(&[settings::Upstream {
                        owner: "sigp".into(),
                        name: "lighthouse".into(),
                        prereleases: Some(true),
                        ..Default::default()
                    }]);
                }
                let m = c.lookup("sigp/lighthouse").expect("catalogued");
                let current = if modern { format!("{current}-modern") } else { current };
                let releases: Vec<Release> = tags
                    .iter()
                    .map(|(t, flag)| Release {
                        tag_name: t.clone(),
                        name: None,
                        body: None,
                        draft: false,
                        prerelease: *flag && t.contains("-rc"),
                        published_at: None,
                        html_url: None,
                    })
                    .collect();
                let cur = m.version_of(&current).expect("a version");
                let offers = m.offers(&current, &releases).expect("a version");
                for w in offers.windows(2) {
                    prop_assert!(w[0].version.cmp_precedence(&w[1].version).is_ge());
                }
                let finals_newer = offers.iter().any(|o| !o.version.is_prerelease());
                for o in &offers {
                    prop_assert!(o.version.cmp_precedence(&cur.version).is_gt());
                    prop_assert_ne!(&o.tag, &current);
                    let read = m.version_of(&o.tag);
                    prop_assert!(read.is_some(), "{} unreadable", o.tag);
                    if let Some(read) = read {
                        prop_assert_eq!(read.variant, cur.variant.clone());
                        prop_assert!(read.version.cmp_precedence(&o.version).is_eq());
                    }
                    if o.version.is_prerelease() {
                        prop_assert!(offer_pre, "{} offered without the policy", o.tag);
                        prop_assert!(!(cur.version.is_prerelease() && finals_newer));
                    }
                    // Never an invented hotfix tag: only released ones.
                    if o.tag.contains("hotfix") {
                        prop_assert!(tags.iter().any(|(t, _)| o.tag.starts_with(t.as_str())));
                    }
                }
            }
        }
    }

    #[test]
    fn patterns() {
        let p = Pattern::new("*-latest").expect("valid");
        assert!(p.matches("multiarch-latest") && p.matches("AMD64-LATEST"));
        assert!(!p.matches("multiarch-v25.4.1"));
        assert!(Pattern::new("[").is_err());
        assert!(Pattern::new("").is_err());
    }
}
