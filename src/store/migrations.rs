//! The schema, one step per release that changed it. `PRAGMA user_version` holds
//! how many steps a database has taken; steps are only ever appended, so a later
//! release can bring any earlier database up to date.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;
use super::entries::sign_facts;
use super::grouping::{hash_grouped_keys, key_grouped_bodies};

/// A step of the schema: SQL, or code where SQL alone cannot compute the values.
enum Step {
    Sql(&'static str),
    Code(fn(&Connection) -> rusqlite::Result<()>),
}

/// Dates are Unix microseconds; 64-bit hashes are stored as their bit pattern in
/// an INTEGER.
const STEPS: &[Step] = &[
    Step::Sql(
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
    ),
    Step::Sql(
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
    ),
    Step::Sql(
        r#"
-- Bands carry the whole fingerprint: fingerprints are far from uniform, so a
-- band value is shared by many entries, and telling the near ones from the far
-- ones must not read every entry row.
ALTER TABLE fingerprint_bands ADD COLUMN fingerprint INTEGER NOT NULL DEFAULT 0;
UPDATE fingerprint_bands
    SET fingerprint = (SELECT e.fingerprint FROM entries e WHERE e.id = entry_id);
"#,
    ),
    Step::Sql(
        r#"
-- Which story an entry is in, and the keys grouping finds it by, live in narrow
-- rows: placing an entry in a story writes a few small rows, not its 2-3 KB
-- entry row and every index that tests its story.
CREATE TABLE entry_story (
    entry_id INTEGER PRIMARY KEY REFERENCES entries (id),
    story_id INTEGER NOT NULL REFERENCES stories (id)
);
INSERT INTO entry_story (entry_id, story_id)
    SELECT id, story_id FROM entries WHERE story_id IS NOT NULL;
CREATE INDEX entry_story_by_story ON entry_story (story_id, entry_id);

-- Entries waiting for a story, in the order grouping takes them. This table
-- and the next are indexes kept by the store itself, beside the entry: they
-- carry no foreign key, so writing a row costs no lookup in entries.
CREATE TABLE unassigned (
    first_seen INTEGER NOT NULL,
    entry_id   INTEGER NOT NULL,
    PRIMARY KEY (first_seen, entry_id)
) WITHOUT ROWID;
INSERT INTO unassigned (first_seen, entry_id)
    SELECT first_seen, id FROM entries WHERE story_id IS NULL;

-- The canonical link (kind 0), guid key (kind 1) and title (kind 2) of each
-- entry in a story, with its date: only grouped entries are ever looked up.
CREATE TABLE grouped_keys (
    kind     INTEGER NOT NULL,
    value    TEXT NOT NULL,
    dated    INTEGER NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (kind, value, dated, entry_id)
) WITHOUT ROWID;
INSERT INTO grouped_keys (kind, value, dated, entry_id)
    SELECT 0, canonical_link, dated, id FROM entries
        WHERE story_id IS NOT NULL AND canonical_link IS NOT NULL
    UNION ALL
    SELECT 1, guid_key, dated, id FROM entries
        WHERE story_id IS NOT NULL AND guid_key IS NOT NULL
    UNION ALL
    SELECT 2, title, dated, id FROM entries WHERE story_id IS NOT NULL;

DROP INDEX entries_unassigned;
DROP INDEX entries_by_story;
DROP INDEX entries_by_canonical_link;
DROP INDEX entries_by_guid_key;
DROP INDEX entries_by_title;
ALTER TABLE entries DROP COLUMN story_id;
ALTER TABLE entries DROP COLUMN guid_key;
"#,
    ),
    // `grouped_keys` holds a 64-bit hash of each key instead of its text.
    Step::Code(hash_grouped_keys),
    // The digests of the settings that read the last body stored, of that
    // body and of its items, so that none is read again (`item_digests`: 8
    // bytes each, little-endian), and the polling interval that body asked for.
    Step::Sql(
        "ALTER TABLE source_state ADD COLUMN settings_digest INTEGER;
         ALTER TABLE source_state ADD COLUMN body_digest INTEGER;
         ALTER TABLE source_state ADD COLUMN item_digests BLOB;
         ALTER TABLE source_state ADD COLUMN ttl_minutes INTEGER;",
    ),
    // What editors do: stories taken down (`hejnal hide`), and translations
    // written by a person (`hejnal correct`, kind 'edited'), which keep the
    // entry they translate and its fingerprint at the time, so that a
    // correction the source's text has moved away from is dropped.
    Step::Sql(
        "CREATE TABLE hidden_stories (
             story_id  INTEGER PRIMARY KEY REFERENCES stories (id),
             hidden_at INTEGER NOT NULL,
             reason    TEXT NOT NULL DEFAULT ''
         );
         ALTER TABLE story_variants ADD COLUMN basis_entry INTEGER;
         ALTER TABLE story_variants ADD COLUMN basis_fingerprint INTEGER;",
    ),
    // The objects uploaded to object storage (`[publish] target`), by key,
    // with the digest of what was sent: an unchanged file is not sent again.
    Step::Sql(
        "CREATE TABLE uploads (
             key      TEXT PRIMARY KEY,
             digest   INTEGER NOT NULL,
             bytes    INTEGER NOT NULL,
             uploaded INTEGER NOT NULL
         ) WITHOUT ROWID;",
    ),
    // Each source's health as the status page shows it, and which of its
    // problems each contact has been told about, so that a restart neither
    // repeats an alert nor forgets one. Chains are HTTP statuses separated by
    // spaces; warnings a JSON array.
    Step::Sql(
        r#"
CREATE TABLE source_health (
    source_id      TEXT PRIMARY KEY,
    failing_since  INTEGER,
    last_failure   INTEGER,
    failure_reason TEXT,
    failure_chain  TEXT,
    last_chain     TEXT,
    conditional    INTEGER,
    warnings       TEXT
);
CREATE TABLE alert_state (
    source_id TEXT NOT NULL,
    contact   TEXT NOT NULL,
    -- the problem last told ('' once its recovery is told)
    problem   TEXT NOT NULL,
    told_at   INTEGER NOT NULL,
    PRIMARY KEY (source_id, contact)
) WITHOUT ROWID;
-- A source's newest entries and their languages, read by the index alone.
CREATE INDEX entries_by_source_dated ON entries (source_id, dated, lang);
"#,
    ),
    // The categories of an entry's own item (a JSON array); the entries the
    // filter rules keep out, in a narrow table, since choosing the stories to
    // publish reads it for every story and an entry row is kilobytes; the
    // digest of the rules each source's entries were judged under; and the
    // entries to judge: new or changed ones, every stored one at first.
    Step::Sql(
        "ALTER TABLE entries ADD COLUMN categories TEXT NOT NULL DEFAULT '[]';
         CREATE TABLE filtered_entries (entry_id INTEGER PRIMARY KEY);
         CREATE TABLE filter_digests (source_id TEXT PRIMARY KEY, digest INTEGER NOT NULL);
         CREATE TABLE unjudged (entry_id INTEGER PRIMARY KEY);
         INSERT INTO unjudged (entry_id) SELECT id FROM entries;
         CREATE TRIGGER unjudged_on_insert AFTER INSERT ON entries
             BEGIN INSERT OR IGNORE INTO unjudged (entry_id) VALUES (NEW.id); END;
         CREATE TRIGGER unjudged_on_update AFTER UPDATE OF title, summary, link, categories
             ON entries BEGIN INSERT OR IGNORE INTO unjudged (entry_id) VALUES (NEW.id); END;
         CREATE TRIGGER filter_on_delete AFTER DELETE ON entries BEGIN
             DELETE FROM filtered_entries WHERE entry_id = OLD.id;
             DELETE FROM unjudged WHERE entry_id = OLD.id;
         END;",
    ),
    // `body_keys`: the keys of the body of each entry in a story (its long
    // sentences, the sketch of a short one), with its date, filled for the
    // entries stored before.
    Step::Code(key_grouped_bodies),
    // Retention prunes old stories; the (source, key hash) of each entry it
    // prunes stays here, so a source still listing the item does not bring it
    // back as a new story. `pruned` moves to the last time the source listed
    // it, and a key is forgotten `keep_days` later.
    Step::Sql(
        "CREATE TABLE pruned_keys (
             source_id TEXT NOT NULL,
             key_hash  INTEGER NOT NULL,
             pruned    INTEGER NOT NULL,
             PRIMARY KEY (source_id, key_hash)
         ) WITHOUT ROWID;
         CREATE INDEX pruned_keys_by_date ON pruned_keys (pruned);",
    ),
    // What grouping reads of every entry a lookup meets, without the row:
    // these columns come after the summary, and reaching them walks its
    // overflow pages.
    Step::Sql("CREATE INDEX entries_member ON entries (id, source_id, fingerprint, dated);"),
    // `facts`: the signature of the facts each entry states (see
    // `clean::facts`), so grouping passes over a candidate that states others
    // without reading its text; read with the rest of a member from
    // `entries_member`.
    Step::Code(sign_facts),
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
        match STEPS.get(step) {
            None => return Ok(()),
            Some(Step::Sql(sql)) => tx.execute_batch(sql)?,
            Some(Step::Code(run)) => run(&tx)?,
        }
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
        tracing::info!(
            database = name,
            version = found + 1,
            "database schema upgraded"
        );
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use rusqlite::{Connection, params};

    use super::{CURRENT, STEPS};
    use crate::clean::facts::{facts, signature};
    use crate::clean::fingerprint::simhash;
    use crate::config::DedupeConfig;
    use crate::dedupe::{self, GroupReport};
    use crate::model::Entry;
    use crate::store::Store;
    use crate::store::grouping::key_grouped_bodies;

    const LINK_1: &str = "https://krakow.example/news/tramwaj";
    const GUID_2: &str = "urn:uuid:6f1c2a4e-2b1d-4c55-9a0e-0d3f6e1b7c11";

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, hour, 0, 0)
            .single()
            .unwrap()
    }

    /// A database as release 3 left it: story 1 holds an entry of `krakow`
    /// and one of `lwow`; an entry of `wien` waits for grouping.
    fn version_3(path: &std::path::Path) -> rusqlite::Result<()> {
        let conn = Connection::open(path)?;
        for step in &STEPS[..3] {
            if let super::Step::Sql(sql) = step {
                conn.execute_batch(sql)?;
            }
        }
        conn.pragma_update(None, "user_version", 3)?;
        conn.execute(
            "INSERT INTO stories (id, guid, published, updated) VALUES (1, 'hejnal:story:one', ?1, ?1)",
            [at(9).timestamp_micros()],
        )?;
        let mut insert = conn.prepare(
            "INSERT INTO entries (source_id, key, guid, guid_key, canonical_link, title, summary, \
             authors, lang, lang_origin, fingerprint, content_hash, first_seen, dated, story_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, '<p>text</p>', '[]', 'pl', 'feed', 0, 1, ?7, ?7, ?8)",
        )?;
        let rows = [
            (
                "krakow",
                "k1",
                LINK_1,
                "krakow.example/news/tramwaj",
                "Nowy tramwaj",
                9,
                Some(1),
            ),
            (
                "lwow",
                "l1",
                GUID_2,
                GUID_2,
                "Tramwaj we Lwowie",
                10,
                Some(1),
            ),
            (
                "wien",
                "w1",
                "https://wien.example/1",
                "wien.example/1",
                "Oper",
                11,
                None,
            ),
        ];
        for (source, key, guid, guid_key, title, hour, story) in rows {
            let link = guid.starts_with("https").then_some(guid);
            insert.execute(params![
                source,
                key,
                guid,
                guid_key,
                link,
                title,
                at(hour).timestamp_micros(),
                story
            ])?;
        }
        Ok(())
    }

    /// Stores `entries` at `stored` and groups them at `grouped`.
    fn placed(
        store: &mut Store,
        entries: &[Entry],
        stored: DateTime<Utc>,
        grouped: DateTime<Utc>,
    ) -> GroupReport {
        store.upsert_entries(entries, stored).unwrap();
        dedupe::group(store, &DedupeConfig::default(), grouped).unwrap()
    }

    fn entry(source: &str, guid: &str, canonical_link: &str) -> Entry {
        Entry {
            summary: "<p>Inny tekst</p>".to_string(),
            published: Some(at(12)),
            content_hash: 7,
            categories: Vec::new(),
            ..Entry::for_test(source, guid, canonical_link, &format!("Wiadomość {source}"))
        }
    }

    #[test]
    fn short_notices_grouped_before_body_keys_are_found_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hejnal.db");
        let notice = "Od poniedziałku do piątku przejście podziemne pod Rondem Mogilskim będzie \
            zamknięte z powodu remontu schodów ruchomych. Piesi skorzystają z przejścia naziemnego.";
        let first = Entry {
            summary: format!("<p>{notice}</p>"),
            published: Some(at(9)),
            fingerprint: simhash("Przejście zamknięte", notice),
            ..Entry::for_test(
                "krakow",
                "k1",
                "https://krakow.example/1",
                "Przejście zamknięte",
            )
        };
        {
            let mut store = Store::open(&path).unwrap();
            placed(&mut store, &[first], at(9), at(9));
            // The database as the release before body keys left it.
            let step = STEPS
                .iter()
                .position(|s| {
                    let keying: fn(&Connection) -> rusqlite::Result<()> = key_grouped_bodies;
                    matches!(s, super::Step::Code(run) if std::ptr::fn_addr_eq(*run, keying))
                })
                .unwrap();
            // What the steps from body keys on made goes too: they run again.
            store
                .conn
                .execute_batch(&format!(
                    "DROP TABLE body_keys; DROP TABLE pruned_keys; DROP INDEX entries_member; \
                     ALTER TABLE entries DROP COLUMN facts; PRAGMA user_version = {step};"
                ))
                .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), CURRENT);
        let text = format!("{notice} Obok działa winda dla wózków.");
        let headline = "Rondo Mogilskie: piesi muszą iść górą";
        let repost = Entry {
            summary: format!("<p>{text}</p>"),
            published: Some(at(10)),
            fingerprint: simhash(headline, &text),
            ..Entry::for_test("portal", "p1", "https://portal.example/1", headline)
        };
        let report = placed(&mut store, &[repost], at(10), at(10));
        assert_eq!(
            report,
            GroupReport {
                new_stories: 0,
                joined: 1
            }
        );
    }

    #[test]
    fn the_facts_of_entries_stored_before_are_signed_by_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hejnal.db");
        let closure = |day: &str| {
            format!(
                "W {day} 12 maja od 22.00 most Dębnicki będzie zamknięty dla ruchu. Tramwaje \
                 pojadą przez most Grunwaldzki, a autobusy objazdem przez ulicę Konopnickiej."
            )
        };
        let notice = |source: &str, day: &str, hour: u32| {
            let text = closure(day);
            Entry {
                summary: format!("<p>{text}</p>"),
                published: Some(at(hour)),
                fingerprint: simhash("Most Dębnicki zamknięty", &text),
                ..Entry::for_test(
                    source,
                    &format!("{source}-{day}"),
                    &format!("https://{source}.example/{day}"),
                    "Most Dębnicki zamknięty",
                )
            }
        };
        {
            let mut store = Store::open(&path).unwrap();
            placed(
                &mut store,
                &[notice("krakow", "poniedziałek", 9)],
                at(9),
                at(9),
            );
            // The database as the release before facts left it.
            store
                .conn
                .execute_batch(&format!(
                    "DROP INDEX entries_member; ALTER TABLE entries DROP COLUMN facts; \
                     CREATE INDEX entries_member ON entries (id, source_id, fingerprint, dated); \
                     PRAGMA user_version = {};",
                    CURRENT - 1
                ))
                .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), CURRENT);
        let signed: i64 = store
            .conn
            .query_row("SELECT facts FROM entries", [], |r| r.get(0))
            .unwrap();
        let monday = closure("poniedziałek");
        let stated: Vec<String> = facts("Most Dębnicki zamknięty", &monday)
            .into_iter()
            .collect();
        assert_eq!(stated, ["#12", "#22.00", "day0", "month4"]);
        assert_eq!(signed as u64, signature("Most Dębnicki zamknięty", &monday));
        assert_ne!(signed, 0);
        // Another day is another closure; the same one retold joins it.
        let thursday = notice("portal", "czwartek", 10);
        let copy = notice("radio", "poniedziałek", 11);
        let report = placed(&mut store, &[thursday, copy], at(11), at(11));
        assert_eq!(
            report,
            GroupReport {
                new_stories: 1,
                joined: 1
            }
        );
    }

    #[test]
    fn a_version_3_database_keeps_its_stories_and_its_backlog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hejnal.db");
        version_3(&path).unwrap();
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), CURRENT);
        assert!(store.integrity_check().unwrap());

        let stories = store.latest_stories(10).unwrap();
        assert_eq!(stories.len(), 1);
        assert_eq!(stories[0].guid, "hejnal:story:one");
        let sources: Vec<&str> = stories[0]
            .entries
            .iter()
            .map(|e| e.entry.source_id.as_str())
            .collect();
        assert_eq!(sources, ["krakow", "lwow"]);
        let waiting = store.unassigned_entries().unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].entry.source_id, "wien");
        assert_eq!(waiting[0].story_id, 0);

        // The story is still found by the link and the guid it had before.
        let by_link = entry("nurnberg", "https://nurnberg.example/7", LINK_1);
        let by_guid = entry("leipzig", GUID_2, "https://leipzig.example/3");
        let report = placed(&mut store, &[by_link, by_guid], at(12), at(13));
        assert_eq!(
            report,
            GroupReport {
                new_stories: 1,
                joined: 2
            }
        );
        let stories = store.latest_stories(10).unwrap();
        let one = stories
            .iter()
            .find(|s| s.guid == "hejnal:story:one")
            .unwrap();
        assert_eq!(one.entries.len(), 4);
        assert!(store.unassigned_entries().unwrap().is_empty());
        assert!(store.integrity_check().unwrap());
    }
}
