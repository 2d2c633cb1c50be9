//! The floor under a cycle's CPU time: what the libraries the house chose
//! cost over the farm's feeds on their own, with nothing of hejnal's around
//! them. feed-rs parses every document and ammonia, with hejnal's allowlists,
//! sanitizes every summary; no cycle can spend less than that.

use std::hint::black_box;
use std::time::{Duration, Instant};

use hejnal::clean::html::sanitize;

use super::farm::{Feeds, Served};

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
    feed.entries
        .iter()
        .filter_map(|e| {
            e.summary
                .as_ref()
                .map(|t| t.content.as_str())
                .or_else(|| e.content.as_ref().and_then(|c| c.body.as_deref()))
        })
        .collect()
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
        for body in &bodies {
            black_box(sanitize(body, None));
        }
        floor.sanitize += started.elapsed();
        floor.summaries += bodies.len();
    }
    floor
}
