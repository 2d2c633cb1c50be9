//! `hejnal db`: the operator's backup, check and one-off compaction of the database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;

use hejnal::config::Config;
use hejnal::store::maintenance::{self, DbReport};

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Copy the database to FILE, consistent even while hejnal runs.
    Backup {
        /// Where the copy goes; an existing file is replaced whole.
        file: PathBuf,
    },
    /// Check the database: integrity, schema version, sizes, rows per table.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite the database without free space, and let retention shrink it
    /// from then on (once, for a database made before retention; stop hejnal first).
    Vacuum,
}

pub fn db(config_path: &Path, action: DbAction) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let path = config.database_path();
    if !path.exists() {
        bail!(
            "no database at {}: run `hejnal once` or `hejnal run` first, or check \
             `database` in feeds.toml (and STATE_DIRECTORY, as the service has it)",
            path.display()
        );
    }
    match action {
        DbAction::Backup { file } => {
            let bytes = maintenance::backup(&path, &file)?;
            println!(
                "backed up {} to {} ({bytes} bytes)",
                path.display(),
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        DbAction::Check { json } => {
            let report = maintenance::check(&path)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", describe(&report));
            }
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        DbAction::Vacuum => {
            let (before, after) = maintenance::vacuum(&path)?;
            println!("{}: {before} bytes before, {after} after", path.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn describe(r: &DbReport) -> String {
    let mut out = format!("database: {}\n", r.path.display());
    let schema = if r.schema_version > i64::from(r.schema_known) {
        format!(
            "{} (newer than this hejnal, which knows {})",
            r.schema_version, r.schema_known
        )
    } else {
        r.schema_version.to_string()
    };
    out.push_str(&format!("schema version: {schema}\n"));
    if r.integrity == ["ok"] {
        out.push_str("integrity: ok\n");
    } else {
        out.push_str("integrity: DAMAGED; restore the last backup\n");
        for line in &r.integrity {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str(&format!(
        "size: {} bytes, WAL {} bytes; {} pages of {} bytes, {} free; auto vacuum {}\n",
        r.file_bytes, r.wal_bytes, r.pages, r.page_size, r.free_pages, r.auto_vacuum
    ));
    if r.auto_vacuum == "none" {
        out.push_str(
            "  (`hejnal db vacuum`, with hejnal stopped, lets retention shrink the file)\n",
        );
    }
    out.push_str("rows:\n");
    for (table, rows) in &r.tables {
        out.push_str(&format!("  {table:<20} {rows}\n"));
    }
    out
}
