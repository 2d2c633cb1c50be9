//! Rendering the published files and writing them atomically.
//!
//! `render` is pure: the same config and stories give the same bytes, so `write`
//! can leave unchanged files (and their mtimes, ETags and caches) alone.

mod atom;
mod body;
mod json;
mod opml;
mod rss;
mod view;
mod write;

use std::path::PathBuf;

use crate::config::Config;
use crate::model::Story;

pub use body::escape_html;
pub use write::{WriteReport, write};

/// What the feeds name as their generator.
const GENERATOR: &str = concat!("hejnal ", env!("CARGO_PKG_VERSION"));

/// One rendered file, ready to be written under the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Relative to the output folder.
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("base_url {url:?} cannot be used for links: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("publisher.languages names no language to publish in")]
    NoLanguages,
    #[error("cannot render {file}: {message}")]
    Render { file: String, message: String },
    #[error("refusing to write {}: not a plain relative path", .0.display())]
    BadPath(PathBuf),
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl PublishError {
    fn render(file: &str, error: impl std::fmt::Display) -> PublishError {
        PublishError::Render {
            file: file.to_string(),
            message: error.to_string(),
        }
    }
}

/// Renders every published file: the combined feed in three formats, one feed
/// per language in three formats, and the OPML list of sources.
pub fn render(config: &Config, stories: &[Story]) -> Result<Vec<OutputFile>, PublishError> {
    let base = view::base_url(config)?;
    let ui = config
        .publisher
        .languages
        .first()
        .ok_or(PublishError::NoLanguages)?;
    let chosen = view::newest(stories, config.publisher.max_items);
    let mut feeds = vec![view::combined(config, &base, &chosen, ui)];
    for lang in &config.publisher.languages {
        feeds.push(view::single(config, &base, &chosen, lang));
    }
    let mut files = Vec::with_capacity(feeds.len() * 3 + 1);
    for feed in &feeds {
        files.push(output(feed.path("feed.xml"), rss::render(feed)?));
        files.push(output(feed.path("feed.atom"), atom::render(feed)?));
        files.push(output(feed.path("feed.json"), json::render(feed)?));
    }
    files.push(output(
        "sources.opml".to_string(),
        opml::render(config, &base)?,
    ));
    Ok(files)
}

fn output(path: String, bytes: Vec<u8>) -> OutputFile {
    OutputFile {
        path: PathBuf::from(path),
        bytes,
    }
}
