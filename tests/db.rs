//! The database over the years: `hejnal db backup` while hejnal writes,
//! `hejnal db check`, and a database written by an earlier release opened by
//! this one.
//!
//! tests/fixtures/schema/v6-sample.db is the database schema version 6 wrote
//! for the offline sample (`hejnal once --config examples/feeds.toml`): five
//! stories from eight entries, in rollback-journal mode and without
//! incremental vacuum, as databases of that release are.

mod common;

use std::path::Path;

use chrono::Utc;
use rusqlite::Connection;

use common::{hejnal_in, offline_sample};
use hejnal::model::{Entry, Lang, LangOrigin};
use hejnal::store::{SCHEMA_VERSION, Store};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn column(path: &Path, sql: &str) -> Vec<String> {
    let conn = Connection::open(path).expect("open");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let rows = stmt.query_map([], |r| r.get(0)).expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

#[test]
fn a_database_of_schema_6_opens_with_every_story_and_nothing_new() {
    let dir = tempfile::tempdir().expect("tempdir");
    offline_sample(dir.path());
    let db = dir.path().join("hejnal.db");
    std::fs::copy(repo().join("tests/fixtures/schema/v6-sample.db"), &db).expect("fixture");
    let guids = "SELECT guid FROM stories ORDER BY guid";
    let keys = "SELECT source_id || ' ' || key FROM entries ORDER BY 1";
    let (old_guids, old_keys) = (column(&db, guids), column(&db, keys));
    assert_eq!((old_guids.len(), old_keys.len()), (5, 8));

    let store = Store::open(&db).expect("upgrade");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert!(store.integrity_check().expect("integrity"));
    drop(store);
    assert_eq!(column(&db, guids), old_guids);
    assert_eq!(column(&db, keys), old_keys);

    // The same feeds read again by this release announce nothing.
    let (code, out, err) = hejnal_in(dir.path(), &["once"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stories: 0 new"), "{out}");
    assert_eq!(column(&db, guids), old_guids);
    let feed = std::fs::read_to_string(dir.path().join("public/feed.xml")).expect("feed");
    for guid in &old_guids {
        assert!(feed.contains(guid.as_str()), "{guid} not in feed.xml");
    }
}

fn entry(n: usize) -> Entry {
    let link = format!("https://krakow.example/news/{n}");
    Entry {
        source_id: "krakow".into(),
        key: link.clone(),
        guid: Some(link.clone()),
        link: Some(link.clone()),
        canonical_link: Some(link),
        title: format!("Wiadomość numer {n}"),
        summary: format!("<p>Treść {n}</p>"),
        authors: Vec::new(),
        published: None,
        updated: None,
        lang: Lang::parse("pl").expect("pl"),
        lang_origin: LangOrigin::Feed,
        image: None,
        fingerprint: n as u64,
        facts: 0,
        content_hash: n as u64,
        categories: Vec::new(),
    }
}

#[test]
fn a_backup_taken_while_hejnal_writes_is_whole_and_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    offline_sample(dir.path());
    let db = dir.path().join("hejnal.db");
    let mut store = Store::open(&db).expect("store");
    store
        .upsert_entries(&(0..50).map(entry).collect::<Vec<_>>(), Utc::now())
        .expect("committed entries");
    // A write in progress, as a cycle's batch is, holds the write lock.
    let batch = store.batch().expect("batch");
    batch
        .upsert_entries(&(50..80).map(entry).collect::<Vec<_>>(), Utc::now())
        .expect("pending entries");

    let (code, out, err) = hejnal_in(dir.path(), &["db", "backup", "copy/hejnal-backup.db"]);
    assert_ne!(code, 0, "no folder for the copy: {out}");
    assert!(err.contains("copy"), "{err}");
    std::fs::create_dir(dir.path().join("copy")).expect("mkdir");
    let (code, out, err) = hejnal_in(dir.path(), &["db", "backup", "copy/hejnal-backup.db"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("backed up"), "{out}");
    batch.commit().expect("the writer goes on");

    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("copy"))
        .expect("copy dir")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(
        leftovers,
        ["hejnal-backup.db"],
        "one file, no temporary left"
    );
    let copy = dir.path().join("copy/hejnal-backup.db");
    let backup = Store::open(&copy).expect("the copy opens");
    assert!(backup.integrity_check().expect("integrity"));
    assert_eq!(
        backup.entry_count().expect("count"),
        50,
        "the committed state"
    );
    assert_eq!(store.entry_count().expect("count"), 80);
}

#[test]
fn db_check_reports_schema_sizes_and_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    offline_sample(dir.path());
    let (code, _, err) = hejnal_in(dir.path(), &["db", "check"]);
    assert_ne!(code, 0);
    assert!(err.contains("no database at hejnal.db"), "{err}");

    let (code, _, err) = hejnal_in(dir.path(), &["once"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = hejnal_in(dir.path(), &["db", "check"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("schema version: {SCHEMA_VERSION}\n")),
        "{out}"
    );
    assert!(out.contains("integrity: ok"), "{out}");
    assert!(out.contains("auto vacuum incremental"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().eq(["stories", "5"])),
        "{out}"
    );

    // Damage in the middle of the file: a page of the entries' rows.
    let db = dir.path().join("hejnal.db");
    let mut bytes = std::fs::read(&db).expect("read");
    let page = 16 * 1024;
    assert!(bytes.len() > 6 * page, "{} bytes", bytes.len());
    for b in &mut bytes[4 * page + 100..5 * page] {
        *b = 0x5a;
    }
    std::fs::write(&db, bytes).expect("damage");
    let (code, out, err) = hejnal_in(dir.path(), &["db", "check"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("DAMAGED") || err.contains("malformed"),
        "{out}\n{err}"
    );
}
