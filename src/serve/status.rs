//! What the daemon knows about its own health, shared with the HTTP server:
//! the last cycle's outcome for `/healthz` and running totals for `/metrics`.

use std::fmt::Write;
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

#[derive(Debug, Default)]
struct Inner {
    totals: Totals,
    last: LastCycle,
    /// The last cycle in which at least one source answered, or nothing was due
    /// and the sources were not all failing: the feed is as fresh as that.
    last_success: Option<DateTime<Utc>>,
    sources_configured: usize,
    sources_disabled: usize,
}

/// Shared between the cycle loop (writer) and the HTTP handlers (readers).
#[derive(Debug)]
pub struct Status {
    inner: Mutex<Inner>,
    /// How long after the last success the feed counts as stale.
    stale_after: Duration,
    /// `hejnal serve` has no cycles: its health is only that it serves.
    serve_only: bool,
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub healthy: bool,
    pub mode: &'static str,
    pub last_success: Option<DateTime<Utc>>,
    pub last_cycle: LastCycle,
}

impl Status {
    pub fn new(stale_after: Duration) -> Status {
        Status {
            inner: Mutex::new(Inner::default()),
            stale_after,
            serve_only: false,
        }
    }

    pub fn serve_only() -> Status {
        Status {
            serve_only: true,
            ..Status::new(Duration::MAX)
        }
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
        Health {
            healthy: self.serve_only || fresh,
            mode: if self.serve_only { "serve" } else { "run" },
            last_success: inner.last_success,
            last_cycle: inner.last.clone(),
        }
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
}
