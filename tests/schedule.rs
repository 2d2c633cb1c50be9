//! When a source is fetched next: schedule, server wishes, backoff, ceiling.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use hejnal::config::Config;
use hejnal::cycle::schedule::{Signals, is_due, next_due};

fn config(extra: &str) -> Config {
    let text = format!(
        r#"[publisher]
title = "t"
base_url = "https://news.example.org/"
schedule = "0 */15 * * * *"
{extra}
[[source]]
id = "a"
name = "A"
url = "https://a.example/feed.xml"
lang = "pl"

[[source]]
id = "b"
name = "B"
url = "https://b.example/feed.xml"
lang = "pl"
schedule = "0 0 * * * *"
"#
    );
    match Config::parse(&text, PathBuf::from(".")) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    }
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, h, m, s)
        .single()
        .expect("date")
}

fn due(config: &Config, id: &str, signals: Signals, now: DateTime<Utc>) -> DateTime<Utc> {
    let source = config.source(id).expect("source");
    next_due(&signals, config, source, now)
}

#[test]
fn a_healthy_source_follows_the_publisher_schedule() {
    let c = config("");
    assert_eq!(
        due(&c, "a", Signals::default(), at(10, 0, 1)),
        at(10, 15, 0)
    );
}

#[test]
fn a_source_with_its_own_schedule_follows_it() {
    let c = config("");
    assert_eq!(due(&c, "b", Signals::default(), at(10, 0, 1)), at(11, 0, 0));
}

#[test]
fn the_server_may_only_make_us_wait_longer() {
    let c = config("");
    let now = at(10, 0, 0);
    let ttl = Signals {
        ttl_minutes: Some(60),
        ..Signals::default()
    };
    assert_eq!(due(&c, "a", ttl, now), at(11, 0, 0));
    let short_max_age = Signals {
        max_age: Some(Duration::from_secs(60)),
        ..Signals::default()
    };
    assert_eq!(
        due(&c, "a", short_max_age, now),
        at(10, 15, 0),
        "a short max-age never brings a fetch before the schedule"
    );
    let retry = Signals {
        retry_after: Some(Duration::from_secs(7200)),
        ..Signals::default()
    };
    assert_eq!(due(&c, "a", retry, now), at(12, 0, 0));
}

#[test]
fn what_the_server_asks_is_capped_by_the_ceiling() {
    let c = config("[fetch]\nmax_interval_minutes = 120\n");
    let week = Signals {
        ttl_minutes: Some(7 * 24 * 60),
        ..Signals::default()
    };
    assert_eq!(due(&c, "a", week, at(10, 0, 0)), at(12, 0, 0));
}

#[test]
fn failures_back_off_exponentially_up_to_the_cap_and_recover_at_once() {
    let c = config("[fetch]\nbackoff_max_minutes = 360\n");
    let now = at(10, 0, 0);
    let after = |failures| {
        due(
            &c,
            "a",
            Signals {
                failures,
                ..Signals::default()
            },
            now,
        ) - now
    };
    assert_eq!(after(1), TimeDelta::minutes(15));
    assert_eq!(after(2), TimeDelta::minutes(30));
    assert_eq!(after(3), TimeDelta::minutes(60));
    assert_eq!(after(5), TimeDelta::minutes(240));
    assert_eq!(after(6), TimeDelta::minutes(360), "capped");
    assert_eq!(after(40), TimeDelta::minutes(360), "no overflow");
    assert_eq!(after(0), TimeDelta::minutes(15), "recovered");
}

#[test]
fn a_source_is_due_at_the_tick_it_was_scheduled_for() {
    assert!(is_due(None, at(10, 0, 0)));
    assert!(is_due(Some(at(10, 15, 0)), at(10, 15, 0)));
    assert!(
        is_due(Some(at(10, 15, 0)), at(10, 14, 59)),
        "a second of slack"
    );
    assert!(!is_due(Some(at(10, 15, 0)), at(10, 14, 0)));
}
