//! Security advisory ids named in release notes: `CVE-2025-12345` and
//! `GHSA-xxxx-xxxx-xxxx`, with the page each one is published on (the NVD
//! for a CVE, GitHub's advisory database for a GHSA).
//!
//! The ids are found with linear-time regular expressions (no
//! backtracking, whatever the notes hold), written in their canonical form
//! (`CVE-` upper case, a GHSA id lower case after `GHSA-`), de-duplicated in
//! the order they first appear, and capped at [`MAX`]: the rest are only
//! counted. An id is built from the characters the pattern allows, so it is
//! safe to print and to put in a link as it is.
//!
//! Pure: text in, ids out. Must not: fetch advisories or guess ids from
//! anything but the pattern.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::domain::release::Release;

/// Ids listed at most; more are counted in [`Advisories::more`].
pub const MAX: usize = 10;

/// `CVE-YYYY-NNNN` (four to seven digits, as MITRE assigns them).
static CVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bCVE-(\d{4})-(\d{4,7})\b").unwrap_or_else(|_| unreachable!())
});
/// `GHSA-xxxx-xxxx-xxxx` in GitHub's alphabet (no easily confused letters).
static GHSA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bGHSA(-[23456789cfghjmpqrvwx]{4}){3}\b").unwrap_or_else(|_| unreachable!())
});

/// One advisory id and where it is published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Advisory {
    /// `CVE-2025-12345`, `GHSA-4f8r-qqr9-fq8j`.
    pub id: String,
    /// `https://nvd.nist.gov/vuln/detail/CVE-2025-12345`,
    /// `https://github.com/advisories/GHSA-4f8r-qqr9-fq8j`.
    pub url: String,
}

/// The advisory ids of some text, the first [`MAX`] of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Advisories {
    pub ids: Vec<Advisory>,
    /// Distinct ids found beyond [`MAX`].
    pub more: usize,
    /// The ids counted in `more`.
    #[serde(skip)]
    beyond: std::collections::BTreeSet<String>,
}

impl Advisories {
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds the ids of `text` not seen yet.
    pub fn scan(&mut self, text: &str) {
        let mut found: Vec<(usize, String)> = CVE
            .captures_iter(text)
            .filter_map(|c| {
                let m = c.get(0)?;
                Some((m.start(), format!("CVE-{}-{}", &c[1], &c[2])))
            })
            .chain(GHSA.find_iter(text).map(|m| {
                let id = m.as_str();
                (m.start(), format!("GHSA{}", id[4..].to_ascii_lowercase()))
            }))
            .collect();
        found.sort();
        for (_, id) in found {
            if self.ids.iter().any(|a| a.id == id) {
                continue;
            }
            if self.ids.len() >= MAX {
                if self.beyond.insert(id) {
                    self.more += 1;
                }
                continue;
            }
            let url = if id.starts_with("CVE-") {
                format!("https://nvd.nist.gov/vuln/detail/{id}")
            } else {
                format!("https://github.com/advisories/{id}")
            };
            self.ids.push(Advisory { id, url });
        }
    }

    /// The ids of `texts`, in order.
    pub fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Advisories {
        let mut out = Advisories::default();
        for t in texts {
            out.scan(t);
        }
        out
    }

    /// The ids of the notes of `releases`.
    pub fn of_releases<'a>(releases: impl IntoIterator<Item = &'a Release>) -> Advisories {
        Advisories::of(releases.into_iter().map(Release::notes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<String> {
        Advisories::of([text])
            .ids
            .into_iter()
            .map(|a| a.id)
            .collect()
    }

    #[test]
    fn cve_and_ghsa_ids_are_found_canonical_and_once() {
        assert_eq!(
            ids("Fixes cve-2025-1234 and GHSA-4F8R-QQR9-FQ8J (see CVE-2025-1234)."),
            ["CVE-2025-1234", "GHSA-4f8r-qqr9-fq8j"]
        );
        let a = Advisories::of(["GHSA-4f8r-qqr9-fq8j"]);
        assert_eq!(
            a.ids[0].url,
            "https://github.com/advisories/GHSA-4f8r-qqr9-fq8j"
        );
        let a = Advisories::of(["CVE-2024-45337"]);
        assert_eq!(
            a.ids[0].url,
            "https://nvd.nist.gov/vuln/detail/CVE-2024-45337"
        );
    }

    #[test]
    fn look_alikes_are_not_ids() {
        assert!(ids("CVE-2025-12 CVE-25-1234 XCVE-2025-1234 CVE-2025-12345678").is_empty());
        assert!(ids("GHSA-aaaa-bbbb-cccc GHSA-4f8r-qqr9 GHSA-4f8r-qqr9-fq8j1").is_empty());
    }

    #[test]
    fn ids_inside_html_come_out_without_it() {
        let text = r#"<a href="https://x/CVE-2025-1111">CVE-2025-1111</a><img src=x onerror="GHSA-2222-3333-4444">"#;
        assert_eq!(ids(text), ["CVE-2025-1111", "GHSA-2222-3333-4444"]);
        for a in Advisories::of([text]).ids {
            assert!(!a.url.contains(['<', '>', '"', ' ']), "{}", a.url);
        }
    }

    #[test]
    fn many_ids_are_capped_and_counted() {
        let text: String = (0..5000)
            .map(|i| format!("CVE-2025-{:05} CVE-2025-{:05} ", 10000 + i, 10000 + i))
            .collect();
        let a = Advisories::of([text.as_str()]);
        assert_eq!(a.ids.len(), MAX);
        assert_eq!(a.more, 5000 - MAX);
        assert_eq!(a.ids[0].id, "CVE-2025-10000");
    }
}
