//! The value types: [`Version`], [`Prerelease`], [`Tag`], [`VariantClass`].

use super::{Scheme, parse};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// The kind of a pre-release, in precedence order (lowest first).
///
/// Recognised words, case-insensitive: `dev`, `nightly`, `alpha` (`a`),
/// `beta` (`b`), `pre`, `preview`, `rc`. Any release ranks above them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreKind {
    /// A pre-release captured by a `regex:` scheme that is no known word
    /// (`SNAPSHOT`); lowest precedence.
    Other,
    /// `dev`.
    Dev,
    /// `nightly`.
    Nightly,
    /// `alpha`, or `a` with a number.
    Alpha,
    /// `beta`, or `b` with a number.
    Beta,
    /// `pre`.
    Pre,
    /// `preview`.
    Preview,
    /// `rc` (release candidate).
    Rc,
}

/// A pre-release marker such as `-rc.1`, `-RC1`, `-beta2` or `rc1`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Prerelease {
    pub(super) kind: PreKind,
    pub(super) number: Option<u64>,
    /// Exactly as written, leading `-` included when present.
    pub(super) text: String,
}

impl Prerelease {
    /// The kind of pre-release.
    pub fn kind(&self) -> PreKind {
        self.kind
    }

    /// The number after the word (`rc.10` → 10), if any.
    pub fn number(&self) -> Option<u64> {
        self.number
    }

    /// The marker exactly as written (`-RC1`).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for Prerelease {
    /// Kind, then number (absent before any number: `rc < rc.0`), then text.
    fn cmp(&self, other: &Self) -> Ordering {
        self.kind
            .cmp(&other.kind)
            .then(self.number.cmp(&other.number))
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Prerelease {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Prerelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A parsed version: numeric parts, optional pre-release and build metadata,
/// and its exact text (without prefix or variant).
///
/// Ordered as described in the [module docs](super#ordering): numerically,
/// then by pre-release, then by text. Equal exactly when the texts are equal.
#[derive(Clone, Debug)]
pub struct Version {
    pub(super) parts: Vec<u64>,
    pub(super) pre: Option<Prerelease>,
    /// A final hotfix release of these parts (`-hotfix`, `-Hotfix.2`): its
    /// number, 0 when none is written. Never together with `pre`.
    pub(super) hotfix: Option<u64>,
    pub(super) build: Option<String>,
    pub(super) text: String,
}

impl Version {
    /// Parses a bare version (no prefix, no variant) under `scheme`:
    /// `1.2.3-rc.1` yes, `v1.2.3` or `1.2.3-alpine` no.
    pub fn parse(scheme: &Scheme, text: &str) -> Option<Version> {
        let tag = Tag::parse(scheme, text)?;
        if tag.prefix.is_empty() && tag.variant.is_none() {
            Some(tag.version)
        } else {
            None
        }
    }

    /// The numeric parts as written (`1.27.3` → `[1, 27, 3]`).
    pub fn parts(&self) -> &[u64] {
        &self.parts
    }

    /// The pre-release marker, if any.
    pub fn pre(&self) -> Option<&Prerelease> {
        self.pre.as_ref()
    }

    /// True for `-rc.1`, `-beta2`, `-alpha` and the like.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some()
    }

    /// True for a final hotfix release (`4.0.3-hotfix`, `23.10.3-Hotfix`,
    /// `1.3.8-hotfix.2+6c0942`): it sorts after its base version and
    /// before the next one, and is not a pre-release.
    pub fn is_hotfix(&self) -> bool {
        self.hotfix.is_some()
    }

    /// Build metadata after `+`, without the `+`.
    pub fn build(&self) -> Option<&str> {
        self.build.as_deref()
    }

    /// The version exactly as written (`2025.01.07`, `7.0.0-RC1`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Precedence only: numeric parts (missing ones count as 0), then
    /// pre-release (below the release), then hotfix (above it, by number);
    /// ignores build metadata and spelling. `1.9` and `1.9.0`
    /// are `Equal` here but not under [`Ord`].
    pub fn cmp_precedence(&self, other: &Self) -> Ordering {
        let len = self.parts.len().max(other.parts.len());
        let at = |p: &[u64], i: usize| p.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| at(&self.parts, i).cmp(&at(&other.parts, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => self.hotfix.cmp(&other.hotfix),
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.kind.cmp(&b.kind).then(a.number.cmp(&b.number)),
            })
    }
}

impl Ord for Version {
    /// [`cmp_precedence`](Version::cmp_precedence), then the exact text.
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_precedence(other)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    /// Hashes the text only: equal versions have equal texts.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A parsed tag: `prefix` + version + `variant`, e.g. `v` `5.3.0` `-modern`.
///
/// Its [`Display`](fmt::Display) gives back exactly the parsed text. Ordered
/// by version, then prefix, then variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(super) prefix: String,
    pub(super) version: Version,
    pub(super) variant: Option<String>,
}

impl Tag {
    /// Parses `text` under `scheme`; `None` for junk (see
    /// [`is_junk`](super::is_junk)) and anything that is not a version.
    pub fn parse(scheme: &Scheme, text: &str) -> Option<Tag> {
        match scheme {
            Scheme::Semver => parse::lenient(text, false),
            Scheme::Calver => parse::lenient(text, true),
            Scheme::Regex(r) => parse::regex(r, text),
        }
    }

    /// The literal text before the version (`v`, `multiarch-v`, or empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The version.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The variant suffix, leading `-` included (`-alpine3.20`).
    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// The compatibility class: a reference only moves within it.
    pub fn class(&self) -> VariantClass {
        VariantClass {
            prefix: self.prefix.clone(),
            variant: self.variant.clone(),
            parts: self.version.parts.len(),
        }
    }

    /// This tag with `version` in place of its own: same prefix and variant.
    ///
    /// `None` when the result would leave the class (a different number of
    /// numeric parts) or cannot be written (build metadata before a variant).
    pub fn with_version(&self, version: &Version) -> Option<String> {
        if version.parts.len() != self.version.parts.len()
            || (version.build.is_some() && self.variant.is_some())
        {
            return None;
        }
        Some(format!(
            "{}{}{}",
            self.prefix,
            version.text,
            self.variant.as_deref().unwrap_or("")
        ))
    }
}

impl Ord for Tag {
    fn cmp(&self, other: &Self) -> Ordering {
        self.version
            .cmp(&other.version)
            .then_with(|| self.prefix.cmp(&other.prefix))
            .then_with(|| self.variant.cmp(&other.variant))
    }
}

impl PartialOrd for Tag {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix)?;
        f.write_str(&self.version.text)?;
        f.write_str(self.variant.as_deref().unwrap_or(""))
    }
}

/// A compatibility class of tags: same prefix, same variant, same number of
/// numeric parts. `v5.3.0-modern` and `v7.0.0-modern` share one; `v7.0.0`,
/// `7.0.0-modern` and `v7.0-modern` are each in another.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VariantClass {
    /// Literal prefix (`v`, `multiarch-v`, or empty).
    pub prefix: String,
    /// Variant suffix with its leading `-` (`-alpine`), if any.
    pub variant: Option<String>,
    /// Number of numeric parts.
    pub parts: usize,
}

impl fmt::Display for VariantClass {
    /// `v{3 parts}-modern`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{{{} parts}}{}",
            self.prefix,
            self.parts,
            self.variant.as_deref().unwrap_or("")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        match Version::parse(&Scheme::Semver, s) {
            Some(v) => v,
            None => panic!("{s:?} should parse"),
        }
    }

    #[test]
    fn prerelease_precedence() {
        let chain = [
            "1.0-dev.1",
            "1.0-nightly.3",
            "1.0-alpha",
            "1.0a1",
            "1.0-alpha.2",
            "1.0-b1",
            "1.0-beta.2",
            "1.0-pre",
            "1.0-preview.1",
            "1.0-rc",
            "1.0-rc.0",
            "1.0-rc.2",
            "1.0-rc.10",
            "1.0",
        ];
        for w in chain.windows(2) {
            assert!(v(w[0]) < v(w[1]), "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn prerelease_accessors() {
        let x = v("7.0.0-RC1");
        let pre = x.pre().expect("pre-release");
        assert_eq!(pre.kind(), PreKind::Rc);
        assert_eq!(pre.number(), Some(1));
        assert_eq!(pre.as_str(), "-RC1");
        assert_eq!(pre.to_string(), "-RC1");
        assert_eq!(x.as_str(), "7.0.0-RC1");
        assert_eq!(
            v("1.0.0-beta2").pre().map(Prerelease::kind),
            Some(PreKind::Beta)
        );
        assert_eq!(v("1.0.0-rc.1").pre().map(Prerelease::number), Some(Some(1)));
    }

    #[test]
    fn case_and_separator_do_not_change_precedence() {
        for (a, b) in [("1.0-rc1", "1.0-RC.1"), ("1.0-beta2", "1.0-Beta-2")] {
            assert_eq!(v(a).cmp_precedence(&v(b)), Ordering::Equal);
            assert_ne!(v(a), v(b));
        }
    }

    #[test]
    fn hotfixes_are_finals_after_their_base() {
        let chain = [
            "4.0.3-rc.1",
            "4.0.3",
            "4.0.3-hotfix",
            "4.0.3-Hotfix.1",
            "4.0.3-hotfix.2",
            "4.0.4",
        ];
        for w in chain.windows(2) {
            assert!(v(w[0]) < v(w[1]), "{} < {}", w[0], w[1]);
        }
        let h = v("1.3.8-hotfix+6c0942");
        assert!(h.is_hotfix() && !h.is_prerelease());
        assert_eq!(h.build(), Some("6c0942"));
        assert_eq!(h.as_str(), "1.3.8-hotfix+6c0942");
        assert_eq!(h.cmp_precedence(&v("1.3.8-hotfix")), Ordering::Equal);
    }

    #[test]
    fn bare_version_rejects_prefix_and_variant() {
        assert!(Version::parse(&Scheme::Semver, "v1.2.3").is_none());
        assert!(Version::parse(&Scheme::Semver, "1.2.3-alpine").is_none());
        assert_eq!(v("1.2.3-rc.1+b.7").build(), Some("b.7"));
    }

    #[test]
    fn tag_ordering_uses_version_first() {
        let s = Scheme::Semver;
        let a = Tag::parse(&s, "v1.2.3-alpine").expect("parses");
        let b = Tag::parse(&s, "1.2.4").expect("parses");
        assert!(a < b);
        let c = Tag::parse(&s, "v1.2.3").expect("parses");
        assert!(c < a);
        assert_ne!(a, c);
    }
}
