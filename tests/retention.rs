//! Retention over two simulated years of a small, busy farm, day by day with an
//! injected clock: the real store in a file, the real grouping. Each source
//! publishes a few stories a day and its feed lists its newest ones plus one
//! page it never drops. Once the retention window has passed, the database
//! stops growing, and no story is ever announced twice, including the items
//! that are pruned while their source still lists them.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use hejnal::clean::fingerprint::simhash;
use hejnal::config::DedupeConfig;
use hejnal::dedupe;
use hejnal::model::{Entry, Lang, LangOrigin};
use hejnal::store::{Store, UpsertStatus};

const DAYS: i64 = 730;

/// The farm: sources, new items per source and day, items each feed lists
/// (its newest, as most CMSes do), and `keep_days`. Small in `cargo test`;
/// `HEJNAL_SOAK=sources,per_day,listed,keep_days` runs it at full scale (the
/// numbers in BENCHMARKS.md).
fn farm() -> (usize, usize, usize, i64) {
    let given: Vec<usize> = std::env::var("HEJNAL_SOAK")
        .unwrap_or_default()
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    match given[..] {
        [sources, per_day, listed, keep_days] => (sources, per_day, listed, keep_days as i64),
        _ => (6, 3, 20, 45),
    }
}

const WORDS: [&str; 48] = [
    "tram",
    "budget",
    "council",
    "museum",
    "bridge",
    "school",
    "river",
    "market",
    "concert",
    "library",
    "stadium",
    "park",
    "festival",
    "airport",
    "hospital",
    "theatre",
    "election",
    "exhibition",
    "mayor",
    "street",
    "station",
    "bicycle",
    "harbour",
    "castle",
    "square",
    "archive",
    "water",
    "winter",
    "summer",
    "housing",
    "tunnel",
    "forest",
    "zoo",
    "church",
    "university",
    "bakery",
    "trumpet",
    "tower",
    "bus",
    "ferry",
    "garden",
    "fountain",
    "stamp",
    "parade",
    "lecture",
    "opera",
    "workshop",
    "harvest",
];

/// A deterministic, well-spread sentence for item `n` of `source`.
fn title(source: usize, n: usize) -> String {
    let mut x = (source as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (n as u64 + 7).wrapping_mul(0xD1B5_4A32_D192_ED03);
    (0..9)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            WORDS[(x % WORDS.len() as u64) as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
        + &format!(" {source}-{n}")
}

fn item(source: usize, n: usize, published: DateTime<Utc>) -> Entry {
    let title = title(source, n);
    let link = format!("https://city{source}.example/news/{n}");
    Entry {
        source_id: format!("city{source}"),
        key: link.clone(),
        guid: Some(link.clone()),
        link: Some(link.clone()),
        canonical_link: Some(link),
        summary: format!("<p>{title}. {title}.</p>"),
        fingerprint: simhash(&title, &title),
        facts: 0,
        content_hash: n as u64,
        title,
        authors: Vec::new(),
        published: Some(published),
        updated: None,
        lang: Lang::parse("en").expect("en"),
        lang_origin: LangOrigin::Feed,
        image: None,
        categories: Vec::new(),
    }
}

/// The page a source lists for ever (an "about" item), number 0.
const EVERGREEN: usize = 0;

#[test]
fn two_years_of_retention_keep_the_database_flat_and_announce_nothing_twice() {
    let (sources, per_day, listed, keep_days) = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hejnal.db");
    let mut prune_time = std::time::Duration::ZERO;
    let mut store = Store::open(&path).expect("store");
    let start = Utc
        .with_ymd_and_hms(2025, 1, 1, 6, 0, 0)
        .single()
        .expect("date");
    let settings = DedupeConfig::default();
    let mut sizes = Vec::new();
    let mut announced = 0;
    for day in 0..DAYS {
        let now = start + TimeDelta::days(day);
        let mut document = Vec::new();
        for source in 0..sources {
            document.push(item(source, EVERGREEN, start));
            let newest = (day as usize + 1) * per_day;
            for n in newest.saturating_sub(listed).max(1)..=newest {
                let published = start + TimeDelta::days(((n - 1) / per_day) as i64);
                document.push(item(source, n, published));
            }
        }
        let upserted = store.upsert_entries(&document, now).expect("upsert");
        let new = upserted
            .iter()
            .filter(|u| u.status == UpsertStatus::New)
            .count();
        let expected = sources * per_day + if day == 0 { sources } else { 0 };
        assert_eq!(new, expected, "day {day}: only today's items are new");
        let report = dedupe::group(&mut store, &settings, now).expect("group");
        assert_eq!(
            report.new_stories + report.joined,
            new,
            "day {day}: every new entry placed"
        );
        announced += report.new_stories;

        let started = std::time::Instant::now();
        let pruned = store
            .prune(now - TimeDelta::days(keep_days), now, 100_000)
            .expect("prune");
        prune_time += started.elapsed();
        if day > keep_days + 1 {
            assert_eq!(pruned.entries, sources * per_day, "day {day}: {pruned:?}");
        }
        store.checkpoint().expect("checkpoint");
        sizes.push(std::fs::metadata(&path).expect("db file").len());
    }

    // Every story was announced once: the items pruned while still listed,
    // the evergreen pages above all, never came back.
    let total = sources * (per_day * DAYS as usize + 1);
    assert!(announced >= total * 95 / 100, "{announced} of {total}");

    // The store holds the window, not the history.
    let kept = store.entry_count().expect("count");
    let window = (sources * per_day) as u64 * (keep_days as u64 + 2);
    assert!(kept <= window, "{kept} entries kept, window {window}");
    assert!(store.pruned_key_count().expect("keys") <= window + sources as u64);

    // Flat: the file after a year and after two is the size it reached soon
    // after the window filled.
    let settled = sizes[(3 * keep_days) as usize];
    let year = sizes[365];
    let last = *sizes.last().expect("sizes");
    let peak = *sizes.iter().max().expect("sizes");
    eprintln!(
        "{sources} sources x {per_day} a day, keep_days {keep_days}: database bytes settled \
         {settled}, one year {year}, two years {last}, peak {peak}; {kept} entries kept; \
         pruning {:.1} ms a day",
        prune_time.as_secs_f64() * 1000.0 / DAYS as f64
    );
    assert!(year <= settled * 12 / 10, "one year {year} vs {settled}");
    assert!(last <= settled * 12 / 10, "two years {last} vs {settled}");
    assert!(store.integrity_check().expect("integrity"));
}
