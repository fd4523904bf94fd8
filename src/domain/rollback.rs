//! Rolling back a merged upkeep pull request, byte-exact.
//!
//! The pull request's files before (its parent commit) and after (its head
//! commit) are scanned; references to the same image are paired in order,
//! and each pair whose tag or digest changed is undone on the base branch
//! as it is now, through the verified bump ([`bump_text_only`]): only those
//! references move, back to exactly the tag and digest they had, and every
//! other byte of the file stays (including changes made since the merge).
//!
//! A reference that no longer holds what the pull request wrote (someone
//! moved on since) is an error naming the place, and nothing is rolled
//! back. One already back at the old version is left alone, so rolling
//! back twice is harmless.
//!
//! A file is read with its compose project at each of the three commits
//! (a `.env` with its compose files, a compose file with its `.env`), as
//! `run` read it when it bumped: a tag a compose file takes from its `.env`
//! is a reference of the `.env`, and is rolled back there.

use std::collections::BTreeMap;

use crate::domain::manifest::{
    BumpError, BumpRequest, DigestAction, Problem, Project, Reference, bump_text_only_in, image,
    scan_text, scan_text_in,
};

/// One file a pull request changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the repository root, `/`-separated (its name
    /// decides how it is read).
    pub path: String,
    /// The file in the pull request's parent commit.
    pub before: String,
    /// The file in the pull request's head commit.
    pub after: String,
    /// The file's compose project files ([`crate::domain::manifest::project_files`])
    /// as (path, text), in the parent commit, the head commit and on the
    /// base branch now: empty for a file outside a compose project.
    pub projects: [Vec<(String, String)>; 3],
}

impl FileChange {
    /// A change to a file outside any compose project.
    pub fn new(path: &str, before: &str, after: &str) -> Self {
        FileChange {
            path: path.to_string(),
            before: before.to_string(),
            after: after.to_string(),
            projects: Default::default(),
        }
    }
}

/// Which of a [`FileChange`]'s texts a scan reads.
#[derive(Clone, Copy)]
enum At {
    Before = 0,
    After = 1,
    Now = 2,
}

/// One reference to move back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackEdit {
    pub file: String,
    /// The repository as written.
    pub image: String,
    /// What the pull request wrote (and the base still holds).
    pub from_tag: String,
    /// What it replaced.
    pub to_tag: String,
    pub from_digest: Option<String>,
    pub to_digest: Option<String>,
    /// 1-based line of the reference on the base branch now.
    pub line: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("{file}: not on the base branch any more")]
    Missing { file: String },
    #[error("{file}: {detail}")]
    Unpaired { file: String, detail: String },
    #[error("{file}:{line}: {image} moved on since: now {now} (the pull request wrote {wrote})")]
    MovedOn {
        file: String,
        line: usize,
        image: String,
        now: String,
        wrote: String,
    },
    #[error("{file}:{line}: {image} cannot be moved back to {to}: {detail}")]
    Refused {
        file: String,
        line: usize,
        image: String,
        to: String,
        detail: String,
    },
    #[error("{0}")]
    Parse(Problem),
    #[error(transparent)]
    Bump(#[from] BumpError),
}

/// The edits that undo a pull request on the base branch as it is now
/// (`current`: path and text of each file). Files upkeep does not read are
/// ignored; a changed file missing from `current` is an error.
pub fn plan_rollback(
    files: &[FileChange],
    current: &[(String, String)],
) -> Result<Vec<RollbackEdit>, RollbackError> {
    let mut edits = Vec::new();
    for change in files {
        let now = current_text(change, current)?;
        edits.extend(plan_file(change, now)?.into_iter().map(|(_, e)| e));
    }
    Ok(edits)
}

/// Undoes a pull request on the base branch as it is now: the new text of
/// every file that changes, as (path, text). Any error, and nothing is
/// returned at all.
pub fn apply_rollback(
    files: &[FileChange],
    current: &[(String, String)],
) -> Result<Vec<(String, String)>, RollbackError> {
    let mut out = Vec::new();
    for change in files {
        let now = current_text(change, current)?;
        if let Some(text) = rollback_file(change, now)? {
            out.push((change.path.clone(), text));
        }
    }
    Ok(out)
}

/// Undoes a pull request's changes to one file in `current` (the file on
/// the base branch now); `None` when nothing is to be undone.
pub fn rollback_file(change: &FileChange, current: &str) -> Result<Option<String>, RollbackError> {
    let edits = plan_file(change, current)?;
    if edits.is_empty() {
        return Ok(None);
    }
    // One verified bump per distinct move, restricted to its references.
    let mut groups: Vec<(&RollbackEdit, Vec<usize>)> = Vec::new();
    for (ordinal, e) in &edits {
        match groups.iter_mut().find(|(g, _)| key(g) == key(e)) {
            Some((_, ords)) => ords.push(*ordinal),
            None => groups.push((e, vec![*ordinal])),
        }
    }
    let mut text = current.to_string();
    let project = Project::of(&change.path, &change.projects[At::Now as usize]);
    for (edit, ordinals) in groups {
        let refs = scan(change, At::Now, &text)?;
        let repo = image::normalize(&edit.image);
        let of_image = by_image(&refs).remove(&repo).unwrap_or_default();
        let targets: Vec<(usize, usize)> = ordinals
            .iter()
            .filter_map(|&o| of_image.get(o).map(|r| (r.line, r.column)))
            .collect();
        let req = BumpRequest {
            image: edit.image.clone(),
            to: edit.to_tag.clone(),
            from: Some(edit.from_tag.clone()),
            digest: match (&edit.to_digest, &edit.from_digest) {
                (Some(d), _) => DigestAction::Pin(d.clone()),
                (None, Some(_)) => DigestAction::Drop,
                (None, None) => DigestAction::Keep,
            },
        };
        let (outcomes, after) = bump_text_only_in(
            &change.path,
            &text,
            &req,
            &|r: &Reference| targets.contains(&(r.line, r.column)),
            &project,
        )?;
        let refused = |line: usize, detail: String| RollbackError::Refused {
            file: change.path.clone(),
            line,
            image: edit.image.clone(),
            to: version(&edit.to_tag, edit.to_digest.as_deref()),
            detail,
        };
        for o in &outcomes {
            match &o.result {
                Ok((tag, digest)) if *tag == edit.to_tag && *digest == edit.to_digest => {}
                Ok((tag, digest)) => {
                    return Err(refused(
                        o.reference.line,
                        format!(
                            "would become {} (the digest cannot be written there)",
                            version(tag, digest.as_deref())
                        ),
                    ));
                }
                Err(why) => return Err(refused(o.reference.line, why.describe())),
            }
        }
        if outcomes.len() != targets.len() || targets.len() != ordinals.len() {
            return Err(refused(
                edit.line,
                "the reference was not found again".into(),
            ));
        }
        text = after.ok_or_else(|| refused(edit.line, "nothing changed".into()))?;
    }
    Ok(Some(text))
}

fn current_text<'a>(
    change: &FileChange,
    current: &'a [(String, String)],
) -> Result<&'a str, RollbackError> {
    current
        .iter()
        .find(|(p, _)| *p == change.path)
        .map(|(_, t)| t.as_str())
        .ok_or_else(|| RollbackError::Missing {
            file: change.path.clone(),
        })
}

/// The references of `text`, the file at commit `at`, read with the
/// file's compose project there.
fn scan(change: &FileChange, at: At, text: &str) -> Result<Vec<Reference>, RollbackError> {
    let project = Project::of(&change.path, &change.projects[at as usize]);
    match scan_text_in(&change.path, text, &project) {
        Some(r) => r.map_err(RollbackError::Parse),
        None => Ok(Vec::new()),
    }
}

/// References by normalised repository, each list in file order.
fn by_image(refs: &[Reference]) -> BTreeMap<String, Vec<&Reference>> {
    let mut map: BTreeMap<String, Vec<&Reference>> = BTreeMap::new();
    for r in refs {
        map.entry(image::normalize(&r.image)).or_default().push(r);
    }
    map
}

fn version(tag: &str, digest: Option<&str>) -> String {
    match digest {
        Some(d) => format!("{tag}@{d}"),
        None => tag.to_string(),
    }
}

fn version_of(r: &Reference) -> String {
    match (&r.tag, &r.digest) {
        (Some(t), d) => version(t, d.as_deref()),
        (None, Some(d)) => format!("@{d}"),
        (None, None) => "no tag".into(),
    }
}

type MoveKey<'a> = (
    String,
    &'a String,
    &'a Option<String>,
    &'a String,
    &'a Option<String>,
);

/// What makes two edits one bump: same image, same move.
fn key(e: &RollbackEdit) -> MoveKey<'_> {
    (
        image::normalize(&e.image),
        &e.from_tag,
        &e.from_digest,
        &e.to_tag,
        &e.to_digest,
    )
}

/// The edits for one file, each with its ordinal among the references to
/// its image.
fn plan_file(
    change: &FileChange,
    current: &str,
) -> Result<Vec<(usize, RollbackEdit)>, RollbackError> {
    if change.before == change.after || scan_text(&change.path, &change.before).is_none() {
        return Ok(Vec::new());
    }
    let file = &change.path;
    let before = scan(change, At::Before, &change.before)?;
    let after = scan(change, At::After, &change.after)?;
    let now = scan(change, At::Now, current)?;
    let (before, after, now) = (by_image(&before), by_image(&after), by_image(&now));
    let unpaired = |detail: String| RollbackError::Unpaired {
        file: file.clone(),
        detail,
    };
    if let Some(repo) = before.keys().find(|k| !after.contains_key(*k)) {
        return Err(unpaired(format!(
            "the pull request removed the references to {repo}"
        )));
    }
    let mut edits = Vec::new();
    for (repo, a_refs) in &after {
        let Some(b_refs) = before.get(repo) else {
            return Err(unpaired(format!(
                "the pull request added references to {repo}"
            )));
        };
        if b_refs.len() != a_refs.len() {
            return Err(unpaired(format!(
                "{} references to {repo} before the pull request, {} after",
                b_refs.len(),
                a_refs.len()
            )));
        }
        let mut c_refs: Option<&Vec<&Reference>> = None;
        for (ordinal, (b, a)) in b_refs.iter().zip(a_refs).enumerate() {
            if (&b.tag, &b.digest) == (&a.tag, &a.digest) {
                continue;
            }
            let (Some(b_tag), Some(a_tag)) = (&b.tag, &a.tag) else {
                return Err(unpaired(format!(
                    "line {}: the pull request changed {} from {} to {}, which is not a tag bump",
                    a.line,
                    a.image,
                    version_of(b),
                    version_of(a)
                )));
            };
            let c_list =
                match c_refs {
                    Some(l) => l,
                    None => {
                        let l = now.get(repo).filter(|l| l.len() == a_refs.len()).ok_or_else(|| {
                        unpaired(format!(
                            "{} references to {} since the merge, {} now: cannot tell which \
                             the pull request changed",
                            a_refs.len(),
                            a.image,
                            now.get(repo).map_or(0, |l| l.len())
                        ))
                    })?;
                        c_refs = Some(l);
                        l
                    }
                };
            let c = c_list[ordinal];
            if (&c.tag, &c.digest) == (&b.tag, &b.digest) {
                continue; // already back
            }
            if (&c.tag, &c.digest) != (&a.tag, &a.digest) {
                return Err(RollbackError::MovedOn {
                    file: file.clone(),
                    line: c.line,
                    image: c.image.clone(),
                    now: version_of(c),
                    wrote: version_of(a),
                });
            }
            edits.push((
                ordinal,
                RollbackEdit {
                    file: file.clone(),
                    image: c.image.clone(),
                    from_tag: a_tag.clone(),
                    to_tag: b_tag.clone(),
                    from_digest: a.digest.clone(),
                    to_digest: b.digest.clone(),
                    line: c.line,
                },
            ));
        }
    }
    edits.sort_by_key(|(_, e)| e.line);
    Ok(edits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn change(path: &str, before: &str, after: &str) -> FileChange {
        FileChange::new(path, before, after)
    }

    fn fixture(rel: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/{rel}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// Rolls `c` back on `current` and returns the one file's new text.
    fn roll(c: &FileChange, current: &str) -> String {
        let out = apply_rollback(
            std::slice::from_ref(c),
            &[(c.path.clone(), current.to_string())],
        )
        .unwrap();
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].0, c.path);
        out[0].1.clone()
    }

    /// The pull request's `after`, rolled back, is its `before`, byte for byte.
    fn undoes_itself(c: &FileChange) {
        assert_ne!(c.before, c.after);
        assert_eq!(roll(c, &c.after), c.before);
    }

    #[test]
    fn helm_values_split_and_inline_roll_back_byte_exact() {
        let before = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0 # pinned by ops\n\
                      beacon:\n  image: \"sigp/lighthouse:v6.0.0\"\n";
        let after = before.replace("v6.0.0", "v7.0.0");
        let c = change("values.yaml", before, &after);
        undoes_itself(&c);
        let edits =
            plan_rollback(std::slice::from_ref(&c), &[(c.path.clone(), after.clone())]).unwrap();
        assert_eq!(
            edits,
            vec![
                RollbackEdit {
                    file: "values.yaml".into(),
                    image: "sigp/lighthouse".into(),
                    from_tag: "v7.0.0".into(),
                    to_tag: "v6.0.0".into(),
                    from_digest: None,
                    to_digest: None,
                    line: 3,
                },
                RollbackEdit {
                    file: "values.yaml".into(),
                    image: "sigp/lighthouse".into(),
                    from_tag: "v7.0.0".into(),
                    to_tag: "v6.0.0".into(),
                    from_digest: None,
                    to_digest: None,
                    line: 5,
                },
            ]
        );
    }

    #[test]
    fn helm_fixture_with_bom_and_crlf() {
        let before = fixture("helm/crlf-bom.yaml");
        assert!(before.contains("\r\n") && before.starts_with('\u{feff}'));
        let after = before.replacen("tag: 24.10.3", "tag: 25.1.0", 1);
        undoes_itself(&change("crlf-bom.yaml", &before, &after));
    }

    #[test]
    fn helm_anchor_shared_by_two_references() {
        let before = fixture("helm/anchors.yaml");
        let after = before.replace("&lh v5.3.0", "&lh v5.4.0");
        undoes_itself(&change("values.yaml", &before, &after));
    }

    #[test]
    fn digest_restored_or_dropped_exactly() {
        let before = fixture("helm/tag-with-digest.yaml");
        let old = "18.19.0@sha256:4d0ccca1d151f860b3f469c60df78bf1ab798f15e88dc1912d31d6741653eb99";
        assert!(before.contains(old));
        // Tag and digest both moved.
        let after = before.replace(old, &format!("18.20.0@{D1}"));
        undoes_itself(&change("values.yaml", &before, &after));
        // The pull request added a pin: rolling back drops it, `@` included.
        let k_before = "spec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: nginx:1.27.0\n";
        let k_after = k_before.replace("nginx:1.27.0", &format!("nginx:1.27.1@{D2}"));
        let c = change("k8s/deploy.yaml", k_before, &k_after);
        undoes_itself(&c);
        let edits = plan_rollback(std::slice::from_ref(&c), &[(c.path.clone(), k_after)]).unwrap();
        assert_eq!(edits[0].from_digest.as_deref(), Some(D2));
        assert_eq!(edits[0].to_digest, None);
        // Only the digest moved (a re-pinned tag).
        let d_after = k_before.replace("nginx:1.27.0", &format!("nginx:1.27.0@{D2}"));
        let d_before = k_before.replace("nginx:1.27.0", &format!("nginx:1.27.0@{D1}"));
        undoes_itself(&change("k8s/deploy.yaml", &d_before, &d_after));
    }

    #[test]
    fn kubernetes_fixture_other_references_stay() {
        let before = fixture("kubernetes/deployment.yaml");
        let after = before.replace("client-go:v1.14.12", "client-go:v1.15.0");
        let c = change("deploy/geth.yaml", &before, &after);
        undoes_itself(&c);
        // A reference the pull request did not change, to the same image, at
        // the tag the pull request wrote, is not touched.
        let b2 = format!(
            "{before}---\n{}",
            before.replace("client-go:v1.14.12", "client-go:v1.15.0")
        );
        let a2 = format!("{after}---\n{}", after);
        let c2 = change("deploy/geth.yaml", &b2, &a2);
        let rolled = roll(&c2, &a2);
        assert_eq!(rolled, b2);
        assert_eq!(rolled.matches("client-go:v1.15.0").count(), 1);
    }

    #[test]
    fn compose_fixture_with_variable_defaults() {
        let before = fixture("compose/docker-compose.yml");
        let after = before
            .replace("${GETH_TAG:-v1.14.12}", "${GETH_TAG:-v1.15.0}")
            .replace("sigp/lighthouse:v5.3.0", "sigp/lighthouse:v5.4.0");
        undoes_itself(&change("docker-compose.yml", &before, &after));
    }

    #[test]
    fn dotenv_fixtures_keep_quotes_comments_and_crlf() {
        let before = fixture("dotenv/quoting.env");
        let after = before
            .replace("A_TAG=\"v1.0.0\"", "A_TAG=\"v1.1.0\"")
            .replace("'v2.0.0' # single", "'v2.1.0' # single")
            .replace("C_TAG=v3.0.0", "C_TAG=v3.0.1")
            .replace(":-v1.4.0}", ":-v1.5.0}");
        undoes_itself(&change(".env", &before, &after));
        let before = fixture("dotenv/crlf.env");
        let after = before.replace("CACHE=7.4\r\n", "CACHE=7.5\r\n");
        undoes_itself(&change("crlf.env", &before, &after));
    }

    #[test]
    fn later_changes_on_the_base_survive() {
        let before = fixture("kubernetes/deployment.yaml");
        let after = before.replace("client-go:v1.14.12", "client-go:v1.15.0");
        let c = change("geth.yaml", &before, &after);
        // Since the merge: the exporter moved, a comment and a line appeared.
        let now = after
            .replace("node-exporter:v1.8.2", "node-exporter:v1.9.0")
            .replace(
                "  name: geth\n",
                "  name: geth # mainnet\n  namespace: eth\n",
            );
        let rolled = roll(&c, &now);
        assert_eq!(
            rolled,
            now.replace("client-go:v1.15.0", "client-go:v1.14.12")
        );
    }

    #[test]
    fn moved_on_since_is_an_error_naming_the_place() {
        let before = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0\n";
        let after = before.replace("v6.0.0", "v7.0.0");
        let c = change("env/prod/values.yaml", before, &after);
        let now = before.replace("v6.0.0", "v7.1.0");
        let err = apply_rollback(std::slice::from_ref(&c), &[(c.path.clone(), now)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "env/prod/values.yaml:3: sigp/lighthouse moved on since: now v7.1.0 \
             (the pull request wrote v7.0.0)"
        );
        assert!(matches!(
            plan_rollback(std::slice::from_ref(&c), &[]),
            Err(RollbackError::Missing { .. })
        ));
    }

    #[test]
    fn already_rolled_back_is_nothing_to_do() {
        let before = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0\n";
        let after = before.replace("v6.0.0", "v7.0.0");
        let c = change("values.yaml", before, &after);
        let out =
            apply_rollback(std::slice::from_ref(&c), &[(c.path.clone(), before.into())]).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn one_file_moved_on_and_nothing_is_written_anywhere() {
        let v = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0\n";
        let a = change("a/values.yaml", v, &v.replace("v6.0.0", "v7.0.0"));
        let b = change("b/values.yaml", v, &v.replace("v6.0.0", "v7.0.0"));
        let current = [
            (a.path.clone(), a.after.clone()),
            (b.path.clone(), v.replace("v6.0.0", "v8.0.0")),
        ];
        assert!(matches!(
            apply_rollback(&[a.clone(), b.clone()], &current),
            Err(RollbackError::MovedOn { file, line: 3, .. }) if file == "b/values.yaml"
        ));
        // Per file, the other one still rolls back.
        assert_eq!(rollback_file(&a, &a.after).unwrap().as_deref(), Some(v));
    }

    #[test]
    fn references_added_since_the_merge_make_pairing_ambiguous() {
        let v = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0\n";
        let c = change("values.yaml", v, &v.replace("v6.0.0", "v7.0.0"));
        let now = format!("{}other:\n  image: sigp/lighthouse:v7.0.0\n", c.after);
        assert!(matches!(
            apply_rollback(std::slice::from_ref(&c), &[(c.path.clone(), now)]),
            Err(RollbackError::Unpaired { .. })
        ));
    }

    #[test]
    fn files_without_references_or_unchanged_are_ignored() {
        let readme = change("README.md", "v6", "v7");
        let same = change("values.yaml", "a: 1\n", "a: 1\n");
        let comment = change("values.yaml", "a: 1 # x\n", "a: 1 # y\n");
        let current = [
            ("README.md".to_string(), "v7".to_string()),
            ("values.yaml".to_string(), "a: 1 # y\n".to_string()),
        ];
        assert!(
            apply_rollback(&[readme, same, comment], &current)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_digest_that_cannot_be_written_back_is_refused() {
        // Before: pinned inline; after: the pull request rewrote it as a
        // split helm value without a digest (not something upkeep does, but
        // the rollback must not silently lose the pin).
        let before = format!("image:\n  repository: sigp/lighthouse\n  tag: v6.0.0@{D1}\n");
        let after = "image:\n  repository: sigp/lighthouse\n  tag: v7.0.0\n";
        let c = change("values.yaml", &before, after);
        let now = "image:\n  repository: sigp/lighthouse\n  tag: \"v7.0.0\"\n";
        match rollback_file(&c, now) {
            Err(RollbackError::Refused {
                line: 3, detail, ..
            }) => {
                assert!(detail.contains("digest"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }

    /// A pull request that had to quote a numeric-looking tag (`12.0`):
    /// rolling back keeps the quotes, so the file means what it did before
    /// but is not byte-identical. Documented limitation.
    #[test]
    fn quotes_added_by_the_pull_request_stay() {
        let before = "grafana:\n  image:\n    repository: grafana/grafana\n    tag: 11.5.1\n";
        let after = before.replace("tag: 11.5.1", "tag: \"12.0\"");
        let c = FileChange::new("values.yaml", before, &after);
        let rolled = rollback_file(&c, &after).unwrap().unwrap();
        assert_eq!(rolled, before.replace("tag: 11.5.1", "tag: \"11.5.1\""));
    }

    /// A compose tag held in the project's `.env`: the `.env` alone holds no
    /// reference; read with its compose file, its tag rolls back in place.
    #[test]
    fn env_held_compose_tag_rolls_back_in_the_env() {
        let compose = "services:\n  app:\n    image: ghcr.io/acme/app:${APP_TAG}\n".to_string();
        let before = "# app\r\nAPP_TAG=1.4.0 # pinned\r\nOTHER=x\r\n";
        let after = before.replace("1.4.0", "1.5.0");
        let now = after.replace("OTHER=x", "OTHER=y");
        let alone = change("deploy/.env", before, &after);
        assert!(
            plan_rollback(
                std::slice::from_ref(&alone),
                &[("deploy/.env".into(), now.clone())]
            )
            .unwrap()
            .is_empty()
        );
        let project = vec![("deploy/compose.yaml".to_string(), compose)];
        let c = FileChange {
            projects: [project.clone(), project.clone(), project],
            ..alone
        };
        let edits = plan_rollback(
            std::slice::from_ref(&c),
            &[("deploy/.env".into(), now.clone())],
        )
        .unwrap();
        assert_eq!(edits.len(), 1, "{edits:?}");
        assert_eq!(
            (edits[0].image.as_str(), edits[0].to_tag.as_str()),
            ("ghcr.io/acme/app", "1.4.0")
        );
        assert_eq!(roll(&c, &now), before.replace("OTHER=x", "OTHER=y"));
    }
}
