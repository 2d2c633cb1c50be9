//! The operator's own work on the database file: a consistent copy while
//! hejnal runs (`hejnal db backup`), a look at its state (`hejnal db check`),
//! and a one-off compaction (`hejnal db vacuum`). None of them creates a
//! database or changes its schema.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::StoreError;
use super::migrations::CURRENT;

/// What `hejnal db check` reports.
#[derive(Debug, Clone, Serialize)]
pub struct DbReport {
    pub path: PathBuf,
    pub schema_version: i64,
    /// The newest schema this build knows.
    pub schema_known: u32,
    /// SQLite's `integrity_check`: `["ok"]`, or what it found.
    pub integrity: Vec<String>,
    pub file_bytes: u64,
    pub wal_bytes: u64,
    pub page_size: i64,
    pub pages: i64,
    pub free_pages: i64,
    /// "none" (a database made before retention), "full" or "incremental".
    pub auto_vacuum: &'static str,
    /// Rows per table.
    pub tables: Vec<(String, i64)>,
}

impl DbReport {
    /// Whole, and of a schema this build can open.
    pub fn ok(&self) -> bool {
        self.integrity == ["ok"] && self.schema_version <= i64::from(self.schema_known)
    }
}

/// Opens an existing database as it is: no file created, no schema step run.
fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    let name = path.display().to_string();
    let opened = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|conn| {
        // The daemon may hold the write lock for a moment.
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(conn)
    });
    opened.map_err(|source| StoreError::Open { name, source })
}

/// Writes a consistent copy of the database at `path` to `to` (replacing it)
/// and returns its size. A read transaction (`VACUUM INTO`), so the daemon
/// goes on writing meanwhile; the copy is written under a temporary name,
/// synced, then renamed, so `to` is never a half copy.
pub fn backup(path: &Path, to: &Path) -> Result<u64, StoreError> {
    let conn = open_existing(path)?;
    let dir = to
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = to.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.as_deref().unwrap_or("hejnal.db"),
        std::process::id()
    ));
    let io = |cause| StoreError::Copy {
        path: to.to_path_buf(),
        cause,
    };
    // VACUUM INTO takes an empty file; making it first says plainly when the
    // folder is missing or not writable.
    std::fs::File::create(&temp).map_err(io)?;
    let copied = conn
        .execute("VACUUM INTO ?1", [temp.to_string_lossy()])
        .map_err(StoreError::from)
        .and_then(|_| {
            let file = std::fs::File::open(&temp).map_err(io)?;
            file.sync_all().map_err(io)?;
            std::fs::rename(&temp, to).map_err(io)?;
            Ok(file.metadata().map_err(io)?.len())
        });
    if copied.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    copied
}

pub fn check(path: &Path) -> Result<DbReport, StoreError> {
    let conn = open_existing(path)?;
    let pragma = |name: &str| conn.pragma_query_value(None, name, |r| r.get::<_, i64>(0));
    let mut integrity = conn.prepare("PRAGMA integrity_check")?;
    let integrity: Vec<String> = integrity
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut tables = Vec::new();
    for name in names {
        let quoted = name.replace('"', "\"\"");
        let rows = conn.query_row(&format!("SELECT count(*) FROM \"{quoted}\""), [], |r| {
            r.get(0)
        })?;
        tables.push((name, rows));
    }
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    Ok(DbReport {
        path: path.to_path_buf(),
        schema_version: pragma("user_version")?,
        schema_known: CURRENT,
        integrity,
        file_bytes: size(path),
        wal_bytes: size(Path::new(&wal)),
        page_size: pragma("page_size")?,
        pages: pragma("page_count")?,
        free_pages: pragma("freelist_count")?,
        auto_vacuum: match pragma("auto_vacuum")? {
            1 => "full",
            2 => "incremental",
            _ => "none",
        },
        tables,
    })
}

/// Rewrites the database without its free pages and with incremental vacuum
/// on, so retention shrinks it from then on: needed once for a database made
/// before retention. It holds the write lock throughout, so the daemon is
/// stopped first. Returns the file's size before and after.
pub fn vacuum(path: &Path) -> Result<(u64, u64), StoreError> {
    let conn = open_existing(path)?;
    let size = || std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let before = size();
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.execute_batch("VACUUM")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok((before, size()))
}
