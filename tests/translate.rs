//! Machine translation end to end: the real binary against loopback servers
//! speaking the LibreTranslate and the DeepL HTTP APIs, each request recorded.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{Days, Utc};
use common::{FeedServer, serve_loopback, write_config};
use hejnal::config::Config;
use hejnal::store::Store;
use serde_json::{Value, json};

/// One request the engine server received.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Value,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Translate,
    Status(u16),
}

struct Inner {
    seen: Vec<Seen>,
    mode: Mode,
    /// LibreTranslate's `/languages` answer.
    languages: Value,
}

/// A translation engine on loopback: translates by prefixing the target
/// language, so the HTML of the input survives untouched.
#[derive(Clone)]
struct Engine {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    _shutdown: Arc<tokio::sync::oneshot::Sender<()>>,
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine {
    fn start() -> Engine {
        let all = json!([
            {"code": "pl", "name": "Polish", "targets": ["en", "de"]},
            {"code": "en", "name": "English", "targets": ["pl", "de"]},
            {"code": "de", "name": "German", "targets": ["pl", "en"]}
        ]);
        let inner = Arc::new(Mutex::new(Inner {
            seen: Vec::new(),
            mode: Mode::Translate,
            languages: all,
        }));
        let state = Arc::clone(&inner);
        let (addr, tx) = serve_loopback(Router::new().fallback(answer).with_state(state));
        Engine {
            addr,
            inner,
            _shutdown: Arc::new(tx),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set_mode(&self, mode: Mode) {
        lock(&self.inner).mode = mode;
    }

    fn set_languages(&self, languages: Value) {
        lock(&self.inner).languages = languages;
    }

    fn seen(&self) -> Vec<Seen> {
        lock(&self.inner).seen.clone()
    }

    /// Requests that asked for a translation.
    fn translations(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == Method::POST)
            .collect()
    }
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut inner = lock(&inner);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let path = uri.path().to_string();
    inner.seen.push(Seen {
        method: method.clone(),
        path: path.clone(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    });
    if let Mode::Status(code) = inner.mode {
        return StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response();
    }
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    match (method, path.as_str()) {
        (Method::GET, "/languages") => axum::Json(inner.languages.clone()).into_response(),
        (Method::POST, "/translate") => {
            let target = request["target"].as_str().unwrap_or("?");
            let q = request["q"].as_str().unwrap_or("");
            axum::Json(json!({"translatedText": format!("[{target}] {q}")})).into_response()
        }
        (Method::POST, "/v2/translate") => {
            let target = request["target_lang"].as_str().unwrap_or("?");
            let texts: Vec<Value> = request["text"]
                .as_array()
                .map(|texts| {
                    texts
                        .iter()
                        .map(|t| {
                            json!({"detected_source_language": "PL",
                                "text": format!("[{target}] {}", t.as_str().unwrap_or(""))})
                        })
                        .collect()
                })
                .unwrap_or_default();
            axum::Json(json!({"translations": texts})).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

const GERMAN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Nürnberg</title><link>https://www.nuernberg.de/</link>
<language>de</language>
<item><title>Straßenfest in der Altstadt</title>
<link>https://www.nuernberg.de/presse/1</link><guid>https://www.nuernberg.de/presse/1</guid>
<pubDate>Tue, 24 Nov 2026 08:00:00 GMT</pubDate>
<description><![CDATA[<p>Das <a href="https://www.nuernberg.de/fest">Straßenfest</a> beginnt am <b>Samstag</b>.</p>]]></description></item>
</channel></rss>"#;

const POLISH: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Kraków</title><link>https://www.krakow.pl/</link>
<language>pl</language>
<item><title>Nowe drzewa na Plantach</title>
<link>https://www.krakow.pl/pl/aktualnosci/41000</link><guid>https://www.krakow.pl/pl/aktualnosci/41000</guid>
<pubDate>Tue, 24 Nov 2026 09:00:00 GMT</pubDate>
<description><![CDATA[<p>Miasto posadzi <a href="https://www.krakow.pl/planty">sto drzew</a>.</p>]]></description></item>
<item><title>Rada Miasta o budżecie</title>
<link>https://www.krakow.pl/pl/aktualnosci/41001</link><guid>https://www.krakow.pl/pl/aktualnosci/41001</guid>
<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate>
<description><![CDATA[<p>Sesja w środę.</p>]]></description></item>
</channel></rss>"#;

const ENGLISH: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Kraków in English</title><link>https://www.krakow.pl/en/</link>
<language>en</language>
<item><title>New trees in the Planty park</title>
<link>https://www.krakow.pl/en/aktualnosci/41000</link><guid>https://www.krakow.pl/en/aktualnosci/41000</guid>
<pubDate>Tue, 24 Nov 2026 11:00:00 GMT</pubDate>
<description><![CDATA[<p>The city will plant a hundred trees.</p>]]></description></item>
<item><title>Council to debate the budget</title>
<link>https://www.krakow.pl/en/aktualnosci/41001</link><guid>https://www.krakow.pl/en/aktualnosci/41001</guid>
<pubDate>Tue, 24 Nov 2026 12:00:00 GMT</pubDate>
<description><![CDATA[<p>Session on Wednesday.</p>]]></description></item>
</channel></rss>"#;

/// The feeds, their items dated yesterday: pairing only looks at stories
/// within the dedupe window before now.
fn feeds() -> FeedServer {
    let yesterday = (Utc::now() - chrono::TimeDelta::days(1))
        .format("%a, %d %b %Y")
        .to_string();
    let dated = |feed: &str| feed.replace(FIXTURE_DAY, &yesterday);
    let server = FeedServer::start();
    server.put("/nuernberg.xml", dated(GERMAN), "application/rss+xml");
    server.put("/krakow.xml", dated(POLISH), "application/rss+xml");
    server.put("/krakow-en.xml", dated(ENGLISH), "application/rss+xml");
    server
}

/// The day the fixture feeds are written on, replaced when they are served.
const FIXTURE_DAY: &str = "Tue, 24 Nov 2026";

const TWO_SOURCES: &[(&str, &str, &str, &str)] = &[
    ("nuernberg", "/nuernberg.xml", "de", "Nürnberg"),
    ("krakow", "/krakow.xml", "pl", "Kraków"),
];

fn translate_section(engine: &str, url: &str, budget: u64) -> String {
    format!(
        "\n[translate]\nengine = \"{engine}\"\nurl = \"{url}\"\napi_key_env = \"HEJNAL_TEST_TRANSLATE_KEY\"\ndaily_char_budget = {budget}\n"
    )
}

/// Runs `hejnal once` with extra environment; returns stdout, failing on a non-zero exit.
fn once(config: &Path, env: &[(&str, &str)]) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hejnal"));
    command
        .args(["once", "--config", config.to_str().expect("utf-8 path")])
        .env("RUST_LOG", "warn")
        .env_remove("HEJNAL_TEST_TRANSLATE_KEY")
        .env_remove("CREDENTIALS_DIRECTORY");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run hejnal");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    stdout
}

fn published(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("public").join(name)).expect("published file")
}

fn json_feed(dir: &Path) -> Value {
    serde_json::from_str(&published(dir, "feed.json")).expect("feed.json parses")
}

/// The item of feed.json whose title contains `needle`.
fn item<'a>(feed: &'a Value, needle: &str) -> &'a Value {
    feed["items"]
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .find(|i| i["title"].as_str().is_some_and(|t| t.contains(needle)))
        })
        .unwrap_or_else(|| panic!("no item titled {needle:?} in {feed:#}"))
}

/// (language, provenance, engine) of each variant of an item.
fn provenance(item: &Value) -> Vec<(String, String, Option<String>)> {
    item["_hejnal"]["variants"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    (
                        v["lang"].as_str().unwrap_or("").to_string(),
                        v["provenance"].as_str().unwrap_or("").to_string(),
                        v["engine"].as_str().map(str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn langs(item: &Value) -> Vec<String> {
    let mut out: Vec<String> = provenance(item).into_iter().map(|(l, ..)| l).collect();
    out.sort();
    out
}

#[test]
fn libretranslate_fills_missing_languages_once_and_marks_them() {
    // The key as an operator's file may hold it: spaces and a line break around it.
    let Translated {
        engine,
        dir,
        config,
        ..
    } = translated_with("  libre-key\n");

    let requests = engine.translations();
    // German story: title + summary into pl and en; two Polish stories: into en.
    assert_eq!(requests.len(), 2 * 2 + 2 * 2, "{requests:#?}");
    for r in &requests {
        assert_eq!(r.path, "/translate");
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert_eq!(r.body["format"], "html");
        assert_eq!(r.body["api_key"], "libre-key", "key sent, trimmed");
    }
    let pairs: Vec<(String, String)> = requests
        .iter()
        .map(|r| {
            (
                r.body["source"].as_str().unwrap_or("").to_string(),
                r.body["target"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        pairs
            .iter()
            .filter(|p| *p == &("de".into(), "pl".into()))
            .count(),
        2
    );
    assert_eq!(
        pairs
            .iter()
            .filter(|p| *p == &("de".into(), "en".into()))
            .count(),
        2
    );
    assert_eq!(
        pairs
            .iter()
            .filter(|p| *p == &("pl".into(), "en".into()))
            .count(),
        4
    );
    assert!(
        requests
            .iter()
            .any(|r| r.body["q"].as_str().is_some_and(|q| {
                q.contains("<a href=\"https://www.nuernberg.de/fest\"")
                    && q.contains("<b>Samstag</b>")
            })),
        "the summary went out as HTML: {requests:#?}"
    );
    assert!(
        engine.seen().iter().any(|s| s.path == "/languages"),
        "languages checked"
    );

    let feed = json_feed(dir.path());
    let german = item(&feed, "Straßenfest");
    let libre = Some("LibreTranslate".to_string());
    for variant in [
        ("de".to_string(), "native".to_string(), None),
        ("pl".to_string(), "machine".to_string(), libre.clone()),
        ("en".to_string(), "machine".to_string(), libre.clone()),
    ] {
        assert!(provenance(german).contains(&variant), "{german:#}");
    }
    assert_eq!(langs(german), ["de", "en", "pl"]);
    let polish = item(&feed, "Nowe drzewa");
    assert_eq!(langs(polish), ["en", "pl"]);
    assert!(provenance(polish).contains(&(
        "en".into(),
        "machine".into(),
        Some("LibreTranslate".into())
    )));
    // The combined title shows both languages, the translation's HTML survived.
    assert_eq!(
        polish["title"].as_str(),
        Some("Nowe drzewa na Plantach / [en] Nowe drzewa na Plantach")
    );
    let body = polish["content_html"].as_str().unwrap_or("");
    assert_eq!(
        body.matches("href=\"https://www.krakow.pl/planty\"")
            .count(),
        2,
        "the link is in the original and in the translation: {body}"
    );

    let rss = published(dir.path(), "feed.xml");
    assert!(
        rss.contains("Machine translation (LibreTranslate)"),
        "{rss}"
    );
    assert!(
        rss.contains("Tłumaczenie maszynowe (LibreTranslate)"),
        "{rss}"
    );
    assert!(
        rss.contains("original: <a href=\"https://www.krakow.pl/pl/aktualnosci/41000\">"),
        "the mark links the original: {rss}"
    );

    let machine = polish["_hejnal"]["variants"]
        .as_array()
        .and_then(|vs| vs.iter().find(|v| v["provenance"] == "machine"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(machine["translated_from"], "pl");
    assert_eq!(
        machine["original"],
        "https://www.krakow.pl/pl/aktualnosci/41000"
    );

    // Atom carries the sections as XHTML, each with xml:lang.
    let atom = published(dir.path(), "feed.atom");
    assert!(
        atom.contains(
            r#"<content xml:lang="pl" type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">"#
        ),
        "{atom}"
    );
    assert!(atom.contains(r#"<div lang="en" xml:lang="en">"#), "{atom}");
    let parsed = feed_rs::parser::parse(atom.as_bytes()).expect("feed.atom parses");
    assert!(
        parsed
            .entries
            .iter()
            .all(|e| e.content.as_ref().and_then(|c| c.body.as_ref()).is_some())
    );

    // The second cycle finds every text in the cache.
    let before = engine.translations().len();
    once(&config, &[("HEJNAL_TEST_TRANSLATE_KEY", "libre-key")]);
    assert_eq!(
        engine.translations().len(),
        before,
        "cached texts are not sent again"
    );
}

#[test]
fn unsupported_pairs_are_skipped_and_the_rest_translated() {
    let feeds = feeds();
    let engine = Engine::start();
    engine.set_languages(json!([
        {"code": "pl", "targets": ["en"]},
        {"code": "en", "targets": ["pl"]}
    ]));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &feeds,
        TWO_SOURCES,
        &translate_section("libretranslate", &engine.url(), 200_000),
    );
    once(&config, &[]);
    let requests = engine.translations();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.body["source"] == "pl"),
        "{requests:#?}"
    );
    assert!(
        requests.iter().all(|r| r.body.get("api_key").is_none()),
        "no key, none sent"
    );
    let feed = json_feed(dir.path());
    assert_eq!(langs(item(&feed, "Straßenfest")), ["de"]);
}

#[test]
fn deepl_batches_texts_with_the_key_from_the_credential_file() {
    let feeds = feeds();
    let engine = Engine::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let credentials = dir.path().join("credentials");
    std::fs::create_dir(&credentials).expect("credentials dir");
    std::fs::write(credentials.join("translate-key"), "deepl-secret:fx\n").expect("key file");
    let config = write_config(
        dir.path(),
        &feeds,
        &[("krakow", "/krakow.xml", "pl", "Kraków")],
        &translate_section("deepl", &engine.url(), 200_000),
    );
    once(
        &config,
        &[(
            "CREDENTIALS_DIRECTORY",
            credentials.to_str().expect("utf-8"),
        )],
    );
    let requests = engine.translations();
    assert_eq!(
        requests.len(),
        1,
        "one batch for both stories: {requests:#?}"
    );
    let r = &requests[0];
    assert_eq!(r.path, "/v2/translate");
    assert_eq!(
        r.authorization.as_deref(),
        Some("DeepL-Auth-Key deepl-secret:fx")
    );
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.body["source_lang"], "PL");
    assert_eq!(r.body["target_lang"], "EN-GB");
    assert_eq!(r.body["tag_handling"], "html");
    let texts = r.body["text"].as_array().cloned().unwrap_or_default();
    assert_eq!(texts.len(), 4, "two titles and two summaries: {texts:?}");

    let feed = json_feed(dir.path());
    let polish = item(&feed, "Rada Miasta");
    assert!(provenance(polish).contains(&("en".into(), "machine".into(), Some("DeepL".into()))));
    assert!(published(dir.path(), "feed.xml").contains("Machine translation (DeepL)"));
}

#[test]
fn deepl_quota_exceeded_stops_translation_for_the_day() {
    let feeds = feeds();
    let engine = Engine::start();
    engine.set_mode(Mode::Status(456));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &feeds,
        TWO_SOURCES,
        &translate_section("deepl", &engine.url(), 200_000),
    );
    let key = [("HEJNAL_TEST_TRANSLATE_KEY", "k")];
    once(&config, &key);
    assert_eq!(engine.translations().len(), 1, "no request after a 456");
    engine.set_mode(Mode::Translate);
    once(&config, &key);
    assert_eq!(engine.translations().len(), 1, "nothing more the same day");
    let feed = json_feed(dir.path());
    assert_eq!(langs(item(&feed, "Nowe drzewa")), ["pl"]);
}

#[test]
fn a_failing_engine_never_stops_publishing() {
    for (code, most_requests) in [(500, 3), (429, 1)] {
        let feeds = feeds();
        let engine = Engine::start();
        engine.set_mode(Mode::Status(code));
        let dir = tempfile::tempdir().expect("tempdir");
        let config = write_config(
            dir.path(),
            &feeds,
            TWO_SOURCES,
            &translate_section("libretranslate", &engine.url(), 200_000),
        );
        // The languages check is the first request; a 500 is retried there.
        once(&config, &[]);
        assert!(
            engine.seen().len() <= most_requests,
            "HTTP {code}: the cycle stops asking: {:#?}",
            engine.seen()
        );
        let feed = json_feed(dir.path());
        assert_eq!(langs(item(&feed, "Straßenfest")), ["de"], "HTTP {code}");
        assert_eq!(langs(item(&feed, "Nowe drzewa")), ["pl"], "HTTP {code}");
    }
}

#[test]
fn a_failing_translate_request_is_retried_then_given_up() {
    let feeds = feeds();
    let engine = Engine::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &feeds,
        &[("krakow", "/krakow.xml", "pl", "Kraków")],
        &translate_section("deepl", &engine.url(), 200_000),
    );
    engine.set_mode(Mode::Status(503));
    once(&config, &[("HEJNAL_TEST_TRANSLATE_KEY", "k")]);
    assert_eq!(engine.translations().len(), 3, "three attempts");
    // The engine is back: the next cycle translates.
    engine.set_mode(Mode::Translate);
    once(&config, &[("HEJNAL_TEST_TRANSLATE_KEY", "k")]);
    let feed = json_feed(dir.path());
    assert_eq!(langs(item(&feed, "Nowe drzewa")), ["en", "pl"]);
}

#[test]
fn an_unreachable_engine_never_stops_publishing() {
    let feeds = feeds();
    let dir = tempfile::tempdir().expect("tempdir");
    // A port nobody listens on: bind, learn the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let config = write_config(
        dir.path(),
        &feeds,
        TWO_SOURCES,
        &translate_section(
            "libretranslate",
            &format!("http://127.0.0.1:{port}"),
            200_000,
        ),
    );
    once(&config, &[]);
    let feed = json_feed(dir.path());
    assert_eq!(langs(item(&feed, "Straßenfest")), ["de"]);
}

#[test]
fn budget_exhausted_publishes_single_language_and_translates_the_day_after() {
    let feeds = feeds();
    let engine = Engine::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let budget = 1_000;
    let config_path = write_config(
        dir.path(),
        &feeds,
        TWO_SOURCES,
        &translate_section("libretranslate", &engine.url(), budget),
    );
    let config = Config::load(&config_path).expect("config");
    let today = Utc::now().date_naive();
    {
        let store = Store::open(&config.database_path()).expect("store");
        store
            .add_budget(today, budget)
            .expect("spend the day's budget");
    }
    once(&config_path, &[]);
    assert!(engine.translations().is_empty(), "nothing fits today");
    let feed = json_feed(dir.path());
    assert_eq!(langs(item(&feed, "Nowe drzewa")), ["pl"]);
    assert_eq!(langs(item(&feed, "Straßenfest")), ["de"]);

    let tomorrow = today.checked_add_days(Days::new(1)).expect("tomorrow");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut store = Store::open(&config.database_path()).expect("store");
    let report = runtime.block_on(hejnal::bilingual::translate::run(
        &config, &mut store, tomorrow,
    ));
    assert_eq!(report.translated, 4, "{report:?}");
    assert!(store.budget_used(tomorrow).expect("budget") <= budget);
    drop(store);

    once(&config_path, &[]);
    let feed = json_feed(dir.path());
    assert_eq!(langs(item(&feed, "Nowe drzewa")), ["en", "pl"]);
    assert_eq!(langs(item(&feed, "Straßenfest")), ["de", "en", "pl"]);
}

#[test]
fn the_budget_is_never_exceeded() {
    let feeds = feeds();
    let engine = Engine::start();
    let dir = tempfile::tempdir().expect("tempdir");
    // Enough for one story's title and summary, not for all.
    let budget = 80;
    let config_path = write_config(
        dir.path(),
        &feeds,
        TWO_SOURCES,
        &translate_section("libretranslate", &engine.url(), budget),
    );
    once(&config_path, &[]);
    let sent: usize = engine
        .translations()
        .iter()
        .map(|r| r.body["q"].as_str().map_or(0, |q| q.chars().count()))
        .sum();
    assert!(sent > 0, "something fit");
    assert!(sent as u64 <= budget, "{sent} characters sent");
    let config = Config::load(&config_path).expect("config");
    let store = Store::open(&config.database_path()).expect("store");
    let used = store.budget_used(Utc::now().date_naive()).expect("budget");
    assert_eq!(used, sent as u64);
    let machine: usize = store
        .latest_stories(10)
        .expect("stories")
        .iter()
        .map(|s| s.translations.len())
        .sum();
    assert_eq!(machine, 1, "one variant fit, three wait for tomorrow");
}

#[test]
fn paired_sources_get_native_variants_and_no_translation() {
    let feeds = feeds();
    let engine = Engine::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut extra = translate_section("libretranslate", &engine.url(), 200_000);
    extra.push_str(&format!(
        "\n[[source]]\nid = \"krakow-en\"\nname = \"Kraków in English\"\ncity = \"Kraków\"\nurl = \"{}\"\nlang = \"en\"\npair = \"krakow\"\n",
        feeds.url("/krakow-en.xml")
    ));
    let config = write_config(
        dir.path(),
        &feeds,
        &[("krakow", "/krakow.xml", "pl", "Kraków")],
        &extra,
    );
    once(&config, &[]);
    assert!(
        engine.translations().is_empty(),
        "{:#?}",
        engine.translations()
    );
    let feed = json_feed(dir.path());
    let items = feed["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "two bilingual stories: {feed:#}");
    let trees = item(&feed, "Nowe drzewa");
    assert_eq!(
        trees["title"].as_str(),
        Some("Nowe drzewa na Plantach / New trees in the Planty park")
    );
    assert_eq!(
        provenance(trees),
        vec![
            ("pl".to_string(), "native".to_string(), None),
            ("en".to_string(), "native".to_string(), None)
        ]
    );
    assert!(!published(dir.path(), "feed.xml").contains("Machine translation"));
}

/// Runs another subcommand of the real binary; returns stdout, failing on a non-zero exit.
fn hejnal_ok(config: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args(["--config", config.to_str().expect("utf-8 path")])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hejnal");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

/// `hejnal correct LINK --lang en ARGS…`.
fn correct_en(config: &Path, link: &str, args: &[&str]) -> String {
    let mut all = vec!["correct", link, "--lang", "en"];
    all.extend_from_slice(args);
    hejnal_ok(config, &all)
}

/// The two sources translated once by LibreTranslate, for an editor to correct.
struct Translated {
    feeds: FeedServer,
    engine: Engine,
    dir: tempfile::TempDir,
    config: PathBuf,
}

const KEY: [(&str, &str); 1] = [("HEJNAL_TEST_TRANSLATE_KEY", "libre-key")];

fn translated() -> Translated {
    translated_with(KEY[0].1)
}

/// As `translated`, with the engine's key written as `key`.
fn translated_with(key: &str) -> Translated {
    let feeds = feeds();
    let engine = Engine::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &feeds,
        TWO_SOURCES,
        &translate_section("libretranslate", &engine.url(), 200_000),
    );
    once(&config, &[(KEY[0].0, key)]);
    Translated {
        feeds,
        engine,
        dir,
        config,
    }
}

#[test]
fn an_editors_translation_replaces_the_machines_until_the_source_rewrites_its_story() {
    let Translated {
        feeds,
        engine,
        dir,
        config,
    } = translated();
    let key = KEY;
    let link = "https://www.krakow.pl/pl/aktualnosci/41000";
    let english = || -> Value {
        serde_json::from_str(&published(dir.path(), "en/feed.json")).expect("en/feed.json")
    };
    assert!(item(&english(), "[en] Nowe drzewa").is_object());

    correct_en(
        &config,
        link,
        &[
            "--title",
            "A hundred new trees for the Planty",
            "--summary",
            "<p>The city will plant <b>a hundred</b> trees.</p><script>x()</script>",
        ],
    );
    let out = hejnal_ok(&config, &["publish"]);
    assert!(out.contains("published"), "{out}");
    let feed = english();
    let corrected = item(&feed, "A hundred new trees for the Planty");
    assert_eq!(
        provenance(corrected),
        [("en".to_string(), "edited".to_string(), None)]
    );
    let body = corrected["content_html"].as_str().unwrap_or_default();
    assert!(
        body.contains("<b>a hundred</b>") && !body.contains("script"),
        "{body}"
    );
    assert!(body.contains("Edited translation"), "{body}");
    assert!(!body.contains("Machine translation"), "{body}");
    let combined = published(dir.path(), "feed.xml");
    assert!(
        combined.contains("A hundred new trees for the Planty"),
        "{combined}"
    );
    assert!(published(dir.path(), "en/index.html").contains("Edited translation"));
    let listed = hejnal_ok(&config, &["stories", "--search", "drzewa"]);
    assert!(listed.contains("en (edited)"), "{listed}");

    // The next cycle asks the engine for nothing about this story.
    let before = engine.translations().len();
    once(&config, &key);
    let asked: Vec<String> = engine.translations()[before..]
        .iter()
        .map(|r| r.body.to_string())
        .collect();
    assert!(asked.iter().all(|q| !q.contains("drzew")), "{asked:?}");
    assert!(item(&english(), "A hundred new trees").is_object());

    // The source rewrites its story: the correction no longer fits.
    let rewritten = POLISH.replace(
        "Miasto posadzi <a href=\"https://www.krakow.pl/planty\">sto drzew</a>.",
        "Zarząd Zieleni Miejskiej zmienia plany: zamiast stu drzew na Plantach powstaną \
         łąki kwietne i dwa nowe place zabaw, a wycinka starych lip zostaje wstrzymana.",
    );
    let yesterday = (Utc::now() - chrono::TimeDelta::days(1))
        .format("%a, %d %b %Y")
        .to_string();
    feeds.put(
        "/krakow.xml",
        rewritten.replace(FIXTURE_DAY, &yesterday),
        "application/rss+xml",
    );
    once(&config, &key);
    let feed = english();
    let items = feed["items"].as_array().expect("items");
    assert!(
        items
            .iter()
            .all(|i| i["title"] != "A hundred new trees for the Planty"),
        "{feed:#}"
    );
    assert!(item(&feed, "[en] Nowe drzewa").is_object());
}

#[test]
fn a_reverted_correction_brings_the_machine_translation_back_from_the_cache() {
    let Translated {
        engine,
        dir,
        config,
        ..
    } = translated();
    let key = KEY;
    let link = "https://www.krakow.pl/pl/aktualnosci/41001";
    correct_en(&config, link, &["--title", "City council on the budget"]);
    once(&config, &key);
    let feed = serde_json::from_str::<Value>(&published(dir.path(), "en/feed.json")).expect("json");
    let corrected = item(&feed, "City council on the budget");
    // Only the title was given: the text stays the machine's.
    assert!(
        corrected["content_html"]
            .as_str()
            .is_some_and(|b| b.contains("[en]")),
        "{corrected:#}"
    );

    let before = engine.translations().len();
    correct_en(&config, link, &["--revert"]);
    once(&config, &key);
    assert_eq!(engine.translations().len(), before, "served from the cache");
    let feed = serde_json::from_str::<Value>(&published(dir.path(), "en/feed.json")).expect("json");
    assert!(item(&feed, "[en] Rada Miasta").is_object());

    // A language with the source's own text cannot be corrected.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args(["--config", config.to_str().expect("utf-8 path")])
        .args(["correct", link, "--lang", "pl", "--title", "x"])
        .output()
        .expect("run hejnal");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("its own pl text"), "{err}");
}
