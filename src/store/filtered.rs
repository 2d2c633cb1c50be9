//! The filter verdicts of entries: which stored entries are not published.
//! The rules themselves live in `filter`; the store keeps what they said,
//! the digest of the rules each source was judged under, and the entries
//! still to judge (new or changed, queued by triggers; see the migrations).

use std::collections::{HashMap, HashSet};

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use super::{Store, StoreError, from_sql_u64, to_sql_u64};

/// What the filter rules read of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterCandidate {
    pub source_id: String,
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
    /// Entries judged: new, changed, or of a source whose rules changed.
    pub judged: usize,
    /// Of those, how many the rules keep out.
    pub filtered: usize,
}

/// True when a story has an entry the rules let through: only such stories
/// are published. `stories` is the outer query's table.
pub(super) const HAS_PUBLISHED_ENTRY: &str = "EXISTS (SELECT 1 FROM entry_story es \
     WHERE es.story_id = stories.id \
     AND NOT EXISTS (SELECT 1 FROM filtered_entries fe WHERE fe.entry_id = es.entry_id))";

const CANDIDATE_COLUMNS: &str = "e.id, e.source_id";

impl Store {
    /// Brings every verdict up to date in one transaction: all the entries
    /// of a source whose rules changed (its digest, from `digest_of`, is not
    /// the one it was judged under), and every new or changed entry.
    /// `filtered` says whether the rules keep an entry out; the entries of a
    /// source without rules (`has_rules`) are let through unread.
    pub fn judge_entries(
        &self,
        digest_of: impl Fn(&str) -> u64,
        has_rules: impl Fn(&str) -> bool,
        mut filtered: impl FnMut(&FilterCandidate) -> bool,
    ) -> Result<Judged, StoreError> {
        // Writing from the start: the queue read is the queue emptied, even
        // with another process storing entries meanwhile.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let known: HashMap<String, u64> = tx
            .prepare_cached("SELECT source_id, digest FROM filter_digests")?
            .query_map([], |r| Ok((r.get(0)?, from_sql_u64(r.get(1)?))))?
            .collect::<Result<_, _>>()?;
        let mut verdicts: Vec<(i64, bool)> = Vec::new();
        // The digest each source's entries are judged under from now on.
        let mut digests: HashMap<String, u64> = HashMap::new();
        for (source_id, digest) in &known {
            let now = digest_of(source_id);
            if now != *digest {
                let sql =
                    format!("SELECT {CANDIDATE_COLUMNS} FROM entries e WHERE e.source_id = ?1");
                let judge = Judge {
                    has_rules: &has_rules,
                    filtered: &mut filtered,
                };
                read_candidates(&tx, &sql, params![source_id], &mut verdicts, judge)?;
                digests.insert(source_id.clone(), now);
            }
        }
        let sql = format!(
            "SELECT {CANDIDATE_COLUMNS} FROM unjudged u JOIN entries e ON e.id = u.entry_id"
        );
        let judge = Judge {
            has_rules: &has_rules,
            filtered: &mut filtered,
        };
        let queued = read_candidates(&tx, &sql, [], &mut verdicts, judge)?;
        for source_id in queued {
            digests
                .entry(source_id)
                .or_insert_with_key(|id| digest_of(id));
        }

        {
            let mut keep_out =
                tx.prepare_cached("INSERT OR IGNORE INTO filtered_entries (entry_id) VALUES (?1)")?;
            let mut let_through =
                tx.prepare_cached("DELETE FROM filtered_entries WHERE entry_id = ?1")?;
            for &(id, verdict) in &verdicts {
                if verdict {
                    keep_out.execute([id])?;
                } else {
                    let_through.execute([id])?;
                }
            }
            let mut save = tx.prepare_cached(
                "INSERT OR REPLACE INTO filter_digests (source_id, digest) VALUES (?1, ?2)",
            )?;
            for (source_id, digest) in &digests {
                if known.get(source_id) != Some(digest) {
                    save.execute(params![source_id, to_sql_u64(*digest)])?;
                }
            }
            tx.prepare_cached("DELETE FROM unjudged")?.execute([])?;
        }
        tx.commit()?;
        Ok(Judged {
            judged: verdicts.len(),
            filtered: verdicts.iter().filter(|(_, v)| *v).count(),
        })
    }

    /// How many stored entries of each source the rules keep out.
    pub fn filtered_counts(&self) -> Result<HashMap<String, usize>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.source_id, count(*) FROM filtered_entries f \
             JOIN entries e ON e.id = f.entry_id GROUP BY e.source_id",
        )?;
        let counts = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .map(|row| row.map(|(id, n)| (id, usize::try_from(n).unwrap_or(0))))
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(counts)
    }
}

/// How `read_candidates` decides.
struct Judge<'a, H, F> {
    has_rules: &'a H,
    filtered: &'a mut F,
}

/// Judges the entries `sql` selects (as `CANDIDATE_COLUMNS`), adding each
/// verdict to `verdicts`, and returns the sources they are of. An entry's
/// text is read only when its source has rules. The verdicts are written once
/// reading is done, so that no query sees its own verdicts.
fn read_candidates<H, F>(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
    verdicts: &mut Vec<(i64, bool)>,
    judge: Judge<'_, H, F>,
) -> Result<HashSet<String>, StoreError>
where
    H: Fn(&str) -> bool,
    F: FnMut(&FilterCandidate) -> bool,
{
    let mut stmt = tx.prepare_cached(sql)?;
    let mut text =
        tx.prepare_cached("SELECT title, summary, link, categories FROM entries WHERE id = ?1")?;
    let mut sources = HashSet::new();
    let mut rows = stmt.query(params)?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let source_id: String = row.get(1)?;
        if !sources.contains(&source_id) {
            sources.insert(source_id.clone());
        }
        if !(judge.has_rules)(&source_id) {
            verdicts.push((id, false));
            continue;
        }
        let read = text
            .query_row([id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, String>(3)?))
            })
            .optional()?;
        let Some((title, summary, link, categories)) = read else {
            continue;
        };
        let candidate = FilterCandidate {
            source_id,
            title,
            summary,
            link,
            // A list this build cannot read is no category at all.
            categories: serde_json::from_str(&categories).unwrap_or_default(),
        };
        verdicts.push((id, (judge.filtered)(&candidate)));
    }
    Ok(sources)
}
