//! The floor under a cycle's CPU time: what the libraries the house chose
//! cost over the farm's feeds on their own, with nothing of hejnal's around
//! them. feed-rs parses every document and ammonia, with hejnal's allowlists,
//! sanitizes every summary; no cycle can spend less than that. whatlang, with
//! hejnal's list of languages, reads the opening of every summary's text, as
//! cleaning does of each entry whose text does not plainly agree with its
//! declared language. [`pipeline`]
//! adds fetching and storing around them: a whole cold cycle of libraries.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hejnal::clean::MAX_DETECT_CHARS;
use hejnal::clean::html::{sanitize, sanitized_text};
use hejnal::clean::lang::detect;
use hejnal::config::FetchConfig;
use hejnal::fetch::{Conditional, FetchOutcome, Fetcher};
use tokio::sync::Semaphore;

use super::cycle::{BenchError, own_cpu};
use super::farm::{Farm, Feeds, Served};

/// feed-rs as hejnal calls it, without its own sanitizing (hejnal's is the
/// one being measured) and without the ids it invents for items that lack one.
pub fn feed_rs_alone(body: &[u8]) -> Option<feed_rs::model::Feed> {
    feed_rs::parser::Builder::new()
        .sanitize_content(false)
        .id_generator(|_, _, _| String::new())
        .build()
        .parse(body)
        .ok()
}

/// The HTML of each entry that cleaning sanitizes: its summary, else its content.
pub fn summaries(feed: &feed_rs::model::Feed) -> Vec<&str> {
    feed.entries.iter().filter_map(summary_of).collect()
}

fn summary_of(entry: &feed_rs::model::Entry) -> Option<&str> {
    entry
        .summary
        .as_ref()
        .map(|t| t.content.as_str())
        .or_else(|| entry.content.as_ref().and_then(|c| c.body.as_deref()))
}

/// One core's time for each library over every document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Floor {
    pub documents: usize,
    pub unparsed: usize,
    pub summaries: usize,
    pub bytes: u64,
    pub parse: Duration,
    pub sanitize: Duration,
    pub detect: Duration,
}

/// Measures [`Floor`] on this thread, document by document.
pub fn measure(feeds: &Feeds) -> Floor {
    let docs: Vec<&Served> = feeds.documents.values().collect();
    measure_docs(&docs)
}

/// The documents split over `threads` threads at once, as a cycle splits
/// them over the cores: each thread's own [`Floor`], and the wall time from
/// the first start to the last end.
pub fn measure_parallel(feeds: &Feeds, threads: usize) -> (Vec<Floor>, Duration) {
    let docs: Vec<&Served> = feeds.documents.values().collect();
    let share = docs.len().div_ceil(threads.max(1)).max(1);
    let started = Instant::now();
    let floors = std::thread::scope(|scope| {
        let running: Vec<_> = docs
            .chunks(share)
            .map(|part| scope.spawn(move || measure_docs(part)))
            .collect();
        running
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| panic!("a thread of the floor panicked"))
            })
            .collect()
    });
    (floors, started.elapsed())
}

fn measure_docs(docs: &[&Served]) -> Floor {
    let mut floor = Floor::default();
    for doc in docs {
        floor.documents += 1;
        floor.bytes += doc.body.len() as u64;
        let started = Instant::now();
        let feed = feed_rs_alone(&doc.body);
        floor.parse += started.elapsed();
        let Some(feed) = feed else {
            floor.unparsed += 1;
            continue;
        };
        let bodies = summaries(&feed);
        let started = Instant::now();
        let clean: Vec<String> = bodies.iter().map(|body| sanitize(body, None)).collect();
        floor.sanitize += started.elapsed();
        floor.summaries += bodies.len();
        // Reading the text out of the HTML is hejnal's own work, not timed.
        let openings: Vec<String> = clean
            .iter()
            .map(|html| {
                sanitized_text(html)
                    .chars()
                    .take(MAX_DETECT_CHARS)
                    .collect()
            })
            .collect();
        let started = Instant::now();
        for opening in &openings {
            black_box(detect(opening));
        }
        floor.detect += started.elapsed();
    }
    floor
}

/// A whole cold cycle built of the house's libraries and nothing of hejnal's
/// own: what no cold cycle can undercut on this machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct PipelineFloor {
    pub wall: Duration,
    /// Of this whole process, the farm serving the feeds included.
    pub cpu: Duration,
    pub fetched: usize,
    pub failed: usize,
    pub stored: usize,
}

/// One entry as the floor stores it: the least a stored item is.
struct Row {
    source: String,
    key: String,
    title: String,
    summary: String,
    published: Option<i64>,
}

/// Fetches every feed of `farm` with hejnal's fetcher (reqwest) as a cycle
/// does, `concurrency` at a time and two to a host; parses each with feed-rs
/// and sanitizes each summary with ammonia, one feed per core at a time; and
/// writes the entries to a new SQLite file at `db` (WAL, one transaction per
/// batch of feeds that arrived together, one unique index), then checkpoints
/// it. No language detection (hejnal runs whatlang on only a few entries), no
/// dedupe, no fingerprints, no publishing, no fetch state: only the parts a
/// cold cycle cannot do without.
pub fn pipeline(farm: &Farm, db: &Path, concurrency: usize) -> Result<PipelineFloor, BenchError> {
    let conn = rusqlite::Connection::open(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE entries (
             id INTEGER PRIMARY KEY, source TEXT NOT NULL, key TEXT NOT NULL,
             title TEXT NOT NULL, summary TEXT NOT NULL, published INTEGER,
             UNIQUE (source, key));",
    )?;
    let settings = FetchConfig {
        deny_private_networks: false,
        ..FetchConfig::default()
    };
    let fetcher = Arc::new(Fetcher::new(&settings, "hejnal-floor")?);
    let feeds: Vec<(String, String)> = farm
        .sources
        .iter()
        .map(|s| (s.id.clone(), farm.url(s)))
        .collect();
    let runtime = tokio::runtime::Runtime::new()?;
    let cpu_before = own_cpu()?;
    let started = Instant::now();
    let (sender, received) = std::sync::mpsc::channel::<Vec<Row>>();
    let storing = std::thread::spawn(move || store_rows(conn, &received));
    let (fetched, failed) = runtime.block_on(fetch_and_read(fetcher, feeds, concurrency, sender));
    let stored = storing
        .join()
        .map_err(|_| std::io::Error::other("the floor's storing thread panicked"))??;
    Ok(PipelineFloor {
        wall: started.elapsed(),
        cpu: own_cpu()?.saturating_sub(cpu_before),
        fetched,
        failed,
        stored,
    })
}

async fn fetch_and_read(
    fetcher: Arc<Fetcher>,
    feeds: Vec<(String, String)>,
    concurrency: usize,
    sender: std::sync::mpsc::Sender<Vec<Row>>,
) -> (usize, usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = Arc::new(Semaphore::new(cores));
    let limit = FetchConfig::default().max_body_bytes;
    let read = futures_util::stream::iter(feeds)
        .map(|(source, url)| {
            let (fetcher, cpu, sender) = (Arc::clone(&fetcher), Arc::clone(&cpu), sender.clone());
            async move {
                let Ok(FetchOutcome::Fetched(fetched)) =
                    fetcher.fetch(&url, &Conditional::default(), limit).await
                else {
                    return false;
                };
                let permit = cpu.acquire_owned().await.ok();
                let rows = tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    read_feed(&source, &fetched.body)
                })
                .await
                .ok()
                .flatten();
                rows.is_some_and(|rows| sender.send(rows).is_ok())
            }
        })
        .buffer_unordered(concurrency.max(1));
    let outcomes: Vec<bool> = read.collect().await;
    let fetched = outcomes.iter().filter(|ok| **ok).count();
    (fetched, outcomes.len() - fetched)
}

fn read_feed(source: &str, body: &[u8]) -> Option<Vec<Row>> {
    let feed = feed_rs_alone(body)?;
    let rows = feed
        .entries
        .iter()
        .map(|e| {
            let title = e
                .title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default();
            Row {
                source: source.to_string(),
                key: e.id.clone(),
                summary: sanitize(summary_of(e).unwrap_or(""), None),
                published: e.published.map(|d| d.timestamp_micros()),
                title,
            }
        })
        .collect();
    Some(rows)
}

/// Stores what arrives, every batch that is waiting in one transaction, until
/// the readers are done; then checkpoints, as a cycle does at its end.
fn store_rows(
    mut conn: rusqlite::Connection,
    received: &std::sync::mpsc::Receiver<Vec<Row>>,
) -> Result<usize, BenchError> {
    let mut stored = 0;
    while let Ok(first) = received.recv() {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO entries (source, key, title, summary, published) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for rows in std::iter::once(first).chain(received.try_iter()) {
                for r in rows {
                    insert.execute(rusqlite::params![
                        r.source,
                        r.key,
                        r.title,
                        r.summary,
                        r.published
                    ])?;
                    stored += 1;
                }
            }
        }
        tx.commit()?;
    }
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(stored)
}
