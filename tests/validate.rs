//! Every published feed against its format's rules: Atom against the RELAX NG
//! schema of RFC 4287 (with xmllint), RSS 2.0 and JSON Feed 1.1 against their
//! required elements, checked here; the feeds of each city too.

#[path = "fixtures/site_stories.rs"]
mod fixture;
mod tools;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use fixture::*;
use hejnal::model::Story;
use hejnal::publish::{RenderExtras, archive};

const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/schema/atom.rng"
);

/// Stories that try to break the feeds, besides the ordinary ones.
fn hostile_stories() -> Vec<Story> {
    let mut hostile = polish_only();
    hostile.id = 9;
    hostile.guid = "urn:hejnal:story:9 <&>".to_string();
    hostile.entries[0].entry.title = "<b>Tytuł</b> & \"cytat\" \u{0}\u{7}]]>".to_string();
    // Summaries come from the clean stage with absolute URLs; the item link
    // may still be relative and is resolved against the source's feed.
    hostile.entries[0].entry.summary =
        "<p onclick=x>ok</p><script>alert(1)</script><a href=\"javascript:x\">js</a>".to_string();
    hostile.entries[0].entry.link = Some("/relative/link".to_string());
    let mut all = stories();
    all.push(hostile);
    all
}

fn sites() -> Vec<(&'static str, HashMap<String, String>)> {
    let hubs = config_with("websub_hubs = [\"https://hub.example/\"]");
    let archived = RenderExtras {
        newest_archive: Some(archive::Page::first((2026, 10))),
    };
    let cities = config_with("per_city = true");
    vec![
        ("stories", render(&config(), &hostile_stories(), &archived)),
        ("cities", render(&cities, &hostile_stories(), &archived)),
        ("hubs", render(&hubs, &stories(), &RenderExtras::default())),
        ("empty", render(&config(), &[], &RenderExtras::default())),
    ]
}

/// The files of a site named `file` ("feed.atom"), in every folder.
fn every(files: &HashMap<String, String>, file: &str) -> Vec<String> {
    let mut paths: Vec<String> = files
        .keys()
        .filter(|path| path.rsplit('/').next() == Some(file))
        .cloned()
        .collect();
    paths.sort();
    paths
}

/// Feeds checked in every format: three for each site, and six more for the
/// two cities of the site with city feeds.
const FEEDS_PER_FORMAT: usize = 4 * 3 + 2 * 3;

// ---- Atom: RELAX NG ----

/// Whether xmllint can run here. On CI a missing xmllint fails the test;
/// elsewhere the test says it is skipped.
fn xmllint_available() -> bool {
    tools::available("xmllint", &["--version"], "Debian package libxml2-utils")
}

/// xmllint's verdict on `xml` against the Atom schema: Ok, or its complaints.
fn relaxng(dir: &Path, name: &str, xml: &str) -> Result<(), String> {
    let file = dir.join(name.replace('/', "_"));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--relaxng", SCHEMA])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() && stderr.contains("validates") {
        Ok(())
    } else {
        Err(stderr)
    }
}

#[test]
fn atom_feeds_validate_against_the_rfc_4287_schema() {
    if !xmllint_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (site, files) in sites() {
        for path in every(&files, "feed.atom") {
            let name = format!("{site}-{path}");
            if let Err(problems) = relaxng(dir.path(), &name, &files[&path]) {
                panic!("{name} is not valid Atom:\n{problems}\n{}", files[&path]);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, FEEDS_PER_FORMAT);
}

#[test]
fn the_schema_rejects_what_rfc_4287_forbids() {
    if !xmllint_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let atom = render(&config(), &stories(), &RenderExtras::default())["feed.atom"].clone();
    let without_id = atom.replacen("<id>https://hejnal.example/news/feed.atom</id>", "", 1);
    assert_ne!(without_id, atom);
    assert!(relaxng(dir.path(), "no-id.atom", &without_id).is_err());
    let bad_date = atom.replacen(
        "<updated>2026-11-24T12:00:00+00:00</updated>",
        "<updated>Tue, 24 Nov 2026</updated>",
        1,
    );
    assert_ne!(bad_date, atom);
    assert!(relaxng(dir.path(), "bad-date.atom", &bad_date).is_err());
    let stray = atom.replacen("<subtitle>", "<unknown/><subtitle>", 1);
    assert!(relaxng(dir.path(), "stray.atom", &stray).is_err());
}

// ---- RSS 2.0 ----

fn is_absolute_http(link: &str) -> bool {
    url::Url::parse(link)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Every `href="…"` in an HTML fragment.
fn hrefs(html: &str) -> Vec<&str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// What an RSS 2.0 document breaks of the specification's rules; empty when
/// it breaks none.
fn rss_problems(xml: &str) -> Vec<String> {
    let channel = match rss::Channel::read_from(xml.as_bytes()) {
        Ok(channel) => channel,
        Err(e) => return vec![format!("not RSS: {e}")],
    };
    let mut problems = Vec::new();
    for (name, value) in [
        ("title", channel.title()),
        ("link", channel.link()),
        ("description", channel.description()),
    ] {
        if value.trim().is_empty() {
            problems.push(format!("channel has no {name}"));
        }
    }
    let mut links: Vec<String> = vec![channel.link().to_string()];
    if let Some(atom) = channel.atom_ext() {
        links.extend(atom.links().iter().map(|l| l.href().to_string()));
    }
    let mut dates: Vec<String> = channel
        .last_build_date()
        .map(str::to_string)
        .into_iter()
        .collect();
    let mut guids = HashSet::new();
    for (n, item) in channel.items().iter().enumerate() {
        if item.title().is_none() && item.description().is_none() {
            problems.push(format!("item {n} has neither title nor description"));
        }
        if let Some(guid) = item.guid()
            && !guids.insert(guid.value().to_string())
        {
            problems.push(format!("item {n} repeats guid {}", guid.value()));
        }
        dates.extend(item.pub_date().map(str::to_string));
        links.extend(item.link().map(str::to_string));
        links.extend(item.source().map(|s| s.url().to_string()));
        links.extend(
            item.description()
                .into_iter()
                .flat_map(hrefs)
                .map(str::to_string),
        );
    }
    for date in dates {
        if chrono::DateTime::parse_from_rfc2822(&date).is_err() {
            problems.push(format!("{date:?} is not an RFC 822 date"));
        }
    }
    for link in links {
        if !is_absolute_http(&link) {
            problems.push(format!("{link:?} is not an absolute http(s) link"));
        }
    }
    problems
}

#[test]
fn rss_feeds_follow_the_rss_2_rules() {
    let mut checked = 0;
    for (site, files) in sites() {
        for path in every(&files, "feed.xml") {
            let problems = rss_problems(&files[&path]);
            assert!(problems.is_empty(), "{site} {path}: {problems:?}");
            checked += 1;
        }
    }
    assert_eq!(checked, FEEDS_PER_FORMAT);
}

#[test]
fn monthly_archives_follow_the_rss_2_rules() {
    let config = config();
    let mut stories = hostile_stories();
    stories
        .iter_mut()
        .for_each(|s| s.published = at(2026, 10, 5, 9));
    for month in [(2026, 10), (2026, 9)] {
        let page = archive::Page::first(month);
        let before = Some(archive::Page::first((2026, 8)));
        let file = archive::render_page(&config, page, &stories, before, None).unwrap();
        let text = String::from_utf8(file.bytes).unwrap();
        let problems = rss_problems(&text);
        assert!(problems.is_empty(), "{month:?}: {problems:?}");
    }
}

#[test]
fn the_rss_checker_catches_broken_feeds() {
    let good = render(&config(), &stories(), &RenderExtras::default())["feed.xml"].clone();
    let relative = good.replacen(
        "<link>https://krakow.example/a/1</link>",
        "<link>/a/1</link>",
        1,
    );
    let bad_date = good.replacen(
        "Tue, 24 Nov 2026 12:00:00 +0000</pubDate>",
        "2026-11-24</pubDate>",
        1,
    );
    let twin_guid = good.replacen("urn:hejnal:story:2<", "urn:hejnal:story:1<", 1);
    let no_title = good.replacen("<title>Hejnał</title>", "<title></title>", 1);
    for (what, broken) in [
        ("relative", relative),
        ("date", bad_date),
        ("guid", twin_guid),
        ("title", no_title),
    ] {
        assert_ne!(broken, good, "{what}");
        assert!(!rss_problems(&broken).is_empty(), "{what}");
    }
}

// ---- JSON Feed 1.1 ----

fn json_problems(text: &str) -> Vec<String> {
    let feed: serde_json::Value = match serde_json::from_str(text) {
        Ok(feed) => feed,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    let mut problems = Vec::new();
    if feed["version"] != "https://jsonfeed.org/version/1.1" {
        problems.push(format!("version is {}", feed["version"]));
    }
    if feed["title"].as_str().is_none_or(str::is_empty) {
        problems.push("no title".to_string());
    }
    for key in ["home_page_url", "feed_url"] {
        if !feed[key].as_str().is_some_and(is_absolute_http) {
            problems.push(format!("{key} is {}", feed[key]));
        }
    }
    if let Some(hubs) = feed.get("hubs") {
        for hub in hubs.as_array().into_iter().flatten() {
            if !hub["type"].is_string() || !hub["url"].as_str().is_some_and(is_absolute_http) {
                problems.push(format!("bad hub {hub}"));
            }
        }
    }
    let Some(items) = feed["items"].as_array() else {
        problems.push("no items array".to_string());
        return problems;
    };
    for (n, item) in items.iter().enumerate() {
        if item["id"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("item {n} has no id"));
        }
        if !item["content_html"].is_string() && !item["content_text"].is_string() {
            problems.push(format!("item {n} has no content_html nor content_text"));
        }
    }
    problems
}

#[test]
fn json_feeds_carry_the_json_feed_1_1_required_fields() {
    for (site, files) in sites() {
        for path in every(&files, "feed.json") {
            let problems = json_problems(&files[&path]);
            assert!(problems.is_empty(), "{site} {path}: {problems:?}");
        }
    }
    let good = render(&config(), &stories(), &RenderExtras::default())["feed.json"].clone();
    let broken = good.replacen("\"content_html\"", "\"body\"", 1);
    assert!(!json_problems(&broken).is_empty());
}
