//! Release notes as the detectors see them: markdown parsed with
//! `pulldown-cmark` into a flat list of [`Block`]s (headings, paragraphs,
//! list items, table rows, code), each in a [`Section`] (its heading path),
//! plus sentence and clause splitting of a block's text.
//!
//! Every block has two texts: `text` for display (inline markup flattened,
//! code spans kept in backticks, links reduced to their text) and `plain`
//! for matching (code spans spaced out, URLs and HTML dropped, whitespace
//! collapsed). A paragraph made only of strong or emphasised text (`**Fixes**`)
//! is a pseudo-heading below every real heading. A list item's `parent` is
//! the item it is nested in, or, for a top-level item, the paragraph that
//! introduces the list (`The fork is set to activate at:`).
//!
//! Hostile input is bounded: at most [`MAX_NOTES_BYTES`] are parsed (the rest
//! is ignored and [`Notes::truncated`] set), at most [`MAX_BLOCKS`] blocks are
//! kept and at most [`MAX_BLOCK_CHARS`] characters per block. Pure: no I/O;
//! never panics.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Notes longer than this are cut (GitHub allows 125 000 characters).
pub const MAX_NOTES_BYTES: usize = 256 * 1024;
/// Blocks beyond this are dropped.
pub const MAX_BLOCKS: usize = 20_000;
/// Characters of one block's text beyond this are dropped.
pub const MAX_BLOCK_CHARS: usize = 8_192;
/// The section of blocks before any heading, when none was recorded.
static NO_SECTION: Section = Section {
    headings: Vec::new(),
};
/// Level given to pseudo-headings (a paragraph of bold text).
const PSEUDO_LEVEL: u8 = 7;

/// What a block is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// A heading of level 1 to 6, or a pseudo-heading (level 7).
    Heading(u8),
    Paragraph,
    /// A list item (its own text, without nested lists).
    Item,
    /// One row of a table (header or body).
    TableRow,
    /// A fenced or indented code block: never analysed.
    Code,
}

/// One block of the notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// Index into [`Notes::sections`].
    pub section: usize,
    /// Display text.
    pub text: String,
    /// Matching text.
    pub plain: String,
    /// List nesting depth (0 for a top-level item and non-items).
    pub depth: usize,
    /// The enclosing item, or the lead-in paragraph of a top-level list.
    pub parent: Option<usize>,
    /// Table cells (display text), for table rows.
    pub cells: Vec<String>,
    /// The row belongs to the table head.
    pub header: bool,
}

/// A heading path: `["Changelog", "Unreleased Changes", "Breaking Changes"]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// Heading texts (plain), outermost first.
    pub headings: Vec<String>,
}

impl Section {
    /// The innermost heading, if any.
    pub fn innermost(&self) -> Option<&str> {
        self.headings.last().map(String::as_str)
    }
}

/// Parsed release notes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes {
    pub blocks: Vec<Block>,
    /// Section 0 is the text before any heading.
    pub sections: Vec<Section>,
    /// The input was longer than [`MAX_NOTES_BYTES`] or had more than
    /// [`MAX_BLOCKS`] blocks.
    pub truncated: bool,
}

impl Notes {
    /// Parses markdown.
    pub fn parse(markdown: &str) -> Notes {
        let (input, truncated) = if markdown.len() > MAX_NOTES_BYTES {
            let mut end = MAX_NOTES_BYTES;
            while !markdown.is_char_boundary(end) {
                end -= 1;
            }
            (&markdown[..end], true)
        } else {
            (markdown, false)
        };
        let mut b = Builder::default();
        b.notes.truncated = truncated;
        b.notes.sections.push(Section::default());
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_GFM;
        for event in Parser::new_ext(input, options) {
            b.event(event);
        }
        b.finish()
    }

    /// The section of a block.
    pub fn section(&self, block: &Block) -> &Section {
        self.sections.get(block.section).unwrap_or(&NO_SECTION)
    }

    /// The plain text of a block and of every item nested under it.
    pub fn plain_with_children(&self, index: usize) -> String {
        let Some(block) = self.blocks.get(index) else {
            return String::new();
        };
        let mut out = block.plain.clone();
        if block.kind == BlockKind::Item {
            for child in self.blocks.iter().skip(index + 1) {
                if child.kind != BlockKind::Item || child.depth <= block.depth {
                    break;
                }
                if out.len() + child.plain.len() > MAX_BLOCK_CHARS * 4 {
                    break;
                }
                out.push_str(" ; ");
                out.push_str(&child.plain);
            }
        }
        out
    }
}

/// Inline text being collected.
#[derive(Default)]
struct Inline {
    text: String,
    plain: String,
    /// Some text was outside strong/emphasis.
    plain_text_seen: bool,
    /// Some text was inside strong/emphasis.
    strong_text_seen: bool,
    chars: usize,
}

impl Inline {
    fn push(&mut self, display: &str, plain: &str, strong: bool) {
        let room = MAX_BLOCK_CHARS.saturating_sub(self.chars);
        if room == 0 {
            return;
        }
        let cut = |s: &str| -> String { s.chars().take(room).collect() };
        let (display, plain) = (cut(display), cut(plain));
        self.chars += display.chars().count();
        self.text.push_str(&display);
        self.plain.push_str(&plain);
        if !display.trim().is_empty() {
            if strong {
                self.strong_text_seen = true;
            } else {
                self.plain_text_seen = true;
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }
}

struct ItemState {
    inline: Inline,
    block: Option<usize>,
    depth: usize,
}

#[derive(Default)]
struct Builder {
    notes: Notes,
    /// (level, plain text) of the open headings.
    headings: Vec<(u8, String)>,
    inline: Option<Inline>,
    heading_level: Option<u8>,
    items: Vec<ItemState>,
    /// Depth of open lists.
    lists: usize,
    /// Lead-in of each open top-level list.
    list_leads: Vec<Option<usize>>,
    cells: Vec<String>,
    cell: Option<Inline>,
    in_head: bool,
    code: Option<String>,
    strong: usize,
    image: usize,
    last_block_was_paragraph: Option<usize>,
}

impl Builder {
    fn current(&mut self) -> Option<&mut Inline> {
        if let Some(c) = self.cell.as_mut() {
            return Some(c);
        }
        if let Some(i) = self.inline.as_mut() {
            return Some(i);
        }
        self.items.last_mut().map(|i| &mut i.inline)
    }

    fn text(&mut self, display: &str, plain: &str) {
        if self.image > 0 {
            return;
        }
        if let Some(code) = self.code.as_mut() {
            if code.len() < MAX_BLOCK_CHARS {
                code.push_str(display);
            }
            return;
        }
        let strong = self.strong > 0;
        if let Some(inline) = self.current() {
            inline.push(display, plain, strong);
        }
    }

    fn event(&mut self, event: Event<'_>) {
        if self.notes.blocks.len() >= MAX_BLOCKS {
            self.notes.truncated = true;
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => self.text(&t, &t),
            Event::Code(t) => {
                let display = format!("`{t}`");
                self.text(&display, &format!(" {t} "));
            }
            Event::SoftBreak | Event::HardBreak => self.text(" ", " "),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t, &t),
            Event::Html(_)
            | Event::InlineHtml(_)
            | Event::FootnoteReference(_)
            | Event::TaskListMarker(_)
            | Event::Rule => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.heading_level = Some(level_number(level));
                self.inline = Some(Inline::default());
            }
            Tag::Paragraph if self.items.is_empty() && self.cell.is_none() => {
                self.inline = Some(Inline::default());
            }
            Tag::List(_) => {
                if let Some(item) = self.items.last_mut() {
                    // A nested list: the parent item becomes a block now.
                    if item.block.is_none() {
                        let depth = item.depth;
                        let inline = std::mem::take(&mut item.inline);
                        let parent = self.parent_of(depth);
                        let idx = self.push_block(BlockKind::Item, inline, depth, parent);
                        if let Some(item) = self.items.last_mut() {
                            item.block = idx;
                        }
                    }
                } else {
                    self.list_leads.push(self.last_block_was_paragraph);
                }
                self.lists += 1;
            }
            Tag::Item => {
                let depth = self.lists.saturating_sub(1);
                self.items.push(ItemState {
                    inline: Inline::default(),
                    block: None,
                    depth,
                });
            }
            Tag::TableHead => {
                self.in_head = true;
                self.cells.clear();
            }
            Tag::TableRow => self.cells.clear(),
            Tag::TableCell => self.cell = Some(Inline::default()),
            Tag::CodeBlock(_) => self.code = Some(String::new()),
            Tag::Strong | Tag::Emphasis => self.strong += 1,
            Tag::Image { .. } => self.image += 1,
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(_) => {
                let inline = self.inline.take().unwrap_or_default();
                let level = self.heading_level.take().unwrap_or(1);
                self.heading(level, inline);
            }
            TagEnd::Paragraph => {
                if let Some(inline) = self.inline.take() {
                    if is_pseudo_heading(&inline) {
                        self.heading(PSEUDO_LEVEL, inline);
                    } else {
                        let idx = self.push_block(BlockKind::Paragraph, inline, 0, None);
                        self.last_block_was_paragraph = idx;
                    }
                } else if let Some(item) = self.items.last_mut() {
                    // Paragraphs inside an item are joined with a space.
                    item.inline.push(" ", " ", false);
                }
            }
            TagEnd::List(_) => {
                self.lists = self.lists.saturating_sub(1);
                if self.items.is_empty() {
                    self.list_leads.pop();
                }
            }
            TagEnd::Item => {
                if let Some(item) = self.items.pop() {
                    let parent = self.parent_of(item.depth);
                    match item.block {
                        None => {
                            self.push_block(BlockKind::Item, item.inline, item.depth, parent);
                        }
                        Some(idx) => {
                            // Text after a nested list: append to the item.
                            if !item.inline.is_empty()
                                && let Some(b) = self.notes.blocks.get_mut(idx)
                            {
                                b.text.push(' ');
                                b.text.push_str(item.inline.text.trim());
                                b.plain = normalise(&format!("{} {}", b.plain, item.inline.plain));
                            }
                        }
                    }
                }
            }
            TagEnd::TableCell => {
                if let Some(cell) = self.cell.take() {
                    self.cells.push(cell.text.trim().to_string());
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                let cells = std::mem::take(&mut self.cells);
                let header = std::mem::replace(&mut self.in_head, false);
                let text = cells.join(" | ");
                let inline = Inline {
                    plain: text.replace('`', " "),
                    text,
                    ..Inline::default()
                };
                if let Some(idx) = self.push_block(BlockKind::TableRow, inline, 0, None)
                    && let Some(b) = self.notes.blocks.get_mut(idx)
                {
                    b.cells = cells;
                    b.header = header;
                }
            }
            TagEnd::CodeBlock => {
                let code = self.code.take().unwrap_or_default();
                let inline = Inline {
                    text: code,
                    ..Inline::default()
                };
                self.push_block(BlockKind::Code, inline, 0, None);
            }
            TagEnd::Strong | TagEnd::Emphasis => self.strong = self.strong.saturating_sub(1),
            TagEnd::Image => self.image = self.image.saturating_sub(1),
            _ => {}
        }
    }

    /// The parent of an item at `depth`: the enclosing item's block, or the
    /// lead-in paragraph of the top-level list.
    fn parent_of(&self, depth: usize) -> Option<usize> {
        if depth == 0 {
            return self.list_leads.last().copied().flatten();
        }
        self.items
            .iter()
            .rev()
            .find(|i| i.depth < depth)
            .and_then(|i| i.block)
    }

    fn heading(&mut self, level: u8, inline: Inline) {
        let text = normalise(&inline.plain);
        while self.headings.last().is_some_and(|(l, _)| *l >= level) {
            self.headings.pop();
        }
        self.headings.push((level, text));
        self.notes.sections.push(Section {
            headings: self.headings.iter().map(|(_, t)| t.clone()).collect(),
        });
        self.push_block(BlockKind::Heading(level), inline, 0, None);
        self.last_block_was_paragraph = None;
    }

    fn push_block(
        &mut self,
        kind: BlockKind,
        inline: Inline,
        depth: usize,
        parent: Option<usize>,
    ) -> Option<usize> {
        if kind != BlockKind::Code && inline.is_empty() {
            return None;
        }
        if self.notes.blocks.len() >= MAX_BLOCKS {
            self.notes.truncated = true;
            return None;
        }
        let section = self.notes.sections.len().saturating_sub(1);
        let plain = if kind == BlockKind::Code {
            String::new()
        } else {
            normalise(&inline.plain)
        };
        self.notes.blocks.push(Block {
            kind,
            section,
            text: collapse(inline.text.trim()),
            plain,
            depth,
            parent,
            cells: Vec::new(),
            header: false,
        });
        if kind != BlockKind::Paragraph {
            self.last_block_was_paragraph = None;
        }
        Some(self.notes.blocks.len() - 1)
    }

    fn finish(mut self) -> Notes {
        if let Some(inline) = self.inline.take() {
            self.push_block(BlockKind::Paragraph, inline, 0, None);
        }
        self.notes
    }
}

/// A short paragraph of bold or emphasised text only (`**Fixes**`,
/// `**New features:**`), not a sentence.
fn is_pseudo_heading(inline: &Inline) -> bool {
    let t = inline.text.trim();
    inline.strong_text_seen
        && !inline.plain_text_seen
        && t.split_whitespace().count() <= 6
        && !t.ends_with(['.', '!', '?'])
}

fn level_number(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// Collapses runs of whitespace into one space.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// Matching form: URLs dropped, typographic quotes and dashes made ASCII,
/// whitespace collapsed.
pub fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = find_url(rest) {
        out.push_str(&rest[..i]);
        out.push(' ');
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == ')' || c == '>' || c == ']')
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    let mapped: String = out
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' => '-',
            '\u{a0}' | '\u{2009}' | '\u{202f}' => ' ',
            c => c,
        })
        .collect();
    collapse(mapped.trim())
}

fn find_url(s: &str) -> Option<usize> {
    let a = s.find("https://");
    let b = s.find("http://");
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Words after which a full stop does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "approx", "no", "nr", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thur", "fri",
    "sat", "sun", "mr", "dr", "st", "incl", "cf", "eg", "ie",
];
const MONTH_PREFIXES: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Byte spans of the sentences of `text`.
pub fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if matches!(c, '.' | '!' | '?') {
            // end of the punctuation run
            let mut j = i + 1;
            while j < chars.len() && matches!(chars[j].1, '.' | '!' | '?' | '"' | '\'' | ')' | '*')
            {
                j += 1;
            }
            let followed_by_space = j < chars.len() && chars[j].1.is_whitespace();
            if followed_by_space {
                let mut k = j;
                while k < chars.len() && chars[k].1.is_whitespace() {
                    k += 1;
                }
                let next = chars.get(k).map(|(_, c)| *c);
                let starts_new = next.is_some_and(|n| {
                    n.is_uppercase()
                        || n.is_ascii_digit()
                        || matches!(n, '*' | '(' | '"' | '`' | ':' | '[')
                });
                if starts_new && (c != '.' || !abbreviation_before(text, pos, &text[chars[k].0..]))
                {
                    let end = chars.get(j).map_or(text.len(), |(p, _)| *p);
                    push_span(&mut out, text, start, end);
                    start = chars.get(k).map_or(text.len(), |(p, _)| *p);
                    i = k;
                    continue;
                }
            }
            i = j;
            continue;
        }
        i += 1;
    }
    push_span(&mut out, text, start, text.len());
    out
}

fn push_span(out: &mut Vec<(usize, usize)>, text: &str, start: usize, end: usize) {
    if start < end && !text[start..end].trim().is_empty() {
        out.push((start, end));
    }
}

/// Whether the word before the full stop at `dot` is an abbreviation, or a
/// day number followed by a month name (`17. Jan.`).
fn abbreviation_before(text: &str, dot: usize, next: &str) -> bool {
    let before = &text[..dot];
    let word_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '.'))
        .map_or(0, |i| {
            i + before[i..].chars().next().map_or(1, char::len_utf8)
        });
    let word = before[word_start..].to_lowercase();
    if ABBREVIATIONS.contains(&word.as_str()) {
        return true;
    }
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_digit()) && word.len() <= 2 {
        let next = next.to_lowercase();
        return MONTH_PREFIXES.iter().any(|m| next.starts_with(m));
    }
    false
}

/// Words that start a new clause after a comma.
const CLAUSE_STARTERS: &[&str] = &[
    "it",
    "this",
    "that",
    "we",
    "you",
    "they",
    "which",
    "so",
    "but",
    "please",
    "only",
    "however",
    "although",
    "though",
    "while",
    "whereas",
    "or",
    "otherwise",
    "users",
    "operators",
];
/// Words that start a new clause anywhere.
const CLAUSE_BREAKS: &[&str] = &[
    " but ",
    " as well as ",
    " while ",
    " whereas ",
    " although ",
    " though ",
    " however ",
    " and it ",
    " and this ",
    " and we ",
    " as it ",
    " so that ",
    " otherwise ",
];

/// Byte spans of the clauses of a sentence: split at `;`, at conjunctions
/// that start a new statement (`but`, `as well as`, `and it`...), and at a
/// comma followed by a word that starts one (`, you can keep using...`).
pub fn clauses(sentence: &str) -> Vec<(usize, usize)> {
    let lower = sentence.to_ascii_lowercase();
    let mut cuts: Vec<(usize, usize)> = Vec::new(); // (cut start, next clause start)
    for (i, c) in lower.char_indices() {
        if c == ';' {
            cuts.push((i, i + 1));
        } else if c == ',' {
            let rest = &lower[i + 1..];
            let trimmed = rest.trim_start();
            let word: String = trimmed
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            if CLAUSE_STARTERS.contains(&word.as_str()) {
                cuts.push((i, i + 1));
            }
        }
    }
    for b in CLAUSE_BREAKS {
        let mut from = 0;
        while let Some(p) = lower[from..].find(b) {
            let at = from + p;
            cuts.push((at, at + 1));
            from = at + b.len();
        }
    }
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for (cut, next) in cuts {
        if cut >= start {
            push_span(&mut out, sentence, start, cut);
            start = next;
        }
    }
    push_span(&mut out, sentence, start, sentence.len());
    if out.is_empty() {
        out.push((0, sentence.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        sentences(text)
            .into_iter()
            .map(|(a, b)| &text[a..b])
            .collect()
    }

    #[test]
    fn blocks_sections_and_parents() {
        let md = "Intro paragraph with [a link](https://x.example/y) and `code`.\n\n\
                  ## Breaking Changes\n\n- Removed `--foo`.\n  - nested detail\n- Second\n\n\
                  **Fixes**\n\n- fix one\n\n\
                  The fork is set to activate at:\n\n- **Holesky** slot: 1\n\n\
                  | User | Priority |\n|---|---|\n| Stakers | High |\n\n```\ncode --x\n```\n";
        let n = Notes::parse(md);
        let kinds: Vec<BlockKind> = n.blocks.iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            [
                BlockKind::Paragraph,
                BlockKind::Heading(2),
                BlockKind::Item,
                BlockKind::Item,
                BlockKind::Item,
                BlockKind::Heading(7),
                BlockKind::Item,
                BlockKind::Paragraph,
                BlockKind::Item,
                BlockKind::TableRow,
                BlockKind::TableRow,
                BlockKind::Code,
            ]
        );
        assert_eq!(n.blocks[0].text, "Intro paragraph with a link and `code`.");
        assert_eq!(n.blocks[0].plain, "Intro paragraph with a link and code .");
        assert_eq!(n.blocks[2].text, "Removed `--foo`.");
        assert_eq!(n.blocks[3].parent, Some(2));
        assert_eq!(n.blocks[3].depth, 1);
        assert_eq!(n.blocks[4].parent, None);
        assert_eq!(
            n.section(&n.blocks[2]).innermost(),
            Some("Breaking Changes")
        );
        assert_eq!(
            n.section(&n.blocks[6]).headings,
            ["Breaking Changes", "Fixes"]
        );
        assert_eq!(n.blocks[8].parent, Some(7));
        assert_eq!(n.blocks[9].cells, ["User", "Priority"]);
        assert!(n.blocks[9].header);
        assert_eq!(n.blocks[10].cells, ["Stakers", "High"]);
        assert_eq!(n.blocks[11].plain, "");
        assert_eq!(n.plain_with_children(2), "Removed --foo . ; nested detail");
    }

    #[test]
    fn loose_items_and_quotes() {
        let n = Notes::parse(
            "- first\n\n  more of first\n\n- second\n\n> [!IMPORTANT]\n> This is a required update.\n",
        );
        assert_eq!(n.blocks[0].plain, "first more of first");
        assert_eq!(n.blocks[1].plain, "second");
        assert_eq!(n.blocks[2].plain, "This is a required update.");
    }

    #[test]
    fn sentence_splitting() {
        assert_eq!(
            split("Enables Fusaka. The fork is at `2025-12-03 21:49:11 UTC`. Please upgrade!"),
            [
                "Enables Fusaka.",
                "The fork is at `2025-12-03 21:49:11 UTC`.",
                "Please upgrade!"
            ]
        );
        assert_eq!(
            split("which is 6:32:am 17. Jan. 2024 UTC. Next one, e.g. Geth v1.2.3."),
            [
                "which is 6:32:am 17. Jan. 2024 UTC.",
                "Next one, e.g. Geth v1.2.3."
            ]
        );
        assert_eq!(
            split("Version 1.2.3 is out. 2 fixes."),
            ["Version 1.2.3 is out.", "2 fixes."]
        );
    }

    #[test]
    fn clause_splitting() {
        let s = "Upgrading is not required to follow the Pectra fork on mainnet, you can keep using v1.15.9, but we recommend it";
        let c: Vec<&str> = clauses(s).into_iter().map(|(a, b)| &s[a..b]).collect();
        assert_eq!(
            c,
            [
                "Upgrading is not required to follow the Pectra fork on mainnet",
                " you can keep using v1.15.9",
                "but we recommend it"
            ]
        );
        let s = "support for Sepolia, Holesky and Chiado Deneb forks (May 7, 2025, 10:05 UTC)";
        assert_eq!(clauses(s), [(0, s.len())]);
    }

    #[test]
    fn hostile_input_is_bounded() {
        let deep = "> ".repeat(5000) + "x";
        let _ = Notes::parse(&deep);
        let lists = "- ".repeat(5000) + "x";
        let _ = Notes::parse(&lists);
        let big = "a".repeat(MAX_NOTES_BYTES + 10);
        let n = Notes::parse(&big);
        assert!(n.truncated);
        assert!(n.blocks[0].text.chars().count() <= MAX_BLOCK_CHARS + 1);
        let many = "x\n\n".repeat(MAX_BLOCKS + 10);
        let n = Notes::parse(&many);
        assert!(n.blocks.len() <= MAX_BLOCKS);
        let _ = Notes::parse("é".repeat(MAX_NOTES_BYTES).as_str());
    }
}
