//! Grouping entries into stories.
//!
//! Every entry not yet in a story is placed, in the order first seen: into the
//! story of an entry with the same canonical link, else of an entry of another
//! source with the same guid, else of a near duplicate from another source
//! dated within the window (found by headline or fingerprint, confirmed by
//! comparing the texts), else into a new story. A story keeps its id and guid
//! for ever, whoever joins it later.

mod compare;

use std::collections::HashMap;
use std::rc::Rc;

use chrono::{DateTime, TimeDelta, Utc};

use compare::{Reading, same_reading};
pub use compare::{Telling, same_story};

use crate::clean::html::sanitized_text;
use crate::config::DedupeConfig;
use crate::store::{Candidate, Grouping, Search, Store, StoreError, Unplaced};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupReport {
    pub new_stories: usize,
    pub joined: usize,
}

/// Unassigned entries read at a time.
const BATCH: usize = 2_000;
/// Candidates' readings kept for the entries after: a story told by many
/// sources is a candidate of each new telling. Bounded, since a long text's
/// reading holds every word.
const READINGS_KEPT: usize = 1_000;

/// Puts every unassigned entry into a story, in one transaction: a crash
/// before the end leaves the entries unassigned, and the next call places them.
pub fn group(
    store: &mut Store,
    settings: &DedupeConfig,
    now: DateTime<Utc>,
) -> Result<GroupReport, StoreError> {
    let grouping = store.grouping()?;
    let mut report = GroupReport::default();
    let mut readings = HashMap::new();
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
            match home(&grouping, search, settings, &mut readings)? {
                Some(story_id) => {
                    grouping.join_story(entry, story_id, now)?;
                    report.joined += 1;
                }
                None => {
                    grouping.create_story(entry, birth_date(entry, now), now)?;
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
    readings: &mut HashMap<i64, Rc<Reading>>,
) -> Result<Option<i64>, StoreError> {
    let entry = search.entry;
    if let Some(link) = &entry.canonical_link
        && let Some(story) = grouping.find_by_canonical_link(link, &entry.source_id)
    {
        return Ok(Some(story));
    }
    if let Some(key) = &entry.guid_key
        && let Some(story) = grouping.find_by_guid(key, &entry.source_id)
    {
        return Ok(Some(story));
    }
    near_duplicate(grouping, search, settings, readings)
}

/// The story of the most alike telling from another source within the window:
/// one with the same headline or a fingerprint within `max_distance` bits,
/// that `compare::same_story` cannot tell apart. The same source is left out:
/// a weekly column repeats its wording every week.
fn near_duplicate(
    grouping: &Grouping<'_>,
    search: &Search<'_>,
    settings: &DedupeConfig,
    readings: &mut HashMap<i64, Rc<Reading>>,
) -> Result<Option<i64>, StoreError> {
    let entry = search.entry;
    if entry.fingerprint == 0 {
        return Ok(None);
    }
    let ids = grouping.candidates(search, settings.max_distance)?;
    if ids.is_empty() {
        return Ok(None);
    }
    let this = reading(grouping, entry.id, readings)?;
    let mut best: Option<(f64, Candidate)> = None;
    for id in ids {
        let Some(shared) = same_reading(&this, &*reading(grouping, id, readings)?) else {
            continue;
        };
        let c = grouping.candidate(id)?;
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

/// The reading of a stored entry's headline and text, kept for the next
/// entries that meet it.
fn reading(
    grouping: &Grouping<'_>,
    entry_id: i64,
    readings: &mut HashMap<i64, Rc<Reading>>,
) -> Result<Rc<Reading>, StoreError> {
    if let Some(known) = readings.get(&entry_id) {
        return Ok(Rc::clone(known));
    }
    let (title, summary) = grouping.telling(entry_id)?;
    let read = Rc::new(Reading::new(title, sanitized_text(&summary)));
    if readings.len() >= READINGS_KEPT {
        readings.clear();
    }
    readings.insert(entry_id, Rc::clone(&read));
    Ok(read)
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
