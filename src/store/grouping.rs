//! What story grouping asks of the store, all inside one transaction.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::entries::unassigned;
use super::{Store, StoreError, date, from_sql_u64, micros};
use crate::clean::fingerprint::distance;
use crate::dedupe::guid_key;
use crate::model::StoredEntry;

/// Bands a fingerprint is cut into, 16 bits each.
const BANDS: u32 = 4;
const BAND_BITS: u32 = 16;
/// Probing each band with its values up to this many bits away finds every
/// fingerprint within `BANDS * (radius + 1) - 1` bits: 11 at this limit.
const MAX_PROBE_RADIUS: u32 = 2;

/// The four 16-bit bands of a fingerprint, each tagged with its band number so
/// one index serves all four.
fn bands(fingerprint: u64) -> [i64; BANDS as usize] {
    [0u32, 1, 2, 3].map(|n| tag(n, (fingerprint >> (BAND_BITS * n)) & 0xffff))
}

fn tag(band: u32, value: u64) -> i64 {
    i64::from(band) << BAND_BITS | value as i64
}

/// The band values to look up so that every fingerprint within `max_distance`
/// bits shares one of them: two fingerprints `d` bits apart have a band at most
/// `d / 4` bits apart (pigeonhole), so each band is probed with its neighbours
/// up to that radius.
pub(super) fn probes(fingerprint: u64, max_distance: u32) -> Vec<i64> {
    let radius = (max_distance / BANDS).min(MAX_PROBE_RADIUS);
    let mut out = Vec::new();
    for n in 0..BANDS {
        let value = (fingerprint >> (BAND_BITS * n)) & 0xffff;
        out.push(tag(n, value));
        for i in 0..BAND_BITS {
            if radius >= 1 {
                out.push(tag(n, value ^ 1 << i));
            }
            for j in i + 1..BAND_BITS {
                if radius >= 2 {
                    out.push(tag(n, value ^ 1 << i ^ 1 << j));
                }
            }
        }
    }
    out
}

/// Indexes an entry's fingerprint under its date; 0 means "no words", which
/// must never look like a near duplicate of anything.
pub(super) fn add_bands(
    conn: &Connection,
    entry_id: i64,
    fingerprint: u64,
) -> rusqlite::Result<()> {
    if fingerprint == 0 {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO fingerprint_bands (band, dated, entry_id) \
         SELECT ?1, dated, id FROM entries WHERE id = ?2",
    )?;
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
        conn.prepare_cached("DELETE FROM fingerprint_bands WHERE band = ?1 AND entry_id = ?2")?;
    for band in bands(fingerprint) {
        stmt.execute(params![band, entry_id])?;
    }
    Ok(())
}

/// An entry already in a story that may tell the same news as the one being placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub entry_id: i64,
    pub story_id: i64,
    pub source_id: String,
    pub fingerprint: u64,
    /// Published, else first seen.
    pub dated: DateTime<Utc>,
    pub title: String,
    /// Sanitized HTML.
    pub summary: String,
}

const CANDIDATE_COLUMNS: &str = "id, story_id, source_id, fingerprint, dated, title, summary";

fn candidate(r: &rusqlite::Row<'_>) -> rusqlite::Result<Candidate> {
    Ok(Candidate {
        entry_id: r.get(0)?,
        story_id: r.get(1)?,
        source_id: r.get(2)?,
        fingerprint: from_sql_u64(r.get(3)?),
        dated: date(r, 4)?,
        title: r.get(5)?,
        summary: r.get(6)?,
    })
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
    /// Entries not yet in a story, oldest first; grouping compares their texts.
    pub fn unassigned(&self) -> Result<Vec<StoredEntry>, StoreError> {
        unassigned(&self.tx, usize::MAX)
    }

    /// The oldest `limit` entries not yet in a story. Grouping takes the backlog
    /// a batch at a time: after a cold start it is every entry of every source,
    /// too much text to hold at once.
    pub fn next_unassigned(&self, limit: usize) -> Result<Vec<StoredEntry>, StoreError> {
        unassigned(&self.tx, limit)
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

    /// Grouped entries dated within `from..=until` whose fingerprints are at most
    /// `max_distance` bits from `fingerprint`. The lookup is exact up to 11 bits;
    /// a larger `max_distance` finds only part of the farther ones.
    pub fn near_candidates(
        &self,
        fingerprint: u64,
        max_distance: u32,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Candidate>, StoreError> {
        if fingerprint == 0 {
            return Ok(Vec::new());
        }
        let mut lookup = self.tx.prepare_cached(
            "SELECT e.id, e.fingerprint FROM fingerprint_bands b JOIN entries e ON e.id = b.entry_id \
             WHERE b.band = ?1 AND b.dated BETWEEN ?2 AND ?3 AND e.story_id IS NOT NULL",
        )?;
        let mut close = BTreeSet::new();
        for band in probes(fingerprint, max_distance) {
            let rows = lookup.query_map(params![band, micros(from), micros(until)], |r| {
                Ok((r.get::<_, i64>(0)?, from_sql_u64(r.get(1)?)))
            })?;
            for row in rows {
                let (id, other) = row?;
                if distance(fingerprint, other) <= max_distance {
                    close.insert(id);
                }
            }
        }
        let mut load = self.tx.prepare_cached(&format!(
            "SELECT {CANDIDATE_COLUMNS} FROM entries WHERE id = ?1"
        ))?;
        let mut out = Vec::with_capacity(close.len());
        for id in close {
            out.push(load.query_row([id], candidate)?);
        }
        Ok(out)
    }

    /// Grouped entries dated within `from..=until` with exactly this title.
    pub fn same_title_candidates(
        &self,
        title: &str,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Candidate>, StoreError> {
        let mut stmt = self.tx.prepare_cached(&format!(
            "SELECT {CANDIDATE_COLUMNS} FROM entries \
             WHERE title = ?1 AND dated BETWEEN ?2 AND ?3 AND story_id IS NOT NULL"
        ))?;
        let rows = stmt.query_map(params![title, micros(from), micros(until)], candidate)?;
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
    fn probes_reach_every_fingerprint_within_the_distance() {
        let a = 0x0123_4567_89ab_cdef_u64;
        // Seven bits spread so that every band differs: only probing finds it.
        let b = a ^ (1 << 1) ^ (1 << 2) ^ (1 << 17) ^ (1 << 18) ^ (1 << 33) ^ (1 << 34) ^ (1 << 50);
        assert!(bands(a).iter().all(|x| !bands(b).contains(x)));
        let reached = |d| probes(a, d).iter().any(|p| bands(b).contains(p));
        assert!(!reached(3));
        assert!(reached(7));
        assert_eq!(probes(a, 3).len(), 4);
        assert_eq!(probes(a, 7).len(), 4 * 17);
        assert_eq!(probes(a, 11).len(), 4 * 137);
        assert_eq!(probes(a, 64).len(), 4 * 137);
    }

    #[test]
    fn fingerprints_three_bits_apart_share_a_band() {
        let a = 0x0123_4567_89ab_cdef_u64;
        let b = a ^ (1 << 3) ^ (1 << 20) ^ (1 << 40);
        let shared = bands(a).iter().filter(|x| bands(b).contains(x)).count();
        assert_eq!(shared, 1);
    }
}
