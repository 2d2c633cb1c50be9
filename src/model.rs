//! Plain data that flows between the stages. No I/O, no behaviour beyond small
//! conveniences: every stage takes these in and hands these out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An ISO 639-1 language code, always two lower-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Lang(String);

impl Lang {
    /// Accepts "pl", "PL", "pl-PL", "en_GB" and keeps the primary subtag.
    pub fn parse(raw: &str) -> Option<Lang> {
        let primary = raw.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        if primary.len() == 2 && primary.bytes().all(|b| b.is_ascii_lowercase()) {
            Some(Lang(primary))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Lang {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Lang::parse(&value).ok_or_else(|| format!("{value:?} is not an ISO 639-1 language code"))
    }
}

impl From<Lang> for String {
    fn from(value: Lang) -> Self {
        value.0
    }
}

/// Where an entry's language came from; later sources of truth override earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LangOrigin {
    Declared,
    Feed,
    Detected,
}

impl LangOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LangOrigin::Declared => "declared",
            LangOrigin::Feed => "feed",
            LangOrigin::Detected => "detected",
        }
    }

    pub fn from_str_lossy(raw: &str) -> LangOrigin {
        match raw {
            "feed" => LangOrigin::Feed,
            "detected" => LangOrigin::Detected,
            _ => LangOrigin::Declared,
        }
    }
}

/// One item as the parser saw it: raw strings, nothing cleaned or resolved yet.
/// Hashed whole to recognise an item already cleaned and stored.
#[derive(Debug, Clone, Default, PartialEq, Hash)]
pub struct EntryDraft {
    pub guid: Option<String>,
    pub link: Option<String>,
    pub title: Option<String>,
    /// HTML (or text) of the summary/description.
    pub summary: Option<String>,
    /// HTML of the full content, when the feed carries it.
    pub content: Option<String>,
    pub authors: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// Language declared on the item itself (xml:lang, JSON Feed `language`).
    pub lang: Option<String>,
    /// First enclosure or image URL, used to pair translations of one article.
    pub image: Option<String>,
    /// The item's categories (RSS `<category>`, Atom `category`, JSON Feed `tags`).
    pub categories: Vec<String>,
}

/// What the parser made of a whole document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    /// The feed's own web page, for autodiscovered names and relative links.
    pub home: Option<String>,
    /// Language declared by the feed (`<language>`, `xml:lang`, JSON Feed `language`).
    pub lang: Option<String>,
    /// Minutes the publisher asks readers to wait between polls (RSS `<ttl>`, `sy:*`).
    pub ttl_minutes: Option<u32>,
    pub format: FeedFormat,
    pub entries: Vec<EntryDraft>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    #[default]
    Rss2,
    Rss1,
    Rss0,
    Atom,
    Json,
}

impl FeedFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Rss2 => "RSS 2.0",
            FeedFormat::Rss1 => "RSS 1.0",
            FeedFormat::Rss0 => "RSS 0.9x",
            FeedFormat::Atom => "Atom",
            FeedFormat::Json => "JSON Feed",
        }
    }
}

/// One item of one source after cleaning: safe to store and to republish.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub source_id: String,
    /// Identity within the source: guid, else canonical link, else a hash of title + date.
    pub key: String,
    pub guid: Option<String>,
    /// Absolute link as the source gave it.
    pub link: Option<String>,
    /// Canonical form of `link` (see `clean::url::canonical`), used to join stories.
    pub canonical_link: Option<String>,
    /// Plain text, never HTML.
    pub title: String,
    /// Sanitized HTML with absolute URLs.
    pub summary: String,
    pub authors: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub lang: Lang,
    pub lang_origin: LangOrigin,
    pub image: Option<String>,
    /// SimHash of the normalized body (with the title when the body is short).
    pub fingerprint: u64,
    /// The facts its title and text state, signed (`clean::facts::signature`):
    /// what grouping compares before reading a text.
    pub facts: u64,
    /// Hash of everything a reader sees; a change means the entry was updated.
    pub content_hash: u64,
    /// The item's own categories: trimmed, each once whatever its case.
    pub categories: Vec<String>,
}

/// The store's unit tests place entries known by a guid and a link.
#[cfg(test)]
impl Entry {
    pub(crate) fn for_test(source: &str, guid: &str, link: &str, title: &str) -> Entry {
        Entry {
            source_id: source.to_string(),
            key: guid.to_string(),
            guid: Some(guid.to_string()),
            link: Some(link.to_string()),
            canonical_link: Some(link.to_string()),
            title: title.to_string(),
            summary: format!("<p>{title}</p>"),
            authors: Vec::new(),
            published: None,
            updated: None,
            lang: Lang::parse("pl").unwrap_or_else(|| panic!("pl is a language")),
            lang_origin: LangOrigin::Feed,
            image: None,
            fingerprint: 0,
            facts: 0,
            content_hash: 1,
            categories: Vec::new(),
        }
    }
}

/// An entry as the store knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    pub id: i64,
    pub story_id: i64,
    pub first_seen: DateTime<Utc>,
    pub entry: Entry,
}

/// What a subscriber sees once: one or more entries telling the same news.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    pub id: i64,
    /// The published guid: fixed when the story is born, never changed.
    pub guid: String,
    /// When the story first appeared (the lead entry's date, or when it was first seen).
    pub published: DateTime<Utc>,
    /// Moves when any member entry changes.
    pub updated: DateTime<Utc>,
    /// Lead entry first (the earliest native one), then the others.
    pub entries: Vec<StoredEntry>,
    /// Translations known for this story, one per language at most: an
    /// editor's where there is one, else the machine's.
    pub translations: Vec<Variant>,
}

/// A story's text in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub lang: Lang,
    pub title: String,
    /// Sanitized HTML.
    pub summary: String,
    pub link: Option<String>,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Provenance {
    /// Written in this language by the source.
    Native { source_id: String },
    /// Machine-translated from another language by a named engine.
    Machine {
        engine: String,
        from: Lang,
        original_link: Option<String>,
    },
    /// Translated from another language by an editor (`hejnal correct`), in
    /// place of the machine translation.
    Edited {
        from: Lang,
        original_link: Option<String>,
    },
}

/// A source's fetch state as remembered between cycles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_ok: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_due: Option<DateTime<Utc>>,
    /// Where a permanent redirect (301/308) said the feed now lives.
    pub moved_to: Option<String>,
    /// The configured URL that redirect applies to: editing feeds.toml forgets it.
    pub moved_from: Option<String>,
    /// 410 Gone: not fetched again until the configured URL changes.
    pub gone_url: Option<String>,
    /// A digest of the settings that shaped the stored entries (the source in
    /// feeds.toml, the item limit, `strip_params`, hejnal's version): when it
    /// changes, the next fetch sends no validators, so a corrected `lang`
    /// is not answered with a 304 and the entries are read anew.
    pub settings_digest: Option<u64>,
    /// A digest of the last body whose entries were stored: a server that
    /// ignores validators sends the same bytes again, and they are not parsed
    /// again.
    pub body_digest: Option<u64>,
    /// A digest of each item of that body, with what shaped its entry: when a
    /// feed changes by one item, the others are not cleaned again.
    pub item_digests: Vec<u64>,
    /// How long that body asked readers to wait between polls (RSS `<ttl>`,
    /// `sy:updatePeriod`), in minutes: a 304 or the same body again says
    /// nothing new about it, so it holds until a new body says otherwise.
    pub ttl_minutes: Option<u32>,
}
