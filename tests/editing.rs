//! An editor takes a story down and brings it back: the real binary against a
//! loopback farm where three sources carry one story.

mod common;

use std::path::Path;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use common::{FEED_FILES, FeedServer, write_config};

const SOURCES: &[(&str, &str, &str, &str)] = &[
    ("krakow", "/krakow.xml", "pl", "Kraków"),
    ("krakow-en", "/krakow-en.xml", "en", "Kraków"),
    ("portal", "/portal.xml", "pl", "Kraków"),
];

/// The story all three sources carry, by its article's address.
const LINK: &str = "https://www.krakow.pl/aktualnosci/wypadek";

/// A feed with the shared story and one of its own, dated an hour ago.
fn feed(title: &str, own: &str, own_link: &str) -> String {
    let now = (Utc::now() - chrono::TimeDelta::hours(1)).to_rfc2822();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<link>https://www.krakow.pl/</link><description>d</description>
<item><title>{title}</title><link>{LINK}</link><guid>{LINK}</guid><pubDate>{now}</pubDate>
<description>Tekst.</description></item>
<item><title>{own}</title><link>{own_link}</link><guid>{own_link}</guid><pubDate>{now}</pubDate>
<description>Inny tekst.</description></item>
</channel></rss>"#
    )
}

fn farm() -> FeedServer {
    let server = FeedServer::start();
    let rss = "application/rss+xml";
    server.put(
        "/krakow.xml",
        feed(
            "Wypadek na Alejach",
            "Nowy park w Bronowicach",
            "https://www.krakow.pl/park",
        ),
        rss,
    );
    server.put(
        "/krakow-en.xml",
        feed(
            "Accident on the Avenues",
            "Museum night",
            "https://www.krakow.pl/en/museum",
        ),
        rss,
    );
    server.put(
        "/portal.xml",
        feed(
            "Wypadek: Aleje zablokowane",
            "Mecz Wisły",
            "https://portal.example/mecz",
        ),
        rss,
    );
    server
}

fn hejnal(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args(["--config", "feeds.toml"])
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hejnal");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (success, out) = hejnal(dir, args);
    assert!(success, "{args:?}: {out}");
    out
}

/// (id, title, published) of every item of a published feed.
fn items(dir: &Path, file: &str) -> Vec<(String, String, Option<DateTime<Utc>>)> {
    let bytes = std::fs::read(dir.join("public").join(file)).expect("published");
    let feed = feed_rs::parser::parse(&bytes[..]).expect("parses");
    feed.entries
        .into_iter()
        .map(|e| {
            (
                e.id,
                e.title.map(|t| t.content).unwrap_or_default(),
                e.published,
            )
        })
        .collect()
}

fn shows_the_accident(dir: &Path, file: &str) -> bool {
    items(dir, file)
        .iter()
        .any(|(_, title, _)| title.contains("Wypadek") || title.contains("Accident"))
}

#[test]
fn a_hidden_story_leaves_every_feed_and_page_and_stays_hidden_until_shown_again() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), &server, SOURCES, "");
    ok(dir.path(), &["once"]);
    for file in FEED_FILES {
        assert!(shows_the_accident(dir.path(), file), "{file} before hiding");
    }
    let listed: serde_json::Value = serde_json::from_str(&ok(
        dir.path(),
        &["stories", "--search", "wypadek", "--json"],
    ))
    .expect("stories --json");
    let rows = listed.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{listed:#}");
    assert_eq!(
        rows[0]["sources"].as_array().map(Vec::len),
        Some(3),
        "{listed:#}"
    );
    let guid = rows[0]["guid"].as_str().expect("guid").to_string();
    let before = items(dir.path(), "feed.xml");
    let (_, _, published) = before
        .iter()
        .find(|(id, ..)| *id == guid)
        .expect("the story in feed.xml")
        .clone();

    // By the link of any of its articles.
    let out = ok(
        dir.path(),
        &["hide", LINK, "--reason", "wrong victim's name"],
    );
    assert!(out.contains("hidden"), "{out}");
    ok(dir.path(), &["publish"]);
    for file in FEED_FILES {
        assert!(!shows_the_accident(dir.path(), file), "{file} after hiding");
        assert_eq!(items(dir.path(), file).len(), 3, "{file} keeps the others");
    }
    for page in ["index.html", "pl/index.html", "en/index.html"] {
        let html = std::fs::read_to_string(dir.path().join("public").join(page)).expect("page");
        assert!(
            !html.contains("Wypadek") && !html.contains("Accident"),
            "{page}"
        );
        assert!(html.contains("Nowy park w Bronowicach"), "{page}");
    }

    // Its sources list it again, and it stays out.
    let out = ok(dir.path(), &["once"]);
    assert!(
        out.contains("3 ok") || out.contains("3 not modified"),
        "{out}"
    );
    assert!(!shows_the_accident(dir.path(), "feed.xml"));
    let listed = ok(dir.path(), &["stories"]);
    assert!(listed.contains("[hidden] "), "{listed}");

    // Shown again, with its own id and date.
    let out = ok(dir.path(), &["unhide", &guid]);
    assert!(out.contains("shown again"), "{out}");
    ok(dir.path(), &["publish"]);
    let after = items(dir.path(), "feed.xml");
    let back = after
        .iter()
        .find(|(id, ..)| *id == guid)
        .expect("back in feed.xml");
    assert_eq!(back.2, published);
    for file in FEED_FILES {
        assert!(
            shows_the_accident(dir.path(), file),
            "{file} after unhiding"
        );
    }
}

#[test]
fn a_story_hidden_before_its_month_is_archived_is_left_out_of_the_archive() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = write_config(dir.path(), &server, SOURCES, "");
    ok(dir.path(), &["once"]);
    ok(dir.path(), &["hide", "1"]);

    // The month ends: the next publish archives it.
    let config = hejnal::config::Config::load(&config_path).expect("config");
    let store = hejnal::store::Store::open(&config.database_path()).expect("store");
    let today = Utc::now();
    let (year, month) = if today.month() == 12 {
        (today.year() + 1, 1)
    } else {
        (today.year(), today.month() + 1)
    };
    let next_month = Utc
        .with_ymd_and_hms(year, month, 2, 6, 0, 0)
        .single()
        .expect("date");
    let hidden = store.story(1).expect("read").expect("story 1");
    let fetcher = hejnal::fetch::Fetcher::new(&config.fetch, "test").expect("fetcher");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(hejnal::cycle::publish(
            &config, &store, &fetcher, next_month,
        ))
        .expect("publish");
    let archive = format!("archive/{:04}-{:02}.xml", today.year(), today.month());
    let archived = items(dir.path(), &archive);
    assert_eq!(archived.len(), 3, "{archived:?}");
    assert!(archived.iter().all(|(id, ..)| *id != hidden.guid));
}

#[test]
fn an_unknown_story_is_a_clear_error() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), &server, SOURCES, "");
    ok(dir.path(), &["once"]);
    let (success, out) = hejnal(dir.path(), &["hide", "https://nowhere.example/x"]);
    assert!(!success);
    assert!(out.contains("no story is known as"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}
