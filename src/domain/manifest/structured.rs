//! References in YAML and JSON files: Helm values, Kubernetes manifests,
//! Kustomize `images:`, docker-compose services and Argo CD Applications.
//!
//! Each document is classified on its own (a multi-document file may mix
//! kinds), then walked on the positioned tree of [`crate::domain::yaml`]. Values in
//! block scalars and comments are text and never become references. Pure: no
//! I/O.
//!
//! A file that cannot hold a reference ([`marks`]: no `image`, no
//! `repository`, in any case, and no escape that could spell them) is not
//! parsed at all: it has no references and, even when it is not valid YAML,
//! no problem. About half the files of a deployment tree are like that
//! (CRDs without image fields, alerting rules, dashboards). The same holds
//! for the parts of a file: a block collection without those words is read
//! as an empty one ([`yaml::parse_marked`]), which skips about 70% of the
//! bytes of a real tree.

use crate::domain::yaml::{self, Node, Style, Value};

use super::{Kind, Reference, Site, Skip, Source, Span, image};

/// What the file's name says about its content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Hints {
    pub kustomization: bool,
    pub compose: bool,
}

impl Hints {
    pub fn from_name(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        Hints {
            kustomization: matches!(
                lower.as_str(),
                "kustomization.yaml" | "kustomization.yml" | "kustomization"
            ),
            compose: lower.starts_with("docker-compose") || lower.starts_with("compose."),
        }
    }
}

/// Where the words without which no reference can be written are: a file,
/// or a part of one, without any holds no reference. Sorted byte offsets.
///
/// Every reference is found under a key whose name ends in `image`
/// (`image`, `images`, `initImage`, ...: [`is_image_key`], the container
/// lists' `image`, Kustomize's `images`), or is an Argo CD Helm parameter
/// paired with a `...repository` one. A key or value can only read so if
/// those letters are written in the file: anchors and merge keys repeat
/// text written elsewhere in it, block scalars are never keys or images,
/// and folding only adds spaces. The one way to spell them without writing
/// them is an escape in a double-quoted scalar (`\x69`, `\u0069`,
/// `\U00000069`) or an escaped line break joining two halves; each of
/// those is a mark too.
fn marks(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let lower = bytes.to_ascii_lowercase();
    let mut marks: Vec<usize> = memchr::memmem::find_iter(&lower, b"image").collect();
    marks.extend(memchr::memmem::find_iter(&lower, b"repository"));
    marks.extend(
        memchr::memchr_iter(b'\\', bytes)
            .filter(|&i| matches!(bytes.get(i + 1), Some(b'x' | b'u' | b'U' | b'\r' | b'\n'))),
    );
    marks.sort_unstable();
    marks
}

/// The references of a YAML or JSON file. The parts of it without
/// [`marks`] are not read (see the module's documentation): a
/// collection without them, from its key's line to its end, holds no
/// reference, and every walk here asks at most whether such a collection
/// is there and of which kind (a compose file is one whose services are
/// all mappings; `build:` makes an image local), never what it holds. Once
/// the file defines an anchor, collections with aliases are read in full.
pub(super) fn scan(src: &Source<'_>, hints: Hints) -> Result<Vec<Reference>, yaml::YamlError> {
    let marks = marks(src.body());
    if marks.is_empty() {
        return Ok(Vec::new());
    }
    let docs = yaml::parse_marked(src.body(), src.bom, &marks)?;
    scan_documents(src, hints, &docs)
}

/// [`scan`] on the whole tree, for the tests that check what is left out.
#[cfg(test)]
fn parse_and_scan(src: &Source<'_>, hints: Hints) -> Result<Vec<Reference>, yaml::YamlError> {
    let docs = yaml::parse(src.body(), src.bom)?;
    scan_documents(src, hints, &docs)
}

fn scan_documents(
    src: &Source<'_>,
    hints: Hints,
    docs: &[Node],
) -> Result<Vec<Reference>, yaml::YamlError> {
    let mut out = Vec::new();
    for doc in docs {
        scan_document(src, hints, doc, &mut out);
        if src.budget.get() == 0 {
            let (line, column) = src.line_column(doc.offset);
            return Err(yaml::YamlError {
                line,
                column,
                message: format!(
                    "scan budget of {} steps spent in this document; file skipped",
                    src.budget_size
                ),
            });
        }
    }
    Ok(out)
}

/// Spends one step of the file's budget; false once it is spent (the walk
/// then stops and the file becomes a problem).
fn step(src: &Source<'_>) -> bool {
    let left = src.budget.get();
    src.budget.set(left.saturating_sub(1));
    left > 0
}

fn scan_document(src: &Source<'_>, hints: Hints, doc: &Node, out: &mut Vec<Reference>) {
    let kind = doc.get("kind").and_then(Node::str);
    let api = doc.get("apiVersion").and_then(Node::str);
    if hints.kustomization
        || kind == Some("Kustomization") && api.is_some_and(|a| a.starts_with("kustomize"))
    {
        kustomize(src, doc, out);
    } else if let (Some(kind), Some(api)) = (kind, api) {
        if api.starts_with("argoproj.io") && matches!(kind, "Application" | "ApplicationSet") {
            argocd(src, doc, out);
        } else {
            kubernetes(src, doc, out);
        }
    } else if hints.compose || is_compose(doc) {
        compose(src, doc, out);
    } else {
        helm(src, Kind::HelmValues, doc, out);
    }
}

// ---------------------------------------------------------------- helpers

/// The content span of a scalar, with the site kind for bumping.
fn scalar_site(node: &Node) -> Option<(&str, Span, Site)> {
    let s = node.scalar()?;
    let site = match s.style {
        Style::Plain if !s.tagged => Site::YamlPlain,
        Style::Block => return None,
        _ => Site::Text,
    };
    Some((s.value.as_str(), s.content?, site))
}

/// A non-empty, non-null string value.
fn present(node: Option<&Node>) -> Option<&Node> {
    node.filter(|n| {
        let Some(v) = n.str() else { return false };
        let plain = n.scalar().is_some_and(|s| s.style == Style::Plain);
        let null = plain && matches!(v, "~" | "null" | "Null" | "NULL");
        !v.is_empty() && !null
    })
}

/// A reference from a single image string held by a scalar node.
fn image_scalar(src: &Source<'_>, kind: Kind, node: &Node, out: &mut Vec<Reference>) {
    let Some(value) = node.str() else { return };
    let content = node.scalar().and_then(|s| s.content).map(|c| c.start);
    if let Some(r) = src.image_string(kind, value, content, node.offset) {
        out.push(r);
    }
}

// ---------------------------------------------------------------- Helm values

fn is_image_key(key: &str) -> bool {
    let ends = |suffix: &str| {
        key.len() >= suffix.len()
            && key.as_bytes()[key.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    ends("image") && !ends("pullsecretsimage")
}

/// Walks any YAML tree for `image: repo:tag` strings and Helm-style
/// `image: {registry, repository, tag, digest}` mappings.
fn helm(src: &Source<'_>, kind: Kind, node: &Node, out: &mut Vec<Reference>) {
    if !step(src) {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries.iter() {
                if !image_entry(src, kind, k, v, out) {
                    helm(src, kind, v, out);
                }
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| helm(src, kind, i, out)),
        Value::Scalar(_) => {}
    }
}

/// Handles `key: value` if the key names an image; false when the caller
/// should walk the value instead.
fn image_entry(
    src: &Source<'_>,
    kind: Kind,
    key: &Node,
    value: &Node,
    out: &mut Vec<Reference>,
) -> bool {
    let key = key.str().unwrap_or_default();
    if !is_image_key(key) {
        return false;
    }
    match &value.value {
        // `vmImage: ubuntu-latest` is no container image: other keys than
        // `image` need a tag or a path.
        Value::Scalar(_)
            if key == "image" || value.str().is_some_and(|s| s.contains([':', '/'])) =>
        {
            image_scalar(src, kind, value, out);
            true
        }
        Value::Scalar(_) => true,
        Value::Map(_) if value.get("repository").is_some() => {
            helm_split(src, kind, value, out);
            true
        }
        _ => false,
    }
}

/// `image: {registry: ghcr.io, repository: x/y, tag: v1, digest: sha256:...}`.
fn helm_split(src: &Source<'_>, kind: Kind, map: &Node, out: &mut Vec<Reference>) {
    let Some(repo_node) = present(map.get("repository")) else {
        return;
    };
    let repo = repo_node.str().unwrap_or_default();
    let registry = present(map.get("registry")).and_then(Node::str);
    let tag_node = present(map.get("tag"));
    let digest_node = present(map.get("digest"));
    let pos = repo_node.offset;
    let templated = [Some(repo_node), map.get("registry"), tag_node, digest_node]
        .into_iter()
        .flatten()
        .any(|n| n.str().is_some_and(image::is_templated));
    let image = match registry {
        Some(r) => format!("{}/{}", r.trim_end_matches('/'), repo),
        None => repo.to_string(),
    };
    if templated {
        out.push(src.reference(kind, pos, &image, None, None, Some(Skip::Templated)));
        return;
    }
    // `repository: nginx:1.27` with no tag key: a whole image string.
    if tag_node.is_none() && digest_node.is_none() && repo.contains([':', '@']) {
        image_scalar(src, kind, repo_node, out);
        return;
    }
    if image::split(&image).is_none_or(|p| p.tag.is_some() || p.digest.is_some()) {
        return;
    }
    let digest_key = digest_node
        .and_then(scalar_site)
        .filter(|(d, _, _)| image::is_valid_digest(d))
        .map(|(d, span, _)| (d, span, false));
    let (tag, digest) = match tag_node.and_then(scalar_site) {
        // Renovate's style: `tag: 1.2.3@sha256:...`.
        Some((t, span, _)) if t.contains('@') => match t.split_once('@') {
            Some((tg, dg)) if image::is_valid_tag(tg) && image::is_valid_digest(dg) => {
                let at = span.start + tg.len();
                (
                    Some((tg, Span::new(span.start, at), Site::Text)),
                    Some((dg, Span::new(at + 1, span.end), true)),
                )
            }
            _ => (None, digest_key),
        },
        t => (t.filter(|(t, _, _)| image::is_valid_tag(t)), digest_key),
    };
    let skip = match tag_node.and_then(Node::str) {
        Some(t) if t.contains('$') => Some(Skip::Variable),
        _ => None,
    };
    out.push(src.reference(kind, pos, &image, tag, digest, skip));
}

// ---------------------------------------------------------------- Kubernetes

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// Every container of every pod template (Deployments, StatefulSets,
/// DaemonSets, Jobs, CronJobs, Pods, and custom resources shaped alike), and
/// other image fields of custom resources (a Prometheus' `spec.image`); a
/// HelmRelease's `values` are Helm values. ConfigMap and Secret data is text.
fn kubernetes(src: &Source<'_>, doc: &Node, out: &mut Vec<Reference>) {
    if !matches!(
        doc.get("kind").and_then(Node::str),
        Some("ConfigMap" | "Secret")
    ) {
        kubernetes_node(src, doc, out);
    }
}

fn kubernetes_node(src: &Source<'_>, node: &Node, out: &mut Vec<Reference>) {
    if !step(src) {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries.iter() {
                let key = k.str().unwrap_or_default();
                if CONTAINER_LISTS.contains(&key)
                    && let Some(items) = v.seq()
                {
                    for c in items {
                        if let Some(img) = c.get("image") {
                            image_scalar(src, Kind::Kubernetes, img, out);
                        }
                    }
                } else if key == "values" || key == "valuesObject" {
                    helm(src, Kind::HelmValues, v, out);
                } else if !image_entry(src, Kind::Kubernetes, k, v, out) {
                    kubernetes_node(src, v, out);
                }
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| kubernetes_node(src, i, out)),
        Value::Scalar(_) => {}
    }
}

// ---------------------------------------------------------------- Kustomize

/// `images: [{name, newName, newTag, digest}]`.
fn kustomize(src: &Source<'_>, doc: &Node, out: &mut Vec<Reference>) {
    for entry in doc.get("images").and_then(Node::seq).unwrap_or_default() {
        let Some(name) = present(entry.get("name")) else {
            continue;
        };
        let new_name = present(entry.get("newName"));
        let image_node = new_name.unwrap_or(name);
        let image = image_node.str().unwrap_or_default();
        let tag_node = present(entry.get("newTag"));
        let digest_node = present(entry.get("digest"));
        if [Some(image_node), tag_node, digest_node]
            .into_iter()
            .flatten()
            .any(|n| n.str().is_some_and(image::is_templated))
        {
            out.push(src.reference(
                Kind::Kustomize,
                image_node.offset,
                image,
                None,
                None,
                Some(Skip::Templated),
            ));
            continue;
        }
        let tag = tag_node
            .and_then(scalar_site)
            .filter(|(t, _, _)| image::is_valid_tag(t));
        let digest = digest_node
            .and_then(scalar_site)
            .filter(|(d, _, _)| image::is_valid_digest(d))
            .map(|(d, span, _)| (d, span, false));
        out.push(src.reference(Kind::Kustomize, image_node.offset, image, tag, digest, None));
    }
    // A kustomization may also patch containers inline.
    for key in ["patches", "patchesStrategicMerge"] {
        if let Some(v) = doc.get(key) {
            kubernetes_node(src, v, out);
        }
    }
}

// ---------------------------------------------------------------- compose

fn is_compose(doc: &Node) -> bool {
    doc.get("services")
        .and_then(Node::map)
        .is_some_and(|services| {
            !services.is_empty() && services.iter().all(|(_, s)| s.map().is_some())
        })
}

/// `services.<name>.image`, with `${VAR:-default}` interpolation. A service
/// whose image is built here rather than pulled (`pull_policy: build` or
/// `never`, or `build:` with an image that names no registry) is a
/// [`Skip::LocalBuild`].
fn compose(src: &Source<'_>, doc: &Node, out: &mut Vec<Reference>) {
    for (_, service) in doc.get("services").and_then(Node::map).unwrap_or_default() {
        let Some(img) = service.get("image") else {
            continue;
        };
        let before = out.len();
        image_scalar(src, Kind::Compose, img, out);
        let policy = service.get("pull_policy").and_then(Node::str);
        let builds = service.get("build").is_some();
        for r in &mut out[before..] {
            let local = matches!(policy, Some("build" | "never"))
                || builds && !image::has_registry(&r.image);
            if local && matches!(r.skip, None | Some(Skip::MovingTag)) {
                r.skip = Some(Skip::LocalBuild);
            }
        }
    }
}

// ---------------------------------------------------------------- Argo CD

/// `spec.source(s).helm.parameters` (`image.repository` + `image.tag`) and
/// `helm.valuesObject`, also inside an ApplicationSet's template.
fn argocd(src: &Source<'_>, doc: &Node, out: &mut Vec<Reference>) {
    let Some(mut spec) = doc.get("spec") else {
        return;
    };
    if let Some(template_spec) = spec.get("template").and_then(|t| t.get("spec")) {
        spec = template_spec;
    }
    let mut sources: Vec<&Node> = spec.get("source").into_iter().collect();
    sources.extend(spec.get("sources").and_then(Node::seq).unwrap_or_default());
    for source in sources {
        let Some(helm_node) = source.get("helm") else {
            continue;
        };
        if let Some(values) = helm_node.get("valuesObject") {
            helm(src, Kind::Argocd, values, out);
        }
        let params = helm_node
            .get("parameters")
            .and_then(Node::seq)
            .unwrap_or_default();
        let param = |name: &str| {
            params
                .iter()
                .find(|p| p.get("name").and_then(Node::str) == Some(name))
                .and_then(|p| present(p.get("value")))
        };
        for p in params {
            let Some(name) = p.get("name").and_then(Node::str) else {
                continue;
            };
            let Some(prefix) = name.strip_suffix("tag") else {
                continue;
            };
            if !(prefix.is_empty() || prefix.ends_with('.')) {
                continue;
            }
            let Some(repo) = param(&format!("{prefix}repository")).and_then(Node::str) else {
                continue;
            };
            let image = match param(&format!("{prefix}registry")).and_then(Node::str) {
                Some(r) => format!("{r}/{repo}"),
                None => repo.to_string(),
            };
            let value = present(p.get("value"));
            let tag = value
                .and_then(scalar_site)
                .filter(|(t, _, _)| image::is_valid_tag(t));
            let skip = value
                .and_then(Node::str)
                .filter(|v| image::is_templated(v))
                .map(|_| Skip::Templated);
            let pos = value.unwrap_or(p).offset;
            out.push(src.reference(Kind::Argocd, pos, &image, tag, None, skip));
        }
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn a_file_that_spends_its_budget_is_a_problem_not_a_stall() {
        // "image" in every line: no part of the tree is left out
        let text = format!(
            "a:\n{}image: nginx:1.27\n",
            "  - [image, y, z]\n".repeat(50)
        );
        let mut src = Source::new("v.yaml", &text);
        assert_eq!(scan(&src, Hints::default()).unwrap().len(), 1);
        src.budget_size = 20;
        src.budget.set(20);
        let err = scan(&src, Hints::default()).unwrap_err();
        assert!(err.message.contains("scan budget of 20 steps"), "{err}");
        assert_eq!((err.line, err.column), (1, 1));
    }
}

#[cfg(test)]
mod prefilter_tests {
    use super::*;
    use proptest::prelude::*;

    fn refs(text: &str, hints: Hints) -> Vec<(String, Option<String>)> {
        let src = Source::new("v.yaml", text);
        parse_and_scan(&src, hints)
            .unwrap_or_default()
            .into_iter()
            .map(|r| (r.image, r.tag))
            .collect()
    }

    #[test]
    fn an_empty_entry_before_a_marked_one_is_read() {
        // found by the property test below
        let text = "images:\n    -\n    - name: n\n      newTag: v2\n";
        let hints = Hints {
            kustomization: true,
            compose: false,
        };
        let src = Source::new("kustomization.yaml", text);
        assert_eq!(
            scan(&src, hints).unwrap(),
            parse_and_scan(&src, hints).unwrap()
        );
        assert_eq!(refs(text, hints).len(), 1);
    }

    #[test]
    fn escapes_that_spell_image_keep_the_file() {
        for text in [
            "\"\\x69mage\": nginx:1.27\n",
            "\"imag\\u0065\": nginx:1.27\n",
            "\"IMAG\\U00000045\": nginx:1.27\n",
            "? \"ima\\\n  ge\"\n: nginx:1.27\n",
        ] {
            assert_eq!(refs(text, Hints::default()).len(), 1, "{text:?}");
            assert!(!marks(text).is_empty(), "{text:?}");
        }
        for text in [
            "a: b\n",
            "kind: PrometheusRule\nspec: {groups: [{rules: [x]}]}\n",
            "a: \"tab\\tand quote\\\"\"\n",
        ] {
            assert!(marks(text).is_empty(), "{text:?}");
        }
    }

    fn fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "image",
            "Image",
            "IMAGES",
            "initImage",
            "repository",
            "tag",
            "name",
            "value",
            "images",
            "newTag",
            "kind: Kustomization\n",
            "kind: Application\napiVersion: argoproj.io/v1\n",
            "services",
            "containers",
            "im",
            "age",
            "\\x69",
            "\\u0069",
            "\\x67",
            "\\\n",
            "\"",
            "'",
            ": ",
            ":",
            "\n",
            "- ",
            "  ",
            "&a ",
            "*a",
            "<<: ",
            "? ",
            "{",
            "}",
            "[",
            "]",
            ", ",
            "|\n",
            "nginx:1.27",
            "x/y:v1",
            "1.2",
            "#",
        ])
    }

    /// Lines of deployment YAML at indentations 0, 2 and 4.
    fn line() -> impl Strategy<Value = String> {
        let body = prop::sample::select(vec![
            "image: nginx:1.27",
            "image:",
            "repository: x/y",
            "tag: v1",
            "services:",
            "web:",
            "build: .",
            "build:",
            "context: .",
            "name: a",
            "- name: b",
            "- image: c:2",
            "containers:",
            "k: v",
            "k:",
            "- v",
            "-",
            "b: &a",
            "c: *a",
            "<<: *a",
            "x: &i",
            "kind: Deployment",
            "apiVersion: apps/v1",
            "images:",
            "- name: n",
            "newTag: v2",
            "# image: no",
            "text: |",
            "  image: in a block",
            "k: [image, x]",
            "",
        ]);
        (0..3usize, body).prop_map(|(i, b)| format!("{}{b}", "  ".repeat(i)))
    }

    proptest! {
        /// What the pre-filter skips, the full scan finds nothing in.
        #[test]
        fn the_prefilter_skips_only_files_without_references(
            parts in prop::collection::vec(fragment(), 0..40),
            lines in prop::collection::vec(line(), 0..16),
            compose in any::<bool>(),
            kustomization in any::<bool>(),
            which in any::<bool>(),
        ) {
            let text = if which { parts.concat() } else { lines.join("\n") };
            let hints = Hints { kustomization, compose };
            let found = refs(&text, hints);
            prop_assert!(found.is_empty() || !marks(&text).is_empty(), "{:?} in {:?}", found, text);
            // reading only the marked parts finds the same references, in
            // the same places
            if let Ok(all) = parse_and_scan(&Source::new("v.yaml", &text), hints) {
                let marked = scan(&Source::new("v.yaml", &text), hints);
                prop_assert_eq!(marked.unwrap_or_default(), all, "in {:?}", text);
            }
        }
    }
}
