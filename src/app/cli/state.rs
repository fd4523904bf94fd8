//! `upkeep state migrate`: copies a SQLite state store into a PostgreSQL
//! one (ETags and release lists, first-seen times, registry answers,
//! webhook deliveries, merged pull requests, Slack records), keeping the
//! rows the target already has: running it again copies nothing twice.
//! Touches only the two stores.

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};

use super::Exit;
use crate::io::store::{COPIED, Store, is_postgres_url};

pub const MIGRATE_HELP: &str = "\
Examples:
  upkeep state migrate --from sqlite:/var/lib/upkeep/state.sqlite3 \\
      --to 'postgres://upkeep:PASSWORD@db:5432/upkeep?sslmode=verify-full'
  upkeep state migrate --from sqlite:state.sqlite3 --to \"$UPKEEP_STATE\" --format json

The target is created (migrated) when empty; rows it already has are kept,
so the command may run again, e.g. once more right before switching over.
Exit codes: 0 copied, 2 usage error or a store that cannot be opened.";

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy a SQLite state store into PostgreSQL (idempotent).
    #[command(after_help = MIGRATE_HELP)]
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The SQLite store: `sqlite:PATH`.
    #[arg(long, value_name = "sqlite:PATH")]
    from: String,
    /// The PostgreSQL store: `postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…`.
    #[arg(long, value_name = "URL")]
    to: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(command: &StateCommand) -> Result<Exit> {
    match command {
        StateCommand::Migrate(args) => migrate(args),
    }
}

fn migrate(args: &MigrateArgs) -> Result<Exit> {
    let Some(path) = args.from.strip_prefix("sqlite:") else {
        eprintln!("error: --from must be `sqlite:PATH` (a SQLite state store)");
        return Ok(Exit::Usage);
    };
    if !is_postgres_url(&args.to) {
        eprintln!("error: --to must be a `postgres://` URL");
        return Ok(Exit::Usage);
    }
    let path = std::path::Path::new(path);
    if !path.is_file() {
        eprintln!("error: --from {}: no such SQLite store", path.display());
        return Ok(Exit::Usage);
    }
    let from = Store::open(path).with_context(|| format!("opening {}", path.display()))?;
    let to = Store::open_postgres(&args.to)?;
    let mut read = serde_json::Map::new();
    let mut copied = serde_json::Map::new();
    let mut rows_out = Vec::new();
    for (table, columns) in COPIED {
        let rows = from.export(table, columns)?;
        let n = rows.len();
        let added = to.import(table, columns, rows)?;
        read.insert((*table).into(), n.into());
        copied.insert((*table).into(), added.into());
        rows_out.push([(*table).to_string(), n.to_string(), added.to_string()]);
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::json!({"from": from.location(), "to": to.location(), "read": read, "copied": copied})
        ),
        Format::Table => {
            print!("{}", super::table(&["table", "read", "copied"], &rows_out));
            println!("{} -> {}", from.location(), to.location());
        }
    }
    Ok(Exit::Success)
}
