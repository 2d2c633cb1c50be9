//! RSS 2.0.
//!
//! Written straight into one buffer rather than through the rss crate's
//! model, which would copy every body into it first; the element order and
//! CDATA are the ones that crate writes. Plain-text fields spell `<` and `&`
//! as the RSS Profile asks (see `escape::rss_text_element`).

use super::escape::{
    escape_rss_text_into, escape_xml_into, rss_text_element, xml_element, xml_link,
};
use super::view::{FeedView, ItemView};
use super::{GENERATOR, Links, PublishError, style};

/// RFC 5005 feed history.
const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

/// Renders `feed` as the document `file` of its folder.
pub(crate) fn render(feed: &FeedView, file: &str, links: &Links) -> Result<Vec<u8>, PublishError> {
    let path = feed.path(file);
    let mut xml = String::with_capacity(feed.room());
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str(&style::instruction(&path, &feed.lang));
    xml.push_str("\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"");
    if links.archived {
        xml.push_str(" xmlns:fh=\"");
        xml.push_str(HISTORY_NS);
        xml.push('"');
    }
    xml.push_str("><channel>");
    rss_text_element(&mut xml, "title", &feed.title);
    xml_element(&mut xml, "link", feed.home.as_str());
    rss_text_element(&mut xml, "description", &feed.description);
    xml_element(&mut xml, "language", feed.lang.as_str());
    xml_element(&mut xml, "lastBuildDate", &feed.updated.to_rfc2822());
    xml_element(&mut xml, "generator", GENERATOR);
    if links.archived {
        // Tells readers this document is complete and never changes.
        xml.push_str("<fh:archive></fh:archive>");
    }
    xml_link(
        &mut xml,
        "atom:link",
        &feed.url(file),
        "self",
        Some("application/rss+xml"),
    );
    for hub in &links.hubs {
        xml_link(&mut xml, "atom:link", hub, "hub", None);
    }
    for (rel, href) in &links.history {
        xml_link(&mut xml, "atom:link", href, rel, None);
    }
    for view in &feed.items {
        item(&mut xml, view);
    }
    xml.push_str("</channel></rss>");
    Ok(xml.into_bytes())
}

fn item(xml: &mut String, view: &ItemView) {
    let lead = &view.author;
    xml.push_str("<item>");
    rss_text_element(xml, "title", &view.title);
    if let Some(link) = &view.link {
        xml_element(xml, "link", link);
    }
    xml.push_str("<description>");
    cdata(xml, &view.body_html);
    xml.push_str("</description>");
    if !lead.city.trim().is_empty() {
        rss_text_element(xml, "category", &lead.city);
    }
    xml.push_str("<guid isPermaLink=\"false\">");
    escape_xml_into(xml, &view.guid);
    xml.push_str("</guid>");
    xml_element(xml, "pubDate", &view.dates.published_rfc2822);
    if let Some(url) = &lead.feed_url {
        xml.push_str("<source url=\"");
        escape_xml_into(xml, url);
        xml.push_str("\">");
        escape_rss_text_into(xml, &lead.name);
        xml.push_str("</source>");
    }
    xml.push_str("</item>");
}

/// `text` as CDATA; a `]]>` in it, which would end the section, is split
/// between two sections.
///
/// The bodies are most of the feed's bytes: memchr's vectorized search finds
/// the (rare) section ends for a fraction of what `str::find`'s two-way
/// search costs a byte.
fn cdata(xml: &mut String, text: &str) {
    xml.push_str("<![CDATA[");
    let mut clean = 0;
    for at in memchr::memmem::find_iter(text.as_bytes(), b"]]>") {
        xml.push_str(&text[clean..at + 2]);
        xml.push_str("]]><![CDATA[");
        clean = at + 2;
    }
    xml.push_str(&text[clean..]);
    xml.push_str("]]>");
}

#[cfg(test)]
mod tests {
    use super::cdata;

    #[test]
    fn a_cdata_end_in_the_text_does_not_end_the_section() {
        let mut xml = String::new();
        cdata(&mut xml, "a]]>b]]]>c");
        assert_eq!(xml, "<![CDATA[a]]]]><![CDATA[>b]]]]]><![CDATA[>c]]>");
    }
}
