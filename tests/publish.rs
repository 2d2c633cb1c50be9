//! The publish stage: what subscribers' feed readers get from hejnal.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use hejnal::bilingual::variants;
use hejnal::config::Config;
use hejnal::model::{Entry, Lang, LangOrigin, Provenance, StoredEntry, Story, Variant};
use hejnal::publish::{self, OutputFile, PublishError, escape_html};

const FEEDS_TOML: &str = r#"
[publisher]
title = "Hejnał"
description = "News of Kraków and its partner cities"
base_url = "https://hejnal.example/news"
languages = ["pl", "en"]

[[source]]
id = "krakow-pl"
name = "Magiczny Kraków"
city = "Kraków"
country = "PL"
url = "https://krakow.example/rss.xml"
lang = "pl"

[[source]]
id = "krakow-en"
name = "Kraków in English"
city = "Kraków"
country = "PL"
url = "https://en.krakow.example/feed"
lang = "en"

[[source]]
id = "nurnberg"
name = "Nürnberg & Fürth <Nachrichten>"
city = "Nürnberg"
country = "DE"
url = "https://nuernberg.example/news.atom?x=1&y=2"
lang = "de"

[[source]]
id = "retired"
name = "Retired source"
city = "Leipzig"
url = "https://leipzig.example/rss"
lang = "de"
enabled = false
"#;

fn config() -> Config {
    config_from(FEEDS_TOML)
}

fn config_from(text: &str) -> Config {
    match Config::parse(text, PathBuf::from(".")) {
        Ok(config) => config,
        Err(problems) => panic!("test config is invalid: {problems:?}"),
    }
}

fn lang(code: &str) -> Lang {
    Lang::parse(code).unwrap()
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, day, hour, 0, 0).unwrap()
}

fn entry(source: &str, code: &str, title: &str, link: &str, summary: &str) -> StoredEntry {
    StoredEntry {
        id: 0,
        story_id: 0,
        first_seen: at(1, 0),
        entry: Entry {
            source_id: source.to_string(),
            key: link.to_string(),
            guid: Some(link.to_string()),
            link: Some(link.to_string()),
            canonical_link: Some(link.to_string()),
            title: title.to_string(),
            summary: summary.to_string(),
            authors: Vec::new(),
            published: Some(at(1, 0)),
            updated: None,
            lang: lang(code),
            lang_origin: LangOrigin::Declared,
            image: None,
            fingerprint: 0,
            facts: 0,
            content_hash: 0,
            categories: Vec::new(),
        },
    }
}

fn machine(code: &str, title: &str, from: &str, original: &str) -> Variant {
    Variant {
        lang: lang(code),
        title: title.to_string(),
        summary: format!("<p>{title}</p>"),
        link: Some(original.to_string()),
        provenance: Provenance::Machine {
            engine: "libretranslate".to_string(),
            from: lang(from),
            original_link: Some(original.to_string()),
        },
    }
}

fn story(id: i64, published: DateTime<Utc>, entries: Vec<StoredEntry>) -> Story {
    Story {
        id,
        guid: format!("urn:hejnal:story:{id}"),
        published,
        updated: published,
        entries,
        translations: Vec::new(),
    }
}

/// A story told by two sources, in Polish and in English.
fn bilingual() -> Story {
    story(
        1,
        at(4, 12),
        vec![
            entry(
                "krakow-pl",
                "pl",
                "Hejnał zagrał o północy",
                "https://krakow.example/a/1",
                "<p>Trębacz zagrał.</p>",
            ),
            entry(
                "krakow-en",
                "en",
                "Bugle call at midnight",
                "https://en.krakow.example/a/1",
                "<p>The trumpeter played.</p>",
            ),
        ],
    )
}

/// A story only in German, with no translation.
fn german_only() -> Story {
    story(
        2,
        at(3, 12),
        vec![entry(
            "nurnberg",
            "de",
            "Christkindlesmarkt eröffnet",
            "https://nuernberg.example/a/2",
            "<p>Der Markt ist offen.</p>",
        )],
    )
}

/// A German story machine-translated into Polish and English.
fn translated() -> Story {
    let mut s = story(
        3,
        at(2, 12),
        vec![entry(
            "nurnberg",
            "de",
            "Neue Straßenbahn",
            "https://nuernberg.example/a/3",
            "<p>Eine neue Linie.</p>",
        )],
    );
    s.translations = vec![
        machine("pl", "Nowy tramwaj", "de", "https://nuernberg.example/a/3"),
        machine("en", "New tram", "de", "https://nuernberg.example/a/3"),
    ];
    s
}

/// A story only in Polish, from one source.
fn polish_only() -> Story {
    story(
        4,
        at(1, 12),
        vec![entry(
            "krakow-pl",
            "pl",
            "Tylko po polsku",
            "https://krakow.example/a/4",
            "<p>Tekst.</p>",
        )],
    )
}

fn stories() -> Vec<Story> {
    vec![bilingual(), german_only(), translated(), polish_only()]
}

fn render(stories: &[Story]) -> HashMap<String, Vec<u8>> {
    render_with(&config(), stories)
}

fn render_with(config: &Config, stories: &[Story]) -> HashMap<String, Vec<u8>> {
    publish::render(config, stories)
        .unwrap()
        .into_iter()
        .map(|f| (f.path.to_string_lossy().into_owned(), f.bytes))
        .collect()
}

fn text(files: &HashMap<String, Vec<u8>>, path: &str) -> String {
    match files.get(path) {
        Some(bytes) => String::from_utf8(bytes.clone()).unwrap(),
        None => panic!("{path} was not rendered; got {:?}", files.keys()),
    }
}

fn parse(files: &HashMap<String, Vec<u8>>, path: &str) -> feed_rs::model::Feed {
    match feed_rs::parser::parse(&files[path][..]) {
        Ok(feed) => feed,
        Err(e) => panic!("{path} does not parse: {e}\n{}", text(files, path)),
    }
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| {
            e.title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// The HTML body of each item, whichever element the format carries it in.
fn bodies(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| {
            e.content
                .as_ref()
                .and_then(|c| c.body.clone())
                .or_else(|| e.summary.as_ref().map(|s| s.content.clone()))
                .unwrap_or_default()
        })
        .collect()
}

const FORMATS: [&str; 3] = ["feed.xml", "feed.atom", "feed.json"];

#[test]
fn every_format_carries_the_combined_titles_guids_links_and_dates() {
    let files = render(&stories());
    for path in FORMATS {
        let feed = parse(&files, path);
        assert_eq!(
            titles(&feed),
            [
                "Hejnał zagrał o północy / Bugle call at midnight",
                "Christkindlesmarkt eröffnet",
                "Nowy tramwaj / New tram",
                "Tylko po polsku",
            ],
            "{path}"
        );
        let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "urn:hejnal:story:1",
                "urn:hejnal:story:2",
                "urn:hejnal:story:3",
                "urn:hejnal:story:4"
            ],
            "{path}"
        );
        let first = &feed.entries[0];
        assert_eq!(first.links[0].href, "https://krakow.example/a/1", "{path}");
        assert_eq!(first.published, Some(at(4, 12)), "{path}");
        assert_eq!(feed.entries[3].published, Some(at(1, 12)), "{path}");
        assert_eq!(feed.language.as_deref(), Some("pl"), "{path}");
    }
}

#[test]
fn rss_channel_names_itself_and_its_build_date() {
    let files = render(&stories());
    let rss = text(&files, "feed.xml");
    assert!(rss.contains(r#"<guid isPermaLink="false">urn:hejnal:story:1</guid>"#));
    assert!(rss.contains("<language>pl</language>"));
    assert!(rss.contains("<lastBuildDate>Wed, 4 Jun 2025 12:00:00 +0000</lastBuildDate>"));
    assert!(rss.contains(r#"href="https://hejnal.example/news/feed.xml""#));
    assert!(rss.contains(r#"rel="self""#));
    assert!(rss.contains("<generator>hejnal "));
    assert!(
        rss.contains(r#"<source url="https://krakow.example/rss.xml">Magiczny Kraków</source>"#)
    );
    assert!(rss.contains("<category>Kraków</category>"));
    let feed = parse(&files, "feed.xml");
    assert_eq!(feed.updated, Some(at(4, 12)));
}

#[test]
fn atom_and_json_name_their_own_urls() {
    let files = render(&stories());
    let atom = parse(&files, "feed.atom");
    assert_eq!(atom.id, "https://hejnal.example/news/feed.atom");
    assert_eq!(atom.updated, Some(at(4, 12)));
    assert_eq!(
        atom.entries[0].authors[0].name.as_deref(),
        Some("Magiczny Kraków")
    );
    assert_eq!(atom.entries[0].categories[0].term, "Kraków");

    let json: serde_json::Value = serde_json::from_slice(&files["feed.json"]).unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(json["feed_url"], "https://hejnal.example/news/feed.json");
    assert_eq!(json["home_page_url"], "https://hejnal.example/news/");
    let item = &json["items"][0];
    assert_eq!(item["date_published"], "2025-06-04T12:00:00+00:00");
    assert_eq!(item["authors"][0]["name"], "Magiczny Kraków");
    assert_eq!(item["tags"][0], "Kraków");
    assert_eq!(item["language"], "pl");

    let english: serde_json::Value = serde_json::from_slice(&files["en/feed.json"]).unwrap();
    // The English item speaks with the voice of the source that wrote it in English.
    assert_eq!(
        english["items"][0]["authors"][0]["name"],
        "Kraków in English"
    );
}

#[test]
fn json_feed_tells_native_from_machine_variants() {
    let files = render(&stories());
    let json: serde_json::Value = serde_json::from_slice(&files["feed.json"]).unwrap();
    let native = &json["items"][0]["_hejnal"];
    assert_eq!(native["variants"][0]["provenance"], "native");
    assert_eq!(native["variants"][1]["lang"], "en");
    assert_eq!(native["sources"].as_array().map(Vec::len), Some(2));
    let machine = &json["items"][2]["_hejnal"]["variants"];
    let provenances: Vec<&str> = machine
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["provenance"].as_str().unwrap_or(""))
        .collect();
    // The German original leads, then the two translations.
    assert_eq!(provenances, ["native", "machine", "machine"]);
    assert_eq!(machine[1]["engine"], "libretranslate");
    assert_eq!(machine[1]["title"], "Nowy tramwaj");
}

#[test]
fn bodies_have_one_lang_section_per_language_with_links() {
    let files = render(&stories());
    let feed = parse(&files, "feed.xml");
    let body = &bodies(&feed)[0];
    assert!(
        body.contains(r#"<div lang="pl"><p>Trębacz zagrał.</p>"#),
        "{body}"
    );
    assert!(
        body.contains(r#"<div lang="en"><p>The trumpeter played.</p>"#),
        "{body}"
    );
    assert!(body.contains(r#"<a href="https://krakow.example/a/1">Czytaj dalej</a>"#));
    assert!(body.contains(r#"<a href="https://en.krakow.example/a/1">Read more</a>"#));
    assert!(body.find(r#"lang="pl""#) < body.find(r#"lang="en""#));
}

#[test]
fn other_sources_are_listed_only_when_there_are_some() {
    let files = render(&stories());
    let combined = bodies(&parse(&files, "feed.xml"));
    assert!(
        combined[0].contains(
            r#"Inne źródła: <a href="https://en.krakow.example/a/1">Kraków in English</a>"#
        )
    );
    assert!(!combined[3].contains("Inne źródła"));
    let english = bodies(&parse(&files, "en/feed.xml"));
    assert!(
        english[0].contains(
            r#"Also reported by: <a href="https://krakow.example/a/1">Magiczny Kraków</a>"#
        ),
        "{}",
        english[0]
    );
    assert!(!english[1].contains("Also reported by"));
}

#[test]
fn machine_translations_are_marked_in_the_text() {
    let files = render(&stories());
    for path in FORMATS {
        let body = &bodies(&parse(&files, path))[2];
        assert!(
            body.contains("Tłumaczenie maszynowe (libretranslate) · oryginał: <a href=\"https://nuernberg.example/a/3\">"),
            "{path}: {body}"
        );
        assert!(
            body.contains("Machine translation (libretranslate) · original:"),
            "{path}: {body}"
        );
        // Atom carries XHTML, where each section also has xml:lang.
        assert!(
            body.contains(r#"<div lang="de">"#)
                || body.contains(r#"<div lang="de" xml:lang="de">"#),
            "{path}: {body}"
        );
        assert!(!bodies(&parse(&files, path))[0].contains("maszynowe"));
    }
}

#[test]
fn a_german_only_story_is_published_in_german() {
    let files = render(&stories());
    let body = &bodies(&parse(&files, "feed.xml"))[1];
    assert!(
        body.contains(r#"<div lang="de"><p>Der Markt ist offen.</p>"#),
        "{body}"
    );
    assert!(!body.contains(r#"lang="pl""#) && !body.contains(r#"<div lang="en""#));
}

#[test]
fn per_language_feeds_carry_one_language_and_never_drop_a_story() {
    let files = render(&stories());
    for (code, expected) in [
        (
            "en",
            [
                "Bugle call at midnight",
                "Christkindlesmarkt eröffnet",
                "New tram",
                "Tylko po polsku",
            ],
        ),
        (
            "pl",
            [
                "Hejnał zagrał o północy",
                "Christkindlesmarkt eröffnet",
                "Nowy tramwaj",
                "Tylko po polsku",
            ],
        ),
    ] {
        for format in FORMATS {
            let path = format!("{code}/{format}");
            let feed = parse(&files, &path);
            assert_eq!(titles(&feed), expected, "{path}");
            assert_eq!(feed.language.as_deref(), Some(code), "{path}");
            // A story's item in a language feed is another document than in
            // the combined feed: its id differs, and stays the same.
            let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
            assert!(ids[0].starts_with("urn:uuid:"), "{path}: {}", ids[0]);
            let again = parse(&render(&stories()), &path);
            assert_eq!(again.entries[0].id, ids[0], "{path}");
            let combined = parse(&files, format);
            assert!(
                combined
                    .entries
                    .iter()
                    .all(|e| !ids.contains(&e.id.as_str()))
            );
        }
        let rss = text(&files, &format!("{code}/feed.xml"));
        assert!(rss.contains(&format!(
            r#"href="https://hejnal.example/news/{code}/feed.xml""#
        )));
        assert!(rss.contains(&format!("<title>Hejnał ({})</title>", code.to_uppercase())));
    }
    let english = text(&files, "en/feed.xml");
    assert!(!english.contains("Hejnał zagrał"));
    assert!(!english.contains("Trębacz"));
    let polish = text(&files, "pl/feed.xml");
    assert!(!polish.contains("Bugle call"));
}

#[test]
fn a_story_missing_the_language_is_marked_with_its_original_language() {
    let files = render(&stories());
    let english = bodies(&parse(&files, "en/feed.xml"));
    assert!(
        english[3].contains("Text in the original language (PL)"),
        "{}",
        english[3]
    );
    assert!(english[3].contains(r#"<div lang="pl">"#));
    let json: serde_json::Value = serde_json::from_slice(&files["en/feed.json"]).unwrap();
    assert_eq!(json["items"][1]["language"], "de");
    assert_eq!(json["items"][0]["language"], "en");
    let polish = bodies(&parse(&files, "pl/feed.xml"));
    assert!(polish[1].contains("Tekst w języku oryginału (DE)"));
    assert!(!polish[0].contains("oryginału"));
}

#[test]
fn the_title_format_is_configurable_and_drops_missing_languages() {
    let config = config_from(&FEEDS_TOML.replace(
        r#"languages = ["pl", "en"]"#,
        "languages = [\"pl\", \"en\"]\ntitle_format = \"[{en}] | [{pl}]\"",
    ));
    let files = render_with(&config, &stories());
    let feed = parse(&files, "feed.xml");
    assert_eq!(
        titles(&feed),
        [
            "[Bugle call at midnight] | [Hejnał zagrał o północy]",
            "[Christkindlesmarkt eröffnet]",
            "[New tram] | [Nowy tramwaj]",
            "[Tylko po polsku]",
        ]
    );
}

#[test]
fn the_guid_never_changes_when_a_story_changes() {
    let before = render(&[polish_only()]);
    let mut changed = polish_only();
    changed.updated = at(9, 9);
    changed.entries[0].entry.title = "Tylko po polsku (aktualizacja)".to_string();
    changed.entries.push(entry(
        "krakow-en",
        "en",
        "Only in Polish",
        "https://en.krakow.example/a/4",
        "",
    ));
    let after = render(&[changed]);
    for path in FORMATS {
        let old = parse(&before, path);
        let new = parse(&after, path);
        assert_eq!(old.entries[0].id, "urn:hejnal:story:4", "{path}");
        assert_eq!(new.entries[0].id, old.entries[0].id, "{path}");
        assert_ne!(titles(&new), titles(&old), "{path}");
    }
}

#[test]
fn rendering_is_deterministic_whatever_the_story_order() {
    let first = publish::render(&config(), &stories()).unwrap();
    let again = publish::render(&config(), &stories()).unwrap();
    assert_eq!(first, again);
    let mut reversed = stories();
    reversed.reverse();
    assert_eq!(publish::render(&config(), &reversed).unwrap(), first);
}

#[test]
fn every_expected_file_is_rendered() {
    let files = render(&stories());
    let mut paths: Vec<&str> = files.keys().map(String::as_str).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "en/feed.atom",
            "en/feed.json",
            "en/feed.xml",
            "en/index.html",
            "feed.atom",
            "feed.en.css",
            "feed.json",
            "feed.pl.css",
            "feed.xml",
            "index.html",
            "json-feed-extension.html",
            "pl/feed.atom",
            "pl/feed.json",
            "pl/feed.xml",
            "pl/index.html",
            "sources.opml",
        ]
    );
}

#[test]
fn only_the_newest_max_items_stories_are_published() {
    let config = config_from(&FEEDS_TOML.replace(
        r#"languages = ["pl", "en"]"#,
        "languages = [\"pl\", \"en\"]\nmax_items = 2",
    ));
    let files = render_with(&config, &stories());
    let feed = parse(&files, "feed.json");
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["urn:hejnal:story:1", "urn:hejnal:story:2"]);
}

#[test]
fn hostile_text_is_escaped_in_every_format() {
    let title = r#"<script>alert("x")</script> & Tom's "Kraków" ]]> </title>"#;
    let mut s = polish_only();
    s.entries[0].entry.title = title.to_string();
    s.entries[0].entry.summary =
        "<p>ok</p><script>alert(1)</script><img src=x onerror=alert(2)>".to_string();
    let files = render(&[s]);
    for path in [
        "feed.xml",
        "feed.atom",
        "feed.json",
        "pl/feed.xml",
        "en/feed.atom",
    ] {
        // Written so that a reader taking the title for HTML finds no tag in
        // it, and one taking it for text reads the same words.
        let feed = parse(&files, path);
        assert_eq!(
            titles(&feed),
            ["‹script›alert(\"x\")‹/script› & Tom's \"Kraków\" ]]› ‹/title›"],
            "{path}"
        );
        let body = &bodies(&feed)[0];
        assert!(body.contains("<p>ok</p>"), "{path}: {body}");
        assert!(!body.contains("<script"), "{path}: {body}");
        assert!(!body.contains("onerror"), "{path}: {body}");
    }
    for path in ["feed.xml", "feed.atom"] {
        assert!(!text(&files, path).contains("<script"), "{path}");
    }
}

#[test]
fn hostile_links_and_control_characters_cannot_break_a_feed() {
    let mut s = polish_only();
    s.entries[0].entry.link = Some("javascript:alert(1)".to_string());
    s.entries[0].entry.title = "Null\u{0} and bell\u{7} in a title".to_string();
    s.guid = "urn:hejnal:\u{1b}story".to_string();
    let files = render(&[s, bilingual()]);
    for (path, bytes) in &files {
        assert!(
            !String::from_utf8_lossy(bytes).contains("javascript:"),
            "{path}"
        );
    }
    for path in FORMATS {
        let feed = parse(&files, path);
        assert_eq!(titles(&feed)[1], "Null and bell in a title", "{path}");
        assert_eq!(feed.entries[0].links[0].href, "https://krakow.example/a/1");
    }
}

#[test]
fn an_empty_story_list_still_renders_valid_feeds() {
    let files = render(&[]);
    for path in [
        "feed.xml",
        "feed.atom",
        "feed.json",
        "pl/feed.xml",
        "en/feed.json",
    ] {
        let feed = parse(&files, path);
        assert!(feed.entries.is_empty(), "{path}");
    }
    assert!(text(&files, "feed.xml").contains("Thu, 1 Jan 1970 00:00:00 +0000"));
    assert_eq!(
        parse(&files, "feed.atom").updated,
        Some(DateTime::UNIX_EPOCH)
    );
}

#[test]
fn a_base_url_that_cannot_hold_paths_is_an_error() {
    // `hejnal check` refuses such a file; render must refuse it too if it gets one.
    let mut config = config_from(FEEDS_TOML);
    config.publisher.base_url = toml::Spanned::new(0..0, "mailto:news@hejnal.example".into());
    assert!(matches!(
        publish::render(&config, &stories()),
        Err(PublishError::BaseUrl { .. })
    ));
}

/// Every `<outline>` of the OPML body: its attributes, and the text of its parent.
fn outlines(opml: &[u8]) -> Vec<(Option<String>, HashMap<String, String>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(opml);
    let mut parents: Vec<Option<String>> = Vec::new();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).unwrap();
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone().into_owned()), false),
            Event::Empty(e) => (Some(e.clone().into_owned()), true),
            Event::End(e) if e.name().as_ref() == "outline" => {
                parents.pop();
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(e) = start.filter(|e| e.name().as_ref() == "outline") {
            let attrs: HashMap<String, String> = e
                .attributes()
                .map(|a| {
                    let a = a.unwrap();
                    let key = a.key.as_ref().to_string();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                        .unwrap()
                        .into_owned();
                    (key, value)
                })
                .collect();
            let parent = parents.last().cloned().flatten();
            if !empty {
                parents.push(attrs.get("text").cloned());
            }
            out.push((parent, attrs));
        }
        buf.clear();
    }
    out
}

#[test]
fn opml_lists_enabled_sources_by_city() {
    let files = render(&[]);
    let opml = text(&files, "sources.opml");
    assert!(opml.starts_with("<?xml"));
    assert!(opml.contains(r#"<opml version="2.0">"#));
    let outlines = outlines(&files["sources.opml"]);
    let cities: Vec<&str> = outlines
        .iter()
        .filter(|(parent, _)| parent.is_none())
        .map(|(_, a)| a["text"].as_str())
        .collect();
    assert_eq!(cities, ["Kraków", "Nürnberg"]);
    let feeds: Vec<(&str, &str)> = outlines
        .iter()
        .filter_map(|(parent, a)| Some((parent.as_deref()?, a["xmlUrl"].as_str())))
        .collect();
    assert_eq!(
        feeds,
        [
            ("Kraków", "https://krakow.example/rss.xml"),
            ("Kraków", "https://en.krakow.example/feed"),
            ("Nürnberg", "https://nuernberg.example/news.atom?x=1&y=2"),
        ]
    );
    let nurnberg = &outlines[4].1;
    assert_eq!(nurnberg["type"], "rss");
    // Readers take outline text for HTML: what would open a tag is shown as ‹ ›.
    assert_eq!(nurnberg["text"], "Nürnberg & Fürth ‹Nachrichten›");
    assert_eq!(nurnberg["title"], "Nürnberg & Fürth ‹Nachrichten›");
    assert_eq!(nurnberg["htmlUrl"], "https://nuernberg.example/");
    assert_eq!(nurnberg["language"], "de");
    assert_eq!(
        nurnberg["category"],
        "/hejnal/id/nurnberg,/hejnal/country/DE"
    );
    assert!(!opml.contains("leipzig"));
}

#[test]
fn variants_prefer_native_text_over_machine_translation() {
    let mut s = bilingual();
    s.translations = vec![machine(
        "en",
        "Machine bugle",
        "pl",
        "https://krakow.example/a/1",
    )];
    let chosen = variants::variants(&s, &[lang("en"), lang("pl"), lang("de")]);
    assert_eq!(chosen[0].0, lang("en"));
    let en = chosen[0].1.as_ref().unwrap();
    assert_eq!(en.title, "Bugle call at midnight");
    assert_eq!(
        en.provenance,
        Provenance::Native {
            source_id: "krakow-en".to_string()
        }
    );
    assert_eq!(
        chosen[1].1.as_ref().unwrap().title,
        "Hejnał zagrał o północy"
    );
    assert_eq!(chosen[2], (lang("de"), None));

    let t = translated();
    let chosen = variants::variants(&t, &[lang("pl")]);
    assert!(matches!(
        chosen[0].1.as_ref().unwrap().provenance,
        Provenance::Machine { .. }
    ));
    assert_eq!(
        variants::best_native(&t).map(|e| e.entry.title.as_str()),
        Some("Neue Straßenbahn")
    );
}

#[test]
fn escape_html_escapes_markup_and_quotes() {
    assert_eq!(
        escape_html(r#"<a href="x">Tom's & co</a>"#),
        "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; co&lt;/a&gt;"
    );
}

// ---- writing ----

fn written_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for item in std::fs::read_dir(&next).unwrap() {
            let path = item.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

fn mtimes(dir: &Path) -> Vec<(String, std::time::SystemTime)> {
    written_files(dir)
        .into_iter()
        .map(|f| {
            let modified = std::fs::metadata(dir.join(&f)).unwrap().modified().unwrap();
            (f, modified)
        })
        .collect()
}

#[test]
fn write_publishes_every_file_with_compressed_siblings() {
    let dir = tempfile::tempdir().unwrap();
    let files = publish::render(&config(), &stories()).unwrap();
    let report = publish::write(dir.path(), &files).unwrap();
    assert_eq!(report.written.len(), files.len());
    assert_eq!(report.unchanged, 0);
    assert_eq!(written_files(dir.path()).len(), files.len() * 3);
    for file in &files {
        let target = dir.path().join(&file.path);
        assert_eq!(std::fs::read(&target).unwrap(), file.bytes);

        let mut gz = Vec::new();
        flate2::read::GzDecoder::new(
            &std::fs::read(format!("{}.gz", target.display())).unwrap()[..],
        )
        .read_to_end(&mut gz)
        .unwrap();
        assert_eq!(gz, file.bytes, "{}.gz", file.path.display());

        let mut br = Vec::new();
        brotli::Decompressor::new(
            &std::fs::read(format!("{}.br", target.display())).unwrap()[..],
            4096,
        )
        .read_to_end(&mut br)
        .unwrap();
        assert_eq!(br, file.bytes, "{}.br", file.path.display());
    }
}

#[test]
fn writing_the_same_files_again_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = publish::render(&config(), &stories()).unwrap();
    publish::write(dir.path(), &files).unwrap();
    let before = mtimes(dir.path());
    std::thread::sleep(Duration::from_millis(30));

    let again = publish::render(&config(), &stories()).unwrap();
    let report = publish::write(dir.path(), &again).unwrap();
    assert!(report.written.is_empty(), "{:?}", report.written);
    assert_eq!(report.unchanged, files.len());
    assert_eq!(mtimes(dir.path()), before);

    let mut newer = stories();
    newer.push(story(
        5,
        at(5, 5),
        vec![entry(
            "krakow-pl",
            "pl",
            "Nowe",
            "https://krakow.example/a/5",
            "",
        )],
    ));
    let newer_files = publish::render(&config(), &newer).unwrap();
    let report = publish::write(dir.path(), &newer_files).unwrap();
    // The OPML, the feed stylesheets and the page about the JSON extension do
    // not depend on the stories; every feed does.
    assert_eq!(report.unchanged, 4);
    assert!(report.written.contains(&PathBuf::from("feed.xml")));
    assert!(report.written.contains(&PathBuf::from("pl/feed.json")));
}

#[test]
fn a_removed_sibling_is_written_again() {
    let dir = tempfile::tempdir().unwrap();
    let files = publish::render(&config(), &[]).unwrap();
    publish::write(dir.path(), &files).unwrap();
    std::fs::remove_file(dir.path().join("feed.xml.br")).unwrap();
    let report = publish::write(dir.path(), &files).unwrap();
    assert_eq!(report.written, [PathBuf::from("feed.xml")]);
    assert!(dir.path().join("feed.xml.br").is_file());
}

#[test]
fn a_failed_write_leaves_the_old_file_whole_and_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let old = OutputFile {
        path: PathBuf::from("feed.xml"),
        bytes: b"<rss>old</rss>".to_vec(),
    };
    publish::write(dir.path(), std::slice::from_ref(&old)).unwrap();
    // A folder where the brotli sibling belongs makes the replacement fail half-way.
    std::fs::remove_file(dir.path().join("feed.xml.br")).unwrap();
    std::fs::create_dir(dir.path().join("feed.xml.br")).unwrap();
    std::fs::write(dir.path().join("feed.xml.br").join("x"), b"x").unwrap();
    let new = OutputFile {
        path: PathBuf::from("feed.xml"),
        bytes: b"<rss>new</rss>".to_vec(),
    };
    let result = publish::write(dir.path(), &[new]);
    assert!(matches!(result, Err(PublishError::Io { .. })), "{result:?}");
    assert_eq!(
        std::fs::read(dir.path().join("feed.xml")).unwrap(),
        old.bytes
    );
    let leftovers: Vec<String> = written_files(dir.path())
        .into_iter()
        .filter(|f| f.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn write_refuses_paths_outside_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("public");
    for path in ["../escape.xml", "/etc/escape.xml", "", "a/../../b.xml"] {
        let file = OutputFile {
            path: PathBuf::from(path),
            bytes: b"x".to_vec(),
        };
        let result = publish::write(&inner, &[file]);
        assert!(
            matches!(result, Err(PublishError::BadPath(_))),
            "{path}: {result:?}"
        );
    }
    assert!(!dir.path().join("escape.xml").exists());
}
