//! Publishing to S3-compatible object storage: the real binary uploads to
//! moto's S3 server on loopback, through a proxy in the test that counts the
//! requests and can fail them, as a store that goes down halfway would.

mod common;
mod tools;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{FeedServer, serve_loopback, write_config};

const BUCKET: &str = "hejnal-test";

/// Whether moto's server can run here. On CI a missing moto fails the test;
/// elsewhere the test says it is skipped.
fn moto_available() -> bool {
    tools::available(
        "python3",
        &["-c", "import moto.server"],
        "pip install 'moto[server]'",
    )
}

/// moto's S3 server, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

/// What the proxy saw, and whether it lets uploads through.
#[derive(Default)]
struct Seen {
    puts: Mutex<Vec<String>>,
    deletes: AtomicUsize,
    down: AtomicBool,
    /// PUTs let through before the proxy goes down by itself.
    puts_left: Mutex<Option<usize>>,
}

struct Proxy {
    seen: Arc<Seen>,
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Proxy {
    fn puts(&self) -> Vec<String> {
        self.seen.puts.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

fn start_proxy(upstream: &str) -> Proxy {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let seen = Arc::new(Seen::default());
    let state = (
        Arc::clone(&seen),
        upstream.to_string(),
        reqwest::Client::new(),
    );
    let (addr, stop) = serve_loopback(Router::new().fallback(forward).with_state(state));
    Proxy {
        seen,
        url: format!("http://{addr}"),
        _stop: stop,
    }
}

async fn forward(
    State((seen, upstream, client)): State<(Arc<Seen>, String, reqwest::Client)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::PUT {
        let mut left = seen.puts_left.lock().unwrap_or_else(|p| p.into_inner());
        match left.as_mut() {
            Some(0) => seen.down.store(true, Ordering::SeqCst),
            Some(n) => *n -= 1,
            None => {}
        }
    }
    if seen.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match method {
        Method::PUT => seen
            .puts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(uri.path().to_string()),
        Method::DELETE => {
            seen.deletes.fetch_add(1, Ordering::SeqCst);
        }
        _ => {}
    }
    let url = format!(
        "{upstream}{}",
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = client.request(method, url).body(body);
    for (name, value) in &headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let body = answer.bytes().await.unwrap_or_default();
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            response
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// Every file the output folder publishes, by path: what the bucket must hold.
fn local_files(public: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.ends_with(".br") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("under root");
                out.insert(
                    relative.to_string_lossy().into_owned(),
                    std::fs::read(&path).expect("read file"),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(public, public, &mut out);
    out
}

/// A request to moto, outside the proxy: (status, headers, body).
fn request(method: Method, url: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        // moto answers an anonymous GET with 403, as a private bucket
        // does; it takes any signature, as a CDN's origin access would sign.
        // The bytes as stored: a .gz object is not unpacked on the way.
        let client = reqwest::Client::builder()
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .build()
            .expect("client");
        let answer = client
            .request(method, url)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=hejnal-test/20261205/us-east-1/s3/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .send()
            .await
            .expect("request to moto");
        let status = answer.status();
        let headers = answer.headers().clone();
        let body = answer.bytes().await.expect("body").to_vec();
        (status, headers, body)
    })
}

/// The keys in the bucket under `site/`.
fn bucket_keys(moto: &str) -> BTreeSet<String> {
    let (_, _, body) = request(
        Method::GET,
        &format!("{moto}/{BUCKET}?list-type=2&prefix=site/"),
    );
    let listing = String::from_utf8_lossy(&body).into_owned();
    listing
        .split("<Key>")
        .skip(1)
        .filter_map(|part| part.split("</Key>").next())
        .map(|key| key.trim_start_matches("site/").to_string())
        .collect()
}

/// An object as a reader fetching it from the bucket gets it: (headers, body).
fn object(moto: &str, path: &str) -> (HeaderMap, Vec<u8>) {
    let (status, headers, body) = request(Method::GET, &format!("{moto}/{BUCKET}/site/{path}"));
    assert_eq!(status, StatusCode::OK, "{path}");
    (headers, body)
}

fn once(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args(["once", "--config", "feeds.toml"])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env("AWS_ACCESS_KEY_ID", "hejnal-test")
        .env("AWS_SECRET_ACCESS_KEY", "hejnal-test-secret")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .expect("run hejnal");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    text
}

fn farm() -> FeedServer {
    let server = FeedServer::start();
    server.put_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/site"));
    server
}

const SOURCES: &[(&str, &str, &str, &str)] = &[
    ("krakow", "/krakow.xml", "pl", "Kraków"),
    ("nuernberg", "/nuernberg.atom", "de", "Nürnberg"),
    ("kyiv", "/kyiv.json", "en", "Kyiv"),
];

/// krakow.xml with one more story on top.
fn with_new_story(n: u32) -> String {
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/site/krakow.xml"),
    )
    .expect("fixture");
    let item = format!(
        "<item><title>Nowa wiadomość {n}</title><link>https://www.krakow.pl/nowa/{n}</link>\
         <guid>https://www.krakow.pl/nowa/{n}</guid><description>Tekst {n}.</description></item>"
    );
    original.replacen("<item>", &format!("{item}<item>"), 1)
}

#[test]
fn the_site_is_uploaded_whole_then_only_what_changed_and_a_failed_upload_completes_later() {
    if !moto_available() {
        return;
    }
    let moto = start_moto();
    let (created, ..) = request(Method::PUT, &format!("{}/{BUCKET}", moto.url));
    assert!(created.is_success());
    let proxy = start_proxy(&moto.url);
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        &server,
        SOURCES,
        &format!(
            "\n[publish]\ntarget = \"s3://{BUCKET}/site\"\nendpoint = \"{}\"\npath_style = true\n",
            proxy.url
        ),
    );
    let public: PathBuf = dir.path().join("public");

    // The first cycle uploads every file, with the headers readers need.
    let out = once(dir.path());
    assert!(out.contains("uploaded: "), "{out}");
    let local = local_files(&public);
    let keys = bucket_keys(&moto.url);
    assert_eq!(keys, local.keys().cloned().collect::<BTreeSet<_>>());
    for (path, bytes) in &local {
        let (headers, body) = object(&moto.url, path);
        assert!(body == *bytes, "{path} differs in the bucket");
        let cache = headers["cache-control"].to_str().unwrap_or_default();
        assert!(cache.starts_with("public, max-age="), "{path}: {cache}");
        if path.ends_with(".gz") {
            assert_eq!(headers["content-encoding"], "gzip", "{path}");
        }
    }
    let (headers, feed) = object(&moto.url, "feed.xml");
    assert_eq!(
        headers["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let parsed = feed_rs::parser::parse(&feed[..]).expect("parses");
    assert!(!parsed.entries.is_empty());
    assert_eq!(
        object(&moto.url, "en/feed.json").0["content-type"],
        "application/feed+json; charset=utf-8"
    );
    let first_puts = proxy.puts();
    let order: Vec<&str> = first_puts.iter().map(String::as_str).collect();
    let at = |key: &str| order.iter().position(|k| k.ends_with(key));
    assert!(at("/site/pl/feed.xml") < at("/site/feed.xml"), "{order:?}");
    assert_eq!(
        order.last().copied(),
        Some("/hejnal-test/site/index.html"),
        "{order:?}"
    );

    // Nothing changed: not one PUT.
    once(dir.path());
    assert_eq!(proxy.puts().len(), first_puts.len(), "{:?}", proxy.puts());

    // One new story: only the files that changed.
    server.put("/krakow.xml", with_new_story(1), "application/rss+xml");
    once(dir.path());
    let now = local_files(&public);
    let changed: BTreeSet<String> = now
        .iter()
        .filter(|(path, bytes)| local.get(*path) != Some(*bytes))
        .map(|(path, _)| format!("/{BUCKET}/site/{path}"))
        .collect();
    let sent: BTreeSet<String> = proxy.puts()[first_puts.len()..].iter().cloned().collect();
    assert!(!sent.is_empty());
    assert_eq!(sent, changed);
    assert!(!sent.iter().any(|k| k.contains("/archive/")), "{sent:?}");

    // The store goes down after two objects: what was there stays readable.
    let before = local_files(&public);
    *proxy.seen.puts_left.lock().expect("lock") = Some(2);
    server.put("/krakow.xml", with_new_story(2), "application/rss+xml");
    let out = once(dir.path());
    assert!(out.contains("upload stopped"), "{out}");
    let (_, index) = object(&moto.url, "index.html");
    assert!(index == before["index.html"], "the old page stays in place");
    assert!(!String::from_utf8_lossy(&index).contains("Nowa wiadomość 2"));

    // Back up: the next cycle completes the upload.
    proxy.seen.down.store(false, Ordering::SeqCst);
    *proxy.seen.puts_left.lock().expect("lock") = None;
    once(dir.path());
    for (path, bytes) in local_files(&public) {
        let (_, answer) = object(&moto.url, &path);
        assert!(answer == bytes, "{path} differs after the retry");
    }
    let (_, index) = object(&moto.url, "index.html");
    assert!(String::from_utf8_lossy(&index).contains("Nowa wiadomość 2"));
}
