//! The cycle benchmark: a feed farm in this process, the real `hejnal once`
//! as a child process for wall time, CPU time and peak memory, and the library
//! cycle in this process for the time of each stage.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hejnal::config::Config;
use hejnal::cycle::{self, Control, CycleReport, Selection, StageTimes};
use hejnal::fetch::Fetcher;
use hejnal::publish::archive;
use hejnal::store::Store;

use super::farm::{Farm, FarmError, FarmSource, Feeds};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Farm(#[from] FarmError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("feeds.toml: {0}")]
    Config(#[from] hejnal::config::ConfigError),
    #[error("store: {0}")]
    Store(#[from] hejnal::store::StoreError),
    #[error("fetcher: {0}")]
    Fetch(#[from] hejnal::fetch::FetchError),
    #[error("cycle: {0}")]
    Cycle(#[from] hejnal::cycle::CycleError),
    #[error("publish: {0}")]
    Publish(#[from] hejnal::publish::PublishError),
    #[error("{binary} failed ({status}): {stderr}")]
    Child {
        binary: String,
        status: String,
        stderr: String,
    },
    #[error("floor's database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot read the summary of `hejnal once`: {0:?}")]
    Summary(String),
    #[error("load client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("hejnal run: {0}")]
    Daemon(String),
}

/// The settings of the benchmark's feeds.toml.
#[derive(Debug, Clone)]
pub struct Setup {
    pub concurrency: usize,
    /// `[fetch] per_host`; None keeps hejnal's default.
    pub per_host: Option<usize>,
    /// `publisher.archive_months`; None keeps hejnal's default. In the first
    /// days of a month the farm's items reach into the month before, and a
    /// cold cycle archives it: 0 measures the cycle of the rest of the month.
    pub archive_months: Option<u32>,
    /// The editors' features on: a feed set per city and per category, every
    /// source in a category, and a global rule of words and one of a regex
    /// read against every entry.
    pub editors: bool,
    /// `publisher.schedule`, which only `hejnal run` follows; None keeps
    /// hejnal's default.
    pub schedule: Option<String>,
}

/// Writes feeds.toml (database and output beside it) for every farm source.
pub fn write_config(dir: &Path, farm: &Farm, setup: &Setup) -> Result<PathBuf, BenchError> {
    let mut text = format!(
        "[publisher]\ntitle = \"hejnal benchmark\"\nbase_url = \"https://hejnal.example/\"\n\
         languages = [\"pl\", \"en\"]\noutput_dir = \"public\"\ndatabase = \"hejnal.db\"\n\
         max_items = 200\nconcurrency = {}\n",
        setup.concurrency
    );
    if let Some(schedule) = &setup.schedule {
        text.push_str(&format!("schedule = \"{schedule}\"\n"));
    }
    if let Some(months) = setup.archive_months {
        text.push_str(&format!("archive_months = {months}\n"));
    }
    if setup.editors {
        text.push_str(
            "per_city = true\nper_category = true\n\n[filter]\n\
             exclude = [\"horoskop\", \"/(?i)^(sponsored|anzeige):/\"]\n",
        );
    }
    text.push_str("\n[fetch]\ntimeout_secs = 60\n");
    if let Some(per_host) = setup.per_host {
        text.push_str(&format!("per_host = {per_host}\n"));
    }
    for s in &farm.sources {
        text.push_str(&source_table(s, &farm.url(s)));
        if setup.editors {
            text.push_str(&format!("categories = [\"{}\"]\n", s.lang));
        }
    }
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

pub fn source_table(s: &FarmSource, url: &str) -> String {
    format!(
        "\n[[source]]\nid = \"{}\"\nname = \"{}\"\ncity = \"{}\"\ncountry = \"{}\"\nurl = \"{url}\"\nlang = \"{}\"\n",
        s.id, s.name, s.city, s.country, s.lang
    )
}

/// What `hejnal once` printed about its cycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub ok: usize,
    pub not_modified: usize,
    pub failed: usize,
    pub new_entries: usize,
    pub new_stories: usize,
}

/// Reads the first lines of `hejnal once`'s summary.
pub fn parse_summary(out: &str) -> Result<Summary, BenchError> {
    let bad = || BenchError::Summary(out.chars().take(300).collect());
    let numbers = |line: &str| -> Vec<usize> {
        line.split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect()
    };
    let sources = out
        .lines()
        .find(|l| l.starts_with("sources:"))
        .ok_or_else(bad)?;
    let entries = out
        .lines()
        .find(|l| l.starts_with("entries:"))
        .ok_or_else(bad)?;
    match (numbers(sources).as_slice(), numbers(entries).as_slice()) {
        ([ok, nm, failed], [new, _updated, stories]) => Ok(Summary {
            ok: *ok,
            not_modified: *nm,
            failed: *failed,
            new_entries: *new,
            new_stories: *stories,
        }),
        _ => Err(bad()),
    }
}

/// One run of the real binary, measured from outside.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessRun {
    pub wall: Duration,
    pub user: Duration,
    pub system: Duration,
    pub max_rss_kib: u64,
    /// CPU time this process (the farm serving the feeds, and the watcher of
    /// the child's memory) spent while the child ran: time the two cores
    /// could not give the child.
    pub farm_cpu: Duration,
    pub summary: Summary,
}

impl ProcessRun {
    pub fn cpu(&self) -> Duration {
        self.user + self.system
    }
}

/// Runs `binary --config CONFIG once` and waits for it with `wait4`, which
/// hands back the CPU time of exactly that child. Its peak memory is read from
/// /proc while it runs: `ru_maxrss` of a child also counts the parent's memory
/// at the time of the fork, and this parent holds the whole farm.
pub fn run_once(binary: &Path, config: &Path) -> Result<ProcessRun, BenchError> {
    let dir = config.parent().unwrap_or(Path::new("."));
    let stdout = std::fs::File::create(dir.join("once.out"))?;
    let stderr = std::fs::File::create(dir.join("once.err"))?;
    let farm_before = own_cpu()?;
    let started = Instant::now();
    let child = Command::new(binary)
        .arg("--config")
        .arg(config)
        .arg("once")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()?;
    let done = Arc::new(AtomicBool::new(false));
    let watcher = watch_peak(child.id(), Arc::clone(&done));
    let waited = wait4(child.id());
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let max_rss_kib = watcher.join().unwrap_or(0);
    let farm_cpu = own_cpu()?.saturating_sub(farm_before);
    let (status, usage) = waited?;
    let out = std::fs::read_to_string(dir.join("once.out"))?;
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(BenchError::Child {
            binary: binary.display().to_string(),
            status: format!("wait status {status}"),
            stderr: std::fs::read_to_string(dir.join("once.err"))?,
        });
    }
    Ok(ProcessRun {
        wall,
        user: timeval(usage.ru_utime),
        system: timeval(usage.ru_stime),
        max_rss_kib,
        farm_cpu,
        summary: parse_summary(&out)?,
    })
}

/// Polls the child's own high-water mark (VmHWM) until it is reaped.
fn watch_peak(pid: u32, done: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let path = format!("/proc/{pid}/status");
        let mut peak = 0;
        while !done.load(Ordering::Relaxed) {
            if let Some(hwm) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|s| status_kib(&s, "VmHWM:"))
            {
                peak = peak.max(hwm);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        peak
    })
}

fn wait4(pid: u32) -> Result<(libc::c_int, libc::rusage), BenchError> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for a child of ours that
    // std has not reaped (the Child handle is never waited on).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::Error::other("pid out of range"))?;
    // SAFETY: both pointers are to live locals of the right types.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if reaped != pid {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok((status, usage))
}

/// User and system time of this whole process, all its threads.
pub fn own_cpu() -> Result<Duration, BenchError> {
    // SAFETY: rusage is plain old data, filled in by getrusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live local of the right type.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(timeval(usage.ru_utime) + timeval(usage.ru_stime))
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
}

/// One library cycle, measured from inside.
#[derive(Debug, Clone, Default)]
pub struct LibraryRun {
    pub elapsed: Duration,
    pub stages: StageTimes,
    pub ok: usize,
    pub not_modified: usize,
    pub failed: usize,
    pub new_entries: usize,
    pub new_stories: usize,
}

impl From<&CycleReport> for LibraryRun {
    fn from(r: &CycleReport) -> LibraryRun {
        LibraryRun {
            elapsed: r.elapsed,
            stages: r.stages.clone(),
            ok: r.ok(),
            not_modified: r.not_modified(),
            failed: r.failed(),
            new_entries: r.new_entries,
            new_stories: r.new_stories,
        }
    }
}

/// The library's side: config, store and fetcher opened once, then cycles.
pub struct LibraryCycle {
    config: Config,
    store: Store,
    fetcher: Arc<Fetcher>,
    runtime: tokio::runtime::Runtime,
}

impl LibraryCycle {
    pub fn open(config_path: &Path) -> Result<LibraryCycle, BenchError> {
        let config = Config::load(config_path)?;
        let store = Store::open(&config.database_path())?;
        let fetcher = Arc::new(Fetcher::new(&config.fetch, &config.user_agent())?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        Ok(LibraryCycle {
            config,
            store,
            fetcher,
            runtime,
        })
    }

    /// One cycle over every enabled source, as `hejnal once` runs it.
    pub fn run(&mut self) -> Result<LibraryRun, BenchError> {
        let report = self.runtime.block_on(cycle::run(
            &self.config,
            &mut self.store,
            &self.fetcher,
            Selection::All,
            &Arc::new(Control::default()),
        ))?;
        Ok(LibraryRun::from(&report))
    }

    pub fn stories(&self) -> Result<u64, BenchError> {
        Ok(self.store.story_count()?)
    }
}

/// Items in the combined RSS feed as published.
pub fn published_items(dir: &Path) -> Result<usize, BenchError> {
    let feed = std::fs::read_to_string(dir.join("public").join("feed.xml"))?;
    Ok(feed.matches("<item>").count())
}

/// Archive pages (RFC 5005) the cycles published.
pub fn archive_pages(dir: &Path) -> Result<usize, BenchError> {
    let names = archive::list(&dir.join("public"))?;
    Ok(names
        .iter()
        .filter(|n| archive::parse_name(n).is_some())
        .count())
}

/// A cold and a warm cycle of each kind, in fresh folders under `work`.
#[derive(Debug, Clone, Default)]
pub struct Round {
    pub cold: ProcessRun,
    pub warm: ProcessRun,
    pub published: usize,
    pub archive_pages: usize,
    pub lib_cold: LibraryRun,
    pub lib_warm: LibraryRun,
}

/// Runs one round: the binary cold then warm, the library cold then warm.
pub fn round(
    work: &Path,
    binary: &Path,
    farm: &Farm,
    setup: &Setup,
    churn: Option<&Churn>,
) -> Result<Round, BenchError> {
    // The farm serves what a warm cycle is to find only while it runs.
    let warm_feeds = || churn.inspect(|c| farm.replace(c.warm.clone()));
    let cold_feeds = || churn.inspect(|c| farm.replace(c.cold.clone()));
    let process_dir = tempfile::tempdir_in(work)?;
    let config = write_config(process_dir.path(), farm, setup)?;
    let cold = run_once(binary, &config)?;
    warm_feeds();
    let warm = run_once(binary, &config)?;
    cold_feeds();
    let published = published_items(process_dir.path())?;
    let archive_pages = archive_pages(process_dir.path())?;

    let library_dir = tempfile::tempdir_in(work)?;
    let config = write_config(library_dir.path(), farm, setup)?;
    let mut library = LibraryCycle::open(&config)?;
    let lib_cold = library.run()?;
    warm_feeds();
    let lib_warm = library.run()?;
    cold_feeds();
    Ok(Round {
        cold,
        warm,
        published,
        archive_pages,
        lib_cold,
        lib_warm,
    })
}

/// What the warm cycles of a round find instead of the cold cycles' feeds.
pub struct Churn {
    pub cold: Feeds,
    pub warm: Feeds,
}

/// The median round of several, metric by metric.
#[derive(Debug, Clone)]
pub struct Medians {
    pub rounds: Vec<Round>,
    pub items: usize,
    pub feed_bytes: u64,
}

fn median<T: Copy + Ord>(mut values: Vec<T>) -> T {
    values.sort();
    values[values.len() / 2]
}

impl Medians {
    fn of<T: Copy + Ord + Default>(&self, f: impl Fn(&Round) -> T) -> T {
        if self.rounds.is_empty() {
            return T::default();
        }
        median(self.rounds.iter().map(f).collect())
    }

    fn process_row(&self, f: &impl Fn(&Round) -> ProcessRun) -> String {
        let wall = self.of(|r| f(r).wall);
        let cpu = self.of(|r| f(r).cpu());
        let rss = self.of(|r| f(r).max_rss_kib);
        let farm = self.of(|r| f(r).farm_cpu);
        let s = f(&self.rounds[0]).summary;
        let per_sec = self.items as f64 / wall.as_secs_f64().max(1e-9);
        format!(
            "{:>9.3} s {:>9.3} s {:>8.1} MB {:>10.0} {:>9.3} s | {} ok, {} 304, {} failed",
            wall.as_secs_f64(),
            cpu.as_secs_f64(),
            rss as f64 / 1024.0,
            per_sec,
            farm.as_secs_f64(),
            s.ok,
            s.not_modified,
            s.failed
        )
    }

    fn stage_row(&self, f: &impl Fn(&Round) -> &LibraryRun) -> String {
        let ms = |g: fn(&StageTimes) -> Duration| self.of(|r| g(&f(r).stages)).as_secs_f64() * 1e3;
        format!(
            "{:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9.1}",
            ms(|s| s.fetch),
            ms(|s| s.parse),
            ms(|s| s.clean),
            ms(|s| s.store),
            ms(|s| s.dedupe),
            ms(|s| s.publish),
            self.of(|r| f(r).elapsed).as_secs_f64() * 1e3
        )
    }
}

impl fmt::Display for Medians {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(first) = self.rounds.first() else {
            return writeln!(f, "no rounds");
        };
        writeln!(
            f,
            "{} items, {:.1} MB of feeds; median of {} round(s)",
            self.items,
            self.feed_bytes as f64 / 1e6,
            self.rounds.len()
        )?;
        writeln!(
            f,
            "`hejnal once`   wall        cpu      peak RSS    items/s  farm cpu"
        )?;
        writeln!(f, "cold      {}", self.process_row(&|r| r.cold))?;
        writeln!(f, "warm      {}", self.process_row(&|r| r.warm))?;
        writeln!(
            f,
            "cold cycle: {} new entries, {} new stories, {} items in feed.xml, {} archive pages",
            first.cold.summary.new_entries,
            first.cold.summary.new_stories,
            first.published,
            first.archive_pages
        )?;
        writeln!(
            f,
            "library (ms)  fetch    parse    clean    store   dedupe  publish    total"
        )?;
        writeln!(f, "cold      {}", self.stage_row(&|r| &r.lib_cold))?;
        writeln!(f, "warm      {}", self.stage_row(&|r| &r.lib_warm))?;
        let clean = self.of(|r| r.lib_cold.stages.clean).as_secs_f64();
        let parse = self.of(|r| r.lib_cold.stages.parse).as_secs_f64();
        let mb = self.feed_bytes as f64 / 1e6;
        writeln!(
            f,
            "cold, per second of one core: clean {:.1} MB/s, parse {:.1} MB/s of feed",
            mb / clean.max(1e-9),
            mb / parse.max(1e-9)
        )?;
        writeln!(
            f,
            "(parse and clean add up over parallel tasks; fetch is wall time minus store)"
        )
    }
}

/// Resident memory of this process now, in KiB, from /proc: all of it, and
/// the part that is heap and stacks rather than mapped files (the binary,
/// SQLite's shared WAL index).
pub fn rss_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some((
        status_kib(&status, "VmRSS:")?,
        status_kib(&status, "RssAnon:")?,
    ))
}

/// A `Name:   1234 kB` line of /proc/PID/status.
pub fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resident memory after cycle number `cycle` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RssSample {
    pub cycle: usize,
    pub rss_kib: u64,
    pub anon_kib: u64,
}

/// What a soak saw: memory after the first cycle and at every tenth of the run, and how many source fetches failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Soak {
    pub samples: Vec<RssSample>,
    pub failed_fetches: usize,
    pub new_stories: usize,
}

/// Runs `cycles` library cycles against `farm`, swapping in fresh feeds from
/// `refresh` every `refresh_every` cycles so that some cycles store and publish
/// new stories, and samples resident memory at the start, middle and end.
pub fn soak(
    config: &Path,
    farm: &Farm,
    cycles: usize,
    refresh_every: usize,
    refresh: impl Fn(usize) -> super::farm::Feeds,
) -> Result<Soak, BenchError> {
    let mut library = LibraryCycle::open(config)?;
    // Ten samples besides the first: enough to tell growth that levels off
    // from growth that does not.
    let step = cycles.div_ceil(10).max(1);
    let mut soak = Soak::default();
    for n in 1..=cycles {
        if n > 1 && refresh_every > 0 && (n - 1) % refresh_every == 0 {
            farm.replace(refresh(n));
        }
        let run = library.run()?;
        soak.failed_fetches += run.failed;
        soak.new_stories += run.new_stories;
        if n == 1 || n % step == 0 || n == cycles {
            let (total, anon) = rss_kib().unwrap_or_default();
            soak.samples.push(RssSample {
                cycle: n,
                rss_kib: total,
                anon_kib: anon,
            });
        }
    }
    Ok(soak)
}
