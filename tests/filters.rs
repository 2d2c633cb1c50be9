//! Filter rules: a partner's general news feed narrowed to what matters, the
//! filtered entries stored and counted, a changed rule applied without a
//! fetch, and bad rules reported by `hejnal check`.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{FeedServer, hejnal_in, write_config};

/// A Vienna city news feed in German: two of its stories are about Kraków,
/// spelled three ways; one is an advert that mentions it.
const VIENNA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Wien aktuell</title><link>https://wien.example.org/</link><language>de</language>
<item><title>Bürgermeister besucht die Partnerstadt Krakau</title>
  <link>https://wien.example.org/krakau-besuch</link><guid>wien-1</guid>
  <description>Der Besuch in Kraków dauert drei Tage.</description>
  <pubDate>Fri, 04 Dec 2026 09:00:00 GMT</pubDate></item>
<item><title>Straßenbahnlinie 2 fährt wieder</title>
  <link>https://wien.example.org/linie-2</link><guid>wien-2</guid>
  <description>Nach der Sanierung fährt die Linie 2 wieder über den Ring.</description>
  <pubDate>Fri, 04 Dec 2026 10:00:00 GMT</pubDate></item>
<item><title>Jazzfestival mit Gästen aus Polen</title>
  <link>https://wien.example.org/jazz</link><guid>wien-3</guid>
  <description>Ein Quartett aus KRAKOW eröffnet das Festival im Porgy &amp; Bess.</description>
  <pubDate>Fri, 04 Dec 2026 11:00:00 GMT</pubDate></item>
<item><title>Donauinselfest: Programm steht fest</title>
  <link>https://wien.example.org/donauinsel</link><guid>wien-4</guid>
  <description>Drei Tage Musik auf der Donauinsel; kein Wort über Krakowiak-Tänze.</description>
  <pubDate>Fri, 04 Dec 2026 12:00:00 GMT</pubDate></item>
<item><title>Anzeige: Flüge nach Krakau ab 19 Euro</title>
  <link>https://wien.example.org/anzeige</link><guid>wien-5</guid>
  <description>Jetzt buchen.</description>
  <pubDate>Fri, 04 Dec 2026 13:00:00 GMT</pubDate></item>
</channel></rss>"#;

const NARROWED: &str = r#"filter = { include = ["Kraków", "Krakau"] }"#;

/// Never again by the schedule: after the first cycle, only a reload makes one.
const YEARLY: &str = "0 0 0 1 1 *";

fn farm() -> FeedServer {
    let server = FeedServer::start();
    server.put("/wien.xml", VIENNA, "application/rss+xml");
    server
}

/// A feeds.toml with the Vienna source, its own lines `source_lines`, and
/// the top-level `extra` (a global `[filter]`, say).
fn config(dir: &Path, server: &FeedServer, source_lines: &str, extra: &str) -> String {
    let path = write_config(dir, server, &[("wien", "/wien.xml", "de", "Wien")], "");
    let text = std::fs::read_to_string(&path).expect("config");
    let text = format!(
        "{}{source_lines}\n{extra}",
        text.replace("0 */15 * * * *", YEARLY)
    );
    std::fs::write(&path, &text).expect("config");
    text
}

fn published(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("public/feed.xml")).expect("feed.xml")
}

#[test]
fn a_vienna_feed_is_narrowed_to_the_stories_about_krakow() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    config(
        dir.path(),
        &server,
        NARROWED,
        "[filter]\nexclude = [\"/^Anzeige:/\"]\n",
    );
    let (code, out, err) = hejnal_in(dir.path(), &["once"]);
    assert_eq!(code, 0, "{out}{err}");
    let feed = published(dir.path());
    assert!(
        feed.contains("Partnerstadt Krakau"),
        "Krakau and Kraków match"
    );
    assert!(feed.contains("Jazzfestival"), "KRAKOW matches Kraków");
    assert!(!feed.contains("Straßenbahnlinie"), "no mention of Kraków");
    assert!(
        !feed.contains("Donauinselfest"),
        "Krakowiak is another word"
    );
    assert!(
        !feed.contains("Flüge nach Krakau"),
        "the global exclude wins"
    );
    for lang in ["pl", "en"] {
        let single = std::fs::read_to_string(dir.path().join(format!("public/{lang}/feed.json")))
            .expect("feed.json");
        assert!(single.contains("Jazzfestival") && !single.contains("Donauinselfest"));
    }

    // Stored all the same, and counted.
    let db = rusqlite::Connection::open(dir.path().join("hejnal.db")).expect("db");
    let stored: i64 = db
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .expect("count");
    assert_eq!(stored, 5);
    let (code, out, err) = hejnal_in(dir.path(), &["sources", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(rows[0]["entries"], 5, "{out}");
    assert_eq!(rows[0]["filtered"], 3, "{out}");
    let (_, table, _) = hejnal_in(dir.path(), &["sources"]);
    assert!(
        table.lines().next().unwrap_or("").contains("FILTERED"),
        "{table}"
    );

    // An entry edited to mention Kraków is judged again, and published.
    server.put(
        "/wien.xml",
        VIENNA.replace("über den Ring.", "über den Ring, mit Gästen aus Krakau."),
        "application/rss+xml",
    );
    let (code, out, err) = hejnal_in(dir.path(), &["once"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(published(dir.path()).contains("Straßenbahnlinie"));
    let (_, out, _) = hejnal_in(dir.path(), &["sources", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(rows[0]["filtered"], 2, "{out}");
}

/// `hejnal run` in `dir`, logging into a file read by `cycles`.
struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(dir: &Path) -> Daemon {
        let log = dir.join("stderr.log");
        let file = std::fs::File::create(&log).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_hejnal"))
            .args(["run", "--config", "feeds.toml", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .spawn()
            .expect("start hejnal run");
        Daemon { child, log }
    }

    fn cycles(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .matches("cycle finished")
            .count()
    }

    fn wait_for_cycles(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.cycles() < n {
            assert!(
                Instant::now() < deadline,
                "no cycle {n}: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn hang_up(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_changed_rule_and_a_reload_republish_without_a_fetch() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    let narrowed = config(dir.path(), &server, NARROWED, "");
    let daemon = Daemon::start(dir.path());
    daemon.wait_for_cycles(1);
    let requests = server.requests();
    assert_eq!(requests, 1);
    assert!(!published(dir.path()).contains("Donauinselfest"));

    // The editor widens the rule: the stored story comes back.
    let widened = narrowed.replace(
        r#"["Kraków", "Krakau"]"#,
        r#"["Kraków", "Krakau", "Donauinsel"]"#,
    );
    assert_ne!(widened, narrowed);
    std::fs::write(dir.path().join("feeds.toml"), &widened).expect("config");
    daemon.hang_up();
    daemon.wait_for_cycles(2);
    assert!(published(dir.path()).contains("Donauinselfest"));
    assert!(!published(dir.path()).contains("Straßenbahnlinie"));

    // And narrows it again: it goes.
    let narrower = narrowed.replace(r#"["Kraków", "Krakau"]"#, r#"["Jazzfestival"]"#);
    std::fs::write(dir.path().join("feeds.toml"), &narrower).expect("config");
    daemon.hang_up();
    daemon.wait_for_cycles(3);
    let feed = published(dir.path());
    assert!(feed.contains("Jazzfestival") && !feed.contains("Partnerstadt Krakau"));
    assert_eq!(server.requests(), requests, "no feed was fetched again");
}

#[test]
fn check_points_at_a_bad_regex_and_an_unknown_field() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    let text = config(
        dir.path(),
        &server,
        r#"filter = { include = ["/Krak(ó|o)w/"], fields = ["title", "summary"] }"#,
        "[filter]\nexclude = [\"/Anzeige(/\", \"...\"]\n",
    );
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect("line")
    };
    let (code, _, err) = hejnal_in(dir.path(), &["check"]);
    assert_eq!(code, 1, "{err}");
    let regex_line = line_of("Anzeige(");
    assert!(
        err.contains(&format!("feeds.toml:{regex_line}:12"))
            && err.contains("\"/Anzeige(/\" is not a valid regular expression: unclosed group"),
        "{err}"
    );
    assert!(
        err.contains("\"...\" has no letter or digit to match"),
        "{err}"
    );
    let fields_line = line_of("summary");
    assert!(
        err.contains(&format!("feeds.toml:{fields_line}:"))
            && err.contains(
                "is \"summary\"; expected one of \"title\", \"text\", \"link\", \"category\""
            ),
        "{err}"
    );
    let messages: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(messages.len(), 3, "a good regex passes: {err}");
}
