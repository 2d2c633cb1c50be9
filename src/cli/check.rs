//! `hejnal check`: every problem of feeds.toml at once, and with `--probe`
//! what each source answers right now.

use std::path::Path;
use std::process::ExitCode;

use hejnal::config::{self, Config, ConfigError, Diagnostic};
use hejnal::cycle::probe::{self, ProbeReport};
use hejnal::fetch::Fetcher;

pub async fn check(path: &Path, probe: bool, json: bool) -> anyhow::Result<ExitCode> {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(ConfigError::Invalid { diagnostics, .. }) => {
            report_invalid(path, &diagnostics, json)?;
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let probes = if probe {
        Some(run_probes(&config).await?)
    } else {
        None
    };
    let failed = probes.iter().flatten().filter(|r| !r.ok).count();
    if json {
        let out = serde_json::json!({
            "config": path.display().to_string(),
            "ok": failed == 0,
            "sources": config.sources.len(),
            "errors": [],
            "probe": probes,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", summary(path, &config));
        if let Some(reports) = &probes {
            print!("{}", probe::table(reports));
            if failed > 0 {
                println!("{failed} of {} sources failed the probe", reports.len());
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn report_invalid(path: &Path, diagnostics: &[Diagnostic], json: bool) -> anyhow::Result<()> {
    if json {
        let out = serde_json::json!({
            "config": path.display().to_string(),
            "ok": false,
            "errors": diagnostics,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let n = diagnostics.len();
        let plural = if n == 1 { "error" } else { "errors" };
        eprintln!(
            "{}\n\n{}: {n} {plural}",
            config::render(path, diagnostics),
            path.display()
        );
    }
    Ok(())
}

fn summary(path: &Path, config: &Config) -> String {
    let total = config.sources.len();
    let disabled = total - config.enabled_sources().count();
    let plural = if total == 1 { "source" } else { "sources" };
    let mut line = format!("{}: {total} {plural} OK", path.display());
    if disabled > 0 {
        line.push_str(&format!(" ({disabled} disabled)"));
    }
    line
}

async fn run_probes(config: &Config) -> anyhow::Result<Vec<ProbeReport>> {
    let fetcher = Fetcher::new(&config.fetch, &config.user_agent())?;
    let total = config.enabled_sources().count();
    let mut finished = 0;
    let reports = probe::probe_all(config, &fetcher, |r| {
        finished += 1;
        // stderr, so that --json output stays clean on stdout.
        eprintln!(
            "[{finished}/{total}] {}: {} ({} ms)",
            r.id, r.outcome, r.elapsed_ms
        );
    })
    .await;
    Ok(reports)
}
