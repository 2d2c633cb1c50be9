//! What editors change in the store: stories taken down, translations
//! written by a person, and finding a story by what an editor has at hand.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::stories::{Basis, save_variant};
use super::{Store, StoreError, from_sql_u64, micros};
use crate::clean::fingerprint::distance;
use crate::model::{Lang, Story, Variant};

/// A story as `hejnal stories` lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub story: Story,
    pub hidden: bool,
}

/// An edited translation dropped because its source's text moved away from
/// the text it was written for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedCorrection {
    pub story_id: i64,
    pub guid: String,
    pub lang: String,
    /// Bits of the source text's fingerprint that changed.
    pub moved: u32,
}

/// How many of the newest stories `hejnal stories --search` looks through.
pub const SEARCHED_STORIES: usize = 10_000;

impl Store {
    /// The story an editor means by `reference`: its number in `hejnal
    /// stories`, its id in any published feed (the combined id, or a tag id
    /// with its `/pl`, `/atom` … ending), or the link of one of its articles.
    pub fn find_story(&self, reference: &str) -> Result<Option<i64>, StoreError> {
        let reference = reference.trim();
        if let Ok(id) = reference.parse::<i64>() {
            return self.story_by("SELECT id FROM stories WHERE id = ?1", &id);
        }
        // A feed's own id is the story's id with one or two parts added.
        let mut guid = reference;
        for _ in 0..3 {
            if let Some(id) = self.story_by("SELECT id FROM stories WHERE guid = ?1", &guid)? {
                return Ok(Some(id));
            }
            match guid.rsplit_once('/') {
                Some((rest, _)) if guid.starts_with("tag:") => guid = rest,
                _ => break,
            }
        }
        self.story_by(
            "SELECT s.story_id FROM entries e JOIN entry_story s ON s.entry_id = e.id \
             WHERE e.link = ?1 OR e.canonical_link = ?1 ORDER BY s.story_id LIMIT 1",
            &reference,
        )
    }

    fn story_by(&self, sql: &str, value: &dyn rusqlite::ToSql) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .query_row([value], |r| r.get(0))
            .optional()?)
    }

    /// The story with id `story_id`, hidden or not, with its entries and variants.
    pub fn story(&self, story_id: i64) -> Result<Option<Story>, StoreError> {
        Ok(self
            .stories_where(
                "SELECT id, guid, published, updated FROM stories WHERE id = ?1",
                params![story_id],
            )?
            .pop())
    }

    /// The newest stories, hidden ones too, `source`'s only when given, and
    /// those whose titles contain `search` (ignoring case) when given, among
    /// the newest [`SEARCHED_STORIES`].
    pub fn list_stories(
        &self,
        search: Option<&str>,
        source: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        let scan = if search.is_some() {
            SEARCHED_STORIES
        } else {
            limit
        };
        let stories = self.stories_where(
            "SELECT id, guid, published, updated FROM stories WHERE ?1 IS NULL OR EXISTS \
             (SELECT 1 FROM entry_story s JOIN entries e ON e.id = s.entry_id \
              WHERE s.story_id = stories.id AND e.source_id = ?1) \
             ORDER BY published DESC, id DESC LIMIT ?2",
            params![source, i64::try_from(scan).unwrap_or(i64::MAX)],
        )?;
        let needle = search.map(str::to_lowercase);
        let mut hidden = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM hidden_stories WHERE story_id = ?1)")?;
        let mut out = Vec::new();
        for story in stories {
            if let Some(needle) = &needle {
                let titles = story
                    .entries
                    .iter()
                    .map(|e| &e.entry.title)
                    .chain(story.translations.iter().map(|v| &v.title));
                if !titles
                    .into_iter()
                    .any(|t| t.to_lowercase().contains(needle))
                {
                    continue;
                }
            }
            let is_hidden = hidden.query_row([story.id], |r| r.get(0))?;
            out.push(Listed {
                story,
                hidden: is_hidden,
            });
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Takes a story out of every feed, page and future archive; it stays out
    /// when its sources list it again. False when it was hidden already.
    pub fn hide_story(
        &self,
        story_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let added = self
            .conn
            .prepare_cached(
                "INSERT INTO hidden_stories (story_id, hidden_at, reason) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (story_id) DO NOTHING",
            )?
            .execute(params![story_id, micros(now), reason])?;
        Ok(added == 1)
    }

    /// Brings a hidden story back, with its guid and dates. False when it was
    /// not hidden.
    pub fn unhide_story(&self, story_id: i64) -> Result<bool, StoreError> {
        let removed = self
            .conn
            .prepare_cached("DELETE FROM hidden_stories WHERE story_id = ?1")?
            .execute([story_id])?;
        Ok(removed == 1)
    }

    /// Keeps an editor's translation of a story, in place of the machine's,
    /// written from the entry and fingerprint in `basis`.
    pub fn save_correction(
        &self,
        story_id: i64,
        variant: &Variant,
        basis: Basis,
    ) -> Result<(), StoreError> {
        save_variant(&self.conn, story_id, variant, Some(basis))
    }

    /// Removes the editor's translation of a story in `lang`; the machine's
    /// comes back with the next cycle. False when there was none.
    pub fn revert_correction(&self, story_id: i64, lang: &Lang) -> Result<bool, StoreError> {
        self.delete_correction(story_id, lang.as_str())
    }

    fn delete_correction(&self, story_id: i64, lang: &str) -> Result<bool, StoreError> {
        let removed = self
            .conn
            .prepare_cached(
                "DELETE FROM story_variants WHERE story_id = ?1 AND lang = ?2 AND kind = 'edited'",
            )?
            .execute(params![story_id, lang])?;
        Ok(removed == 1)
    }

    /// Drops every edited translation whose source text's fingerprint moved
    /// more than `max_distance` bits since it was written: the source
    /// rewrote its story, and the correction no longer fits it.
    pub fn drop_stale_corrections(
        &self,
        max_distance: u32,
    ) -> Result<Vec<DroppedCorrection>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT v.story_id, s.guid, v.lang, v.basis_fingerprint, e.fingerprint \
             FROM story_variants v JOIN entries e ON e.id = v.basis_entry \
             JOIN stories s ON s.id = v.story_id WHERE v.kind = 'edited'",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(DroppedCorrection {
                story_id: r.get(0)?,
                guid: r.get(1)?,
                lang: r.get(2)?,
                moved: distance(
                    from_sql_u64(r.get::<_, Option<i64>>(3)?.unwrap_or_default()),
                    from_sql_u64(r.get(4)?),
                ),
            })
        })?;
        let stale: Vec<DroppedCorrection> = rows
            .filter(|row| row.as_ref().map_or(true, |c| c.moved > max_distance))
            .collect::<Result<_, _>>()?;
        for dropped in &stale {
            self.delete_correction(dropped.story_id, &dropped.lang)?;
        }
        Ok(stale)
    }
}
