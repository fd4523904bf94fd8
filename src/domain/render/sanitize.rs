//! Sanitising quoted upstream text (release notes, release names, rule
//! excerpts) before it goes into a pull request.
//!
//! Markdown is parsed with `pulldown-cmark` and written out again from the
//! events: nothing of the input reaches the output unless this module wrote
//! it, so the output's structure is ours by construction. What it does:
//!
//! - **@-mentions** (`@user`, `@org/team`) get a zero-width joiner after the
//!   `@` (`@&zwj;user`): shown the same, pings nobody. An `@` preceded by a
//!   letter, digit or `_` is not a mention for GitHub (`ops@example.com`) and
//!   is kept as it is.
//! - **References**: `#123`, `GH-123` and `owner/repo#123` become links
//!   through `redirect.github.com` with a zero-width joiner after the `#` or
//!   `-` in the link text: they still lead to the upstream's issue (not to an
//!   issue of the deployment repository), but GitHub neither renders them as
//!   references nor adds a cross-reference to the upstream issue's timeline.
//!   Every other `#` followed by a digit gets the joiner too.
//! - **GitHub URLs** (`https://github.com/...`, in text and in link targets)
//!   are rewritten to `https://redirect.github.com/...`, which redirects there
//!   without creating a backlink. Bare URLs become `<autolinks>` (an `@` in
//!   them is written `%40`).
//! - **HTML** is removed: tags are dropped and their text kept (entities
//!   decoded, then escaped again); the content of `<script>`, `<style>`,
//!   `<template>` and `<noscript>` is dropped; comments are dropped, closed or
//!   not. No `<` of the input survives outside code, so no HTML comment (and
//!   no forged fingerprint) can come from quoted text; inside code `<!--` is
//!   broken up with a zero-width joiner as well.
//! - **Code** needs no neutralising (GitHub links nothing there) but is
//!   re-fenced: every code block gets a backtick fence longer than any
//!   backtick run inside it, so no content can close the fence early, and an
//!   unclosed fence cannot swallow what follows.
//! - **Headings** are demoted by three levels (`#` becomes `####`), so quoted
//!   notes never out-rank the body's own headings.
//! - Text is escaped so that it renders literally (`\*`, `&lt;`, `&amp;`),
//!   bidirectional-override and other control characters are removed, and
//!   containers nested deeper than [`MAX_DEPTH`] are flattened.
//!
//! Pure; never panics on any input.

use std::ops::Range;
use std::sync::LazyLock;

use pulldown_cmark::{
    Alignment, BlockQuoteKind, CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd,
};
use regex::Regex;

/// The zero-width joiner as a markdown/HTML entity.
const ZWJ_ENTITY: &str = "&zwj;";
/// The zero-width joiner as a character (for plain text: titles, code).
const ZWJ: char = '\u{200d}';
/// Block quotes and list items nested deeper than this are flattened.
pub const MAX_DEPTH: usize = 12;
/// Elements whose content is dropped with their tags.
const DROP_CONTENT: [&str; 4] = ["script", "style", "template", "noscript"];
/// Elements that separate lines of text.
const BLOCK_TAGS: [&str; 27] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
];
/// Table-ish elements: their boundaries become spaces.
const CELL_TAGS: [&str; 6] = ["table", "td", "th", "tr", "thead", "tbody"];

static REFS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?P<url>(?i:https?://|www\.)[^\s<>"'`\\]+)"#,
        r"|(?P<xref>[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}#[0-9]{1,10})",
        r"|(?P<gh>(?i:gh)-[0-9]{1,10})",
        r"|(?P<ref>#[0-9]{1,10})",
    ))
    .expect("static regex")
});

static GITHUB_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i:(?:https?://)?(?:www\.)?github\.com)/").expect("static regex")
});

static REPO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$").expect("static regex")
});

/// Markdown of release notes, safe to quote in a pull request body. `upstream`
/// (`owner/name`) is the repository the notes belong to: bare `#123`
/// references link there. The result is empty or ends with a newline.
pub fn sanitize_markdown(markdown: &str, upstream: Option<&str>) -> String {
    let mut w = Writer::new(upstream, false);
    w.run(markdown);
    let mut out = w.out;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// One line of markdown (a breaking-change item, a security note): the same
/// treatment as [`sanitize_markdown`], with block structure flattened to
/// spaces and code blocks turned into code spans.
pub fn sanitize_inline(markdown: &str, upstream: Option<&str>) -> String {
    let mut w = Writer::new(upstream, true);
    w.run(markdown);
    w.out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text (a release name, a fork name) made safe for both markdown and
/// HTML contexts (a `<summary>`, a table cell): one line, every character
/// markdown or HTML would interpret written as an entity, mentions and
/// references neutralised, GitHub URLs rewritten.
pub fn sanitize_text(text: &str) -> String {
    let text = clean(text, true);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in REFS.find_iter(&text) {
        if m.as_str().starts_with(|c: char| c.is_ascii_alphabetic()) && is_url(m.as_str()) {
            text_entities(&mut out, &text, last..m.start());
            let (url, _) = trim_url(m.as_str());
            out.push_str(&url_text(&rewrite_github(url)));
            last = m.start() + url.len();
        }
    }
    text_entities(&mut out, &text, last..text.len());
    out.trim().to_string()
}

/// Plain text (a PR title, a commit message): mentions and references
/// neutralised with a literal zero-width joiner, GitHub URLs rewritten,
/// control characters other than newlines and tabs removed.
pub fn neutralize_plain(text: &str) -> String {
    let text = clean(text, false);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in REFS.find_iter(&text) {
        if is_url(m.as_str()) {
            plain_range(&mut out, &text, last..m.start());
            let (url, _) = trim_url(m.as_str());
            out.push_str(&rewrite_github(url).replace('@', "%40"));
            last = m.start() + url.len();
        }
    }
    plain_range(&mut out, &text, last..text.len());
    out
}

/// An inline code span of `text`, whatever it contains (empty for empty
/// text). With `table`, `|` is escaped for use inside a table cell.
pub fn code_span(text: &str, table: bool) -> String {
    let mut s: String = clean(text, true);
    if s.is_empty() {
        return String::new();
    }
    s = break_comments(&s);
    if table {
        s = s.replace('|', "\\|");
    }
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = s.starts_with('`')
        || s.ends_with('`')
        || (s.starts_with(' ') && s.ends_with(' ') && s.chars().any(|c| c != ' '));
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Strips HTML: tags dropped, text kept with entities decoded, the content of
/// `<script>`/`<style>`/`<template>`/`<noscript>` and comments dropped (an
/// unclosed one runs to the end). Block-level tags become newlines.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('&') {
            let (text, used) = decode_entity(rest);
            out.push_str(&text);
            rest = &rest[used..];
            continue;
        }
        match parse_tag(rest) {
            Markup::Comment(used) | Markup::Other(used) => rest = &rest[used..],
            Markup::Tag {
                name,
                closing,
                used,
            } => {
                rest = &rest[used..];
                if !closing && DROP_CONTENT.contains(&name.as_str()) {
                    rest = skip_element(rest, &name);
                } else if BLOCK_TAGS.contains(&name.as_str()) {
                    out.push('\n');
                } else if CELL_TAGS.contains(&name.as_str()) {
                    out.push(' ');
                }
            }
            Markup::Text => {
                out.push('<');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What starts at a `<`.
enum Markup {
    /// A comment, closed or not (bytes used).
    Comment(usize),
    /// A start or end tag (lower-case name).
    Tag {
        name: String,
        closing: bool,
        used: usize,
    },
    /// A declaration, processing instruction or CDATA section (bytes used).
    Other(usize),
    /// A `<` that starts nothing: text.
    Text,
}

fn parse_tag(s: &str) -> Markup {
    debug_assert!(s.starts_with('<'));
    if s.starts_with("<!--") {
        // `<!-->` and `<!--->` are (empty) comments too.
        return Markup::Comment(s[2..].find("-->").map_or(s.len(), |i| i + 2 + 3));
    }
    if s.starts_with("<![CDATA[") {
        return Markup::Other(s.find("]]>").map_or(s.len(), |i| i + 3));
    }
    if s.starts_with("<!") || s.starts_with("<?") {
        return Markup::Other(s.find('>').map_or(s.len(), |i| i + 1));
    }
    let (closing, after) = match s.strip_prefix("</") {
        Some(r) => (true, r),
        None => (false, &s[1..]),
    };
    let name_len = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
        .unwrap_or(after.len());
    if name_len == 0 || !after.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Markup::Text;
    }
    let name = after[..name_len].to_ascii_lowercase();
    // Find the closing `>` outside quoted attribute values; an unclosed tag
    // runs to the end.
    let start = s.len() - after.len() + name_len;
    let mut quote: Option<char> = None;
    let mut used = s.len();
    for (i, c) in s[start..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => {
                used = start + i + 1;
                break;
            }
            _ => {}
        }
    }
    Markup::Tag {
        name,
        closing,
        used,
    }
}

/// The rest of `s` after the end tag of `name` (or nothing if unclosed).
fn skip_element<'s>(s: &'s str, name: &str) -> &'s str {
    let lower = s.to_ascii_lowercase();
    let needle = format!("</{name}");
    match lower.find(&needle) {
        Some(i) => {
            let after = &s[i..];
            match after.find('>') {
                Some(j) => &after[j + 1..],
                None => "",
            }
        }
        None => "",
    }
}

/// Decodes the entity at the start of `s` (which starts with `&`): the text
/// and the bytes used. Unknown or malformed entities are a literal `&`.
fn decode_entity(s: &str) -> (String, usize) {
    let body_end = s[1..].find(';').map(|i| i + 1).filter(|&i| i <= 33);
    let Some(end) = body_end else {
        return ("&".into(), 1);
    };
    let body = &s[1..end];
    let code = if let Some(hex) = body.strip_prefix("#x").or_else(|| body.strip_prefix("#X")) {
        u32::from_str_radix(hex, 16).ok()
    } else if let Some(dec) = body.strip_prefix('#') {
        dec.parse::<u32>().ok()
    } else {
        named_entity(body).map(u32::from)
    };
    match code {
        Some(c) if !body.is_empty() => {
            let ch = match char::from_u32(c) {
                Some('\0') | None => '\u{fffd}',
                Some(ch) => ch,
            };
            (ch.to_string(), end + 1)
        }
        _ => ("&".into(), 1),
    }
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "middot" => '·',
        "bull" => '•',
        "times" => '×',
        "deg" => '°',
        "larr" => '←',
        "rarr" => '→',
        "uarr" => '↑',
        "darr" => '↓',
        "check" => '✓',
        "zwj" => '\u{200d}',
        "zwnj" => '\u{200c}',
        "shy" => '\u{ad}',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        _ => return None,
    })
}

/// Removes control characters (newlines become spaces when `one_line`, else
/// kept), bidirectional overrides and isolates.
fn clean(s: &str, one_line: bool) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' | '\r' if one_line => Some(' '),
            '\r' => None,
            '\n' | '\t' => Some(c),
            c if c.is_control() || is_bidi_control(c) => None,
            c => Some(c),
        })
        .collect()
}

/// Runs of spaces and tabs as one space.
fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c == ' ' || c == '\t' {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `<!--` with a joiner after the `<`, so no comment can open.
fn break_comments(s: &str) -> String {
    s.replace("<!--", "<\u{200d}!--")
}

fn longest_run(s: &str, ch: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == ch {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

fn is_url(s: &str) -> bool {
    let l = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://") || l.starts_with("www.")
}

/// GFM's autolink end: trailing punctuation and unbalanced `)` are not part
/// of the URL. Returns the URL and whether anything is left of it.
fn trim_url(s: &str) -> (&str, bool) {
    let mut end = s.len();
    loop {
        let t = &s[..end];
        let Some(last) = t.chars().next_back() else {
            break;
        };
        if matches!(
            last,
            '?' | '!' | '.' | ',' | ':' | '*' | '_' | '~' | ';' | ']'
        ) {
            end -= last.len_utf8();
        } else if last == ')' && t.matches('(').count() < t.matches(')').count() {
            end -= 1;
        } else {
            break;
        }
    }
    let url = &s[..end];
    let scheme_len = if url.to_ascii_lowercase().starts_with("www.") {
        4
    } else {
        url.find("://").map_or(0, |i| i + 3)
    };
    (url, url.len() > scheme_len)
}

/// `github.com` URLs through `redirect.github.com`; `www.` URLs get a scheme.
fn rewrite_github(url: &str) -> String {
    if let Some(m) = GITHUB_HOST.find(url) {
        return format!("https://redirect.github.com/{}", &url[m.end()..]);
    }
    if url.to_ascii_lowercase().starts_with("www.") {
        return format!("https://{url}");
    }
    url.to_string()
}

/// A URL shown as text in HTML or markdown: no `@`, no markup characters.
fn url_text(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '@' => out.push_str("%40"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("&#124;"),
            '*' => out.push_str("&#42;"),
            '_' => out.push_str("&#95;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '~' => out.push_str("&#126;"),
            '$' => out.push_str("&#36;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A link destination that is safe in `[text](dest)`: http(s), mailto and
/// anchors kept (GitHub hosts rewritten), anything else (`javascript:`,
/// relative paths that would resolve against the pull request) refused.
fn link_target(dest: &str) -> Option<String> {
    let dest = dest.trim();
    let lower = dest.to_ascii_lowercase();
    let ok = lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:");
    if !ok && !dest.starts_with('#') {
        return None;
    }
    let dest = if lower.starts_with("mailto:") {
        dest.to_string()
    } else {
        rewrite_github(dest).replace('@', "%40")
    };
    let mut out = String::with_capacity(dest.len());
    for c in dest.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '"' => out.push_str("%22"),
            '\'' => out.push_str("%27"),
            '\\' => out.push_str("%5C"),
            '`' => out.push_str("%60"),
            c if c.is_control() || c.is_whitespace() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    Some(out)
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Is the `@` at byte `i` of `s` the start of a mention for GitHub?
fn mention_at(s: &str, i: usize) -> bool {
    let prev = s[..i].chars().next_back();
    let next = s[i + 1..].chars().next();
    // At the end of a run of text the next character is unknown: it may
    // come from the next piece (an e-mail autolink's text), so a trailing
    // `@` counts as a mention's start.
    next.is_none_or(|c| c.is_ascii_alphanumeric()) && !is_word(prev)
}

/// Is the `-` at byte `i` of `s` the dash of a `GH-123` reference?
fn gh_dash_at(s: &str, i: usize) -> bool {
    let before = &s[..i];
    before.len() >= 2
        && before.is_char_boundary(before.len() - 2)
        && before[before.len() - 2..].eq_ignore_ascii_case("gh")
        && s[i + 1..].starts_with(|c: char| c.is_ascii_digit())
}

/// Writes `s[range]` as HTML/markdown-neutral text (see [`sanitize_text`]).
fn text_entities(out: &mut String, s: &str, range: Range<usize>) {
    for (off, c) in s[range.clone()].char_indices() {
        let i = range.start + off;
        let prev = s[..i].chars().next_back();
        let next = s[i + c.len_utf8()..].chars().next();
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("&#124;"),
            '\\' => out.push_str("&#92;"),
            '`' => out.push_str("&#96;"),
            '*' => out.push_str("&#42;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '~' => out.push_str("&#126;"),
            '$' => out.push_str("&#36;"),
            '_' if !(is_word(prev) && is_word(next)) => out.push_str("&#95;"),
            '#' => {
                out.push_str("&#35;");
                if next.is_some_and(|c| c.is_ascii_digit()) {
                    out.push_str(ZWJ_ENTITY);
                }
            }
            '@' if mention_at(s, i) => {
                out.push('@');
                out.push_str(ZWJ_ENTITY);
            }
            '-' if gh_dash_at(s, i) => {
                out.push('-');
                out.push_str(ZWJ_ENTITY);
            }
            '-' | '+' | '=' if out.is_empty() => {
                out.push_str(&format!("&#{};", u32::from(c)));
            }
            c => out.push(c),
        }
    }
}

/// Writes `s[range]` as plain text with mentions and references neutralised.
fn plain_range(out: &mut String, s: &str, range: Range<usize>) {
    for (off, c) in s[range.clone()].char_indices() {
        let i = range.start + off;
        out.push(c);
        let next = s[i + c.len_utf8()..].chars().next();
        let neutral = match c {
            '@' => mention_at(s, i),
            '#' => next.is_some_and(|c| c.is_ascii_digit()),
            '-' => gh_dash_at(s, i),
            _ => false,
        };
        if neutral {
            out.push(ZWJ);
        }
    }
}

/// A container the writer is inside of.
#[derive(Debug)]
enum Frame {
    Quote,
    List {
        next: Option<u64>,
        loose: bool,
        items: usize,
    },
    Item {
        indent: usize,
    },
    /// Nested too deep: no prefix, no marker.
    Flat,
}

/// An open link or image.
enum Link {
    /// `[` written; `](dest)` at the end.
    Inline(String),
    /// `![` written; `](dest)` at the end.
    Image(String),
    /// An autolink: its text is dropped, `<url>` written at the end.
    Auto(String),
    /// Text only (refused target, nested link, e-mail).
    Text,
}

/// Writes markdown from parser events.
struct Writer<'u> {
    out: String,
    upstream: Option<&'u str>,
    /// One line: blocks become spaces.
    inline: bool,
    frames: Vec<Frame>,
    /// The current output line has content (its prefix is written).
    line_open: bool,
    /// A container marker was just written: the next block goes on its line.
    fresh: bool,
    /// The next text starts a line (line-start escapes apply).
    line_start: bool,
    /// Text not yet written (merged across dropped inline HTML).
    text: String,
    links: Vec<Link>,
    code: Option<(String, String)>,
    html: Option<String>,
    /// Inside inline `<script>` (etc.): the element's name.
    skip: Option<String>,
    table: Option<Vec<Alignment>>,
    in_cell: bool,
    /// Leading whitespace of the next text is dropped (start of a cell).
    trim_next: bool,
    heading: bool,
}

impl<'u> Writer<'u> {
    fn new(upstream: Option<&'u str>, inline: bool) -> Self {
        Writer {
            out: String::new(),
            upstream: upstream.filter(|u| REPO.is_match(u)),
            inline,
            frames: Vec::new(),
            line_open: false,
            fresh: false,
            line_start: true,
            text: String::new(),
            links: Vec::new(),
            code: None,
            html: None,
            skip: None,
            table: None,
            in_cell: false,
            trim_next: false,
            heading: false,
        }
    }

    fn run(&mut self, markdown: &str) {
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_GFM;
        for event in Parser::new_ext(markdown, options) {
            self.event(event);
        }
        self.flush();
        if let Some((info, text)) = self.code.take() {
            self.code_block(&info, &text);
        }
        if let Some(html) = self.html.take() {
            self.html_block(&html);
        }
    }

    fn prefix(&self) -> String {
        let mut p = String::new();
        for f in &self.frames {
            match f {
                Frame::Quote => p.push_str("> "),
                Frame::Item { indent } => p.extend(std::iter::repeat_n(' ', *indent)),
                Frame::List { .. } | Frame::Flat => {}
            }
        }
        p
    }

    fn depth(&self) -> usize {
        self.frames
            .iter()
            .filter(|f| matches!(f, Frame::Quote | Frame::Item { .. }))
            .count()
    }

    /// Writes `s` on the current line (opening it with the prefix).
    fn raw(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        self.fresh = false;
        self.trim_next = false;
        if !self.line_open {
            let p = self.prefix();
            self.out.push_str(&p);
            self.line_open = true;
        }
        // Two code spans side by side would merge their backtick runs into
        // one and end the first span somewhere else: keep them apart.
        if s.starts_with('`') && self.out.ends_with('`') {
            self.out.push(' ');
        }
        self.out.push_str(s);
    }

    fn end_line(&mut self) {
        if self.line_open {
            self.out.push('\n');
            self.line_open = false;
        }
    }

    fn blank_line(&mut self) {
        self.end_line();
        let p = self.prefix();
        self.out.push_str(p.trim_end());
        self.out.push('\n');
    }

    /// Inside a tight list item (blocks separated by a newline only)?
    fn tight(&self) -> bool {
        for (i, f) in self.frames.iter().enumerate().rev() {
            match f {
                Frame::Quote => return false,
                Frame::Item { .. } => {
                    return matches!(
                        self.frames.get(i.wrapping_sub(1)),
                        Some(Frame::List { loose: false, .. })
                    );
                }
                _ => {}
            }
        }
        false
    }

    fn space(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with(' ') {
            self.out.push(' ');
        }
    }

    /// Separates a new block from what came before.
    fn block_start(&mut self) {
        self.flush();
        self.line_start = true;
        if self.inline {
            self.space();
            return;
        }
        if self.fresh {
            self.fresh = false;
            return;
        }
        if self.out.is_empty() {
            return;
        }
        if self.tight() {
            self.end_line();
        } else {
            self.blank_line();
        }
    }

    /// Outside a block (a paragraph, heading or cell), text still needs one.
    fn in_flow(&self) -> bool {
        self.inline || self.heading || self.in_cell
    }

    fn event(&mut self, event: Event<'_>) {
        if let Some((_, text)) = &mut self.code {
            match event {
                Event::Text(t) => text.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    if let Some((info, text)) = self.code.take() {
                        self.code_block(&info, &text);
                    }
                }
                _ => {}
            }
            return;
        }
        if let Some(html) = &mut self.html {
            match event {
                Event::Html(t) | Event::Text(t) => html.push_str(&t),
                Event::End(TagEnd::HtmlBlock) => {
                    if let Some(html) = self.html.take() {
                        self.html_block(&html);
                    }
                }
                _ => {}
            }
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if self.skip.is_none() && !matches!(self.links.last(), Some(Link::Auto(_))) {
                    self.text.push_str(&t);
                }
            }
            Event::Code(t) => {
                if self.skip.is_none() {
                    self.flush();
                    let span = code_span(&t, self.in_cell);
                    self.raw(&span);
                    self.line_start = false;
                }
            }
            Event::Html(t) | Event::InlineHtml(t) => self.inline_html(&t),
            Event::SoftBreak => {
                if self.in_flow() {
                    self.text.push(' ');
                } else {
                    self.flush();
                    self.end_line();
                    self.line_start = true;
                }
            }
            Event::HardBreak => self.hard_break(),
            Event::Rule => {
                self.block_start();
                if !self.inline {
                    self.raw("***");
                }
            }
            Event::TaskListMarker(done) => {
                self.flush();
                self.raw(if done { "[x] " } else { "[ ] " });
            }
            Event::FootnoteReference(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.text.push_str(&t);
            }
        }
    }

    fn hard_break(&mut self) {
        if self.in_flow() {
            self.text.push(' ');
            return;
        }
        self.flush();
        if self.line_open && !self.line_start {
            self.raw("\\");
            self.end_line();
            self.line_start = true;
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                if let Some(i) = self.frames.iter().rposition(|f| !matches!(f, Frame::Flat))
                    && matches!(self.frames[i], Frame::Item { .. })
                    && let Some(Frame::List { loose, .. }) = self.frames.get_mut(i.wrapping_sub(1))
                {
                    *loose = true;
                }
                self.block_start();
            }
            Tag::Heading { level, .. } => {
                self.block_start();
                if !self.inline {
                    let n = (level as usize + 3).min(6);
                    self.raw(&"#".repeat(n));
                    self.raw(" ");
                }
                self.heading = true;
            }
            Tag::BlockQuote(kind) => {
                // Too deep: the quote's blocks join the enclosing container.
                if self.inline || self.depth() >= MAX_DEPTH {
                    self.text.push(' ');
                    self.frames.push(Frame::Flat);
                    return;
                }
                self.block_start();
                self.raw("> ");
                self.frames.push(Frame::Quote);
                self.fresh = true;
                if let Some(kind) = kind {
                    self.raw(match kind {
                        BlockQuoteKind::Note => "[!NOTE]",
                        BlockQuoteKind::Tip => "[!TIP]",
                        BlockQuoteKind::Important => "[!IMPORTANT]",
                        BlockQuoteKind::Warning => "[!WARNING]",
                        BlockQuoteKind::Caution => "[!CAUTION]",
                    });
                    self.end_line();
                    self.fresh = true;
                }
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'))
                        .take(32)
                        .collect(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((info, String::new()));
            }
            Tag::HtmlBlock => {
                self.flush();
                self.html = Some(String::new());
            }
            Tag::List(first) => {
                if self.inline || self.depth() >= MAX_DEPTH {
                    self.text.push(' ');
                    self.frames.push(Frame::Flat);
                } else {
                    self.block_start();
                    self.frames.push(Frame::List {
                        next: first,
                        loose: false,
                        items: 0,
                    });
                }
            }
            Tag::Item => {
                self.flush();
                let Some(Frame::List { next, loose, items }) = self.frames.last_mut() else {
                    self.text.push(' ');
                    self.frames.push(Frame::Flat);
                    return;
                };
                let marker = match next {
                    Some(n) => {
                        let m = format!("{n}. ");
                        *n = n.saturating_add(1);
                        m
                    }
                    None => "- ".to_string(),
                };
                let (first, loose) = (*items == 0, *loose);
                *items += 1;
                // The first item is placed by the list's `block_start`.
                if !first {
                    if loose {
                        self.blank_line();
                    } else {
                        self.end_line();
                    }
                }
                self.raw(&marker);
                self.frames.push(Frame::Item {
                    indent: marker.len(),
                });
                self.fresh = true;
                self.line_start = true;
            }
            Tag::Table(aligns) => {
                self.block_start();
                self.table = Some(aligns);
            }
            Tag::TableHead | Tag::TableRow => {
                self.flush();
                if self.inline {
                    self.space();
                } else {
                    self.end_line();
                    self.raw("|");
                }
            }
            Tag::TableCell => {
                self.flush();
                if self.inline {
                    self.space();
                } else {
                    self.raw(" ");
                }
                self.in_cell = true;
                self.trim_next = true;
                self.line_start = false;
            }
            Tag::Emphasis => self.marker("*"),
            Tag::Strong => self.marker("**"),
            Tag::Strikethrough => self.marker("~~"),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                self.flush();
                let nested = !self.links.is_empty();
                let link = match link_type {
                    _ if nested => Link::Text,
                    LinkType::Autolink => match link_target(&dest_url) {
                        Some(url) if url.starts_with("http") => Link::Auto(url),
                        _ => Link::Text,
                    },
                    LinkType::Email | LinkType::WikiLink { .. } => Link::Text,
                    _ => match link_target(&dest_url) {
                        Some(url) => Link::Inline(url),
                        None => Link::Text,
                    },
                };
                if matches!(link, Link::Inline(_)) {
                    self.raw("[");
                }
                self.links.push(link);
            }
            Tag::Image { dest_url, .. } => {
                self.flush();
                let nested = self.links.iter().any(|l| matches!(l, Link::Image(_)));
                let link = match link_target(&dest_url) {
                    Some(url) if !nested && url.starts_with("http") => {
                        self.raw("![");
                        Link::Image(url)
                    }
                    _ => Link::Text,
                };
                self.links.push(link);
            }
            _ => self.flush(),
        }
    }

    fn end(&mut self, tag: TagEnd) {
        self.flush();
        match tag {
            TagEnd::Paragraph => {
                self.skip = None;
            }
            TagEnd::Heading(_) => {
                self.heading = false;
                self.skip = None;
            }
            TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item => {
                self.frames.pop();
                self.fresh = false;
                self.skip = None;
            }
            TagEnd::Table => {
                self.table = None;
                self.skip = None;
            }
            TagEnd::TableHead if !self.inline => {
                let aligns = self.table.clone().unwrap_or_default();
                self.end_line();
                self.raw("|");
                for a in aligns {
                    self.raw(match a {
                        Alignment::None => " --- |",
                        Alignment::Left => " :-- |",
                        Alignment::Center => " :-: |",
                        Alignment::Right => " --: |",
                    });
                }
            }
            TagEnd::TableCell => {
                self.in_cell = false;
                self.skip = None;
                if !self.inline {
                    while self.out.ends_with(' ') && !self.out.ends_with("| ") {
                        self.out.pop();
                    }
                    self.raw(" |");
                }
            }
            TagEnd::Emphasis => self.marker("*"),
            TagEnd::Strong => self.marker("**"),
            TagEnd::Strikethrough => self.marker("~~"),
            TagEnd::Link | TagEnd::Image => match self.links.pop() {
                Some(Link::Inline(url) | Link::Image(url)) => {
                    self.raw("](");
                    self.raw(&url);
                    self.raw(")");
                }
                Some(Link::Auto(url)) => {
                    if self.links.is_empty() {
                        self.raw(&format!("<{url}>"));
                    } else {
                        let t = url_text(&url);
                        self.raw(&t);
                    }
                }
                Some(Link::Text) | None => {}
            },
            _ => {}
        }
    }

    fn marker(&mut self, m: &str) {
        self.flush();
        self.raw(m);
        self.line_start = false;
    }

    fn inline_html(&mut self, html: &str) {
        match parse_tag(html.trim_start()) {
            Markup::Tag { name, closing, .. } => {
                if closing {
                    if self.skip.as_deref() == Some(name.as_str()) {
                        self.skip = None;
                    }
                } else if DROP_CONTENT.contains(&name.as_str()) {
                    self.skip = Some(name);
                } else if name == "br" && self.skip.is_none() {
                    self.hard_break();
                } else if BLOCK_TAGS.contains(&name.as_str()) || CELL_TAGS.contains(&name.as_str())
                {
                    self.text.push(' ');
                }
            }
            Markup::Text if self.skip.is_none() => {
                // Not a tag after all: keep it as text (escaped on output).
                self.text.push_str(html);
            }
            _ => {}
        }
    }

    fn html_block(&mut self, html: &str) {
        let text = strip_html(html);
        for line in text.lines() {
            let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if line.is_empty() {
                continue;
            }
            self.block_start();
            self.text.push_str(&line);
            self.flush();
        }
    }

    fn code_block(&mut self, info: &str, text: &str) {
        let text = break_comments(&clean(text, false));
        if self.inline {
            let span = code_span(text.trim(), false);
            self.space();
            self.raw(&span);
            return;
        }
        self.block_start();
        let fence = "`".repeat(longest_run(&text, '`').max(2) + 1);
        self.raw(&fence);
        self.raw(info);
        self.end_line();
        for line in text.lines() {
            if line.trim().is_empty() {
                self.blank_line();
            } else {
                self.raw(line);
                self.end_line();
            }
        }
        self.raw(&fence);
    }

    /// Writes the pending text: escaped, references linked, mentions
    /// neutralised.
    fn flush(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        // Runs of spaces collapse (as they render), so no run of two before
        // a line end can become a hard break.
        let mut text = collapse_spaces(&clean(&text, true));
        if self.line_start || self.trim_next {
            text = text.trim_start().to_string();
            if text.is_empty() {
                return;
            }
        }
        let mut out = String::with_capacity(text.len() + 16);
        let linkify = self.links.is_empty();
        let mut last = 0;
        for caps in REFS.captures_iter(&text) {
            let Some(m) = caps.get(0) else { continue };
            let piece = if caps.name("url").is_some() {
                let (url, keep) = trim_url(m.as_str());
                keep.then(|| {
                    let url = rewrite_github(url).replace('@', "%40");
                    let end = m.start() + trim_url(m.as_str()).0.len();
                    let s = if linkify {
                        format!("<{url}>")
                    } else {
                        url_text(&url)
                    };
                    (s, end)
                })
            } else {
                self.reference(&caps, &text, linkify).map(|s| (s, m.end()))
            };
            if let Some((s, end)) = piece {
                self.escape(&mut out, &text, last..m.start());
                out.push_str(&s);
                self.line_start = false;
                last = end;
            }
        }
        self.escape(&mut out, &text, last..text.len());
        self.raw(&out);
        self.line_start = false;
    }

    /// A `#123`, `GH-123` or `owner/repo#123` reference as a redirect link,
    /// or `None` to leave it to [`Writer::escape`].
    fn reference(&self, caps: &regex::Captures<'_>, text: &str, linkify: bool) -> Option<String> {
        let m = caps.get(0)?;
        let prev = text[..m.start()].chars().next_back();
        let next = text[m.end()..].chars().next();
        if !linkify || is_word(prev) || is_word(next) || prev == Some('/') {
            return None;
        }
        let s = m.as_str();
        let (repo, sep, number) = if caps.name("xref").is_some() {
            let (repo, n) = s.split_once('#')?;
            (repo.to_string(), '#', n)
        } else {
            let upstream = self.upstream?;
            let (sep, n) = if caps.name("gh").is_some() {
                ('-', &s[3..])
            } else {
                ('#', &s[1..])
            };
            (upstream.to_string(), sep, n)
        };
        let label_end = s.rfind(sep)?;
        let mut label = String::new();
        let mut scratch = Writer::new(None, true);
        scratch.heading = self.heading;
        scratch.line_start = false;
        scratch.escape(&mut label, &s[..label_end], 0..label_end);
        label.push(sep);
        label.push_str(ZWJ_ENTITY);
        label.push_str(number);
        Some(format!(
            "[{label}](https://redirect.github.com/{repo}/issues/{number})"
        ))
    }

    /// Escapes `s[range]` so that it renders as the text it is.
    fn escape(&mut self, out: &mut String, s: &str, range: Range<usize>) {
        let mut digits = false;
        for (off, c) in s[range.clone()].char_indices() {
            let i = range.start + off;
            let prev = s[..i].chars().next_back();
            let next = s[i + c.len_utf8()..].chars().next();
            let mut at_start = false;
            if self.line_start {
                if c.is_whitespace() {
                    continue;
                }
                self.line_start = false;
                at_start = true;
                match c {
                    '-' | '+' | '=' => {
                        out.push('\\');
                        out.push(c);
                        continue;
                    }
                    c if c.is_ascii_digit() => digits = true,
                    _ => {}
                }
            } else if digits {
                if c.is_ascii_digit() {
                    out.push(c);
                    continue;
                }
                digits = false;
                if matches!(c, '.' | ')') {
                    out.push('\\');
                    out.push(c);
                    continue;
                }
            }
            match c {
                '\\' | '`' | '*' | '[' | ']' | '|' | '~' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                '_' if !(is_word(prev) && is_word(next)) => out.push_str("\\_"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '#' => {
                    if self.heading || at_start {
                        out.push('\\');
                    }
                    out.push('#');
                    if next.is_some_and(|c| c.is_ascii_digit()) {
                        out.push_str(ZWJ_ENTITY);
                    }
                }
                '@' if mention_at(s, i) => {
                    out.push('@');
                    out.push_str(ZWJ_ENTITY);
                }
                '-' if gh_dash_at(s, i) => {
                    out.push('-');
                    out.push_str(ZWJ_ENTITY);
                }
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(s: &str) -> String {
        sanitize_markdown(s, Some("sigp/lighthouse"))
    }

    #[test]
    fn mentions_are_neutralised_and_emails_kept() {
        let out = md("Thanks @alice, @bob-b and @org/team! Mail ops@example.com or a.b+c@x.io");
        assert!(out.contains("@&zwj;alice"), "{out}");
        assert!(out.contains("@&zwj;bob-b"), "{out}");
        assert!(out.contains("@&zwj;org/team"), "{out}");
        assert!(out.contains("ops@example.com"), "{out}");
        assert!(out.contains("a.b+c@x.io"), "{out}");
    }

    #[test]
    fn mentions_split_by_markup_or_entities_are_caught() {
        for s in [
            "&#64;alice",
            "@<!-- -->alice",
            "@<b></b>alice",
            "&commat;alice",
            "**x**@alice",
        ] {
            let out = md(s);
            assert!(!has_mention(&out), "{s:?} -> {out:?}");
        }
    }

    fn has_mention(s: &str) -> bool {
        s.char_indices().any(|(i, c)| c == '@' && mention_at(s, i))
    }

    #[test]
    fn references_link_upstream_through_the_redirector() {
        let out = md("Fixed (#8413, #8417) and ethereum/go-ethereum#31752, see GH-12.");
        assert!(
            out.contains("[#&zwj;8413](https://redirect.github.com/sigp/lighthouse/issues/8413)"),
            "{out}"
        );
        assert!(
            out.contains("[ethereum/go-ethereum#&zwj;31752](https://redirect.github.com/ethereum/go-ethereum/issues/31752)"),
            "{out}"
        );
        assert!(
            out.contains("[GH-&zwj;12](https://redirect.github.com/sigp/lighthouse/issues/12)"),
            "{out}"
        );
        // Without an upstream: neutralised only.
        let out = sanitize_markdown("see #12", None);
        assert_eq!(out, "see #&zwj;12\n");
        // Not a reference for GitHub, still neutralised.
        let out = md("C#1 and abc#2");
        assert!(
            out.contains("C#&zwj;1") && out.contains("abc#&zwj;2"),
            "{out}"
        );
    }

    #[test]
    fn github_urls_go_through_the_redirector() {
        let out = md(
            "See https://github.com/sigp/lighthouse/pull/1234. And [here](https://github.com/o/r/issues/1).",
        );
        assert!(
            out.contains("<https://redirect.github.com/sigp/lighthouse/pull/1234>."),
            "{out}"
        );
        assert!(
            out.contains("[here](https://redirect.github.com/o/r/issues/1)"),
            "{out}"
        );
        let out = md("<https://www.github.com/o/r/issues/2> and www.github.com/o/r/pull/3");
        assert!(
            out.contains("<https://redirect.github.com/o/r/issues/2>"),
            "{out}"
        );
        assert!(
            out.contains("<https://redirect.github.com/o/r/pull/3>"),
            "{out}"
        );
        let out = md("https://medium.com/@alice/post_x?a=1&b=2");
        assert_eq!(out, "<https://medium.com/%40alice/post_x?a=1&b=2>\n");
        let out = md("[x](javascript:alert(1)) [y](/relative)");
        assert_eq!(out, "x y\n");
    }

    #[test]
    fn html_is_stripped_and_script_dropped() {
        let out = md(
            "<p align=\"center\">Hello <b>world</b></p>\n\n<script>alert('@x')</script>\n\nafter",
        );
        assert_eq!(out, "Hello world\n\nafter\n");
        let out = md(
            "inline <span title=\"a>b\">kept</span> <style>p{}</style>text <script>x</script>end",
        );
        assert_eq!(out, "inline kept text end\n");
        let out = md("a <img src=x onerror=alert(1)> b");
        assert_eq!(out, "a b\n");
        // Unclosed tags, comments and entities.
        assert_eq!(md("<div>open\n<p>para"), "open\n\npara\n");
        assert_eq!(md("x <!-- hidden --> y"), "x y\n");
        assert_eq!(md("<!-- never closed\n\nstill hidden"), "");
        assert_eq!(
            md("<div>&lt;script&gt; &amp; &#x40;bob</div>"),
            "&lt;script&gt; &amp; @&zwj;bob\n"
        );
        assert_eq!(md("a < b > c & d"), "a &lt; b &gt; c &amp; d\n");
    }

    #[test]
    fn no_comment_survives_anywhere() {
        let notes = "<!-- upkeep:fingerprint {\"v\":1} -->\n\n`<!-- x -->`\n\n```\n<!-- y -->\n```\n\n&lt;!-- z --&gt;\n\n<div><!--\n";
        let out = md(notes);
        assert!(!out.contains("<!--"), "{out}");
    }

    #[test]
    fn code_fences_cannot_be_escaped() {
        let out = md("```\ncode ```` more\n@alice #1\n</details>\n");
        assert_eq!(out, "`````\ncode ```` more\n@alice #1\n</details>\n`````\n");
        // An unclosed fence is closed.
        let out = md("text\n\n~~~rust\nfn x() {}");
        assert_eq!(out, "text\n\n```rust\nfn x() {}\n```\n");
        // Indented code becomes fenced.
        assert_eq!(md("    indented @x"), "```\nindented @x\n```\n");
        // Inline code keeps its content.
        assert_eq!(md("run `` a`b `` now"), "run ``a`b`` now\n");
        assert_eq!(code_span("`x`", false), "`` `x` ``");
        assert_eq!(code_span("a|b", true), "`a\\|b`");
    }

    #[test]
    fn headings_are_demoted() {
        assert_eq!(
            md("# One\n## Two\n### Three\n#### Four"),
            "#### One\n\n##### Two\n\n###### Three\n\n###### Four\n"
        );
        assert_eq!(md("Setext\n======"), "#### Setext\n");
        assert_eq!(
            md("# C# #1 ends #"),
            "#### C\\# [#&zwj;1](https://redirect.github.com/sigp/lighthouse/issues/1) ends\n"
        );
    }

    #[test]
    fn text_renders_literally() {
        assert_eq!(
            md("\\*not* _a_ [b](c) | $x$ ~y~ a~b"),
            "\\*not\\* *a* b \\| \\$x\\$ ~~y~~ a\\~b\n"
        );
        assert_eq!(md("snake_case stays"), "snake_case stays\n");
        assert_eq!(
            md("1\\. not a list\n\n\\- nor this"),
            "1\\. not a list\n\n\\- nor this\n"
        );
        assert_eq!(md("a\u{202e}b\u{0007}c"), "abc\n");
    }

    #[test]
    fn structure_is_kept() {
        let src = "Intro\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n> quote\n> more\n\n> [!NOTE]\n> alert\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\n---\n\n* [x] done";
        let out = md(src);
        assert_eq!(
            out,
            "Intro\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n> quote\n> more\n\n> [!NOTE]\n> alert\n\n| a | b |\n| :-- | --: |\n| 1 | 2 |\n\n***\n\n- [x] done\n"
        );
        let loose = md("- a\n\n  para\n- b\n\n```\nc\n```");
        assert_eq!(loose, "- a\n\n  para\n\n- b\n\n```\nc\n```\n");
        // A fenced block inside a quote keeps its prefix on every line.
        assert_eq!(
            md("> ```\n> x\n>\n> y\n> ```"),
            "> ```\n> x\n>\n> y\n> ```\n"
        );
    }

    #[test]
    fn hostile_nesting_is_bounded() {
        let deep = ">".repeat(5000)
            + " x\n"
            + &"- ".repeat(3000)
            + "y\n"
            + &"[".repeat(3000)
            + &"*".repeat(3000);
        let out = md(&deep);
        assert!(out.len() < 40_000, "{}", out.len());
        let out = md(&"<div>".repeat(10_000));
        assert_eq!(out, "");
        let out = md(&"<a href='".repeat(1000));
        assert!(!out.contains('<'));
    }

    #[test]
    fn inline_and_text_forms() {
        assert_eq!(
            sanitize_inline(
                "`--http-allow-sync-stalled` flag removed by @bob (#12)\n\n```\nx\n```",
                Some("sigp/lighthouse")
            ),
            "`--http-allow-sync-stalled` flag removed by @&zwj;bob ([#&zwj;12](https://redirect.github.com/sigp/lighthouse/issues/12)) `x`"
        );
        assert_eq!(
            sanitize_text("v7 <b>\"Electra\"</b> @bob #5 a_b *c* https://github.com/o/r/pull/1"),
            "v7 &lt;b&gt;&quot;Electra&quot;&lt;/b&gt; @&zwj;bob &#35;&zwj;5 a_b &#42;c&#42; https://redirect.github.com/o/r/pull/1"
        );
        assert_eq!(
            neutralize_plain("Bump @x to v1#2 GH-3 a@b.c"),
            "Bump @\u{200d}x to v1#\u{200d}2 GH-\u{200d}3 a@b.c"
        );
    }

    #[test]
    fn entities_decode() {
        assert_eq!(
            strip_html("&#64;&#x40;&amp;&bogus;&#0;&#xD800;&"),
            "@@&&bogus;\u{fffd}\u{fffd}&"
        );
    }
}
