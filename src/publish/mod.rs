//! Rendering the published files and writing them atomically.
//!
//! `render` is pure: the same config and stories give the same bytes, so `write`
//! can leave unchanged files (and their mtimes, ETags and caches) alone.
//!
//! Inside, dependencies point one way. The format writers (rss, atom, json,
//! html, opml, archive) read what to show from `view`; the view builds each
//! item's body (`body`) from summaries prepared once per render (`text`); and
//! all of them write text through `escape`, which reads nothing of the others.

pub mod archive;
mod atom;
mod body;
mod categories;
mod cities;
mod escape;
mod html;
mod ids;
mod json;
mod opml;
mod rss;
pub mod status;
mod style;
mod text;
mod view;
mod write;

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::model::Story;

pub use crate::clean::html::escape_html;
pub use write::{Packing, WriteReport, write, write_packed};

/// The OPML list of every published feed, written with city or category feeds.
pub const FEEDS_OPML: &str = "feeds.opml";

/// Where the feed sets of each city and category are published.
pub const CITY_FOLDER: &str = "city";
pub const CATEGORY_FOLDER: &str = "category";

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

/// What the published files show besides the stories, kept by the caller
/// between cycles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderExtras {
    /// The newest page already archived under archive/: feed.xml links to it
    /// as `prev-archive`.
    pub newest_archive: Option<archive::Page>,
}

/// What a feed document links to besides itself and its home page.
#[derive(Debug, Default)]
pub(crate) struct Links {
    /// WebSub hubs that readers may subscribe at.
    pub hubs: Vec<String>,
    /// RFC 5005 links as (rel, href): `prev-archive`, `next-archive`, `current`.
    pub history: Vec<(&'static str, String)>,
    /// Marks the document as a complete archive that never changes.
    pub archived: bool,
}

/// Renders every published file: see `render_with`; no archive is linked.
pub fn render(config: &Config, stories: &[Story]) -> Result<Vec<OutputFile>, PublishError> {
    render_with(config, stories, &RenderExtras::default())
}

/// Renders every published file: the combined feed in three formats, one feed
/// per language in three formats, the OPML list of sources, the web page of
/// each feed, and the stylesheets that make a feed opened in a browser readable.
pub fn render_with(
    config: &Config,
    stories: &[Story],
    extras: &RenderExtras,
) -> Result<Vec<OutputFile>, PublishError> {
    let base = view::base_url(config)?;
    let ui = config
        .publisher
        .languages
        .first()
        .ok_or(PublishError::NoLanguages)?;
    let newest = view::newest(stories, config.publisher.max_items);
    let chosen = view::told(config, &newest);
    let mut texts = text::Texts::shared();
    let mut feeds = vec![view::combined(config, &base, &chosen, ui, &mut texts)];
    for lang in &config.publisher.languages {
        feeds.push(view::single(config, &base, &chosen, lang, &mut texts));
    }
    let hubs = Links {
        hubs: config.publisher.websub_hubs.clone(),
        ..Links::default()
    };
    let scopes = cities::scopes(config);
    let scoped: Vec<Vec<view::FeedView>> = scopes
        .iter()
        .map(|scope| cities::feeds(config, &base, scope, &newest, ui, &mut texts))
        .collect();
    let places: Vec<html::Place> = scopes
        .into_iter()
        .map(|scope| html::Place {
            folder: scope.folder(),
            kind: scope.kind,
            label: scope.label,
        })
        .collect();
    let mut files = Vec::with_capacity(feeds.len() * 4 + 2);
    for (n, feed) in feeds.iter().chain(scoped.iter().flatten()).enumerate() {
        // Only the whole site's combined feed has archives.
        let rss_links = if n == 0 {
            current_links(&hubs, &base, extras)
        } else {
            Links {
                hubs: hubs.hubs.clone(),
                ..Links::default()
            }
        };
        files.push(output(
            feed.path("feed.xml"),
            rss::render(feed, "feed.xml", &rss_links)?,
        ));
        files.push(output(feed.path("feed.atom"), atom::render(feed, &hubs)?));
        files.push(output(feed.path("feed.json"), json::render(feed, &hubs)?));
    }
    files.extend(html::render(&feeds, &places)?);
    for set in &scoped {
        files.extend(html::render(set, &places)?);
    }
    if !scoped.is_empty() {
        let sets: Vec<&[view::FeedView]> = std::iter::once(feeds.as_slice())
            .chain(scoped.iter().map(Vec::as_slice))
            .collect();
        files.push(output(
            FEEDS_OPML.to_string(),
            opml::feeds(config, &base, &sets)?,
        ));
    }
    files.push(output(
        "sources.opml".to_string(),
        opml::render(config, &base)?,
    ));
    files.extend(style::files());
    files.push(output(
        json::ABOUT_PATH.to_string(),
        json::ABOUT_PAGE.to_vec(),
    ));
    Ok(files)
}

/// The OPML list of the enabled sources by city, as published in sources.opml.
pub fn sources_opml(config: &Config) -> Result<Vec<u8>, PublishError> {
    opml::render(config, &view::base_url(config)?)
}

/// The links of the combined RSS feed: hubs, and its archives when there are some.
fn current_links(hubs: &Links, base: &url::Url, extras: &RenderExtras) -> Links {
    Links {
        hubs: hubs.hubs.clone(),
        history: extras
            .newest_archive
            .map(|page| ("prev-archive", archive::url(base, page)))
            .into_iter()
            .collect(),
        archived: false,
    }
}

/// The absolute URL a file under the output folder is published at: what
/// feeds name as their `self` and WebSub as the topic.
pub fn url_of(config: &Config, path: &Path) -> Result<String, PublishError> {
    let base = view::base_url(config)?;
    let relative = path.to_string_lossy();
    base.join(&relative)
        .map(String::from)
        .map_err(|e| PublishError::render(&relative, e))
}

fn output(path: String, bytes: Vec<u8>) -> OutputFile {
    OutputFile {
        path: PathBuf::from(path),
        bytes,
    }
}
