//! What the daemon knows about its own health, shared with the HTTP server:
//! the last cycle's outcome for `/healthz` and running totals for `/metrics`.

use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::cycle::{CycleReport, SourceOutcome};

/// Upper bounds (seconds) of the fetch duration histogram.
const FETCH_BUCKETS: [f64; 9] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default)]
struct Totals {
    cycles: u64,
    fetches_ok: u64,
    fetches_not_modified: u64,
    fetches_failed: u64,
    bytes_fetched: u64,
    new_stories: u64,
    new_entries: u64,
    fetch_buckets: [u64; FETCH_BUCKETS.len()],
    fetch_count: u64,
    fetch_seconds: f64,
    last_cycle_seconds: f64,
    upload_puts: u64,
    upload_deletes: u64,
    upload_bytes: u64,
    upload_failures: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailingSource {
    pub id: String,
    pub error: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LastCycle {
    pub finished: Option<DateTime<Utc>>,
    pub sources: usize,
    pub ok: usize,
    pub not_modified: usize,
    pub failed: usize,
    pub new_stories: usize,
    pub failing: Vec<FailingSource>,
    /// Why the last upload to object storage stopped, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_error: Option<String>,
}

/// The stage of the walk that failed last, and how: fetch (every source fetched
/// failed), store (the database) or publish (writing output_dir).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageFailure {
    pub stage: &'static str,
    pub error: String,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Inner {
    totals: Totals,
    last: LastCycle,
    /// The last cycle in which at least one source answered, or nothing was due
    /// and the sources were not all failing: the feed is as fresh as that.
    last_success: Option<DateTime<Utc>>,
    sources_configured: usize,
    sources_disabled: usize,
    /// Cleared by the next cycle that gets past the stage.
    failing_stage: Option<StageFailure>,
}

/// Shared between the cycle loop (writer) and the HTTP handlers (readers).
#[derive(Debug)]
pub struct Status {
    inner: Mutex<Inner>,
    /// How long after the last success the feed counts as stale.
    stale_after: Duration,
    /// `hejnal serve` has no cycles: its health is that it serves a feed.
    serve_only: bool,
    /// The folder whose feed.xml `hejnal serve` serves.
    published: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub healthy: bool,
    pub mode: &'static str,
    pub last_success: Option<DateTime<Utc>>,
    /// Why the service is not healthy, when a stage is the reason.
    pub failing_stage: Option<StageFailure>,
    pub last_cycle: LastCycle,
}

impl Status {
    pub fn new(stale_after: Duration) -> Status {
        Status {
            inner: Mutex::new(Inner::default()),
            stale_after,
            serve_only: false,
            published: None,
        }
    }

    pub fn serve_only() -> Status {
        Status {
            serve_only: true,
            ..Status::new(Duration::MAX)
        }
    }

    /// Health then also asks whether `output_dir` holds a published feed.
    pub fn serving(self, output_dir: PathBuf) -> Status {
        Status {
            published: Some(output_dir),
            ..self
        }
    }

    /// A cycle failed in `stage` (store or publish): health says so until a
    /// cycle gets through.
    pub fn record_failure(&self, stage: &'static str, error: String, at: DateTime<Utc>) {
        let mut inner = self.lock();
        let since = match &inner.failing_stage {
            Some(f) if f.stage == stage => f.since,
            _ => at,
        };
        inner.failing_stage = Some(StageFailure {
            stage,
            error,
            since,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere must not take health reporting down with it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set_sources(&self, configured: usize, disabled: usize) {
        let mut inner = self.lock();
        inner.sources_configured = configured;
        inner.sources_disabled = disabled;
    }

    pub fn record(&self, report: &CycleReport, finished: DateTime<Utc>) {
        let mut inner = self.lock();
        let t = &mut inner.totals;
        t.cycles += 1;
        t.new_stories += report.new_stories as u64;
        t.new_entries += report.new_entries as u64;
        t.last_cycle_seconds = report.elapsed.as_secs_f64();
        if let Some(upload) = &report.upload {
            t.upload_puts += upload.puts as u64;
            t.upload_deletes += upload.deletes as u64;
            t.upload_bytes += upload.bytes;
            t.upload_failures += u64::from(upload.error.is_some());
            inner.last.upload_error = upload.error.clone();
        }
        let t = &mut inner.totals;
        let mut failing = Vec::new();
        for s in &report.sources {
            match &s.outcome {
                SourceOutcome::Ok { .. } => t.fetches_ok += 1,
                SourceOutcome::NotModified => t.fetches_not_modified += 1,
                SourceOutcome::Failed(error) => {
                    t.fetches_failed += 1;
                    failing.push(FailingSource {
                        id: s.id.clone(),
                        error: error.clone(),
                    });
                }
            }
            t.bytes_fetched += s.bytes;
            let secs = s.elapsed.as_secs_f64();
            t.fetch_count += 1;
            t.fetch_seconds += secs;
            for (bucket, bound) in t.fetch_buckets.iter_mut().zip(FETCH_BUCKETS) {
                if secs <= bound {
                    *bucket += 1;
                }
            }
        }
        inner.failing_stage = every_fetch_failed(report).map(|error| StageFailure {
            stage: "fetch",
            error,
            since: match &inner.failing_stage {
                Some(f) if f.stage == "fetch" => f.since,
                _ => finished,
            },
        });
        if report.sources.is_empty() {
            // Nothing was due: the feed is as fresh as its schedule wants, unless
            // every source failed when last fetched and is only waiting out its
            // backoff. Such a cycle is not "the last cycle" an operator asks about.
            if inner.last.sources == 0 || inner.last.failed < inner.last.sources {
                inner.last_success = Some(finished);
            }
            return;
        }
        if report.ok() + report.not_modified() > 0 {
            inner.last_success = Some(finished);
        }
        inner.last = LastCycle {
            finished: Some(finished),
            sources: report.sources.len(),
            ok: report.ok(),
            not_modified: report.not_modified(),
            failed: report.failed(),
            new_stories: report.new_stories,
            failing,
            upload_error: report.upload.as_ref().and_then(|u| u.error.clone()),
        };
    }

    pub fn health(&self, now: DateTime<Utc>) -> Health {
        let inner = self.lock();
        let fresh = inner.last_success.is_some_and(|at| {
            (now - at)
                .to_std()
                .map(|age| age <= self.stale_after)
                .unwrap_or(true)
        });
        let failing_stage = inner
            .failing_stage
            .clone()
            .or_else(|| self.nothing_published(now));
        let stage_down = failing_stage.as_ref().is_some_and(|f| f.stage != "fetch");
        Health {
            healthy: (self.serve_only || fresh) && !stage_down,
            mode: if self.serve_only { "serve" } else { "run" },
            last_success: inner.last_success,
            failing_stage,
            last_cycle: inner.last.clone(),
        }
    }

    /// `hejnal serve` over a folder with no feed in it answers 404 to every
    /// reader: that is not a healthy node.
    fn nothing_published(&self, now: DateTime<Utc>) -> Option<StageFailure> {
        let dir = self.published.as_ref()?;
        let feed = dir.join("feed.xml");
        (!feed.is_file()).then(|| StageFailure {
            stage: "publish",
            error: format!(
                "nothing published: {} does not exist; run `hejnal run` or `hejnal once` \
                 with the same output_dir",
                feed.display()
            ),
            since: now,
        })
    }

    /// The Prometheus text exposition format.
    pub fn metrics(&self) -> String {
        let inner = self.lock();
        let t = &inner.totals;
        let failing = inner.last.failed;
        let ok = inner
            .sources_configured
            .saturating_sub(inner.sources_disabled + failing);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in lines {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let one = |v: String| vec![(String::new(), v)];
        metric(
            "hejnal_sources",
            "gauge",
            "Sources by state after the last cycle.",
            &[
                ("{state=\"ok\"}".into(), ok.to_string()),
                ("{state=\"failing\"}".into(), failing.to_string()),
                (
                    "{state=\"disabled\"}".into(),
                    inner.sources_disabled.to_string(),
                ),
            ],
        );
        metric(
            "hejnal_fetches_total",
            "counter",
            "Fetches by result.",
            &[
                ("{result=\"ok\"}".into(), t.fetches_ok.to_string()),
                (
                    "{result=\"not_modified\"}".into(),
                    t.fetches_not_modified.to_string(),
                ),
                ("{result=\"failed\"}".into(), t.fetches_failed.to_string()),
            ],
        );
        let answered = t.fetches_ok + t.fetches_not_modified;
        let ratio = if answered == 0 {
            0.0
        } else {
            t.fetches_not_modified as f64 / answered as f64
        };
        metric(
            "hejnal_not_modified_ratio",
            "gauge",
            "Share of answered fetches that were 304 Not Modified.",
            &one(format!("{ratio:.4}")),
        );
        let mut hist: Vec<(String, String)> = FETCH_BUCKETS
            .iter()
            .zip(t.fetch_buckets)
            .map(|(bound, n)| (format!("_bucket{{le=\"{bound}\"}}"), n.to_string()))
            .collect();
        hist.push(("_bucket{le=\"+Inf\"}".into(), t.fetch_count.to_string()));
        hist.push(("_sum".into(), format!("{:.6}", t.fetch_seconds)));
        hist.push(("_count".into(), t.fetch_count.to_string()));
        metric(
            "hejnal_fetch_duration_seconds",
            "histogram",
            "Time to fetch, parse and clean one source.",
            &hist,
        );
        metric(
            "hejnal_fetched_bytes_total",
            "counter",
            "Bytes of feed documents fetched.",
            &one(t.bytes_fetched.to_string()),
        );
        metric(
            "hejnal_upload_requests_total",
            "counter",
            "Requests to object storage that changed it.",
            &[
                ("{kind=\"put\"}".into(), t.upload_puts.to_string()),
                ("{kind=\"delete\"}".into(), t.upload_deletes.to_string()),
            ],
        );
        metric(
            "hejnal_upload_bytes_total",
            "counter",
            "Bytes uploaded to object storage.",
            &one(t.upload_bytes.to_string()),
        );
        metric(
            "hejnal_upload_failures_total",
            "counter",
            "Uploads to object storage that stopped early.",
            &one(t.upload_failures.to_string()),
        );
        metric(
            "hejnal_new_stories_total",
            "counter",
            "Stories first published.",
            &one(t.new_stories.to_string()),
        );
        metric(
            "hejnal_new_entries_total",
            "counter",
            "Entries first stored.",
            &one(t.new_entries.to_string()),
        );
        metric(
            "hejnal_cycles_total",
            "counter",
            "Finished cycles.",
            &one(t.cycles.to_string()),
        );
        metric(
            "hejnal_cycle_duration_seconds",
            "gauge",
            "Duration of the last cycle.",
            &one(format!("{:.6}", t.last_cycle_seconds)),
        );
        let failing_stage = inner.failing_stage.as_ref().map(|f| f.stage);
        metric(
            "hejnal_stage_failing",
            "gauge",
            "1 for the stage whose last run failed (fetch: every source fetched failed).",
            &["fetch", "store", "publish"].map(|stage| {
                (
                    format!("{{stage=\"{stage}\"}}"),
                    u8::from(failing_stage == Some(stage)).to_string(),
                )
            }),
        );
        metric(
            "hejnal_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last cycle in which a source answered.",
            &one(inner
                .last_success
                .map(|at| at.timestamp())
                .unwrap_or(0)
                .to_string()),
        );
        out.push_str(&crate::alerts::metrics());
        out
    }
}

/// "every source fetched failed: <the first one's reason>", when that is so.
fn every_fetch_failed(report: &CycleReport) -> Option<String> {
    if report.sources.is_empty() || report.failed() < report.sources.len() {
        return None;
    }
    let first = report.sources.iter().find_map(|s| match &s.outcome {
        SourceOutcome::Failed(reason) => Some(format!("{}: {reason}", s.id)),
        _ => None,
    })?;
    Some(format!(
        "all {} sources fetched failed; the first, {first}",
        report.sources.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle::SourceReport;

    fn cycle(outcomes: &[SourceOutcome]) -> CycleReport {
        CycleReport {
            sources: outcomes
                .iter()
                .enumerate()
                .map(|(i, outcome)| SourceReport {
                    id: format!("s{i}"),
                    outcome: outcome.clone(),
                    bytes: 0,
                    elapsed: Duration::ZERO,
                })
                .collect(),
            ..CycleReport::default()
        }
    }

    /// Sources that all fail back off, so the cycles between their retries
    /// fetch nothing; those must not make the stale feed look fresh.
    #[test]
    fn sources_failing_in_backoff_turn_the_feed_stale() {
        let status = Status::new(Duration::from_secs(60));
        let start = Utc::now();
        let failed = SourceOutcome::Failed("503".into());
        status.record(&cycle(&[SourceOutcome::NotModified]), start);
        status.record(
            &cycle(&[failed.clone(), failed]),
            start + chrono::Duration::seconds(30),
        );
        status.record(&cycle(&[]), start + chrono::Duration::seconds(90));
        let health = status.health(start + chrono::Duration::seconds(91));
        assert!(!health.healthy);
        assert_eq!(health.last_success, Some(start));
        assert_eq!(health.last_cycle.failing.len(), 2);
    }

    #[test]
    fn a_cycle_with_nothing_due_keeps_a_healthy_feed_fresh() {
        let status = Status::new(Duration::from_secs(60));
        let start = Utc::now();
        let ok = SourceOutcome::Ok {
            items: 1,
            new: 1,
            updated: 0,
        };
        let later = start + chrono::Duration::seconds(90);
        status.record(&cycle(&[ok, SourceOutcome::Failed("503".into())]), start);
        status.record(&cycle(&[]), later);
        let health = status.health(later);
        assert!(health.healthy);
        assert_eq!(health.last_success, Some(later));
        assert_eq!(health.last_cycle.sources, 2);
    }

    #[test]
    fn a_failing_publish_names_its_stage_and_error_until_a_cycle_gets_through() {
        let status = Status::new(Duration::from_secs(600));
        let start = Utc::now();
        status.record(&cycle(&[SourceOutcome::NotModified]), start);
        let error = "cannot write public/feed.xml: Permission denied (os error 13)";
        status.record_failure("publish", error.into(), start);
        let later = start + chrono::Duration::seconds(60);
        status.record_failure("publish", error.into(), later);
        let health = status.health(later);
        assert!(!health.healthy);
        let failing = health.failing_stage.expect("a failing stage");
        assert_eq!((failing.stage, failing.error.as_str()), ("publish", error));
        assert_eq!(failing.since, start, "since the first failure");
        assert!(
            status
                .metrics()
                .contains("hejnal_stage_failing{stage=\"publish\"} 1\n")
        );

        status.record(&cycle(&[SourceOutcome::NotModified]), later);
        let health = status.health(later);
        assert!(health.healthy);
        assert_eq!(health.failing_stage, None);
    }

    #[test]
    fn every_source_failing_names_the_fetch_stage() {
        let status = Status::new(Duration::from_secs(600));
        let start = Utc::now();
        let dns = SourceOutcome::Failed("DNS lookup failed".into());
        status.record(&cycle(&[dns.clone(), dns]), start);
        let failing = status.health(start).failing_stage.expect("failing");
        assert_eq!(failing.stage, "fetch");
        assert!(
            failing.error.contains("s0: DNS lookup failed"),
            "{failing:?}"
        );
    }

    #[test]
    fn serving_a_folder_with_no_feed_is_not_healthy() {
        let dir = tempfile::tempdir().unwrap();
        let status = Status::serve_only().serving(dir.path().to_path_buf());
        let health = status.health(Utc::now());
        assert!(!health.healthy);
        assert_eq!(health.failing_stage.map(|f| f.stage), Some("publish"));
        std::fs::write(dir.path().join("feed.xml"), "<rss/>").unwrap();
        assert!(status.health(Utc::now()).healthy);
    }
}
