//! The Slack Block Kit subset upkeep sends (header, section, context,
//! divider), Slack's limits, and the text helpers that keep every message
//! within them: escaping for `mrkdwn`, cutting without breaking an entity
//! or a link, and packing lines into as few section blocks as fit.
//!
//! Pure: no network, no templates, no clock.

use serde::Serialize;

/// Slack refuses a message with more blocks than this.
pub const MAX_BLOCKS: usize = 50;
/// The longest text of a section block (and of any text object here).
pub const MAX_TEXT: usize = 3000;
/// The longest text of a header block.
pub const MAX_HEADER: usize = 150;
/// Context blocks take at most this many elements.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// Slack truncates messages past this many characters; upkeep keeps the
/// sum of a message's texts below it.
pub const MAX_MESSAGE_TEXT: usize = 40_000;
/// The longest single line (one upgrade) before it is cut.
pub const MAX_LINE: usize = 1000;

/// What an incoming webhook receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Payload {
    /// The notification text (shown where blocks cannot be).
    pub text: String,
    pub blocks: Vec<Block>,
    /// Never expand the pull request links into previews.
    pub unfurl_links: bool,
    pub unfurl_media: bool,
}

/// A layout block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header { text: Text },
    Section { text: Text },
    Context { elements: Vec<Text> },
    Divider,
}

/// A text object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Text {
    PlainText { text: String, emoji: bool },
    Mrkdwn { text: String },
}

impl Text {
    pub fn as_str(&self) -> &str {
        match self {
            Text::PlainText { text, .. } | Text::Mrkdwn { text } => text,
        }
    }
}

impl Block {
    /// A header: plain text, one line, cut at [`MAX_HEADER`].
    pub fn header(text: &str) -> Block {
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Block::Header {
            text: Text::PlainText {
                text: cut_plain(&one_line, MAX_HEADER),
                emoji: true,
            },
        }
    }

    /// A section of `mrkdwn`, cut at [`MAX_TEXT`].
    pub fn section(mrkdwn: &str) -> Block {
        Block::Section {
            text: Text::Mrkdwn {
                text: cut(mrkdwn, MAX_TEXT),
            },
        }
    }

    /// A context line of `mrkdwn`, cut at [`MAX_TEXT`].
    pub fn context(mrkdwn: &str) -> Block {
        Block::Context {
            elements: vec![Text::Mrkdwn {
                text: cut(mrkdwn, MAX_TEXT),
            }],
        }
    }

    /// The texts of the block.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Block::Header { text } | Block::Section { text } => vec![text.as_str()],
            Block::Context { elements } => elements.iter().map(Text::as_str).collect(),
            Block::Divider => Vec::new(),
        }
    }
}

impl Payload {
    /// A message of `blocks`, with `fallback` (mrkdwn, escaped) as its
    /// notification text, one line.
    pub fn new(fallback: &str, blocks: Vec<Block>) -> Payload {
        let one_line = fallback.split_whitespace().collect::<Vec<_>>().join(" ");
        Payload {
            text: cut(&one_line, MAX_TEXT),
            blocks,
            unfurl_links: false,
            unfurl_media: false,
        }
    }

    /// The characters of all its texts.
    pub fn text_len(&self) -> usize {
        chars(&self.text)
            + self
                .blocks
                .iter()
                .flat_map(Block::texts)
                .map(chars)
                .sum::<usize>()
    }

    /// Where the payload breaks one of Slack's limits, if anywhere.
    pub fn check_limits(&self) -> Result<(), String> {
        if self.blocks.len() > MAX_BLOCKS {
            return Err(format!(
                "{} blocks (at most {MAX_BLOCKS})",
                self.blocks.len()
            ));
        }
        for (i, b) in self.blocks.iter().enumerate() {
            let limit = if matches!(b, Block::Header { .. }) {
                MAX_HEADER
            } else {
                MAX_TEXT
            };
            for t in b.texts() {
                if chars(t) > limit {
                    return Err(format!(
                        "block {i}: {} characters (at most {limit})",
                        chars(t)
                    ));
                }
            }
            if let Block::Context { elements } = b
                && elements.len() > MAX_CONTEXT_ELEMENTS
            {
                return Err(format!("block {i}: {} context elements", elements.len()));
            }
        }
        if self.text_len() > MAX_MESSAGE_TEXT {
            return Err(format!("{} characters in all", self.text_len()));
        }
        Ok(())
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Text made safe to put into `mrkdwn`: `&`, `<` and `>` escaped as Slack
/// asks (so nothing becomes a link or a mention such as `<!channel>`),
/// control characters dropped, whitespace collapsed to single spaces, and
/// backticks replaced (so a value cannot end the code span it is shown in).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '`' => out.push('\''),
                c if c.is_control() => {}
                c => out.push(c),
            }
        }
    }
    out
}

/// The text of a link `<url|label>`: the URL with `|`, `<`, `>` and spaces
/// percent-encoded and `&` escaped; `label` is escaped mrkdwn already.
pub fn link(url: &str, label: &str) -> String {
    format!("<{}|{label}>", link_url(url))
}

/// A URL made safe inside a link: `|`, `<`, `>` and spaces
/// percent-encoded, `&` escaped, control characters dropped.
pub fn link_url(url: &str) -> String {
    let mut u = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '|' => u.push_str("%7C"),
            '<' => u.push_str("%3C"),
            '>' => u.push_str("%3E"),
            ' ' => u.push_str("%20"),
            '&' => u.push_str("&amp;"),
            c if c.is_control() => {}
            c => u.push(c),
        }
    }
    u
}

/// `mrkdwn` cut to at most `max` characters, ending with `…` when cut, and
/// never inside an entity (`&amp;`) or a link (`<url|text>`).
pub fn cut(text: &str, max: usize) -> String {
    if chars(text) <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(1);
    let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    let mut head = &text[..end];
    if let Some(open) = head.rfind('<')
        && !head[open..].contains('>')
    {
        head = &head[..open];
    }
    if let Some(amp) = head.rfind('&')
        && !head[amp..].contains(';')
    {
        head = &head[..amp];
    }
    format!("{}…", head.trim_end())
}

/// Plain text cut to at most `max` characters, ending with `…` when cut.
pub fn cut_plain(text: &str, max: usize) -> String {
    if chars(text) <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", head.trim_end())
}

/// `mrkdwn` turned back into the plain text it shows (for headers, which
/// Slack does not parse).
pub fn unescape(mrkdwn: &str) -> String {
    mrkdwn
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Lines packed into texts of at most [`MAX_TEXT`] characters, in order,
/// each line cut at [`MAX_LINE`] first.
pub fn pack(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in lines {
        let line = cut(line, MAX_LINE);
        if !current.is_empty() && chars(&current) + 1 + chars(&line) > MAX_TEXT {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_links_mentions_and_code_spans() {
        assert_eq!(
            escape("a & <!channel> <https://x|y>\n`rm`\u{7}"),
            "a &amp; &lt;!channel&gt; &lt;https://x|y&gt; 'rm'"
        );
        assert_eq!(
            link("https://h/p?a=1&b=2|x", "PR #1"),
            "<https://h/p?a=1&amp;b=2%7Cx|PR #1>"
        );
        assert_eq!(unescape(&escape("a<b>&c")), "a<b>&c");
    }

    #[test]
    fn cutting_never_splits_an_entity_or_a_link() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("ab &amp; cd", 6), "ab…");
        assert_eq!(cut("ab <https://x/y|z> cd", 10), "ab…");
        assert_eq!(cut("ab <https://x|z> cd", 17), "ab <https://x|z>…");
        let long = "é".repeat(5000);
        assert_eq!(cut(&long, MAX_TEXT).chars().count(), MAX_TEXT);
        assert_eq!(cut_plain(&long, MAX_HEADER).chars().count(), MAX_HEADER);
    }

    #[test]
    fn packing_fills_texts_up_to_the_limit() {
        let lines: Vec<String> = (0..100)
            .map(|i| format!("{i:03}{}", "x".repeat(96)))
            .collect();
        let texts = pack(&lines);
        assert_eq!(texts.len(), 4);
        assert!(texts.iter().all(|t| t.chars().count() <= MAX_TEXT));
        assert_eq!(texts.join("\n"), lines.join("\n"));
        let huge = pack(&["y".repeat(10_000)]);
        assert_eq!(huge[0].chars().count(), MAX_LINE);
    }

    #[test]
    fn payloads_serialize_as_block_kit_and_limits_are_checked() {
        let p = Payload::new(
            "t",
            vec![
                Block::header("H"),
                Block::section("*s*"),
                Block::context("c"),
                Block::Divider,
            ],
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({
                "text": "t",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "H", "emoji": true}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*s*"}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}]},
                    {"type": "divider"}
                ],
                "unfurl_links": false,
                "unfurl_media": false
            })
        );
        assert!(p.check_limits().is_ok());
        let many = Payload::new("t", vec![Block::Divider; MAX_BLOCKS + 1]);
        assert!(many.check_limits().is_err());
    }
}
