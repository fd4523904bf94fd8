//! `inventory`: one check, then the pure inventory built from what it read,
//! with the live side (what runs in each environment with a `live`
//! selector, as the check's Prometheus queries showed it).

use chrono::{DateTime, Utc};

use crate::app::check::{self, Progress};
use crate::app::context::Context;
use crate::domain::evaluate::CheckReport;
use crate::domain::inventory::{self, Inventory, Observations};

/// Runs a check and builds the inventory from the references it scanned
/// (each repository's `.github/upkeep.yml` merged in, as checked).
pub async fn collect(
    ctx: &Context,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> (Inventory, CheckReport) {
    let report = check::run(ctx, now, progress).await;
    (build(ctx, &report, now), report)
}

/// The inventory of what `report` checked, with its live side: the check
/// already asked Prometheus what runs in each environment with a `live`
/// selector (`app::check::running_in`), so nothing is queried again.
pub fn build(ctx: &Context, report: &CheckReport, now: DateTime<Utc>) -> Inventory {
    let mut inv = inventory::build(&report.scanned, report, &ctx.catalog, now);
    inventory::with_live(&mut inv, &observations(report, ctx.prometheus.is_some()));
    inv
}

/// Per repository and environment, what runs there or why it is not known.
/// Empty (no live side at all) unless some environment checked has a
/// `live` selector; then every environment of the checked repositories is
/// in it, those without a selector as unknown.
pub fn observations(report: &CheckReport, prometheus: bool) -> Observations {
    let mut out = Observations::new();
    let any = report
        .repositories
        .iter()
        .flat_map(|r| &r.environments)
        .any(|e| e.live.is_some());
    if !any {
        return out;
    }
    for repo in &report.repositories {
        let name = repo.source.to_string();
        for env in &repo.environments {
            let seen = match &env.live {
                None => Err(format!("environment {} has no live selector", env.name)),
                Some(_) if !prometheus => Err("prometheus.url is not set".to_string()),
                Some(_) => report
                    .live
                    .get(&name)
                    .and_then(|m| m.get(&env.name))
                    .cloned()
                    .unwrap_or_else(|| Err("Prometheus was not asked".to_string())),
            };
            out.insert((name.clone(), env.name.clone()), seen);
        }
    }
    out
}
