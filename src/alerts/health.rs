//! What state each source is in, from what the store remembers of it: plain
//! data for the status page and for the alerts, decided in one place.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::config::{AlertsConfig, Config, SourceConfig};
use crate::model::{Lang, SourceState};
use crate::store::{HealthFacts, Store, StoreError};

/// The status page's file name, under the output folder and each language's.
pub const STATUS_PAGE: &str = "status.html";

/// A source's state, as the status page names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Configured, never fetched yet.
    New,
    Ok,
    /// Every fetch since this moment failed.
    Failing {
        since: DateTime<Utc>,
    },
    /// Fetches work, but nothing new since this moment.
    Quiet {
        since: DateTime<Utc>,
    },
    /// `enabled = false` in feeds.toml.
    Disabled,
    /// The server answered 410 Gone: not fetched until its url changes.
    Gone {
        since: Option<DateTime<Utc>>,
    },
}

impl State {
    /// The name status.json gives the state.
    pub fn code(&self) -> &'static str {
        match self {
            State::New => "new",
            State::Ok => "ok",
            State::Failing { .. } => "failing",
            State::Quiet { .. } => "quiet",
            State::Disabled => "disabled",
            State::Gone { .. } => "gone",
        }
    }

    pub fn since(&self) -> Option<DateTime<Utc>> {
        match *self {
            State::Failing { since } | State::Quiet { since } => Some(since),
            State::Gone { since } => since,
            _ => None,
        }
    }
}

/// What someone is told about: one per kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Failing for longer than `fail_after_hours`.
    Failing,
    /// Quiet for longer than `quiet_after_days` and its usual rhythm.
    Quiet,
    /// Disabled by a 410.
    Gone,
    /// Its entries are in another language than feeds.toml declares.
    Language,
}

impl Problem {
    /// The name the store and webhook bodies give the problem.
    pub fn code(self) -> &'static str {
        match self {
            Problem::Failing => "failing",
            Problem::Quiet => "quiet",
            Problem::Gone => "gone",
            Problem::Language => "language",
        }
    }

    pub fn from_code(code: &str) -> Option<Problem> {
        [
            Problem::Failing,
            Problem::Quiet,
            Problem::Gone,
            Problem::Language,
        ]
        .into_iter()
        .find(|p| p.code() == code)
    }
}

/// One source's health at one moment.
#[derive(Debug, Clone)]
pub struct SourceHealth {
    pub source: SourceConfig,
    pub state: State,
    /// What an alert would say is wrong, when something is.
    pub problem: Option<Problem>,
    pub last_ok: Option<DateTime<Utc>>,
    /// The language most of its newest entries are in, when most are in one.
    pub detected_lang: Option<Lang>,
    pub facts: HealthFacts,
}

impl SourceHealth {
    pub fn language_mismatch(&self) -> bool {
        self.detected_lang
            .as_ref()
            .is_some_and(|l| *l != self.source.lang)
    }
}

/// Newest entries that must agree before their language counts as detected.
const LANG_QUORUM: usize = 3;
/// A source is quiet after this many of its usual gaps without news.
const QUIET_GAPS: i32 = 3;

/// The health of every source in feeds.toml, in its order.
pub fn survey(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<SourceHealth>, StoreError> {
    // Two reads for all sources, then one index walk for each.
    let mut states: HashMap<String, SourceState> = store.all_source_states()?.into_iter().collect();
    let mut records = store.health_records()?;
    config
        .sources
        .iter()
        .map(|s| {
            let source = s.get_ref();
            let state = states.remove(&source.id).unwrap_or_default();
            let mut facts = records.remove(&source.id).unwrap_or_default();
            store.add_entry_facts(&source.id, now, &mut facts)?;
            Ok(assess(source, &state, facts, &config.alerts, now))
        })
        .collect()
}

/// The state and problem of one source, from what is remembered of it.
pub fn assess(
    source: &SourceConfig,
    fetch_state: &SourceState,
    facts: HealthFacts,
    alerts: &AlertsConfig,
    now: DateTime<Utc>,
) -> SourceHealth {
    let detected_lang = majority(&facts.recent_langs);
    let mismatch = detected_lang.as_ref().is_some_and(|l| *l != source.lang);
    let fail_after = Duration::hours(i64::try_from(alerts.fail_after_hours).unwrap_or(6));
    let (state, problem) = if !source.enabled {
        (State::Disabled, None)
    } else if fetch_state.gone_url.as_deref() == Some(source.url.as_str()) {
        let since = facts.last_failure;
        (State::Gone { since }, Some(Problem::Gone))
    } else if let Some(since) = facts.failing_since {
        let long = now - since >= fail_after;
        (State::Failing { since }, long.then_some(Problem::Failing))
    } else if fetch_state.last_ok.is_none() {
        (State::New, None)
    } else if let Some(since) = quiet_since(&facts, alerts, now) {
        let problem = if mismatch {
            Problem::Language
        } else {
            Problem::Quiet
        };
        (State::Quiet { since }, Some(problem))
    } else {
        (State::Ok, mismatch.then_some(Problem::Language))
    };
    SourceHealth {
        source: source.clone(),
        state,
        problem,
        last_ok: fetch_state.last_ok,
        detected_lang,
        facts,
    }
}

/// When the source went quiet: its newest item, once that is older than
/// `quiet_after_days` and three of its usual gaps.
fn quiet_since(
    facts: &HealthFacts,
    alerts: &AlertsConfig,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let newest = facts.newest_item?;
    let days = i64::try_from(alerts.quiet_after_days).unwrap_or(14);
    let rhythm = facts.usual_gap.map_or(Duration::zero(), |g| g * QUIET_GAPS);
    let limit = Duration::days(days).max(rhythm);
    (now - newest > limit).then_some(newest)
}

/// The language of more than half of the newest entries, once enough agree.
fn majority(langs: &[(Lang, usize)]) -> Option<Lang> {
    let total: usize = langs.iter().map(|(_, n)| n).sum();
    let (lang, n) = langs.first()?;
    (*n >= LANG_QUORUM && n * 2 > total).then(|| lang.clone())
}

/// A failure's reason with what is nobody's business outside the server:
/// local paths, and the query of a URL, where tokens hide.
pub fn public_reason(reason: &str) -> String {
    reason
        .split(' ')
        .map(|word| {
            if word.starts_with('/') || word.starts_with("file:") {
                "[…]".to_string()
            } else if word.starts_with("http") && word.contains('?') {
                let cut = word.find('?').unwrap_or(word.len());
                format!("{}?[…]", &word[..cut])
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn source(lang: &str) -> SourceConfig {
        let text = format!(
            "[publisher]\ntitle = \"t\"\nbase_url = \"https://n.example/\"\n\
             [[source]]\nid = \"wien\"\nname = \"Wien\"\nurl = \"https://wien.example/rss\"\nlang = \"{lang}\"\n"
        );
        let config = Config::parse(&text, ".".into()).unwrap();
        config.sources[0].get_ref().clone()
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0)
            .single()
            .unwrap()
    }

    fn ok_state() -> SourceState {
        SourceState {
            last_ok: Some(at(20)),
            ..SourceState::default()
        }
    }

    #[test]
    fn failing_becomes_a_problem_after_fail_after() {
        let facts = HealthFacts {
            failing_since: Some(at(20)),
            ..HealthFacts::default()
        };
        let alerts = AlertsConfig::default();
        let early = at(20) + Duration::hours(5);
        let h = assess(&source("de"), &ok_state(), facts.clone(), &alerts, early);
        assert_eq!(h.state, State::Failing { since: at(20) });
        assert_eq!(h.problem, None);
        let late = at(20) + Duration::hours(6);
        let h = assess(&source("de"), &ok_state(), facts, &alerts, late);
        assert_eq!(h.problem, Some(Problem::Failing));
    }

    #[test]
    fn quiet_is_measured_against_the_usual_rhythm() {
        let monthly = HealthFacts {
            newest_item: Some(at(1)),
            usual_gap: Some(Duration::days(30)),
            ..HealthFacts::default()
        };
        let alerts = AlertsConfig::default();
        let h = assess(&source("de"), &ok_state(), monthly.clone(), &alerts, at(25));
        assert_eq!(
            h.state,
            State::Ok,
            "a monthly bulletin is not quiet after 24 days"
        );
        let daily = HealthFacts {
            usual_gap: Some(Duration::days(1)),
            ..monthly
        };
        let h = assess(&source("de"), &ok_state(), daily, &alerts, at(25));
        assert_eq!(h.state, State::Quiet { since: at(1) });
        assert_eq!(h.problem, Some(Problem::Quiet));
    }

    #[test]
    fn another_language_is_flagged() {
        let en = Lang::parse("en").unwrap();
        let facts = HealthFacts {
            newest_item: Some(at(20)),
            recent_langs: vec![(en.clone(), 8), (Lang::parse("de").unwrap(), 2)],
            ..HealthFacts::default()
        };
        let h = assess(
            &source("de"),
            &ok_state(),
            facts,
            &AlertsConfig::default(),
            at(21),
        );
        assert_eq!(h.state, State::Ok);
        assert_eq!(h.detected_lang, Some(en));
        assert!(h.language_mismatch());
        assert_eq!(h.problem, Some(Problem::Language));
    }

    #[test]
    fn reasons_lose_paths_and_queries() {
        assert_eq!(
            public_reason("cannot read /var/lib/hejnal/feed.xml: denied"),
            "cannot read […] denied"
        );
        assert_eq!(
            public_reason("redirect loop at https://x.example/rss?token=s3cret"),
            "redirect loop at https://x.example/rss?[…]"
        );
        assert_eq!(public_reason("HTTP 404"), "HTTP 404");
    }
}
