//! The HTTP server: the published files with validators and precompressed
//! bodies, plus `/healthz` and `/metrics`.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;

use crate::status::Status;

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

/// One published file as it is sent, with its precompressed siblings.
#[derive(Debug)]
struct Cached {
    modified: SystemTime,
    len: u64,
    identity: Bytes,
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
    etag: String,
    last_modified: String,
}

pub struct Site {
    root: PathBuf,
    status: Arc<Status>,
    cache_control: HeaderValue,
    files: RwLock<HashMap<PathBuf, Arc<Cached>>>,
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
        })
    }

    /// Reads a file from the output dir, reusing what is cached while its size and
    /// modification time are unchanged (publish replaces files by rename).
    fn load(&self, relative: &Path) -> Option<Arc<Cached>> {
        let path = self.root.join(relative);
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() {
            return None;
        }
        let modified = meta.modified().ok()?;
        if let Some(hit) = self.read_cache().get(relative)
            && hit.modified == modified
            && hit.len == meta.len()
        {
            return Some(Arc::clone(hit));
        }
        let identity = std::fs::read(&path).ok()?;
        let sibling = |ext: &str| {
            let mut name = path.clone().into_os_string();
            name.push(ext);
            std::fs::read(PathBuf::from(name)).ok().map(Bytes::from)
        };
        let hash = xxhash_rust::xxh3::xxh3_64(&identity);
        let cached = Arc::new(Cached {
            modified,
            len: meta.len(),
            gzip: sibling(".gz"),
            brotli: sibling(".br"),
            etag: format!("\"{hash:016x}\""),
            last_modified: httpdate(modified),
            identity: Bytes::from(identity),
        });
        if let Ok(mut files) = self.files.write() {
            files.insert(relative.to_path_buf(), Arc::clone(&cached));
        }
        Some(cached)
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PathBuf, Arc<Cached>>> {
        self.files
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    axum::serve(listener, router(site))
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
    let Some(cached) = site.load(&relative) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    respond(&site, &relative, &cached, &headers)
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

fn content_type(path: &Path) -> &'static str {
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
        "xsl" => "text/xsl; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Browsers show `application/rss+xml` and `application/atom+xml` as raw source
/// or a download; as `application/xml` they apply feed.xsl and show a page that
/// explains the feed. Feed readers do not ask for HTML and get the feed types.
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
    let coding = negotiate(headers, cached);
    let (body, encoding, etag) = match coding {
        Coding::Brotli => (
            cached.brotli.clone(),
            Some("br"),
            tagged(&cached.etag, "br"),
        ),
        Coding::Gzip => (
            cached.gzip.clone(),
            Some("gzip"),
            tagged(&cached.etag, "gz"),
        ),
        Coding::Identity => (Some(cached.identity.clone()), None, cached.etag.clone()),
    };
    let body = body.unwrap_or_else(|| cached.identity.clone());

    let mut response = if not_modified(headers, cached, &etag) {
        Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
    } else {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
    }
    .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());

    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(for_browsers(content_type(relative), headers)),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cached.last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(header::CACHE_CONTROL, site.cache_control.clone());
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Accept"),
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

fn not_modified(headers: &HeaderMap, cached: &Cached, etag: &str) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let plain = cached.etag.as_str();
        return inm.split(',').map(str::trim).any(|candidate| {
            let candidate = candidate.trim_start_matches("W/");
            candidate == "*" || candidate == etag || candidate == plain
        });
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .is_some_and(|since| {
            chrono::DateTime::parse_from_rfc2822(&cached.last_modified)
                .is_ok_and(|modified| modified <= since)
        })
}

fn httpdate(t: SystemTime) -> String {
    let at: chrono::DateTime<Utc> = t.into();
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
