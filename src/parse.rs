//! Parsing one fetched document into entry drafts (feed-rs underneath).

use crate::model::ParsedFeed;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: an HTML page{}", feed_links_hint(.feed_links))]
    HtmlPage { feed_links: Vec<String> },
    #[error("not a feed: {0}")]
    Invalid(String),
}

fn feed_links_hint(links: &[String]) -> String {
    if links.is_empty() {
        " with no feed links".to_string()
    } else {
        format!("; feeds linked from it: {}", links.join(", "))
    }
}

/// Parses `body` fetched from `url`, keeping the newest `max_items` entries.
pub fn parse(
    body: &[u8],
    content_type: Option<&str>,
    url: &str,
    max_items: usize,
) -> Result<ParsedFeed, ParseError> {
    let _ = (body, content_type, url, max_items);
    unimplemented!("parse")
}
