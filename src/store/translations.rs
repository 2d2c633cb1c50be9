//! The translation cache and the daily character budget.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, to_sql_u64};
use crate::model::Lang;

impl Store {
    /// A text translated before by `engine`, found by the hash of its source text.
    pub fn cached_translation(
        &self,
        engine: &str,
        from: &Lang,
        to: &Lang,
        text_hash: u64,
    ) -> Result<Option<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT text FROM translations \
             WHERE engine = ?1 AND from_lang = ?2 AND to_lang = ?3 AND text_hash = ?4",
        )?;
        Ok(stmt
            .query_row(
                params![engine, from.as_str(), to.as_str(), to_sql_u64(text_hash)],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn put_translation(
        &self,
        engine: &str,
        from: &Lang,
        to: &Lang,
        text_hash: u64,
        text: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO translations (engine, from_lang, to_lang, text_hash, text) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                engine,
                from.as_str(),
                to.as_str(),
                to_sql_u64(text_hash),
                text
            ])?;
        Ok(())
    }

    /// Characters sent to translation engines on `day`.
    pub fn budget_used(&self, day: NaiveDate) -> Result<u64, StoreError> {
        let used: Option<i64> = self
            .conn
            .prepare_cached("SELECT chars FROM translation_budget WHERE day = ?1")?
            .query_row([day.to_string()], |r| r.get(0))
            .optional()?;
        Ok(used.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    }

    /// Counts `chars` more against `day` and returns the day's new total.
    pub fn add_budget(&self, day: NaiveDate, chars: u64) -> Result<u64, StoreError> {
        let chars = i64::try_from(chars).unwrap_or(i64::MAX);
        let total: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO translation_budget (day, chars) VALUES (?1, ?2) \
                 ON CONFLICT (day) DO UPDATE SET chars = CASE \
                 WHEN chars > 9223372036854775807 - excluded.chars THEN 9223372036854775807 \
                 ELSE chars + excluded.chars END \
                 RETURNING chars",
            )?
            .query_row(params![day.to_string(), chars], |r| r.get(0))?;
        Ok(u64::try_from(total).unwrap_or(0))
    }
}
