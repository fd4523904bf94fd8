//! `upkeep serve`: the GitHub App server (webhooks, schedules, health and
//! metrics). Builds the pipeline context as `upkeep run` does, then hands
//! it to [`crate::app::serve::run`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;

use super::Exit;
use super::check::{Session, session};
use crate::app::serve::{self, Secrets, ServeOptions};
use crate::domain::render::Templates;
use crate::env;

pub const SERVE_HELP: &str = "\
Examples:
  upkeep serve                                  # listens on 0.0.0.0:8080
  upkeep serve --listen 127.0.0.1:3000

Environment: UPKEEP_GITHUB_APP_ID and UPKEEP_GITHUB_APP_PRIVATE_KEY (PEM text
or a file) for App mode, or UPKEEP_GITHUB_TOKEN; UPKEEP_GITHUB_WEBHOOK_SECRET
(comma-separated for rotation). Routes: POST /webhook, GET /healthz,
GET /readyz, GET /metrics. Polls on `schedule.poll` from the settings.
SIGTERM or ctrl-c finishes the current job, then exits.";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: UPKEEP_LISTEN or 0.0.0.0:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Directory with templates replacing the built-in ones.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
}

pub fn serve(args: &ServeArgs, settings_file: Option<&Path>) -> Result<Exit> {
    let templates = match Templates::load(args.templates.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Exit::Usage);
        }
    };
    let listen = match args.listen {
        Some(a) => a,
        None => std::env::var(env::LISTEN)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map_or(Ok(SocketAddr::from(([0, 0, 0, 0], 8080))), |v| {
                v.trim().parse()
            })
            .with_context(|| format!("{} is not an address such as 0.0.0.0:8080", env::LISTEN))?,
    };
    let secrets = Secrets::parse(&std::env::var(env::GITHUB_WEBHOOK_SECRET).unwrap_or_default());
    if secrets.is_empty() {
        eprintln!(
            "warning: {} is not set: every webhook delivery will be refused (schedules still run)",
            env::GITHUB_WEBHOOK_SECRET
        );
    }
    let mut options = ServeOptions::new(listen, secrets);
    let number = |var: &str| -> Result<Option<u64>> {
        match std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Some)
                .with_context(|| format!("{var} is not a positive whole number: `{v}`")),
        }
    };
    if let Some(n) = number(env::WEBHOOK_CONCURRENCY)? {
        options.webhook_concurrency = n as usize;
    }
    if let Some(s) = number(env::WEBHOOK_TIMEOUT)? {
        options.webhook_timeout = std::time::Duration::from_secs(s);
    }
    if let Some(s) = number(env::WEBHOOK_HEADER_TIMEOUT)? {
        options.header_timeout = std::time::Duration::from_secs(s);
    }
    let Session { runtime, ctx, .. } = match session(settings_file)? {
        Ok(s) => s,
        Err(exit) => return Ok(exit),
    };
    let result = runtime.block_on(serve::run(
        ctx,
        templates,
        options,
        serve::shutdown_signal(),
        |addr| eprintln!("upkeep serve: listening on {addr}"),
    ));
    match result {
        Ok(()) => Ok(Exit::Success),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(Exit::Usage)
        }
    }
}
