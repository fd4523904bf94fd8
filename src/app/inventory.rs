//! `inventory`: one check, then the pure inventory built from what it read.

use chrono::{DateTime, Utc};

use crate::app::check::{self, Progress};
use crate::app::context::Context;
use crate::domain::evaluate::CheckReport;
use crate::domain::inventory::{Inventory, build};

/// Runs a check and builds the inventory from the references it scanned
/// (each repository's `.github/upkeep.yml` merged in, as checked).
pub async fn collect(
    ctx: &Context,
    now: DateTime<Utc>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> (Inventory, CheckReport) {
    let report = check::run(ctx, now, progress).await;
    (build(&report.scanned, &report, &ctx.catalog, now), report)
}
