//! `hejnal add`: autodiscovery on pages served from loopback, byte-exact
//! appends to a hand-written feeds.toml, refusal of duplicates.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{FeedServer, hejnal_in};

/// A hand-edited file: comments, odd alignment, no newline at the end.
const COMMENTED: &str = "# hejnal sources — edited by hand; keep this comment!
[publisher]
title    = \"Test — News\"     # aligned on purpose
base_url = \"https://news.example.org/\"
languages = [ \"pl\",  \"en\" ]

[fetch]
timeout_secs = 5
connect_timeout_secs = 2

# Kraków, the first source
[[source]]
id = \"krakow\"
name = \"Kraków\"
url = \"https://www.krakow.example/rss\"
lang = \"pl\"
# a last comment, and no newline after it";

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(dir)
            .join(name),
    )
    .expect("fixture")
}

fn server() -> FeedServer {
    let server = FeedServer::start();
    let rss = fixture("feeds", "rss2.xml");
    server.put("/city/feeds/rss.xml", rss.clone(), "application/rss+xml");
    server.put("/feeds/rss.xml", rss, "application/rss+xml");
    server.put(
        "/feeds/atom.xml",
        fixture("feeds", "atom.xml"),
        "application/atom+xml",
    );
    for page in ["several", "one", "none"] {
        let body = fixture("discover", &format!("{page}.html"));
        server.put(&format!("/{page}.html"), body.clone(), "text/html");
        server.put(&format!("/city/{page}.html"), body, "text/html");
    }
    server.put("/nolang.xml", NO_LANGUAGE, "application/rss+xml");
    server
}

const NO_LANGUAGE: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel>
<title>Short</title><link>https://short.example/</link>
<item><title>Hi</title><link>https://short.example/1</link></item>
</channel></rss>"#;

fn setup() -> (FeedServer, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("feeds.toml");
    std::fs::write(&path, COMMENTED).expect("write");
    (server(), dir, path)
}

fn add(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--config", "feeds.toml", "add"];
    all.extend_from_slice(args);
    hejnal_in(dir, &all)
}

fn file(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read feeds.toml")
}

#[test]
fn a_page_with_one_feed_adds_it_and_leaves_every_other_byte_alone() {
    let (server, dir, path) = setup();
    let page = server.url("/city/one.html");
    let (code, out, err) = add(dir.path(), &[&page, "--city", "Kraków", "--country", "PL"]);
    assert_eq!(code, 0, "{out}{err}");
    let after = file(&path);
    assert!(
        after.starts_with(COMMENTED),
        "the old text is a byte-exact prefix:\n{after}"
    );
    let added = &after[COMMENTED.len()..];
    let feed_url = server.url("/city/feeds/rss.xml");
    assert_eq!(
        added,
        format!(
            "\n\n[[source]]\nid = \"magiczny-krakow-aktualnosci\"\nname = \"Magiczny Kraków – aktualności\"\n\
             city = \"Kraków\"\ncountry = \"PL\"\nurl = \"{feed_url}\"\nlang = \"pl\"\n"
        )
    );
    assert!(
        out.contains("added source \"magiczny-krakow-aktualnosci\""),
        "{out}"
    );
    assert!(
        out.contains("hejnal check") && out.contains("systemctl reload hejnal"),
        "{out}"
    );
    let check = Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args(["check", "--config", "feeds.toml"])
        .current_dir(dir.path())
        .output()
        .expect("check");
    assert!(check.status.success(), "the edited file passes the check");
    assert!(
        !dir.path().join(".feeds.toml.hejnal-tmp").exists(),
        "no temp file left"
    );
}

#[test]
fn several_feeds_need_a_pick_and_relative_links_are_resolved() {
    let (server, dir, path) = setup();
    let page = server.url("/city/several.html");
    let (code, out, err) = add(dir.path(), &[&page]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("links to 2 feeds"), "{err}");
    assert!(
        err.contains(&format!(
            "1. Aktualności (RSS) — {}",
            server.url("/city/feeds/rss.xml")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "2. Bordeaux (Atom) — {}",
            server.url("/feeds/atom.xml")
        )),
        "{err}"
    );
    assert!(err.contains("--pick N"), "{err}");
    assert_eq!(file(&path), COMMENTED, "nothing written without a pick");

    let (code, out, err) = add(dir.path(), &[&page, "--pick", "2", "--id", "bordeaux"]);
    assert_eq!(code, 0, "{out}{err}");
    let after = file(&path);
    assert!(
        after.contains(&format!("url = \"{}\"", server.url("/feeds/atom.xml"))),
        "{after}"
    );
    assert!(
        after.contains("id = \"bordeaux\"\nname = \"Bordeaux actualités\""),
        "{after}"
    );
    assert!(
        after.contains("lang = \"fr\""),
        "the feed's xml:lang: {after}"
    );

    let (code, _, err) = add(dir.path(), &[&page, "--pick", "7"]);
    assert_ne!(code, 0);
    assert!(err.contains("pick a number from 1 to 2"), "{err}");
}

#[test]
fn a_page_without_feeds_is_a_clear_error() {
    let (server, dir, path) = setup();
    let (code, _, err) = add(dir.path(), &[&server.url("/none.html")]);
    assert_ne!(code, 0);
    assert!(err.contains("links to no feed"), "{err}");
    assert_eq!(file(&path), COMMENTED);
}

#[test]
fn duplicates_are_refused_by_url_and_by_id() {
    let (server, dir, path) = setup();
    let (code, _, err) = add(
        dir.path(),
        &["https://krakow.example/rss?utm_source=newsletter"],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("already in the configuration, as source \"krakow\""),
        "{err}"
    );

    let feed = server.url("/feeds/rss.xml");
    let (code, _, err) = add(dir.path(), &[&feed, "--id", "krakow"]);
    assert_ne!(code, 0);
    assert!(err.contains("id \"krakow\" is already in"), "{err}");
    assert_eq!(file(&path), COMMENTED, "a refused add writes nothing");

    let (code, ..) = add(dir.path(), &[&feed]);
    assert_eq!(code, 0);
    let (code, _, err) = add(dir.path(), &[&format!("{feed}?utm_medium=x")]);
    assert_ne!(code, 0, "the second add of one feed is refused");
    assert!(err.contains("already in the configuration"), "{err}");
    // Two sources with the same title get distinct ids.
    let (code, out, err) = add(dir.path(), &[&server.url("/city/feeds/rss.xml")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("\"magiczny-krakow-aktualnosci-2\""), "{out}");
}

#[test]
fn dry_run_prints_the_block_and_writes_nothing() {
    let (server, dir, path) = setup();
    let feed = server.url("/feeds/rss.xml");
    let (code, out, _) = add(
        dir.path(),
        &[&feed, "--dry-run", "--name", "Kraków \"official\""],
    );
    assert_eq!(code, 0);
    assert!(out.contains("[[source]]"), "{out}");
    assert!(out.contains(r#"name = 'Kraków "official"'"#), "{out}");
    assert_eq!(file(&path), COMMENTED);
}

#[test]
fn a_feed_of_unknown_language_needs_lang() {
    let (server, dir, path) = setup();
    let feed = server.url("/nolang.xml");
    let (code, _, err) = add(dir.path(), &[&feed]);
    assert_ne!(code, 0);
    assert!(err.contains("pass --lang"), "{err}");
    let (code, _, err) = add(dir.path(), &[&feed, "--lang", "xx"]);
    assert_ne!(code, 0);
    assert!(err.contains("not an ISO 639-1"), "{err}");
    assert_eq!(file(&path), COMMENTED);
    let (code, ..) = add(dir.path(), &[&feed, "--lang", "en"]);
    assert_eq!(code, 0);
    assert!(file(&path).ends_with(&format!("url = \"{feed}\"\nlang = \"en\"\n")));
}

#[test]
fn hostile_answers_are_errors_not_crashes() {
    let (server, dir, path) = setup();
    server.behave("/garbage.xml", common::Behaviour::Garbage);
    server.behave("/gone.xml", common::Behaviour::Status(410));
    for url in [
        server.url("/garbage.xml"),
        server.url("/gone.xml"),
        "ftp://x.example/f".into(),
    ] {
        let (code, _, err) = add(dir.path(), &[&url]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    assert_eq!(file(&path), COMMENTED);
}
