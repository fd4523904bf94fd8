//! `upkeep inventory`: every reference across the configured repositories
//! and environments, as a table, JSON, markdown or Prometheus text; with
//! what runs in each environment verified live.

use std::io::Write as _;
use std::path::Path;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::check::{Session, progress, progress_done, session};
use super::{Exit, table};
use crate::domain::inventory::{self, Inventory};

pub const AFTER_HELP: &str = "\
Examples:
  upkeep inventory                          # a table of every reference
  upkeep inventory --format json | jq '.references[] | select(.behind > 0)'
  upkeep inventory --format prometheus > /var/lib/node_exporter/upkeep.prom

Days behind count from the publication of the first release after the
deployed one. The Prometheus gauges (upkeep_reference_info,
upkeep_releases_behind, upkeep_deadline_timestamp_seconds) are the ones
`upkeep serve` exposes on /metrics.

Live side: for each environment with a `live` selector (and prometheus.url
set), the containers running each referenced image (kube-state-metrics'
kube_pod_container_info narrowed by the selector) and whether they run the
tag the repository says: in-sync, drift (e.g. \"7 × v7.0.0, 1 × v6.0.0\"),
not-running (none seen) or unknown (no selector, or Prometheus could not
answer: the reason says why). The table and markdown gain RUNNING and LIVE
columns, JSON `running` [{tag, digest, containers}], `live` and
`live_reason` per reference, and the Prometheus text the gauges
upkeep_running_containers{repository,environment,image,tag} and
upkeep_live_drift{repository,environment,image} (1: drift, 0: in sync).
Without any `live` selector the output has none of these.";

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
    Prometheus,
}

pub fn inventory(args: &InventoryArgs, settings_file: Option<&Path>) -> Result<Exit> {
    let Session {
        runtime, ctx, now, ..
    } = match session(settings_file)? {
        Ok(s) => s,
        Err(exit) => return Ok(exit),
    };
    let progress = progress();
    let (inv, report) = runtime.block_on(crate::app::inventory::collect(&ctx, now, &progress));
    progress_done();
    let out = match args.format {
        Format::Table => render_table(&inv),
        Format::Json => inventory::to_json(&inv),
        Format::Markdown => inventory::to_markdown(&inv),
        Format::Prometheus => inventory::to_prometheus(&inv),
    };
    std::io::stdout().write_all(out.as_bytes())?;
    super::check::print_diagnostics(&report, &[], &ctx.forge);
    Ok(Exit::of_check(&report, false).unwrap_or(Exit::Success))
}

const HEADER: [&str; 10] = [
    "REPOSITORY",
    "FILE",
    "ENV",
    "IMAGE",
    "CURRENT",
    "LATEST",
    "BEHIND",
    "DAYS",
    "STATUS",
    "DEADLINE",
];

/// The table; with RUNNING and LIVE columns (after STATUS) when some
/// reference has a live side.
fn render_table(inv: &Inventory) -> String {
    if inv.references.is_empty() {
        return format!("No reference found.\n\n{}\n", inventory::summary(inv));
    }
    let dash = |s: Option<&str>| s.unwrap_or("-").to_string();
    let row = |e: &inventory::Entry| -> [String; 10] {
        [
            e.repository.clone(),
            format!("{}:{}", e.file, e.line),
            dash(e.environment.as_deref()),
            e.image.clone(),
            dash(e.current.as_deref()),
            dash(e.latest.as_deref()),
            e.behind.map_or_else(|| "-".into(), |b| b.to_string()),
            e.days_behind.map_or_else(|| "-".into(), |d| d.to_string()),
            inventory::status_text(e),
            inventory::deadline_text(e.deadline.as_ref()),
        ]
    };
    let mut out = if inventory::has_live(inv) {
        let rows: Vec<[String; 12]> = inv
            .references
            .iter()
            .map(|e| {
                let [a, b, c, d, e2, f, g, h, status, deadline] = row(e);
                [
                    a,
                    b,
                    c,
                    d,
                    e2,
                    f,
                    g,
                    h,
                    status,
                    inventory::running_text(e),
                    inventory::live_text(e),
                    deadline,
                ]
            })
            .collect();
        let [a, b, c, d, e, f, g, h, status, deadline] = HEADER;
        table(
            &[a, b, c, d, e, f, g, h, status, "RUNNING", "LIVE", deadline],
            &rows,
        )
    } else {
        let rows: Vec<[String; 10]> = inv.references.iter().map(row).collect();
        table(&HEADER, &rows)
    };
    // No control characters from file contents reach the terminal.
    out.retain(|c| c == '\n' || !c.is_control());
    out.push('\n');
    out.push_str(&inventory::summary(inv));
    out.push('\n');
    out
}
