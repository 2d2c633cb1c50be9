//! Turning entry drafts into safe, normalized entries.

pub mod fingerprint;
pub mod html;
pub mod lang;
pub mod url;

use chrono::{DateTime, Utc};

use crate::config::SourceConfig;
use crate::model::{Entry, ParsedFeed};

/// Cleans every draft of `feed`, fetched from `feed_url` for `source`.
pub fn clean(
    source: &SourceConfig,
    feed: &ParsedFeed,
    feed_url: &str,
    strip_params: &[String],
    now: DateTime<Utc>,
) -> Vec<Entry> {
    let _ = (source, feed, feed_url, strip_params, now);
    unimplemented!("clean")
}
