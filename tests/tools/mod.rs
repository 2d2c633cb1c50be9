//! External tools some tests need; `.ci/run` installs them. Present, the test
//! runs. Missing on CI (`CI=true`), the test fails. Missing elsewhere, the test
//! passes without checking anything and says so where `cargo test` shows it.
#![allow(dead_code)]

use std::io::Write;
use std::process::Command;

/// Whether `program probe…` runs and succeeds; `install` says how to get it.
pub fn available(program: &str, probe: &[&str], install: &str) -> bool {
    let found = Command::new(program)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        missing(&format!("{program} not found ({install})"));
    }
    found
}

/// Fails on CI; elsewhere prints a SKIPPED line. The test harness captures
/// `eprintln!` of a passing test, but not a write to the stderr handle itself.
pub fn missing(what: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what}; on CI this is a failure: .ci/run installs it"
    );
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {what}");
}
