//! Feeds as the real world writes them, beyond what feed-rs reads by itself:
//! each comes out with the entries, titles and texts its publisher meant.

mod common;

use chrono::{TimeZone, Utc};
use hejnal::clean;
use hejnal::config::SourceConfig;
use hejnal::model::Entry;
use hejnal::parse;

const URL: &str = "https://wien.example.at/feed";

fn source() -> SourceConfig {
    SourceConfig {
        name: "Wien aktuell".into(),
        city: "Wien".into(),
        country: "AT".into(),
        translate: false,
        ..common::source_config("wien", URL, "de")
    }
}

fn entries(doc: &str) -> Vec<Entry> {
    let feed = parse::parse(doc.as_bytes(), Some("application/xml"), URL, 500)
        .unwrap_or_else(|e| panic!("parse: {e}\n{doc}"));
    let now = Utc
        .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("a valid date"));
    clean::clean(&source(), &feed, URL, &[], now)
}

fn titles(doc: &str) -> Vec<String> {
    entries(doc).into_iter().map(|e| e.title).collect()
}

#[test]
fn rss_without_a_version_or_with_an_unlisted_one_is_read() {
    for root in ["<rss>", "<rss version=\"0.94\">", "<rss version=\"2.01\">"] {
        let doc = format!(
            "{root}<channel><item><title>Neues vom Naschmarkt</title>\
             <link>https://wien.example.at/a</link></item></channel></rss>"
        );
        assert_eq!(titles(&doc), ["Neues vom Naschmarkt"], "{root}");
    }
}

#[test]
fn rss_in_userlands_namespace_or_without_a_channel_is_read() {
    let namespaced = "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\"><channel>\
        <item><title>Ring gesperrt</title><link>https://wien.example.at/r</link></item></channel></rss>";
    assert_eq!(titles(namespaced), ["Ring gesperrt"]);
    let bare = "<rss><item><title>Ohne Kanal</title><description>Text</description></item></rss>";
    assert_eq!(titles(bare), ["Ohne Kanal"]);
}

#[test]
fn atom_0_3_entries_are_stored_with_their_dates_and_escaped_html() {
    let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#">
        <title>Stadt Wien</title>
        <entry>
          <title type="text/html" mode="escaped">Donauinsel &amp;lt;b&amp;gt;Fest&amp;lt;/b&amp;gt;</title>
          <link rel="alternate" type="text/html" href="https://wien.example.at/fest"/>
          <id>tag:wien.example.at,2026:fest</id>
          <issued>2026-06-20T10:00:00Z</issued>
          <modified>2026-06-21T10:00:00Z</modified>
          <content type="text/html" mode="escaped">&lt;p&gt;Drei Tage &lt;em&gt;Musik&lt;/em&gt;.&lt;/p&gt;</content>
        </entry>
      </feed>"#;
    let got = entries(doc);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].title, "Donauinsel <b>Fest</b>");
    assert_eq!(got[0].link.as_deref(), Some("https://wien.example.at/fest"));
    assert!(
        got[0].summary.contains("<em>Musik</em>"),
        "{}",
        got[0].summary
    );
    assert_eq!(
        got[0].published.map(|d| d.to_rfc3339()).as_deref(),
        Some("2026-06-20T10:00:00+00:00")
    );
}

#[test]
fn an_unusual_atom_text_type_fails_no_feed() {
    // Base64 of "<b>Prater</b> offen", then types feed-rs refuses, then an empty title.
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom">
        <entry><id>a</id><title type="application/octet-stream">PGI+UHJhdGVyPC9iPiBvZmZlbg==</title>
          <link href="https://wien.example.at/1"/></entry>
        <entry><id>b</id><title type="HTML">Oper &lt;i&gt;heute&lt;/i&gt;</title>
          <link href="https://wien.example.at/2"/></entry>
        <entry><id>c</id><title type="text/plain">Museumsquartier</title>
          <link href="https://wien.example.at/3"/></entry>
        <entry><id>d</id><title type="application/xhtml+xml"><div xmlns="http://www.w3.org/1999/xhtml">Stephans<b>dom</b></div></title>
          <link href="https://wien.example.at/4"/></entry>
        <entry><id>e</id><title></title><summary>Ohne Titel, aber mit Text.</summary>
          <link href="https://wien.example.at/5"/></entry>
      </feed>"#;
    assert_eq!(
        titles(doc),
        [
            "<b>Prater</b> offen",
            "Oper heute",
            "Museumsquartier",
            "Stephansdom",
            "Ohne Titel, aber mit Text."
        ]
    );
}

#[test]
fn a_plain_text_title_keeps_its_angle_brackets() {
    let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id>
        <title type="text">Text with &lt;tag&gt; &amp; ampersand</title>
        <link href="https://wien.example.at/x"/></entry></feed>"#;
    assert_eq!(titles(doc), ["Text with <tag> & ampersand"]);
}

#[test]
fn rss_1_0_items_without_a_link_are_keyed_by_rdf_about() {
    let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
        <channel rdf:about="https://wien.example.at/"><title>W</title><link>https://wien.example.at/</link>
          <items><rdf:Seq><rdf:li resource="https://wien.example.at/n1"/></rdf:Seq></items></channel>
        <item rdf:about="https://wien.example.at/n1"><title>Erste</title></item>
        <item rdf:about="https://wien.example.at/n2"><title>Zweite</title><link>https://wien.example.at/z</link></item>
      </rdf:RDF>"#;
    let got = entries(doc);
    let pairs: Vec<(&str, Option<&str>)> = got
        .iter()
        .map(|e| (e.title.as_str(), e.link.as_deref()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("Erste", Some("https://wien.example.at/n1")),
            ("Zweite", Some("https://wien.example.at/z"))
        ]
    );
}

#[test]
fn cdf_channels_are_read_as_feeds() {
    let doc = r#"<CHANNEL HREF="https://wien.example.at/"><TITLE>Wien CDF</TITLE>
        <ITEM HREF="https://wien.example.at/c1" LASTMOD="2026-11-30T08:00"><TITLE>Christkindlmarkt</TITLE>
        <ABSTRACT>Ab heute offen.</ABSTRACT></ITEM></CHANNEL>"#;
    let got = entries(doc);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].title, "Christkindlmarkt");
    assert_eq!(got[0].link.as_deref(), Some("https://wien.example.at/c1"));
}

#[test]
fn items_without_a_usual_title_or_text_are_kept() {
    let doc = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
        xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
        <item><dc:title>Nur dc:title</dc:title><guid isPermaLink="false">1</guid></item>
        <item><guid isPermaLink="false">2</guid><itunes:summary>Nur eine Zusammenfassung</itunes:summary></item>
        <item><guid isPermaLink="false">3</guid><description><p>Markup direkt im Dokument</p></description></item>
        <item><guid isPermaLink="false">4</guid><description>&lt;img src="https://wien.example.at/bild.jpg"&gt;</description></item>
        <item><guid isPermaLink="false">5</guid><title></title><description>&lt;script&gt;alert(1)&lt;/script&gt;</description></item>
      </channel></rss>"#;
    let got = entries(doc);
    let titles: Vec<&str> = got.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Nur dc:title",
            "Nur eine Zusammenfassung",
            "Markup direkt im Dokument",
            "Wien aktuell",
            "Wien aktuell"
        ]
    );
    assert!(got[3].summary.contains("<img"), "{}", got[3].summary);
    assert!(!got[4].summary.contains("script"), "{}", got[4].summary);
}

#[test]
fn items_with_nothing_posted_are_still_dropped() {
    let doc = "<rss version=\"2.0\"><channel><item><guid isPermaLink=\"false\">x</guid>\
               <title> </title><description></description></item></channel></rss>";
    assert!(entries(doc).is_empty());
}

mod leniency {
    use super::*;
    use proptest::prelude::*;

    /// Pieces the rewrites look for, in any order and nesting: whatever they
    /// make, parsing fails cleanly or gives entries without script.
    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "<item>",
            "</item>",
            "<entry>",
            "</entry>",
            "<title>",
            "</title>",
            "<title type=\"application/octet-stream\">",
            "<content mode=\"base64\">",
            "<content type=\"text/html\" mode=\"escaped\">",
            "</content>",
            "<ITEM HREF=\"https://a.example/\">",
            "</ITEM>",
            "<link>https://b.example/</link>",
            "<dc:title>",
            "</dc:title>",
            "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "<![CDATA[<img src=x onerror=alert(1)>]]>",
            "text",
            "<channel>",
            "</channel>",
            "&#146;",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn rewritten_documents_never_panic_or_carry_script(
            root in prop::sample::select(vec![
                ("<rss>", "</rss>"),
                ("<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">", "</feed>"),
                ("<feed xmlns=\"http://www.w3.org/2005/Atom\">", "</feed>"),
                ("<rdf>", "</rdf>"),
                ("<CHANNEL>", "</CHANNEL>"),
            ]),
            pieces in prop::collection::vec(piece(), 0..24),
        ) {
            let doc = format!("{}{}{}", root.0, pieces.concat(), root.1);
            if let Ok(feed) = parse::parse(doc.as_bytes(), None, URL, 500) {
                let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single();
                prop_assume!(now.is_some());
                for entry in clean::clean(&source(), &feed, URL, &[], now.unwrap_or_default()) {
                    let lower = entry.summary.to_ascii_lowercase();
                    prop_assert!(!lower.contains("<script") && !lower.contains("onerror"), "{}", entry.summary);
                }
            }
        }
    }
}
