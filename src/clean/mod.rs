//! Turning entry drafts into safe, normalized entries.

pub mod facts;
pub mod fingerprint;
pub mod html;
pub mod lang;
pub mod url;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Duration, TimeZone, Utc};
use xxhash_rust::xxh3::{Xxh3, Xxh3Default, xxh3_64};

use crate::config::SourceConfig;
use crate::model::{Entry, EntryDraft, ParsedFeed};

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 300;
/// Largest summary kept, in bytes of HTML.
pub const MAX_SUMMARY_BYTES: usize = 64 * 1024;
/// Markup of a title beyond this many bytes cannot reach the visible 300 characters
/// in any sane feed, and reading it would only cost time.
const MAX_TITLE_INPUT_BYTES: usize = 64 * 1024;
/// Language detection settles within a few sentences; it is the costliest part
/// of cleaning and its cost grows with the text, so only the opening is read.
pub const MAX_DETECT_CHARS: usize = 500;
/// Words taken from the text when an item has no title.
const TITLE_FROM_TEXT_WORDS: usize = 12;
/// Clocks of publishers drift; a day ahead is a time zone bug, further is a lie.
const FUTURE_SLACK_HOURS: i64 = 24;
/// No web feed is older than the web; earlier dates are placeholders like 1970-01-01.
const EARLIEST_YEAR: i32 = 1995;

/// Bytes built to be UTF-8 (by a serializer, or from ASCII and whole strings)
/// as a `String`; should they ever not be, the bad bytes become U+FFFD rather
/// than an error.
fn utf8_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Cleans every draft of `feed`, fetched from `feed_url` for `source`.
pub fn clean(
    source: &SourceConfig,
    feed: &ParsedFeed,
    feed_url: &str,
    strip_params: &[String],
    now: DateTime<Utc>,
) -> Vec<Entry> {
    let ctx = Context::new(source, feed, feed_url, strip_params, now);
    feed.entries.iter().filter_map(|d| ctx.entry(d)).collect()
}

/// What [`clean_unseen`] made of a feed.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// The entries of the drafts not seen before.
    pub entries: Vec<Entry>,
    /// A digest of every draft of the feed, in its order, to pass as `seen`
    /// once these entries are stored.
    pub digests: Vec<u64>,
}

/// Cleans the drafts of `feed` whose digest is not in `seen`, the digests of
/// the last body whose entries were stored. A draft seen there is stored as
/// cleaning would make it again, so upserting it would change nothing; a feed
/// that gained one item costs one item's cleaning. Only the clock differs (a
/// far-future date is clamped to the time it was first cleaned), and a clamped
/// date staying where it was is what a reader wants anyway. A broken feed that
/// lists two items under one key, then drops one of them, keeps the text
/// stored last rather than the one left.
pub fn clean_unseen(
    source: &SourceConfig,
    feed: &ParsedFeed,
    feed_url: &str,
    strip_params: &[String],
    now: DateTime<Utc>,
    seen: &[u64],
) -> Cleaned {
    let ctx = Context::new(source, feed, feed_url, strip_params, now);
    let mut settings = Xxh3::with_seed(settings_seed(source, feed_url, strip_params));
    settings.update(feed.lang.as_deref().unwrap_or("").as_bytes());
    let seed = settings.digest();
    let seen: HashSet<u64> = seen.iter().copied().collect();
    let mut cleaned = Cleaned {
        entries: Vec::new(),
        digests: Vec::with_capacity(feed.entries.len()),
    };
    for draft in &feed.entries {
        let mut hasher = Xxh3::with_seed(seed);
        draft.hash(&mut hasher);
        let digest = hasher.finish();
        cleaned.digests.push(digest);
        if !seen.contains(&digest)
            && let Some(entry) = ctx.entry(draft)
        {
            cleaned.entries.push(entry);
        }
    }
    cleaned
}

/// A digest of what cleaning reads besides the drafts themselves, and of
/// hejnal's version, since a new release may clean differently.
pub fn settings_seed(source: &SourceConfig, feed_url: &str, strip_params: &[String]) -> u64 {
    let mut hasher = Xxh3::new();
    let settings = [
        env!("CARGO_PKG_VERSION"),
        feed_url,
        &source.id,
        source.lang.as_str(),
    ];
    let strip = strip_params.iter().map(String::as_str);
    hash_pieces(
        &mut hasher,
        settings.into_iter().chain(strip).map(str::as_bytes),
    );
    hasher.digest()
}

/// Feeds `pieces` to `hasher`, each followed by a separator, which keeps
/// ("ab", "c") and ("a", "bc") apart.
pub(crate) fn hash_pieces<'a>(hasher: &mut Xxh3, pieces: impl IntoIterator<Item = &'a [u8]>) {
    for piece in pieces {
        hasher.update(piece);
        hasher.update(b"\x1f");
    }
}

impl<'a> Context<'a> {
    fn new(
        source: &'a SourceConfig,
        feed: &'a ParsedFeed,
        feed_url: &str,
        strip_params: &'a [String],
        now: DateTime<Utc>,
    ) -> Context<'a> {
        Context {
            source,
            feed,
            feed_base: ::url::Url::parse(feed_url).ok(),
            strip_params,
            now,
        }
    }
}

struct Context<'a> {
    source: &'a SourceConfig,
    feed: &'a ParsedFeed,
    /// The URL the feed was fetched from, parsed, once for all the entries of the feed.
    feed_base: Option<::url::Url>,
    strip_params: &'a [String],
    now: DateTime<Utc>,
}

impl Context<'_> {
    fn entry(&self, draft: &EntryDraft) -> Option<Entry> {
        let link = non_empty(&draft.link).and_then(|l| url::resolve(l, self.feed_base.as_ref()));
        // Relative URLs inside an item are relative to the item's page, when it has one.
        let item_base = link.as_deref().and_then(|l| ::url::Url::parse(l).ok());
        let base = match link {
            Some(_) => item_base.as_ref(),
            None => self.feed_base.as_ref(),
        };
        let summary = non_empty(&draft.summary)
            .or(non_empty(&draft.content))
            .map(|body| summary_html(body, base))
            .unwrap_or_default();
        let text = html::sanitized_text(&summary);
        let title = non_empty(&draft.title).map(title_text).unwrap_or_default();
        // An item whose text the sanitizer emptied (a picture, an embed, markup
        // alone) was still posted: it is kept, under its source's name.
        let posted = non_empty(&draft.summary)
            .or(non_empty(&draft.content))
            .or(non_empty(&draft.title))
            .or(non_empty(&draft.image));
        if title.is_empty() && link.is_none() && posted.is_none() {
            return None;
        }
        let title = if title.is_empty() {
            title_from_text(&text)
        } else {
            title
        };
        let nameless = title.is_empty();
        let title = if nameless {
            truncate_chars(&self.source.name, MAX_TITLE_CHARS)
        } else {
            title
        };
        let published = self.date(draft.published.or(draft.updated));
        let updated = self.date(draft.updated);
        let guid = non_empty(&draft.guid).map(|g| g.trim().to_string());
        let canonical_link = link
            .as_deref()
            .and_then(|l| url::canonical(l, self.strip_params));
        // Items with nothing of their own to tell them apart are told apart by
        // what was posted; the others keep the key they have always had.
        let posted = posted.filter(|_| nameless);
        let key = entry_key(
            guid.as_deref(),
            link_identity(canonical_link.as_deref(), link.as_deref()).as_deref(),
            &title,
            published,
            posted,
        );
        let detect_text = detection_text(&title, &text);
        let (lang, lang_origin) = lang::resolve(
            &self.source.lang,
            self.feed.lang.as_deref(),
            draft.lang.as_deref(),
            &detect_text,
        );
        Some(Entry {
            source_id: self.source.id.clone(),
            key,
            guid,
            fingerprint: fingerprint::simhash(&title, &text),
            facts: facts::signature(&title, &text),
            content_hash: content_hash(&title, &summary, link.as_deref()),
            image: non_empty(&draft.image).and_then(|i| url::resolve(i, base)),
            authors: authors(&draft.authors),
            categories: categories(&draft.categories),
            link,
            canonical_link,
            title,
            summary,
            published,
            updated,
            lang,
            lang_origin,
        })
    }

    /// Far-future dates are clamped so an item cannot squat the top of the feed;
    /// placeholder dates from before the web are dropped.
    fn date(&self, date: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        let date = date?;
        let earliest = Utc
            .with_ymd_and_hms(EARLIEST_YEAR, 1, 1, 0, 0, 0)
            .single()?;
        if date < earliest {
            None
        } else if date > self.now + Duration::hours(FUTURE_SLACK_HOURS) {
            Some(self.now)
        } else {
            Some(date)
        }
    }
}

/// The opening of the title and text, as detection reads it.
fn detection_text(title: &str, text: &str) -> String {
    let mut out = String::with_capacity(MAX_DETECT_CHARS);
    out.push_str(title);
    out.push(' ');
    // A character is at most four bytes: the rest of a long text is never read.
    out.push_str(truncate_bytes(text, 4 * MAX_DETECT_CHARS));
    if let Some((end, _)) = out.char_indices().nth(MAX_DETECT_CHARS) {
        out.truncate(end);
    }
    out
}

fn non_empty(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|s| !s.trim().is_empty())
}

/// A title is plain text, however much markup the feed put in it.
fn title_text(raw: &str) -> String {
    let text = html::plain_text(truncate_bytes(raw, MAX_TITLE_INPUT_BYTES));
    truncate_chars(&text, MAX_TITLE_CHARS)
}

fn title_from_text(text: &str) -> String {
    let words: Vec<&str> = text.split(' ').take(TITLE_FROM_TEXT_WORDS + 1).collect();
    let title = if words.len() > TITLE_FROM_TEXT_WORDS {
        format!("{}…", words[..TITLE_FROM_TEXT_WORDS].join(" "))
    } else {
        words.join(" ")
    };
    truncate_chars(&title, MAX_TITLE_CHARS)
}

/// Cuts to at most `max` characters, marking the cut with an ellipsis.
fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) => {
            let kept: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{}…", kept.trim_end())
        }
    }
}

fn truncate_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Sanitized HTML; when that is too large, its text alone, cut to size, so that
/// no tag is ever cut in half.
fn summary_html(body: &str, base: Option<&::url::Url>) -> String {
    let clean = html::sanitize(body, base);
    if clean.len() <= MAX_SUMMARY_BYTES {
        return clean;
    }
    let text = html::sanitized_text(&clean);
    let budget = MAX_SUMMARY_BYTES - "<p>…</p>".len();
    let mut out = String::from("<p>");
    for c in text.chars() {
        let piece = html::escape_html(c.encode_utf8(&mut [0; 4]));
        if out.len() + piece.len() > budget {
            out.push('…');
            break;
        }
        out.push_str(&piece);
    }
    out.push_str("</p>");
    out
}

fn entry_key(
    guid: Option<&str>,
    canonical_link: Option<&str>,
    title: &str,
    published: Option<DateTime<Utc>>,
    posted: Option<&str>,
) -> String {
    if let Some(key) = guid.or(canonical_link) {
        return key.to_string();
    }
    let date = published.map(|d| d.to_rfc3339()).unwrap_or_default();
    let posted = posted.unwrap_or_default();
    format!(
        "h:{:016x}",
        xxh3_64(format!("{title}{date}{posted}").as_bytes())
    )
}

/// What names an item without a guid: its canonical link, and the fragment
/// when there is one, since a page's anchors are the posts of blogs that give
/// each post an anchor on one page. Links without a fragment keep the key they
/// always had.
fn link_identity(canonical: Option<&str>, link: Option<&str>) -> Option<String> {
    let canonical = canonical?;
    let fragment = link
        .and_then(|l| l.split_once('#'))
        .map(|(_, f)| f)
        .filter(|f| !f.is_empty());
    Some(match fragment {
        Some(fragment) => format!("{canonical}#{fragment}"),
        None => canonical.to_string(),
    })
}

fn content_hash(title: &str, summary: &str, link: Option<&str>) -> u64 {
    // Hashed piece by piece: the same value as hashing the joined string, without
    // copying the summary. Separators keep ("ab", "c") and ("a", "bc") apart.
    let mut hasher = Xxh3Default::new();
    for piece in [title, "\u{1f}", summary, "\u{1f}", link.unwrap_or("")] {
        hasher.update(piece.as_bytes());
    }
    hasher.digest()
}

fn authors(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in raw.iter().map(|a| title_text(a)) {
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Categories kept of one item at most: a feed that tags an item with
/// hundreds of words is spamming, and its first few say enough.
const MAX_CATEGORIES: usize = 16;
/// Longest category kept, in characters.
const MAX_CATEGORY_CHARS: usize = 60;

/// An item's categories as plain text, trimmed, each once whatever its case.
pub fn categories(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in raw.iter().map(|c| title_text(c)) {
        let name: String = name.chars().take(MAX_CATEGORY_CHARS).collect();
        let name = name.trim();
        if !name.is_empty() && !out.iter().any(|c| same_category(c, name)) {
            out.push(name.to_string());
        }
        if out.len() == MAX_CATEGORIES {
            break;
        }
    }
    out
}

/// Two spellings of one category: the same words, whatever their case.
pub fn same_category(a: &str, b: &str) -> bool {
    fold_category(a) == fold_category(b)
}

/// A category as categories are compared: lower case, single spaces.
pub fn fold_category(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_trimmed_plain_text_each_once() {
        let raw = [
            " Transport ".to_string(),
            "transport".to_string(),
            "<b>Kultura</b> &amp; sztuka".to_string(),
            "   ".to_string(),
            "TRANSPORT  ".to_string(),
        ];
        assert_eq!(categories(&raw), ["Transport", "Kultura & sztuka"]);
        let many: Vec<String> = (0..100).map(|n| format!("tag {n}")).collect();
        assert_eq!(categories(&many).len(), MAX_CATEGORIES);
    }

    /// Stored entries keep their content hash across versions; a new hash for the
    /// same content would make every stored entry look changed after an upgrade.
    #[test]
    fn content_hash_is_the_hash_of_the_joined_fields() {
        let (title, summary, link) = ("Hejnał", "<p>Gra co godzinę</p>", "https://krakow.pl/h");
        assert_eq!(
            content_hash(title, summary, Some(link)),
            xxh3_64(format!("{title}\u{1f}{summary}\u{1f}{link}").as_bytes())
        );
        assert_eq!(
            content_hash(title, summary, None),
            xxh3_64(format!("{title}\u{1f}{summary}\u{1f}").as_bytes())
        );
    }

    #[test]
    fn detection_reads_the_opening_of_title_and_text() {
        let text = "ż".repeat(2 * MAX_DETECT_CHARS);
        let read = detection_text("Kraków", &text);
        assert_eq!(read.chars().count(), MAX_DETECT_CHARS);
        assert!(read.starts_with("Kraków żż"), "{read}");
        assert_eq!(detection_text("Kraków", "dziś"), "Kraków dziś");
    }
}
