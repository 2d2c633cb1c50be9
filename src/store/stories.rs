//! Reading stories for publishing, and the variants kept with them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::entries::{ENTRY_COLUMNS, stored_entry};
use super::{Store, StoreError, bad_value, date, micros, to_sql_u64};
use crate::model::{Lang, Provenance, Story, Variant};

/// Stories an editor took down (`hejnal hide`) are in no feed, page or
/// archive: every query that lists stories for publishing says so.
const SHOWN: &str = "NOT EXISTS (SELECT 1 FROM hidden_stories h WHERE h.story_id = stories.id)";

impl Store {
    /// The newest `limit` stories by published date (hidden ones left out), each with its entries (the
    /// earliest first: the lead) and its stored variants.
    pub fn latest_stories(&self, limit: usize) -> Result<Vec<Story>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.stories_where(
            &format!(
                "SELECT id, guid, published, updated FROM stories WHERE {SHOWN} \
                 ORDER BY published DESC, id DESC LIMIT ?1"
            ),
            params![limit],
        )
    }

    /// How many stories were published in `[from, until)`.
    pub fn count_stories_published_between(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let count: i64 = self
            .conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM stories WHERE published >= ?1 AND published < ?2 AND {SHOWN}"
            ))?
            .query_row(params![micros(from), micros(until)], |r| r.get(0))?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// Up to `limit` of the stories published in `[from, until)`, oldest first,
    /// after the story `after` (its published date and id) when one is given:
    /// a month read a page at a time, each page where the last one ended.
    pub fn stories_published_after(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        after: Option<(DateTime<Utc>, i64)>,
        limit: usize,
    ) -> Result<Vec<Story>, StoreError> {
        let (after_published, after_id) =
            after.map_or((i64::MIN, i64::MIN), |(at, id)| (micros(at), id));
        self.stories_where(
            &format!(
                "SELECT id, guid, published, updated FROM stories \
                 WHERE published >= ?1 AND published < ?2 AND (published, id) > (?3, ?4) \
                 AND {SHOWN} ORDER BY published, id LIMIT ?5"
            ),
            params![
                micros(from),
                micros(until),
                after_published,
                after_id,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
        )
    }

    /// When the oldest story was published, if there is any.
    pub fn oldest_story_published(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT min(published) FROM stories")?;
        let oldest: Option<i64> = stmt.query_row([], |r| r.get(0))?;
        Ok(oldest.and_then(DateTime::from_timestamp_micros))
    }

    pub(super) fn stories_where(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Story>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let heads = stmt
            .query_map(params, |r| {
                Ok(Story {
                    id: r.get(0)?,
                    guid: r.get(1)?,
                    published: date(r, 2)?,
                    updated: date(r, 3)?,
                    entries: Vec::new(),
                    translations: Vec::new(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        fill(&self.conn, heads)
    }

    /// Keeps a story's text in one language, replacing an earlier one in that language.
    pub fn save_variant(&self, story_id: i64, variant: &Variant) -> Result<(), StoreError> {
        save_variant(&self.conn, story_id, variant, None)
    }
}

/// The entry an edited translation was made from, and that entry's
/// fingerprint then.
pub type Basis = (i64, u64);

pub(super) fn save_variant(
    conn: &Connection,
    story_id: i64,
    variant: &Variant,
    basis: Option<Basis>,
) -> Result<(), StoreError> {
    let (kind, source_id, engine, from, original_link) = match &variant.provenance {
        Provenance::Native { source_id } => ("native", Some(source_id.as_str()), None, None, None),
        Provenance::Machine {
            engine,
            from,
            original_link,
        } => (
            "machine",
            None,
            Some(engine.as_str()),
            Some(from.as_str()),
            original_link.as_deref(),
        ),
        Provenance::Edited {
            from,
            original_link,
        } => (
            "edited",
            None,
            None,
            Some(from.as_str()),
            original_link.as_deref(),
        ),
    };
    let (basis_entry, basis_fingerprint) = basis.map_or((None, None), |(entry, fingerprint)| {
        (Some(entry), Some(to_sql_u64(fingerprint)))
    });
    conn.prepare_cached(
        "INSERT OR REPLACE INTO story_variants (story_id, lang, title, summary, link, \
             kind, source_id, engine, from_lang, original_link, basis_entry, \
             basis_fingerprint) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        story_id,
        variant.lang.as_str(),
        variant.title,
        variant.summary,
        variant.link,
        kind,
        source_id,
        engine,
        from,
        original_link,
        basis_entry,
        basis_fingerprint,
    ])?;
    Ok(())
}

/// The entries and variants of `stories`, read in one query each: two queries
/// per story cost more than the rows they read, most of it spent preparing
/// them again.
fn fill(conn: &Connection, mut stories: Vec<Story>) -> Result<Vec<Story>, StoreError> {
    if stories.is_empty() {
        return Ok(stories);
    }
    let at: HashMap<i64, usize> = stories.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    // A JSON array of integers, which json_each reads as one value per id.
    let ids: Vec<String> = stories.iter().map(|s| s.id.to_string()).collect();
    let ids = format!("[{}]", ids.join(","));
    let mut entries = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM entry_story s JOIN entries e ON e.id = s.entry_id \
         WHERE s.story_id IN (SELECT value FROM json_each(?1)) ORDER BY s.story_id, e.dated, e.id"
    ))?;
    for entry in entries.query_map([&ids], stored_entry)? {
        let entry = entry?;
        if let Some(&i) = at.get(&entry.story_id) {
            stories[i].entries.push(entry);
        }
    }
    let mut variants = conn.prepare_cached(
        "SELECT lang, title, summary, link, kind, source_id, engine, from_lang, original_link, \
         story_id FROM story_variants WHERE story_id IN (SELECT value FROM json_each(?1)) \
         ORDER BY story_id, lang",
    )?;
    let mut rows = variants.query([&ids])?;
    while let Some(row) = rows.next()? {
        let story_id: i64 = row.get(9)?;
        if let Some(&i) = at.get(&story_id) {
            stories[i].translations.push(variant(row)?);
        }
    }
    Ok(stories)
}

fn variant(r: &Row<'_>) -> rusqlite::Result<Variant> {
    let provenance = match r.get::<_, String>(4)?.as_str() {
        "native" => Provenance::Native {
            source_id: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
        },
        "edited" => Provenance::Edited {
            from: lang(r, 7)?,
            original_link: r.get(8)?,
        },
        _ => Provenance::Machine {
            engine: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            from: lang(r, 7)?,
            original_link: r.get(8)?,
        },
    };
    Ok(Variant {
        lang: lang(r, 0)?,
        title: r.get(1)?,
        summary: r.get(2)?,
        link: r.get(3)?,
        provenance,
    })
}

fn lang(r: &Row<'_>, idx: usize) -> rusqlite::Result<Lang> {
    let raw: Option<String> = r.get(idx)?;
    let raw = raw.unwrap_or_default();
    Lang::parse(&raw).ok_or_else(|| bad_value(idx, format!("language {raw:?}")))
}
