//! The filter verdicts of entries: which stored entries are not published.
//! The rules themselves live in `filter`; the store only keeps what they said.

use std::collections::HashMap;

use rusqlite::params;

use super::{Store, StoreError, to_sql_u64};

/// What the filter rules read of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterCandidate {
    pub title: String,
    /// Sanitized HTML.
    pub summary: String,
    pub link: Option<String>,
    /// The feed's own categories of the item.
    pub categories: Vec<String>,
}

/// What [`Store::judge_entries`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    pub judged: usize,
    pub filtered: usize,
}

/// True when a story has an entry the rules let through: only such stories
/// are published. `stories` is the outer query's table.
pub(super) const HAS_PUBLISHED_ENTRY: &str = "EXISTS (SELECT 1 FROM entry_story es \
     LEFT JOIN entry_filter ef ON ef.entry_id = es.entry_id \
     WHERE es.story_id = stories.id AND coalesce(ef.filtered, 0) = 0)";

impl Store {
    /// Every source that has a stored entry, including sources no longer in
    /// feeds.toml: the global rules apply to their entries too.
    pub fn sources_with_entries(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT source_id FROM entries ORDER BY source_id")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(ids)
    }

    /// Judges the entries of `source_id` that have no verdict under the rules
    /// of `digest` (new, changed, or judged under other rules): `filtered`
    /// says whether one is kept from publishing. One transaction.
    pub fn judge_entries(
        &mut self,
        source_id: &str,
        digest: u64,
        mut filtered: impl FnMut(&FilterCandidate) -> bool,
    ) -> Result<Judged, StoreError> {
        let digest = to_sql_u64(digest);
        let tx = self.conn.transaction()?;
        let mut verdicts = Vec::new();
        {
            let mut select = tx.prepare_cached(
                "SELECT e.id, e.title, e.summary, e.link, e.categories FROM entries e \
                 WHERE e.source_id = ?1 AND NOT EXISTS (SELECT 1 FROM entry_filter f \
                 WHERE f.entry_id = e.id AND f.digest = ?2)",
            )?;
            let mut rows = select.query(params![source_id, digest])?;
            while let Some(row) = rows.next()? {
                let categories: String = row.get(4)?;
                let candidate = FilterCandidate {
                    title: row.get(1)?,
                    summary: row.get(2)?,
                    link: row.get(3)?,
                    // A list this build cannot read is no category at all.
                    categories: serde_json::from_str(&categories).unwrap_or_default(),
                };
                verdicts.push((row.get::<_, i64>(0)?, filtered(&candidate)));
            }
        }
        // Written once the reading is done, so the query never sees its own verdicts.
        {
            let mut save = tx.prepare_cached(
                "INSERT OR REPLACE INTO entry_filter (entry_id, digest, filtered) \
                 VALUES (?1, ?2, ?3)",
            )?;
            for &(id, verdict) in &verdicts {
                save.execute(params![id, digest, verdict])?;
            }
        }
        tx.commit()?;
        Ok(Judged {
            judged: verdicts.len(),
            filtered: verdicts.iter().filter(|(_, v)| *v).count(),
        })
    }

    /// How many stored entries of each source the rules keep from publishing.
    pub fn filtered_counts(&self) -> Result<HashMap<String, usize>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.source_id, count(*) FROM entry_filter f JOIN entries e ON e.id = f.entry_id \
             WHERE f.filtered = 1 GROUP BY e.source_id",
        )?;
        let counts = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .map(|row| row.map(|(id, n)| (id, usize::try_from(n).unwrap_or(0))))
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(counts)
    }
}
