//! Monthly archives of the combined RSS feed (RFC 5005 section 4, archived
//! feeds): once a month is over, its stories go into `archive/YYYY-MM.xml`
//! (and, for a busy month, `archive/YYYY-MM-p2.xml` and on), which are written
//! once and never change, so a reader that missed stories pushed out of
//! feed.xml can walk back and find them.
//!
//! Everything here is plain data in, plain data out, except the helpers that
//! touch the archive folder (`list`, `prune_archives`) and the writers
//! (`write_months`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use url::Url;

use super::escape::xml_safe;
use super::text::Texts;
use super::view::{self, FeedView};
use super::write::{self, Packing};
use super::{Links, OutputFile, PublishError, WriteReport, rss};
use crate::config::Config;
use crate::model::Story;

/// A calendar month in UTC: (year, month 1–12).
pub type Month = (i32, u32);

/// The archive folder under the output folder.
pub const FOLDER: &str = "archive";

/// Stories in one archive document at most. A month of a thousand busy
/// sources holds a hundred thousand stories: as one document that is hundreds
/// of megabytes, more than a feed reader fetches and more than the publisher
/// should hold in memory at once.
pub const PAGE_STORIES: usize = 1_000;

/// One archive document: a month's stories, oldest first, cut into pages of
/// [`PAGE_STORIES`]. Page 1 keeps the plain month name, so a month that fits in
/// one page is one file named after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Page {
    pub month: Month,
    /// From 1.
    pub number: u32,
}

impl Page {
    pub fn first(month: Month) -> Page {
        Page { month, number: 1 }
    }
}

/// The file name of an archive page: "2026-10.xml", then "2026-10-p2.xml".
pub fn file_name(page: Page) -> String {
    let (year, month) = page.month;
    match page.number {
        1 => format!("{year:04}-{month:02}.xml"),
        n => format!("{year:04}-{month:02}-p{n}.xml"),
    }
}

/// A page relative to the output folder: "archive/2026-10.xml".
pub fn path(page: Page) -> PathBuf {
    Path::new(FOLDER).join(file_name(page))
}

/// The page a file name of the archive folder stands for, if it is one.
pub fn parse_name(name: &str) -> Option<Page> {
    let stem = name.strip_suffix(".xml")?;
    let (month, number) = match stem.split_once("-p") {
        Some((month, number)) => (month, Some(number)),
        None => (stem, None),
    };
    let (year, month) = month.split_once('-')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || month.len() != 2 || !all_digits(year) || !all_digits(month) {
        return None;
    }
    let number = match number {
        // "p1" is never written: page 1 is the plain name, and one page has one name.
        Some(n) if all_digits(n) && !n.starts_with('0') => n.parse().ok().filter(|&n| n > 1)?,
        Some(_) => return None,
        None => 1,
    };
    let month: u32 = month.parse().ok()?;
    (1..=12).contains(&month).then_some(Page {
        month: (year.parse().ok()?, month),
        number,
    })
}

/// The month `at` falls in.
pub fn month_of(at: DateTime<Utc>) -> Month {
    (at.year(), at.month())
}

/// The first instant of `month` and of the month after: the archive's time range.
pub fn bounds(month: Month) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |(year, month): Month| {
        Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    };
    (start(month), start(from_index(index(month) + 1)))
}

pub(crate) fn url(base: &Url, page: Page) -> String {
    let relative = format!("{FOLDER}/{}", file_name(page));
    base.join(&relative)
        .map(String::from)
        .unwrap_or_else(|_| format!("{base}{relative}"))
}

/// The complete months (strictly before the month of `now`) that may need an
/// archive, oldest first: those after the newest month archived among
/// `existing` (file names of the archive folder; a month has one once its
/// first page is there), from the month of the oldest story but no further
/// back than `retention` months. A month without stories gets no archive
/// (`write_months` leaves it out), so months before the newest archive are
/// never looked at again.
pub fn months_to_archive(
    existing: &[String],
    oldest_story: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    retention: u32,
) -> Vec<Month> {
    let Some(first) = first_kept(oldest_story, now, retention) else {
        return Vec::new();
    };
    let after_newest = archived_months(existing)
        .max()
        .map_or(index(first), |newest| index(newest) + 1);
    (index(first).max(after_newest)..index(month_of(now)))
        .map(from_index)
        .collect()
}

/// The newest month archived among `existing` before `month`, and not past
/// retention: the archive that `month`'s first page links to as `prev-archive`.
fn archived_before(
    existing: &[String],
    month: Month,
    now: DateTime<Utc>,
    retention: u32,
) -> Option<Month> {
    let keep_from = index(month_of(now)) - i64::from(retention);
    archived_months(existing)
        .filter(|m| index(*m) < index(month) && index(*m) >= keep_from)
        .max()
}

/// The newest archive page among the archive file names, for `RenderExtras`:
/// the last page of the newest month that is archived.
pub fn newest(existing: &[String]) -> Option<Page> {
    let month = archived_months(existing).max()?;
    Some(last_page(existing, month))
}

/// The months whose first page is among `existing`; the first page is written
/// last, so these are the months archived in full.
fn archived_months(existing: &[String]) -> impl Iterator<Item = Month> + '_ {
    existing
        .iter()
        .filter_map(|n| parse_name(n))
        .filter(|page| page.number == 1)
        .map(|page| page.month)
}

/// The last page of `month` among `existing`.
fn last_page(existing: &[String], month: Month) -> Page {
    existing
        .iter()
        .filter_map(|n| parse_name(n))
        .filter(|page| page.month == month)
        .max()
        .unwrap_or(Page::first(month))
}

/// How many pages a month of `stories` stories takes: at least one.
pub fn page_count(stories: usize) -> u32 {
    u32::try_from(stories.div_ceil(PAGE_STORIES).max(1)).unwrap_or(u32::MAX)
}

/// The file names in the archive folder under `output_dir`; none when the
/// folder does not exist yet.
pub fn list(output_dir: &Path) -> Result<Vec<String>, PublishError> {
    let dir = output_dir.join(FOLDER);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(PublishError::Io { path: dir, source }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PublishError::Io {
            path: dir.clone(),
            source,
        })?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The stories of one archive page: up to `limit` of those published in
/// `[from, until)`, oldest first (by published date, then id), after the story
/// `after` (its published date and id) when one is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub after: Option<(DateTime<Utc>, i64)>,
    pub limit: usize,
}

/// Where the stories of archived months come from: the store, in a cycle.
pub trait Archived {
    type Error: From<PublishError>;
    /// How many stories were published in `[from, until)`.
    fn count(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<usize, Self::Error>;
    /// The stories `query` asks for.
    fn page(&self, query: &PageQuery) -> Result<Vec<Story>, Self::Error>;
}

/// Archives every complete month that has no archive yet, page by page, so
/// that only one page of stories is held at a time, then removes the archives
/// past retention. `oldest` is when the oldest stored story was published.
/// Returns the files written, relative to `output_dir`.
pub fn write_months<A: Archived>(
    config: &Config,
    output_dir: &Path,
    stories: &A,
    oldest: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<PathBuf>, A::Error> {
    let retention = config.publisher.archive_months;
    // Grows with each month written, so the next month finds its last page.
    let mut existing = list(output_dir)?;
    let mut months = Vec::new();
    for month in months_to_archive(&existing, oldest, now, retention) {
        let (from, until) = bounds(month);
        let count = stories.count(from, until)?;
        if count > 0 {
            months.push((month, count));
        }
    }
    let mut written = Vec::new();
    for (at, &(month, count)) in months.iter().enumerate() {
        // Both links skip the months without stories, which have no archive.
        let before = archived_before(&existing, month, now, retention)
            .map(|prev| last_page(&existing, prev));
        let next_month = months.get(at + 1).map(|&(next, _)| next);
        let month_written = write_month(
            config,
            output_dir,
            stories,
            (month, count),
            before,
            next_month,
        )?;
        existing.extend(month_written.iter().filter_map(|p| {
            p.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        }));
        written.extend(month_written);
    }
    prune_archives(output_dir, now, retention)?;
    Ok(written)
}

/// Writes the pages of one month of `count` stories, linked to `before` (the
/// last page of the archive before) and to `next_month`'s first page. A round
/// of pages, one per core, is read from the store, then rendered and written
/// side by side.
fn write_month<A: Archived>(
    config: &Config,
    output_dir: &Path,
    stories: &A,
    (month, count): (Month, usize),
    before: Option<Page>,
    next_month: Option<Month>,
) -> Result<Vec<PathBuf>, A::Error> {
    let (from, until) = bounds(month);
    let pages = page_count(count);
    let page = |number| Page { month, number };
    let mut written = Vec::new();
    let mut first = None;
    let mut after = None;
    let numbers: Vec<u32> = (1..=pages).collect();
    for round in numbers.chunks(write::cores()) {
        let mut chosen = Vec::with_capacity(round.len());
        for &number in round {
            let query = PageQuery {
                from,
                until,
                after,
                limit: PAGE_STORIES,
            };
            let page_stories = stories.page(&query)?;
            after = page_stories.last().map(|s| (s.published, s.id));
            chosen.push((number, page_stories));
        }
        let done = write::each_in_parallel(&chosen, |(number, page_stories)| {
            let prev = if *number == 1 {
                before
            } else {
                Some(page(number - 1))
            };
            let next = if *number < pages {
                Some(page(number + 1))
            } else {
                next_month.map(Page::first)
            };
            let file = render_page(config, page(*number), page_stories, prev, next)?;
            // Page 1 goes last: its name marks the month as archived, so a
            // cycle cut short leaves the whole month to be archived again.
            if *number == 1 {
                Ok((Some(file), Vec::new()))
            } else {
                write_pages(output_dir, &[file]).map(|report| (None, report.written))
            }
        });
        for outcome in done {
            let (page_one, paths) = outcome.map_err(A::Error::from)?;
            first = first.or(page_one);
            written.extend(paths);
        }
    }
    written.extend(write_pages(output_dir, first.as_slice())?.written);
    Ok(written)
}

/// Archive pages are written once and fetched rarely; a month of them is a
/// hundred megabytes to compress in one cycle, so they get a quick gzip only.
fn write_pages(output_dir: &Path, files: &[OutputFile]) -> Result<WriteReport, PublishError> {
    write::write_packed(output_dir, files, Packing::Light)
}

/// One page of the archive of a complete month: the combined feed of
/// `stories` (those not published in the page's month are left out, whatever
/// the caller passed), marked `<fh:archive/>`, linking to the current feed
/// and to the pages before and after it.
pub fn render_page(
    config: &Config,
    page: Page,
    stories: &[Story],
    prev: Option<Page>,
    next: Option<Page>,
) -> Result<OutputFile, PublishError> {
    let base = view::base_url(config)?;
    let ui = config
        .publisher
        .languages
        .first()
        .ok_or(PublishError::NoLanguages)?;
    let chosen: Vec<&Story> = view::newest(stories, usize::MAX)
        .into_iter()
        .filter(|story| month_of(story.published) == page.month)
        .collect();
    let (year, month) = page.month;
    let title = match page.number {
        1 => format!("{} ({year:04}-{month:02})", config.publisher.title),
        n => format!("{} ({year:04}-{month:02}, {n})", config.publisher.title),
    };
    let feed = FeedView {
        title: xml_safe(&title),
        folder: format!("{FOLDER}/"),
        ..view::combined(
            config,
            &base,
            &view::told(config, &chosen),
            ui,
            &mut Texts::archive(),
        )
    };
    let links = Links {
        hubs: Vec::new(),
        history: history(&base, prev, next),
        archived: true,
    };
    Ok(OutputFile {
        path: path(page),
        bytes: rss::render(&feed, &file_name(page), &links)?,
    })
}

fn history(base: &Url, prev: Option<Page>, next: Option<Page>) -> Vec<(&'static str, String)> {
    let current = base
        .join("feed.xml")
        .map(String::from)
        .unwrap_or_else(|_| format!("{base}feed.xml"));
    std::iter::once(("current", current))
        .chain(prev.map(|m| ("prev-archive", url(base, m))))
        .chain(next.map(|m| ("next-archive", url(base, m))))
        .collect()
}

/// Deletes the archive pages (and their compressed siblings) of months more than
/// `retention` months before the month of `now`. Returns the archives
/// removed, relative to `output_dir`.
pub fn prune_archives(
    output_dir: &Path,
    now: DateTime<Utc>,
    retention: u32,
) -> Result<Vec<PathBuf>, PublishError> {
    let keep_from = index(month_of(now)) - i64::from(retention);
    let mut removed = Vec::new();
    for name in list(output_dir)? {
        let Some(page) = parse_name(&name) else {
            continue;
        };
        if index(page.month) >= keep_from {
            continue;
        }
        let relative = path(page);
        for suffix in ["", ".gz", ".br"] {
            let target = output_dir.join(format!("{}{suffix}", relative.display()));
            match std::fs::remove_file(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(PublishError::Io {
                        path: target,
                        source,
                    });
                }
            }
        }
        tracing::info!(archive = %relative.display(), "archive older than retention removed");
        removed.push(relative);
    }
    Ok(removed)
}

/// The oldest month kept: the month of the oldest story, but no more than
/// `retention` months back; `None` when nothing is to be kept.
fn first_kept(
    oldest_story: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    retention: u32,
) -> Option<Month> {
    let oldest = index(month_of(oldest_story?));
    let limit = index(month_of(now)) - i64::from(retention);
    (retention > 0).then(|| from_index(oldest.max(limit)))
}

/// Months counted from year 0, so that month arithmetic is subtraction.
fn index((year, month): Month) -> i64 {
    i64::from(year) * 12 + i64::from(month) - 1
}

fn from_index(index: i64) -> Month {
    // A month index comes from a valid year and month, so both fit.
    let year = i32::try_from(index.div_euclid(12)).unwrap_or(i32::MAX);
    let month = u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1;
    (year, month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(year: i32, month: u32, day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(year, month, day, 12, 0, 0).unwrap()
    }

    #[test]
    fn names_round_trip_and_strangers_are_ignored() {
        let march = Page::first((2026, 3));
        let third = Page { number: 3, ..march };
        assert_eq!(file_name(march), "2026-03.xml");
        assert_eq!(file_name(third), "2026-03-p3.xml");
        assert_eq!(parse_name("2026-03.xml"), Some(march));
        assert_eq!(parse_name("2026-03-p3.xml"), Some(third));
        for name in [
            "2026-13.xml",
            "2026-00.xml",
            "26-03.xml",
            "2026-03.xml.gz",
            "2026-03-p1.xml",
            "2026-03-p0.xml",
            "2026-03-p03.xml",
            "2026-03-p.xml",
            "2026-03-px.xml",
            "x",
        ] {
            assert_eq!(parse_name(name), None, "{name}");
        }
    }

    #[test]
    fn pages_hold_at_most_a_page_of_stories_and_there_is_always_one() {
        assert_eq!(page_count(0), 1);
        assert_eq!(page_count(PAGE_STORIES), 1);
        assert_eq!(page_count(PAGE_STORIES + 1), 2);
        assert_eq!(page_count(40 * PAGE_STORIES), 40);
    }

    #[test]
    fn the_newest_archive_is_the_last_page_of_the_newest_complete_month() {
        let names: Vec<String> = [
            "2026-09.xml",
            "2026-10-p2.xml",
            "2026-10-p3.xml",
            "2026-10.xml",
            "2026-10.xml.gz",
            // November's first page is missing: a cycle stopped while archiving it.
            "2026-11-p2.xml",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            newest(&names),
            Some(Page {
                month: (2026, 10),
                number: 3
            })
        );
        let now = at(2026, 12, 2);
        assert_eq!(
            months_to_archive(&names, Some(at(2026, 9, 1)), now, 24),
            [(2026, 11)]
        );
    }

    #[test]
    fn months_cross_the_new_year() {
        let now = at(2027, 2, 1);
        let months = months_to_archive(&[], Some(at(2026, 11, 30)), now, 24);
        assert_eq!(months, [(2026, 11), (2026, 12), (2027, 1)]);
    }

    #[test]
    fn months_before_the_newest_archive_are_not_looked_at_again() {
        let names = ["2026-03.xml".to_string(), "2026-07.xml".to_string()];
        let now = at(2026, 10, 2);
        assert_eq!(
            months_to_archive(&names, Some(at(2026, 1, 1)), now, 24),
            [(2026, 8), (2026, 9)]
        );
        assert_eq!(archived_before(&names, (2026, 9), now, 24), Some((2026, 7)));
        assert_eq!(archived_before(&names, (2026, 7), now, 24), Some((2026, 3)));
        // March is past a retention of six months.
        assert_eq!(archived_before(&names, (2026, 7), now, 6), None);
    }

    #[test]
    fn retention_limits_how_far_back_archives_go() {
        let months = months_to_archive(&[], Some(at(2020, 1, 1)), at(2026, 12, 2), 3);
        assert_eq!(months, [(2026, 9), (2026, 10), (2026, 11)]);
        assert!(months_to_archive(&[], Some(at(2020, 1, 1)), at(2026, 12, 2), 0).is_empty());
    }
}
