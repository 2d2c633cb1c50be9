//! `hejnal run` as systemd runs it: the real binary, a real NOTIFY_SOCKET,
//! real signals, and the real HTTP server.

mod common;

use std::io::Read as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Behaviour, FeedServer, write_config};

const SOURCES: &[(&str, &str, &str, &str)] = &[
    ("krakow", "/krakow.xml", "pl", "Kraków"),
    ("nuernberg", "/nuernberg.atom", "de", "Nürnberg"),
    ("kyiv", "/kyiv.json", "en", "Kyiv"),
];

/// Every second, so tests see several cycles quickly.
const EVERY_SECOND: &str = "* * * * * *";

fn farm() -> FeedServer {
    let server = FeedServer::start();
    server.put_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/site"));
    server
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Daemon {
    child: Child,
    /// Messages read off the notify socket by a thread that always drains it, as
    /// systemd does: a full socket queue would block the daemon's next notify.
    notify: std::sync::mpsc::Receiver<String>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    messages: Vec<String>,
}

impl Daemon {
    fn start(server: &FeedServer, sources: &[(&str, &str, &str, &str)], extra: &str) -> Daemon {
        Daemon::start_edited(server, sources, extra, |text| text)
    }

    /// Starts with a feeds.toml passed through `edit` first.
    fn start_edited(
        server: &FeedServer,
        sources: &[(&str, &str, &str, &str)],
        extra: &str,
        edit: impl Fn(String) -> String,
    ) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = write_config(dir.path(), server, sources, extra);
        let text = edit(std::fs::read_to_string(&config).expect("config"))
            .replace("0 */15 * * * *", EVERY_SECOND);
        std::fs::write(&config, text).expect("config");
        let socket_path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
        let (tx, notify) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                if tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
                {
                    break;
                }
            }
        });
        let port = free_port();
        // A file, not a pipe: a daemon that logs more than a pipe holds would block.
        let log = std::fs::File::create(dir.path().join("stderr.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_hejnal"))
            .args(["run", "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "1000000")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start hejnal run");
        Daemon {
            child,
            notify,
            port,
            dir,
            config,
            messages: Vec::new(),
        }
    }

    /// Collects notify messages until one satisfies `want`, or panics after `limit`.
    fn wait_for(&mut self, want: impl Fn(&str) -> bool, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(message) = self.notify.recv_timeout(Duration::from_millis(200)) {
                self.messages.push(message.clone());
                if want(&message) {
                    return message;
                }
            }
        }
        panic!(
            "no matching notify message within {limit:?}; got {:?}",
            self.messages
        );
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGTERM, then waits; returns the exit code, the time it took, and stderr.
    fn stop(mut self) -> (Option<i32>, Duration, String, tempfile::TempDir) {
        self.signal("TERM");
        let started = Instant::now();
        let code = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break status.code();
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let err = std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        (code, started.elapsed(), err, dir)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .expect("client")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

#[test]
fn notify_protocol_speaks_ready_status_watchdog_reloading_stopping_in_order() {
    let server = farm();
    let mut d = Daemon::start(&server, SOURCES, "");
    d.wait_for(|m| m.contains("READY=1"), Duration::from_secs(20));
    let status = d.wait_for(|m| m.contains("failing"), Duration::from_secs(20));
    assert!(status.contains("STATUS=3 sources, 0 failing"), "{status}");
    d.wait_for(|m| m.contains("WATCHDOG=1"), Duration::from_secs(5));
    d.signal("HUP");
    d.wait_for(|m| m.contains("RELOADING=1"), Duration::from_secs(10));
    d.wait_for(|m| m.contains("READY=1"), Duration::from_secs(10));
    d.signal("TERM");
    d.wait_for(|m| m.contains("STOPPING=1"), Duration::from_secs(10));
    let (code, took, err, dir) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let db = rusqlite::Connection::open(dir.path().join("hejnal.db")).expect("db");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let entries: i64 = db
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .expect("count");
    assert!(entries >= 5, "entries stored: {entries}");
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one_and_a_good_one_applies() {
    let server = farm();
    let mut d = Daemon::start(&server, SOURCES, "");
    d.wait_for(|m| m.contains("failing"), Duration::from_secs(20));

    let good = std::fs::read_to_string(&d.config).expect("config");
    let broken_line = good.lines().count() + 3;
    std::fs::write(&d.config, format!("{good}\n[[source]]\nid = 42\n")).expect("write");
    d.signal("HUP");
    d.wait_for(|m| m.contains("RELOADING=1"), Duration::from_secs(10));
    d.wait_for(|m| m.contains("READY=1"), Duration::from_secs(10));
    d.wait_for(|m| m.contains("STATUS=3 sources"), Duration::from_secs(10));

    let with_leipzig = format!(
        "{good}\n[[source]]\nid = \"leipzig\"\nname = \"Leipzig\"\ncity = \"Leipzig\"\nurl = \"{}\"\nlang = \"de\"\n",
        server.url("/leipzig.rdf")
    );
    std::fs::write(&d.config, with_leipzig).expect("write");
    d.signal("HUP");
    d.wait_for(|m| m.contains("STATUS=4 sources"), Duration::from_secs(20));
    assert!(
        server.hits("/leipzig.rdf") >= 1,
        "the new source was fetched"
    );
    let (code, _, err, _) = d.stop();
    assert_eq!(code, Some(0));
    assert!(
        err.contains("configuration not reloaded")
            && err.contains(&format!("feeds.toml:{broken_line}:6"))
            && err.contains("must be a string"),
        "the broken file's error names line and column: {err}"
    );
}

#[test]
fn server_answers_conditional_requests_and_negotiates_compression() {
    let server = farm();
    let mut d = Daemon::start(&server, SOURCES, "");
    d.wait_for(|m| m.contains("failing"), Duration::from_secs(20));
    let rt = runtime();
    rt.block_on(async {
        let http = client();
        let plain = http.get(d.url("/feed.xml")).send().await.expect("GET");
        assert_eq!(plain.status(), 200);
        assert_eq!(
            plain.headers()["content-type"],
            "application/rss+xml; charset=utf-8"
        );
        let etag = plain.headers()["etag"].clone();
        let last_modified = plain.headers()["last-modified"].clone();
        assert!(
            plain.headers()["cache-control"]
                .to_str()
                .unwrap_or("")
                .contains("max-age")
        );
        let body = plain.bytes().await.expect("body");
        assert!(body.starts_with(b"<?xml"));

        let again = http
            .get(d.url("/feed.xml"))
            .header("if-none-match", etag.clone())
            .send()
            .await
            .expect("GET");
        assert_eq!(again.status(), 304);
        let since = http
            .get(d.url("/feed.xml"))
            .header("if-modified-since", last_modified)
            .send()
            .await
            .expect("GET");
        assert_eq!(since.status(), 304);

        let gz = http
            .get(d.url("/feed.xml"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("GET");
        assert_eq!(gz.headers()["content-encoding"], "gzip");
        let gz = gz.bytes().await.expect("body");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut decoded)
            .expect("gunzip");
        assert_eq!(decoded, body);

        let br = http
            .get(d.url("/feed.xml"))
            .header("accept-encoding", "gzip, br")
            .send()
            .await
            .expect("GET");
        assert_eq!(br.headers()["content-encoding"], "br");
        let br = br.bytes().await.expect("body");
        let mut decoded = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut decoded)
            .expect("unbrotli");
        assert_eq!(decoded, body);

        let browser = http
            .get(d.url("/feed.xml"))
            .header(
                "accept",
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            )
            .send()
            .await
            .expect("GET");
        assert_eq!(
            browser.headers()["content-type"],
            "application/xml; charset=utf-8",
            "a browser that does not say it navigates gets a type it styles with the feed's CSS"
        );
        // A person opening the feed in a browser gets the feed's page.
        for (path, page) in [("/feed.xml", "/"), ("/en/feed.atom", "/en/index.html")] {
            let opened = http
                .get(d.url(path))
                .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
                .header("sec-fetch-dest", "document")
                .header("sec-fetch-mode", "navigate")
                .send()
                .await
                .expect("GET");
            assert_eq!(opened.status(), 200);
            assert_eq!(opened.headers()["content-type"], "text/html; charset=utf-8");
            assert!(
                opened.headers()["vary"]
                    .to_str()
                    .is_ok_and(|v| v.contains("Sec-Fetch-Dest")),
                "{:?}",
                opened.headers()
            );
            let shown = opened.text().await.expect("body");
            let expected = http.get(d.url(page)).send().await.expect("GET");
            assert_eq!(shown, expected.text().await.expect("body"), "{path}");
        }
        let index = http.get(d.url("/")).send().await.expect("GET");
        assert_eq!(index.status(), 200);
        assert_eq!(index.headers()["content-type"], "text/html; charset=utf-8");

        let head = http.head(d.url("/feed.atom")).send().await.expect("HEAD");
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()["content-type"],
            "application/atom+xml; charset=utf-8"
        );
        let json = http.get(d.url("/feed.json")).send().await.expect("GET");
        assert_eq!(
            json.headers()["content-type"],
            "application/feed+json; charset=utf-8"
        );

        for evil in [
            "/../feeds.toml",
            "/%2e%2e/feeds.toml",
            "/pl/../../hejnal.db",
            "/.hidden",
            "/%2e%2e%2fhejnal.db",
        ] {
            let r = http.get(d.url(evil)).send().await.expect("GET");
            assert_eq!(r.status(), 404, "{evil}");
        }

        let metrics = http
            .get(d.url("/metrics"))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("text");
        for name in [
            "hejnal_sources{state=\"ok\"}",
            "hejnal_fetch_duration_seconds_bucket",
            "hejnal_fetched_bytes_total",
            "hejnal_not_modified_ratio",
            "hejnal_new_stories_total",
            "hejnal_cycle_duration_seconds",
            "hejnal_last_success_timestamp_seconds",
        ] {
            assert!(metrics.contains(name), "metrics lack {name}:\n{metrics}");
        }
    });
    let (code, _, _, _) = d.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn healthz_turns_503_when_the_sources_stop_answering() {
    let server = farm();
    let mut d = Daemon::start(&server, SOURCES, "[server]\nstale_after_secs = 2\n");
    d.wait_for(|m| m.contains("failing"), Duration::from_secs(20));
    let rt = runtime();
    rt.block_on(async {
        let http = client();
        let ok = http.get(d.url("/healthz")).send().await.expect("GET");
        assert_eq!(ok.status(), 200);
        for (_, path, _, _) in SOURCES {
            server.behave(path, Behaviour::Status(503));
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let r = http.get(d.url("/healthz")).send().await.expect("GET");
            if r.status() == 503 {
                let body: serde_json::Value =
                    serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
                assert_eq!(body["healthy"], false);
                assert!(
                    body["last_cycle"]["failing"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty()),
                    "{body}"
                );
                break;
            }
            assert!(Instant::now() < deadline, "healthz never turned 503");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    d.stop();
}

#[test]
fn retry_after_and_gone_change_the_schedule() {
    let server = farm();
    server.behave(
        "/nuernberg.atom",
        Behaviour::StatusWith(429, vec![("retry-after", "3600".to_string())]),
    );
    server.behave("/kyiv.json", Behaviour::Status(410));
    // Leipzig's feed asks for no pause (Kraków's carries <ttl>30</ttl>).
    let sources = [
        ("leipzig", "/leipzig.rdf", "de", "Leipzig"),
        SOURCES[1],
        SOURCES[2],
    ];
    let mut d = Daemon::start(&server, &sources, "");
    // Several cycles, one per second.
    d.wait_for(|m| m.contains("failing"), Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        server.hits("/leipzig.rdf") >= 3,
        "the healthy source is fetched every cycle"
    );
    assert_eq!(
        server.hits("/nuernberg.atom"),
        1,
        "429 Retry-After: 3600 is honoured"
    );
    assert_eq!(server.hits("/kyiv.json"), 1, "410 Gone disables the source");
    let (code, _, err, _) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("410 Gone"), "{err}");
}

#[test]
fn sigterm_during_a_stuck_fetch_exits_cleanly_within_ten_seconds() {
    let server = farm();
    // A server that accepts and never answers: the fetch hangs until abandoned.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept() {
            held.push(stream);
        }
    });
    let mut d = Daemon::start_edited(&server, SOURCES, "", |text| {
        text.replace("timeout_secs = 5", "timeout_secs = 60")
            .replace("read_idle_timeout_secs = 2", "read_idle_timeout_secs = 60")
            + &format!(
                "\n[[source]]\nid = \"silent\"\nname = \"Silent\"\nurl = \"http://{silent_addr}/feed.xml\"\nlang = \"pl\"\n"
            )
    });
    d.wait_for(|m| m.contains("READY=1"), Duration::from_secs(20));
    // The first cycle hangs on the silent source.
    std::thread::sleep(Duration::from_millis(1000));
    let (code, took, err, dir) = d.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(err.contains("abandoned"), "{err}");
    let db = rusqlite::Connection::open(dir.path().join("hejnal.db")).expect("db");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
}
