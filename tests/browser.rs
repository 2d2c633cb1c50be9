//! The site in a real browser: headless Chromium loads the pages and the
//! feeds from a loopback server, and the DOM it builds, or the text of the
//! page it prints, is checked. Chromium runs with XSLT switched off, as
//! browsers are removing it. Screenshots land in target/screenshots/ for a
//! human to look at.

#[path = "fixtures/site_stories.rs"]
mod fixture;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use fixture::*;
use hejnal::publish::{self, RenderExtras};

const CHROMIUM: &str = "chromium";

/// Whether Chromium can run here. On CI a missing browser fails the test;
/// elsewhere the test says it is skipped.
fn chromium_available() -> bool {
    tools::available(CHROMIUM, &["--version"], "Debian package chromium")
}

/// What a static server must say for a browser to show each file: feeds as
/// plain XML, since Chromium shows `application/rss+xml` as source text and
/// applies no stylesheet to it.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("xml" | "atom") => "application/xml; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/feed+json",
        _ => "application/octet-stream",
    }
}

async fn serve_file(State(root): State<Arc<PathBuf>>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.split('/').any(|part| part == "..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(root.join(path)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(path))], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Serves `root` on a loopback port; returns the site's address.
async fn serve(root: PathBuf) -> String {
    let app = Router::new()
        .fallback(serve_file)
        .with_state(Arc::new(root));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/")
}

/// Runs headless Chromium on `url` with `args`, bounded to 30 seconds, in a
/// fresh profile; returns what it printed.
fn chromium(url: &str, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("30")
        .arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-features=XSLT",
            "--disable-blink-features=XSLT",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshots() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The DOM Chromium builds for `page`, and a screenshot of it.
async fn visit(site: &str, page: &str) -> String {
    let url = format!("{site}{page}");
    let dom_url = url.clone();
    let dom = tokio::task::spawn_blocking(move || chromium(&dom_url, &["--dump-dom".to_string()]))
        .await
        .unwrap();
    screenshot(url, page).await;
    dom
}

/// A screenshot of `url` in target/screenshots/, named after `page`.
async fn screenshot(url: String, page: &str) {
    let shot = screenshots().join(format!("{}.png", page.replace('/', "_")));
    let args = vec![
        format!("--screenshot={}", shot.display()),
        "--window-size=1200,1600".to_string(),
    ];
    tokio::task::spawn_blocking(move || chromium(&url, &args))
        .await
        .unwrap();
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 0),
        "no screenshot of {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_shows_the_pages_and_the_feeds() {
    if !chromium_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let extras = RenderExtras::default();
    let files = publish::render_with(&config(), &stories(), &extras).unwrap();
    publish::write(dir.path(), &files).unwrap();
    let site = serve(dir.path().to_path_buf()).await;

    let combined = visit(&site, "index.html").await;
    assert!(combined.contains("<html lang=\"pl\">"), "{combined}");
    for text in [
        "Hejnał zagrał o północy",
        "Bugle call at midnight",
        "Nowy tramwaj",
        "New tram",
        "24 listopada 2026",
    ] {
        assert!(
            combined.contains(text),
            "index.html lacks {text}:\n{combined}"
        );
    }
    assert!(combined.contains("href=\"en/index.html\""));
    assert!(combined.contains("href=\"pl/index.html\""));

    let english = visit(&site, "en/index.html").await;
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    for text in [
        "Bugle call at midnight",
        "New tram",
        "Machine translation (libretranslate)",
        "24 November 2026",
    ] {
        assert!(
            english.contains(text),
            "en/index.html lacks {text}:\n{english}"
        );
    }
    assert!(!english.contains("Hejnał zagrał"));
    assert!(english.contains("href=\"../index.html\""));
    assert!(english.contains("href=\"../pl/index.html\""));

    // A static server sends the feed itself: its CSS shows the title, how to
    // subscribe and the items, with no XSLT.
    let rss = printed(&site, "feed.xml").await;
    for text in [
        "Hejnał",
        "To jest kanał wiadomości",
        "Skopiuj ten adres",
        "https://hejnal.example/news/feed.xml",
        "Hejnał zagrał o północy / Bugle call at midnight",
        "Nowy tramwaj / New tram",
    ] {
        assert!(rss.contains(text), "feed.xml as shown lacks {text}:\n{rss}");
    }
    assert!(!rss.contains("<![CDATA["), "{rss}");
    let atom = printed(&site, "en/feed.atom").await;
    for text in [
        "This is a news feed",
        "https://hejnal.example/news/en/feed.atom",
        "Bugle call at midnight",
    ] {
        assert!(
            atom.contains(text),
            "en/feed.atom as shown lacks {text}:\n{atom}"
        );
    }
}

/// The text of `page` as Chromium lays it out (printed to PDF, read back
/// with pdftotext, lines joined), and a screenshot of it.
async fn printed(site: &str, page: &str) -> String {
    let url = format!("{site}{page}");
    let pdf = screenshots().join(format!("{}.pdf", page.replace('/', "_")));
    let args = vec![
        format!("--print-to-pdf={}", pdf.display()),
        "--no-pdf-header-footer".to_string(),
    ];
    let print_url = url.clone();
    tokio::task::spawn_blocking(move || chromium(&print_url, &args))
        .await
        .unwrap();
    screenshot(url, page).await;
    let out = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian package poppler-utils)");
    assert!(out.status.success(), "pdftotext failed on {page}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A person who opens a feed's address in a browser, from hejnal's own
/// server, is shown the feed's page: its title, how to subscribe and the
/// latest stories with dates written for people.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_opened_in_a_browser_from_hejnal_shows_its_page() {
    if !chromium_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = publish::render(&config(), &stories()).unwrap();
    publish::write(dir.path(), &files).unwrap();
    let status = Arc::new(hejnal::serve::status::Status::serve_only());
    let app = hejnal::serve::router(hejnal::serve::Site::new(
        dir.path().to_path_buf(),
        status,
        std::time::Duration::from_secs(60),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let site = format!("http://{addr}/");

    let polish = visit(&site, "pl/feed.xml").await;
    for text in [
        "<html lang=\"pl\">",
        "Hejnał (PL)",
        "Wklej adres kanału do czytnika kanałów",
        "Hejnał zagrał o północy",
        "24 listopada 2026",
    ] {
        assert!(polish.contains(text), "pl/feed.xml lacks {text}:\n{polish}");
    }
    assert!(!polish.contains("+0000"), "{polish}");
    let english = visit(&site, "en/feed.atom").await;
    assert!(english.contains("Bugle call at midnight"), "{english}");
    assert!(english.contains("24 November 2026"), "{english}");
}

/// Sources in every state, as the store would remember them.
fn health_of_every_kind() -> (
    hejnal::config::Config,
    Vec<hejnal::alerts::health::SourceHealth>,
) {
    use chrono::{Duration, TimeZone, Utc};
    use hejnal::alerts::health::assess;
    use hejnal::model::{Lang, SourceState};
    use hejnal::store::HealthFacts;

    let mut text = "[publisher]\ntitle = \"Hejnał\"\nbase_url = \"https://hejnal.example/news/\"\n\
        languages = [\"pl\", \"en\"]\n"
        .to_string();
    for (id, city, lang, extra) in [
        ("wien", "Wien", "de", ""),
        ("bordeaux", "Bordeaux", "fr", ""),
        ("leipzig", "Leipzig", "de", ""),
        ("lwow", "Lwów", "uk", ""),
        ("kyiv", "Kyiv", "uk", "enabled = false"),
    ] {
        text.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nname = \"{city} — news\"\ncity = \"{city}\"\n\
             url = \"https://{id}.example/feed\"\nlang = \"{lang}\"\n{extra}\n"
        ));
    }
    let config = hejnal::config::Config::parse(&text, ".".into()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
    let seen = |days: i64| Some(now - Duration::days(days));
    let ok = SourceState {
        last_ok: seen(0),
        ..SourceState::default()
    };
    let en = Lang::parse("en").unwrap();
    let facts = [
        HealthFacts {
            failing_since: seen(2),
            last_failure: seen(0),
            failure_reason: Some("HTTP 404".into()),
            failure_chain: vec![301, 302, 404],
            per_week: [0, 3, 5, 4],
            newest_item: seen(3),
            conditional: Some(true),
            ..HealthFacts::default()
        },
        HealthFacts {
            per_week: [6, 7, 5, 6],
            newest_item: seen(0),
            conditional: Some(false),
            recent_langs: vec![(en, 12)],
            warnings: vec![hejnal::parse::Warning::Windows1252Repaired],
            ..HealthFacts::default()
        },
        HealthFacts {
            newest_item: seen(40),
            usual_gap: Some(Duration::days(1)),
            ..HealthFacts::default()
        },
        HealthFacts {
            last_failure: seen(1),
            failure_reason: Some("410 Gone: the feed was removed".into()),
            failure_chain: vec![410],
            ..HealthFacts::default()
        },
        HealthFacts::default(),
    ];
    let health = config
        .sources
        .iter()
        .zip(facts)
        .map(|(source, facts)| {
            let source = source.get_ref();
            let state = match source.id.as_str() {
                "lwow" => SourceState {
                    gone_url: Some(source.url.clone()),
                    ..SourceState::default()
                },
                _ => ok.clone(),
            };
            assess(source, &state, facts, &config.alerts, now)
        })
        .collect();
    (config, health)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_shows_the_status_page_on_a_desk_and_on_a_phone() {
    if !chromium_available() {
        return;
    }
    let (config, health) = health_of_every_kind();
    let dir = tempfile::tempdir().unwrap();
    let files = publish::status::render(&config, &health).unwrap();
    publish::write(dir.path(), &files).unwrap();
    let site = serve(dir.path().to_path_buf()).await;

    let english = visit(&site, "en/status.html").await;
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    let states: Vec<&str> = english
        .split("data-state=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(states, ["failing", "gone", "quiet", "ok", "disabled"]);
    for text in [
        "failing since 22 November 2026, 12:00 UTC",
        "HTTP 404 (HTTP statuses: 301 → 302 → 404)",
        "0 · 3 · 5 · 4",
        "quiet since 15 October 2026, 12:00 UTC",
        "FR (detected: EN)",
        "not the declared one",
        "Windows-1252 characters inside UTF-8 were repaired",
        "gone (410)",
        "What to do:",
        "5 sources, 3 in trouble.",
    ] {
        assert!(
            english.contains(text),
            "en/status.html lacks {text}:\n{english}"
        );
    }
    let polish = visit(&site, "status.html").await;
    assert!(polish.contains("<html lang=\"pl\">"));
    assert!(
        polish.contains("nie działa od 22 listopada 2026"),
        "{polish}"
    );

    // A phone: the same page at a phone's width, for a human to look at.
    let shot = screenshots().join("status_phone.png");
    let args = vec![
        format!("--screenshot={}", shot.display()),
        "--window-size=390,1800".to_string(),
    ];
    let url = format!("{site}en/status.html");
    tokio::task::spawn_blocking(move || chromium(&url, &args))
        .await
        .unwrap();
    assert!(std::fs::metadata(&shot).is_ok_and(|m| m.len() > 0));
}
