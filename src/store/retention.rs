//! Retention: stories older than `[store] keep_days` leave the database, a few
//! hundred per transaction so the web server and the next batch of a cycle
//! never wait long, and the pages they held go back to the file system.
//!
//! A story goes whole, with every entry, variant, lookup key and band, and
//! only once nothing in it has changed or been first seen since the cut-off.
//! Each pruned entry leaves its source and a hash of its key in
//! `pruned_keys`: a feed that still lists the item finds it there and does
//! not bring it back as a new story. Listing it again keeps the record; it is
//! forgotten `keep_days` after the source last listed it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params};
use xxhash_rust::xxh3::xxh3_64;

use super::grouping::unindex_grouped;
use super::{Store, StoreError, micros, to_sql_u64};

/// Stories pruned in one transaction.
const STORIES_PER_TRANSACTION: usize = 200;
/// Stories looked at per transaction: the oldest by id, which include the few
/// long-lived ones that are not due yet.
const SCAN: i64 = 2_000;
/// Free pages handed back to the file system after each transaction.
const VACUUM_PAGES: u32 = 1_000;
/// Forgotten keys deleted in one transaction.
const FORGET_PER_TRANSACTION: i64 = 5_000;

/// What one `prune` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub stories: usize,
    pub entries: usize,
    /// Records of pruned keys whose source stopped listing them long ago.
    pub forgotten: usize,
}

/// The hash `pruned_keys` holds of an entry's key.
pub(super) fn key_hash(key: &str) -> i64 {
    to_sql_u64(xxh3_64(key.as_bytes()))
}

impl Store {
    /// Prunes up to `max_stories` stories last changed and first seen before
    /// `cutoff`, oldest first, and forgets pruned keys last listed before it.
    pub fn prune(
        &mut self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        max_stories: usize,
    ) -> Result<Pruned, StoreError> {
        let cutoff = micros(cutoff);
        let mut done = Pruned::default();
        while done.stories < max_stories {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let limit = STORIES_PER_TRANSACTION.min(max_stories - done.stories);
            let due = due_stories(&tx, cutoff, limit)?;
            for story in &due {
                done.entries += prune_story(&tx, *story, micros(now))?;
            }
            tx.commit()?;
            done.stories += due.len();
            vacuum_some(&self.conn)?;
            if due.len() < limit {
                break;
            }
        }
        loop {
            let forgotten = self.conn.execute(
                "DELETE FROM pruned_keys WHERE (source_id, key_hash) IN \
                 (SELECT source_id, key_hash FROM pruned_keys WHERE pruned < ?1 LIMIT ?2)",
                params![cutoff, FORGET_PER_TRANSACTION],
            )?;
            done.forgotten += forgotten;
            if (forgotten as i64) < FORGET_PER_TRANSACTION {
                break;
            }
        }
        vacuum_some(&self.conn)?;
        Ok(done)
    }

    /// How many pruned keys the store remembers.
    pub fn pruned_key_count(&self) -> Result<u64, StoreError> {
        self.count("SELECT count(*) FROM pruned_keys", [])
    }
}

/// Stories whose every entry was first seen, and which last changed, before
/// `cutoff`. Ids grow with creation, so the oldest stories come first.
fn due_stories(conn: &Connection, cutoff: i64, limit: usize) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id FROM (SELECT id, published, updated FROM stories ORDER BY id LIMIT ?3) s \
         WHERE s.published < ?1 AND s.updated < ?1 AND NOT EXISTS ( \
             SELECT 1 FROM entry_story es JOIN entries e ON e.id = es.entry_id \
             WHERE es.story_id = s.id AND (e.first_seen >= ?1 OR e.dated >= ?1)) \
         ORDER BY s.id LIMIT ?2",
    )?;
    let ids = stmt.query_map(params![cutoff, limit as i64, SCAN], |r| r.get(0))?;
    ids.collect()
}

/// Deletes a story and its entries; returns how many entries it had.
fn prune_story(conn: &Connection, story_id: i64, now: i64) -> Result<usize, StoreError> {
    let entries: Vec<(i64, String, String, i64)> = conn
        .prepare_cached(
            "SELECT e.id, e.source_id, e.key, e.fingerprint FROM entry_story es \
             JOIN entries e ON e.id = es.entry_id WHERE es.story_id = ?1",
        )?
        .query_map([story_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut remember = conn.prepare_cached(
        "INSERT INTO pruned_keys (source_id, key_hash, pruned) VALUES (?1, ?2, ?3) \
         ON CONFLICT (source_id, key_hash) DO UPDATE SET pruned = excluded.pruned",
    )?;
    let mut unlink = conn.prepare_cached("DELETE FROM entry_story WHERE entry_id = ?1")?;
    let mut delete = conn.prepare_cached("DELETE FROM entries WHERE id = ?1")?;
    for (entry_id, source_id, key, fingerprint) in &entries {
        unindex_grouped(conn, *entry_id, *fingerprint as u64)?;
        unlink.execute([entry_id])?;
        delete.execute([entry_id])?;
        remember.execute(params![source_id, key_hash(key), now])?;
    }
    conn.prepare_cached("DELETE FROM story_variants WHERE story_id = ?1")?
        .execute([story_id])?;
    conn.prepare_cached("DELETE FROM stories WHERE id = ?1")?
        .execute([story_id])?;
    Ok(entries.len())
}

/// Hands free pages at the end of the file back to the file system; a no-op
/// for a database made before incremental vacuum, which reuses them instead.
fn vacuum_some(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"))
}
