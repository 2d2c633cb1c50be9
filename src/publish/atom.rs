//! Atom 1.0, with item bodies as XHTML: each language section carries
//! `xml:lang`, so readers that honour it pick fonts and hyphenation per section.

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer,
};

use super::view::{FeedView, ItemView, escape_xml_into, xml_element, xml_link, xml_safe};
use super::{GENERATOR, Links, PublishError, escape_html, xsl};

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
    xml.push_str(&xsl::instruction(&path));
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
    xml_element(xml, "id", &view.guid);
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
        xml_link(xml, "link", feed_url, "self", Some("application/xml"));
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

/// Elements that never have content: XML writes them self-closed.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// `html` re-serialized as well-formed XML: every text and attribute escaped,
/// every element closed, and stray end tags dropped.
pub(crate) fn to_xhtml(html: &str) -> String {
    let sink = XhtmlSink::default();
    let tokenizer = Tokenizer::new(sink, Default::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    // The sink never asks to pause, so one feed consumes the whole input.
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    let mut body = tokenizer.sink.out.take();
    for name in tokenizer.sink.open.take().iter().rev() {
        body.push_str(&format!("</{name}>"));
    }
    body
}

#[derive(Default)]
struct XhtmlSink {
    out: RefCell<String>,
    open: RefCell<Vec<String>>,
}

impl XhtmlSink {
    fn start(&self, tag: &Tag) {
        let name = tag.name.to_ascii_lowercase().to_string();
        if !is_xml_name(&name) {
            return;
        }
        let mut out = self.out.borrow_mut();
        out.push('<');
        out.push_str(&name);
        for attr in &tag.attrs {
            let attr_name = attr.name.local.to_ascii_lowercase().to_string();
            if !is_xml_name(&attr_name) {
                continue;
            }
            let value = escape_xml(&attr.value);
            out.push_str(&format!(" {attr_name}=\"{value}\""));
            if attr_name == "lang" {
                out.push_str(&format!(" xml:lang=\"{value}\""));
            }
        }
        if VOID.contains(&name.as_str()) || tag.self_closing {
            out.push_str("/>");
        } else {
            out.push('>');
            self.open.borrow_mut().push(name);
        }
    }

    fn end(&self, tag: &Tag) {
        let name = tag.name.to_ascii_lowercase().to_string();
        let mut open = self.open.borrow_mut();
        let Some(at) = open.iter().rposition(|n| *n == name) else {
            return;
        };
        let mut out = self.out.borrow_mut();
        for closed in open.drain(at..).rev() {
            out.push_str(&format!("</{closed}>"));
        }
    }
}

impl TokenSink for XhtmlSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => self.start(&tag),
                TagKind::EndTag => self.end(&tag),
            },
            Token::CharacterTokens(text) => self.out.borrow_mut().push_str(&escape_xml(&text)),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Plain ASCII names only: anything else could not be written as XML.
fn is_xml_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Escapes text for XML content and double-quoted attributes, dropping what
/// XML 1.0 cannot carry at all.
fn escape_xml(text: &str) -> String {
    escape_html(&xml_safe(text))
}

#[cfg(test)]
mod tests {
    use super::to_xhtml;

    #[test]
    fn html_becomes_well_formed_xhtml_with_xml_lang() {
        let out = to_xhtml(
            "<div lang=\"pl\"><p>Za&nbsp;<b>1 &lt; 2 &amp; \"x\"</b><br><img src=\"https://a.pl/i.jpg?a=1&amp;b=2\" alt=\"\"></p></div>",
        );
        assert_eq!(
            out,
            "<div lang=\"pl\" xml:lang=\"pl\"><p>Za\u{a0}<b>1 &lt; 2 &amp; &quot;x&quot;</b><br/><img src=\"https://a.pl/i.jpg?a=1&amp;b=2\" alt=\"\"/></p></div>"
        );
    }

    #[test]
    fn broken_nesting_is_closed_and_stray_end_tags_dropped() {
        assert_eq!(
            to_xhtml("</p><b><i>x</b></div><p>y"),
            "<b><i>x</i></b><p>y</p>"
        );
    }
}
