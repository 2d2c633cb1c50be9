//! Atom 1.0, with item bodies as XHTML: each language section carries
//! `xml:lang`, so readers that honour it pick fonts and hyphenation per section.

use std::cell::RefCell;

use atom_syndication::{
    Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Source, Text,
};
use chrono::{DateTime, Utc};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer,
};

use super::view::{FeedView, ItemView, xml_safe};
use super::{GENERATOR, Links, PublishError, escape_html, xsl};

pub(crate) fn render(feed: &FeedView, links: &Links) -> Result<Vec<u8>, PublishError> {
    let path = feed.path("feed.atom");
    let atom = Feed {
        title: Text::plain(feed.title.clone()),
        id: feed.url("feed.atom"),
        updated: fixed(feed.updated),
        authors: vec![person(&feed.title)],
        generator: Some(Generator {
            value: GENERATOR.to_string(),
            ..Generator::default()
        }),
        links: [
            link(feed.url("feed.atom"), "self", "application/atom+xml"),
            link(feed.home.to_string(), "alternate", "text/html"),
        ]
        .into_iter()
        .chain(links.hubs.iter().map(|hub| Link {
            href: hub.clone(),
            rel: "hub".to_string(),
            ..Link::default()
        }))
        .collect(),
        subtitle: Some(Text::plain(feed.description.clone())),
        lang: Some(feed.lang.to_string()),
        entries: feed.items.iter().map(entry).collect(),
        ..Feed::default()
    };
    let xml = atom
        .write_to(Vec::with_capacity(feed.room()))
        .map_err(|e| PublishError::render(&path, e))?;
    xsl::attach(xml, &path)
}

fn entry(view: &ItemView) -> Entry {
    let lead = &view.author;
    Entry {
        title: Text::plain(view.title.clone()),
        id: view.guid.clone(),
        updated: fixed(view.updated),
        published: Some(fixed(view.published)),
        authors: vec![person(&lead.name)],
        categories: city(&lead.city),
        links: view
            .link
            .iter()
            .map(|href| link(href.clone(), "alternate", "text/html"))
            .collect(),
        content: Some(Content {
            value: Some(xhtml_div(&view.body_xhtml)),
            content_type: Some("xhtml".to_string()),
            lang: Some(view.lang.to_string()),
            ..Content::default()
        }),
        source: lead.feed_url.as_ref().map(|feed_url| Source {
            title: Text::plain(lead.name.clone()),
            id: feed_url.clone(),
            updated: fixed(view.updated),
            links: std::iter::once(link(feed_url.clone(), "self", "application/xml"))
                .chain(
                    lead.site
                        .clone()
                        .map(|site| link(site, "alternate", "text/html")),
                )
                .collect(),
            ..Source::default()
        }),
        ..Entry::default()
    }
}

fn link(href: String, rel: &str, mime_type: &str) -> Link {
    Link {
        href,
        rel: rel.to_string(),
        mime_type: Some(mime_type.to_string()),
        ..Link::default()
    }
}

fn person(name: &str) -> Person {
    Person {
        name: name.to_string(),
        ..Person::default()
    }
}

fn city(city: &str) -> Vec<Category> {
    if city.trim().is_empty() {
        Vec::new()
    } else {
        vec![Category {
            term: city.to_string(),
            ..Category::default()
        }]
    }
}

fn fixed(at: DateTime<Utc>) -> FixedDateTime {
    at.fixed_offset()
}

/// Elements that never have content: XML writes them self-closed.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// The XHTML wrapper Atom wants around `type="xhtml"` content.
/// atom_syndication writes this value as it is, so `xhtml` must be well-formed.
fn xhtml_div(xhtml: &str) -> String {
    format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{xhtml}</div>")
}

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
    use super::{to_xhtml, xhtml_div};

    #[test]
    fn html_becomes_well_formed_xhtml_with_xml_lang() {
        let out = xhtml_div(&to_xhtml(
            "<div lang=\"pl\"><p>Za&nbsp;<b>1 &lt; 2 &amp; \"x\"</b><br><img src=\"https://a.pl/i.jpg?a=1&amp;b=2\" alt=\"\"></p></div>",
        ));
        assert_eq!(
            out,
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><div lang=\"pl\" xml:lang=\"pl\"><p>Za\u{a0}<b>1 &lt; 2 &amp; &quot;x&quot;</b><br/><img src=\"https://a.pl/i.jpg?a=1&amp;b=2\" alt=\"\"/></p></div></div>"
        );
    }

    #[test]
    fn broken_nesting_is_closed_and_stray_end_tags_dropped() {
        assert_eq!(
            xhtml_div(&to_xhtml("</p><b><i>x</b></div><p>y")),
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><b><i>x</i></b><p>y</p></div>"
        );
    }
}
