//! The fast path of [`super::parse`]: a reader for the YAML that deployment
//! files are made of, about three times faster than `yaml-rust2` on the
//! same files (`cargo bench --bench yaml`).
//!
//! It knows block mappings and sequences (indentless and compact ones
//! included), plain and quoted scalars (on one line or folded over
//! several), literal and folded block scalars, flow collections (JSON
//! included), anchors and aliases (merge keys are aliases), comments and
//! document markers, and builds exactly the tree that the full parser
//! builds from the same text: same values, styles, spans, lines and
//! columns (the empty value of `key:` sits where the next token starts, as
//! there). Everything else (tags, `?` keys, directives, tabs outside
//! comments and quotes, explicit block indentation, escaped line breaks,
//! any syntax error, deep nesting, an anchor holding aliases) makes it give
//! up with `None`, and the caller parses the text with the full parser: the
//! subset is chosen by what can be recognised cheaply, never guessed.
//! Equality with the full parser is what the tests check, on hand-made
//! edge cases and on generated documents, and `benches/yaml.rs` on real
//! trees (97% of their bytes are read here).
//!
//! Pure: text in, tree out. Positions are computed incrementally on each
//! line, so time is linear in the size of the text however long its lines.

use std::collections::HashMap;
use std::sync::Arc;

use super::{MAX_ALIAS_NODES, Node, Scalar, Style, Value};
use crate::domain::manifest::Span;

/// Collections nested deeper than this are left to the full parser, which
/// bounds nesting with an error of its own.
const MAX_NESTING: usize = 200;

/// Keys longer than this are left to the full parser (it refuses simple
/// keys longer than 1024 characters).
const MAX_KEY: usize = 1000;

/// The text is outside the subset this reader knows.
struct Unsupported;

type R<T> = Result<T, Unsupported>;

/// The tree of every document of `text`, or `None` when the text uses YAML
/// this reader leaves to the full parser (or is not valid YAML).
///
/// With `marks` (sorted byte offsets into `text`), a block collection that
/// starts on the lines after its key or `-`, carries no anchor, and has no
/// mark from its entry's first line to its last is left out: it is read as
/// an empty mapping or sequence (its kind is kept) where it starts. Once
/// the text has defined an anchor, a collection with a `&` or `*` in it is
/// read in full (an alias there could repeat marked nodes). A left-out
/// collection is only skimmed for its end, by indentation, so a syntax
/// error in it goes unnoticed.
pub(super) fn parse(text: &str, base: usize, marks: Option<&[usize]>) -> Option<Vec<Node>> {
    if !plain_bytes(text.as_bytes()) {
        return None;
    }
    let mut reader = Reader {
        text,
        b: text.as_bytes(),
        base,
        pos: 0,
        line: 1,
        line_start: 0,
        col_at: (0, 1),
        depth: 0,
        look: Look::End,
        anchors: HashMap::new(),
        started: HashMap::new(),
        anchors_read: 0,
        aliases: 0,
        aliased: 0,
        items: Vec::new(),
        entries: Vec::new(),
        marks,
        lines: None,
    };
    reader.stream().ok()
}

/// No NUL, no carriage return outside a CRLF pair, no byte-order mark:
/// bytes whose meaning the full parser decides.
fn plain_bytes(b: &[u8]) -> bool {
    let mut rest = b;
    while let Some(i) = memchr::memchr3(0, b'\r', 0xEF, rest) {
        let ok = match rest[i] {
            b'\r' => rest.get(i + 1) == Some(&b'\n'),
            0xEF => rest.get(i + 1..i + 3) != Some(&[0xBB, 0xBF][..]),
            _ => false,
        };
        if !ok {
            return false;
        }
        rest = &rest[i + 1..];
    }
    true
}

/// What the next line with content starts with; the reader stands on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Look {
    /// Content indented by this many spaces.
    Content(usize),
    /// `---` at the start of a line.
    DocStart,
    /// `...` at the start of a line.
    DocEnd,
    End,
}

/// How a block scalar ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chomp {
    Clip,
    Strip,
    Keep,
}

struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    base: usize,
    pos: usize,
    /// 1-based line of `pos`.
    line: usize,
    /// Byte offset of the start of `pos`'s line.
    line_start: usize,
    /// The last (byte, 1-based column) computed on this line: columns are
    /// counted on from there, never from the start of a long line.
    col_at: (usize, usize),
    /// Collections open around `pos`.
    depth: usize,
    /// The line the reader stands on, after a block node was read.
    look: Look,
    /// Anchored nodes by name, with how many nodes each is.
    /// The full parser names an anchor when it reads it, so an alias means
    /// the anchor of its name read last, whether its node is done or not.
    anchors: HashMap<&'a str, (usize, Node, usize)>,
    /// The anchor of each name read last, numbered in reading order.
    started: HashMap<&'a str, usize>,
    anchors_read: usize,
    /// Aliases read so far, and the nodes they stand for.
    aliases: usize,
    aliased: usize,
    /// Items and entries of the collections being read, innermost last:
    /// each collection takes its own off the top when it ends, in a vector
    /// of exactly their number.
    items: Vec<Node>,
    entries: Vec<(Node, Node)>,
    /// Where the nodes worth reading are: see [`parse`].
    marks: Option<&'a [usize]>,
    /// Every line of the text, made when a node is first skimmed.
    lines: Option<Vec<Line>>,
}

/// A line, as skimming sees it.
struct Line {
    start: usize,
    /// Spaces before its first other character.
    indent: usize,
    kind: LineKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// Spaces only, or a comment.
    Blank,
    /// A tab where its content would start: read, not skimmed.
    Tab,
    /// A sequence entry (`- `).
    Entry,
    Content,
}

impl Line {
    fn all(b: &[u8]) -> Vec<Line> {
        let mut lines = Vec::with_capacity(b.len() / 16 + 1);
        let mut start = 0;
        loop {
            let indent = b[start..].iter().take_while(|&&c| c == b' ').count();
            let at = start + indent;
            let kind = match b.get(at) {
                None | Some(b'\n' | b'\r' | b'#') => LineKind::Blank,
                Some(b'\t') => LineKind::Tab,
                Some(b'-') if is_blank_or_end(b.get(at + 1).copied()) => LineKind::Entry,
                Some(_) => LineKind::Content,
            };
            lines.push(Line {
                start,
                indent,
                kind,
            });
            match memchr::memchr(b'\n', &b[at..]) {
                Some(i) => start = at + i + 1,
                None => return lines,
            }
        }
    }
}

fn is_blank_or_end(b: Option<u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\n' | b'\r'))
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, i: usize) -> Option<u8> {
        self.b.get(self.pos + i).copied()
    }

    /// 1-based column, in characters, of byte `at` of the current line.
    fn column(&mut self, at: usize) -> usize {
        let (from, col) = if self.col_at.0 >= self.line_start && self.col_at.0 <= at {
            self.col_at
        } else {
            (self.line_start, 1)
        };
        let chars = self.b[from..at]
            .iter()
            .filter(|&&c| (c as i8) >= -0x40)
            .count();
        self.col_at = (at, col + chars);
        col + chars
    }

    fn node(&mut self, at: usize, value: Value) -> Node {
        Node {
            value,
            offset: self.base + at,
            line: self.line,
            column: self.column(at),
        }
    }

    fn scalar(&mut self, at: usize, value: String, style: Style, content: Option<Span>) -> Node {
        self.node(
            at,
            Value::Scalar(Scalar {
                value,
                style,
                content,
                tagged: false,
            }),
        )
    }

    /// The empty value of `key:` or `-` in a collection at column `col`
    /// (-1 for an empty document): where the next token starts. At the end
    /// of a text whose last line has no line break, the full parser ends
    /// the collection there when the end is left of the collection's
    /// column, and else counts one more line (keeping the column).
    fn empty(&mut self, col: isize) -> Node {
        let at = self.pos;
        let span = Span::new(self.base + at, self.base + at);
        let mut node = self.scalar(at, String::new(), Style::Plain, Some(span));
        if at == self.b.len() && at > self.line_start && node.column as isize > col {
            node.line += 1;
        }
        node
    }

    fn open(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(Unsupported);
        }
        Ok(())
    }

    fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// A `#` here starts a comment (it follows a space or starts the line).
    fn at_comment(&self) -> bool {
        self.peek() == Some(b'#')
            && (self.pos == self.line_start || matches!(self.b[self.pos - 1], b' ' | b'\t'))
    }

    /// Past the line break at `pos` (`\n` or `\r\n`), if there is one.
    fn line_break(&mut self) -> R<()> {
        match self.peek() {
            None => return Ok(()),
            Some(b'\r') if self.peek_at(1) == Some(b'\n') => self.pos += 2,
            Some(b'\n') => self.pos += 1,
            _ => return Err(Unsupported),
        }
        self.line += 1;
        self.line_start = self.pos;
        Ok(())
    }

    /// To the line break (or end) of the current line.
    fn skip_to_eol(&mut self) {
        self.pos = memchr::memchr(b'\n', &self.b[self.pos..]).map_or(self.b.len(), |i| {
            let nl = self.pos + i;
            if nl > 0 && self.b[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            }
        });
    }

    /// The rest of the line is spaces and maybe a comment: past its break.
    fn end_line(&mut self) -> R<()> {
        self.spaces();
        if self.at_comment() {
            self.skip_to_eol();
        }
        self.line_break()
    }

    /// From a line start, past blank and comment lines to the next content.
    fn next_line(&mut self) -> R<Look> {
        loop {
            let start = self.pos;
            self.spaces();
            match self.peek() {
                None => return Ok(Look::End),
                Some(b'\n' | b'\r') => self.line_break()?,
                Some(b'#') => {
                    self.skip_to_eol();
                    self.line_break()?;
                }
                Some(b'\t') => return Err(Unsupported),
                Some(c) => {
                    let indent = self.pos - start;
                    if indent == 0
                        && matches!(c, b'-' | b'.')
                        && self.peek_at(1) == Some(c)
                        && self.peek_at(2) == Some(c)
                        && is_blank_or_end(self.peek_at(3))
                    {
                        return Ok(if c == b'-' {
                            Look::DocStart
                        } else {
                            Look::DocEnd
                        });
                    }
                    return Ok(Look::Content(indent));
                }
            }
        }
    }

    /// Ends the current line and finds the next content: where every block
    /// node's reading ends.
    fn advance(&mut self) -> R<()> {
        self.end_line()?;
        self.look = self.next_line()?;
        Ok(())
    }

    // ------------------------------------------------------------ documents

    fn stream(&mut self) -> R<Vec<Node>> {
        let mut docs = Vec::new();
        self.look = self.next_line()?;
        loop {
            match self.look {
                Look::End => return Ok(docs),
                Look::DocEnd => {
                    self.pos += 3;
                    self.spaces();
                    self.line_break()?;
                    self.look = self.next_line()?;
                }
                Look::DocStart => {
                    self.pos += 3;
                    self.advance()?;
                    match self.look {
                        Look::Content(indent) => docs.push(self.root(indent)?),
                        _ => docs.push(self.empty(-1)),
                    }
                }
                Look::Content(indent) => docs.push(self.root(indent)?),
            }
        }
    }

    fn root(&mut self, indent: usize) -> R<Node> {
        if self.peek() == Some(b'%') {
            return Err(Unsupported);
        }
        let node = self.node_here(-1, indent, true)?;
        match self.look {
            Look::Content(_) => Err(Unsupported),
            _ => Ok(node),
        }
    }

    // ------------------------------------------------------------ block nodes

    /// The node whose first character is at `pos`, column `col` (0-based),
    /// inside a block collection at column `parent` (-1 at the root). A
    /// block mapping or sequence may start here only when `collection`.
    /// Returns with `look` on the next content line.
    fn node_here(&mut self, parent: isize, col: usize, collection: bool) -> R<Node> {
        match self.peek() {
            Some(b'-') if is_blank_or_end(self.peek_at(1)) => {
                if !collection {
                    return Err(Unsupported);
                }
                self.sequence(col, false)
            }
            Some(b'[' | b'{') => {
                let node = self.flow(parent)?;
                self.spaces();
                if self.peek() == Some(b':') {
                    return Err(Unsupported);
                }
                self.advance()?;
                Ok(node)
            }
            Some(b'|' | b'>') => self.block_scalar(parent),
            Some(b'*') => self.alias(),
            Some(b'"' | b'\'') => {
                let line = self.line;
                let lines = (parent >= 0).then(|| parent as usize + 1);
                let node = self.quoted(lines)?;
                self.spaces();
                if self.peek() == Some(b':') && is_blank_or_end(self.peek_at(1)) {
                    if !collection || self.line != line {
                        return Err(Unsupported);
                    }
                    return self.mapping(col, node);
                }
                self.advance()?;
                Ok(node)
            }
            Some(c) if !starts_plain(c, self.peek_at(1), false) => Err(Unsupported),
            None => Err(Unsupported),
            Some(_) => {
                let (node, colon) = self.plain_block()?;
                if colon {
                    if !collection {
                        return Err(Unsupported);
                    }
                    return self.mapping(col, node);
                }
                self.plain_lines(node, parent)
            }
        }
    }

    /// A key at the start of a mapping's line: standing on its `:`.
    fn key(&mut self) -> R<Node> {
        match self.peek() {
            Some(b'"' | b'\'') => {
                let node = self.quoted(None)?;
                self.spaces();
                if self.peek() == Some(b':') && is_blank_or_end(self.peek_at(1)) {
                    return Ok(node);
                }
                Err(Unsupported)
            }
            Some(c) if starts_plain(c, self.peek_at(1), false) => match self.plain_block()? {
                (node, true) => Ok(node),
                _ => Err(Unsupported),
            },
            _ => Err(Unsupported),
        }
    }

    /// A block mapping at column `col` whose first key has been read; the
    /// reader stands on that key's `:`.
    fn mapping(&mut self, col: usize, first: Node) -> R<Node> {
        if first.scalar().is_some_and(|s| s.value.len() > MAX_KEY) {
            return Err(Unsupported);
        }
        self.open()?;
        let at = (first.offset, first.line, first.column);
        let mark = self.entries.len();
        let mut key = first;
        loop {
            self.pos += 1; // ':'
            let value = self.entry_value(col, false)?;
            self.entries.push((key, value));
            match self.look {
                Look::Content(i) if i == col => key = self.key()?,
                Look::Content(i) if i > col => return Err(Unsupported),
                _ => break,
            }
            if key.scalar().is_some_and(|s| s.value.len() > MAX_KEY) {
                return Err(Unsupported);
            }
        }
        self.depth -= 1;
        Ok(Node {
            value: Value::Map(Arc::new(self.entries.split_off(mark))),
            offset: at.0,
            line: at.1,
            column: at.2,
        })
    }

    /// Where the full parser marks the entry whose `-` is at `dash`: past
    /// the `-`, its spaces and a comment.
    fn entry_mark(&self, dash: usize) -> usize {
        let mut i = dash + 1;
        while self.b.get(i) == Some(&b' ') {
            i += 1;
        }
        if self.b.get(i) == Some(&b'#') && i > dash + 1 {
            i = memchr::memchr(b'\n', &self.b[i..]).map_or(self.b.len(), |n| i + n);
            if self.b[i - 1] == b'\r' {
                i -= 1;
            }
        }
        i
    }

    /// A block sequence whose first `-` is at `pos`, column `col`;
    /// `indentless` when it is a mapping's value at the mapping's own
    /// column (the full parser then marks it where its first entry starts).
    fn sequence(&mut self, col: usize, indentless: bool) -> R<Node> {
        self.open()?;
        let at = if indentless {
            self.entry_mark(self.pos)
        } else {
            self.pos
        };
        let mut node = self.node(at, hole());
        let mark = self.items.len();
        loop {
            self.pos += 1; // '-'
            let item = self.entry_value(col, true)?;
            self.items.push(item);
            match self.look {
                Look::Content(i) if i == col && self.at_entry() => {}
                Look::Content(i) if i > col => return Err(Unsupported),
                _ => break,
            }
        }
        self.depth -= 1;
        node.value = Value::Seq(Arc::new(self.items.split_off(mark)));
        Ok(node)
    }

    /// The value of a mapping entry at column `col` (the reader stands past
    /// its `:`) or the item of a sequence there (past its `-`), with its
    /// anchor if it has one. Inline, only an item may be a collection.
    fn entry_value(&mut self, col: usize, item: bool) -> R<Node> {
        let entry = self.line_start;
        self.spaces();
        let anchor = self.anchor()?;
        let aliases = self.aliases;
        let value = if matches!(self.peek(), None | Some(b'\n' | b'\r')) || self.at_comment() {
            self.advance()?;
            let unmarked = |r: &mut Self, indentless| match anchor {
                None => r.unmarked(entry, col, indentless),
                Some(_) => Ok(None),
            };
            match self.look {
                Look::Content(i) if i > col => match unmarked(self, false)? {
                    Some(node) => node,
                    None => self.node_here(col as isize, i, true)?,
                },
                Look::Content(i) if i == col && self.at_entry() => {
                    if item {
                        // an empty item is marked where the next one starts
                        let at = self.entry_mark(self.pos);
                        let span = Span::new(self.base + at, self.base + at);
                        self.scalar(at, String::new(), Style::Plain, Some(span))
                    } else if let Some(node) = unmarked(self, true)? {
                        node
                    } else {
                        self.sequence(col, true)?
                    }
                }
                _ => self.empty(col as isize),
            }
        } else {
            let here = self.pos - self.line_start;
            self.node_here(col as isize, here, item && anchor.is_none())?
        };
        if let Some(name) = anchor {
            // an anchored node that holds aliases is left to the full
            // parser, which counts what they expand to
            if self.aliases != aliases {
                return Err(Unsupported);
            }
            let (name, seq) = name;
            // an anchor of the same name read inside this node wins
            if self.anchors.get(name).is_none_or(|(s, ..)| *s < seq) {
                self.anchors
                    .insert(name, (seq, value.clone(), count(&value)));
            }
        }
        Ok(value)
    }

    /// The block node at `pos`, the value of an entry whose line starts at
    /// `entry` in a collection at column `col`, skimmed as an empty node of
    /// its kind when no mark falls from `entry` to its end (see [`parse`]);
    /// `None` when it must be read.
    fn unmarked(&mut self, entry: usize, col: usize, indentless: bool) -> R<Option<Node>> {
        let Some(marks) = self.marks else {
            return Ok(None);
        };
        let mark = marks
            .get(marks.partition_point(|&m| m < entry))
            .copied()
            .unwrap_or(usize::MAX);
        let value = if self.at_entry() {
            Value::Seq(Arc::default())
        } else if self
            .peek()
            .is_some_and(|c| starts_plain(c, self.peek_at(1), false))
            && self.plain_line(self.pos)?.1
        {
            Value::Map(Arc::default())
        } else {
            return Ok(None);
        };
        // the end: the first line with content at the collection's column
        // or left of it (at it, an indentless sequence's next `-` goes on)
        let lines = self.lines.get_or_insert_with(|| Line::all(self.b));
        let first = self.line - 1;
        let mut next = first + 1;
        let end = loop {
            let Some(line) = lines.get(next) else {
                break self.b.len();
            };
            if mark < line.start {
                return Ok(None);
            }
            match line.kind {
                LineKind::Blank => {}
                LineKind::Tab => return Ok(None),
                kind if line.indent < col
                    || line.indent == col && !(indentless && kind == LineKind::Entry) =>
                {
                    break line.start;
                }
                _ => {}
            }
            next += 1;
        };
        if mark < end {
            return Ok(None);
        }
        // once an anchor is known, an alias in the node could repeat what
        // it anchors, and an anchor there could replace it
        let guard = !self.started.is_empty();
        if guard && memchr::memchr2(b'&', b'*', &self.b[self.line_start..end]).is_some() {
            return Ok(None);
        }
        let (line, at) = match lines.get(next) {
            Some(l) => (next + 1, l.start),
            None => (lines.len(), lines.last().map_or(0, |l| l.start)),
        };
        let node = self.node(self.pos, value);
        (self.pos, self.line, self.line_start) = (end, line, at);
        self.look = self.next_line()?;
        Ok(Some(node))
    }

    /// An anchor (`&name`) and the spaces after it, if the reader stands on
    /// one.
    fn anchor(&mut self) -> R<Option<(&'a str, usize)>> {
        if self.peek() != Some(b'&') {
            return Ok(None);
        }
        let name = self.name()?;
        let seq = self.anchors_read;
        self.anchors_read += 1;
        self.started.insert(name, seq);
        self.spaces();
        Ok(Some((name, seq)))
    }

    /// The name of an anchor or alias at `pos` (on its `&` or `*`).
    fn name(&mut self) -> R<&'a str> {
        let start = self.pos + 1;
        let mut end = start;
        while let Some(&c) = self.b.get(end) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') || is_flow_indicator(c) {
                break;
            }
            end += 1;
        }
        if end == start || !is_blank_or_end(self.b.get(end).copied()) {
            return Err(Unsupported);
        }
        self.pos = end;
        Ok(&self.text[start..end])
    }

    /// An alias (`*name`): the anchored node itself, shared.
    fn alias(&mut self) -> R<Node> {
        let name = self.name()?;
        let (seq, node, size) = self.anchors.get(name).ok_or(Unsupported)?;
        // the anchor of that name read last is still being read
        if self.started.get(name) != Some(seq) {
            return Err(Unsupported);
        }
        let node = node.clone();
        self.aliased = self.aliased.saturating_add(*size);
        self.aliases += 1;
        if self.aliased > MAX_ALIAS_NODES {
            return Err(Unsupported);
        }
        self.spaces();
        if self.peek() == Some(b':') {
            return Err(Unsupported);
        }
        self.advance()?;
        Ok(node)
    }

    /// Standing on a `-` that starts a sequence entry.
    fn at_entry(&self) -> bool {
        self.peek() == Some(b'-') && is_blank_or_end(self.peek_at(1))
    }

    // ------------------------------------------------------------ scalars

    /// A plain scalar in block context, on one line: the node, and whether
    /// a `: ` follows it (it is a key; the reader stands on the `:`).
    fn plain_block(&mut self) -> R<(Node, bool)> {
        let start = self.pos;
        let (end, colon) = self.plain_line(start)?;
        let value = self.text[start..end].trim_end_matches(' ');
        let span = Span::new(self.base + start, self.base + start + value.len());
        let node = self.scalar(start, value.to_owned(), Style::Plain, Some(span));
        self.pos = end;
        Ok((node, colon))
    }

    /// Where a plain scalar's text on this line ends (line break, end, or
    /// the space before a comment), and whether a `: ` ends it there.
    fn plain_line(&self, from: usize) -> R<(usize, bool)> {
        let mut i = from;
        loop {
            match self.b.get(i) {
                None | Some(b'\n' | b'\r') => return Ok((i, false)),
                Some(b':') if is_blank_or_end(self.b.get(i + 1).copied()) => return Ok((i, true)),
                Some(b' ') if self.b.get(i + 1) == Some(&b'#') => return Ok((i, false)),
                Some(b'\t') => return Err(Unsupported),
                Some(_) => i += 1,
            }
        }
    }

    /// The lines that continue the plain scalar `node`, read up to the end
    /// of its first line: lines indented past `parent` are folded into it
    /// (a line break is a space, `n` empty lines are `n` line breaks). A
    /// comment ends it.
    fn plain_lines(&mut self, mut node: Node, parent: isize) -> R<Node> {
        let mut folded: Option<String> = None;
        while self.peek() != Some(b' ') {
            let end = (self.pos, self.line, self.line_start);
            self.line_break()?;
            let mut empties = 0;
            let indent = loop {
                let start = self.pos;
                self.spaces();
                match self.peek() {
                    Some(b'\n' | b'\r') => {
                        empties += 1;
                        self.line_break()?;
                    }
                    _ => break self.pos - start,
                }
            };
            match self.peek() {
                None | Some(b'#') => {}
                Some(_) if indent as isize <= parent => {}
                Some(_) if parent < 0 => return Err(Unsupported),
                Some(_) => {
                    let from = self.pos;
                    let (to, colon) = self.plain_line(from)?;
                    if colon {
                        return Err(Unsupported);
                    }
                    let value = folded.get_or_insert_with(|| match &node.value {
                        Value::Scalar(s) => s.value.clone(),
                        _ => String::new(),
                    });
                    if empties == 0 {
                        value.push(' ');
                    }
                    (0..empties).for_each(|_| value.push('\n'));
                    value.push_str(self.text[from..to].trim_end_matches(' '));
                    self.pos = to;
                    continue;
                }
            }
            (self.pos, self.line, self.line_start) = end;
            break;
        }
        if let (Some(value), Value::Scalar(s)) = (folded, &mut node.value) {
            let at = node.offset - self.base;
            s.content = self.text[at..]
                .starts_with(value.as_str())
                .then(|| Span::new(node.offset, node.offset + value.len()));
            s.value = value;
        }
        self.advance()?;
        Ok(node)
    }

    /// A quoted scalar on one line; the reader stands after its closing
    /// quote.
    fn quoted(&mut self, lines: Option<usize>) -> R<Node> {
        let start = self.pos;
        let quote = self.b[start];
        let mut node = self.node(start, hole());
        let mut value = String::new();
        let mut clean = true;
        let mut i = start + 1;
        let mut run = i;
        loop {
            match self.b.get(i) {
                None => return Err(Unsupported),
                Some(b'\n' | b'\r') => {
                    // folded onto the next line: trailing and leading
                    // blanks go, a line break is a space, n empty lines
                    // are n line breaks
                    let min = lines.ok_or(Unsupported)?;
                    value.push_str(self.text[run..i].trim_end_matches([' ', '\t']));
                    clean = false;
                    self.pos = i;
                    let mut empties = 0;
                    loop {
                        self.line_break()?;
                        self.spaces();
                        match self.peek() {
                            Some(b'\n' | b'\r') => empties += 1,
                            Some(b'\t') | None => return Err(Unsupported),
                            Some(_) if self.pos - self.line_start < min => return Err(Unsupported),
                            Some(_) => break,
                        }
                    }
                    if empties == 0 {
                        value.push(' ');
                    }
                    (0..empties).for_each(|_| value.push('\n'));
                    i = self.pos;
                    run = i;
                }
                Some(&c) if c == quote => {
                    if quote == b'\'' && self.b.get(i + 1) == Some(&b'\'') {
                        value.push_str(&self.text[run..=i]);
                        clean = false;
                        i += 2;
                        run = i;
                        continue;
                    }
                    break;
                }
                Some(b'\\') if quote == b'"' => {
                    value.push_str(&self.text[run..i]);
                    clean = false;
                    i = self.escape(i + 1, &mut value)?;
                    run = i;
                }
                Some(_) => i += 1,
            }
        }
        value.push_str(&self.text[run..i]);
        let content = clean.then(|| Span::new(self.base + start + 1, self.base + i));
        let style = if quote == b'"' {
            Style::DoubleQuoted
        } else {
            Style::SingleQuoted
        };
        node.value = Value::Scalar(Scalar {
            value,
            style,
            content,
            tagged: false,
        });
        self.pos = i + 1;
        Ok(node)
    }

    /// Decodes the escape whose letter is at `i`; returns the index after it.
    fn escape(&self, i: usize, out: &mut String) -> R<usize> {
        let simple = match self.b.get(i) {
            Some(b'0') => '\0',
            Some(b'a') => '\x07',
            Some(b'b') => '\x08',
            Some(b't') => '\t',
            Some(b'n') => '\n',
            Some(b'v') => '\x0b',
            Some(b'f') => '\x0c',
            Some(b'r') => '\r',
            Some(b'e') => '\x1b',
            Some(b' ') => ' ',
            Some(b'"') => '"',
            Some(b'/') => '/',
            Some(b'\\') => '\\',
            Some(b'N') => '\u{85}',
            Some(b'_') => '\u{a0}',
            Some(b'L') => '\u{2028}',
            Some(b'P') => '\u{2029}',
            Some(b'x') => return self.hex_escape(i + 1, 2, out),
            Some(b'u') => return self.hex_escape(i + 1, 4, out),
            Some(b'U') => return self.hex_escape(i + 1, 8, out),
            _ => return Err(Unsupported),
        };
        out.push(simple);
        Ok(i + 1)
    }

    fn hex_escape(&self, i: usize, len: usize, out: &mut String) -> R<usize> {
        let digits = self.text.get(i..i + len).ok_or(Unsupported)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Unsupported);
        }
        let code = u32::from_str_radix(digits, 16).map_err(|_| Unsupported)?;
        out.push(char::from_u32(code).ok_or(Unsupported)?);
        Ok(i + len)
    }

    /// A literal (`|`) or folded (`>`) block scalar at `pos`, in a block
    /// collection at column `parent`.
    fn block_scalar(&mut self, parent: isize) -> R<Node> {
        if parent < 0 {
            return Err(Unsupported);
        }
        let literal = self.peek() == Some(b'|');
        self.pos += 1;
        let chomp = match self.peek() {
            Some(b'-') => Chomp::Strip,
            Some(b'+') => Chomp::Keep,
            _ => Chomp::Clip,
        };
        if chomp != Chomp::Clip {
            self.pos += 1;
        }
        if !is_blank_or_end(self.peek()) {
            return Err(Unsupported);
        }
        self.end_line()?;
        let min = parent as usize + 1;
        // The node is marked where its first content line's text starts.
        let mut node = None;
        let mut indent: Option<usize> = None;
        let mut leading_blank = 0;
        // Content lines as (text after the indentation, empty lines before
        // it); empty lines after the last one.
        let mut lines: Vec<(&str, usize)> = Vec::new();
        let mut empties = 0;
        loop {
            let line_start = self.pos;
            self.spaces();
            let sp = self.pos - line_start;
            match self.peek() {
                // spaces up to the indentation at the very end: the full
                // parser reads a line break there
                None if indent.is_some_and(|n| sp >= n && sp > 0) => return Err(Unsupported),
                None => {
                    self.pos = line_start;
                    break;
                }
                Some(b'\n' | b'\r') if indent.is_none_or(|n| sp <= n) => {
                    if indent.is_none() {
                        leading_blank = leading_blank.max(sp);
                    }
                    empties += 1;
                    self.line_break()?;
                    continue;
                }
                _ => {}
            }
            let n = match indent {
                Some(n) => n,
                None if sp >= min && leading_blank <= sp && self.peek() != Some(b'\t') => {
                    indent = Some(sp);
                    node = Some(self.node(self.pos, hole()));
                    sp
                }
                None if sp < min => {
                    self.pos = line_start;
                    break;
                }
                None => return Err(Unsupported),
            };
            if sp < n {
                self.pos = line_start;
                break;
            }
            self.skip_to_eol();
            let text = &self.text[line_start + n..self.pos];
            lines.push((text, empties));
            empties = 0;
            self.line_break()?;
        }
        let Some(mut node) = node else {
            return Err(Unsupported);
        };
        let mut value = String::new();
        let mut previous_blank = false;
        for (i, (text, before)) in lines.iter().enumerate() {
            let blank = text.starts_with([' ', '\t']);
            if i > 0 {
                if !literal && !blank && !previous_blank {
                    if *before == 0 {
                        value.push(' ');
                    }
                } else {
                    value.push('\n');
                }
                (0..*before).for_each(|_| value.push('\n'));
            } else {
                (0..*before).for_each(|_| value.push('\n'));
            }
            value.push_str(text);
            previous_blank = blank;
        }
        // The last content line ends with a line break, also at the end
        // of the text (the full parser reads one there).
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => value.push('\n'),
            Chomp::Keep => (0..=empties).for_each(|_| value.push('\n')),
        }
        node.value = Value::Scalar(Scalar {
            value,
            style: Style::Block,
            content: None,
            tagged: false,
        });
        self.look = self.next_line()?;
        Ok(node)
    }

    // ------------------------------------------------------------ flow

    /// A flow collection at `pos` (`[` or `{`), inside a block collection at
    /// column `block` (-1 at the root). Lines after the first must start
    /// right of that collection by two columns or more: the full parser's
    /// own rule is subtler, and this one never accepts what it refuses.
    fn flow(&mut self, block: isize) -> R<Node> {
        let min = if block < 0 { 0 } else { block as usize + 2 };
        self.flow_node(min)
    }

    /// Whitespace, line breaks and comments inside a flow collection.
    fn flow_space(&mut self, min: usize) -> R<()> {
        loop {
            match self.peek() {
                Some(b' ') => self.pos += 1,
                Some(b'\n' | b'\r') => {
                    self.line_break()?;
                    self.spaces();
                    if !matches!(self.peek(), Some(b'\n' | b'\r' | b'#') | None)
                        && self.pos - self.line_start < min
                    {
                        return Err(Unsupported);
                    }
                }
                Some(b'#') if self.at_comment() => self.skip_to_eol(),
                _ => return Ok(()),
            }
        }
    }

    /// After an item of a flow collection: past its `,` (true: another
    /// item follows) or standing on `close` (false).
    fn flow_separator(&mut self, close: u8, min: usize) -> R<bool> {
        self.flow_space(min)?;
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.flow_space(min)?;
                Ok(true)
            }
            Some(c) if c == close => Ok(false),
            _ => Err(Unsupported),
        }
    }

    fn flow_node(&mut self, min: usize) -> R<Node> {
        match self.peek() {
            Some(b'[') => {
                self.open()?;
                let mut node = self.node(self.pos, hole());
                self.pos += 1;
                let mark = self.items.len();
                self.flow_space(min)?;
                if self.peek() != Some(b']') {
                    loop {
                        let item = self.flow_node(min)?;
                        self.items.push(item);
                        if !self.flow_separator(b']', min)? {
                            break;
                        }
                    }
                }
                self.pos += 1;
                self.depth -= 1;
                node.value = Value::Seq(Arc::new(self.items.split_off(mark)));
                Ok(node)
            }
            Some(b'{') => {
                self.open()?;
                let mut node = self.node(self.pos, hole());
                self.pos += 1;
                let mark = self.entries.len();
                self.flow_space(min)?;
                if self.peek() != Some(b'}') {
                    loop {
                        let key = match self.peek() {
                            Some(b'"' | b'\'') => self.quoted(None)?,
                            Some(c) if starts_plain(c, self.peek_at(1), true) => {
                                self.plain_flow()?
                            }
                            _ => return Err(Unsupported),
                        };
                        self.spaces();
                        if self.peek() != Some(b':') {
                            return Err(Unsupported);
                        }
                        self.pos += 1;
                        self.flow_space(min)?;
                        if matches!(self.peek(), Some(b',' | b'}')) {
                            return Err(Unsupported);
                        }
                        let value = self.flow_node(min)?;
                        self.entries.push((key, value));
                        if !self.flow_separator(b'}', min)? {
                            break;
                        }
                    }
                }
                self.pos += 1;
                self.depth -= 1;
                node.value = Value::Map(Arc::new(self.entries.split_off(mark)));
                Ok(node)
            }
            Some(b'"' | b'\'') => {
                let node = self.quoted(None)?;
                self.spaces();
                if self.peek() == Some(b':') {
                    return Err(Unsupported);
                }
                Ok(node)
            }
            Some(c) if starts_plain(c, self.peek_at(1), true) => {
                let node = self.plain_flow()?;
                self.spaces();
                if self.peek() == Some(b':') {
                    return Err(Unsupported);
                }
                Ok(node)
            }
            _ => Err(Unsupported),
        }
    }

    /// A plain scalar in flow context, on one line.
    fn plain_flow(&mut self) -> R<Node> {
        let start = self.pos;
        let mut i = start;
        let end = loop {
            match self.b.get(i) {
                None | Some(b'\n' | b'\r') => break i,
                Some(&c) if is_flow_indicator(c) => break i,
                Some(b':') => match self.b.get(i + 1) {
                    None | Some(b' ' | b'\n' | b'\r') => break i,
                    Some(&c) if is_flow_indicator(c) => break i,
                    _ => i += 1,
                },
                Some(b' ') if self.b.get(i + 1) == Some(&b'#') => break i,
                Some(b'\t') => return Err(Unsupported),
                Some(_) => i += 1,
            }
        };
        let value = self.text[start..end].trim_end_matches(' ');
        if value.is_empty() {
            return Err(Unsupported);
        }
        let span = Span::new(self.base + start, self.base + start + value.len());
        let node = self.scalar(start, value.to_owned(), Style::Plain, Some(span));
        self.pos = end;
        Ok(node)
    }
}

/// The value of a node whose position is taken before its value is read:
/// costs no allocation, and is always replaced.
fn hole() -> Value {
    Value::Scalar(Scalar {
        value: String::new(),
        style: Style::Plain,
        content: None,
        tagged: false,
    })
}

/// How many nodes a tree without aliases is.
fn count(node: &Node) -> usize {
    match &node.value {
        Value::Scalar(_) => 1,
        Value::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
    }
}

/// Whether a plain scalar may start with `c` (followed by `next`), in flow
/// context or not; every other start is an indicator this reader leaves to
/// the full parser.
fn starts_plain(c: u8, next: Option<u8>, flow: bool) -> bool {
    match c {
        // in flow context `?` and `:` are indicators whatever follows
        b'-' => !is_blank_or_end(next),
        b'?' | b':' => !flow && !is_blank_or_end(next),
        b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b'#' | b','
        | b'[' | b']' | b'{' | b'}' | b' ' | b'\t' | b'\n' | b'\r' => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_full;
    use super::*;
    use proptest::prelude::*;

    /// The fast reader reads `text`, and builds the full parser's tree.
    #[track_caller]
    fn same(text: &str) {
        let fast = parse(text, 0, None);
        let full = parse_full(text, 0);
        assert!(fast.is_some(), "the fast reader gave up on {text:?}");
        assert_eq!(fast.unwrap(), full.unwrap(), "{text:?}");
    }

    /// The fast reader leaves `text` to the full parser.
    #[track_caller]
    fn left(text: &str) {
        assert!(parse(text, 0, None).is_none(), "{text:?}");
    }

    #[test]
    fn block_collections_scalars_and_comments_build_the_full_parsers_tree() {
        for text in [
            "a: 1\nb: two words # comment\n\"c\": 'it''s'\nd: \"x\\ty\\u00e9\"\n",
            "a:\n  b:\n    c: d\n  e: [1, \"2\", {f: g}]\nh: {}\ni: []\n",
            "k:\n- a\n- b: c\n  d: e\n-\n- - x\n  - y\n",
            "- \n- a\n-   # comment\n  b: c\n",
            "a:\nb:\n  c:\n# end\n",
            "a: b\n---\nc: d\n...\n---\n- e\n",
            "---\n",
            "a: 1\n---",
            "a:",
            "list:\n  - x\n  -",
            "a: |\n  line 1\n\n  line 2\n   more\nb: >-\n  folded\n  text\n\n  para\n    kept\n  end\nc: |+\n  keep\n\n\nd: x\n",
            "a: |\n  no break at the end",
            "a: plain\n  continued\n\n  after a gap\nb: 'quoted\n  over lines'\nc: \"double\n\n  two\"\n",
            "a: é1\nb: |\n  °C\nc: x\n",
            "{\"json\": [1, 2.5, true, null, \"s\"], \"o\": {\"k\": \"v\"}}",
            "a: {b: c,\n  d: [e,\n    f]}\n",
            "base: &b\n  k: v\nuse:\n  <<: *b\n  x: *b\n",
            "a: b\r\nc:\r\n  - d\r\n",
            "record: :node:sum\nq: ?x\n",
            "key with spaces : v\nurl: http://x:80/y#z\n",
            // found by the property test below
            "k: &m\n  k: &m\n<<: *m",
            "    k:\n# c",
            "  k: |\n    k: \"é\"\n  k: [a, 'b', {c: d}]",
        ] {
            same(text);
        }
        left("\"multi\n  line\"");
    }

    #[test]
    fn what_the_fast_reader_does_not_know_is_left_to_the_full_parser() {
        for text in [
            "a: !!str x\n",
            "? complex\n: key\n",
            "%YAML 1.2\n---\na: b\n",
            "a:\tb\n",
            "a: b: c\n",
            "a: |2\n   x\n",
            "a: b\n c: d\n",
            "a: [b,\n]\n",
            "a: *unknown\n",
            "a: \"unterminated\n",
            "a: b\rc: d\n",
            "\u{feff}a: b\n",
        ] {
            left(text);
        }
    }

    #[test]
    fn a_long_line_costs_time_linear_in_its_length() {
        // 200,000 scalars on one line, with a non-ASCII byte in each: the
        // column of each is counted on from the one before
        let items = vec!["\"é\""; 200_000].join(",");
        let text = format!("[{items}]");
        let docs = parse(&text, 0, None).unwrap();
        let last = docs[0].seq().unwrap().last().unwrap();
        assert_eq!(last.column, 1 + 4 * 199_999 + 1);
    }

    #[test]
    fn marked_parts_are_read_and_the_others_are_empty_collections_of_their_kind() {
        let text = "a:\n  image: x\nb:\n  c: d\n  e:\n  - f\nl:\n- x\n";
        let marks: Vec<usize> = vec![text.find("image").unwrap()];
        let docs = parse(text, 0, Some(&marks)).unwrap();
        let doc = &docs[0];
        assert_eq!(doc.get("a").unwrap().get("image").unwrap().str(), Some("x"));
        assert_eq!(doc.get("b").unwrap().map().map(<[_]>::len), Some(0));
        assert_eq!(doc.get("l").unwrap().seq().map(<[_]>::len), Some(0));
        // where it starts, as when it is read
        let full = &parse_full(text, 0).unwrap()[0];
        assert_eq!(doc.get("b").unwrap().line, full.get("b").unwrap().line);
        // an anchored collection, or one with an alias once anchors exist,
        // is read
        let text = "x: &x\n  k: v\ny:\n  <<: *x\n";
        let docs = parse(text, 0, Some(&[])).unwrap();
        assert_eq!(docs, parse_full(text, 0).unwrap());
    }

    /// Pieces of YAML, mostly what deployment files are made of.
    fn fragment() -> impl Strategy<Value = &'static str> {
        let common = prop::sample::select(vec![
            "a",
            "b: ",
            "c:",
            "- ",
            "-",
            "\n",
            "\n  ",
            "\n    ",
            "\n- ",
            "  ",
            "# c\n",
            " # c",
            "'q'",
            "\"d\"",
            "\"e\\n\"",
            "'it''s'",
            "[",
            "]",
            "{",
            "}",
            ", ",
            ": ",
            "|\n",
            "|-\n",
            ">\n",
            ">+\n",
            "&a ",
            "*a",
            "<<: ",
            "---\n",
            "...\n",
            "é",
            "1.2",
            "x:y",
            "\r\n",
            "\"multi\n  line\"",
        ]);
        let odd = prop::sample::select(vec!["?", "!", "\t", "%", "@", "\\", "#", "'", "\""]);
        prop_oneof![9 => common, 1 => odd]
    }

    /// Lines of YAML at indentations 0, 2 and 4: mostly well formed.
    fn line() -> impl Strategy<Value = String> {
        let body = prop::sample::select(vec![
            "k: v",
            "k:",
            "k: v # c",
            "- v",
            "-",
            "- k: v",
            "- - v",
            "# c",
            "",
            "k: |",
            "k: >-",
            "text",
            "more text",
            "k: [a, 'b', {c: d}]",
            "k: {}",
            "k: 'q'",
            "k: \"d\\t\"",
            "k: &a v",
            "k: &m",
            "k: *a",
            "<<: *m",
            "k: 'two",
            "lines'",
            "k: \"é\"",
            "---",
            "...",
            "k: a: b",
            "k: [a,",
            "b]",
            "\"k\": v",
            "k: -1",
            "k: :x",
            "é: x",
        ]);
        (0..3usize, body).prop_map(|(i, b)| format!("{}{b}", "  ".repeat(i)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Whatever the fast reader reads, it reads as the full parser does.
        #[test]
        fn the_fast_reader_never_disagrees_with_the_full_parser(
            parts in prop::collection::vec(fragment(), 0..30),
            lines in prop::collection::vec(line(), 0..12),
        ) {
            for text in [parts.concat(), lines.join("\n")] {
                if let Some(fast) = parse(&text, 0, None) {
                    let full = parse_full(&text, 0);
                    prop_assert!(full.is_ok(), "fast read {:?}, full parser says {:?}", text, full);
                    prop_assert_eq!(fast, full.unwrap(), "{:?}", text);
                }
            }
        }
    }
}
