//! Every input the fuzzers found a problem with runs again here, through the
//! very checks the fuzz targets make (fuzz/checks.rs), along with the seeds the
//! fuzzers start from. Add a case: copy the artifact into
//! tests/fixtures/fuzz/<target>/ under a name that says what it broke.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    files
}

/// Runs `check` on every input, and names every input that made it panic.
fn run_all(inputs: Vec<(String, Vec<u8>)>, check: fn(&[u8])) {
    assert!(!inputs.is_empty(), "no inputs");
    let failed: Vec<String> = inputs
        .into_iter()
        .filter(|(_, bytes)| std::panic::catch_unwind(|| check(bytes)).is_err())
        .map(|(name, _)| name)
        .collect();
    assert!(failed.is_empty(), "these inputs fail again: {failed:?}");
}

fn read_all(paths: Vec<PathBuf>) -> Vec<(String, Vec<u8>)> {
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), bytes)
        })
        .collect()
}

#[test]
fn feed_pipeline_regressions_stay_fixed() {
    run_all(
        read_all(fixtures("fuzz/feed_pipeline")),
        checks::feed_pipeline,
    );
}

#[test]
fn config_regressions_stay_fixed() {
    run_all(read_all(fixtures("fuzz/config")), checks::config_text);
}

/// The fuzzers' seeds pass too, under every Content-Type a server could claim.
#[test]
fn feed_pipeline_seeds_pass_under_every_content_type() {
    let mut inputs = Vec::new();
    for (name, bytes) in read_all([fixtures("feeds"), fixtures("site")].concat()) {
        for pick in 0u8..6 {
            let mut input = vec![pick];
            input.extend_from_slice(&bytes);
            inputs.push((format!("{name} (content type {pick})"), input));
        }
    }
    run_all(inputs, checks::feed_pipeline);
}

#[test]
fn config_seed_passes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml");
    run_all(read_all(vec![path]), checks::config_text);
}
