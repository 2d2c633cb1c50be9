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
/// Stories read per query while looking for those due.
const SCAN_CHUNK: i64 = 500;
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
        let dependents = Dependents {
            of_story: dependents(&self.conn, "stories", &["entry_story", "story_variants"])?,
            of_entry: dependents(&self.conn, "entries", &["entry_story", "fingerprint_bands"])?,
        };
        while done.stories < max_stories {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let limit = STORIES_PER_TRANSACTION.min(max_stories - done.stories);
            let due = due_stories(&tx, cutoff, limit)?;
            for story in &due {
                done.entries += prune_story(&tx, *story, &dependents, micros(now))?;
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
/// `cutoff`, oldest first. A story's id is given when it is made, so ids grow
/// with the first sight of a story's first entry: the scan stops at the first
/// story made after the cut-off, having passed over the older ones that
/// changed since (joined by a later entry, or dated in the future).
fn due_stories(conn: &Connection, cutoff: i64, limit: usize) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.id, \
             s.published < ?1 AND s.updated < ?1 AND max(e.first_seen) < ?1 \
                 AND max(e.dated) < ?1, \
             min(e.first_seen) \
         FROM stories s JOIN entry_story es ON es.story_id = s.id \
         JOIN entries e ON e.id = es.entry_id \
         WHERE s.id > ?2 GROUP BY s.id ORDER BY s.id LIMIT ?3",
    )?;
    let mut due = Vec::new();
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, bool, i64)> = stmt
            .query_map(params![cutoff, after, SCAN_CHUNK], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let Some(last) = rows.last() else {
            return Ok(due);
        };
        after = last.0;
        for (id, prunable, made) in rows {
            if made >= cutoff {
                return Ok(due);
            }
            if prunable {
                due.push(id);
                if due.len() == limit {
                    return Ok(due);
                }
            }
        }
    }
}

/// The `DELETE`s of the rows other rooms keep about a story or an entry, by
/// a foreign key to it (an editor hiding a story, say): they go with it.
struct Dependents {
    of_story: Vec<String>,
    of_entry: Vec<String>,
}

/// The `DELETE` of the rows referring to a row of `table` in each table but
/// the `handled` ones, which `prune_story` empties itself.
fn dependents(conn: &Connection, table: &str, handled: &[&str]) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT m.name, f.\"from\" FROM sqlite_schema m, pragma_foreign_key_list(m.name) f \
         WHERE m.type = 'table' AND f.\"table\" = ?1 ORDER BY m.name",
    )?;
    let rows = stmt.query_map([table], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let rows: Vec<(String, String)> = rows.collect::<rusqlite::Result<_>>()?;
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    Ok(rows
        .into_iter()
        .filter(|(name, _)| !handled.contains(&name.as_str()))
        .map(|(name, column)| format!("DELETE FROM {} WHERE {} = ?1", quote(&name), quote(&column)))
        .collect())
}

/// Deletes a story and its entries; returns how many entries it had.
fn prune_story(
    conn: &Connection,
    story_id: i64,
    dependents: &Dependents,
    now: i64,
) -> Result<usize, StoreError> {
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
        for delete in &dependents.of_entry {
            conn.prepare_cached(delete)?.execute([entry_id])?;
        }
        unlink.execute([entry_id])?;
        delete.execute([entry_id])?;
        remember.execute(params![source_id, key_hash(key), now])?;
    }
    conn.prepare_cached("DELETE FROM story_variants WHERE story_id = ?1")?
        .execute([story_id])?;
    for delete in &dependents.of_story {
        conn.prepare_cached(delete)?.execute([story_id])?;
    }
    conn.prepare_cached("DELETE FROM stories WHERE id = ?1")?
        .execute([story_id])?;
    Ok(entries.len())
}

/// Hands free pages at the end of the file back to the file system; a no-op
/// for a database made before incremental vacuum, which reuses them instead.
fn vacuum_some(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;
    use crate::config::DedupeConfig;
    use crate::dedupe;
    use crate::model::Entry;
    use crate::store::UpsertStatus;

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 8, 0, 0).single().unwrap() + TimeDelta::days(n)
    }

    fn entry(source: &str, n: u32, link: &str) -> Entry {
        Entry {
            fingerprint: u64::from(n) * 0x0f0f_0f0f_0f0f,
            content_hash: u64::from(n),
            ..Entry::for_test(
                source,
                &format!("{source}-{n}"),
                link,
                &format!("Story {n}"),
            )
        }
    }

    /// Another room's table that refers to stories (an editor's hidden
    /// stories) must not stop a story from being pruned.
    #[test]
    fn rows_that_refer_to_a_pruned_story_go_with_it() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .conn
            .execute_batch(
                "CREATE TABLE hidden (story_id INTEGER PRIMARY KEY REFERENCES stories (id));",
            )
            .unwrap();
        let item = entry("krakow", 1, "https://krakow.example/tram");
        store.upsert_entries(&[item], day(0)).unwrap();
        dedupe::group(&mut store, &DedupeConfig::default(), day(0)).unwrap();
        store
            .conn
            .execute_batch("INSERT INTO hidden SELECT id FROM stories")
            .unwrap();
        let pruned = store.prune(day(3), day(4), 100).unwrap();
        assert_eq!(pruned.stories, 1);
        assert_eq!(store.count("SELECT count(*) FROM hidden", []).unwrap(), 0);
    }

    #[test]
    fn an_older_story_joined_later_is_kept_and_the_ones_after_it_pruned() {
        let mut store = Store::open_in_memory().unwrap();
        let settings = DedupeConfig::default();
        let shared = "https://krakow.example/tram";
        store
            .upsert_entries(&[entry("krakow", 1, shared)], day(0))
            .unwrap();
        dedupe::group(&mut store, &settings, day(0)).unwrap();
        let later = entry("krakow", 2, "https://krakow.example/budget");
        store
            .upsert_entries(std::slice::from_ref(&later), day(1))
            .unwrap();
        dedupe::group(&mut store, &settings, day(1)).unwrap();
        // Another source tells the first story on day 5: it changed then.
        store
            .upsert_entries(&[entry("lwow", 3, shared)], day(5))
            .unwrap();
        let joined = dedupe::group(&mut store, &settings, day(5)).unwrap();
        assert_eq!(joined.joined, 1);

        let pruned = store.prune(day(3), day(6), 100).unwrap();
        assert_eq!((pruned.stories, pruned.entries), (1, 1));
        let left = store.latest_stories(10).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].entries.len(), 2, "the joined story stays whole");

        // Its source still lists the pruned item: not new, no story.
        let again = store.upsert_entries(&[later], day(6)).unwrap();
        assert_eq!(again[0].status, UpsertStatus::Unchanged);
        assert_eq!(
            dedupe::group(&mut store, &settings, day(6))
                .unwrap()
                .new_stories,
            0
        );
        assert_eq!(store.pruned_key_count().unwrap(), 1);
        // Listed on day 6, the record is kept until day 6 + keep_days.
        assert_eq!(store.prune(day(5), day(7), 100).unwrap().forgotten, 0);
        assert_eq!(store.prune(day(7), day(40), 100).unwrap().forgotten, 1);
    }
}
