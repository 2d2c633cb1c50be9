//! feeds.toml: the schema, its defaults, and validation with line:column errors
//! (see `check`), and the edits `hejnal add` makes to it (see `edit`).

pub mod alerts;
mod check;
pub mod dirs;
pub mod edit;
mod filters;
pub mod iso639;
pub mod publish;

pub use check::valid_slug;
pub use filters::{FIELD_NAMES, FilterConfig, FilterField};
pub use publish::PublishConfig;

use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Level, Origin, Renderer, Snippet};

use serde::Deserialize;
use toml::Spanned;

use crate::model::Lang;

pub use alerts::{AlertsConfig, Contact};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub publisher: Publisher,
    #[serde(default)]
    pub fetch: FetchConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub dedupe: DedupeConfig,
    #[serde(default)]
    pub translate: TranslateConfig,
    /// Rules every source's entries must pass to be published.
    #[serde(default)]
    pub filter: FilterConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub publish: PublishConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default, rename = "source")]
    pub sources: Vec<Spanned<SourceConfig>>,
    /// Folder of feeds.toml; relative paths in the file are relative to it.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// systemd's state and cache directories, which take relative paths first.
    #[serde(skip)]
    pub service_dirs: dirs::ServiceDirs,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publisher {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub base_url: Spanned<String>,
    #[serde(default = "default_languages")]
    pub languages: Vec<Lang>,
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    #[serde(default = "default_database")]
    pub database: PathBuf,
    #[serde(default = "default_max_items")]
    pub max_items: usize,
    #[serde(default = "default_schedule")]
    pub schedule: Spanned<String>,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// How the combined feed titles a story: `{pl}`, `{en}`, … stand for each variant.
    #[serde(default = "default_title_format")]
    pub title_format: String,
    #[serde(default)]
    pub websub_hubs: Vec<String>,
    /// Months of complete archives (RFC 5005) kept under archive/; 0 keeps none.
    #[serde(default = "default_archive_months")]
    pub archive_months: u32,
    /// Also publish a feed set for each city under city/SLUG/.
    #[serde(default)]
    pub per_city: bool,
    /// Also publish a feed set for each category under category/SLUG/.
    #[serde(default)]
    pub per_category: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub country: String,
    pub url: String,
    pub lang: Lang,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default = "yes")]
    pub translate: bool,
    /// Id of a source that publishes the same news in another language.
    #[serde(default)]
    pub pair: Option<String>,
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
    /// Rules this source's entries must pass to be published, besides `[filter]`.
    #[serde(default)]
    pub filter: Option<FilterConfig>,
    /// Labels every story of this source carries, besides the feed's own.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Who hears when this feed breaks: an e-mail address or a webhook URL.
    #[serde(default)]
    pub contact: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    pub timeout_secs: u64,
    pub connect_timeout_secs: u64,
    /// A server that sends nothing for this long is cut off.
    pub read_idle_timeout_secs: u64,
    pub max_body_bytes: u64,
    pub max_redirects: usize,
    pub per_host: usize,
    pub deny_private_networks: bool,
    /// Items kept from one document, newest first.
    pub max_items_per_feed: usize,
    /// Never wait longer than this between two fetches of a source, whatever it asks.
    pub max_interval_minutes: u64,
    /// Ceiling of the exponential backoff of a failing source.
    pub backoff_max_minutes: u64,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout_secs: 30,
            connect_timeout_secs: 10,
            read_idle_timeout_secs: 15,
            max_body_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            per_host: 2,
            deny_private_networks: false,
            max_items_per_feed: 500,
            max_interval_minutes: 24 * 60,
            backoff_max_minutes: 6 * 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: Option<String>,
    /// `/healthz` answers 503 when no source has answered for this long
    /// (default: three publishing intervals).
    pub stale_after_secs: Option<u64>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: Some("127.0.0.1:8080".to_string()),
            stale_after_secs: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupeConfig {
    pub window_days: u32,
    pub max_distance: u32,
    pub strip_params: Vec<String>,
}

impl Default for DedupeConfig {
    fn default() -> Self {
        DedupeConfig {
            window_days: 7,
            max_distance: 3,
            strip_params: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranslateConfig {
    pub engine: String,
    pub url: Option<String>,
    pub api_key_env: String,
    pub daily_char_budget: u64,
}

impl Default for TranslateConfig {
    fn default() -> Self {
        TranslateConfig {
            engine: "none".to_string(),
            url: None,
            api_key_env: "HEJNAL_TRANSLATE_KEY".to_string(),
            daily_char_budget: 200_000,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Days a story stays in the database after it last changed; see `Config::keep_days`.
    pub keep_days: Option<u32>,
}

fn yes() -> bool {
    true
}
fn default_languages() -> Vec<Lang> {
    ["pl", "en"].iter().filter_map(|l| Lang::parse(l)).collect()
}
fn default_output_dir() -> PathBuf {
    PathBuf::from("public")
}
fn default_database() -> PathBuf {
    PathBuf::from("hejnal.db")
}
fn default_max_items() -> usize {
    200
}
fn default_schedule() -> Spanned<String> {
    Spanned::new(0..0, "0 */15 * * * *".to_string())
}
fn default_concurrency() -> usize {
    16
}
fn default_archive_months() -> u32 {
    24
}
fn default_title_format() -> String {
    "{pl} / {en}".to_string()
}

/// One problem found in feeds.toml, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub message: String,
    /// 1-based line and column (in characters); 0 when the problem has no place in the file.
    pub line: usize,
    pub column: usize,
    pub source_line: String,
    /// Bytes of `source_line` the problem covers: what the carets underline.
    #[serde(skip)]
    pub underline: Range<usize>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            return f.write_str(&self.message);
        }
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The cause is part of the message (not an error `source`) so that it is
    // printed once, whether the caller shows the chain or only the top.
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} has {} error(s):\n{}", .diagnostics.len(), render(.path, .diagnostics))]
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

/// The diagnostics as a person reads them: each with `path:line:column`, the
/// offending line and carets under the problem.
pub fn render(path: &Path, diagnostics: &[Diagnostic]) -> String {
    let name = path.display().to_string();
    let renderer = Renderer::plain();
    diagnostics
        .iter()
        .map(|d| render_one(&renderer, &name, d))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn render_one(renderer: &Renderer, path: &str, d: &Diagnostic) -> String {
    let title = Level::ERROR.primary_title(d.message.as_str());
    let group = if d.line == 0 {
        title.element(Origin::path(path))
    } else {
        title.element(
            Snippet::source(d.source_line.as_str())
                .line_start(d.line)
                .path(path)
                .annotation(AnnotationKind::Primary.span(d.underline.clone())),
        )
    };
    renderer.render(&[group])
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut config =
            Config::parse(&text, base_dir).map_err(|diagnostics| ConfigError::Invalid {
                path: path.to_path_buf(),
                diagnostics,
            })?;
        config.service_dirs = dirs::ServiceDirs::from_env();
        for source in &mut config.sources {
            let source = source.get_mut();
            if let Some(url) = dirs::file_url(&source.url, &config.base_dir) {
                source.url = url;
            }
        }
        Ok(config)
    }

    /// Parses and validates; every problem found is returned, not only the first.
    pub fn parse(text: &str, base_dir: PathBuf) -> Result<Config, Vec<Diagnostic>> {
        let problems = check::check(text);
        if !problems.is_empty() {
            return Err(problems);
        }
        // The checks mirror the schema, so serde failing here is a gap in them;
        // its message is still better than none.
        let mut config: Config = toml::from_str(text).map_err(|e| {
            vec![match e.span() {
                Some(span) => diagnostic(text, span, e.message().to_string()),
                None => unplaced(e.message().to_string()),
            }]
        })?;
        config.base_dir = base_dir;
        Ok(config)
    }

    pub fn output_dir(&self) -> PathBuf {
        let cache = self.service_dirs.cache.as_deref();
        dirs::resolve(&self.publisher.output_dir, cache, &self.base_dir)
    }

    pub fn database_path(&self) -> PathBuf {
        let state = self.service_dirs.state.as_deref();
        dirs::resolve(&self.publisher.database, state, &self.base_dir)
    }

    /// How many days a story stays in the database: `[store] keep_days`, by
    /// default the months of archives kept and one more, so a lost output
    /// folder can be published again whole. Never within the dedupe window,
    /// where a pruned story could be told again as new.
    pub fn keep_days(&self) -> u32 {
        let default = 31 * (self.publisher.archive_months + 1);
        let floor = self.dedupe.window_days.saturating_add(1);
        self.store.keep_days.unwrap_or(default).max(floor)
    }

    /// The sources that are fetched.
    pub fn enabled_sources(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources
            .iter()
            .map(Spanned::get_ref)
            .filter(|s| s.enabled)
    }

    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources
            .iter()
            .map(Spanned::get_ref)
            .find(|s| s.id == id)
    }

    pub fn user_agent(&self) -> String {
        format!(
            "hejnal/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            self.publisher.base_url.get_ref()
        )
    }
}

/// A problem with no single place in the file (a whole-table check).
pub fn unplaced(message: String) -> Diagnostic {
    Diagnostic {
        message,
        line: 0,
        column: 0,
        source_line: String::new(),
        underline: 0..0,
    }
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .unwrap_or("")
        .matches('\n')
        .count()
        + 1
}

/// Places a problem at `span` (byte offsets into `text`): its line, column and
/// the part of that line to underline.
pub fn diagnostic(text: &str, span: Range<usize>, message: String) -> Diagnostic {
    let start = floor_char_boundary(text, span.start.min(text.len()));
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let source_line = text[line_start..].lines().next().unwrap_or("");
    let from = start - line_start;
    let until = span
        .end
        .saturating_sub(line_start)
        .clamp(from, source_line.len());
    let until = floor_char_boundary(source_line, until);
    let column = text[line_start..start].chars().count() + 1;
    Diagnostic {
        message,
        line: line_of(text, start),
        column,
        source_line: source_line.to_string(),
        // At least one caret, even at the end of a line.
        underline: from..until.max(from + usize::from(from < source_line.len())),
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}
