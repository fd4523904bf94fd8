//! Onboarding: a starting configuration guessed from a deployment tree.
//!
//! [`guess`] takes the files that hold image references (what a scan found)
//! and returns the environments they suggest: directories under `envs/`,
//! `environments/`, `overlays/`, `clusters/` (and similar), directories or
//! files named after a network (`hoodi/`, `values-mainnet.yaml`) or a usual
//! stage (`staging/`, `prod/`), Helm `values-<name>.yaml` files. Networks
//! are recognised by path segments; waves put devnets and test stages
//! first, testnets and staging next, mainnet and production last.
//! [`render_settings`] and [`render_repo_file`] write the guess as
//! commented YAML (`upkeep.yml`, or `.github/upkeep.yml`), every key
//! explained. Pure: no file system, network or clock.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::settings::Network;

/// Directories whose children are environments (`envs/hoodi/`).
const CONTAINERS: &[&str] = &[
    "env",
    "envs",
    "environment",
    "environments",
    "overlays",
    "overlay",
    "clusters",
    "cluster",
    "stages",
    "deployments",
    "networks",
];

/// Well-known public networks (the ones with a fork schedule, and others
/// deployment repositories name).
const NETWORKS: &[&str] = &[
    "mainnet", "hoodi", "sepolia", "holesky", "goerli", "gnosis", "chiado", "ephemery",
];

/// Stage names that become environments wherever they are a directory.
const STAGES: &[&str] = &[
    "dev",
    "development",
    "test",
    "testing",
    "qa",
    "sandbox",
    "staging",
    "stage",
    "preprod",
    "uat",
    "canary",
    "prod",
    "production",
];

/// The starting configuration guessed from a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guess {
    /// In the order to write them (wave, then name): a file belongs to the
    /// first environment whose globs match it.
    pub environments: Vec<GuessedEnvironment>,
    /// Files with image references, in all.
    pub files: usize,
    /// Files with image references that are in no environment.
    pub unplaced: Vec<String>,
}

/// One environment of a [`Guess`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuessedEnvironment {
    pub name: String,
    /// Globs from the repository root.
    pub paths: Vec<String>,
    /// The network it runs, when a path names one.
    pub network: Option<String>,
    /// Rollout wave, 1 first.
    pub wave: u32,
    /// Files with image references in it.
    pub files: usize,
    /// Why it was guessed (`directory under envs/`).
    pub why: String,
}

/// The network a path segment names (`values-mainnet.yaml` → `mainnet`,
/// `devnet-7` → `devnet-7`), if any.
pub fn network_of(segment: &str) -> Option<String> {
    let lower = segment.to_ascii_lowercase();
    let tokens: Vec<&str> = lower.split(['-', '_', '.']).collect();
    for (i, t) in tokens.iter().enumerate() {
        if NETWORKS.contains(t) {
            return Some((*t).to_string());
        }
        if *t == "devnet" {
            return Some(match tokens.get(i + 1) {
                Some(n) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
                    format!("devnet-{n}")
                }
                _ => "devnet".to_string(),
            });
        }
        if let Some(n) = t.strip_prefix("devnet")
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
        {
            return Some(format!("devnet-{n}"));
        }
    }
    None
}

/// How early an environment rolls out: 1 devnets and test stages, 2
/// testnets, 3 staging, 4 mainnet, production and names not recognised
/// (nothing waits for them).
fn rank(name: &str, network: Option<&str>) -> u32 {
    if let Some(n) = network {
        return match n {
            "mainnet" | "gnosis" => 4,
            n if n.starts_with("devnet") || n == "ephemery" => 1,
            _ => 2,
        };
    }
    let lower = name.to_ascii_lowercase();
    let tokens: Vec<&str> = lower.split(['-', '_', '.']).collect();
    let has = |words: &[&str]| tokens.iter().any(|t| words.contains(t));
    if has(&["prod", "production", "live"]) {
        4
    } else if has(&["staging", "stage", "preprod", "uat", "canary", "testnet"]) {
        3
    } else if has(&[
        "dev",
        "development",
        "devnet",
        "local",
        "sandbox",
        "test",
        "testing",
        "ci",
        "qa",
    ]) {
        1
    } else {
        4
    }
}

/// A segment with glob metacharacters escaped.
fn escape(segment: &str) -> String {
    let mut out = String::new();
    for c in segment.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

/// The environment name a file name suggests: Helm `values-<name>.yaml`
/// (any name), or a file named after a network.
fn file_environment(file: &str) -> Option<(String, &'static str)> {
    let lower = file.to_ascii_lowercase();
    let stem = lower
        .strip_suffix(".yaml")
        .or_else(|| lower.strip_suffix(".yml"))?;
    let original = &file[..stem.len()];
    for prefix in ["values-", "values.", "values_"] {
        if stem.starts_with(prefix) && stem.len() > prefix.len() {
            return Some((original[prefix.len()..].to_string(), "Helm values file"));
        }
    }
    // `<name>-values.yaml` also names a component (`validator-values.yaml`,
    // `ci-values.yaml`): only a network or a stage makes it an environment.
    for suffix in ["-values", ".values", "_values"] {
        if let Some(name) = stem.strip_suffix(suffix)
            && (network_of(name).is_some() || STAGES.contains(&name))
        {
            return Some((original[..name.len()].to_string(), "Helm values file"));
        }
    }
    network_of(stem).map(|_| (original.to_string(), "file named after a network"))
}

/// The environment of one file: its name, the glob that holds it and why.
fn candidate(file: &str) -> Option<(String, String, &'static str)> {
    let segments: Vec<&str> = file.split('/').collect();
    let last = segments.len().checked_sub(1)?;
    for (i, seg) in segments.iter().enumerate() {
        let prefix = || {
            segments[..=i]
                .iter()
                .map(|s| escape(s))
                .collect::<Vec<_>>()
                .join("/")
        };
        if i < last {
            let lower = seg.to_ascii_lowercase();
            let why =
                if i > 0 && CONTAINERS.contains(&segments[i - 1].to_ascii_lowercase().as_str()) {
                    Some("directory of environments")
                } else if network_of(seg).is_some() {
                    Some("directory named after a network")
                } else if STAGES.contains(&lower.as_str()) {
                    Some("directory named after a stage")
                } else {
                    None
                };
            if let Some(why) = why
                && !seg.starts_with('.')
            {
                return Some((seg.to_string(), format!("{}/**", prefix()), why));
            }
        } else if let Some((name, why)) = file_environment(seg) {
            return Some((name, prefix(), why));
        }
    }
    None
}

/// More than this many globs in an environment are written as one
/// `**/...` glob.
const MAX_GLOBS: usize = 3;

/// Guesses the environments of a tree from the files that hold image
/// references (paths relative to its root, `/`-separated). The result does
/// not depend on the order of `files`.
pub fn guess<S: AsRef<str>>(files: &[S]) -> Guess {
    let files: BTreeSet<&str> = files.iter().map(AsRef::as_ref).collect();
    struct Found {
        globs: BTreeSet<String>,
        files: usize,
        why: BTreeSet<&'static str>,
    }
    let mut found: BTreeMap<String, Found> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for file in &files {
        match candidate(file) {
            Some((name, glob, why)) => {
                let f = found.entry(name).or_insert_with(|| Found {
                    globs: BTreeSet::new(),
                    files: 0,
                    why: BTreeSet::new(),
                });
                f.globs.insert(glob);
                f.files += 1;
                f.why.insert(why);
            }
            None => unplaced.push((*file).to_string()),
        }
    }
    let mut envs: Vec<(u32, GuessedEnvironment)> = found
        .into_iter()
        .map(|(name, f)| {
            let mut globs: Vec<String> = f.globs.into_iter().collect();
            if globs.len() > MAX_GLOBS {
                let general: BTreeSet<String> = globs.iter().map(|g| generalise(g)).collect();
                globs = general.into_iter().collect();
            }
            let network = network_of(&name);
            let rank = rank(&name, network.as_deref());
            let why = f.why.into_iter().collect::<Vec<_>>().join(", ");
            (
                rank,
                GuessedEnvironment {
                    name,
                    paths: globs,
                    network,
                    wave: 0,
                    files: f.files,
                    why,
                },
            )
        })
        .collect();
    let ranks: BTreeSet<u32> = envs.iter().map(|(r, _)| *r).collect();
    for (r, env) in &mut envs {
        env.wave = ranks
            .iter()
            .position(|x| x == r)
            .map_or(1, |p| p as u32 + 1);
    }
    envs.sort_by(|(_, a), (_, b)| (a.wave, &a.name).cmp(&(b.wave, &b.name)));
    Guess {
        environments: envs.into_iter().map(|(_, e)| e).collect(),
        files: files.len(),
        unplaced,
    }
}

/// `a/b/hoodi/**` → `**/hoodi/**`; `charts/x/values-hoodi.yaml` →
/// `**/values-hoodi.yaml`.
fn generalise(glob: &str) -> String {
    match glob.strip_suffix("/**") {
        Some(dir) => format!("**/{}/**", dir.rsplit('/').next().unwrap_or(dir)),
        None => format!("**/{}", glob.rsplit('/').next().unwrap_or(glob)),
    }
}

/// A YAML scalar: plain when that reads back as the same string, else
/// double-quoted.
fn scalar(text: &str) -> String {
    let plain = (text == "."
        || text.starts_with("./")
        || text.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        text.to_string()
    } else {
        serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
    }
}

/// The environments as YAML list items indented by `indent` spaces, each
/// key explained on the first one.
fn render_environments(guess: &Guess, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    if guess.environments.is_empty() {
        out.push_str(&format!(
            "{pad}# No environment recognised (no `envs/<name>/`, network or stage\n\
             {pad}# directories, no `values-<name>.yaml`): every reference is upgraded\n\
             {pad}# at once. Add environments to roll releases out in waves, e.g.\n\
             {pad}#   - name: hoodi\n\
             {pad}#     paths: [\"envs/hoodi/**\"]\n\
             {pad}#     network: hoodi\n\
             {pad}#     wave: 1\n\
             {pad}environments: []\n"
        ));
        return;
    }
    // Networks without a fork schedule upkeep knows must be declared, so
    // that a typo such as `mainet` is caught.
    let devnets: BTreeSet<&str> = guess
        .environments
        .iter()
        .filter_map(|e| e.network.as_deref())
        .filter(|n| !Network::from_name(n).is_known())
        .collect();
    if !devnets.is_empty() {
        let list: Vec<String> = devnets.iter().map(|n| scalar(n)).collect();
        out.push_str(&format!(
            "{pad}# devnets: networks of this repository with no fork schedule upkeep\n\
             {pad}# knows (any other name than mainnet, sepolia, holesky, hoodi is a typo)\n\
             {pad}devnets: [{}]\n",
            list.join(", ")
        ));
    }
    out.push_str(&format!(
        "{pad}# Named groups of paths. A file belongs to the first environment whose\n\
         {pad}# globs match it (`*` stays within a directory, `**` crosses them).\n\
         {pad}environments:\n"
    ));
    for (i, env) in guess.environments.iter().enumerate() {
        let first = i == 0;
        let files = if env.files == 1 { "file" } else { "files" };
        out.push_str(&format!(
            "{pad}  # {} {files} with image references ({})\n",
            env.files, env.why
        ));
        if first {
            out.push_str(&format!(
                "{pad}  # name: unique in the repository; shown in pull requests\n"
            ));
        }
        out.push_str(&format!("{pad}  - name: {}\n", scalar(&env.name)));
        if first {
            out.push_str(&format!(
                "{pad}    # paths: globs from the repository root\n"
            ));
        }
        let paths: Vec<String> = env
            .paths
            .iter()
            .map(|p| serde_json::to_string(p).unwrap_or_default())
            .collect();
        out.push_str(&format!("{pad}    paths: [{}]\n", paths.join(", ")));
        match &env.network {
            Some(n) => {
                if first {
                    out.push_str(&format!(
                        "{pad}    # network: the chain it runs; fork deadlines follow its schedule\n"
                    ));
                }
                out.push_str(&format!("{pad}    network: {}\n", scalar(n)));
            }
            None => {
                if first {
                    out.push_str(&format!(
                        "{pad}    # network: none recognised in its paths (set one to follow a\n\
                         {pad}    # fork schedule: mainnet, hoodi, sepolia, holesky or a devnet's name)\n"
                    ));
                }
            }
        }
        if first {
            out.push_str(&format!(
                "{pad}    # wave: 1 gets a release first; each later wave waits for the\n\
                 {pad}    # earlier ones to run it for `rollout.soak` (default 24h)\n"
            ));
        }
        out.push_str(&format!("{pad}    wave: {}\n", env.wave));
    }
    if !guess.unplaced.is_empty() {
        let n = guess.unplaced.len();
        let (files, are) = if n == 1 {
            ("file", "is")
        } else {
            ("files", "are")
        };
        out.push_str(&format!(
            "{pad}# {n} other {files} with image references {are} in no environment: their\n\
             {pad}# references are upgraded at once, without waves.\n"
        ));
    }
}

/// The header both forms start with; `next` says what to do with it.
fn header(file: &str, guess: &Guess, next: &str, out: &mut String) {
    out.push_str(&format!(
        "# {file}: written by `upkeep init` from {} files with image references.\n\
         # The environments, networks and waves below are guesses from the paths:\n\
         # read them, adjust them, then {next}.\n\
         # Every key is described in upkeep.example.yml.\n\n",
        guess.files
    ));
}

/// `upkeep.yml` for the tree at `path` (as written in `repositories[]`,
/// relative to the settings file).
pub fn render_settings(guess: &Guess, path: &str) -> String {
    let mut out = String::new();
    header(
        "upkeep.yml",
        guess,
        "check the file with `upkeep settings validate`",
        &mut out,
    );
    out.push_str(
        "# Deployment repositories to keep up to date.\n\
         repositories:\n\
         \x20 # A local checkout (`path:`, relative to this file), or `github: owner/name`.\n",
    );
    out.push_str(&format!("  - path: {}\n", scalar(path)));
    out.push_str("    # branch: the branch pull requests target (default: the default branch)\n");
    render_environments(guess, 4, &mut out);
    out
}

/// `.github/upkeep.yml`: the keys of this repository's `repositories[]`
/// entry.
pub fn render_repo_file(guess: &Guess) -> String {
    let mut out = String::new();
    header(
        ".github/upkeep.yml",
        guess,
        "merge it:\n# upkeep works on this repository once it is on the base branch",
        &mut out,
    );
    out.push_str(
        "# This file configures the repository it is in (the keys of one\n\
         # `repositories[]` entry of upkeep.yml).\n\
         # branch: the branch pull requests target (default: the default branch)\n",
    );
    render_environments(guess, 0, &mut out);
    out
}

/// One line per environment for a terminal: `hoodi (wave 1, network hoodi): envs/hoodi/**`.
pub fn summary(guess: &Guess) -> Vec<String> {
    guess
        .environments
        .iter()
        .map(|e| {
            let network = e
                .network
                .as_deref()
                .map_or_else(|| "no network".to_string(), |n| format!("network {n}"));
            format!(
                "{} (wave {}, {network}, {} file{}): {}",
                e.name,
                e.wave,
                e.files,
                if e.files == 1 { "" } else { "s" },
                e.paths.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(g: &Guess) -> Vec<(String, Option<String>, u32)> {
        g.environments
            .iter()
            .map(|e| (e.name.clone(), e.network.clone(), e.wave))
            .collect()
    }

    #[test]
    fn networks_are_recognised_in_segments() {
        assert_eq!(network_of("mainnet").as_deref(), Some("mainnet"));
        assert_eq!(network_of("values-hoodi.yaml").as_deref(), Some("hoodi"));
        assert_eq!(network_of("prod_Sepolia").as_deref(), Some("sepolia"));
        assert_eq!(network_of("devnet-7").as_deref(), Some("devnet-7"));
        assert_eq!(network_of("devnet12").as_deref(), Some("devnet-12"));
        assert_eq!(network_of("mainnetwork"), None);
        assert_eq!(network_of("domain"), None);
    }

    #[test]
    fn environments_come_from_directories_and_testnets_go_first() {
        let g = guess(&[
            "envs/mainnet/values.yaml",
            "envs/hoodi/values.yaml",
            "envs/hoodi/geth.yaml",
            "envs/devnet-3/compose.yaml",
            "envs/blue/values.yaml",
            "charts/geth/values.yaml",
        ]);
        assert_eq!(
            names(&g),
            [
                ("devnet-3".into(), Some("devnet-3".into()), 1),
                ("hoodi".into(), Some("hoodi".into()), 2),
                ("blue".into(), None, 3),
                ("mainnet".into(), Some("mainnet".into()), 3),
            ]
        );
        assert_eq!(g.environments[1].paths, ["envs/hoodi/**"]);
        assert_eq!(g.environments[1].files, 2);
        assert_eq!(g.unplaced, ["charts/geth/values.yaml"]);
    }

    #[test]
    fn helm_values_files_and_stage_directories() {
        let g = guess(&[
            "charts/geth/ci/validator-values.yaml",
            "charts/geth/values-mainnet.yaml",
            "charts/geth/values-sepolia.yaml",
            "deploy/overlays/staging/kustomization.yaml",
            "deploy/overlays/production/kustomization.yaml",
            "k8s/dev/app.yaml",
        ]);
        assert_eq!(
            names(&g),
            [
                ("dev".into(), None, 1),
                ("sepolia".into(), Some("sepolia".into()), 2),
                ("staging".into(), None, 3),
                ("mainnet".into(), Some("mainnet".into()), 4),
                ("production".into(), None, 4),
            ]
        );
        let mainnet = &g.environments[3];
        assert_eq!(mainnet.paths, ["charts/geth/values-mainnet.yaml"]);
    }

    #[test]
    fn many_places_become_one_glob_and_order_does_not_matter() {
        let files = [
            "a/overlays/dev/k.yaml",
            "b/overlays/dev/k.yaml",
            "c/overlays/dev/k.yaml",
            "d/overlays/dev/k.yaml",
        ];
        let g = guess(&files);
        assert_eq!(g.environments[0].paths, ["**/dev/**"]);
        let mut reversed = files;
        reversed.reverse();
        assert_eq!(guess(&reversed), g);
    }

    #[test]
    fn rendering_is_stable_and_quotes_what_yaml_would_misread() {
        let g = guess(&["envs/yes/values.yaml", "envs/[x]/a.yaml"]);
        let text = render_settings(&g, ".");
        assert!(text.contains("- name: \"yes\""), "{text}");
        assert!(text.contains("paths: [\"envs/[[]x[]]/**\"]"), "{text}");
        assert!(text.contains("- path: .\n"), "{text}");
        assert_eq!(render_settings(&g, "."), text);
        let empty = render_repo_file(&guess::<&str>(&[]));
        assert!(empty.contains("environments: []"), "{empty}");
    }
}
