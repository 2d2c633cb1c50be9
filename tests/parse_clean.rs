//! Feeds as publishers really write them, put through parse and clean, checked for
//! what a subscriber would see.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use hejnal::clean::{self, MAX_SUMMARY_BYTES, MAX_TITLE_CHARS};
use hejnal::config::SourceConfig;
use hejnal::model::{Entry, FeedFormat, LangOrigin, ParsedFeed};
use hejnal::parse::{self, ParseError};
use hejnal::sources::discover::{self, DiscoveredFeed};

const MAX_ITEMS: usize = 500;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn source(lang_code: &str) -> SourceConfig {
    SourceConfig {
        name: "Test".into(),
        city: "Kraków".into(),
        country: "PL".into(),
        ..common::source_config("test", "https://krakow.pl/rss.xml", lang_code)
    }
}

fn now() -> DateTime<Utc> {
    utc(2024, 3, 5, 12, 0)
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap_or_else(|| panic!("valid date {y}-{m}-{d}"))
}

fn parse_ok(body: &[u8], content_type: Option<&str>, url: &str) -> ParsedFeed {
    parse::parse(body, content_type, url, MAX_ITEMS).unwrap_or_else(|e| panic!("parse: {e}"))
}

fn entries_of(name: &str, lang_code: &str) -> (ParsedFeed, Vec<Entry>) {
    let url = "https://krakow.pl/rss.xml";
    let feed = parse_ok(&fixture(name), None, url);
    let entries = clean::clean(&source(lang_code), &feed, url, &[], now());
    (feed, entries)
}

fn titles(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.title.as_str()).collect()
}

fn invalid_cause(result: Result<ParsedFeed, ParseError>) -> String {
    match result {
        Err(ParseError::Invalid(cause)) => cause,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn rss2_items_come_out_as_a_reader_sees_them() {
    let (feed, entries) = entries_of("rss2.xml", "en");
    assert_eq!(feed.format, FeedFormat::Rss2);
    assert_eq!(feed.title.as_deref(), Some("Magiczny Kraków – aktualności"));
    assert_eq!(
        feed.home.as_deref(),
        Some("https://www.krakow.pl/aktualnosci/")
    );
    assert_eq!(feed.lang.as_deref(), Some("pl-pl"));
    assert_eq!(
        feed.ttl_minutes,
        Some(45),
        "<ttl> wins over sy:updatePeriod"
    );

    assert_eq!(
        titles(&entries),
        [
            "Nowa linia tramwajowa na Górkę Narodową",
            "Wianki 2024 & koncerty nad Wisłą"
        ]
    );
    let tram = &entries[0];
    assert_eq!(tram.guid.as_deref(), Some("krakow-2024-001"));
    assert_eq!(tram.key, "krakow-2024-001");
    assert_eq!(
        tram.link.as_deref(),
        Some("https://www.krakow.pl/aktualnosci/tramwaj.html?utm_source=rss&utm_medium=feed")
    );
    assert_eq!(
        tram.canonical_link.as_deref(),
        Some("https://krakow.pl/aktualnosci/tramwaj.html")
    );
    assert_eq!(tram.summary, "<p>Tramwaje pojadą <b>od jutra</b>.</p>");
    assert_eq!(tram.published, Some(utc(2024, 3, 5, 9, 15)));
    assert_eq!(tram.authors, ["Biuro Prasowe"]);
    assert_eq!(
        tram.image.as_deref(),
        Some("https://www.krakow.pl/img/tram.jpg")
    );
    // The source says English, the feed says Polish: the feed knows better.
    assert_eq!(
        (tram.lang.as_str(), tram.lang_origin),
        ("pl", LangOrigin::Feed)
    );
    assert_eq!(entries[1].source_id, "test");
}

#[test]
fn rss1_rdf_is_read() {
    let (feed, entries) = entries_of("rss1.xml", "de");
    assert_eq!(feed.format, FeedFormat::Rss1);
    assert_eq!(titles(&entries), ["Christkindlesmarkt eröffnet"]);
    assert_eq!(
        entries[0].link.as_deref(),
        Some("https://www.nuernberg.de/news/1")
    );
    assert_eq!(entries[0].published, Some(utc(2023, 11, 29, 16, 30)));
    assert_eq!(entries[0].summary, "Der Markt ist offen.");
}

#[test]
fn rss092_without_guid_is_keyed_by_its_link() {
    let (feed, entries) = entries_of("rss092.xml", "de");
    assert_eq!(feed.format, FeedFormat::Rss0);
    assert_eq!(feed.lang.as_deref(), Some("de"));
    assert_eq!(titles(&entries), ["Rathaus geöffnet"]);
    assert_eq!(entries[0].guid, None);
    assert_eq!(entries[0].key, "https://leipzig.de/news/rathaus");
}

#[test]
fn atom_titles_are_text_and_plain_text_summaries_stay_text() {
    let (feed, entries) = entries_of("atom.xml", "pl");
    assert_eq!(feed.format, FeedFormat::Atom);
    assert_eq!(feed.home.as_deref(), Some("https://www.bordeaux.fr/"));
    assert_eq!(feed.lang.as_deref(), Some("fr"));
    assert_eq!(titles(&entries), ["Le tram D prolongé", "Wine festival"]);
    let tram = &entries[0];
    assert_eq!(tram.guid.as_deref(), Some("urn:bordeaux:news:42"));
    assert_eq!(
        tram.summary, "Travaux &lt;du&gt; 5 mars",
        "type=text must not become tags"
    );
    assert_eq!(tram.published, Some(utc(2024, 3, 5, 8, 0)));
    assert_eq!(tram.updated, Some(utc(2024, 3, 5, 10, 0)));
    assert_eq!(tram.authors, ["Mairie de Bordeaux"]);
    assert_eq!(
        (tram.lang.as_str(), tram.lang_origin),
        ("fr", LangOrigin::Feed)
    );

    let wine = &entries[1];
    assert_eq!(
        wine.lang.as_str(),
        "en",
        "entry xml:lang overrides the feed's"
    );
    assert!(
        wine.summary.contains("<strong>taste</strong>"),
        "{}",
        wine.summary
    );
    assert_eq!(
        wine.published,
        Some(utc(2024, 3, 4, 9, 0)),
        "updated stands in"
    );
}

#[test]
fn json_feed_is_read_and_relative_urls_resolved() {
    let url = "https://frankfurt.de/feed.json";
    let feed = parse_ok(&fixture("feed.json"), Some("application/feed+json"), url);
    let entries = clean::clean(&source("pl"), &feed, url, &[], now());
    assert_eq!(feed.format, FeedFormat::Json);
    assert_eq!(feed.title.as_deref(), Some("Frankfurt News"));
    assert_eq!(titles(&entries), ["Mainufer gesperrt", "Plain text item"]);
    let main = &entries[0];
    assert_eq!(main.summary, "<p>Das <b>Mainufer</b> ist gesperrt.</p>");
    assert_eq!(
        main.image.as_deref(),
        Some("https://frankfurt.de/img/main.jpg")
    );
    assert_eq!(main.authors, ["Presseamt"]);
    assert_eq!(main.lang.as_str(), "de");
    let plain = &entries[1];
    assert_eq!(plain.link.as_deref(), Some("https://frankfurt.de/news/2"));
    assert_eq!(plain.summary, "1 &lt; 2 and &lt;b&gt; is not bold");
    assert_eq!(plain.lang.as_str(), "en");
}

#[test]
fn polish_legacy_encodings_keep_their_diacritics() {
    for (name, content_type) in [
        ("polish_iso8859-2.xml", None),
        ("polish_windows-1250.xml", None),
        // A server that says UTF-8 while the prolog says otherwise: the prolog is right.
        ("polish_iso8859-2.xml", Some("text/xml; charset=utf-8")),
        (
            "polish_header_charset.xml",
            Some("application/rss+xml; charset=windows-1250"),
        ),
    ] {
        let url = "https://gazeta.example.pl/rss";
        let feed = parse_ok(&fixture(name), content_type, url);
        let entries = clean::clean(&source("pl"), &feed, url, &[], now());
        assert_eq!(titles(&entries), ["Kraków: Zażółć gęślą jaźń"], "{name}");
        assert_eq!(
            entries[0].summary, "ŻÓŁW Śląski źrebię ćma łódź ńę ą",
            "{name}"
        );
    }
}

#[test]
fn german_latin1_umlauts_survive() {
    let (feed, entries) = entries_of("german.xml", "pl");
    assert_eq!(feed.title.as_deref(), Some("Nürnberg aktuell"));
    assert_eq!(titles(&entries), ["Größe der Straße in Nürnberg"]);
    assert_eq!(
        entries[0].summary,
        "Die Straße ist größer geworden. Übermorgen öffnet sie."
    );
    assert_eq!(entries[0].lang.as_str(), "de");
}

#[test]
fn relative_links_become_absolute() {
    let (_, entries) = entries_of("relative_links.xml", "en");
    let first = &entries[0];
    assert_eq!(
        first.link.as_deref(),
        Some("https://krakow.pl/news/relative-1")
    );
    assert!(
        first
            .summary
            .contains(r#"href="https://krakow.pl/news/details.html""#),
        "{}",
        first.summary
    );
    assert!(
        first
            .summary
            .contains(r#"src="https://krakow.pl/img/photo.jpg""#),
        "{}",
        first.summary
    );
    let second = &entries[1];
    assert_eq!(second.link, None);
    assert!(
        second
            .summary
            .contains(r#"href="https://krakow.pl/root.html""#),
        "{}",
        second.summary
    );
}

#[test]
fn items_without_guid_have_none_and_stable_keys() {
    let (_, entries) = entries_of("no_guid.xml", "en");
    assert_eq!(
        entries.len(),
        3,
        "the item with only a blank title is skipped"
    );
    assert!(entries.iter().all(|e| e.guid.is_none()));
    assert_eq!(entries[0].key, "https://example.org/first");
    assert!(entries[1].key.starts_with("h:"), "{}", entries[1].key);
    assert_eq!(
        entries[2].title,
        "Text but no title: the city council met today to vote on…"
    );
    let (_, again) = entries_of("no_guid.xml", "en");
    let keys = |es: &[Entry]| es.iter().map(|e| e.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&entries), keys(&again), "keys survive a re-fetch");
    assert_eq!(entries[1].content_hash, again[1].content_hash);
}

#[test]
fn undated_items_stay_undated_and_placeholder_dates_are_dropped() {
    let (_, entries) = entries_of("no_dates.xml", "en");
    assert_eq!(titles(&entries), ["A", "B", "C", "Ancient"]);
    assert!(
        entries
            .iter()
            .all(|e| e.published.is_none() && e.updated.is_none())
    );
}

#[test]
fn future_dates_are_clamped_to_now() {
    let (_, entries) = entries_of("future_dates.xml", "en");
    assert_eq!(entries[0].published, Some(now()), "2099 becomes now");
    assert_eq!(
        entries[1].published,
        Some(utc(2024, 3, 6, 6, 0)),
        "a few hours ahead is a time zone slip, kept"
    );
}

#[test]
fn html_page_lists_its_feeds() {
    let url = "https://www.krakow.pl/";
    let result = parse::parse(
        &fixture("html_page.html"),
        Some("text/html"),
        url,
        MAX_ITEMS,
    );
    let Err(err @ ParseError::HtmlPage { .. }) = result else {
        panic!("expected HtmlPage, got {result:?}");
    };
    assert_eq!(
        err.to_string(),
        "not a feed: an HTML page; feeds linked from it: \
         https://www.krakow.pl/rss/aktualnosci.xml, https://events.krakow.pl/atom"
    );
    // Even when the server calls it XML.
    assert!(matches!(
        parse::parse(&fixture("html_page.html"), Some("application/xml"), url, 5),
        Err(ParseError::HtmlPage { .. })
    ));
    assert_eq!(
        discover::feed_links(&fixture("html_page.html"), url),
        vec![
            DiscoveredFeed {
                url: "https://www.krakow.pl/rss/aktualnosci.xml".into(),
                title: Some("Aktualności".into()),
                kind: "application/rss+xml".into(),
            },
            DiscoveredFeed {
                url: "https://events.krakow.pl/atom".into(),
                title: Some("Wydarzenia".into()),
                kind: "application/atom+xml".into(),
            },
        ]
    );
}

#[test]
fn broken_documents_get_a_clear_cause() {
    let url = "https://example.org/rss";
    let malformed = invalid_cause(parse::parse(&fixture("malformed.xml"), None, url, 10));
    assert!(malformed.starts_with("malformed XML"), "{malformed}");
    let truncated = invalid_cause(parse::parse(&fixture("truncated.xml"), None, url, 10));
    assert!(truncated.starts_with("malformed XML"), "{truncated}");
    assert_eq!(
        invalid_cause(parse::parse(b"  \n", None, url, 10)),
        "the document is empty"
    );
    let text = invalid_cause(parse::parse(b"Service Unavailable", None, url, 10));
    assert!(text.contains("neither XML nor JSON"), "{text}");
    let other = invalid_cause(parse::parse(b"<opml version=\"2.0\"/>", None, url, 10));
    assert!(other.contains("<opml>"), "{other}");
    let json = invalid_cause(parse::parse(b"{\"version\": ", None, url, 10));
    assert!(json.contains("JSON"), "{json}");
    let err = parse::parse(&fixture("malformed.xml"), None, url, 10)
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.starts_with("not a feed: malformed XML")));
}

#[test]
fn billion_laughs_does_not_expand() {
    let started = Instant::now();
    let (_, entries) = entries_of("billion_laughs.xml", "en");
    assert!(started.elapsed() < Duration::from_secs(5));
    let entry = &entries[0];
    assert!(entry.title.starts_with("Boom"), "{}", entry.title);
    assert!(!entry.title.contains("lollol"), "{}", entry.title);
    assert!(!entry.summary.contains("lollol"), "{}", entry.summary);
    assert!(entry.summary.len() < 100);
}

#[test]
fn external_entities_are_never_read_or_fetched() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let port = listener
        .local_addr()
        .expect("local addr")
        .port()
        .to_string();
    let doc = String::from_utf8_lossy(&fixture("xxe.xml")).replace("PORT", &port);
    let url = "https://example.org/rss";
    let feed = parse_ok(doc.as_bytes(), None, url);
    let entries = clean::clean(&source("en"), &feed, url, &[], now());
    let entry = &entries[0];
    assert!(entry.title.starts_with("Secret"), "{}", entry.title);
    for text in [&entry.title, &entry.summary] {
        assert!(!text.contains("root:"), "local file leaked: {text}");
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the parser connected to the entity's URL"
    );
}

#[test]
fn bom_and_leading_whitespace_are_tolerated() {
    let (feed, entries) = entries_of("bom.xml", "pl");
    assert_eq!(feed.title.as_deref(), Some("With BOM"));
    assert_eq!(titles(&entries), ["Łódź po BOM-ie"]);
}

#[test]
fn invalid_utf8_spoils_only_its_own_bytes() {
    let (_, entries) = entries_of("invalid_utf8.xml", "en");
    assert_eq!(entries.len(), 2);
    assert!(
        entries[0].title.starts_with("Before"),
        "{}",
        entries[0].title
    );
    assert!(entries[0].title.ends_with("after"), "{}", entries[0].title);
    // Bytes that are no UTF-8 are read as Windows-1252, as CMSs mix it in.
    assert_eq!(entries[0].title, "Before ÿþÃ( after");
    assert_eq!(entries[1].title, "Good item ż");
}

#[test]
fn control_characters_are_dropped() {
    let (_, entries) = entries_of("control_chars.xml", "en");
    assert_eq!(titles(&entries), ["Bell and vertical tab"]);
    assert_eq!(entries[0].summary, "Formfeed");
}

#[test]
fn a_megabyte_title_is_cut_quickly() {
    let title = "Zażółć gęślą jaźń ".repeat(60_000);
    assert!(title.len() > 1_000_000);
    let doc = rss_with_items(&[format!(
        "<item><title>{title}</title><link>https://example.org/big</link></item>"
    )]);
    let started = Instant::now();
    let url = "https://example.org/rss";
    let feed = parse_ok(doc.as_bytes(), None, url);
    let entries = clean::clean(&source("pl"), &feed, url, &[], now());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let cut = &entries[0].title;
    assert_eq!(cut.chars().count(), MAX_TITLE_CHARS);
    assert!(cut.starts_with("Zażółć gęślą jaźń Zażółć"));
    assert!(cut.ends_with('…'));
}

#[test]
fn huge_summaries_are_cut_to_text() {
    let body = "<p>Akapit <b>tekstu</b> &amp; więcej.</p>".repeat(5_000);
    let doc = rss_with_items(&[format!(
        "<item><title>Long</title><link>https://example.org/long</link>\
         <description><![CDATA[{body}]]></description></item>"
    )]);
    let url = "https://example.org/rss";
    let feed = parse_ok(doc.as_bytes(), None, url);
    let summary = &clean::clean(&source("pl"), &feed, url, &[], now())[0].summary;
    assert!(summary.len() <= MAX_SUMMARY_BYTES, "{}", summary.len());
    assert!(summary.starts_with("<p>Akapit tekstu &amp; więcej. Akapit"));
    assert!(summary.ends_with("…</p>"));
}

#[test]
fn a_hundred_thousand_items_keep_the_newest() {
    const N: usize = 100_000;
    const KEEP: usize = 50;
    // Dates are scattered so the newest items are not simply the first ones.
    let minute_of = |i: usize| (i * 7919) % N;
    let base = utc(2020, 1, 1, 0, 0);
    let items: Vec<String> = (0..N)
        .map(|i| {
            let date = base + chrono::Duration::minutes(minute_of(i) as i64);
            format!(
                "<item><title>n{i}</title><guid>g{i}</guid><pubDate>{}</pubDate></item>",
                date.to_rfc2822()
            )
        })
        .collect();
    let doc = rss_with_items(&items);
    let feed = parse::parse(doc.as_bytes(), None, "https://example.org/rss", KEEP)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(feed.entries.len(), KEEP);
    let mut kept: Vec<usize> = feed
        .entries
        .iter()
        .filter_map(|e| e.guid.as_deref()?.strip_prefix('g')?.parse().ok())
        .map(minute_of)
        .collect();
    kept.sort_unstable();
    assert_eq!(kept, ((N - KEEP)..N).collect::<Vec<_>>());
}

#[test]
fn undated_items_beyond_the_limit_keep_document_order() {
    let items: Vec<String> = (0..10)
        .map(|i| format!("<item><title>t{i}</title><guid>{i}</guid></item>"))
        .collect();
    let feed = parse::parse(rss_with_items(&items).as_bytes(), None, "https://e.org/", 3)
        .unwrap_or_else(|e| panic!("{e}"));
    let kept: Vec<_> = feed
        .entries
        .iter()
        .filter_map(|e| e.title.clone())
        .collect();
    assert_eq!(kept, ["t0", "t1", "t2"]);
}

#[test]
fn deep_nesting_is_refused_without_overflowing() {
    let depth = 100_000;
    let nested = format!("{}x{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let doc = rss_with_items(&[format!("<item><title>deep</title>{nested}</item>")]);
    let cause = invalid_cause(parse::parse(doc.as_bytes(), None, "https://e.org/", 10));
    assert!(cause.contains("nest deeper"), "{cause}");

    let json = format!(
        "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":{}{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let cause = invalid_cause(parse::parse(json.as_bytes(), None, "https://e.org/", 10));
    assert!(cause.contains("JSON"), "{cause}");
}

#[test]
fn syndication_module_sets_the_poll_interval() {
    let doc = r#"<?xml version="1.0"?><rss version="2.0"
        xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title>
        <sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>
        </channel></rss>"#;
    let feed = parse_ok(doc.as_bytes(), None, "https://e.org/");
    assert_eq!(feed.ttl_minutes, Some(360));
}

#[test]
fn confident_detection_overrules_a_wrong_declaration() {
    let english = "The city council of Kraków approved the budget for the coming year, \
                   with more money for public transport, parks and schools in every district.";
    let doc = rss_with_items(&[format!(
        "<item><title>Budget approved</title><link>https://e.org/b</link>\
         <description>{english}</description></item>"
    )]);
    let feed = parse_ok(doc.as_bytes(), None, "https://e.org/");
    let entry = &clean::clean(&source("pl"), &feed, "https://e.org/", &[], now())[0];
    assert_eq!(
        (entry.lang.as_str(), entry.lang_origin),
        ("en", LangOrigin::Detected)
    );
}

#[test]
fn polish_letters_confirm_polish_but_not_a_czech_item_in_a_polish_feed() {
    let polish = "Zarząd Dróg Miasta ogłasza remont torowiska na Kazimierzu. Wojewoda \
                  małopolski ogłasza ścieżkę rowerową wzdłuż Wisły na Zabłociu.";
    let czech = "Městská rada přijala usnesení o rekonstrukci náměstí. Práce začnou na \
                 jaře a potrvají do podzimu. Na trhu se prodává żurek, bigos a gołąbki.";
    let doc = rss_with_items(&[
        format!(
            "<item><title>Remont torowiska</title><link>https://e.org/pl</link>\
             <description>{polish}</description></item>"
        ),
        format!(
            "<item><title>Rekonstrukce náměstí</title><link>https://e.org/cs</link>\
             <description>{czech}</description></item>"
        ),
    ]);
    let feed = parse_ok(doc.as_bytes(), None, "https://e.org/");
    let entries = clean::clean(&source("pl"), &feed, "https://e.org/", &[], now());
    let langs: Vec<(&str, LangOrigin)> = entries
        .iter()
        .map(|e| (e.lang.as_str(), e.lang_origin))
        .collect();
    assert_eq!(
        langs,
        [("pl", LangOrigin::Declared), ("cs", LangOrigin::Detected)]
    );
}

#[test]
fn a_changed_title_changes_the_content_hash() {
    let make = |title: &str| {
        let doc = rss_with_items(&[format!(
            "<item><title>{title}</title><guid>same</guid><description>x</description></item>"
        )]);
        let feed = parse_ok(doc.as_bytes(), None, "https://e.org/");
        clean::clean(&source("pl"), &feed, "https://e.org/", &[], now()).remove(0)
    };
    let (a, b) = (make("Before"), make("After"));
    assert_eq!(a.key, b.key);
    assert_ne!(a.content_hash, b.content_hash);
    assert_ne!(a.fingerprint, b.fingerprint);
}

#[test]
fn strip_params_from_the_config_apply() {
    let doc = rss_with_items(&[
        "<item><title>t</title><link>https://e.org/a?ref=rss&amp;id=1</link></item>".to_string(),
    ]);
    let feed = parse_ok(doc.as_bytes(), None, "https://e.org/");
    let strip = vec!["ref".to_string()];
    let entry = &clean::clean(&source("pl"), &feed, "https://e.org/", &strip, now())[0];
    assert_eq!(
        entry.canonical_link.as_deref(),
        Some("https://e.org/a?id=1")
    );
    assert_eq!(entry.key, "https://e.org/a?id=1");
}

fn rss_with_items(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Generated</title><link>https://example.org/</link>{}</channel></rss>",
        items.concat()
    )
}

mod canonical_urls {
    use hejnal::clean::url::canonical;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn canonical_is_idempotent(
            scheme in prop::sample::select(vec!["http", "https", "HTTP"]),
            www in any::<bool>(),
            host in "[a-zA-Z0-9-]{1,12}\\.(pl|de|com)",
            port in prop::option::of(prop::sample::select(vec![80u16, 443, 8080])),
            path in "(/[a-zA-Z0-9._~%!$&'()*+,;=:@-]{0,8}){0,5}/?",
            query in prop::option::of("[a-zA-Z0-9_=&%.+-]{0,30}"),
            fragment in prop::option::of("[a-zA-Z0-9]{0,5}"),
        ) {
            let mut url = format!("{scheme}://{}{host}", if www { "www." } else { "" });
            if let Some(p) = port {
                url.push_str(&format!(":{p}"));
            }
            url.push_str(&path);
            if let Some(q) = query {
                url.push('?');
                url.push_str(&q);
            }
            if let Some(f) = fragment {
                url.push('#');
                url.push_str(&f);
            }
            if let Some(once) = canonical(&url, &[]) {
                prop_assert_eq!(canonical(&once, &[]), Some(once.clone()), "from {}", url);
            }
        }

        #[test]
        fn canonical_never_panics(s in "\\PC{0,80}") {
            let _ = canonical(&s, &[]);
        }
    }
}

/// A feed that changed by one item costs one item's cleaning: the drafts seen
/// in the last body stored are recognised, and whatever shapes an entry (its
/// own text, the source's language, the feed's address) makes them new again.
#[test]
fn only_drafts_not_seen_before_are_cleaned_again() {
    let url = "https://krakow.pl/rss.xml";
    let feed = parse_ok(&fixture("rss2.xml"), None, url);
    let first = clean::clean_unseen(&source("pl"), &feed, url, &[], now(), &[]);
    assert_eq!(first.digests.len(), feed.entries.len());
    assert_eq!(
        first.entries,
        clean::clean(&source("pl"), &feed, url, &[], now())
    );
    assert!(first.entries.len() >= 2, "the fixture has items to clean");

    let again = clean::clean_unseen(&source("pl"), &feed, url, &[], now(), &first.digests);
    assert!(again.entries.is_empty(), "{:?}", titles(&again.entries));
    assert_eq!(again.digests, first.digests);

    let mut edited = feed.clone();
    edited.entries[1].title = Some("Hejnał gra dziś o północy".into());
    let cleaned = clean::clean_unseen(&source("pl"), &edited, url, &[], now(), &first.digests);
    assert_eq!(titles(&cleaned.entries), ["Hejnał gra dziś o północy"]);
    assert_eq!(cleaned.digests[0], first.digests[0]);
    assert_ne!(cleaned.digests[1], first.digests[1]);

    for (source, feed_url, strip) in [
        (source("de"), url, vec![]),
        (source("pl"), "https://krakow.pl/nowy/rss.xml", vec![]),
        (source("pl"), url, vec!["ref".to_string()]),
    ] {
        let cleaned = clean::clean_unseen(&source, &feed, feed_url, &strip, now(), &first.digests);
        assert_eq!(
            cleaned.entries.len(),
            first.entries.len(),
            "{feed_url} {strip:?}"
        );
    }
}
