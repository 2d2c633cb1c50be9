//! Reading the few response headers the fetcher cares about. Servers send
//! anything here, so every parser returns `None` rather than failing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{CACHE_CONTROL, HeaderMap, HeaderName, RETRY_AFTER};

pub(super) fn text(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `Retry-After` is either delta-seconds or an HTTP date; a date in the past means "now".
pub(super) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    parse_retry_after(&text(headers, RETRY_AFTER)?, now)
}

fn parse_retry_after(raw: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(raw).ok()?;
    Some(
        (when.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

pub(super) fn max_age(headers: &HeaderMap) -> Option<Duration> {
    parse_max_age(&text(headers, CACHE_CONTROL)?)
}

fn parse_max_age(raw: &str) -> Option<Duration> {
    raw.split(',').find_map(|directive| {
        let (name, value) = directive.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("max-age") {
            return None;
        }
        let secs = value.trim().trim_matches('"').parse::<u64>().ok()?;
        Some(Duration::from_secs(secs))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = at("2015-10-21T07:28:00Z");
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:30:30 GMT", now),
            Some(Duration::from_secs(150))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn max_age_is_found_among_other_directives() {
        assert_eq!(
            parse_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_max_age("s-maxage=10, MAX-AGE=\"60\""),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_max_age("no-cache"), None);
        assert_eq!(parse_max_age("max-age=lots"), None);
    }
}
