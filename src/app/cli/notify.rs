//! `upkeep notify`: runs a check and posts the Slack digest, alerts and
//! reminders to every configured channel (or prints them with
//! `--dry-run`). Webhook URLs are never printed: only their hosts.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::Exit;
use super::check::{Session, progress, progress_done, session};
use crate::app::notify;
use crate::domain::notify::{SlackTemplates, What};
use crate::io::slack::{SendOptions, Sender};

pub const AFTER_HELP: &str = "\
Examples:
  upkeep notify --dry-run          # print the Block Kit JSON, send nothing
  upkeep notify                    # digest, alerts and due reminders
  upkeep notify --only alerts      # alerts and reminders only (e.g. after each poll)

Channels: UPKEEP_SLACK_WEBHOOK_URL, and `slack.routes` in the settings (each
names the variable holding its webhook URL). An alert is sent once per
release and channel, a reminder once per reference, deadline and threshold
(`slack.reminders`): the state store (UPKEEP_STATE) remembers them. Slack
answers of 429 are waited out (Retry-After), 5xx retried; a channel that
fails is reported and the others still get their messages (exit status 3).
Wording: templates/slack/*.j2, replaceable with --templates DIR (DIR/slack/).";

#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Print the messages as JSON instead of sending them; record nothing.
    #[arg(long)]
    dry_run: bool,
    /// Send only the digest, or only alerts and reminders.
    #[arg(long, value_enum, value_name = "WHAT")]
    only: Option<Only>,
    /// Directory whose `slack/` holds templates replacing the built-in ones.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Only {
    Digest,
    Alerts,
}

pub fn notify(args: &NotifyArgs, settings_file: Option<&Path>) -> Result<Exit> {
    let templates = match SlackTemplates::load(args.templates.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Exit::Usage);
        }
    };
    let Session {
        runtime, ctx, now, ..
    } = match session(settings_file)? {
        Ok(s) => s,
        Err(exit) => return Ok(exit),
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    let channels = crate::domain::notify::channels(&ctx.settings.slack, &env);
    if !args.dry_run && channels.iter().all(|c| c.webhook.is_err()) {
        for c in &channels {
            if let Err(e) = &c.webhook {
                eprintln!("error: slack channel {}: {e}", c.name);
            }
        }
        eprintln!(
            "no usable Slack webhook: set {} (or the variables of slack.routes), or use --dry-run",
            crate::domain::notify::WEBHOOK_VAR
        );
        return Ok(Exit::Usage);
    }
    let what = match args.only {
        None => What::default(),
        Some(Only::Digest) => What {
            digest: true,
            alerts: false,
        },
        Some(Only::Alerts) => What {
            digest: false,
            alerts: true,
        },
    };
    let progress = progress();
    let outcome = runtime.block_on(async {
        let report = crate::app::check::run(&ctx, now, &progress).await;
        progress_done();
        let sender = if args.dry_run {
            None
        } else {
            Some(Sender::new(SendOptions::default())?)
        };
        let result = notify::run(
            &ctx,
            &report,
            &channels,
            &templates,
            sender.as_ref(),
            what,
            now,
        )
        .await;
        anyhow::Ok((report, result))
    })?;
    let (report, result) = outcome;
    let notified = match result {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Exit::Usage);
        }
    };
    super::check::print_diagnostics(&report, &[], &ctx.forge);
    for w in &notified.warnings {
        eprintln!("warning: {}", crate::domain::printable::printable(w));
    }
    let mut out = String::new();
    if args.dry_run {
        #[derive(serde::Serialize)]
        struct DryRun<'a> {
            messages: &'a [crate::domain::notify::Message],
        }
        out = serde_json::to_string_pretty(&DryRun {
            messages: &notified.messages,
        })? + "\n";
        for c in &channels {
            if let Err(e) = &c.webhook {
                eprintln!("note: slack channel {}: {e}", c.name);
            }
        }
    } else {
        for d in &notified.deliveries {
            let host = d.host.as_deref().unwrap_or("-");
            match &d.error {
                None => out.push_str(&format!(
                    "sent    {:<8}  {} ({host})  {}\n",
                    d.kind.as_str(),
                    d.channel,
                    d.subject
                )),
                Some(e) => {
                    out.push_str(&format!(
                        "failed  {:<8}  {} ({host})  {}\n",
                        d.kind.as_str(),
                        d.channel,
                        d.subject
                    ));
                    eprintln!(
                        "error: slack channel {}: {} {}: {e}",
                        d.channel,
                        d.kind.as_str(),
                        d.subject
                    );
                }
            }
        }
        let failed = notified.failed();
        out.push_str(&format!(
            "\n{} sent, {failed} failed\n",
            notified.deliveries.len() - failed
        ));
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(Exit::of_check(&report, notified.failed() > 0).unwrap_or(Exit::Success))
}
