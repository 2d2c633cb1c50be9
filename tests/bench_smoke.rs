//! The benchmark code itself works: a tiny farm, the real binary cold and warm,
//! the library cycle, and a short soak. Nothing here is timed.

#[path = "../benches/support/mod.rs"]
mod support;

use std::path::Path;

use chrono::{DateTime, Utc};

use support::cycle::{self, Churn, Setup};
use support::farm::{self, Farm, FarmSpec, Shape, Text};
use support::floor;
use support::realistic;
use support::scale::{self, Plan};
use support::served::{self, Kind, Serving};
use support::text::{Language, Rng};

fn spec(sources: usize, items: usize, seed: u64) -> FarmSpec {
    let anchor = DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now());
    FarmSpec {
        sources,
        items,
        seed,
        hosts: 3,
        // Recent enough that no item is dropped as too old, whenever this runs.
        anchor: anchor.max(Utc::now() - chrono::Duration::days(1)),
        first_item: 0,
    }
}

fn setup() -> Setup {
    Setup {
        concurrency: 4,
        per_host: None,
        archive_months: None,
        editors: false,
        schedule: None,
    }
}

#[test]
fn the_farm_is_deterministic_and_mixes_formats_and_shared_links() {
    let spec = spec(6, 20, 7);
    let a = farm::generate(&spec);
    let b = farm::generate(&spec);
    assert_eq!(a.bytes(), b.bytes());
    for (path, doc) in &a.documents {
        assert_eq!(doc.body, b.documents[path].body, "{path}");
        assert_eq!(doc.etag, b.documents[path].etag, "{path}");
    }
    let other = farm::generate(&FarmSpec { seed: 8, ..spec });
    assert_ne!(a.bytes(), other.bytes());

    let bodies: Vec<String> = a
        .documents
        .values()
        .map(|d| String::from_utf8_lossy(&d.body).into_owned())
        .collect();
    assert!(bodies.iter().any(|b| b.contains("<rss version=\"2.0\"")));
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""))
    );
    assert!(bodies.iter().any(|b| b.contains("utm_source=")));
    assert!(bodies.iter().any(|b| b.contains("ż") || b.contains("ü")));
    let per_item = a.bytes() as usize / (6 * 20);
    assert!(
        (2_000..6_000).contains(&per_item),
        "{per_item} bytes per item"
    );
}

/// Fetches `url` with optional If-None-Match over a raw socket; returns the status line.
fn status_of(url: &str, etag: Option<&str>) -> String {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the farm");
    let conditional = etag.map_or(String::new(), |e| format!("If-None-Match: {e}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{conditional}Connection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok();
    answer.lines().next().unwrap_or("").to_string()
}

/// The ETag the farm gives the first source's document.
fn own_etag(feeds: &farm::Feeds) -> String {
    let path = &feeds.sources[0].path;
    let etag = feeds.documents[path].etag.to_str().map(str::to_string);
    etag.unwrap_or_default()
}

#[test]
fn the_farm_answers_304_to_its_own_etag_only() {
    // The ETag is read from the very documents served: the farm's dates
    // follow the clock, so feeds generated a second later differ.
    let feeds = farm::generate(&spec(2, 3, 1));
    let own = own_etag(&feeds);
    let farm = Farm::start(feeds, 2).expect("farm");
    let url = farm.url(&farm.sources[0]);
    assert!(status_of(&url, None).contains("200"));
    assert!(status_of(&url, Some(&own)).contains("304"));
    assert!(status_of(&url, Some("\"stale\"")).contains("200"));
    assert_eq!(farm.not_modified(), 1);
    assert!(farm.url(&farm.sources[1]).contains("127.0.1.2"));
}

#[test]
fn the_floor_parses_every_farm_feed_and_sanitizes_every_summary() {
    let spec = spec(6, 5, 7);
    let feeds = farm::generate(&spec);
    let floor = floor::measure(&feeds);
    assert_eq!((floor.documents, floor.unparsed), (6, 0), "{floor:?}");
    assert_eq!(floor.summaries, 30);
    assert_eq!(floor.bytes, feeds.bytes());
    assert!(!floor.parse.is_zero() && !floor.sanitize.is_zero());
    let (parts, wall) = floor::measure_parallel(&feeds, 2);
    assert_eq!(parts.iter().map(|p| p.documents).sum::<usize>(), 6);
    assert_eq!(parts.iter().map(|p| p.summaries).sum::<usize>(), 30);
    assert!(!wall.is_zero());
}

#[test]
fn the_libraries_cold_cycle_fetches_and_stores_every_farm_item() {
    let spec = spec(6, 5, 7);
    let farm = Farm::start(farm::generate(&spec), spec.hosts).expect("farm");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("floor.db");
    let run = floor::pipeline(&farm, &db, 4).expect("floor pipeline");
    assert_eq!((run.fetched, run.failed, run.stored), (6, 0, 30), "{run:?}");
    assert_eq!(farm.requests(), 6);
    let conn = rusqlite::Connection::open(&db).expect("floor database");
    let (rows, scripts): (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(summary LIKE '%<script%') FROM entries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count");
    assert_eq!((rows, scripts), (30, 0), "every item stored, sanitized");
}

#[test]
fn a_tiny_cycle_benchmark_publishes_then_gets_all_304s() {
    let spec = spec(5, 5, 42);
    let farm = Farm::start(farm::generate(&spec), spec.hosts).expect("farm");
    let work = tempfile::tempdir().expect("tempdir");
    let binary = Path::new(env!("CARGO_BIN_EXE_hejnal"));
    let round = cycle::round(work.path(), binary, &farm, &setup(), None).expect("round");

    assert_eq!(round.cold.summary.ok, 5, "{round:?}");
    assert_eq!(round.cold.summary.new_entries, 25);
    assert!(round.cold.summary.new_stories > 0);
    assert!(round.published > 0, "feed.xml has items");
    assert!(round.cold.max_rss_kib > 0 && round.cold.wall > round.cold.cpu() / 4);
    // The farm served the feeds while the child ran. No upper bound: the other
    // tests of this file run in the same process, on the same clock.
    assert!(!round.cold.farm_cpu.is_zero());

    assert_eq!(round.warm.summary.not_modified, 5, "{round:?}");
    assert_eq!(round.warm.summary.new_entries, 0);

    assert_eq!(round.lib_cold.ok, 5);
    assert_eq!(round.lib_cold.new_entries, 25);
    assert_eq!(round.lib_warm.not_modified, 5);

    let medians = cycle::Medians {
        rounds: vec![round],
        items: 25,
        feed_bytes: 1,
    };
    let text = medians.to_string();
    assert!(text.contains("cold") && text.contains("warm") && text.contains("publish"));
    assert!(text.contains("farm cpu"));
}

#[test]
fn without_validators_the_farm_sends_every_body_and_the_warm_cycle_reads_none_again() {
    let spec = spec(4, 5, 11);
    let feeds = farm::generate(&spec);
    let own = own_etag(&feeds);
    let farm = Farm::start(feeds, spec.hosts).expect("farm");
    farm.set_validators(false);
    assert!(status_of(&farm.url(&farm.sources[0]), Some(&own)).contains("200"));

    let work = tempfile::tempdir().expect("tempdir");
    let binary = Path::new(env!("CARGO_BIN_EXE_hejnal"));
    let round = cycle::round(work.path(), binary, &farm, &setup(), None).expect("round");
    assert_eq!(farm.not_modified(), 0, "the farm never answered 304");
    assert_eq!(round.cold.summary.ok, 4, "{round:?}");
    assert_eq!(round.warm.summary.not_modified, 4, "{round:?}");
    assert_eq!(round.lib_warm.not_modified, 4);
}

#[test]
fn with_churn_the_warm_cycles_find_one_new_item_in_every_feed() {
    let spec = spec(4, 5, 13);
    let cold = farm::generate(&spec);
    let churn = Churn {
        cold: cold.clone(),
        warm: farm::generate(&FarmSpec {
            first_item: 1,
            ..spec.clone()
        }),
    };
    let farm = Farm::start(cold, spec.hosts).expect("farm");
    let work = tempfile::tempdir().expect("tempdir");
    let binary = Path::new(env!("CARGO_BIN_EXE_hejnal"));
    let round = cycle::round(work.path(), binary, &farm, &setup(), Some(&churn)).expect("round");
    assert_eq!(round.cold.summary.new_entries, 20, "{round:?}");
    assert_eq!(round.warm.summary.ok, 4, "{round:?}");
    assert_eq!(
        round.warm.summary.new_entries, 4,
        "one new item a feed: {round:?}"
    );
    assert_eq!(
        round.lib_cold.new_entries, 20,
        "the cold feeds are back for the library"
    );
    assert_eq!(round.lib_warm.new_entries, 4);
}

#[test]
fn shared_stories_fold_into_one() {
    // 10 sources × 10 items: 10 shared items drawn from a pool of 5 stories.
    let spec = spec(10, 10, 3);
    let farm = Farm::start(farm::generate(&spec), spec.hosts).expect("farm");
    let work = tempfile::tempdir().expect("tempdir");
    let config = cycle::write_config(work.path(), &farm, &setup()).expect("config");
    let mut library = cycle::LibraryCycle::open(&config).expect("library");
    let run = library.run().expect("cycle");
    assert_eq!(run.new_entries, 100);
    let stories = library.stories().expect("stories");
    assert!(stories <= 95, "{stories} stories from 100 entries");
}

#[test]
fn a_short_soak_samples_memory_and_refreshes_feeds() {
    let spec = spec(3, 4, 9);
    let farm = Farm::start(farm::generate(&spec), spec.hosts).expect("farm");
    let work = tempfile::tempdir().expect("tempdir");
    let config = cycle::write_config(work.path(), &farm, &setup()).expect("config");
    let soak = cycle::soak(&config, &farm, 4, 2, |n| {
        farm::generate(&FarmSpec {
            seed: 100 + n as u64,
            ..spec.clone()
        })
    })
    .expect("soak");
    assert_eq!(
        soak.samples.iter().map(|s| s.cycle).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(
        soak.samples
            .iter()
            .all(|s| s.rss_kib > 0 && s.anon_kib > 0 && s.anon_kib <= s.rss_kib)
    );
    assert_eq!(soak.failed_fetches, 0);
    assert!(soak.new_stories > 12, "refreshed feeds bring new stories");
}

#[test]
fn the_realistic_farm_varies_length_markup_and_language_within_a_text() {
    let spec = spec(10, 20, 5);
    let shape = Shape {
        text: Text::Realistic,
        ..Shape::default()
    };
    let a = farm::generate_shaped(&spec, &shape);
    let b = farm::generate_shaped(&spec, &shape);
    assert_eq!(a.bytes(), b.bytes(), "deterministic");
    let bodies: Vec<String> = a
        .documents
        .values()
        .map(|d| String::from_utf8_lossy(&d.body).into_owned())
        .collect();
    let all = bodies.concat();
    for needle in ["<figure", "<table", "<font", "<script", "&amp;nbsp;", "📅"] {
        assert!(
            all.contains(needle) || all.contains(&needle.replace('<', "&lt;")),
            "{needle}"
        );
    }
    // Three languages inside one feed of the Polish city, not one per feed.
    let krakow = &a.documents[&a.sources[0].path].body;
    let krakow = String::from_utf8_lossy(krakow);
    assert!(krakow.contains("Rada Miasta") || krakow.contains("Prezydent miasta"));
    assert!(["Der ", "Die ", "Das "].iter().any(|w| krakow.contains(w)));
    assert!(krakow.contains("The "));
    // Sizes as in the corpora: half the summaries under 1 KB, a long tail
    // past 8 KB.
    let mut sizes: Vec<usize> = (0..400)
        .map(|n| {
            let mut rng = Rng::derive(1, &[n]);
            realistic::summary_html(&mut rng, Language::Polish, "https://example.org/a").len()
        })
        .collect();
    sizes.sort();
    assert!(sizes[200] < 1_200, "median {}", sizes[200]);
    assert!(sizes[399] > 8_000, "longest {}", sizes[399]);
    let tidy = farm::generate(&spec);
    assert_ne!(tidy.bytes(), a.bytes());

    let floor = floor::measure(&a);
    assert_eq!((floor.documents, floor.unparsed), (10, 0), "{floor:?}");
    assert_eq!(floor.summaries, 200);
}

/// The farm a scale plan describes, each answer `latency_ms` late.
fn slow_farm(plan: &Plan, latency_ms: u64) -> Farm {
    let farm = Farm::start(
        farm::generate_shaped(&plan.spec, &plan.shape),
        plan.spec.hosts,
    )
    .expect("farm");
    farm.set_latency(std::time::Duration::from_millis(latency_ms));
    farm
}

#[test]
fn the_scale_benchmark_keeps_hosts_polite_and_steady_cycles_read_only_what_changed() {
    // 30 sources on 4 hosts, 20 of them on host 0; every answer takes 30 ms.
    let spec = FarmSpec {
        hosts: 4,
        ..spec(30, 4, 21)
    };
    let shape = Shape {
        text: Text::Realistic,
        giant: 20,
        bare_every: 4,
    };
    let plan = Plan {
        spec,
        shape,
        setup: Setup {
            concurrency: 8,
            per_host: Some(2),
            archive_months: None,
            editors: false,
            schedule: None,
        },
        steady: 2,
        change_every: 10,
    };
    let farm = slow_farm(&plan, 30);
    let work = tempfile::tempdir().expect("tempdir");
    let binary = Path::new(env!("CARGO_BIN_EXE_hejnal"));
    let cycles = scale::run(work.path(), binary, &farm, &plan).expect("scale run");
    assert_eq!(cycles.len(), 3);

    let cold = &cycles[0];
    assert_eq!(cold.run.summary.ok, 30, "{cold:?}");
    assert_eq!(cold.run.summary.new_entries, 120);
    assert!(cold.db_bytes > 0);
    for c in &cycles {
        assert!(c.max_in_flight <= 2, "per_host holds: {c:?}");
    }
    // The giant host gets its turns, but the other hosts do not queue behind
    // it: their last feed is fetched well before its last one.
    assert!(
        cold.others_last < cold.host0_last,
        "the other hosts waited for the giant one: {cold:?}"
    );
    for c in &cycles[1..] {
        assert_eq!(c.changed, 3, "{c:?}");
        let s = c.run.summary;
        assert_eq!(s.new_entries, 3, "one new item in each changed feed: {c:?}");
        assert_eq!(s.failed, 0);
        // Without validators an unchanged body still counts as not modified.
        assert_eq!(s.not_modified, 27, "{c:?}");
    }
}

#[test]
fn the_served_scale_benchmark_gets_answers_from_the_daemon_while_it_cycles() {
    // Every answer of the farm takes 200 ms, so that a cycle of 20 sources
    // lasts long enough for the readers to ask during it.
    let spec = spec(20, 4, 31);
    let shape = Shape {
        bare_every: 5,
        ..Shape::default()
    };
    let plan = Plan {
        spec,
        shape,
        setup: setup(),
        steady: 1,
        change_every: 10,
    };
    let farm = slow_farm(&plan, 200);
    let work = tempfile::tempdir().expect("tempdir");
    let binary = Path::new(env!("CARGO_BIN_EXE_hejnal"));
    let serving = Serving {
        rps: 40,
        tick_secs: 5,
    };
    let served = served::run(work.path(), binary, &farm, &plan, serving).expect("served run");

    let cold = served.cycles.first().expect("a cold cycle");
    assert_eq!(cold.kind, Kind::Cold);
    assert_eq!(cold.cycle.run.summary.ok, 20, "{cold:?}");
    assert_eq!(cold.cycle.run.summary.new_entries, 80);
    assert!(cold.cycle.run.max_rss_kib > 0 && cold.cycle.db_bytes > 0);
    // Until the cold cycle publishes there is no feed: readers are told so.
    assert!(cold.latency.requests > 0, "{cold:?}");
    assert_eq!(cold.latency.errors, 0, "{cold:?}");

    let steady = served.cycles.last().expect("a steady cycle");
    assert_eq!(steady.kind, Kind::Steady(1));
    assert_eq!(steady.cycle.changed, 2);
    let s = steady.cycle.run.summary;
    assert_eq!(
        (s.ok, s.not_modified, s.new_entries),
        (2, 18, 2),
        "{steady:?}"
    );
    // The daemon served the feed while the cycle ran.
    let l = steady.latency;
    assert!(l.requests > 0, "{steady:?}");
    assert_eq!(l.ok + l.not_modified, l.requests, "{steady:?}");
    assert!(served.idle.ok + served.idle.not_modified > 0);
    assert!(served.idle.not_modified > 0, "conditional readers get 304s");
}
