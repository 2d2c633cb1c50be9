//! `hejnal check`: the exact error text for broken configurations (snapshots
//! under tests/fixtures/configs), and `--probe` against a loopback server.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Behaviour, FeedServer, hejnal, hejnal_in, write_config};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs")
}

/// Runs `hejnal check` in `dir` on a relative path, so that no machine path
/// shows in the output; returns (exit code, stdout, stderr).
fn check_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    hejnal_in(dir, &all)
}

/// Every `NAME.toml` fails with exactly the text of `NAME.expected`.
/// `UPDATE_SNAPSHOTS=1` rewrites the expectations instead.
#[test]
fn broken_configs_fail_with_the_expected_text() {
    let dir = configs_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".toml")
                .map(String::from)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 20, "only {} broken configs", names.len());
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut mismatches = Vec::new();
    for name in &names {
        let file = format!("{name}.toml");
        let (code, out, err) = check_in(&dir, &["--config", &file]);
        assert_eq!(
            code, 1,
            "{file} must fail the check; stdout: {out}; stderr: {err}"
        );
        assert!(
            out.is_empty(),
            "{file}: errors go to stderr, stdout had {out}"
        );
        let expected_path = dir.join(format!("{name}.expected"));
        if update {
            std::fs::write(&expected_path, &err).expect("write snapshot");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!("{name}.expected is missing (UPDATE_SNAPSHOTS=1 writes it)")
        });
        if expected != err {
            mismatches.push(format!(
                "--- {name}.expected\n{expected}\n+++ actual\n{err}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn every_problem_of_a_file_is_reported_not_only_the_first() {
    let (_, _, err) = check_in(&configs_dir(), &["--config", "several_errors.toml"]);
    for needle in [
        "several_errors.toml:5:",
        "did you mean \"concurrency\"?",
        "several_errors.toml:7:",
        "per_host in [fetch] must be at least 1, found 0",
        "max_distance in [dedupe] must be at most 64, found 100",
        "duplicate id \"krakow\": [[source]] #2 and [[source]] #1 (line 16) both use it",
        "is the same feed as",
        "names \"wien\", but no source has that id",
        "must be an http or https URL, not gopher",
        "enabled in [[source]] #3 (id \"leipzig\") must be true or false",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in\n{err}");
    }
    assert!(err.ends_with("several_errors.toml: 10 errors\n"), "{err}");
}

#[test]
fn the_caret_sits_under_the_offending_text() {
    let (_, _, err) = check_in(&configs_dir(), &["--config", "unknown_key_suggestion.toml"]);
    let lines: Vec<&str> = err.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with("| language = \"de\""))
        .expect("the offending line is quoted");
    let quoted = lines[at];
    let carets = lines[at + 1];
    let column = quoted.find("language").expect("key");
    assert_eq!(&carets[column..], "^^^^^^^^", "{err}");
}

#[test]
fn a_valid_config_passes_and_once_reports_the_same_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FeedServer::start();
    write_config(
        dir.path(),
        &server,
        &[
            ("a", "/a.xml", "pl", "Kraków"),
            ("b", "/b.xml", "de", "Wien"),
        ],
        "",
    );
    let (code, out, err) = check_in(dir.path(), &["--config", "feeds.toml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "feeds.toml: 2 sources OK\n");

    let broken = configs_dir().join("several_errors.toml");
    let (code, _, err) = hejnal(&["once", "--config", broken.to_str().expect("utf-8")]);
    assert_ne!(code, 0);
    assert!(err.contains("has 10 error(s)"), "{err}");
    assert!(err.contains("did you mean \"concurrency\"?"), "{err}");
}

#[test]
fn json_lists_the_errors_with_their_places() {
    let (code, out, _) = check_in(&configs_dir(), &["--config", "duplicate_id.toml", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["ok"], false);
    let errors = v["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["line"], 13);
    assert_eq!(errors[0]["column"], 6);
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("duplicate id")),
        "{out}"
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = check_in(dir.path(), &["--config", "nope.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read nope.toml"), "{err}");
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/feeds")
        .join(name);
    std::fs::read(path).expect("fixture")
}

fn probe_farm() -> (FeedServer, tempfile::TempDir) {
    let server = FeedServer::start();
    server.put("/ok.xml", fixture("rss2.xml"), "application/rss+xml");
    server.put(
        "/page.html",
        r#"<html><head><link rel="alternate" type="application/rss+xml" href="/ok.xml"></head></html>"#,
        "text/html",
    );
    server.behave("/missing.xml", Behaviour::Status(404));
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        &server,
        &[
            ("good", "/ok.xml", "pl", "Kraków"),
            ("missing", "/missing.xml", "de", "Wien"),
            ("page", "/page.html", "de", "Wien"),
        ],
        "",
    );
    (server, dir)
}

#[test]
fn probe_prints_a_table_with_one_line_per_source() {
    let (server, dir) = probe_farm();
    let (code, out, err) = check_in(dir.path(), &["--config", "feeds.toml", "--probe"]);
    assert_eq!(code, 1, "two sources fail the probe: {out}{err}");
    let row = |id: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id} in\n{out}"))
            .to_string()
    };
    assert!(
        out.lines()
            .any(|l| l.starts_with("ID ") && l.contains("WARNINGS")),
        "{out}"
    );
    let good = row("good");
    assert!(good.contains(" ok ") && good.contains("RSS 2.0"), "{good}");
    assert!(row("missing").contains("HTTP 404"), "{out}");
    let page = row("page");
    assert!(page.contains("HTML page"), "{page}");
    assert!(
        page.contains(&server.url("/ok.xml")),
        "the feed link is named: {page}"
    );
    assert!(out.contains("2 of 3 sources failed the probe"), "{out}");
    // One progress line per finished source.
    assert_eq!(
        err.lines().filter(|l| l.starts_with('[')).count(),
        3,
        "{err}"
    );
}

#[test]
fn probe_json_parses_and_carries_every_field() {
    let (_server, dir) = probe_farm();
    let (code, out, _) = check_in(dir.path(), &["--config", "feeds.toml", "--probe", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let probes = v["probe"].as_array().expect("probe results");
    let ids: Vec<&str> = probes.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, ["good", "missing", "page"], "in configuration order");
    assert_eq!(probes[0]["ok"], true);
    assert!(probes[0]["items"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(probes[0]["format"], "RSS 2.0");
    assert!(probes[0]["newest"].is_string());
    assert_eq!(probes[1]["ok"], false);
    assert_eq!(probes[1]["http_status"], 404);
    assert_eq!(probes[2]["ok"], false);
    assert!(
        probes[2]["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("feeds linked from it"))
    );
}

#[test]
fn sources_after_a_run_shows_health_and_counts() {
    let (_server, dir) = probe_farm();
    let (code, _, err) = check_in(dir.path(), &["--config", "feeds.toml", "--json"]);
    assert_eq!(code, 0, "{err}");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_hejnal"))
            .args(args)
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .env_remove("HEJNAL_CONFIG")
            .output()
            .expect("run hejnal");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), stdout, stderr)
    };
    let (code, _, err) = run(&["sources"]);
    assert_ne!(code, 0, "no database yet");
    assert!(err.contains("run `hejnal once`"), "{err}");

    assert_eq!(run(&["once"]).0, 0);
    let (code, out, err) = run(&["sources", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let good = &rows[0];
    assert_eq!(good["id"], "good");
    assert_eq!(good["status"], "ok");
    assert!(good["entries"].as_u64().is_some_and(|n| n > 0), "{good}");
    assert!(good["stories_7d"].as_u64().is_some_and(|n| n > 0), "{good}");
    assert_eq!(good["etag"], true);
    assert_eq!(good["last_modified"], true);
    assert!(good["last_ok"].is_string());
    let missing = &rows[1];
    assert_eq!(missing["status"], "failing");
    assert_eq!(missing["consecutive_failures"], 1);
    assert_eq!(missing["entries"], 0);
    assert!(
        missing["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("404")),
        "{missing}"
    );

    let (code, table, _) = run(&["sources"]);
    assert_eq!(code, 0);
    let line = table
        .lines()
        .find(|l| l.starts_with("missing "))
        .expect("row");
    assert!(
        line.contains("failing") && line.contains("HTTP 404"),
        "{table}"
    );
    let line = table.lines().find(|l| l.starts_with("good ")).expect("row");
    assert!(
        line.contains(" ok ") && line.contains("etag+last-modified"),
        "{table}"
    );
}
