//! The store on a real SQLite file: what survives a restart, what counts as new.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use hejnal::config::DedupeConfig;
use hejnal::dedupe;
use hejnal::model::{Entry, Lang, LangOrigin, Provenance, SourceState, Variant};
use hejnal::store::{SCHEMA_VERSION, Store, StoreError, UpsertStatus};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, day, hour, 0, 0)
        .single()
        .unwrap()
}

fn lang(code: &str) -> Lang {
    Lang::parse(code).unwrap()
}

fn entry(source: &str, key: &str, title: &str, published: Option<DateTime<Utc>>) -> Entry {
    Entry {
        source_id: source.to_string(),
        key: key.to_string(),
        guid: Some(key.to_string()),
        link: Some(format!("https://{source}.example/{key}")),
        canonical_link: Some(format!("https://{source}.example/{key}")),
        title: title.to_string(),
        summary: format!("<p>{title}</p>"),
        authors: vec!["Anna Nowak".to_string()],
        published,
        updated: None,
        lang: lang("pl"),
        lang_origin: LangOrigin::Feed,
        image: None,
        fingerprint: hejnal::clean::fingerprint::simhash(title, &format!("{title} {key}")),
        facts: 0,
        content_hash: xxhash_rust::xxh3::xxh3_64(title.as_bytes()),
        categories: Vec::new(),
    }
}

fn statuses(store: &mut Store, entries: &[Entry], now: DateTime<Utc>) -> Vec<UpsertStatus> {
    store
        .upsert_entries(entries, now)
        .unwrap()
        .into_iter()
        .map(|u| u.status)
        .collect()
}

#[test]
fn upsert_tells_new_from_unchanged_and_updated_and_keeps_first_seen() {
    let mut store = Store::open_in_memory().unwrap();
    let a = entry("krakow", "a", "Hejnał o północy", Some(at(1, 9)));
    let b = entry("krakow", "b", "Nowy tramwaj", Some(at(1, 10)));
    assert_eq!(
        statuses(&mut store, &[a.clone(), b.clone()], at(1, 12)),
        [UpsertStatus::New, UpsertStatus::New]
    );

    let mut b2 = b.clone();
    b2.title = "Nowy tramwaj na Kazimierzu".to_string();
    b2.content_hash = 42;
    assert_eq!(
        statuses(&mut store, &[a.clone(), b2.clone()], at(2, 12)),
        [UpsertStatus::Unchanged, UpsertStatus::Updated]
    );

    let stored = store.unassigned_entries().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].entry, a);
    assert_eq!(stored[1].entry, b2, "the update is stored in place");
    assert_eq!(
        stored[1].first_seen,
        at(1, 12),
        "first_seen survives an update"
    );
    assert_eq!(stored[1].story_id, 0);
    assert_eq!(store.entry_count().unwrap(), 2);
}

/// A webmaster who corrects a source's `lang` expects its stories relabelled:
/// the same text in another language is an update, not "unchanged".
#[test]
fn a_new_language_for_the_same_text_is_an_update() {
    let mut store = Store::open_in_memory().unwrap();
    let a = entry(
        "nuernberg",
        "a",
        "Altstadtfest am Hauptmarkt",
        Some(at(1, 9)),
    );
    assert_eq!(
        statuses(&mut store, std::slice::from_ref(&a), at(1, 12)),
        [UpsertStatus::New]
    );
    let relabelled = Entry {
        lang: lang("de"),
        lang_origin: LangOrigin::Declared,
        ..a.clone()
    };
    assert_eq!(
        statuses(&mut store, std::slice::from_ref(&relabelled), at(2, 12)),
        [UpsertStatus::Updated]
    );
    assert_eq!(
        statuses(&mut store, std::slice::from_ref(&relabelled), at(3, 12)),
        [UpsertStatus::Unchanged]
    );
    assert_eq!(store.unassigned_entries().unwrap()[0].entry, relabelled);
}

#[test]
fn the_same_key_in_another_source_is_another_entry() {
    let mut store = Store::open_in_memory().unwrap();
    let a = entry("krakow", "1", "Hejnał", None);
    let b = entry("lwow", "1", "Hejnał", None);
    assert_eq!(
        statuses(&mut store, &[a, b], at(1, 12)),
        [UpsertStatus::New, UpsertStatus::New]
    );
    assert_eq!(store.entries_of_source("krakow").unwrap(), 1);
    assert_eq!(store.entries_of_source("lwow").unwrap(), 1);
}

#[test]
fn a_second_process_on_the_same_file_sees_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hejnal.db");
    let batch = vec![
        entry("krakow", "a", "Hejnał o północy", Some(at(1, 9))),
        entry("krakow", "b", "Nowy tramwaj", None),
    ];
    {
        let mut first = Store::open(&path).unwrap();
        first.upsert_entries(&batch, at(1, 12)).unwrap();
    }
    let mut second = Store::open(&path).unwrap();
    let stored = second.unassigned_entries().unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].entry, batch[0]);
    assert_eq!(stored[1].first_seen, at(1, 12));
    assert_eq!(
        statuses(&mut second, &batch, at(3, 12)),
        [UpsertStatus::Unchanged, UpsertStatus::Unchanged]
    );
    assert!(second.integrity_check().unwrap());
}

#[test]
fn migrations_set_the_version_and_reopening_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hejnal.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    let again = Store::open(&path).unwrap();
    assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(again.integrity_check().unwrap());
}

#[test]
fn a_database_from_a_newer_release_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hejnal.db");
    drop(Store::open(&path).unwrap());
    let newer = i64::from(SCHEMA_VERSION) + 1;
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", newer).unwrap();
    }
    let err = match Store::open(&path) {
        Err(e) => e,
        Ok(_) => panic!("a newer database was opened"),
    };
    assert!(matches!(err, StoreError::TooNew { found, .. } if found == newer));
    let message = err.to_string();
    assert!(message.contains("newer hejnal"), "{message}");
    assert!(message.contains("hejnal.db"), "{message}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, newer);
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        "this is not sqlite, it is a long enough text file ".repeat(50),
    )
    .unwrap();
    let message = match Store::open(&path) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a text file was opened as a database"),
    };
    assert!(message.contains("feeds.toml"), "{message}");
}

#[test]
fn source_state_round_trips_and_defaults_when_unknown() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(
        store.source_state("nowhere").unwrap(),
        SourceState::default()
    );
    let state = SourceState {
        etag: Some("\"abc\"".to_string()),
        last_modified: Some("Tue, 04 Mar 2025 10:00:00 GMT".to_string()),
        last_ok: Some(at(4, 10)),
        last_error: Some("HTTP 503 from https://example.org/feed".to_string()),
        consecutive_failures: 3,
        next_due: Some(at(4, 11)),
        moved_to: Some("https://example.org/new-feed".to_string()),
        moved_from: Some("https://example.org/feed".to_string()),
        gone_url: None,
        // The full width of the digest survives SQLite's signed integers.
        settings_digest: Some(1 << 40),
        body_digest: Some(u64::MAX - 7),
        item_digests: vec![0, 1 << 63, u64::MAX, 42],
        ttl_minutes: Some(30),
    };
    store.save_source_state("krakow", &state).unwrap();
    assert_eq!(store.source_state("krakow").unwrap(), state);

    let recovered = SourceState {
        consecutive_failures: 0,
        last_error: None,
        ..state.clone()
    };
    store.save_source_state("krakow", &recovered).unwrap();
    store
        .save_source_state("bordeaux", &SourceState::default())
        .unwrap();
    assert_eq!(
        store.all_source_states().unwrap(),
        [
            ("bordeaux".to_string(), SourceState::default()),
            ("krakow".to_string(), recovered)
        ]
    );
}

#[test]
fn latest_stories_are_newest_first_with_the_earliest_entry_leading() {
    let mut store = Store::open_in_memory().unwrap();
    let mut late_copy = entry("lwow", "x", "Hejnał zagrał", Some(at(5, 12)));
    late_copy.canonical_link = Some("https://krakow.example/hejnal".to_string());
    let mut original = entry("krakow", "h", "Hejnał zagrał", Some(at(5, 8)));
    original.canonical_link = Some("https://krakow.example/hejnal".to_string());
    let batch = [
        entry("krakow", "old", "Stara wiadomość", Some(at(1, 8))),
        late_copy,
        original,
        entry("krakow", "mid", "Środkowa wiadomość", Some(at(3, 8))),
    ];
    store.upsert_entries(&batch, at(6, 0)).unwrap();
    dedupe::group(&mut store, &DedupeConfig::default(), at(6, 0)).unwrap();

    let stories = store.latest_stories(10).unwrap();
    let titles: Vec<&str> = stories
        .iter()
        .map(|s| s.entries[0].entry.title.as_str())
        .collect();
    assert_eq!(
        titles,
        ["Hejnał zagrał", "Środkowa wiadomość", "Stara wiadomość"]
    );
    let sources: Vec<&str> = stories[0]
        .entries
        .iter()
        .map(|e| e.entry.source_id.as_str())
        .collect();
    assert_eq!(sources, ["krakow", "lwow"], "the earliest entry leads");
    assert!(
        stories[0].guid.starts_with("tag:hejnal.localhost,"),
        "{}",
        stories[0].guid
    );
    assert_eq!(store.latest_stories(2).unwrap().len(), 2);
    assert_eq!(store.story_count().unwrap(), 3);
    assert_eq!(store.stories_since("krakow", at(1, 0)).unwrap(), 3);
    assert_eq!(store.stories_since("lwow", at(7, 0)).unwrap(), 0);
}

#[test]
fn updating_an_entry_moves_its_story_updated_but_not_published() {
    let mut store = Store::open_in_memory().unwrap();
    let e = entry("krakow", "a", "Hejnał", Some(at(1, 8)));
    store
        .upsert_entries(std::slice::from_ref(&e), at(1, 9))
        .unwrap();
    dedupe::group(&mut store, &DedupeConfig::default(), at(1, 9)).unwrap();
    let before = store.latest_stories(1).unwrap().remove(0);

    let mut edited = e.clone();
    edited.summary = "<p>Hejnał, poprawiony</p>".to_string();
    edited.content_hash ^= 1;
    store.upsert_entries(&[edited], at(2, 9)).unwrap();
    let after = store.latest_stories(1).unwrap().remove(0);
    assert_eq!(after.guid, before.guid);
    assert_eq!(after.published, at(1, 8));
    assert_eq!(after.updated, at(2, 9));
    assert_eq!(after.entries[0].entry.summary, "<p>Hejnał, poprawiony</p>");
    assert!(
        store.unassigned_entries().unwrap().is_empty(),
        "an update stays in its story"
    );
}

#[test]
fn variants_are_kept_with_their_story_one_per_language() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .upsert_entries(&[entry("krakow", "a", "Hejnał", None)], at(1, 9))
        .unwrap();
    dedupe::group(&mut store, &DedupeConfig::default(), at(1, 9)).unwrap();
    let story = store.latest_stories(1).unwrap().remove(0);
    assert!(story.translations.is_empty());
    let machine = |title: &str| Variant {
        lang: lang("en"),
        title: title.to_string(),
        summary: "<p>The bugle call</p>".to_string(),
        link: Some("https://krakow.example/a".to_string()),
        provenance: Provenance::Machine {
            engine: "libretranslate".to_string(),
            from: lang("pl"),
            original_link: Some("https://krakow.example/a".to_string()),
        },
    };
    store
        .save_variant(story.id, &machine("Bugle call"))
        .unwrap();
    store
        .save_variant(story.id, &machine("The bugle call"))
        .unwrap();
    let story = store.latest_stories(1).unwrap().remove(0);
    assert_eq!(story.translations, [machine("The bugle call")]);
}

#[test]
fn translation_cache_and_daily_budget() {
    let store = Store::open_in_memory().unwrap();
    let (pl, en) = (lang("pl"), lang("en"));
    assert_eq!(
        store.cached_translation("deepl", &pl, &en, 7).unwrap(),
        None
    );
    store
        .put_translation("deepl", &pl, &en, 7, "Bugle call")
        .unwrap();
    assert_eq!(
        store
            .cached_translation("deepl", &pl, &en, 7)
            .unwrap()
            .as_deref(),
        Some("Bugle call")
    );
    assert_eq!(
        store.cached_translation("deepl", &en, &pl, 7).unwrap(),
        None
    );
    assert_eq!(
        store
            .cached_translation("libretranslate", &pl, &en, 7)
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .cached_translation("deepl", &pl, &en, u64::MAX)
            .unwrap(),
        None
    );
    store
        .put_translation("deepl", &pl, &en, u64::MAX, "max")
        .unwrap();
    assert_eq!(
        store
            .cached_translation("deepl", &pl, &en, u64::MAX)
            .unwrap()
            .as_deref(),
        Some("max")
    );

    let day = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    let next = day.succ_opt().unwrap();
    assert_eq!(store.budget_used(day).unwrap(), 0);
    assert_eq!(store.add_budget(day, 1200).unwrap(), 1200);
    assert_eq!(store.add_budget(day, 300).unwrap(), 1500);
    assert_eq!(store.budget_used(day).unwrap(), 1500);
    assert_eq!(
        store.budget_used(next).unwrap(),
        0,
        "the budget starts fresh each day"
    );
    assert_eq!(store.add_budget(day, u64::MAX).unwrap(), i64::MAX as u64);
}

#[test]
fn hostile_text_and_extreme_dates_round_trip() {
    let mut store = Store::open_in_memory().unwrap();
    let mut e = entry(
        "krakow",
        "a\0b'; DROP TABLE entries; --",
        "Tytuł\0z zerem",
        None,
    );
    let latest = DateTime::<Utc>::MAX_UTC.timestamp_micros();
    e.published = DateTime::from_timestamp_micros(latest);
    e.updated = Utc.with_ymd_and_hms(-4000, 1, 1, 0, 0, 0).single();
    e.authors = vec!["\"quoted\"".to_string(), "new\nline".to_string()];
    e.summary = "x".repeat(1 << 20);
    e.fingerprint = u64::MAX;
    e.content_hash = u64::MAX - 1;
    store
        .upsert_entries(std::slice::from_ref(&e), at(1, 0))
        .unwrap();
    assert_eq!(store.unassigned_entries().unwrap()[0].entry, e);
    assert_eq!(store.entry_count().unwrap(), 1);
}

#[test]
fn a_batch_of_ten_thousand_entries_is_stored_and_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("hejnal.db")).unwrap();
    let batch: Vec<Entry> = (0..10_000)
        .map(|i| {
            let mut e = entry("krakow", &format!("item-{i}"), "Wiadomość", None);
            e.fingerprint = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            e.content_hash = i as u64;
            e
        })
        .collect();
    let first = store.upsert_entries(&batch, at(1, 0)).unwrap();
    assert_eq!(first.len(), 10_000);
    assert!(first.iter().all(|u| u.status == UpsertStatus::New));
    let second = store.upsert_entries(&batch, at(2, 0)).unwrap();
    assert!(second.iter().all(|u| u.status == UpsertStatus::Unchanged));
    let ids: std::collections::HashSet<i64> = first.iter().map(|u| u.entry_id).collect();
    assert_eq!(ids.len(), 10_000);
    assert_eq!(store.entry_count().unwrap(), 10_000);
}

#[test]
fn a_batch_for_several_sources_lands_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hejnal.db");
    let mut store = Store::open(&path).unwrap();
    let ok = SourceState {
        etag: Some("\"v1\"".to_string()),
        ..SourceState::default()
    };

    // A batch dropped before its commit, as when the process dies mid-cycle.
    {
        let batch = store.batch().unwrap();
        batch
            .upsert_entries(&[entry("krakow", "a", "Hejnał", Some(at(1, 9)))], at(1, 12))
            .unwrap();
        batch.save_source_state("krakow", &ok).unwrap();
    }
    assert_eq!(store.entry_count().unwrap(), 0);
    assert_eq!(
        store.source_state("krakow").unwrap(),
        SourceState::default()
    );

    let batch = store.batch().unwrap();
    for source in ["krakow", "wien"] {
        let stored = batch
            .upsert_entries(&[entry(source, "a", "Hejnał", Some(at(1, 9)))], at(1, 12))
            .unwrap();
        assert_eq!(stored[0].status, UpsertStatus::New);
        batch.save_source_state(source, &ok).unwrap();
    }
    batch.commit().unwrap();

    let reopened = Store::open(&path).unwrap();
    assert_eq!(reopened.entry_count().unwrap(), 2);
    assert_eq!(reopened.source_state("wien").unwrap(), ok);
}

#[test]
fn a_checkpoint_empties_the_wal_and_keeps_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hejnal.db");
    let wal = dir.path().join("hejnal.db-wal");
    let mut store = Store::open(&path).unwrap();
    let batch: Vec<Entry> = (0..500)
        .map(|i| entry("krakow", &format!("k{i}"), &format!("Wiadomość {i}"), None))
        .collect();
    store.upsert_entries(&batch, at(1, 12)).unwrap();
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);

    store.checkpoint().unwrap();

    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    // Read by another connection while the first is still open, as the web
    // server reads while the daemon runs.
    assert_eq!(Store::open(&path).unwrap().entry_count().unwrap(), 500);
}

/// A cycle nudges the background checkpointer after each commit: what was
/// committed is in the database file itself by the time the checkpointer is
/// done, before the store's own checkpoint, and a reader still sees it all.
#[test]
fn the_background_checkpointer_copies_commits_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hejnal.db");
    let mut store = Store::open(&path).unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    let checkpointer = store.checkpointer().expect("a file database has one");
    let batch: Vec<Entry> = (0..2_000)
        .map(|i| entry("krakow", &format!("k{i}"), &format!("Wiadomość {i}"), None))
        .collect();
    store.upsert_entries(&batch, at(1, 12)).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        before,
        "commits reach the database file only by a checkpoint"
    );
    checkpointer.nudge();
    drop(checkpointer);
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(after > before + 100_000, "{before} → {after} bytes");
    assert_eq!(Store::open(&path).unwrap().entry_count().unwrap(), 2_000);
    assert!(Store::open_in_memory().unwrap().checkpointer().is_none());
}
