//! A feed set per city and per category, and categories in every format:
//! the real binary publishes a loopback farm, and the files are read back.

mod common;
#[path = "fixtures/site_stories.rs"]
mod fixture;

use std::path::Path;

use common::{FEED_FILES, FeedServer, hejnal_in, write_config};

const SOURCES: &[(&str, &str, &str, &str)] = &[
    ("krakow", "/krakow.xml", "pl", "Kraków"),
    ("nuernberg", "/nuernberg.atom", "de", "Nürnberg"),
    ("mpk", "/mpk.xml", "pl", "Krakow"),
];

/// Kraków's transport company: its items carry categories of their own,
/// one of them twice in two spellings, one in markup with a script.
const MPK: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>MPK Kraków</title><link>https://mpk.example/</link>
<description>Komunikaty</description>
<item><title>Tramwaje wracają na Kapelankę</title><link>https://mpk.example/k/1</link>
<guid>mpk-1</guid><pubDate>Wed, 25 Nov 2026 08:00:00 GMT</pubDate>
<category>Tramwaje</category><category> tramwaje </category><category>Remonty &amp; objazdy</category>
<category>&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Bezpieczeństwo&lt;/b&gt;</category>
<description>Od soboty tramwaje linii 18 i 22 wracają na Kapelankę.</description></item>
</channel></rss>"#;

fn farm() -> FeedServer {
    let server = FeedServer::start();
    server.put_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/site"));
    server.put("/mpk.xml", MPK, "application/rss+xml");
    server
}

/// Publishes the farm once, with `publisher` lines added to `[publisher]`;
/// MPK's source is filed under "Transport".
fn publish(dir: &Path, server: &FeedServer, publisher: &str) -> String {
    let config = write_config(dir, server, SOURCES, "");
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace("concurrency = 4", &format!("concurrency = 4\n{publisher}"))
        .replace(
            "name = \"Source mpk\"",
            "name = \"Source mpk\"\ncategories = [\"Transport\", \"transport \"]",
        );
    std::fs::write(&config, text).expect("config");
    let (code, out, err) = hejnal_in(dir, &["once"]);
    assert_eq!(code, 0, "{out}{err}");
    out
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join("public").join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn ids(dir: &Path, file: &str) -> Vec<String> {
    let bytes = std::fs::read(dir.join("public").join(file)).expect("published");
    let feed = feed_rs::parser::parse(&bytes[..]).expect("published feed parses");
    feed.entries.into_iter().map(|e| e.id).collect()
}

#[test]
fn each_city_has_its_feeds_pages_and_ids_when_configured() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    publish(dir.path(), &server, "per_city = true");
    // "Kraków" and "Krakow" are one city, and its slug has no diacritics.
    for city in ["city/krakow/", "city/nurnberg/"] {
        for file in FEED_FILES
            .iter()
            .chain(&["index.html", "pl/index.html", "en/index.html"])
        {
            assert!(
                dir.path().join("public").join(city).join(file).is_file(),
                "{city}{file}"
            );
        }
    }
    assert!(!dir.path().join("public/city/kraków").exists());
    let krakow = read(dir.path(), "city/krakow/feed.xml");
    let nurnberg = read(dir.path(), "city/nurnberg/feed.atom");
    assert!(krakow.contains("Plantach") && krakow.contains("Kapelankę"));
    assert!(
        !krakow.contains("Straßenfest"),
        "Nürnberg's own story stays in Nürnberg"
    );
    assert!(nurnberg.contains("Straßenfest") && !nurnberg.contains("Plantach"));
    // A story is in the feed of each city that told it.
    let cities_of = |file: &str| -> Vec<Vec<String>> {
        let feed: serde_json::Value = serde_json::from_str(&read(dir.path(), file)).expect("json");
        feed["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| {
                item["_hejnal"]["sources"]
                    .as_array()
                    .expect("sources")
                    .iter()
                    .map(|s| s["city"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .collect()
    };
    let everywhere = cities_of("feed.json");
    let in_krakow = cities_of("city/krakow/feed.json");
    let wanted: Vec<&Vec<String>> = everywhere
        .iter()
        .filter(|cities| cities.iter().any(|c| c == "Kraków" || c == "Krakow"))
        .collect();
    assert_eq!(in_krakow.iter().collect::<Vec<_>>(), wanted);
    assert!(in_krakow.len() >= 4 && in_krakow.len() < everywhere.len());
    assert!(
        krakow.contains("<title>Test — News — Kraków</title>"),
        "{krakow}"
    );

    // A reader subscribed to the main feeds and a city's keeps every item.
    let mut main: Vec<String> = FEED_FILES.iter().flat_map(|f| ids(dir.path(), f)).collect();
    let mut city: Vec<String> = FEED_FILES
        .iter()
        .flat_map(|f| ids(dir.path(), &format!("city/krakow/{f}")))
        .collect();
    assert!(!city.is_empty());
    let all = main.len() + city.len();
    main.append(&mut city);
    main.sort();
    main.dedup();
    assert_eq!(main.len(), all, "an id is shared between two items");

    // Pages: the city's own feeds are the first a reader discovers, and every
    // page links to every city's.
    let page = read(dir.path(), "city/krakow/pl/index.html");
    let first = page.find("rel=\"alternate\"").expect("autodiscovery");
    assert!(
        page[first..].contains("href=\"https://news.example.org/city/krakow/pl/feed.xml\""),
        "{page}"
    );
    assert!(
        page.contains("href=\"../../../city/nurnberg/index.html\""),
        "{page}"
    );
    assert!(page.contains("href=\"../../../index.html\""), "{page}");
    let home = read(dir.path(), "index.html");
    assert!(home.contains("href=\"city/krakow/index.html\""), "{home}");

    let opml = read(dir.path(), "feeds.opml");
    for url in [
        "https://news.example.org/feed.xml",
        "https://news.example.org/city/krakow/feed.xml",
        "https://news.example.org/city/krakow/en/feed.xml",
        "https://news.example.org/city/nurnberg/pl/feed.xml",
    ] {
        assert!(
            opml.contains(&format!("xmlUrl=\"{url}\"")),
            "{url} in {opml}"
        );
    }

    // Nothing changed, nothing written.
    let again = publish(dir.path(), &server, "per_city = true");
    assert!(again.contains("files: nothing changed"), "{again}");
}

#[test]
fn no_city_feeds_unless_configured() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    publish(dir.path(), &server, "");
    assert!(dir.path().join("public/feed.xml").is_file());
    assert!(!dir.path().join("public/city").exists());
    assert!(!dir.path().join("public/category").exists());
    assert!(!dir.path().join("public/feeds.opml").exists());
    assert!(!read(dir.path(), "index.html").contains("city/"));
}

#[test]
fn categories_reach_every_format_and_have_feeds_of_their_own() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    publish(dir.path(), &server, "per_category = true");
    // The source's category first, then the feed's; each once, whatever the case.
    let expected = [
        "Transport",
        "Tramwaje",
        "Remonty & objazdy",
        "Bezpieczeństwo",
    ];

    let rss = rss::Channel::read_from(read(dir.path(), "feed.xml").as_bytes()).expect("rss");
    let item = rss
        .items()
        .iter()
        .find(|i| i.title().is_some_and(|t| t.contains("Kapelankę")))
        .expect("MPK's item");
    let names: Vec<&str> = item.categories().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        ["Krakow", expected[0], expected[1], expected[2], expected[3]]
    );

    let atom = feed_rs::parser::parse(read(dir.path(), "en/feed.atom").as_bytes()).expect("atom");
    let entry = atom
        .entries
        .iter()
        .find(|e| {
            e.title
                .as_ref()
                .is_some_and(|t| t.content.contains("Kapelankę"))
        })
        .expect("MPK's entry");
    let terms: Vec<&str> = entry.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(
        terms,
        ["Krakow", expected[0], expected[1], expected[2], expected[3]]
    );

    let json: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "pl/feed.json")).expect("json");
    let tagged = json["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["title"].as_str().is_some_and(|t| t.contains("Kapelankę")))
        .expect("MPK's item");
    assert_eq!(
        tagged["tags"],
        serde_json::json!(["Krakow", expected[0], expected[1], expected[2], expected[3]])
    );

    for file in ["feed.xml", "feed.atom", "feed.json", "index.html"] {
        assert!(!read(dir.path(), file).contains("alert(1)"), "{file}");
    }

    // Only the configured category has a feed; the stories filed under it are in it.
    let transport = read(dir.path(), "category/transport/feed.xml");
    assert!(transport.contains("Kapelankę") && !transport.contains("Plantach"));
    assert!(!dir.path().join("public/category/tramwaje").exists());
    let home = read(dir.path(), "index.html");
    assert!(
        home.contains("href=\"category/transport/index.html\""),
        "{home}"
    );
    assert!(!home.contains("city/"), "no city feeds were asked for");
}

#[test]
fn websub_hubs_hear_about_the_city_feeds_they_are_named_in() {
    let config = fixture::config_with("per_city = true\nwebsub_hubs = [\"https://hub.example/\"]");
    let dir = tempfile::tempdir().expect("tempdir");
    let files = hejnal::publish::render(&config, &fixture::stories()).expect("render");
    let written = hejnal::publish::write(dir.path(), &files)
        .expect("write")
        .written;
    let topics = hejnal::cycle::websub::topics(&config, &written).expect("topics");
    let city_atom = "https://hejnal.example/news/city/krakow/pl/feed.atom";
    assert!(topics.iter().any(|t| t == city_atom), "{topics:?}");
    assert!(
        topics.iter().all(|t| t.ends_with("feed.xml")
            || t.ends_with("feed.atom")
            || t.ends_with("feed.json"))
    );
    assert_eq!(
        topics.len(),
        9 * 3,
        "the main feeds and those of Kraków and Nürnberg"
    );
    let atom = std::fs::read_to_string(dir.path().join("city/krakow/pl/feed.atom")).expect("atom");
    assert!(
        atom.contains("href=\"https://hub.example/\" rel=\"hub\""),
        "{atom}"
    );
}
