//! What story grouping asks of the store, all inside one transaction.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::entries::unassigned_without_text;
use super::{Store, StoreError, date, from_sql_u64, micros};
use crate::dedupe::guid_key;
use crate::model::StoredEntry;

/// The four 16-bit bands of a fingerprint, each tagged with its band number so
/// one index serves all four.
pub(super) fn bands(fingerprint: u64) -> [i64; 4] {
    [0u32, 1, 2, 3].map(|n| i64::from(n) << 16 | ((fingerprint >> (16 * n)) & 0xffff) as i64)
}

/// Indexes an entry's fingerprint; 0 means "no words", which must never look
/// like a near duplicate of anything.
pub(super) fn add_bands(
    conn: &Connection,
    entry_id: i64,
    fingerprint: u64,
) -> rusqlite::Result<()> {
    if fingerprint == 0 {
        return Ok(());
    }
    let mut stmt = conn
        .prepare_cached("INSERT OR IGNORE INTO simhash_bands (band, entry_id) VALUES (?1, ?2)")?;
    for band in bands(fingerprint) {
        stmt.execute(params![band, entry_id])?;
    }
    Ok(())
}

pub(super) fn drop_bands(
    conn: &Connection,
    entry_id: i64,
    fingerprint: u64,
) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare_cached("DELETE FROM simhash_bands WHERE band = ?1 AND entry_id = ?2")?;
    for band in bands(fingerprint) {
        stmt.execute(params![band, entry_id])?;
    }
    Ok(())
}

/// An entry already in a story whose fingerprint shares a band with the one looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub entry_id: i64,
    pub story_id: i64,
    pub source_id: String,
    pub fingerprint: u64,
    /// Published, else first seen.
    pub dated: DateTime<Utc>,
}

/// One grouping pass: nothing it does is visible to others until `commit`, and
/// a crash before that leaves every entry unassigned for the next pass.
pub struct Grouping<'a> {
    tx: Transaction<'a>,
}

impl Store {
    pub fn grouping(&mut self) -> Result<Grouping<'_>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Ok(Grouping { tx })
    }
}

impl Grouping<'_> {
    /// Entries not yet in a story, oldest first, with empty titles and
    /// summaries (grouping goes by links, guids and fingerprints).
    pub fn unassigned(&self) -> Result<Vec<StoredEntry>, StoreError> {
        unassigned_without_text(&self.tx)
    }

    /// The story of the earliest grouped entry with this canonical link, from any source.
    pub fn find_by_canonical_link(&self, canonical_link: &str) -> Result<Option<i64>, StoreError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT story_id FROM entries WHERE canonical_link = ?1 AND story_id IS NOT NULL \
             ORDER BY dated, id LIMIT 1",
        )?;
        Ok(stmt.query_row([canonical_link], |r| r.get(0)).optional()?)
    }

    /// The story of the earliest grouped entry of another source with the same guid,
    /// when the guid is distinctive enough to name one article across sources.
    pub fn find_by_guid(
        &self,
        guid: &str,
        other_than_source: &str,
    ) -> Result<Option<i64>, StoreError> {
        let Some(key) = guid_key(guid) else {
            return Ok(None);
        };
        let mut stmt = self.tx.prepare_cached(
            "SELECT story_id FROM entries WHERE guid_key = ?1 AND source_id <> ?2 \
             AND story_id IS NOT NULL ORDER BY dated, id LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![key, other_than_source], |r| r.get(0))
            .optional()?)
    }

    /// Grouped entries dated within `from..=until` that share at least one band
    /// with `fingerprint`: every entry within 3 bits is among them.
    pub fn near_candidates(
        &self,
        fingerprint: u64,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Candidate>, StoreError> {
        if fingerprint == 0 {
            return Ok(Vec::new());
        }
        let [b0, b1, b2, b3] = bands(fingerprint);
        let mut stmt = self.tx.prepare_cached(
            "SELECT DISTINCT e.id, e.story_id, e.source_id, e.fingerprint, e.dated \
             FROM simhash_bands b JOIN entries e ON e.id = b.entry_id \
             WHERE b.band IN (?1, ?2, ?3, ?4) AND e.story_id IS NOT NULL \
             AND e.dated BETWEEN ?5 AND ?6",
        )?;
        let rows = stmt.query_map(params![b0, b1, b2, b3, micros(from), micros(until)], |r| {
            Ok(Candidate {
                entry_id: r.get(0)?,
                story_id: r.get(1)?,
                source_id: r.get(2)?,
                fingerprint: from_sql_u64(r.get(3)?),
                dated: date(r, 4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Starts a story with `entry` as its first member. Its guid comes from the
    /// entry's source and key, so it is fixed at birth and never reused.
    pub fn create_story(
        &self,
        entry: &StoredEntry,
        published: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO stories (guid, published, updated) VALUES (?1, ?2, ?2) \
             ON CONFLICT (guid) DO NOTHING",
        )?;
        let identity = format!("{}\0{}", entry.entry.source_id, entry.entry.key);
        // A 64-bit hash can collide; the next seed gives another guid.
        let mut seed = 0u64;
        loop {
            let guid = format!(
                "hejnal:story:{:016x}",
                xxh3_64_with_seed(identity.as_bytes(), seed)
            );
            if insert.execute(params![guid, micros(published)])? == 1 {
                break;
            }
            seed += 1;
        }
        let story_id = self.tx.last_insert_rowid();
        self.assign(entry, story_id)?;
        Ok(story_id)
    }

    /// Adds an entry to an existing story; the story keeps its id and guid, and
    /// its `updated` moves to `now`.
    pub fn join_story(
        &self,
        entry: &StoredEntry,
        story_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.assign(entry, story_id)?;
        self.tx
            .prepare_cached("UPDATE stories SET updated = max(updated, ?2) WHERE id = ?1")?
            .execute(params![story_id, micros(now)])?;
        Ok(())
    }

    /// Puts an entry into a story and indexes its fingerprint: unassigned entries
    /// are never candidates, so upserting them stays cheap.
    fn assign(&self, entry: &StoredEntry, story_id: i64) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE entries SET story_id = ?2 WHERE id = ?1")?
            .execute(params![entry.id, story_id])?;
        add_bands(&self.tx, entry.id, entry.entry.fingerprint)?;
        Ok(())
    }

    pub fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_three_bits_apart_share_a_band() {
        let a = 0x0123_4567_89ab_cdef_u64;
        let b = a ^ (1 << 3) ^ (1 << 20) ^ (1 << 40);
        let shared = bands(a).iter().filter(|x| bands(b).contains(x)).count();
        assert_eq!(shared, 1);
    }
}
