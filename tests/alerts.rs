//! Alerts end to end over loopback: real cycles against a feed server, a
//! webhook receiver started here, a real SMTP server (Python's aiosmtpd), a
//! real SQLite file that outlives the alerter, and a clock the test moves.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use chrono::{DateTime, TimeDelta, Utc};
use common::{Behaviour, FeedServer, hejnal_in, serve_loopback};
use hejnal::alerts::{AlertReport, Alerter};
use hejnal::config::Config;
use hejnal::cycle::{self, Control, Selection};
use hejnal::fetch::Fetcher;
use hejnal::store::Store;
use serde_json::Value;
use tokio::sync::Notify;

/// One request the receiver got: path, content type, body.
type Received = (String, String, String);

#[derive(Default)]
struct Inbox {
    received: Vec<Received>,
    /// Statuses to answer with, in order; 200 once they run out.
    answers: VecDeque<u16>,
    /// Held requests wait for this before they answer.
    hold: Option<Arc<Notify>>,
}

/// A webhook receiver on a loopback port.
struct Receiver {
    addr: SocketAddr,
    inbox: Arc<Mutex<Inbox>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let (hold, status) = {
        let mut inbox = inbox.lock().unwrap();
        let kind = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        inbox.received.push((uri.path().to_string(), kind, body));
        (inbox.hold.take(), inbox.answers.pop_front().unwrap_or(200))
    };
    if let Some(hold) = hold {
        hold.notified().await;
    }
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    fn start(answers: &[u16], hold: Option<Arc<Notify>>) -> Receiver {
        let inbox = Arc::new(Mutex::new(Inbox {
            answers: answers.iter().copied().collect(),
            hold,
            ..Inbox::default()
        }));
        let app = Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&inbox));
        let (addr, stop) = serve_loopback(app);
        Receiver {
            addr,
            inbox,
            _stop: stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().received.clone()
    }

    fn json(&self) -> Vec<(String, Value)> {
        self.received()
            .into_iter()
            .map(|(path, _, body)| (path, serde_json::from_str(&body).unwrap()))
            .collect()
    }

    /// Waits until `n` requests arrived, for at most ten seconds.
    async fn wait_for(&self, n: usize) {
        for _ in 0..500 {
            if self.received().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the receiver got {:?}, not {n} requests", self.received());
    }
}

const FEED: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Wien</title>\
    <item><title>Neue Straßenbahn</title><link>https://wien.example/1</link>\
    <description>Die Stadt Wien eröffnet eine neue Straßenbahnlinie.</description></item>\
    </channel></rss>";

/// A feeds.toml with one source, `wien`, on `feeds`; `contact` and
/// `alerts` are its contact line and the `[alerts]` table's lines.
fn write_config(dir: &Path, feeds: &FeedServer, contact: &str, alerts: &str) -> PathBuf {
    let text = format!(
        "[publisher]\ntitle = \"Hejnał\"\nbase_url = \"https://news.example.org/\"\n\
         languages = [\"pl\", \"en\"]\n\n[fetch]\ntimeout_secs = 5\nconnect_timeout_secs = 2\n\
         read_idle_timeout_secs = 2\n\n[alerts]\ntimeout_secs = 5\n{alerts}\n\n\
         [[source]]\nid = \"wien\"\nname = \"Wien — Rathauskorrespondenz\"\ncity = \"Wien\"\n\
         url = \"{}\"\nlang = \"de\"\n{contact}\n",
        feeds.url("/wien.xml")
    );
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// One cycle over every source, as `hejnal once` runs it.
async fn run_cycle(config: &Config) {
    let mut store = Store::open(&config.database_path()).unwrap();
    let fetcher = Arc::new(Fetcher::new(&config.fetch, &config.user_agent()).unwrap());
    let control = Arc::new(Control::default());
    cycle::run(config, &mut store, &fetcher, Selection::All, &control)
        .await
        .unwrap();
}

/// A round of alerts at `now`, all of them waited for.
async fn alerts_at(alerter: &mut Alerter, config: &Config, now: DateTime<Utc>) -> AlertReport {
    let store = Store::open(&config.database_path()).unwrap();
    let started = alerter.after_cycle(config, &store, now).unwrap();
    let finished = alerter
        .finish(&store, Duration::from_secs(10))
        .await
        .unwrap();
    AlertReport {
        started: started.started,
        delivered: started.delivered + finished.delivered,
        failed: started.failed + finished.failed,
    }
}

fn hours(n: i64) -> TimeDelta {
    TimeDelta::hours(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_failing_past_fail_after_is_told_once_and_its_recovery_once_across_a_restart() {
    let hooks = Receiver::start(&[], None);
    let feeds = FeedServer::start();
    feeds.put("/wien.xml", FEED, "application/rss+xml");
    feeds.behave("/wien.xml", Behaviour::Status(500));
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &feeds,
        &format!("contact = \"{}\"", hooks.url("/wien")),
        &format!("operator = \"{}\"", hooks.url("/ops")),
    );
    let config = Config::load(&path).unwrap();

    let failed_at = Utc::now();
    run_cycle(&config).await;
    let mut alerter = Alerter::new(&config);
    let early = alerts_at(&mut alerter, &config, failed_at + hours(5)).await;
    assert_eq!(
        early.started, 0,
        "failing for 5 h is below fail_after (6 h)"
    );

    let late = alerts_at(&mut alerter, &config, failed_at + hours(7)).await;
    assert_eq!((late.started, late.delivered), (2, 2), "{late:?}");
    let told = hooks.json();
    let mut paths: Vec<&str> = told.iter().map(|(p, _)| p.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/ops", "/wien"],
        "the source's contact and the operator"
    );
    let (_, body) = &told[0];
    assert_eq!(body["event"], "problem");
    assert_eq!(body["problem"], "failing");
    assert_eq!(body["source"]["id"], "wien");
    assert_eq!(body["source"]["city"], "Wien");
    assert_eq!(body["last_error"], "HTTP 500");
    assert_eq!(body["http_statuses"], serde_json::json!([500]));
    assert!(body["since"].is_string());
    assert!(body["advice"].as_str().unwrap().contains("5xx"), "{body}");
    assert_eq!(
        body["status_page"],
        "https://news.example.org/status.html#source-wien"
    );
    assert!(body["text"].as_str().unwrap().contains("What to do:"));

    // Still failing: nothing new to tell, however often it is asked.
    run_cycle(&config).await;
    let again = alerts_at(&mut alerter, &config, failed_at + hours(8)).await;
    assert_eq!(again.started, 0);

    // A restart: a new alerter on the same database tells nobody again.
    drop(alerter);
    let mut alerter = Alerter::new(&config);
    let restarted = alerts_at(&mut alerter, &config, failed_at + hours(9)).await;
    assert_eq!(restarted.started, 0);
    assert_eq!(hooks.received().len(), 2);

    // The feed works again: one recovery each, then silence.
    feeds.behave("/wien.xml", Behaviour::Serve);
    run_cycle(&config).await;
    let recovered = alerts_at(&mut alerter, &config, failed_at + hours(10)).await;
    assert_eq!((recovered.started, recovered.delivered), (2, 2));
    let told = hooks.json();
    assert_eq!(told.len(), 4);
    for (_, body) in &told[2..] {
        assert_eq!(body["event"], "recovered");
        assert_eq!(body["problem"], "failing");
    }
    drop(alerter);
    let mut alerter = Alerter::new(&config);
    let quiet = alerts_at(&mut alerter, &config, failed_at + hours(11)).await;
    assert_eq!(quiet.started, 0);
    assert_eq!(hooks.received().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_answering_500_is_tried_again_later_and_never_holds_a_cycle() {
    let release = Arc::new(Notify::new());
    // The first request hangs until released, then fails with 500.
    let hooks = Receiver::start(&[500], Some(Arc::clone(&release)));
    let feeds = FeedServer::start();
    feeds.behave("/wien.xml", Behaviour::Status(503));
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        &feeds,
        &format!("contact = \"{}\"", hooks.url("/hook")),
        "webhook_format = \"slack\"",
    );
    let config = Config::load(&path).unwrap();
    let failed_at = Utc::now();
    run_cycle(&config).await;

    let mut alerter = Alerter::new(&config);
    let store = Store::open(&config.database_path()).unwrap();
    let report = alerter
        .after_cycle(&config, &store, failed_at + hours(7))
        .unwrap();
    assert_eq!(report.started, 1);
    hooks.wait_for(1).await;
    // The receiver holds the message; the next cycle runs all the same, and
    // the message on its way is not sent a second time meanwhile.
    assert_eq!(alerter.in_flight(), 1);
    run_cycle(&config).await;
    let meanwhile = alerter
        .after_cycle(&config, &store, failed_at + hours(7))
        .unwrap();
    assert_eq!(meanwhile.started, 0);
    assert_eq!(hooks.received().len(), 1);

    release.notify_one();
    let answered = alerter
        .finish(&store, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((answered.delivered, answered.failed), (0, 1));
    assert!(
        hejnal::alerts::metrics().contains("hejnal_alerts_failed_total{transport=\"webhook\"} "),
        "{}",
        hejnal::alerts::metrics()
    );

    // A later cycle tries again, and then it is told.
    let retried = alerts_at(&mut alerter, &config, failed_at + hours(8)).await;
    assert_eq!((retried.started, retried.delivered), (1, 1));
    let received = hooks.received();
    assert_eq!(received.len(), 2);
    let (_, kind, body) = &received[1];
    assert_eq!(kind, "application/json");
    let slack: Value = serde_json::from_str(body).unwrap();
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.contains("\"Wien — Rathauskorrespondenz\" (Wien) is failing"),
        "{text}"
    );
    assert!(text.contains("Last error: HTTP 503"), "{text}");
    let done = alerts_at(&mut alerter, &config, failed_at + hours(9)).await;
    assert_eq!(done.started, 0);
}

/// Python's aiosmtpd on a free loopback port, keeping each message in a maildir.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether aiosmtpd is installed. On CI a missing one fails the test;
/// elsewhere the test says it is skipped.
fn aiosmtpd_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "aiosmtpd is missing on CI: pip install aiosmtpd"
        );
        eprintln!("SKIPPED: Python's aiosmtpd not found");
    }
    found
}

/// A certificate for 127.0.0.1 made by openssl, as (certificate, key) files.
fn certificate(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("relay.pem"), dir.join("relay.key"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=relay.test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .is_ok_and(|o| o.status.success());
    if !made {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is missing on CI: install the Debian package openssl"
        );
        eprintln!("SKIPPED: openssl not found");
    }
    made.then_some((cert, key))
}

/// aiosmtpd, requiring STARTTLS with `tls` (certificate, key).
fn start_smtp(dir: &Path, tls: Option<&(PathBuf, PathBuf)>) -> SmtpServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = dir.join("maildir");
    // Owned at once, so that a panic below still stops it.
    let server = SmtpServer {
        child: Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(tls.map_or_else(Vec::new, |(cert, key)| {
                vec![
                    "--tlscert".into(),
                    cert.clone().into_os_string(),
                    "--tlskey".into(),
                    key.clone().into_os_string(),
                ]
            }))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        port,
        maildir,
    };
    for _ in 0..250 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("aiosmtpd did not start");
}

impl SmtpServer {
    fn messages(&self) -> Vec<String> {
        let Ok(files) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        files
            .flatten()
            .map(|f| std::fs::read_to_string(f.path()).unwrap())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webmaster_is_told_by_email_through_a_real_smtp_server() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let smtp = start_smtp(dir.path(), None);
    let feeds = FeedServer::start();
    feeds.behave("/wien.xml", Behaviour::Status(410));
    let path = write_config(
        dir.path(),
        &feeds,
        "contact = \"webmaster@wien.example\"",
        &format!(
            "smtp_server = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_security = \"none\"\n\
             smtp_from = \"hejnal@news.example.org\"",
            smtp.port
        ),
    );
    let config = Config::load(&path).unwrap();
    run_cycle(&config).await;
    let mut alerter = Alerter::new(&config);
    let report = alerts_at(&mut alerter, &config, Utc::now()).await;
    assert_eq!((report.started, report.delivered), (1, 1), "{report:?}");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert!(mail.contains("To: webmaster@wien.example"), "{mail}");
    assert!(mail.contains("From: hejnal@news.example.org"), "{mail}");
    assert!(mail.contains("Subject: hejnal:"), "{mail}");
    assert!(mail.contains("removed (410)"), "{mail}");
    assert!(
        hejnal::alerts::metrics().contains("hejnal_alerts_sent_total{transport=\"email\"} "),
        "{}",
        hejnal::alerts::metrics()
    );
    // Removed stays removed: nothing more to say.
    let again = alerts_at(&mut alerter, &config, Utc::now() + hours(1)).await;
    assert_eq!(again.started, 0);
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn alerts_test_sends_a_test_message_and_check_refuses_a_bad_contact() {
    let hooks = Receiver::start(&[], None);
    let feeds = FeedServer::start();
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &feeds,
        &format!("contact = \"{}\"", hooks.url("/wien")),
        "webhook_format = \"text\"",
    );
    let (code, out, err) = hejnal_in(dir.path(), &["alerts", "test", "--source", "wien"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("sent by webhook"), "{out}");
    let received = hooks.received();
    assert_eq!(received.len(), 1);
    let (path, kind, body) = &received[0];
    assert_eq!(path, "/wien");
    assert_eq!(kind, "text/plain; charset=utf-8");
    assert!(body.contains("test message"), "{body}");
    assert!(body.contains("status.html#source-wien"), "{body}");

    let (code, _, err) = hejnal_in(dir.path(), &["alerts", "test", "--source", "nowhere"]);
    assert_ne!(code, 0);
    assert!(err.contains("no source with id \"nowhere\""), "{err}");

    // `hejnal once` tells of a feed removed (410) before it exits, and
    // only once.
    feeds.behave("/wien.xml", Behaviour::Status(410));
    let (code, out, err) = hejnal_in(dir.path(), &["once"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("alerts: 1 sent, 0 failed"), "{out}");
    let received = hooks.received();
    assert_eq!(received.len(), 2);
    assert!(
        received[1].2.contains("was removed (410)"),
        "{:?}",
        received[1]
    );
    let (code, out, _) = hejnal_in(dir.path(), &["once"]);
    assert_eq!(code, 0);
    assert!(!out.contains("alerts:"), "{out}");
    assert_eq!(hooks.received().len(), 2);

    write_config(
        dir.path(),
        &feeds,
        "contact = \"Webmaster <w@wien.example>\"",
        "",
    );
    let (code, out, err) = hejnal_in(dir.path(), &["check"]);
    assert_ne!(code, 0, "{out}");
    let said = format!("{out}{err}");
    assert!(
        said.contains("contact in [[source]] #1 (id \"wien\") is neither an e-mail address nor an http(s) webhook URL: \"Webmaster <w@wien.example>\""),
        "{said}"
    );

    // An address with no mail server to send by would never be told.
    write_config(dir.path(), &feeds, "contact = \"w@wien.example\"", "");
    let (code, out, err) = hejnal_in(dir.path(), &["check"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        format!("{out}{err}").contains("contact in [[source]] #1 (id \"wien\") is an e-mail address, but [alerts] lacks smtp_server or smtp_from"),
        "{out}{err}"
    );
    write_config(
        dir.path(),
        &feeds,
        "",
        "smtp_server = \"127.0.0.1\"\nsmtp_from = \"https://hooks.example/x\"",
    );
    let (code, out, err) = hejnal_in(dir.path(), &["check"]);
    assert_ne!(code, 0, "{out}");
    assert!(
        format!("{out}{err}").contains("smtp_from in [alerts] must be an e-mail address"),
        "{out}{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_over_starttls_to_a_relay_with_a_private_certificate() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(tls) = certificate(dir.path()) else {
        return;
    };
    // The relay refuses mail until STARTTLS.
    let smtp = start_smtp(dir.path(), Some(&tls));
    let feeds = FeedServer::start();
    feeds.behave("/wien.xml", Behaviour::Status(410));
    let relay = |ca: &str| {
        format!(
            "smtp_server = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_from = \"hejnal@news.example.org\"\n{ca}",
            smtp.port
        )
    };
    // Without the relay's certificate authority, nothing is sent in clear.
    let path = write_config(
        dir.path(),
        &feeds,
        "contact = \"webmaster@wien.example\"",
        &relay(""),
    );
    let config = Config::load(&path).unwrap();
    run_cycle(&config).await;
    let refused = alerts_at(&mut Alerter::new(&config), &config, Utc::now()).await;
    assert_eq!((refused.started, refused.failed), (1, 1), "{refused:?}");
    assert!(smtp.messages().is_empty());

    let path = write_config(
        dir.path(),
        &feeds,
        "contact = \"webmaster@wien.example\"",
        &relay("smtp_ca_file = \"relay.pem\""),
    );
    let config = Config::load(&path).unwrap();
    let sent = alerts_at(&mut Alerter::new(&config), &config, Utc::now()).await;
    assert_eq!((sent.started, sent.delivered), (1, 1), "{sent:?}");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("removed (410)"), "{}", mails[0]);
}
