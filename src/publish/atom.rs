//! Atom 1.0.

use atom_syndication::{
    Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Source, Text,
};
use chrono::{DateTime, Utc};

use super::view::{FeedView, ItemView};
use super::{GENERATOR, Links, PublishError, xsl};

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
        .write_to(Vec::new())
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
            value: Some(view.body_html.clone()),
            content_type: Some("html".to_string()),
            lang: Some(view.lang.to_string()),
            ..Content::default()
        }),
        source: lead.feed_url.as_ref().map(|feed_url| Source {
            title: Text::plain(lead.name.clone()),
            id: feed_url.clone(),
            updated: fixed(view.updated),
            links: std::iter::once(link(feed_url.clone(), "self", "application/xml"))
                .chain(lead.site().map(|site| link(site, "alternate", "text/html")))
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
