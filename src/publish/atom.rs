//! Atom 1.0, with item bodies as XHTML: each language section carries
//! `xml:lang`, so readers that honour it pick fonts and hyphenation per section.

use chrono::{DateTime, Utc};

use super::escape::{escape_xml_into, xml_element, xml_link};
use super::ids;
use super::view::{FeedView, ItemView};
use super::{GENERATOR, Links, PublishError, style};

/// Renders `feed` as its Atom document.
///
/// Written straight into one buffer rather than through atom_syndication's
/// model, which would copy every body into it first; the bytes are the ones
/// that crate writes (same element order, same escaping).
pub(crate) fn render(feed: &FeedView, links: &Links) -> Result<Vec<u8>, PublishError> {
    let path = feed.path("feed.atom");
    let own = feed.url("feed.atom");
    let mut xml = String::with_capacity(feed.room());
    xml.push_str("<?xml version=\"1.0\"?>\n");
    xml.push_str(&style::instruction(&path, &feed.lang));
    xml.push_str("\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"");
    escape_xml_into(&mut xml, feed.lang.as_str());
    xml.push_str("\">");
    xml_element(&mut xml, "title", &feed.title);
    xml_element(&mut xml, "id", &own);
    date(&mut xml, "updated", feed.updated);
    author(&mut xml, &feed.title);
    xml_element(&mut xml, "generator", GENERATOR);
    xml_link(&mut xml, "link", &own, "self", Some("application/atom+xml"));
    xml_link(
        &mut xml,
        "link",
        feed.home.as_str(),
        "alternate",
        Some("text/html"),
    );
    for hub in &links.hubs {
        xml_link(&mut xml, "link", hub, "hub", None);
    }
    xml_element(&mut xml, "subtitle", &feed.description);
    for item in &feed.items {
        entry(&mut xml, item);
    }
    xml.push_str("</feed>");
    Ok(xml.into_bytes())
}

fn entry(xml: &mut String, view: &ItemView) {
    let lead = &view.author;
    xml.push_str("<entry>");
    xml_element(xml, "title", &view.title);
    xml_element(xml, "id", &ids::in_format(&view.guid, "atom"));
    xml_element(xml, "updated", &view.dates.updated_rfc3339);
    author(xml, &lead.name);
    if !lead.city.trim().is_empty() {
        xml.push_str("<category term=\"");
        escape_xml_into(xml, &lead.city);
        xml.push_str("\"/>");
    }
    if let Some(href) = &view.link {
        xml_link(xml, "link", href, "alternate", Some("text/html"));
    }
    xml_element(xml, "published", &view.dates.published_rfc3339);
    if let Some(feed_url) = &lead.feed_url {
        xml.push_str("<source>");
        xml_element(xml, "title", &lead.name);
        xml_element(xml, "id", feed_url);
        xml_element(xml, "updated", &view.dates.updated_rfc3339);
        // The source may be RSS, Atom or JSON Feed; a wrong type is worse
        // than none.
        xml_link(xml, "link", feed_url, "self", None);
        if let Some(site) = &lead.site {
            xml_link(xml, "link", site, "alternate", Some("text/html"));
        }
        xml.push_str("</source>");
    }
    xml.push_str("<content xml:lang=\"");
    escape_xml_into(xml, view.lang.as_str());
    // The body is well-formed XHTML already: it goes in as it is.
    xml.push_str("\" type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">");
    xml.push_str(&view.body_xhtml);
    xml.push_str("</div></content></entry>");
}

fn date(xml: &mut String, name: &str, at: DateTime<Utc>) {
    xml_element(xml, name, &at.to_rfc3339());
}

fn author(xml: &mut String, name: &str) {
    xml.push_str("<author>");
    xml_element(xml, "name", name);
    xml.push_str("</author>");
}
