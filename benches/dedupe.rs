//! Story grouping at scale: placing the 50,000 entries of a cold cycle and a
//! hundred thousand synthetic ones, and what one more entry costs in a store
//! that already holds a million, of long articles or of short notices.
//!
//! `cargo bench --bench dedupe`

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use hejnal::clean::fingerprint::simhash;
use hejnal::config::{Config, DedupeConfig};
use hejnal::dedupe::group;
use hejnal::model::{Entry, Lang, LangOrigin};
use hejnal::store::Store;
use hejnal::{clean, parse};
use tempfile::TempDir;
use xxhash_rust::xxh3::xxh3_64;

use support::farm::{self, FarmSpec};

/// Entries stored per day: Kraków and a dozen partner cities on busy news days.
const PER_DAY: usize = 900;
/// One in this many entries is a copy of an earlier one from another source.
const COPY_EVERY: usize = 5;
const BATCH: usize = 10_000;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn dated(i: usize) -> DateTime<Utc> {
    start() + TimeDelta::seconds((i * 86_400 / PER_DAY) as i64)
}

/// Made-up words, enough of them that two texts share few shingles by chance.
fn word(seed: u64) -> String {
    const SYLLABLES: [&str; 24] = [
        "ka", "ra", "wo", "mie", "sto", "pol", "ski", "na", "dro", "ga", "rat", "usz", "be", "ne",
        "lip", "zen", "tor", "wi", "sla", "mar", "ko", "ta", "ber", "gen",
    ];
    (0..2 + seed % 3)
        .map(|k| SYLLABLES[((seed >> (5 * k)) % 24) as usize])
        .collect()
}

fn text(i: usize, words: usize) -> String {
    (0..words as u64)
        .map(|k| word(xxh3_64(&[i.to_le_bytes(), k.to_le_bytes()].concat())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The i-th entry: a news item of its own, or a copy of one published a little
/// earlier by another source.
fn entry(i: usize) -> Entry {
    let news = if i % COPY_EVERY == COPY_EVERY - 1 {
        i - 3
    } else {
        i
    };
    let title = text(news, 6);
    let body = format!("{}.", text(news + 1_000_000_000, 45));
    let source = format!("source-{}", i % 40);
    let link = format!("https://{source}.example/news/{i}");
    Entry {
        source_id: source,
        key: link.clone(),
        guid: Some(link.clone()),
        canonical_link: Some(link.clone()),
        link: Some(link),
        fingerprint: simhash(&title, &body),
        facts: 0,
        content_hash: xxh3_64(format!("{title}{body}").as_bytes()),
        categories: Vec::new(),
        title,
        summary: format!("<p>{body}</p>"),
        authors: Vec::new(),
        published: Some(dated(i)),
        updated: None,
        lang: Lang::parse("pl").unwrap_or_else(|| unreachable!("a valid code")),
        lang_origin: LangOrigin::Feed,
        image: None,
    }
}

/// The i-th short notice (18 words, found by its body sketch): a notice of its
/// own, or a copy of one published a little earlier by another source, under
/// a headline of its own and with three words added.
fn notice(i: usize) -> Entry {
    let copy = i % COPY_EVERY == COPY_EVERY - 1;
    let news = if copy { i - 3 } else { i };
    let mut body = text(news + 1_000_000_000, 18);
    if copy {
        body = format!("{body} {}", text(i + 2_000_000_000, 3));
    }
    let body = format!("{body}.");
    let title = text(i, 6);
    Entry {
        fingerprint: simhash(&title, &body),
        content_hash: xxh3_64(format!("{title}{body}").as_bytes()),
        title,
        summary: format!("<p>{body}</p>"),
        ..entry(i)
    }
}

fn settings(max_distance: u32) -> DedupeConfig {
    DedupeConfig {
        max_distance,
        ..DedupeConfig::default()
    }
}

/// A store file holding entries `0..n`, stored but not yet grouped.
fn stored(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join(format!("stored-{n}.db"));
    let mut store = Store::open(&path).expect("bench store");
    for from in (0..n).step_by(BATCH) {
        let batch: Vec<Entry> = (from..(from + BATCH).min(n)).map(entry).collect();
        store
            .upsert_entries(&batch, dated(from))
            .expect("bench upsert");
    }
    path
}

/// A store file holding entries `0..n`, each in a story of its own: the bulk
/// path, which skips the lookups so that a million entries take a minute.
fn grouped(dir: &Path, n: usize, make: fn(usize) -> Entry) -> PathBuf {
    let path = dir.join(format!("grouped-{n}.db"));
    let mut store = Store::open(&path).expect("bench store");
    for from in (0..n).step_by(BATCH) {
        let batch: Vec<Entry> = (from..(from + BATCH).min(n)).map(make).collect();
        store
            .upsert_entries(&batch, dated(from))
            .expect("bench upsert");
        let pass = store.grouping().expect("bench grouping");
        for e in pass.unassigned().expect("bench unassigned") {
            let born = e.dated();
            pass.create_story(&e, born, born).expect("bench story");
        }
        pass.commit().expect("bench commit");
    }
    path
}

/// A fresh copy of a store file, so every run starts from the same state. Runs
/// share one file, overwritten: a copy can be 150 MB.
fn copy_of(template: &Path, dir: &Path, run: usize) -> Store {
    let path = dir.join(format!("run-{run}.db"));
    std::fs::copy(template, &path).expect("bench copy");
    Store::open(&path).expect("bench open")
}

fn group_100k(c: &mut Criterion) {
    let dir = TempDir::new().expect("temp dir");
    let n = 100_000;
    // Built on first use, so a filter that skips this bench skips its setup too.
    let mut template = None;
    let mut g = c.benchmark_group("dedupe");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(60));
    g.bench_function("group 100000 stored entries", |b| {
        let template = template.get_or_insert_with(|| stored(dir.path(), n));
        b.iter_batched(
            // One file, overwritten: the last run's store is closed by then.
            || copy_of(template, dir.path(), 1),
            |mut store| {
                let report = group(&mut store, &settings(3), dated(n)).expect("group");
                assert_eq!(report.new_stories + report.joined, n);
                store
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

/// A store file holding what one cold cycle of the farm stores: `sources` feeds
/// of 50 items (2–3 KB summaries, one item in ten carried by several sources),
/// parsed, cleaned and stored a feed per transaction, none grouped yet.
fn after_cold_cycle(dir: &Path, sources: usize) -> (PathBuf, usize) {
    let now = Utc::now();
    let feeds = farm::generate(&FarmSpec {
        sources,
        items: 50,
        seed: 2024,
        hosts: sources.min(200),
        anchor: now - TimeDelta::hours(1),
        first_item: 0,
    });
    let mut toml = "[publisher]\ntitle = \"hejnal benchmark\"\n\
        base_url = \"https://hejnal.example/\"\nlanguages = [\"pl\", \"en\"]\n"
        .to_string();
    let url = |s: &farm::FarmSource| format!("http://{}{}", farm::host_ip(s.host), s.path);
    for s in &feeds.sources {
        toml.push_str(&support::cycle::source_table(s, &url(s)));
    }
    let config = Config::parse(&toml, dir.to_path_buf()).expect("bench feeds.toml");
    let path = dir.join(format!("cold-{sources}.db"));
    let mut store = Store::open(&path).expect("bench store");
    let mut stored = 0;
    for s in &feeds.sources {
        let doc = &feeds.documents[&s.path];
        let parsed =
            parse::parse(&doc.body, Some(doc.content_type), &url(s), 500).expect("farm feed");
        let source = config.source(&s.id).expect("farm source");
        let entries = clean::clean(source, &parsed, &url(s), &[], now);
        stored += store
            .upsert_entries(&entries, now)
            .expect("bench upsert")
            .len();
    }
    (path, stored)
}

fn group_cold_cycle(c: &mut Criterion) {
    let dir = TempDir::new().expect("temp dir");
    let mut template = None;
    let mut g = c.benchmark_group("dedupe");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    g.bench_function("group 50000 fresh entries after a cold cycle", |b| {
        let (template, n) = template.get_or_insert_with(|| after_cold_cycle(dir.path(), 1_000));
        b.iter_batched(
            || copy_of(template, dir.path(), 1),
            |mut store| {
                let report =
                    group(&mut store, &DedupeConfig::default(), Utc::now()).expect("group");
                assert_eq!(report.new_stories + report.joined, *n);
                store
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

/// What [`add_one`] stores: articles or short notices.
struct Kind {
    /// "entry" or "short notice", and the plural.
    names: (&'static str, &'static str),
    make: fn(usize) -> Entry,
}

const ARTICLES: Kind = Kind {
    names: ("entry", "entries"),
    make: entry,
};
const NOTICES: Kind = Kind {
    names: ("short notice", "short notices"),
    make: notice,
};

/// One more entry, stored and grouped in a cycle of its own, in a store of `n`.
fn add_one(c: &mut Criterion, n: usize, max_distance: u32, kind: &Kind) {
    let dir = TempDir::new().expect("temp dir");
    let mut store: Option<Store> = None;
    let mut next = n;
    let mut g = c.benchmark_group("dedupe");
    g.sample_size(50);
    let (one, many) = kind.names;
    let name = format!("add one {one} to {n} grouped {many}, max_distance {max_distance}");
    g.bench_function(name, |b| {
        let store =
            store.get_or_insert_with(|| copy_of(&grouped(dir.path(), n, kind.make), dir.path(), 0));
        b.iter(|| {
            // Dated among the stored ones: a full window of neighbours around it.
            let mut e = (kind.make)(next);
            e.published = Some(dated(n / 2 + next % 1000));
            next += 1;
            store.upsert_entries(&[e], dated(n)).expect("upsert");
            black_box(group(store, &settings(max_distance), dated(n)).expect("group"))
        });
    });
    g.finish();
}

fn add_one_entry(c: &mut Criterion) {
    add_one(c, 100_000, 3, &ARTICLES);
    add_one(c, 1_000_000, 3, &ARTICLES);
    add_one(c, 1_000_000, 7, &ARTICLES);
    add_one(c, 100_000, 3, &NOTICES);
    add_one(c, 1_000_000, 3, &NOTICES);
}

criterion_group!(benches, group_cold_cycle, group_100k, add_one_entry);
criterion_main!(benches);
