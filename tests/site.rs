//! What a subscriber meets besides the feeds: the web pages, the feed
//! stylesheet, the monthly archives and the WebSub pings.

#[path = "fixtures/site_stories.rs"]
mod fixture;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Utc};
use fixture::*;
use hejnal::cycle::websub::{self, WebSubError};
use hejnal::model::Story;
use hejnal::publish::{self, RenderExtras, archive};

const PAGES: [&str; 3] = ["index.html", "pl/index.html", "en/index.html"];
const BASE: &str = "https://hejnal.example/news/";

fn site() -> HashMap<String, String> {
    render(&config(), &stories(), &RenderExtras::default())
}

/// Every `<name …>` start tag of `html`, as the text between `<` and `>`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    html.match_indices(&open)
        .filter_map(|(at, _)| html[at..].find('>').map(|end| &html[at..at + end]))
        .collect()
}

/// Every start tag of `html`; text, escaped, never starts one.
fn start_tags(html: &str) -> Vec<&str> {
    html.match_indices('<')
        .filter(|(at, _)| html[at + 1..].starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|(at, _)| html[at..].find('>').map(|end| &html[at..at + end]))
        .collect()
}

/// The value of a double-quoted attribute of a start tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

// ---- pages ----

#[test]
fn every_page_lets_feed_readers_discover_every_feed() {
    let files = site();
    for page in PAGES {
        let html = &files[page];
        let alternates: Vec<(&str, &str)> = tags(html, "link")
            .into_iter()
            .filter(|t| attr(t, "rel") == Some("alternate"))
            .map(|t| {
                assert!(
                    attr(t, "title").is_some_and(|s| !s.is_empty()),
                    "{page}: {t}"
                );
                (attr(t, "type").unwrap_or(""), attr(t, "href").unwrap_or(""))
            })
            .collect();
        for folder in ["", "pl/", "en/"] {
            for (file, mime) in [
                ("feed.xml", "application/rss+xml"),
                ("feed.atom", "application/atom+xml"),
                ("feed.json", "application/feed+json"),
            ] {
                let href = format!("{BASE}{folder}{file}");
                assert!(
                    alternates.contains(&(mime, href.as_str())),
                    "{page} lacks {mime} {href}: {alternates:?}"
                );
                assert!(
                    html.contains(&format!("<a href=\"{href}\"")),
                    "{page}: {href}"
                );
            }
        }
        assert_eq!(alternates.len(), 9, "{page}");
        assert!(html.contains(&format!("<a href=\"{BASE}sources.opml\"")));
    }
    // A reader that takes the first feed of a page gets the page's own.
    let first = |page: &str| {
        tags(&files[page], "link")
            .into_iter()
            .find_map(|t| attr(t, "href"))
            .map(str::to_string)
    };
    assert_eq!(first("index.html"), Some(format!("{BASE}feed.xml")));
    assert_eq!(first("en/index.html"), Some(format!("{BASE}en/feed.xml")));
}

#[test]
fn the_language_switch_links_every_page_to_the_others() {
    let files = site();
    for page in PAGES {
        let html = &files[page];
        let nav = &html[html.find("<nav").unwrap()..html.find("</nav>").unwrap()];
        let folder = Path::new(page).parent().unwrap();
        let mut targets = Vec::new();
        for tag in tags(nav, "a") {
            let href = attr(tag, "href").unwrap();
            // Resolve the relative link the way a browser would.
            let mut resolved = folder.to_path_buf();
            for part in href.split('/') {
                match part {
                    ".." => assert!(resolved.pop(), "{page}: {href} leaves the site"),
                    part => resolved.push(part),
                }
            }
            let resolved = resolved.to_string_lossy().into_owned();
            assert!(files.contains_key(&resolved), "{page}: {href} → {resolved}");
            if tag.contains("aria-current=\"page\"") {
                assert_eq!(resolved, page);
            }
            targets.push(resolved);
        }
        targets.sort();
        assert_eq!(targets, ["en/index.html", "index.html", "pl/index.html"]);
    }
    assert!(
        files["index.html"]
            .contains(r#"<a href="en/index.html" lang="en" hreflang="en">English</a>"#)
    );
    assert!(
        files["en/index.html"]
            .contains(r#"<a href="../pl/index.html" lang="pl" hreflang="pl">Polski</a>"#)
    );
}

#[test]
fn pages_declare_their_language_and_each_text_its_own() {
    let files = site();
    assert!(files["index.html"].contains("<html lang=\"pl\">"));
    assert!(files["pl/index.html"].contains("<html lang=\"pl\">"));
    assert!(files["en/index.html"].contains("<html lang=\"en\">"));
    let combined = &files["index.html"];
    assert!(combined.contains(
        "<section lang=\"en\">\n<h3><a href=\"https://en.krakow.example/a/1\">Bugle call at midnight</a></h3>"
    ));
    assert!(combined.contains(
        "<section lang=\"pl\">\n<h3><a href=\"https://krakow.example/a/1\">Hejnał zagrał o północy</a></h3>"
    ));
}

#[test]
fn the_english_page_shows_english_titles_and_marks_what_is_not() {
    let files = site();
    let english = &files["en/index.html"];
    for title in ["Bugle call at midnight", "New tram", "Tylko po polsku"] {
        assert!(english.contains(title), "{title}");
    }
    assert!(!english.contains("Hejnał zagrał"));
    assert!(!english.contains("Nowy tramwaj"));
    assert!(english.contains(
        "<section lang=\"pl\">\n<p class=\"note\" lang=\"en\">Text in the original language (PL)</p>"
    ));
    let polish = &files["pl/index.html"];
    assert!(polish.contains("Hejnał zagrał o północy"));
    assert!(!polish.contains("Bugle call"));
    // The combined page shows every language of every story.
    let combined = &files["index.html"];
    for title in [
        "Hejnał zagrał o północy",
        "Bugle call at midnight",
        "Nowy tramwaj",
        "New tram",
        "Neue Straßenbahn",
    ] {
        assert!(combined.contains(title), "{title}");
    }
}

#[test]
fn dates_are_written_in_the_language_of_the_page() {
    let files = site();
    assert!(
        files["pl/index.html"].contains("<time datetime=\"2026-11-24\">24 listopada 2026</time>")
    );
    assert!(files["index.html"].contains(">2 listopada 2026</time>"));
    assert!(
        files["en/index.html"].contains("<time datetime=\"2026-11-24\">24 November 2026</time>")
    );
    assert!(!files["en/index.html"].contains("listopada"));
}

#[test]
fn machine_translations_are_marked_with_their_engine() {
    let files = site();
    let polish = &files["pl/index.html"];
    assert_eq!(count(polish, "Tłumaczenie maszynowe (libretranslate)"), 1);
    assert!(polish.contains(
        "Tłumaczenie maszynowe (libretranslate) · <a href=\"https://nuernberg.example/a/2\">oryginał</a>"
    ));
    let english = &files["en/index.html"];
    assert_eq!(count(english, "Machine translation (libretranslate)"), 1);
    let combined = &files["index.html"];
    assert_eq!(count(combined, "Tłumaczenie maszynowe (libretranslate)"), 1);
    assert_eq!(count(combined, "Machine translation (libretranslate)"), 1);
    // Native texts carry no mark.
    let bilingual = &combined[..combined.find("Neue Straßenbahn").unwrap()];
    assert!(!bilingual.contains("maszynowe") && !bilingual.contains("Machine"));
}

#[test]
fn other_sources_of_a_story_are_listed() {
    let files = site();
    assert!(files["pl/index.html"].contains(
        "<p class=\"others\">Inne źródła: <a href=\"https://en.krakow.example/a/1\">Kraków in English</a></p>"
    ));
    assert!(files["en/index.html"].contains(
        "<p class=\"others\">Also reported by: <a href=\"https://krakow.example/a/1\">Magiczny Kraków</a></p>"
    ));
    assert_eq!(count(&files["pl/index.html"], "Inne źródła"), 1);
    assert!(
        files["en/index.html"].contains("<p class=\"meta\">Kraków · Kraków in English · <time")
    );
}

#[test]
fn pages_load_nothing_from_elsewhere_and_run_no_script() {
    let mut hostile = polish_only();
    hostile.entries[0].entry.title =
        "<script>alert(1)</script>\"><img src=x onerror=alert(2)>".to_string();
    hostile.entries[0].entry.summary = "<p>ok</p><script>alert(3)</script><img src=\"https://tracker.example/p.gif\" onerror=alert(4)>".to_string();
    hostile.entries[0].entry.link = Some("javascript:alert(5)".to_string());
    let mut all = stories();
    all.push(hostile);
    let files = render(&config(), &all, &RenderExtras::default());
    for page in PAGES {
        let html = &files[page];
        let lower = html.to_lowercase();
        assert!(!lower.contains("<script"), "{page}");
        assert!(!lower.contains("<img"), "{page}");
        assert!(!lower.contains("javascript:"), "{page}");
        for tag in start_tags(&lower) {
            assert!(!tag.contains(" src="), "{page}: {tag}");
            assert!(!tag.contains(" on"), "{page}: {tag}");
        }
        assert!(
            !lower.contains("@import") && !lower.contains("url("),
            "{page}"
        );
        for tag in tags(html, "link") {
            assert_eq!(attr(tag, "rel"), Some("alternate"), "{page}: {tag}");
        }
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#62;&#60;img src=x onerror=alert(2)&#62;"), "{page}");
        assert!(
            html.contains("Nürnberg &#38; Fürth &#60;Nachrichten&#62;")
                || page == "pl/index.html" && !html.contains("Nürnberg &"),
            "{page}"
        );
    }
}

#[test]
fn a_page_of_two_hundred_stories_stays_small() {
    let long = "<p>".to_string() + &"Długie zdanie o mieście i jego ludziach. ".repeat(40) + "</p>";
    let stories: Vec<Story> = (0..200)
        .map(|n| {
            let mut s = bilingual();
            s.id = n;
            s.guid = format!("urn:hejnal:story:{n}");
            for stored in &mut s.entries {
                stored.entry.summary = long.clone();
                stored.entry.title = format!(
                    "{} — część {n} z długim tytułem wiadomości",
                    stored.entry.title
                );
            }
            s
        })
        .collect();
    let files = render(&config(), &stories, &RenderExtras::default());
    for page in PAGES {
        let size = files[page].len();
        assert_eq!(count(&files[page], "<article>"), 200, "{page}");
        let limit = if page == "index.html" {
            150_000
        } else {
            100_000
        };
        assert!(size < limit, "{page} is {size} bytes");
    }
}

#[test]
fn an_empty_site_says_so() {
    let files = render(&config(), &[], &RenderExtras::default());
    assert!(files["pl/index.html"].contains("Nie ma jeszcze wiadomości."));
    assert!(files["en/index.html"].contains("No stories yet."));
}

// ---- the feed stylesheet ----

#[test]
fn xml_feeds_point_browsers_at_a_css_stylesheet_in_their_language() {
    let files = site();
    for (path, href) in [
        ("feed.xml", "feed.pl.css"),
        ("feed.atom", "feed.pl.css"),
        ("pl/feed.xml", "../feed.pl.css"),
        ("en/feed.atom", "../feed.en.css"),
    ] {
        let text = &files[path];
        let second = text.lines().nth(1).unwrap_or("");
        assert!(text.starts_with("<?xml version=\"1.0\""), "{path}");
        assert_eq!(
            second,
            format!("<?xml-stylesheet type=\"text/css\" href=\"{href}\"?>"),
            "{path}"
        );
        assert_eq!(count(text, "<?xml-stylesheet"), 1, "{path}");
        // Readers still read the feed.
        let feed = feed_rs::parser::parse(text.as_bytes()).unwrap();
        assert_eq!(feed.entries.len(), 3, "{path}");
    }
    assert!(!files["feed.json"].contains("xml-stylesheet"));
    assert!(files["feed.pl.css"].contains("To jest kanał wiadomości"));
    assert!(files["feed.en.css"].contains("This is a news feed"));
    for css in [&files["feed.pl.css"], &files["feed.en.css"]] {
        assert_eq!(count(css, "{"), count(css, "}"), "{css}");
        assert!(css.contains("content: attr(href)"), "{css}");
    }
}

// ---- archives ----

fn in_month(month: u32, n: i64) -> Story {
    let mut s = polish_only();
    s.id = i64::from(month) * 100 + n;
    s.guid = format!("urn:hejnal:story:{}", s.id);
    let day = u32::try_from(n % 28).unwrap() + 1;
    s.published = at(2026, month, day, 10);
    s.updated = s.published;
    s.entries[0].entry.title = format!("Wiadomość {month}/{n}");
    s.entries[0].entry.link = Some(format!("https://krakow.example/a/{}", s.id));
    s
}

fn autumn() -> Vec<Story> {
    (0..10)
        .map(|n| in_month(10, n))
        .chain((0..10).map(|n| in_month(11, n)))
        .collect()
}

fn oldest(stories: &[Story]) -> Option<DateTime<Utc>> {
    stories.iter().map(|s| s.published).min()
}

/// Stories as the archives read them from the store: by published date, then
/// id, a page at a time.
struct Listed<'a>(&'a [Story]);

impl archive::Archived for Listed<'_> {
    type Error = publish::PublishError;

    fn count(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<usize, Self::Error> {
        Ok(self.within(from, until).count())
    }

    fn page(&self, q: &archive::PageQuery) -> Result<Vec<Story>, Self::Error> {
        let mut chosen: Vec<&Story> = self
            .within(q.from, q.until)
            .filter(|s| q.after.is_none_or(|after| (s.published, s.id) > after))
            .collect();
        chosen.sort_by_key(|s| (s.published, s.id));
        Ok(chosen.into_iter().take(q.limit).cloned().collect())
    }
}

impl Listed<'_> {
    fn within(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> impl Iterator<Item = &Story> {
        self.0
            .iter()
            .filter(move |s| s.published >= from && s.published < until)
    }
}

/// One cycle of the publisher as the integrator runs it: archive complete
/// months, prune old ones, then publish the current feeds linking to the
/// newest archive.
fn cycle(dir: &Path, config: &hejnal::config::Config, stories: &[Story], now: DateTime<Utc>) {
    archive::write_months(config, dir, &Listed(stories), oldest(stories), now).unwrap();
    let extras = RenderExtras {
        newest_archive: archive::newest(&archive::list(dir).unwrap()),
    };
    let rendered = publish::render_with(config, stories, &extras).unwrap();
    publish::write(dir, &rendered).unwrap();
}

fn guids(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let feed = feed_rs::parser::parse(&bytes[..]).unwrap();
    feed.entries.into_iter().map(|e| e.id).collect()
}

#[test]
fn months_without_stories_get_no_archive_and_the_chain_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with("max_items = 3\narchive_months = 1200");
    // One story from long ago, then a quiet stretch, then an autumn.
    let mut old = in_month(3, 1);
    old.published = at(2001, 3, 4, 10);
    old.updated = old.published;
    let mut stories = autumn();
    stories.push(old);
    let now = at(2026, 12, 2, 6);
    cycle(dir.path(), &config, &stories, now);

    assert_eq!(
        archive::list(dir.path())
            .unwrap()
            .into_iter()
            .filter(|name| name.ends_with(".xml"))
            .collect::<Vec<_>>(),
        ["2001-03.xml", "2026-10.xml", "2026-11.xml"]
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join("archive").join(name)).unwrap();
    let link =
        |rel: &str, name: &str| format!("<atom:link href=\"{BASE}archive/{name}\" rel=\"{rel}\"/>");
    let march = read("2001-03.xml");
    assert!(
        march.contains(&link("next-archive", "2026-10.xml")),
        "{march}"
    );
    assert!(!march.contains("prev-archive"));
    let october = read("2026-10.xml");
    assert!(
        october.contains(&link("prev-archive", "2001-03.xml")),
        "{october}"
    );
    assert!(
        october.contains(&link("next-archive", "2026-11.xml")),
        "{october}"
    );

    // A later cycle neither fills the gap nor rewrites what is there.
    let before = std::fs::metadata(dir.path().join("archive/2001-03.xml"))
        .unwrap()
        .modified()
        .unwrap();
    cycle(dir.path(), &config, &stories, at(2027, 1, 3, 6));
    assert_eq!(
        archive::list(dir.path())
            .unwrap()
            .iter()
            .filter(|n| n.ends_with(".xml"))
            .count(),
        3,
        "December, without stories, gets no archive either"
    );
    let after = std::fs::metadata(dir.path().join("archive/2001-03.xml"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn no_story_is_lost_between_the_current_feed_and_the_archives() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with("max_items = 3");
    let stories = autumn();
    let now = at(2026, 12, 2, 6);
    cycle(dir.path(), &config, &stories, now);

    assert_eq!(
        archive::list(dir.path()).unwrap(),
        [
            "2026-10.xml",
            "2026-10.xml.gz",
            "2026-11.xml",
            "2026-11.xml.gz"
        ]
    );
    let current = guids(&dir.path().join("feed.xml"));
    assert_eq!(current.len(), 3);
    let october = guids(&dir.path().join("archive/2026-10.xml"));
    let november = guids(&dir.path().join("archive/2026-11.xml"));
    assert_eq!(october.len(), 10);
    assert_eq!(november.len(), 10);
    for story in &stories {
        let found = [&current, &october, &november]
            .iter()
            .any(|list| list.contains(&story.guid));
        assert!(found, "{} is in no feed and no archive", story.guid);
    }
    // Each story is archived once, in its own month.
    assert!(october.iter().all(|g| g.starts_with("urn:hejnal:story:10")));
    assert!(
        november
            .iter()
            .all(|g| g.starts_with("urn:hejnal:story:11"))
    );
}

#[test]
fn archives_are_marked_and_linked_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    cycle(dir.path(), &config(), &autumn(), at(2026, 12, 2, 6));
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
    let october = read("archive/2026-10.xml");
    let november = read("archive/2026-11.xml");
    for archived in [&october, &november] {
        assert!(archived.contains("xmlns:fh=\"http://purl.org/syndication/history/1.0\""));
        assert!(archived.contains("<fh:archive"));
        assert!(archived.contains(&format!(
            "<atom:link href=\"{BASE}feed.xml\" rel=\"current\"/>"
        )));
        assert!(archived.contains("<?xml-stylesheet type=\"text/css\" href=\"../feed.pl.css\"?>"));
        assert!(!archived.contains("rel=\"hub\""));
        // Each item carries its whole body, as in the current feed.
        assert_eq!(
            count(archived, "<p>Tekst tylko po polsku.</p>"),
            10,
            "{archived}"
        );
        feed_rs::parser::parse(archived.as_bytes()).unwrap();
    }
    assert!(october.contains(&format!(
        "<atom:link href=\"{BASE}archive/2026-10.xml\" rel=\"self\""
    )));
    assert!(october.contains(&format!(
        "<atom:link href=\"{BASE}archive/2026-11.xml\" rel=\"next-archive\"/>"
    )));
    assert!(!october.contains("prev-archive"));
    assert!(november.contains(&format!(
        "<atom:link href=\"{BASE}archive/2026-10.xml\" rel=\"prev-archive\"/>"
    )));
    // November's successor is not complete yet, and an archive never changes.
    assert!(!november.contains("next-archive"));

    let current = read("feed.xml");
    assert!(current.contains(&format!(
        "<atom:link href=\"{BASE}archive/2026-11.xml\" rel=\"prev-archive\"/>"
    )));
    assert!(!current.contains("fh:archive"));
    assert!(!read("pl/feed.xml").contains("prev-archive"));
}

#[test]
fn an_archive_once_written_never_changes() {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let now = at(2026, 12, 2, 6);
    cycle(dir.path(), &config, &autumn(), now);
    let path = dir.path().join("archive/2026-10.xml");
    let before = std::fs::read(&path).unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(30));

    // A late story dated October and an edited one arrive after the archive.
    let mut later = autumn();
    later.push(in_month(10, 27));
    later[0].entries[0].entry.title = "Zmieniony tytuł".to_string();
    let existing = archive::list(dir.path()).unwrap();
    assert!(archive::months_to_archive(&existing, oldest(&later), now, 24).is_empty());
    cycle(dir.path(), &config, &later, now);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
}

/// The links of one kind in a feed document.
fn links(document: &str, rel: &str) -> Vec<String> {
    let tail = format!("\" rel=\"{rel}\"/>");
    document
        .match_indices(&tail)
        .filter_map(|(end, _)| {
            let start = document[..end].rfind("href=\"")? + "href=\"".len();
            Some(document[start..end].to_string())
        })
        .collect()
}

fn busy_autumn() -> Vec<Story> {
    let busy = 2 * archive::PAGE_STORIES + 5;
    (0..3)
        .map(|n| in_month(10, n))
        .chain((0..busy).map(|n| in_month(11, i64::try_from(n).unwrap())))
        .collect()
}

/// A month busier than a page is cut into pages; walking back from the
/// current feed through `prev-archive` reaches every story once, newest
/// pages first, and `next-archive` leads forward again.
#[test]
fn a_busy_month_is_archived_in_pages_chained_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with("max_items = 3");
    let stories = busy_autumn();
    cycle(dir.path(), &config, &stories, at(2026, 12, 2, 6));
    let read = |url: &str| {
        let relative = url.strip_prefix(BASE).unwrap();
        std::fs::read_to_string(dir.path().join(relative)).unwrap()
    };
    let mut walked = vec![format!("{BASE}feed.xml")];
    let mut seen: Vec<String> = Vec::new();
    loop {
        let document = read(walked.last().unwrap());
        let entries = guids(
            &dir.path()
                .join(walked.last().unwrap().strip_prefix(BASE).unwrap()),
        );
        assert!(
            entries.len() <= archive::PAGE_STORIES,
            "{}",
            walked.last().unwrap()
        );
        seen.extend(entries);
        match links(&document, "prev-archive").as_slice() {
            [] => break,
            [prev] => walked.push(prev.clone()),
            more => panic!("several prev-archive links: {more:?}"),
        }
    }
    let pages: Vec<&str> = walked
        .iter()
        .map(|u| u.strip_prefix(BASE).unwrap())
        .collect();
    assert_eq!(
        pages,
        [
            "feed.xml",
            "archive/2026-11-p3.xml",
            "archive/2026-11-p2.xml",
            "archive/2026-11.xml",
            "archive/2026-10.xml"
        ]
    );
    for story in &stories {
        assert!(
            seen.contains(&story.guid),
            "{} was never reached",
            story.guid
        );
    }
    let archived: HashSet<&String> = seen.iter().skip(3).collect();
    assert_eq!(archived.len(), seen.len() - 3, "a story is archived twice");
    assert_eq!(archived.len(), stories.len());
    // Forward again: October was complete with November after it, and each
    // page of November leads to the next one; the last waits for December.
    let next = |page: &str| links(&read(&format!("{BASE}{page}")), "next-archive");
    assert_eq!(
        next("archive/2026-10.xml"),
        [format!("{BASE}archive/2026-11.xml")]
    );
    assert_eq!(
        next("archive/2026-11.xml"),
        [format!("{BASE}archive/2026-11-p2.xml")]
    );
    assert_eq!(
        next("archive/2026-11-p2.xml"),
        [format!("{BASE}archive/2026-11-p3.xml")]
    );
    assert!(next("archive/2026-11-p3.xml").is_empty());
    // The oldest stories of the month are on its first page.
    let first = guids(&dir.path().join("archive/2026-11.xml"));
    assert!(first.contains(&stories[3].guid));
    assert!(!first.contains(&stories.last().unwrap().guid));
}

/// A cycle stopped while archiving a month leaves it without its first page,
/// which is written last; the next cycle archives the whole month again.
#[test]
fn a_month_left_half_archived_is_archived_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let stories = busy_autumn();
    let now = at(2026, 12, 2, 6);
    cycle(dir.path(), &config, &stories, now);
    let folder = dir.path().join("archive");
    let page = |name: &str| std::fs::read(folder.join(name)).unwrap();
    let (first, second) = (page("2026-11.xml"), page("2026-11-p2.xml"));
    std::fs::remove_file(folder.join("2026-11.xml")).unwrap();
    std::fs::write(folder.join("2026-11-p2.xml"), b"<rss>cut short</rss>").unwrap();
    let existing = archive::list(dir.path()).unwrap();
    assert_eq!(
        archive::newest(&existing),
        Some(archive::Page::first((2026, 10))),
        "the current feed would link to a month archived in part"
    );
    cycle(dir.path(), &config, &stories, now);
    assert_eq!(page("2026-11.xml"), first);
    assert_eq!(page("2026-11-p2.xml"), second);
    assert!(
        std::fs::read_to_string(dir.path().join("feed.xml"))
            .unwrap()
            .contains(&format!(
                "{BASE}archive/2026-11-p3.xml\" rel=\"prev-archive\""
            ))
    );
}

#[test]
fn archives_older_than_the_retention_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("archive");
    std::fs::create_dir_all(&folder).unwrap();
    for year in [2024, 2025, 2026] {
        for month in 1..=12 {
            for suffix in ["", ".gz", ".br"] {
                std::fs::write(folder.join(format!("{year}-{month:02}.xml{suffix}")), b"x")
                    .unwrap();
            }
        }
    }
    std::fs::write(folder.join("2024-03-p2.xml"), b"x").unwrap();
    std::fs::write(folder.join("2024-03-p2.xml.gz"), b"x").unwrap();
    std::fs::write(folder.join("notes.txt"), b"keep me").unwrap();
    let removed = archive::prune_archives(dir.path(), at(2026, 12, 2, 6), 24).unwrap();
    assert_eq!(removed.len(), 12);
    assert_eq!(removed[0], PathBuf::from("archive/2024-01.xml"));
    let left = archive::list(dir.path()).unwrap();
    assert!(!left.iter().any(|n| n.starts_with("2024-11")));
    assert!(!left.iter().any(|n| n.starts_with("2024-03")));
    assert!(left.contains(&"2024-12.xml".to_string()));
    assert!(left.contains(&"2024-12.xml.br".to_string()));
    assert!(left.contains(&"notes.txt".to_string()));
    // 25 months kept (Dec 2024 … Dec 2026, this month included) × 3 files, and the notes.
    assert_eq!(left.len(), 25 * 3 + 1);
    assert!(
        archive::prune_archives(dir.path(), at(2026, 12, 2, 6), 24)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn archive_months_defaults_to_two_years() {
    assert_eq!(config().publisher.archive_months, 24);
    assert_eq!(
        config_with("archive_months = 6").publisher.archive_months,
        6
    );
}

// ---- WebSub ----

#[derive(Default)]
struct Hub {
    /// Status codes to answer in turn; 204 once they run out.
    script: Mutex<Vec<u16>>,
    /// The form fields of each ping received.
    pings: Mutex<Vec<Vec<(String, String)>>>,
}

async fn receive(State(hub): State<Arc<Hub>>, body: String) -> StatusCode {
    let fields = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    hub.pings.lock().unwrap().push(fields);
    let mut script = hub.script.lock().unwrap();
    let code = if script.is_empty() {
        204
    } else {
        script.remove(0)
    };
    StatusCode::from_u16(code).unwrap()
}

async fn start_hub(script: Vec<u16>) -> (String, Arc<Hub>) {
    let hub = Arc::new(Hub {
        script: Mutex::new(script),
        ..Hub::default()
    });
    let app = Router::new()
        .route("/hub", post(receive))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hub"), hub)
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

#[tokio::test]
async fn the_hub_hears_about_every_feed_that_changed() {
    let (hub_url, hub) = start_hub(Vec::new()).await;
    let config = config_with(&format!("websub_hubs = [\"{hub_url}\"]"));
    let dir = tempfile::tempdir().unwrap();
    let files = publish::render(&config, &stories()).unwrap();
    let report = publish::write(dir.path(), &files).unwrap();
    let topics = websub::topics(&config, &report.written).unwrap();
    let results = websub::notify(&client(), &config.publisher.websub_hubs, &topics).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");

    let expected: HashSet<String> = ["", "pl/", "en/"]
        .iter()
        .flat_map(|folder| {
            ["feed.xml", "feed.atom", "feed.json"].map(|file| format!("{BASE}{folder}{file}"))
        })
        .collect();
    let pings = hub.pings.lock().unwrap().clone();
    assert_eq!(pings.len(), 9);
    let mut heard = HashSet::new();
    for fields in &pings {
        assert!(
            fields.contains(&("hub.mode".to_string(), "publish".to_string())),
            "{fields:?}"
        );
        for (key, value) in fields {
            if key == "hub.url" {
                heard.insert(value.clone());
            }
        }
    }
    assert_eq!(heard, expected);
    // The topic is exactly what each feed names as itself.
    assert!(
        std::fs::read_to_string(dir.path().join("pl/feed.atom"))
            .unwrap()
            .contains(&format!("href=\"{BASE}pl/feed.atom\" rel=\"self\""))
    );

    // Nothing changed: nothing to tell.
    let again = publish::write(dir.path(), &files).unwrap();
    assert!(websub::topics(&config, &again.written).unwrap().is_empty());
}

#[tokio::test]
async fn a_hub_that_fails_for_a_moment_is_asked_again() {
    let (hub_url, hub) = start_hub(vec![500, 500, 204]).await;
    let topic = format!("{BASE}feed.xml");
    let results = websub::notify(&client(), &[hub_url], std::slice::from_ref(&topic)).await;
    assert!(matches!(results[..], [Ok(())]), "{results:?}");
    let pings = hub.pings.lock().unwrap().clone();
    assert_eq!(pings.len(), 3);
    assert!(
        pings
            .iter()
            .all(|p| p.contains(&("hub.url".to_string(), topic.clone())))
    );
}

#[tokio::test]
async fn failures_are_reported_not_retried_forever() {
    let (refusing, refusing_hub) = start_hub(vec![400]).await;
    let (broken, broken_hub) = start_hub(vec![503, 503, 503, 503]).await;
    // A port nobody listens on: bound, then closed.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hub", listener.local_addr().unwrap())
    };
    let topic = format!("{BASE}feed.xml");
    let results = websub::notify(&client(), &[refusing, broken, closed], &[topic]).await;
    assert!(
        matches!(results[0], Err(WebSubError::Status { status: 400, .. })),
        "{results:?}"
    );
    assert!(
        matches!(results[1], Err(WebSubError::Status { status: 503, .. })),
        "{results:?}"
    );
    assert!(
        matches!(results[2], Err(WebSubError::Request { .. })),
        "{results:?}"
    );
    assert_eq!(refusing_hub.pings.lock().unwrap().len(), 1);
    assert_eq!(broken_hub.pings.lock().unwrap().len(), 3);
}

#[test]
fn feeds_name_their_hubs_only_when_some_are_configured() {
    let hubs = config_with(
        "websub_hubs = [\"https://hub.example/\", \"https://other-hub.example/publish\"]",
    );
    let with = render(&hubs, &stories(), &RenderExtras::default());
    for folder in ["", "pl/", "en/"] {
        let rss = &with[&format!("{folder}feed.xml")];
        assert!(
            rss.contains("<atom:link href=\"https://hub.example/\" rel=\"hub\"/>"),
            "{folder}"
        );
        assert!(
            rss.contains("<atom:link href=\"https://other-hub.example/publish\" rel=\"hub\"/>")
        );
        assert!(rss.contains(&format!(
            "<atom:link href=\"{BASE}{folder}feed.xml\" rel=\"self\""
        )));
        let atom = &with[&format!("{folder}feed.atom")];
        assert!(
            atom.contains("<link href=\"https://hub.example/\" rel=\"hub\"/>"),
            "{folder}"
        );
        assert!(atom.contains(&format!(
            "<link href=\"{BASE}{folder}feed.atom\" rel=\"self\""
        )));
        let json: serde_json::Value =
            serde_json::from_str(&with[&format!("{folder}feed.json")]).unwrap();
        assert_eq!(json["hubs"][0]["type"], "WebSub");
        assert_eq!(json["hubs"][1]["url"], "https://other-hub.example/publish");
        assert_eq!(json["feed_url"], format!("{BASE}{folder}feed.json"));
    }
    let without = site();
    for (path, text) in &without {
        assert!(!text.contains("rel=\"hub\""), "{path}");
        assert!(!text.contains("\"hubs\""), "{path}");
    }
}
