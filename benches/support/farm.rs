//! The feed farm: many deterministic feeds served from memory on loopback,
//! with ETag / Last-Modified and 304s, under many host addresses so hejnal's
//! per-host politeness applies as it would on the internet.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};

use super::realistic;
use super::text::{self, Language, Rng};

/// What to generate.
#[derive(Debug, Clone)]
pub struct FarmSpec {
    pub sources: usize,
    pub items: usize,
    pub seed: u64,
    /// Loopback addresses to spread the feeds over (127.0.1.1, 127.0.1.2, …).
    pub hosts: usize,
    /// Items are dated in the ten days before this moment.
    pub anchor: DateTime<Utc>,
    /// The number of each feed's first item: one more gives every feed one new
    /// item and drops its oldest-listed one, as a day of news does.
    pub first_item: usize,
}

/// Which summaries the farm writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Text {
    /// 2–3 KB of tidy municipal prose in the source's language.
    #[default]
    Tidy,
    /// Lengths, markup, entities, emoji and mixed languages as measured on
    /// public feed corpora (see `realistic.rs`).
    Realistic,
}

/// How the farm is laid out beyond [`FarmSpec`]: the text, one platform
/// hosting many sources, and servers that ignore conditional requests.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub text: Text,
    /// The first `giant` sources all live on host 0, as municipalities on one
    /// CMS platform do; the rest are spread over the other hosts.
    pub giant: usize,
    /// Every `bare_every`-th source is served without ETag or Last-Modified,
    /// the same body again when nothing changed (0: none).
    pub bare_every: usize,
}

impl Shape {
    fn host(&self, i: usize, hosts: usize) -> usize {
        if self.giant == 0 {
            i % hosts.max(1)
        } else if i < self.giant || hosts <= 1 {
            0
        } else {
            1 + (i - self.giant) % (hosts - 1)
        }
    }
}

/// Every tenth item is a story that several sources carry under different URLs.
const SHARED_EVERY: usize = 10;
/// Items are dated up to this many minutes before the anchor.
const SPREAD_MINUTES: u64 = 10 * 24 * 60;

const CITIES: &[(&str, &str, &str, Language)] = &[
    ("Kraków", "PL", "krakow.pl", Language::Polish),
    ("Wieliczka", "PL", "wieliczka.eu", Language::Polish),
    ("Nürnberg", "DE", "nuernberg.de", Language::German),
    ("Edinburgh", "GB", "edinburgh.gov.uk", Language::English),
    ("Tarnów", "PL", "tarnow.pl", Language::Polish),
    ("Frankfurt am Main", "DE", "frankfurt.de", Language::German),
    ("Leipzig", "DE", "leipzig.de", Language::German),
    ("Cleveland", "US", "clevelandohio.gov", Language::English),
    ("Nowy Sącz", "PL", "nowysacz.pl", Language::Polish),
    ("Zakopane", "PL", "zakopane.pl", Language::Polish),
];

/// One source of the farm as feeds.toml names it.
#[derive(Debug, Clone)]
pub struct FarmSource {
    pub id: String,
    pub name: String,
    pub city: &'static str,
    pub country: &'static str,
    pub lang: &'static str,
    /// Path on the farm, e.g. `/feeds/0007.atom`.
    pub path: String,
    /// Which of the farm's hosts serves it.
    pub host: usize,
}

/// One pre-rendered document with its validators.
#[derive(Debug, Clone)]
pub struct Served {
    pub body: Bytes,
    pub content_type: &'static str,
    pub etag: HeaderValue,
    pub last_modified: HeaderValue,
    /// Off: served without validators, whatever the farm's setting.
    pub validators: bool,
}

/// The generated feeds, keyed by path.
#[derive(Debug, Clone)]
pub struct Feeds {
    pub sources: Vec<FarmSource>,
    pub documents: HashMap<String, Served>,
}

impl Feeds {
    pub fn bytes(&self) -> u64 {
        self.documents.values().map(|d| d.body.len() as u64).sum()
    }
}

/// Generates every feed of `spec`: same spec, same bytes.
pub fn generate(spec: &FarmSpec) -> Feeds {
    generate_shaped(spec, &Shape::default())
}

/// Generates every feed of `spec` laid out as `shape` says.
pub fn generate_shaped(spec: &FarmSpec, shape: &Shape) -> Feeds {
    let mut sources = Vec::with_capacity(spec.sources);
    let mut documents = HashMap::with_capacity(spec.sources);
    for i in 0..spec.sources {
        let (source, doc) = feed(spec, shape, i, spec.first_item);
        documents.insert(source.path.clone(), doc);
        sources.push(source);
    }
    Feeds { sources, documents }
}

/// One item before it becomes RSS or Atom.
struct Item {
    guid: String,
    link: String,
    title: String,
    summary: String,
    date: DateTime<Utc>,
    author: &'static str,
}

/// Feed `i` with its items numbered from `first_item`: one more than before
/// gives it one new item and drops its oldest.
pub fn feed(spec: &FarmSpec, shape: &Shape, i: usize, first_item: usize) -> (FarmSource, Served) {
    let (city, country, domain, lang) = CITIES[i % CITIES.len()];
    let atom = i % 2 == 1;
    let source = FarmSource {
        id: format!("s{i:04}"),
        name: format!("{city} — news desk {i}"),
        city,
        country,
        lang: lang.code(),
        path: format!("/feeds/{i:04}.{}", if atom { "atom" } else { "xml" }),
        host: shape.host(i, spec.hosts.max(1)),
    };
    let items: Vec<Item> = (first_item..first_item + spec.items)
        .map(|n| {
            if n % SHARED_EVERY == SHARED_EVERY - 1 {
                shared_item(spec, shape.text, i, n)
            } else {
                own_item(spec, shape.text, i, n, domain, lang)
            }
        })
        .collect();
    let home = format!("https://www.{domain}/aktualnosci/");
    let body = if atom {
        atom_doc(&source, &home, &items, spec.anchor)
    } else {
        rss_doc(&source, &home, &items, spec.anchor)
    };
    let content_type = if atom {
        "application/atom+xml; charset=utf-8"
    } else {
        "application/rss+xml; charset=utf-8"
    };
    let mut doc = served(body.into_bytes(), content_type, spec.anchor);
    doc.validators = shape.bare_every == 0 || !i.is_multiple_of(shape.bare_every);
    (source, doc)
}

fn summary(text: Text, rng: &mut Rng, lang: Language, page: &str) -> String {
    match text {
        Text::Tidy => text::summary_html(rng, lang, page),
        Text::Realistic => realistic::summary_html(rng, lang, page),
    }
}

fn served(body: Vec<u8>, content_type: &'static str, modified: DateTime<Utc>) -> Served {
    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&body));
    let last_modified = modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    Served {
        body: Bytes::from(body),
        content_type,
        etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
        last_modified: HeaderValue::from_str(&last_modified)
            .unwrap_or(HeaderValue::from_static("Thu, 01 Jan 2026 00:00:00 GMT")),
        validators: true,
    }
}

fn own_item(spec: &FarmSpec, text: Text, i: usize, n: usize, domain: &str, lang: Language) -> Item {
    let mut rng = Rng::derive(spec.seed, &[1, i as u64, n as u64]);
    let link = format!(
        "https://www.{domain}/aktualnosci/{i}-{n}-{}",
        rng.below(1 << 20)
    );
    Item {
        guid: format!("urn:hejnal-farm:{}:{i}:{n}", spec.seed),
        title: text::title(&mut rng, lang),
        summary: summary(text, &mut rng, lang, &link),
        date: spec.anchor - minutes(rng.below(SPREAD_MINUTES)),
        author: "Biuro Prasowe",
        link,
    }
}

/// A story from the shared pool, as source `i` links to it: with or without
/// `www.`, over http or https, with or without campaign parameters.
fn shared_item(spec: &FarmSpec, text: Text, i: usize, n: usize) -> Item {
    let pool = (spec.sources * spec.items / SHARED_EVERY / 2).max(1) as u64;
    let story = Rng::derive(spec.seed, &[2, i as u64, n as u64]).below(pool);
    let mut rng = Rng::derive(spec.seed, &[3, story]);
    let lang = [Language::Polish, Language::German, Language::English][story as usize % 3];
    let path = format!("krakow.pl/wspolne/{story}");
    let link = match (i + n) % 4 {
        0 => format!("https://www.{path}"),
        1 => format!("http://{path}"),
        2 => format!("https://{path}?utm_source=rss&utm_medium=feed&utm_campaign=s{i}"),
        _ => format!("http://www.{path}/?utm_source=newsletter"),
    };
    Item {
        guid: format!("urn:hejnal-farm:{}:{i}:{n}", spec.seed),
        title: text::title(&mut rng, lang),
        summary: summary(text, &mut rng, lang, &format!("https://{path}")),
        date: spec.anchor - minutes(rng.below(SPREAD_MINUTES)),
        author: "Urząd Miasta",
        link,
    }
}

fn minutes(n: u64) -> Duration {
    Duration::minutes(n as i64)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rss_doc(source: &FarmSource, home: &str, items: &[Item], built: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(items.len() * 3_300 + 1_000);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" \
         xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n<title>{}</title>\n\
         <link>{home}</link>\n<description>Aktualności: {}</description>\n\
         <language>{}</language>\n<lastBuildDate>{}</lastBuildDate>\n",
        escape(&source.name),
        escape(source.city),
        source.lang,
        built.to_rfc2822()
    );
    for item in items {
        let _ = write!(
            out,
            "<item>\n<title>{}</title>\n<link>{}</link>\n<guid isPermaLink=\"false\">{}</guid>\n\
             <pubDate>{}</pubDate>\n<author>prasa@example.org ({})</author>\n\
             <category>Aktualności</category>\n<description><![CDATA[{}]]></description>\n</item>\n",
            escape(&item.title),
            escape(&item.link),
            item.guid,
            item.date.to_rfc2822(),
            item.author,
            item.summary
        );
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

fn atom_doc(source: &FarmSource, home: &str, items: &[Item], built: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(items.len() * 3_600 + 1_000);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" \
         xml:lang=\"{}\">\n<title>{}</title>\n<id>urn:hejnal-farm:{}</id>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{home}\"/>\n<updated>{}</updated>\n",
        source.lang,
        escape(&source.name),
        source.id,
        built.to_rfc3339()
    );
    for item in items {
        let _ = write!(
            out,
            "<entry>\n<title>{}</title>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n\
             <id>{}</id>\n<published>{}</published>\n<updated>{}</updated>\n\
             <author><name>{}</name></author>\n<summary type=\"html\">{}</summary>\n</entry>\n",
            escape(&item.title),
            escape(&item.link),
            item.guid,
            item.date.to_rfc3339(),
            item.date.to_rfc3339(),
            item.author,
            escape(&item.summary)
        );
    }
    out.push_str("</feed>\n");
    out
}

/// The address of host number `n`: 127.0.1.1 upwards. Linux answers the whole
/// of 127.0.0.0/8 on the loopback device, so these need no setup.
pub fn host_ip(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1 + (n / 250) as u8, 1 + (n % 250) as u8)
}

struct FarmState {
    documents: RwLock<HashMap<String, Served>>,
    requests: AtomicU64,
    not_modified: AtomicU64,
    /// Off: no ETag or Last-Modified, and every request gets the whole body,
    /// as from a CMS that ignores conditional requests.
    validators: AtomicBool,
    /// How long each answer takes, as a distant server's would (ms).
    latency_ms: AtomicU64,
    load: Mutex<HashMap<String, HostLoad>>,
    since: Mutex<Instant>,
}

/// What one host of the farm saw since [`Farm::reset_load`].
#[derive(Debug, Clone, Copy, Default)]
pub struct HostLoad {
    pub requests: u64,
    pub in_flight: u32,
    /// The most requests this host had in flight at once.
    pub max_in_flight: u32,
    /// When its last request arrived, after the reset.
    pub last: std::time::Duration,
}

/// A running farm. Dropping it stops the server thread.
pub struct Farm {
    pub sources: Vec<FarmSource>,
    /// Where each host listens, by host number.
    pub addrs: Vec<SocketAddr>,
    state: Arc<FarmState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum FarmError {
    #[error("feed farm: {0}")]
    Io(#[from] std::io::Error),
    #[error("feed farm thread ended before it listened")]
    NoStart,
}

impl Farm {
    /// Serves `feeds` on `hosts` loopback addresses from a runtime of its own.
    pub fn start(feeds: Feeds, hosts: usize) -> Result<Farm, FarmError> {
        let state = Arc::new(FarmState {
            documents: RwLock::new(feeds.documents),
            requests: AtomicU64::new(0),
            not_modified: AtomicU64::new(0),
            validators: AtomicBool::new(true),
            latency_ms: AtomicU64::new(0),
            load: Mutex::new(HashMap::new()),
            since: Mutex::new(Instant::now()),
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => rt.block_on(serve_all(shared, hosts.max(1), addr_tx, stop_rx)),
                Err(e) => {
                    let _ = addr_tx.send(Err(e));
                }
            }
        });
        let addrs = addr_rx.recv().map_err(|_| FarmError::NoStart)??;
        Ok(Farm {
            sources: feeds.sources,
            addrs,
            state,
            _stop: stop_tx,
        })
    }

    pub fn url(&self, source: &FarmSource) -> String {
        format!("http://{}{}", self.addrs[source.host], source.path)
    }

    /// Swaps in new documents: the next fetch of a changed feed gets a 200.
    pub fn replace(&self, feeds: Feeds) {
        if let Ok(mut docs) = self.state.documents.write() {
            *docs = feeds.documents;
        }
    }

    /// Whether the farm sends validators and answers conditional requests.
    pub fn set_validators(&self, on: bool) {
        self.state.validators.store(on, Ordering::Relaxed);
    }

    /// Replaces one document: the next fetch of it gets the new body.
    pub fn put(&self, path: String, doc: Served) {
        if let Ok(mut docs) = self.state.documents.write() {
            docs.insert(path, doc);
        }
    }

    /// Every answer waits this long first, so that requests overlap as they
    /// do over the internet and a host's concurrency can be seen.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// Forgets the per-host load seen so far and starts its clock again.
    pub fn reset_load(&self) {
        if let Ok(mut load) = self.state.load.lock() {
            load.clear();
        }
        if let Ok(mut since) = self.state.since.lock() {
            *since = Instant::now();
        }
    }

    /// Per-host load since the last reset, by host address (`ip:port`).
    pub fn load(&self) -> HashMap<String, HostLoad> {
        self.state
            .load
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    pub fn not_modified(&self) -> u64 {
        self.state.not_modified.load(Ordering::Relaxed)
    }
}

async fn serve_all(
    state: Arc<FarmState>,
    hosts: usize,
    addr_tx: std::sync::mpsc::Sender<std::io::Result<Vec<SocketAddr>>>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let app = Router::new().fallback(answer).with_state(state);
    let mut addrs = Vec::with_capacity(hosts);
    for n in 0..hosts {
        let listener = match tokio::net::TcpListener::bind((host_ip(n), 0)).await {
            Ok(l) => l,
            Err(e) => {
                let _ = addr_tx.send(Err(e));
                return;
            }
        };
        match listener.local_addr() {
            Ok(a) => addrs.push(a),
            Err(e) => {
                let _ = addr_tx.send(Err(e));
                return;
            }
        }
        tokio::spawn(axum::serve(listener, app.clone()).into_future());
    }
    let _ = addr_tx.send(Ok(addrs));
    // The farm lives until its owner drops the sender.
    let _ = stop.await;
}

/// Counts a request of `host` in flight until dropped.
struct InFlight<'a> {
    state: &'a FarmState,
    host: String,
}

impl<'a> InFlight<'a> {
    fn start(state: &'a FarmState, headers: &HeaderMap) -> InFlight<'a> {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let at = state.since.lock().map(|s| s.elapsed()).unwrap_or_default();
        if let Ok(mut load) = state.load.lock() {
            let l = load.entry(host.clone()).or_default();
            l.requests += 1;
            l.in_flight += 1;
            l.max_in_flight = l.max_in_flight.max(l.in_flight);
            l.last = at;
        }
        InFlight { state, host }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut load) = self.state.load.lock()
            && let Some(l) = load.get_mut(&self.host)
        {
            l.in_flight = l.in_flight.saturating_sub(1);
        }
    }
}

async fn answer(State(state): State<Arc<FarmState>>, uri: Uri, headers: HeaderMap) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight::start(&state, &headers);
    let latency = state.latency_ms.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let doc = match state.documents.read() {
        Ok(docs) => docs.get(uri.path()).cloned(),
        Err(_) => None,
    };
    let Some(doc) = doc else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !(doc.validators && state.validators.load(Ordering::Relaxed)) {
        let content_type = HeaderValue::from_static(doc.content_type);
        return ([(header::CONTENT_TYPE, content_type)], doc.body).into_response();
    }
    if fresh(&headers, &doc) {
        state.not_modified.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, doc.etag),
                (header::LAST_MODIFIED, doc.last_modified),
            ],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(doc.content_type),
            ),
            (header::ETAG, doc.etag),
            (header::LAST_MODIFIED, doc.last_modified),
        ],
        doc.body,
    )
        .into_response()
}

/// RFC 9110: If-None-Match wins over If-Modified-Since when both are sent.
fn fresh(headers: &HeaderMap, doc: &Served) -> bool {
    let etag = doc.etag.as_bytes();
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        return inm
            .as_bytes()
            .split(|b| *b == b',')
            .any(|tag| tag.trim_ascii() == etag || tag.trim_ascii() == b"*");
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok());
    let modified = doc
        .last_modified
        .to_str()
        .ok()
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok());
    matches!((since, modified), (Some(s), Some(m)) if m <= s)
}
