//! Native language pairs: a source that publishes the same news as another
//! source in another language (`pair = "…"` in feeds.toml).
//!
//! After grouping, an entry of a paired source whose story lacks the other
//! language is matched with an entry of the other source: the same link once
//! the language marker is taken out, the same distinctive image, or (when an
//! engine has translated one of them) titles sharing most words within 48 hours.
//! The two stories then become one, and the story never needs a machine
//! translation.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use url::Url;

use crate::clean::fingerprint::normalize;
use crate::config::Config;
use crate::model::{Lang, StoredEntry};
use crate::store::{Store, StoreError};

/// Image and title matches must be published this close together.
pub const CLOSE_HOURS: i64 = 48;
/// Share of words (Dice coefficient) a machine-translated title must have in
/// common with the other language's title.
pub const MIN_TITLE_DICE: f64 = 0.7;
/// Short titles must still share this many words.
pub const MIN_SHARED_TITLE_WORDS: usize = 3;

/// Why two entries were taken for one article in two languages, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Link,
    Image,
    Title,
}

/// What matching needs to know of one entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub lang: Lang,
    pub link: Option<String>,
    pub image: Option<String>,
    pub title: String,
    /// The title machine-translated into the other side's language, if an engine made one.
    pub machine_title: Option<String>,
    pub dated: DateTime<Utc>,
    /// Whether the entry's story lacks the other language and may still be paired.
    pub open: bool,
}

/// A matched pair: index into `left`, index into `right`, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub left: usize,
    pub right: usize,
    pub reason: Reason,
}

/// One-to-one matches between the entries of two paired sources, strongest
/// reason first, then closest in time. Closed entries take no part in a
/// match but still count when judging whether an image is distinctive.
pub fn find_pairs(left: &[Side], right: &[Side]) -> Vec<Match> {
    let left_images = image_uses(left);
    let right_images = image_uses(right);
    let mut candidates = Vec::new();
    for (l, a) in left.iter().enumerate().filter(|(_, s)| s.open) {
        for (r, b) in right.iter().enumerate().filter(|(_, s)| s.open) {
            if a.lang == b.lang {
                continue;
            }
            let distinctive = |img: &str| {
                left_images.get(img).copied().unwrap_or(0) == 1
                    && right_images.get(img).copied().unwrap_or(0) == 1
            };
            if let Some(reason) = reason(a, b, distinctive) {
                let apart = (a.dated - b.dated).abs();
                candidates.push((reason, apart, l, r));
            }
        }
    }
    candidates.sort();
    let mut used_left = BTreeSet::new();
    let mut used_right = BTreeSet::new();
    let mut out = Vec::new();
    for (reason, _, l, r) in candidates {
        if used_left.contains(&l) || used_right.contains(&r) {
            continue;
        }
        used_left.insert(l);
        used_right.insert(r);
        out.push(Match {
            left: l,
            right: r,
            reason,
        });
    }
    out
}

fn reason(a: &Side, b: &Side, distinctive: impl Fn(&str) -> bool) -> Option<Reason> {
    if let (Some(x), Some(y)) = (&a.link, &b.link)
        && same_article_link(x, &a.lang, y, &b.lang)
    {
        return Some(Reason::Link);
    }
    let close = (a.dated - b.dated).abs() <= TimeDelta::hours(CLOSE_HOURS);
    if !close {
        return None;
    }
    if let (Some(x), Some(y)) = (image_key(a), image_key(b))
        && x == y
        && distinctive(&x)
    {
        return Some(Reason::Image);
    }
    if titles_match(a, b) || titles_match(b, a) {
        return Some(Reason::Title);
    }
    None
}

/// Whether `a`'s title, machine-translated into `b`'s language, says what
/// `b`'s title says: most of their words shared, and the same numbers. A
/// SimHash of a headline alone is too coarse for this: one word in eight
/// changed moves it 15 to 20 bits, as far as unrelated headlines of one topic.
fn titles_match(a: &Side, b: &Side) -> bool {
    let Some(translated) = &a.machine_title else {
        return false;
    };
    let x = words(translated);
    let y = words(&b.title);
    let numbers = |w: &BTreeSet<String>| -> BTreeSet<String> {
        w.iter()
            .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
            .cloned()
            .collect()
    };
    if numbers(&x) != numbers(&y) {
        return false;
    }
    let shared = x.intersection(&y).count();
    let dice = 2.0 * shared as f64 / (x.len() + y.len()).max(1) as f64;
    shared >= MIN_SHARED_TITLE_WORDS && dice >= MIN_TITLE_DICE
}

fn words(title: &str) -> BTreeSet<String> {
    normalize(title)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// How many entries of one source show each image: a picture used for a whole
/// series (a column's logo, a default photo) names no single article.
fn image_uses(sides: &[Side]) -> HashMap<String, usize> {
    let mut uses = HashMap::new();
    for key in sides.iter().filter_map(image_key) {
        *uses.entry(key).or_default() += 1;
    }
    uses
}

/// An image compared without scheme, `www.` or fragment.
fn image_key(side: &Side) -> Option<String> {
    let url = Url::parse(side.image.as_deref()?.trim()).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{host}{}{query}", url.path()))
}

/// Whether two links name one article in two languages: equal once each
/// loses the marker of its own language (`/pl/`, `/en-GB/`, `?lang=pl`,
/// `pl.` subdomain), with at least one marker found. Links equal without any
/// marker are the same page, which grouping has joined already.
pub fn same_article_link(a: &str, a_lang: &Lang, b: &str, b_lang: &Lang) -> bool {
    match (neutral(a, a_lang), neutral(b, b_lang)) {
        (Some((x, marked_x)), Some((y, marked_y))) => x == y && (marked_x || marked_y),
        _ => false,
    }
}

/// The link without its language marker, and whether it had one.
fn neutral(link: &str, lang: &Lang) -> Option<(String, bool)> {
    let url = Url::parse(link.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let mut marked = false;
    let host = url.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let host = match host.split_once('.') {
        Some((first, rest)) if is_marker(first, lang) && rest.contains('.') => {
            marked = true;
            rest.to_string()
        }
        _ => host,
    };
    let mut segments = Vec::new();
    for segment in url.path().split('/').filter(|s| !s.is_empty()) {
        if is_marker(segment, lang) {
            marked = true;
        } else {
            segments.push(segment.to_string());
        }
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in url.query_pairs() {
        if is_language_param(&name) && is_marker(&value, lang) {
            marked = true;
        } else {
            params.push((name.into_owned(), value.into_owned()));
        }
    }
    params.sort();
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Some((
        format!("{host}/{}?{}", segments.join("/"), query.join("&")),
        marked,
    ))
}

fn is_language_param(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "lang" | "language" | "hl" | "locale" | "lng"
    )
}

/// "pl", "PL", "pl-PL", "pl_pl" mark Polish; "en-GB", "en-us" English.
fn is_marker(text: &str, lang: &Lang) -> bool {
    let text = text.to_ascii_lowercase();
    let code = lang.as_str();
    text == code
        || text
            .strip_prefix(code)
            .and_then(|rest| rest.strip_prefix(['-', '_']))
            .is_some_and(|region| {
                region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic())
            })
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairReport {
    pub merged: usize,
}

/// Merges the stories of paired sources' entries that tell one article in two
/// languages. Runs after grouping and before translation and publishing, so
/// pairs found within one cycle are published as one story from the start.
pub fn pair(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<PairReport, StoreError> {
    let mut report = PairReport::default();
    let window =
        TimeDelta::try_days(i64::from(config.dedupe.window_days)).unwrap_or(TimeDelta::MAX);
    let since = now
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    for (a, b) in paired_sources(config) {
        report.merged += pair_sources(store, &a, &b, since, now)?;
    }
    if report.merged > 0 {
        tracing::info!(merged = report.merged, "stories of paired sources merged");
    }
    Ok(report)
}

/// Every declared pair once, whichever side declared it.
fn paired_sources(config: &Config) -> BTreeSet<(String, String)> {
    config
        .enabled_sources()
        .filter_map(|s| {
            let other = s.pair.as_ref()?;
            let (x, y) = if s.id <= *other {
                (s.id.clone(), other.clone())
            } else {
                (other.clone(), s.id.clone())
            };
            (x != y).then_some((x, y))
        })
        .collect()
}

fn pair_sources(
    store: &mut Store,
    a: &str,
    b: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let left = store.recent_grouped_entries(a, since)?;
    let right = store.recent_grouped_entries(b, since)?;
    let left_sides = sides(store, &left, &right)?;
    let right_sides = sides(store, &right, &left)?;
    // Story ids move as stories merge; this map follows them.
    let mut moved: HashMap<i64, i64> = HashMap::new();
    let mut merged = 0;
    for m in find_pairs(&left_sides, &right_sides) {
        let x = follow(&moved, left[m.left].story_id);
        let y = follow(&moved, right[m.right].story_id);
        if x == y {
            continue;
        }
        let (keep, gone) = (x.min(y), x.max(y));
        store.merge_stories(keep, gone, now)?;
        moved.insert(gone, keep);
        merged += 1;
        tracing::debug!(keep, gone, reason = ?m.reason, "paired stories merged");
    }
    Ok(merged)
}

fn follow(moved: &HashMap<i64, i64>, mut story: i64) -> i64 {
    while let Some(next) = moved.get(&story) {
        story = *next;
    }
    story
}

/// The matching view of `entries`; an entry is open when its story has no
/// entry in the language of any entry of the other source.
fn sides(
    store: &Store,
    entries: &[StoredEntry],
    others: &[StoredEntry],
) -> Result<Vec<Side>, StoreError> {
    let other_langs: BTreeSet<&Lang> = others.iter().map(|o| &o.entry.lang).collect();
    let mut out = Vec::with_capacity(entries.len());
    for stored in entries {
        let langs = store.story_languages(stored.story_id)?;
        let open = other_langs.iter().any(|l| !langs.contains(l));
        let mut machine_title = None;
        for lang in other_langs.iter().filter(|l| **l != &stored.entry.lang) {
            if let Some(title) = store.machine_title(stored.story_id, lang)? {
                machine_title = Some(title);
                break;
            }
        }
        let e = &stored.entry;
        out.push(Side {
            lang: e.lang.clone(),
            link: e.canonical_link.clone().or_else(|| e.link.clone()),
            image: e.image.clone(),
            title: e.title.clone(),
            machine_title,
            dated: e.published.unwrap_or(stored.first_seen),
            open,
        });
    }
    Ok(out)
}
