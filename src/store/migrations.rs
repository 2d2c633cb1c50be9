//! The schema, one step per release that changed it. `PRAGMA user_version` holds
//! how many steps a database has taken; steps are only ever appended, so a later
//! release can bring any earlier database up to date.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Dates are Unix microseconds; 64-bit hashes are stored as their bit pattern in
/// an INTEGER.
const STEPS: &[&str] = &[
    r#"
CREATE TABLE source_state (
    source_id            TEXT PRIMARY KEY,
    etag                 TEXT,
    last_modified        TEXT,
    last_ok              INTEGER,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_due             INTEGER,
    moved_to             TEXT,
    moved_from           TEXT,
    gone_url             TEXT
);

CREATE TABLE stories (
    id        INTEGER PRIMARY KEY,
    guid      TEXT NOT NULL UNIQUE,
    published INTEGER NOT NULL,
    updated   INTEGER NOT NULL
);
CREATE INDEX stories_by_published ON stories (published DESC, id DESC);

CREATE TABLE entries (
    id             INTEGER PRIMARY KEY,
    source_id      TEXT NOT NULL,
    key            TEXT NOT NULL,
    guid           TEXT,
    guid_key       TEXT,
    link           TEXT,
    canonical_link TEXT,
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL,
    authors        TEXT NOT NULL,
    published      INTEGER,
    updated        INTEGER,
    lang           TEXT NOT NULL,
    lang_origin    TEXT NOT NULL,
    image          TEXT,
    fingerprint    INTEGER NOT NULL,
    content_hash   INTEGER NOT NULL,
    first_seen     INTEGER NOT NULL,
    -- published, else first_seen: the date the story walks by
    dated          INTEGER NOT NULL,
    story_id       INTEGER REFERENCES stories (id),
    UNIQUE (source_id, key)
);
-- Grouping only ever looks for entries already in a story, so the lookup indexes
-- skip unassigned ones and an upsert of a new entry touches none of them.
CREATE INDEX entries_unassigned ON entries (first_seen, id) WHERE story_id IS NULL;
CREATE INDEX entries_by_story ON entries (story_id, dated, id) WHERE story_id IS NOT NULL;
CREATE INDEX entries_by_canonical_link ON entries (canonical_link)
    WHERE canonical_link IS NOT NULL AND story_id IS NOT NULL;
CREATE INDEX entries_by_guid_key ON entries (guid_key)
    WHERE guid_key IS NOT NULL AND story_id IS NOT NULL;

-- The 64-bit fingerprint of each entry in a story, cut into four 16-bit bands
-- with the band number in the top bits: two fingerprints within 3 bits of each
-- other share at least one band.
CREATE TABLE simhash_bands (
    band     INTEGER NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    PRIMARY KEY (band, entry_id)
) WITHOUT ROWID;

CREATE TABLE translations (
    engine    TEXT NOT NULL,
    from_lang TEXT NOT NULL,
    to_lang   TEXT NOT NULL,
    text_hash INTEGER NOT NULL,
    text      TEXT NOT NULL,
    PRIMARY KEY (engine, from_lang, to_lang, text_hash)
) WITHOUT ROWID;

CREATE TABLE translation_budget (
    day   TEXT PRIMARY KEY,
    chars INTEGER NOT NULL
);

CREATE TABLE story_variants (
    story_id      INTEGER NOT NULL REFERENCES stories (id),
    lang          TEXT NOT NULL,
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL,
    link          TEXT,
    -- 'native' or 'machine'
    kind          TEXT NOT NULL,
    source_id     TEXT,
    engine        TEXT,
    from_lang     TEXT,
    original_link TEXT,
    PRIMARY KEY (story_id, lang)
) WITHOUT ROWID;
"#,
    r#"
-- Bands carry the entry's date, so a lookup reads only the bands of the dedupe
-- window: the cost of placing one entry does not grow with the store.
CREATE TABLE fingerprint_bands (
    band     INTEGER NOT NULL,
    dated    INTEGER NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    PRIMARY KEY (band, dated, entry_id)
) WITHOUT ROWID;
INSERT INTO fingerprint_bands (band, dated, entry_id)
    SELECT b.band, e.dated, b.entry_id FROM simhash_bands b JOIN entries e ON e.id = b.entry_id;
DROP TABLE simhash_bands;

-- A syndicated copy usually keeps the headline: the second way to find one.
CREATE INDEX entries_by_title ON entries (title, dated) WHERE story_id IS NOT NULL;
"#,
    r#"
-- Bands carry the whole fingerprint: fingerprints are far from uniform, so a
-- band value is shared by many entries, and telling the near ones from the far
-- ones must not read every entry row.
ALTER TABLE fingerprint_bands ADD COLUMN fingerprint INTEGER NOT NULL DEFAULT 0;
UPDATE fingerprint_bands
    SET fingerprint = (SELECT e.fingerprint FROM entries e WHERE e.id = entry_id);
"#,
];

/// The schema version this build writes.
pub const CURRENT: u32 = STEPS.len() as u32;

/// Brings the database up to `CURRENT`, one transaction per step, so a crash
/// mid-way leaves it at the last whole step. The version is read inside each
/// write transaction: two processes opening a new database do not both create it.
pub fn migrate(conn: &mut Connection, name: &str) -> Result<(), StoreError> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let step = usize::try_from(found)
            .ok()
            .filter(|n| *n <= STEPS.len())
            .ok_or_else(|| StoreError::TooNew {
                name: name.to_string(),
                found,
                known: CURRENT,
            })?;
        let Some(sql) = STEPS.get(step) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
        tracing::info!(
            database = name,
            version = found + 1,
            "database schema upgraded"
        );
    }
}
