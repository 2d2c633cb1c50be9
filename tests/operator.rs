//! What an operator sees at the edges: errors said once with what to do,
//! logs without colour codes off a terminal, and the offline sample.

mod common;

use std::process::Command;

use common::{hejnal_in, offline_sample};

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    offline_sample(dir.path());
    dir
}

#[test]
fn a_damaged_database_is_said_once_with_what_to_do() {
    let dir = setup();
    std::fs::write(dir.path().join("hejnal.db"), vec![b'x'; 16384]).expect("garbage");
    let (code, _, err) = hejnal_in(dir.path(), &["once"]);
    assert_ne!(code, 0);
    assert_eq!(err.matches("not a database").count(), 1, "{err}");
    assert!(err.contains("move it aside"), "{err}");
    assert!(err.contains("hejnal.db.broken"), "{err}");
}

#[test]
fn a_taken_port_says_how_to_serve_elsewhere() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = setup();
    let (code, _, err) = hejnal_in(dir.path(), &["run", "--listen", &addr]);
    assert_ne!(code, 0);
    assert_eq!(err.matches("in use").count(), 1, "{err}");
    assert!(err.contains("--listen"), "{err}");
    assert!(err.contains("[server]"), "{err}");
}

#[test]
fn logs_to_a_file_or_pipe_carry_no_colour_codes() {
    let dir = setup();
    let out = Command::new(env!("CARGO_BIN_EXE_hejnal"))
        .arg("once")
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .env_remove("JOURNAL_STREAM")
        .output()
        .expect("run hejnal");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("INFO"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log:?}");
}

/// The README's offline sample: Kraków's Polish and English feeds read from
/// disk become stories in both languages, and a second run finds nothing new.
#[test]
fn the_offline_sample_publishes_a_bilingual_feed() {
    let dir = setup();
    let (code, out, err) = hejnal_in(dir.path(), &["once"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sources: 3 ok"), "{out}");
    let feed = std::fs::read_to_string(dir.path().join("public/feed.xml")).expect("feed.xml");
    assert!(
        feed.contains("Nowa linia tramwajowa na Górkę Narodową otwarta / New tram line to Górka Narodowa opens"),
        "{feed}"
    );
    assert!(feed.contains("Leipzig and Kraków"), "{feed}");
    let (code, out, err) = hejnal_in(dir.path(), &["once"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("3 not modified") && out.contains("stories: 0 new"),
        "{out}"
    );

    // A local feed that disappears is one failing source with its path.
    std::fs::remove_file(dir.path().join("feeds/leipzig.xml")).expect("rm");
    let (_, out, _) = hejnal_in(dir.path(), &["once"]);
    assert!(out.contains("failed leipzig: cannot read"), "{out}");
    assert!(out.contains("leipzig.xml: No such file"), "{out}");
}
