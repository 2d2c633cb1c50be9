//! Machine translation: every story gets a text in each output language.
//!
//! Native text always wins; a story missing a language gets a machine
//! translation of its lead entry, cached per engine, language pair and text
//! hash, and paid for from a daily character budget checked before sending.
//! Nothing here can stop publishing: failures are logged and the stage ends.

pub mod deepl;
pub mod libretranslate;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use chrono::NaiveDate;
use xxhash_rust::xxh3::xxh3_64;

use crate::clean::html::{escape_html, plain_text, sanitize};
use crate::config::{Config, TranslateConfig};
use crate::model::{Lang, Provenance, StoredEntry, Story, Variant};
use crate::store::{Store, StoreError};

pub use deepl::DeepL;
pub use libretranslate::LibreTranslate;

/// The whole stage never holds up publishing for longer than this.
pub const STAGE_LIMIT: Duration = Duration::from_secs(120);
/// One request to an engine.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of one request on network errors and 5xx answers.
pub const ATTEMPTS: u32 = 3;
/// Pause before the second attempt; it doubles for each further one.
const FIRST_PAUSE: Duration = Duration::from_millis(300);
/// Texts of one request (DeepL's own limit).
pub const MAX_BATCH_TEXTS: usize = 50;
/// Characters of one request, well under DeepL's 128 KiB request limit.
const MAX_BATCH_CHARS: u64 = 30_000;
/// An engine's answer larger than this is not read.
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// A machine translation engine.
pub trait Translator {
    /// The engine's name, shown in the machine translation mark and keying the cache.
    fn name(&self) -> &str;

    /// Learns what the engine can do before the stage asks it anything.
    fn check(&mut self) -> impl Future<Output = Result<(), TranslateError>> + Send {
        async { Ok(()) }
    }

    /// Whether the engine translates from `from` into `to`, as far as it told `check`.
    fn supports(&self, _from: &Lang, _to: &Lang) -> bool {
        true
    }

    /// Translates HTML texts, keeping their markup; one output per input, in order.
    fn translate(
        &self,
        texts: &[String],
        from: &Lang,
        to: &Lang,
    ) -> impl Future<Output = Result<Vec<String>, TranslateError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// Network errors and 5xx answers, after every attempt.
    #[error("engine unreachable: {0}")]
    Unavailable(String),
    /// 429: the engine asks to slow down.
    #[error("engine asks to slow down (HTTP 429)")]
    RateLimited,
    /// The engine's own quota is used up (DeepL 456).
    #[error("engine quota is used up (HTTP 456)")]
    QuotaExceeded,
    #[error("engine refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("engine answered with something unexpected: {0}")]
    BadResponse(String),
    #[error("cannot set up the engine: {0}")]
    Setup(String),
}

impl TranslateError {
    /// Whether the engine did the work (and may have counted it against the
    /// account) even though the answer was unusable.
    fn engine_did_work(&self) -> bool {
        matches!(self, TranslateError::BadResponse(_))
    }

    /// Whether the next request of this cycle would fail the same way.
    fn ends_cycle(&self) -> bool {
        match self {
            TranslateError::Rejected { status, .. } => matches!(status, 401 | 403),
            TranslateError::BadResponse(_) => false,
            _ => true,
        }
    }
}

/// What one run of the stage did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TranslateReport {
    /// Variants saved in this run.
    pub translated: usize,
    /// Of those, variants whose every text came from the cache.
    pub from_cache: usize,
    /// Variants left for another day because the budget had no room.
    pub deferred: usize,
    /// Variants not made because the engine failed or refused.
    pub failed: usize,
    /// Characters sent to the engine.
    pub chars_sent: u64,
}

/// The API key: the environment variable named by `api_key_env`, else the
/// systemd credential file `translate-key`; surrounding whitespace trimmed.
pub fn api_key(config: &TranslateConfig, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let non_empty = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(key) = env(&config.api_key_env).and_then(non_empty) {
        return Some(key);
    }
    let dir = env("CREDENTIALS_DIRECTORY")?;
    let path = PathBuf::from(dir).join("translate-key");
    match std::fs::read_to_string(&path) {
        Ok(text) => non_empty(text),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the translation key");
            }
            None
        }
    }
}

/// Runs the stage with the engine of feeds.toml, within `STAGE_LIMIT`.
/// `today` is the day the budget is counted against.
pub async fn run(config: &Config, store: &mut Store, today: NaiveDate) -> TranslateReport {
    let settings = &config.translate;
    let key = api_key(settings, |name| std::env::var(name).ok());
    let url = settings.url.as_deref();
    let outcome = match settings.engine.as_str() {
        "none" | "" => return TranslateReport::default(),
        "libretranslate" => match LibreTranslate::new(url, key) {
            Ok(engine) => limited(stage(config, store, engine, today)).await,
            Err(e) => Err(e),
        },
        "deepl" => match DeepL::new(url, key) {
            Ok(engine) => limited(stage(config, store, engine, today)).await,
            Err(e) => Err(e),
        },
        other => Err(TranslateError::Setup(format!(
            "unknown engine {other:?} (libretranslate, deepl or none)"
        ))),
    };
    match outcome {
        Ok(report) => report,
        Err(e) => {
            tracing::warn!(engine = %settings.engine, error = %e, "translation skipped this cycle");
            TranslateReport::default()
        }
    }
}

async fn limited(
    work: impl Future<Output = TranslateReport>,
) -> Result<TranslateReport, TranslateError> {
    tokio::time::timeout(STAGE_LIMIT, work)
        .await
        .map_err(|_| TranslateError::Unavailable(format!("stage took over {STAGE_LIMIT:?}")))
}

/// Gives the newest `max_items` stories their missing languages with `translator`.
/// Store errors and engine failures end the stage early; what was saved stays.
pub async fn stage<T: Translator>(
    config: &Config,
    store: &mut Store,
    mut translator: T,
    today: NaiveDate,
) -> TranslateReport {
    let mut report = TranslateReport::default();
    if let Err(e) = translator.check().await {
        tracing::warn!(engine = translator.name(), error = %e, "translation engine unavailable");
        return report;
    }
    let result = translate_stories(config, store, &translator, today, &mut report).await;
    if let Err(e) = result {
        tracing::warn!(engine = translator.name(), error = %e, "translation stage stopped");
    }
    if report != TranslateReport::default() {
        tracing::info!(
            engine = translator.name(),
            translated = report.translated,
            from_cache = report.from_cache,
            deferred = report.deferred,
            failed = report.failed,
            chars_sent = report.chars_sent,
            "translation stage"
        );
    }
    report
}

/// One variant to make: a story's lead text in another language.
#[derive(Debug, Clone)]
struct Job {
    story_id: i64,
    from: Lang,
    to: Lang,
    /// The texts as sent: the title escaped to HTML, the summary as stored.
    title: String,
    summary: String,
    link: Option<String>,
}

impl Job {
    fn texts(&self) -> [&String; 2] {
        [&self.title, &self.summary]
    }
}

async fn translate_stories<T: Translator>(
    config: &Config,
    store: &mut Store,
    translator: &T,
    today: NaiveDate,
    report: &mut TranslateReport,
) -> Result<(), StoreError> {
    let stories = store.latest_stories(config.publisher.max_items)?;
    let mut by_pair: BTreeMap<(Lang, Lang), Vec<Job>> = BTreeMap::new();
    for story in &stories {
        for job in jobs(config, story, store, translator.name())? {
            by_pair
                .entry((job.from.clone(), job.to.clone()))
                .or_default()
                .push(job);
        }
    }
    let mut budget = Budget {
        limit: config.translate.daily_char_budget,
        used: store.budget_used(today)?,
        today,
    };
    for ((from, to), jobs) in by_pair {
        if !translator.supports(&from, &to) {
            report_unsupported(translator.name(), &from, &to);
            continue;
        }
        let go_on = Pair {
            store,
            translator,
            budget: &mut budget,
            report,
        }
        .run(jobs)
        .await?;
        if !go_on {
            break;
        }
    }
    Ok(())
}

/// The variants a story lacks, each from the lead among the entries that may
/// be sent to an engine.
fn jobs(
    config: &Config,
    story: &Story,
    store: &Store,
    engine: &str,
) -> Result<Vec<Job>, StoreError> {
    let Some(lead) = story.entries.iter().find(|s| may_translate(config, s)) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for to in &config.publisher.languages {
        if story.entries.iter().any(|s| &s.entry.lang == to) {
            continue;
        }
        let job = Job {
            story_id: story.id,
            from: lead.entry.lang.clone(),
            to: to.clone(),
            title: escape_html(&lead.entry.title),
            summary: lead.entry.summary.clone(),
            link: lead.entry.link.clone(),
        };
        let saved = story.translations.iter().find(|v| &v.lang == to);
        if saved.is_some_and(|v| is_current(store, v, &job, engine)) {
            continue;
        }
        out.push(job);
    }
    Ok(out)
}

/// Sources with `translate = false`, and sources no longer in feeds.toml, are
/// never sent to an engine.
fn may_translate(config: &Config, stored: &StoredEntry) -> bool {
    config
        .source(&stored.entry.source_id)
        .is_some_and(|s| s.translate)
}

/// A saved machine translation stays while the lead's text is the one it was
/// made from; a native variant saved by hand always stays.
fn is_current(store: &Store, saved: &Variant, job: &Job, engine: &str) -> bool {
    let Provenance::Machine {
        engine: made_by,
        from,
        ..
    } = &saved.provenance
    else {
        return true;
    };
    if made_by != engine || from != &job.from {
        // Another engine's work is kept rather than paid for twice.
        return made_by != engine;
    }
    match cached_pair(store, engine, job) {
        Ok(Some((title, summary))) => {
            plain_text(&title) == saved.title && sanitize(&summary, None) == saved.summary
        }
        _ => false,
    }
}

fn cached_pair(
    store: &Store,
    engine: &str,
    job: &Job,
) -> Result<Option<(String, String)>, StoreError> {
    let [title, summary] = job.texts().map(|t| cached(store, engine, job, t));
    Ok(title?.zip(summary?))
}

fn cached(
    store: &Store,
    engine: &str,
    job: &Job,
    text: &str,
) -> Result<Option<String>, StoreError> {
    if text.trim().is_empty() {
        return Ok(Some(String::new()));
    }
    store.cached_translation(engine, &job.from, &job.to, text_hash(text))
}

fn text_hash(text: &str) -> u64 {
    xxh3_64(text.as_bytes())
}

fn chars(text: &str) -> u64 {
    text.chars().count() as u64
}

/// Unsupported pairs are reported once per process, not every cycle.
fn report_unsupported(engine: &str, from: &Lang, to: &Lang) {
    static REPORTED: Mutex<BTreeSet<(String, String, String)>> = Mutex::new(BTreeSet::new());
    let key = (engine.to_string(), from.to_string(), to.to_string());
    let first = REPORTED
        .lock()
        .map(|mut set| set.insert(key))
        .unwrap_or(true);
    if first {
        tracing::warn!(
            engine,
            from = %from,
            to = %to,
            "the engine does not translate this language pair; those stories stay single-language"
        );
    }
}

struct Budget {
    limit: u64,
    used: u64,
    today: NaiveDate,
}

impl Budget {
    fn fits(&self, chars: u64) -> bool {
        self.used.saturating_add(chars) <= self.limit
    }
}

/// Texts waiting to go to the engine in one request, and the jobs they serve.
#[derive(Default)]
struct Batch {
    texts: Vec<String>,
    chars: u64,
    jobs: Vec<Job>,
}

/// The work of one language pair.
struct Pair<'a, T> {
    store: &'a mut Store,
    translator: &'a T,
    budget: &'a mut Budget,
    report: &'a mut TranslateReport,
}

impl<T: Translator> Pair<'_, T> {
    /// Returns whether the stage may go on with other pairs.
    async fn run(mut self, jobs: Vec<Job>) -> Result<bool, StoreError> {
        let engine = self.translator.name().to_string();
        let mut batch = Batch::default();
        for job in jobs {
            let mut uncached = Vec::new();
            for text in job.texts() {
                if cached(self.store, &engine, &job, text)?.is_none() {
                    uncached.push(text);
                }
            }
            if uncached.is_empty() {
                self.save(&engine, &job, true)?;
                continue;
            }
            let mut needed: Vec<String> = Vec::new();
            for text in uncached {
                if !needed.contains(text) && !batch.texts.contains(text) {
                    needed.push(text.clone());
                }
            }
            let cost: u64 = needed.iter().map(|t| chars(t)).sum();
            // The batch waiting to go is as good as spent.
            if !self.budget.fits(batch.chars + cost) {
                self.report.deferred += 1;
                continue;
            }
            let full = batch.texts.len() + needed.len() > MAX_BATCH_TEXTS
                || batch.chars + cost > MAX_BATCH_CHARS;
            if full && !self.send(&engine, std::mem::take(&mut batch)).await? {
                return Ok(false);
            }
            batch.chars += cost;
            batch.texts.extend(needed);
            batch.jobs.push(job);
        }
        if batch.jobs.is_empty() {
            return Ok(true);
        }
        self.send(&engine, batch).await
    }

    /// Sends one batch and saves the variants it completes; returns whether
    /// the stage may go on.
    async fn send(&mut self, engine: &str, batch: Batch) -> Result<bool, StoreError> {
        let Some(first) = batch.jobs.first() else {
            return Ok(true);
        };
        let (from, to) = (first.from.clone(), first.to.clone());
        let answer = if batch.texts.is_empty() {
            Ok(Vec::new())
        } else {
            self.translator.translate(&batch.texts, &from, &to).await
        };
        let answer = answer.and_then(|out| {
            if out.len() == batch.texts.len() {
                Ok(out)
            } else {
                Err(TranslateError::BadResponse(format!(
                    "{} texts sent, {} returned",
                    batch.texts.len(),
                    out.len()
                )))
            }
        });
        match answer {
            Ok(translated) => {
                self.spend(batch.chars)?;
                for (text, out) in batch.texts.iter().zip(&translated) {
                    self.store
                        .put_translation(engine, &from, &to, text_hash(text), out)?;
                }
                for job in &batch.jobs {
                    self.save(engine, job, false)?;
                }
                Ok(true)
            }
            Err(e) => {
                if e.engine_did_work() {
                    self.spend(batch.chars)?;
                }
                self.report.failed += batch.jobs.len();
                tracing::warn!(engine, from = %from, to = %to, error = %e, texts = batch.texts.len(),
                    "translation failed; the stories stay single-language for now");
                if e == TranslateError::QuotaExceeded {
                    // The engine's own count is what bills: nothing more today.
                    self.spend(u64::MAX)?;
                }
                Ok(!e.ends_cycle())
            }
        }
    }

    fn spend(&mut self, chars: u64) -> Result<(), StoreError> {
        self.budget.used = self.store.add_budget(self.budget.today, chars)?;
        if chars != u64::MAX {
            self.report.chars_sent += chars;
        }
        Ok(())
    }

    /// Saves the variant of a job whose texts are all in the cache.
    fn save(&mut self, engine: &str, job: &Job, from_cache: bool) -> Result<(), StoreError> {
        let Some((title, summary)) = cached_pair(self.store, engine, job)? else {
            self.report.failed += 1;
            return Ok(());
        };
        let variant = Variant {
            lang: job.to.clone(),
            title: plain_text(&title),
            summary: sanitize(&summary, None),
            link: job.link.clone(),
            provenance: Provenance::Machine {
                engine: engine.to_string(),
                from: job.from.clone(),
                original_link: job.link.clone(),
            },
        };
        self.store.save_variant(job.story_id, &variant)?;
        self.report.translated += 1;
        if from_cache {
            self.report.from_cache += 1;
        }
        Ok(())
    }
}

/// The HTTP side shared by the engines: timeouts, retries with backoff on
/// network errors and 5xx, 429 turned into `RateLimited`.
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    pub(crate) fn new() -> Result<Http, TranslateError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("hejnal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TranslateError::Setup(e.to_string()))?;
        Ok(Http { client })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes, retrying; any answer other than 429
    /// or 5xx is handed back as (status, body).
    pub(crate) async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(u16, String), TranslateError> {
        let mut pause = FIRST_PAUSE;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            if attempt > 1 {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            match build().send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status == 429 {
                        return Err(TranslateError::RateLimited);
                    }
                    let body = read_body(response).await;
                    if status >= 500 {
                        last = format!("HTTP {status}");
                        continue;
                    }
                    return body.map(|b| (status, b));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(TranslateError::Unavailable(format!(
            "{last} ({ATTEMPTS} attempts)"
        )))
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<String, TranslateError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| TranslateError::Unavailable(e.to_string()))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(TranslateError::BadResponse(format!(
                "answer larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| TranslateError::BadResponse("answer is not UTF-8".into()))
}

/// The message of a refused request, kept short for the log.
pub(crate) fn rejected(status: u16, body: &str) -> TranslateError {
    let message: String = body.chars().take(200).collect();
    TranslateError::Rejected { status, message }
}

/// Joins an endpoint path to an engine's base URL, whatever its trailing slash.
pub(crate) fn endpoint(base: &str, path: &str) -> String {
    format!("{}/{path}", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TranslateConfig {
        TranslateConfig {
            api_key_env: "KEY_VAR".to_string(),
            ..TranslateConfig::default()
        }
    }

    #[test]
    fn the_key_comes_from_the_variable_then_the_credential_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("translate-key"), " from-file \n").expect("key");
        let creds = dir.path().to_string_lossy().into_owned();
        let env = |var: Option<&str>| {
            let creds = creds.clone();
            let var = var.map(str::to_string);
            move |name: &str| match name {
                "KEY_VAR" => var.clone(),
                "CREDENTIALS_DIRECTORY" => Some(creds.clone()),
                _ => None,
            }
        };
        assert_eq!(
            api_key(&settings(), env(Some(" k1 "))).as_deref(),
            Some("k1")
        );
        assert_eq!(
            api_key(&settings(), env(Some("   "))).as_deref(),
            Some("from-file")
        );
        assert_eq!(
            api_key(&settings(), env(None)).as_deref(),
            Some("from-file")
        );
        assert_eq!(api_key(&settings(), |_| None), None);
    }

    #[test]
    fn deepl_language_codes() {
        let lang = |c: &str| Lang::parse(c).expect("lang");
        assert_eq!(deepl::target_code(&lang("en")), "EN-GB");
        assert_eq!(deepl::target_code(&lang("pt")), "PT-PT");
        assert_eq!(deepl::target_code(&lang("de")), "DE");
        assert_eq!(deepl::source_code(&lang("en")), "EN");
    }

    #[test]
    fn only_refusals_of_the_key_end_the_cycle() {
        assert!(TranslateError::RateLimited.ends_cycle());
        assert!(TranslateError::QuotaExceeded.ends_cycle());
        assert!(rejected(403, "bad key").ends_cycle());
        assert!(!rejected(400, "bad language").ends_cycle());
        assert!(!TranslateError::BadResponse("x".into()).ends_cycle());
    }
}
