//! The words of Slack messages: minijinja templates in `templates/slack/`
//! (shipped in the binary, each replaceable by `<dir>/slack/<name>`), and
//! the views they are rendered from. Every value in a view is escaped for
//! `mrkdwn` before a template sees it, so a template cannot let a tag or a
//! repository name become a link or a mention; links are handed over
//! ready-made. `templates/slack/README.md` lists the variables.
//!
//! Pure except [`SlackTemplates::load`], which reads the override directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

/// The templates, by file name (under `slack/`).
pub const SLACK_TEMPLATE_NAMES: [&str; 11] = [
    "digest.j2",
    "section.j2",
    "item.j2",
    "more.j2",
    "problems.j2",
    "alert.j2",
    "reminder.j2",
    "rollout.j2",
    "window.j2",
    "rollout_alert.j2",
    "readiness.j2",
];

const BUILTIN: [(&str, &str); 11] = [
    (
        "readiness.j2",
        include_str!("../../../templates/slack/readiness.j2"),
    ),
    (
        "rollout.j2",
        include_str!("../../../templates/slack/rollout.j2"),
    ),
    (
        "window.j2",
        include_str!("../../../templates/slack/window.j2"),
    ),
    (
        "rollout_alert.j2",
        include_str!("../../../templates/slack/rollout_alert.j2"),
    ),
    (
        "digest.j2",
        include_str!("../../../templates/slack/digest.j2"),
    ),
    (
        "section.j2",
        include_str!("../../../templates/slack/section.j2"),
    ),
    ("item.j2", include_str!("../../../templates/slack/item.j2")),
    ("more.j2", include_str!("../../../templates/slack/more.j2")),
    (
        "problems.j2",
        include_str!("../../../templates/slack/problems.j2"),
    ),
    (
        "alert.j2",
        include_str!("../../../templates/slack/alert.j2"),
    ),
    (
        "reminder.j2",
        include_str!("../../../templates/slack/reminder.j2"),
    ),
];

/// A Slack template could not be read, compiled or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        origin: String,
        line: Option<usize>,
        message: String,
    },
}

/// The compiled Slack templates.
pub struct SlackTemplates {
    env: Environment<'static>,
    origins: BTreeMap<String, String>,
}

impl std::fmt::Debug for SlackTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackTemplates")
            .field("origins", &self.origins)
            .finish()
    }
}

impl SlackTemplates {
    /// The built-in templates.
    pub fn builtin() -> Result<SlackTemplates, TemplateError> {
        SlackTemplates::with_sources(Vec::new())
    }

    /// The built-in templates, each replaced by `<dir>/slack/<name>` where
    /// that file exists (the same directory as the pull request templates).
    pub fn load(dir: Option<&Path>) -> Result<SlackTemplates, TemplateError> {
        let mut overrides = Vec::new();
        if let Some(dir) = dir {
            for name in SLACK_TEMPLATE_NAMES {
                let path = dir.join("slack").join(name);
                match std::fs::read_to_string(&path) {
                    Ok(source) => {
                        overrides.push((name.to_string(), path.display().to_string(), source));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => return Err(TemplateError::Read { path, source }),
                }
            }
        }
        SlackTemplates::with_sources(overrides)
    }

    /// The built-ins with `(name, origin, source)` in place of some.
    pub fn with_sources(
        overrides: Vec<(String, String, String)>,
    ) -> Result<SlackTemplates, TemplateError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        let mut sources: BTreeMap<String, (String, String)> = BUILTIN
            .iter()
            .map(|(n, s)| {
                (
                    n.to_string(),
                    (format!("templates/slack/{n}"), s.to_string()),
                )
            })
            .collect();
        for (name, origin, source) in overrides {
            if let Some(slot) = sources.get_mut(&name) {
                *slot = (origin, source);
            }
        }
        let mut origins = BTreeMap::new();
        for (name, (origin, source)) in sources {
            origins.insert(name.clone(), origin.clone());
            env.add_template_owned(name, source)
                .map_err(|e| error(&origin, &e))?;
        }
        Ok(SlackTemplates { env, origins })
    }

    fn render(&self, name: &str, view: &impl Serialize) -> Result<String, TemplateError> {
        let origin = self
            .origins
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string());
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| error(&origin, &e))?;
        tmpl.render(view).map_err(|e| error(&origin, &e))
    }

    /// A template whose output is one line of mrkdwn.
    pub fn line(&self, name: &str, view: &impl Serialize) -> Result<String, TemplateError> {
        Ok(one_line(&self.render(name, view)?))
    }

    /// A template whose first line is a header and the rest mrkdwn:
    /// `(header, body)`, the body's lines trimmed and blank ones dropped.
    pub fn headed(
        &self,
        name: &str,
        view: &impl Serialize,
    ) -> Result<(String, String), TemplateError> {
        let text = self.render(name, view)?;
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let header = lines.next().unwrap_or_default().to_string();
        let body = lines.collect::<Vec<_>>().join("\n");
        Ok((header, body))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn error(origin: &str, e: &minijinja::Error) -> TemplateError {
    TemplateError::Template {
        origin: origin.to_string(),
        line: e.line(),
        message: match e.detail() {
            Some(d) => format!("{}: {d}", e.kind()),
            None => e.kind().to_string(),
        },
    }
}

/// `digest.j2`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DigestView {
    pub channel: String,
    /// Pending upgrades (findings) in this message.
    pub total: usize,
    pub overdue: usize,
    pub hard_fork: usize,
    pub security: usize,
    pub breaking: usize,
    pub routine: usize,
    pub up_to_date: usize,
    pub unchecked: usize,
    pub failed: usize,
    /// Rollouts in flight in this message.
    pub rollouts: usize,
    /// Waves that open in their next maintenance window.
    pub opening: usize,
}

/// `readiness.j2`: one environment × fork.
#[derive(Clone, Debug, Serialize)]
pub struct ReadinessView {
    pub repository: String,
    pub environment: String,
    pub network: String,
    pub fork: String,
    /// `ready`, `not-ready`, `unknown`.
    pub state: &'static str,
    /// `5 days`, or `overdue`.
    pub left: String,
    /// `2027-03-08 00:00 UTC`.
    pub at: String,
    /// `lighthouse v9.0.0 needed (#12)`, one per blocking client.
    pub needs: Vec<String>,
}

/// `section.j2` and the sections of `more.j2`.
#[derive(Clone, Debug, Serialize)]
pub struct SectionView {
    pub key: &'static str,
    pub label: &'static str,
    pub count: usize,
}

/// A fork deadline, with its time in UTC and the time left in words.
#[derive(Clone, Debug, Serialize)]
pub struct DeadlineView {
    pub fork: String,
    pub network: String,
    /// `2025-05-07 10:05 UTC`.
    pub at: String,
    /// `3 days 4 hours`, or `overdue by 2 days`.
    pub left: String,
    /// `in 3 days 4 hours`, or `overdue by 2 days`.
    pub when: String,
    pub overdue: bool,
    /// `carries the Pectra release v7.0.0` (escaped) when the upgrade's
    /// release is a later one than the release that brings the fork.
    pub carries: Option<String>,
}

/// An open pull request for an upgrade.
#[derive(Clone, Debug, Serialize)]
pub struct PrView {
    pub number: u64,
    /// Escaped for use in a link.
    pub url: String,
    /// `<url|PR #12>`.
    pub link: String,
    /// The release the pull request moves to.
    pub version: String,
    /// It moves to the release the upgrade is about.
    pub current: bool,
    /// `open` or `merged`.
    pub state: &'static str,
}

/// `item.j2`: one pending upgrade.
#[derive(Clone, Debug, Serialize)]
pub struct ItemView {
    pub repository: String,
    pub environment: Option<String>,
    pub network: Option<String>,
    pub image: String,
    pub current: String,
    pub target: String,
    /// The release tag of the target.
    pub release: String,
    /// A link to the release page, or the escaped tag.
    pub release_link: String,
    pub behind: usize,
    /// How many references (files) this line stands for.
    pub files: usize,
    pub codes: Vec<String>,
    pub waiting_for_image: bool,
    pub deadline: Option<DeadlineView>,
    pub pr: Option<PrView>,
    pub no_pr: Option<String>,
    pub no_pr_code: Option<&'static str>,
    /// Advisory ids named in the notes of the releases it moves across,
    /// as links (`<https://nvd.nist.gov/…|CVE-2025-1234>`), at most ten.
    pub advisories: Vec<String>,
    /// Ids beyond those.
    pub more_advisories: usize,
}

/// `more.j2`.
#[derive(Clone, Debug, Serialize)]
pub struct MoreView {
    pub count: usize,
    pub sections: Vec<SectionView>,
    pub command: &'static str,
}

/// One failure in `problems.j2`.
#[derive(Clone, Debug, Serialize)]
pub struct FailureView {
    pub subject: String,
    pub error: String,
}

/// `problems.j2`.
#[derive(Clone, Debug, Serialize)]
pub struct ProblemsView {
    pub count: usize,
    pub failures: Vec<FailureView>,
}

/// `alert.j2`.
#[derive(Clone, Debug, Serialize)]
pub struct AlertView {
    pub channel: String,
    pub upstream: String,
    /// The upstream's short name (`lighthouse`).
    pub name: String,
    pub release: String,
    pub release_link: String,
    /// The alerting codes the release carries.
    pub codes: Vec<String>,
    pub hard_fork: bool,
    pub security_fix: bool,
    pub mandatory: bool,
    pub deadline: Option<DeadlineView>,
    /// References still behind it.
    /// As in [`ItemView`].
    pub advisories: Vec<String>,
    pub more_advisories: usize,
    pub count: usize,
}

/// `reminder.j2`.
#[derive(Clone, Debug, Serialize)]
pub struct ReminderView {
    pub channel: String,
    pub fork: String,
    pub network: String,
    pub at: String,
    pub left: String,
    /// The configured threshold in words (`7 days`).
    pub threshold: String,
    pub count: usize,
}

/// One wave in `rollout.j2`.
#[derive(Clone, Debug, Serialize)]
pub struct WaveView {
    pub wave: u32,
    /// Its environments, comma-separated.
    pub environments: String,
    /// `pending`, `open`, `soaking`, `done`, `blocked`.
    pub state: &'static str,
    /// Soaking: when its soak ends; pending: when it may open
    /// (`Tue 09:00 UTC`, with the date when over six days away).
    pub at: Option<String>,
    /// Its pull request as a link (`<url|#12>`), when it has one.
    pub pr: Option<String>,
}

/// `rollout.j2`: one rollout in flight.
#[derive(Clone, Debug, Serialize)]
pub struct RolloutView {
    pub repository: String,
    pub upstream: String,
    pub name: String,
    pub version: String,
    pub release_link: String,
    pub at_risk: bool,
    pub compressed: bool,
    pub expedited: bool,
    pub deadline: Option<DeadlineView>,
    pub waves: Vec<WaveView>,
}

/// `window.j2`: a wave that opens in its next maintenance window.
#[derive(Clone, Debug, Serialize)]
pub struct WindowView {
    pub repository: String,
    pub upstream: String,
    pub name: String,
    pub version: String,
    pub release_link: String,
    pub wave: u32,
    pub environments: String,
    /// `Tue 09:00 UTC`.
    pub at: String,
    /// `in 3 hours 5 minutes`.
    pub when: String,
}

/// `rollout_alert.j2`.
#[derive(Clone, Debug, Serialize)]
pub struct RolloutAlertView {
    pub channel: String,
    /// `deadline-at-risk`, `window-overridden`.
    pub kind: &'static str,
    pub repository: String,
    pub upstream: String,
    pub name: String,
    pub version: String,
    pub release_link: String,
    pub messages: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_render_their_views() {
        let t = SlackTemplates::builtin().unwrap();
        let (h, b) = t
            .headed(
                "digest.j2",
                &DigestView {
                    total: 3,
                    overdue: 1,
                    routine: 2,
                    up_to_date: 4,
                    ..DigestView::default()
                },
            )
            .unwrap();
        assert_eq!(h, "upkeep: 3 pending upgrades");
        assert_eq!(b, "*1* overdue · 2 routine · 4 up to date");
        let (h, b) = t.headed("digest.j2", &DigestView::default()).unwrap();
        assert_eq!(h, "upkeep: nothing pending");
        assert_eq!(b, "Every checked reference is up to date.");
        let s = t
            .line(
                "section.j2",
                &SectionView {
                    key: "hard_fork",
                    label: "hard-fork",
                    count: 2,
                },
            )
            .unwrap();
        assert_eq!(s, ":calendar: *Hard-fork deadlines* (2)");
        let m = t
            .line(
                "more.j2",
                &MoreView {
                    count: 5,
                    sections: vec![SectionView {
                        key: "routine",
                        label: "routine",
                        count: 5,
                    }],
                    command: "upkeep inventory",
                },
            )
            .unwrap();
        assert_eq!(
            m,
            "_…and 5 more not shown (5 routine). `upkeep inventory` lists them all._"
        );
    }

    #[test]
    fn an_override_replaces_one_template_and_errors_name_it() {
        let t = SlackTemplates::with_sources(vec![(
            "section.j2".into(),
            "mine/slack/section.j2".into(),
            "{{ label }}!".into(),
        )])
        .unwrap();
        let s = SectionView {
            key: "routine",
            label: "routine",
            count: 1,
        };
        assert_eq!(t.line("section.j2", &s).unwrap(), "routine!");
        let bad = SlackTemplates::with_sources(vec![(
            "section.j2".into(),
            "mine/slack/section.j2".into(),
            "{{ nope }}".into(),
        )])
        .unwrap();
        let e = bad.line("section.j2", &s).unwrap_err().to_string();
        assert!(e.starts_with("mine/slack/section.j2:1: "), "{e}");
    }
}
