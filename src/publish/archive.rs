//! Monthly archives of the combined RSS feed (RFC 5005 section 4, archived
//! feeds): once a month is over, its stories go into `archive/YYYY-MM.xml`,
//! which is written once and never changes, so a reader that missed stories
//! pushed out of feed.xml can walk back and find them.
//!
//! Everything here is plain data in, plain data out, except the two helpers
//! that touch the archive folder (`list`, `prune_archives`) and the writer
//! (`write_new_only`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use url::Url;

use super::text::Texts;
use super::view::{self, FeedView};
use super::{Links, OutputFile, PublishError, WriteReport, rss, write};
use crate::config::Config;
use crate::model::Story;

/// A calendar month in UTC: (year, month 1–12).
pub type Month = (i32, u32);

/// The archive folder under the output folder.
pub const FOLDER: &str = "archive";

/// The file name of a month's archive: "2026-10.xml".
pub fn file_name((year, month): Month) -> String {
    format!("{year:04}-{month:02}.xml")
}

/// A month's archive relative to the output folder: "archive/2026-10.xml".
pub fn path(month: Month) -> PathBuf {
    Path::new(FOLDER).join(file_name(month))
}

/// The month a file name of the archive folder stands for, if it is one.
pub fn parse_name(name: &str) -> Option<Month> {
    let stem = name.strip_suffix(".xml")?;
    let (year, month) = stem.split_once('-')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || month.len() != 2 || !all_digits(year) || !all_digits(month) {
        return None;
    }
    let month: u32 = month.parse().ok()?;
    (1..=12)
        .contains(&month)
        .then_some((year.parse().ok()?, month))
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

pub(crate) fn url(base: &Url, month: Month) -> String {
    let relative = format!("{FOLDER}/{}", file_name(month));
    base.join(&relative)
        .map(String::from)
        .unwrap_or_else(|_| format!("{base}{relative}"))
}

/// The complete months (strictly before the month of `now`) that should have
/// an archive but have none among `existing` (file names of the archive
/// folder), oldest first: from the month of the oldest story, but no further
/// back than `retention` months. Months without stories are included, so the
/// chain of `prev-archive` links has no holes.
pub fn months_to_archive(
    existing: &[String],
    oldest_story: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    retention: u32,
) -> Vec<Month> {
    let Some(first) = first_kept(oldest_story, now, retention) else {
        return Vec::new();
    };
    let have: Vec<Month> = existing.iter().filter_map(|n| parse_name(n)).collect();
    (index(first)..index(month_of(now)))
        .map(from_index)
        .filter(|month| !have.contains(month))
        .collect()
}

/// The archives beside `month` as (prev, next): `prev` when the month before
/// is kept, `next` only when the month after is complete too, so that an
/// archive, which never changes, never links to a document that does not
/// exist yet.
pub fn neighbours(
    month: Month,
    oldest_story: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    retention: u32,
) -> (Option<Month>, Option<Month>) {
    let at = index(month);
    let prev = first_kept(oldest_story, now, retention)
        .filter(|first| index(*first) < at)
        .map(|_| from_index(at - 1));
    let next = (at + 1 < index(month_of(now))).then(|| from_index(at + 1));
    (prev, next)
}

/// The newest month among the archive file names, for `RenderExtras`.
pub fn newest(existing: &[String]) -> Option<Month> {
    existing.iter().filter_map(|n| parse_name(n)).max()
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

/// The archive of one complete month: the combined feed of every story
/// published in that month (others in `stories` are left out, whatever the
/// caller passed), marked `<fh:archive/>`, linking to the current feed and to
/// the archives before and after it.
pub fn render_month(
    config: &Config,
    month: Month,
    stories: &[Story],
    prev: Option<Month>,
    next: Option<Month>,
) -> Result<OutputFile, PublishError> {
    let base = view::base_url(config)?;
    let ui = config
        .publisher
        .languages
        .first()
        .ok_or(PublishError::NoLanguages)?;
    let chosen: Vec<&Story> = view::newest(stories, usize::MAX)
        .into_iter()
        .filter(|story| month_of(story.published) == month)
        .collect();
    let feed = FeedView {
        title: view::xml_safe(&format!(
            "{} ({:04}-{:02})",
            config.publisher.title, month.0, month.1
        )),
        folder: format!("{FOLDER}/"),
        ..view::combined(
            config,
            &base,
            &view::told(config, &chosen),
            ui,
            &mut Texts::own(),
        )
    };
    let links = Links {
        hubs: Vec::new(),
        history: history(&base, prev, next),
        archived: true,
    };
    Ok(OutputFile {
        path: path(month),
        bytes: rss::render(&feed, &file_name(month), &links)?,
    })
}

fn history(base: &Url, prev: Option<Month>, next: Option<Month>) -> Vec<(&'static str, String)> {
    let current = base
        .join("feed.xml")
        .map(String::from)
        .unwrap_or_else(|_| format!("{base}feed.xml"));
    std::iter::once(("current", current))
        .chain(prev.map(|m| ("prev-archive", url(base, m))))
        .chain(next.map(|m| ("next-archive", url(base, m))))
        .collect()
}

/// Writes only the files that do not exist yet: an archive, once published,
/// is never rewritten, even if the stories of its month changed since.
pub fn write_new_only(dir: &Path, files: &[OutputFile]) -> Result<WriteReport, PublishError> {
    let (old, new): (Vec<&OutputFile>, Vec<&OutputFile>) =
        files.iter().partition(|f| dir.join(&f.path).exists());
    let new: Vec<OutputFile> = new.into_iter().cloned().collect();
    let mut report = write(dir, &new)?;
    report.unchanged += old.len();
    Ok(report)
}

/// Deletes the archives (and their compressed siblings) of months more than
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
        let Some(month) = parse_name(&name) else {
            continue;
        };
        if index(month) >= keep_from {
            continue;
        }
        let relative = path(month);
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
        assert_eq!(file_name((2026, 3)), "2026-03.xml");
        assert_eq!(parse_name("2026-03.xml"), Some((2026, 3)));
        for name in [
            "2026-13.xml",
            "2026-00.xml",
            "26-03.xml",
            "2026-03.xml.gz",
            "x",
        ] {
            assert_eq!(parse_name(name), None, "{name}");
        }
    }

    #[test]
    fn months_cross_the_new_year() {
        let now = at(2027, 2, 1);
        let months = months_to_archive(&[], Some(at(2026, 11, 30)), now, 24);
        assert_eq!(months, [(2026, 11), (2026, 12), (2027, 1)]);
        assert_eq!(
            neighbours((2026, 12), Some(at(2026, 11, 30)), now, 24),
            (Some((2026, 11)), Some((2027, 1)))
        );
        assert_eq!(
            neighbours((2027, 1), Some(at(2026, 11, 30)), now, 24),
            (Some((2026, 12)), None)
        );
    }

    #[test]
    fn retention_limits_how_far_back_archives_go() {
        let months = months_to_archive(&[], Some(at(2020, 1, 1)), at(2026, 12, 2), 3);
        assert_eq!(months, [(2026, 9), (2026, 10), (2026, 11)]);
        assert!(months_to_archive(&[], Some(at(2020, 1, 1)), at(2026, 12, 2), 0).is_empty());
        assert_eq!(
            neighbours((2026, 9), Some(at(2020, 1, 1)), at(2026, 12, 2), 3).0,
            None
        );
    }
}
