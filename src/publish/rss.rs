//! RSS 2.0.

use rss::extension::atom::{AtomExtension, Link};
use rss::{Category, Channel, Guid, Item, Source};

use super::view::{FeedView, ItemView};
use super::{GENERATOR, PublishError};

pub(crate) fn render(feed: &FeedView) -> Result<Vec<u8>, PublishError> {
    let channel = Channel {
        title: feed.title.clone(),
        link: feed.home.to_string(),
        description: feed.description.clone(),
        language: Some(feed.lang.to_string()),
        last_build_date: Some(feed.updated.to_rfc2822()),
        generator: Some(GENERATOR.to_string()),
        atom_ext: Some(AtomExtension {
            links: vec![Link {
                href: feed.url("feed.xml"),
                rel: "self".to_string(),
                mime_type: Some("application/rss+xml".to_string()),
                ..Link::default()
            }],
        }),
        items: feed.items.iter().map(item).collect(),
        ..Channel::default()
    };
    channel
        .write_to(Vec::new())
        .map_err(|e| PublishError::render(&feed.path("feed.xml"), e))
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
