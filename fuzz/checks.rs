//! The properties the fuzz targets check, shared with tests/fuzz_regressions.rs
//! so that every input the fuzzer ever found runs again under `cargo test`.
//! Only hejnal's own dependencies are used here, so both crates can include it.

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use hejnal::clean;
use hejnal::config::{Config, SourceConfig};
use hejnal::model::{Entry, StoredEntry, Story};
use hejnal::parse;
use hejnal::publish;

const FEED_URL: &str = "https://www.krakow.pl/feeds/rss.xml";

const CONFIG: &str = r#"
[publisher]
title = "Fuzz <b>&amp;</b> News"
description = "Fuzzing"
base_url = "https://news.example.org/"
languages = ["pl", "en"]
max_items = 50

[[source]]
id = "fuzz"
name = "Fuzz source"
city = "Kraków"
country = "PL"
url = "https://www.krakow.pl/feeds/rss.xml"
lang = "pl"
"#;

/// The Content-Type header the server claims, picked by the first input byte.
const CONTENT_TYPES: [Option<&str>; 6] = [
    None,
    Some("application/rss+xml"),
    Some("application/atom+xml; charset=iso-8859-2"),
    Some("application/feed+json"),
    Some("text/html; charset=windows-1250"),
    Some("text/xml; charset=utf-16"),
];

fn config() -> &'static Config {
    static CONFIG_CELL: OnceLock<Config> = OnceLock::new();
    CONFIG_CELL.get_or_init(|| match Config::parse(CONFIG, PathBuf::from(".")) {
        Ok(c) => c,
        Err(e) => panic!("the fuzz config is invalid: {e:?}"),
    })
}

fn source() -> &'static SourceConfig {
    match config().sources.first() {
        Some(s) => s.get_ref(),
        None => panic!("the fuzz config has a source"),
    }
}

fn now() -> DateTime<Utc> {
    match Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).single() {
        Some(t) => t,
        None => panic!("valid date"),
    }
}

fn story(id: i64, entries: Vec<Entry>) -> Story {
    let published = entries
        .first()
        .and_then(|e| e.published)
        .unwrap_or_else(now);
    Story {
        id,
        guid: format!("urn:hejnal:fuzz:{id}"),
        published,
        updated: published,
        entries: entries
            .into_iter()
            .enumerate()
            .map(|(i, entry)| StoredEntry {
                id: id * 1000 + i as i64,
                story_id: id,
                first_seen: now(),
                entry,
            })
            .collect(),
        translations: Vec::new(),
    }
}

/// One story per entry, plus one story holding the first two entries together.
fn stories(entries: Vec<Entry>) -> Vec<Story> {
    let mut out: Vec<Story> = Vec::new();
    if entries.len() >= 2 {
        out.push(story(0, entries[..2].to_vec()));
    }
    out.extend(
        entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| story(i as i64 + 1, vec![e])),
    );
    out
}

fn check_output(path: &str, bytes: &[u8]) {
    let lower = String::from_utf8_lossy(bytes).to_ascii_lowercase();
    assert!(
        !lower.contains("<script"),
        "{path} carries a script element"
    );
    let is_feed = [".xml", ".atom", ".json"]
        .iter()
        .any(|ext| path.ends_with(ext))
        && !path.ends_with("feed.xsl");
    if is_feed && let Err(e) = feed_rs::parser::parse(bytes) {
        panic!("{path} does not parse as a feed: {e}");
    }
}

/// Any bytes a server could send, walked through parse → clean → publish render.
/// The first byte picks the Content-Type the server claims. Nothing may panic,
/// rendering must succeed, every rendered feed must parse again, and no output
/// may carry a script element.
pub fn feed_pipeline(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(pick) % CONTENT_TYPES.len()];
    let Ok(feed) = parse::parse(body, content_type, FEED_URL, 20) else {
        return;
    };
    let entries = clean::clean(source(), &feed, FEED_URL, &[], now());
    let files = match publish::render(config(), &stories(entries)) {
        Ok(files) => files,
        Err(e) => panic!("rendering failed: {e}"),
    };
    for file in &files {
        check_output(&file.path.to_string_lossy(), &file.bytes);
    }
}

/// Any feeds.toml text through `Config::parse`: diagnostics or a config, never
/// a panic; a config that parses must render (or refuse to) without panicking.
pub fn config_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, PathBuf::from(".")) {
        Ok(config) => {
            // An error is a clear refusal; only a panic is a finding.
            let _ = publish::render(&config, &[]);
            let _ = config.enabled_sources().count();
        }
        Err(diagnostics) => {
            for d in &diagnostics {
                // A diagnostic points into the text: showing it must not slice out of bounds.
                let _ = d.to_string();
            }
        }
    }
}
