//! What one published feed shows, independent of its format: every format
//! renders the same titles, links, dates and bodies from these values.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use url::Url;

use super::PublishError;
use super::body::{self, Section};
use super::escape::{title_safe, xml_safe};
use super::ids;
use super::text::{Prepared, Texts};
use crate::bilingual::variants::{
    best_native, native_heading, native_variant, title_in, variant, variants,
};
use crate::config::Config;
use crate::model::{Lang, Provenance, StoredEntry, Story, Variant};

/// The writers take everything they show from here; a source's card is built
/// with the item bodies, which list the other sources too.
pub(crate) use super::body::SourceRef;

/// One feed file set: the combined feed or the feed of one language.
pub(crate) struct FeedView {
    pub title: String,
    pub description: String,
    /// The publisher's home, always ending in '/'.
    pub home: Url,
    pub lang: Lang,
    /// Folder of this feed under the output folder: "" or "pl/".
    pub folder: String,
    pub updated: DateTime<Utc>,
    pub items: Vec<ItemView>,
}

impl FeedView {
    /// Path of one of this feed's files, relative to the output folder.
    pub fn path(&self, file: &str) -> String {
        format!("{}{file}", self.folder)
    }

    /// Bytes to reserve for one document of this feed, so that writing it
    /// does not move what is written already: twice the bodies, for escaping,
    /// and a few kilobytes an item for the rest. Room never written to costs
    /// next to nothing.
    pub fn room(&self) -> usize {
        let item = |i: &ItemView| 2 * i.body_json.len().max(i.body_xhtml.len()) + 4096;
        self.items.iter().map(item).sum::<usize>() + 4096
    }

    /// Absolute URL of one of this feed's files.
    pub fn url(&self, file: &str) -> String {
        join(&self.home, &self.path(file))
    }

    /// Absolute URL of a file at the top of the output folder.
    pub fn home_url(&self, file: &str) -> String {
        join(&self.home, file)
    }
}

/// One story as one feed shows it.
pub(crate) struct ItemView {
    pub guid: String,
    pub title: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
    pub lang: Lang,
    pub body_html: String,
    /// The same body as XHTML, for Atom.
    pub body_xhtml: String,
    /// The HTML body escaped as the contents of a JSON string.
    pub body_json: String,
    /// The source whose text the item shows first: author, `<source>`, city.
    pub author: Arc<SourceRef>,
    /// The texts shown in the body, in body order.
    pub variants: Vec<Shown>,
    /// Every source that told the story, lead first, each once.
    pub sources: Vec<Arc<SourceRef>>,
    pub dates: Arc<Dates>,
}

/// A story's dates as the feeds write them, formatted once per render
/// rather than once per feed and format.
pub(crate) struct Dates {
    pub published_rfc3339: String,
    pub updated_rfc3339: String,
    /// For RSS.
    pub published_rfc2822: String,
}

impl Dates {
    fn of(story: &Story) -> Dates {
        Dates {
            published_rfc3339: story.published.to_rfc3339(),
            updated_rfc3339: story.updated.to_rfc3339(),
            published_rfc2822: story.published.to_rfc2822(),
        }
    }
}

/// One text of an item.
pub(crate) struct Shown {
    /// The text's language, title, link and provenance; its summary is
    /// moved into `text`.
    pub variant: Variant,
    /// The summary, sanitized.
    pub text: Arc<Prepared>,
}

impl Shown {
    fn new(mut variant: Variant, told: &Told, texts: &mut Texts) -> Shown {
        let text = told.prepare(std::mem::take(&mut variant.summary), texts);
        variant.title = xml_safe(&variant.title);
        Shown { variant, text }
    }
}

/// The publisher's base URL as a folder, so that joining "feed.xml" stays under it.
pub(crate) fn base_url(config: &Config) -> Result<Url, PublishError> {
    let raw = config.publisher.base_url.get_ref();
    let mut url = Url::parse(raw).map_err(|e| PublishError::BaseUrl {
        url: raw.clone(),
        reason: e.to_string(),
    })?;
    if url.cannot_be_a_base() {
        return Err(PublishError::BaseUrl {
            url: raw.clone(),
            reason: "it cannot hold paths".to_string(),
        });
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The newest `max` stories, newest first; ties broken by guid so that the
/// order never depends on how the store happened to list them.
pub(crate) fn newest(stories: &[Story], max: usize) -> Vec<&Story> {
    let mut chosen: Vec<&Story> = stories
        .iter()
        .filter(|story| {
            let has_entries = !story.entries.is_empty();
            if !has_entries {
                tracing::warn!(guid = %story.guid, "story without entries is not published");
            }
            has_entries
        })
        .collect();
    chosen.sort_by(|a, b| {
        b.published
            .cmp(&a.published)
            .then_with(|| a.guid.cmp(&b.guid))
    });
    chosen.truncate(max);
    chosen
}

/// A story with the sources of its entries resolved once for all the feeds
/// of a render.
pub(crate) struct Told<'a> {
    story: &'a Story,
    /// One for each entry, in the story's order; shared, not copied, by the
    /// items of every feed that shows the story.
    sources: Vec<Arc<SourceRef>>,
    /// The links of the story's texts made absolute so far: each feed shows
    /// the same texts, and parsing a URL costs more than looking it up.
    links: RefCell<Vec<Resolved>>,
    /// The story's summaries prepared so far: each feed shows the same texts,
    /// and comparing a summary costs a fraction of hashing it for `Texts`.
    prepared: RefCell<Vec<(String, Arc<Prepared>)>>,
    dates: Arc<Dates>,
}

/// A link as written, the base it was resolved against, and the result.
struct Resolved {
    link: String,
    base: Option<String>,
    absolute: Option<String>,
}

impl Told<'_> {
    /// `summary` prepared, looked up in `texts` once per story and render.
    fn prepare(&self, summary: String, texts: &mut Texts) -> Arc<Prepared> {
        let mut prepared = self.prepared.borrow_mut();
        if let Some((_, done)) = prepared.iter().find(|(s, _)| *s == summary) {
            return Arc::clone(done);
        }
        let done = texts.prepare(&summary);
        prepared.push((summary, Arc::clone(&done)));
        done
    }

    /// `absolute(link, base)`, computed once per story and render.
    fn absolute(&self, link: &str, base: Option<&str>) -> Option<String> {
        let mut links = self.links.borrow_mut();
        if let Some(done) = links
            .iter()
            .find(|r| r.link == link && r.base.as_deref() == base)
        {
            return done.absolute.clone();
        }
        let resolved = absolute(link, base);
        links.push(Resolved {
            link: link.to_string(),
            base: base.map(str::to_string),
            absolute: resolved.clone(),
        });
        resolved
    }

    fn absolute_variant(&self, mut v: Variant, base: Option<&str>) -> Variant {
        v.link = v.link.as_deref().and_then(|l| self.absolute(l, base));
        if let Provenance::Machine { original_link, .. }
        | Provenance::Edited { original_link, .. } = &mut v.provenance
        {
            *original_link = original_link
                .as_deref()
                .and_then(|l| self.absolute(l, base));
        }
        v
    }
}

/// A source's own feed and site, as every entry from it shows them.
type SourceUrls = (Option<String>, Option<String>);

/// `stories` with their sources resolved, each source's URLs parsed once.
pub(crate) fn told<'a>(config: &Config, stories: &[&'a Story]) -> Vec<Told<'a>> {
    let mut urls: HashMap<&str, SourceUrls> = HashMap::new();
    stories
        .iter()
        .map(|story| Told {
            story,
            sources: story
                .entries
                .iter()
                .map(|stored| Arc::new(source_ref(config, stored, &mut urls)))
                .collect(),
            links: RefCell::new(Vec::new()),
            prepared: RefCell::new(Vec::new()),
            dates: Arc::new(Dates::of(story)),
        })
        .collect()
}

/// The feed with every output language side by side in each item.
pub(crate) fn combined(
    config: &Config,
    home: &Url,
    stories: &[Told],
    ui: &Lang,
    texts: &mut Texts,
) -> FeedView {
    FeedView {
        title: xml_safe(&config.publisher.title),
        description: description(config),
        home: home.clone(),
        lang: ui.clone(),
        folder: String::new(),
        updated: last_update(stories),
        items: stories
            .iter()
            .filter_map(|told| combined_item(config, told, ui, texts))
            .collect(),
    }
}

/// The feed of one language: each story once, in that language when it has it,
/// else in its original language, so that no story is left out.
pub(crate) fn single(
    config: &Config,
    home: &Url,
    stories: &[Told],
    lang: &Lang,
    texts: &mut Texts,
) -> FeedView {
    FeedView {
        title: xml_safe(&format!(
            "{} ({})",
            config.publisher.title,
            lang.as_str().to_ascii_uppercase()
        )),
        description: description(config),
        home: home.clone(),
        lang: lang.clone(),
        folder: format!("{lang}/"),
        updated: last_update(stories),
        items: stories
            .iter()
            .filter_map(|told| single_item(told, lang, texts))
            .collect(),
    }
}

fn combined_item(config: &Config, told: &Told, ui: &Lang, texts: &mut Texts) -> Option<ItemView> {
    let story = told.story;
    let lead = best_native(story)?;
    let present: Vec<Variant> = variants(story, &config.publisher.languages)
        .into_iter()
        .filter_map(|(_, v)| v)
        .collect();
    let primary = present
        .first()
        .map(heading)
        .unwrap_or_else(|| native_heading(lead));
    let choice = Choice {
        title: format_title(&config.publisher.title_format, story, lead),
        primary,
        shown: body_order(present, lead),
        ui,
        missing: None,
        feed_lang: None,
    };
    item(told, choice, texts)
}

fn single_item(told: &Told, lang: &Lang, texts: &mut Texts) -> Option<ItemView> {
    let story = told.story;
    let lead = best_native(story)?;
    let (shown, missing) = match variant(story, lang) {
        Some(v) => (v, None),
        None => (native_variant(lead), Some(lang)),
    };
    let choice = Choice {
        title: shown.title.clone(),
        primary: heading(&shown),
        shown: vec![shown],
        ui: lang,
        missing,
        feed_lang: Some(lang),
    };
    item(told, choice, texts)
}

/// `v` without its summary, as [`native_heading`] is an entry's: the text an
/// item takes its language and link from needs no summary.
fn heading(v: &Variant) -> Variant {
    Variant {
        lang: v.lang.clone(),
        title: v.title.clone(),
        summary: String::new(),
        link: v.link.clone(),
        provenance: v.provenance.clone(),
    }
}

/// Native texts first, then machine translations; a story whose original
/// language is not an output language keeps its original text too.
fn body_order(present: Vec<Variant>, lead: &StoredEntry) -> Vec<Variant> {
    let (mut shown, machine): (Vec<Variant>, Vec<Variant>) = present
        .into_iter()
        .partition(|v| matches!(v.provenance, Provenance::Native { .. }));
    if shown.is_empty() {
        shown.push(native_variant(lead));
    }
    shown.extend(machine);
    shown
}

/// What one feed shows of a story.
struct Choice<'a> {
    title: String,
    /// The text whose language and link the item takes, without its summary.
    primary: Variant,
    /// The texts of the body, in order.
    shown: Vec<Variant>,
    /// The language of the feed's own words ("Also reported by", …).
    ui: &'a Lang,
    /// The feed's language, when the story has no text in it.
    missing: Option<&'a Lang>,
    /// The language of a single-language feed; none for the combined one.
    feed_lang: Option<&'a Lang>,
}

fn item(told: &Told, choice: Choice, texts: &mut Texts) -> Option<ItemView> {
    let story = told.story;
    let Choice {
        title,
        primary,
        shown,
        ui,
        missing,
        feed_lang,
    } = choice;
    let sources = story_sources(told);
    // The lead entry comes first.
    let original = told.sources.first()?.link.clone();
    let teller = Arc::clone(told.sources.get(teller(story, &primary))?);
    let base = teller.feed_url.as_deref();
    let shown: Vec<Shown> = shown
        .into_iter()
        .map(|v| Shown::new(told.absolute_variant(v, base), told, texts))
        .collect();
    // The shown texts' links are absolute already.
    let link = primary
        .link
        .as_deref()
        .and_then(|l| told.absolute(l, base))
        .or_else(|| shown.iter().find_map(|s| s.variant.link.clone()))
        .or_else(|| teller.link.clone());
    let sections: Vec<Section> = shown
        .iter()
        .map(|s| Section {
            variant: &s.variant,
            text: &s.text,
            original_link: original.as_deref(),
        })
        .collect();
    let others: Vec<&SourceRef> = sources
        .iter()
        .filter(|s| s.id != teller.id)
        .map(Arc::as_ref)
        .collect();
    let body = body::render(&sections, &others, ui, missing, texts.html_only());
    Some(ItemView {
        guid: xml_safe(&ids::item_id(&story.guid, feed_lang)),
        title: title_safe(&title),
        link,
        published: story.published,
        lang: primary.lang.clone(),
        body_html: body.html,
        body_xhtml: body.xhtml,
        body_json: body.json,
        author: teller,
        variants: shown,
        sources,
        dates: Arc::clone(&told.dates),
    })
}

/// The index of the entry whose source speaks for the item: the one that
/// wrote the primary text, or the lead (the first) when that text is a
/// machine translation.
fn teller(story: &Story, primary: &Variant) -> usize {
    match &primary.provenance {
        Provenance::Native { source_id } => story
            .entries
            .iter()
            .position(|s| &s.entry.source_id == source_id && s.entry.lang == primary.lang)
            .unwrap_or(0),
        Provenance::Machine { .. } | Provenance::Edited { .. } => 0,
    }
}

/// The title of a combined item: `{xx}` stands for the title in language xx.
/// A placeholder with no text is dropped together with the separator before
/// it, so a single-language story shows just its own title.
pub(crate) fn format_title(format: &str, story: &Story, lead: &StoredEntry) -> String {
    let (prefix, parts) = split_format(format);
    let mut out = String::new();
    let mut any = false;
    for (lang, separator) in &parts {
        if let Some(title) = title_in(story, lang) {
            if any {
                out.push_str(separator);
            }
            out.push_str(title);
            any = true;
        }
    }
    if !any {
        out.push_str(&lead.entry.title);
    }
    let suffix = parts.last().map(|_| trailing(format)).unwrap_or_default();
    format!("{prefix}{out}{suffix}")
}

/// Splits "a{pl}b{en}c" into the prefix "a" and [(pl, ""), (en, "b")]: each
/// placeholder with the text that separates it from the previous one.
fn split_format(format: &str) -> (String, Vec<(Lang, String)>) {
    let mut prefix = None;
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = format;
    while let Some((lang, before, after)) = next_placeholder(rest) {
        literal.push_str(before);
        let separator = std::mem::take(&mut literal);
        if prefix.is_none() {
            prefix = Some(separator);
            parts.push((lang, String::new()));
        } else {
            parts.push((lang, separator));
        }
        rest = after;
    }
    (prefix.unwrap_or_else(|| format.to_string()), parts)
}

/// The literal text after the last placeholder.
fn trailing(format: &str) -> String {
    let mut rest = format;
    while let Some((_, _, after)) = next_placeholder(rest) {
        rest = after;
    }
    rest.to_string()
}

/// The first `{xx}` in `text`: its language, the text before it and after it.
fn next_placeholder(text: &str) -> Option<(Lang, &str, &str)> {
    let mut from = 0;
    while let Some(open) = text[from..].find('{').map(|i| i + from) {
        let candidate = text.get(open + 1..open + 4);
        if let Some(inner) = candidate.and_then(|c| c.strip_suffix('}'))
            && inner.bytes().all(|b| b.is_ascii_lowercase())
            && let Some(lang) = Lang::parse(inner)
        {
            return Some((lang, &text[..open], &text[open + 4..]));
        }
        from = open + 1;
    }
    None
}

/// Every source of the story, lead first, each source once.
fn story_sources(told: &Told) -> Vec<Arc<SourceRef>> {
    let mut out: Vec<Arc<SourceRef>> = Vec::new();
    for source in &told.sources {
        if out.iter().all(|s| s.id != source.id) {
            out.push(Arc::clone(source));
        }
    }
    out
}

fn source_ref<'c>(
    config: &'c Config,
    stored: &StoredEntry,
    urls: &mut HashMap<&'c str, SourceUrls>,
) -> SourceRef {
    let entry = &stored.entry;
    let known = config.source(&entry.source_id);
    // A source removed from feeds.toml still has stories in the store; it is
    // shown by its id rather than hidden.
    let (feed_url, site) = match known {
        Some(source) => urls
            .entry(source.url.as_str())
            .or_insert_with(|| source_urls(&source.url))
            .clone(),
        None => (None, None),
    };
    SourceRef {
        id: entry.source_id.clone(),
        name: xml_safe(known.map_or(&entry.source_id, |s| &s.name)),
        city: xml_safe(known.map_or("", |s| s.city.as_str())),
        link: entry
            .link
            .as_deref()
            .and_then(|l| absolute(l, feed_url.as_deref())),
        site,
        feed_url,
        lang: entry.lang.clone(),
    }
}

/// A source's feed URL as configured, made absolute, and its site: as
/// `absolute(url, None)` and `site_of` it, from one parse of the URL.
fn source_urls(url: &str) -> SourceUrls {
    let Some(mut url) = Url::parse(url.trim())
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
    else {
        return (None, None);
    };
    let feed_url = url.to_string();
    (Some(feed_url), Some(site_from(&mut url)))
}

/// An absolute http(s) link, resolving a relative one against `base`; any
/// other scheme (javascript:, data:, …) is no link at all.
pub(crate) fn absolute(link: &str, base: Option<&str>) -> Option<String> {
    let link = link.trim();
    let url = match Url::parse(link) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => Url::parse(base?).ok()?.join(link).ok()?,
        Err(_) => return None,
    };
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// The root of a URL's host: the best guess of a site from its feed's address.
pub(crate) fn site_of(feed_url: &str) -> Option<String> {
    let mut url = Url::parse(feed_url).ok()?;
    Some(site_from(&mut url))
}

fn site_from(url: &mut Url) -> String {
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

fn join(home: &Url, path: &str) -> String {
    home.join(path)
        .map(String::from)
        .unwrap_or_else(|_| format!("{home}{path}"))
}

fn last_update(stories: &[Told]) -> DateTime<Utc> {
    stories
        .iter()
        .map(|s| s.story.updated)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn description(config: &Config) -> String {
    let p = &config.publisher;
    if p.description.trim().is_empty() {
        xml_safe(&p.title)
    } else {
        xml_safe(&p.description)
    }
}
