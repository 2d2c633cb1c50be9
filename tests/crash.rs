//! Crash safety: `hejnal once` is killed with SIGKILL at pseudo-random moments
//! while a farm of feeds keeps changing. Nothing a finished run stored may be
//! lost, every published feed must stay whole, and no story may change its guid.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use common::{FEED_FILES, FeedServer};

const FEEDS: usize = 30;
/// Items a feed carries at once; older ones drop out of the document.
const WINDOW: usize = 6;
const SEED: u64 = 0x6b72_616b_6f77;
const KILLS: usize = 21;
const MAX_ROUNDS: usize = 120;
/// A safety stop for a very slow machine; a normal run takes well under a minute.
const BUDGET: Duration = Duration::from_secs(120);

const WORDS: &[&str] = &[
    "Kraków",
    "Wawel",
    "tramwaj",
    "rynek",
    "Wisła",
    "festiwal",
    "ratusz",
    "budżet",
    "park",
    "most",
    "koncert",
    "muzeum",
    "szkoła",
    "rower",
    "Nowa",
    "Huta",
    "Kazimierz",
    "Podgórze",
    "wystawa",
    "teatr",
    "opera",
    "biblioteka",
    "stadion",
    "lotnisko",
    "dworzec",
    "Planty",
    "Sukiennice",
    "Kopiec",
    "Zabłocie",
    "Bronowice",
    "Leipzig",
    "Nürnberg",
    "Kyiv",
    "Wien",
    "Bordeaux",
    "Edinburgh",
    "Frankfurt",
    "Orléans",
    "Rochester",
    "Zagreb",
    "city",
    "council",
    "river",
    "bridge",
    "market",
    "concert",
    "library",
    "school",
    "stadium",
    "airport",
];

/// A small deterministic generator: the same seed gives the same run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The guid of item `n` of feed `feed`.
fn guid(feed: usize, n: usize) -> String {
    format!("f{feed}-i{n}")
}

/// Item `n` of feed `feed`: words picked from its own seed, so its text never changes.
fn item(feed: usize, n: usize, base: chrono::DateTime<Utc>) -> String {
    let mut rng = Rng(SEED ^ ((feed as u64) << 32) ^ (n as u64 + 1));
    let words: Vec<&str> = (0..14)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect();
    let date = base + TimeDelta::minutes((n * FEEDS + feed) as i64);
    format!(
        "<item><title>{} {feed}/{n}</title><link>https://feeds.example.org/{feed}/{n}.html</link>\
         <guid isPermaLink=\"false\">{}</guid><description>{}</description>\
         <pubDate>{}</pubDate></item>",
        words[..6].join(" "),
        guid(feed, n),
        words.join(" "),
        date.to_rfc2822()
    )
}

/// The document of `feed` in `round`: its newest `WINDOW` items, one more each round.
fn document(feed: usize, round: usize, base: chrono::DateTime<Utc>) -> (String, Vec<String>) {
    let newest = round + 1;
    let range = newest.saturating_sub(WINDOW)..newest;
    let items: String = range.clone().map(|n| item(feed, n, base)).collect();
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Feed {feed}</title><link>https://feeds.example.org/{feed}/</link>{items}\
         </channel></rss>"
    );
    (doc, range.map(|n| guid(feed, n)).collect())
}

/// Serves `round` on every feed; returns the (source id, guid) pairs served.
fn serve_round(
    server: &FeedServer,
    round: usize,
    base: chrono::DateTime<Utc>,
) -> BTreeSet<(String, String)> {
    let mut served = BTreeSet::new();
    for feed in 0..FEEDS {
        let (doc, guids) = document(feed, round, base);
        server.put(&format!("/f{feed}.xml"), doc, "application/rss+xml");
        served.extend(guids.into_iter().map(|g| (format!("f{feed}"), g)));
    }
    served
}

fn write_config(dir: &Path, server: &FeedServer) -> PathBuf {
    let mut text = String::from(
        "[publisher]\ntitle = \"Crash\"\ndescription = \"Crash test\"\n\
         base_url = \"https://news.example.org/\"\nlanguages = [\"pl\", \"en\"]\n\
         output_dir = \"public\"\ndatabase = \"hejnal.db\"\nmax_items = 40\nconcurrency = 8\n\n\
         [fetch]\ntimeout_secs = 5\nconnect_timeout_secs = 2\nread_idle_timeout_secs = 2\n",
    );
    for feed in 0..FEEDS {
        text.push_str(&format!(
            "\n[[source]]\nid = \"f{feed}\"\nname = \"Feed {feed}\"\ncity = \"Kraków\"\n\
             country = \"PL\"\nurl = \"{}\"\nlang = \"pl\"\n",
            server.url(&format!("/f{feed}.xml"))
        ));
    }
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).expect("write feeds.toml");
    path
}

fn start(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args(["once", "--config"])
        .arg(config)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hejnal once")
}

/// How one run ended.
#[derive(Debug, PartialEq)]
enum End {
    Finished,
    Failed(Option<i32>),
    Killed,
}

/// Lets the run go on for `delay`, then SIGKILLs it if it is still running.
fn kill_after(mut child: Child, delay: Option<Duration>) -> End {
    if let Some(delay) = delay {
        let until = Instant::now() + delay;
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // Child::kill sends SIGKILL; it fails only if the child was already reaped.
        let _ = child.kill();
    }
    let status = child.wait().expect("wait for hejnal");
    match (status.code(), status.signal()) {
        (Some(0), _) => End::Finished,
        (_, Some(9)) => End::Killed,
        (code, _) => End::Failed(code),
    }
}

type Decoder = fn(&[u8]) -> std::io::Result<Vec<u8>>;

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

fn unbrotli(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out)?;
    Ok(out)
}

/// Every published feed, and its compressed siblings, parse as a whole feed.
/// Returns how many feed files exist.
fn check_published(public: &Path, when: &str) -> usize {
    let mut present = 0;
    for name in FEED_FILES {
        let path = public.join(name);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        present += 1;
        if let Err(e) = feed_rs::parser::parse(bytes.as_slice()) {
            panic!("{when}: {name} is not a whole feed: {e}");
        }
        let decoders: [(&str, Decoder); 2] = [("gz", gunzip), ("br", unbrotli)];
        for (ext, decode) in decoders {
            let Ok(packed) = std::fs::read(format!("{}.{ext}", path.display())) else {
                continue;
            };
            let unpacked = decode(&packed)
                .unwrap_or_else(|e| panic!("{when}: {name}.{ext} does not decompress: {e}"));
            if let Err(e) = feed_rs::parser::parse(unpacked.as_slice()) {
                panic!("{when}: {name}.{ext} is not a whole feed: {e}");
            }
        }
    }
    present
}

/// Temp files under the output folder (left by a writer that was killed).
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(listing) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in listing.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temp_files(&path));
        } else if path.to_string_lossy().ends_with(".tmp") {
            found.push(path);
        }
    }
    found
}

/// What the store holds: (source id, entry key) → the guid of its story, if grouped yet.
fn stored(db: &Path) -> HashMap<(String, String), Option<String>> {
    let conn = rusqlite::Connection::open(db).expect("open database");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check");
    assert_eq!(integrity, "ok", "the database is damaged");
    let mut query = conn
        .prepare(
            "SELECT e.source_id, e.key, s.guid FROM entries e \
             LEFT JOIN entry_story es ON es.entry_id = e.id \
             LEFT JOIN stories s ON s.id = es.story_id",
        )
        .expect("query");
    query
        .query_map([], |row| Ok(((row.get(0)?, row.get(1)?), row.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("entries")
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_breaks_nothing() {
    let test_started = Instant::now();
    let server = FeedServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server);
    let public = dir.path().join("public");
    let db = dir.path().join("hejnal.db");
    let base = Utc::now() - TimeDelta::days(2);
    let mut rng = Rng(SEED);

    let mut acknowledged: BTreeSet<(String, String)> = BTreeSet::new();
    let mut story_of: HashMap<(String, String), String> = HashMap::new();
    let (mut kills, mut finished, mut rounds) = (0, 0, 0);
    // How long a whole run takes here, learnt from the runs that finish.
    let mut run_ms: u64 = 400;
    let mut leftovers: BTreeSet<PathBuf> = BTreeSet::new();
    while (kills < KILLS || finished < 3) && rounds < MAX_ROUNDS && test_started.elapsed() < BUDGET
    {
        let served = serve_round(&server, rounds, base);
        // Every fifth run is left to finish, so some rounds are acknowledged; the
        // others die anywhere from start-up to the last rename of the publish stage.
        let delay = (rounds % 5 != 0).then(|| Duration::from_millis(5 + rng.below(run_ms.max(20))));
        let run_started = Instant::now();
        let end = kill_after(start(&config), delay);
        if end == End::Finished {
            run_ms = run_started.elapsed().as_millis() as u64;
        }
        let when = format!("round {rounds} (seed {SEED:#x}, delay {delay:?}, {end:?})");
        match end {
            End::Finished => {
                finished += 1;
                acknowledged.extend(served);
            }
            End::Killed => kills += 1,
            End::Failed(code) => panic!("{when}: hejnal exited with {code:?}"),
        }
        check_published(&public, &when);
        leftovers.extend(temp_files(&public));
        for (entry, guid) in stored(&db) {
            let Some(guid) = guid else { continue };
            let before = story_of
                .entry(entry.clone())
                .or_insert_with(|| guid.clone());
            assert_eq!(
                *before, guid,
                "{when}: the story of {entry:?} changed its guid"
            );
        }
        rounds += 1;
    }
    assert!(kills >= 20, "only {kills} kills in {rounds} rounds");
    assert!(finished >= 3, "only {finished} runs finished");

    // A clean run after the crashes: everything acknowledged is there, grouped,
    // under the guid it was first published with.
    acknowledged.extend(serve_round(&server, rounds, base));
    assert_eq!(kill_after(start(&config), None), End::Finished);
    assert_eq!(
        check_published(&public, "after the clean run"),
        FEED_FILES.len()
    );
    let last = stored(&db);
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|e| !last.contains_key(*e))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged entries lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    for (entry, guid) in &last {
        let guid = guid
            .as_ref()
            .unwrap_or_else(|| panic!("{entry:?} is in no story after a clean run"));
        if let Some(before) = story_of.get(entry) {
            assert_eq!(before, guid, "the story of {entry:?} changed its guid");
        }
    }
    let stray = temp_files(&public);
    assert!(
        stray.is_empty(),
        "temp files of killed writers are still there after a clean run: {stray:?}"
    );
    for path in &leftovers {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        assert!(
            name.is_some_and(|n| n.starts_with('.')),
            "a temp file that is not hidden (and so could be served): {}",
            path.display()
        );
    }
    eprintln!(
        "crash test: {rounds} rounds, {kills} kills, {finished} finished, {} entries, \
         {} acknowledged, {} temp files left by killed writers, {:?}",
        last.len(),
        acknowledged.len(),
        leftovers.len(),
        test_started.elapsed()
    );
}
