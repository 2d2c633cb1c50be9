//! The public status page end to end: the real `hejnal once` against a
//! loopback farm of working, failing, removed and sloppy feeds, and what
//! status.json and status.html then tell the webmasters.

mod common;

use std::path::Path;

use common::html::tags_of;
use common::{Behaviour, FeedServer, hejnal_in};
use serde_json::Value;

/// An RSS feed of `n` items dated in the last days, in Polish.
fn rss(n: usize) -> String {
    let now = chrono::Utc::now();
    let items: String = (0..n)
        .map(|i| {
            let date = (now - chrono::Duration::hours(6 * i as i64)).to_rfc2822();
            format!(
                "<item><title>Wiadomość numer {i} z Krakowa</title>\
                 <link>https://krakow.example/{i}</link><pubDate>{date}</pubDate>\
                 <description>Rada miasta przyjęła dziś nowy plan dla dzielnicy i \
                 mieszkańcy mogą zgłaszać uwagi do końca miesiąca.</description></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>\
         <title>Kraków</title><link>https://krakow.example/</link><language>pl</language>\
         {items}</channel></rss>"
    )
}

/// A feeds.toml in `dir`; `sources` are whole `[[source]]` bodies.
fn config(dir: &Path, sources: &[String]) {
    let mut text = "[publisher]\ntitle = \"Hejnał\"\nbase_url = \"https://news.example.org/\"\n\
         languages = [\"pl\", \"en\"]\n\n[fetch]\ntimeout_secs = 5\nconnect_timeout_secs = 2\n\
         read_idle_timeout_secs = 2\n"
        .to_string();
    for s in sources {
        text.push_str(&format!("\n[[source]]\n{s}\n"));
    }
    std::fs::write(dir.join("feeds.toml"), text).unwrap();
}

fn source(id: &str, name: &str, city: &str, url: &str, extra: &str) -> String {
    format!(
        "id = \"{id}\"\nname = {name:?}\ncity = {city:?}\nurl = \"{url}\"\nlang = \"pl\"\n{extra}"
    )
}

fn once(dir: &Path) {
    let (code, out, err) = hejnal_in(dir, &["once"]);
    assert_eq!(code, 0, "{out}\n{err}");
}

fn status_json(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("public/status.json")).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    value["sources"].as_array().unwrap().clone()
}

fn find<'a>(sources: &'a [Value], id: &str) -> &'a Value {
    sources
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {sources:?}"))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("public").join(name)).unwrap()
}

#[test]
fn each_source_shows_its_state_its_http_chain_and_its_feed_warnings() {
    let server = FeedServer::start();
    server.put("/krakow.xml", rss(8), "application/rss+xml");
    // Moved, and the new address is gone: the chain shows both.
    server.behave(
        "/wien.xml",
        Behaviour::StatusWith(301, vec![("location", server.url("/wien-new.xml"))]),
    );
    server.behave("/removed.xml", Behaviour::Status(410));
    // Latin-1 bytes declared nowhere, and items without dates.
    let sloppy = b"<rss version=\"2.0\"><channel><title>Bordeaux</title>\
        <item><title>Caf\xe9 de la place</title><link>https://bordeaux.example/1</link></item>\
        <item><title>March\xe9 de No\xebl</title><link>https://bordeaux.example/2</link></item>\
        </channel></rss>";
    server.put("/sloppy.xml", sloppy.to_vec(), "text/xml");
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        &[
            source("krakow", "Kraków", "Kraków", &server.url("/krakow.xml"), ""),
            source("wien", "Wien", "Wien", &server.url("/wien.xml"), ""),
            source("removed", "Old", "Lwów", &server.url("/removed.xml"), ""),
            source(
                "sloppy",
                "Bordeaux",
                "Bordeaux",
                &server.url("/sloppy.xml"),
                "",
            ),
            source(
                "off",
                "Off",
                "Kyiv",
                &server.url("/off.xml"),
                "enabled = false",
            ),
        ],
    );
    once(dir.path());

    let sources = status_json(dir.path());
    assert_eq!(sources.len(), 5);
    let krakow = find(&sources, "krakow");
    assert_eq!(krakow["state"], "ok");
    assert_eq!(krakow["conditional_get"], true, "the server sends an ETag");
    assert!(krakow["last_success"].is_string());
    assert!(krakow["newest_item"].is_string());
    assert_eq!(krakow["items_per_week"][0], 8, "{krakow}");
    assert_eq!(krakow["language"]["declared"], "pl");
    assert_eq!(krakow["language"]["detected"], "pl");
    assert_eq!(krakow["language"]["mismatch"], false);
    assert_eq!(krakow["warnings"], Value::Array(vec![]));

    let wien = find(&sources, "wien");
    assert_eq!(wien["state"], "failing");
    assert!(wien["since"].is_string());
    assert_eq!(wien["last_success"], Value::Null);
    assert_eq!(wien["last_failure"]["reason"], "HTTP 404");
    assert_eq!(
        wien["last_failure"]["http_statuses"],
        serde_json::json!([301, 404])
    );

    assert_eq!(find(&sources, "removed")["state"], "gone");
    assert_eq!(find(&sources, "off")["state"], "disabled");
    let sloppy = find(&sources, "sloppy");
    assert_eq!(sloppy["state"], "ok");
    let kinds: Vec<&str> = sloppy["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "undeclared-encoding",
            "windows-1252-repaired",
            "entries-without-dates"
        ]
    );
    assert_eq!(sloppy["conditional_get"], true);

    // The pages: one per language, trouble first, with advice; the index links them.
    let english = read(dir.path(), "en/status.html");
    assert!(english.contains("<html lang=\"en\">"));
    let failing = english.find("id=\"source-wien\"").unwrap();
    let fine = english.find("id=\"source-krakow\"").unwrap();
    assert!(failing < fine, "sources in trouble come first");
    assert!(english.contains("failing since"), "{english}");
    assert!(english.contains("HTTP statuses: 301 → 404"), "{english}");
    assert!(english.contains("Nothing is at the feed&#39;s address (404)"));
    assert!(english.contains("no character encoding is declared"));
    assert!(english.contains("2 of 2 entries have no date"));
    let polish = read(dir.path(), "pl/status.html");
    assert!(polish.contains("nie działa od"), "{polish}");
    assert!(polish.contains("Pod adresem kanału nic nie ma (404)"));
    let top = read(dir.path(), "status.html");
    assert!(top.contains("<html lang=\"pl\">") && top.contains("nie działa od"));
    assert!(read(dir.path(), "index.html").contains("href=\"status.html\""));
    assert!(read(dir.path(), "en/index.html").contains("href=\"status.html\""));
    // A cycle that changes nothing (304s, the same failure again) leaves
    // the pages as they were, untouched on disk.
    let mtime = |name: &str| {
        std::fs::metadata(dir.path().join("public").join(name))
            .and_then(|m| m.modified())
            .unwrap()
    };
    let before = (mtime("status.json"), mtime("en/status.html"));
    once(dir.path());
    assert_eq!((mtime("status.json"), mtime("en/status.html")), before);
    assert_eq!(read(dir.path(), "en/status.html"), english);
    // Neither the feeds' addresses nor anything of the server's disk is shown.
    let json = read(dir.path(), "status.json");
    for page in [&json, &english, &polish] {
        assert!(!page.contains("127.0.0.1"), "{page}");
        assert!(!page.contains(&dir.path().display().to_string()));
        assert!(!page.contains("<script"));
    }
}

const EVIL_CITY: &str = "</title><script>alert('city')</script>";
const EVIL_NAME: &str = "Zła <img src=x onerror=alert('name')> & \"nazwa\"";

#[test]
fn hostile_names_and_failure_reasons_put_no_markup_on_the_status_page() {
    let server = FeedServer::start();
    server.put("/ok.xml", rss(3), "application/rss+xml");
    // The reason quotes the start of what came back.
    server.put(
        "/evil.txt",
        "x<img src=x onerror=alert('reason')><script>alert(1)</script>",
        "text/plain",
    );
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        &[
            source("ok", EVIL_NAME, EVIL_CITY, &server.url("/ok.xml"), ""),
            source("evil", EVIL_NAME, EVIL_CITY, &server.url("/evil.txt"), ""),
        ],
    );
    once(dir.path());

    let sources = status_json(dir.path());
    let evil = find(&sources, "evil");
    assert_eq!(evil["name"], EVIL_NAME, "names stay what they are, as text");
    assert_eq!(evil["city"], EVIL_CITY);
    assert!(
        evil["last_failure"]["reason"]
            .as_str()
            .unwrap()
            .contains("onerror"),
        "the reason is shown, as text: {evil}"
    );
    for page in ["status.html", "pl/status.html", "en/status.html"] {
        let html = read(dir.path(), page);
        for (tag, attrs) in tags_of(&html) {
            assert!(
                !matches!(tag.as_str(), "script" | "img" | "iframe" | "object"),
                "{page}: <{tag}> came from a source"
            );
            for (name, value) in attrs {
                assert!(!name.starts_with("on"), "{page}: <{tag} {name}={value:?}>");
            }
        }
        assert!(html.contains("Zła &#60;img src=x onerror=alert(&#39;name&#39;)&#62;"));
    }
}
