//! Real feeds in, nothing lost: hejnal against public corpora of real and
//! edge-case feeds, with Python's feedparser as the reference.
//!
//! The corpora (feedparser's test suite, feed-rs's fixtures, podcastparser's test
//! feeds) are brought into `target/corpora` by `tests/conformance/fetch-corpora`,
//! which `.ci/run` calls. Every file is served over loopback as one source and
//! read by one `hejnal once`: fetch, parse, clean, store, dedupe and publish, as
//! in production. feedparser reads the same bytes with the same Content-Type.
//!
//! It fails when a feed that feedparser reads (no bozo, at least one entry) is
//! rejected without a reason listed in docs/RELIABILITY.md, when fewer than 99 %
//! of the entries feedparser finds with a title, link or text are stored, when
//! a stored story is missing from the published feed, when anything published
//! carries a script, and when fewer than 99 % of the titles feedparser decodes
//! right in the encoding corpus are decoded right by hejnal.

mod common;
mod tools;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{FeedServer, hejnal_in};
use hejnal::store::Store;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Corpus {
    FeedRs,
    Formats,
    Sanitize,
    Rest,
    Encoding,
}

impl Corpus {
    /// In the order of the report's rows, each at its own index.
    const ALL: [Corpus; 5] = [
        Corpus::FeedRs,
        Corpus::Formats,
        Corpus::Sanitize,
        Corpus::Rest,
        Corpus::Encoding,
    ];

    fn label(self) -> &'static str {
        match self {
            Corpus::FeedRs => "feed-rs fixture/ + podcastparser tests/data",
            Corpus::Formats => "feedparser wellformed/{rss,atom,atom10,rdf}",
            Corpus::Sanitize => "feedparser wellformed/sanitize",
            Corpus::Rest => "feedparser: the rest of tests/",
            Corpus::Encoding => "feedparser encoding/, re-written with a non-ASCII title",
        }
    }
}

struct Case {
    corpus: Corpus,
    /// Relative to the corpora folder: how docs/RELIABILITY.md names it.
    name: String,
    path: PathBuf,
    content_type: Option<String>,
}

/// The reference's reading of one file.
#[derive(Default)]
struct Truth {
    bozo: bool,
    title: String,
    /// Entries with a title, a link or a text.
    entries: usize,
    /// For the encoding corpus: the title put into the file, if any.
    title_set: Option<String>,
}

fn corpora_root() -> Option<PathBuf> {
    let root = std::env::var_os("HEJNAL_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/corpora"));
    root.join("feedparser-6.0.14/tests")
        .is_dir()
        .then_some(root)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The Content-Type feedparser's own test server sends with a file: its
/// `Header:` comment, else what the file name suggests.
fn content_type(path: &Path, body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    let declared = head.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Header:")?.trim();
        let (name, value) = rest.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-type")
            .then(|| value.trim().to_string())
    });
    declared.or_else(|| match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Some("application/json".into()),
        Some("xml" | "rss" | "rdf" | "atom") => Some("application/xml".into()),
        _ => None,
    })
}

fn cases(root: &Path) -> Vec<Case> {
    let feedparser = root.join("feedparser-6.0.14/tests");
    let corpus_of = |path: &Path| -> Option<Corpus> {
        if path.starts_with(root.join("feed-rs")) {
            let name = path.to_string_lossy();
            return (!name.ends_with(".serde.json") && !name.ends_with("LICENSE-MIT"))
                .then_some(Corpus::FeedRs);
        }
        if path.starts_with(root.join("podcastparser-0.6.11/tests/data")) {
            return (path.extension().is_some_and(|e| e != "json")).then_some(Corpus::FeedRs);
        }
        let rel = path.strip_prefix(&feedparser).ok()?;
        let mut parts = rel.iter().map(|p| p.to_string_lossy());
        match (parts.next()?.as_ref(), parts.next()?.as_ref()) {
            ("encoding", _) => Some(Corpus::Encoding),
            ("wellformed", "rss" | "atom" | "atom10" | "rdf") => Some(Corpus::Formats),
            ("wellformed", "sanitize") => Some(Corpus::Sanitize),
            ("wellformed" | "entities" | "illformed", _) => Some(Corpus::Rest),
            _ => None,
        }
    };
    [
        root.join("feed-rs/fixture"),
        root.join("podcastparser-0.6.11/tests/data"),
        feedparser.clone(),
    ]
    .iter()
    .flat_map(|dir| files_under(dir))
    .filter_map(|path| {
        let corpus = corpus_of(&path)?;
        let body = std::fs::read(&path).ok()?;
        Some(Case {
            corpus,
            name: path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned(),
            content_type: content_type(&path, &body),
            path,
        })
    })
    .collect()
}

/// Asks feedparser about every case at once; encoding cases are first re-written
/// into `rewritten` with a real non-ASCII title.
fn feedparser_truth(cases: &[Case], rewritten: &Path) -> Vec<Truth> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/feedparser_truth.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs the reference parser");
    let mut stdin = child.stdin.take().expect("stdin");
    let requests: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let mut request = serde_json::json!({
                "path": case.path,
                "content_type": case.content_type,
            });
            if case.corpus == Corpus::Encoding {
                request["rewrite_to"] = rewritten.join(format!("{i}.xml")).to_string_lossy().into();
            }
            request.to_string()
        })
        .collect();
    let writer = std::thread::spawn(move || {
        for request in requests {
            writeln!(stdin, "{request}").expect("feed the reference parser");
        }
    });
    let stdout = child.stdout.take().expect("stdout");
    let truths: Vec<Truth> = BufReader::new(stdout)
        .lines()
        .map(|line| {
            let answer: Value = serde_json::from_str(&line.expect("reference output"))
                .expect("reference output is JSON");
            let entries = answer["entries"].as_array().cloned().unwrap_or_default();
            Truth {
                bozo: answer["bozo"].as_bool().unwrap_or(true),
                title: answer["title"].as_str().unwrap_or("").to_string(),
                entries: entries
                    .iter()
                    .filter(|e| {
                        e["title"].as_str().is_some_and(|t| !t.trim().is_empty())
                            || e["link"].as_str().is_some_and(|l| !l.is_empty())
                            || e["text"].as_bool() == Some(true)
                    })
                    .count(),
                title_set: answer["title_set"].as_str().map(str::to_string),
            }
        })
        .collect();
    writer.join().expect("writer");
    assert!(child.wait().expect("python3 exits").success());
    assert_eq!(truths.len(), cases.len(), "one answer per file");
    truths
}

/// The files docs/RELIABILITY.md lists as read differently on purpose.
fn documented_exceptions() -> HashMap<String, String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/RELIABILITY.md"))
            .expect("docs/RELIABILITY.md");
    let Some(section) = doc.split("## Feeds read differently on purpose").nth(1) else {
        return HashMap::new();
    };
    section
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.trim_matches('`');
            let why = cells.get(2)?;
            (name.contains('/') && !why.is_empty()).then(|| (name.to_string(), why.to_string()))
        })
        .collect()
}

fn write_config(dir: &Path, server: &FeedServer, ids: &[(String, String)]) {
    let mut text = String::from(
        r#"[publisher]
title = "Conformance"
description = "Public corpora of feeds"
base_url = "https://news.example.org/"
languages = ["pl", "en"]
output_dir = "public"
database = "hejnal.db"
max_items = 100000
archive_months = 0
concurrency = 16

[fetch]
timeout_secs = 10
per_host = 16
"#,
    );
    for (id, path) in ids {
        text.push_str(&format!(
            "\n[[source]]\nid = \"{id}\"\nname = \"{id}\"\ncity = \"Kraków\"\ncountry = \"PL\"\nurl = \"{}\"\nlang = \"en\"\ntranslate = false\n",
            server.url(path)
        ));
    }
    std::fs::write(dir.join("feeds.toml"), text).expect("write feeds.toml");
}

/// What a reader must never be handed: scripts, event handlers, script URLs.
fn hostile_markup(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    if lower.contains("<script") || lower.contains("javascript:") || lower.contains("vbscript:") {
        return Some(html.chars().take(200).collect());
    }
    let handler = lower.match_indices(" on").any(|(at, _)| {
        let rest = &lower[at + 3..];
        let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        name_len > 2 && rest[name_len..].trim_start().starts_with('=')
    });
    handler.then(|| html.chars().take(200).collect())
}

#[derive(Default)]
struct Row {
    files: usize,
    read_by_feedparser: usize,
    rejected: Vec<String>,
    excused: usize,
    feedparser_entries: usize,
    stored_entries: usize,
    short: Vec<String>,
    titles_feedparser: usize,
    titles_hejnal: usize,
    wrong_titles: Vec<String>,
}

fn table(rows: &[(Corpus, Row)]) -> String {
    let mut out = String::from(
        "| corpus | files | feedparser reads | rejected (excused) | entries feedparser → hejnal | encoding titles right: feedparser, hejnal |\n|---|---|---|---|---|---|\n",
    );
    for (corpus, row) in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} ({}) | {} → {} | {} |\n",
            corpus.label(),
            row.files,
            row.read_by_feedparser,
            row.rejected.len(),
            row.excused,
            row.feedparser_entries,
            row.stored_entries,
            if *corpus == Corpus::Encoding {
                format!("{}, {}", row.titles_feedparser, row.titles_hejnal)
            } else {
                "–".into()
            }
        ));
    }
    out
}

#[test]
fn hejnal_reads_what_feedparser_reads_in_public_corpora() {
    let Some(root) = corpora_root() else {
        tools::missing("no public corpora: run tests/conformance/fetch-corpora to bring them");
        return;
    };
    let cases = cases(&root);
    let work = tempfile::tempdir().expect("tempdir");
    let rewritten = work.path().join("rewritten");
    std::fs::create_dir_all(&rewritten).expect("mkdir");
    let truths = feedparser_truth(&cases, &rewritten);
    let exceptions = documented_exceptions();

    let server = FeedServer::start();
    let mut sources = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if case.corpus == Corpus::Encoding {
            continue;
        }
        let body = std::fs::read(&case.path).expect("corpus file");
        let path = format!("/{i}");
        server.put(&path, body, case.content_type.as_deref().unwrap_or(""));
        sources.push((format!("c{i}"), path));
    }
    write_config(work.path(), &server, &sources);
    let (code, out, err) = hejnal_in(work.path(), &["once", "--config", "feeds.toml"]);
    assert_eq!(code, 0, "hejnal once: {out}\n{err}");

    let store = Store::open(&work.path().join("hejnal.db")).expect("the store opens");
    let mut rows: Vec<(Corpus, Row)> = Corpus::ALL.map(|c| (c, Row::default())).into();
    for (i, (case, truth)) in cases.iter().zip(&truths).enumerate() {
        let row = &mut rows[case.corpus as usize].1;
        row.files += 1;
        if case.corpus == Corpus::Encoding {
            let Some(wanted) = &truth.title_set else {
                continue;
            };
            if exceptions.contains_key(&case.name) {
                row.excused += 1;
                continue;
            }
            let fp_right = truth.title.trim() == wanted;
            row.titles_feedparser += usize::from(fp_right);
            let body = std::fs::read(rewritten.join(format!("{i}.xml"))).expect("rewritten file");
            let title = hejnal::parse::parse(
                &body,
                case.content_type.as_deref(),
                "http://127.0.0.1/feed",
                500,
            )
            .map(|feed| feed.title);
            if let Ok(Some(title)) = &title
                && title.trim() == wanted
            {
                row.titles_hejnal += 1;
            } else if fp_right {
                row.wrong_titles
                    .push(format!("{}: {:?}, not {wanted:?}", case.name, title));
            }
            continue;
        }
        let id = format!("c{i}");
        let read = !truth.bozo && truth.entries > 0;
        let state = store.source_state(&id).expect("source state");
        let stored = store.entries_of_source(&id).expect("entry count") as usize;
        if read {
            row.read_by_feedparser += 1;
            if let Some(error) = &state.last_error {
                if exceptions.contains_key(&case.name) {
                    row.excused += 1;
                } else {
                    row.rejected.push(format!("{}: {error}", case.name));
                }
            }
            if exceptions.contains_key(&case.name) {
                row.excused += usize::from(state.last_error.is_none());
                continue;
            }
            row.feedparser_entries += truth.entries;
            row.stored_entries += stored.min(truth.entries);
            if stored < truth.entries {
                row.short.push(format!(
                    "{}: feedparser {}, stored {stored}",
                    case.name, truth.entries
                ));
            }
        }
    }
    let report = table(&rows);
    println!("{report}");

    let mut failures = Vec::new();
    for (corpus, row) in &rows {
        if !row.rejected.is_empty() {
            failures.push(format!(
                "{}: {} feeds feedparser reads were rejected:\n  {}",
                corpus.label(),
                row.rejected.len(),
                row.rejected.join("\n  ")
            ));
        }
        if row.stored_entries * 100 < row.feedparser_entries * 99 || !row.short.is_empty() {
            failures.push(format!(
                "{}: entries missing:\n  {}",
                corpus.label(),
                row.short.join("\n  ")
            ));
        }
        if row.excused * 100 > row.files {
            failures.push(format!("{}: more than 1 % excused", corpus.label()));
        }
        if *corpus == Corpus::Encoding && row.titles_hejnal * 100 < row.titles_feedparser * 99 {
            failures.push(format!(
                "{}: titles decoded wrong:\n  {}",
                corpus.label(),
                row.wrong_titles.join("\n  ")
            ));
        }
    }

    // Every story is published, and nothing published carries a script.
    let public = work.path().join("public");
    let json: Value =
        serde_json::from_slice(&std::fs::read(public.join("feed.json")).expect("feed.json"))
            .expect("feed.json is JSON");
    let items = json["items"].as_array().cloned().unwrap_or_default();
    let stories = store.story_count().expect("story count") as usize;
    if items.len() != stories {
        failures.push(format!(
            "{stories} stories stored, {} published",
            items.len()
        ));
    }
    for item in &items {
        for field in ["content_html", "url", "title", "image"] {
            if let Some(hostile) = item[field].as_str().and_then(hostile_markup) {
                failures.push(format!("feed.json {field} carries script: {hostile}"));
            }
        }
    }
    for name in ["index.html", "en/index.html", "pl/index.html"] {
        if let Ok(html) = std::fs::read_to_string(public.join(name))
            && let Some(hostile) = hostile_markup(&html)
        {
            failures.push(format!("{name} carries script: {hostile}"));
        }
    }
    assert!(failures.is_empty(), "{report}\n{}", failures.join("\n"));
}
