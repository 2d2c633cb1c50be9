//! Hostile and broken sources end to end: the real `hejnal once` against a
//! loopback farm where one source misbehaves and the others must still publish.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use common::html::{squeezed, tags_of};
use common::{Behaviour, FEED_FILES, FeedServer, hejnal};

/// One `[[source]]` of a generated feeds.toml.
struct Src<'a> {
    id: &'a str,
    path: &'a str,
    name: &'a str,
    city: &'a str,
    /// Extra lines inside the `[[source]]` table.
    extra: &'a str,
}

fn src<'a>(id: &'a str, path: &'a str) -> Src<'a> {
    Src {
        id,
        path,
        name: id,
        city: "Kraków",
        extra: "",
    }
}

/// A feeds.toml in `dir` for `sources` on `server`; `fetch` goes into `[fetch]`.
fn write_config(dir: &Path, server: &FeedServer, sources: &[Src], fetch: &str) -> PathBuf {
    let mut text = format!(
        "[publisher]\ntitle = \"Hostile\"\ndescription = \"Hostile sources\"\n\
         base_url = \"https://news.example.org/\"\nlanguages = [\"pl\", \"en\"]\n\
         output_dir = \"public\"\ndatabase = \"hejnal.db\"\nmax_items = 2000\n\
         concurrency = 8\n\n[fetch]\ntimeout_secs = 10\nconnect_timeout_secs = 2\n\
         read_idle_timeout_secs = 5\n{fetch}\n"
    );
    for s in sources {
        text.push_str(&format!(
            "\n[[source]]\nid = \"{}\"\nname = {:?}\ncity = {:?}\ncountry = \"PL\"\n\
             url = \"{}\"\nlang = \"pl\"\n{}\n",
            s.id,
            s.name,
            s.city,
            server.url(s.path),
            s.extra
        ));
    }
    let path = dir.join("feeds.toml");
    std::fs::write(&path, text).expect("write feeds.toml");
    path
}

fn once(config: &Path) -> (i32, String, String) {
    hejnal(&["once", "--config", config.to_str().expect("utf-8 path")])
}

fn fixture(folder: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    let path = dir.join("public").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_feed(dir: &Path, name: &str) -> feed_rs::model::Feed {
    feed_rs::parser::parse(read(dir, name).as_slice())
        .unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
        .collect()
}

fn has_title(feed: &feed_rs::model::Feed, needle: &str) -> bool {
    titles(feed).iter().any(|t| t.contains(needle))
}

/// (source id, entry key) of every stored entry, as the database holds them.
fn stored_entries(dir: &Path) -> Vec<(String, String)> {
    let db = rusqlite::Connection::open(dir.join("hejnal.db")).expect("open database");
    let mut query = db
        .prepare("SELECT source_id, key FROM entries")
        .expect("query");
    query
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("entries")
}

#[test]
fn an_html_page_where_a_feed_should_be_names_the_feeds_it_links() {
    let server = FeedServer::start();
    server.put(
        "/aktualnosci",
        fixture("feeds", "html_page.html"),
        "text/html; charset=utf-8",
    );
    server.put(
        "/krakow.xml",
        fixture("site", "krakow.xml"),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &server,
        &[
            src("homepage", "/aktualnosci"),
            src("krakow", "/krakow.xml"),
        ],
        "",
    );
    let (code, out, err) = once(&config);
    assert_eq!(code, 0, "{out}\n{err}");
    let expected = format!(
        "failed homepage: not a feed: an HTML page; feeds linked from it: {}, {}",
        server.url("/rss/aktualnosci.xml"),
        "https://events.krakow.pl/atom"
    );
    assert!(out.contains(&expected), "{out}");
    assert!(has_title(
        &parse_feed(dir.path(), "feed.xml"),
        "Nowe nasadzenia drzew"
    ));
}

fn rss(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Generated</title><link>https://example.org/</link>{items}</channel></rss>"
    )
}

/// 100,000 dated items; the newest are the ones whose index is divisible by 1,000.
fn hundred_thousand_items() -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .expect("date")
        .with_timezone(&Utc);
    let items: String = (0..100_000)
        .map(|i: i64| {
            let date = if i % 1000 == 0 {
                base + TimeDelta::days(30) + TimeDelta::minutes(i / 1000)
            } else {
                base + TimeDelta::seconds(i)
            };
            format!(
                "<item><title>n{i}</title><guid>g{i}</guid><pubDate>{}</pubDate></item>",
                date.to_rfc2822()
            )
        })
        .collect();
    rss(&items)
}

#[test]
fn hostile_documents_fail_alone_or_come_out_tamed_and_the_others_publish() {
    let server = FeedServer::start();
    let xml = "application/rss+xml";
    server.put("/krakow.xml", fixture("site", "krakow.xml"), xml);
    for name in [
        "malformed.xml",
        "truncated.xml",
        "billion_laughs.xml",
        "bom.xml",
        "invalid_utf8.xml",
        "control_chars.xml",
        "future_dates.xml",
        "no_dates.xml",
    ] {
        server.put(&format!("/{name}"), fixture("feeds", name), xml);
    }
    let port = server.addr.port().to_string();
    let xxe = String::from_utf8_lossy(&fixture("feeds", "xxe.xml")).replace("PORT", &port);
    server.put("/xxe.xml", xxe, xml);
    // The prolog names no encoding; only the HTTP header says windows-1250.
    server.put(
        "/charset.xml",
        fixture("feeds", "polish_header_charset.xml"),
        "application/rss+xml; charset=windows-1250",
    );
    let depth = 100_000;
    let deep = rss(&format!(
        "<item><title>deep</title>{}x{}</item>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    ));
    server.put("/deep.xml", deep, xml);
    server.put("/huge.xml", hundred_thousand_items(), xml);
    let title = "Zażółć gęślą jaźń ".repeat(60_000);
    server.put(
        "/title.xml",
        rss(&format!(
            "<item><title>{title}</title><link>https://example.org/big</link></item>"
        )),
        xml,
    );
    server.put("/empty.xml", "", xml);
    server.put("/text.xml", "Service Unavailable", "text/plain");

    let mut sources: Vec<Src> = [
        ("krakow", "/krakow.xml"),
        ("malformed", "/malformed.xml"),
        ("truncated", "/truncated.xml"),
        ("laughs", "/billion_laughs.xml"),
        ("bom", "/bom.xml"),
        ("badutf8", "/invalid_utf8.xml"),
        ("control", "/control_chars.xml"),
        ("future", "/future_dates.xml"),
        ("nodates", "/no_dates.xml"),
        ("xxe", "/xxe.xml"),
        ("charset", "/charset.xml"),
        ("deep", "/deep.xml"),
        ("title", "/title.xml"),
        ("empty", "/empty.xml"),
        ("text", "/text.xml"),
    ]
    .into_iter()
    .map(|(id, path)| src(id, path))
    .collect();
    sources.push(Src {
        extra: "max_body_bytes = 20000000",
        ..src("huge", "/huge.xml")
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &server, &sources, "max_items_per_feed = 40");
    let started = Instant::now();
    let (code, out, err) = once(&config);
    let took = started.elapsed();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(took < Duration::from_secs(60), "took {took:?}");

    for (id, cause) in [
        ("malformed", "not a feed: malformed XML"),
        ("truncated", "not a feed: malformed XML"),
        ("deep", "elements nest deeper than"),
        ("empty", "the document is empty"),
        ("text", "neither XML nor JSON"),
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("failed {id}:")))
            .unwrap_or_else(|| panic!("no failure line for {id}:\n{out}"));
        assert!(line.contains(cause), "{line}");
    }
    assert!(
        out.contains("sources: 11 ok, 0 not modified, 5 failed"),
        "{out}"
    );
    assert_eq!(server.hits("/xxe"), 0, "an external entity was fetched");
    assert_eq!(server.hits("/dtd"), 0, "an external DTD was fetched");

    let now = Utc::now();
    for name in FEED_FILES {
        let raw = String::from_utf8_lossy(&read(dir.path(), name)).into_owned();
        assert!(!raw.contains("lollol"), "{name}: an entity expanded");
        assert!(!raw.contains("root:"), "{name}: a local file leaked");
        assert!(!raw.contains('\u{7}'), "{name}: a control character");
    }
    let feed = parse_feed(dir.path(), "feed.json");
    for needle in [
        "Nowe nasadzenia drzew",
        "Boom",
        "Łódź po BOM-ie",
        "Good item ż",
        "Bell and vertical tab",
        "From 2099",
        "Secret",
        "Zażółć gęślą jaźń",
        "n99000",
    ] {
        assert!(has_title(&feed, needle), "{needle}: {:?}", titles(&feed));
    }
    for entry in &feed.entries {
        let title = entry.title.as_ref().map(|t| t.content.as_str());
        let chars = title.map(|t| t.chars().count()).unwrap_or(0);
        assert!(chars < 2 * 300 + 10, "a title of {chars} characters");
        for date in [entry.published, entry.updated].into_iter().flatten() {
            assert!(
                date <= now + TimeDelta::days(1),
                "{title:?} dated {date}, in the future"
            );
            assert!(date.timestamp() > 0, "{title:?} dated {date}");
        }
    }

    // The newest 40 of 100,000, no more: the ones dated a month later.
    let mut huge: Vec<i64> = stored_entries(dir.path())
        .into_iter()
        .filter(|(source, _)| source == "huge")
        .filter_map(|(_, key)| key.strip_prefix('g')?.parse().ok())
        .collect();
    huge.sort_unstable();
    let newest: Vec<i64> = (60..100).map(|k| k * 1000).collect();
    assert_eq!(huge, newest);
}

#[test]
fn a_source_over_its_own_body_cap_fails_alone() {
    let server = FeedServer::start();
    let body = fixture("site", "krakow.xml");
    assert!(body.len() > 500);
    server.put("/krakow.xml", body.clone(), "application/rss+xml");
    // The same document under a second URL: one feed may be listed only once.
    server.put("/capped.xml", body, "application/rss+xml");
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = [
        Src {
            extra: "max_body_bytes = 500",
            ..src("capped", "/capped.xml")
        },
        src("krakow", "/krakow.xml"),
    ];
    let config = write_config(dir.path(), &server, &sources, "");
    let (code, out, err) = once(&config);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("failed capped: body larger than 500 bytes"),
        "{out}"
    );
    assert!(out.contains("1 ok"), "{out}");
}

/// A server answering every request with `body` sent as `Content-Encoding: br`.
async fn serve_brotli(body: Vec<u8>) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\
                 Content-Encoding: br\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
        }
    });
    addr
}

#[tokio::test]
async fn a_brotli_bomb_is_stopped_at_the_cap() {
    use std::io::Write;
    const CAP: u64 = 64 * 1024;
    let mut bomb = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut bomb, 4096, 1, 22);
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..8 {
            writer.write_all(&zeros).expect("brotli");
        }
    }
    assert!((bomb.len() as u64) < CAP / 4, "{} bytes packed", bomb.len());
    let addr = serve_brotli(bomb).await;
    let settings = hejnal::config::FetchConfig {
        timeout_secs: 5,
        ..Default::default()
    };
    let fetcher = hejnal::fetch::Fetcher::new(&settings, "hejnal-test").expect("fetcher");
    let result = fetcher
        .fetch(&format!("http://{addr}/"), &Default::default(), CAP)
        .await;
    assert!(
        matches!(
            result,
            Err(hejnal::fetch::FetchError::TooLarge { limit: CAP })
        ),
        "{result:?}"
    );
}

#[test]
fn deny_private_networks_refuses_loopback_sources_without_connecting() {
    let server = FeedServer::start();
    server.put(
        "/krakow.xml",
        fixture("site", "krakow.xml"),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &server,
        &[src("krakow", "/krakow.xml")],
        "deny_private_networks = true",
    );
    let (code, out, err) = once(&config);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("resolves to a private or local address, and deny_private_networks is on"),
        "{out}"
    );
    assert_eq!(server.requests(), 0, "the fetcher connected anyway");
}

#[test]
fn permanent_redirects_are_remembered_temporary_ones_and_gone_feeds_are_not_fetched_again() {
    let server = FeedServer::start();
    let xml = "application/rss+xml";
    server.put("/new.xml", fixture("site", "krakow.xml"), xml);
    server.put("/other.xml", fixture("site", "cp1250.xml"), xml);
    let to = |path: &str| vec![("location", path.to_string())];
    server.behave("/moved", Behaviour::StatusWith(301, to("/new.xml")));
    server.behave("/moved308", Behaviour::StatusWith(308, to("/other.xml")));
    server.behave("/temp", Behaviour::StatusWith(302, to("/new.xml")));
    server.behave("/temp307", Behaviour::StatusWith(307, to("/other.xml")));
    server.behave("/gone", Behaviour::Status(410));
    server.behave("/broken", Behaviour::Status(500));
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = [
        src("moved", "/moved"),
        src("moved308", "/moved308"),
        src("temp", "/temp"),
        src("temp307", "/temp307"),
        src("gone", "/gone"),
        src("broken", "/broken"),
    ];
    let config = write_config(dir.path(), &server, &sources, "");
    let (code, out, err) = once(&config);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("failed gone: 410 Gone"), "{out}");
    assert!(out.contains("failed broken: HTTP 500"), "{out}");
    let (code, out, err) = once(&config);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("failed gone"), "{out}");
    for (path, hits) in [
        ("/moved", 1),
        ("/moved308", 1),
        ("/temp", 2),
        ("/temp307", 2),
        ("/gone", 1),
        ("/broken", 2),
    ] {
        assert_eq!(server.hits(path), hits, "{path}");
    }
    // Editing the url in feeds.toml brings a gone source back.
    server.put("/back.xml", fixture("site", "krakow.xml"), xml);
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace(&server.url("/gone"), &server.url("/back.xml"));
    std::fs::write(&config, text).expect("config");
    let (_, out, _) = once(&config);
    assert!(!out.contains("failed gone"), "{out}");
    assert_eq!(server.hits("/back.xml"), 1);
}

#[test]
fn failures_back_off_exponentially_and_retry_after_delays_the_next_fetch() {
    use hejnal::config::Config;
    use hejnal::cycle::schedule::{Signals, next_due};
    let text = "[publisher]\ntitle = \"t\"\nbase_url = \"https://news.example.org/\"\n\
                schedule = \"0 */15 * * * *\"\n[fetch]\nbackoff_max_minutes = 120\n\
                [[source]]\nid = \"s\"\nname = \"s\"\nurl = \"https://e.org/rss\"\nlang = \"pl\"\n";
    let config = Config::parse(text, PathBuf::from(".")).unwrap_or_else(|e| panic!("{e:?}"));
    let source = config.sources[0].get_ref();
    let now: DateTime<Utc> = "2026-05-01T12:00:00Z".parse().expect("date");
    let wait = |signals: Signals| (next_due(&signals, &config, source, now) - now).num_minutes();
    let after = |failures| {
        wait(Signals {
            failures,
            ..Signals::default()
        })
    };
    assert_eq!(after(0), 15, "a healthy source follows its schedule");
    assert_eq!(
        [after(1), after(2), after(3), after(4), after(5), after(30)],
        [15, 30, 60, 120, 120, 120],
        "each failure doubles the wait up to backoff_max_minutes"
    );
    let asked = wait(Signals {
        retry_after: Some(Duration::from_secs(3 * 3600)),
        ..Signals::default()
    });
    assert_eq!(asked, 180, "Retry-After: 10800 is honoured");
}

// ---- scripts -------------------------------------------------------------

fn vectors() -> Vec<String> {
    String::from_utf8_lossy(&fixture("xss", "vectors.txt"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Every vector in every field an RSS item has.
fn rss_with_vectors(vectors: &[String]) -> String {
    let items: String = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = xml_escape(v);
            format!(
                "<item><title>{v}</title><link>{v}</link><guid>{v}</guid>\
                 <description>{v}</description><author>{v}</author><dc:creator>{v}</dc:creator>\
                 <comments>{v}</comments><enclosure url=\"{v}\" type=\"image/png\" length=\"1\"/>\
                 <media:thumbnail url=\"{v}\"/></item>\
                 <item><title>r{i} {v}</title><link>https://krakow.pl/r/{i}</link><guid>r{i}</guid>\
                 <content:encoded>{v}</content:encoded>\
                 <media:content url=\"{v}\" medium=\"image\"/></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:media=\"http://search.yahoo.com/mrss/\"><channel>\
         <title>XSS</title><link>https://krakow.pl/</link>{items}</channel></rss>"
    )
}

fn atom_with_vectors(vectors: &[String]) -> String {
    let entries: String = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = xml_escape(v);
            format!(
                "<entry><id>{v}</id><title type=\"html\">a{i} {v}</title>\
                 <link rel=\"alternate\" href=\"{v}\"/><link rel=\"enclosure\" href=\"{v}\"/>\
                 <updated>2026-01-01T00:00:00Z</updated>\
                 <author><name>{v}</name><uri>{v}</uri></author>\
                 <summary type=\"html\">{v}</summary><content type=\"html\">{v}</content></entry>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>XSS</title><id>urn:xss</id><updated>2026-01-01T00:00:00Z</updated>{entries}</feed>"
    )
}

fn json_with_vectors(vectors: &[String]) -> String {
    let items: Vec<serde_json::Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::json!({
                "id": v, "url": v, "external_url": v, "title": format!("j{i} {v}"),
                "content_html": v, "summary": v, "image": v, "banner_image": v,
                "authors": [{"name": v, "url": v, "avatar": v}],
                "attachments": [{"url": v, "mime_type": "image/png"}],
            })
        })
        .collect();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "XSS", "home_page_url": "https://krakow.pl/", "items": items,
    })
    .to_string()
}

/// Elements that run code, load active content or change where a page points.
const FORBIDDEN_TAGS: &[&str] = &[
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "base",
    "template",
    "video",
    "audio",
    "source",
    "portal",
    "layer",
    "bgsound",
    "xml",
    "isindex",
    "keygen",
    "marquee",
    "details",
    "dialog",
    "noscript",
    "plaintext",
    "xmp",
];

/// Tags an item's HTML never needs, though a whole page has them once.
const PAGE_TAGS: &[&str] = &["style", "meta", "link", "body", "html", "head", "title"];

fn is_active_url(value: &str) -> bool {
    let url = squeezed(value);
    ["javascript:", "vbscript:", "data:", "livescript:"]
        .iter()
        .any(|s| url.starts_with(s))
}

/// A link a reader may follow or load: absolute http(s) (or mailto for a link).
fn assert_web_link(value: &str, what: &str) {
    let scheme = url::Url::parse(value).map(|u| u.scheme().to_string());
    assert!(
        scheme
            .as_deref()
            .is_ok_and(|s| matches!(s, "http" | "https" | "mailto")),
        "{what}: {value:?} is not a web link"
    );
    assert!(!is_active_url(value), "{what}: {value:?}");
}

const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "poster",
    "data",
    "background",
    "srcset",
    "xlink:href",
    "lowsrc",
    "dynsrc",
    "cite",
];

/// No executable markup in `html`; `page` allows a page's own head and style.
fn assert_harmless_html(html: &str, page: bool, what: &str) {
    for (tag, attrs) in tags_of(html) {
        assert!(
            !FORBIDDEN_TAGS.contains(&tag.as_str()),
            "{what}: <{tag}> survived"
        );
        assert!(
            page || !PAGE_TAGS.contains(&tag.as_str()),
            "{what}: <{tag}> inside an item"
        );
        for (name, value) in attrs {
            assert!(
                !name.starts_with("on"),
                "{what}: <{tag} {name}={value:?}> survived"
            );
            if name == "style" {
                // A page styles itself; an item's HTML never carries style.
                let css = squeezed(&value);
                assert!(
                    page && !css.contains("expression(") && !css.contains("javascript:"),
                    "{what}: <{tag} style={value:?}>"
                );
            }
            if URL_ATTRIBUTES.contains(&name.as_str()) {
                assert!(!is_active_url(&value), "{what}: <{tag} {name}={value:?}>");
                if !page {
                    assert_web_link(&value, &format!("{what}: <{tag} {name}>"));
                }
            }
        }
    }
}

/// A `<` that opens a tag, as opposed to a lone less-than sign in plain text.
fn has_tag(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
}

/// What a feed reader shows of an entry: plain titles and names, HTML bodies,
/// links it follows, pictures it loads.
fn assert_entry_harmless(entry: &feed_rs::model::Entry, what: &str) {
    let title = entry
        .title
        .as_ref()
        .map(|t| t.content.as_str())
        .unwrap_or("");
    let what = format!("{what} {title:?}");
    assert!(!has_tag(title), "{what}: markup in the title");
    for body in [
        entry.summary.as_ref().map(|s| s.content.as_str()),
        entry.content.as_ref().and_then(|c| c.body.as_deref()),
    ]
    .into_iter()
    .flatten()
    {
        assert_harmless_html(body, false, &what);
    }
    for link in &entry.links {
        assert_web_link(&link.href, &format!("{what}: link"));
    }
    for person in entry.authors.iter().chain(&entry.contributors) {
        let name = person.name.as_deref().unwrap_or("");
        // The source's own name stands in for a missing author: text from
        // feeds.toml that came back exactly, so it was escaped, not interpreted.
        assert!(
            name == EVIL_NAME || !has_tag(name),
            "{what}: author {name:?}"
        );
        if let Some(uri) = &person.uri {
            assert_web_link(uri, &format!("{what}: author uri"));
        }
    }
    for media in &entry.media {
        for url in media
            .content
            .iter()
            .filter_map(|c| c.url.as_ref())
            .map(|u| u.to_string())
            .chain(media.thumbnails.iter().map(|t| t.image.uri.clone()))
        {
            assert_web_link(&url, &format!("{what}: media"));
        }
    }
}

/// JSON members a reader follows or loads, checked as links wherever they appear.
fn assert_json_links(value: &serde_json::Value, path: &str) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                let is_link = ["url", "link", "image", "avatar", "icon", "favicon"]
                    .iter()
                    .any(|k| key.ends_with(k));
                match v {
                    serde_json::Value::String(s) if is_link => assert_web_link(s, &here),
                    serde_json::Value::String(s) if key == "content_html" => {
                        assert_harmless_html(s, false, &here)
                    }
                    _ => assert_json_links(v, &here),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                assert_json_links(v, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

const EVIL_CITY: &str = "</title><script>alert('city')</script>";
const EVIL_NAME: &str = "Zła <img src=x onerror=alert('name')> & \"nazwa\"";

#[test]
fn scripts_in_any_field_of_any_format_reach_no_published_file() {
    let vectors = vectors();
    assert!(vectors.len() >= 200, "only {} vectors", vectors.len());
    let server = FeedServer::start();
    server.put(
        "/xss.xml",
        rss_with_vectors(&vectors),
        "application/rss+xml",
    );
    server.put(
        "/xss.atom",
        atom_with_vectors(&vectors),
        "application/atom+xml",
    );
    server.put(
        "/xss.json",
        json_with_vectors(&vectors),
        "application/feed+json",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = [
        Src {
            name: EVIL_NAME,
            city: EVIL_CITY,
            ..src("rss", "/xss.xml")
        },
        Src {
            name: EVIL_NAME,
            city: EVIL_CITY,
            ..src("atom", "/xss.atom")
        },
        Src {
            name: EVIL_NAME,
            city: "Kraków",
            ..src("json", "/xss.json")
        },
    ];
    let config = write_config(dir.path(), &server, &sources, "max_items_per_feed = 5000");
    let (code, out, err) = once(&config);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("sources: 3 ok"), "{out}");

    for name in FEED_FILES {
        let feed = parse_feed(dir.path(), name);
        assert!(
            feed.entries.len() > vectors.len(),
            "{name}: only {} entries",
            feed.entries.len()
        );
        for entry in &feed.entries {
            assert_entry_harmless(entry, name);
        }
        let raw = String::from_utf8_lossy(&read(dir.path(), name)).into_owned();
        if name.ends_with(".json") {
            let value: serde_json::Value = serde_json::from_str(&raw).expect("json");
            assert_json_links(&value, name);
            // Names and cities are data in JSON: the exact text, never interpreted.
            let cities: Vec<&str> = value["items"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|i| i["_hejnal"]["sources"].as_array().into_iter().flatten())
                .filter_map(|s| s["city"].as_str())
                .collect();
            assert!(cities.contains(&EVIL_CITY), "{name}: {cities:?}");
        } else {
            // In XML, markup of ours is the only markup: anything else was escaped
            // or sits in CDATA, whose HTML the feed parser handed to the checks above.
            let raw = without_cdata(&raw);
            // Atom bodies are XHTML: markup there is the story's own, checked as HTML.
            let raw = without_xhtml_content(&raw, name);
            let lower = raw.to_ascii_lowercase();
            for tag in ["<script", "<iframe", "<img", "<svg", "<object", "<embed"] {
                if let Some(at) = lower.find(tag) {
                    let around: String = raw[at.saturating_sub(300)..].chars().take(400).collect();
                    panic!("{name}: raw {tag} in the document: …{around}…");
                }
            }
        }
    }

    let page = String::from_utf8_lossy(&read(dir.path(), "index.html")).into_owned();
    assert_harmless_html(&page, true, "index.html");
    let page_tags = tags_of(&page);
    let count = |name: &str| page_tags.iter().filter(|(t, _)| t == name).count();
    assert_eq!(count("title"), 1, "a second <title> was injected");
    assert_eq!(count("style"), 1, "a second <style> was injected");
    assert_eq!(count("base"), 0);
    for (lang_page, expected) in [("pl/index.html", 1), ("en/index.html", 1)] {
        if let Ok(bytes) = std::fs::read(dir.path().join("public").join(lang_page)) {
            let html = String::from_utf8_lossy(&bytes).into_owned();
            assert_harmless_html(&html, true, lang_page);
            let tags = tags_of(&html);
            let titles = tags.iter().filter(|(t, _)| t == "title").count();
            assert_eq!(titles, expected, "{lang_page}");
        }
    }

    assert_opml_keeps_names_as_text(dir.path());
}

/// `xml` with the contents of its CDATA sections left out.
fn without_cdata(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(open) = rest.find("<![CDATA[") {
        out.push_str(&rest[..open]);
        let inside = &rest[open + 9..];
        let close = inside
            .find("]]>")
            .unwrap_or_else(|| panic!("unclosed CDATA"));
        rest = &inside[close + 3..];
    }
    out.push_str(rest);
    out
}

/// The OPML carries the hostile name and city as attribute text, exactly.
fn assert_opml_keeps_names_as_text(dir: &Path) {
    use quick_xml::events::Event;
    let raw = read(dir, "sources.opml");
    let lower = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(!lower.contains("<script"), "sources.opml: raw <script");
    assert!(!lower.contains("<img"), "sources.opml: raw <img");
    let mut reader = quick_xml::Reader::from_reader(raw.as_slice());
    let mut buf = Vec::new();
    let mut texts = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let name = e.name().as_ref().to_string();
                assert!(
                    matches!(
                        name.as_str(),
                        "opml" | "head" | "body" | "outline" | "title" | "docs"
                    ) || name.starts_with("owner")
                        || name.starts_with("date"),
                    "sources.opml: unexpected element <{name}>"
                );
                for attr in e.attributes().flatten() {
                    if attr.key.as_ref() == "text" {
                        let value = attr
                            .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                            .expect("attribute");
                        texts.push(value.into_owned());
                    }
                }
            }
            Ok(_) => {}
            Err(e) => panic!("sources.opml is not well-formed XML: {e}"),
        }
        buf.clear();
    }
    // The same words, with the angle brackets of anything that reads as a
    // tag shown as ‹ ›: readers and validators take outline text for HTML.
    let shown = |text: &str| text.replace('<', "‹").replace('>', "›");
    assert!(texts.iter().any(|t| *t == shown(EVIL_CITY)), "{texts:?}");
    assert!(texts.iter().any(|t| *t == shown(EVIL_NAME)), "{texts:?}");
    assert!(texts.iter().all(|t| !t.contains('<')), "{texts:?}");
}

/// Checks each XHTML `<content>` of an Atom document as HTML and returns the
/// document without them.
fn without_xhtml_content(raw: &str, name: &str) -> String {
    let mut rest = raw;
    let mut out = String::with_capacity(raw.len());
    while let Some(start) = rest.find("<content") {
        let Some(end) = rest[start..].find("</content>") else {
            break;
        };
        let block = &rest[start..start + end];
        if block.contains("type=\"xhtml\"") {
            assert_harmless_html(block, false, name);
            out.push_str(&rest[..start]);
        } else {
            out.push_str(&rest[..start + end]);
        }
        rest = &rest[start + end..];
    }
    out.push_str(rest);
    out
}
