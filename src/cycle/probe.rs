//! `hejnal check --probe`: fetch every enabled source now and say what came back,
//! so a webmaster sees a broken or stale feed before the daemon does.

use std::time::Instant;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;

use crate::config::{Config, SourceConfig};
use crate::fetch::{Conditional, FetchError, FetchOutcome, Fetched, Fetcher};
use crate::model::{EntryDraft, ParsedFeed};
use crate::parse::{self, ParseError};

/// A newest item older than this means the feed has probably stopped.
const STALE_DAYS: i64 = 90;

/// Text enough for a sure language detection; more only costs time.
const DETECT_CHARS: usize = 20_000;

/// What probing one source found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeReport {
    pub id: String,
    pub url: String,
    /// The document was fetched and parsed as a feed.
    pub ok: bool,
    /// "ok", or why not (the fetch or parse error).
    pub outcome: String,
    /// The HTTP status of a failed request, when the server answered.
    pub http_status: Option<u16>,
    pub format: Option<String>,
    pub items: Option<usize>,
    pub newest: Option<DateTime<Utc>>,
    pub declared_lang: String,
    /// The feed's own `<language>` (or equivalent), when it declares one.
    pub feed_lang: Option<String>,
    /// The language detected on the items' titles and summaries.
    pub detected_lang: Option<String>,
    pub bytes: Option<usize>,
    pub elapsed_ms: u64,
    pub warnings: Vec<String>,
}

/// Probes every enabled source, at most `concurrency` at once; `on_done` sees
/// each report as it finishes. The reports come back in configuration order.
pub async fn probe_all(
    config: &Config,
    fetcher: &Fetcher,
    mut on_done: impl FnMut(&ProbeReport),
) -> Vec<ProbeReport> {
    let now = Utc::now();
    let sources: Vec<&SourceConfig> = config.enabled_sources().collect();
    let mut running = futures_util::stream::iter(sources.iter().enumerate())
        .map(|(n, s)| async move { (n, probe_source(config, fetcher, s, now).await) })
        .buffer_unordered(config.publisher.concurrency.max(1));
    let mut done = Vec::with_capacity(sources.len());
    while let Some((n, report)) = running.next().await {
        on_done(&report);
        done.push((n, report));
    }
    done.sort_by_key(|(n, _)| *n);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Fetches and parses one source; `now` decides what counts as stale.
pub async fn probe_source(
    config: &Config,
    fetcher: &Fetcher,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> ProbeReport {
    let started = Instant::now();
    let cap = source.max_body_bytes.unwrap_or(config.fetch.max_body_bytes);
    let fetched = fetcher
        .fetch(&source.url, &Conditional::default(), cap)
        .await;
    let mut report = ProbeReport {
        id: source.id.clone(),
        url: source.url.clone(),
        declared_lang: source.lang.to_string(),
        ..ProbeReport::default()
    };
    match fetched {
        Ok(FetchOutcome::Fetched(f)) => examine(&mut report, &f, config, now),
        // Nothing was asked conditionally, so a 304 is the server's mistake.
        Ok(FetchOutcome::NotModified { .. }) => {
            report.outcome = "304 Not Modified to an unconditional request".into();
        }
        Err(e) => failed(&mut report, &e),
    }
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

fn failed(report: &mut ProbeReport, e: &FetchError) {
    report.http_status = match e {
        FetchError::Status { status, .. } => Some(*status),
        FetchError::Gone => Some(410),
        _ => None,
    };
    report.outcome = e.to_string();
}

fn examine(report: &mut ProbeReport, f: &Fetched, config: &Config, now: DateTime<Utc>) {
    report.bytes = Some(f.body.len());
    if let Some(target) = &f.moved_to {
        report
            .warnings
            .push(format!("permanent redirect: update url to {target}"));
    }
    let max_items = config.fetch.max_items_per_feed;
    match parse::parse(&f.body, f.content_type.as_deref(), &f.final_url, max_items) {
        Ok(feed) => describe_feed(report, &feed, now),
        Err(ParseError::HtmlPage { feed_links }) => {
            report.outcome = "not a feed: an HTML page".into();
            report.warnings.push(if feed_links.is_empty() {
                "HTML page with no feed links".into()
            } else {
                format!("HTML page; feeds linked from it: {}", feed_links.join(", "))
            });
        }
        Err(e) => report.outcome = e.to_string(),
    }
}

fn describe_feed(report: &mut ProbeReport, feed: &ParsedFeed, now: DateTime<Utc>) {
    report.ok = true;
    report.outcome = "ok".into();
    report.format = Some(feed.format.as_str().to_string());
    report.items = Some(feed.entries.len());
    report.newest = feed
        .entries
        .iter()
        .filter_map(|e| e.published.or(e.updated))
        .max();
    report.feed_lang = feed.lang.clone();
    report.detected_lang = crate::clean::lang::detect(&item_text(&feed.entries)).map(String::from);
    report.warnings.extend(warnings(report, feed, now));
}

fn warnings(report: &ProbeReport, feed: &ParsedFeed, now: DateTime<Utc>) -> Vec<String> {
    let entries = &feed.entries;
    let mut out = Vec::new();
    if entries.is_empty() {
        out.push("the feed has no items".to_string());
        return out;
    }
    if entries.iter().all(|e| e.guid.is_none()) {
        out.push("no guids: items are told apart by their links".into());
    }
    if entries
        .iter()
        .all(|e| e.published.is_none() && e.updated.is_none())
    {
        out.push("no dates: items are dated when first seen".into());
    }
    if let Some(newest) = report.newest
        && (now - newest).num_days() > STALE_DAYS
    {
        let days = (now - newest).num_days();
        out.push(format!("newest item is {days} days old"));
    }
    if let Some(detected) = &report.detected_lang
        && *detected != report.declared_lang
    {
        out.push(format!(
            "lang is \"{}\" but the items read as \"{detected}\"",
            report.declared_lang
        ));
    }
    out
}

/// Titles and summaries as plain text, for language detection.
pub fn item_text(entries: &[EntryDraft]) -> String {
    let mut text = String::new();
    for e in entries {
        for part in [&e.title, &e.summary].into_iter().flatten() {
            text.push_str(&crate::clean::html::plain_text(part));
            text.push('\n');
        }
        if text.len() > DETECT_CHARS {
            break;
        }
    }
    text
}

/// The reports as a table for a terminal, one source per line.
pub fn table(reports: &[ProbeReport]) -> String {
    let header = [
        "ID", "STATUS", "FORMAT", "ITEMS", "NEWEST", "LANG", "SIZE", "TIME", "WARNINGS",
    ];
    let rows: Vec<[String; 9]> = reports.iter().map(row).collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(String::from);
    for r in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn row(r: &ProbeReport) -> [String; 9] {
    let dash = || "-".to_string();
    [
        r.id.clone(),
        r.outcome.clone(),
        r.format.clone().unwrap_or_else(dash),
        r.items.map_or_else(dash, |n| n.to_string()),
        r.newest
            .map_or_else(dash, |d| d.format("%Y-%m-%d").to_string()),
        format!(
            "{}/{}",
            r.declared_lang,
            r.detected_lang.as_deref().unwrap_or("?")
        ),
        r.bytes.map_or_else(dash, human_size),
        format!("{} ms", r.elapsed_ms),
        r.warnings.join("; "),
    ]
}

fn human_size(bytes: usize) -> String {
    match bytes {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_would_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2048), "2.0 KiB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn stale_and_dateless_feeds_are_flagged() {
        let now = Utc::now();
        let old = EntryDraft {
            guid: Some("a".into()),
            published: Some(now - chrono::Duration::days(200)),
            ..EntryDraft::default()
        };
        let feed = ParsedFeed {
            entries: vec![old],
            ..ParsedFeed::default()
        };
        let mut report = ProbeReport {
            id: "x".into(),
            url: "https://x.example/".into(),
            declared_lang: "pl".into(),
            ..ProbeReport::default()
        };
        describe_feed(&mut report, &feed, now);
        assert_eq!(report.warnings, ["newest item is 200 days old"]);
        let dateless = ParsedFeed {
            entries: vec![EntryDraft::default()],
            ..ParsedFeed::default()
        };
        report.warnings.clear();
        describe_feed(&mut report, &dateless, now);
        assert!(report.warnings.iter().any(|w| w.starts_with("no guids")));
        assert!(report.warnings.iter().any(|w| w.starts_with("no dates")));
    }
}
