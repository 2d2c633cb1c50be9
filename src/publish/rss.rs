//! RSS 2.0.

use std::collections::BTreeMap;

use rss::extension::atom::{AtomExtension, Link};
use rss::extension::{Extension, ExtensionMap};
use rss::{Category, Channel, Guid, Item, Source};

use super::view::{FeedView, ItemView};
use super::{GENERATOR, Links, PublishError, xsl};

/// RFC 5005 feed history.
const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

/// Renders `feed` as the document `file` of its folder.
pub(crate) fn render(feed: &FeedView, file: &str, links: &Links) -> Result<Vec<u8>, PublishError> {
    let path = feed.path(file);
    let mut channel = Channel {
        title: feed.title.clone(),
        link: feed.home.to_string(),
        description: feed.description.clone(),
        language: Some(feed.lang.to_string()),
        last_build_date: Some(feed.updated.to_rfc2822()),
        generator: Some(GENERATOR.to_string()),
        atom_ext: Some(AtomExtension {
            links: atom_links(feed.url(file), links),
        }),
        items: feed.items.iter().map(item).collect(),
        ..Channel::default()
    };
    if links.archived {
        mark_archived(&mut channel);
    }
    let xml = channel
        .write_to(Vec::with_capacity(feed.room()))
        .map_err(|e| PublishError::render(&path, e))?;
    xsl::attach(xml, &path)
}

fn atom_links(self_href: String, links: &Links) -> Vec<Link> {
    let own = Link {
        href: self_href,
        rel: "self".to_string(),
        mime_type: Some("application/rss+xml".to_string()),
        ..Link::default()
    };
    let hubs = links.hubs.iter().map(|hub| ("hub", hub));
    let history = links.history.iter().map(|(rel, href)| (*rel, href));
    std::iter::once(own)
        .chain(hubs.chain(history).map(|(rel, href)| Link {
            href: href.clone(),
            rel: rel.to_string(),
            ..Link::default()
        }))
        .collect()
}

/// `<fh:archive/>`: tells readers this document is complete and never changes.
fn mark_archived(channel: &mut Channel) {
    channel
        .namespaces
        .insert("fh".to_string(), HISTORY_NS.to_string());
    let archive = Extension {
        name: "fh:archive".to_string(),
        ..Extension::default()
    };
    let mut fh = BTreeMap::new();
    fh.insert("archive".to_string(), vec![archive]);
    let mut extensions = ExtensionMap::new();
    extensions.insert("fh".to_string(), fh);
    channel.extensions = extensions;
}

fn item(view: &ItemView) -> Item {
    let lead = &view.author;
    Item {
        title: Some(view.title.clone()),
        link: view.link.clone(),
        description: Some(view.body_html.clone()),
        guid: Some(Guid {
            value: view.guid.clone(),
            permalink: false,
        }),
        pub_date: Some(view.published.to_rfc2822()),
        source: lead.feed_url.as_ref().map(|url| Source {
            url: url.clone(),
            title: Some(lead.name.clone()),
        }),
        categories: city(&lead.city),
        ..Item::default()
    }
}

fn city(city: &str) -> Vec<Category> {
    if city.trim().is_empty() {
        Vec::new()
    } else {
        vec![Category {
            name: city.to_string(),
            domain: None,
        }]
    }
}
