//! Distinct posts of one source stay distinct: entries with distinct guids (or,
//! without guids, distinct links, fragments included) are never merged into one
//! entry or one story, whatever their titles, texts and links share.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use hejnal::clean;
use hejnal::config::{DedupeConfig, SourceConfig};
use hejnal::dedupe::group;
use hejnal::parse;
use hejnal::store::Store;
use proptest::prelude::*;

const FEED_URL: &str = "https://scripting.example.com/rss.xml";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("a valid date"))
}

fn source() -> SourceConfig {
    SourceConfig {
        name: "Scripting News".into(),
        city: "Kraków".into(),
        country: "PL".into(),
        translate: false,
        ..common::source_config("scripting", FEED_URL, "en")
    }
}

/// Stores and groups one fetch of `feed`; returns (entries, stories) of the source.
fn store_feed(feed: &str) -> (u64, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("hejnal.db")).expect("store");
    let parsed = parse::parse(feed.as_bytes(), Some("application/rss+xml"), FEED_URL, 500)
        .unwrap_or_else(|e| panic!("parse: {e}\n{feed}"));
    let entries = clean::clean(&source(), &parsed, FEED_URL, &[], now());
    store.upsert_entries(&entries, now()).expect("upsert");
    group(&mut store, &DedupeConfig::default(), now()).expect("group");
    (
        store.entries_of_source("scripting").expect("entries"),
        store.story_count().expect("stories"),
    )
}

#[derive(Debug, Clone)]
struct Item {
    guid: Option<String>,
    link: String,
    title: String,
    text: String,
}

fn rss(items: &[Item]) -> String {
    let mut out = String::from("<rss version=\"2.0\"><channel><title>Scripting News</title>");
    for item in items {
        out.push_str("<item>");
        if let Some(guid) = &item.guid {
            out.push_str(&format!("<guid isPermaLink=\"false\">{guid}</guid>"));
        }
        out.push_str(&format!(
            "<link>{}</link><title>{}</title><description>{}</description></item>",
            item.link, item.title, item.text
        ));
    }
    out.push_str("</channel></rss>");
    out
}

/// Items that share pages, titles and texts as much as possible: only their
/// guids, or without guids their links' fragments, tell them apart.
fn items() -> impl Strategy<Value = Vec<Item>> {
    let page = prop_oneof![
        Just("http://scripting.example.com/2026/12/01"),
        Just("https://www.scripting.example.com/2026/12/01/"),
        Just("http://scripting.example.com/2026/12/01?utm_source=rss"),
    ];
    let title = prop_oneof![Just(""), Just("Hejnał"), Just("Tramwaje na Krakowskiej")];
    let text = prop_oneof![
        Just(""),
        Just("Dziś o 12:00."),
        Just("&lt;p&gt;Tekst&lt;/p&gt;")
    ];
    proptest::collection::vec((any::<bool>(), page, any::<bool>(), title, text), 1..10).prop_map(
        |drafts| {
            drafts
                .into_iter()
                .enumerate()
                .map(|(i, (has_guid, page, anchored, title, text))| Item {
                    guid: has_guid.then(|| format!("post-{i}")),
                    // Without a guid the fragment is what names the post.
                    link: if anchored || !has_guid {
                        format!("{page}#a{i}")
                    } else {
                        page.to_string()
                    },
                    title: title.to_string(),
                    text: text.to_string(),
                })
                .collect()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn distinct_posts_of_one_source_are_never_merged(items in items()) {
        let (entries, stories) = store_feed(&rss(&items));
        prop_assert_eq!(entries, items.len() as u64);
        prop_assert_eq!(stories, items.len() as u64);
    }
}

/// The RSS 2.0 specification's own sample: Scripting News gives each post an
/// anchor on the day's page.
#[test]
fn posts_on_one_page_under_fragments_are_two_stories() {
    let feed = rss(&[
        Item {
            guid: Some("http://scripting.example.com/2002/09/30#When:6:56:02PM".into()),
            link: "http://scripting.example.com/2002/09/30#When:6:56:02PM".into(),
            title: "Joshua Allen: Who loves namespaces?".into(),
            text: "Namespaces are loved.".into(),
        },
        Item {
            guid: Some("http://scripting.example.com/2002/09/30#When:12:09:28PM".into()),
            link: "http://scripting.example.com/2002/09/30#When:12:09:28PM".into(),
            title: "Law and Order".into(),
            text: "A reverse-engineering question.".into(),
        },
    ]);
    assert_eq!(store_feed(&feed), (2, 2));
}

/// The same post listed twice under one guid is one entry.
#[test]
fn one_guid_listed_twice_is_one_entry() {
    let item = Item {
        guid: Some("post-1".into()),
        link: "https://scripting.example.com/a".into(),
        title: "Hejnał".into(),
        text: "Dziś.".into(),
    };
    assert_eq!(store_feed(&rss(&[item.clone(), item])), (1, 1));
}
