//! `upkeep init`: scans a deployment tree and writes a starting
//! `upkeep.yml` (or `.github/upkeep.yml`) from the guess of
//! [`crate::domain::onboard`]. Never overwrites a file without `--force`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use super::Exit;
use crate::domain::printable::{printable, printable_text};
use crate::domain::{manifest, onboard};

pub const AFTER_HELP: &str = "\
Examples:
  upkeep init                      # ./upkeep.yml for the tree here
  upkeep init deploy/ --output upkeep.yml
  upkeep init . --repository-file  # .github/upkeep.yml, for the GitHub App
  upkeep init . --output -         # print it

Environments are guessed from paths: directories under envs/, environments/,
overlays/, clusters/ (and similar), directories or files named after a
network (mainnet, hoodi, sepolia, holesky, gnosis, chiado, devnet-N, ...) or
a stage (dev, staging, prod, ...), Helm values-<name>.yaml files. Waves:
devnets and test stages first, testnets, staging, then mainnet and
production. An existing file is never replaced without --force (exit 2).";

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The deployment tree to scan.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Where to write [default: PATH/upkeep.yml, or PATH/.github/upkeep.yml
    /// with --repository-file]; `-` prints it.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace the output file when it exists.
    #[arg(long)]
    force: bool,
    /// Write the per-repository form (`.github/upkeep.yml`: the keys of one
    /// `repositories[]` entry) instead of a settings file.
    #[arg(long)]
    repository_file: bool,
}

pub fn init(args: &InitArgs) -> Result<Exit> {
    let root = &args.path;
    if !root.is_dir() {
        anyhow::bail!("{} is not a directory", root.display());
    }
    let output = args.output.clone().unwrap_or_else(|| {
        let file = if args.repository_file {
            crate::domain::settings::REPO_FILE
        } else {
            crate::domain::settings::DEFAULT_FILE
        };
        if root.as_os_str() == "." {
            PathBuf::from(file)
        } else {
            root.join(file)
        }
    });
    let to_stdout = output.as_os_str() == "-";
    if !to_stdout && !args.force && std::fs::symlink_metadata(&output).is_ok() {
        eprintln!(
            "error: {} exists: not overwritten (use --force to replace it)",
            printable(&output.display().to_string())
        );
        return Ok(Exit::Usage);
    }
    let scan = manifest::scan(root);
    let files: Vec<&str> = scan.references.iter().map(|r| r.file.as_str()).collect();
    let guess = onboard::guess(&files);
    let text = if args.repository_file {
        onboard::render_repo_file(&guess)
    } else {
        onboard::render_settings(&guess, &relative_path(root, &output))
    };
    let mut summary = String::new();
    if to_stdout {
        std::io::stdout().write_all(text.as_bytes())?;
    } else {
        if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&output, &text)
            .with_context(|| format!("cannot write {}", output.display()))?;
        summary.push_str(&format!(
            "wrote {}: {} environments from {} files with image references\n",
            output.display(),
            guess.environments.len(),
            guess.files
        ));
    }
    for line in onboard::summary(&guess) {
        summary.push_str(&format!("  {line}\n"));
    }
    if !guess.unplaced.is_empty() {
        summary.push_str(&format!(
            "  {} file{} in no environment (upgraded without waves)\n",
            guess.unplaced.len(),
            if guess.unplaced.len() == 1 { "" } else { "s" }
        ));
    }
    if !scan.problems.is_empty() {
        summary.push_str(&format!(
            "  {} files could not be read (see `upkeep scan {}`)\n",
            scan.problems.len(),
            root.display()
        ));
    }
    if !to_stdout {
        if args.repository_file {
            summary.push_str(
                "next: review it, then commit it to the repository's base branch: upkeep starts there once it is merged\n",
            );
        } else {
            summary.push_str(&format!(
                "next: review it, then run `upkeep settings validate {}` and `upkeep plan --settings {}`\n",
                output.display(),
                output.display()
            ));
        }
    }
    let summary = printable_text(&summary).into_owned();
    if to_stdout {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    Ok(Exit::Success)
}

/// `root` as the settings written at `output` name it: relative to the
/// output's directory when inside it, else absolute.
fn relative_path(root: &Path, output: &Path) -> String {
    let Ok(root) = root.canonicalize() else {
        return root.display().to_string();
    };
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    match root.strip_prefix(&dir) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => root.display().to_string(),
    }
}
