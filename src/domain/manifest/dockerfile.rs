//! Dockerfiles: finds the base image of every `FROM` instruction, and the
//! images that `COPY --from=` / `ADD --from=` and `RUN --mount=...,from=`
//! read from (not when they name a build stage).
//!
//! Understands what decides which bytes hold a tag: case-insensitive
//! instructions, line continuations (with the `# escape=` parser directive),
//! comments, heredocs (skipped), `--platform=` flags, `AS name` stages (a
//! `FROM` naming an earlier stage, or `scratch`, is no reference), and `ARG`
//! defaults: when a `FROM` takes its tag (or image) from `${NAME}`, the
//! reference's span is the default in the `ARG` line, so a bump edits that.
//! ARGs declared before the first `FROM` take precedence (Docker's own scope
//! for `FROM`); an ARG declared between stages is used only when no global
//! one has a default.
//!
//! Pure: takes a [`Source`], returns references. No I/O, and it never touches
//! the other manifest kinds or the bump logic.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::Range;

use super::image;
use super::{Kind, Reference, Site, Skip, Source, Span};

/// References to base images in a Dockerfile, sorted by position.
pub(super) fn scan(src: &Source<'_>) -> Vec<Reference> {
    let (escape, lines) = instructions(src.body(), src.bom);
    let mut args = Args::default();
    let mut stages: HashSet<String> = HashSet::new();
    let mut refs = Vec::new();
    for line in &lines {
        let words = split_words(&line.text);
        let Some(keyword) = words.first().and_then(|w| line.text.get(w.clone())) else {
            continue;
        };
        if keyword.eq_ignore_ascii_case("arg") {
            let from = words.first().map_or(0, |w| w.end);
            for word in shell_words(line, from, escape) {
                args.declare(&word, escape);
            }
        } else if keyword.eq_ignore_ascii_case("from") {
            let mut rest = words.iter().skip(1).skip_while(|w| {
                line.text
                    .get((*w).clone())
                    .is_some_and(|t| t.starts_with("--"))
            });
            let Some(image_word) = rest.next() else {
                args.in_stage = true;
                continue;
            };
            refs.extend(from_reference(
                src,
                line,
                image_word.clone(),
                escape,
                &args,
                &stages,
            ));
            let as_kw = rest.next().and_then(|w| line.text.get(w.clone()));
            if as_kw.is_some_and(|k| k.eq_ignore_ascii_case("as"))
                && let Some(name) = rest.next().and_then(|w| line.text.get(w.clone()))
            {
                stages.insert(name.to_ascii_lowercase());
            }
            args.in_stage = true;
        } else if keyword.eq_ignore_ascii_case("copy") || keyword.eq_ignore_ascii_case("add") {
            // `COPY --from=image:tag src dst` (flags come first)
            for w in words.iter().skip(1) {
                let Some(flag) = line.text.get(w.clone()) else {
                    break;
                };
                if !flag.starts_with("--") {
                    break;
                }
                if flag.len() > 7 && flag[..7].eq_ignore_ascii_case("--from=") {
                    refs.extend(from_flag(
                        src,
                        line,
                        w.start + 7..w.end,
                        escape,
                        &args,
                        &stages,
                    ));
                }
            }
        } else if keyword.eq_ignore_ascii_case("run") {
            // `RUN --mount=type=cache,from=image:tag,target=/x cmd`
            for w in words.iter().skip(1) {
                let Some(flag) = line.text.get(w.clone()) else {
                    break;
                };
                if !flag.starts_with("--") {
                    break;
                }
                let Some(opts) = flag.strip_prefix("--mount=") else {
                    continue;
                };
                let mut at = w.start + "--mount=".len();
                for opt in opts.split(',') {
                    if let Some(value) = opt.strip_prefix("from=").filter(|v| !v.is_empty()) {
                        let start = at + "from=".len();
                        refs.extend(from_flag(
                            src,
                            line,
                            start..start + value.len(),
                            escape,
                            &args,
                            &stages,
                        ));
                    }
                    at += opt.len() + 1;
                }
            }
        }
    }
    refs.sort_by_key(|r| (r.line, r.column));
    refs
}

/// The image of a `--from=` flag (`COPY`, `RUN --mount`): none when it names
/// a build stage (by name or index).
fn from_flag(
    src: &Source<'_>,
    line: &Logical,
    word: Range<usize>,
    escape: char,
    args: &Args,
    stages: &HashSet<String>,
) -> Option<Reference> {
    let value = line.text.get(word.clone())?;
    if value.bytes().all(|b| b.is_ascii_digit()) || stages.contains(&value.to_ascii_lowercase()) {
        return None;
    }
    from_reference(src, line, word, escape, args, stages)
}

/// The reference for the image word of a `FROM` line.
fn from_reference(
    src: &Source<'_>,
    line: &Logical,
    word: Range<usize>,
    escape: char,
    args: &Args,
    stages: &HashSet<String>,
) -> Option<Reference> {
    let token = line.text.get(word.clone())?;
    let origin: Vec<Option<usize>> = line
        .origin
        .get(word.clone())?
        .iter()
        .copied()
        .map(Some)
        .collect();
    let pos = line.origin.get(word.start).copied()?;
    if image::is_templated(token) {
        // `FROM {{ .base }}` splits into words: report the whole rest of the line.
        let rest = line.text.get(word.start..).unwrap_or(token).trim();
        return Some(src.reference(
            Kind::Dockerfile,
            pos,
            rest,
            None,
            None,
            Some(Skip::Templated),
        ));
    }
    let resolved = match expand(token, &origin, escape, args) {
        Ok(r) => r,
        Err(skip) => {
            return Some(src.reference(Kind::Dockerfile, pos, token, None, None, Some(skip)));
        }
    };
    let lower = resolved.text.to_ascii_lowercase();
    if lower == "scratch" || stages.contains(&lower) {
        return None;
    }
    if !token.contains('$') && source_span(&origin, 0..origin.len()).is_some() {
        return src.image_string(Kind::Dockerfile, token, Some(pos), pos);
    }
    let parts = image::split(&resolved.text)?;
    let name = resolved.text.get(parts.name.clone())?;
    let tag = match parts.tag {
        None => None,
        Some(r) => Some((
            resolved.text.get(r.clone())?,
            source_span(&resolved.origin, r),
        )),
    };
    let digest = match parts.digest {
        None => None,
        Some(r) => Some((
            resolved.text.get(r.clone())?,
            source_span(&resolved.origin, r),
        )),
    };
    // A tag or digest that straddles a variable boundary cannot be bumped.
    let (tag, digest) = match (tag, digest) {
        (Some((_, None)), _) | (_, Some((_, None))) => {
            return Some(src.reference(
                Kind::Dockerfile,
                pos,
                token,
                None,
                None,
                Some(Skip::Variable),
            ));
        }
        (t, d) => (
            t.and_then(|(t, s)| Some((t, s?))),
            d.and_then(|(d, s)| Some((d, s?))),
        ),
    };
    let digest = digest.map(|(d, span)| {
        let inline = span.start > 0 && src.text.as_bytes().get(span.start - 1) == Some(&b'@');
        (d, span, inline)
    });
    Some(src.reference(
        Kind::Dockerfile,
        pos,
        name,
        tag.map(|(t, s)| (t, s, Site::Text)),
        digest,
        None,
    ))
}

/// The byte span of `r` in the file, if every byte of it comes, in order,
/// from one contiguous run of file bytes.
fn source_span(origin: &[Option<usize>], r: Range<usize>) -> Option<Span> {
    let slice = origin.get(r)?;
    let first = (*slice.first()?)?;
    let contiguous = slice.iter().enumerate().all(|(k, o)| *o == Some(first + k));
    contiguous.then(|| Span::new(first, first + slice.len()))
}

/// Text with the file offset each of its bytes came from (`None` for bytes
/// written nowhere we can edit).
#[derive(Clone, Debug, Default)]
struct Traced {
    text: String,
    origin: Vec<Option<usize>>,
}

impl Traced {
    fn push(&mut self, c: char, at: Option<usize>) {
        self.text.push(c);
        for k in 0..c.len_utf8() {
            self.origin.push(at.map(|a| a + k));
        }
    }

    fn append(&mut self, other: &Traced) {
        self.text.push_str(&other.text);
        self.origin.extend_from_slice(&other.origin);
    }
}

/// `ARG` defaults seen so far: `None` for an ARG declared without a usable
/// default.
#[derive(Default)]
struct Args {
    global: HashMap<String, Option<Traced>>,
    stage: HashMap<String, Option<Traced>>,
    in_stage: bool,
}

impl Args {
    fn get<'a>(&'a self, name: &str) -> Option<&'a Traced> {
        let known = |m: &'a HashMap<String, Option<Traced>>| m.get(name).and_then(Option::as_ref);
        known(&self.global).or_else(|| known(&self.stage))
    }

    /// Records one `NAME[=default]` word of an `ARG` instruction.
    fn declare(&mut self, word: &Traced, escape: char) {
        let (name, value) = match word.text.find('=') {
            Some(eq) => (word.text.get(..eq).unwrap_or(""), Some(eq + 1)),
            None => (word.text.as_str(), None),
        };
        let valid = name
            .as_bytes()
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        if !valid {
            return;
        }
        let default = value.and_then(|v| {
            let text = word.text.get(v..)?;
            let origin = word.origin.get(v..)?;
            expand(text, origin, escape, self).ok()
        });
        let scope = if self.in_stage {
            &mut self.stage
        } else {
            &mut self.global
        };
        match (scope.get_mut(name), default) {
            // A bare `ARG NAME` re-declaration keeps the known default.
            (Some(_), None) if value.is_none() => {}
            (Some(slot), d) => *slot = d,
            (None, d) => {
                scope.insert(name.to_string(), d);
            }
        }
    }
}

/// Resolves `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`,
/// `${NAME:+word}` and `${NAME+word}` against the known ARG defaults. An
/// escaped `$` is literal. A variable with no known value and no default
/// word (or any other operator) is a [`Skip::Variable`], and so is anything
/// nested or grown beyond what an image string could be (bounding work and
/// memory on hostile input).
fn expand(text: &str, origin: &[Option<usize>], escape: char, args: &Args) -> Result<Traced, Skip> {
    expand_nested(text, origin, escape, args, 0)
}

/// Nesting depth of `${A:-${B:-...}}` we follow.
const MAX_DEPTH: usize = 8;
/// Longest expansion we keep: image strings are far shorter.
const MAX_LEN: usize = 1024;

fn expand_nested(
    text: &str,
    origin: &[Option<usize>],
    escape: char,
    args: &Args,
    depth: usize,
) -> Result<Traced, Skip> {
    if depth > MAX_DEPTH || text.len() > MAX_LEN * 4 {
        return Err(Skip::Variable);
    }
    let at = |i: usize| origin.get(i).copied().flatten();
    let mut out = Traced::default();
    let mut i = 0;
    while let Some(c) = text.get(i..).and_then(|s| s.chars().next()) {
        let len = c.len_utf8();
        if c == escape && text.get(i + len..).is_some_and(|s| s.starts_with('$')) {
            out.push('$', at(i + len));
            i += len + 1;
            continue;
        }
        if c != '$' {
            out.push(c, at(i));
            i += len;
            continue;
        }
        let rest = text.get(i + 1..).unwrap_or("");
        if rest.starts_with('{') {
            let close = closing_brace(text, i + 1).ok_or(Skip::Variable)?;
            let inner = i + 2;
            let name_len = text
                .get(inner..close)
                .map_or(0, |s| s.bytes().take_while(|&b| is_var_byte(b)).count());
            if name_len == 0 {
                return Err(Skip::Variable);
            }
            let name = text.get(inner..inner + name_len).ok_or(Skip::Variable)?;
            let op_at = inner + name_len;
            let op = text.get(op_at..close).ok_or(Skip::Variable)?;
            let value = args.get(name);
            let word = |skip: usize| {
                let w = text.get(op_at + skip..close).ok_or(Skip::Variable)?;
                let o = origin.get(op_at + skip..close).ok_or(Skip::Variable)?;
                expand_nested(w, o, escape, args, depth + 1)
            };
            let set = value.filter(|v| !v.text.is_empty());
            if op.is_empty() {
                out.append(value.ok_or(Skip::Variable)?);
            } else if op.starts_with(":-") {
                match set {
                    Some(v) => out.append(v),
                    None => out.append(&word(2)?),
                }
            } else if op.starts_with('-') {
                match value {
                    Some(v) => out.append(v),
                    None => out.append(&word(1)?),
                }
            } else if op.starts_with(":+") {
                match value {
                    None => return Err(Skip::Variable),
                    Some(_) if set.is_some() => out.append(&word(2)?),
                    Some(_) => {}
                }
            } else if op.starts_with('+') {
                out.append(&word(1).and_then(|w| value.map(|_| w).ok_or(Skip::Variable))?);
            } else {
                return Err(Skip::Variable);
            }
            i = close + 1;
        } else if rest.bytes().next().is_some_and(is_var_byte) {
            let name_len = rest.bytes().take_while(|&b| is_var_byte(b)).count();
            let name = rest.get(..name_len).ok_or(Skip::Variable)?;
            out.append(args.get(name).ok_or(Skip::Variable)?);
            i += 1 + name_len;
        } else {
            out.push('$', at(i));
            i += 1;
        }
        if out.text.len() > MAX_LEN {
            return Err(Skip::Variable);
        }
    }
    Ok(out)
}

/// The index of the `}` closing the `{` at `open`, counting nested braces.
fn closing_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, b) in text.as_bytes().get(open..)?.iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + k);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_var_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// One instruction with its continuation lines joined, and the file offset
/// of each of its bytes.
struct Logical {
    text: String,
    origin: Vec<usize>,
}

/// The Dockerfile's escape character and its instructions (comments, blank
/// lines and heredoc bodies dropped, continuations joined).
fn instructions(body: &str, base: usize) -> (char, Vec<Logical>) {
    let mut lines = Vec::new();
    let mut offset = 0;
    for raw in body.split('\n') {
        lines.push((base + offset, raw.strip_suffix('\r').unwrap_or(raw)));
        offset += raw.len() + 1;
    }
    let mut escape = '\\';
    for (_, line) in &lines {
        let Some((key, value)) = directive(line) else {
            break;
        };
        if key.eq_ignore_ascii_case("escape") {
            match value {
                "`" => escape = '`',
                "\\" => escape = '\\',
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    let mut heredocs: VecDeque<(String, bool)> = VecDeque::new();
    for (start, line) in lines {
        if let Some((word, strip_tabs)) = heredocs.front() {
            let l = if *strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if l == word {
                heredocs.pop_front();
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue; // also inside a continuation, as Docker does
        }
        let logical = current.get_or_insert_with(|| Logical {
            text: String::new(),
            origin: Vec::new(),
        });
        let content = line.trim_end_matches([' ', '\t']);
        let (piece, continued) = match content.strip_suffix(escape) {
            Some(p) => (p, true),
            None => (line, false),
        };
        logical.text.push_str(piece);
        logical.origin.extend(start..start + piece.len());
        if !continued && let Some(done) = current.take() {
            heredocs = heredoc_words(&done.text);
            out.push(done);
        }
    }
    out.extend(current);
    (escape, out)
}

/// A parser directive line (`# key=value`), as Docker recognises it.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start_matches([' ', '\t']);
    let key_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if !rest.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let (key, rest) = rest.split_at_checked(key_len)?;
    let value = rest
        .trim_start_matches([' ', '\t'])
        .strip_prefix('=')?
        .trim_matches([' ', '\t']);
    (!value.is_empty()).then_some((key, value))
}

/// The heredoc delimiters (`<<EOF`, `<<-"EOF"`) opened by a `RUN`, `COPY` or
/// `ADD` instruction, with whether leading tabs are stripped.
fn heredoc_words(text: &str) -> VecDeque<(String, bool)> {
    let words = split_words(text);
    let keyword = words
        .first()
        .and_then(|w| text.get(w.clone()))
        .unwrap_or("");
    if !["run", "copy", "add"]
        .iter()
        .any(|k| keyword.eq_ignore_ascii_case(k))
    {
        return VecDeque::new();
    }
    let b = text.as_bytes();
    let mut found = VecDeque::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if !(b[i] == b'<' && b[i + 1] == b'<') {
            i += 1;
            continue;
        }
        let run = b[i..].iter().take_while(|&&c| c == b'<').count();
        i += run;
        if run != 2 || (i > run && b.get(i - run - 1) == Some(&b'<')) {
            continue;
        }
        let strip = b.get(i) == Some(&b'-');
        if strip {
            i += 1;
        }
        let quote = b.get(i).copied().filter(|c| matches!(c, b'"' | b'\''));
        if quote.is_some() {
            i += 1;
        }
        let len = b
            .get(i..)
            .map_or(0, |s| s.iter().take_while(|&&c| is_var_byte(c)).count());
        if len > 0 && (quote.is_none() || b.get(i + len).copied() == quote) {
            found.extend(text.get(i..i + len).map(|w| (w.to_string(), strip)));
        }
        i += len;
    }
    found
}

/// Whitespace-separated words of a logical line, as byte ranges.
fn split_words(text: &str) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, b) in text.bytes().enumerate() {
        let space = matches!(b, b' ' | b'\t' | b'\r' | b'\x0c' | b'\x0b');
        match (space, start) {
            (true, Some(s)) => {
                words.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push(s..text.len());
    }
    words
}

/// Shell-style words of the line from byte `from`: quotes removed (their
/// contents keep their origins), the escape character escaping the next
/// character. A `$` that must stay literal (escaped or single-quoted) is kept
/// as escape + `$` so [`expand`] does not resolve it.
fn shell_words(line: &Logical, from: usize, escape: char) -> Vec<Traced> {
    let mut words = Vec::new();
    let mut current: Option<Traced> = None;
    let mut quote: Option<char> = None;
    let Some(text) = line.text.get(from..) else {
        return words;
    };
    let at = |i: usize| line.origin.get(from + i).copied();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if quote.is_none() && matches!(c, ' ' | '\t') {
            words.extend(current.take());
            continue;
        }
        let word = current.get_or_insert_with(Traced::default);
        match quote {
            None if c == '"' || c == '\'' => quote = Some(c),
            Some(q) if c == q => quote = None,
            Some('\'') if c == '$' => {
                word.push(escape, None);
                word.push('$', at(i));
            }
            Some('\'') => word.push(c, at(i)),
            _ if c == escape => {
                let escapable = |d: char| quote.is_none() || matches!(d, '"' | '$') || d == escape;
                match chars.next_if(|&(_, d)| escapable(d)) {
                    Some((j, '$')) => {
                        word.push(escape, None);
                        word.push('$', at(j));
                    }
                    Some((j, d)) => word.push(d, at(j)),
                    None => word.push(c, at(i)),
                }
            }
            _ => word.push(c, at(i)),
        }
    }
    words.extend(current);
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::manifest::test_support::{self, Row, row};
    use proptest::prelude::*;

    const SHAPE: &str = "\u{feff}?(# escape=[`\\\\]\r?\n)?(((from|FROM|ARG|RUN) [-a-z0-9:./@${}=_\"' <`\\\\]{0,30}|  [A-Za-z${}:.]{0,10}|#[^\n]{0,5}|[^\n]{0,8})\r?\n){0,10}";

    fn scan_text(text: &str) -> Vec<Reference> {
        scan(&Source::new("Dockerfile", text))
    }

    fn summary(text: &str) -> Vec<Row> {
        test_support::summary(text, Kind::Dockerfile, scan_text(text))
    }

    #[test]
    fn multi_stage_with_stage_names_platform_and_scratch() {
        let digest = format!("sha256:{}", "c0".repeat(32));
        let text = format!(
            "# syntax=docker/dockerfile:1\n\
             FROM --platform=$BUILDPLATFORM golang:1.23-alpine AS Build\n\
             RUN go build -o /out ./...\n\
             FROM build AS test\n\
             from BUILD\n\
             FROM gcr.io/distroless/static-debian12:nonroot@{digest} as final\n\
             COPY --from=build /out /app\n\
             FROM scratch\n\
             FROM test\n"
        );
        assert_eq!(
            summary(&text),
            vec![
                row("golang", "1.23-alpine", 2, 39),
                row("gcr.io/distroless/static-debian12", "nonroot", 6, 40),
            ]
        );
        let r = &scan_text(&text)[1];
        let d = r.digest_span.unwrap();
        assert_eq!(&text[d.start..d.end], digest);
        assert!(r.digest_inline);
        assert_eq!(r.skip, None);
    }

    #[test]
    fn arg_defaults_feed_from_lines() {
        let text = "\
ARG GETH_VERSION=v1.14.12
ARG IMG=nginx BASE=\"alpine:3.20\"
FROM ethereum/client-go:${GETH_VERSION} AS geth
FROM ${IMG}:1.27
FROM $BASE
FROM ethereum/client-go:$GETH_VERSION
";
        assert_eq!(
            summary(text),
            vec![
                row("ethereum/client-go", "v1.14.12", 1, 18),
                row("ethereum/client-go", "v1.14.12", 1, 18),
                row("alpine", "3.20", 2, 28),
                row("nginx", "1.27", 4, 13),
            ]
        );
        let refs = scan_text(text);
        assert_eq!(refs[0].tag_span, refs[1].tag_span);
        assert_eq!(refs[0].tag_span, Some(Span::new(17, 25)));
    }

    #[test]
    fn inline_defaults_and_args_defined_from_args() {
        let text = "\
ARG TAG=v2.0.0
ARG V=1.0 IMAGE=registry.local:5000/app:${V}
FROM ${REPO:-ethereum/client-go}:${TAG:-v1.14.12}
FROM ${NOPE:-busybox}:${NOTAG:-1.36}
FROM ${IMAGE}
";
        assert_eq!(
            summary(text),
            vec![
                row("ethereum/client-go", "v2.0.0", 1, 9),
                row("registry.local:5000/app", "1.0", 2, 7),
                row("busybox", "1.36", 4, 32),
            ]
        );
    }

    #[test]
    fn unknown_variables_and_templates_are_skipped() {
        let text = "\
ARG NODE_VERSION
ARG MINOR=14
FROM node:${NODE_VERSION}-alpine
FROM $BASE_IMAGE AS base
FROM golang:1.${MINOR}
FROM {{ .Values.base }}:{{ .Values.tag }}
";
        let refs = scan_text(text);
        let got: Vec<_> = refs
            .iter()
            .map(|r| (r.image.as_str(), r.skip, r.line, r.column))
            .collect();
        assert_eq!(
            got,
            vec![
                ("node:${NODE_VERSION}-alpine", Some(Skip::Variable), 3, 6),
                ("$BASE_IMAGE", Some(Skip::Variable), 4, 6),
                ("golang:1.${MINOR}", Some(Skip::Variable), 5, 6),
                (
                    "{{ .Values.base }}:{{ .Values.tag }}",
                    Some(Skip::Templated),
                    6,
                    6
                ),
            ]
        );
        assert!(refs.iter().all(|r| r.tag_span.is_none()));
    }

    #[test]
    fn global_args_win_over_stage_args_which_still_fill_gaps() {
        let text = "\
ARG VERSION=1.0
FROM alpine:3.20 AS one
ARG VERSION=2.0
ARG OTHER=9.9
FROM foo:${VERSION}
FROM bar:${OTHER}
";
        assert_eq!(
            summary(text),
            vec![
                row("foo", "1.0", 1, 13),
                row("alpine", "3.20", 2, 13),
                row("bar", "9.9", 4, 11)
            ]
        );
    }

    #[test]
    fn continuation_lines_and_comments_inside_them() {
        let text = "\
FROM \\
    --platform=linux/amd64 \\
# a comment inside the instruction
    python:3.12-slim \\

    AS base
RUN pip install \\
    FROM-not-an-instruction
FROM base
";
        assert_eq!(summary(text), vec![row("python", "3.12-slim", 4, 12)]);
    }

    #[test]
    fn escape_directive_switches_to_backtick() {
        let text = "\
# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022 `
    AS win
RUN dir c:\\
FROM mcr.microsoft.com/powershell:7.4-nanoserver-ltsc2022
FROM win
";
        assert_eq!(
            summary(text),
            vec![
                row("mcr.microsoft.com/windows/servercore", "ltsc2022", 2, 43),
                row(
                    "mcr.microsoft.com/powershell",
                    "7.4-nanoserver-ltsc2022",
                    5,
                    35
                ),
            ]
        );
        // Not a directive once an instruction came first: backslash stays.
        let late = "FROM a:1\n# escape=`\nRUN x `\nFROM b:2\n";
        assert_eq!(
            summary(late),
            vec![row("a", "1", 1, 8), row("b", "2", 4, 8)]
        );
    }

    #[test]
    fn heredoc_bodies_are_not_instructions() {
        let text = "\
FROM alpine:3.20
RUN <<EOF
FROM evil:1
EOF
COPY <<-\"END\" /x
\tFROM evil:2
\tEND
RUN cat <<<\"FROM\"
FROM nginx:1.27
";
        assert_eq!(
            summary(text),
            vec![row("alpine", "3.20", 1, 13), row("nginx", "1.27", 9, 12)]
        );
    }

    #[test]
    fn crlf_and_bom() {
        let text = "\u{feff}ARG V=v1.14.12\r\nFROM ethereum/client-go:${V} AS geth\r\nFROM \\\r\n  nginx:1.27\r\nFROM geth\r\n";
        let got = summary(text);
        assert_eq!(
            got,
            vec![
                row("ethereum/client-go", "v1.14.12", 1, 7),
                row("nginx", "1.27", 4, 9)
            ]
        );
        for r in scan_text(text) {
            let s = r.tag_span.unwrap();
            assert!(!text[s.start..s.end].contains('\r'));
        }
        assert_eq!(scan_text(text)[0].tag_span, Some(Span::new(9, 17)));
    }

    #[test]
    fn untagged_and_digest_only() {
        let digest = format!("sha256:{}", "9".repeat(64));
        let text = format!("ARG IMG=nginx\nFROM ubuntu\nFROM ${{IMG}}\nFROM busybox@{digest}\n");
        let got: Vec<_> = scan_text(&text)
            .into_iter()
            .map(|r| (r.image, r.skip, r.line, r.column))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ubuntu".to_string(), Some(Skip::Untagged), 2, 6),
                ("nginx".to_string(), Some(Skip::Untagged), 3, 6),
                ("busybox".to_string(), Some(Skip::DigestOnly), 4, 6),
            ]
        );
    }

    #[test]
    fn quoted_and_escaped_arg_values() {
        let text =
            "ARG A='1.0' B=\"2.0\" C='$X' D=\\$Y\nFROM a:$A\nFROM b:$B\nFROM c:$C\nFROM d:$D\n";
        // `$X` and `$Y` stay literal: not images.
        assert_eq!(
            summary(text),
            vec![row("a", "1.0", 1, 8), row("b", "2.0", 1, 16)]
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        let inputs = [
            "",
            "\\",
            "`",
            "FROM",
            "FROM ",
            "FROM --platform=x",
            "FROM a AS",
            "FROM ${",
            "FROM ${}",
            "FROM $",
            "FROM ${A:-${B:-x}",
            "FROM ${A:?x}",
            "FROM ${A#x}",
            "ARG",
            "ARG =",
            "ARG A=\"",
            "ARG A='",
            "ARG A=\\",
            "ARG é=é\nFROM $é",
            "FROM é:é",
            "FROM \\\n",
            "# escape=`\nFROM `",
            "RUN <<",
            "RUN <<-",
            "RUN <<'",
            "RUN <<E\n",
            "\u{feff}",
            "\u{feff}FROM a:1",
            "FROM a:1\r",
            "ARG A=${A}\nFROM x:$A",
            "ARG A=1\nFROM x:${A:+}",
            "ARG A=x:1\nFROM ${A+${A}}",
            "FROM x:${A-}",
            "FROM a:1@sha256:zz",
        ];
        for input in inputs {
            let _ = scan_text(input);
        }
        let bytes: Vec<u8> = (0u8..=255).cycle().take(4096).collect();
        let lossy = String::from_utf8_lossy(&bytes);
        let _ = scan_text(&lossy);
        let _ = scan_text(&format!("FROM {lossy}"));
        let _ = scan_text(&format!("ARG A={lossy}\nFROM x:$A"));
        let nested = format!("FROM x:{}1{}", "${A:-".repeat(100_000), "}".repeat(100_000));
        assert_eq!(scan_text(&nested)[0].skip, Some(Skip::Variable));
        let mut doubling = String::from("ARG A0=ab\n");
        for k in 1..64 {
            doubling.push_str(&format!("ARG A{k}=${{A{}}}${{A{}}}\n", k - 1, k - 1));
        }
        doubling.push_str("FROM x:${A63}\n");
        assert_eq!(scan_text(&doubling)[0].skip, Some(Skip::Variable));
    }

    /// Every span points at exactly the text it claims, inside char boundaries.
    fn check_spans(text: &str, refs: &[Reference]) -> Result<(), TestCaseError> {
        for r in refs {
            if let (Some(tag), Some(s)) = (&r.tag, r.tag_span) {
                prop_assert_eq!(text.get(s.start..s.end), Some(tag.as_str()));
            }
            if let (Some(d), Some(s)) = (&r.digest, r.digest_span) {
                prop_assert_eq!(text.get(s.start..s.end), Some(d.as_str()));
            }
            prop_assert!(r.line >= 1 && r.column >= 1);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn spans_hold_what_they_claim(text in SHAPE) {
            check_spans(&text, &scan_text(&text))?;
        }

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = scan_text(&text);
        }
    }
}
