//! `hejnal sources`: how each configured source is doing, from the database.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use hejnal::config::{Config, SourceConfig};
use hejnal::filter;
use hejnal::store::{Store, StoreError};

/// "Recent" in the stories column.
const RECENT_DAYS: i64 = 7;

#[derive(Debug, Serialize)]
struct Health {
    id: String,
    url: String,
    /// ok, failing, never fetched, disabled or gone.
    status: &'static str,
    last_ok: Option<DateTime<Utc>>,
    last_error: Option<String>,
    consecutive_failures: u32,
    entries: u64,
    /// Stored entries the filter rules keep from publishing.
    filtered: usize,
    stories_7d: u64,
    next_due: Option<DateTime<Utc>>,
    etag: bool,
    last_modified: bool,
    /// Where a permanent redirect says the feed now lives: update `url` to it.
    moved_to: Option<String>,
}

pub fn sources(config_path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let db = config.database_path();
    if !db.exists() {
        bail!(
            "no database at {}: nothing was fetched yet; run `hejnal once` (or start `hejnal run`) first",
            db.display()
        );
    }
    let store = Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
    // Judged by the rules as feeds.toml has them now, as the next publish
    // will; a database this user may only read shows the last publish's.
    if let Err(e) = filter::apply(&config, &store) {
        tracing::warn!(error = %e, "FILTERED counts the entries as the last publish judged them");
    }
    let filtered = store.filtered_counts()?;
    let now = Utc::now();
    let rows = config
        .sources
        .iter()
        .map(|s| health(&store, s.get_ref(), &filtered, now))
        .collect::<Result<Vec<_>, _>>()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", table(&rows, now));
    }
    Ok(ExitCode::SUCCESS)
}

fn health(
    store: &Store,
    source: &SourceConfig,
    filtered: &HashMap<String, usize>,
    now: DateTime<Utc>,
) -> Result<Health, StoreError> {
    let state = store.source_state(&source.id)?;
    let gone = state.gone_url.as_deref() == Some(source.url.as_str());
    let status = if !source.enabled {
        "disabled"
    } else if gone {
        "gone"
    } else if state.consecutive_failures > 0 {
        "failing"
    } else if state.last_ok.is_some() {
        "ok"
    } else {
        "never fetched"
    };
    Ok(Health {
        id: source.id.clone(),
        url: source.url.clone(),
        status,
        last_ok: state.last_ok,
        last_error: state.last_error.clone(),
        consecutive_failures: state.consecutive_failures,
        entries: store.entries_of_source(&source.id)?,
        filtered: filtered.get(&source.id).copied().unwrap_or(0),
        stories_7d: store.stories_since(&source.id, now - Duration::days(RECENT_DAYS))?,
        next_due: state.next_due,
        etag: state.etag.is_some(),
        last_modified: state.last_modified.is_some(),
        // A redirect remembered for a URL since edited away no longer applies.
        moved_to: state
            .moved_to
            .filter(|_| state.moved_from.as_deref() == Some(source.url.as_str())),
    })
}

fn table(rows: &[Health], now: DateTime<Utc>) -> String {
    let header = [
        "ID",
        "STATUS",
        "LAST OK",
        "FAILS",
        "ENTRIES",
        "FILTERED",
        "STORIES 7D",
        "NEXT",
        "COND GET",
        "NOTE",
    ]
    .map(String::from);
    let cells: Vec<[String; 10]> = rows.iter().map(|r| row(r, now)).collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &cells {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&cells) {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn row(r: &Health, now: DateTime<Utc>) -> [String; 10] {
    let cond = match (r.etag, r.last_modified) {
        (true, true) => "etag+last-modified",
        (true, false) => "etag",
        (false, true) => "last-modified",
        (false, false) => "no",
    };
    let note = match (&r.moved_to, &r.last_error) {
        (Some(target), _) => format!("moved permanently: update url to {target}"),
        (None, Some(error)) if r.consecutive_failures > 0 => error.clone(),
        _ => String::new(),
    };
    [
        r.id.clone(),
        r.status.to_string(),
        r.last_ok
            .map_or("never".into(), |t| format!("{} ago", age(now - t))),
        r.consecutive_failures.to_string(),
        r.entries.to_string(),
        r.filtered.to_string(),
        r.stories_7d.to_string(),
        match r.next_due {
            Some(t) if t > now => format!("in {}", age(t - now)),
            Some(_) => "due".into(),
            None => "-".into(),
        },
        cond.to_string(),
        note,
    ]
}

/// A duration as a person says it: 40s, 12m, 3h, 5d.
fn age(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
