//! Manifest scanning and bumping: finds every container image reference in a
//! deployment tree with the exact byte span of its tag (and digest), and
//! rewrites those bytes and nothing else.
//!
//! Pure apart from reading and atomically writing files under the scanned
//! root: no network, no clock, no git. Never follows a symlink.

mod bump;
mod dockerfile;
mod dotenv;
pub mod image;
mod scan;
mod structured;
mod types;

pub use bump::{
    BumpError, BumpPlan, BumpRequest, DigestAction, FileChange, Outcome, Unchanged, bump_text,
    bump_text_only, plan as plan_bump, write as write_bump,
};
pub use scan::{Problem, ScanReport, scan, scan_file_text as scan_text};
pub use types::{Kind, Reference, Site, Skip, Span};

/// The text of one file being scanned, with what every scanner needs to
/// turn byte offsets into references.
pub(crate) struct Source<'a> {
    /// Path relative to the scanned root, `/`-separated.
    pub file: &'a str,
    /// The whole file, BOM included.
    pub text: &'a str,
    /// Length of the UTF-8 BOM (0 or 3): scanners parse `&text[bom..]`.
    pub bom: usize,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            file,
            text,
            bom,
            line_starts,
        }
    }

    /// The text after the BOM; offsets into it are `bom` bytes short.
    pub fn body(&self) -> &'a str {
        &self.text[self.bom..]
    }

    /// 1-based line and character column of a byte offset (BOM not counted).
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1].max(self.bom);
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }

    /// A reference at `pos` (the tag's first byte, or the image's when untagged).
    #[allow(clippy::too_many_arguments)]
    pub fn reference(
        &self,
        kind: Kind,
        pos: usize,
        image: &str,
        tag: Option<(&str, Span, Site)>,
        digest: Option<(&str, Span, bool)>,
        skip: Option<Skip>,
    ) -> Reference {
        let (line, column) = self.line_column(tag.map_or(pos, |t| t.1.start));
        let skip = skip.or(match (&tag, &digest) {
            (None, Some(_)) => Some(Skip::DigestOnly),
            (None, None) => Some(Skip::Untagged),
            _ => None,
        });
        Reference {
            file: self.file.to_string(),
            line,
            column,
            kind,
            image: image.to_string(),
            tag: tag.map(|t| t.0.to_string()),
            digest: digest.map(|d| d.0.to_string()),
            skip,
            tag_span: tag.map(|t| t.1),
            tag_site: tag.map_or(Site::Text, |t| t.2),
            digest_span: digest.map(|d| d.1),
            digest_inline: digest.is_some_and(|d| d.2),
            inline_image: false,
        }
    }

    /// References found in an image string written at `start..start+len` of
    /// the file (`repo:tag@digest`, possibly with `${VAR:-default}` parts).
    /// Returns `None` when the string is not an image reference at all.
    pub fn image_string(
        &self,
        kind: Kind,
        value: &str,
        start: Option<usize>,
        pos: usize,
    ) -> Option<Reference> {
        if image::is_templated(value) {
            return Some(self.reference(kind, pos, value, None, None, Some(Skip::Templated)));
        }
        let resolved = match image::interpolate(value) {
            Ok(r) => r,
            Err(skip) => return Some(self.reference(kind, pos, value, None, None, Some(skip))),
        };
        let parts = image::split(&resolved.text)?;
        let name = &resolved.text[parts.name.clone()];
        let locate = |r: std::ops::Range<usize>| {
            let src = resolved.source_range(r)?;
            let s = start?;
            Some(Span::new(s + src.start, s + src.end))
        };
        let tag = parts
            .tag
            .clone()
            .map(|r| (&resolved.text[r.clone()], locate(r)));
        let digest = parts
            .digest
            .clone()
            .map(|r| (&resolved.text[r.clone()], locate(r)));
        // A tag or digest we cannot point at (it straddles a variable) cannot be bumped.
        if tag.as_ref().is_some_and(|t| t.1.is_none())
            || digest.as_ref().is_some_and(|d| d.1.is_none())
        {
            return Some(self.reference(kind, pos, value, None, None, Some(Skip::Variable)));
        }
        let mut reference = self.reference(
            kind,
            pos,
            name,
            tag.map(|(t, s)| (t, s.expect("checked above"), Site::Text)),
            digest.map(|(d, s)| (d, s.expect("checked above"), true)),
            None,
        );
        reference.inline_image = start.is_some() && !value.contains('$');
        Some(reference)
    }
}

/// Helpers for the scanners' unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{Kind, Reference};

    /// A reference as the unit tests compare it.
    pub type Row = (String, Option<String>, usize, usize);

    /// `(image, tag, line, column)` of each reference, checking that each is
    /// of `kind` and that its tag span holds exactly its tag.
    pub fn summary(text: &str, kind: Kind, refs: Vec<Reference>) -> Vec<Row> {
        refs.into_iter()
            .map(|r| {
                assert_eq!(r.kind, kind);
                if let (Some(tag), Some(span)) = (&r.tag, r.tag_span) {
                    assert_eq!(&text[span.start..span.end], tag);
                }
                (r.image, r.tag, r.line, r.column)
            })
            .collect()
    }

    pub fn row(image: &str, tag: &str, line: usize, column: usize) -> Row {
        (image.to_string(), Some(tag.to_string()), line, column)
    }
}
