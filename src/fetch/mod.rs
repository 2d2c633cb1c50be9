//! Fetching one feed over HTTP: conditional GET, limits, redirects, politeness.

mod guard;
mod headers;
mod local;
pub mod queue;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{
    ACCEPT, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, LOCATION,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::debug;
use url::Url;

use crate::config::FetchConfig;

/// Validators remembered from the last successful fetch.
#[derive(Debug, Clone, Default)]
pub struct Conditional {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub struct Fetched {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The URL the body came from after redirects.
    pub final_url: String,
    /// Set when every redirect on the way was permanent (301/308).
    pub moved_to: Option<String>,
    /// `Cache-Control: max-age` of the response.
    pub max_age: Option<Duration>,
}

#[derive(Debug)]
pub enum FetchOutcome {
    NotModified { max_age: Option<Duration> },
    Fetched(Fetched),
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("410 Gone: the feed was removed")]
    Gone,
    #[error("HTTP {status}{}", retry_hint(.retry_after))]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error("redirect loop at {0}")]
    RedirectLoop(String),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("{0} resolves to a private or local address, and deny_private_networks is on")]
    PrivateAddress(String),
    #[error("unsupported URL {0:?}: only http, https and file are fetched")]
    BadUrl(String),
    #[error("cannot read {path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0}")]
    Transport(String),
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (retry after {}s)", d.as_secs()),
        None => String::new(),
    }
}

impl FetchError {
    /// How long the server asked us to stay away, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// One HTTP client shared by every source, with a politeness gate per host.
pub struct Fetcher {
    client: reqwest::Client,
    max_redirects: usize,
    per_host: usize,
    total_timeout: Duration,
    deny_private_networks: bool,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// What one request on the way to the feed ended in.
enum Hop {
    Done(Response),
    Redirect { status: u16, location: String },
}

/// A final answer of one hop, before the redirect history is known.
enum Response {
    NotModified { max_age: Option<Duration> },
    Body { body: Vec<u8>, headers: HeaderMap },
}

impl Fetcher {
    /// The underlying client, for other outgoing requests (WebSub pings) that
    /// should share its User-Agent, timeouts and private-network guard.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn new(settings: &FetchConfig, user_agent: &str) -> Result<Fetcher, FetchError> {
        Fetcher::from_builder(settings, client_builder(settings, user_agent))
    }

    fn from_builder(
        settings: &FetchConfig,
        builder: reqwest::ClientBuilder,
    ) -> Result<Fetcher, FetchError> {
        // Something else in the process may have installed a provider first; any one will do.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = builder
            .build()
            .map_err(|e| FetchError::Transport(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Fetcher {
            client,
            max_redirects: settings.max_redirects,
            per_host: settings.per_host.max(1),
            total_timeout: Duration::from_secs(settings.timeout_secs),
            deny_private_networks: settings.deny_private_networks,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// How many requests to one host may be under way at once.
    pub fn per_host(&self) -> usize {
        self.per_host
    }

    /// Fetches `url`; `max_body_bytes` caps the decoded body.
    pub async fn fetch(
        &self,
        url: &str,
        conditional: &Conditional,
        max_body_bytes: u64,
    ) -> Result<FetchOutcome, FetchError> {
        self.fetch_traced(url, conditional, max_body_bytes).await.0
    }

    /// [`Fetcher::fetch`], with the HTTP status of every response on the way,
    /// redirects included (`[301, 302, 404]`), which the status page shows:
    /// a webmaster reads where the chain broke.
    pub async fn fetch_traced(
        &self,
        url: &str,
        conditional: &Conditional,
        max_body_bytes: u64,
    ) -> (Result<FetchOutcome, FetchError>, Vec<u16>) {
        let started = std::time::Instant::now();
        let mut chain = Vec::new();
        let result = if url.starts_with("file:") {
            local::read(url, conditional, max_body_bytes, self.deny_private_networks).await
        } else {
            self.follow(url, conditional, max_body_bytes, &mut chain)
                .await
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(FetchOutcome::Fetched(f)) => {
                debug!(url, final_url = %f.final_url, bytes = f.body.len(), elapsed_ms, "fetched");
            }
            Ok(FetchOutcome::NotModified { .. }) => {
                debug!(url, status = 304, bytes = 0, elapsed_ms, "not modified");
            }
            Err(e) => debug!(url, error = %e, elapsed_ms, "fetch failed"),
        }
        (result, chain)
    }

    /// Walks the redirect chain by hand so that loops, the hop count, the
    /// scheme and the address of every hop can be checked.
    async fn follow(
        &self,
        start: &str,
        conditional: &Conditional,
        cap: u64,
        chain: &mut Vec<u16>,
    ) -> Result<FetchOutcome, FetchError> {
        let mut url = http_url(start)?;
        let mut seen = HashSet::from([url.to_string()]);
        let mut all_permanent = true;
        let mut deadline = None;
        for _ in 0..=self.max_redirects {
            match self
                .hop(&url, conditional, cap, &mut deadline, chain)
                .await?
            {
                Hop::Done(response) => {
                    let moved = all_permanent && seen.len() > 1;
                    return Ok(finish(response, url, moved));
                }
                Hop::Redirect { status, location } => {
                    all_permanent &= matches!(status, 301 | 308);
                    let next = url
                        .join(&location)
                        .map_err(|_| FetchError::BadUrl(location.clone()))
                        .and_then(|u| http_url(u.as_str()))?;
                    if !seen.insert(next.to_string()) {
                        return Err(FetchError::RedirectLoop(next.to_string()));
                    }
                    url = next;
                }
            }
        }
        Err(FetchError::TooManyRedirects(self.max_redirects))
    }

    /// One request under the host's politeness permit. The total deadline
    /// starts with the first request, so time queued behind other fetches of
    /// the same host is not held against this one.
    async fn hop(
        &self,
        url: &Url,
        conditional: &Conditional,
        cap: u64,
        deadline: &mut Option<Instant>,
        chain: &mut Vec<u16>,
    ) -> Result<Hop, FetchError> {
        if self.deny_private_networks && guard::literal_is_private(url) {
            return Err(FetchError::PrivateAddress(host_of(url)));
        }
        let _permit = self.permit(&host_of(url)).await;
        let deadline = *deadline.get_or_insert_with(|| Instant::now() + self.total_timeout);
        tokio::time::timeout_at(deadline, self.exchange(url, conditional, cap, chain))
            .await
            .map_err(|_| FetchError::Timeout("total"))?
    }

    async fn permit(&self, host: &str) -> Option<OwnedSemaphorePermit> {
        let gate = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            hosts
                .entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        // The semaphore is never closed, so acquiring only fails in theory.
        gate.acquire_owned().await.ok()
    }

    async fn exchange(
        &self,
        url: &Url,
        conditional: &Conditional,
        cap: u64,
        chain: &mut Vec<u16>,
    ) -> Result<Hop, FetchError> {
        let mut request = self.client.get(url.clone());
        // A validator that is not a legal header value is skipped, not fatal:
        // the fetch then simply is not conditional.
        if let Some(v) = valid_header(&conditional.etag) {
            request = request.header(IF_NONE_MATCH, v);
        }
        if let Some(v) = valid_header(&conditional.last_modified) {
            request = request.header(IF_MODIFIED_SINCE, v);
        }
        let response = request.send().await.map_err(|e| transport_error(&e))?;
        let status = response.status().as_u16();
        chain.push(status);
        debug!(url = %url, status, "response");
        match status {
            200..=299 => {
                let headers = response.headers().clone();
                let body = read_capped(response, cap).await?;
                Ok(Hop::Done(Response::Body { body, headers }))
            }
            304 => Ok(Hop::Done(Response::NotModified {
                max_age: headers::max_age(response.headers()),
            })),
            301 | 302 | 303 | 307 | 308 => match headers::text(response.headers(), LOCATION) {
                Some(location) => Ok(Hop::Redirect { status, location }),
                None => Err(status_error(status, response.headers())),
            },
            410 => Err(FetchError::Gone),
            _ => Err(status_error(status, response.headers())),
        }
    }
}

fn client_builder(settings: &FetchConfig, user_agent: &str) -> reqwest::ClientBuilder {
    let mut default_headers = HeaderMap::new();
    default_headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_FEEDS));
    let builder = reqwest::Client::builder()
        .user_agent(user_agent)
        .default_headers(default_headers)
        .redirect(reqwest::redirect::Policy::none())
        // An idle connection keeps its read buffer (often over 100 KB) while
        // it waits in the pool; a cycle reuses one only for the next feed of
        // the same host, which comes within seconds if at all.
        .pool_idle_timeout(POOL_IDLE)
        .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .read_timeout(Duration::from_secs(settings.read_idle_timeout_secs));
    if settings.deny_private_networks {
        builder.dns_resolver(guard::PublicOnlyResolver)
    } else {
        builder
    }
}

const POOL_IDLE: Duration = Duration::from_secs(5);

const ACCEPT_FEEDS: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
     application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1";

fn http_url(raw: &str) -> Result<Url, FetchError> {
    match Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(FetchError::BadUrl(raw.to_owned())),
    }
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_owned()
}

fn valid_header(value: &Option<String>) -> Option<HeaderValue> {
    value.as_deref().and_then(|v| HeaderValue::from_str(v).ok())
}

/// Reads the decoded body chunk by chunk and stops as soon as it passes the
/// cap, so neither a huge file nor a compression bomb is ever held whole.
async fn read_capped(mut response: reqwest::Response, cap: u64) -> Result<Vec<u8>, FetchError> {
    let too_large = FetchError::TooLarge { limit: cap };
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(too_large);
    }
    // A growing Vec would hold up to twice the body while many feeds wait for a core.
    let announced = response.content_length().unwrap_or(0).min(cap);
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e))? {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn finish(response: Response, url: Url, moved: bool) -> FetchOutcome {
    match response {
        Response::NotModified { max_age } => FetchOutcome::NotModified { max_age },
        Response::Body { body, headers } => FetchOutcome::Fetched(Fetched {
            body,
            content_type: headers::text(&headers, CONTENT_TYPE),
            etag: headers::text(&headers, ETAG),
            last_modified: headers::text(&headers, LAST_MODIFIED),
            max_age: headers::max_age(&headers),
            moved_to: moved.then(|| url.to_string()),
            final_url: url.into(),
        }),
    }
}

fn status_error(status: u16, headers: &HeaderMap) -> FetchError {
    let retry_after = match status {
        429 | 503 => headers::retry_after(headers, Utc::now()),
        _ => None,
    };
    FetchError::Status {
        status,
        retry_after,
    }
}

/// Turns reqwest's nested error into one short cause an operator can act on.
fn transport_error(err: &reqwest::Error) -> FetchError {
    if let Some(private) = find_in_chain::<guard::PrivateHost>(err) {
        return FetchError::PrivateAddress(private.0.clone());
    }
    if err.is_timeout() {
        return FetchError::Timeout(if err.is_connect() { "connect" } else { "read" });
    }
    let root = root_cause(err);
    let cause = if let Some(tls) = find_in_chain::<rustls::Error>(err) {
        format!("TLS failed: {tls}")
    } else if err.is_dns() {
        format!("DNS lookup failed: {root}")
    } else if find_in_chain::<std::io::Error>(err)
        .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
    {
        "connection refused".to_owned()
    } else if err.is_connect() {
        format!("cannot connect: {root}")
    } else if err.is_body() || err.is_decode() {
        format!("broken response body: {root}")
    } else {
        format!("request failed: {root}")
    };
    FetchError::Transport(cause)
}

fn find_in_chain<'e, T: std::error::Error + 'static>(
    err: &'e (dyn std::error::Error + 'static),
) -> Option<&'e T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Answers every connection with a redirect to `location`, counting connections.
    async fn redirecting_server(location: String) -> (std::net::SocketAddr, Arc<Mutex<u32>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(Mutex::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                *counter.lock().expect("count") += 1;
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = socket.write_all(head.as_bytes()).await;
            }
        });
        (addr, hits)
    }

    /// The first hop goes to a name the test pins to loopback (standing in for
    /// a public server); the redirect it answers with must still be checked.
    #[tokio::test]
    async fn a_redirect_into_the_private_network_is_refused() {
        let settings = FetchConfig {
            deny_private_networks: true,
            ..FetchConfig::default()
        };
        for target in ["http://127.0.0.1:9/feed", "http://localhost:9/feed"] {
            let (addr, hits) = redirecting_server(target.to_owned()).await;
            let builder = client_builder(&settings, "hejnal-test").resolve("feeds.example", addr);
            let fetcher = Fetcher::from_builder(&settings, builder).expect("client");
            let url = format!("http://feeds.example:{}/rss", addr.port());
            let result = fetcher.fetch(&url, &Conditional::default(), 1024).await;
            assert!(
                matches!(result, Err(FetchError::PrivateAddress(_))),
                "{target}: {result:?}"
            );
            assert_eq!(*hits.lock().expect("count"), 1, "the first hop was made");
        }
    }
}
