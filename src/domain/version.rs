//! Version schemes: parsing, ordering and classifying release and image tags.
//!
//! This module decides what a tag such as `v1.14.12`, `25.1.0`,
//! `v5.3.0-modern` or `1.27.3-alpine3.20` means: its [`Version`] (numeric
//! parts, optional pre-release, optional build metadata), its literal prefix
//! (`v`, `multiarch-v`) and its docker-style variant suffix (`-alpine`). Tags
//! are grouped into [`VariantClass`]es; a reference only ever moves within its
//! class. [`TagTemplate`] maps a release version to an image tag and back.
//! Floating or commit tags (`latest`, `main`, `8d9c1b2`) are [junk](is_junk)
//! and never versions.
//!
//! Pure: no I/O, no clock, no network, no global state. Every function takes
//! data and returns data, and none panics on any input.
//!
//! # Grammar (schemes `semver` and `calver`)
//!
//! `prefix numbers [pre] ( [variant] | [+build] )` where
//! - `prefix` is empty or a letter followed by letters, `-` and `_`
//!   (`v`, `V`, `multiarch-v`, `release-`);
//! - `numbers` are 2 to 4 dot-separated decimal parts, zero padding kept
//!   (`1.27`, `2025.01.07`, `25.1.0.1`). A single number (`16`) is *not* a
//!   version: it is ambiguous (a major-only alias, a build number, a date).
//!   `calver` additionally requires a 2- or 4-digit year as first part;
//! - `pre` is a known pre-release word (see [`PreKind`]), optionally after
//!   `-` (`-rc.1`, `-RC1`, `-beta2`, `-alpha`) or glued to the numbers
//!   (`3.13.0rc1`), followed by an optional `.`/`-` and a number. `a` and `b`
//!   count only with a number (`1.0.0a1`). A word followed by something that
//!   is neither a number, a variant nor build metadata (`-rc.1.2`, `-rc1x`)
//!   makes the whole tag unparseable rather than a variant;
//! - `variant` is `-` and then letters, digits, `.`, `-`, `_`, containing at
//!   least one letter, starting and ending with a letter or digit (`-alpine`,
//!   `-alpine3.20`, `-modern`). An all-digit suffix (`1.2.3-1`) is rejected:
//!   it is a rebuild counter, not a compatibility class. A pre-release may
//!   precede the variant (`v1.2.3-rc.1-alpine`); a pre-release word after a
//!   variant (`-alpine-rc1`) is part of the variant;
//! - `hotfix` (only without `pre`) is `-hotfix` in any case, optionally
//!   followed by a number (`-Hotfix`, `-hotfix.2`, `-hotfix2`): a *final*
//!   release sorting after its base version and before the next one
//!   (besu `23.10.3-hotfix`, prysm `v1.3.8-hotfix+6c0942`);
//! - `+build` is semver build metadata; it ends the tag (no variant after it).
//!
//! Under `semver` a tag whose first part reads as a year and second as a
//! month (`v2022.09.01`, `2024.1.0`) is a date-stamped snapshot, not a
//! version; use `calver` for calendar schemes.
//!
//! The `regex:<pattern>` scheme lets a user pattern decide; see [`Scheme`].
//!
//! # Ordering
//!
//! [`Version`] is ordered by numeric parts (missing trailing parts count as
//! 0, so `1.9 < 1.10` and `2025.1.0 > 24.12.2`), then pre-release
//! ([`PreKind`] precedence, then its number; a release is greater than all of
//! its pre-releases, a hotfix greater than the release), and finally, as a tie-break, by the exact version text
//! (byte order). The tie-break makes the order total and consistent with
//! `Eq`: two versions are equal only when they are written identically, so
//! `1.9` and `1.9.0`, `2025.1.7` and `2025.01.07`, or `1.2.3+a` and `1.2.3+b`
//! are distinct but adjacent. Build metadata never affects precedence; use
//! [`Version::cmp_precedence`] to ignore the tie-break.

mod junk;
mod parse;
mod scheme;
mod template;
mod types;

pub use junk::is_junk;
pub use scheme::{RegexScheme, Scheme};
pub use template::{TagTemplate, TemplateMatch};
pub use types::{PreKind, Prerelease, Tag, VariantClass, Version};

/// Why a scheme or a tag template was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The scheme is none of `semver`, `calver`, `regex:<pattern>`.
    #[error("unknown version scheme {0:?}: expected \"semver\", \"calver\" or \"regex:<pattern>\"")]
    UnknownScheme(String),
    /// The pattern of a `regex:` scheme does not compile.
    #[error("invalid version regex {pattern:?}: {message}")]
    InvalidRegex {
        /// The pattern as written.
        pattern: String,
        /// The regex crate's message.
        message: String,
    },
    /// The pattern compiles but its named groups are unusable.
    #[error("invalid version regex {pattern:?}: {reason}")]
    RegexGroups {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with the groups.
        reason: String,
    },
    /// The tag template is malformed.
    #[error("invalid tag template {template:?}: {reason}")]
    InvalidTemplate {
        /// The template as written.
        template: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    //! Cross-cutting tests: real-world tags and property tests.

    use super::*;
    use proptest::prelude::*;
    use std::cmp::Ordering;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    fn tag(scheme: &Scheme, s: &str) -> Tag {
        match Tag::parse(scheme, s) {
            Some(t) => t,
            None => panic!("{s:?} should parse under {scheme}"),
        }
    }

    /// (tag, prefix, parts, pre?, variant)
    type Case = (
        &'static str,
        &'static str,
        &'static [u64],
        bool,
        Option<&'static str>,
    );
    const SEMVER_CASES: &[Case] = &[
        ("v1.14.12", "v", &[1, 14, 12], false, None),
        (
            "v1.14.12-alltools",
            "v",
            &[1, 14, 12],
            false,
            Some("-alltools"),
        ),
        ("alltools-v1.14.12", "alltools-v", &[1, 14, 12], false, None),
        ("v7.0.0", "v", &[7, 0, 0], false, None),
        ("v5.3.0-modern", "v", &[5, 3, 0], false, Some("-modern")),
        ("v7.0.0-beta.0", "v", &[7, 0, 0], true, None),
        ("v6.0.0", "v", &[6, 0, 0], false, None),
        ("v5.0.4-rc.1", "v", &[5, 0, 4], true, None),
        ("25.1.0", "", &[25, 1, 0], false, None),
        ("24.10.3", "", &[24, 10, 3], false, None),
        ("1.31.10", "", &[1, 31, 10], false, None),
        ("25.5.0", "", &[25, 5, 0], false, None),
        ("24.12.2", "", &[24, 12, 2], false, None),
        ("v25.4.1", "v", &[25, 4, 1], false, None),
        ("multiarch-v25.4.1", "multiarch-v", &[25, 4, 1], false, None),
        ("v3.0.3", "v", &[3, 0, 3], false, None),
        ("v3.0.0-rc1", "v", &[3, 0, 0], true, None),
        ("v3.0.0-beta2", "v", &[3, 0, 0], true, None),
        ("v1.3.12", "v", &[1, 3, 12], false, None),
        ("v1.29.0", "v", &[1, 29, 0], false, None),
        ("v1.29.0-rc.0", "v", &[1, 29, 0], true, None),
        ("1.1.0", "", &[1, 1, 0], false, None),
        ("v1.9", "v", &[1, 9], false, None),
        ("1.9", "", &[1, 9], false, None),
        ("25.4.1", "", &[25, 4, 1], false, None),
        ("v3.2.1", "v", &[3, 2, 1], false, None),
        ("11.5.2", "", &[11, 5, 2], false, None),
        ("11.5.2-ubuntu", "", &[11, 5, 2], false, Some("-ubuntu")),
        ("1.27-alpine", "", &[1, 27], false, Some("-alpine")),
        ("16.4-bookworm", "", &[16, 4], false, Some("-bookworm")),
        (
            "7.4.1-alpine3.20",
            "",
            &[7, 4, 1],
            false,
            Some("-alpine3.20"),
        ),
        ("25.1.0.1", "", &[25, 1, 0, 1], false, None),
        (
            "v25.1.0-portable",
            "v",
            &[25, 1, 0],
            false,
            Some("-portable"),
        ),
        (
            "1.27.3-alpine3.20",
            "",
            &[1, 27, 3],
            false,
            Some("-alpine3.20"),
        ),
        ("v1.2.3-rc.1-alpine", "v", &[1, 2, 3], true, Some("-alpine")),
        ("3.13.0rc1-slim", "", &[3, 13, 0], true, Some("-slim")),
        ("1.0.0+build.5", "", &[1, 0, 0], false, None),
        ("V2.0-RC1", "V", &[2, 0], true, None),
        ("1.2.3-amd64", "", &[1, 2, 3], false, Some("-amd64")),
    ];

    #[test]
    fn real_tags_parse_and_round_trip() {
        for &(s, prefix, parts, pre, variant) in SEMVER_CASES {
            let t = tag(&Scheme::Semver, s);
            assert_eq!(t.prefix(), prefix, "{s}");
            assert_eq!(t.version().parts(), parts, "{s}");
            assert_eq!(t.version().is_prerelease(), pre, "{s}");
            assert_eq!(t.variant(), variant, "{s}");
            assert_eq!(t.to_string(), s, "{s}");
        }
    }

    #[test]
    fn calver_examples() {
        let calver = Scheme::Calver;
        for s in [
            "25.1.0",
            "24.10.3",
            "2025.1.0",
            "2025.01.07",
            "25.5.0",
            "v25.4.1",
            "25.4.1",
        ] {
            assert_eq!(tag(&calver, s).to_string(), s);
        }
        // Not a calendar year in front.
        for s in ["1.31.10", "v1.14.12", "123.1.0", "2025", "20240101"] {
            assert!(Tag::parse(&calver, s).is_none(), "{s}");
        }
        let a = tag(&calver, "2025.1.0");
        let b = tag(&calver, "24.12.2");
        assert!(a.version() > b.version());
        let padded = tag(&calver, "2025.01.07");
        assert_eq!(padded.version().parts(), &[2025, 1, 7]);
        assert!(tag(&calver, "2025.01.10").version() > padded.version());
    }

    #[test]
    fn junk_is_never_a_version() {
        let regex = Scheme::Regex(RegexScheme::new(r"(?P<major>\w+)").expect("valid"));
        for s in [
            "latest",
            "stable",
            "nightly",
            "develop",
            "unstable",
            "main",
            "sha-8d9c1b2",
            "8d9c1b2",
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
            "",
        ] {
            assert!(is_junk(s), "{s:?}");
            for scheme in [&Scheme::Semver, &Scheme::Calver, &regex] {
                assert!(Tag::parse(scheme, s).is_none(), "{s:?}");
            }
        }
    }

    #[test]
    fn single_number_is_not_a_semver_version() {
        assert!(Tag::parse(&Scheme::Semver, "16").is_none());
        assert!(Tag::parse(&Scheme::Semver, "v1").is_none());
        assert!(!is_junk("16"));
        let major_only = Scheme::Regex(RegexScheme::new(r"(?P<major>\d+)").expect("valid"));
        assert_eq!(tag(&major_only, "16").version().parts(), &[16]);
    }

    #[test]
    fn ordering_examples() {
        let s = Scheme::Semver;
        let chain = [
            "1.0.0-dev",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-beta2",
            "1.0.0-beta10",
            "1.0.0-rc.2",
            "1.0.0-rc.10",
            "1.0.0",
            "1.0.1",
            "1.9.0",
            "1.10.0",
        ];
        for w in chain.windows(2) {
            let (a, b) = (tag(&s, w[0]), tag(&s, w[1]));
            assert!(a.version() < b.version(), "{} < {}", w[0], w[1]);
        }
        assert!(tag(&s, "1.9").version() < tag(&s, "1.10").version());
        assert!(tag(&s, "v1.29.0-rc.0").version() < tag(&s, "v1.29.0").version());
        assert!(tag(&s, "v3.0.0-beta2").version() < tag(&s, "v3.0.0-rc1").version());
        assert!(tag(&s, "v3.0.0-RC1").version() > tag(&s, "v3.0.0-Beta9").version());
        let cal = Scheme::Calver;
        assert!(tag(&cal, "2025.1.0").version() > tag(&cal, "24.12.2").version());
        // Hotfixes are finals between their base and the next release.
        assert!(tag(&s, "v4.0.3").version() < tag(&s, "v4.0.3-hotfix").version());
        assert!(tag(&s, "v4.0.3-hotfix").version() < tag(&s, "v4.0.4").version());
    }

    #[test]
    fn tie_break_keeps_order_consistent_with_eq() {
        let s = Scheme::Semver;
        let a = tag(&s, "1.9").version().clone();
        let b = tag(&s, "1.9.0").version().clone();
        assert_ne!(a, b);
        assert_eq!(a.cmp_precedence(&b), Ordering::Equal);
        assert_eq!(a.cmp(&b), Ordering::Less);
        let x = tag(&s, "1.2.3+a").version().clone();
        let y = tag(&s, "1.2.3+b").version().clone();
        assert_eq!(x.cmp_precedence(&y), Ordering::Equal);
        assert!(x < y);
        assert_eq!(x.build(), Some("a"));
    }

    #[test]
    fn variant_classes() {
        let s = Scheme::Semver;
        let class = |t: &str| tag(&s, t).class();
        assert_eq!(class("v5.3.0-modern"), class("v7.0.0-modern"));
        assert_ne!(class("v5.3.0-modern"), class("v7.0.0"));
        assert_ne!(class("1.27-alpine"), class("1.27.3-alpine"));
        assert_eq!(class("1.27-alpine"), class("1.28-alpine"));
        assert_ne!(class("v1.2.3"), class("1.2.3"));
        assert_ne!(class("multiarch-v25.4.1"), class("v25.4.1"));
        assert_eq!(class("v7.0.0-beta.0"), class("v7.0.0"));
        assert_eq!(class("v1.2.3-rc.1-alpine"), class("v1.2.4-alpine"));
        assert_eq!(class("v5.3.0-modern").to_string(), "v{3 parts}-modern");
    }

    #[test]
    fn with_version_stays_in_class() {
        let s = Scheme::Semver;
        let current = tag(&s, "v5.3.0-modern");
        let next = tag(&s, "v7.0.0").version().clone();
        assert_eq!(
            current.with_version(&next).as_deref(),
            Some("v7.0.0-modern")
        );
        let two = tag(&s, "1.28").version().clone();
        assert_eq!(current.with_version(&two), None);
        let built = tag(&s, "7.0.0+abc").version().clone();
        assert_eq!(current.with_version(&built), None);
        assert_eq!(
            tag(&s, "v1.0.0").with_version(&built).as_deref(),
            Some("v7.0.0+abc")
        );
    }

    #[test]
    fn template_round_trip_with_real_tags() {
        let s = Scheme::Semver;
        let release = tag(&s, "v25.4.1");
        let t = TagTemplate::parse("multiarch-v{version}").expect("valid");
        let image = t.render(release.version());
        assert_eq!(image, "multiarch-v25.4.1");
        let m = t.match_tag(&s, &image).expect("matches");
        assert_eq!(m.version, *release.version());
        assert_eq!(m.variant, None);

        let t = TagTemplate::parse("v{version}").expect("valid");
        let m = t.match_tag(&s, "v5.3.0-modern").expect("matches");
        assert_eq!(m.version.to_string(), "5.3.0");
        assert_eq!(m.variant.as_deref(), Some("-modern"));
        assert_eq!(
            t.render(&m.version) + m.variant.as_deref().unwrap_or(""),
            "v5.3.0-modern"
        );
    }

    #[test]
    fn hash_is_consistent_with_eq() {
        let s = Scheme::Semver;
        let h = |v: &Version| {
            let mut hasher = DefaultHasher::new();
            v.hash(&mut hasher);
            hasher.finish()
        };
        let a = tag(&s, "v1.2.3-rc.1").version().clone();
        let b = tag(&s, "1.2.3-rc.1").version().clone();
        assert_eq!(a, b);
        assert_eq!(h(&a), h(&b));
    }

    // ---- property tests -------------------------------------------------

    /// A realistic tag and what it is made of.
    #[derive(Clone, Debug)]
    struct Gen {
        text: String,
        prefix: &'static str,
        parts: Vec<u64>,
        pre: bool,
        hotfix: bool,
        variant: Option<&'static str>,
    }

    fn part() -> impl Strategy<Value = (u64, String)> {
        (0u64..12, 0usize..3).prop_map(|(n, width)| (n, format!("{n:0width$}")))
    }

    fn pre() -> impl Strategy<Value = String> {
        let word = prop::sample::select(vec![
            "alpha", "ALPHA", "beta", "Beta", "rc", "RC", "pre", "preview", "dev", "nightly",
        ]);
        let sep = prop::sample::select(vec!["", ".", "-"]);
        (word, sep, prop::option::of(0u64..12)).prop_map(|(w, sep, n)| match n {
            // `-dev3` is a development build, never a version.
            Some(n) if w == "dev" && sep.is_empty() => format!("-{w}.{n}"),
            Some(n) => format!("-{w}{sep}{n}"),
            None => format!("-{w}"),
        })
    }

    fn gen_tag() -> impl Strategy<Value = Gen> {
        let prefix = prop::sample::select(vec!["", "v", "V", "multiarch-v"]);
        let parts = prop::collection::vec(part(), 2..=4);
        let variant = prop::option::of(prop::sample::select(vec![
            "-alpine",
            "-modern",
            "-slim",
            "-alpine3.20",
        ]));
        let build = prop::option::of(prop::sample::select(vec!["+build.1", "+sha.5114f85", "+2"]));
        let hotfix = prop::option::of(prop::sample::select(vec![
            "-hotfix",
            "-Hotfix",
            "-hotfix.2",
            "-hotfix3",
        ]));
        (
            prefix,
            parts,
            prop::option::of(pre()),
            hotfix,
            variant,
            build,
        )
            .prop_map(|(prefix, parts, pre, hotfix, variant, build)| {
                // A hotfix is a final release: never after a pre-release.
                let pre = if hotfix.is_some() { None } else { pre };
                let numbers: Vec<&str> = parts.iter().map(|(_, s)| s.as_str()).collect();
                let mut text = format!("{prefix}{}", numbers.join("."));
                text.push_str(pre.as_deref().unwrap_or(""));
                text.push_str(hotfix.unwrap_or(""));
                match (variant, build) {
                    (Some(v), _) => text.push_str(v),
                    (None, Some(b)) => text.push_str(b),
                    (None, None) => {}
                }
                Gen {
                    text,
                    prefix,
                    parts: parts.iter().map(|(n, _)| *n).collect(),
                    pre: pre.is_some(),
                    hotfix: hotfix.is_some(),
                    variant,
                }
            })
    }

    fn parse_gen(g: &Gen) -> Result<Tag, TestCaseError> {
        Tag::parse(&Scheme::Semver, &g.text)
            .ok_or_else(|| TestCaseError::fail(format!("{:?} did not parse", g.text)))
    }

    proptest! {
        #[test]
        fn generated_tags_round_trip(g in gen_tag()) {
            let t = parse_gen(&g)?;
            prop_assert_eq!(t.to_string(), g.text.clone());
            prop_assert_eq!(t.prefix(), g.prefix);
            prop_assert_eq!(t.version().parts(), g.parts.as_slice());
            prop_assert_eq!(t.version().is_prerelease(), g.pre);
            prop_assert_eq!(t.version().is_hotfix(), g.hotfix);
            prop_assert_eq!(t.variant(), g.variant);
            let reparsed = Tag::parse(&Scheme::Semver, &t.to_string());
            prop_assert_eq!(reparsed.as_ref(), Some(&t));
            let template = TagTemplate::parse(&format!("{}{{version}}", g.prefix))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let m = template.match_tag(&Scheme::Semver, &g.text);
            prop_assert!(m.is_some());
            if let Some(m) = m {
                let rendered = template.render(&m.version) + m.variant.as_deref().unwrap_or("");
                prop_assert_eq!(rendered, g.text.clone());
            }
        }

        #[test]
        fn ordering_is_total_and_consistent_with_eq(
            a in gen_tag(), b in gen_tag(), c in gen_tag()
        ) {
            let tags = [parse_gen(&a)?, parse_gen(&b)?, parse_gen(&c)?];
            for x in &tags {
                for y in &tags {
                    let (vx, vy) = (x.version(), y.version());
                    prop_assert_eq!(vx.cmp(vy), vy.cmp(vx).reverse());
                    prop_assert_eq!(vx == vy, vx.cmp(vy) == Ordering::Equal);
                    prop_assert_eq!(vx == vy, vx.as_str() == vy.as_str());
                    prop_assert_eq!(vx.partial_cmp(vy), Some(vx.cmp(vy)));
                    prop_assert_eq!(x.cmp(y), y.cmp(x).reverse());
                    prop_assert_eq!(x == y, x.cmp(y) == Ordering::Equal);
                    prop_assert_eq!(x == y, x.to_string() == y.to_string());
                    if vx.cmp_precedence(vy) != Ordering::Equal {
                        prop_assert_eq!(vx.cmp(vy), vx.cmp_precedence(vy));
                    }
                }
            }
            for x in &tags {
                for y in &tags {
                    for z in &tags {
                        let (vx, vy, vz) = (x.version(), y.version(), z.version());
                        if vx <= vy && vy <= vz {
                            prop_assert!(vx <= vz);
                        }
                        if x <= y && y <= z {
                            prop_assert!(x <= z);
                        }
                    }
                }
            }
        }

        #[test]
        fn versions_differing_only_in_text_are_adjacent(g in gen_tag(), pad in 1usize..3) {
            // Zero-padding the first part keeps precedence but changes the text.
            let t = parse_gen(&g)?;
            let v = t.version();
            let padded = format!("{}{}", "0".repeat(pad), v);
            let w = Version::parse(&Scheme::Semver, &padded);
            prop_assert!(w.is_some());
            if let Some(w) = w {
                prop_assert_eq!(v.cmp_precedence(&w), Ordering::Equal);
                prop_assert_ne!(v, &w);
            }
        }

        #[test]
        fn with_version_keeps_the_class(a in gen_tag(), b in gen_tag()) {
            let (ta, tb) = (parse_gen(&a)?, parse_gen(&b)?);
            let moved = ta.with_version(tb.version());
            let fits = ta.version().parts().len() == tb.version().parts().len()
                && !(tb.version().build().is_some() && ta.variant().is_some());
            prop_assert_eq!(moved.is_some(), fits);
            if let Some(text) = moved {
                let t = Tag::parse(&Scheme::Semver, &text);
                prop_assert_eq!(t.as_ref().map(Tag::class), Some(ta.class()));
                prop_assert_eq!(t.as_ref().map(Tag::version), Some(tb.version()));
            }
        }

        #[test]
        fn a_hotfix_sorts_after_its_base_and_before_the_next(
            g in gen_tag(), marker in prop::sample::select(vec!["-hotfix", "-Hotfix.2", "-hotfix7"])
        ) {
            // The generated numbers alone: a final release.
            let base = g.parts.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
            let v = Version::parse(&Scheme::Semver, &base)
                .ok_or_else(|| TestCaseError::fail(format!("{base:?} did not parse")))?;
            let v = &v;
            let hot = Version::parse(&Scheme::Semver, &format!("{v}{marker}"));
            prop_assert!(hot.is_some());
            if let Some(hot) = hot {
                prop_assert!(hot.is_hotfix() && !hot.is_prerelease());
                prop_assert_eq!(hot.cmp_precedence(v), Ordering::Greater);
                let mut next = v.parts().to_vec();
                if let Some(last) = next.last_mut() {
                    *last += 1;
                }
                let next = next.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
                let next = Version::parse(&Scheme::Semver, &next);
                prop_assert!(next.is_some());
                if let Some(next) = next {
                    prop_assert_eq!(hot.cmp_precedence(&next), Ordering::Less);
                }
            }
        }

        #[test]
        fn parse_never_panics(s in ".*") {
            let regex = Scheme::Regex(
                RegexScheme::new(r"(?P<major>\d+)(?:\.(?P<minor>\d+))?(?P<pre>-rc\d+)?.*")
                    .map_err(|e| TestCaseError::fail(e.to_string()))?,
            );
            for scheme in [Scheme::Semver, Scheme::Calver, regex] {
                if let Some(t) = Tag::parse(&scheme, &s) {
                    prop_assert_eq!(t.to_string(), s.clone());
                }
            }
            let _ = is_junk(&s);
            let _ = TagTemplate::parse(&s);
            let _ = s.parse::<Scheme>();
        }

        #[test]
        fn parse_never_panics_printable(s in "\\PC*") {
            for scheme in [Scheme::Semver, Scheme::Calver] {
                if let Some(t) = Tag::parse(&scheme, &s) {
                    prop_assert_eq!(t.to_string(), s.clone());
                    let _ = t.class();
                }
            }
            if let Ok(t) = TagTemplate::parse("v{version}") {
                let _ = t.match_tag(&Scheme::Semver, &s);
            }
        }

        #[test]
        fn parse_never_panics_tag_alphabet(s in "[vV]?[0-9a-zA-Z.+_-]{0,24}") {
            for scheme in [Scheme::Semver, Scheme::Calver] {
                if let Some(t) = Tag::parse(&scheme, &s) {
                    prop_assert_eq!(t.to_string(), s.clone());
                    prop_assert!(!is_junk(&s));
                }
            }
        }
    }
}
