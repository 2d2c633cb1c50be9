//! Native language pairs: the matcher against a labeled fixture of Kraków
//! Polish/English articles, and merging in the store.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use hejnal::bilingual::pairs::{Reason, Side, find_pairs, same_article_link};
use hejnal::model::{Entry, Lang, LangOrigin};
use hejnal::store::Store;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    entries: Vec<FixtureEntry>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct FixtureEntry {
    id: String,
    lang: String,
    link: String,
    title: String,
    published: DateTime<Utc>,
    image: Option<String>,
    machine_title: Option<String>,
}

#[derive(Deserialize)]
struct Case {
    pl: String,
    en: String,
    pair: bool,
    why: String,
}

fn lang(code: &str) -> Lang {
    Lang::parse(code).expect("language code")
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pairs/cases.json");
    let text = std::fs::read_to_string(path).expect("pairs fixture");
    serde_json::from_str(&text).expect("pairs fixture parses")
}

fn side(e: &FixtureEntry) -> Side {
    Side {
        lang: lang(&e.lang),
        link: Some(e.link.clone()),
        image: e.image.clone(),
        title: e.title.clone(),
        machine_title: e.machine_title.clone(),
        dated: e.published,
        open: true,
    }
}

#[test]
fn the_labeled_pairs_are_found_with_high_precision() {
    let fixture = fixture();
    assert!(fixture.cases.len() >= 60, "{} cases", fixture.cases.len());
    let (pl, en): (Vec<&FixtureEntry>, Vec<&FixtureEntry>) =
        fixture.entries.iter().partition(|e| e.lang == "pl");
    let left: Vec<Side> = pl.iter().map(|e| side(e)).collect();
    let right: Vec<Side> = en.iter().map(|e| side(e)).collect();
    let found: HashMap<(String, String), Reason> = find_pairs(&left, &right)
        .into_iter()
        .map(|m| ((pl[m.left].id.clone(), en[m.right].id.clone()), m.reason))
        .collect();
    let labeled_true: BTreeSet<(String, String)> = fixture
        .cases
        .iter()
        .filter(|c| c.pair)
        .map(|c| (c.pl.clone(), c.en.clone()))
        .collect();

    let wrong: Vec<_> = found
        .iter()
        .filter(|(k, _)| !labeled_true.contains(*k))
        .collect();
    let true_positives = found.len() - wrong.len();
    let precision = true_positives as f64 / found.len().max(1) as f64;
    let recall = true_positives as f64 / labeled_true.len() as f64;
    println!(
        "pairs: {} found, {} right; precision {precision:.3}, recall {recall:.3}",
        found.len(),
        true_positives
    );
    assert!(
        precision >= 0.98,
        "precision {precision:.3}; wrong: {wrong:?}"
    );
    assert!(recall >= 0.8, "recall {recall:.3}");
    for case in fixture.cases.iter().filter(|c| !c.pair) {
        assert!(
            !found.contains_key(&(case.pl.clone(), case.en.clone())),
            "{} ↔ {} paired although {}",
            case.pl,
            case.en,
            case.why
        );
    }
    // Each kind of evidence is used by at least one pair.
    let reasons: BTreeSet<Reason> = found.values().copied().collect();
    assert_eq!(reasons, [Reason::Link, Reason::Image, Reason::Title].into());
}

#[test]
fn language_markers_map_between_links() {
    let (pl, en) = (lang("pl"), lang("en"));
    for (a, b) in [
        ("https://krakow.pl/pl/news/1", "https://krakow.pl/en/news/1"),
        (
            "https://krakow.pl/news?id=1&lang=pl",
            "https://krakow.pl/news?lang=en&id=1",
        ),
        ("https://krakow.pl/pl-PL/a/1", "https://krakow.pl/en-GB/a/1"),
        ("https://pl.krakow.pl/a/1", "https://en.krakow.pl/a/1"),
        ("https://krakow.pl/a/1", "https://krakow.pl/en/a/1"),
    ] {
        assert!(same_article_link(a, &pl, b, &en), "{a} ↔ {b}");
    }
    for (a, b) in [
        // The same page with no marker at all is the same link, not a pair.
        ("https://krakow.pl/a/1", "https://krakow.pl/a/1"),
        ("https://krakow.pl/pl/news/1", "https://krakow.pl/en/news/2"),
        // Each link must carry its own language's marker.
        ("https://krakow.pl/en/news/1", "https://krakow.pl/pl/news/1"),
        ("https://pl.krakow.pl/a/1", "https://en.nuernberg.de/a/1"),
        ("javascript:alert(1)//pl/", "https://krakow.pl/en/"),
        ("not a url", "https://krakow.pl/en/a"),
        ("", ""),
        (
            "https://krakow.pl/plx/news/1",
            "https://krakow.pl/en/news/1",
        ),
    ] {
        assert!(!same_article_link(a, &pl, b, &en), "{a} ↔ {b}");
    }
}

#[test]
fn hostile_sides_do_not_pair_or_panic() {
    let at = Utc
        .with_ymd_and_hms(2026, 5, 4, 8, 0, 0)
        .single()
        .expect("date");
    let hostile = |lang_code: &str| Side {
        lang: lang(lang_code),
        link: Some("http://[::1".to_string()),
        image: Some("data:image/png;base64,AAAA".to_string()),
        title: String::new(),
        machine_title: Some("\u{0}\u{202e}".to_string()),
        dated: at,
        open: true,
    };
    assert!(find_pairs(&[hostile("pl")], &[hostile("en")]).is_empty());
    // Entries in one language never pair with each other.
    let mut a = hostile("pl");
    a.link = Some("https://krakow.pl/pl/a/1".into());
    let mut b = a.clone();
    b.link = Some("https://krakow.pl/en/a/1".into());
    assert!(find_pairs(&[a], &[b]).is_empty());
}

fn entry(source: &str, key: &str, lang_code: &str, link: &str, published: DateTime<Utc>) -> Entry {
    Entry {
        source_id: source.to_string(),
        key: key.to_string(),
        guid: Some(key.to_string()),
        link: Some(link.to_string()),
        canonical_link: Some(link.to_string()),
        title: format!("{source} {key}"),
        summary: "<p>text</p>".to_string(),
        authors: Vec::new(),
        published: Some(published),
        updated: None,
        lang: lang(lang_code),
        lang_origin: LangOrigin::Declared,
        image: None,
        fingerprint: 0,
        facts: 0,
        content_hash: 1,
        categories: Vec::new(),
    }
}

#[test]
fn merging_keeps_the_older_story_and_its_guid() {
    let mut store = Store::open_in_memory().expect("store");
    let at = Utc
        .with_ymd_and_hms(2026, 5, 4, 8, 0, 0)
        .single()
        .expect("date");
    let pl = entry("krakow-pl", "a", "pl", "https://krakow.pl/pl/a/1", at);
    let en = entry("krakow-en", "b", "en", "https://krakow.pl/en/a/1", at);
    store.upsert_entries(&[pl, en], at).expect("upsert");
    hejnal::dedupe::group(&mut store, &Default::default(), at).expect("group");
    let before = store.latest_stories(10).expect("stories");
    assert_eq!(before.len(), 2);
    let keep = before.iter().map(|s| s.id).min().expect("a story");
    let gone = before.iter().map(|s| s.id).max().expect("a story");
    let keep_guid = before
        .iter()
        .find(|s| s.id == keep)
        .map(|s| s.guid.clone())
        .expect("kept story");

    store.merge_stories(keep, gone, at).expect("merge");
    let after = store.latest_stories(10).expect("stories");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, keep);
    assert_eq!(after[0].guid, keep_guid);
    assert_eq!(after[0].entries.len(), 2);
    assert!(store.integrity_check().expect("check"));
}
