//! The published site as subscribers' readers see it: the real binary
//! publishes from a loopback farm and serves the result over HTTP, then
//! newsboat (one cache for every feed, as a person subscribed to several of
//! them has), Python's feedparser and the W3C Feed Validator (level AA, over
//! HTTP so that self links match) read every file, the feeds of a city and
//! of a category included.

mod common;
mod tools;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{FEED_FILES, FeedServer, hejnal_in, write_config};

/// The W3C Feed Validator's own package (MIT licence), unchanged.
const VALIDATOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/tools/feedvalidator/validate"
);

/// The fixture farm's sources and one of notices.
const NOTICES_SOURCE: (&str, &str, &str, &str) = ("notices", "/notices.xml", "pl", "Kraków");

/// The feed sets published besides the whole site's (`per_city`,
/// `per_category`), each in every language and format.
const SCOPES: [&str; 2] = ["city/krakow/", "category/transport/"];

/// Every feed file: the whole site's, then the city's and the category's.
fn feed_files() -> Vec<String> {
    let mut files: Vec<String> = FEED_FILES.iter().map(|f| f.to_string()).collect();
    for scope in SCOPES {
        files.extend(FEED_FILES.iter().map(|f| format!("{scope}{f}")));
    }
    files
}

/// A source whose titles carry text that looks like markup once decoded,
/// and whose items have no dates: born in one cycle, at one instant.
const NOTICES: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Komunikaty &lt;MPK&gt;</title><link>https://mpk.example/</link>
<description>x</description>
<item><title>Linia &amp;lt;52&amp;gt; &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; objazd</title>
<link>https://mpk.example/k/1</link><guid>k1</guid><description>Objazd przez Rondo Mogilskie.</description></item>
<item><title>Awaria wodociągu: Tom &amp;amp; Jerry Street</title>
<link>https://mpk.example/k/2</link><guid>k2</guid><description>Brak wody do 18:00.</description></item>
</channel></rss>"#;

fn tools_available() -> bool {
    let newsboat = tools::available("newsboat", &["--version"], "apt-get install newsboat");
    let python = tools::available(
        "python3",
        &["-c", "import feedparser, lxml, html5lib, rdflib"],
        "pip install feedparser lxml html5lib rdflib",
    );
    newsboat && python
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `hejnal serve`, stopped when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Publishes the farm once with the real binary and serves the site at its
/// base URL; returns the site's address, its folder and the server.
fn published_site(dir: &Path) -> (String, PathBuf, Served, FeedServer) {
    let server = FeedServer::start();
    server.put_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/site"));
    server.put("/notices.xml", NOTICES, "application/rss+xml");
    let port = free_port();
    let site = format!("http://127.0.0.1:{port}/");
    let sources: Vec<_> = common::SITE_SOURCES
        .iter()
        .copied()
        .chain([NOTICES_SOURCE])
        .collect();
    let config = write_config(dir, &server, &sources, "");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text
        .replace(
            "base_url = \"https://news.example.org/\"",
            &format!("base_url = \"{site}\"\nper_city = true\nper_category = true"),
        )
        // The first source, Kraków's, files its stories under Transport.
        .replacen(
            "\nurl = \"http://127.0.0.1",
            "\ncategories = [\"Transport\"]\nurl = \"http://127.0.0.1",
            1,
        );
    std::fs::write(&config, text).expect("config");

    let (code, out, err) = hejnal_in(dir, &["once", "--config", "feeds.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("8 ok"), "{out}{err}");

    let child = Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args(["serve", "--config", "feeds.toml", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("hejnal serve");
    let served = Served(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "hejnal serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (site, dir.join("public"), served, server)
}

/// Every published document a validator knows: the feeds in RSS and Atom,
/// the archives, the OPML list of sources.
fn validated_files(public: &Path) -> Vec<String> {
    let mut files: Vec<String> = feed_files()
        .into_iter()
        .filter(|f| !f.ends_with(".json"))
        .collect();
    let archives = std::fs::read_dir(public.join("archive")).expect("an archive was written");
    for entry in archives.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".xml") {
            files.push(format!("archive/{name}"));
        }
    }
    files.push("sources.opml".to_string());
    files.push("feeds.opml".to_string());
    files
}

/// The titles of a published feed, as the crate that reads our sources reads them.
fn titles_of(public: &Path, file: &str) -> Vec<String> {
    let bytes = std::fs::read(public.join(file)).expect("published");
    let feed = feed_rs::parser::parse(&bytes[..]).expect("published feed parses");
    feed.entries
        .into_iter()
        .map(|e| e.title.map(|t| t.content).unwrap_or_default())
        .collect()
}

#[test]
fn every_published_file_passes_the_w3c_validator_with_no_warning() {
    if !tools_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (site, public, _served, _farm) = published_site(dir.path());
    let files = validated_files(&public);
    assert!(files.iter().any(|f| f.starts_with("archive/")), "{files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let out = Command::new("python3")
            .arg(VALIDATOR)
            .arg(format!("{site}{file}"))
            .arg("AA")
            .output()
            .expect("run the validator");
        let printed = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || printed.trim() != "No errors or warnings" {
            failures.push(format!("{file}:\n{printed}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn newsboat_with_one_cache_shows_every_item_of_every_feed() {
    if !tools_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (site, public, _served, _farm) = published_site(dir.path());
    // newsboat reads RSS and Atom; feedparser checks the JSON feeds below.
    let feeds: Vec<String> = feed_files()
        .into_iter()
        .filter(|f| !f.ends_with(".json"))
        .collect();
    let home = dir.path().join("newsboat");
    std::fs::create_dir_all(&home).expect("newsboat home");
    let urls: String = feeds.iter().map(|f| format!("{site}{f}\n")).collect();
    std::fs::write(home.join("urls"), urls).expect("urls");
    std::fs::write(home.join("config"), "").expect("config");
    let cache = home.join("cache.db");
    let out = Command::new("timeout")
        .arg("120")
        .arg("newsboat")
        .args(["-x", "reload", "-u"])
        .arg(home.join("urls"))
        .arg("-c")
        .arg(&cache)
        .arg("-C")
        .arg(home.join("config"))
        .env("HOME", &home)
        .output()
        .expect("run newsboat");
    assert!(
        out.status.success(),
        "newsboat: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let db = rusqlite::Connection::open(&cache).expect("newsboat's cache");
    let mut by_feed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rows = db
        .prepare("SELECT feedurl, title FROM rss_item ORDER BY feedurl, pubDate DESC, id")
        .expect("query");
    let items = rows
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("items");
    for item in items {
        let (feed, title) = item.expect("row");
        by_feed.entry(feed).or_default().push(title);
    }
    for file in &feeds {
        let mut published = titles_of(&public, file);
        let mut seen = by_feed
            .get(&format!("{site}{file}"))
            .cloned()
            .unwrap_or_default();
        published.sort();
        seen.sort();
        assert!(!published.is_empty(), "{file} is empty");
        assert_eq!(seen, published, "{file} in newsboat's cache");
        for title in &seen {
            assert!(!title.contains('<'), "{file}: {title}");
        }
    }
    let notice = by_feed
        .values()
        .flatten()
        .find(|t| t.starts_with("Linia"))
        .expect("the notice is in newsboat");
    assert_eq!(notice, "Linia ‹52› ‹script›alert(1)‹/script› objazd");
}

/// feedparser reads `url` and prints, as JSON: whether the document was
/// well-formed, its entries' ids and titles, and how the titles were typed.
const FEEDPARSER: &str = r#"
import json, sys, feedparser
d = feedparser.parse(sys.argv[1])
print(json.dumps({
    "bozo": bool(d.bozo), "why": str(d.get("bozo_exception", "")),
    "ids": [e.get("id", "") for e in d.entries],
    "titles": [e.get("title", "") for e in d.entries],
}))
"#;

/// The ids of a published feed, as the crate that reads our sources reads them.
fn ids_of(public: &Path, file: &str) -> Vec<String> {
    let bytes = std::fs::read(public.join(file)).expect("published");
    let feed = feed_rs::parser::parse(&bytes[..]).expect("published feed parses");
    feed.entries.into_iter().map(|e| e.id).collect()
}

#[test]
fn feedparser_reads_every_feed_whole_and_no_two_items_share_an_id() {
    if !tools_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (site, public, _served, _farm) = published_site(dir.path());
    // feedparser 6.0 reads no JSON Feed: the JSON files' ids are read here.
    let files = feed_files();
    let mut every_id: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with(".json"))
        .flat_map(|f| ids_of(&public, f))
        .collect();
    for file in files.iter().filter(|f| !f.ends_with(".json")) {
        let out = Command::new("python3")
            .args(["-c", FEEDPARSER])
            .arg(format!("{site}{file}"))
            .output()
            .expect("run feedparser");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("feedparser's JSON");
        assert_eq!(read["bozo"], false, "{file}: {}", read["why"]);
        let titles: Vec<String> = read["titles"]
            .as_array()
            .expect("titles")
            .iter()
            .map(|t| t.as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(titles, titles_of(&public, file), "{file}");
        every_id.extend(
            read["ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|id| id.as_str().unwrap_or_default().to_string()),
        );
    }
    let total = every_id.len();
    every_id.sort();
    every_id.dedup();
    assert_eq!(every_id.len(), total, "an id is shared between two items");
    assert!(
        every_id.iter().all(|id| id.starts_with("tag:")),
        "{every_id:?}"
    );
}
