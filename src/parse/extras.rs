//! What feed-rs leaves out but a reader notices: the language of an Atom entry
//! (`xml:lang` on `<entry>`), the language and image of a JSON Feed item, and
//! the title or text an RSS item gives only in `dc:title`, an XHTML `<body>` or
//! `<fullitem>`.

use quick_xml::events::Event;
use serde::Deserialize;

use super::normalize::{Cursor, local_of};
use crate::model::EntryDraft;

#[derive(Deserialize)]
struct JsonFeed {
    #[serde(default)]
    items: Vec<JsonItem>,
}

#[derive(Deserialize)]
struct JsonItem {
    language: Option<String>,
    image: Option<String>,
    banner_image: Option<String>,
}

/// Fills in item languages and images; feed-rs keeps items in document order.
pub fn json_items(doc: &str, entries: &mut [EntryDraft]) {
    let Ok(feed) = serde_json::from_str::<JsonFeed>(doc) else {
        return;
    };
    if feed.items.len() != entries.len() {
        return;
    }
    for (entry, item) in entries.iter_mut().zip(feed.items) {
        if entry.lang.is_none() {
            entry.lang = item.language.filter(|l| !l.trim().is_empty());
        }
        if entry.image.is_none() {
            entry.image = item.image.or(item.banner_image);
        }
    }
}

/// Reads `xml:lang` from each `<entry>` start tag. Only used when the count of tags
/// found matches the entries parsed, so a stray `<entry` in CDATA cannot misalign.
pub fn atom_entry_langs(doc: &str, entries: &mut [EntryDraft]) {
    let tags: Vec<&str> = entry_start_tags(doc).collect();
    if tags.len() != entries.len() {
        return;
    }
    for (entry, tag) in entries.iter_mut().zip(tags) {
        if entry.lang.is_none() {
            entry.lang = xml_lang(tag).map(str::to_string);
        }
    }
}

fn entry_start_tags(doc: &str) -> impl Iterator<Item = &str> {
    // memmem's vectorized search: every occurrence in the document is visited.
    memchr::memmem::find_iter(doc.as_bytes(), "entry").filter_map(move |at| {
        let open = doc[..at].rfind('<')?;
        let prefix = &doc[open + 1..at];
        let prefix_ok = prefix.is_empty()
            || (prefix.ends_with(':')
                && prefix[..prefix.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric()));
        let after = doc[at + "entry".len()..].chars().next()?;
        if !prefix_ok || !(after.is_whitespace() || after == '>') {
            return None;
        }
        let end = doc[at..].find('>')?;
        Some(&doc[at..at + end])
    })
}

fn xml_lang(tag: &str) -> Option<&str> {
    let rest = &tag[tag.find("xml:lang")? + "xml:lang".len()..];
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    Some(rest[..rest.find(quote)?].trim()).filter(|l| !l.is_empty())
}

/// Fills in the titles and texts RSS items give only outside the elements
/// feed-rs reads. Read only when an item lacks one, and only when the items
/// found match the entries parsed, so nothing can land on the wrong item.
pub fn rss_item_fallbacks(doc: &str, entries: &mut [EntryDraft]) {
    let lacking = |e: &EntryDraft| blank(&e.title) || (blank(&e.summary) && blank(&e.content));
    if !entries.iter().any(lacking) {
        return;
    }
    let items = rss_items(doc);
    if items.len() != entries.len() {
        return;
    }
    for (entry, item) in entries.iter_mut().zip(items) {
        if blank(&entry.title) {
            entry.title = item.title.or(entry.title.take());
        }
        if blank(&entry.summary) && blank(&entry.content) {
            entry.content = item.body.or(entry.content.take());
        }
    }
}

fn blank(field: &Option<String>) -> bool {
    field.as_deref().is_none_or(|s| s.trim().is_empty())
}

#[derive(Default)]
struct ItemText {
    title: Option<String>,
    /// HTML.
    body: Option<String>,
}

fn rss_items(doc: &str) -> Vec<ItemText> {
    let mut cursor = Cursor::new(doc);
    let mut items = Vec::new();
    while let Some((event, _)) = cursor.next() {
        if let Event::Start(start) = event
            && local_of(&start) == "item"
        {
            let Some(inner) = cursor.inner(&start) else {
                break;
            };
            items.push(item_text(inner));
        }
    }
    items
}

fn item_text(inner: &str) -> ItemText {
    let mut cursor = Cursor::new(inner);
    let mut item = ItemText::default();
    while let Some((event, _)) = cursor.next() {
        let Event::Start(start) = event else {
            continue;
        };
        let qualified = start.name().prefix().is_some();
        let local = local_of(&start).to_string();
        let Some(raw) = cursor.inner(&start) else {
            break;
        };
        match local.as_str() {
            "title" if qualified && item.title.is_none() => item.title = unescape(raw),
            // dc:description, itunes:summary, and a description holding markup
            // unescaped, which feed-rs reads as no text at all.
            "description" | "summary" if item.body.is_none() => item.body = body_of(raw),
            // XHTML is markup already; <fullitem> holds escaped HTML.
            "body" if item.body.is_none() => item.body = Some(raw.trim().to_string()),
            "fullitem" if item.body.is_none() => item.body = unescape(raw),
            _ => {}
        }
    }
    item
}

/// HTML from an element's raw content: markup written straight into the
/// document is taken as it is, escaped markup and CDATA are unescaped.
fn body_of(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.starts_with('<') && !trimmed.starts_with("<![CDATA[") {
        Some(trimmed.to_string())
    } else {
        unescape(raw)
    }
}

fn unescape(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let text = match raw
        .strip_prefix("<![CDATA[")
        .and_then(|r| r.strip_suffix("]]>"))
    {
        Some(cdata) => cdata.to_string(),
        None => quick_xml::escape::unescape(raw).ok()?.into_owned(),
    };
    Some(text).filter(|t| !t.trim().is_empty())
}
