//! Grouping entries into stories.
//!
//! Every entry not yet in a story is placed, in the order first seen: into the
//! story of an entry with the same canonical link, else of an entry of another
//! source with the same guid, else of a near duplicate from another source
//! dated within the window (found by headline or fingerprint, confirmed by
//! comparing the texts), else into a new story. A story keeps its id and guid
//! for ever, whoever joins it later.

mod compare;

use chrono::{DateTime, TimeDelta, Utc};

pub use compare::{Telling, same_story};

use crate::clean::html::plain_text;
use crate::config::DedupeConfig;
use crate::store::{Candidate, Grouping, Store, StoreError, Unplaced};

/// A guid shorter than this that is not a URL (a bare number, a short slug) is
/// only unique within its own source.
const MIN_SHARED_GUID_CHARS: usize = 16;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupReport {
    pub new_stories: usize,
    pub joined: usize,
}

/// An unassigned entry about to be placed, and the dates its near duplicates may carry.
#[derive(Debug, Clone, Copy)]
pub struct Search<'e> {
    pub entry: &'e Unplaced,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Unassigned entries read at a time.
const BATCH: usize = 2_000;

/// Puts every unassigned entry into a story, in one transaction: a crash
/// before the end leaves the entries unassigned, and the next call places them.
pub fn group(
    store: &mut Store,
    settings: &DedupeConfig,
    now: DateTime<Utc>,
) -> Result<GroupReport, StoreError> {
    let grouping = store.grouping()?;
    let mut report = GroupReport::default();
    // Each entry placed leaves the unassigned set, so the next batch follows on.
    loop {
        let batch = grouping.next_unassigned(BATCH)?;
        if batch.is_empty() {
            break;
        }
        let searches: Vec<Search<'_>> = batch.iter().map(|e| search(e, settings)).collect();
        grouping.meet(&searches, settings.max_distance)?;
        for search in &searches {
            let entry = search.entry;
            match home(&grouping, search, settings)? {
                Some(story_id) => {
                    grouping.join_story(entry, story_id, now)?;
                    report.joined += 1;
                }
                None => {
                    grouping.create_story(entry, birth_date(entry, now))?;
                    report.new_stories += 1;
                }
            }
        }
    }
    grouping.commit()?;
    // A cycle groups each stored batch; its own summary line says how many
    // stories were new.
    if report != GroupReport::default() {
        tracing::debug!(
            new_stories = report.new_stories,
            joined = report.joined,
            "entries grouped into stories"
        );
    }
    Ok(report)
}

/// The story an entry belongs to, if one exists already.
fn home(
    grouping: &Grouping<'_>,
    search: &Search<'_>,
    settings: &DedupeConfig,
) -> Result<Option<i64>, StoreError> {
    let entry = search.entry;
    if let Some(link) = &entry.canonical_link
        && let Some(story) = grouping.find_by_canonical_link(link)
    {
        return Ok(Some(story));
    }
    if let Some(key) = &entry.guid_key
        && let Some(story) = grouping.find_by_guid(key, &entry.source_id)
    {
        return Ok(Some(story));
    }
    near_duplicate(grouping, search, settings)
}

/// The story of the most alike telling from another source within the window:
/// one with the same headline or a fingerprint within `max_distance` bits,
/// that `compare::same_story` cannot tell apart. The same source is left out:
/// a weekly column repeats its wording every week.
fn near_duplicate(
    grouping: &Grouping<'_>,
    search: &Search<'_>,
    settings: &DedupeConfig,
) -> Result<Option<i64>, StoreError> {
    let entry = search.entry;
    if entry.fingerprint == 0 {
        return Ok(None);
    }
    let ids = grouping.candidates(search, settings.max_distance)?;
    if ids.is_empty() {
        return Ok(None);
    }
    let text = plain_text(&grouping.summary(entry.id)?);
    let this = Telling {
        title: &entry.title,
        text: &text,
    };
    let mut best: Option<(f64, Candidate)> = None;
    for id in ids {
        let c = grouping.candidate(id)?;
        let other_text = plain_text(&c.summary);
        let other = Telling {
            title: &c.title,
            text: &other_text,
        };
        let Some(shared) = same_story(this, other) else {
            continue;
        };
        // The most alike wins; among equals, the earliest, as the story's lead is.
        let better = best.as_ref().is_none_or(|(s, b)| {
            shared > *s || (shared == *s && (c.dated, c.entry_id) < (b.dated, b.entry_id))
        });
        if better {
            best = Some((shared, c));
        }
    }
    Ok(best.map(|(_, c)| c.story_id))
}

fn search<'e>(entry: &'e Unplaced, settings: &DedupeConfig) -> Search<'e> {
    let (from, until) = window(entry, settings);
    Search { entry, from, until }
}

/// The dates an entry's near duplicates may carry.
fn window(entry: &Unplaced, settings: &DedupeConfig) -> (DateTime<Utc>, DateTime<Utc>) {
    let dated = entry.dated();
    let window = TimeDelta::try_days(i64::from(settings.window_days)).unwrap_or(TimeDelta::MAX);
    let from = dated
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let until = dated
        .checked_add_signed(window)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    (from, until)
}

/// A story is dated by its first entry; a date in the future is taken as now,
/// so a wrong clock at a source cannot pin a story to the top of the feed.
fn birth_date(entry: &Unplaced, now: DateTime<Utc>) -> DateTime<Utc> {
    entry.dated().min(now)
}

/// The form in which guids of different sources are compared, or `None` when
/// the guid is too plain to name one article across sources. URL guids compare
/// without scheme, `www.`, fragment or trailing slash.
pub fn guid_key(guid: &str) -> Option<String> {
    let guid = guid.trim();
    if let Ok(url) = url::Url::parse(guid)
        && matches!(url.scheme(), "http" | "https")
    {
        let host = url.host_str()?;
        let host = host.strip_prefix("www.").unwrap_or(host);
        let mut key = host.to_string();
        if let Some(port) = url.port() {
            key.push_str(&format!(":{port}"));
        }
        key.push_str(url.path().trim_end_matches('/'));
        if let Some(query) = url.query() {
            key.push('?');
            key.push_str(query);
        }
        return Some(key);
    }
    let distinctive =
        guid.chars().count() >= MIN_SHARED_GUID_CHARS && !guid.chars().all(|c| c.is_ascii_digit());
    distinctive.then(|| guid.to_string())
}

#[cfg(test)]
mod tests {
    use super::guid_key;

    #[test]
    fn url_guids_compare_without_scheme_www_fragment_or_slash() {
        assert_eq!(
            guid_key("http://www.Krakow.pl/news/1/#top"),
            guid_key("https://krakow.pl/news/1")
        );
        assert_ne!(
            guid_key("https://krakow.pl/news/1"),
            guid_key("https://krakow.pl/news/2")
        );
    }

    #[test]
    fn plain_short_guids_are_not_shared() {
        assert_eq!(guid_key("12345"), None);
        assert_eq!(guid_key("post-7"), None);
        assert_eq!(guid_key("12345678901234567890"), None);
        assert!(guid_key("urn:uuid:6f1c2a4e-2b1d-4c55-9a0e-0d3f6e1b7c11").is_some());
    }
}
