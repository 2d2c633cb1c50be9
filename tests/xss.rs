//! Every known trick for smuggling script into a page, put through the sanitizer
//! directly and through a whole feed: nothing executable may come out.

mod common;

use chrono::{TimeZone, Utc};
use common::html::{squeezed, tags_of};
use hejnal::clean::{self, html::sanitize};
use hejnal::config::SourceConfig;
use hejnal::parse;
use url::Url;

fn vectors() -> Vec<String> {
    let path = format!(
        "{}/tests/fixtures/xss/vectors.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let vectors: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    assert!(vectors.len() >= 150, "only {} vectors", vectors.len());
    vectors
}

/// Elements that can run code, load active content or change where the page points.
const FORBIDDEN_TAGS: &[&str] = &[
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "style",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "meta",
    "base",
    "link",
    "body",
    "html",
    "template",
    "video",
    "audio",
    "source",
    "portal",
    "layer",
    "bgsound",
    "xml",
    "isindex",
    "keygen",
    "marquee",
    "details",
    "dialog",
    "noscript",
    "plaintext",
    "xmp",
    "title",
];

const ALLOWED_ATTRIBUTES: &[&str] = &[
    "href", "src", "alt", "title", "width", "height", "colspan", "rowspan", "datetime", "lang",
    "rel",
];

fn assert_harmless(output: &str, vector: &str, what: &str) {
    let lower = output.to_ascii_lowercase();
    for tag in FORBIDDEN_TAGS {
        assert!(
            !lower.contains(&format!("<{tag}")),
            "{what}: <{tag} survived\n  vector: {vector}\n  output: {output}"
        );
    }
    for (tag, attrs) in tags_of(output) {
        assert!(
            !FORBIDDEN_TAGS.contains(&tag.as_str()),
            "{what}: <{tag}> survived\n  vector: {vector}\n  output: {output}"
        );
        for (name, value) in attrs {
            assert!(
                !name.starts_with("on") && ALLOWED_ATTRIBUTES.contains(&name.as_str()),
                "{what}: attribute {name} survived\n  vector: {vector}\n  output: {output}"
            );
            if name == "href" || name == "src" {
                // The scheme decides what a click runs; "javascript:" inside the path of
                // an https URL is only text.
                let url = squeezed(&value);
                for scheme in ["javascript:", "vbscript:", "data:", "livescript:"] {
                    assert!(
                        !url.starts_with(scheme),
                        "{what}: {name}={value:?}\n  vector: {vector}\n  output: {output}"
                    );
                }
                let scheme = Url::parse(&value).map(|u| u.scheme().to_string());
                let allowed: &[&str] = if name == "href" {
                    &["http", "https", "mailto"]
                } else {
                    &["http", "https"]
                };
                assert!(
                    scheme.as_deref().is_ok_and(|s| allowed.contains(&s)),
                    "{what}: {name}={value:?} is not an absolute web link\n  vector: {vector}\n  output: {output}"
                );
            }
        }
    }
}

#[test]
fn sanitize_defuses_every_vector() {
    let base = Url::parse("https://krakow.pl/news/item.html").ok();
    for vector in vectors() {
        assert_harmless(&sanitize(&vector, base.as_ref()), &vector, "with base");
        assert_harmless(&sanitize(&vector, None), &vector, "without base");
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn feeds_carrying_vectors_come_out_harmless() {
    let vectors = vectors();
    let items: String = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = xml_escape(v);
            format!(
                "<item><title>{v}</title><link>https://krakow.pl/a/{i}</link><guid>s{i}</guid>\
                 <description>{v}</description></item>\
                 <item><title>{v}</title><link>../b/{i}</link><guid>c{i}</guid>\
                 <content:encoded>{v}</content:encoded></item>"
            )
        })
        .collect();
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel>\
         <title>XSS</title><link>https://krakow.pl/</link>{items}</channel></rss>"
    );
    let url = "https://krakow.pl/feeds/rss.xml";
    let feed = parse::parse(doc.as_bytes(), None, url, 10_000).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(feed.entries.len(), vectors.len() * 2);
    let source = SourceConfig {
        name: "XSS".into(),
        translate: false,
        ..common::source_config("xss", url, "pl")
    };
    let now = Utc
        .with_ymd_and_hms(2024, 3, 5, 12, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("valid date"));
    let entries = clean::clean(&source, &feed, url, &[], now);
    for entry in &entries {
        let vector = &vectors[entry.key[1..].parse::<usize>().unwrap_or(0)];
        assert_harmless(&entry.summary, vector, "feed summary");
        assert!(
            !entry.title.contains(['\n', '\t']) && !has_tag(&entry.title),
            "title is not plain text\n  vector: {vector}\n  title: {}",
            entry.title
        );
        for link in [&entry.link, &entry.image].into_iter().flatten() {
            assert!(link.starts_with("https://"), "{link}");
        }
    }
}

/// A `<` that opens a tag, as opposed to a lone less-than sign in plain text.
fn has_tag(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
}

#[test]
fn titles_with_markup_become_plain_text() {
    let doc = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>\
        <item><title>&lt;b&gt;Kraków&lt;/b&gt; &amp;amp; &lt;script&gt;alert(1)&lt;/script&gt;\
        &lt;img src=x onerror=alert(1)&gt;Wawel</title><link>https://krakow.pl/w</link></item>\
        </channel></rss>";
    let url = "https://krakow.pl/rss";
    let feed = parse::parse(doc.as_bytes(), None, url, 10).unwrap_or_else(|e| panic!("{e}"));
    let source = SourceConfig {
        translate: false,
        ..common::source_config("t", url, "pl")
    };
    let entries = clean::clean(&source, &feed, url, &[], Utc::now());
    assert_eq!(entries[0].title, "Kraków & Wawel");
}
