//! WebSub, the publisher's side: after feed files change, each configured hub
//! is told which feeds (topics) to fetch again, so that subscribed readers get
//! new stories at once instead of at their next poll.
//!
//! A failed ping costs a reader nothing but latency: the caller only logs it.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::join_all;
use url::form_urlencoded;

use crate::config::Config;
use crate::publish::{self, PublishError};

/// Waits before the second and the third attempt.
const BACKOFF: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(1)];

/// A hub that has not answered in this long is given up for this attempt.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The feed files a hub is told about; pages, lists and archives never are.
const FEEDS: [&str; 3] = ["feed.xml", "feed.atom", "feed.json"];

#[derive(Debug, thiserror::Error)]
pub enum WebSubError {
    #[error("WebSub hub {hub} answered {status} to the ping for {topic}")]
    Status {
        hub: String,
        topic: String,
        status: u16,
    },
    #[error("WebSub hub {hub} could not be pinged for {topic}: {source}")]
    Request {
        hub: String,
        topic: String,
        source: reqwest::Error,
    },
}

impl WebSubError {
    /// A hub that is down or overloaded may take the ping a moment later; one
    /// that refuses it (4xx) will refuse it again.
    fn is_transient(&self) -> bool {
        match self {
            WebSubError::Status { status, .. } => *status >= 500 || *status == 429,
            WebSubError::Request { .. } => true,
        }
    }
}

/// The published URLs of the feed files among `written` (paths relative to
/// the output folder, as `publish::write` reports them): the topics to ping.
pub fn topics(config: &Config, written: &[PathBuf]) -> Result<Vec<String>, PublishError> {
    written
        .iter()
        .filter(|path| is_feed(path))
        .map(|path| publish::url_of(config, path))
        .collect()
}

fn is_feed(path: &std::path::Path) -> bool {
    let folder_depth = path.components().count();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let in_archive = path.starts_with(publish::archive::FOLDER);
    // A city's or category's feeds sit two folders deeper, and advertise the
    // hubs as the others do.
    let scoped =
        path.starts_with(publish::CITY_FOLDER) || path.starts_with(publish::CATEGORY_FOLDER);
    let max_depth = if scoped { 4 } else { 2 };
    FEEDS.contains(&name) && folder_depth <= max_depth && !in_archive
}

/// Tells every hub that every topic changed: one `hub.mode=publish` POST per
/// hub and topic, all at once, each tried up to three times. The results come
/// hub by hub, topic by topic, in the order given.
pub async fn notify(
    client: &reqwest::Client,
    hubs: &[String],
    topics: &[String],
) -> Vec<Result<(), WebSubError>> {
    let pings = hubs
        .iter()
        .flat_map(|hub| topics.iter().map(move |topic| ping(client, hub, topic)));
    join_all(pings).await
}

async fn ping(client: &reqwest::Client, hub: &str, topic: &str) -> Result<(), WebSubError> {
    let mut waits = BACKOFF.iter();
    loop {
        let result = attempt(client, hub, topic).await;
        match (result, waits.next()) {
            (Ok(()), _) => {
                tracing::debug!(hub, topic, "WebSub hub pinged");
                return Ok(());
            }
            (Err(e), Some(wait)) if e.is_transient() => {
                tracing::debug!(hub, topic, error = %e, "WebSub ping failed, trying again");
                tokio::time::sleep(*wait).await;
            }
            (Err(e), _) => return Err(e),
        }
    }
}

async fn attempt(client: &reqwest::Client, hub: &str, topic: &str) -> Result<(), WebSubError> {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("hub.mode", "publish")
        .append_pair("hub.url", topic)
        .finish();
    let response = client
        .post(hub)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|source| WebSubError::Request {
            hub: hub.to_string(),
            topic: topic.to_string(),
            source,
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(WebSubError::Status {
            hub: hub.to_string(),
            topic: topic.to_string(),
            status: status.as_u16(),
        })
    }
}
