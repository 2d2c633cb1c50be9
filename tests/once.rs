//! `hejnal once` end to end: the real binary against a loopback feed server.

mod common;
mod tools;

use std::path::Path;

use common::{Behaviour, FeedServer, hejnal, write_config};

const SOURCES: &[(&str, &str, &str, &str)] = common::SITE_SOURCES;

fn farm() -> FeedServer {
    let server = FeedServer::start();
    server.put_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/site"));
    server
}

fn parse_output(dir: &Path, name: &str) -> feed_rs::model::Feed {
    let bytes = std::fs::read(dir.join("public").join(name)).expect("published file");
    feed_rs::parser::parse(bytes.as_slice()).expect("published feed parses")
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
        .collect()
}

fn all_titles_contain(feed: &feed_rs::model::Feed, needle: &str) -> bool {
    titles(feed).iter().any(|t| t.contains(needle))
}

#[test]
fn once_publishes_every_format_with_the_stories_of_every_source() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server, SOURCES, "");
    let (code, out, err) = hejnal(&["once", "--config", config.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("7 ok"), "{out}");
    assert!(
        out.contains("fetch ") && out.contains("publish "),
        "stage times: {out}"
    );

    for name in ["feed.xml", "feed.atom", "feed.json"] {
        let feed = parse_output(dir.path(), name);
        for needle in [
            "Nowe nasadzenia drzew na Plantach",
            "Zażółć gęślą jaźń",
            "Größe zählt nicht: Straßenfest",
            "Kyiv and Kraków sign",
            "Leipziger Buchmesse",
            "Łódź, Kraków i Gdańsk",
            "Źródła Wisły – ćwiczenia żeglarskie „Żagiel”",
            "Wpis bez guid",
        ] {
            assert!(
                all_titles_contain(&feed, needle),
                "{name} lacks {needle:?}: {:?}",
                titles(&feed)
            );
        }
        // The exhibition is carried by two sources under two URL variants: one story.
        let exhibition = feed
            .entries
            .iter()
            .filter(|e| {
                e.title.as_ref().is_some_and(|t| {
                    t.content.contains("wspólna wystawa")
                        || t.content.contains("Ausstellung mit Krakau")
                })
            })
            .count();
        assert_eq!(exhibition, 1, "{name}: {:?}", titles(&feed));
        for entry in &feed.entries {
            for link in &entry.links {
                assert!(
                    link.href.starts_with("http"),
                    "{name}: relative link {}",
                    link.href
                );
            }
        }
    }

    let rss = std::fs::read_to_string(dir.path().join("public/feed.xml")).expect("feed.xml");
    assert!(!rss.contains("<script"), "script survived sanitizing");
    // Relative links resolve against the document's own URL, as feed readers do.
    assert!(
        rss.contains(&server.url("/mapa.html")),
        "relative link not resolved"
    );
    assert!(
        rss.contains(&server.url("/aktualnosci/plantay-drzewa.html")),
        "relative item link not resolved"
    );
    assert!(rss.contains("<language>pl</language>"));
    assert!(rss.contains("rel=\"self\""));
}

#[test]
fn second_run_sends_validators_gets_304s_and_writes_nothing() {
    let server = farm();
    let (dir, config) = published_once(&server);
    let config = config.as_str();
    let feed_path = dir.path().join("public/feed.xml");
    let before = std::fs::metadata(&feed_path)
        .and_then(|m| m.modified())
        .expect("mtime");
    let bytes_before = std::fs::read(&feed_path).expect("feed");

    let (code, out, err) = hejnal(&["once", "--config", config]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        server.not_modified(),
        SOURCES.len(),
        "every source answers 304"
    );
    assert!(
        out.contains(&format!("{} not modified", SOURCES.len())),
        "{out}"
    );
    assert!(out.contains("nothing changed"), "{out}");
    let after = std::fs::metadata(&feed_path)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(before, after, "feed.xml rewritten though nothing changed");
    assert_eq!(bytes_before, std::fs::read(&feed_path).expect("feed"));
}

/// A site published once from the farm: its folder and its feeds.toml.
fn published_once(server: &FeedServer) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), server, SOURCES, "");
    let config = config.to_str().expect("utf-8 path").to_string();
    let (code, _, err) = hejnal(&["once", "--config", &config]);
    assert_eq!(code, 0, "{err}");
    (dir, config)
}

/// A fixture of the site the loopback server serves.
fn site_fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/site")
        .join(name);
    std::fs::read_to_string(path).expect("fixture")
}

/// Many CMSes send no ETag or Last-Modified, so every fetch brings the whole
/// feed again. The same bytes are not read again; a changed feed is, and so is
/// the same feed when a setting that shapes its entries changed. A body that
/// failed is never taken for one already read.
#[test]
fn a_feed_without_validators_is_read_again_only_when_something_changed() {
    let server = farm();
    let mut sources = SOURCES.to_vec();
    sources.push(("cut-short", "/cut-short.xml", "pl", "Kraków"));
    server.put(
        "/cut-short.xml",
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>Ur",
        "application/rss+xml",
    );
    for (_, path, _, _) in &sources {
        server.behave(path, Behaviour::NoValidators);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // Runs hejnal with this item limit; the summary must report these sources.
    let once = |limit: usize, sources_line: &str| {
        let extra = format!("max_items_per_feed = {limit}");
        let config = write_config(dir.path(), &server, &sources, &extra);
        let (code, out, err) = hejnal(&["once", "--config", config.to_str().expect("utf-8 path")]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(sources_line), "{out}");
        let feed = std::fs::read_to_string(dir.path().join("public/feed.xml")).expect("feed");
        (out, feed)
    };

    let (_, feed) = once(2, "sources: 7 ok, 0 not modified, 1 failed");
    assert!(
        !feed.contains("Nowe nasadzenia drzew"),
        "the oldest of three is left out"
    );

    let (out, _) = once(2, "sources: 0 ok, 7 not modified, 1 failed");
    assert!(out.contains("failed cut-short:"), "{out}");
    assert!(out.contains("nothing changed"), "{out}");
    assert_eq!(
        server.conditional(),
        0,
        "the server gave no validators to send"
    );
    assert_eq!(server.not_modified(), 0, "the server never answered 304");

    let (_, feed) = once(50, "sources: 7 ok, 0 not modified, 1 failed");
    assert!(
        feed.contains("Nowe nasadzenia drzew"),
        "a higher limit reads the same feed anew"
    );

    let added = "<item><title>Nowy most kładkowy na Wiśle</title>\
         <link>https://www.krakow.example/aktualnosci/kladka.html</link>\
         <guid isPermaLink=\"false\">krakow-1004</guid>\
         <pubDate>Wed, 25 Nov 2026 08:00:00 +0100</pubDate>\
         <description>Kładka połączy Kazimierz z Podgórzem.</description></item></channel>";
    let changed = site_fixture("krakow.xml").replace("</channel>", added);
    server.put("/krakow.xml", changed, "application/rss+xml");
    let (_, feed) = once(50, "sources: 1 ok, 6 not modified, 1 failed");
    assert!(
        feed.contains("Nowy most kładkowy na Wiśle"),
        "the changed feed was read"
    );
}

/// A broken body's validators are not kept: sending them back would turn the
/// same broken body into a 304, and the failure into a success.
#[test]
fn a_broken_feed_fails_again_while_its_server_serves_it() {
    let server = farm();
    server.put(
        "/krakow.xml",
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>Ur",
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server, &SOURCES[..1], "");
    let config = config.to_str().expect("utf-8 path");
    for run in 1..=2 {
        let (code, out, err) = hejnal(&["once", "--config", config]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("sources: 0 ok, 0 not modified, 1 failed"),
            "run {run}: {out}"
        );
    }
    assert_eq!(
        server.conditional(),
        0,
        "no validator of the broken body was sent back"
    );

    server.put(
        "/krakow.xml",
        site_fixture("krakow.xml"),
        "application/rss+xml",
    );
    let (_, out, _) = hejnal(&["once", "--config", config]);
    assert!(
        out.contains("sources: 1 ok, 0 not modified, 0 failed"),
        "{out}"
    );
    let (_, out, _) = hejnal(&["once", "--config", config]);
    assert!(
        out.contains("sources: 0 ok, 1 not modified, 0 failed"),
        "{out}"
    );
    assert_eq!(
        server.not_modified(),
        1,
        "a good body's validators are sent back"
    );
}

/// A feed's `<ttl>` is honoured while its server answers 304 or sends the same
/// body again: neither says anything new about how often to come back.
#[test]
fn a_feeds_ttl_holds_while_its_feed_is_unchanged() {
    let server = farm();
    server.put(
        "/plain.xml",
        site_fixture("krakow.xml"),
        "application/rss+xml",
    );
    server.behave("/plain.xml", Behaviour::NoValidators);
    let sources = [
        ("krakow", "/krakow.xml", "pl", "Kraków"),
        ("plain", "/plain.xml", "pl", "Kraków"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    // The publisher's schedule comes every 15 minutes; the feed asks for 30.
    let config = write_config(dir.path(), &server, &sources, "");
    let config = config.to_str().expect("utf-8 path");
    for run in 1..=2 {
        let (code, out, err) = hejnal(&["once", "--config", config]);
        assert_eq!(code, 0, "{err}");
        let (code, json, err) = hejnal(&["sources", "--json", "--config", config]);
        assert_eq!(code, 0, "{err}");
        let rows: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        for row in rows.as_array().expect("rows") {
            let due = row["next_due"].as_str().expect("next_due");
            let due = chrono::DateTime::parse_from_rfc3339(due).expect("date");
            let wait = due.with_timezone(&chrono::Utc) - chrono::Utc::now();
            assert!(
                wait > chrono::TimeDelta::minutes(29),
                "run {run}: {row} {out}"
            );
        }
    }
    assert_eq!(
        server.not_modified(),
        1,
        "the second run got a 304 from /krakow.xml"
    );
}

/// A webmaster who corrects a source's `lang` sees its stories relabelled on
/// the next run, though the feed itself did not change.
#[test]
fn a_corrected_language_relabels_the_stories_of_an_unchanged_feed() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |lang: &str| {
        // A feed that declares no language, with texts too short to detect.
        let sources = [("noguid", "/no-guid.xml", lang, "Kraków")];
        let config = write_config(dir.path(), &server, &sources, "");
        let (code, out, err) = hejnal(&["once", "--config", config.to_str().expect("utf-8 path")]);
        assert_eq!(code, 0, "{err}");
        let json = std::fs::read_to_string(dir.path().join("public/feed.json")).expect("feed");
        (out, json)
    };
    let (_, json) = run("de");
    assert!(json.contains(r#""lang": "de""#), "{json}");
    let (out, json) = run("pl");
    assert!(out.contains("entries: 0 new, 2 updated"), "{out}");
    assert!(json.contains(r#""lang": "pl""#), "{json}");
    assert!(!json.contains(r#""lang": "de""#), "{json}");
}

/// A feed that changed by one item: the item edited in place shows its new
/// title, and the items around it stay as they were.
#[test]
fn an_item_edited_in_place_is_updated_and_the_rest_stay() {
    let server = farm();
    let (dir, config) = published_once(&server);
    let config = config.as_str();

    let fixture = site_fixture("krakow.xml");
    let edited = fixture.replace(
        "Zażółć gęślą jaźń: festiwal języka polskiego",
        "Festiwal języka polskiego przeniesiony na grudzień",
    );
    assert_ne!(edited, fixture);
    server.put("/krakow.xml", edited, "application/rss+xml");
    let (code, out, err) = hejnal(&["once", "--config", config]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("sources: 1 ok, 6 not modified, 0 failed"),
        "{out}"
    );
    assert!(
        out.contains("entries: 0 new, 1 updated; stories: 0 new"),
        "{out}"
    );
    let feed = std::fs::read_to_string(dir.path().join("public/feed.xml")).expect("feed");
    assert!(feed.contains("Festiwal języka polskiego przeniesiony na grudzień"));
    assert!(!feed.contains("Zażółć gęślą jaźń: festiwal"));
    assert!(feed.contains("Nowe nasadzenia drzew na Plantach"));
    assert!(feed.contains("Partnerstwo Kraków–Norymberga"));
}

#[test]
fn a_second_process_on_the_same_database_publishes_no_story_as_new() {
    let server = farm();
    let (dir, config) = published_once(&server);
    let config = config.as_str();
    let first = parse_output(dir.path(), "feed.xml");

    // Validators forgotten (as after a lost state): full bodies come again.
    for (_, path, _, _) in SOURCES {
        let body = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/site")
                .join(&path[1..]),
        )
        .expect("fixture");
        let mut changed_etag = body.clone();
        changed_etag.extend_from_slice(b"\n");
        server.put(path, changed_etag, "application/xml");
    }
    let (code, out, err) = hejnal(&["once", "--config", config]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 new, 0 updated; stories: 0 new"), "{out}");
    let second = parse_output(dir.path(), "feed.xml");
    let ids = |f: &feed_rs::model::Feed| f.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&first),
        ids(&second),
        "story guids changed between runs"
    );
}

#[test]
fn one_broken_source_does_not_stop_the_others() {
    let server = farm();
    server.behave("/nuernberg.atom", Behaviour::Status(500));
    server.behave("/kyiv.json", Behaviour::Garbage);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sources = SOURCES.to_vec();
    sources.push(("refused", "/nothing-here.xml", "pl", "Kraków"));
    let config = write_config(dir.path(), &server, &sources, "");
    let (code, out, err) = hejnal(&["once", "--config", config.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "a run with failing sources still publishes: {err}");
    assert!(out.contains("3 failed"), "{out}");
    assert!(out.contains("failed nuernberg: HTTP 500"), "{out}");
    assert!(out.contains("failed kyiv:"), "{out}");
    assert!(out.contains("failed refused: HTTP 404"), "{out}");
    let feed = parse_output(dir.path(), "feed.xml");
    assert!(all_titles_contain(&feed, "Nowe nasadzenia drzew"));
    assert!(!all_titles_contain(&feed, "Straßenfest"));
}

#[test]
fn a_bad_config_fails_with_a_clear_message_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("feeds.toml");
    std::fs::write(
        &path,
        "[publisher]\ntitle = \"x\"\nbase_url = \"https://x.example/\"\nlanguage = [\"pl\"]\n",
    )
    .expect("write");
    let (code, _, err) = hejnal(&["once", "--config", path.to_str().expect("utf-8 path")]);
    assert_ne!(code, 0);
    assert!(err.contains("feeds.toml:4:"), "{err}");
    assert!(err.contains("unknown key \"language\""), "{err}");
}

#[test]
fn feedparser_reads_every_output_without_complaint() {
    if !tools::available(
        "python3",
        &["-c", "import feedparser"],
        "pip install feedparser",
    ) {
        return;
    }
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server, SOURCES, "");
    assert_eq!(
        hejnal(&["once", "--config", config.to_str().expect("utf-8 path")]).0,
        0
    );
    let script = r#"
import sys, json, feedparser
out = {}
for name in sys.argv[1:]:
    d = feedparser.parse(name)
    out[name] = {"bozo": bool(d.bozo), "error": str(d.get("bozo_exception", "")),
                 "titles": [e.get("title", "") for e in d.entries]}
print(json.dumps(out))
"#;
    let public = dir.path().join("public");
    let names: Vec<String> = ["feed.xml", "feed.atom", "feed.json"]
        .iter()
        .map(|n| public.join(n).to_string_lossy().into_owned())
        .collect();
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&names)
        .output()
        .expect("python3");
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("feedparser report");
    let reference = titles(&parse_output(dir.path(), "feed.xml"));
    for name in &names[..2] {
        let r = &report[name];
        assert_eq!(r["bozo"], false, "{name}: {}", r["error"]);
        let got: Vec<String> = r["titles"]
            .as_array()
            .expect("titles")
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        assert_eq!(got, reference, "{name}");
    }
}

#[test]
fn a_permanent_redirect_is_remembered_and_the_new_url_used() {
    let server = farm();
    server.behave(
        "/old-krakow.xml",
        Behaviour::StatusWith(301, vec![("location", "/krakow.xml".to_string())]),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &server,
        &[("krakow", "/old-krakow.xml", "pl", "Kraków")],
        "",
    );
    let config = config.to_str().expect("utf-8 path");
    let (code, _, err) = hejnal(&["once", "--config", config]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(server.hits("/old-krakow.xml"), 1);
    let (code, out, err) = hejnal(&["once", "--config", config]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        server.hits("/old-krakow.xml"),
        1,
        "the old URL is not asked again"
    );
    assert_eq!(server.hits("/krakow.xml"), 2);
    assert!(out.contains("1 not modified"), "{out}");
}

fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hejnal"));
    command
        .args(args)
        .env("RUST_LOG", "info")
        .env_remove("JOURNAL_STREAM");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("run hejnal");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn logs_suit_journald_and_log_pipelines() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server, &SOURCES[..2], "");
    let config = config.to_str().expect("utf-8 path");

    let (code, journal) = run_with_env(
        &["once", "--config", config],
        &[("JOURNAL_STREAM", "8:1234")],
    );
    assert_eq!(code, 0, "{journal}");
    assert!(!journal.is_empty());
    for line in journal.lines() {
        assert!(
            !line.starts_with("20"),
            "journald adds its own timestamps: {line}"
        );
        assert!(
            !line.contains('\u{1b}'),
            "no colours for the journal: {line}"
        );
    }

    let fresh = tempfile::tempdir().expect("tempdir");
    let fresh_config = write_config(fresh.path(), &server, &SOURCES[..2], "");
    let fresh_config = fresh_config.to_str().expect("utf-8 path");
    let (code, json) = run_with_env(
        &["once", "--config", fresh_config, "--log-format", "json"],
        &[],
    );
    assert_eq!(code, 0, "{json}");
    assert!(!json.is_empty());
    for line in json.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).expect("one JSON object per line");
        assert!(value["level"].is_string(), "{line}");
    }
}

#[test]
fn serve_alone_serves_what_another_node_published() {
    let server = farm();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server, &SOURCES[..2], "");
    let config = config.to_str().expect("utf-8 path");
    assert_eq!(hejnal(&["once", "--config", config]).0, 0);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args([
            "serve",
            "--config",
            config,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let requests_before = server.requests();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (feed, health) = rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Ok(r) = http
                .get(format!("http://127.0.0.1:{port}/feed.xml"))
                .send()
                .await
            {
                let feed = r.bytes().await.expect("body");
                let health = http
                    .get(format!("http://127.0.0.1:{port}/healthz"))
                    .send()
                    .await
                    .expect("healthz");
                break (feed, health.status().as_u16());
            }
            assert!(std::time::Instant::now() < deadline, "serve never answered");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    let on_disk = std::fs::read(dir.path().join("public/feed.xml")).expect("feed");
    assert_eq!(feed.as_ref(), on_disk.as_slice());
    assert_eq!(health, 200);
    assert_eq!(server.requests(), requests_before, "serve fetches nothing");
}

/// An RSS feed of `count` items, each a story of its own, dated in `month`
/// of `year`, spread over its first 28 days.
fn last_months_feed(name: &str, seed: usize, count: usize, (year, month): (i32, u32)) -> String {
    const WORDS: &[&str] = &[
        "rynek",
        "most",
        "tramwaj",
        "park",
        "szkoła",
        "teatr",
        "rada",
        "rower",
        "wisła",
        "kopiec",
        "plac",
        "dworzec",
        "muzeum",
        "ulica",
        "las",
        "biblioteka",
        "targ",
        "festiwal",
        "kino",
        "port",
    ];
    let mut items = String::new();
    for n in 0..count {
        // Words picked by the digits of the item's number in three bases, so
        // no two summaries look alike to the near-duplicate fingerprint, and
        // marked with the source's seed, so that no two sources share a pair
        // of words for the body keys of short texts to find.
        let m = n + seed * count;
        let text: Vec<String> = (0..24)
            .map(|k| {
                let word = WORDS[(m / [1, 7, 13][k % 3] + k * 3 + m * k) % WORDS.len()];
                format!("{word}{seed}")
            })
            .collect();
        let day = n % 28 + 1;
        let minute = n % 60;
        let date = chrono::NaiveDate::from_ymd_opt(year, month, u32::try_from(day).unwrap())
            .unwrap()
            .and_hms_opt(12, u32::try_from(minute).unwrap(), 0)
            .unwrap()
            .and_utc()
            .to_rfc2822();
        items.push_str(&format!(
            "<item><title>{name} wiadomość {n}</title>\
             <link>https://{name}.example/a/{n}</link><guid>https://{name}.example/a/{n}</guid>\
             <pubDate>{date}</pubDate><description>&lt;p&gt;{n} {}&lt;/p&gt;</description></item>",
            text.join(" ")
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>\
         <title>{name}</title><link>https://{name}.example/</link><description>x</description>\
         {items}</channel></rss>"
    )
}

/// The month before this one, as (year, month).
fn last_month() -> (i32, u32) {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let last_month = today.with_day(1).unwrap().pred_opt().unwrap();
    (last_month.year(), last_month.month())
}

/// On the first run of a month, last month is archived; a busy month in
/// pages of at most a thousand stories, each with a gzip sibling, chained from
/// the current feed back through every page, so that every story of the month
/// can be found again.
#[test]
fn a_busy_month_is_archived_in_pages_that_reach_every_story() {
    let server = FeedServer::start();
    let month = last_month();
    let names = ["rynek", "kazimierz", "zablocie"];
    for (seed, name) in names.iter().enumerate() {
        server.put(
            &format!("/{name}.xml"),
            last_months_feed(name, seed, 800, month),
            "application/rss+xml",
        );
    }
    let sources: Vec<(&str, String, &str, &str)> = names
        .iter()
        .map(|name| (*name, format!("/{name}.xml"), "pl", "Kraków"))
        .collect();
    let sources: Vec<(&str, &str, &str, &str)> = sources
        .iter()
        .map(|(id, path, lang, city)| (*id, path.as_str(), *lang, *city))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server, &sources, "max_items_per_feed = 1000");
    let (code, out, err) = hejnal(&["once", "--config", config.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");

    let public = dir.path().join("public");
    let base = "https://news.example.org/";
    let mut document = std::fs::read_to_string(public.join("feed.xml")).expect("feed.xml");
    let mut pages = Vec::new();
    let mut titles_seen = Vec::new();
    while let Some(end) = document.find("\" rel=\"prev-archive\"") {
        let start = document[..end].rfind("href=\"").expect("href") + "href=\"".len();
        let page = document[start..end]
            .strip_prefix(base)
            .expect("archive under base_url")
            .to_string();
        let bytes = std::fs::read(public.join(&page)).expect("archive page");
        let mut unpacked = Vec::new();
        let gz = std::fs::read(public.join(format!("{page}.gz"))).expect("gzip sibling");
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unpacked)
            .expect("gzip sibling decompresses");
        assert!(unpacked == bytes, "{page}.gz is not {page}");
        let feed = feed_rs::parser::parse(&bytes[..]).expect("archive page parses");
        assert!(feed.entries.len() <= 1000, "{page}: {}", feed.entries.len());
        titles_seen.extend(titles(&feed));
        document = String::from_utf8(bytes).expect("utf-8");
        pages.push(page);
    }
    let (year, month) = month;
    let first = format!("archive/{year:04}-{month:02}.xml");
    assert_eq!(
        pages,
        [3, 2]
            .iter()
            .map(|n| format!("archive/{year:04}-{month:02}-p{n}.xml"))
            .chain([first])
            .collect::<Vec<_>>()
    );
    for name in names {
        for n in 0..800 {
            let title = format!("{name} wiadomość {n}");
            let found = titles_seen.iter().filter(|t| **t == title).count();
            assert_eq!(found, 1, "{title} is in {found} archive pages");
        }
    }
}

/// A feed of more items than the cycle's queue of stored-to-be entries holds
/// (5,000) is stored whole, beside a small one: it takes the whole queue
/// instead of waiting for room that never comes.
#[test]
fn a_feed_longer_than_the_cycles_queue_is_stored_whole() {
    let server = FeedServer::start();
    let month = last_month();
    for (seed, (name, count)) in [("rynek", 6_000), ("kazimierz", 10)].iter().enumerate() {
        server.put(
            &format!("/{name}.xml"),
            last_months_feed(name, seed, *count, month),
            "application/rss+xml",
        );
    }
    let sources = [
        ("rynek", "/rynek.xml", "pl", "Kraków"),
        ("kazimierz", "/kazimierz.xml", "pl", "Kraków"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server, &sources, "max_items_per_feed = 10000");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .args(["once", "--config", config.to_str().expect("utf-8 path")])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run hejnal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for hejnal") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("`hejnal once` still runs after 10 minutes: the long feed never got its room");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    let db = rusqlite::Connection::open(dir.path().join("hejnal.db")).expect("database");
    let stored = |source: &str| -> i64 {
        db.query_row(
            "SELECT count(*) FROM entries WHERE source_id = ?1",
            [source],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!(stored("rynek"), 6_000);
    assert_eq!(stored("kazimierz"), 10);
}
