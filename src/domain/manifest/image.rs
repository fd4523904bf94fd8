//! Image strings: `[registry/]repository[:tag][@digest]`, Docker's name
//! normalisation, and compose-style `${VAR:-default}` interpolation, all with
//! byte positions so callers can point at (and replace) the tag alone.

use std::ops::Range;

use super::Skip;

/// The parts of an image string, as byte ranges into the parsed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageParts {
    pub name: Range<usize>,
    pub tag: Option<Range<usize>>,
    pub digest: Option<Range<usize>>,
}

/// True for a valid tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// True for a valid digest: `algorithm:hex` (e.g. `sha256:` + 64 hex digits).
pub fn is_valid_digest(digest: &str) -> bool {
    let Some((algo, hex)) = digest.split_once(':') else {
        return false;
    };
    let algo_ok = !algo.is_empty()
        && algo.bytes().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'+' | b'.' | b'_' | b'-')
        });
    let hex_ok = hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit());
    let sha_ok = algo != "sha256" || hex.len() == 64;
    algo_ok && hex_ok && sha_ok
}

/// True for a valid repository name with optional registry host (lowercase
/// path components separated by `/`; the host may carry a port).
pub fn is_valid_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 255 || name.starts_with('/') || name.ends_with('/') {
        return false;
    }
    let mut parts = name.split('/').peekable();
    let mut first = true;
    while let Some(part) = parts.next() {
        let is_host = first && parts.peek().is_some() && looks_like_host(part);
        let ok = if is_host {
            part.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']'))
        } else {
            !part.is_empty()
                && part.bytes().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
                })
                && part.as_bytes()[0].is_ascii_alphanumeric()
                && part.as_bytes()[part.len() - 1].is_ascii_alphanumeric()
        };
        if !ok {
            return false;
        }
        first = false;
    }
    true
}

fn looks_like_host(part: &str) -> bool {
    part.contains(['.', ':']) || part == "localhost" || part.bytes().any(|c| c.is_ascii_uppercase())
}

/// Splits an image string. Returns `None` when it is not a well-formed
/// image reference.
pub fn split(text: &str) -> Option<ImageParts> {
    let (rest, digest) = match text.rfind('@') {
        Some(at) => {
            let d = &text[at + 1..];
            if !is_valid_digest(d) {
                return None;
            }
            (&text[..at], Some(at + 1..text.len()))
        }
        None => (text, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let colon = last_slash + i;
            let tag = &rest[colon + 1..];
            if !is_valid_tag(tag) {
                return None;
            }
            (0..colon, Some(colon + 1..rest.len()))
        }
        None => (0..rest.len(), None),
    };
    if !is_valid_name(&text[name.clone()]) {
        return None;
    }
    Some(ImageParts { name, tag, digest })
}

/// Docker's canonical form of a repository name: `busybox` is
/// `docker.io/library/busybox`, `index.docker.io/x/y` is `docker.io/x/y`.
pub fn normalize(name: &str) -> String {
    let (host, path) = match name.split_once('/') {
        Some((first, rest)) if looks_like_host(first) => (first, rest),
        _ => ("docker.io", name),
    };
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io",
        h => h,
    };
    if host == "docker.io" && !path.contains('/') {
        format!("docker.io/library/{path}")
    } else {
        format!("{host}/{path}")
    }
}

/// True when two names denote the same image as Docker resolves them.
pub fn same_image(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

/// True when the text holds a template expression such as `{{ .Values.x }}`.
pub fn is_templated(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// A string after variable interpolation, with each resolved byte's origin in
/// the source text (`None` for bytes that came from nowhere we can edit).
pub struct Interpolated {
    pub text: String,
    origin: Vec<Option<usize>>,
}

impl Interpolated {
    /// Maps a range of the resolved text back to the source, if every byte of
    /// it comes from one contiguous run of source bytes.
    pub fn source_range(&self, r: Range<usize>) -> Option<Range<usize>> {
        if r.is_empty() {
            return None;
        }
        let start = self.origin.get(r.start).copied().flatten()?;
        for (i, pos) in r.clone().enumerate() {
            if self.origin.get(pos).copied().flatten() != Some(start + i) {
                return None;
            }
        }
        Some(start..start + r.len())
    }
}

/// Resolves compose-style variables: `${VAR:-default}` and `${VAR-default}`
/// become their default (which is where a bump writes), `$$` is a literal
/// `$`. A variable with no default (`${VAR}`, `$VAR`, `${VAR:?err}`) makes the
/// whole value a [`Skip::Variable`].
pub fn interpolate(text: &str) -> Result<Interpolated, Skip> {
    let bytes = text.as_bytes();
    let mut out = Interpolated {
        text: String::with_capacity(text.len()),
        origin: Vec::with_capacity(text.len()),
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
            for k in 0..ch.len_utf8() {
                out.origin.push(Some(i + k));
            }
            out.text.push(ch);
            i += ch.len_utf8();
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                out.text.push('$');
                out.origin.push(None);
                i += 2;
            }
            Some(b'{') => {
                let close = text[i..].find('}').map(|c| i + c).ok_or(Skip::Variable)?;
                let inner = &text[i + 2..close];
                let default = inner
                    .find(":-")
                    .map(|p| p + 2)
                    .or_else(|| inner.find('-').map(|p| p + 1))
                    .filter(|&p| {
                        inner[..p]
                            .trim_end_matches([':', '-'])
                            .bytes()
                            .all(is_var_byte)
                    });
                let Some(d) = default else {
                    return Err(Skip::Variable);
                };
                let default_text = &inner[d..];
                if default_text.contains('$') {
                    return Err(Skip::Variable);
                }
                let src = i + 2 + d;
                for (k, ch) in default_text.char_indices() {
                    for b in 0..ch.len_utf8() {
                        out.origin.push(Some(src + k + b));
                    }
                    out.text.push(ch);
                }
                i = close + 1;
            }
            Some(&c) if is_var_byte(c) => return Err(Skip::Variable),
            _ => {
                out.text.push('$');
                out.origin.push(Some(i));
                i += 1;
            }
        }
    }
    Ok(out)
}

fn is_var_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (String, Option<String>, Option<String>) {
        let p = split(s).unwrap();
        (
            s[p.name].to_string(),
            p.tag.map(|r| s[r].to_string()),
            p.digest.map(|r| s[r].to_string()),
        )
    }

    #[test]
    fn splits_names_tags_and_digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(parts("nginx"), ("nginx".into(), None, None));
        assert_eq!(
            parts("nginx:1.27-alpine"),
            ("nginx".into(), Some("1.27-alpine".into()), None)
        );
        assert_eq!(
            parts("localhost:5000/a/b:v1"),
            ("localhost:5000/a/b".into(), Some("v1".into()), None)
        );
        assert_eq!(parts(&format!("ghcr.io/x/y:v1@{d}")).2, Some(d.clone()));
        assert_eq!(parts(&format!("x/y@{d}")), ("x/y".into(), None, Some(d)));
        assert!(split("Not An Image").is_none());
        assert!(split("x/y:bad tag").is_none());
        assert!(split("x/y@sha256:short").is_none());
        assert!(split("").is_none());
    }

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(normalize("busybox"), "docker.io/library/busybox");
        assert!(same_image("busybox", "docker.io/library/busybox"));
        assert!(same_image(
            "index.docker.io/sigp/lighthouse",
            "sigp/lighthouse"
        ));
        assert!(!same_image("ghcr.io/sigp/lighthouse", "sigp/lighthouse"));
        assert!(!same_image("mirror.local/library/busybox", "busybox"));
    }

    #[test]
    fn interpolates_defaults_with_origins() {
        let src = "${REPO:-ethereum/client-go}:${TAG:-v1.14.12}";
        let r = interpolate(src).unwrap();
        assert_eq!(r.text, "ethereum/client-go:v1.14.12");
        let p = split(&r.text).unwrap();
        let tag = r.source_range(p.tag.unwrap()).unwrap();
        assert_eq!(&src[tag], "v1.14.12");
        assert_eq!(interpolate("${IMAGE}").err(), Some(Skip::Variable));
        assert_eq!(interpolate("nginx:$TAG").err(), Some(Skip::Variable));
        assert_eq!(interpolate("a:${T-1.0}").unwrap().text, "a:1.0");
        assert_eq!(interpolate("a$$b").unwrap().text, "a$b");
    }

    #[test]
    fn tag_spanning_a_variable_boundary_has_no_source_range() {
        let src = "x:v${MINOR:-1}";
        let r = interpolate(src).unwrap();
        let p = split(&r.text).unwrap();
        assert_eq!(r.source_range(p.tag.unwrap()), None);
    }
}
