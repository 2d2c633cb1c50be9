//! Fuzz target: feeds.toml text → `Config::parse` (see checks.rs).

#![no_main]

#[path = "../checks.rs"]
// Each target uses its own half of the shared checks.
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::config_text(data));
