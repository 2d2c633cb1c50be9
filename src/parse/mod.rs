//! Parsing one fetched document into entry drafts (feed-rs underneath).

mod extras;
mod normalize;
mod text;
mod warnings;

use std::cmp::Reverse;
use std::panic::AssertUnwindSafe;

use feed_rs::model::{Entry as RsEntry, Feed, FeedType, Link};
use feed_rs::parser::{ParseErrorKind, ParseFeedError};

use crate::model::{EntryDraft, FeedFormat, ParsedFeed};
use crate::sources::discover;

pub use warnings::{Warning, warnings};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: an HTML page{}", feed_links_hint(.feed_links))]
    HtmlPage { feed_links: Vec<String> },
    #[error("not a feed: {0}")]
    Invalid(String),
}

fn feed_links_hint(links: &[String]) -> String {
    if links.is_empty() {
        " with no feed links".to_string()
    } else {
        format!("; feeds linked from it: {}", links.join(", "))
    }
}

/// feed-rs invents an id for items that have none; this one we can recognise
/// (XML text cannot hold a NUL) and turn back into "no guid".
const NO_ID: &str = "\u{0}hejnal:no-id";

/// Parses `body` fetched from `url`, keeping the newest `max_items` entries.
pub fn parse(
    body: &[u8],
    content_type: Option<&str>,
    url: &str,
    max_items: usize,
) -> Result<ParsedFeed, ParseError> {
    let doc = text::to_utf8(body, content_type);
    let root = check_shape(&doc, url)?;
    let root = root.as_deref().map(text::local_name);
    let doc = match root.and_then(|r| normalize::prepare(&doc, r)) {
        Some(prepared) => prepared,
        None => doc,
    };
    let feed = match read(&doc, url)? {
        Ok(feed) => feed,
        // One Atom text construct feed-rs cannot read fails the whole feed there;
        // here it is read as well as it can be, and the rest of the feed with it.
        Err(ParseFeedError::ParseError(kind))
            if root == Some("feed")
                && !matches!(kind, ParseErrorKind::NoFeedRoot)
                && let Some(repaired) = normalize::atom_texts(&doc) =>
        {
            read(&repaired, url)?.map_err(|e| describe(e, &doc, content_type, url))?
        }
        Err(e) => return Err(describe(e, &doc, content_type, url)),
    };
    let mut parsed = convert(feed, &doc, max_items);
    // RSS 1.0 is read as RSS 2.0 (normalize.rs) but is still what the source serves.
    if root.is_some_and(|r| r.eq_ignore_ascii_case("rdf")) {
        parsed.format = FeedFormat::Rss1;
    }
    Ok(parsed)
}

/// What feed-rs makes of `doc`; the outer error is feed-rs giving up altogether.
fn read(doc: &str, url: &str) -> Result<Result<Feed, ParseFeedError>, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(url))
        .id_generator(|_, _, _| NO_ID.to_string())
        .sanitize_content(false)
        .build();
    // The XML reader asserts on some malformed input instead of failing; whatever
    // it chokes on must fail this source, never the process.
    std::panic::catch_unwind(AssertUnwindSafe(|| parser.parse(doc.as_bytes())))
        .map_err(|_| invalid("malformed XML: the feed parser gave up on this document"))
}

/// Rejects what is clearly not a feed before the feed parser spends time on it;
/// the name of the root element of what may be one.
fn check_shape(doc: &str, url: &str) -> Result<Option<String>, ParseError> {
    match text::shape(doc) {
        _ if doc.is_empty() => Err(invalid("the document is empty")),
        text::Shape::Json => Ok(None),
        text::Shape::Markup { root } if text::local_name(&root).eq_ignore_ascii_case("html") => {
            Err(html_page(doc, url))
        }
        text::Shape::Markup { .. } if text::has_late_declaration(doc) => Err(invalid(
            "malformed XML: a second XML declaration (<?xml …?>) inside the document",
        )),
        text::Shape::Markup { .. } if text::nesting_exceeds(doc, text::MAX_DEPTH) => Err(invalid(
            &format!("elements nest deeper than {} levels", text::MAX_DEPTH),
        )),
        text::Shape::Markup { root } => Ok(Some(root)),
        text::Shape::Unknown => Err(invalid(&format!(
            "neither XML nor JSON; it starts with {:?}",
            doc.chars().take(40).collect::<String>()
        ))),
    }
}

fn invalid(cause: &str) -> ParseError {
    ParseError::Invalid(cause.to_string())
}

fn html_page(doc: &str, url: &str) -> ParseError {
    ParseError::HtmlPage {
        feed_links: discover::feed_links(doc.as_bytes(), url)
            .into_iter()
            .map(|f| f.url)
            .collect(),
    }
}

fn describe(error: ParseFeedError, doc: &str, content_type: Option<&str>, url: &str) -> ParseError {
    match error {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
            if content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("html")) {
                return html_page(doc, url);
            }
            match text::shape(doc) {
                text::Shape::Markup { root } => invalid(&format!(
                    "the root element <{root}> is not RSS, RDF, Atom or JSON Feed"
                )),
                _ => invalid("no RSS, RDF, Atom or JSON Feed root element"),
            }
        }
        ParseFeedError::XmlReader(e) => invalid(&format!("malformed XML: {e}")),
        ParseFeedError::JsonSerde(e) => invalid(&format!("malformed JSON Feed: {e}")),
        ParseFeedError::JsonUnsupportedVersion(v) => {
            invalid(&format!("unsupported JSON Feed version {v:?}"))
        }
        other => invalid(&other.to_string()),
    }
}

fn convert(feed: Feed, doc: &str, max_items: usize) -> ParsedFeed {
    let format = match feed.feed_type {
        FeedType::Atom => FeedFormat::Atom,
        FeedType::JSON => FeedFormat::Json,
        FeedType::RSS0 => FeedFormat::Rss0,
        FeedType::RSS1 => FeedFormat::Rss1,
        FeedType::RSS2 => FeedFormat::Rss2,
    };
    let ttl_minutes = feed
        .ttl
        .filter(|t| *t > 0)
        .or_else(|| syndication_minutes(doc));
    let mut entries: Vec<EntryDraft> = feed.entries.into_iter().map(|e| draft(e, format)).collect();
    match format {
        FeedFormat::Json => extras::json_items(doc, &mut entries),
        FeedFormat::Atom => extras::atom_entry_langs(doc, &mut entries),
        _ => extras::rss_item_fallbacks(doc, &mut entries),
    }
    ParsedFeed {
        title: feed
            .title
            .map(|t| t.content)
            .filter(|t| !t.trim().is_empty()),
        home: page_link(&feed.links),
        lang: feed.language.filter(|l| !l.trim().is_empty()),
        ttl_minutes,
        format,
        entries: newest(entries, max_items),
    }
}

/// Keeps the newest `max` drafts (undated ones after dated ones, in document order)
/// and hands them back in document order.
fn newest(entries: Vec<EntryDraft>, max: usize) -> Vec<EntryDraft> {
    if entries.len() <= max {
        return entries;
    }
    let mut ranked: Vec<(usize, EntryDraft)> = entries.into_iter().enumerate().collect();
    // Stable sort: equal dates and undated drafts keep their document order.
    ranked.sort_by_key(|(_, d)| Reverse(d.published.or(d.updated)));
    ranked.truncate(max);
    ranked.sort_by_key(|(i, _)| *i);
    ranked.into_iter().map(|(_, d)| d).collect()
}

fn draft(entry: RsEntry, format: FeedFormat) -> EntryDraft {
    let guid = Some(entry.id).filter(|id| id != NO_ID && !id.trim().is_empty());
    // An RSS guid is a permalink unless it says otherwise, and an Atom id that
    // is a web address names the entry's page too; items with no link rely on it.
    let link = page_link(&entry.links).or_else(|| guid.clone().filter(|g| names_a_page(g)));
    let explicit_text = matches!(format, FeedFormat::Atom | FeedFormat::Json);
    EntryDraft {
        link,
        guid,
        // Atom says when a title is plain text; JSON Feed titles stay read as
        // HTML, as publishers write them.
        title: entry.title.map(|t| {
            as_html(
                t.content,
                t.content_type.as_str(),
                format == FeedFormat::Atom,
            )
        }),
        summary: entry
            .summary
            .map(|s| as_html(s.content, s.content_type.as_str(), explicit_text)),
        content: entry.content.and_then(|c| {
            let kind = c.content_type.to_string();
            c.body.map(|b| as_html(b, &kind, explicit_text))
        }),
        authors: entry
            .authors
            .into_iter()
            .filter_map(|p| p.name)
            .filter(|n| !n.trim().is_empty())
            .collect(),
        published: entry.published,
        updated: entry.updated,
        lang: entry.language.filter(|l| !l.trim().is_empty()),
        image: image(&entry.media),
        categories: entry
            .categories
            .into_iter()
            // Atom's `label` is the human name of its `term`.
            .map(|c| c.label.filter(|l| !l.trim().is_empty()).unwrap_or(c.term))
            .collect(),
    }
}

/// Whether an id is the address of a page: a web address, or a path on the
/// feed's site (resolved against the feed's address when the entry is cleaned).
fn names_a_page(id: &str) -> bool {
    let scheme = id.get(..8).unwrap_or(id).to_ascii_lowercase();
    scheme.starts_with("http://")
        || scheme.starts_with("https://")
        || (id.starts_with('/') && !id.starts_with("//"))
}

/// Atom and JSON Feed say when a text is plain; its `<` must then stay a character.
fn as_html(body: String, content_type: &str, explicit: bool) -> String {
    if explicit && content_type.starts_with("text/plain") {
        crate::clean::html::escape_html(&body)
    } else {
        body
    }
}

/// The link to the web page of a feed or item (not `self`, not enclosures).
fn page_link(links: &[Link]) -> Option<String> {
    links
        .iter()
        .find(|l| {
            l.rel.as_deref().is_none_or(|r| r == "alternate")
                && l.media_type.as_deref().is_none_or(|t| t.contains("html"))
        })
        .map(|l| l.href.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// The picture of an item: a thumbnail, else an image enclosure, else any enclosure.
fn image(media: &[feed_rs::model::MediaObject]) -> Option<String> {
    let thumbnail = media
        .iter()
        .flat_map(|m| &m.thumbnails)
        .map(|t| t.image.uri.clone())
        .next();
    let contents = || media.iter().flat_map(|m| &m.content);
    let picture = contents()
        .filter(|c| {
            c.content_type
                .as_ref()
                .is_some_and(|t| t.to_string().starts_with("image/"))
        })
        .find_map(|c| c.url.as_ref().map(|u| u.to_string()));
    thumbnail
        .or(picture)
        .or_else(|| contents().find_map(|c| c.url.as_ref().map(|u| u.to_string())))
}

/// RSS `sy:updatePeriod` / `sy:updateFrequency` as minutes; feed-rs does not read them.
fn syndication_minutes(doc: &str) -> Option<u32> {
    let period = match element_text(doc, "updatePeriod")?
        .to_ascii_lowercase()
        .as_str()
    {
        "hourly" => 60,
        "daily" => 24 * 60,
        "weekly" => 7 * 24 * 60,
        "monthly" => 30 * 24 * 60,
        "yearly" => 365 * 24 * 60,
        _ => return None,
    };
    let frequency = element_text(doc, "updateFrequency")
        .and_then(|f| f.parse::<u32>().ok())
        .filter(|f| *f > 0)
        .unwrap_or(1);
    Some((period / frequency).max(1))
}

/// Text of the first `<prefix:local>` element, found with a plain string search.
fn element_text<'a>(doc: &'a str, local: &str) -> Option<&'a str> {
    let needle = format!(":{local}>");
    // memmem's vectorized search: the whole document is scanned, and most
    // feeds hold no such element at all.
    memchr::memmem::find_iter(doc.as_bytes(), &needle).find_map(|at| {
        let open = doc[..at].rfind('<')?;
        let prefix = &doc[open + 1..at];
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return None;
        }
        let rest = &doc[at + needle.len()..];
        Some(rest[..rest.find('<')?].trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syndication_period_becomes_minutes() {
        let doc = "<rss><channel><sy:updatePeriod>hourly</sy:updatePeriod>\
                   <sy:updateFrequency>2</sy:updateFrequency></channel></rss>";
        assert_eq!(syndication_minutes(doc), Some(30));
        assert_eq!(
            syndication_minutes("<x:updatePeriod>daily</x:updatePeriod>"),
            Some(1440)
        );
        assert_eq!(syndication_minutes("<rss/>"), None);
    }
}
