//! Property tests: arbitrary and YAML-ish input never makes scan or bump
//! panic, every span reads its value, and a bump changes bytes only inside
//! the spans of the references it moves. Nesting- and alias-heavy YAML
//! (on both sides of the parser's bounds) never panics either, and bump
//! refuses exactly what scan refuses.

use proptest::prelude::*;
use upkeep::domain::manifest::{self, BumpRequest, DigestAction};

const NAMES: [&str; 7] = [
    "values.yaml",
    "docker-compose.yml",
    "kustomization.yaml",
    "app.json",
    ".env",
    "Dockerfile",
    "deploy.yaml",
];

fn tag() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "v1.2.3",
        "1.27",
        "25.10",
        "1.0-alpine",
        "latest",
        "v5.3.0-modern",
        "24.10.3",
        "1",
    ])
    .prop_map(String::from)
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "nginx",
        "sigp/lighthouse",
        "ghcr.io/a/b",
        "localhost:5000/x",
        "docker.io/library/nginx",
    ])
    .prop_map(String::from)
}

/// A scalar as YAML writes it: plain, single or double quoted.
fn styled(v: String) -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", "'", "\""]).prop_map(move |q| format!("{q}{v}{q}"))
}

fn image_string() -> impl Strategy<Value = String> {
    let digest = prop::option::of(Just(
        "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ));
    (name(), prop::option::of(tag()), digest, any::<bool>()).prop_map(|(n, t, d, var)| {
        match (t, var) {
            (Some(t), true) => format!("${{IMG:-{n}}}:${{TAG:-{t}}}"),
            (Some(t), false) => format!("{n}:{t}{}", d.unwrap_or_default()),
            (None, _) => format!("{n}{}", d.unwrap_or_default()),
        }
    })
}

/// One top-level block of a YAML document, shaped like a real manifest.
fn block() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec!["geth", "beacon", "exporter", "a"]);
    prop_oneof![
        (key.clone(), name(), tag().prop_flat_map(styled), any::<bool>()).prop_map(|(k, n, t, anchor)| {
            let a = if anchor { "&t " } else { "" };
            format!("{k}:\n  image:\n    repository: {n}\n    tag: {a}{t}\n    pullPolicy: Always\n")
        }),
        (key.clone(), image_string().prop_flat_map(styled)).prop_map(|(k, i)| format!("{k}:\n  image: {i}\n")),
        image_string().prop_flat_map(styled).prop_map(|i| {
            format!("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: {i}\n---\n")
        }),
        image_string().prop_flat_map(styled).prop_map(|i| format!("services:\n  web:\n    image: {i}\n---\n")),
        (name(), tag()).prop_map(|(n, t)| format!("images:\n  - name: {n}\n    newTag: {t}\n")),
        image_string().prop_map(|i| format!("notes: |\n  image: {i}\n# image: {i}\n")),
        Just("copy:\n  image:\n    repository: nginx\n    tag: *t\n".to_string()),
        image_string().prop_map(|i| format!("FROM {i} AS b\nARG V=1.0\nFROM nginx:${{V}}\n")),
        (name(), tag()).prop_map(|(n, t)| format!("X_REPO={n}\nX_TAG={t}\n# upkeep: image={n}\nY=\"{t}\"\n")),
        // flow collections closed at their key's indentation (Go's YAML)
        (key.clone(), image_string()).prop_map(|(k, i)| format!("{k}:\n  args: [\n    a,\n  b\n  ]\n  image: \"{i}\"\n")),
        "\\PC{0,30}\n",
    ]
}

/// Deeply nested YAML around an image, on both sides of the nesting bound
/// (256 levels; 255 for flow collections).
fn nested() -> impl Strategy<Value = String> {
    (0usize..300, image_string(), 0..3).prop_map(|(depth, i, how)| match how {
        0 => format!("{}image: \"{i}\"\n", "- ".repeat(depth)),
        1 => format!(
            "{}{{image: \"{i}\"}}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        ),
        _ => {
            let mut text = String::new();
            for d in 0..depth {
                text.push_str(&format!("{}k{d}:\n", " ".repeat(d)));
            }
            format!("{text}{}image: \"{i}\"\n", " ".repeat(depth))
        }
    })
}

/// Anchors that alias the ones before, `refs` times each: small enough to
/// scan, or an alias bomb past the expansion bound (100,000 nodes).
fn aliased() -> impl Strategy<Value = String> {
    (name(), tag(), 0usize..5, 1usize..5, any::<bool>()).prop_map(|(n, t, levels, refs, bomb)| {
        let (levels, refs) = if bomb { (9, 9) } else { (levels, refs) };
        let mut text = format!("b0: &b0 {{image: {n}:{t}}}\n");
        for l in 1..=levels {
            let items = vec![format!("*b{}", l - 1); refs].join(", ");
            text.push_str(&format!("b{l}: &b{l} [{items}]\n"));
        }
        text
    })
}

fn document() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(block(), 0..6),
    )
        .prop_map(|(bom, crlf, blocks)| {
            let body = blocks.concat();
            let body = if crlf {
                body.replace('\n', "\r\n")
            } else {
                body
            };
            format!("{}{body}", if bom { "\u{feff}" } else { "" })
        })
}

fn input() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => document(),
        1 => nested(),
        1 => aliased(),
        1 => "\\PC{0,200}",
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn check(name: &str, text: &str) -> Result<(), TestCaseError> {
    let refs = match manifest::scan_text(name, text) {
        Some(Ok(refs)) => refs,
        // what scan refuses, bump refuses too
        Some(Err(_)) => {
            let req = BumpRequest {
                image: "nginx".into(),
                to: "9.9.9".into(),
                from: None,
                digest: DigestAction::Keep,
            };
            prop_assert!(manifest::bump_text(name, text, &req).is_err());
            return Ok(());
        }
        None => return Ok(()),
    };
    for r in &refs {
        if let (Some(span), Some(tag)) = (r.tag_span, &r.tag) {
            prop_assert_eq!(text.get(span.start..span.end), Some(tag.as_str()));
        }
        if let (Some(span), Some(d)) = (r.digest_span, &r.digest) {
            prop_assert_eq!(text.get(span.start..span.end), Some(d.as_str()));
        }
    }
    // Aliases repeat references: bump each (image, tag) once.
    let mut bumped = std::collections::HashSet::new();
    for r in refs.iter().filter(|r| r.skip.is_none()) {
        let Some(tag) = &r.tag else { continue };
        if !bumped.insert((r.image.clone(), tag.clone())) {
            continue;
        }
        let to = format!("{}-x", &tag[..tag.len().min(100)]);
        let req = BumpRequest {
            image: r.image.clone(),
            to: to.clone(),
            from: Some(tag.clone()),
            digest: DigestAction::Keep,
        };
        let (_, after) = match manifest::bump_text(name, text, &req) {
            Ok(x) => x,
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        let Some(after) = after else { continue };
        // Outside the moved references' spans, nothing changed. A reference
        // moves when it matches; bytes shared (through an anchor) with one
        // that does not move stay as they are.
        let moves = |o: &&manifest::Reference| {
            o.skip.is_none()
                && o.digest.is_none()
                && o.tag.as_ref() == Some(tag)
                && manifest::image::same_image(&o.image, &r.image)
        };
        let stuck: Vec<_> = refs
            .iter()
            .filter(|o| !moves(o))
            .filter_map(|o| o.tag_span)
            .collect();
        let mut spans: Vec<_> = refs
            .iter()
            .filter(moves)
            .filter_map(|o| o.tag_span)
            .filter(|s| !stuck.contains(s))
            .collect();
        spans.sort();
        spans.dedup();
        // `{tag}-x` always reads as a string, so no quotes are added.
        let mut expected = String::new();
        let mut last = 0;
        for sp in &spans {
            expected.push_str(&text[last..sp.start]);
            expected.push_str(&to);
            last = sp.end;
        }
        expected.push_str(&text[last..]);
        prop_assert_eq!(after, expected);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn scan_and_bump_never_panic_and_keep_bytes_outside_spans(
        name in prop::sample::select(NAMES.to_vec()),
        text in input(),
    ) {
        check(name, &text)?;
    }
}

/// A compose project: a `.env` written in every way compose reads one
/// (BOM, `export`, quotes, comments, CRLF) and a compose file taking its
/// tags from it in every interpolation form.
fn project() -> impl Strategy<Value = (String, String)> {
    let var = (
        prop::sample::select(vec!["A_TAG", "B_TAG", "IMG", "UNSET"]),
        prop::sample::select(vec!["${V}", "$V", "${V:-1.0}", "${V-1.0}", "${V:?x}"]),
    );
    let assignment = (
        prop::sample::select(vec!["A_TAG", "B_TAG", "IMG", "A_REPO"]),
        tag(),
        prop::sample::select(vec!["", "export ", " "]),
        prop::sample::select(vec!["", "'", "\""]),
        prop::sample::select(vec!["", " # note", "   #x"]),
    );
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(assignment, 0..5),
        prop::collection::vec((name(), var), 1..4),
    )
        .prop_map(|(bom, crlf, vars, services)| {
            let mut env = String::from(if bom { "\u{feff}" } else { "" });
            for (k, t, export, q, comment) in vars {
                let value = if k == "IMG" {
                    format!("nginx:{t}")
                } else if k == "A_REPO" {
                    "a/a".into()
                } else {
                    t
                };
                env.push_str(&format!("{export}{k}={q}{value}{q}{comment}\n"));
            }
            let mut compose = String::from("services:\n");
            for (i, (n, (v, form))) in services.into_iter().enumerate() {
                let expr = form.replace('V', v);
                let image = if v == "IMG" {
                    expr
                } else {
                    format!("{n}:{expr}")
                };
                compose.push_str(&format!("  s{i}:\n    image: \"{image}\"\n"));
            }
            if crlf {
                env = env.replace('\n', "\r\n");
            }
            (env, compose)
        })
}

/// Scanning the `.env` with its compose file: spans read their values, and
/// each bump either verifies or refuses and changes only tag bytes.
fn check_project(env: &str, compose: &str) -> Result<(), TestCaseError> {
    let project = manifest::Project {
        env: None,
        compose: vec![("docker-compose.yml", compose)],
    };
    let refs = match manifest::scan_text_in(".env", env, &project) {
        Some(Ok(refs)) => refs,
        other => return Err(TestCaseError::fail(format!("{other:?}"))),
    };
    for r in &refs {
        if let (Some(span), Some(tag)) = (r.tag_span, &r.tag) {
            prop_assert_eq!(env.get(span.start..span.end), Some(tag.as_str()));
        }
    }
    // the compose file's own scan leaves out what the `.env` reports
    let own = manifest::Project {
        env: Some((".env", env)),
        compose: Vec::new(),
    };
    if let Some(Ok(crefs)) = manifest::scan_text_in("docker-compose.yml", compose, &own) {
        prop_assert!(crefs.iter().all(|r| r.file == "docker-compose.yml"));
    }
    for r in refs.iter().filter(|r| r.skip.is_none()) {
        let Some(tag) = &r.tag else { continue };
        let req = BumpRequest {
            image: r.image.clone(),
            to: "9.9.9".into(),
            from: Some(tag.clone()),
            digest: DigestAction::Keep,
        };
        match manifest::bump_text_in(".env", env, &req, &project) {
            Ok((outcomes, Some(after))) => {
                // only the bytes of moved tags changed; a variable that a
                // reference which does not move shares stays as it is, and
                // the references through it are refused, not half-moved
                let moving = |o: &&manifest::Reference| {
                    o.skip.is_none()
                        && o.tag.as_ref() == Some(tag)
                        && manifest::image::same_image(&o.image, &r.image)
                };
                let held: Vec<_> = refs
                    .iter()
                    .filter(|o| !moving(o))
                    .filter_map(|o| o.tag_span)
                    .collect();
                for o in &outcomes {
                    if o.reference.tag_span.is_some_and(|sp| held.contains(&sp)) {
                        prop_assert!(o.result.is_err(), "{:?}", o.reference);
                    }
                }
                let spans: Vec<_> = refs
                    .iter()
                    .filter(moving)
                    .filter_map(|o| o.tag_span)
                    .filter(|sp| !held.contains(sp))
                    .collect();
                let mut spans = spans;
                spans.sort();
                spans.dedup();
                let mut expected = String::new();
                let mut last = 0;
                for sp in &spans {
                    expected.push_str(&env[last..sp.start]);
                    expected.push_str("9.9.9");
                    last = sp.end;
                }
                expected.push_str(&env[last..]);
                prop_assert_eq!(after, expected);
            }
            Ok((_, None)) => {}
            // refusing (verification) is allowed, panicking is not
            Err(manifest::BumpError::Verification { .. }) => {}
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn compose_projects_scan_and_bump_in_env_exactly((env, compose) in project()) {
        check_project(&env, &compose)?;
    }
}
