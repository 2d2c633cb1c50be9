//! The end-to-end cycle benchmark: starts a feed farm in this process, then
//! measures `hejnal once` (the release binary beside this example) cold and
//! warm, and the library cycle's stage times. `--soak N` instead runs N library
//! cycles against a small farm and reports resident memory; `--floor` times
//! feed-rs and ammonia alone over the farm's feeds. `--steady N` is the scale
//! benchmark: a cold start, then N cycles in which 5 % of the sources gain an
//! item and the rest answer 304; with `--serve-load` those cycles run in one
//! `hejnal run` while readers ask it for /feed.xml.
//!
//! cargo build --release && cargo run --release --example cycle_bench -- --runs 3

#[path = "../benches/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{Timelike, Utc};
use clap::Parser;

use support::cycle::{self, BenchError, Churn, Medians, Setup};
use support::farm::{self, Farm, FarmSpec, Shape, Text};
use support::floor::{self, Floor};
use support::scale::{self, Plan, ScaleCycle};
use support::served::{self, Kind, Latencies, Serving};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 1000)]
    sources: usize,
    #[arg(long, default_value_t = 50)]
    items: usize,
    /// Loopback addresses the feeds are spread over.
    #[arg(long, default_value_t = 200)]
    hosts: usize,
    /// `publisher.concurrency`; hejnal's default (16) unless given.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// `[fetch] per_host`; hejnal's default (2) when not given.
    #[arg(long)]
    per_host: Option<usize>,
    /// `publisher.archive_months`; hejnal's default (24) unless given. Items
    /// reach ten days back, so in the first ten days of a month a cold cycle
    /// also archives the month before; 0 leaves archives out.
    #[arg(long)]
    archive_months: Option<u32>,
    /// Turn on the editors' features: city and category feeds, categories,
    /// filter rules read against every entry.
    #[arg(long)]
    editors: bool,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// The hejnal binary; default: target/release/hejnal beside this example.
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Run this many library cycles against a small farm and report memory.
    #[arg(long)]
    soak: Option<usize>,
    /// During a soak, new feeds (a new seed) every this many cycles; 0: never.
    #[arg(long, default_value_t = 10)]
    refresh_every: usize,
    /// Only publish one cold cycle into this folder (feeds.toml, public/) and
    /// keep it, e.g. to serve it with `hejnal serve` and nginx side by side.
    #[arg(long)]
    site: Option<PathBuf>,
    /// Only time what feed-rs and ammonia alone cost over the farm's feeds,
    /// on one core and split over all of them, then a cold cycle made of the
    /// house's libraries alone (`--runs` times): the floor under a cold cycle.
    #[arg(long)]
    floor: bool,
    /// Serve the feeds without ETag or Last-Modified, as a CMS that ignores
    /// conditional requests does: the warm cycle fetches every body again.
    #[arg(long)]
    no_validators: bool,
    /// Warm cycles find every feed one item on: one new item at the end, the
    /// first one gone, the rest as they were. The refresh a feed needs most.
    #[arg(long)]
    churn: bool,
    /// The summaries: tidy municipal prose, or shaped like real feeds.
    #[arg(long, value_enum, default_value_t = Text::Tidy)]
    text: Text,
    /// The first N sources all on one host (one CMS platform), the rest
    /// spread over the other hosts.
    #[arg(long, default_value_t = 0)]
    giant: usize,
    /// Every Nth source's server sends no validators (0: none).
    #[arg(long, default_value_t = 0)]
    bare_every: usize,
    /// Every answer of the farm waits this long, as a distant server's does.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// The scale benchmark: one cold `hejnal once`, then this many steady
    /// cycles in which every `--change-every`-th source gains one item.
    #[arg(long)]
    steady: Option<usize>,
    #[arg(long, default_value_t = 20)]
    change_every: usize,
    /// With `--steady`: run the cycles in one `hejnal run` instead of
    /// `hejnal once` each, while feed readers ask it for /feed.xml this many
    /// times a second (100 if no number is given).
    #[arg(long, num_args = 0..=1, default_missing_value = "100")]
    serve_load: Option<u32>,
    /// With `--serve-load`: the daemon's schedule ticks every this many
    /// seconds (at most 60); a steady cycle starts at a tick.
    #[arg(long, default_value_t = 60)]
    serve_tick: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cycle_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn spec(args: &Args, seed: u64) -> FarmSpec {
    // Dated relative to this hour, so the dedupe window and archives see what
    // a live deployment sees; the bytes are the same within the hour.
    let now = Utc::now();
    let anchor = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    FarmSpec {
        sources: args.sources,
        items: args.items,
        seed,
        hosts: args.hosts.min(args.sources).max(1),
        anchor,
        first_item: 0,
    }
}

fn run(args: &Args) -> Result<(), BenchError> {
    let setup = Setup {
        concurrency: args.concurrency,
        per_host: args.per_host,
        archive_months: args.archive_months,
        editors: args.editors,
        schedule: None,
    };
    let work = tempfile::tempdir()?;
    let spec = spec(args, args.seed);
    let shape = Shape {
        text: args.text,
        giant: args.giant,
        bare_every: args.bare_every,
    };
    let feeds = farm::generate_shaped(&spec, &shape);
    let feed_bytes = feeds.bytes();
    let churn = args.churn.then(|| Churn {
        cold: feeds.clone(),
        warm: farm::generate_shaped(
            &FarmSpec {
                first_item: 1,
                ..spec.clone()
            },
            &shape,
        ),
    });
    if args.floor {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (parallel, wall) = floor::measure_parallel(&feeds, cores);
        print_floor(&floor::measure(&feeds), &parallel, wall);
        let farm = Farm::start(feeds, spec.hosts)?;
        return pipeline_floor(args, &farm, work.path());
    }
    let farm = Farm::start(feeds, spec.hosts)?;
    farm.set_validators(!args.no_validators);
    farm.set_latency(std::time::Duration::from_millis(args.latency_ms));
    if let Some(steady) = args.steady {
        let plan = Plan {
            spec,
            shape,
            setup,
            steady,
            change_every: args.change_every,
        };
        return match args.serve_load {
            Some(rps) => served_run(args, &farm, &plan, rps, feed_bytes, work.path()),
            None => scale_run(args, &farm, &plan, feed_bytes, work.path()),
        };
    }
    if let Some(cycles) = args.soak {
        return soak(args, &farm, &setup, work.path(), cycles);
    }
    if let Some(dir) = &args.site {
        std::fs::create_dir_all(dir)?;
        let config = cycle::write_config(dir, &farm, &setup)?;
        let run = cycle::LibraryCycle::open(&config)?.run()?;
        println!(
            "published {} new stories into {}",
            run.new_stories,
            dir.join("public").display()
        );
        return Ok(());
    }
    let binary = binary(args)?;
    println!(
        "farm: {} sources × {} items on {} loopback hosts; concurrency {}, per_host {}, \
         archive_months {}",
        spec.sources,
        spec.items,
        spec.hosts,
        setup.concurrency,
        setup
            .per_host
            .map_or("default (2)".to_string(), |p| p.to_string()),
        setup
            .archive_months
            .map_or("default (24)".to_string(), |m| m.to_string())
    );
    if args.churn {
        println!("warm cycles find every feed one item on (one new, one gone)");
    }
    if args.editors {
        println!("with city and category feeds and filter rules read against every entry");
    }
    if args.no_validators {
        println!("the farm sends no validators: a warm cycle fetches every feed whole");
    }
    println!("load average at the start: {}", load_average());
    let mut rounds = Vec::with_capacity(args.runs);
    for n in 1..=args.runs.max(1) {
        let round = cycle::round(work.path(), &binary, &farm, &setup, churn.as_ref())?;
        println!(
            "round {n}: cold {:.3} s, {:.1} MB; warm {:.3} s",
            round.cold.wall.as_secs_f64(),
            round.cold.max_rss_kib as f64 / 1024.0,
            round.warm.wall.as_secs_f64()
        );
        rounds.push(round);
    }
    println!("load average at the end: {}", load_average());
    let medians = Medians {
        rounds,
        items: spec.sources * spec.items,
        feed_bytes,
    };
    print!("{medians}");
    Ok(())
}

fn print_floor(floor: &Floor, parallel: &[Floor], wall: std::time::Duration) {
    let mb = floor.bytes as f64 / 1e6;
    let rate = |t: std::time::Duration| mb / t.as_secs_f64().max(1e-9);
    let all = floor.parse + floor.sanitize + floor.detect;
    println!(
        "floor: {} documents ({} unparsed), {} summaries, {mb:.1} MB, on one core",
        floor.documents, floor.unparsed, floor.summaries
    );
    println!(
        "feed-rs alone   {:>7.3} s  {:>6.1} MB/s",
        floor.parse.as_secs_f64(),
        rate(floor.parse)
    );
    println!(
        "ammonia alone   {:>7.3} s  {:>6.1} MB/s of feed",
        floor.sanitize.as_secs_f64(),
        rate(floor.sanitize)
    );
    println!(
        "whatlang alone  {:>7.3} s  on every summary's first {} characters",
        floor.detect.as_secs_f64(),
        hejnal::clean::MAX_DETECT_CHARS
    );
    println!("all three       {:>7.3} s", all.as_secs_f64());
    // The threads ran side by side, so each one's time is the wall time of its
    // share; the slowest share is what the cores allow.
    let slowest = |part: fn(&Floor) -> std::time::Duration| {
        parallel.iter().map(part).max().unwrap_or_default()
    };
    println!(
        "split over {} threads at once: {:.3} s of wall time, of which whatlang {:.3} s; \
         feed-rs {:.1} MB/s, ammonia {:.1} MB/s of feed",
        parallel.len(),
        wall.as_secs_f64(),
        slowest(|f| f.detect).as_secs_f64(),
        rate(slowest(|f| f.parse)),
        rate(slowest(|f| f.sanitize))
    );
}

/// Runs [`floor::pipeline`] `--runs` times, each into a new database.
fn pipeline_floor(args: &Args, farm: &Farm, work: &std::path::Path) -> Result<(), BenchError> {
    println!(
        "the libraries' cold cycle: fetch (reqwest, {} at a time), feed-rs, ammonia, \
         SQLite; cpu counts the farm too",
        args.concurrency
    );
    let mut walls = Vec::with_capacity(args.runs);
    for n in 1..=args.runs.max(1) {
        let run = floor::pipeline(farm, &work.join(format!("floor-{n}.db")), args.concurrency)?;
        println!(
            "round {n}: {:.3} s wall, {:.3} s cpu; {} feeds read, {} failed, {} entries stored",
            run.wall.as_secs_f64(),
            run.cpu.as_secs_f64(),
            run.fetched,
            run.failed,
            run.stored
        );
        walls.push(run.wall);
    }
    walls.sort();
    println!("median wall: {:.3} s", walls[walls.len() / 2].as_secs_f64());
    Ok(())
}

fn soak(
    args: &Args,
    farm: &Farm,
    setup: &Setup,
    work: &std::path::Path,
    cycles: usize,
) -> Result<(), BenchError> {
    let config = cycle::write_config(work, farm, setup)?;
    let report = cycle::soak(&config, farm, cycles, args.refresh_every, |n| {
        farm::generate(&spec(args, args.seed.wrapping_add(n as u64)))
    })?;
    println!(
        "soak: {cycles} cycles of {} sources × {} items, feeds replaced every {} cycles \
         (0: never); {} new stories, {} failed fetches",
        args.sources, args.items, args.refresh_every, report.new_stories, report.failed_fetches
    );
    for s in &report.samples {
        println!(
            "  after cycle {:>5}: RSS {:.1} MB, of it anonymous {:.1} MB",
            s.cycle,
            s.rss_kib as f64 / 1024.0,
            s.anon_kib as f64 / 1024.0
        );
    }
    Ok(())
}

fn scale_run(
    args: &Args,
    farm: &Farm,
    plan: &Plan,
    feed_bytes: u64,
    work: &std::path::Path,
) -> Result<(), BenchError> {
    let binary = binary(args)?;
    print_scale_header(args, plan, feed_bytes);
    let cycles = scale::run(work, &binary, farm, plan)?;
    for (n, c) in cycles.iter().enumerate() {
        let label = if n == 0 {
            "cold".to_string()
        } else {
            format!("steady {n}")
        };
        println!("{}", scale_row(&label, c, plan.spec.sources));
    }
    println!("load average at the end: {}", load_average());
    Ok(())
}

fn served_run(
    args: &Args,
    farm: &Farm,
    plan: &Plan,
    rps: u32,
    feed_bytes: u64,
    work: &std::path::Path,
) -> Result<(), BenchError> {
    let binary = binary(args)?;
    let serving = Serving {
        rps,
        tick_secs: args.serve_tick,
    };
    println!(
        "one `hejnal run`, schedule every {} s; readers ask it for /feed.xml {rps} times a \
         second (a quarter each plain, gzip, conditional, conditional gzip)",
        serving.tick_secs.min(60)
    );
    print_scale_header(args, plan, feed_bytes);
    let served = served::run(work, &binary, farm, plan, serving)?;
    let label = |kind: Kind| match kind {
        Kind::Cold => "cold".to_string(),
        Kind::Steady(n) => format!("steady {n}"),
        Kind::Extra => "extra".to_string(),
    };
    for c in &served.cycles {
        println!("{}", scale_row(&label(c.kind), &c.cycle, plan.spec.sources));
    }
    println!(
        "(wall: the daemon's own; cpu: the child's meanwhile; peak RSS: the daemon's, serving \
         included, {})",
        if served.peak_per_cycle {
            "over this cycle"
        } else {
            "since it started"
        }
    );
    println!(
        "/feed.xml during  requests    200    304  no feed  errors |   p50 ms   p99 ms   max ms | p99 all ms"
    );
    for c in &served.cycles {
        println!("{}", latency_row(&label(c.kind), &c.latency));
    }
    println!("{}", latency_row("between cycles", &served.idle));
    println!(
        "(no feed: 404/503 before the first feed existed, left out of p50/p99/max; \
         p99 all counts them)"
    );
    println!("load average at the end: {}", load_average());
    Ok(())
}

fn print_scale_header(args: &Args, plan: &Plan, feed_bytes: u64) {
    println!(
        "scale: {} sources × {} items ({:.1} MB, {:?} text) on {} loopback hosts, \
         {} of them on host 0; every {}th source without validators (0: none); farm latency {} ms; \
         concurrency {}, per_host {}",
        plan.spec.sources,
        plan.spec.items,
        feed_bytes as f64 / 1e6,
        plan.shape.text,
        plan.spec.hosts,
        plan.shape.giant,
        plan.shape.bare_every,
        args.latency_ms,
        plan.setup.concurrency,
        plan.setup
            .per_host
            .map_or("default (2)".to_string(), |p| p.to_string()),
    );
    println!("load average at the start: {}", load_average());
    println!(
        "cycle    changed     wall       cpu   peak RSS   DB/source | ok   304  failed | \
         max/host  host 0 last  others last"
    );
}

fn scale_row(label: &str, c: &ScaleCycle, sources: usize) -> String {
    let s = c.run.summary;
    format!(
        "{label:<8} {:>7} {:>8.2} s {:>7.2} s {:>7.1} MB {:>7.1} KB | {} {} {} | {:>8} {:>10.2} s {:>10.2} s",
        c.changed,
        c.run.wall.as_secs_f64(),
        c.run.cpu().as_secs_f64(),
        c.run.max_rss_kib as f64 / 1024.0,
        c.db_bytes as f64 / 1024.0 / sources.max(1) as f64,
        s.ok,
        s.not_modified,
        s.failed,
        c.max_in_flight,
        c.host0_last.as_secs_f64(),
        c.others_last.as_secs_f64()
    )
}

fn latency_row(label: &str, l: &Latencies) -> String {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    format!(
        "{label:<16} {:>9} {:>6} {:>6} {:>8} {:>7} | {:>8.2} {:>8.2} {:>8.2} | {:>10.2}",
        l.requests,
        l.ok,
        l.not_modified,
        l.no_feed,
        l.errors,
        ms(l.p50),
        ms(l.p99),
        ms(l.max),
        ms(l.p99_all)
    )
}

/// The machine is shared: the load says how far to trust the wall times.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn binary(args: &Args) -> Result<PathBuf, BenchError> {
    match &args.binary {
        Some(b) => Ok(b.clone()),
        None => default_binary(),
    }
}

/// target/release/examples/cycle_bench → target/release/hejnal.
fn default_binary() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .and_then(|examples| examples.parent())
        .map(|dir| dir.join("hejnal"))
        .filter(|b| b.is_file())
        .ok_or_else(|| {
            std::io::Error::other("no hejnal binary beside this example: run `cargo build --release` first, or pass --binary")
        })?;
    Ok(binary)
}
