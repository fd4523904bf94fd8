//! Rendering: the branch name, commit message, title and body of an upgrade
//! pull request, from minijinja templates in `templates/` (shipped in the
//! binary, each replaceable by a file of the same name in a directory).
//!
//! The caller builds a typed [`PullRequestContext`] (raw data: tags, release
//! notes as GitHub returns them, deadlines as times); [`Templates::render`]
//! turns it into the view the templates see (every quoted upstream text
//! sanitised by [`sanitize`], times formatted against `now`, links built),
//! renders the four templates, validates the branch name, keeps the body
//! within GitHub's [`BODY_LIMIT`] and appends the hidden [`Fingerprint`].
//! `templates/README.md` lists the variables and filters.
//!
//! Pure: no clock (`now` is a parameter), no network, no git, no state. The
//! one exception is [`Templates::load`], which reads the override directory.

mod context;
mod fingerprint;
mod refname;
pub mod sanitize;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::domain::evaluate::Deadline;
use crate::domain::printable::printable;
use crate::domain::release::Release;
use crate::domain::rollout::decide::{UpstreamRollout, WaveState, WaveStatus};
use crate::domain::rules::{Code, Priority};

pub use context::context_of;
pub use fingerprint::{
    Edit, Fingerprint, MARKER as FINGERPRINT_MARKER, edits_key, fnv1a64, parse_fingerprint,
};
pub use refname::{RefNameError, check_branch_name};

/// GitHub's limit on a pull request body, in characters. Bodies are measured
/// in UTF-16 code units, which is never less than the character count.
pub const BODY_LIMIT: usize = 65_536;
/// Release notes longer than this (bytes of markdown) are cut.
pub const NOTES_CAP: usize = 8 * 1024;
/// Titles longer than this (characters) are cut.
pub const TITLE_LIMIT: usize = 256;

/// The templates, by file name.
pub const TEMPLATE_NAMES: [&str; 4] = ["branch.j2", "commit.j2", "title.j2", "body.md.j2"];

const BUILTIN: [(&str, &str); 4] = [
    ("branch.j2", include_str!("../../templates/branch.j2")),
    ("commit.j2", include_str!("../../templates/commit.j2")),
    ("title.j2", include_str!("../../templates/title.j2")),
    ("body.md.j2", include_str!("../../templates/body.md.j2")),
];

/// Everything a pull request is rendered from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PullRequestContext {
    /// The deployment repository (`acme/deploy`), or a local path.
    pub repository: String,
    /// The planner's grouping (`upstream`, `environment:mainnet`, `wave:2`,
    /// a group name): part of the fingerprint, not shown.
    pub group: String,
    /// What the PR is limited to, shown in the title (`in mainnet`) and added
    /// to the branch name; `None` for a PR over the whole repository.
    pub scope: Option<String>,
    /// One entry per upstream; most PRs have exactly one.
    pub upgrades: Vec<Upgrade>,
    /// Fork deadlines that apply (any order).
    pub deadlines: Vec<Deadline>,
    /// Breaking changes, as the rule engine quotes them (markdown).
    pub breaking: Vec<String>,
    /// The security note (`Fixes CVE-2025-1234`, markdown), if any.
    pub security: Option<String>,
    /// Finding codes (`hard-fork`, `breaking-change`, `security-fix`, …).
    pub codes: Vec<Code>,
    pub priority: Option<Priority>,
    /// The rollouts (through the repository's waves) of its upstreams, when
    /// they have one: the body shows their waves.
    pub rollouts: Vec<UpstreamRollout>,
    /// Its environments' readiness for upcoming forks once it is merged
    /// ([`crate::domain::readiness::after`]).
    pub readiness: Vec<crate::domain::readiness::After>,
    /// Whether `@upkeep` comments get an answer (the body offers them only
    /// then).
    pub commands: Commands,
}

/// Whether whoever opens a pull request answers `@upkeep` comments on it:
/// `serve` does (the App receives the comment webhooks), `upkeep run` in a
/// job cannot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Commands {
    /// Nobody listens: the body offers no command.
    #[default]
    NotAnswered,
    /// `serve` answers `@upkeep recheck` and `@upkeep ignore`.
    Answered,
}

/// One upstream moving to a release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Upgrade {
    /// `owner/name` (`sigp/lighthouse`).
    pub upstream: String,
    /// Short name (`lighthouse`).
    pub name: String,
    /// The release tag deployed now (the oldest, if several), for links.
    pub from: Option<String>,
    /// The target release tag (`v7.0.0`).
    pub version: String,
    pub bumps: Vec<Bump>,
    /// Every release after `from` up to and including `version`, newest
    /// first, notes raw as GitHub returns them.
    pub releases: Vec<Release>,
}

/// One image moving from one tag to another in some files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bump {
    pub image: String,
    pub from: String,
    pub to: String,
    pub files: Vec<String>,
    pub environments: Vec<String>,
}

impl PullRequestContext {
    /// The planned edits: one per file of every bump.
    pub fn edits(&self) -> Vec<Edit<'_>> {
        self.upgrades
            .iter()
            .flat_map(|u| &u.bumps)
            .flat_map(|b| {
                b.files.iter().map(move |f| Edit {
                    file: f,
                    image: &b.image,
                    from: &b.from,
                    to: &b.to,
                })
            })
            .collect()
    }

    /// The fingerprint a body rendered from this context carries.
    pub fn fingerprint(&self) -> Fingerprint {
        let join =
            |f: fn(&Upgrade) -> &str| self.upgrades.iter().map(f).collect::<Vec<_>>().join(" ");
        Fingerprint {
            v: fingerprint::VERSION,
            repo: self.repository.clone(),
            upstream: join(|u| &u.upstream),
            version: join(|u| &u.version),
            group: self.group.clone(),
            key: edits_key(self.edits()),
            environments: self
                .upgrades
                .iter()
                .flat_map(|u| &u.bumps)
                .flat_map(|b| b.environments.iter().cloned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
            rollout: self.rollout_key(),
            rollback: None,
        }
    }

    /// Whether `w` is a wave this pull request moves: its environments
    /// include one of the PR's for the rollout's upstream.
    fn moves_wave(&self, r: &UpstreamRollout, w: &WaveStatus) -> bool {
        self.upgrades
            .iter()
            .filter(|u| u.upstream == r.upstream)
            .flat_map(|u| &u.bumps)
            .flat_map(|b| &b.environments)
            .any(|e| w.environments.contains(e))
    }

    /// A wave's state as the body shows it: `this pull request` for the
    /// waves it moves while they wait for it, `open #12`, `blocked #9`,
    /// else the state.
    fn wave_state(&self, r: &UpstreamRollout, w: &WaveStatus) -> String {
        match (w.state, w.pull) {
            (WaveState::Pending | WaveState::Open, _) if self.moves_wave(r, w) => {
                "this pull request".into()
            }
            (WaveState::Open | WaveState::Blocked, Some(n)) => format!("{} #{n}", w.state.as_str()),
            _ => w.state.as_str().to_string(),
        }
    }

    /// A hash of the rollouts' waves and their shown states (not their
    /// times): a body is rewritten when a wave moves on, not when a time
    /// in it passes. `None` without a rollout.
    ///
    /// The readiness shown (each environment's state once merged and what
    /// is still needed, with the pull requests that bring it) counts too:
    /// a pull request opened for the other layer of a fork gets linked
    /// from this one's body on the next run.
    fn rollout_key(&self) -> Option<String> {
        if self.rollouts.is_empty() && self.readiness.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = Vec::new();
        for r in &self.readiness {
            parts.push(format!(
                "readiness {} {} {} {}",
                r.environment,
                r.fork,
                r.state.as_str(),
                r.still_needed
                    .iter()
                    .map(|n| format!("{} {:?}", n.text, n.pulls))
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        for r in &self.rollouts {
            parts.push(format!("{} {} {}", r.upstream, r.version, r.at_risk));
            for w in &r.waves {
                parts.push(format!("{}={}", w.wave, self.wave_state(r, w)));
            }
        }
        Some(fingerprint::text_key(&parts))
    }
}

/// A rendered pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub branch: String,
    /// Subject, blank line, body; ends with a newline.
    pub commit_message: String,
    pub title: String,
    /// Within [`BODY_LIMIT`]; ends with the fingerprint comment.
    pub body: String,
    pub fingerprint: Fingerprint,
    /// Release sections left out of the body to stay within the limit.
    pub omitted_releases: usize,
    /// The body was cut at the limit (after every release section was left out).
    pub truncated: bool,
}

/// A template could not be read, compiled or rendered, or rendered something
/// unusable.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", at(origin, *line))]
    Template {
        /// The file (`templates/title.j2`, or the override's path).
        origin: String,
        line: Option<usize>,
        message: String,
    },
    #[error("{origin}: the branch name {name:?} is not valid for git: {reason}")]
    BranchName {
        origin: String,
        name: String,
        reason: RefNameError,
    },
    #[error("{origin}: rendered an empty {what}")]
    Empty { origin: String, what: &'static str },
    #[error(
        "unknown template {0:?}; the templates are branch.j2, commit.j2, title.j2 and body.md.j2"
    )]
    Unknown(String),
    #[error("nothing to render: the pull request upgrades no upstream")]
    NoUpgrades,
}

fn at(origin: &str, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{origin}:{l}"),
        None => origin.to_string(),
    }
}

/// A template source replacing a built-in one.
#[derive(Clone, Debug)]
pub struct Override {
    /// One of [`TEMPLATE_NAMES`].
    pub name: String,
    /// Where it came from, for errors (a path).
    pub origin: String,
    pub source: String,
}

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
    origins: BTreeMap<String, String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("origins", &self.origins)
            .finish()
    }
}

impl Templates {
    /// The built-in templates, each replaced by `<dir>/<name>` where that
    /// file exists. Other files in `dir` are not read (the directory may hold
    /// other templates, such as Slack text).
    pub fn load(dir: Option<&Path>) -> Result<Templates, RenderError> {
        let mut overrides = Vec::new();
        if let Some(dir) = dir {
            for name in TEMPLATE_NAMES {
                let path = dir.join(name);
                match std::fs::read_to_string(&path) {
                    Ok(source) => overrides.push(Override {
                        name: name.to_string(),
                        origin: path.display().to_string(),
                        source,
                    }),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => return Err(RenderError::Read { path, source }),
                }
            }
        }
        Templates::with_overrides(overrides)
    }

    /// The built-in templates with `overrides` in place of some.
    pub fn with_overrides(
        overrides: impl IntoIterator<Item = Override>,
    ) -> Result<Templates, RenderError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.add_filter("code", |v: Value| sanitize::code_span(&text_of(&v), false));
        env.add_filter("cell", |v: Value| text_of(&v).replace('|', "\\|"));
        env.add_filter("text", |v: Value| sanitize::sanitize_text(&text_of(&v)));
        env.add_filter("slug", |v: Value| slug(&text_of(&v)));
        let mut origins = BTreeMap::new();
        let mut sources: BTreeMap<&str, (String, String)> = BUILTIN
            .iter()
            .map(|(name, src)| (*name, (format!("templates/{name}"), src.to_string())))
            .collect();
        for o in overrides {
            let Some(slot) = sources.get_mut(o.name.as_str()) else {
                return Err(RenderError::Unknown(o.name));
            };
            *slot = (o.origin, o.source);
        }
        for (name, (origin, source)) in sources {
            origins.insert(name.to_string(), origin);
            if let Err(e) = env.add_template_owned(name.to_string(), source) {
                return Err(template_error(&origins, name, &e));
            }
        }
        Ok(Templates { env, origins })
    }

    /// Renders the pull request for `ctx` as of `now`.
    pub fn render(
        &self,
        ctx: &PullRequestContext,
        now: DateTime<Utc>,
    ) -> Result<Rendered, RenderError> {
        if ctx.upgrades.is_empty() {
            return Err(RenderError::NoUpgrades);
        }
        let prepared = Prepared::new(ctx, now);
        let full = prepared.view(usize::MAX);

        let branch = self.render_one("branch.j2", &full)?;
        let branch = branch.trim().to_string();
        check_branch_name(&branch).map_err(|reason| RenderError::BranchName {
            origin: self.origin("branch.j2"),
            name: branch.clone(),
            reason,
        })?;

        let title = self.render_one("title.j2", &full)?;
        let title =
            sanitize::neutralize_plain(&title.split_whitespace().collect::<Vec<_>>().join(" "));
        if title.is_empty() {
            return Err(self.empty("title.j2", "title"));
        }
        let title = cut_chars(&title, TITLE_LIMIT);

        let commit = self.render_one("commit.j2", &full)?;
        let commit_lines: Vec<&str> = commit.trim().lines().map(str::trim_end).collect();
        if commit_lines.first().is_none_or(|l| l.trim().is_empty()) {
            return Err(self.empty("commit.j2", "commit subject"));
        }
        let commit_message = commit_lines.join("\n") + "\n";

        let fingerprint = ctx.fingerprint();
        let (body, omitted_releases, truncated) = self.body(&prepared, &fingerprint)?;
        Ok(Rendered {
            branch,
            commit_message,
            title,
            body,
            fingerprint,
            omitted_releases,
            truncated,
        })
    }

    /// The body with as many release sections as fit (the oldest go first),
    /// cut at the limit if even none fit, plus the fingerprint.
    fn body(
        &self,
        prepared: &Prepared<'_>,
        fingerprint: &Fingerprint,
    ) -> Result<(String, usize, bool), RenderError> {
        let tail = format!("\n\n{}\n", fingerprint.to_comment());
        let budget = BODY_LIMIT - utf16_len(&tail);
        let render = |k: usize| -> Result<String, RenderError> {
            let body = self.render_one("body.md.j2", &prepared.view(k))?;
            Ok(body.trim_end().to_string())
        };
        let total = prepared.release_count();
        let full = render(total)?;
        if utf16_len(&full) <= budget {
            return Ok((full + &tail, 0, false));
        }
        let none = render(0)?;
        if utf16_len(&none) > budget {
            let note = "\n\n> [!NOTE]\n> This description was cut here to fit GitHub's limit of 65,536 characters.";
            let cut = cut_utf16_at_line(&none, budget - utf16_len(note));
            return Ok((format!("{cut}{note}{tail}"), total, true));
        }
        // Largest k that fits: `lo` always fits, `hi` never does.
        let (mut lo, mut hi, mut best) = (0, total, none);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let body = render(mid)?;
            if utf16_len(&body) <= budget {
                lo = mid;
                best = body;
            } else {
                hi = mid;
            }
        }
        Ok((best + &tail, total - lo, false))
    }

    fn render_one(&self, name: &str, view: &View<'_>) -> Result<String, RenderError> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| template_error(&self.origins, name, &e))?;
        tmpl.render(view)
            .map_err(|e| template_error(&self.origins, name, &e))
    }

    fn origin(&self, name: &str) -> String {
        self.origins
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    fn empty(&self, name: &str, what: &'static str) -> RenderError {
        RenderError::Empty {
            origin: self.origin(name),
            what,
        }
    }
}

fn template_error(
    origins: &BTreeMap<String, String>,
    name: &str,
    e: &minijinja::Error,
) -> RenderError {
    let failing = e.name().unwrap_or(name);
    let origin = origins
        .get(failing)
        .cloned()
        .unwrap_or_else(|| failing.to_string());
    let message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    RenderError::Template {
        origin,
        line: e.line(),
        message,
    }
}

fn text_of(v: &Value) -> String {
    if v.is_none() || v.is_undefined() {
        String::new()
    } else {
        v.to_string()
    }
}

/// `s` made branch-name friendly: runs of characters other than ASCII
/// letters, digits, `.`, `_` and `-` become one `-`; no leading or trailing
/// `-` or `.`.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.replace("..", ".");
    out.trim_matches(['-', '.']).to_string()
}

/// Time until `at` as of `now` in words, to the two largest units:
/// `12 days 4 hours`, `3 hours 5 minutes`, `less than a minute`; once `at`
/// has passed, `overdue by 3 hours`.
pub fn time_left(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    if at > now {
        duration_words(secs)
    } else {
        format!("overdue by {}", duration_words(secs.saturating_neg()))
    }
}

fn duration_words(secs: i64) -> String {
    let unit = |n: i64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    let (big, small) = if days > 0 {
        (unit(days, "day"), (hours > 0).then(|| unit(hours, "hour")))
    } else if hours > 0 {
        (
            unit(hours, "hour"),
            (minutes > 0).then(|| unit(minutes, "minute")),
        )
    } else if minutes > 0 {
        (unit(minutes, "minute"), None)
    } else {
        ("less than a minute".to_string(), None)
    };
    match small {
        Some(s) => format!("{big} {s}"),
        None => big,
    }
}

/// Length as GitHub counts it (UTF-16 code units).
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// The longest prefix of `s` within `limit` UTF-16 units, ended at a line
/// break where one is in the second half.
fn cut_utf16_at_line(s: &str, limit: usize) -> &str {
    let mut used = 0;
    let mut end = s.len();
    for (i, c) in s.char_indices() {
        if used + c.len_utf16() > limit {
            end = i;
            break;
        }
        used += c.len_utf16();
    }
    let cut = &s[..end];
    match cut.rfind('\n') {
        Some(nl) if nl >= end / 2 => cut[..nl].trim_end(),
        _ => cut,
    }
}

/// `s` cut to `limit` characters, with `…` if cut.
fn cut_chars(s: &str, limit: usize) -> String {
    if s.chars().count() <= limit {
        return s.to_string();
    }
    let mut out: String = s.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A URL path segment: a git tag with anything unusual percent-encoded.
fn url_segment(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    for b in tag.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~' | b'/' | b'+') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn compare_url(upstream: &str, from: &str, to: &str) -> String {
    format!(
        "https://github.com/{upstream}/compare/{}...{}",
        url_segment(from),
        url_segment(to)
    )
}

fn release_url(upstream: &str, tag: &str, html_url: Option<&str>) -> String {
    match html_url {
        Some(u)
            if u.starts_with("https://")
                && !u.contains(|c: char| {
                    c.is_whitespace() || c.is_control() || "<>()\"'`\\".contains(c)
                }) =>
        {
            u.to_string()
        }
        _ => format!(
            "https://github.com/{upstream}/releases/tag/{}",
            url_segment(tag)
        ),
    }
}

/// Release notes cut to [`NOTES_CAP`] bytes (at a line break where one is
/// near) and sanitised; cut further while the result is over twice the cap
/// (text that expands when escaped). Returns the markdown and whether it was
/// cut.
fn prepare_notes(notes: &str, upstream: &str) -> (String, bool) {
    let mut cap = NOTES_CAP;
    loop {
        let (input, cut) = if notes.len() <= cap {
            (notes, false)
        } else {
            let mut end = cap;
            while !notes.is_char_boundary(end) {
                end -= 1;
            }
            match notes[..end].rfind('\n') {
                Some(nl) if nl >= end / 2 => (&notes[..nl], true),
                _ => (&notes[..end], true),
            }
        };
        let out = sanitize::sanitize_markdown(input, Some(upstream));
        if out.len() <= 2 * NOTES_CAP || cap <= 512 {
            return (out, cut);
        }
        cap /= 2;
    }
}

/// Everything of the view that does not depend on how many release
/// sections fit.
struct Prepared<'a> {
    ctx: &'a PullRequestContext,
    upstreams: Vec<UpstreamView>,
    /// Per upstream, its release sections (newest first).
    releases: Vec<Vec<ReleaseView>>,
    bumps: Vec<BumpView<'a>>,
    deadlines: Vec<DeadlineView>,
    forks: Vec<ForkView>,
    breaking: Vec<String>,
    security: Option<String>,
    advisories: crate::domain::advisory::Advisories,
    rollouts: Vec<RolloutView>,
    readiness: Vec<ReadinessView>,
}

/// An environment's readiness for a fork once the pull request is merged.
#[derive(Serialize)]
struct ReadinessView {
    environment: String,
    network: String,
    fork: String,
    at: String,
    time_left: String,
    /// `ready`, `not-ready`, `unknown`, before and after.
    before: &'static str,
    state: &'static str,
    still_needed: Vec<crate::domain::readiness::Needed>,
}

impl<'a> Prepared<'a> {
    fn new(ctx: &'a PullRequestContext, now: DateTime<Utc>) -> Self {
        let upstreams = ctx
            .upgrades
            .iter()
            .map(|u| UpstreamView {
                upstream: u.upstream.clone(),
                name: u.name.clone(),
                from: u.from.clone(),
                version: u.version.clone(),
                compare_url: u
                    .from
                    .as_deref()
                    .map(|f| compare_url(&u.upstream, f, &u.version)),
                release_url: release_url(
                    &u.upstream,
                    &u.version,
                    u.releases
                        .iter()
                        .find(|r| r.tag_name == u.version)
                        .and_then(|r| r.html_url.as_deref()),
                ),
                releases: Vec::new(),
                omitted: 0,
            })
            .collect();
        let releases = ctx
            .upgrades
            .iter()
            .map(|u| {
                u.releases
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let older = u
                            .releases
                            .get(i + 1)
                            .map(|o| o.tag_name.as_str())
                            .or(u.from.as_deref());
                        let (notes, cut) = prepare_notes(r.notes(), &u.upstream);
                        let raw_name = r.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
                        let name = raw_name.map(sanitize::sanitize_text);
                        let tag = sanitize::sanitize_text(&r.tag_name);
                        let title = match (raw_name, &name) {
                            (Some(raw), Some(n)) if raw.contains(r.tag_name.as_str()) => n.clone(),
                            (Some(_), Some(n)) => format!("{tag}: {n}"),
                            _ => tag.clone(),
                        };
                        ReleaseView {
                            upstream_name: u.name.clone(),
                            tag,
                            name,
                            title,
                            url: release_url(&u.upstream, &r.tag_name, r.html_url.as_deref()),
                            published: r.published_at.map(|t| t.format("%Y-%m-%d").to_string()),
                            notes,
                            cut,
                            compare_url: older.map(|o| compare_url(&u.upstream, o, &r.tag_name)),
                        }
                    })
                    .collect()
            })
            .collect();
        let bumps = ctx
            .upgrades
            .iter()
            .flat_map(|u| {
                u.bumps.iter().map(move |b| BumpView {
                    upstream_name: &u.name,
                    image: printable(&b.image).into_owned(),
                    from: printable(&b.from).into_owned(),
                    to: printable(&b.to).into_owned(),
                    files: b.files.iter().map(|f| printable(f).into_owned()).collect(),
                    environments: &b.environments,
                })
            })
            .collect();
        let mut deadlines: Vec<&Deadline> = ctx.deadlines.iter().collect();
        deadlines.sort_by(|a, b| (a.at, &a.fork, &a.network).cmp(&(b.at, &b.fork, &b.network)));
        deadlines.dedup_by(|a, b| (&a.fork, &a.network, a.at) == (&b.fork, &b.network, b.at));
        let deadlines: Vec<DeadlineView> = deadlines
            .into_iter()
            .map(|d| DeadlineView {
                carried_from: d
                    .release
                    .as_deref()
                    .filter(|r| ctx.upgrades.iter().all(|u| u.version != *r))
                    .map(str::to_string),
                fork: d.fork.clone(),
                network: d.network.clone(),
                at: d.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                date: d.at.format("%Y-%m-%d").to_string(),
                iso: d.at.to_rfc3339_opts(SecondsFormat::Secs, true),
                time_left: time_left(now, d.at),
                overdue: d.at <= now,
                alert: if d.at <= now { "CAUTION" } else { "WARNING" },
            })
            .collect();
        let mut forks: Vec<ForkView> = Vec::new();
        for d in &deadlines {
            match forks.iter_mut().find(|f| f.name == d.fork) {
                Some(f) => f.deadlines.push(d.clone()),
                None => forks.push(ForkView {
                    name: d.fork.clone(),
                    deadlines: vec![d.clone()],
                }),
            }
        }
        let first = ctx.upgrades.first().map(|u| u.upstream.as_str());
        let rollouts = ctx.rollouts.iter().map(|r| rollout_view(ctx, r)).collect();
        let readiness = ctx
            .readiness
            .iter()
            .map(|r| ReadinessView {
                environment: r.environment.clone(),
                network: r.network.clone(),
                fork: r.fork.clone(),
                at: r.activates_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                time_left: time_left(now, r.activates_at),
                before: r.before.as_str(),
                state: r.state.as_str(),
                still_needed: r.still_needed.clone(),
            })
            .collect();
        let mut advisories = crate::domain::advisory::Advisories::of(ctx.security.as_deref());
        for u in &ctx.upgrades {
            for r in &u.releases {
                advisories.scan(r.notes());
            }
        }
        Prepared {
            advisories,
            rollouts,
            readiness,
            ctx,
            upstreams,
            releases,
            bumps,
            deadlines,
            forks,
            breaking: ctx
                .breaking
                .iter()
                .map(|b| sanitize::sanitize_inline(b, first))
                .collect(),
            security: ctx
                .security
                .as_deref()
                .map(|s| sanitize::sanitize_inline(s, first)),
        }
    }

    fn release_count(&self) -> usize {
        self.releases.iter().map(Vec::len).sum()
    }

    /// The view with the `keep` most important release sections: every
    /// upstream's newest first, then every upstream's second newest, …
    fn view(&self, keep: usize) -> View<'_> {
        let mut kept = vec![0usize; self.releases.len()];
        let mut left = keep;
        let deepest = self.releases.iter().map(Vec::len).max().unwrap_or(0);
        'outer: for depth in 0..deepest {
            for (i, list) in self.releases.iter().enumerate() {
                if depth < list.len() {
                    if left == 0 {
                        break 'outer;
                    }
                    kept[i] += 1;
                    left -= 1;
                }
            }
        }
        let upstreams: Vec<UpstreamView> = self
            .upstreams
            .iter()
            .zip(&self.releases)
            .zip(&kept)
            .map(|((u, list), &k)| UpstreamView {
                releases: list[..k].to_vec(),
                omitted: list.len() - k,
                ..u.clone()
            })
            .collect();
        let first = &self.upstreams[0];
        View {
            repository: &self.ctx.repository,
            group: &self.ctx.group,
            scope: self.ctx.scope.as_deref(),
            upstream: first.upstream.clone(),
            upstream_name: first.name.clone(),
            version: first.version.clone(),
            compare_url: first.compare_url.clone(),
            omitted: upstreams.iter().map(|u| u.omitted).sum(),
            shown: upstreams.iter().map(|u| u.releases.len()).sum(),
            upstreams,
            bumps: &self.bumps,
            deadlines: &self.deadlines,
            forks: &self.forks,
            hard_fork: !self.deadlines.is_empty() || self.ctx.codes.contains(&Code::HardFork),
            breaking: &self.breaking,
            security: self.security.as_deref(),
            advisories: &self.advisories.ids,
            more_advisories: self.advisories.more,
            answers_commands: self.ctx.commands == Commands::Answered,
            codes: self.ctx.codes.iter().map(|c| c.as_str()).collect(),
            priority: self.ctx.priority.map(Priority::as_str),
            rollouts: &self.rollouts,
            readiness: &self.readiness,
        }
    }
}

/// What the templates see (documented in `templates/README.md`).
#[derive(Serialize)]
struct View<'a> {
    repository: &'a str,
    group: &'a str,
    scope: Option<&'a str>,
    upstream: String,
    upstream_name: String,
    version: String,
    compare_url: Option<String>,
    upstreams: Vec<UpstreamView>,
    bumps: &'a [BumpView<'a>],
    deadlines: &'a [DeadlineView],
    forks: &'a [ForkView],
    hard_fork: bool,
    breaking: &'a [String],
    security: Option<&'a str>,
    /// Advisory ids named in the notes or the security note.
    advisories: &'a [crate::domain::advisory::Advisory],
    /// Ids beyond those listed.
    more_advisories: usize,
    /// `@upkeep` comments get an answer.
    answers_commands: bool,
    codes: Vec<&'static str>,
    priority: Option<&'a str>,
    rollouts: &'a [RolloutView],
    readiness: &'a [ReadinessView],
    omitted: usize,
    shown: usize,
}

/// One upstream's rollout through the repository's waves.
#[derive(Serialize)]
struct RolloutView {
    upstream: String,
    name: String,
    version: String,
    deadline: Option<RolloutDeadlineView>,
    at_risk: bool,
    compressed: bool,
    expedited: bool,
    waves: Vec<WaveView>,
}

#[derive(Serialize)]
struct RolloutDeadlineView {
    fork: String,
    network: String,
    at: String,
}

#[derive(Serialize)]
struct WaveView {
    wave: u32,
    environments: Vec<String>,
    /// `this pull request`, `open #12`, `soaking`, …
    state: String,
    /// The raw state (`pending`, `open`, `soaking`, `done`, `blocked`).
    code: &'static str,
    this: bool,
    merged_at: String,
    soak: String,
    opens_at: String,
    reason: String,
}

fn rollout_view(ctx: &PullRequestContext, r: &UpstreamRollout) -> RolloutView {
    use crate::domain::rollout::view::time;
    let last = r.waves.last().map(|w| w.wave);
    RolloutView {
        upstream: r.upstream.clone(),
        name: crate::domain::plan::short_name(&r.upstream).to_string(),
        version: r.version.clone(),
        deadline: r.deadline.as_ref().map(|d| RolloutDeadlineView {
            fork: d.fork.clone(),
            network: d.network.clone(),
            at: time(Some(d.at)),
        }),
        at_risk: r.at_risk,
        compressed: r.compressed,
        expedited: r.expedited,
        waves: r
            .waves
            .iter()
            .map(|w| WaveView {
                wave: w.wave,
                environments: w.environments.clone(),
                state: ctx.wave_state(r, w),
                code: w.state.as_str(),
                this: ctx.moves_wave(r, w),
                merged_at: time(w.merged_at),
                soak: if Some(w.wave) == last {
                    "-".into()
                } else {
                    crate::domain::plan::human(w.soak)
                },
                opens_at: time(w.opens_at),
                reason: w.reason.clone(),
            })
            .collect(),
    }
}

#[derive(Clone, Serialize)]
struct UpstreamView {
    upstream: String,
    name: String,
    from: Option<String>,
    version: String,
    compare_url: Option<String>,
    release_url: String,
    releases: Vec<ReleaseView>,
    omitted: usize,
}

#[derive(Clone, Serialize)]
struct ReleaseView {
    upstream_name: String,
    tag: String,
    name: Option<String>,
    /// The name if it contains the tag, else `tag: name`, else the tag.
    title: String,
    url: String,
    published: Option<String>,
    notes: String,
    cut: bool,
    compare_url: Option<String>,
}

#[derive(Serialize)]
struct BumpView<'a> {
    upstream_name: &'a str,
    /// Image, tags and files come from the scanned tree (or the upstream):
    /// control characters are escaped ([`printable`]), so that no file
    /// name can add a line (a forged trailer) to a commit message.
    image: String,
    from: String,
    to: String,
    files: Vec<String>,
    environments: &'a [String],
}

#[derive(Clone, Serialize)]
struct DeadlineView {
    fork: String,
    network: String,
    at: String,
    date: String,
    iso: String,
    time_left: String,
    overdue: bool,
    alert: &'static str,
    /// The release that brings the fork when none of the pull request's
    /// target releases is it (the upgrade carries the fork), else none.
    carried_from: Option<String>,
}

#[derive(Serialize)]
struct ForkView {
    name: String,
    deadlines: Vec<DeadlineView>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn time_left_in_words() {
        let now = t("2025-04-25T06:00:00Z");
        let cases = [
            ("2025-05-07T10:05:11Z", "12 days 4 hours"),
            ("2025-04-26T06:00:00Z", "1 day"),
            ("2025-04-25T09:05:00Z", "3 hours 5 minutes"),
            ("2025-04-25T07:00:59Z", "1 hour"),
            ("2025-04-25T06:02:00Z", "2 minutes"),
            ("2025-04-25T06:00:30Z", "less than a minute"),
            ("2025-04-25T06:00:00Z", "overdue by less than a minute"),
            ("2025-04-25T03:00:00Z", "overdue by 3 hours"),
            ("2025-03-26T14:37:12Z", "overdue by 29 days 15 hours"),
        ];
        for (at, want) in cases {
            assert_eq!(time_left(now, t(at)), want, "{at}");
        }
        let far = Utc.timestamp_opt(0, 0).unwrap();
        assert_eq!(time_left(far, t("2000-01-01T00:00:00Z")), "10957 days");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("wave 2"), "wave-2");
        assert_eq!(slug("v1.0.0+build/x"), "v1.0.0-build-x");
        assert_eq!(slug("..a..b--"), "a.b");
        assert_eq!(slug("@{}"), "");
    }

    #[test]
    fn utf16_cuts() {
        assert_eq!(utf16_len("a😀"), 3);
        assert_eq!(cut_utf16_at_line("ab😀cd", 3), "ab");
        assert_eq!(cut_utf16_at_line("line one\nline two", 12), "line one");
        assert_eq!(cut_chars("abcdef", 4), "abc…");
    }

    #[test]
    fn urls() {
        assert_eq!(
            compare_url("sigp/lighthouse", "v5.3.0", "v7.0.0"),
            "https://github.com/sigp/lighthouse/compare/v5.3.0...v7.0.0"
        );
        assert_eq!(url_segment("v1 (x)"), "v1%20%28x%29");
        assert_eq!(
            release_url("o/r", "v1", Some("javascript:alert(1)")),
            "https://github.com/o/r/releases/tag/v1"
        );
    }

    fn big_context(releases: usize, notes: &str) -> PullRequestContext {
        PullRequestContext {
            commands: Commands::NotAnswered,
            repository: "acme/deploy".into(),
            group: "upstream".into(),
            scope: None,
            upgrades: vec![Upgrade {
                upstream: "sigp/lighthouse".into(),
                name: "lighthouse".into(),
                from: Some("v1.0.0".into()),
                version: format!("v2.0.{releases}"),
                bumps: vec![Bump {
                    image: "sigp/lighthouse".into(),
                    from: "v1.0.0".into(),
                    to: format!("v2.0.{releases}"),
                    files: vec!["values.yaml".into()],
                    environments: vec!["mainnet".into()],
                }],
                releases: (1..=releases)
                    .rev()
                    .map(|i| Release {
                        tag_name: format!("v2.0.{i}"),
                        name: None,
                        body: Some(notes.to_string()),
                        draft: false,
                        prerelease: false,
                        published_at: None,
                        html_url: None,
                    })
                    .collect(),
            }],
            deadlines: Vec::new(),
            breaking: Vec::new(),
            security: None,
            codes: Vec::new(),
            priority: None,
            rollouts: Vec::new(),
            readiness: Vec::new(),
        }
    }

    #[test]
    fn long_bodies_drop_the_oldest_releases_and_say_so() {
        let notes =
            "Ünïcödé 😀 notes, with a [link](https://example.com) and more text.\n".repeat(300);
        let ctx = big_context(200, &notes);
        let templates = Templates::load(None).unwrap();
        let r = templates
            .render(&ctx, Utc.timestamp_opt(0, 0).unwrap())
            .unwrap();
        assert!(utf16_len(&r.body) <= BODY_LIMIT, "{}", utf16_len(&r.body));
        assert!(r.omitted_releases > 150, "{}", r.omitted_releases);
        assert!(!r.truncated);
        let shown = 200 - r.omitted_releases;
        assert_eq!(r.body.matches("<details>").count(), shown);
        // The newest are kept, the oldest left out, and the body says so.
        assert!(r.body.contains("<summary>v2.0.200</summary>"));
        assert!(!r.body.contains("<summary>v2.0.1</summary>"));
        assert!(r.body.contains(&format!(
            "Release notes of {} older releases were left out to keep this description within GitHub's size limit; see [all changes](https://github.com/sigp/lighthouse/compare/v1.0.0...v2.0.200).",
            r.omitted_releases
        )));
        assert!(r.body.contains("read them in full on the release page"));
        assert_eq!(parse_fingerprint(&r.body), Some(ctx.fingerprint()));
        // One more release section would not have fit.
        let prepared = Prepared::new(&ctx, Utc.timestamp_opt(0, 0).unwrap());
        let bigger = templates
            .render_one("body.md.j2", &prepared.view(shown + 1))
            .unwrap();
        assert!(utf16_len(&bigger) + 200 > BODY_LIMIT);
    }

    #[test]
    fn a_body_too_long_without_notes_is_cut_honestly() {
        let mut ctx = big_context(3, "notes");
        ctx.upgrades[0].bumps[0].files = (0..5000)
            .map(|i| format!("envs/env-{i}/values.yaml"))
            .collect();
        let r = Templates::load(None)
            .unwrap()
            .render(&ctx, Utc.timestamp_opt(0, 0).unwrap())
            .unwrap();
        assert!(r.truncated);
        assert_eq!(r.omitted_releases, 3);
        assert!(utf16_len(&r.body) <= BODY_LIMIT);
        assert!(
            r.body.contains(
                "This description was cut here to fit GitHub's limit of 65,536 characters."
            )
        );
        assert_eq!(parse_fingerprint(&r.body), Some(ctx.fingerprint()));
    }

    #[test]
    fn notes_are_capped() {
        let notes = "line\n".repeat(4000);
        let (out, cut) = prepare_notes(&notes, "o/r");
        assert!(cut);
        assert!(out.len() <= NOTES_CAP, "{}", out.len());
        // Text that expands when escaped is cut further.
        let refs = "#1 ".repeat(4000);
        let (out, cut) = prepare_notes(&refs, "o/r");
        assert!(cut);
        assert!(out.len() <= 2 * NOTES_CAP, "{}", out.len());
        assert_eq!(
            prepare_notes("short", "o/r"),
            ("short\n".to_string(), false)
        );
    }
}
