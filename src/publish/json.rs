//! JSON Feed 1.1, with hejnal's variants and sources under `_hejnal`.
//!
//! Written by hand rather than through serde: every item body is a large
//! string, and its escaped form is built from texts escaped once when they
//! were prepared, which a serializer would escape again each render. The
//! layout is serde_json's pretty one (two spaces, `"key": value`), so the
//! files are the same as when serde wrote them.

use std::sync::Arc;

use super::escape::escape_json_into;
use super::ids;
use super::view::{FeedView, ItemView, Shown, SourceRef};
use super::{Links, PublishError};
use crate::model::Provenance;

const VERSION: &str = "https://jsonfeed.org/version/1.1";

/// The page that describes the `_hejnal` extension, published at the top of
/// the output folder: JSON Feed asks an extension to name one in `about`.
pub(crate) const ABOUT_PATH: &str = "json-feed-extension.html";

/// The page itself.
pub(crate) const ABOUT_PAGE: &[u8] = include_bytes!("../../assets/json-feed-extension.html");

pub(crate) fn render(feed: &FeedView, links: &Links) -> Result<Vec<u8>, PublishError> {
    let mut json = Json::with_capacity(feed.room());
    json.open('{');
    json.field("version", VERSION);
    json.field("title", &feed.title);
    json.field("home_page_url", feed.home.as_str());
    json.field("feed_url", &feed.url("feed.json"));
    json.field("description", &feed.description);
    json.field("language", feed.lang.as_str());
    if !links.hubs.is_empty() {
        json.key("hubs");
        json.open('[');
        for url in &links.hubs {
            json.next();
            json.open('{');
            json.field("type", "WebSub");
            json.field("url", url);
            json.close('}');
        }
        json.close(']');
    }
    let about = feed.home_url(ABOUT_PATH);
    json.key("items");
    json.open('[');
    for view in &feed.items {
        json.next();
        item(&mut json, view, &about);
    }
    json.close(']');
    json.close('}');
    json.out.push('\n');
    Ok(json.out.into_bytes())
}

fn item(json: &mut Json, view: &ItemView, about: &str) {
    let lead = &view.author;
    json.open('{');
    json.field("id", &ids::in_format(&view.guid, "json"));
    json.optional("url", view.link.as_deref());
    json.field("title", &view.title);
    json.key("content_html");
    json.escaped(&view.body_json);
    json.field("date_published", &view.dates.published_rfc3339);
    json.field("date_modified", &view.dates.updated_rfc3339);
    json.key("authors");
    json.open('[');
    json.next();
    json.open('{');
    json.field("name", &lead.name);
    json.optional("url", lead.site.as_deref());
    json.close('}');
    json.close(']');
    if !lead.city.trim().is_empty() {
        json.key("tags");
        json.open('[');
        json.next();
        json.string(&lead.city);
        json.close(']');
    }
    json.field("language", view.lang.as_str());
    json.key("_hejnal");
    json.open('{');
    json.field("about", about);
    json.key("variants");
    json.list(&view.variants, variant);
    json.key("sources");
    json.list(&view.sources, source);
    json.close('}');
    json.close('}');
}

fn variant(json: &mut Json, shown: &Shown) {
    let v = &shown.variant;
    json.open('{');
    json.field("lang", v.lang.as_str());
    json.field("title", &v.title);
    json.optional("link", v.link.as_deref());
    match &v.provenance {
        Provenance::Native { .. } => json.field("provenance", "native"),
        Provenance::Machine {
            engine,
            from,
            original_link,
        } => {
            json.field("provenance", "machine");
            json.field("engine", engine);
            json.field("translated_from", from.as_str());
            json.optional("original", original_link.as_deref());
        }
        Provenance::Edited {
            from,
            original_link,
        } => {
            json.field("provenance", "edited");
            json.field("translated_from", from.as_str());
            json.optional("original", original_link.as_deref());
        }
    }
    json.close('}');
}

fn source(json: &mut Json, s: &Arc<SourceRef>) {
    json.open('{');
    json.field("id", &s.id);
    json.field("name", &s.name);
    if !s.city.is_empty() {
        json.field("city", &s.city);
    }
    json.field("lang", s.lang.as_str());
    json.optional("feed_url", s.feed_url.as_deref());
    json.optional("link", s.link.as_deref());
    json.close('}');
}

/// A JSON document being written, pretty-printed.
struct Json {
    out: String,
    depth: usize,
    /// Whether the innermost object or array has no member yet.
    empty: bool,
}

impl Json {
    fn with_capacity(bytes: usize) -> Json {
        Json {
            out: String::with_capacity(bytes),
            depth: 0,
            empty: true,
        }
    }

    fn open(&mut self, bracket: char) {
        self.out.push(bracket);
        self.depth += 1;
        self.empty = true;
    }

    fn close(&mut self, bracket: char) {
        self.depth -= 1;
        if !self.empty {
            self.line();
        }
        self.out.push(bracket);
        self.empty = false;
    }

    /// Starts the next member of the innermost object or array.
    fn next(&mut self) {
        if !self.empty {
            self.out.push(',');
        }
        self.line();
        self.empty = false;
    }

    fn line(&mut self) {
        self.out.push('\n');
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    /// A key: always one of this file's plain ASCII names, so never escaped.
    fn key(&mut self, key: &str) {
        self.next();
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\": ");
    }

    fn string(&mut self, value: &str) {
        self.out.push('"');
        escape_json_into(&mut self.out, value);
        self.out.push('"');
    }

    /// A string whose contents are escaped already.
    fn escaped(&mut self, contents: &str) {
        self.out.push('"');
        self.out.push_str(contents);
        self.out.push('"');
    }

    fn field(&mut self, key: &str, value: &str) {
        self.key(key);
        self.string(value);
    }

    /// A field left out when it has no value.
    fn optional(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.field(key, value);
        }
    }

    fn list<T>(&mut self, values: &[T], write: fn(&mut Json, &T)) {
        self.open('[');
        for value in values {
            self.next();
            write(self, value);
        }
        self.close(']');
    }
}
