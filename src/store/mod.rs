//! The SQLite store: the only place with SQL and the only state that lasts.
//!
//! Every write runs in one transaction and the database is in WAL mode, so a
//! process killed at any moment leaves either the whole write or none of it.

mod batch;
mod checkpointer;
mod editing;
mod entries;
mod filtered;
mod grouping;
mod health;
pub mod maintenance;
mod migrations;
mod pairing;
mod retention;
mod stories;
mod story_ids;
mod translations;
mod uploads;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::model::SourceState;

pub use batch::Batch;
pub use checkpointer::Checkpointer;
pub use editing::{DroppedCorrection, Listed, SEARCHED_STORIES};
pub use entries::{UpsertStatus, Upserted};
pub use filtered::{FilterCandidate, Judged};
pub use grouping::{Candidate, Grouping, Search, Unplaced, guid_key};
pub use health::{FetchHealth, HealthFacts};
pub use migrations::CURRENT as SCHEMA_VERSION;
pub use retention::Pruned;
pub use stories::Basis;
pub use story_ids::authority_of;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {name}: {source}")]
    Open {
        name: String,
        source: rusqlite::Error,
    },
    #[error(
        "database {name} was written by a newer hejnal (schema version {found}, this build knows up to {known}); run the newer hejnal or point `database` at another file"
    )]
    TooNew {
        name: String,
        found: i64,
        known: u32,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database holds a value this build cannot read: {0}")]
    Corrupt(String),
    #[error("cannot write the copy {}: {cause}", .path.display())]
    Copy {
        path: std::path::PathBuf,
        cause: std::io::Error,
    },
}

pub struct Store {
    conn: Connection,
    /// Whose name new story ids are minted under.
    id_authority: String,
    /// Body keys grouping found too common to propose anything (see
    /// `grouping`), until [`Store::forget_stop_keys`].
    stop_keys: HashSet<i64>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let name = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            name: name.clone(),
            source,
        })?;
        Store::init(conn, &name)
    }

    pub fn open_in_memory() -> Result<Store, StoreError> {
        let name = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            name: name.clone(),
            source,
        })?;
        Store::init(conn, &name)
    }

    fn init(mut conn: Connection, name: &str) -> Result<Store, StoreError> {
        configure(&conn).map_err(|source| StoreError::Open {
            name: name.to_string(),
            source,
        })?;
        migrations::migrate(&mut conn, name)?;
        Ok(Store {
            conn,
            id_authority: story_ids::LOCAL_AUTHORITY.to_string(),
            stop_keys: HashSet::new(),
        })
    }

    /// Lets grouping read every body key again. A key only becomes common
    /// while a cycle stores, so a cycle starts by forgetting what the last
    /// one found: keys of last week's boilerplate are not held for ever.
    pub fn forget_stop_keys(&mut self) {
        self.stop_keys = HashSet::new();
    }

    /// Mints the ids of stories born from now on under `authority`, the
    /// publisher's domain name (see [`authority_of`]).
    pub fn mint_story_ids_under(&mut self, authority: String) {
        self.id_authority = authority;
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        let v: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("user_version {v}")))
    }

    /// SQLite's own consistency check of every table and index.
    pub fn integrity_check(&self) -> Result<bool, StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(lines == ["ok"])
    }

    /// The remembered fetch state of a source; a source never seen has the default.
    pub fn source_state(&self, source_id: &str) -> Result<SourceState, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM source_state WHERE source_id = ?1"
        ))?;
        let state = stmt.query_row([source_id], source_state_row).optional()?;
        Ok(state.unwrap_or_default())
    }

    pub fn save_source_state(
        &self,
        source_id: &str,
        state: &SourceState,
    ) -> Result<(), StoreError> {
        save_source_state(&self.conn, source_id, state)
    }

    pub fn all_source_states(&self) -> Result<Vec<(String, SourceState)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {STATE_COLUMNS}, source_id FROM source_state ORDER BY source_id"
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get("source_id")?, source_state_row(r)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn story_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT count(*) FROM stories", [])
    }

    pub fn entry_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT count(*) FROM entries", [])
    }

    /// How many entries of a source the store holds.
    pub fn entries_of_source(&self, source_id: &str) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM entries WHERE source_id = ?1",
            params![source_id],
        )
    }

    /// How many stories a source has taken part in with entries first seen since `since`.
    pub fn stories_since(&self, source_id: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(DISTINCT s.story_id) FROM entries e \
             JOIN entry_story s ON s.entry_id = e.id \
             WHERE e.source_id = ?1 AND e.first_seen >= ?2",
            params![source_id, micros(since)],
        )
    }

    /// A checkpointer on a connection of its own, for a cycle to nudge after
    /// each commit; `None` for a database in memory, which has no WAL, or when
    /// the second connection cannot be opened (the cycle's own checkpoint at
    /// the end does the work then).
    pub fn checkpointer(&self) -> Option<Checkpointer> {
        let path = self.conn.path().filter(|p| !p.is_empty())?;
        Checkpointer::start(path)
            .inspect_err(|e| tracing::warn!(error = %e, "no background checkpoints"))
            .ok()
    }

    /// Copies what the WAL holds into the database file once a cycle's writes
    /// are done, and empties the WAL file: a cold cycle grows it to hundreds of
    /// MB, and cutting it back later would stall the next cycle's first write.
    /// A reader in the way makes it wait (the busy timeout), then give up
    /// until the next cycle; nothing is lost either way.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let (_busy, _wal_pages, _moved): (i64, i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        Ok(())
    }

    fn count(&self, sql: &str, params: impl rusqlite::Params) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(sql)?
            .query_row(params, |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

const PAGE_SIZE: i64 = 16 * 1024;
/// 256 MiB of 16 KB pages: more than a cold cycle of 50,000 entries writes.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16 * 1024;
const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

fn save_source_state(
    conn: &Connection,
    source_id: &str,
    state: &SourceState,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
            "INSERT INTO source_state (source_id, etag, last_modified, last_ok, last_error, \
             consecutive_failures, next_due, moved_to, gone_url, moved_from, settings_digest, \
             body_digest, item_digests, ttl_minutes) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
             ON CONFLICT (source_id) DO UPDATE SET etag = excluded.etag, \
             last_modified = excluded.last_modified, last_ok = excluded.last_ok, \
             last_error = excluded.last_error, consecutive_failures = excluded.consecutive_failures, \
             next_due = excluded.next_due, moved_to = excluded.moved_to, gone_url = excluded.gone_url, moved_from = excluded.moved_from, \
             settings_digest = excluded.settings_digest, body_digest = excluded.body_digest, \
             item_digests = excluded.item_digests, \
             ttl_minutes = excluded.ttl_minutes",
        )?;
    stmt.execute(params![
        source_id,
        state.etag,
        state.last_modified,
        state.last_ok.map(micros),
        state.last_error,
        state.consecutive_failures,
        state.next_due.map(micros),
        state.moved_to,
        state.gone_url,
        state.moved_from,
        state.settings_digest.map(to_sql_u64),
        state.body_digest.map(to_sql_u64),
        state
            .item_digests
            .iter()
            .flat_map(|d| d.to_le_bytes())
            .collect::<Vec<u8>>(),
        state.ttl_minutes,
    ])?;
    Ok(())
}

/// WAL lets readers (the web server) go on while a cycle writes; NORMAL
/// syncing in WAL mode can lose the last commits on power loss but never
/// corrupts the database.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // An entry row is 2–3 KB, so 4 KB pages hold one row and waste a third of
    // every page written; 16 KB pages pack five or six. Only a new, empty
    // database takes the setting: an existing one keeps its page size.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    // Pages that retention frees go back to the file system a few at a time
    // (see `retention`). Like the page size, only a new database takes this;
    // an older one reuses its free pages instead, so it stops growing all the
    // same, and `hejnal db vacuum` converts it once.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    let _mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // 32 MiB of page cache keeps the key and band indexes of a large store in memory.
    conn.pragma_update(None, "cache_size", -32_000)?;
    // A checkpoint copies every page of the WAL into the database and syncs
    // both files; run at SQLite's default of every 1,000 pages it stalls a cold
    // cycle many times over. Pages wait in the WAL until `checkpoint` at the end
    // of the cycle, or until the WAL holds this many, and the file is then cut
    // back so one large cycle does not leave a large WAL behind.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)?;
    // A statement that may change several rows (moving a merged story's
    // entries) keeps a statement journal of the pages it changes; spilled to a
    // temporary file, that is a second write of each of them.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// The columns `source_state_row` reads, in its order.
const STATE_COLUMNS: &str = "etag, last_modified, last_ok, last_error, consecutive_failures, \
     next_due, moved_to, gone_url, moved_from, settings_digest, body_digest, item_digests, \
     ttl_minutes";

fn source_state_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SourceState> {
    Ok(SourceState {
        etag: r.get(0)?,
        last_modified: r.get(1)?,
        last_ok: opt_date(r, 2)?,
        last_error: r.get(3)?,
        consecutive_failures: r.get(4)?,
        next_due: opt_date(r, 5)?,
        moved_to: r.get(6)?,
        gone_url: r.get(7)?,
        moved_from: r.get(8)?,
        settings_digest: r.get::<_, Option<i64>>(9)?.map(from_sql_u64),
        body_digest: r.get::<_, Option<i64>>(10)?.map(from_sql_u64),
        item_digests: r
            .get::<_, Option<Vec<u8>>>(11)?
            .unwrap_or_default()
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
            .collect(),
        ttl_minutes: r.get(12)?,
    })
}

/// Microseconds cover every date chrono can hold, unlike nanoseconds.
fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn date(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let v: i64 = r.get(idx)?;
    DateTime::from_timestamp_micros(v).ok_or_else(|| bad_value(idx, format!("date {v}")))
}

fn opt_date(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match r.get::<_, Option<i64>>(idx)? {
        None => Ok(None),
        Some(_) => date(r, idx).map(Some),
    }
}

fn bad_value(idx: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        rusqlite::types::Type::Text,
        Box::new(StoreError::Corrupt(what)),
    )
}

/// 64-bit hashes keep their bits in SQLite's signed INTEGER.
fn to_sql_u64(v: u64) -> i64 {
    v as i64
}

fn from_sql_u64(v: i64) -> u64 {
    v as u64
}
