//! What object storage holds of the published files, as last uploaded.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Store, StoreError, from_sql_u64, micros, to_sql_u64};

impl Store {
    /// Every key uploaded, with the digest of what was sent.
    pub fn uploads(&self) -> Result<HashMap<String, u64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, digest FROM uploads")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, from_sql_u64(r.get(1)?))))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Remembers that `key` now holds bytes with `digest`.
    pub fn record_upload(
        &self,
        key: &str,
        digest: u64,
        bytes: u64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO uploads (key, digest, bytes, uploaded) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                key,
                to_sql_u64(digest),
                i64::try_from(bytes).unwrap_or(i64::MAX),
                micros(at)
            ])?;
        Ok(())
    }

    /// Forgets `key`, deleted from object storage.
    pub fn forget_upload(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM uploads WHERE key = ?1")?
            .execute([key])?;
        Ok(())
    }
}
