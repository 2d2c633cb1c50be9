//! `hejnal opml export|import`: a round trip keeps ids and URLs; imports skip
//! duplicates and feeds they cannot place.

mod common;

use std::path::Path;

use common::hejnal_in;
use hejnal::config::Config;

const PUBLISHER: &str = "# an empty list of sources\n[publisher]\ntitle = \"Empty\"\nbase_url = \"https://news.example.org/\"\n";

const FULL: &str = r#"[publisher]
title = "Kraków & Partner Cities"
base_url = "https://news.example.org/"

[[source]]
id = "krakow"
name = "Kraków — komunikaty"
city = "Kraków"
country = "PL"
url = "https://www.krakow.example/rss?a=1&b=2"
lang = "pl"

[[source]]
id = "wien"
name = "ORF <Wien> & \"more\""
city = "Wien"
country = "AT"
url = "https://rss.orf.example/wien.xml"
lang = "de"

[[source]]
id = "krakow-en"
name = "Kraków in English"
city = "Kraków"
url = "https://en.krakow.example/feed"
lang = "en"
pair = "krakow"
"#;

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    hejnal_in(dir, args)
}

fn sources(path: &Path) -> Vec<(String, String, String, String, String)> {
    let config = Config::load(path).expect("valid config");
    config
        .sources
        .iter()
        .map(|s| {
            let s = s.get_ref();
            let (id, url, city, country) = (&s.id, &s.url, &s.city, &s.country);
            (
                id.clone(),
                url.clone(),
                city.clone(),
                country.clone(),
                s.lang.to_string(),
            )
        })
        .collect()
}

#[test]
fn export_then_import_into_an_empty_config_gives_the_same_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("full.toml"), FULL).expect("write");
    std::fs::write(dir.path().join("empty.toml"), PUBLISHER).expect("write");
    let (code, _, err) = run(
        dir.path(),
        &[
            "--config",
            "full.toml",
            "opml",
            "export",
            "--output",
            "sources.opml",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let opml = std::fs::read_to_string(dir.path().join("sources.opml")).expect("exported");
    assert!(opml.contains("<opml version=\"2.0\">"), "{opml}");

    let (code, out, err) = run(
        dir.path(),
        &["--config", "empty.toml", "opml", "import", "sources.opml"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("added 3 sources"), "{out}");
    let mut before = sources(&dir.path().join("full.toml"));
    let mut after = sources(&dir.path().join("empty.toml"));
    // The export groups by city, so the order may differ.
    before.sort();
    after.sort();
    assert_eq!(before, after);
    let text = std::fs::read_to_string(dir.path().join("empty.toml")).expect("read");
    assert!(
        text.starts_with(PUBLISHER),
        "the old text is kept byte for byte"
    );
    // Outline text is read as HTML by many readers: a `<` that would open a
    // tag comes back as ‹, the rest of the name as it was.
    assert!(text.contains("name = 'ORF ‹Wien› & \"more\"'"), "{text}");

    // Importing again adds nothing: every feed is already there.
    let (code, out, err) = run(
        dir.path(),
        &["--config", "empty.toml", "opml", "import", "sources.opml"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("nothing to add"), "{out}");
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("already configured"))
            .count(),
        3,
        "{err}"
    );
}

#[test]
fn export_to_stdout_is_the_published_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("feeds.toml"), FULL).expect("write");
    let (code, out, _) = run(dir.path(), &["opml", "export"]);
    assert_eq!(code, 0);
    let feeds = hejnal::sources::opml_import::feeds(&out).expect("our own OPML reads back");
    let cities: Vec<Option<&str>> = feeds.iter().map(|f| f.group.as_deref()).collect();
    assert_eq!(cities, [Some("Kraków"), Some("Kraków"), Some("Wien")]);
    assert_eq!(feeds[0].xml_url, "https://www.krakow.example/rss?a=1&b=2");
}

fn fixture_opml(dir: &Path) {
    let opml = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/discover/sources.opml");
    std::fs::copy(opml, dir.join("subs.opml")).expect("copy");
    std::fs::write(
        dir.join("feeds.toml"),
        format!("{PUBLISHER}\n[[source]]\nid = \"krakow\"\nname = \"K\"\nurl = \"https://krakow.example/rss\"\nlang = \"pl\"\n"),
    )
    .expect("write");
}

#[test]
fn import_skips_duplicates_and_unusable_feeds_with_a_note() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture_opml(dir.path());
    let before = std::fs::read_to_string(dir.path().join("feeds.toml")).expect("read");

    let (code, out, err) = run(dir.path(), &["opml", "import", "subs.opml", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would add 2 sources"), "{out}");
    assert!(err.contains("skipped https://www.krakow.example/rss?utm_source=opml: already configured, as source \"krakow\""), "{err}");
    assert!(
        err.contains("skipped ftp://files.example/feed.xml: not an http or https URL"),
        "{err}"
    );
    assert!(
        err.contains(
            "skipped https://nolang.example/feed: no usable language attribute; pass --lang LL"
        ),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("feeds.toml")).expect("read"),
        before
    );

    let (code, out, err) = run(dir.path(), &["opml", "import", "subs.opml", "--lang", "en"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("added 3 sources"), "{out}");
    let added = sources(&dir.path().join("feeds.toml"));
    let ids: Vec<&str> = added.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        ids,
        ["krakow", "orf-wien", "sud-ouest-bordeaux", "no-language"]
    );
    assert_eq!(
        added[1].2, "Europe",
        "the enclosing folder becomes the city"
    );
    assert_eq!(added[2].4, "fr", "fr-FR is read as fr");
    assert_eq!(added[3].4, "en", "--lang is the default");
}

#[test]
fn a_file_that_is_not_opml_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture_opml(dir.path());
    std::fs::write(
        dir.path().join("rss.xml"),
        "<rss version=\"2.0\"><channel/></rss>",
    )
    .expect("write");
    let (code, _, err) = run(dir.path(), &["opml", "import", "rss.xml"]);
    assert_eq!(code, 2);
    assert!(err.contains("not OPML: the root element is <rss>"), "{err}");
}
