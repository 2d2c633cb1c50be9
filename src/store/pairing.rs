//! What native language pairing asks of the store.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::entries::{ENTRY_COLUMNS, stored_entry};
use super::{Store, StoreError, micros};
use crate::model::{Lang, StoredEntry};

impl Store {
    /// Entries of a source already in a story, dated since `since`, oldest first.
    pub fn recent_grouped_entries(
        &self,
        source_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM entries e JOIN entry_story s ON s.entry_id = e.id \
             WHERE e.source_id = ?1 AND e.dated >= ?2 ORDER BY e.dated, e.id"
        ))?;
        let rows = stmt.query_map(params![source_id, micros(since)], stored_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The languages of a story's entries.
    pub fn story_languages(&self, story_id: i64) -> Result<Vec<Lang>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT e.lang FROM entry_story s JOIN entries e ON e.id = s.entry_id \
             WHERE s.story_id = ?1 ORDER BY e.lang",
        )?;
        let raw: Vec<String> = stmt
            .query_map([story_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(raw.iter().filter_map(|l| Lang::parse(l)).collect())
    }

    /// The title of a story's machine translation into `lang`, if one was saved.
    pub fn machine_title(&self, story_id: i64, lang: &Lang) -> Result<Option<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT title FROM story_variants WHERE story_id = ?1 AND lang = ?2 AND kind = 'machine'",
        )?;
        Ok(stmt
            .query_row(params![story_id, lang.as_str()], |r| r.get(0))
            .optional()?)
    }

    /// Makes story `gone` part of story `keep`, in one transaction: its entries
    /// move over, its variants and the story itself are deleted. `keep` keeps
    /// its id, guid and publication date; its `updated` moves to `now`.
    pub fn merge_stories(
        &mut self,
        keep: i64,
        gone: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if keep == gone {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("UPDATE entry_story SET story_id = ?1 WHERE story_id = ?2")?
            .execute(params![keep, gone])?;
        tx.prepare_cached("DELETE FROM story_variants WHERE story_id = ?1")?
            .execute([gone])?;
        tx.prepare_cached("DELETE FROM stories WHERE id = ?1")?
            .execute([gone])?;
        tx.prepare_cached("UPDATE stories SET updated = max(updated, ?2) WHERE id = ?1")?
            .execute(params![keep, micros(now)])?;
        tx.commit()?;
        Ok(())
    }
}
