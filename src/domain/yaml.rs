//! A YAML document tree that remembers where every scalar is written.
//!
//! Built on `yaml-rust2`'s event parser. Every scalar keeps the exact byte span
//! of its token in the source and, when the bytes between the quotes are the
//! value itself (no escapes, no line folding), the span of its content: that is
//! what lets the manifest stage replace a tag without re-serialising the file.
//! Anchors are resolved (an alias is the anchored node, spans included),
//! merge keys (`<<`) are honoured by [`Node::get`].
//!
//! Hostile input is bounded while the tree is built, so no walk of a parsed
//! tree can blow up: nesting deeper than [`MAX_DEPTH`] levels is an error
//! (walks recurse at most that deep), and an alias is never copied: the
//! children of a collection are shared ([`Arc`]), so an alias costs one node
//! whatever it points at. What aliases *would* expand to is counted, and more
//! than [`MAX_ALIAS_NODES`] nodes reached through aliases in one stream is an
//! error: every walk (scan, deserializer, merge-key lookup) visits at most the
//! file's own nodes plus that many. Dropping a tree is iterative.
//!
//! [`from_node`] reads any `Deserialize` type from a node, every error
//! [`Located`] at the node it is about ([`de`]); [`locate`] finds the node at
//! a path, for problems found after deserialization.
//!
//! Pure: takes text, returns a tree. Knows nothing about images or settings.

pub mod de;
mod fast;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::domain::located::Located;
use crate::domain::manifest::Span;

pub use de::{Spanned, from_node, is_null};

/// How deep collections may nest: deeper is a parse error.
pub const MAX_DEPTH: usize = 256;

/// How deep flow collections (`[[[…]]]`) may nest: `yaml-rust2`'s scanner
/// refuses deeper ones, an error reported in the same words.
pub const FLOW_DEPTH: usize = u8::MAX as usize;

/// How many nodes the aliases of one stream may stand for, counted as if
/// every alias were replaced by a copy of its anchor: more is a parse error
/// (an "alias bomb").
pub const MAX_ALIAS_NODES: usize = 100_000;

/// How a scalar is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` or `>` block scalar: text, never a reference.
    Block,
}

/// A scalar with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar {
    pub value: String,
    pub style: Style,
    /// Bytes of the value exactly as written between its quotes (or of the
    /// whole plain token); `None` when the written form differs from the
    /// value (escapes, folding, block scalars).
    pub content: Option<Span>,
    /// An explicit tag such as `!!str` was written.
    pub tagged: bool,
}

/// A node and where it starts. Dropped iteratively; an alias shares the
/// anchored node's children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub value: Value,
    /// Byte offset of the node's first byte.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Scalar(Scalar),
    Seq(Arc<Vec<Node>>),
    Map(Arc<Vec<(Node, Node)>>),
}

impl Drop for Node {
    /// Iterative, so that no tree, however deep, overflows the stack when
    /// dropped: children that this node owns alone are moved to a work list
    /// and emptied there before they are dropped.
    fn drop(&mut self) {
        fn take(value: &mut Value, out: &mut Vec<Node>) {
            match value {
                Value::Seq(items) => {
                    if let Some(items) = Arc::get_mut(items) {
                        out.append(items);
                    }
                }
                Value::Map(entries) => {
                    if let Some(entries) = Arc::get_mut(entries) {
                        for (k, v) in entries.drain(..) {
                            out.push(k);
                            out.push(v);
                        }
                    }
                }
                Value::Scalar(_) => {}
            }
        }
        if matches!(self.value, Value::Scalar(_)) {
            return;
        }
        let mut pending = Vec::new();
        take(&mut self.value, &mut pending);
        while let Some(mut node) = pending.pop() {
            take(&mut node.value, &mut pending);
        }
    }
}

/// A syntax error, with a 1-based position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Node {
    /// The scalar, if this node is one.
    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's value, unless it is a block scalar.
    pub fn str(&self) -> Option<&str> {
        self.scalar()
            .filter(|s| s.style != Style::Block)
            .map(|s| s.value.as_str())
    }

    pub fn seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items.as_slice()),
            _ => None,
        }
    }

    pub fn map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries.as_slice()),
            _ => None,
        }
    }

    /// Looks a key up in a mapping, honouring merge keys (`<<: *base`): an
    /// explicit key wins over a merged one.
    pub fn get(&self, key: &str) -> Option<&Node> {
        let entries = self.map()?;
        if let Some((_, v)) = entries.iter().find(|(k, _)| k.str() == Some(key)) {
            return Some(v);
        }
        entries
            .iter()
            .filter(|(k, _)| {
                k.str() == Some("<<") && k.scalar().is_some_and(|s| s.style == Style::Plain)
            })
            .find_map(|(_, v)| match &v.value {
                Value::Map(_) => v.get(key),
                Value::Seq(items) => items.iter().find_map(|m| m.get(key)),
                Value::Scalar(_) => None,
            })
    }

    /// The entry (key node, value node) for `key`, without merge keys.
    pub fn entry(&self, key: &str) -> Option<&(Node, Node)> {
        self.map()?.iter().find(|(k, _)| k.str() == Some(key))
    }
}

/// Parses every document of a YAML stream. `text` must not start with a BOM;
/// `base` is added to every byte offset (3 when the caller stripped one).
///
/// The YAML of deployment files is read by a fast reader of its own
/// ([`fast`]); what that reader does not know is parsed by [`parse_full`],
/// and both build the same tree.
pub fn parse(text: &str, base: usize) -> Result<Vec<Node>, YamlError> {
    parse_in(text, base, None)
}

/// [`parse`], for a reader that only needs the nodes near `marks` (sorted
/// byte offsets into `text`, such as where the words it looks for are
/// written): a block collection that starts on the lines after its key or
/// `-`, has no anchor, and has no mark from its entry's line to its end may
/// be read as an empty collection of its kind, and a syntax error in it
/// may go unnoticed. Positions, and every other node, are as [`parse`]
/// gives them.
pub fn parse_marked(text: &str, base: usize, marks: &[usize]) -> Result<Vec<Node>, YamlError> {
    parse_in(text, base, Some(marks))
}

fn parse_in(text: &str, base: usize, marks: Option<&[usize]>) -> Result<Vec<Node>, YamlError> {
    match fast::parse(text, base, marks) {
        Some(docs) => Ok(docs),
        None => parse_full(text, base),
    }
}

/// [`parse`]'s fast reader alone: `None` for what it leaves to
/// [`parse_full`]. Public for the benches that compare the two readers.
#[doc(hidden)]
pub fn parse_fast(text: &str, base: usize) -> Option<Vec<Node>> {
    fast::parse(text, base, None)
}

/// [`parse`] by `yaml-rust2` alone, for any YAML: public for the benches
/// that compare the two readers.
#[doc(hidden)]
pub fn parse_full(text: &str, base: usize) -> Result<Vec<Node>, YamlError> {
    let first = parse_with(text, base, None);
    match &first {
        // Go's YAML (Helm, Kubernetes) accepts a flow collection whose lines
        // sit at or left of its key's indentation (`args: [` ... `]` under
        // `args`); `yaml-rust2` does not. Such lines are indented for the
        // parser only, and every position is mapped back to the file.
        Err(e) if e.message.starts_with("invalid indentation") => match pad_flow_lines(text) {
            Some((padded, shift)) => parse_with(&padded, base, Some(&shift)).or(first),
            None => first,
        },
        _ => first,
    }
}

/// Spaces added at the start of lines for the parser: per line (0-based),
/// how many, and how many up to and including that line.
struct Shift {
    pad: Vec<usize>,
    before: Vec<usize>,
}

impl Shift {
    fn line(&self, line: usize) -> (usize, usize) {
        let i = line.saturating_sub(1);
        (
            self.pad.get(i).copied().unwrap_or(0),
            self.before
                .get(i)
                .copied()
                .unwrap_or_else(|| self.before.last().copied().unwrap_or(0)),
        )
    }
}

/// The text with every line that starts inside a flow collection (`[`,
/// `{`) indented past that collection's opening bracket, which no flow
/// content's meaning depends on; `None` when no line needs it. A small
/// lexer: quotes, comments, block scalars and flow brackets.
fn pad_flow_lines(text: &str) -> Option<(String, Shift)> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut shift = Shift {
        pad: Vec::new(),
        before: Vec::new(),
    };
    let mut total = 0;
    let mut depth = 0usize;
    let mut need = 0usize;
    let mut quote: Option<char> = None;
    let mut block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let blank = line.trim().is_empty();
        if let Some(parent) = block {
            if blank || indent > parent {
                shift.pad.push(0);
                shift.before.push(total);
                out.push_str(line);
                continue;
            }
            block = None;
        }
        let pad = if depth > 0 && !blank && indent < need {
            need - indent
        } else {
            0
        };
        total += pad;
        shift.pad.push(pad);
        shift.before.push(total);
        out.extend(std::iter::repeat_n(' ', pad));
        out.push_str(line);
        let mut node_start = quote.is_none();
        let mut prev_space = true;
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let next_blank = chars.peek().is_none_or(|&(_, n)| n.is_whitespace());
            if let Some(q) = quote {
                if c == q {
                    if q == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                        chars.next();
                    } else {
                        quote = None;
                        node_start = false;
                    }
                } else if q == '"' && c == '\\' {
                    chars.next();
                }
                continue;
            }
            if c.is_whitespace() {
                prev_space = true;
                continue;
            }
            match c {
                '#' if prev_space => break,
                '"' | '\'' if node_start => quote = Some(c),
                '[' | '{' if node_start || depth > 0 => {
                    if depth == 0 {
                        need = line[..i].chars().count() + 1;
                    }
                    depth += 1;
                }
                ']' | '}' if depth > 0 => {
                    depth -= 1;
                    node_start = false;
                }
                ',' if depth > 0 => node_start = true,
                ':' => node_start = next_blank || depth > 0,
                '-' | '?' => node_start = next_blank,
                '|' | '>' if node_start && depth == 0 => {
                    block = Some(indent);
                    break;
                }
                _ => node_start = false,
            }
            if matches!(c, '[' | '{') && depth > 0 {
                node_start = true;
            }
            prev_space = false;
        }
    }
    (total > 0).then_some((out, shift))
}

fn parse_with(text: &str, base: usize, shift: Option<&Shift>) -> Result<Vec<Node>, YamlError> {
    let mut builder = Builder {
        text,
        base,
        offsets: CharOffsets::new(text),
        shift,
        docs: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        aliased: 0,
        error: None,
    };
    // Events are pulled one by one: `Parser::load` recurses once per level
    // of nesting, and stops nowhere.
    let mut parser = Parser::new_from_str(text);
    let pulled = loop {
        match parser.next_token() {
            Ok((ev, mark)) => {
                let end = ev == Event::StreamEnd;
                builder.on_event(ev, mark);
                if end || builder.error.is_some() {
                    break Ok(());
                }
            }
            Err(e) => break Err(e),
        }
    };
    if let Err(e) = pulled {
        let m = e.marker();
        let message = match e.info() {
            "recursion limit exceeded" => {
                format!("flow collections nested deeper than {FLOW_DEPTH} levels")
            }
            info => info.to_string(),
        };
        return Err(YamlError {
            line: m.line(),
            column: builder.column(m),
            message,
        });
    }
    match builder.error {
        Some(e) => Err(e),
        None => Ok(builder.docs),
    }
}

/// Parses a user's file that holds at most one document (a leading BOM is
/// skipped): `None` when it has none. Errors name `file`.
pub fn parse_one(file: &str, text: &str) -> Result<Option<Node>, Located> {
    let (body, offset) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, '\u{feff}'.len_utf8()),
        None => (text, 0),
    };
    let docs = parse(body, offset).map_err(|e| {
        Located::at(
            file,
            e.line,
            e.column,
            format!("invalid YAML: {}", e.message),
        )
    })?;
    if let Some(second) = docs.get(1) {
        return Err(Located::at_node(
            file,
            second,
            format!("expected one YAML document, found {}", docs.len()),
        ));
    }
    Ok(docs.into_iter().next())
}

/// One step of a path into a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// What [`locate`] points at when the path ends at a key: the key itself
/// (unknown or misnamed keys) or its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

/// The node at `path` under `root`, or the deepest one that exists; an
/// empty value (`key:` and nothing) is pointed at by its key. The one
/// path-to-position lookup, for problems found after deserialization.
pub fn locate<'a>(root: &'a Node, path: &[Seg<'_>], target: Target) -> &'a Node {
    let mut node = root;
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match seg {
            Seg::Key(k) => match node.entry(k) {
                Some((key, value)) => {
                    let empty = value
                        .scalar()
                        .is_some_and(|s| s.style == Style::Plain && s.value.is_empty());
                    if last && (target == Target::Key || empty) {
                        return key;
                    }
                    node = value;
                }
                None => return node,
            },
            Seg::Index(n) => match node.seq().and_then(|items| items.get(*n)) {
                Some(item) => node = item,
                None => return node,
            },
        }
    }
    node
}

/// True when a plain scalar with this text would be read as something other
/// than a string (null, boolean, number, timestamp) by YAML 1.1 or 1.2
/// loaders, so it must be quoted to stay a string.
pub fn plain_is_not_string(value: &str) -> bool {
    let v = value;
    if v.is_empty() {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "~" | "null"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
    ) {
        return true;
    }
    let body = v.strip_prefix(['+', '-']).unwrap_or(v);
    let digits_or = |s: &str, extra: &[char]| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || extra.contains(&c))
    };
    // integers (with 1.1 underscores and sexagesimal), octal, hex, binary
    if digits_or(body, &['_', ':']) && body.starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X"))
        && !hex.is_empty()
        && hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_')
    {
        return true;
    }
    if let Some(rest) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0b"))
        && digits_or(rest, &['_'])
    {
        return true;
    }
    // floats: digits with one dot and an optional exponent, e.g. 25.10, 1e3, .5
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = mantissa.chars().filter(|&c| c == '.').count() <= 1
        && mantissa.chars().any(|c| c.is_ascii_digit())
        && mantissa
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '_');
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    if mantissa_ok && exponent_ok {
        return true;
    }
    // timestamps: 2025-01-07 and friends
    let b = v.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// Maps the parser's character indices to byte offsets and columns, in
/// constant (ASCII) or logarithmic time: a column is never found by walking
/// back to the start of its line, which made one long line quadratic.
struct CharOffsets<'a> {
    text: &'a str,
    /// Byte offset of every char, only built for non-ASCII text.
    bytes: Option<Vec<usize>>,
    /// Char index of the first char of every line.
    line_starts: Vec<usize>,
}

impl<'a> CharOffsets<'a> {
    fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        let bytes = if text.is_ascii() {
            line_starts.extend(newlines(text).map(|i| i + 1));
            None
        } else {
            let mut v = Vec::with_capacity(text.len() + 1);
            for (ci, (i, c)) in text.char_indices().enumerate() {
                v.push(i);
                if c == '\n' {
                    line_starts.push(ci + 1);
                }
            }
            v.push(text.len());
            Some(v)
        };
        CharOffsets {
            text,
            bytes,
            line_starts,
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.bytes {
            None => char_index.min(self.text.len()),
            Some(v) => v.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    /// The char index and 1-based column of a 1-based line and 0-based
    /// column; past the last line (the end of a text without a final line
    /// break), the end of the text.
    fn place(&self, line: usize, col: usize) -> (usize, usize) {
        let chars = self.bytes.as_ref().map_or(self.text.len(), |v| v.len() - 1);
        match self.line_starts.get(line.saturating_sub(1)) {
            Some(&start) => ((start + col).min(chars), col + 1),
            None => {
                let last = self.line_starts.last().copied().unwrap_or(0);
                (chars, chars - last + 1)
            }
        }
    }
}

/// Byte offsets of the newlines of `text`.
fn newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter_map(|(i, b)| (b == b'\n').then_some(i))
}

/// A collection being built: its node, children so far, anchor id, and
/// how many nodes it stands for with aliases expanded.
enum Frame {
    Seq(Node, Vec<Node>, usize, usize),
    Map(Node, Vec<(Node, Node)>, Option<Node>, usize, usize),
}

struct Builder<'a> {
    text: &'a str,
    base: usize,
    offsets: CharOffsets<'a>,
    /// Spaces added for the parser, taken off every position.
    shift: Option<&'a Shift>,
    docs: Vec<Node>,
    stack: Vec<Frame>,
    /// Anchored nodes and how many nodes each stands for, expanded.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes stood for by the aliases seen so far, expanded.
    aliased: usize,
    error: Option<YamlError>,
}

impl Builder<'_> {
    /// Spaces added on the mark's line, and up to it.
    fn shifted(&self, mark: &Marker) -> (usize, usize) {
        self.shift.map_or((0, 0), |s| s.line(mark.line()))
    }

    /// Byte offset in the file (BOM included) of a byte of the parsed text.
    fn offset(&self, mark: &Marker, byte: usize) -> usize {
        self.base + byte - self.shifted(mark).1
    }

    /// The char index of a mark and its 1-based column in the text as
    /// parsed, from the mark's line and column: `yaml-rust2` counts the
    /// bytes of a block scalar's text as characters in its `index`, which
    /// is then off for every later mark after non-ASCII text there, while
    /// its lines and columns start over on every line.
    fn place(&self, mark: &Marker) -> (usize, usize) {
        self.offsets.place(mark.line(), mark.col())
    }

    fn column(&self, mark: &Marker) -> usize {
        self.place(mark)
            .1
            .saturating_sub(self.shifted(mark).0)
            .max(1)
    }

    fn node_at(&self, mark: &Marker, value: Value) -> Node {
        Node {
            value,
            offset: self.offset(mark, self.offsets.byte(self.place(mark).0)),
            line: mark.line(),
            column: self.column(mark),
        }
    }

    fn scalar(&self, value: String, style: TScalarStyle, tagged: bool, mark: &Marker) -> Node {
        let start = self.offsets.byte(self.place(mark).0);
        let rest = &self.text[start..];
        let (style, content) = match style {
            TScalarStyle::Plain => (
                Style::Plain,
                rest.starts_with(value.as_str()).then_some((0, value.len())),
            ),
            TScalarStyle::SingleQuoted => (Style::SingleQuoted, quoted_content(rest, '\'', &value)),
            TScalarStyle::DoubleQuoted => (Style::DoubleQuoted, quoted_content(rest, '"', &value)),
            TScalarStyle::Literal | TScalarStyle::Folded => (Style::Block, None),
        };
        let content = content.map(|(from, len)| {
            let s = self.offset(mark, start + from);
            Span::new(s, s + len)
        });
        self.node_at(
            mark,
            Value::Scalar(Scalar {
                value,
                style,
                content,
                tagged,
            }),
        )
    }

    /// Adds a finished node (standing for `size` nodes, expanded) to its
    /// parent.
    fn push_node(&mut self, node: Node, size: usize) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(_, items, _, total)) => {
                *total = total.saturating_add(size);
                items.push(node);
            }
            Some(Frame::Map(_, entries, key, _, total)) => {
                *total = total.saturating_add(size);
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                }
            }
        }
    }

    fn finish(&mut self, node: Node, anchor: usize, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        self.push_node(node, size);
    }

    fn fail(&mut self, mark: &Marker, message: String) {
        self.error = Some(YamlError {
            line: mark.line(),
            column: self.column(mark),
            message,
        });
        // What was built so far is dropped now, iteratively.
        self.stack.clear();
        self.anchors.clear();
    }

    /// Opens a collection, unless that nests it deeper than [`MAX_DEPTH`].
    fn open(&mut self, mark: &Marker, frame: impl FnOnce(Node) -> Frame, empty: Value) {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(mark, format!("nested deeper than {MAX_DEPTH} levels"));
            return;
        }
        let node = self.node_at(mark, empty);
        self.stack.push(frame(node));
    }
}

/// Finds the content of a quoted scalar starting at `rest[0] == quote`.
/// Returns (offset, len) of the bytes between the quotes when they equal the
/// parsed value, i.e. the scalar uses no escapes and no line folding.
fn quoted_content(rest: &str, quote: char, value: &str) -> Option<(usize, usize)> {
    let inner = rest.strip_prefix(quote)?;
    if inner.starts_with(value) && inner[value.len()..].starts_with(quote) {
        let raw = &inner[..value.len()];
        let clean = match quote {
            '"' => !raw.contains(['\\', '\n', '\r']),
            _ => !raw.contains(['\'', '\n', '\r']),
        };
        if clean {
            return Some((1, value.len()));
        }
    }
    None
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(value, style, anchor, tag) => {
                let node = self.scalar(value, style, tag.is_some(), &mark);
                self.finish(node, anchor, 1);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((node, size)) => {
                    // A shared node, never a deep copy; what it stands for
                    // is counted against the stream's budget.
                    let (node, size) = (node.clone(), *size);
                    self.aliased = self.aliased.saturating_add(size);
                    if self.aliased > MAX_ALIAS_NODES {
                        self.fail(
                            &mark,
                            format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                        );
                        return;
                    }
                    self.push_node(node, size);
                }
                None => self.fail(&mark, "alias to an unknown anchor".into()),
            },
            Event::SequenceStart(anchor, _) => self.open(
                &mark,
                |node| Frame::Seq(node, Vec::new(), anchor, 1),
                Value::Seq(Arc::default()),
            ),
            Event::MappingStart(anchor, _) => self.open(
                &mark,
                |node| Frame::Map(node, Vec::new(), None, anchor, 1),
                Value::Map(Arc::default()),
            ),
            Event::SequenceEnd => {
                if let Some(Frame::Seq(mut node, items, anchor, size)) = self.stack.pop() {
                    node.value = Value::Seq(Arc::new(items));
                    self.finish(node, anchor, size);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(mut node, entries, _, anchor, size)) = self.stack.pop() {
                    // A block mapping's start mark is at its first key.
                    if let Some((k, _)) = entries.first()
                        && k.offset < node.offset
                    {
                        node.offset = k.offset;
                        node.line = k.line;
                        node.column = k.column;
                    }
                    node.value = Value::Map(Arc::new(entries));
                    self.finish(node, anchor, size);
                }
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd
            | Event::Nothing => {}
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Style::Plain => "plain",
            Style::SingleQuoted => "single-quoted",
            Style::DoubleQuoted => "double-quoted",
            Style::Block => "block",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(text: &str, node: &Node) -> String {
        let span = node.scalar().unwrap().content.unwrap();
        text[span.start..span.end].to_string()
    }

    #[test]
    fn spans_of_plain_quoted_and_anchored_scalars() {
        let text = "a: &x \"q1\"\r\nb: !!str v1\r\nc: [x, 'y', z]\r\n# é\r\nd: é1\r\ne: *x\r\nf: |\n  text\n";
        let docs = parse(text, 0).unwrap();
        let doc = &docs[0];
        assert_eq!(content(text, doc.get("a").unwrap()), "q1");
        assert_eq!(content(text, doc.get("b").unwrap()), "v1");
        assert!(doc.get("b").unwrap().scalar().unwrap().tagged);
        let c = doc.get("c").unwrap().seq().unwrap();
        assert_eq!(content(text, &c[1]), "y");
        assert_eq!(content(text, &c[2]), "z");
        let d = doc.get("d").unwrap();
        assert_eq!(content(text, d), "é1");
        assert_eq!((d.line, d.column), (5, 4));
        // the alias shares the anchored scalar's span
        assert_eq!(
            doc.get("e").unwrap().scalar().unwrap().content,
            doc.get("a").unwrap().scalar().unwrap().content
        );
        assert_eq!(doc.get("f").unwrap().str(), None);
    }

    #[test]
    fn positions_after_non_ascii_text_in_a_block_scalar_are_right() {
        // yaml-rust2's `index` counts that text's bytes as characters
        let text = "a: |\n  65°C, ±1\nb: x\nc: >\n  é\n  é\nd: [y]\n";
        let doc = &parse_full(text, 0).unwrap()[0];
        assert_eq!(content(text, doc.get("b").unwrap()), "x");
        let y = &doc.get("d").unwrap().seq().unwrap()[0];
        assert_eq!(content(text, y), "y");
        assert_eq!((y.line, y.column), (7, 5));
    }

    #[test]
    fn escapes_have_no_content_span() {
        let text = "a: \"v\\x31\"\nb: 'it''s'\n";
        let doc = &parse(text, 0).unwrap()[0];
        assert_eq!(doc.get("a").unwrap().str(), Some("v1"));
        assert_eq!(doc.get("a").unwrap().scalar().unwrap().content, None);
        assert_eq!(doc.get("b").unwrap().scalar().unwrap().content, None);
    }

    #[test]
    fn merge_keys_and_multiple_documents() {
        let text = "base: &b {tag: v1}\nimg:\n  <<: *b\n  repository: r\n---\nx: 1\n";
        let docs = parse(text, 0).unwrap();
        assert_eq!(docs.len(), 2);
        let img = docs[0].get("img").unwrap();
        assert_eq!(img.get("tag").unwrap().str(), Some("v1"));
        assert_eq!(content(text, img.get("tag").unwrap()), "v1");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: b\n  c: d\n", 0).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.column >= 1);
    }

    #[test]
    fn locate_paths() {
        let doc = &parse("a:\n  - b: 1\n    c: [x, y]\n    d:\n", 0).unwrap()[0];
        let path = [Seg::Key("a"), Seg::Index(0), Seg::Key("c"), Seg::Index(1)];
        let n = locate(doc, &path, Target::Value);
        assert_eq!((n.line, n.column), (3, 12));
        let path = [Seg::Key("a"), Seg::Index(0), Seg::Key("c")];
        let n = locate(doc, &path, Target::Key);
        assert_eq!((n.line, n.column), (3, 5));
        let n = locate(doc, &[Seg::Key("a"), Seg::Index(7)], Target::Value);
        assert_eq!((n.line, n.column), (2, 3));
        let path = [Seg::Key("a"), Seg::Index(0), Seg::Key("d")];
        let n = locate(doc, &path, Target::Value);
        assert_eq!((n.line, n.column), (4, 5));
    }

    /// `levels` nested collections in each of the ways YAML can write them.
    fn deep(levels: usize) -> [String; 3] {
        let flow = format!("{}x{}\n", "[".repeat(levels), "]".repeat(levels));
        // `- - - x`: a sequence in a sequence in a sequence, 2 bytes a level
        let seqs = format!("{}x\n", "- ".repeat(levels));
        // block mappings need their indentation: one space a level
        let maps = (0..levels)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect::<String>();
        [flow, seqs, maps]
    }

    #[test]
    fn nesting_is_bounded_and_deep_input_is_an_error_not_a_crash() {
        for text in deep(2_000) {
            let err = parse(&text, 0).unwrap_err();
            assert!(err.message.contains("nested deeper than 25"), "{err}");
            assert!(err.line >= 1 && err.column >= 1, "{err}");
        }
        // the deepest allowed level parses, one more does not
        let [_, seqs, maps] = deep(MAX_DEPTH);
        assert!(parse(&seqs, 0).is_ok());
        assert!(parse(&maps, 0).is_ok());
        let [_, seqs, maps] = deep(MAX_DEPTH + 1);
        let err = parse(&seqs, 0).unwrap_err();
        assert_eq!((err.line, err.column), (1, 513), "{err}");
        let err = parse(&maps, 0).unwrap_err();
        assert_eq!((err.line, err.column), (257, 258), "{err}");
        // 20 kB, 10,000 levels: an error, not a stack overflow
        let [flow, seqs, _] = deep(10_000);
        assert!(flow.len() < 21_000 && seqs.len() < 21_000);
        assert!(parse(&flow, 0).is_err());
        assert!(parse(&seqs, 0).is_err());
        // flow collections: yaml-rust2's scanner stops at 255 levels, said
        // in the same words
        assert!(parse(&deep(FLOW_DEPTH)[0], 0).is_ok());
        let err = parse_one("f.yaml", &deep(FLOW_DEPTH + 1)[0]).unwrap_err();
        assert_eq!((err.line, err.column), (Some(1), Some(256)));
        assert!(
            err.message.contains("nested deeper than 255 levels"),
            "{err}"
        );
    }

    #[test]
    fn a_deep_tree_built_by_hand_drops_without_recursion() {
        let leaf = |value| Node {
            value,
            offset: 0,
            line: 1,
            column: 1,
        };
        let mut node = leaf(Value::Seq(Arc::default()));
        for i in 0..200_000 {
            node = if i % 2 == 0 {
                leaf(Value::Seq(Arc::new(vec![node])))
            } else {
                let key = parse("k", 0).unwrap().remove(0);
                leaf(Value::Map(Arc::new(vec![(key, node)])))
            };
        }
        drop(node);
    }

    /// Billion laughs: `levels` anchors, each a list of `refs` aliases to
    /// the one before.
    fn bomb(levels: usize, refs: usize) -> String {
        let mut text = "a0: &a0 [x]\n".to_string();
        for l in 1..=levels {
            let items = vec![format!("*a{}", l - 1); refs].join(", ");
            text.push_str(&format!("a{l}: &a{l} [{items}]\n"));
        }
        text
    }

    #[test]
    fn aliases_are_shared_and_their_expansion_is_bounded() {
        let text = bomb(9, 9);
        assert!(text.len() < 1_000);
        let err = parse(&text, 0).unwrap_err();
        assert!(
            err.message
                .contains("aliases expand to more than 100000 nodes"),
            "{err}"
        );
        // aliases stand for 18 + 171 + 1548 + 13941 nodes up to `a4`; the
        // first alias of `a5` (line 6) adds 13942 more: the budget is spent
        // in the middle of that line
        assert_eq!(err.line, 6, "{err}");
        // below the bound an alias is the anchored node, shared, not copied
        let docs = parse(&bomb(4, 9), 0).unwrap();
        let a3 = docs[0].get("a3").unwrap().seq().unwrap();
        let a4 = docs[0].get("a4").unwrap().seq().unwrap();
        assert_eq!(a4.len(), 9);
        match (
            &a4[0].value,
            &a4[8].value,
            &docs[0].get("a3").unwrap().value,
        ) {
            (Value::Seq(x), Value::Seq(y), Value::Seq(z)) => {
                assert!(Arc::ptr_eq(x, y) && Arc::ptr_eq(x, z));
            }
            _ => panic!("not sequences"),
        }
        assert_eq!(a3.len(), 9);
        // merge-key lookups through aliases stay within the budget
        let merged = "b: &b {k: v}\nc: &c {<<: [*b, *b, *b]}\nd: {<<: [*c, *c]}\n";
        let doc = &parse(merged, 0).unwrap()[0];
        assert_eq!(doc.get("d").unwrap().get("k").unwrap().str(), Some("v"));
    }

    #[test]
    fn plain_scalar_types() {
        for s in [
            "25.10",
            "1",
            "1.0",
            "true",
            "No",
            "null",
            "~",
            "0x1F",
            "1e3",
            "2025-01-07",
            "",
        ] {
            assert!(plain_is_not_string(s), "{s}");
        }
        for s in [
            "v25.10",
            "1.2.3",
            "25.10.1",
            "latest",
            "1.27-alpine",
            "stable",
            "v1",
        ] {
            assert!(!plain_is_not_string(s), "{s}");
        }
    }
}

#[cfg(test)]
mod go_yaml_tests {
    use super::*;

    #[test]
    fn flow_collections_closed_at_the_keys_indentation_are_read() {
        let text = "vault:\n  server:\n    args: [\n      \"server\",\n      \"-dev\"\n    ]\n    image: {\n      repository: x/y,\n    tag: v1\n    }\n  list:\n    - [\n    a, b\n    ]\n  note: |\n    [ not a flow\n  after: é1\n";
        let doc = &parse(text, 0).unwrap()[0];
        let image = doc
            .get("vault")
            .unwrap()
            .get("server")
            .unwrap()
            .get("image")
            .unwrap();
        let tag = image.get("tag").unwrap();
        let span = tag.scalar().unwrap().content.unwrap();
        assert_eq!(&text[span.start..span.end], "v1");
        assert_eq!((tag.line, tag.column), (9, 10));
        let after = doc.get("vault").unwrap().get("after").unwrap();
        let span = after.scalar().unwrap().content.unwrap();
        assert_eq!(&text[span.start..span.end], "é1");
        assert_eq!((after.line, after.column), (17, 10));
        let args = doc
            .get("vault")
            .unwrap()
            .get("server")
            .unwrap()
            .get("args")
            .unwrap();
        assert_eq!(args.seq().unwrap().len(), 2);
        assert_eq!(
            doc.get("vault")
                .unwrap()
                .get("note")
                .unwrap()
                .scalar()
                .unwrap()
                .value,
            "[ not a flow\n"
        );
        // what no reading can save stays an error at its place in the file
        let err = parse("a:\n  b: [\n x\n", 0).unwrap_err();
        assert!(err.line >= 2, "{err}");
    }
}
