//! A loopback feed server for integration tests: serves fixture feeds with
//! ETag / Last-Modified, counts requests, and can be told to misbehave.
#![allow(dead_code)]

pub mod html;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hejnal::config::SourceConfig;
use hejnal::model::Lang;

/// The sources of the fixture farm in tests/fixtures/site, as `write_config`
/// takes them: one per format and encoding the farm serves.
pub const SITE_SOURCES: &[(&str, &str, &str, &str)] = &[
    ("krakow", "/krakow.xml", "pl", "Kraków"),
    ("nuernberg", "/nuernberg.atom", "de", "Nürnberg"),
    ("kyiv", "/kyiv.json", "en", "Kyiv"),
    ("leipzig", "/leipzig.rdf", "de", "Leipzig"),
    ("nowa-huta", "/iso88592.xml", "pl", "Kraków"),
    ("podgorze", "/cp1250.xml", "pl", "Kraków"),
    ("noguid", "/no-guid.xml", "pl", "Kraków"),
];

/// Every feed a site with `languages = ["pl", "en"]` publishes.
pub const FEED_FILES: [&str; 9] = [
    "feed.xml",
    "feed.atom",
    "feed.json",
    "pl/feed.xml",
    "pl/feed.atom",
    "pl/feed.json",
    "en/feed.xml",
    "en/feed.atom",
    "en/feed.json",
];

#[derive(Clone)]
pub enum Behaviour {
    Serve,
    Status(u16),
    /// A status with extra headers, e.g. 429 with Retry-After.
    StatusWith(u16, Vec<(&'static str, String)>),
    Garbage,
    /// Serves the file whole every time, with no ETag or Last-Modified, as
    /// many CMSes do: a conditional request gets the full body again.
    NoValidators,
}

#[derive(Default)]
struct Inner {
    files: HashMap<String, (Vec<u8>, String)>,
    behaviour: HashMap<String, Behaviour>,
    requests: usize,
    hits: HashMap<String, usize>,
    not_modified: usize,
    conditional: usize,
}

#[derive(Clone)]
pub struct FeedServer {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    _shutdown: Arc<tokio::sync::oneshot::Sender<()>>,
}

/// Serves `app` on a free loopback port from a thread of its own, so blocking
/// tests can use it too; the server stops when the returned sender is dropped.
pub fn serve_loopback(app: Router) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("test runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            addr_tx.send(listener.local_addr().expect("addr")).ok();
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .ok();
        });
    });
    (addr_rx.recv().expect("server address"), tx)
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

impl FeedServer {
    /// Starts on a thread of its own, so blocking tests can use it too.
    pub fn start() -> FeedServer {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let state = Arc::clone(&inner);
        let (addr, tx) = serve_loopback(Router::new().fallback(handle).with_state(state));
        FeedServer {
            addr,
            inner,
            _shutdown: Arc::new(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn put(&self, path: &str, body: impl Into<Vec<u8>>, content_type: &str) {
        lock(&self.inner)
            .files
            .insert(path.to_string(), (body.into(), content_type.to_string()));
    }

    /// Serves every file of a fixture folder under `/NAME`.
    pub fn put_dir(&self, dir: &Path) {
        for entry in std::fs::read_dir(dir).expect("fixture dir").flatten() {
            let path: PathBuf = entry.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            let ct = match path.extension().and_then(|e| e.to_str()) {
                Some("atom") => "application/atom+xml",
                Some("json") => "application/feed+json",
                Some("html") => "text/html; charset=utf-8",
                _ => "application/xml",
            };
            self.put(
                &format!("/{name}"),
                std::fs::read(&path).expect("fixture"),
                ct,
            );
        }
    }

    pub fn behave(&self, path: &str, behaviour: Behaviour) {
        lock(&self.inner)
            .behaviour
            .insert(path.to_string(), behaviour);
    }

    pub fn requests(&self) -> usize {
        lock(&self.inner).requests
    }

    pub fn hits(&self, path: &str) -> usize {
        lock(&self.inner).hits.get(path).copied().unwrap_or(0)
    }

    pub fn not_modified(&self) -> usize {
        lock(&self.inner).not_modified
    }

    /// Requests that carried If-None-Match or If-Modified-Since.
    pub fn conditional(&self) -> usize {
        lock(&self.inner).conditional
    }
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, headers: HeaderMap) -> Response {
    let mut inner = lock(&inner);
    inner.requests += 1;
    let path = uri.path().to_string();
    *inner.hits.entry(path.clone()).or_default() += 1;
    match inner
        .behaviour
        .get(&path)
        .cloned()
        .unwrap_or(Behaviour::Serve)
    {
        Behaviour::Status(code) => {
            return StatusCode::from_u16(code)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response();
        }
        Behaviour::StatusWith(code, headers) => {
            let mut response = StatusCode::from_u16(code)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response();
            for (name, value) in headers {
                if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, v);
                }
            }
            return response;
        }
        Behaviour::Garbage => {
            return (
                [(header::CONTENT_TYPE, "application/xml")],
                "<<<not a feed\u{0}\u{1}>>>",
            )
                .into_response();
        }
        Behaviour::Serve | Behaviour::NoValidators => {}
    }
    let Some((body, ct)) = inner.files.get(&path).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if matches!(inner.behaviour.get(&path), Some(Behaviour::NoValidators)) {
        return ([(header::CONTENT_TYPE, ct)], body).into_response();
    }
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&body));
    let last_modified = "Tue, 24 Nov 2026 12:00:00 GMT";
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let ims = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok());
    if inm.is_some() || ims.is_some() {
        inner.conditional += 1;
    }
    if inm == Some(etag.as_str()) {
        inner.not_modified += 1;
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::ETAG, etag),
            (header::LAST_MODIFIED, last_modified.to_string()),
        ],
        body,
    )
        .into_response()
}

/// Writes a feeds.toml into `dir` whose sources point at `server`.
/// `sources` are (id, path, lang, city).
pub fn write_config(
    dir: &Path,
    server: &FeedServer,
    sources: &[(&str, &str, &str, &str)],
    extra: &str,
) -> PathBuf {
    let mut text = format!(
        r#"[publisher]
title = "Test — News"
description = "Test feed"
base_url = "https://news.example.org/"
languages = ["pl", "en"]
output_dir = "public"
database = "hejnal.db"
max_items = 50
schedule = "0 */15 * * * *"
concurrency = 4

[fetch]
timeout_secs = 5
connect_timeout_secs = 2
read_idle_timeout_secs = 2
{extra}
"#
    );
    for (id, path, lang, city) in sources {
        text.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nname = \"Source {id}\"\ncity = \"{city}\"\ncountry = \"PL\"\nurl = \"{}\"\nlang = \"{lang}\"\n",
            server.url(path)
        ));
    }
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).expect("write feeds.toml");
    path
}

/// Runs the real binary with arguments; returns (exit code, stdout, stderr).
pub fn hejnal(args: &[&str]) -> (i32, String, String) {
    hejnal_in(Path::new("."), args)
}

/// Runs the real binary in `dir`, so relative paths (and messages naming them)
/// carry no machine path.
pub fn hejnal_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("HEJNAL_CONFIG")
        .output()
        .expect("run hejnal");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The README's offline sample in `dir`: examples/feeds.toml and the feeds it
/// reads from disk, so `hejnal` run in `dir` writes nothing in the repository.
pub fn offline_sample(dir: &Path) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    std::fs::copy(examples.join("feeds.toml"), dir.join("feeds.toml")).expect("feeds.toml");
    std::fs::create_dir_all(dir.join("feeds")).expect("mkdir feeds");
    for entry in std::fs::read_dir(examples.join("feeds")).expect("examples/feeds") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("file name");
        std::fs::copy(&path, dir.join("feeds").join(name)).expect("copy feed");
    }
}

/// A source as feeds.toml gives one that names only its id, feed and
/// language: its name is its id, everything else the default.
pub fn source_config(id: &str, url: &str, lang: &str) -> SourceConfig {
    SourceConfig {
        id: id.to_string(),
        name: id.to_string(),
        city: String::new(),
        country: String::new(),
        url: url.to_string(),
        lang: Lang::parse(lang).unwrap_or_else(|| panic!("{lang} is a language code")),
        enabled: true,
        schedule: None,
        translate: true,
        pair: None,
        max_body_bytes: None,
        filter: None,
        categories: Vec::new(),
        contact: None,
    }
}
