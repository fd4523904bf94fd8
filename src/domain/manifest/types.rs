//! The domain types of the manifest stage.

use serde::Serialize;
use std::fmt;

/// A half-open byte range `start..end` in a file's bytes (BOM included).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end);
        Span { start, end }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// What kind of file (or part of a file) a reference was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Helm values (`image.repository` + `image.tag`, or `image: repo:tag`).
    HelmValues,
    /// Kubernetes manifests: containers of every pod template.
    Kubernetes,
    /// Kustomize `images:` entries.
    Kustomize,
    /// docker-compose `services.*.image`.
    Compose,
    /// `.env` files.
    Dotenv,
    /// Dockerfile `FROM` lines.
    Dockerfile,
    /// Argo CD Application Helm parameters.
    Argocd,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::HelmValues => "helm-values",
            Kind::Kubernetes => "kubernetes",
            Kind::Kustomize => "kustomize",
            Kind::Compose => "compose",
            Kind::Dotenv => "dotenv",
            Kind::Dockerfile => "dockerfile",
            Kind::Argocd => "argocd",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a reference cannot be bumped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    /// The value contains a template expression (`{{ ... }}`).
    Templated,
    /// The tag (or image) is a bare variable (`${VAR}`, `$VAR`) with no default.
    Variable,
    /// The reference names no tag at all.
    Untagged,
    /// The reference is pinned by digest only (`repo@sha256:...`).
    DigestOnly,
    /// The image is built locally, not pulled: a compose service with
    /// `build:` and no registry host in its image, `pull_policy: build` or
    /// `never`, or a tag such as `local`.
    LocalBuild,
    /// The tag moves by itself (`latest`, `stable`, `edge`, ...): there is
    /// no version to compare or bump.
    MovingTag,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Templated => "templated",
            Skip::Variable => "variable",
            Skip::Untagged => "untagged",
            Skip::DigestOnly => "digest-only",
            Skip::LocalBuild => "local-build",
            Skip::MovingTag => "moving-tag",
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the bytes at a span are written, so a bump can keep the file's style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Site {
    /// A whole YAML plain scalar: changing it may change its YAML type.
    YamlPlain,
    /// Inside quotes (YAML single or double quoted, or a quoted `.env` value),
    /// or inside a larger string (`repo:tag`): the type cannot change.
    Text,
}

/// One place in a deployment repository where an image tag is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Path relative to the scanned root, `/`-separated.
    pub file: String,
    /// 1-based line of the tag's first byte (of the image when untagged).
    pub line: usize,
    /// 1-based column (in characters, BOM not counted) of that byte.
    pub column: usize,
    pub kind: Kind,
    /// The repository as written (registry host included when written).
    pub image: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub skip: Option<Skip>,
    /// Byte span of the tag value (for a missing tag: none).
    pub tag_span: Option<Span>,
    pub tag_site: Site,
    /// Byte span of the digest value (`sha256:...`), without the `@`.
    pub digest_span: Option<Span>,
    /// True when the digest is written inline after `@` in the same string,
    /// so dropping it must remove the `@` too.
    pub digest_inline: bool,
    /// The tag is written inside a plain image string (`repo:tag`, no
    /// variables), so a digest can be added after it (`repo:tag@sha256:…`).
    pub inline_image: bool,
}
