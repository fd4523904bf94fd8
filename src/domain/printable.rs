//! Repository-supplied text made safe to print or write: file names,
//! paths, image names and tags come from the scanned tree and may hold
//! newlines (a file named `a\nCo-authored-by: x <x@y>` would forge a commit
//! trailer) or escape sequences (which a terminal would obey).
//!
//! [`printable`] writes every control character as a visible escape on
//! one line. It is applied where such text leaves upkeep as text: the
//! templates' view of a pull request (commit message, title, body), the
//! tables and messages of the CLI. JSON output is left exact (JSON escapes
//! control characters itself).
//!
//! Pure; no I/O.

use std::borrow::Cow;

/// True for the characters [`printable`] escapes: C0 and C1 controls, DEL,
/// the line and paragraph separators and the bidirectional overrides and
/// isolates (which reorder what a reader sees).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with each unsafe character (see [`is_unsafe`]) written as an
/// escape: `\n`, `\r`, `\t`, else `\u{1b}`. Borrowed when nothing needs
/// escaping.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Multi-line `text` (a diff, a report) made safe for a terminal: line
/// breaks, tabs and the `\r` of a CRLF line end are kept, every other
/// unsafe character is escaped as in [`printable`].
pub fn printable_text(text: &str) -> Cow<'_, str> {
    let bare_cr = |i: usize| text.as_bytes().get(i + 1) != Some(&b'\n');
    let needs = text
        .char_indices()
        .any(|(i, c)| is_unsafe(c) && c != '\n' && c != '\t' && (c != '\r' || bare_cr(i)));
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, c) in text.char_indices() {
        if c == '\n' || c == '\t' || (c == '\r' && !bare_cr(i)) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            out.push_str(&printable(c.encode_utf8(&mut buf)));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            printable("envs/mainnet/values.yaml"),
            Cow::Borrowed(_)
        ));
        assert_eq!(printable("héllo wörld/ü.yaml"), "héllo wörld/ü.yaml");
    }

    #[test]
    fn controls_become_visible_escapes_on_one_line() {
        assert_eq!(
            printable("a\nCo-authored-by: x <x@y>"),
            "a\\nCo-authored-by: x <x@y>"
        );
        assert_eq!(printable("\x1b[31mred\x07"), "\\u{1b}[31mred\\u{7}");
        assert_eq!(printable("a\tb\rc\u{7f}\u{85}"), "a\\tb\\rc\\u{7f}\\u{85}");
        assert_eq!(printable("x\u{202E}y\u{2028}"), "x\\u{202e}y\\u{2028}");
    }

    #[test]
    fn text_keeps_its_lines() {
        assert_eq!(printable_text("a\tb\r\nc\n"), "a\tb\r\nc\n");
        assert_eq!(printable_text("a\x1b[2Jb\rc\n"), "a\\u{1b}[2Jb\\rc\n");
    }

    proptest::proptest! {
        #[test]
        fn output_has_no_unsafe_character(s in "\\PC*|[\\x00-\\x1f\\x7f-\\x9f\u{2028}\u{202e}a-z]*") {
            let out = printable(&s);
            proptest::prop_assert!(!out.chars().any(is_unsafe));
            proptest::prop_assert!(!out.contains('\n'));
        }
    }
}
