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

/// Tags that move by themselves: a new image is pushed under the same tag.
const MOVING_TAGS: [&str; 17] = [
    "latest", "stable", "edge", "nightly", "unstable", "main", "master", "develop", "dev",
    "canary", "current", "lts", "next", "mainline", "rolling", "testing", "head",
];

/// True for a moving tag: `latest`, `stable`, `edge`, ... alone or with a
/// word-only flavour (`stable-alpine`, `latest-slim`), case-insensitively.
pub fn is_moving_tag(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    let mut words = lower.split('-');
    let head = words.next().unwrap_or_default();
    MOVING_TAGS.contains(&head)
        && words.all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// True for a tag that names a local build (`local`, `local-dev`, `dev-local`).
pub fn is_local_tag(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    lower == "local" || lower.starts_with("local-") || lower.ends_with("-local")
}

/// True when an image name carries a registry host (`ghcr.io/x`,
/// `localhost:5000/x`).
pub fn has_registry(name: &str) -> bool {
    name.split_once('/')
        .is_some_and(|(first, _)| looks_like_host(first))
}

/// True when the text holds a template expression such as `{{ .Values.x }}`.
pub fn is_templated(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// Where a byte of an interpolated string was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// In the interpolated text itself (a literal or a `${VAR:-default}`).
    Here,
    /// In the value of a variable of the environment (the compose `.env`).
    Env,
}

/// The value of a variable of the environment and where its bytes are
/// written in the environment file (`None` when they are not written as
/// they read: escapes, nested variables).
#[derive(Clone, Copy, Debug)]
pub struct EnvValue<'a> {
    pub value: &'a str,
    pub at: Option<usize>,
}

/// A string after variable interpolation, with each resolved byte's origin
/// (`None` for bytes that came from nowhere we can edit).
pub struct Interpolated {
    pub text: String,
    origin: Vec<Option<(Place, usize)>>,
}

impl Interpolated {
    /// Maps a range of the resolved text back to the source, if every byte of
    /// it comes from one contiguous run of source bytes.
    pub fn source_range(&self, r: Range<usize>) -> Option<Range<usize>> {
        match self.place_range(r)? {
            (Place::Here, r) => Some(r),
            (Place::Env, _) => None,
        }
    }

    /// Maps a range of the resolved text back to where it is written: in
    /// the text or in the environment file, one contiguous run of bytes.
    pub fn place_range(&self, r: Range<usize>) -> Option<(Place, Range<usize>)> {
        if r.is_empty() {
            return None;
        }
        let (place, start) = self.origin.get(r.start).copied().flatten()?;
        for (i, pos) in r.clone().enumerate() {
            if self.origin.get(pos).copied().flatten() != Some((place, start + i)) {
                return None;
            }
        }
        Some((place, start..start + r.len()))
    }

    fn push_str(&mut self, text: &str, place: Place, at: Option<usize>) {
        self.text.push_str(text);
        self.origin
            .extend((0..text.len()).map(|k| at.map(|a| (place, a + k))));
    }
}

/// Resolves compose-style variables: `${VAR:-default}` and `${VAR-default}`
/// become their default (which is where a bump writes), `$$` is a literal
/// `$`. A variable with no default (`${VAR}`, `$VAR`, `${VAR:?err}`) makes the
/// whole value a [`Skip::Variable`].
pub fn interpolate(text: &str) -> Result<Interpolated, Skip> {
    interpolate_with(text, &|_| None)
}

/// [`interpolate`] with an environment, as docker compose reads its
/// project's `.env`: a variable set there takes its value from there
/// (`${VAR:-default}` only when set and not empty), and only a variable set
/// nowhere, without a default, is a [`Skip::Variable`].
pub fn interpolate_with<'e>(
    text: &str,
    env: &dyn Fn(&str) -> Option<EnvValue<'e>>,
) -> Result<Interpolated, Skip> {
    let bytes = text.as_bytes();
    let mut out = Interpolated {
        text: String::with_capacity(text.len()),
        origin: Vec::with_capacity(text.len()),
    };
    let from_env = |out: &mut Interpolated, v: EnvValue<'_>| {
        if v.value.contains('$') {
            return Err(Skip::Variable);
        }
        out.push_str(v.value, Place::Env, v.at);
        Ok(())
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
            let len = ch.len_utf8();
            out.push_str(&text[i..i + len], Place::Here, Some(i));
            i += len;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => {
                out.push_str("$", Place::Here, None);
                i += 2;
            }
            Some(b'{') => {
                let close = text[i..].find('}').map(|c| i + c).ok_or(Skip::Variable)?;
                let inner = &text[i + 2..close];
                let name_end = inner
                    .bytes()
                    .position(|b| !is_var_byte(b))
                    .unwrap_or(inner.len());
                let name = &inner[..name_end];
                let op = &inner[name_end..];
                let value = (!name.is_empty()).then(|| env(name)).flatten();
                let default = op
                    .strip_prefix(":-")
                    .map(|d| (d, true))
                    .or_else(|| op.strip_prefix('-').map(|d| (d, false)));
                match (value, default) {
                    // `${VAR:-d}` uses d when VAR is empty, `${VAR-d}` only when unset.
                    (Some(v), Some((_, true))) if !v.value.is_empty() => from_env(&mut out, v)?,
                    (Some(v), Some((_, false))) => from_env(&mut out, v)?,
                    (Some(v), None)
                        if op.is_empty() || op.starts_with([':', '?']) && !op.starts_with(":+") =>
                    {
                        from_env(&mut out, v)?
                    }
                    (_, Some((d, _))) if !name.is_empty() => {
                        if d.contains('$') {
                            return Err(Skip::Variable);
                        }
                        out.push_str(
                            d,
                            Place::Here,
                            Some(i + 2 + name_end + (op.len() - d.len())),
                        );
                    }
                    _ => return Err(Skip::Variable),
                }
                i = close + 1;
            }
            Some(&c) if is_var_byte(c) => {
                let end = text[i + 1..]
                    .bytes()
                    .position(|b| !is_var_byte(b))
                    .map_or(text.len(), |p| i + 1 + p);
                match env(&text[i + 1..end]) {
                    Some(v) => from_env(&mut out, v)?,
                    None => return Err(Skip::Variable),
                }
                i = end;
            }
            _ => {
                out.push_str("$", Place::Here, Some(i));
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
    fn moving_and_local_tags() {
        for t in [
            "latest",
            "stable",
            "Edge",
            "stable-alpine",
            "latest-slim",
            "mainline",
        ] {
            assert!(is_moving_tag(t), "{t}");
        }
        for t in [
            "v1.2.3",
            "1.27-alpine",
            "latest-1.2",
            "dev-3f2a1b",
            "stable-",
            "edgeless",
            "alpine",
        ] {
            assert!(!is_moving_tag(t), "{t}");
        }
        for t in ["local", "local-dev", "dev-local", "LOCAL"] {
            assert!(is_local_tag(t), "{t}");
        }
        for t in ["localhost", "v1-locale", "1.0"] {
            assert!(!is_local_tag(t), "{t}");
        }
        assert!(has_registry("ghcr.io/x/y") && has_registry("localhost:5000/x"));
        assert!(!has_registry("sigp/lighthouse") && !has_registry("myapp"));
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
    fn interpolates_from_an_environment() {
        let env = |name: &str| match name {
            "LH_TAG" => Some(EnvValue {
                value: "v5.3.0",
                at: Some(100),
            }),
            "EMPTY" => Some(EnvValue {
                value: "",
                at: Some(7),
            }),
            "NESTED" => Some(EnvValue {
                value: "${X}",
                at: Some(9),
            }),
            _ => None,
        };
        for src in [
            "x:${LH_TAG}",
            "x:$LH_TAG",
            "x:${LH_TAG:-v1}",
            "x:${LH_TAG-v1}",
            "x:${LH_TAG:?set it}",
        ] {
            let r = interpolate_with(src, &env).unwrap();
            assert_eq!(r.text, "x:v5.3.0", "{src}");
            assert_eq!(r.place_range(2..8), Some((Place::Env, 100..106)), "{src}");
            assert_eq!(r.source_range(2..8), None, "{src}");
        }
        let r = interpolate_with("x:${EMPTY:-v1}", &env).unwrap();
        assert_eq!(
            (r.text.as_str(), r.place_range(2..4)),
            ("x:v1", Some((Place::Here, 11..13)))
        );
        assert_eq!(interpolate_with("x:${EMPTY-v1}", &env).unwrap().text, "x:");
        assert_eq!(
            interpolate_with("x:${UNSET:-v1}", &env).unwrap().text,
            "x:v1"
        );
        assert_eq!(
            interpolate_with("x:${UNSET}", &env).err(),
            Some(Skip::Variable)
        );
        assert_eq!(
            interpolate_with("x:${NESTED}", &env).err(),
            Some(Skip::Variable)
        );
        assert_eq!(
            interpolate_with("x:${LH_TAG:+y}", &env).err(),
            Some(Skip::Variable)
        );
    }

    #[test]
    fn tag_spanning_a_variable_boundary_has_no_source_range() {
        let src = "x:v${MINOR:-1}";
        let r = interpolate(src).unwrap();
        let p = split(&r.text).unwrap();
        assert_eq!(r.source_range(p.tag.unwrap()), None);
    }
}
