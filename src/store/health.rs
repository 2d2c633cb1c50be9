//! Each source's health between cycles (when it started failing, why, the
//! HTTP statuses on the way, what its feed could do better) and which alerts
//! each contact has been sent.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Batch, Store, StoreError, micros, opt_date};
use crate::model::Lang;
use crate::parse::Warning;

/// What one fetch of a source told about its health.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchHealth {
    /// `None` when the fetch worked.
    pub failure: Option<String>,
    /// The HTTP status of each response, redirects first.
    pub chain: Vec<u16>,
    /// Whether the server answered a conditional request with 304 or sent
    /// validators; `None` when the fetch did not tell.
    pub conditional: Option<bool>,
    /// The parse's warnings, when a body was parsed.
    pub warnings: Option<Vec<Warning>>,
}

/// Everything the store knows of a source's health at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthFacts {
    pub failing_since: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    pub failure_chain: Vec<u16>,
    pub last_chain: Vec<u16>,
    pub conditional: Option<bool>,
    pub warnings: Vec<Warning>,
    /// Entries dated in each of the last four weeks, this week first.
    pub per_week: [u64; 4],
    pub newest_item: Option<DateTime<Utc>>,
    /// The languages of the newest entries, most common first, with counts.
    pub recent_langs: Vec<(Lang, usize)>,
    /// The middle gap between the newest entries: the source's rhythm.
    pub usual_gap: Option<Duration>,
}

/// Entries read to find a source's language and rhythm.
const RECENT: usize = 20;

impl Batch<'_> {
    /// Records what one fetch said, in the transaction of its entries.
    pub fn record_health(
        &self,
        source_id: &str,
        fetch: &FetchHealth,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        record(&self.tx, source_id, fetch, now)
    }
}

fn record(
    conn: &Connection,
    source_id: &str,
    fetch: &FetchHealth,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let chain = chain_text(&fetch.chain);
    let warnings = match &fetch.warnings {
        Some(w) => Some(serde_json::to_string(w).map_err(|e| StoreError::Corrupt(e.to_string()))?),
        None => None,
    };
    let conditional = fetch.conditional.map(i64::from);
    match &fetch.failure {
        Some(reason) => conn
            .prepare_cached(
                "INSERT INTO source_health (source_id, failing_since, last_failure, \
                 failure_reason, failure_chain, last_chain) VALUES (?1, ?2, ?2, ?3, ?4, ?4) \
                 ON CONFLICT (source_id) DO UPDATE SET \
                 failing_since = coalesce(failing_since, excluded.failing_since), \
                 last_failure = excluded.last_failure, failure_reason = excluded.failure_reason, \
                 failure_chain = excluded.failure_chain, last_chain = excluded.last_chain",
            )?
            .execute(params![source_id, micros(now), reason, chain])?,
        None => conn
            .prepare_cached(
                "INSERT INTO source_health (source_id, last_chain, conditional, warnings) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (source_id) DO UPDATE SET failing_since = NULL, \
                 last_chain = excluded.last_chain, \
                 conditional = coalesce(excluded.conditional, conditional), \
                 warnings = coalesce(excluded.warnings, warnings)",
            )?
            .execute(params![source_id, chain, conditional, warnings])?,
    };
    Ok(())
}

impl Store {
    /// The recorded health of every source fetched at least once, by id,
    /// without the facts of their entries (see `add_entry_facts`).
    pub fn health_records(&self) -> Result<HashMap<String, HealthFacts>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT source_id, failing_since, last_failure, failure_reason, failure_chain, \
             last_chain, conditional, warnings FROM source_health",
        )?;
        let rows = stmt.query_map([], |r| {
            let facts = HealthFacts {
                failing_since: opt_date(r, 1)?,
                last_failure: opt_date(r, 2)?,
                failure_reason: r.get(3)?,
                failure_chain: parse_chain(r.get(4)?),
                last_chain: parse_chain(r.get(5)?),
                conditional: r.get::<_, Option<i64>>(6)?.map(|v| v != 0),
                // Warnings this build cannot read are dropped, not fatal:
                // the next parse writes them anew.
                warnings: r
                    .get::<_, Option<String>>(7)?
                    .and_then(|w| serde_json::from_str(&w).ok())
                    .unwrap_or_default(),
                ..HealthFacts::default()
            };
            Ok((r.get(0)?, facts))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Counts `source_id`'s entries of the last four weeks before `now` and
    /// reads its newest ones, in one walk down its (source, dated) index that
    /// stops as soon as both are done.
    pub fn add_entry_facts(
        &self,
        source_id: &str,
        now: DateTime<Utc>,
        facts: &mut HealthFacts,
    ) -> Result<(), StoreError> {
        let week = Duration::days(7).num_microseconds().unwrap_or(i64::MAX);
        let (until, from) = (micros(now), micros(now - Duration::days(28)));
        let mut stmt = self.conn.prepare_cached(
            "SELECT dated, lang FROM entries WHERE source_id = ?1 ORDER BY dated DESC",
        )?;
        let mut rows = stmt.query([source_id])?;
        let mut recent: Vec<(i64, String)> = Vec::with_capacity(RECENT);
        while let Some(row) = rows.next()? {
            let dated: i64 = row.get(0)?;
            if dated <= from && recent.len() >= RECENT {
                break;
            }
            if dated > from && dated <= until {
                let n = usize::try_from((until - dated) / week).unwrap_or(0);
                if let Some(slot) = facts.per_week.get_mut(n) {
                    *slot += 1;
                }
            }
            if recent.len() < RECENT {
                recent.push((dated, row.get(1)?));
            }
        }
        facts.newest_item = recent
            .first()
            .and_then(|(d, _)| DateTime::from_timestamp_micros(*d));
        facts.usual_gap = middle_gap(recent.iter().map(|(d, _)| *d));
        let mut langs: Vec<(Lang, usize)> = Vec::new();
        for lang in recent.iter().filter_map(|(_, l)| Lang::parse(l)) {
            match langs.iter_mut().find(|(l, _)| *l == lang) {
                Some((_, n)) => *n += 1,
                None => langs.push((lang, 1)),
            }
        }
        langs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        facts.recent_langs = langs;
        Ok(())
    }

    /// The problem `contact` was last told about for `source_id` ("" once
    /// its recovery was told), and when.
    pub fn alert_told(
        &self,
        source_id: &str,
        contact: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT problem, told_at FROM alert_state WHERE source_id = ?1 AND contact = ?2",
            )?
            .query_row([source_id, contact], |r| {
                Ok((r.get(0)?, super::date(r, 1)?))
            })
            .optional()?)
    }

    /// Remembers that `contact` was told `problem` about `source_id`.
    pub fn set_alert_told(
        &self,
        source_id: &str,
        contact: &str,
        problem: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO alert_state (source_id, contact, problem, told_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (source_id, contact) DO UPDATE SET \
                 problem = excluded.problem, told_at = excluded.told_at",
            )?
            .execute(params![source_id, contact, problem, micros(at)])?;
        Ok(())
    }
}

fn chain_text(chain: &[u16]) -> String {
    chain
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_chain(text: Option<String>) -> Vec<u16> {
    text.unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The median gap between consecutive dates (newest first), when there are
/// at least three entries to measure.
fn middle_gap(dated: impl Iterator<Item = i64>) -> Option<Duration> {
    let dates: Vec<i64> = dated.collect();
    let mut gaps: Vec<i64> = dates.windows(2).map(|w| w[0] - w[1]).collect();
    if gaps.len() < 2 {
        return None;
    }
    gaps.sort_unstable();
    Some(Duration::microseconds(gaps[gaps.len() / 2]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
            .single()
            .unwrap()
    }

    fn recorded(store: &Store, now: DateTime<Utc>) -> HealthFacts {
        let mut facts = store.health_records().unwrap().remove("wien").unwrap();
        store.add_entry_facts("wien", now, &mut facts).unwrap();
        facts
    }

    #[test]
    fn a_failing_streak_keeps_its_start_and_a_success_ends_it() {
        let mut store = Store::open_in_memory().unwrap();
        let fail = |reason: &str, chain: Vec<u16>| FetchHealth {
            failure: Some(reason.into()),
            chain,
            ..FetchHealth::default()
        };
        for (hour, f) in [
            (1, fail("HTTP 500", vec![500])),
            (2, fail("HTTP 404", vec![301, 404])),
        ] {
            let batch = store.batch().unwrap();
            batch.record_health("wien", &f, at(2, hour)).unwrap();
            batch.commit().unwrap();
        }
        let facts = recorded(&store, at(2, 3));
        assert_eq!(facts.failing_since, Some(at(2, 1)));
        assert_eq!(facts.last_failure, Some(at(2, 2)));
        assert_eq!(facts.failure_reason.as_deref(), Some("HTTP 404"));
        assert_eq!(facts.failure_chain, [301, 404]);

        let ok = FetchHealth {
            chain: vec![200],
            conditional: Some(true),
            warnings: Some(vec![Warning::UndeclaredEncoding]),
            ..FetchHealth::default()
        };
        let batch = store.batch().unwrap();
        batch.record_health("wien", &ok, at(2, 4)).unwrap();
        batch.commit().unwrap();
        let facts = recorded(&store, at(2, 5));
        assert_eq!(facts.failing_since, None);
        assert_eq!(facts.failure_chain, [301, 404], "the last failure is kept");
        assert_eq!(facts.last_chain, [200]);
        assert_eq!(facts.conditional, Some(true));
        assert_eq!(facts.warnings, [Warning::UndeclaredEncoding]);
    }

    #[test]
    fn entries_are_counted_by_week_and_the_newest_tell_language_and_rhythm() {
        let mut store = Store::open_in_memory().unwrap();
        let now = at(28, 12);
        // Days before `now`: two this week, one in the second, one in the
        // fourth, two older than four weeks.
        let days = [1, 2, 8, 22, 30, 40];
        let entries: Vec<crate::model::Entry> = days
            .iter()
            .map(|d| crate::model::Entry {
                published: Some(now - Duration::days(*d)),
                ..crate::model::Entry::for_test(
                    "wien",
                    &format!("g{d}"),
                    &format!("https://w.example/{d}"),
                    "t",
                )
            })
            .collect();
        store.upsert_entries(&entries, now).unwrap();
        let mut facts = HealthFacts::default();
        store.add_entry_facts("wien", now, &mut facts).unwrap();
        assert_eq!(facts.per_week, [2, 1, 0, 1]);
        assert_eq!(facts.newest_item, Some(now - Duration::days(1)));
        assert_eq!(facts.recent_langs, [(Lang::parse("pl").unwrap(), 6)]);
        assert_eq!(
            facts.usual_gap,
            Some(Duration::days(8)),
            "gaps 1, 6, 14, 8, 10"
        );
    }

    #[test]
    fn the_rhythm_is_the_middle_gap() {
        let hours = |h: &[i64]| middle_gap(h.iter().map(|h| h * 3_600_000_000)).unwrap();
        assert_eq!(hours(&[30, 20, 18, 10]), Duration::hours(8));
        assert_eq!(middle_gap([5].into_iter()), None);
    }
}
