//! feeds.toml: the schema, its defaults, and validation with line:column errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::model::Lang;

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
    #[serde(default, rename = "source")]
    pub sources: Vec<Spanned<SourceConfig>>,
    /// Folder of feeds.toml; relative paths in the file are relative to it.
    #[serde(skip)]
    pub base_dir: PathBuf,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    /// 1-based line and column; 0 when the problem has no place in the file.
    pub line: usize,
    pub column: usize,
    pub source_line: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            return f.write_str(&self.message);
        }
        write!(f, "{}:{}: {}", self.line, self.column, self.message)?;
        if !self.source_line.is_empty() {
            let gutter = self.line.to_string().len();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {:>col$}",
                "",
                self.line,
                self.source_line,
                "",
                "^",
                col = self.column
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} has {} error(s):\n{}", .diagnostics.len(), render(.path, .diagnostics))]
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

fn render(path: &Path, diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("{}:{d}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Config::parse(&text, base_dir).map_err(|diagnostics| ConfigError::Invalid {
            path: path.to_path_buf(),
            diagnostics,
        })
    }

    /// Parses and validates; every problem found is returned, not only the first.
    pub fn parse(text: &str, base_dir: PathBuf) -> Result<Config, Vec<Diagnostic>> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            vec![match e.span() {
                Some(span) => diagnostic(text, span.start, e.message().to_string()),
                None => unplaced(e.message().to_string()),
            }]
        })?;
        config.base_dir = base_dir;
        let problems = config.validate(text);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    fn validate(&self, text: &str) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let p = &self.publisher;
        if let Err(e) = url::Url::parse(p.base_url.get_ref()) {
            out.push(diagnostic(
                text,
                p.base_url.span().start,
                format!("base_url is not a valid URL: {e}"),
            ));
        }
        if let Err(e) = p.schedule.get_ref().parse::<cron::Schedule>() {
            out.push(diagnostic(
                text,
                p.schedule.span().start,
                format!("schedule is not a valid cron expression: {e}"),
            ));
        }
        if p.languages.is_empty() {
            out.push(unplaced("languages must name at least one language".into()));
        }
        if p.concurrency == 0 {
            out.push(unplaced("concurrency must be at least 1".into()));
        }
        if p.max_items == 0 {
            out.push(unplaced("max_items must be at least 1".into()));
        }
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for (n, spanned) in self.sources.iter().enumerate() {
            let s = spanned.get_ref();
            let at = spanned.span().start;
            let which = format!("[[source]] #{} (id {:?})", n + 1, s.id);
            if !valid_slug(&s.id) {
                out.push(diagnostic(
                    text,
                    at,
                    format!("{which}: id must be a slug of a-z, 0-9 and '-'"),
                ));
            }
            if let Some(first) = ids.insert(&s.id, n + 1) {
                out.push(diagnostic(
                    text,
                    at,
                    format!("{which}: duplicate id, already used by [[source]] #{first}"),
                ));
            }
            match url::Url::parse(&s.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(u) => out.push(diagnostic(
                    text,
                    at,
                    format!("{which}: url scheme {:?} is not http or https", u.scheme()),
                )),
                Err(e) => out.push(diagnostic(text, at, format!("{which}: invalid url: {e}"))),
            }
            if let Some(schedule) = &s.schedule
                && let Err(e) = schedule.parse::<cron::Schedule>()
            {
                out.push(diagnostic(
                    text,
                    at,
                    format!("{which}: schedule is not a valid cron expression: {e}"),
                ));
            }
        }
        for spanned in &self.sources {
            let s = spanned.get_ref();
            if let Some(pair) = &s.pair
                && !ids.contains_key(pair.as_str())
            {
                out.push(diagnostic(
                    text,
                    spanned.span().start,
                    format!("source {:?}: pair {:?} names no source", s.id, pair),
                ));
            }
        }
        out
    }

    pub fn output_dir(&self) -> PathBuf {
        self.base_dir.join(&self.publisher.output_dir)
    }

    pub fn database_path(&self) -> PathBuf {
        self.base_dir.join(&self.publisher.database)
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

fn valid_slug(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A problem with no single place in the file (a whole-table check).
pub fn unplaced(message: String) -> Diagnostic {
    Diagnostic {
        message,
        line: 0,
        column: 0,
        source_line: String::new(),
    }
}

/// Turns a byte offset into line, column and the text of that line.
pub fn diagnostic(text: &str, offset: usize, message: String) -> Diagnostic {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = text
        .get(line_start..offset)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    let source_line = text[line_start..].lines().next().unwrap_or("").to_string();
    Diagnostic {
        message,
        line,
        column,
        source_line,
    }
}
