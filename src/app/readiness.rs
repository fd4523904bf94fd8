//! `readiness`: one check (with the inventory's live side), then the pure
//! fork-readiness matrix ([`crate::domain::readiness`]) built from what it
//! read: references, releases, upkeep's pull requests, running versions.

use chrono::{DateTime, Utc};

use crate::app::check::Progress;
use crate::app::context::Context;
use crate::domain::evaluate::CheckReport;
use crate::domain::inventory::Inventory;
use crate::domain::readiness::{self, Inputs, Readiness};
use crate::domain::rules::Engine;

/// Runs a check and builds the readiness matrix from it.
pub async fn collect(
    ctx: &Context,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> (Readiness, CheckReport) {
    let (inv, report) = crate::app::inventory::collect(ctx, now, progress).await;
    (build(ctx, &inv, &report, now), report)
}

/// The matrix of what `report` checked (`inventory` built from it). Without
/// a rule engine in the context, the shipped one.
pub fn build(
    ctx: &Context,
    inventory: &Inventory,
    report: &CheckReport,
    now: DateTime<Utc>,
) -> Readiness {
    let builtin;
    let engine: &Engine = match &ctx.engine {
        Some(e) => e,
        None => match Engine::builtin() {
            Ok(e) => {
                builtin = e;
                &builtin
            }
            Err(_) => return Readiness::default(),
        },
    };
    readiness::build(&Inputs {
        inventory,
        catalog: &ctx.catalog,
        engine,
        releases: &report.releases,
        pulls: &report.pulls,
        overrides: &ctx.settings.fork_minimums,
        now,
    })
}
