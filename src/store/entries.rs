//! Entries: upsert by (source, key), and reading them back.

use chrono::{DateTime, Utc};
use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection, OptionalExtension, Row, params, params_from_iter};

use super::grouping::{index_grouped, unindex_grouped};
use super::{Store, StoreError, bad_value, date, from_sql_u64, micros, opt_date, to_sql_u64};
use crate::clean::facts;
use crate::clean::html::sanitized_text;
use crate::model::{Entry, Lang, LangOrigin, StoredEntry};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upserted {
    pub entry_id: i64,
    pub status: UpsertStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertStatus {
    /// Never seen before.
    New,
    /// Known, and what a reader sees has changed.
    Updated,
    /// Known and the same: nothing was written. Also an entry retention
    /// pruned, listed again by its source: it is not news.
    Unchanged,
}

/// The columns `stored_entry` reads, in its order, from `entries e` and
/// `entry_story s`.
pub(super) const ENTRY_COLUMNS: &str = "e.id, s.story_id, e.first_seen, e.source_id, e.key, \
     e.guid, e.link, e.canonical_link, e.title, e.summary, e.authors, e.published, e.updated, \
     e.lang, e.lang_origin, e.image, e.fingerprint, e.content_hash, e.categories, e.facts";

const FIND: &str = "SELECT e.id, e.content_hash, e.fingerprint, s.story_id, e.lang, e.categories \
     FROM entries e \
     LEFT JOIN entry_story s ON s.entry_id = e.id WHERE e.source_id = ?1 AND e.key = ?2";
const INSERT: &str = "INSERT INTO entries (source_id, key, guid, link, canonical_link, \
     title, summary, authors, published, updated, lang, lang_origin, image, fingerprint, \
     content_hash, categories, facts, first_seen, dated) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
     coalesce(?9, ?18))";
const QUEUE: &str = "INSERT INTO unassigned (first_seen, entry_id) VALUES (?1, ?2)";
const UPDATE: &str = "UPDATE entries SET guid = ?2, link = ?3, canonical_link = ?4, \
     title = ?5, summary = ?6, authors = ?7, published = ?8, updated = ?9, lang = ?10, \
     lang_origin = ?11, image = ?12, fingerprint = ?13, content_hash = ?14, categories = ?15, \
     facts = ?16, dated = coalesce(?8, first_seen) WHERE id = ?1";
/// Categories are labels, not what a reader sees as an edit: new ones are
/// kept without marking the entry updated.
const RELABEL: &str = "UPDATE entries SET categories = ?2 WHERE id = ?1";
const TOUCH_STORY: &str = "UPDATE stories SET updated = max(updated, ?2) WHERE id = ?1";
/// Marks a pruned key as listed now; changes a row only if it was pruned.
const STILL_LISTED: &str =
    "UPDATE pruned_keys SET pruned = ?3 WHERE source_id = ?1 AND key_hash = ?2";

/// The prepared statements of one upsert batch.
struct Upsert<'c> {
    find: CachedStatement<'c>,
    insert: CachedStatement<'c>,
    queue: CachedStatement<'c>,
    update: CachedStatement<'c>,
    touch_story: CachedStatement<'c>,
    relabel: CachedStatement<'c>,
    still_listed: CachedStatement<'c>,
    now: i64,
}

impl<'c> Upsert<'c> {
    fn new(conn: &'c Connection, now: DateTime<Utc>) -> rusqlite::Result<Upsert<'c>> {
        Ok(Upsert {
            find: conn.prepare_cached(FIND)?,
            insert: conn.prepare_cached(INSERT)?,
            queue: conn.prepare_cached(QUEUE)?,
            update: conn.prepare_cached(UPDATE)?,
            touch_story: conn.prepare_cached(TOUCH_STORY)?,
            relabel: conn.prepare_cached(RELABEL)?,
            still_listed: conn.prepare_cached(STILL_LISTED)?,
            now: micros(now),
        })
    }

    fn one(&mut self, conn: &Connection, e: &Entry) -> Result<Upserted, StoreError> {
        let known = self
            .find
            .query_row(params![e.source_id, e.key], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .optional()?;
        let authors = authors_json(&e.authors)?;
        let categories = categories_json(&e.categories)?;
        let (published, updated) = (e.published.map(micros), e.updated.map(micros));
        let (fingerprint_sql, hash_sql) = (to_sql_u64(e.fingerprint), to_sql_u64(e.content_hash));
        let facts_sql = to_sql_u64(e.facts);
        // What a reader sees, and the signature of its facts, in the column
        // order both INSERT and UPDATE use.
        let content: [&dyn ToSql; 15] = [
            &e.guid,
            &e.link,
            &e.canonical_link,
            &e.title,
            &e.summary,
            &authors,
            &published,
            &updated,
            &e.lang.as_str(),
            &e.lang_origin.as_str(),
            &e.image,
            &fingerprint_sql,
            &hash_sql,
            &categories,
            &facts_sql,
        ];
        let Some((entry_id, hash, fingerprint, story_id, lang, stored_categories)) = known else {
            let pruned = self.still_listed.execute(params![
                e.source_id,
                super::retention::key_hash(&e.key),
                self.now
            ])?;
            if pruned > 0 {
                return Ok(Upserted {
                    entry_id: 0,
                    status: UpsertStatus::Unchanged,
                });
            }
            let key: [&dyn ToSql; 2] = [&e.source_id, &e.key];
            let now: [&dyn ToSql; 1] = [&self.now];
            self.insert
                .execute(params_from_iter(key.into_iter().chain(content).chain(now)))?;
            let entry_id = conn.last_insert_rowid();
            self.queue.execute(params![self.now, entry_id])?;
            return Ok(Upserted {
                entry_id,
                status: UpsertStatus::New,
            });
        };
        // The language is what a reader is shown the text as: a source whose
        // `lang` was corrected in feeds.toml relabels its entries.
        if from_sql_u64(hash) == e.content_hash && lang == e.lang.as_str() {
            if stored_categories != categories {
                self.relabel.execute(params![entry_id, categories])?;
            }
            return Ok(Upserted {
                entry_id,
                status: UpsertStatus::Unchanged,
            });
        }
        // Only entries in a story are indexed for lookups (see `Grouping`), by
        // what their row says: out before it changes, back in after.
        if story_id.is_some() {
            unindex_grouped(conn, entry_id, from_sql_u64(fingerprint))?;
        }
        let id: [&dyn ToSql; 1] = [&entry_id];
        self.update
            .execute(params_from_iter(id.into_iter().chain(content)))?;
        if let Some(story_id) = story_id {
            index_grouped(conn, entry_id, e)?;
            // The source's own date of the edit, when it gives one: edits
            // read in one cycle did not all happen at its moment.
            let edited = updated.map_or(self.now, |at| at.min(self.now));
            self.touch_story.execute(params![story_id, edited])?;
        }
        Ok(Upserted {
            entry_id,
            status: UpsertStatus::Updated,
        })
    }
}

/// Rows read at a time while the entries stored before have their facts signed.
const SIGNED_AT_ONCE: i64 = 10_000;

/// Adds `facts`, the signature of its facts, to every entry, and to what
/// `entries_member` holds.
pub(super) fn sign_facts(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("ALTER TABLE entries ADD COLUMN facts INTEGER NOT NULL DEFAULT 0;")?;
    let mut read =
        conn.prepare("SELECT id, title, summary FROM entries WHERE id > ?1 ORDER BY id LIMIT ?2")?;
    let mut write = conn.prepare("UPDATE entries SET facts = ?2 WHERE id = ?1")?;
    let mut after = 0;
    loop {
        let rows = read.query_map([after, SIGNED_AT_ONCE], |r| {
            let (title, summary): (String, String) = (r.get(1)?, r.get(2)?);
            Ok((
                r.get::<_, i64>(0)?,
                to_sql_u64(facts::signature(&title, &sanitized_text(&summary))),
            ))
        })?;
        let signed = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        let Some(&(last, _)) = signed.last() else {
            break;
        };
        for (id, facts) in &signed {
            write.execute(params![id, facts])?;
        }
        after = last;
    }
    conn.execute_batch(
        "DROP INDEX entries_member; \
         CREATE INDEX entries_member ON entries (id, source_id, fingerprint, dated, facts);",
    )
}

fn authors_json(authors: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(authors).map_err(|e| StoreError::Corrupt(format!("authors: {e}")))
}

fn categories_json(categories: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(categories).map_err(|e| StoreError::Corrupt(format!("categories: {e}")))
}

/// Stores entries within an open transaction; see `Store::upsert_entries`.
pub(super) fn upsert(
    conn: &Connection,
    entries: &[Entry],
    now: DateTime<Utc>,
) -> Result<Vec<Upserted>, StoreError> {
    let mut upsert = Upsert::new(conn, now)?;
    entries.iter().map(|e| upsert.one(conn, e)).collect()
}

impl Store {
    /// Stores a batch of entries in one transaction. An entry is known by its
    /// source and key; one whose content hash is unchanged is left alone, so a
    /// restart or a second process never sees old entries as new.
    pub fn upsert_entries(
        &mut self,
        entries: &[Entry],
        now: DateTime<Utc>,
    ) -> Result<Vec<Upserted>, StoreError> {
        let batch = self.batch()?;
        let out = batch.upsert_entries(entries, now)?;
        batch.commit()?;
        Ok(out)
    }

    /// Entries not yet in a story, oldest first.
    pub fn unassigned_entries(&self) -> Result<Vec<StoredEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM unassigned u JOIN entries e ON e.id = u.entry_id \
             LEFT JOIN entry_story s ON s.entry_id = u.entry_id \
             ORDER BY u.first_seen, u.entry_id"
        ))?;
        let rows = stmt.query_map([], stored_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Reads a row selected with `ENTRY_COLUMNS`; an unassigned entry has story id 0.
pub(super) fn stored_entry(r: &Row<'_>) -> rusqlite::Result<StoredEntry> {
    let authors: String = r.get(10)?;
    let lang: String = r.get(13)?;
    let origin: String = r.get(14)?;
    Ok(StoredEntry {
        id: r.get(0)?,
        story_id: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
        first_seen: date(r, 2)?,
        entry: Entry {
            source_id: r.get(3)?,
            key: r.get(4)?,
            guid: r.get(5)?,
            link: r.get(6)?,
            canonical_link: r.get(7)?,
            title: r.get(8)?,
            summary: r.get(9)?,
            authors: serde_json::from_str(&authors)
                .map_err(|e| bad_value(10, format!("authors {authors:?}: {e}")))?,
            published: opt_date(r, 11)?,
            updated: opt_date(r, 12)?,
            lang: Lang::parse(&lang).ok_or_else(|| bad_value(13, format!("language {lang:?}")))?,
            lang_origin: LangOrigin::from_str_lossy(&origin),
            image: r.get(15)?,
            fingerprint: from_sql_u64(r.get(16)?),
            facts: from_sql_u64(r.get(19)?),
            content_hash: from_sql_u64(r.get(17)?),
            // A list this build cannot read is no category at all.
            categories: serde_json::from_str(&r.get::<_, String>(18)?).unwrap_or_default(),
        },
    })
}
