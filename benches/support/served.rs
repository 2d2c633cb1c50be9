//! The scale benchmark against `hejnal run`: the daemon, a child process, runs
//! the cold and the steady cycles on its own schedule while a load client in
//! this process asks it for /feed.xml at a fixed rate, as feed readers do.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::{ACCEPT_ENCODING, ETAG, IF_NONE_MATCH};
use tokio::runtime::Runtime;

use super::cycle::{self, BenchError, ProcessRun, Setup, Summary};
use super::farm::Farm;
use super::scale::{self, Changes, Plan, ScaleCycle};

/// How often the bench asks the daemon whether a cycle has finished.
const POLL: Duration = Duration::from_millis(100);
/// The farm is changed only while the daemon sleeps at least this long
/// before its next tick, so that no steady cycle sees half a change.
const MARGIN: TimeDelta = TimeDelta::seconds(1);
/// A daemon that takes longer to listen, or to finish a cycle, is taken for hung.
const START_LIMIT: Duration = Duration::from_secs(5 * 60);
const CYCLE_LIMIT: Duration = Duration::from_secs(30 * 60);
/// A request that takes longer counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The readers' load and the daemon's schedule.
#[derive(Debug, Clone, Copy)]
pub struct Serving {
    /// Requests for /feed.xml a second.
    pub rps: u32,
    /// The daemon's schedule ticks every this many seconds (at most 60).
    pub tick_secs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cold,
    Steady(usize),
    /// A cycle nobody changed the farm for: the one before ended after, or
    /// too close to, the daemon's next tick.
    Extra,
}

/// One answer the load client got.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When the request was sent.
    pub at: DateTime<Utc>,
    /// Until the whole body was read.
    pub latency: Duration,
    /// None when the request failed or timed out.
    pub status: Option<u16>,
}

/// What the readers saw over a stretch of time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latencies {
    pub requests: usize,
    pub ok: usize,
    pub not_modified: usize,
    /// 404 or 503 before the first feed was published.
    pub no_feed: usize,
    /// Failed requests and any other answer.
    pub errors: usize,
    /// Over the requests sent once a feed existed.
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Over every request, those before the first feed too.
    pub p99_all: Duration,
}

impl Latencies {
    pub fn of<'a>(
        samples: impl Iterator<Item = &'a Sample>,
        feed_since: Option<DateTime<Utc>>,
    ) -> Latencies {
        let mut l = Latencies::default();
        let (mut fed, mut all) = (Vec::new(), Vec::new());
        for s in samples {
            let has_feed = feed_since.is_some_and(|t| s.at >= t);
            l.requests += 1;
            match s.status {
                Some(200) => l.ok += 1,
                Some(304) => l.not_modified += 1,
                Some(404 | 503) if !has_feed => l.no_feed += 1,
                _ => l.errors += 1,
            }
            all.push(s.latency);
            if has_feed {
                fed.push(s.latency);
            }
        }
        fed.sort();
        all.sort();
        l.p50 = quantile(&fed, 0.50);
        l.p99 = quantile(&fed, 0.99);
        l.max = fed.last().copied().unwrap_or_default();
        l.p99_all = quantile(&all, 0.99);
        l
    }
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct ServedCycle {
    pub kind: Kind,
    pub cycle: ScaleCycle,
    /// The requests sent while the cycle ran.
    pub latency: Latencies,
}

#[derive(Debug, Clone)]
pub struct Served {
    pub cycles: Vec<ServedCycle>,
    /// The requests sent between cycles once a feed existed: the server alone.
    pub idle: Latencies,
    /// Whether each cycle's peak memory is its own rather than the peak
    /// since the daemon started (the kernel refused to reset it).
    pub peak_per_cycle: bool,
}

/// Runs the plan's cold and steady cycles in one `hejnal run` under load.
pub fn run(
    dir: &Path,
    binary: &Path,
    farm: &Farm,
    plan: &Plan,
    serving: Serving,
) -> Result<Served, BenchError> {
    let every = schedule(serving.tick_secs);
    let ticks = cron::Schedule::from_str(&every)
        .map_err(|e| BenchError::Daemon(format!("schedule {every:?}: {e}")))?;
    let setup = Setup {
        schedule: Some(every),
        ..plan.setup.clone()
    };
    let config = cycle::write_config(dir, farm, &setup)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client = client()?;
    let listen = free_loopback_address()?;
    let probe = Probe {
        runtime: &runtime,
        client: client.clone(),
        base: format!("http://{listen}"),
    };
    let (cold, _) = Mark::now(farm, None)?;
    let daemon = Daemon::start(binary, &config, &listen)?;
    let mut session = Session {
        dir,
        farm,
        probe,
        daemon,
        ticks,
        last: Finished::default(),
        cycles: Vec::new(),
        peak_per_cycle: true,
    };
    session.wait_listening()?;
    let load = Load::start(&runtime, client, session.url("/feed.xml"), serving.rps);
    session.cycle(Kind::Cold, 0, &cold)?;
    let mut changes = Changes::new(plan);
    for n in 1..=plan.steady {
        session.wait_quiet()?;
        let changed = changes.apply(farm, n);
        let mark = session.mark_at_tick()?;
        session.cycle(Kind::Steady(n), changed, &mark)?;
    }
    let samples = load.stop();
    Ok(session.served(&samples))
}

/// Every `secs` seconds, on the minute.
fn schedule(secs: u32) -> String {
    if secs >= 60 {
        "0 * * * * *".to_string()
    } else {
        format!("*/{} * * * * *", secs.max(1))
    }
}

/// Plain HTTP only; readers that want gzip say so themselves, and the body is
/// counted as it arrives, never decompressed here.
fn client() -> Result<reqwest::Client, BenchError> {
    // reqwest is built without a TLS provider of its own, as hejnal is.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .timeout(REQUEST_TIMEOUT)
        .build()?)
}

fn free_loopback_address() -> Result<String, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `hejnal run` as a child, stopped with SIGTERM when dropped.
struct Daemon {
    child: Child,
    binary: PathBuf,
    log: PathBuf,
}

impl Daemon {
    fn start(binary: &Path, config: &Path, listen: &str) -> Result<Daemon, BenchError> {
        let dir = config.parent().unwrap_or(Path::new("."));
        let log = dir.join("run.err");
        let child = Command::new(binary)
            .arg("--config")
            .arg(config)
            .arg("run")
            .arg("--listen")
            .arg(listen)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("run.out"))?)
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        Ok(Daemon {
            child,
            binary: binary.to_path_buf(),
            log,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An error with the daemon's log once it has exited.
    fn alive(&mut self) -> Result<(), BenchError> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(BenchError::Child {
                binary: self.binary.display().to_string(),
                status: status.to_string(),
                stderr: std::fs::read_to_string(&self.log).unwrap_or_default(),
            }),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A reaped child's pid may belong to another process by now.
        if let (Ok(None), Ok(pid)) = (self.child.try_wait(), libc::pid_t::try_from(self.pid())) {
            // SAFETY: kill only sends a signal, to our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let _ = self.child.wait();
        }
    }
}

/// The bench's own questions to the daemon's /metrics and /healthz.
struct Probe<'a> {
    runtime: &'a Runtime,
    client: reqwest::Client,
    base: String,
}

impl Probe<'_> {
    fn text(&self, path: &str) -> Result<String, reqwest::Error> {
        self.runtime.block_on(async {
            let url = format!("{}{path}", self.base);
            self.client.get(url).send().await?.text().await
        })
    }
}

/// The last finished cycle as /metrics and /healthz tell it.
#[derive(Debug, Clone, Copy, Default)]
struct Finished {
    cycles: u64,
    /// Entries stored since the daemon started.
    new_entries: u64,
    started: DateTime<Utc>,
    finished: DateTime<Utc>,
    summary: Summary,
}

/// The value of an unlabelled (or exactly labelled) Prometheus sample.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn read_finished(probe: &Probe<'_>, metrics: &str) -> Result<Finished, BenchError> {
    let health = probe.text("/healthz")?;
    let bad = || BenchError::Daemon(format!("unexpected /healthz: {health}"));
    let json: serde_json::Value = serde_json::from_str(&health).map_err(|_| bad())?;
    let last = &json["last_cycle"];
    let finished = last["finished"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(bad)?
        .with_timezone(&Utc);
    let count = |key: &str| last[key].as_u64().unwrap_or(0) as usize;
    let elapsed = metric(metrics, "hejnal_cycle_duration_seconds").ok_or_else(bad)?;
    let elapsed =
        TimeDelta::from_std(Duration::from_secs_f64(elapsed.max(0.0))).unwrap_or_default();
    Ok(Finished {
        cycles: metric(metrics, "hejnal_cycles_total").unwrap_or(0.0) as u64,
        new_entries: metric(metrics, "hejnal_new_entries_total").unwrap_or(0.0) as u64,
        started: finished - elapsed,
        finished,
        summary: Summary {
            ok: count("ok"),
            not_modified: count("not_modified"),
            failed: count("failed"),
            new_entries: 0,
            new_stories: count("new_stories"),
        },
    })
}

/// The child's and this process's counters just before a cycle.
struct Mark {
    at: DateTime<Utc>,
    cpu: (Duration, Duration),
    own_cpu: Duration,
}

impl Mark {
    /// Also starts the farm's per-host clock, and the child's peak memory
    /// again when there is a child.
    fn now(farm: &Farm, pid: Option<u32>) -> Result<(Mark, bool), BenchError> {
        let reset = pid.is_some_and(reset_peak);
        farm.reset_load();
        let mark = Mark {
            at: Utc::now(),
            cpu: pid.and_then(child_cpu).unwrap_or_default(),
            own_cpu: cycle::own_cpu()?,
        };
        Ok((mark, reset))
    }
}

/// Peak memory counts again from now (Linux `clear_refs` 5).
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// User and system time of the child so far.
fn child_cpu(pid: u32) -> Option<(Duration, Duration)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields 14 and 15, counted after the command name, which may hold spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    // SAFETY: sysconf only reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut next = || {
        Some(Duration::from_secs_f64(
            fields.next()?.parse::<f64>().ok()? / ticks,
        ))
    };
    Some((next()?, next()?))
}

fn peak_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| cycle::status_kib(&s, "VmHWM:"))
        .unwrap_or(0)
}

/// A recorded cycle and when it ran, by the daemon's clock.
struct Window {
    kind: Kind,
    cycle: ScaleCycle,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

struct Session<'a> {
    dir: &'a Path,
    farm: &'a Farm,
    probe: Probe<'a>,
    daemon: Daemon,
    ticks: cron::Schedule,
    last: Finished,
    cycles: Vec<Window>,
    peak_per_cycle: bool,
}

impl Session<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.probe.base)
    }

    fn wait_listening(&mut self) -> Result<(), BenchError> {
        let deadline = Instant::now() + START_LIMIT;
        while self.probe.text("/healthz").is_err() {
            self.daemon.alive()?;
            if Instant::now() > deadline {
                return Err(BenchError::Daemon(format!(
                    "not listening after {START_LIMIT:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Waits for the next cycle to finish and records it.
    fn cycle(&mut self, kind: Kind, changed: usize, mark: &Mark) -> Result<(), BenchError> {
        let done = self.wait_finished()?;
        let pid = self.daemon.pid();
        let (user, system) = child_cpu(pid).unwrap_or_default();
        let run = ProcessRun {
            wall: (done.finished - done.started).to_std().unwrap_or_default(),
            user: user.saturating_sub(mark.cpu.0),
            system: system.saturating_sub(mark.cpu.1),
            max_rss_kib: peak_kib(pid),
            farm_cpu: cycle::own_cpu()?.saturating_sub(mark.own_cpu),
            summary: Summary {
                new_entries: done.new_entries.saturating_sub(self.last.new_entries) as usize,
                ..done.summary
            },
        };
        let late = (done.started - mark.at).to_std().unwrap_or_default();
        self.cycles.push(Window {
            kind,
            cycle: scale::measure(self.dir, self.farm, run, changed, late),
            from: done.started,
            until: done.finished,
        });
        self.last = done;
        Ok(())
    }

    fn wait_finished(&mut self) -> Result<Finished, BenchError> {
        let deadline = Instant::now() + CYCLE_LIMIT;
        loop {
            self.daemon.alive()?;
            if let Ok(metrics) = self.probe.text("/metrics") {
                if metric(&metrics, "hejnal_cycles_total").unwrap_or(0.0) as u64 > self.last.cycles
                {
                    return read_finished(&self.probe, &metrics);
                }
                for stage in ["store", "publish"] {
                    let failing = format!("hejnal_stage_failing{{stage=\"{stage}\"}}");
                    if metric(&metrics, &failing) == Some(1.0) {
                        let health = self.probe.text("/healthz").unwrap_or_default();
                        return Err(BenchError::Daemon(format!("a cycle failed: {health}")));
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(BenchError::Daemon(format!(
                    "no cycle finished within {CYCLE_LIMIT:?}"
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The daemon's next tick after the last cycle began.
    fn next_tick(&self) -> DateTime<Utc> {
        self.ticks
            .after(&self.last.started)
            .next()
            .unwrap_or(self.last.finished)
    }

    /// Records the cycles that start before the farm can be changed safely.
    fn wait_quiet(&mut self) -> Result<(), BenchError> {
        while self.next_tick() <= Utc::now() + MARGIN {
            let (mark, reset) = Mark::now(self.farm, Some(self.daemon.pid()))?;
            self.peak_per_cycle &= reset;
            self.cycle(Kind::Extra, 0, &mark)?;
        }
        Ok(())
    }

    /// Sleeps until just before the next tick, so that the idle server's CPU
    /// and memory stay out of the cycle's.
    fn mark_at_tick(&mut self) -> Result<Mark, BenchError> {
        let before = self.next_tick() - TimeDelta::from_std(POLL).unwrap_or_default();
        if let Ok(wait) = (before - Utc::now()).to_std() {
            std::thread::sleep(wait);
        }
        let (mark, reset) = Mark::now(self.farm, Some(self.daemon.pid()))?;
        self.peak_per_cycle &= reset;
        Ok(mark)
    }

    fn served(self, samples: &[Sample]) -> Served {
        let feed_since = samples
            .iter()
            .filter(|s| matches!(s.status, Some(200 | 304)))
            .map(|s| s.at)
            .min();
        let within = |w: &Window, s: &Sample| (w.from..=w.until).contains(&s.at);
        let idle = samples
            .iter()
            .filter(|s| !self.cycles.iter().any(|w| within(w, s)))
            .filter(|s| feed_since.is_some_and(|t| s.at >= t));
        Served {
            idle: Latencies::of(idle, feed_since),
            cycles: self
                .cycles
                .iter()
                .map(|w| ServedCycle {
                    kind: w.kind,
                    cycle: w.cycle.clone(),
                    latency: Latencies::of(samples.iter().filter(|s| within(w, s)), feed_since),
                })
                .collect(),
            peak_per_cycle: self.peak_per_cycle,
        }
    }
}

/// The readers' requests at a fixed rate, however long the answers take.
struct Load {
    samples: Arc<Mutex<Vec<Sample>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    fn start(runtime: &Runtime, client: reqwest::Client, url: String, rps: u32) -> Load {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let task = runtime.spawn(drive(client, url, rps, Arc::clone(&samples)));
        Load { samples, task }
    }

    fn stop(self) -> Vec<Sample> {
        self.task.abort();
        std::mem::take(&mut *lock(&self.samples))
    }
}

/// What a reader sends: a quarter of them each plain, gzip, conditional, and
/// conditional gzip.
#[derive(Debug, Clone, Copy)]
struct Reader {
    gzip: bool,
    conditional: bool,
}

impl Reader {
    fn nth(n: u64) -> Reader {
        Reader {
            gzip: n % 2 == 1,
            conditional: n % 4 >= 2,
        }
    }
}

/// The last ETag seen for the plain and the gzip body.
type Etags = Arc<Mutex<[Option<String>; 2]>>;

async fn drive(client: reqwest::Client, url: String, rps: u32, samples: Arc<Mutex<Vec<Sample>>>) {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rps.max(1))));
    let etags = Etags::default();
    for n in 0u64.. {
        ticker.tick().await;
        // Each request on a task of its own: a slow answer delays no other.
        tokio::spawn(read(
            client.clone(),
            url.clone(),
            Reader::nth(n),
            Arc::clone(&etags),
            Arc::clone(&samples),
        ));
    }
}

async fn read(
    client: reqwest::Client,
    url: String,
    reader: Reader,
    etags: Etags,
    samples: Arc<Mutex<Vec<Sample>>>,
) {
    let slot = usize::from(reader.gzip);
    let etag = reader
        .conditional
        .then(|| lock(&etags)[slot].clone())
        .flatten();
    let at = Utc::now();
    let started = Instant::now();
    let answer = ask(&client, &url, reader.gzip, etag).await;
    let latency = started.elapsed();
    let status = answer.ok().map(|(status, etag)| {
        if etag.is_some() {
            lock(&etags)[slot] = etag;
        }
        status
    });
    lock(&samples).push(Sample {
        at,
        latency,
        status,
    });
}

async fn ask(
    client: &reqwest::Client,
    url: &str,
    gzip: bool,
    etag: Option<String>,
) -> Result<(u16, Option<String>), reqwest::Error> {
    let mut request = client.get(url);
    if gzip {
        request = request.header(ACCEPT_ENCODING, "gzip");
    }
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // A reader waits for the whole body.
    response.bytes().await?;
    Ok((status, etag))
}
