//! The HTTP server: the published files with validators and precompressed
//! bodies, plus `/healthz` and `/metrics`.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Timelike, Utc};

mod sendfile;
pub mod status;

use status::Status;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// How long a cached file is served without asking the disk whether it was
/// replaced: a newly published file is served at most this much later. A
/// `stat` per request would cost more than the rest of a 304.
const RECHECK: Duration = Duration::from_millis(100);

/// One published file as it is sent, with its precompressed siblings.
#[derive(Debug)]
struct Cached {
    modified: SystemTime,
    len: u64,
    identity: Encoded,
    gzip: Option<Encoded>,
    brotli: Option<Encoded>,
    /// The ETag of the file itself, which a conditional request may name
    /// whatever coding it asks for.
    etag: String,
    last_modified: HeaderValue,
    modified_at: chrono::DateTime<chrono::FixedOffset>,
    /// When the disk last said this is the current file, in milliseconds
    /// since the site was opened.
    checked: AtomicU64,
}

/// One coding of a file: its body and its ETag, ready to send.
#[derive(Debug)]
struct Encoded {
    body: Bytes,
    etag: HeaderValue,
}

pub struct Site {
    root: PathBuf,
    status: Arc<Status>,
    cache_control: HeaderValue,
    files: RwLock<HashMap<PathBuf, Arc<Cached>>>,
    opened: Instant,
}

impl Site {
    /// `max_age` is how long readers may keep a file: the publishing interval.
    pub fn new(root: PathBuf, status: Arc<Status>, max_age: Duration) -> Arc<Site> {
        let cache_control =
            HeaderValue::from_str(&format!("public, max-age={}", max_age.as_secs()))
                .unwrap_or(HeaderValue::from_static("no-cache"));
        Arc::new(Site {
            root,
            status,
            cache_control,
            files: RwLock::new(HashMap::new()),
            opened: Instant::now(),
        })
    }

    /// Reads a file from the output dir, reusing what is cached while its size and
    /// modification time are unchanged (publish replaces files by rename), and
    /// asking the disk about a cached file at most every `RECHECK`.
    fn load(&self, relative: &Path) -> Option<Arc<Cached>> {
        let now = self.millis();
        let cached = self.read_cache().get(relative).cloned();
        if let Some(hit) = &cached
            && Duration::from_millis(now.saturating_sub(hit.checked.load(Ordering::Relaxed)))
                < RECHECK
        {
            return cached;
        }
        let path = self.root.join(relative);
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() {
            return None;
        }
        let modified = meta.modified().ok()?;
        if let Some(hit) = cached
            && hit.modified == modified
            && hit.len == meta.len()
        {
            hit.checked.store(now, Ordering::Relaxed);
            return Some(hit);
        }
        let fresh = Arc::new(Cached::read(&path, modified, meta.len(), now)?);
        if let Ok(mut files) = self.files.write() {
            files.insert(relative.to_path_buf(), Arc::clone(&fresh));
        }
        Some(fresh)
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PathBuf, Arc<Cached>>> {
        self.files
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Cached {
    fn read(path: &Path, modified: SystemTime, len: u64, now: u64) -> Option<Cached> {
        let identity = sendfile::read_body(path).ok()?;
        let hash = xxhash_rust::xxh3::xxh3_64(&identity);
        let etag = format!("\"{hash:016x}\"");
        let sibling = |ext: &str| {
            let mut name = path.as_os_str().to_owned();
            name.push(".");
            name.push(ext);
            let body = sendfile::read_body(Path::new(&name)).ok()?;
            Encoded::new(body, &tagged(&etag, ext))
        };
        let modified_at = chrono::DateTime::<Utc>::from(modified).fixed_offset();
        Some(Cached {
            modified,
            len,
            gzip: sibling("gz"),
            brotli: sibling("br"),
            identity: Encoded::new(identity, &etag)?,
            last_modified: HeaderValue::from_str(&httpdate(modified)).ok()?,
            // HTTP dates have whole seconds: a client's copy from the same
            // second is as new as the file.
            modified_at: modified_at.with_nanosecond(0).unwrap_or(modified_at),
            etag,
            checked: AtomicU64::new(now),
        })
    }
}

impl Encoded {
    fn new(body: Bytes, etag: &str) -> Option<Encoded> {
        Some(Encoded {
            body,
            etag: HeaderValue::from_str(etag).ok()?,
        })
    }
}

pub fn router(site: Arc<Site>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(file)
        .with_state(site)
}

/// Binds `addr` and serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    site: Arc<Site>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(sendfile::Listener(listener), router(site))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_string(),
            source,
        })
}

async fn healthz(State(site): State<Arc<Site>>) -> Response {
    let health = site.status.health(Utc::now());
    let code = if health.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::to_vec_pretty(&health).unwrap_or_default();
    (
        code,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn metrics(State(site): State<Arc<Site>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        site.status.metrics(),
    )
        .into_response()
}

async fn file(
    State(site): State<Arc<Site>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(relative) = safe_path(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if is_navigation(&headers)
        && let Some(page) = page_of_feed(&relative)
        && let Some(cached) = site.load(&page)
    {
        return respond(&site, &page, &cached, &headers);
    }
    let Some(cached) = site.load(&relative) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    respond(&site, &relative, &cached, &headers)
}

/// Whether a person opened the address in a browser: browsers say so with
/// `Sec-Fetch-Dest: document`, which no script can forge and no feed reader
/// sends. A feed reader dressed up as a browser still gets its feed.
fn is_navigation(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-dest")
        .is_some_and(|dest| dest.as_bytes().eq_ignore_ascii_case(b"document"))
}

/// The web page of the feed at `relative`, which a person who opens the feed
/// in a browser is shown instead: its title, its latest stories and how to
/// subscribe, with dates written for people.
fn page_of_feed(relative: &Path) -> Option<PathBuf> {
    let name = relative.file_name()?.to_str()?;
    matches!(name, "feed.xml" | "feed.atom" | "feed.json")
        .then(|| relative.with_file_name("index.html"))
}

/// Maps a request path to a file below the root; anything that could climb out
/// (`..`, absolute parts, hidden files, NUL) is refused.
fn safe_path(request: &str) -> Option<PathBuf> {
    let decoded = percent_decode(request)?;
    let mut out = PathBuf::new();
    for part in decoded.split('/').filter(|p| !p.is_empty()) {
        if part.starts_with('.') || part.contains('\\') || part.contains('\0') {
            return None;
        }
        match Path::new(part).components().next() {
            Some(Component::Normal(_)) => out.push(part),
            _ => return None,
        }
    }
    if decoded.ends_with('/') || out.as_os_str().is_empty() {
        out.push("index.html");
    }
    Some(out)
}

fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The type each published file is served with, by hejnal and by object storage.
pub fn content_type(path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "xml" if name.starts_with("feed") || path.starts_with("archive") => {
            "application/rss+xml; charset=utf-8"
        }
        "xml" => "application/xml; charset=utf-8",
        "atom" => "application/atom+xml; charset=utf-8",
        "json" if name.starts_with("feed") => "application/feed+json; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "opml" => "text/x-opml; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Browsers show `application/rss+xml` and `application/atom+xml` as raw source
/// or a download; as `application/xml` they apply the feed's CSS and show the
/// feed with a notice on how to subscribe (for archives, and browsers that do
/// not say they navigate). Feed readers do not ask for HTML and get the feed
/// types.
fn for_browsers(content_type: &'static str, headers: &HeaderMap) -> &'static str {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let is_xml_feed = content_type.starts_with("application/rss+xml")
        || content_type.starts_with("application/atom+xml");
    if wants_html && is_xml_feed {
        "application/xml; charset=utf-8"
    } else {
        content_type
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    Brotli,
}

/// The best coding the client accepts among those we have ready.
fn negotiate(headers: &HeaderMap, cached: &Cached) -> Coding {
    if !headers.contains_key(header::ACCEPT_ENCODING) {
        return Coding::Identity;
    }
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let accepts = |coding: &str| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name.eq_ignore_ascii_case(coding) && !refused
        })
    };
    if cached.brotli.is_some() && accepts("br") {
        Coding::Brotli
    } else if cached.gzip.is_some() && accepts("gzip") {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

fn respond(site: &Site, relative: &Path, cached: &Cached, headers: &HeaderMap) -> Response {
    let (encoded, encoding) = match negotiate(headers, cached) {
        Coding::Brotli => (cached.brotli.as_ref(), Some("br")),
        Coding::Gzip => (cached.gzip.as_ref(), Some("gzip")),
        Coding::Identity => (None, None),
    };
    let encoded = encoded.unwrap_or(&cached.identity);

    let mut response = if not_modified(headers, cached, &encoded.etag) {
        Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
    } else {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, encoded.body.len())
            .body(Body::from(encoded.body.clone()))
    }
    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());

    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(for_browsers(content_type(relative), headers)),
    );
    h.insert(header::ETAG, encoded.etag.clone());
    h.insert(header::LAST_MODIFIED, cached.last_modified.clone());
    h.insert(header::CACHE_CONTROL, site.cache_control.clone());
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Accept, Sec-Fetch-Dest"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Some(encoding) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    response
}

/// Each coding has its own tag, so a cache never mixes up compressed and plain bodies.
fn tagged(etag: &str, suffix: &str) -> String {
    format!("{}-{suffix}\"", etag.trim_end_matches('"'))
}

fn not_modified(headers: &HeaderMap, cached: &Cached, etag: &HeaderValue) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let plain = cached.etag.as_str();
        return inm.split(',').map(str::trim).any(|candidate| {
            let candidate = candidate.trim_start_matches("W/");
            candidate == "*" || candidate.as_bytes() == etag.as_bytes() || candidate == plain
        });
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .is_some_and(|since| cached.modified_at <= since)
}

fn httpdate(t: SystemTime) -> String {
    let at: chrono::DateTime<Utc> = t.into();
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn get(app: &Router, path: &str) -> (StatusCode, Bytes) {
        let request = axum::http::Request::get(path)
            .body(Body::empty())
            .expect("request");
        let response = app
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| match e {});
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, body)
    }

    #[tokio::test]
    async fn a_republished_file_is_served_within_the_recheck_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let feed = dir.path().join("feed.xml");
        std::fs::write(&feed, "old").expect("write");
        let site = Site::new(
            dir.path().to_path_buf(),
            Arc::new(Status::serve_only()),
            Duration::from_secs(60),
        );
        let app = router(site);
        assert_eq!(get(&app, "/feed.xml").await.1, "old");
        let fresh = dir.path().join(".feed.xml.tmp");
        std::fs::write(&fresh, "new, longer").expect("write");
        std::fs::rename(&fresh, &feed).expect("rename");
        tokio::time::sleep(RECHECK + Duration::from_millis(20)).await;
        assert_eq!(get(&app, "/feed.xml").await.1, "new, longer");
        std::fs::remove_file(&feed).expect("remove");
        tokio::time::sleep(RECHECK + Duration::from_millis(20)).await;
        assert_eq!(get(&app, "/feed.xml").await.0, StatusCode::NOT_FOUND);
    }

    /// Serves `dir` on a loopback port until the test ends.
    async fn serve_on_loopback(dir: &Path) -> std::net::SocketAddr {
        let listener = bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let site = Site::new(
            dir.to_path_buf(),
            Arc::new(Status::serve_only()),
            Duration::from_secs(60),
        );
        tokio::spawn(serve(listener, site, std::future::pending()));
        addr
    }

    /// Asks for `path` on a connection with a small receive buffer, so that a
    /// large body is still being sent while the test has not read it.
    async fn request(addr: std::net::SocketAddr, path: &str) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt;
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("buffer size");
        let mut stream = socket.connect(addr).await.expect("connect");
        let ask = format!("GET {path} HTTP/1.1\r\nHost: hejnal\r\nConnection: close\r\n\r\n");
        stream.write_all(ask.as_bytes()).await.expect("request");
        stream
    }

    /// The body of a whole `200 OK` response.
    fn body_of(response: &[u8]) -> &[u8] {
        assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"), "not a 200");
        let head = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of head");
        &response[head + 4..]
    }

    async fn read_rest(mut stream: tokio::net::TcpStream, mut response: Vec<u8>) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        stream.read_to_end(&mut response).await.expect("response");
        response
    }

    /// Bytes that differ at every position between two seeds and never repeat
    /// at a multiple of a page, so a misplaced range shows.
    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
    }

    #[tokio::test]
    async fn a_large_file_is_served_byte_for_byte_over_http() {
        let dir = tempfile::tempdir().expect("tempdir");
        let feed = pattern(3 * 1024 * 1024 + 17, 0);
        std::fs::write(dir.path().join("feed.xml"), &feed).expect("write");
        let addr = serve_on_loopback(dir.path()).await;
        for _ in 0..2 {
            let response = read_rest(request(addr, "/feed.xml").await, Vec::new()).await;
            let body = body_of(&response);
            assert_eq!(body.len(), feed.len());
            assert!(body == feed.as_slice(), "body differs from the file");
        }
    }

    #[tokio::test]
    async fn a_file_replaced_while_being_sent_arrives_whole() {
        use tokio::io::AsyncReadExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("feed.xml");
        let old = pattern(16 * 1024 * 1024, 0);
        let new = pattern(12 * 1024 * 1024 + 5, 0x5a);
        std::fs::write(&path, &old).expect("write");
        let addr = serve_on_loopback(dir.path()).await;

        let mut first = request(addr, "/feed.xml").await;
        let mut started = vec![0; 64 * 1024];
        first.read_exact(&mut started).await.expect("start of body");
        let fresh = dir.path().join(".feed.xml.tmp");
        std::fs::write(&fresh, &new).expect("write");
        std::fs::rename(&fresh, &path).expect("rename");
        tokio::time::sleep(RECHECK + Duration::from_millis(20)).await;
        let second = read_rest(request(addr, "/feed.xml").await, Vec::new()).await;
        let first = read_rest(first, started).await;

        assert!(
            body_of(&first) == old.as_slice(),
            "first response is not the old file"
        );
        assert!(
            body_of(&second) == new.as_slice(),
            "second response is not the new file"
        );
    }
}
