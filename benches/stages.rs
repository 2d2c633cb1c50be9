//! One criterion group per stage, on farm-generated data:
//! parse + clean per MB, store upserts, dedupe, publish, the status page, serve.
//!
//! cargo bench --bench stages            (all)
//! cargo bench --bench stages -- store   (one group)

#[path = "support/mod.rs"]
mod support;

use std::cell::{OnceCell, RefCell};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tower::ServiceExt;

use hejnal::config::{Config, SourceConfig};
use hejnal::model::{Entry, ParsedFeed, Story};
use hejnal::publish::{self, RenderExtras};
use hejnal::serve::status::Status;
use hejnal::serve::{Site, router};
use hejnal::store::{FetchHealth, Store};
use hejnal::{alerts, clean, dedupe, parse};

use support::farm::{self, FarmSpec, Feeds};
use support::floor;

const MAX_ITEMS: usize = 500;

fn anchor() -> DateTime<Utc> {
    Utc::now() - chrono::Duration::hours(1)
}

fn feeds(sources: usize, items: usize) -> Feeds {
    farm::generate(&FarmSpec {
        sources,
        items,
        seed: 2024,
        hosts: sources.min(200),
        anchor: anchor(),
        first_item: 0,
    })
}

/// feeds.toml for the farm's sources, without a running farm.
fn config(feeds: &Feeds, base: &Path) -> Config {
    let mut text = "[publisher]\ntitle = \"hejnal benchmark\"\n\
        base_url = \"https://hejnal.example/\"\nlanguages = [\"pl\", \"en\"]\n\
        max_items = 200\n"
        .to_string();
    for s in &feeds.sources {
        let url = format!("http://{}{}", farm::host_ip(s.host), s.path);
        text.push_str(&support::cycle::source_table(s, &url));
    }
    match Config::parse(&text, base.to_path_buf()) {
        Ok(c) => c,
        Err(problems) => panic!("benchmark feeds.toml is invalid: {problems:?}"),
    }
}

fn source<'c>(config: &'c Config, id: &str) -> &'c SourceConfig {
    config
        .source(id)
        .unwrap_or_else(|| panic!("no source {id}"))
}

/// Every farm feed parsed, with its source and the URL it was served from.
fn parsed<'c>(feeds: &Feeds, config: &'c Config) -> Vec<(&'c SourceConfig, ParsedFeed, String)> {
    feeds
        .sources
        .iter()
        .map(|s| {
            let doc = &feeds.documents[&s.path];
            let url = format!("http://{}{}", farm::host_ip(s.host), s.path);
            let feed = parse::parse(&doc.body, Some(doc.content_type), &url, MAX_ITEMS)
                .unwrap_or_else(|e| panic!("farm feed {} does not parse: {e}", s.path));
            (source(config, &s.id), feed, url)
        })
        .collect()
}

/// Every farm feed parsed and cleaned, one batch per source as the cycle stores them.
fn entries(feeds: &Feeds, config: &Config) -> Vec<Vec<Entry>> {
    let now = Utc::now();
    parsed(feeds, config)
        .into_iter()
        .map(|(source, feed, url)| clean::clean(source, &feed, &url, &[], now))
        .collect()
}

fn parse_clean(c: &mut Criterion) {
    let feeds = feeds(2, 50);
    let config = config(&feeds, Path::new("."));
    let now = Utc::now();
    let mut group = c.benchmark_group("parse_clean");
    for s in &feeds.sources {
        let doc = &feeds.documents[&s.path];
        let url = format!("http://{}{}", farm::host_ip(s.host), s.path);
        let kind = if s.path.ends_with("atom") {
            "atom"
        } else {
            "rss"
        };
        let src = source(&config, &s.id);
        group.throughput(Throughput::Bytes(doc.body.len() as u64));
        group.bench_function(format!("parse {kind} 50 items"), |b| {
            b.iter(|| {
                parse::parse(
                    black_box(&doc.body),
                    Some(doc.content_type),
                    &url,
                    MAX_ITEMS,
                )
            })
        });
        // What the feed parser alone costs, with nothing of hejnal's around it:
        // the floor under parsing, which no work of ours can go below.
        group.bench_function(format!("floor: feed-rs alone, {kind} 50 items"), |b| {
            b.iter(|| floor::feed_rs_alone(black_box(&doc.body)).map(|f| f.entries.len()))
        });
        let parsed = parse::parse(&doc.body, Some(doc.content_type), &url, MAX_ITEMS)
            .unwrap_or_else(|e| panic!("{e}"));
        group.bench_function(format!("clean {kind} 50 items"), |b| {
            b.iter(|| clean::clean(src, black_box(&parsed), &url, &[], now))
        });
        let summaries: Vec<&str> = parsed
            .entries
            .iter()
            .filter_map(|d| d.summary.as_deref())
            .collect();
        // ammonia with hejnal's allowlists, which is all that sanitizing is: the
        // floor under cleaning.
        group.bench_function(format!("clean part: sanitize {kind} summaries"), |b| {
            b.iter(|| {
                for s in &summaries {
                    black_box(clean::html::sanitize(s, None));
                }
            })
        });
        group.bench_function(format!("clean part: plain text of {kind} summaries"), |b| {
            b.iter(|| {
                for s in &summaries {
                    black_box(clean::html::plain_text(s));
                }
            })
        });
        let texts: Vec<String> = summaries
            .iter()
            .map(|s| clean::html::plain_text(s))
            .collect();
        for chars in [2_000, 500] {
            let heads: Vec<String> = texts
                .iter()
                .map(|t| t.chars().take(chars).collect())
                .collect();
            group.bench_function(
                format!("clean part: language of {kind} texts, first {chars} chars"),
                |b| {
                    b.iter(|| {
                        for head in &heads {
                            black_box(clean::lang::detect(head));
                        }
                    })
                },
            );
        }
        group.bench_function(format!("parse+clean {kind} 50 items"), |b| {
            b.iter(|| {
                let parsed = parse::parse(
                    black_box(&doc.body),
                    Some(doc.content_type),
                    &url,
                    MAX_ITEMS,
                )
                .map_err(|e| e.to_string());
                parsed.map(|p| clean::clean(src, &p, &url, &[], now))
            })
        });
    }
    group.finish();
    clean_two_threads(c);
}

/// The cycle cleans feeds on both cores at once; this is that throughput, next to
/// the same feeds cleaned on one thread. Threads are started per iteration, as the
/// cost of starting two is small next to cleaning eight feeds.
fn clean_two_threads(c: &mut Criterion) {
    let feeds = feeds(8, 50);
    let config = config(&feeds, Path::new("."));
    let now = Utc::now();
    let parsed = parsed(&feeds, &config);
    let clean_all = |feeds: &[(&SourceConfig, ParsedFeed, String)]| -> usize {
        feeds
            .iter()
            .map(|(src, feed, url)| clean::clean(src, black_box(feed), url, &[], now).len())
            .sum()
    };
    let mut group = c.benchmark_group("parse_clean");
    group.throughput(Throughput::Bytes(feeds.bytes()));
    group.bench_function("clean 8 feeds of 50 items, 1 thread", |b| {
        b.iter(|| clean_all(&parsed))
    });
    group.bench_function("clean 8 feeds of 50 items, 2 threads", |b| {
        b.iter(|| {
            std::thread::scope(|scope| {
                let (left, right) = parsed.split_at(parsed.len() / 2);
                let other = scope.spawn(|| clean_all(right));
                clean_all(left) + other.join().unwrap_or_else(|_| panic!("cleaning panicked"))
            })
        })
    });
    group.finish();
}

fn fresh_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = Store::open(&dir.path().join("hejnal.db")).unwrap_or_else(|e| panic!("{e}"));
    (dir, store)
}

fn upsert_all(store: &mut Store, batches: &[Vec<Entry>]) {
    let now = Utc::now();
    for batch in batches {
        store
            .upsert_entries(batch, now)
            .unwrap_or_else(|e| panic!("upsert: {e}"));
    }
}

/// The cycle copies the WAL into the database once its writes are done; that
/// copy is part of what storing costs.
fn checkpoint(store: &Store) {
    store
        .checkpoint()
        .unwrap_or_else(|e| panic!("checkpoint: {e}"));
}

/// 10,000 entries from 200 farm feeds, in batches of one feed.
fn store_batches() -> Vec<Vec<Entry>> {
    let feeds = feeds(200, 50);
    entries(&feeds, &config(&feeds, Path::new(".")))
}

fn store(c: &mut Criterion) {
    // Built on first use, so a filter that skips this group skips its setup too.
    let batches = OnceCell::new();
    let mut group = c.benchmark_group("store");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    // 100 feeds per transaction is how a cold cycle stores them: the harvests
    // that are ready share one. The cycle checkpoints once, after publishing;
    // the last line shows the upserts and commits without it.
    for (name, feeds_per_transaction, checkpointed) in [
        ("upsert 10000 new entries, 50 per transaction", 1, true),
        ("upsert 10000 new entries, 5000 per transaction", 100, true),
        (
            "upsert 10000 new entries, 5000 per transaction, no checkpoint",
            100,
            false,
        ),
    ] {
        group.bench_function(name, |b| {
            let batches = batches.get_or_init(store_batches);
            let transactions: Vec<Vec<Entry>> = batches
                .chunks(feeds_per_transaction)
                .map(|feeds| feeds.concat())
                .collect();
            b.iter_batched(
                fresh_store,
                |(dir, mut store)| {
                    upsert_all(&mut store, &transactions);
                    if checkpointed {
                        checkpoint(&store);
                    }
                    (dir, store)
                },
                BatchSize::PerIteration,
            )
        });
    }
    let warm = OnceCell::new();
    group.bench_function("upsert 10000 unchanged entries", |b| {
        let batches = batches.get_or_init(store_batches);
        let (_dir, store) = warm.get_or_init(|| {
            let (dir, mut store) = fresh_store();
            upsert_all(&mut store, batches);
            (dir, RefCell::new(store))
        });
        b.iter(|| upsert_all(&mut store.borrow_mut(), batches))
    });
    group.finish();
}

/// A database file holding `sources × 50` entries, none in a story yet.
fn unassigned_database(dir: &Path, sources: usize) -> (PathBuf, usize) {
    let feeds = feeds(sources, 50);
    let config = config(&feeds, Path::new("."));
    let path = dir.join("unassigned.db");
    let mut store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut count = 0;
    // Cleaned a slice at a time, so the whole input is never held at once.
    for chunk in feeds.sources.chunks(100) {
        let part = Feeds {
            sources: chunk.to_vec(),
            documents: chunk
                .iter()
                .map(|s| (s.path.clone(), feeds.documents[&s.path].clone()))
                .collect(),
        };
        let batches = entries(&part, &config);
        count += batches.iter().map(Vec::len).sum::<usize>();
        upsert_all(&mut store, &batches);
    }
    (path, count)
}

fn dedupe(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let template = OnceCell::new();
    let settings = hejnal::config::DedupeConfig::default();
    let mut group = c.benchmark_group("dedupe");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("group 100000 entries", |b| {
        let (template, _count) = template.get_or_init(|| unassigned_database(dir.path(), 2_000));
        b.iter_batched(
            || {
                let copy = dir.path().join("copy.db");
                std::fs::copy(template, &copy).unwrap_or_else(|e| panic!("copy: {e}"));
                Store::open(&copy).unwrap_or_else(|e| panic!("{e}"))
            },
            |mut store| {
                let report = dedupe::group(&mut store, &settings, Utc::now());
                (report.map(|r| r.new_stories).unwrap_or(0), store)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// The newest 200 stories of a store filled from 200 farm feeds.
fn stories(config: &Config, feeds: &Feeds) -> Vec<Story> {
    let (_dir, mut store) = fresh_store();
    upsert_all(&mut store, &entries(feeds, config));
    dedupe::group(&mut store, &config.dedupe, Utc::now()).unwrap_or_else(|e| panic!("{e}"));
    store.latest_stories(200).unwrap_or_else(|e| panic!("{e}"))
}

/// A config of 200 farm sources and its 200 newest stories.
fn publishable() -> (Config, Vec<Story>) {
    let feeds = feeds(200, 50);
    let config = config(&feeds, Path::new("."));
    let stories = stories(&config, &feeds);
    (config, stories)
}

fn publish(c: &mut Criterion) {
    let input = OnceCell::new();
    let extras = RenderExtras::default();
    let render = || {
        let (config, stories) = input.get_or_init(publishable);
        publish::render_with(config, stories, &extras).unwrap_or_else(|e| panic!("{e}"))
    };
    let mut group = c.benchmark_group("publish");
    group.sample_size(20);
    group.bench_function("render 200 stories, all formats", |b| b.iter(render));
    // Renders alternate between two sets whose summaries all differ, so no
    // render finds a text prepared by the one before: the cost of a render
    // whose stories are all new, as the first render after a start.
    let changed = OnceCell::new();
    group.bench_function("render 200 stories, every text new", |b| {
        let (config, stories) = input.get_or_init(publishable);
        let changed = changed.get_or_init(|| with_changed_summaries(stories));
        let mut sets = [stories, changed].into_iter().cycle();
        b.iter(|| {
            let set = sets.next().unwrap_or(stories);
            publish::render_with(config, set, &extras).unwrap_or_else(|e| panic!("{e}"))
        })
    });
    group.bench_function("render + write, every file new", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
            |dir| {
                let files = render();
                publish::write(dir.path(), &files).unwrap_or_else(|e| panic!("{e}"));
                dir
            },
            BatchSize::PerIteration,
        )
    });
    let out = OnceCell::new();
    group.bench_function("render + write, nothing changed", |b| {
        let out = out.get_or_init(|| {
            let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
            publish::write(out.path(), &render()).unwrap_or_else(|e| panic!("{e}"));
            out
        });
        b.iter(|| publish::write(out.path(), &render()).unwrap_or_else(|e| panic!("{e}")))
    });
    group.finish();
}

/// 1,000 farm sources with 20 entries each in a store, one in ten failing
/// with a redirect chain, the others with a warning from their parse.
fn surveyed() -> (tempfile::TempDir, Config, Store) {
    let feeds = feeds(1000, 20);
    let config = config(&feeds, Path::new("."));
    let (dir, mut store) = fresh_store();
    upsert_all(&mut store, &entries(&feeds, &config));
    let batch = store.batch().unwrap_or_else(|e| panic!("{e}"));
    for (n, source) in feeds.sources.iter().enumerate() {
        let health = if n % 10 == 0 {
            FetchHealth {
                failure: Some("HTTP 404".into()),
                chain: vec![301, 404],
                ..FetchHealth::default()
            }
        } else {
            FetchHealth {
                chain: vec![200],
                conditional: Some(true),
                warnings: Some(vec![parse::Warning::EntriesWithoutDates {
                    count: 3,
                    of: 20,
                }]),
                ..FetchHealth::default()
            }
        };
        batch
            .record_health(&source.id, &health, Utc::now())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    batch.commit().unwrap_or_else(|e| panic!("{e}"));
    (dir, config, store)
}

/// What every cycle adds to publishing for the status page: each source's
/// health read from the store, and status.json and three status.html rendered.
fn status(c: &mut Criterion) {
    let input = OnceCell::new();
    let mut group = c.benchmark_group("status");
    group.sample_size(10);
    group.bench_function("survey 1000 sources", |b| {
        let (_dir, config, store) = input.get_or_init(surveyed);
        b.iter(|| {
            alerts::health::survey(config, store, Utc::now()).unwrap_or_else(|e| panic!("{e}"))
        })
    });
    group.bench_function("survey + render 1000 sources", |b| {
        let (_dir, config, store) = input.get_or_init(surveyed);
        b.iter(|| {
            let health =
                alerts::health::survey(config, store, Utc::now()).unwrap_or_else(|e| panic!("{e}"));
            publish::status::render(config, &health).unwrap_or_else(|e| panic!("{e}"))
        })
    });
    group.finish();
}

/// `stories` with a word added to every summary.
fn with_changed_summaries(stories: &[Story]) -> Vec<Story> {
    let mut changed = stories.to_vec();
    for story in &mut changed {
        for stored in &mut story.entries {
            stored.entry.summary.push_str(" <p>changed</p>");
        }
        for translation in &mut story.translations {
            translation.summary.push_str(" <p>changed</p>");
        }
    }
    changed
}

/// A published site of 200 stories, and the server over it.
fn served_site() -> (tempfile::TempDir, axum::Router) {
    let (config, stories) = publishable();
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let files = publish::render(&config, &stories).unwrap_or_else(|e| panic!("{e}"));
    publish::write(out.path(), &files).unwrap_or_else(|e| panic!("{e}"));
    let site = Site::new(
        out.path().to_path_buf(),
        Arc::new(Status::serve_only()),
        Duration::from_secs(300),
    );
    (out, router(site))
}

fn serve(c: &mut Criterion) {
    let site = OnceCell::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let get = |conditional: Option<&str>| {
        let mut request = Request::get("/feed.xml").header(header::ACCEPT_ENCODING, "gzip");
        if let Some(etag) = conditional {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        let request = request
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("{e}"));
        let (_out, app) = site.get_or_init(served_site);
        runtime.block_on(async {
            let response = app
                .clone()
                .oneshot(request)
                .await
                .unwrap_or_else(|e| match e {});
            let status = response.status();
            let etag = response.headers().get(header::ETAG).cloned();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
            (status, etag, body.map(|b| b.len()).unwrap_or(0))
        })
    };
    let etag = OnceCell::new();
    let etag = || -> String {
        etag.get_or_init(|| {
            let (status, etag, _) = get(None);
            assert_eq!(status, StatusCode::OK);
            let etag = etag
                .and_then(|e| e.to_str().ok().map(str::to_string))
                .unwrap_or_default();
            assert_eq!(get(Some(&etag)).0, StatusCode::NOT_MODIFIED);
            etag
        })
        .clone()
    };

    let mut group = c.benchmark_group("serve");
    group.throughput(Throughput::Elements(1));
    group.bench_function("GET /feed.xml gzip, 200", |b| {
        etag();
        b.iter(|| get(None))
    });
    group.bench_function("GET /feed.xml, If-None-Match, 304", |b| {
        let tag = etag();
        b.iter(|| get(Some(&tag)))
    });
    group.finish();
}

criterion_group!(benches, parse_clean, store, dedupe, publish, status, serve);
criterion_main!(benches);
