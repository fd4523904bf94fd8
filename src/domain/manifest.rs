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
    bump_text_in, bump_text_only, bump_text_only_in, plan as plan_bump, write as write_bump,
};
pub use scan::{
    FileScan, Problem, Project, ScanReport, project_files, scan, scan_each,
    scan_file_text as scan_text, scan_text_in,
};
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
    /// Where lines start and, for non-ASCII text, how many UTF-8
    /// continuation bytes precede each [`BLOCK`]-byte block, so that a
    /// column costs at most one block's scan (never a walk back to the
    /// start of a long line). Built on the first position asked for: most
    /// files hold no reference and never ask.
    index: std::cell::OnceCell<(Vec<usize>, Option<Vec<usize>>)>,
    /// The compose project's `.env`, for a compose file next to one.
    pub env: Option<&'a Env<'a>>,
    /// Steps of work left for this file (nodes visited by the walks): a
    /// bounded counter, since pure code cannot read the clock. A file that
    /// spends it is a problem, so one file cannot stall a repository.
    pub budget: std::cell::Cell<usize>,
    pub budget_size: usize,
}

/// Steps of work one file may take: far more than any file within the size
/// cap needs (every walk visits each node once, plus what aliases stand
/// for, itself bounded).
pub const SCAN_BUDGET: usize = 8_000_000;

/// A compose project's `.env`: the variables compose interpolates, and
/// where each value is written.
pub(crate) struct Env<'a> {
    pub source: Source<'a>,
    vars: std::collections::HashMap<&'a str, image::EnvValue<'a>>,
}

impl<'a> Env<'a> {
    /// Reads the `.env` at `file` (its path relative to the root).
    pub fn new(file: &'a str, text: &'a str) -> Self {
        let source = Source::new(file, text);
        let vars = dotenv::variables(&source)
            .into_iter()
            .map(|(key, value, at)| (key, image::EnvValue { value, at }))
            .collect();
        Env { source, vars }
    }

    fn get(&self, name: &str) -> Option<image::EnvValue<'a>> {
        self.vars.get(name).copied()
    }
}

/// Granularity of [`Source`]'s continuation-byte index.
const BLOCK: usize = 256;

impl<'a> Source<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Self {
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        Source {
            file,
            text,
            bom,
            index: std::cell::OnceCell::new(),
            env: None,
            budget: std::cell::Cell::new(SCAN_BUDGET),
            budget_size: SCAN_BUDGET,
        }
    }

    fn index(&self) -> &(Vec<usize>, Option<Vec<usize>>) {
        self.index.get_or_init(|| {
            let text = self.text.as_bytes();
            let mut line_starts = vec![0];
            line_starts.extend(memchr::memchr_iter(b'\n', text).map(|i| i + 1));
            let continuations = (!text.is_ascii()).then(|| {
                let mut seen = 0;
                let mut blocks = Vec::with_capacity(text.len() / BLOCK + 1);
                for block in text.chunks(BLOCK) {
                    blocks.push(seen);
                    seen += block.iter().filter(|&&b| is_continuation(b)).count();
                }
                blocks
            });
            (line_starts, continuations)
        })
    }

    /// Number of chars in `text[..offset]` (`offset` on a char boundary).
    fn chars_before(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        match &self.index().1 {
            None => offset,
            Some(blocks) => {
                let block = offset / BLOCK;
                let tail = &self.text.as_bytes()[block * BLOCK..offset];
                let before = blocks.get(block).copied().unwrap_or(0)
                    + tail.iter().filter(|&&b| is_continuation(b)).count();
                offset - before
            }
        }
    }

    /// The text after the BOM; offsets into it are `bom` bytes short.
    pub fn body(&self) -> &'a str {
        &self.text[self.bom..]
    }

    /// 1-based line and character column of a byte offset (BOM not counted).
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let line_starts = &self.index().0;
        let line = line_starts.partition_point(|&s| s <= offset);
        let start = line_starts[line - 1].max(self.bom);
        let column = if offset >= start && self.text.is_char_boundary(offset) {
            self.chars_before(offset) - self.chars_before(start) + 1
        } else {
            1
        };
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
            (Some((t, _, _)), _) if image::is_local_tag(t) => Some(Skip::LocalBuild),
            (Some((t, _, _)), None) if image::is_moving_tag(t) => Some(Skip::MovingTag),
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
        let env = self.env.filter(|_| kind == Kind::Compose);
        let lookup = |name: &str| env.and_then(|e| e.get(name));
        let resolved = match image::interpolate_with(value, &lookup) {
            Ok(r) => r,
            Err(skip) => return Some(self.reference(kind, pos, value, None, None, Some(skip))),
        };
        let parts = image::split(&resolved.text)?;
        let name = &resolved.text[parts.name.clone()];
        // Where the tag and digest are written: in this file, or in `.env`.
        let locate = |r: std::ops::Range<usize>| match resolved.place_range(r)? {
            (image::Place::Here, src) => {
                let s = start?;
                Some((image::Place::Here, Span::new(s + src.start, s + src.end)))
            }
            (image::Place::Env, src) => Some((image::Place::Env, Span::new(src.start, src.end))),
        };
        let tag = parts
            .tag
            .clone()
            .map(|r| (&resolved.text[r.clone()], locate(r)));
        let digest = parts
            .digest
            .clone()
            .map(|r| (&resolved.text[r.clone()], locate(r)));
        // A tag or digest we cannot point at (it straddles a variable) cannot
        // be bumped, nor can a tag and digest written in two files.
        let places: Vec<_> = [tag.as_ref().map(|t| t.1), digest.as_ref().map(|d| d.1)]
            .into_iter()
            .flatten()
            .collect();
        if places.iter().any(Option::is_none)
            || places
                .windows(2)
                .any(|w| w[0].map(|p| p.0) != w[1].map(|p| p.0))
        {
            return Some(self.reference(kind, pos, value, None, None, Some(Skip::Variable)));
        }
        let in_env = places.first().and_then(|p| *p).map(|p| p.0) == Some(image::Place::Env);
        let span = |p: Option<(image::Place, Span)>| p.expect("checked above").1;
        let (at, pos) = match (in_env, env) {
            (true, Some(env)) => (&env.source, places[0].map_or(pos, |p| p.1.start)),
            _ => (self, pos),
        };
        let mut reference = at.reference(
            kind,
            pos,
            name,
            tag.map(|(t, p)| (t, span(p), Site::Text)),
            digest.map(|(d, p)| {
                let s = span(p);
                let inline = s.start > 0 && at.text.as_bytes().get(s.start - 1) == Some(&b'@');
                (d, s, inline)
            }),
            None,
        );
        if in_env {
            return Some(reference);
        }
        reference.inline_image = start.is_some() && !value.contains('$');
        Some(reference)
    }
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
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

#[cfg(test)]
mod tests {
    use super::Source;
    use proptest::prelude::*;

    /// Columns as they were computed before the index: chars from the start
    /// of the line (after a BOM).
    fn naive(text: &str, offset: usize) -> (usize, usize) {
        let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let line = text[..offset].matches('\n').count() + 1;
        let start = text[..offset].rfind('\n').map_or(0, |i| i + 1).max(bom);
        let column = text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }

    proptest! {
        #[test]
        fn line_column_agrees_with_counting_chars(
            text in "\u{feff}?([a-zé€😀 :\\n]{0,40}|[a-z]{300}é{200}\\n?x{300})",
        ) {
            let src = Source::new("f", &text);
            for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
                prop_assert_eq!(src.line_column(offset), naive(&text, offset), "offset {}", offset);
            }
        }
    }
}
