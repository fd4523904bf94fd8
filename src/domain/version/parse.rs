//! Tag parsers: the lenient `semver`/`calver` grammar and `regex:` schemes.
//!
//! The grammar is documented on the [parent module](super). Every slice
//! index below is on ASCII text (checked first) so slicing cannot panic.

use super::is_junk;
use super::scheme::{NUMERIC_GROUPS, RegexScheme};
use super::types::{PreKind, Prerelease, Tag, Version};

/// Longest text considered at all; longer input is never a version.
pub(super) const MAX_TAG_LEN: usize = 256;

/// Pre-release words, longest first so that `preview` wins over `pre`.
/// The flag says whether a number is required (`a1`, `b2`).
const PRE_WORDS: &[(&str, PreKind, bool)] = &[
    ("preview", PreKind::Preview, false),
    ("nightly", PreKind::Nightly, false),
    ("alpha", PreKind::Alpha, false),
    ("beta", PreKind::Beta, false),
    ("pre", PreKind::Pre, false),
    ("dev", PreKind::Dev, false),
    ("rc", PreKind::Rc, false),
    ("a", PreKind::Alpha, true),
    ("b", PreKind::Beta, true),
];

/// Parses a `semver` (or, with `calver`, a `calver`) tag.
pub(super) fn lenient(text: &str, calver: bool) -> Option<Tag> {
    if text.len() > MAX_TAG_LEN
        || !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
        || is_junk(text)
    {
        return None;
    }
    let b = text.as_bytes();

    let start = b.iter().position(u8::is_ascii_digit)?;
    let prefix = &text[..start];
    let prefix_ok = |p: &str| {
        p.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
            && p.bytes()
                .all(|c| c.is_ascii_alphabetic() || c == b'-' || c == b'_')
    };
    if !prefix.is_empty() && !prefix_ok(prefix) {
        return None;
    }

    let mut parts = Vec::with_capacity(4);
    let mut first_len = 0;
    let mut i = start;
    loop {
        let part_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        parts.push(text[part_start..i].parse::<u64>().ok()?);
        if parts.len() == 1 {
            first_len = i - part_start;
        }
        if parts.len() > 4 {
            return None;
        }
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            i += 1;
        } else {
            break;
        }
    }
    if parts.len() < 2 || (calver && first_len != 2 && first_len != 4) {
        return None;
    }
    if !calver && is_date_stamp(first_len, &parts) {
        return None;
    }

    let (pre, pre_len) = match prerelease_at(&text[i..])? {
        Some((kind, number, len)) => {
            let marker = Prerelease {
                kind,
                number,
                text: text[i..i + len].to_owned(),
            };
            (Some(marker), len)
        }
        None => (None, 0),
    };
    i += pre_len;
    let mut hotfix = None;
    if pre.is_none()
        && let Some((number, len)) = hotfix_at(&text[i..])?
    {
        hotfix = Some(number);
        i += len;
    }

    let rest = &text[i..];
    let (build, variant) = if let Some(meta) = rest.strip_prefix('+') {
        if !valid_build(meta) {
            return None;
        }
        (Some(meta.to_owned()), None)
    } else if let Some(body) = rest.strip_prefix('-') {
        if !valid_variant(body) {
            return None;
        }
        (None, Some(rest.to_owned()))
    } else if rest.is_empty() {
        (None, None)
    } else {
        return None;
    };
    let end = text.len() - variant.as_ref().map_or(0, String::len);

    Some(Tag {
        prefix: prefix.to_owned(),
        version: Version {
            parts,
            pre,
            hotfix,
            build,
            text: text[start..end].to_owned(),
        },
        variant,
    })
}

/// Looks for a pre-release at the start of `rest` (right after the numbers).
///
/// `Some(None)`: there is none (`rest` is empty, a variant or build metadata).
/// `Some(Some((kind, number, len)))`: one spanning `rest[..len]`.
/// `None`: a pre-release word starts here but what follows is malformed, so
/// the whole tag is rejected rather than read as a variant.
fn prerelease_at(rest: &str) -> Option<Option<(PreKind, Option<u64>, usize)>> {
    let (dash, body) = match rest.strip_prefix('-') {
        Some(body) => (1, body),
        None => (0, rest),
    };
    let Some((kind, word_len, needs_number)) = pre_word(body) else {
        return Some(None);
    };
    let after = &body.as_bytes()[word_len..];
    let digits_at = match after {
        [d, ..] if d.is_ascii_digit() => Some(0),
        [b'.' | b'-', d, ..] if d.is_ascii_digit() => Some(1),
        _ => None,
    };
    let (number, used) = match digits_at {
        Some(at) => {
            let n = after[at..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let digits = std::str::from_utf8(&after[at..at + n]).ok()?;
            (Some(digits.parse::<u64>().ok()?), at + n)
        }
        None => (None, 0),
    };
    if needs_number && number.is_none() {
        return Some(None);
    }
    match after.get(used) {
        None | Some(b'-' | b'+') => Some(Some((kind, number, dash + word_len + used))),
        Some(_) => None,
    }
}

/// A semver-scheme tag whose first part reads as a year (a 4-digit number
/// from 1970 to 2099) and whose second part as a month: a date-stamped
/// snapshot such as `v2022.09.01`, not a semantic version.
fn is_date_stamp(first_len: usize, parts: &[u64]) -> bool {
    first_len == 4
        && (1970..=2099).contains(&parts[0])
        && parts.get(1).is_some_and(|m| (1..=12).contains(m))
}

/// Looks for a hotfix marker at the start of `rest`: `-hotfix` in any case,
/// optionally followed by a number (`-hotfix2`, `-hotfix.2`).
///
/// `Some(None)`: there is none. `Some(Some((number, len)))`: one spanning
/// `rest[..len]` (number 0 when none is written). `None`: `-hotfix` and a
/// number followed by something that is no variant or build metadata.
fn hotfix_at(rest: &str) -> Option<Option<(u64, usize)>> {
    const WORD: &[u8] = b"hotfix";
    let Some(body) = rest.strip_prefix('-') else {
        return Some(None);
    };
    let b = body.as_bytes();
    if b.len() < WORD.len() || !b[..WORD.len()].eq_ignore_ascii_case(WORD) {
        return Some(None);
    }
    let after = &b[WORD.len()..];
    let digits_at = match after {
        [] | [b'-' | b'+', ..] => return Some(Some((0, 1 + WORD.len()))),
        [d, ..] if d.is_ascii_digit() => 0,
        [b'.', d, ..] if d.is_ascii_digit() => 1,
        // `-hotfixes`, `-hotfix_x`: not a hotfix marker (a variant, maybe).
        _ => return Some(None),
    };
    let n = after[digits_at..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let number = std::str::from_utf8(&after[digits_at..digits_at + n])
        .ok()?
        .parse::<u64>()
        .ok()?;
    let used = digits_at + n;
    match after.get(used) {
        None | Some(b'-' | b'+') => Some(Some((number, 1 + WORD.len() + used))),
        Some(_) => None,
    }
}

/// A pre-release word at the start of `s`, case-insensitive, followed by a
/// boundary (end, digit, `.`, `-`, `_`, `+`): `(kind, word length, needs number)`.
fn pre_word(s: &str) -> Option<(PreKind, usize, bool)> {
    let b = s.as_bytes();
    PRE_WORDS.iter().find_map(|&(word, kind, needs_number)| {
        let head = b.get(..word.len())?;
        let boundary = match b.get(word.len()) {
            None => true,
            Some(c) => c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'_' | b'+'),
        };
        (head.eq_ignore_ascii_case(word.as_bytes()) && boundary).then_some((
            kind,
            word.len(),
            needs_number,
        ))
    })
}

/// Semver build metadata: dot-separated non-empty `[0-9A-Za-z-]` identifiers.
fn valid_build(meta: &str) -> bool {
    !meta.is_empty()
        && meta
            .split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
}

/// A variant body (after its `-`): `[A-Za-z0-9._-]`, alphanumeric at both
/// ends, at least one letter.
fn valid_variant(body: &str) -> bool {
    let b = body.as_bytes();
    matches!((b.first(), b.last()), (Some(f), Some(l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
        && b.iter().any(u8::is_ascii_alphabetic)
}

/// Classifies a pre-release captured by a `regex:` scheme. The whole capture
/// (minus one leading `-`, `.` or `_`) must be a known word with an optional
/// number; anything else is [`PreKind::Other`].
fn classify_pre(text: &str) -> Prerelease {
    let body = text.strip_prefix(['-', '.', '_']).unwrap_or(text);
    let known = match prerelease_at(body) {
        Some(Some((kind, number, len))) if len == body.len() => Some((kind, number)),
        _ => None,
    };
    let (kind, number) = known.unwrap_or((PreKind::Other, None));
    Prerelease {
        kind,
        number,
        text: text.to_owned(),
    }
}

/// Parses a tag with a `regex:` scheme: the anchored pattern must match the
/// whole text; the prefix is the text before the first named group, the
/// variant the text after the last one.
pub(super) fn regex(scheme: &RegexScheme, text: &str) -> Option<Tag> {
    if text.len() > MAX_TAG_LEN || is_junk(text) {
        return None;
    }
    // The whole text, or a start of it followed by a variant suffix.
    let caps = match scheme.regex().captures(text) {
        Some(c) => c,
        None => {
            let c = scheme.head().captures(text)?;
            let end = c.get(0)?.end();
            let tail = text.get(end..)?;
            if !tail.strip_prefix('-').is_some_and(valid_variant) {
                return None;
            }
            c
        }
    };
    let mut lo = usize::MAX;
    let mut hi = 0;
    let mut numbers = [None; 4];
    for (slot, name) in numbers.iter_mut().zip(NUMERIC_GROUPS) {
        if let Some(m) = caps.name(name) {
            let s = m.as_str();
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            *slot = Some(s.parse::<u64>().ok()?);
            lo = lo.min(m.start());
            hi = hi.max(m.end());
        }
    }
    numbers[0]?;
    let count = numbers
        .iter()
        .rposition(Option::is_some)
        .map_or(0, |p| p + 1);
    let parts = numbers[..count].iter().map(|n| n.unwrap_or(0)).collect();
    let (mut pre, mut hotfix) = (None, None);
    if let Some(m) = caps.name("pre").filter(|m| !m.as_str().is_empty()) {
        lo = lo.min(m.start());
        hi = hi.max(m.end());
        let dashed = format!("-{}", m.as_str().trim_start_matches(['-', '.', '_']));
        match hotfix_at(&dashed) {
            Some(Some((number, len))) if len == dashed.len() => hotfix = Some(number),
            _ => pre = Some(classify_pre(m.as_str())),
        }
    }
    let version_text = text.get(lo..hi)?;
    let variant = text.get(hi..)?;
    Some(Tag {
        prefix: text.get(..lo)?.to_owned(),
        version: Version {
            parts,
            pre,
            hotfix,
            build: None,
            text: version_text.to_owned(),
        },
        variant: (!variant.is_empty()).then(|| variant.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Scheme, VersionError};
    use super::*;

    fn semver(s: &str) -> Option<Tag> {
        lenient(s, false)
    }

    #[test]
    fn rejects_non_versions() {
        for s in [
            "1",
            "v1",
            "1.",
            "1.2.",
            ".1.2",
            "1..2",
            "1.2.3.4.5",
            "1.2.3-",
            "1.2.3-1",
            "1.2.3-20240101",
            "1.2.3-rc.1.2",
            "1.2.3-rc1x",
            "1.2.3-rc_1",
            "1.2.3x",
            "1.2.3-alpine-",
            "1.2.3--alpine",
            "1.2.3-alpine+meta",
            "1.2.3+",
            "1.2.3+a..b",
            "1.2.3 ",
            "v 1.2.3",
            "-v1.2.3",
            "1v.2.3",
            "1.2/3",
            "v1.2.3@sha256",
            "99999999999999999999.1",
            "ümlaut1.2",
            "2024-01-01",
            "20240101",
            "1.2.3-hotfix2x",
        ] {
            assert!(semver(s).is_none(), "{s:?}");
        }
    }

    #[test]
    fn hotfix_markers() {
        // (tag, version text, variant)
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("v4.0.3-hotfix", "4.0.3-hotfix", None),
            ("23.10.3-Hotfix", "23.10.3-Hotfix", None),
            ("v0.4.0-HOTFIX", "0.4.0-HOTFIX", None),
            ("1.2.3-hotfix.2", "1.2.3-hotfix.2", None),
            ("1.2.3-hotfix2", "1.2.3-hotfix2", None),
            ("v1.3.8-hotfix+6c0942", "1.3.8-hotfix+6c0942", None),
            ("v5.3.0-hotfix-modern", "5.3.0-hotfix", Some("-modern")),
            ("1.2.3-hotfixes", "1.2.3", Some("-hotfixes")),
            ("1.2.3-hotfix.x", "1.2.3", Some("-hotfix.x")),
        ];
        for &(s, version, variant) in cases {
            let t = semver(s).unwrap_or_else(|| panic!("{s:?} should parse"));
            assert_eq!(t.version.as_str(), version, "{s}");
            assert_eq!(t.variant.as_deref(), variant, "{s}");
            assert!(!t.version.is_prerelease(), "{s}");
            assert_eq!(t.to_string(), s);
        }
        assert_eq!(
            semver("1.2.3-hotfix.2").map(|t| t.version.hotfix),
            Some(Some(2))
        );
        assert_eq!(
            semver("1.2.3-hotfix").map(|t| t.version.hotfix),
            Some(Some(0))
        );
        // A pre-release is never also a hotfix: the marker is a variant there.
        let t = semver("1.2.3-rc.1-hotfix").expect("parses");
        assert!(t.version.is_prerelease() && !t.version.is_hotfix());
    }

    #[test]
    fn date_stamps_are_not_semver_versions() {
        for s in [
            "v2022.09.01",
            "2024.01.15",
            "v2021.10.2",
            "2025.1.0",
            "v1999.12.31",
        ] {
            assert!(semver(s).is_none(), "{s:?}");
            assert!(lenient(s, true).is_some(), "calver reads {s:?}");
        }
        for s in [
            "v3.1",
            "1.2.3.4",
            "2100.1.0",
            "1969.1.0",
            "2024.13.1",
            "v0.2024.1",
        ] {
            assert!(semver(s).is_some(), "{s:?}");
        }
    }

    #[test]
    fn pre_versus_variant() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("1.2.3-alpine", None, Some("-alpine")),
            ("1.2.3-alpha", Some("-alpha"), None),
            ("1.2.3-amd64", None, Some("-amd64")),
            ("1.2.3-a1", Some("-a1"), None),
            ("1.2.3-b", None, Some("-b")),
            ("1.2.3-bookworm", None, Some("-bookworm")),
            ("1.2.3-beta-2", Some("-beta-2"), None),
            ("1.2.3-devel", None, Some("-devel")),
            ("1.2.3-dev", Some("-dev"), None),
            ("1.2.3-debian", None, Some("-debian")),
            ("1.2.3-rc-alpine", Some("-rc"), Some("-alpine")),
            ("1.2.3-preview.1", Some("-preview.1"), None),
            ("1.2.3-pre", Some("-pre"), None),
            ("1.2.3-portable", None, Some("-portable")),
            ("1.2.3-slim", None, Some("-slim")),
            ("1.2.3-nightly.20240101", Some("-nightly.20240101"), None),
            ("1.2.3-alpine-rc1", None, Some("-alpine-rc1")),
            ("1.2.3-RC1-alpine3.20", Some("-RC1"), Some("-alpine3.20")),
            ("3.13.0b2", Some("b2"), None),
        ];
        for &(s, pre, variant) in cases {
            let t = semver(s).unwrap_or_else(|| panic!("{s:?} should parse"));
            assert_eq!(t.version.pre.as_ref().map(|p| p.text.as_str()), pre, "{s}");
            assert_eq!(t.variant.as_deref(), variant, "{s}");
            assert_eq!(t.to_string(), s);
        }
    }

    #[test]
    fn calver_needs_a_year() {
        assert!(lenient("2025.01.07", true).is_some());
        assert!(lenient("25.1.0", true).is_some());
        assert!(lenient("1.31.10", true).is_none());
        assert!(lenient("202.1.0", true).is_none());
        assert!(lenient("20250.1.0", true).is_none());
        assert!(lenient("2025.1.0-rc.1-alpine", true).is_some());
    }

    #[test]
    fn regex_scheme_named_groups() {
        let scheme: Scheme = r"regex:release-(?P<major>\d+)_(?P<minor>\d+)(?:_(?P<patch>\d+))?(?P<pre>-rc\d+)?(?:-.+)?"
            .parse()
            .expect("valid");
        let t = Tag::parse(&scheme, "release-1_2_3-rc4-alpine").expect("matches");
        assert_eq!(t.prefix(), "release-");
        assert_eq!(t.version().parts(), &[1, 2, 3]);
        assert_eq!(t.version().as_str(), "1_2_3-rc4");
        let pre = t.version().pre().expect("pre");
        assert_eq!((pre.kind(), pre.number()), (PreKind::Rc, Some(4)));
        assert_eq!(t.variant(), Some("-alpine"));
        assert_eq!(t.to_string(), "release-1_2_3-rc4-alpine");

        let short = Tag::parse(&scheme, "release-1_2").expect("matches");
        assert_eq!(short.version().parts(), &[1, 2]);
        assert_ne!(short.class(), t.class());
        assert!(short.version() < t.version());
        // Anchored: no partial match.
        assert!(Tag::parse(&scheme, "xrelease-1_2").is_none());
        assert!(Tag::parse(&scheme, "release-1_2_").is_none());
    }

    #[test]
    fn regex_scheme_reads_a_variant_after_its_match() {
        // The upkeep.example.yml pattern: anchored by the user, no tail.
        let scheme: Scheme = r"regex:^release-(?<major>\d+)\.(?<minor>\d+)(?:-(?<pre>rc\d+))?$"
            .parse()
            .expect("valid");
        let t = Tag::parse(&scheme, "release-1.4-rc2").expect("matches");
        assert_eq!((t.prefix(), t.version().as_str()), ("release-", "1.4-rc2"));
        assert!(t.version().is_prerelease());
        assert!(
            Tag::parse(&scheme, "release-1.4-alpine").is_none(),
            "`$` is the user's"
        );
        let version_only: Scheme = r"regex:(?<major>\d+)_(?<minor>\d+)(?:-(?<pre>rc\d+|hotfix))?"
            .parse()
            .expect("valid");
        let t = Tag::parse(&version_only, "1_2-alpine").expect("a variant follows");
        assert_eq!(
            (t.version().as_str(), t.variant()),
            ("1_2", Some("-alpine"))
        );
        let t = Tag::parse(&version_only, "1_2-rc3-alpine").expect("matches");
        assert_eq!(
            (t.version().as_str(), t.variant()),
            ("1_2-rc3", Some("-alpine"))
        );
        let h = Tag::parse(&version_only, "1_2-hotfix").expect("matches");
        assert!(h.version().is_hotfix() && !h.version().is_prerelease());
        assert!(h.version() > Tag::parse(&version_only, "1_2").expect("m").version());
        for bad in ["1_2_", "1_2-", "1_2-alpine-", "1_2.3"] {
            assert!(Tag::parse(&version_only, bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn regex_scheme_missing_groups_count_as_zero() {
        let scheme: Scheme = r"regex:(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?(?:\.(?P<build>\d+))?(?:-(?P<pre>[A-Za-z]+))?"
            .parse()
            .expect("valid");
        let four = Tag::parse(&scheme, "25.1.0.1").expect("matches");
        assert_eq!(four.version().parts(), &[25, 1, 0, 1]);
        let snap = Tag::parse(&scheme, "2.0-SNAPSHOT").expect("matches");
        assert_eq!(snap.version().parts(), &[2, 0]);
        assert_eq!(
            snap.version().pre().map(Prerelease::kind),
            Some(PreKind::Other)
        );
        assert!(snap.version() < Tag::parse(&scheme, "2.0-alpha").expect("m").version());
        assert!(snap.version() < Tag::parse(&scheme, "2").expect("m").version());
        assert!(Tag::parse(&scheme, "latest").is_none());

        let gap: Scheme = r"regex:(?P<major>\d+)-(?P<patch>\d+)"
            .parse()
            .expect("valid");
        let t = Tag::parse(&gap, "3-7").expect("matches");
        assert_eq!(t.version().parts(), &[3, 0, 7]);
    }

    #[test]
    fn regex_scheme_non_numeric_group_is_no_match() {
        let scheme: Scheme = r"regex:(?P<major>\w+)\.(?P<minor>\d+)"
            .parse()
            .expect("valid");
        assert!(Tag::parse(&scheme, "x.1").is_none());
        assert!(Tag::parse(&scheme, "1.1").is_some());
        let optional: Scheme = r"regex:(?P<major>\d+)?\.(?P<minor>\d+)"
            .parse()
            .expect("valid");
        assert!(Tag::parse(&optional, ".1").is_none());
    }

    #[test]
    fn invalid_regex_is_an_error() {
        let err = "regex:(?P<major>\\d+".parse::<Scheme>().unwrap_err();
        assert!(matches!(err, VersionError::InvalidRegex { .. }), "{err:?}");
        assert!(err.to_string().contains("unclosed group"), "{err}");
    }
}
