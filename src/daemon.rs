//! `hejnal run`: cycles on the cron schedule, the HTTP server, signals and the
//! systemd notify protocol. The only module that knows about time and signals.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};

use crate::alerts::Alerter;
use crate::config::{Config, ConfigError};
use crate::cycle::schedule;
use crate::cycle::{self, Control, CycleReport, Selection};
use crate::fetch::{FetchError, Fetcher};
use crate::serve::status::Status;
use crate::serve::{self, ServeError, Site};
use crate::store::{Store, StoreError};

/// How long SIGTERM waits for in-flight work before abandoning it.
const DRAIN: Duration = Duration::from_secs(8);
/// How long a stopping daemon waits for alerts on their way.
const ALERTS_AT_STOP: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("HTTP client: {0}")]
    Fetch(#[from] FetchError),
    // Not transparent: the operator's advice is found by the ServeError's type.
    #[error("{0}")]
    Serve(#[from] ServeError),
    #[error("signals: {0}")]
    Signal(std::io::Error),
}

pub struct Options {
    pub config_path: PathBuf,
    /// `--listen`, overriding `[server] listen`.
    pub listen: Option<String>,
}

/// Where a person points a browser or feed reader: `http://ADDR/`, with the
/// port the system gave when the configured one was 0.
pub fn served_url(listener: &tokio::net::TcpListener, configured: &str) -> String {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| configured.to_string());
    format!("http://{addr}/")
}

/// Tells systemd, when it listens; a failure to tell is logged, never fatal.
fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "systemd notify failed");
    }
}

pub async fn run(options: Options) -> Result<(), DaemonError> {
    let mut config = Arc::new(Config::load(&options.config_path)?);
    let mut store = Store::open(&config.database_path())?;
    let mut fetcher = Arc::new(Fetcher::new(&config.fetch, &config.user_agent())?);
    let mut alerter = Alerter::new(&config);

    let interval = schedule::publishing_interval(&config);
    let stale_after = config
        .server
        .stale_after_secs
        .map(Duration::from_secs)
        .unwrap_or(interval * 3);
    let status = Arc::new(Status::new(stale_after));
    set_source_counts(&status, &config);
    let site = Site::new(config.output_dir(), Arc::clone(&status), interval);
    let addr = options
        .listen
        .clone()
        .or_else(|| config.server.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = serve::bind(&addr).await?;
    tracing::info!(
        dir = %config.output_dir().display(),
        "serving the published feeds at {}",
        served_url(&listener, &addr)
    );

    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve(listener, site, async {
        let _ = server_stopped.await;
    }));

    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;

    let control = Arc::new(Control::default());
    control.beat();
    let watchdog = spawn_watchdog(Arc::clone(&control));
    notify(&[
        NotifyState::Ready,
        NotifyState::Status("started, first cycle running"),
    ]);

    let mut next_wake = Utc::now();
    let mut reload_pending = false;
    'daemon: loop {
        // Idle until the next tick, beating so the watchdog knows the loop lives.
        while Utc::now() < next_wake && !reload_pending {
            let wait = (next_wake - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = tokio::time::sleep(wait.min(Duration::from_secs(1))) => control.beat(),
                _ = hup.recv() => reload_pending = true,
                _ = term.recv() => break 'daemon,
                _ = int.recv() => break 'daemon,
            }
        }
        if reload_pending {
            reload_pending = false;
            reload(&options.config_path, &mut config, &mut fetcher, &status);
        }

        let tick = Utc::now();
        // The cycle borrows the store until this block ends.
        let finished = {
            let run = cycle::run(&config, &mut store, &fetcher, Selection::Due, &control);
            tokio::pin!(run);
            let outcome = loop {
                tokio::select! {
                    result = &mut run => break Some(result),
                    _ = hup.recv() => {
                        tracing::info!("reload requested; it applies when this cycle ends");
                        reload_pending = true;
                    }
                    _ = term.recv() => break None,
                    _ = int.recv() => break None,
                }
            };
            match outcome {
                Some(result) => {
                    after_cycle(result, &status, &config, &control);
                    true
                }
                None => {
                    drain(run, &control).await;
                    false
                }
            }
        };
        if !finished {
            break 'daemon;
        }
        // Alerts go out on tasks of their own; the loop does not wait.
        if let Err(e) = alerter.after_cycle(&config, &store, Utc::now()) {
            tracing::warn!(error = %e, "alerts skipped this cycle");
        }
        next_wake = schedule::next_cycle(&config, tick);
        let skipped = ticks_between(&config, tick, Utc::now());
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "the cycle outlasted the schedule; ticks that came meanwhile were skipped"
            );
        }
    }

    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    tracing::info!("stopping");
    // A message on its way is recorded if it arrives in time, or sent again
    // after the restart.
    if let Err(e) = alerter.finish(&store, ALERTS_AT_STOP).await {
        tracing::warn!(error = %e, "alerts in flight not recorded");
    }
    watchdog.abort();
    let _ = stop_server.send(());
    if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), server).await {
        tracing::warn!(error = %e, "HTTP server did not stop cleanly");
    }
    Ok(())
}

/// SIGTERM during a cycle: start no new fetch, let in-flight ones finish for a
/// while, then drop them. Every store write is its own transaction, so dropping
/// the cycle mid-way leaves a consistent database.
async fn drain<F: std::future::Future>(run: std::pin::Pin<&mut F>, control: &Control) {
    notify(&[
        NotifyState::Stopping,
        NotifyState::Status("finishing in-flight fetches"),
    ]);
    control.request_stop();
    if tokio::time::timeout(DRAIN, run).await.is_err() {
        tracing::warn!("in-flight fetches abandoned at shutdown");
    }
}

fn after_cycle(
    result: Result<CycleReport, cycle::CycleError>,
    status: &Status,
    config: &Config,
    control: &Control,
) {
    control.beat();
    match result {
        Ok(report) => {
            status.record(&report, Utc::now());
            let line = format!(
                "{} sources, {} failing, {} new stories",
                config.enabled_sources().count(),
                report.failed(),
                report.new_stories
            );
            tracing::info!(
                fetched = report.sources.len(),
                ok = report.ok(),
                not_modified = report.not_modified(),
                failed = report.failed(),
                new_stories = report.new_stories,
                written = report.written.len(),
                elapsed_ms = report.elapsed.as_millis() as u64,
                "cycle finished"
            );
            notify(&[NotifyState::Status(&line)]);
        }
        Err(e) => {
            let stage = match &e {
                cycle::CycleError::Store(_) => "store",
                cycle::CycleError::Publish(_) => "publish",
            };
            let error = crate::advice::explain(&e);
            tracing::error!(stage, "cycle failed: {error}");
            status.record_failure(stage, error, Utc::now());
            notify(&[NotifyState::Status(&format!("last cycle failed: {e}"))]);
        }
    }
}

/// SIGHUP: a bad file keeps the running configuration; a good one applies now.
fn reload(path: &Path, config: &mut Arc<Config>, fetcher: &mut Arc<Fetcher>, status: &Status) {
    notify(&[NotifyState::Reloading]);
    match Config::load(path) {
        Ok(fresh) => {
            match Fetcher::new(&fresh.fetch, &fresh.user_agent()) {
                Ok(f) => *fetcher = Arc::new(f),
                Err(e) => tracing::error!(error = %e, "keeping the old HTTP client"),
            }
            tracing::info!(
                sources = fresh.enabled_sources().count(),
                "configuration reloaded"
            );
            *config = Arc::new(fresh);
            set_source_counts(status, config);
        }
        Err(e) => tracing::error!("configuration not reloaded, the running one stays: {e}"),
    }
    notify(&[NotifyState::Ready]);
}

fn set_source_counts(status: &Status, config: &Config) {
    let all = config.sources.len();
    status.set_sources(all, all - config.enabled_sources().count());
}

fn ticks_between(config: &Config, from: DateTime<Utc>, to: DateTime<Utc>) -> usize {
    config
        .publisher
        .schedule
        .get_ref()
        .parse::<cron::Schedule>()
        .map(|s| s.after(&from).take_while(|t| *t < to).count())
        .unwrap_or(0)
}

fn spawn_watchdog(control: Arc<Control>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(period) = sd_notify::watchdog_enabled() else {
            return;
        };
        let mut ticker = tokio::time::interval(period / 2);
        loop {
            ticker.tick().await;
            if control.since_progress() < period {
                notify(&[NotifyState::Watchdog]);
            } else {
                tracing::error!("no progress for {period:?}; letting the watchdog restart hejnal");
            }
        }
    })
}
