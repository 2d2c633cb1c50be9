//! The fetcher against hand-written HTTP servers on loopback: well-behaved,
//! slow, silent, bloated, redirecting in circles, and rate-limiting ones.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hejnal::config::FetchConfig;
use hejnal::fetch::{Conditional, FetchError, FetchOutcome, Fetched, Fetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const UA: &str = "hejnal-test/1.0";
const CAP: u64 = 1024 * 1024;
const FEED: &[u8] = b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Krak\xc3\xb3w</title></channel></rss>";

/// The request line and headers as the server received them.
#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn settings() -> FetchConfig {
    FetchConfig {
        timeout_secs: 2,
        connect_timeout_secs: 1,
        read_idle_timeout_secs: 1,
        ..FetchConfig::default()
    }
}

fn fetcher() -> Fetcher {
    fetcher_with(&settings())
}

fn fetcher_with(settings: &FetchConfig) -> Fetcher {
    match Fetcher::new(settings, UA) {
        Ok(f) => f,
        Err(e) => panic!("fetcher could not be built: {e}"),
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<Request> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 1024];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 || raw.len() > 64 * 1024 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&raw);
    let mut lines = text.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Request { path, headers })
}

/// Starts a server whose `handler` owns each connection after its request was read.
async fn serve_raw<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                if let Some(request) = read_request(&mut socket).await {
                    handler(request, socket).await;
                }
            });
        }
    });
    addr
}

/// Starts a server answering every request with the bytes `respond` builds.
async fn serve<F>(respond: F) -> SocketAddr
where
    F: Fn(&Request) -> Vec<u8> + Send + Sync + 'static,
{
    let respond = Arc::new(respond);
    serve_raw(move |request, mut socket| {
        let bytes = respond(&request);
        async move {
            let _ = socket.write_all(&bytes).await;
            let _ = socket.shutdown().await;
        }
    })
    .await
}

fn reply(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn redirect(status: &str, location: &str) -> Vec<u8> {
    reply(status, &[("Location", location)], b"")
}

fn feed(request: &Request) -> Vec<u8> {
    let _ = request;
    reply("200 OK", &[("Content-Type", "application/rss+xml")], FEED)
}

async fn get(fetcher: &Fetcher, url: &str) -> Result<FetchOutcome, FetchError> {
    fetcher.fetch(url, &Conditional::default(), CAP).await
}

fn fetched(result: Result<FetchOutcome, FetchError>) -> Fetched {
    match result {
        Ok(FetchOutcome::Fetched(f)) => f,
        other => panic!("expected a body, got {other:?}"),
    }
}

#[tokio::test]
async fn validators_round_trip_and_a_304_skips_the_body() {
    const ETAG: &str = "\"v1-krakow\"";
    const DATE: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
    let seen = Arc::new(Mutex::new(Vec::<Request>::new()));
    let log = seen.clone();
    let addr = serve(move |req| {
        log.lock().expect("log").push(req.clone());
        if req.header("if-none-match") == Some(ETAG)
            && req.header("if-modified-since") == Some(DATE)
        {
            reply("304 Not Modified", &[("Cache-Control", "max-age=600")], b"")
        } else {
            let headers = [
                ("Content-Type", "application/rss+xml; charset=utf-8"),
                ("ETag", ETAG),
                ("Last-Modified", DATE),
                ("Cache-Control", "public, max-age=300"),
            ];
            reply("200 OK", &headers, FEED)
        }
    })
    .await;
    let fetcher = fetcher();
    let url = format!("http://{addr}/feed.xml");

    let first = fetched(get(&fetcher, &url).await);
    assert_eq!(first.body, FEED);
    assert_eq!(first.etag.as_deref(), Some(ETAG));
    assert_eq!(first.last_modified.as_deref(), Some(DATE));
    assert_eq!(
        first.content_type.as_deref(),
        Some("application/rss+xml; charset=utf-8")
    );
    assert_eq!(first.max_age, Some(Duration::from_secs(300)));
    assert_eq!(first.final_url, url);
    assert_eq!(first.moved_to, None);

    let conditional = Conditional {
        etag: first.etag,
        last_modified: first.last_modified,
    };
    match fetcher.fetch(&url, &conditional, CAP).await {
        Ok(FetchOutcome::NotModified { max_age }) => {
            assert_eq!(max_age, Some(Duration::from_secs(600)))
        }
        other => panic!("expected 304, got {other:?}"),
    }

    let requests = seen.lock().expect("log").clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("if-none-match"), None);
    assert_eq!(requests[0].header("user-agent"), Some(UA));
    let accept = requests[0].header("accept").unwrap_or_default();
    assert!(accept.starts_with("application/rss+xml"), "{accept}");
    assert_eq!(requests[1].header("if-none-match"), Some(ETAG));
    assert_eq!(requests[1].header("if-modified-since"), Some(DATE));
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        writer.write_all(data).expect("brotli");
    }
    out
}

async fn serve_encoded(encoding: &'static str, body: Vec<u8>) -> SocketAddr {
    serve(move |req| {
        let accepted = req.header("accept-encoding").unwrap_or_default();
        if !accepted.contains(encoding) {
            return reply("406 Not Acceptable", &[], b"");
        }
        let headers = [
            ("Content-Type", "application/rss+xml"),
            ("Content-Encoding", encoding),
        ];
        reply("200 OK", &headers, &body)
    })
    .await
}

#[tokio::test]
async fn gzip_and_brotli_bodies_are_decoded() {
    let fetcher = fetcher();
    for (encoding, body) in [("gzip", gzip(FEED)), ("br", brotli(FEED))] {
        assert_ne!(body, FEED);
        let addr = serve_encoded(encoding, body).await;
        let got = fetched(get(&fetcher, &format!("http://{addr}/")).await);
        assert_eq!(got.body, FEED, "{encoding}");
    }
}

#[tokio::test]
async fn a_gzip_bomb_is_stopped_at_the_cap() {
    let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024, "the bomb fits under the cap");
    let addr = serve_encoded("gzip", bomb).await;
    let result = get(&fetcher(), &format!("http://{addr}/")).await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { limit: CAP })),
        "{result:?}"
    );
}

/// A server streaming `total` bytes with no declared length; returns how many it managed to send.
async fn serve_endless(total: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let addr = serve_raw(move |_, mut socket| {
        let counter = counter.clone();
        async move {
            let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n";
            if socket.write_all(head).await.is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            while counter.load(Ordering::SeqCst) < total {
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
                counter.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
    })
    .await;
    (addr, sent)
}

#[tokio::test]
async fn a_huge_body_is_cut_off_without_reading_it_all() {
    let total = 200 * 1024 * 1024;
    let (addr, sent) = serve_endless(total).await;
    let result = get(&fetcher(), &format!("http://{addr}/")).await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { .. })),
        "{result:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < 50 * 1024 * 1024, "server pushed {sent} bytes");
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_up_front() {
    let addr = serve(|_| {
        b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\nxx".to_vec()
    })
    .await;
    let result = get(&fetcher(), &format!("http://{addr}/")).await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { limit: CAP })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_dripping_server_is_cut_off_by_the_total_timeout() {
    let addr = serve_raw(|_, mut socket| async move {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\nConnection: close\r\n\r\n";
        let _ = socket.write_all(head).await;
        for _ in 0..10000 {
            if socket.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
    let started = Instant::now();
    let result = get(&fetcher(), &format!("http://{addr}/")).await;
    assert!(
        matches!(result, Err(FetchError::Timeout("total"))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_server_that_stalls_mid_body_is_cut_off_by_the_read_timeout() {
    let addr = serve_raw(|_, mut socket| async move {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\nConnection: close\r\n\r\n<rss>";
        let _ = socket.write_all(head).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let settings = FetchConfig {
        timeout_secs: 10,
        ..settings()
    };
    let started = Instant::now();
    let result = get(&fetcher_with(&settings), &format!("http://{addr}/")).await;
    assert!(
        matches!(result, Err(FetchError::Timeout("read"))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_server_that_never_answers_is_cut_off() {
    let addr = serve_raw(|_, socket| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    })
    .await;
    let settings = FetchConfig {
        timeout_secs: 10,
        ..settings()
    };
    let started = Instant::now();
    let result = get(&fetcher_with(&settings), &format!("http://{addr}/")).await;
    assert!(
        matches!(result, Err(FetchError::Timeout("read"))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_redirect_loop_is_detected() {
    let addr = serve(|req| match req.path.as_str() {
        "/a" => redirect("302 Found", "/b"),
        _ => redirect("302 Found", "/a"),
    })
    .await;
    let result = get(&fetcher(), &format!("http://{addr}/a")).await;
    match result {
        Err(FetchError::RedirectLoop(url)) => assert_eq!(url, format!("http://{addr}/a")),
        other => panic!("expected a loop, got {other:?}"),
    }
}

/// `/r/N` redirects to `/r/N+1` until `/r/6`, which is the feed.
async fn serve_chain() -> SocketAddr {
    serve(|req| {
        let n: u32 = req.path.trim_start_matches("/r/").parse().unwrap_or(0);
        if n >= 6 {
            feed(req)
        } else {
            redirect("307 Temporary Redirect", &format!("/r/{}", n + 1))
        }
    })
    .await
}

#[tokio::test]
async fn five_redirects_are_followed_and_six_are_too_many() {
    let addr = serve_chain().await;
    let fetcher = fetcher();
    let five = fetched(get(&fetcher, &format!("http://{addr}/r/1")).await);
    assert_eq!(five.final_url, format!("http://{addr}/r/6"));
    assert_eq!(five.body, FEED);

    let six = get(&fetcher, &format!("http://{addr}/r/0")).await;
    assert!(
        matches!(six, Err(FetchError::TooManyRedirects(5))),
        "{six:?}"
    );
}

#[tokio::test]
async fn only_an_all_permanent_chain_sets_moved_to() {
    let addr = serve(|req| match req.path.as_str() {
        "/old" => redirect("301 Moved Permanently", "/older"),
        "/older" => redirect("308 Permanent Redirect", "/feed"),
        "/mixed" => redirect("301 Moved Permanently", "/temp"),
        "/temp" => redirect("302 Found", "/feed"),
        _ => feed(req),
    })
    .await;
    let fetcher = fetcher();
    let target = format!("http://{addr}/feed");

    let moved = fetched(get(&fetcher, &format!("http://{addr}/old")).await);
    assert_eq!(moved.final_url, target);
    assert_eq!(moved.moved_to.as_deref(), Some(target.as_str()));

    let mixed = fetched(get(&fetcher, &format!("http://{addr}/mixed")).await);
    assert_eq!(mixed.final_url, target);
    assert_eq!(mixed.moved_to, None);
}

#[tokio::test]
async fn a_relative_location_is_resolved_against_the_current_url() {
    let addr = serve(|req| match req.path.as_str() {
        "/news/old/rss" => redirect("301 Moved Permanently", "../feeds/main.xml?lang=pl"),
        "/news/feeds/main.xml?lang=pl" => feed(req),
        _ => reply("404 Not Found", &[], b""),
    })
    .await;
    let got = fetched(get(&fetcher(), &format!("http://{addr}/news/old/rss")).await);
    assert_eq!(
        got.final_url,
        format!("http://{addr}/news/feeds/main.xml?lang=pl")
    );
    assert_eq!(got.body, FEED);
}

#[tokio::test]
async fn error_statuses_are_mapped() {
    let in_two_minutes = (chrono::Utc::now() + chrono::Duration::seconds(120))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let addr = serve(move |req| match req.path.as_str() {
        "/gone" => reply("410 Gone", &[], b""),
        "/busy" => reply("429 Too Many Requests", &[("Retry-After", "120")], b""),
        "/later" => reply(
            "429 Too Many Requests",
            &[("Retry-After", &in_two_minutes)],
            b"",
        ),
        "/down" => reply("503 Service Unavailable", &[("Retry-After", "30")], b""),
        "/broken" => reply("500 Internal Server Error", &[("Retry-After", "30")], b""),
        _ => reply("404 Not Found", &[], b""),
    })
    .await;
    let fetcher = fetcher();
    let at = |path: &str| format!("http://{addr}{path}");

    let gone = get(&fetcher, &at("/gone")).await;
    assert!(matches!(gone, Err(FetchError::Gone)), "{gone:?}");

    match get(&fetcher, &at("/busy")).await {
        Err(e @ FetchError::Status { status: 429, .. }) => {
            assert_eq!(e.retry_after(), Some(Duration::from_secs(120)))
        }
        other => panic!("expected 429, got {other:?}"),
    }

    match get(&fetcher, &at("/later")).await {
        Err(e @ FetchError::Status { status: 429, .. }) => {
            let wait = e.retry_after().map(|d| d.as_secs()).unwrap_or(0);
            assert!((100..=121).contains(&wait), "waited {wait}s");
        }
        other => panic!("expected 429, got {other:?}"),
    }

    match get(&fetcher, &at("/down")).await {
        Err(e @ FetchError::Status { status: 503, .. }) => {
            assert_eq!(e.retry_after(), Some(Duration::from_secs(30)))
        }
        other => panic!("expected 503, got {other:?}"),
    }

    let broken = get(&fetcher, &at("/broken")).await;
    assert!(
        matches!(
            broken,
            Err(FetchError::Status {
                status: 500,
                retry_after: None
            })
        ),
        "{broken:?}"
    );

    let missing = get(&fetcher, &at("/missing")).await;
    assert!(
        matches!(missing, Err(FetchError::Status { status: 404, .. })),
        "{missing:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_a_clear_transport_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    match get(&fetcher(), &format!("http://{addr}/")).await {
        Err(FetchError::Transport(cause)) => assert_eq!(cause, "connection refused"),
        other => panic!("expected a refused connection, got {other:?}"),
    }
}

#[tokio::test]
async fn only_http_and_https_are_fetched() {
    let fetcher = fetcher();
    for url in ["ftp://example.org/feed.xml", "not a url"] {
        let result = get(&fetcher, url).await;
        assert!(
            matches!(result, Err(FetchError::BadUrl(_))),
            "{url}: {result:?}"
        );
    }
    // A server never sends hejnal to another scheme, a file on this machine least of all.
    for target in ["ftp://example.org/feed.xml", "file:///etc/passwd"] {
        let addr = serve(move |_| redirect("302 Found", target)).await;
        let result = get(&fetcher, &format!("http://{addr}/")).await;
        match result {
            Err(FetchError::BadUrl(url)) => assert_eq!(url, target),
            other => panic!("expected BadUrl, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn deny_private_networks_refuses_loopback_before_connecting() {
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let addr = serve(move |req| {
        counter.fetch_add(1, Ordering::SeqCst);
        feed(req)
    })
    .await;
    let guarded = fetcher_with(&FetchConfig {
        deny_private_networks: true,
        ..settings()
    });
    for url in [
        format!("http://{addr}/"),
        format!("http://localhost:{}/", addr.port()),
    ] {
        let result = get(&guarded, &url).await;
        assert!(
            matches!(result, Err(FetchError::PrivateAddress(_))),
            "{url}: {result:?}"
        );
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0);

    // Without the switch, loopback is an ordinary address.
    fetched(get(&fetcher(), &format!("http://{addr}/")).await);
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn at_most_per_host_requests_are_in_flight_at_once() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (now, max) = (in_flight.clone(), peak.clone());
    let addr = serve_raw(move |req, mut socket| {
        let (now, max) = (now.clone(), max.clone());
        async move {
            let current = now.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(current, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            let _ = socket.write_all(&feed(&req)).await;
        }
    })
    .await;
    let fetcher = Arc::new(fetcher_with(&FetchConfig {
        per_host: 2,
        ..settings()
    }));
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let fetcher = fetcher.clone();
            let url = format!("http://{addr}/feed/{i}");
            tokio::spawn(async move { get(&fetcher, &url).await })
        })
        .collect();
    for task in tasks {
        fetched(task.await.expect("task"));
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2);
}
