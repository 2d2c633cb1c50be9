//! One cycle of the walk: fetch the due sources concurrently, parse and clean each
//! document, store the entries, group them into stories and publish.
//!
//! Beside it: when each source is due (`schedule`), the WebSub pings after a
//! publish (`websub`), and `hejnal check --probe`, which runs a cycle's fetch and
//! parse for every source and describes what came back instead of storing it
//! (`probe`).

pub mod probe;
pub mod schedule;
pub mod websub;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use xxhash_rust::xxh3::Xxh3;

use crate::alerts;
use crate::allocator::release_freed_memory;
use crate::bilingual::pairs;
use crate::bilingual::translate;
use crate::clean;
use crate::config::{Config, SourceConfig};
use crate::dedupe;
use crate::fetch::queue::{HostQueue, host_key};
use crate::fetch::{Conditional, FetchError, FetchOutcome, Fetched, Fetcher};
use crate::model::{Entry, SourceState, Story};
use crate::parse;
use crate::publish::{self, Packing, RenderExtras, archive};
use crate::store::{Batch, FetchHealth, Store, StoreError, UpsertStatus};
use crate::upload::{self, UploadReport};

/// What happened to one source in a cycle.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceOutcome {
    Ok {
        items: usize,
        new: usize,
        updated: usize,
    },
    NotModified,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct SourceReport {
    pub id: String,
    pub outcome: SourceOutcome,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// Wall time spent in each stage; parse and clean add up across parallel tasks.
#[derive(Debug, Clone, Default)]
pub struct StageTimes {
    pub fetch: Duration,
    pub parse: Duration,
    pub clean: Duration,
    pub store: Duration,
    pub dedupe: Duration,
    pub publish: Duration,
    /// Uploading to object storage, when `[publish] target` is set.
    pub upload: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct CycleReport {
    pub started: Option<DateTime<Utc>>,
    pub sources: Vec<SourceReport>,
    pub new_entries: usize,
    pub updated_entries: usize,
    pub new_stories: usize,
    pub written: Vec<PathBuf>,
    /// What was uploaded to object storage, when `[publish] target` is set.
    pub upload: Option<UploadReport>,
    pub elapsed: Duration,
    pub stages: StageTimes,
}

impl CycleReport {
    pub fn count(&self, want: fn(&SourceOutcome) -> bool) -> usize {
        self.sources.iter().filter(|s| want(&s.outcome)).count()
    }

    pub fn ok(&self) -> usize {
        self.count(|o| matches!(o, SourceOutcome::Ok { .. }))
    }

    pub fn not_modified(&self) -> usize {
        self.count(|o| matches!(o, SourceOutcome::NotModified))
    }

    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, SourceOutcome::Failed(_)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("publish: {0}")]
    Publish(#[from] publish::PublishError),
}

/// Which sources a cycle fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every enabled source, now (`hejnal once`).
    All,
    /// Only the sources whose next fetch is due (the daemon).
    Due,
}

/// Shared with whoever runs the cycle: a way to stop it early, and a sign of
/// life after every source, which the daemon's watchdog watches.
#[derive(Debug, Default)]
pub struct Control {
    stop: AtomicBool,
    last_progress: AtomicI64,
}

impl Control {
    /// No new fetch starts after this; fetches in flight finish.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn beat(&self) {
        self.last_progress
            .store(Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    pub fn since_progress(&self) -> Duration {
        let ms = Utc::now().timestamp_millis() - self.last_progress.load(Ordering::Relaxed);
        Duration::from_millis(ms.max(0) as u64)
    }
}

/// The result of fetching, parsing and cleaning one source, before it is stored.
struct Harvest {
    source: SourceConfig,
    state: SourceState,
    result: Result<Option<Vec<Entry>>, String>,
    retry_after: Option<Duration>,
    max_age: Option<Duration>,
    gone: bool,
    bytes: u64,
    elapsed: Duration,
    parse_time: Duration,
    clean_time: Duration,
    /// What the status page shows of this fetch.
    health: FetchHealth,
}

/// How long a finished harvest may wait for others to share its transaction:
/// a commit rewrites the last page of every index it touched, so a thousand
/// 304s committed one by one write megabytes where one commit writes kilobytes.
const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// Harvests waiting to be stored at most. One without new entries (a 304, a
/// failure) holds only its source's state.
const HARVEST_QUEUE: usize = 1_024;
/// Entries the waiting harvests may hold together. A cold start stores slower
/// than it fetches, and each commit rewrites every index page it touched: with
/// room for a few hundred entries, a batch held that many, and at 20,000
/// sources the cycle spent a quarter of its time rewriting the same pages
/// (208 s against 153 s with room for 5,000). Each waiting entry holds about
/// 7 KB of realistic text.
const QUEUED_ENTRIES: u32 = 5_000;
/// Entries stored in one transaction at most: enough that commits cost little,
/// few enough that a batch's memory and the time the write lock is held stay small.
const MAX_BATCH_ENTRIES: usize = 5_000;

pub async fn run(
    config: &Config,
    store: &mut Store,
    fetcher: &Arc<Fetcher>,
    selection: Selection,
    control: &Arc<Control>,
) -> Result<CycleReport, CycleError> {
    let started = Instant::now();
    let now = Utc::now();
    let mut report = CycleReport {
        started: Some(now),
        ..CycleReport::default()
    };

    let mut due = Vec::new();
    for source in config.enabled_sources() {
        let state = store.source_state(&source.id)?;
        if state.gone_url.as_deref() == Some(source.url.as_str()) {
            continue;
        }
        if selection == Selection::Due && !schedule::is_due(state.next_due, now) {
            continue;
        }
        due.push((source.clone(), state));
    }

    store.forget_stop_keys();
    let checkpointer = store.checkpointer();
    let fetch_started = Instant::now();
    let (sender, mut ready_harvests) = mpsc::channel(HARVEST_QUEUE);
    let mut producer = Fetching(tokio::spawn(produce(
        Limits::of(config),
        Arc::clone(fetcher),
        due,
        config.publisher.concurrency.max(1),
        Arc::clone(control),
        now,
        sender,
    )));
    while let Some(first) = ready_harvests.recv().await {
        let mut entries = first.harvest.entry_count();
        let mut ready = vec![first];
        // Harvests that finish within a short window share one transaction.
        let window_ends = tokio::time::Instant::now() + BATCH_WINDOW;
        while entries < MAX_BATCH_ENTRIES {
            match tokio::time::timeout_at(window_ends, ready_harvests.recv()).await {
                Ok(Some(h)) => {
                    entries += h.harvest.entry_count();
                    ready.push(h);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let store_started = Instant::now();
        let batch = store.batch()?;
        // Each harvest's room in the queue is given back as soon as its
        // entries are written, so the next harvests are ready to be taken as
        // soon as this batch is grouped.
        for Waiting { harvest: h, room } in ready {
            report.stages.parse += h.parse_time;
            report.stages.clean += h.clean_time;
            let source_report = settle(config, &batch, h, now, &mut report)?;
            drop(room);
            report.sources.push(source_report);
        }
        batch.commit()?;
        report.stages.store += store_started.elapsed();
        // Grouping what just landed runs while the fetching task goes on
        // fetching, parsing and cleaning, instead of leaving all of it for
        // after the last fetch. Entries are placed in the order they were
        // stored either way, so the stories are the same.
        if entries > 0 {
            group(config, store, now, &mut report)?;
            release_freed_memory();
        }
        if let Some(checkpointer) = &checkpointer {
            checkpointer.nudge();
        }
        control.beat();
    }
    if let Err(e) = (&mut producer.0).await {
        tracing::error!(error = %e, "the fetching task ended abnormally");
    }
    report.stages.fetch = fetch_started
        .elapsed()
        .saturating_sub(report.stages.store + report.stages.dedupe);

    // Every stored batch is grouped already; this places what an interrupted
    // cycle stored and never grouped, when this one stored nothing.
    group(config, store, now, &mut report)?;
    drop_stale_corrections(config, store)?;
    let pairs_started = Instant::now();
    pairs::pair(store, config, now)?;
    report.stages.dedupe += pairs_started.elapsed();
    release_freed_memory();
    // What is left in the WAL is copied while translating and publishing.
    if let Some(checkpointer) = &checkpointer {
        checkpointer.nudge();
    }

    // Verdicts come before translating, so that no filtered story is
    // translated; deciding what is published, they count as publishing.
    let filter_started = Instant::now();
    crate::filter::apply(config, store)?;
    report.stages.publish += filter_started.elapsed();

    // Translation never holds publishing up: it has its own time limit and
    // only logs its failures.
    translate::run(config, store, now.date_naive()).await;

    let publish_started = Instant::now();
    report.written = publish_site(config, store, now)?;
    report.stages.publish += publish_started.elapsed();
    let checkpoint_started = Instant::now();
    prune(config, store, now);
    drop(checkpointer);
    // Everything is committed already; a checkpoint left undone is only redone later.
    if let Err(e) = store.checkpoint() {
        tracing::warn!(error = %e, "database checkpoint failed");
    }
    report.stages.store += checkpoint_started.elapsed();
    // Publishing's buffers (whole feeds, their compressed copies) are freed by
    // now, and between cycles a daemon would otherwise hold them for hours.
    release_freed_memory();
    let upload_started = Instant::now();
    report.upload = upload::upload(config, store, now).await;
    report.stages.upload = upload_started.elapsed();
    ping_hubs(config, fetcher, in_place(&report)).await;

    report.sources.sort_by(|a, b| a.id.cmp(&b.id));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Stories pruned in one cycle at most: more than a busy farm makes in a
/// cycle, so a backlog (a first run with retention) drains over a few cycles.
const PRUNE_PER_CYCLE: usize = 5_000;

/// Stories past `keep_days` leave the database (`Store::prune`). Retention
/// failing never holds publishing up; the next cycle tries again.
fn prune(config: &Config, store: &mut Store, now: DateTime<Utc>) {
    let cutoff = now - chrono::TimeDelta::days(i64::from(config.keep_days()));
    match store.prune(cutoff, now, PRUNE_PER_CYCLE) {
        Ok(p) if p.stories + p.forgotten > 0 => tracing::info!(
            stories = p.stories,
            entries = p.entries,
            forgotten_keys = p.forgotten,
            "pruned stories older than keep_days"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "retention failed; the next cycle tries again"),
    }
}

/// Places every stored entry that is not in a story yet.
fn group(
    config: &Config,
    store: &mut Store,
    now: DateTime<Utc>,
    report: &mut CycleReport,
) -> Result<(), CycleError> {
    let started = Instant::now();
    let base = url::Url::parse(config.publisher.base_url.get_ref()).ok();
    store.mint_story_ids_under(crate::store::authority_of(
        base.as_ref().and_then(url::Url::host),
    ));
    report.new_stories += dedupe::group(store, &config.dedupe, now)?.new_stories;
    report.stages.dedupe += started.elapsed();
    Ok(())
}

/// The fetching task of a cycle. A cycle that fails while storing returns
/// early; its fetches must not go on in the background, into the next cycle.
struct Fetching(tokio::task::JoinHandle<()>);

impl Drop for Fetching {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What fetching, parsing and cleaning need from the configuration, owned, so
/// that they run on a task of their own while the cycle stores and groups.
#[derive(Clone)]
struct Limits {
    max_body_bytes: u64,
    max_items: usize,
    strip_params: Arc<[String]>,
}

impl Limits {
    fn of(config: &Config) -> Limits {
        Limits {
            max_body_bytes: config.fetch.max_body_bytes,
            max_items: config.fetch.max_items_per_feed,
            strip_params: config.dedupe.strip_params.clone().into(),
        }
    }
}

/// Fetches, parses and cleans the due sources, `concurrency` at a time, and
/// hands each harvest over as it finishes. The slots go round robin over the
/// hosts, at most `per_host` sources of one host at a time (see
/// [`HostQueue`]): a slot never sits waiting on a busy host while another
/// host's feeds are due. When the cycle falls behind with storing, the queue
/// fills (to `QUEUED_ENTRIES` entries, or `HARVEST_QUEUE` harvests) and
/// finished harvests hold their slots until it drains, so no new fetch starts
/// and memory stays bounded, while the work already in flight goes on.
async fn produce(
    limits: Limits,
    fetcher: Arc<Fetcher>,
    due: Vec<(SourceConfig, SourceState)>,
    concurrency: usize,
    control: Arc<Control>,
    now: DateTime<Utc>,
    sender: mpsc::Sender<Waiting>,
) {
    // Many fetches wait on the network at once, but only one feed per core is
    // parsed and cleaned at a time: more would not finish sooner, and each
    // feed in the works holds its body, its parsed model and its entries.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = Arc::new(Semaphore::new(cores));
    let queued = Arc::new(Semaphore::new(QUEUED_ENTRIES as usize));
    let mut queue = HostQueue::new(fetcher.per_host());
    for (source, state) in due {
        queue.push(host_key(fetch_url(&source, &state)), (source, state));
    }
    let mut running = FuturesUnordered::new();
    loop {
        // A stop request lets the fetches in flight finish and starts no more.
        while running.len() < concurrency && !control.stopping() {
            let Some((host, (source, state))) = queue.start_next() else {
                break;
            };
            let work = harvest(
                limits.clone(),
                Arc::clone(&fetcher),
                Arc::clone(&cpu),
                source,
                state,
                now,
            );
            let sender = sender.clone();
            let queued = Arc::clone(&queued);
            // Each harvest waits for room in the queue on its own: were the
            // loop to wait instead, no fetch or parse in flight would make
            // progress until the cycle took the next harvest, and the cores
            // would idle while it stores and groups.
            running.push(async move {
                let harvest = work.await;
                let sent = match queued.acquire_many_owned(room_for(&harvest)).await {
                    Ok(room) => sender.send(Waiting { harvest, room }).await.is_ok(),
                    Err(_) => false,
                };
                (host, sent)
            });
        }
        let Some((host, sent)) = running.next().await else {
            return;
        };
        if !sent {
            // The cycle stopped taking harvests: it failed and returned.
            return;
        }
        queue.done(&host);
    }
}

/// A finished harvest in the queue, with the room it takes there.
struct Waiting {
    harvest: Harvest,
    room: OwnedSemaphorePermit,
}

/// The room a harvest takes in the queue: one place per entry, at least one,
/// and a feed larger than the whole queue takes all of it.
fn room_for(harvest: &Harvest) -> u32 {
    u32::try_from(harvest.entry_count())
        .unwrap_or(QUEUED_ENTRIES)
        .clamp(1, QUEUED_ENTRIES)
}

impl Harvest {
    fn entry_count(&self) -> usize {
        match &self.result {
            Ok(Some(entries)) => entries.len(),
            _ => 0,
        }
    }
}

async fn harvest(
    limits: Limits,
    fetcher: Arc<Fetcher>,
    cpu: Arc<Semaphore>,
    source: SourceConfig,
    state: SourceState,
    now: DateTime<Utc>,
) -> Harvest {
    let started = Instant::now();
    let mut h = Harvest {
        source: source.clone(),
        state,
        result: Ok(None),
        retry_after: None,
        max_age: None,
        gone: false,
        bytes: 0,
        elapsed: Duration::ZERO,
        parse_time: Duration::ZERO,
        clean_time: Duration::ZERO,
        health: FetchHealth::default(),
    };
    let url = fetch_url(&source, &h.state).to_string();
    let settings = settings_digest(&source, &limits);
    // Validators answer for the entries as these settings made them: after a
    // change (a corrected `lang`, say) the whole body is fetched and read anew.
    let same_settings = h.state.settings_digest == Some(settings);
    let conditional = if same_settings {
        Conditional {
            etag: h.state.etag.clone(),
            last_modified: h.state.last_modified.clone(),
        }
    } else {
        Conditional::default()
    };
    let limit = source.max_body_bytes.unwrap_or(limits.max_body_bytes);
    let (fetched, chain) = fetcher.fetch_traced(&url, &conditional, limit).await;
    h.health.chain = chain;
    match fetched {
        Ok(FetchOutcome::NotModified { max_age }) => {
            h.max_age = max_age;
            h.health.conditional = Some(true);
        }
        Ok(FetchOutcome::Fetched(fetched)) => {
            h.bytes = fetched.body.len() as u64;
            h.health.conditional = Some(fetched.etag.is_some() || fetched.last_modified.is_some());
            h.max_age = fetched.max_age;
            if let Some(target) = &fetched.moved_to {
                tracing::warn!(source = %source.id, from = %url, to = %target,
                    "feed moved permanently; update its url in feeds.toml");
                h.state.moved_to = Some(target.clone());
            }
            // Validators are kept only with a body whose entries are stored:
            // sent back for a broken body, they would turn it into a 304, and
            // its failure into a success.
            let validators = Conditional {
                etag: fetched.etag.clone(),
                last_modified: fetched.last_modified.clone(),
            };
            let digest = body_digest(&fetched);
            if same_settings && h.state.body_digest == Some(digest) {
                // Its entries are stored as this very body made them: parsing
                // it again would find every one unchanged.
                tracing::debug!(source = %source.id, "same body as last time; not parsed again");
                remember(&mut h.state, validators);
                h.elapsed = started.elapsed();
                return h;
            }
            let max_items = limits.max_items;
            let strip = limits.strip_params;
            let seen = h.state.item_digests.clone();
            // The semaphore is never closed, so acquiring cannot fail.
            let permit = cpu.acquire_owned().await.ok();
            // Parsing and sanitizing are CPU work: keep them off the async workers.
            let worked = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let t0 = Instant::now();
                let parsed = parse::parse(
                    &fetched.body,
                    fetched.content_type.as_deref(),
                    &fetched.final_url,
                    max_items,
                );
                let parse_time = t0.elapsed();
                let t1 = Instant::now();
                let out = parsed.map(|feed| {
                    let url = &fetched.final_url;
                    let cleaned = clean::clean_unseen(&source, &feed, url, &strip, now, &seen);
                    let warnings =
                        parse::warnings(&fetched.body, fetched.content_type.as_deref(), &feed);
                    (cleaned, feed.ttl_minutes, warnings)
                });
                (out, parse_time, t1.elapsed())
            })
            .await;
            match worked {
                Ok((Ok((cleaned, ttl, warnings)), parse_time, clean_time)) => {
                    h.health.warnings = Some(warnings);
                    remember(&mut h.state, validators);
                    h.state.settings_digest = Some(settings);
                    h.state.body_digest = Some(digest);
                    h.state.item_digests = cleaned.digests;
                    h.state.ttl_minutes = ttl;
                    h.parse_time = parse_time;
                    h.clean_time = clean_time;
                    h.result = Ok(Some(cleaned.entries));
                }
                Ok((Err(e), parse_time, _)) => {
                    h.parse_time = parse_time;
                    h.result = Err(e.to_string());
                }
                Err(e) => h.result = Err(format!("parser crashed: {e}")),
            }
        }
        Err(e) => {
            h.retry_after = e.retry_after();
            h.gone = matches!(e, FetchError::Gone);
            h.result = Err(e.to_string());
        }
    }
    h.elapsed = started.elapsed();
    h
}

/// Keeps a response's validators, to send back next time.
fn remember(state: &mut SourceState, validators: Conditional) {
    state.etag = validators.etag;
    state.last_modified = validators.last_modified;
}

/// What in feeds.toml and in hejnal shapes a source's entries besides its
/// feed: what cleaning reads, and how many items are kept.
fn settings_digest(source: &SourceConfig, limits: &Limits) -> u64 {
    let mut hasher = Xxh3::with_seed(clean::settings_seed(
        source,
        &source.url,
        &limits.strip_params,
    ));
    hasher.update(&limits.max_items.to_le_bytes());
    hasher.digest()
}

/// A fetched body as parsing reads it: the bytes, where they came from, and
/// what the server said they are.
fn body_digest(fetched: &Fetched) -> u64 {
    let mut hasher = Xxh3::new();
    let content_type = fetched.content_type.as_deref().unwrap_or("");
    clean::hash_pieces(
        &mut hasher,
        [fetched.final_url.as_bytes(), content_type.as_bytes()],
    );
    hasher.update(&fetched.body);
    hasher.digest()
}

/// The URL to fetch: where a permanent redirect pointed, while the configured URL is unchanged.
fn fetch_url<'a>(source: &'a SourceConfig, state: &'a SourceState) -> &'a str {
    match (&state.moved_to, &state.moved_from) {
        (Some(target), Some(from)) if *from == source.url => target,
        _ => &source.url,
    }
}

/// Stores one harvest: entries first, then the fetch state, so a crash in between
/// costs a refetch and never an entry.
fn settle(
    config: &Config,
    store: &Batch<'_>,
    h: Harvest,
    now: DateTime<Utc>,
    report: &mut CycleReport,
) -> Result<SourceReport, CycleError> {
    let source = &h.source;
    let mut state = h.state;
    let mut health = h.health;
    if state.moved_to.is_some() && state.moved_from.as_deref() != Some(source.url.as_str()) {
        state.moved_from = Some(source.url.clone());
    }
    let outcome = match h.result {
        Ok(Some(entries)) => {
            let upserted = store.upsert_entries(&entries, now)?;
            let new = upserted
                .iter()
                .filter(|u| u.status == UpsertStatus::New)
                .count();
            let updated = upserted
                .iter()
                .filter(|u| u.status == UpsertStatus::Updated)
                .count();
            report.new_entries += new;
            report.updated_entries += updated;
            state.last_ok = Some(now);
            state.last_error = None;
            state.consecutive_failures = 0;
            SourceOutcome::Ok {
                // Items seen in the body before are not cleaned into entries again.
                items: state.item_digests.len(),
                new,
                updated,
            }
        }
        Ok(None) => {
            state.last_ok = Some(now);
            state.last_error = None;
            state.consecutive_failures = 0;
            SourceOutcome::NotModified
        }
        Err(reason) => {
            tracing::warn!(source = %source.id, %reason, "source failed");
            health.failure = Some(reason.clone());
            state.last_error = Some(reason.clone());
            state.consecutive_failures = state.consecutive_failures.saturating_add(1);
            if h.gone {
                tracing::warn!(source = %source.id, "410 Gone: disabled until its url changes in feeds.toml");
                state.gone_url = Some(source.url.clone());
            }
            SourceOutcome::Failed(reason)
        }
    };
    state.next_due = Some(schedule::next_due(
        &schedule::Signals {
            failures: state.consecutive_failures,
            retry_after: h.retry_after,
            max_age: h.max_age,
            ttl_minutes: state.ttl_minutes,
        },
        config,
        source,
        now,
    ));
    store.save_source_state(&source.id, &state)?;
    store.record_health(&source.id, &health, now)?;
    Ok(SourceReport {
        id: source.id.clone(),
        outcome,
        bytes: h.bytes,
        elapsed: h.elapsed,
    })
}

/// An editor's translation stays while its source's text does; one the
/// source has rewritten since is dropped, and the machine's takes its place.
fn drop_stale_corrections(config: &Config, store: &Store) -> Result<(), CycleError> {
    for dropped in store.drop_stale_corrections(config.dedupe.max_distance)? {
        tracing::warn!(
            guid = %dropped.guid,
            lang = %dropped.lang,
            moved_bits = dropped.moved,
            "the source rewrote this story: its edited translation no longer fits and is dropped"
        );
    }
    Ok(())
}

/// Publishes what the store holds, without fetching: what `hejnal publish`
/// does after an editor's change. Returns the files written.
pub async fn publish(
    config: &Config,
    store: &Store,
    fetcher: &Fetcher,
    now: DateTime<Utc>,
) -> Result<Vec<PathBuf>, CycleError> {
    drop_stale_corrections(config, store)?;
    // Rules changed in feeds.toml apply to this publish too.
    crate::filter::apply(config, store)?;
    let report = CycleReport {
        written: publish_site(config, store, now)?,
        upload: upload::upload(config, store, now).await,
        ..CycleReport::default()
    };
    ping_hubs(config, fetcher, in_place(&report)).await;
    Ok(report.written)
}

/// The files readers can fetch now that changed: those uploaded, when the
/// site is served from object storage, else those written. WebSub hubs are
/// told of nothing before it is in place.
fn in_place(report: &CycleReport) -> &[PathBuf] {
    match &report.upload {
        Some(upload) => &upload.changed,
        None => &report.written,
    }
}

/// Writes the complete months' archives (once each), then the current files.
fn publish_site(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<PathBuf>, CycleError> {
    let out = config.output_dir();
    let oldest = store.oldest_story_published()?;
    let mut written = archive::write_months(config, &out, &StoredStories(store), oldest, now)?;
    let extras = RenderExtras {
        newest_archive: archive::newest(&archive::list(&out)?),
    };
    let stories = store.latest_stories(config.publisher.max_items)?;
    let files = publish::render_with(config, &stories, &extras)?;
    written.extend(publish::write(&out, &files)?.written);
    drop(files);
    // The status pages grow with the sources, to megabytes each for tens of
    // thousands, and webmasters read them now and then: each is written as
    // soon as it is made, quickly packed, as archives are.
    let health = alerts::health::survey(config, store, now)?;
    publish::status::render_each(config, &health, |file| {
        let report = publish::write_packed(&out, std::slice::from_ref(&file), Packing::Light)?;
        written.extend(report.written);
        Ok(())
    })?;
    Ok(written)
}

/// The stored stories, as the archives read them.
struct StoredStories<'a>(&'a Store);

impl archive::Archived for StoredStories<'_> {
    type Error = CycleError;

    fn count(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<usize, CycleError> {
        Ok(self.0.count_stories_published_between(from, until)?)
    }

    fn page(&self, q: &archive::PageQuery) -> Result<Vec<Story>, CycleError> {
        Ok(self
            .0
            .stories_published_after(q.from, q.until, q.after, q.limit)?)
    }
}

/// Tells the WebSub hubs which feeds changed; a hub that fails is only logged.
async fn ping_hubs(config: &Config, fetcher: &Fetcher, written: &[PathBuf]) {
    if config.publisher.websub_hubs.is_empty() {
        return;
    }
    let topics = match websub::topics(config, written) {
        Ok(topics) if !topics.is_empty() => topics,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, "no WebSub topics");
            return;
        }
    };
    for result in websub::notify(fetcher.client(), &config.publisher.websub_hubs, &topics).await {
        if let Err(e) = result {
            tracing::warn!(error = %e, "WebSub ping failed");
        }
    }
}
