//! When a source is fetched next: its cron schedule, what its server asks for,
//! and backoff after failures.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::{Config, SourceConfig};

/// What the last fetch of a source taught us about when to come back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    pub failures: u32,
    /// `Retry-After` of a 429 or 503.
    pub retry_after: Option<Duration>,
    /// `Cache-Control: max-age`.
    pub max_age: Option<Duration>,
    /// RSS `<ttl>` or `sy:updatePeriod` / `sy:updateFrequency`, in minutes.
    pub ttl_minutes: Option<u32>,
}

/// The cron schedule a source follows: its own, else the publisher's.
pub fn schedule_of(config: &Config, source: &SourceConfig) -> Option<cron::Schedule> {
    let text = source
        .schedule
        .as_deref()
        .unwrap_or(config.publisher.schedule.get_ref());
    cron::Schedule::from_str(text).ok()
}

/// The next tick of `schedule` strictly after `now`.
pub fn next_tick(schedule: &cron::Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule.after(&now).next()
}

/// The earliest tick, over the publisher's schedule and every source's own.
pub fn next_cycle(config: &Config, after: DateTime<Utc>) -> DateTime<Utc> {
    config
        .enabled_sources()
        .filter_map(|s| schedule_of(config, s))
        .chain(
            config
                .publisher
                .schedule
                .get_ref()
                .parse::<cron::Schedule>()
                .ok(),
        )
        .filter_map(|s| next_tick(&s, after))
        .min()
        .unwrap_or(after + chrono::TimeDelta::minutes(15))
}

/// How often the publisher's schedule publishes: how long readers and caches
/// may keep a published file.
pub fn publishing_interval(config: &Config) -> Duration {
    let now = Utc::now();
    let first = next_cycle(config, now);
    let second = next_cycle(config, first);
    (second - first)
        .to_std()
        .unwrap_or(Duration::from_secs(900))
}

/// The earliest moment the source may be fetched again.
///
/// A source follows its schedule, but never more often than its server allows
/// (Retry-After, max-age, ttl) and never less often than `max_interval_minutes`.
/// Failures back off exponentially from the schedule's interval up to
/// `backoff_max_minutes`.
pub fn next_due(
    signals: &Signals,
    config: &Config,
    source: &SourceConfig,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let schedule = schedule_of(config, source);
    let tick = schedule
        .as_ref()
        .and_then(|s| next_tick(s, now))
        .unwrap_or(now + TimeDelta::minutes(15));
    let interval = schedule
        .as_ref()
        .and_then(|s| {
            let mut ticks = s.after(&now);
            let a = ticks.next()?;
            let b = ticks.next()?;
            (b - a).to_std().ok()
        })
        .unwrap_or(Duration::from_secs(15 * 60));

    let ceiling = Duration::from_secs(config.fetch.max_interval_minutes.max(1) * 60);
    let asked = [
        signals.retry_after,
        signals.max_age,
        signals
            .ttl_minutes
            .map(|m| Duration::from_secs(u64::from(m) * 60)),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(Duration::ZERO);

    let backoff = if signals.failures == 0 {
        Duration::ZERO
    } else {
        let cap = Duration::from_secs(config.fetch.backoff_max_minutes.max(1) * 60);
        let factor = 1u32 << signals.failures.saturating_sub(1).min(16);
        interval.saturating_mul(factor).min(cap)
    };

    let wait = asked.max(backoff).min(ceiling);
    let polite = now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::zero());
    // The schedule's own tick is the earliest; a server's wish or a backoff can only delay it.
    if wait.is_zero() {
        tick
    } else {
        polite.max(tick)
    }
}

/// Whether a source whose next fetch is `next_due` should be fetched at `tick`.
/// A second of slack keeps a source from missing the tick it was meant for.
pub fn is_due(next_due: Option<DateTime<Utc>>, tick: DateTime<Utc>) -> bool {
    next_due.is_none_or(|at| at <= tick + TimeDelta::seconds(1))
}
