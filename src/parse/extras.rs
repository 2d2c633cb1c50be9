//! What feed-rs leaves out but a reader notices: the language of an Atom entry
//! (`xml:lang` on `<entry>`) and the language and image of a JSON Feed item.

use serde::Deserialize;

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
