//! JSON Feed 1.1, with hejnal's variants and sources under `_hejnal`.

use serde::Serialize;

use super::view::{FeedView, ItemView, SourceRef};
use super::{Links, PublishError};
use crate::model::{Provenance, Variant};

const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: String,
    feed_url: String,
    description: &'a str,
    language: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<JsonItem<'a>>,
}

/// A WebSub hub, as JSON Feed 1.1 names it.
#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    title: &'a str,
    content_html: &'a str,
    date_published: String,
    date_modified: String,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    language: &'a str,
    #[serde(rename = "_hejnal")]
    hejnal: Extension<'a>,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

#[derive(Serialize)]
struct Extension<'a> {
    variants: Vec<JsonVariant<'a>>,
    sources: Vec<JsonSource<'a>>,
}

#[derive(Serialize)]
struct JsonVariant<'a> {
    lang: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
    provenance: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    translated_from: Option<&'a str>,
    /// The article a machine translation was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    original: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    city: &'a str,
    lang: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
}

pub(crate) fn render(feed: &FeedView, links: &Links) -> Result<Vec<u8>, PublishError> {
    let json = JsonFeed {
        version: VERSION,
        title: &feed.title,
        home_page_url: feed.home.to_string(),
        feed_url: feed.url("feed.json"),
        description: &feed.description,
        language: feed.lang.as_str(),
        hubs: links
            .hubs
            .iter()
            .map(|url| Hub {
                kind: "WebSub",
                url,
            })
            .collect(),
        items: feed.items.iter().map(item).collect(),
    };
    let mut bytes = Vec::with_capacity(feed.room());
    serde_json::to_writer_pretty(&mut bytes, &json)
        .map_err(|e| PublishError::render(&feed.path("feed.json"), e))?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn item(view: &ItemView) -> JsonItem<'_> {
    let lead = &view.author;
    JsonItem {
        id: &view.guid,
        url: view.link.as_deref(),
        title: &view.title,
        content_html: &view.body_html,
        date_published: view.published.to_rfc3339(),
        date_modified: view.updated.to_rfc3339(),
        authors: vec![Author {
            name: &lead.name,
            url: lead.site.as_deref(),
        }],
        tags: Some(lead.city.as_str())
            .filter(|c| !c.trim().is_empty())
            .into_iter()
            .collect(),
        language: view.lang.as_str(),
        hejnal: Extension {
            variants: view.variants.iter().map(|s| variant(&s.variant)).collect(),
            sources: view.sources.iter().map(source).collect(),
        },
    }
}

fn variant(v: &Variant) -> JsonVariant<'_> {
    let (provenance, engine, translated_from, original) = match &v.provenance {
        Provenance::Native { .. } => ("native", None, None, None),
        Provenance::Machine {
            engine,
            from,
            original_link,
        } => (
            "machine",
            Some(engine.as_str()),
            Some(from.as_str()),
            original_link.as_deref(),
        ),
    };
    JsonVariant {
        lang: v.lang.as_str(),
        title: &v.title,
        link: v.link.as_deref(),
        provenance,
        engine,
        translated_from,
        original,
    }
}

fn source(s: &SourceRef) -> JsonSource<'_> {
    JsonSource {
        id: &s.id,
        name: &s.name,
        city: &s.city,
        lang: s.lang.as_str(),
        feed_url: s.feed_url.as_deref(),
        link: s.link.as_deref(),
    }
}
